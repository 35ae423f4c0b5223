//! The token session's decisions, kept apart from its I/O. The JS side of the session
//! (`js/tokenSession.ts`) holds the state (tokens in memory, the one shared refresh, the reauth
//! latch) and talks to the host's store; every question with a protocol answer is asked here:
//! which skew a provider kind wants, whether a refresh failure means the refresh token is dead,
//! whether to use, adopt or refresh the tokens at hand, and which headers a request carries.
//!
//! Why it exists: OpenAI's refresh tokens are single-use. Two refreshes at once, or a rotated
//! refresh token lost before it is saved, log the user out for good. The session therefore
//! refreshes once for all callers, re-reads the store before spending a refresh token, adopts
//! tokens someone else already refreshed, and never spends a refresh token it already spent.

use crate::auth_headers::codex_auth_headers;
use crate::error::{Error, ErrorCode};
use crate::expiry::{is_access_token_expired, DEFAULT_SKEW_MS};
use crate::provider::ProviderKind;
use crate::tokens::Tokens;

/// Codex refreshes when the access token expires within five minutes; we do the same.
pub(crate) const OPENAI_CODEX_SKEW_MS: f64 = 300_000.0;
/// The refresh request's default timeout: one hung request must not block every waiting caller.
pub(crate) const DEFAULT_REFRESH_TIMEOUT_MS: f64 = 30_000.0;
/// The default bound on each store call (`load`, `save`, `replace`, and `lock`'s wait before and
/// after the session's function): longer than the file store's 40 s lock wait, so a store's own
/// bound ends a wait first and this one only ends calls that would never settle.
pub(crate) const DEFAULT_STORE_TIMEOUT_MS: f64 = 60_000.0;
/// After a refresh request that got no answer, the same refresh token is not sent again for
/// `min(timeoutMs, this)`. Short on purpose: if the first request never reached the server, a
/// retry is the only way to keep the login, and waiting longer only lets a slow first request
/// win the race.
pub(crate) const LOST_ANSWER_BACKOFF_MAX_MS: f64 = 5_000.0;

/// The skew a session uses when the host gives none.
pub(crate) fn default_skew_ms(kind: ProviderKind) -> f64 {
    match kind {
        ProviderKind::OpenAiCodex => OPENAI_CODEX_SKEW_MS,
        ProviderKind::Rfc8628 => DEFAULT_SKEW_MS,
    }
}

/// A session's settings after defaults and validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SessionConfig {
    pub kind: ProviderKind,
    pub skew_ms: f64,
    pub timeout_ms: f64,
    pub store_timeout_ms: f64,
}

impl SessionConfig {
    pub(crate) fn new(
        kind: ProviderKind,
        skew_ms: Option<f64>,
        timeout_ms: Option<f64>,
        store_timeout_ms: Option<f64>,
    ) -> Result<SessionConfig, Error> {
        let skew_ms = match skew_ms {
            None => default_skew_ms(kind),
            Some(s) if s.is_finite() && s >= 0.0 => s,
            Some(_) => {
                return Err(Error::invalid_config(
                    "skewMs must be a finite number of milliseconds >= 0",
                ))
            }
        };
        let timeout_ms = match timeout_ms {
            None => DEFAULT_REFRESH_TIMEOUT_MS,
            Some(t) if t.is_finite() && t > 0.0 => t,
            Some(_) => {
                return Err(Error::invalid_config(
                    "timeoutMs must be a positive number of milliseconds",
                ))
            }
        };
        let store_timeout_ms = match store_timeout_ms {
            None => DEFAULT_STORE_TIMEOUT_MS,
            Some(t) if t.is_finite() && t > 0.0 => t,
            Some(_) => {
                return Err(Error::invalid_config(
                    "storeTimeoutMs must be a positive number of milliseconds",
                ))
            }
        };
        Ok(SessionConfig {
            kind,
            skew_ms,
            timeout_ms,
            store_timeout_ms,
        })
    }

}

/// Whether a refresh failure means the refresh token can never work again, so that only a new
/// sign-in helps. These are the server's verdicts on the grant; transport trouble, redirects,
/// odd replies, aborts and configuration errors say nothing about the token and are not.
pub(crate) fn refresh_token_is_dead(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::InvalidGrant
            | ErrorCode::RefreshTokenExpired
            | ErrorCode::RefreshTokenReused
            | ErrorCode::RefreshTokenInvalidated
            | ErrorCode::OAuthError
            | ErrorCode::AccessDenied
            | ErrorCode::ExpiredToken
    )
}

/// The `reauth_required` error a dead refresh token turns into (the caller attaches the refresh
/// error as `cause`); `None` when the failure passes through as it is.
pub(crate) fn reauth_after(cause: ErrorCode) -> Option<Error> {
    refresh_token_is_dead(cause).then(|| {
        Error::new(
            ErrorCode::ReauthRequired,
            format!(
                "The server rejected the refresh token ({cause}): sign in again. No further \
                 refresh is attempted until the token store holds different tokens."
            ),
        )
    })
}

/// What the session saw of the refresh request before it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestFate {
    /// `fetch` was never called (validation, a bad clock, ...).
    NotSent,
    /// `fetch` rejected with a transport error that proves no request left (connection refused,
    /// name not resolved, TLS handshake refused): see [`request_never_left`].
    NeverLeft,
    /// `fetch` was called and anything may have happened at the server.
    Sent,
}

/// Transport error codes (Node's `error.cause.code`) that prove the request never reached the
/// server: the connection or the TLS handshake failed before a byte of the request was sent.
pub(crate) fn request_never_left(transport_code: &str) -> bool {
    matches!(
        transport_code,
        "ECONNREFUSED"
            | "ENOTFOUND"
            | "EAI_AGAIN"
            | "EAI_NONAME"
            | "ENETUNREACH"
            | "EHOSTUNREACH"
            | "EADDRNOTAVAIL"
            | "UND_ERR_CONNECT_TIMEOUT"
    ) || transport_code.contains("CERT")
        || transport_code.starts_with("ERR_TLS_")
        || transport_code.starts_with("UNABLE_TO_")
}

/// A failed refresh as the session saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RefreshFailure {
    pub code: ErrorCode,
    /// The reply's HTTP status, when there was one.
    pub status: Option<u16>,
    pub fate: RequestFate,
    /// The refresh token just sent had already been sent once without an answer.
    pub resent_after_lost_answer: bool,
}

/// What the session does after a failed refresh.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AfterRefreshFailure {
    /// The refresh token is dead: reject with this `reauth_required` error (the refresh error
    /// as its `cause`) and latch.
    Latch(Error),
    /// The request left and no usable answer came back, so the server may have rotated the
    /// refresh token: pass the error through, and do not send the same refresh token again
    /// before `retry_at` (epoch ms); re-read the store first (another holder may have saved
    /// newer tokens meanwhile).
    AnswerLost { retry_at: f64 },
    /// Nothing happened to the token (not sent, refused, or the server answered with a
    /// failure): pass the error through; the next call may refresh at once.
    PassThrough,
}


/// The request may have been carried out by the server although the session got no usable
/// answer: it left (`fetch` was called and did not fail before connecting) and the failure is
/// the absence of an answer (`network_error`: a timeout or a broken connection), an answer
/// nobody can read (`invalid_response`), or a gateway that lost the server's answer (502, 504).
/// A server's own refusal (4xx, 500, 503, 429) or a redirect says the refresh did not happen.
pub(crate) fn answer_lost(f: &RefreshFailure) -> bool {
    f.fate == RequestFate::Sent
        && match f.code {
            ErrorCode::NetworkError | ErrorCode::InvalidResponse => true,
            ErrorCode::ServerError => matches!(f.status, Some(502 | 504)),
            _ => false,
        }
}

/// How long the same refresh token is held back after a request that got no answer.
pub(crate) fn lost_answer_backoff_ms(timeout_ms: f64) -> f64 {
    timeout_ms.min(LOST_ANSWER_BACKOFF_MAX_MS)
}

/// Latch, hold the refresh token back, or pass the error through.
pub(crate) fn after_refresh_failure(f: &RefreshFailure, now: f64, timeout_ms: f64) -> AfterRefreshFailure {
    if let Some(reauth) = reauth_after(f.code) {
        if !f.resent_after_lost_answer {
            return AfterRefreshFailure::Latch(reauth);
        }
        let cause = f.code;
        return AfterRefreshFailure::Latch(Error::new(
            ErrorCode::ReauthRequired,
            format!(
                "The server rejected the refresh token ({cause}) after an earlier refresh with it \
                 got no answer: the server had most likely carried that refresh out and its new \
                 tokens never arrived. Sign in again. No further refresh is attempted until the \
                 token store holds different tokens."
            ),
        ));
    }
    if answer_lost(f) {
        return AfterRefreshFailure::AnswerLost {
            retry_at: now + lost_answer_backoff_ms(timeout_ms),
        };
    }
    AfterRefreshFailure::PassThrough
}

/// The refresh token is held back after a lost answer: the call rejects without a request.
pub(crate) fn held_back_after_lost_answer(wait_ms: f64) -> Error {
    Error::new(
        ErrorCode::NetworkError,
        format!(
            "The last refresh request got no answer and may have been carried out by the server; \
             the same refresh token is sent again in {} ms unless the token store holds newer \
             tokens by then.",
            wait_ms.ceil()
        ),
    )
    .with_retry_after(Some(wait_ms.ceil()))
}

/// No tokens in the store: nobody has signed in (or the host signed out).
pub(crate) fn no_tokens() -> Error {
    Error::new(
        ErrorCode::ReauthRequired,
        "The token store holds no tokens: sign in first.",
    )
}

/// The access token must be replaced and there is nothing to refresh it with.
pub(crate) fn no_refresh_token() -> Error {
    Error::new(
        ErrorCode::ReauthRequired,
        "The access token has expired or was rejected and the stored tokens have no refresh \
         token: sign in again.",
    )
}

/// Which token set a decision is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// What the store just returned.
    Stored,
    /// What the session holds in memory (the store returned a stale copy).
    Held,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Stored => "stored",
            Source::Held => "held",
        }
    }
}

/// What the session does with the tokens at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionDecision {
    /// Hand out this token set's access token (adopting it when it is the stored one).
    Use(Source),
    /// Spend this token set's refresh token.
    Refresh(Source),
    /// The store still holds the tokens whose refresh token died: reject again, no request.
    Latched,
}


/// What the session knows when it decides, right after reading the store.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SessionView<'a> {
    /// What `store.load()` returned (`None`: no tokens).
    pub stored: Option<&'a Tokens>,
    /// The tokens in memory.
    pub held: Option<&'a Tokens>,
    /// The tokens whose refresh token the server rejected (the reauth latch), if latched.
    pub latched: Option<&'a Tokens>,
    /// An access token the API answered 401 for (`invalidate()`).
    pub invalidated_access: Option<&'a str>,
    /// The refresh token this session last spent successfully.
    pub spent_refresh: Option<&'a str>,
    /// A refresh token whose last request got no answer, held back until `retry_at`.
    pub held_back: Option<HeldBack<'a>>,
}

/// A refresh token held back after a request that got no answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeldBack<'a> {
    pub refresh_token: &'a str,
    /// Epoch ms; from then on the token may be sent again.
    pub retry_at: f64,
}

/// Two token sets are "the same" for the session when their access and refresh tokens match.
pub(crate) fn same_tokens(a: &Tokens, b: &Tokens) -> bool {
    a.access_token == b.access_token && a.refresh_token == b.refresh_token
}

/// Use, adopt or refresh. Reads: the store wins over memory (someone else may have refreshed,
/// or signed in again), except when it hands back a refresh token this session already spent
/// while memory holds its successor: that copy is stale and spending it again would be reuse.
/// A refresh token whose last request got no answer is not sent again before its `retry_at`
/// (`network_error` with `retry_after_ms`, no request); tokens the store holds instead of it
/// are used or refreshed as usual.
pub(crate) fn decide(view: &SessionView<'_>, now: f64, skew_ms: f64) -> Result<SessionDecision, Error> {
    let stored = match (view.stored, view.latched) {
        (Some(s), Some(l)) if same_tokens(s, l) => return Ok(SessionDecision::Latched),
        (None, Some(_)) => return Ok(SessionDecision::Latched),
        (None, None) => return Err(no_tokens()),
        (Some(s), _) => s,
    };
    let stale = match (view.held, view.spent_refresh) {
        (Some(held), Some(spent)) => {
            stored.refresh_token.as_ref().map(|r| r.expose()) == Some(spent)
                && held.refresh_token.as_ref().map(|r| r.expose()) != Some(spent)
        }
        _ => false,
    };
    let (source, tokens) = match (stale, view.held) {
        (true, Some(held)) => (Source::Held, held),
        _ => (Source::Stored, stored),
    };
    let access = tokens.access_token.expose();
    let rejected = view.invalidated_access == Some(access);
    if !rejected && !is_access_token_expired(tokens.expires_at, Some(access), now, skew_ms)? {
        return Ok(SessionDecision::Use(source));
    }
    let refresh = match &tokens.refresh_token {
        None => return Err(no_refresh_token()),
        Some(r) => r.expose(),
    };
    if let Some(h) = view.held_back {
        if h.refresh_token == refresh && now < h.retry_at {
            return Err(held_back_after_lost_answer(h.retry_at - now));
        }
    }
    Ok(SessionDecision::Refresh(source))
}

/// The headers an API request carries: openai-codex -> `Authorization` and (when the tokens
/// name one) `ChatGPT-Account-ID`; rfc8628 -> `Authorization: Bearer`, for Bearer tokens only
/// (a sender-constrained type such as DPoP needs a proof this module does not make).
pub(crate) fn auth_headers(kind: ProviderKind, tokens: &Tokens) -> Result<Vec<(String, String)>, Error> {
    match kind {
        ProviderKind::OpenAiCodex => codex_auth_headers(tokens),
        ProviderKind::Rfc8628 => {
            if tokens.token_type != "Bearer" {
                return Err(Error::invalid_config(
                    "authHeaders builds Bearer headers only and these tokens have another \
                     tokenType; use getAccessToken and build the header yourself",
                ));
            }
            let access = tokens.access_token.expose();
            if access.is_empty() || access.chars().any(|c| c.is_control()) {
                return Err(Error::invalid_config(
                    "tokens.accessToken must be a non-empty string without control characters",
                ));
            }
            Ok(vec![(
                "Authorization".to_owned(),
                format!("Bearer {access}"),
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const NOW: f64 = 1_700_000_000_000.0;

    fn tokens(access: &str, refresh: Option<&str>, expires_at: Option<f64>) -> Tokens {
        Tokens {
            access_token: Secret::new(access),
            token_type: "Bearer".to_owned(),
            refresh_token: refresh.map(Secret::new),
            id_token: None,
            scope: None,
            expires_at,
        }
    }

    fn fresh(access: &str, refresh: &str) -> Tokens {
        tokens(access, Some(refresh), Some(NOW + 3_600_000.0))
    }

    fn expired(access: &str, refresh: &str) -> Tokens {
        tokens(access, Some(refresh), Some(NOW - 1.0))
    }

    #[test]
    fn default_skew_is_five_minutes_for_openai_codex_and_one_minute_otherwise() {
        assert_eq!(default_skew_ms(ProviderKind::OpenAiCodex), 300_000.0);
        assert_eq!(default_skew_ms(ProviderKind::Rfc8628), 60_000.0);
    }

    #[test]
    fn config_applies_defaults_and_keeps_valid_values() {
        let c = SessionConfig::new(ProviderKind::OpenAiCodex, None, None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.skew_ms, c.timeout_ms, c.store_timeout_ms),
            (300_000.0, 30_000.0, 60_000.0)
        );
        assert_eq!(c.kind, ProviderKind::OpenAiCodex);
        let c = SessionConfig::new(ProviderKind::Rfc8628, Some(0.0), Some(5.0), Some(7.0));
        assert_eq!(
            c.map(|c| (c.skew_ms, c.timeout_ms, c.store_timeout_ms)),
            Ok((0.0, 5.0, 7.0))
        );
    }

    #[test]
    fn config_refuses_negative_or_non_finite_skew_and_non_positive_timeout() {
        for skew in [-1.0, f64::NAN, f64::INFINITY] {
            let e = SessionConfig::new(ProviderKind::Rfc8628, Some(skew), None, None);
            assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        }
        for t in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let e = SessionConfig::new(ProviderKind::Rfc8628, None, Some(t), None);
            assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
            let e = SessionConfig::new(ProviderKind::Rfc8628, None, None, Some(t));
            assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        }
    }

    #[test]
    fn only_the_servers_verdicts_on_the_grant_mean_the_refresh_token_is_dead() {
        let dead = [
            ErrorCode::InvalidGrant,
            ErrorCode::RefreshTokenExpired,
            ErrorCode::RefreshTokenReused,
            ErrorCode::RefreshTokenInvalidated,
            ErrorCode::OAuthError,
            ErrorCode::AccessDenied,
            ErrorCode::ExpiredToken,
        ];
        for code in ErrorCode::ALL {
            assert_eq!(refresh_token_is_dead(code), dead.contains(&code), "{code}");
            let reauth = reauth_after(code);
            assert_eq!(reauth.is_some(), dead.contains(&code), "{code}");
            if let Some(e) = reauth {
                assert_eq!(e.code, ErrorCode::ReauthRequired);
                assert!(!e.retryable());
                assert!(e.message.contains(code.as_str()), "{}", e.message);
            }
        }
    }

    #[test]
    fn no_tokens_in_the_store_requires_a_sign_in() {
        let e = decide(&SessionView::default(), NOW, 0.0);
        assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::ReauthRequired));
    }

    #[test]
    fn valid_stored_tokens_are_used_and_expired_ones_refreshed() {
        let ok = fresh("at", "rt");
        let view = SessionView {
            stored: Some(&ok),
            ..Default::default()
        };
        assert_eq!(
            decide(&view, NOW, 60_000.0),
            Ok(SessionDecision::Use(Source::Stored))
        );
        // Within the skew counts as expired.
        assert_eq!(
            decide(&view, NOW, 3_600_000.0),
            Ok(SessionDecision::Refresh(Source::Stored))
        );
        let old = expired("at", "rt");
        let view = SessionView {
            stored: Some(&old),
            ..Default::default()
        };
        assert_eq!(
            decide(&view, NOW, 0.0),
            Ok(SessionDecision::Refresh(Source::Stored))
        );
    }

    #[test]
    fn an_invalidated_access_token_is_refreshed_even_when_exp_says_valid() {
        let ok = fresh("at_1", "rt_1");
        let view = SessionView {
            stored: Some(&ok),
            held: Some(&ok),
            invalidated_access: Some("at_1"),
            ..Default::default()
        };
        assert_eq!(
            decide(&view, NOW, 0.0),
            Ok(SessionDecision::Refresh(Source::Stored))
        );
    }

    #[test]
    fn tokens_someone_else_refreshed_are_adopted_instead_of_refreshing() {
        let held = expired("at_1", "rt_1");
        let stored = fresh("at_2", "rt_2");
        let view = SessionView {
            stored: Some(&stored),
            held: Some(&held),
            invalidated_access: Some("at_1"),
            ..Default::default()
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Use(Source::Stored)));
    }

    #[test]
    fn a_stale_store_holding_a_spent_refresh_token_is_ignored() {
        let stale = expired("at_1", "rt_1");
        let held = expired("at_2", "rt_2");
        let view = SessionView {
            stored: Some(&stale),
            held: Some(&held),
            spent_refresh: Some("rt_1"),
            ..Default::default()
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Refresh(Source::Held)));
        let held = fresh("at_2", "rt_2");
        let view = SessionView {
            held: Some(&held),
            ..view
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Use(Source::Held)));
    }

    #[test]
    fn a_server_that_does_not_rotate_keeps_using_the_store() {
        // The reply omitted refresh_token: memory and store share the spent one.
        let held = fresh("at_2", "rt_1");
        let stored = fresh("at_3", "rt_1");
        let view = SessionView {
            stored: Some(&stored),
            held: Some(&held),
            spent_refresh: Some("rt_1"),
            ..Default::default()
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Use(Source::Stored)));
    }

    #[test]
    fn the_latch_holds_until_the_store_has_different_tokens() {
        let dead = expired("at_1", "rt_1");
        let same_copy = expired("at_1", "rt_1");
        let view = SessionView {
            stored: Some(&same_copy),
            latched: Some(&dead),
            ..Default::default()
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Latched));
        let view = SessionView {
            stored: None,
            ..view
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Latched));
        let new_login = fresh("at_9", "rt_9");
        let view = SessionView {
            stored: Some(&new_login),
            ..view
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(SessionDecision::Use(Source::Stored)));
        let only_new_refresh = expired("at_1", "rt_9");
        let view = SessionView {
            stored: Some(&only_new_refresh),
            ..view
        };
        assert_eq!(
            decide(&view, NOW, 0.0),
            Ok(SessionDecision::Refresh(Source::Stored))
        );
    }

    #[test]
    fn expired_tokens_without_a_refresh_token_require_a_sign_in() {
        let t = tokens("at", None, Some(NOW));
        let view = SessionView {
            stored: Some(&t),
            ..Default::default()
        };
        assert_eq!(
            decide(&view, NOW, 0.0).map_err(|e| e.code),
            Err(ErrorCode::ReauthRequired)
        );
    }

    #[test]
    fn a_bad_clock_reading_is_invalid_config() {
        let t = fresh("at", "rt");
        let view = SessionView {
            stored: Some(&t),
            ..Default::default()
        };
        assert_eq!(
            decide(&view, f64::NAN, 0.0).map_err(|e| e.code),
            Err(ErrorCode::InvalidConfig)
        );
    }

    #[test]
    fn rfc8628_headers_are_bearer_only() {
        let t = fresh("at_x", "rt");
        assert_eq!(
            auth_headers(ProviderKind::Rfc8628, &t),
            Ok(vec![("Authorization".to_owned(), "Bearer at_x".to_owned())])
        );
        let dpop = Tokens {
            token_type: "DPoP".to_owned(),
            ..fresh("at_x", "rt")
        };
        let e = auth_headers(ProviderKind::Rfc8628, &dpop);
        assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        let bad = fresh("at\nx", "rt");
        let e = auth_headers(ProviderKind::Rfc8628, &bad);
        assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
    }

    #[test]
    fn openai_codex_headers_are_the_codex_ones() {
        let t = fresh("at_x", "rt");
        assert_eq!(
            auth_headers(ProviderKind::OpenAiCodex, &t),
            Ok(vec![("Authorization".to_owned(), "Bearer at_x".to_owned())])
        );
    }

    fn failure(code: ErrorCode, status: Option<u16>, fate: RequestFate) -> RefreshFailure {
        RefreshFailure {
            code,
            status,
            fate,
            resent_after_lost_answer: false,
        }
    }

    #[test]
    fn only_a_request_that_left_without_a_usable_answer_counts_as_a_lost_answer() {
        use ErrorCode::*;
        let lost = [
            failure(NetworkError, None, RequestFate::Sent),
            failure(InvalidResponse, Some(200), RequestFate::Sent),
            failure(InvalidResponse, Some(502), RequestFate::Sent),
            failure(ServerError, Some(502), RequestFate::Sent),
            failure(ServerError, Some(504), RequestFate::Sent),
        ];
        for f in lost {
            assert!(answer_lost(&f), "{f:?}");
            assert_eq!(
                after_refresh_failure(&f, NOW, 30_000.0),
                AfterRefreshFailure::AnswerLost {
                    retry_at: NOW + 5_000.0
                },
                "{f:?}"
            );
        }
        let not_lost = [
            failure(NetworkError, None, RequestFate::NotSent),
            failure(NetworkError, None, RequestFate::NeverLeft),
            failure(ServerError, Some(500), RequestFate::Sent),
            failure(ServerError, Some(503), RequestFate::Sent),
            failure(ServerError, Some(429), RequestFate::Sent),
            failure(Redirect, Some(302), RequestFate::Sent),
            failure(InvalidConfig, None, RequestFate::NotSent),
            failure(InvalidConfig, None, RequestFate::Sent),
            failure(Aborted, None, RequestFate::Sent),
        ];
        for f in not_lost {
            assert!(!answer_lost(&f), "{f:?}");
            assert_eq!(
                after_refresh_failure(&f, NOW, 30_000.0),
                AfterRefreshFailure::PassThrough,
                "{f:?}"
            );
        }
    }

    #[test]
    fn the_backoff_after_a_lost_answer_is_short() {
        assert_eq!(lost_answer_backoff_ms(30_000.0), 5_000.0);
        assert_eq!(lost_answer_backoff_ms(200.0), 200.0);
        let f = failure(ErrorCode::NetworkError, None, RequestFate::Sent);
        assert_eq!(
            after_refresh_failure(&f, NOW, 200.0),
            AfterRefreshFailure::AnswerLost {
                retry_at: NOW + 200.0
            }
        );
    }

    #[test]
    fn transport_codes_that_prove_the_request_never_left() {
        for code in [
            "ECONNREFUSED",
            "ENOTFOUND",
            "EAI_AGAIN",
            "ENETUNREACH",
            "EHOSTUNREACH",
            "UND_ERR_CONNECT_TIMEOUT",
            "CERT_HAS_EXPIRED",
            "ERR_TLS_CERT_ALTNAME_INVALID",
            "DEPTH_ZERO_SELF_SIGNED_CERT",
            "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        ] {
            assert!(request_never_left(code), "{code}");
        }
        for code in [
            "ECONNRESET",
            "EPIPE",
            "UND_ERR_SOCKET",
            "UND_ERR_HEADERS_TIMEOUT",
            "UND_ERR_BODY_TIMEOUT",
            "ETIMEDOUT",
            "",
        ] {
            assert!(!request_never_left(code), "{code}");
        }
    }

    #[test]
    fn a_dead_verdict_latches_and_after_a_lost_answer_says_the_tokens_were_lost() {
        let mut f = failure(ErrorCode::RefreshTokenReused, Some(401), RequestFate::Sent);
        let AfterRefreshFailure::Latch(plain) = after_refresh_failure(&f, NOW, 1.0) else {
            panic!("latch expected");
        };
        assert_eq!(
            Some(plain.clone()),
            reauth_after(ErrorCode::RefreshTokenReused)
        );
        f.resent_after_lost_answer = true;
        let AfterRefreshFailure::Latch(lost) = after_refresh_failure(&f, NOW, 1.0) else {
            panic!("latch expected");
        };
        assert_eq!(lost.code, ErrorCode::ReauthRequired);
        assert!(!lost.retryable());
        assert!(
            lost.message.contains("refresh_token_reused"),
            "{}",
            lost.message
        );
        assert!(lost.message.contains("never arrived"), "{}", lost.message);
    }

    #[test]
    fn a_held_back_refresh_token_is_not_sent_again_before_its_time() {
        let old = expired("at_1", "rt_1");
        let held_back = HeldBack {
            refresh_token: "rt_1",
            retry_at: NOW + 1_000.0,
        };
        let view = SessionView {
            stored: Some(&old),
            held: Some(&old),
            held_back: Some(held_back),
            ..Default::default()
        };
        let e = decide(&view, NOW, 0.0).err();
        assert_eq!(e.as_ref().map(|e| e.code), Some(ErrorCode::NetworkError));
        assert_eq!(e.as_ref().and_then(|e| e.retry_after_ms), Some(1_000.0));
        assert!(e.as_ref().is_some_and(|e| e.retryable()));
        // Its time has come: the same token is sent again (the only way to keep the login if
        // the first request never reached the server).
        assert_eq!(
            decide(&view, NOW + 1_000.0, 0.0),
            Ok(SessionDecision::Refresh(Source::Stored))
        );
        // Another holder saved newer tokens meanwhile: used, or refreshed, at once.
        let newer = fresh("at_2", "rt_2");
        let view_newer = SessionView {
            stored: Some(&newer),
            ..view
        };
        assert_eq!(
            decide(&view_newer, NOW, 0.0),
            Ok(SessionDecision::Use(Source::Stored))
        );
        let newer_expired = expired("at_2", "rt_2");
        let view_newer = SessionView {
            stored: Some(&newer_expired),
            ..view
        };
        assert_eq!(
            decide(&view_newer, NOW, 0.0),
            Ok(SessionDecision::Refresh(Source::Stored))
        );
        // A still valid access token is handed out meanwhile.
        let valid_old = fresh("at_1", "rt_1");
        let view_valid = SessionView {
            stored: Some(&valid_old),
            held: Some(&valid_old),
            ..view
        };
        assert_eq!(
            decide(&view_valid, NOW, 0.0),
            Ok(SessionDecision::Use(Source::Stored))
        );
    }

    /// Only the calls that are handed tokens can leak them: each one is named, and must give
    /// the error it is checked for (no count of messages that might silently shrink).
    #[test]
    fn errors_made_from_tokens_never_carry_them() {
        let secrets = ["at_secret_1", "rt_secret_1"];
        let odd_type = Tokens {
            token_type: "rt_secret_1".to_owned(),
            ..fresh("at_secret_1", "rt_secret_1")
        };
        let no_refresh = tokens("at_secret_1", None, Some(NOW));
        let old = expired("at_secret_1", "rt_secret_1");
        let held_back = SessionView {
            stored: Some(&old),
            held: Some(&old),
            held_back: Some(HeldBack {
                refresh_token: "rt_secret_1",
                retry_at: NOW + 1_000.0,
            }),
            ..Default::default()
        };
        let no_refresh_view = SessionView {
            stored: Some(&no_refresh),
            ..Default::default()
        };
        for (what, outcome) in [
            ("auth headers", auth_headers(ProviderKind::Rfc8628, &odd_type).err()),
            ("held back", decide(&held_back, NOW, 0.0).err()),
            ("no refresh token", decide(&no_refresh_view, NOW, 0.0).err()),
        ] {
            let e = outcome.unwrap_or_else(|| panic!("{what} must fail"));
            for s in secrets {
                assert!(!e.message.contains(s), "{what}: {}", e.message);
            }
        }
    }
}
