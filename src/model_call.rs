//! The model call's decisions, next to the session's: where the token may go, and what an answer
//! from the Codex backend means for the request that got it and for the session.
//!
//! Why it exists: a `401` from the backend says the access token is not accepted (revoked, rotated
//! by another holder, or expired early). Codex then refreshes once and retries once, and only then
//! surfaces the error. Retrying is only safe when the request can be sent again byte for byte and
//! nothing of the answer has reached the caller yet (a retry would otherwise repeat text the caller
//! already showed). A second `401` on a freshly refreshed token is not the token's age: refreshing
//! again would spend a refresh token per call and loop, so it surfaces as it is.

use crate::endpoint::check_endpoint;
use crate::error::Error;

/// Where the Codex backend lives (the `/responses` and `/models` routes are under it).
pub(crate) const CODEX_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";

/// The backend base URL a model call uses: the default, or the host's, checked like every other
/// endpoint (`https:`, or `http:` to loopback only) and without a query or fragment. Trailing
/// slashes are dropped so that `{base}/responses` is well formed.
pub(crate) fn codex_base_url(url: Option<&str>) -> Result<String, Error> {
    let url = url.unwrap_or(CODEX_BASE_URL);
    check_endpoint("baseUrl", url)?;
    if url.contains(['?', '#']) {
        return Err(Error::invalid_config(
            "baseUrl must not have a query or a fragment",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// How the request body can be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// No body.
    Empty,
    /// Bytes held in memory (a string, a buffer, a Blob, form data): sendable again.
    Replayable,
    /// A stream or iterator, consumed by the first send: never sent twice.
    OneShot,
}

impl BodyKind {
    pub(crate) fn parse(s: &str) -> Option<BodyKind> {
        match s {
            "empty" => Some(BodyKind::Empty),
            "replayable" => Some(BodyKind::Replayable),
            "one-shot" => Some(BodyKind::OneShot),
            _ => None,
        }
    }
}

/// What is known about the send that got the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attempt {
    /// This send was already the retry after a refresh.
    pub retried: bool,
    pub body: BodyKind,
    /// Some of the answer already reached the caller (a stream that began).
    pub streamed: bool,
}

/// What to do with the backend's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterReply {
    /// Hand the answer to the caller untouched.
    Return,
    /// Hand it over untouched, and mark the access token that was sent as rejected, so that the
    /// session's next call refreshes first.
    ReturnAndInvalidate,
    /// Mark the sent token as rejected, get fresh headers from the session (one refresh for all
    /// callers) and send the same request once more.
    RefreshAndRetry,
}

impl AfterReply {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AfterReply::Return => "return",
            AfterReply::ReturnAndInvalidate => "invalidate",
            AfterReply::RefreshAndRetry => "retry",
        }
    }
}

/// The one place that decides about a backend answer. Only `401` concerns the token: anything else
/// (a 429 usage limit, a 403 challenge page, a 5xx) is the caller's to see as it is.
pub(crate) fn after_reply(status: u16, attempt: Attempt) -> AfterReply {
    if status != 401 {
        return AfterReply::Return;
    }
    if attempt.retried {
        // Refreshed and still refused: surface it; marking the new token would refresh per call.
        return AfterReply::Return;
    }
    if attempt.streamed || attempt.body == BodyKind::OneShot {
        return AfterReply::ReturnAndInvalidate;
    }
    AfterReply::RefreshAndRetry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const FIRST: Attempt = Attempt {
        retried: false,
        body: BodyKind::Replayable,
        streamed: false,
    };

    #[test]
    fn the_default_base_is_the_chatgpt_codex_backend() {
        assert_eq!(
            codex_base_url(None),
            Ok("https://chatgpt.com/backend-api/codex".to_owned())
        );
    }

    #[test]
    fn a_host_base_is_checked_like_every_endpoint_and_loses_trailing_slashes() {
        assert_eq!(
            codex_base_url(Some("http://127.0.0.1:8080/backend-api/codex//")),
            Ok("http://127.0.0.1:8080/backend-api/codex".to_owned())
        );
        let code = |u: &str| codex_base_url(Some(u)).map_err(|e| e.code);
        assert_eq!(
            code("http://chatgpt.com/backend-api/codex"),
            Err(ErrorCode::InsecureEndpoint)
        );
        assert_eq!(
            code("https://user@chatgpt.com/x"),
            Err(ErrorCode::InvalidConfig)
        );
        assert_eq!(
            code("https://chatgpt.com/x?a=1"),
            Err(ErrorCode::InvalidConfig)
        );
        assert_eq!(
            code("https://chatgpt.com/x#f"),
            Err(ErrorCode::InvalidConfig)
        );
        assert_eq!(code("chatgpt.com"), Err(ErrorCode::InvalidConfig));
    }

    #[test]
    fn only_a_401_concerns_the_token() {
        for status in [200, 400, 403, 404, 429, 500, 503] {
            assert_eq!(after_reply(status, FIRST), AfterReply::Return, "{status}");
        }
    }

    #[test]
    fn a_first_401_on_a_replayable_or_empty_body_refreshes_and_retries_once() {
        assert_eq!(after_reply(401, FIRST), AfterReply::RefreshAndRetry);
        let empty = Attempt {
            body: BodyKind::Empty,
            ..FIRST
        };
        assert_eq!(after_reply(401, empty), AfterReply::RefreshAndRetry);
    }

    #[test]
    fn a_401_on_the_retry_surfaces_without_marking_the_new_token() {
        let retry = Attempt {
            retried: true,
            ..FIRST
        };
        assert_eq!(after_reply(401, retry), AfterReply::Return);
    }

    #[test]
    fn a_401_that_cannot_be_retried_marks_the_token_for_the_next_call() {
        let one_shot = Attempt {
            body: BodyKind::OneShot,
            ..FIRST
        };
        assert_eq!(after_reply(401, one_shot), AfterReply::ReturnAndInvalidate);
        let streamed = Attempt {
            streamed: true,
            ..FIRST
        };
        assert_eq!(after_reply(401, streamed), AfterReply::ReturnAndInvalidate);
    }

    #[test]
    fn body_kinds_parse_from_the_js_names() {
        assert_eq!(BodyKind::parse("empty"), Some(BodyKind::Empty));
        assert_eq!(BodyKind::parse("replayable"), Some(BodyKind::Replayable));
        assert_eq!(BodyKind::parse("one-shot"), Some(BodyKind::OneShot));
        assert_eq!(BodyKind::parse("stream"), None);
    }
}
