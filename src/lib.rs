//! OAuth device login and token refresh for Node hosts, as a sans-I/O core compiled to
//! WebAssembly.
//!
//! Two protocols: OpenAI's "Sign in with ChatGPT" device login (JSON user code, polling where
//! 403/404 means pending, a PKCE code exchange, JSON refresh with single-use rotating refresh
//! tokens) and standard RFC 8628. The core never performs I/O: each step is a pair of functions,
//! one building the [`HttpRequest`] to send and one turning the [`HttpResponse`] into a typed
//! outcome, with time passed in as clock readings. That keeps every protocol decision testable
//! natively and reachable by the fuzzer; the `wasm` module only adapts the host's `fetch`,
//! clock and sleep to these functions.

mod auth_headers;
mod classify;
pub mod clock;
mod device_code;
mod endpoint;
mod error;
mod expiry;
mod fields;
pub mod form;
mod header_rules;
pub mod http;
pub mod json;
pub mod jwt;
pub mod limits;
pub mod model_call;
mod poll;
mod provider;
mod refresh;
mod request;
mod revoke;
mod secret;
pub mod session;
pub mod session_store;
mod tokens;
pub mod wait;

/// The WebAssembly exports (public so the wasm-bindgen tests can drive them directly).
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use auth_headers::codex_auth_headers;
pub use device_code::{
    device_authorization_request, process_device_authorization, DeviceCode, MAX_INTERVAL_MS,
    MIN_INTERVAL_MS, OPENAI_CODE_LIFETIME_MS,
};
pub use endpoint::check_endpoint;
pub use error::{sanitize_server_code, Error, ErrorCode};
pub use expiry::{is_access_token_expired, DEFAULT_SKEW_MS};
pub use http::{HttpRequest, HttpResponse, MAX_BODY_BYTES};
pub use jwt::{decode_claims, TokenClaims};
pub use poll::{
    code_exchange_request, poll_request, process_code_exchange, process_poll, CodeExchange,
    PollResult, PollStep, DEVICE_CODE_GRANT,
};
pub use provider::{
    openai_codex_provider, rfc8628_provider, ClientAuth, Provider, ProviderKind,
    OPENAI_CODEX_CLIENT_ID, OPENAI_ISSUER,
};
pub use refresh::{process_refresh, refresh_request, RefreshInput};
pub use revoke::{process_revocation, revocation_request};
pub use secret::Secret;
pub use tokens::Tokens;

/// The request a reply answers; the reply rules differ slightly between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    DeviceAuthorization,
    Poll,
    CodeExchange,
    Refresh,
    Revocation,
}

impl Step {
    /// How messages name the step.
    pub fn describe(self) -> &'static str {
        match self {
            Step::DeviceAuthorization => "device authorization",
            Step::Poll => "poll",
            Step::CodeExchange => "code exchange",
            Step::Refresh => "refresh",
            Step::Revocation => "revocation",
        }
    }
}
