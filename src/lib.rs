//! OAuth device login and token refresh for Node hosts, as a sans-I/O core compiled to
//! WebAssembly.
//!
//! Two protocols: OpenAI's "Sign in with ChatGPT" device login (JSON user code, polling where
//! 403/404 means pending, a PKCE code exchange, JSON refresh with single-use rotating refresh
//! tokens) and standard RFC 8628. The core never performs I/O: each request is a pair of
//! functions, one building the [`HttpRequest`] to send and one turning the [`HttpResponse`] into
//! a typed outcome, with time passed in as clock readings. That keeps every protocol decision
//! testable natively and reachable by the fuzzer; the `wasm` module only adapts the host's
//! `fetch`, clock and sleep to these functions. The behaviour is described in
//! `docs/behaviour.md`.
//!
//! # The public Rust API
//!
//! What this file re-exports is the crate's API for a Rust host, and nothing else is:
//!
//! - providers: [`Provider`] (built only by [`Provider::from_json`], [`openai_codex_provider`]
//!   and [`rfc8628_provider`], which validate it, so no provider skips the endpoint and header
//!   checks), [`ProviderKind`], [`ClientAuth`], and the JSON [`Value`] they are read from
//!   ([`parse_json`]);
//! - the request/process pairs of each request ([`RequestKind`]): device authorization, poll and
//!   code exchange, refresh, revocation, with their inputs and outcomes ([`DeviceCode`],
//!   [`PollResult`], [`AfterPoll`], [`CodeExchange`], [`RefreshInput`], [`Tokens`]);
//! - HTTP as data ([`HttpRequest`], [`HttpResponse`], [`read_body_needed`]);
//! - the waiting loop's pure state machine ([`WaitLoop`]);
//! - expiry, claims and the Codex backend's headers; [`Secret`]; the one error type
//!   [`Error`] with its stable [`ErrorCode`].
//!
//! Why no more: everything else (the JSON writer, the reply rules, the input caps, the token
//! session's and the model call's decisions, which answer the TypeScript side's questions, and
//! the WebAssembly adapter) is how these functions work, and would freeze the design if a Rust
//! host could name it. Those modules are private. The crate's own tests (`tests/core`,
//! `tests/wasm.rs`) and the fuzz targets (`fuzz/`) reach them through the `internals` cargo
//! feature, which makes every module public; the crate enables it for itself as a
//! dev-dependency and `fuzz/Cargo.toml` enables it, so no build a host makes turns it on. It is
//! not part of the API and carries no compatibility promise.

#![cfg_attr(not(feature = "internals"), warn(missing_docs, unreachable_pub))]

/// Declares modules that are public only with the `internals` feature (see the crate doc).
macro_rules! modules {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "internals")]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

modules! {
    auth_headers;
    classify;
    clock;
    device_code;
    endpoint;
    error;
    expiry;
    fields;
    form;
    header_rules;
    http;
    json;
    jwt;
    limits;
    /// Natively only the unit tests call it: its caller is the WebAssembly adapter.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    model_call;
    /// Natively only the tests call it: its caller is the WebAssembly adapter.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    model_reply;
    poll;
    provider;
    refresh;
    request;
    request_kind;
    revoke;
    secret;
    /// Natively only the unit tests call it: its caller is the WebAssembly adapter.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    session;
    /// Natively only the unit tests call it: its caller is the WebAssembly adapter.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    session_store;
    tokens;
    wait;
    /// The WebAssembly exports: the functions `pkg/` exposes to JavaScript.
    #[cfg(target_arch = "wasm32")]
    wasm;
}

pub use auth_headers::codex_auth_headers;
pub use device_code::{
    device_authorization_request, process_device_authorization, DeviceCode, MAX_INTERVAL_MS,
    MIN_INTERVAL_MS, OPENAI_CODE_LIFETIME_MS,
};
pub use error::{Error, ErrorCode};
pub use expiry::{is_access_token_expired, DEFAULT_SKEW_MS};
pub use http::{read_body_needed, HttpRequest, HttpResponse, MAX_BODY_BYTES};
pub use json::{parse as parse_json, Value};
pub use jwt::{decode_claims, TokenClaims};
pub use poll::{
    code_exchange_request, poll_request, process_code_exchange, process_poll, AfterPoll,
    CodeExchange, PollResult, DEVICE_CODE_GRANT, SLOW_DOWN_STEP_MS,
};
pub use provider::{
    openai_codex_provider, rfc8628_provider, ClientAuth, Provider, ProviderKind,
    OPENAI_CODEX_CLIENT_ID, OPENAI_ISSUER,
};
pub use refresh::{process_refresh, refresh_request, RefreshInput};
pub use request_kind::RequestKind;
pub use revoke::{process_revocation, revocation_request};
pub use secret::Secret;
pub use tokens::Tokens;
pub use wait::{
    default_fetch_timeout_ms, WaitAction, WaitDecision, WaitEvent, WaitLoop,
    DEFAULT_WAIT_FETCH_TIMEOUT_MS, MAX_RETRY_DELAY_MS,
};
