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
pub const OPENAI_CODEX_SKEW_MS: f64 = 300_000.0;
/// The refresh request's default timeout: one hung request must not block every waiting caller.
pub const DEFAULT_REFRESH_TIMEOUT_MS: f64 = 30_000.0;

/// The skew a session uses when the host gives none.
pub fn default_skew_ms(kind: ProviderKind) -> f64 {
    match kind {
        ProviderKind::OpenAiCodex => OPENAI_CODEX_SKEW_MS,
        ProviderKind::Rfc8628 => DEFAULT_SKEW_MS,
    }
}

/// A session's settings after defaults and validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionConfig {
    pub kind: ProviderKind,
    pub skew_ms: f64,
    pub timeout_ms: f64,
}

impl SessionConfig {
    pub fn new(
        kind: ProviderKind,
        skew_ms: Option<f64>,
        timeout_ms: Option<f64>,
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
        Ok(SessionConfig {
            kind,
            skew_ms,
            timeout_ms,
        })
    }

    pub fn to_json(&self) -> String {
        crate::json::ObjectWriter::new()
            .string("kind", self.kind.as_str())
            .number("skewMs", self.skew_ms)
            .number("timeoutMs", self.timeout_ms)
            .finish()
    }
}

/// Whether a refresh failure means the refresh token can never work again, so that only a new
/// sign-in helps. These are the server's verdicts on the grant; transport trouble, redirects,
/// odd replies, aborts and configuration errors say nothing about the token and are not.
pub fn refresh_token_is_dead(code: ErrorCode) -> bool {
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
pub fn reauth_after(cause: ErrorCode) -> Option<Error> {
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

/// The store call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreStep {
    Load,
    Save,
    Lock,
    /// `lock` settled without ever running the session's function.
    LockSkipped,
}

impl StoreStep {
    pub fn parse(s: &str) -> Option<StoreStep> {
        match s {
            "load" => Some(StoreStep::Load),
            "save" => Some(StoreStep::Save),
            "lock" => Some(StoreStep::Lock),
            "lock_skipped" => Some(StoreStep::LockSkipped),
            _ => None,
        }
    }
}

/// `storage_error` for a failed store call. The store's own error is not quoted: it may carry
/// the tokens it failed to write.
pub fn storage_error(step: StoreStep) -> Error {
    let message = match step {
        StoreStep::Load => "The token store's load() failed; try again.",
        StoreStep::Save => {
            "The token store's save() failed. The new tokens are kept in memory and the next call \
             saves them again before using them (the old refresh token is already spent)."
        }
        StoreStep::Lock => "The token store's lock() failed before running the session; try again.",
        StoreStep::LockSkipped => {
            "The token store's lock() settled without running the session's function; it must \
             call it and return its result."
        }
    };
    Error::new(ErrorCode::StorageError, message)
}

/// No tokens in the store: nobody has signed in (or the host signed out).
pub fn no_tokens() -> Error {
    Error::new(
        ErrorCode::ReauthRequired,
        "The token store holds no tokens: sign in first.",
    )
}

/// The access token must be replaced and there is nothing to refresh it with.
pub fn no_refresh_token() -> Error {
    Error::new(
        ErrorCode::ReauthRequired,
        "The access token has expired or was rejected and the stored tokens have no refresh \
         token: sign in again.",
    )
}

/// Which token set a decision is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// What the store just returned.
    Stored,
    /// What the session holds in memory (the store returned a stale copy).
    Held,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Stored => "stored",
            Source::Held => "held",
        }
    }
}

/// What the session does with the tokens at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Hand out this token set's access token (adopting it when it is the stored one).
    Use(Source),
    /// Spend this token set's refresh token.
    Refresh(Source),
    /// The store still holds the tokens whose refresh token died: reject again, no request.
    Latched,
}

impl Decision {
    pub fn to_json(&self) -> String {
        let (step, source) = match self {
            Decision::Use(s) => ("use", Some(*s)),
            Decision::Refresh(s) => ("refresh", Some(*s)),
            Decision::Latched => ("latched", None),
        };
        crate::json::ObjectWriter::new()
            .string("step", step)
            .opt_string("source", source.map(Source::as_str))
            .finish()
    }
}

/// What the session knows when it decides, right after reading the store.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionView<'a> {
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
}

/// Two token sets are "the same" for the session when their access and refresh tokens match.
pub fn same_tokens(a: &Tokens, b: &Tokens) -> bool {
    a.access_token == b.access_token && a.refresh_token == b.refresh_token
}

/// Use, adopt or refresh. Reads: the store wins over memory (someone else may have refreshed,
/// or signed in again), except when it hands back a refresh token this session already spent
/// while memory holds its successor: that copy is stale and spending it again would be reuse.
pub fn decide(view: &SessionView<'_>, now: f64, skew_ms: f64) -> Result<Decision, Error> {
    let stored = match (view.stored, view.latched) {
        (Some(s), Some(l)) if same_tokens(s, l) => return Ok(Decision::Latched),
        (None, Some(_)) => return Ok(Decision::Latched),
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
        return Ok(Decision::Use(source));
    }
    if tokens.refresh_token.is_none() {
        return Err(no_refresh_token());
    }
    Ok(Decision::Refresh(source))
}

/// The headers an API request carries: openai-codex -> `Authorization` and (when the tokens
/// name one) `ChatGPT-Account-ID`; rfc8628 -> `Authorization: Bearer`, for Bearer tokens only
/// (a sender-constrained type such as DPoP needs a proof this module does not make).
pub fn auth_headers(kind: ProviderKind, tokens: &Tokens) -> Result<Vec<(String, String)>, Error> {
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
        let c = SessionConfig::new(ProviderKind::OpenAiCodex, None, None).unwrap_or_else(|e| {
            panic!("{e}");
        });
        assert_eq!((c.skew_ms, c.timeout_ms), (300_000.0, 30_000.0));
        assert_eq!(
            c.to_json(),
            r#"{"kind":"openai-codex","skewMs":300000,"timeoutMs":30000}"#
        );
        let c = SessionConfig::new(ProviderKind::Rfc8628, Some(0.0), Some(5.0));
        assert_eq!(c.map(|c| (c.skew_ms, c.timeout_ms)), Ok((0.0, 5.0)));
    }

    #[test]
    fn config_refuses_negative_or_non_finite_skew_and_non_positive_timeout() {
        for skew in [-1.0, f64::NAN, f64::INFINITY] {
            let e = SessionConfig::new(ProviderKind::Rfc8628, Some(skew), None);
            assert_eq!(e.map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
        }
        for t in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let e = SessionConfig::new(ProviderKind::Rfc8628, None, Some(t));
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
    fn store_failures_are_retryable_storage_errors() {
        for name in ["load", "save", "lock", "lock_skipped"] {
            let step = StoreStep::parse(name).unwrap_or_else(|| panic!("{name}"));
            let e = storage_error(step);
            assert_eq!(e.code, ErrorCode::StorageError);
            assert!(e.retryable());
        }
        assert_eq!(StoreStep::parse("other"), None);
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
            Ok(Decision::Use(Source::Stored))
        );
        // Within the skew counts as expired.
        assert_eq!(
            decide(&view, NOW, 3_600_000.0),
            Ok(Decision::Refresh(Source::Stored))
        );
        let old = expired("at", "rt");
        let view = SessionView {
            stored: Some(&old),
            ..Default::default()
        };
        assert_eq!(
            decide(&view, NOW, 0.0),
            Ok(Decision::Refresh(Source::Stored))
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
            Ok(Decision::Refresh(Source::Stored))
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
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Use(Source::Stored)));
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
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Refresh(Source::Held)));
        let held = fresh("at_2", "rt_2");
        let view = SessionView {
            held: Some(&held),
            ..view
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Use(Source::Held)));
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
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Use(Source::Stored)));
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
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Latched));
        let view = SessionView {
            stored: None,
            ..view
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Latched));
        let new_login = fresh("at_9", "rt_9");
        let view = SessionView {
            stored: Some(&new_login),
            ..view
        };
        assert_eq!(decide(&view, NOW, 0.0), Ok(Decision::Use(Source::Stored)));
        let only_new_refresh = expired("at_1", "rt_9");
        let view = SessionView {
            stored: Some(&only_new_refresh),
            ..view
        };
        assert_eq!(
            decide(&view, NOW, 0.0),
            Ok(Decision::Refresh(Source::Stored))
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
    fn decisions_serialise_for_the_js_side() {
        assert_eq!(
            Decision::Use(Source::Held).to_json(),
            r#"{"step":"use","source":"held"}"#
        );
        assert_eq!(Decision::Latched.to_json(), r#"{"step":"latched"}"#);
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

    #[test]
    fn messages_never_carry_a_token() {
        let secrets = ["at_secret_1", "rt_secret_1"];
        let mut messages = vec![no_tokens().message, no_refresh_token().message];
        messages.extend(
            ErrorCode::ALL
                .into_iter()
                .filter_map(reauth_after)
                .map(|e| e.message),
        );
        for s in ["load", "save", "lock", "lock_skipped"] {
            messages.extend(StoreStep::parse(s).map(|s| storage_error(s).message));
        }
        let t = Tokens {
            token_type: "rt_secret_1".to_owned(),
            ..fresh("at_secret_1", "rt_secret_1")
        };
        messages.extend(
            auth_headers(ProviderKind::Rfc8628, &t)
                .err()
                .map(|e| e.message),
        );
        assert_eq!(messages.len(), 14);
        for m in &messages {
            for s in secrets {
                assert!(!m.contains(s), "{m}");
            }
        }
    }
}
