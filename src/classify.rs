//! The ordered rules for reading any reply (`docs/behaviour.md`, "How a reply is classified"), in
//! one place so that every request classifies the same way: a 3xx, a known protocol code at any
//! status, 5xx/429, OpenAI's user-code 404, other OAuth codes, OpenAI's poll 403/404
//! conventions, a bare 401, success, and everything else.
//!
//! Only a poll can be told to wait: [`classify_poll`] returns [`PollReply`], which has the two
//! polling answers, and [`classify`] returns the success body, so the other requests have no
//! polling answer to handle. Both run the same rules ([`read`]); on the other requests a pending
//! code is just another OAuth error code.

use crate::error::{Error, ErrorCode};
use crate::http::{redirect, too_large, HttpResponse, MAX_BODY_BYTES};
use crate::json::{self, js_trim, Value};
use crate::provider::ProviderKind;
use crate::request_kind::RequestKind;
use std::convert::Infallible;

/// A poll reply that is not an error.
#[derive(Debug, PartialEq)]
pub(crate) enum PollReply {
    /// A 2xx JSON object without an error code, or with one beside the success marker; the
    /// poll checks its fields.
    Success(Value),
    /// Not approved yet: poll again after the interval.
    Pending,
    /// Not approved yet, and poll less often.
    SlowDown,
}

/// What the rules make of a reply that is not an error: its success body, or (on a poll only)
/// a polling answer.
enum Read<W> {
    Success(Value),
    Wait(W),
}

/// The polling answers a request can get: [`PollReply`] on a poll, none ([`Infallible`]) on the
/// other requests, which then read a pending code like any other OAuth error code.
trait Waits: Sized {
    const PENDING: Option<Self>;
    const SLOW_DOWN: Option<Self>;
}

impl Waits for Infallible {
    const PENDING: Option<Self> = None;
    const SLOW_DOWN: Option<Self> = None;
}

impl Waits for PollReply {
    const PENDING: Option<Self> = Some(PollReply::Pending);
    const SLOW_DOWN: Option<Self> = Some(PollReply::SlowDown);
}

/// What the classifier needs to know about the request that got this reply.
pub(crate) struct ReplyContext<'a> {
    pub request: RequestKind,
    pub kind: ProviderKind,
    pub now: f64,
    /// The member whose presence (as a string) marks a success body, so that a 2xx carrying both
    /// an error code and the success fields counts as a success (rule 4).
    pub success_marker: &'a str,
    /// Secrets sent in the request, scrubbed from any server text we quote.
    pub secrets: &'a [&'a str],
}

/// A reply to any request but a poll: its success body, or the error it means.
pub(crate) fn classify(ctx: &ReplyContext<'_>, resp: &HttpResponse) -> Result<Value, Error> {
    debug_assert!(ctx.request != RequestKind::Poll, "a poll reply is read by classify_poll");
    match read::<Infallible>(ctx, resp)? {
        Read::Success(body) => Ok(body),
        Read::Wait(never) => match never {},
    }
}

/// A poll reply: success, pending, slow down, or the error it means.
pub(crate) fn classify_poll(
    ctx: &ReplyContext<'_>,
    resp: &HttpResponse,
) -> Result<PollReply, Error> {
    debug_assert!(ctx.request == RequestKind::Poll, "only a poll reply has polling answers");
    Ok(match read::<PollReply>(ctx, resp)? {
        Read::Success(body) => PollReply::Success(body),
        Read::Wait(answer) => answer,
    })
}

/// The rules, in order. `W` says which polling answers the request can get.
fn read<W: Waits>(ctx: &ReplyContext<'_>, resp: &HttpResponse) -> Result<Read<W>, Error> {
    let status = resp.status;
    let retry_after = resp.retry_after_ms(ctx.now);
    let fail = |e: Error| Err(e.with_status(status).with_retry_after(retry_after));
    if (300..400).contains(&status) {
        return fail(redirect(status));
    }
    if resp.body.len() > MAX_BODY_BYTES {
        return fail(too_large(status));
    }

    let (empty, body) = read_body(resp);
    let code = body.as_ref().and_then(error_code);
    // A server that echoes a secret we sent as its "error code" must not get it into serverCode.
    let public_code = code.as_deref().filter(|c| !echoes_secret(c, ctx.secrets));
    let description = body
        .as_ref()
        .and_then(error_description)
        .map(|d| sanitize_description(d, ctx.secrets));
    let is_json = body.is_some();
    let request = ctx.request.describe();

    // Rule 1: a known protocol code decides, whatever the status.
    if let Some(code) = code.as_deref() {
        let known = |c: ErrorCode, msg: &str| fail(Error::new(c, msg).with_server_code(Some(code)));
        let wait = match code {
            "authorization_pending" | "deviceauth_authorization_pending" => W::PENDING,
            "slow_down" => W::SLOW_DOWN,
            _ => None,
        };
        if let Some(answer) = wait {
            return Ok(Read::Wait(answer));
        }
        match code {
            // Codex's own tests mock a denial as `authorization_declined`.
            "access_denied" | "authorization_declined" => {
                return known(ErrorCode::AccessDenied, "The user declined the sign-in request.")
            }
            "expired_token" | "deviceauth_expired" => {
                return known(ErrorCode::ExpiredToken, "The device code has expired: start the sign-in again.")
            }
            "invalid_grant" => {
                return known(
                    ErrorCode::InvalidGrant,
                    &with_description(&format!("The {request} was rejected (invalid_grant): sign in again."), &description),
                )
            }
            "refresh_token_expired" => {
                return known(ErrorCode::RefreshTokenExpired, "The refresh token has expired: sign in again.")
            }
            "refresh_token_reused" => {
                return known(
                    ErrorCode::RefreshTokenReused,
                    "The refresh token was already used (it is single-use and rotates on every refresh): sign in again.",
                )
            }
            "refresh_token_invalidated" => {
                return known(
                    ErrorCode::RefreshTokenInvalidated,
                    "The refresh token was revoked (signed out, or signed in elsewhere): sign in again.",
                )
            }
            _ => {}
        }
    }

    // Rule 2: the server is down or throttling.
    if (500..=599).contains(&status) || status == 429 {
        let msg = format!(
            "The authorization server could not answer the {request} (HTTP {status}); try again later."
        );
        return fail(
            Error::new(ErrorCode::ServerError, with_description(&msg, &description))
                .with_server_code(public_code),
        );
    }

    // Rule 3: OpenAI's user-code endpoint answers 404 when device login is off for the server or
    // the account, whatever its body says (e.g. `{"error":{"code":"not_found"}}`).
    if ctx.kind == ProviderKind::OpenAiCodex
        && ctx.request == RequestKind::DeviceAuthorization
        && status == 404
    {
        return fail(Error::new(
            ErrorCode::DeviceFlowDisabled,
            "Device code login is not enabled for this account or server (HTTP 404): enable it in the account's security settings (\"Enable device code authorization for Codex\"), or sign in another way.",
        ));
    }

    let is_2xx = (200..300).contains(&status);
    let has_success = body
        .as_ref()
        .and_then(|b| b.get(ctx.success_marker))
        .is_some_and(|v| v.as_str().is_some());

    // Rule 4: any other OAuth error code on a 4xx (or on a 2xx without the success fields).
    if code.is_some() && ((400..500).contains(&status) || (is_2xx && !has_success)) {
        let shown = public_code.map_or_else(|| "[redacted]".to_owned(), shown_code);
        let msg = format!("The authorization server refused the {request} with error \"{shown}\"");
        return fail(
            Error::new(ErrorCode::OAuthError, with_description(&msg, &description))
                .with_server_code(public_code),
        );
    }

    let no_code_body = empty || (is_json && code.is_none());
    // Rule 5: OpenAI's poll conventions.
    if ctx.kind == ProviderKind::OpenAiCodex && (status == 404 || status == 403 && no_code_body) {
        if let Some(pending) = W::PENDING {
            return Ok(Read::Wait(pending));
        }
    }

    // Rule 6: a bare 401 on a token request means the grant is dead.
    let token_request = matches!(ctx.request, RequestKind::Refresh | RequestKind::CodeExchange);
    if status == 401 && no_code_body && token_request {
        return fail(Error::new(
            ErrorCode::InvalidGrant,
            format!("The {request} was rejected (HTTP 401): sign in again."),
        ));
    }

    // Rule 7: success.
    if is_2xx {
        if let Some(body @ Value::Object(_)) = body {
            return Ok(Read::Success(body));
        }
    }

    // Rule 8: anything else.
    let what = if is_2xx || (400..500).contains(&status) {
        if empty {
            "an empty body"
        } else if is_json {
            "JSON the protocol does not allow here"
        } else {
            "a body that is not JSON (an HTML error page or a proxy?)"
        }
    } else {
        "a status the protocol does not use"
    };
    fail(Error::invalid_response(format!(
        "Unexpected reply to the {request}: HTTP {status} with {what}."
    )))
}

/// Whether the body is blank, and its JSON value. Bytes are read as `Response.text()` reads them
/// (a leading byte-order mark dropped, bytes that are not UTF-8 replaced by U+FFFD); a body the
/// WebAssembly adapter already had the host's `JSON.parse` read is taken as it is.
fn read_body(resp: &HttpResponse) -> (bool, Option<Value>) {
    #[cfg(target_arch = "wasm32")]
    if let Some(parsed) = &resp.parsed {
        return (parsed.blank, parsed.json.clone().filter(|_| !parsed.blank));
    }
    let text = String::from_utf8_lossy(&resp.body);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let empty = js_trim(text).is_empty();
    let body = if empty {
        None
    } else {
        json::parse(text.as_bytes())
    };
    (empty, body)
}

/// Whether `code`, as it would be shown (sanitised, see [`crate::error::sanitize_server_code`]),
/// holds a secret of the request or a 16-character piece of one: sanitising drops characters,
/// so `"rt_abc!def"` would otherwise come out as the secret `rt_abcdef`.
fn echoes_secret(code: &str, secrets: &[&str]) -> bool {
    let shown = crate::error::sanitize_server_code(code).unwrap_or_default();
    secrets.iter().filter(|s| s.len() >= 6).any(|s| {
        let secret: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
            .collect();
        let window = secret.len().min(16);
        code.contains(&s.to_ascii_lowercase())
            || (window >= 6
                && shown
                    .as_bytes()
                    .windows(window)
                    .any(|w| std::str::from_utf8(w).is_ok_and(|w| secret.contains(w))))
    })
}

/// The error code of a body: `error` as a string, else `error.code`, else a top-level `code`;
/// trimmed and lowercased.
fn error_code(body: &Value) -> Option<String> {
    let raw = match body.get("error") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(obj @ Value::Object(_)) => obj.get("code").and_then(Value::as_str),
        _ => None,
    }
    .or_else(|| body.get("code").and_then(Value::as_str))?;
    let code = js_trim(raw).to_ascii_lowercase();
    (!code.is_empty()).then_some(code)
}

fn error_description(body: &Value) -> Option<&str> {
    body.get("error_description")
        .and_then(Value::as_str)
        .or_else(|| {
            body.get("error")
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
        })
}

/// The server's code as shown in a message: the sanitised form `serverCode` holds.
fn shown_code(code: &str) -> String {
    crate::error::sanitize_server_code(code).unwrap_or_else(|| "(unprintable)".to_owned())
}

fn with_description(msg: &str, description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{msg} Server says: {d}"),
        _ => msg.to_owned(),
    }
}

/// Server text quoted in a message: secrets we sent replaced, anything token-shaped (a long run of
/// base64url-like characters) replaced, control characters dropped, at most 200 characters.
pub(crate) fn sanitize_description(text: &str, secrets: &[&str]) -> String {
    let mut t: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        // As sent, and as a server may echo it back from a form body or a URL.
        t = t.replace(*s, "[redacted]");
        t = t.replace(&crate::form::encode(s), "[redacted]");
        t = t.replace(&crate::form::encode(s).replace('+', "%20"), "[redacted]");
    }
    let words: Vec<String> = t
        .split(' ')
        .map(|w| {
            let tokenish = w
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.~+/=".contains(*c))
                .count();
            if tokenish >= 24 && tokenish * 10 >= w.chars().count() * 9 {
                "[redacted]".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    words
        .join(" ")
        .chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_that_becomes_a_secret_once_sanitised_is_an_echo() {
        let secrets = ["cs_CANARY_fuzz_secret", "short", ""];
        assert!(echoes_secret("x cs_canary_fuzz!_secret", &secrets));
        assert!(echoes_secret("CS_CANARY_FUZZ_SECRET", &secrets));
        assert!(echoes_secret("pre canary_fuzz_secre post", &secrets));
        assert!(!echoes_secret("invalid_client", &secrets));
        assert!(
            !echoes_secret("short", &secrets),
            "secrets under 6 characters are not matched"
        );
    }

    #[test]
    fn descriptions_lose_secrets_tokens_and_control_characters() {
        let d = sanitize_description(
            "token rt_abcdef is bad; eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl\r\nbye",
            &["rt_abcdef"],
        );
        assert_eq!(d, "token [redacted] is bad; [redacted]  bye");
        assert_eq!(
            sanitize_description(&"a ".repeat(300), &[]).chars().count(),
            199
        );
    }
}
