//! The one error type of the crate, shaped like the JS `OAuthDeviceFlowError` it becomes.
//!
//! Every error code shares the same optional details (HTTP status, the server's own code,
//! Retry-After), so the code is a field beside them rather than one enum variant each repeating
//! them. Server codes the error table does not name are the `OAuthError` code with `server_code`
//! set: the open-ended fallback. Messages are written for the person who must act and are built
//! only from our own words plus sanitised server text: never a token, a code, or a raw body.

use crate::json::ObjectWriter;
use std::fmt;

/// The stable codes of the error table (docs/behaviour.md, "Errors").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The user declined the sign-in.
    AccessDenied,
    /// The device code expired before the user approved.
    ExpiredToken,
    /// Device login is not enabled for this account or server (OpenAI's 404).
    DeviceFlowDisabled,
    /// The grant was rejected: sign in again.
    InvalidGrant,
    /// The refresh token has expired.
    RefreshTokenExpired,
    /// The single-use refresh token was already used.
    RefreshTokenReused,
    /// The refresh token was revoked (signed out, or signed in elsewhere).
    RefreshTokenInvalidated,
    /// Another OAuth error code; `server_code` holds it.
    OAuthError,
    /// The server failed or throttled (5xx, 429): try again later.
    ServerError,
    /// The request got no answer (the host's transport failed or timed out).
    NetworkError,
    /// The reply could not be read as the protocol requires.
    InvalidResponse,
    /// The server answered with a redirect, which is never followed.
    Redirect,
    /// The host passed something unusable (a provider, an option, a clock reading).
    InvalidConfig,
    /// An endpoint is not `https:` (or `http:` to the loopback host).
    InsecureEndpoint,
    /// The host aborted the operation.
    Aborted,
    /// The token session needs a new sign-in.
    ReauthRequired,
    /// The token session's store failed.
    StorageError,
    /// Model calls: the ChatGPT plan's usage limit is reached (`resets_at` says until when).
    UsageLimitReached,
    /// Model calls: the ChatGPT plan does not include Codex.
    UsageNotIncluded,
    /// Model calls: the backend refused the request itself (a model not supported, bad input).
    ModelError,
    /// Model calls: the model failed while answering (a `response.failed` event).
    ResponseFailed,
    /// Model calls: the backend answered with a bot-challenge page.
    Challenge,
}

impl ErrorCode {
    /// Every code, in the order of the error table.
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::AccessDenied,
        ErrorCode::ExpiredToken,
        ErrorCode::DeviceFlowDisabled,
        ErrorCode::InvalidGrant,
        ErrorCode::RefreshTokenExpired,
        ErrorCode::RefreshTokenReused,
        ErrorCode::RefreshTokenInvalidated,
        ErrorCode::OAuthError,
        ErrorCode::ServerError,
        ErrorCode::NetworkError,
        ErrorCode::InvalidResponse,
        ErrorCode::Redirect,
        ErrorCode::InvalidConfig,
        ErrorCode::InsecureEndpoint,
        ErrorCode::Aborted,
        ErrorCode::ReauthRequired,
        ErrorCode::StorageError,
        ErrorCode::UsageLimitReached,
        ErrorCode::UsageNotIncluded,
        ErrorCode::ModelError,
        ErrorCode::ResponseFailed,
        ErrorCode::Challenge,
    ];

    /// The code as JavaScript sees it (`"access_denied"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::DeviceFlowDisabled => "device_flow_disabled",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::RefreshTokenExpired => "refresh_token_expired",
            ErrorCode::RefreshTokenReused => "refresh_token_reused",
            ErrorCode::RefreshTokenInvalidated => "refresh_token_invalidated",
            ErrorCode::OAuthError => "oauth_error",
            ErrorCode::ServerError => "server_error",
            ErrorCode::NetworkError => "network_error",
            ErrorCode::InvalidResponse => "invalid_response",
            ErrorCode::Redirect => "redirect",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::InsecureEndpoint => "insecure_endpoint",
            ErrorCode::Aborted => "aborted",
            ErrorCode::ReauthRequired => "reauth_required",
            ErrorCode::StorageError => "storage_error",
            ErrorCode::UsageLimitReached => "usage_limit_reached",
            ErrorCode::UsageNotIncluded => "usage_not_included",
            ErrorCode::ModelError => "model_error",
            ErrorCode::ResponseFailed => "response_failed",
            ErrorCode::Challenge => "challenge",
        }
    }

    /// The code spelt `s`, if any.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the same call may succeed later without the user doing anything.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::ServerError
                | ErrorCode::NetworkError
                | ErrorCode::InvalidResponse
                | ErrorCode::Redirect
                | ErrorCode::StorageError
                | ErrorCode::UsageLimitReached
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed operation: its stable code plus what the reply told us.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// What went wrong, as a stable code.
    pub code: ErrorCode,
    /// A message for people; never contains a secret.
    pub message: String,
    /// HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The server's own error code, sanitised: lowercase `[a-z0-9_.-]`, at most 64 characters.
    pub server_code: Option<String>,
    /// From `Retry-After` (seconds or HTTP date), in milliseconds.
    pub retry_after_ms: Option<f64>,
    /// When a usage limit resets (epoch milliseconds), as the Codex backend said.
    pub resets_at: Option<f64>,
    /// Set when this error's retryability is not its code's (a `response_failed` whose server
    /// code says the failure was transient).
    pub retryable_override: Option<bool>,
}

impl Error {
    /// An error with `code` and `message` and no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            status: None,
            server_code: None,
            retry_after_ms: None,
            resets_at: None,
            retryable_override: None,
        }
    }

    /// An `invalid_config` error.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidConfig, message)
    }

    /// An `invalid_response` error.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidResponse, message)
    }

    /// The same error with the reply's HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The same error with the server's own code, sanitised (none when nothing printable is left).
    pub fn with_server_code(mut self, raw: Option<&str>) -> Self {
        self.server_code = raw.and_then(sanitize_server_code);
        self
    }

    /// The same error with the wait the server asked for (`Retry-After`), in milliseconds.
    pub fn with_retry_after(mut self, ms: Option<f64>) -> Self {
        self.retry_after_ms = ms;
        self
    }

    /// The same error with a usage limit's reset time (epoch milliseconds).
    pub fn with_resets_at(mut self, at: Option<f64>) -> Self {
        self.resets_at = at;
        self
    }

    /// The same error with a retryability of its own instead of its code's.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable_override = Some(retryable);
        self
    }

    /// Whether trying again may help: the code's own (see [`ErrorCode::retryable`]) unless the
    /// error says otherwise.
    pub fn retryable(&self) -> bool {
        self.retryable_override.unwrap_or(self.code.retryable())
    }

    /// The JSON the JS error class is built from (also its `toJSON` shape, minus `name`).
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .string("code", self.code.as_str())
            .string("message", &self.message)
            .boolean("retryable", self.retryable())
            .opt_number("status", self.status.map(f64::from))
            .opt_string("serverCode", self.server_code.as_deref())
            .opt_number("retryAfterMs", self.retry_after_ms)
            .opt_number("resetsAt", self.resets_at)
            .finish()
    }
}

/// Lowercased, characters other than `[a-z0-9_.-]` removed, at most 64 characters; `None` when
/// nothing is left.
pub(crate) fn sanitize_server_code(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .to_ascii_lowercase()
        .chars()
        .filter(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
        .take(64)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_its_documented_retryability() {
        let retryable = [
            "server_error",
            "network_error",
            "invalid_response",
            "redirect",
            "storage_error",
            "usage_limit_reached",
        ];
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(
                code.retryable(),
                retryable.contains(&code.as_str()),
                "{code}"
            );
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }

    #[test]
    fn server_codes_are_sanitised() {
        assert_eq!(
            sanitize_server_code(" Invalid Client! "),
            Some("invalidclient".into())
        );
        assert_eq!(sanitize_server_code("a.b-c_d9"), Some("a.b-c_d9".into()));
        assert_eq!(
            sanitize_server_code(&"x".repeat(100)).map(|s| s.len()),
            Some(64)
        );
        assert_eq!(sanitize_server_code("\u{1F600}<>"), None);
    }

    #[test]
    fn error_json_has_only_the_public_fields() {
        let e = Error::new(ErrorCode::ServerError, "down")
            .with_status(503)
            .with_server_code(Some("Overloaded"))
            .with_retry_after(Some(2000.0));
        assert_eq!(
            e.to_json(),
            r#"{"code":"server_error","message":"down","retryable":true,"status":503,"serverCode":"overloaded","retryAfterMs":2000}"#
        );
    }
}
