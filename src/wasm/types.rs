//! The values the module hands to the host, as Rust types with serde derives: serde-wasm-bindgen
//! turns them into plain JS objects (no JSON text in between), and tsify writes their TypeScript
//! declarations into `pkg/oauth_device_flow.d.ts`, so the TypeScript side cannot drift from what
//! crosses (tests/ts/wasmTypes.test.ts checks them against the public types of the drop-in).
//!
//! Absent optional members are left out, never `undefined`, as `JSON.parse` would build them.

use crate::error::Error;
use crate::provider::{Provider, ProviderKind};
use crate::secret::Secret;
use crate::tokens::Tokens;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const ERROR_CODE_TS: &'static str = r#"
/** The stable `code` of every error the module produces (the drop-in's `OAuthErrorCode` adds the stream's own codes, `stream_incomplete` and `idle_timeout`). */
export type ErrorCode = "access_denied" | "expired_token" | "device_flow_disabled" | "invalid_grant" | "refresh_token_expired" | "refresh_token_reused" | "refresh_token_invalidated" | "oauth_error" | "server_error" | "network_error" | "invalid_response" | "redirect" | "invalid_config" | "insecure_endpoint" | "aborted" | "reauth_required" | "storage_error" | "usage_limit_reached" | "usage_not_included" | "model_error" | "response_failed" | "challenge";
"#;

/// A JS value of one of these types (serde-wasm-bindgen, maps as plain objects).
pub(crate) fn to_js<T: Serialize>(v: &T) -> JsValue {
    let s = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    // Serialising these types cannot fail (strings, finite numbers, booleans, objects).
    v.serialize(&s).unwrap_or(JsValue::UNDEFINED)
}

/// Ordered string pairs as a plain object (`extraParams`, `headers`), in insertion order.
#[derive(Tsify)]
#[tsify(type = "Record<string, string>")]
pub struct StringMap(pub Vec<(String, String)>);

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Pairs(&self.0).serialize(s)
    }
}

#[derive(Serialize, Tsify)]
pub enum Kind {
    #[serde(rename = "openai-codex")]
    OpenAiCodex,
    #[serde(rename = "rfc8628")]
    Rfc8628,
}

#[derive(Serialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

/// The drop-in's `OAuthProvider` (docs/behaviour.md, "Types"), as the factories return it.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OAuthProvider {
    pub kind: Kind,
    pub client_id: String,
    pub device_authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub device_poll_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub verification_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub client_auth: Option<ClientAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub extra_params: Option<StringMap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub headers: Option<StringMap>,
}

fn pairs(items: &[(String, String)]) -> Option<StringMap> {
    (!items.is_empty()).then(|| StringMap(items.to_vec()))
}

fn exposed(s: &Option<Secret>) -> Option<String> {
    s.as_ref().map(|s| s.expose().to_owned())
}

impl From<&Provider> for OAuthProvider {
    fn from(p: &Provider) -> Self {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        OAuthProvider {
            kind: Kind::from(p.kind()),
            client_id: p.client_id().to_owned(),
            device_authorization_endpoint: p.device_authorization_endpoint().to_owned(),
            token_endpoint: p.token_endpoint().to_owned(),
            device_poll_endpoint: owned(p.device_poll_endpoint()),
            redirect_uri: owned(p.redirect_uri()),
            verification_uri: owned(p.verification_uri()),
            revocation_endpoint: owned(p.revocation_endpoint()),
            scope: owned(p.scope()),
            client_secret: owned(p.client_secret().map(Secret::expose)),
            client_auth: p.client_auth().map(|a| match a {
                crate::provider::ClientAuth::None => ClientAuth::None,
                crate::provider::ClientAuth::ClientSecretPost => ClientAuth::ClientSecretPost,
                crate::provider::ClientAuth::ClientSecretBasic => ClientAuth::ClientSecretBasic,
            }),
            extra_params: pairs(p.extra_params()),
            headers: pairs(p.headers()),
        }
    }
}

impl From<ProviderKind> for Kind {
    fn from(k: ProviderKind) -> Self {
        match k {
            ProviderKind::OpenAiCodex => Kind::OpenAiCodex,
            ProviderKind::Rfc8628 => Kind::Rfc8628,
        }
    }
}

/// The drop-in's `DeviceCode` (docs/behaviour.md, "Types").
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub verification_uri_complete: Option<String>,
    pub interval_ms: f64,
    pub expires_at: f64,
}

impl From<&crate::device_code::DeviceCode> for DeviceCode {
    fn from(c: &crate::device_code::DeviceCode) -> Self {
        DeviceCode {
            device_code: c.device_code.expose().to_owned(),
            user_code: c.user_code.clone(),
            verification_uri: c.verification_uri.clone(),
            verification_uri_complete: c.verification_uri_complete.clone(),
            interval_ms: c.interval_ms,
            expires_at: c.expires_at,
        }
    }
}

/// The drop-in's `OAuthTokens` (docs/behaviour.md, "Types").
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OAuthTokens {
    pub access_token: String,
    pub token_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub expires_at: Option<f64>,
}

impl From<&Tokens> for OAuthTokens {
    fn from(t: &Tokens) -> Self {
        OAuthTokens {
            access_token: t.access_token.expose().to_owned(),
            token_type: t.token_type.clone(),
            refresh_token: exposed(&t.refresh_token),
            id_token: exposed(&t.id_token),
            scope: t.scope.clone(),
            expires_at: t.expires_at,
        }
    }
}

/// The drop-in's `PollResult` (docs/behaviour.md, "Types").
#[derive(Serialize, Tsify)]
#[serde(tag = "status")]
pub enum PollResult {
    #[serde(rename = "pending")]
    Pending {
        #[serde(rename = "intervalMs")]
        interval_ms: f64,
    },
    #[serde(rename = "slow_down")]
    SlowDown {
        #[serde(rename = "intervalMs")]
        interval_ms: f64,
    },
    #[serde(rename = "success")]
    Success { tokens: OAuthTokens },
}

impl From<&crate::poll::PollResult> for PollResult {
    fn from(r: &crate::poll::PollResult) -> Self {
        match r {
            crate::poll::PollResult::Pending { interval_ms } => PollResult::Pending {
                interval_ms: *interval_ms,
            },
            crate::poll::PollResult::SlowDown { interval_ms } => PollResult::SlowDown {
                interval_ms: *interval_ms,
            },
            crate::poll::PollResult::Success(t) => PollResult::Success { tokens: t.into() },
        }
    }
}

/// The drop-in's `DeviceFlowEvent` (docs/behaviour.md, "Types").
#[derive(Serialize, Tsify)]
#[serde(tag = "type")]
pub enum DeviceFlowEvent {
    #[serde(rename = "waiting")]
    Waiting {
        #[serde(rename = "nextPollInMs")]
        next_poll_in_ms: f64,
        #[serde(rename = "expiresAt")]
        expires_at: f64,
    },
    #[serde(rename = "slowed_down")]
    SlowedDown {
        #[serde(rename = "intervalMs")]
        interval_ms: f64,
    },
    #[serde(rename = "retrying")]
    Retrying {
        #[tsify(type = "ErrorCode")]
        code: &'static str,
        attempt: f64,
        #[serde(rename = "delayMs")]
        delay_ms: f64,
    },
    #[serde(rename = "expired")]
    Expired,
}

impl From<&crate::wait::WaitEvent> for DeviceFlowEvent {
    fn from(e: &crate::wait::WaitEvent) -> Self {
        use crate::wait::WaitEvent as E;
        match e {
            E::Waiting {
                next_poll_in_ms,
                expires_at,
            } => DeviceFlowEvent::Waiting {
                next_poll_in_ms: *next_poll_in_ms,
                expires_at: *expires_at,
            },
            E::SlowedDown { interval_ms } => DeviceFlowEvent::SlowedDown {
                interval_ms: *interval_ms,
            },
            E::Retrying {
                code,
                attempt,
                delay_ms,
            } => DeviceFlowEvent::Retrying {
                code: code.as_str(),
                attempt: f64::from(*attempt),
                delay_ms: *delay_ms,
            },
            E::Expired => DeviceFlowEvent::Expired,
        }
    }
}

/// The drop-in's `TokenClaims` (docs/behaviour.md, "Types").
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TokenClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub plan_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub expires_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub audience: Option<Vec<String>>,
}

impl From<crate::jwt::TokenClaims> for TokenClaims {
    fn from(c: crate::jwt::TokenClaims) -> Self {
        TokenClaims {
            account_id: c.account_id,
            plan_type: c.plan_type,
            email: c.email,
            user_id: c.user_id,
            expires_at: c.expires_at,
            audience: c.audience,
        }
    }
}

/// What the host's error class is built from (`setErrorFactory`).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFields {
    #[tsify(type = "ErrorCode")]
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub status: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub server_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub retry_after_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub resets_at: Option<f64>,
}

impl From<&Error> for ErrorFields {
    fn from(e: &Error) -> Self {
        ErrorFields {
            code: e.code.as_str(),
            message: e.message.clone(),
            retryable: e.retryable(),
            status: e.status.map(f64::from),
            server_code: e.server_code.clone(),
            retry_after_ms: e.retry_after_ms,
            resets_at: e.resets_at,
        }
    }
}

/// The token session's validated settings.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct SessionConfig {
    pub kind: Kind,
    pub skew_ms: f64,
    pub timeout_ms: f64,
    pub store_timeout_ms: f64,
}

impl From<&crate::session::SessionConfig> for SessionConfig {
    fn from(c: &crate::session::SessionConfig) -> Self {
        SessionConfig {
            kind: Kind::from(c.kind),
            skew_ms: c.skew_ms,
            timeout_ms: c.timeout_ms,
            store_timeout_ms: c.store_timeout_ms,
        }
    }
}

impl From<&crate::session_store::StoreFailure> for ErrorFields {
    /// `{code, message, retryable}`: a store failure carries its own `retryable`.
    fn from(f: &crate::session_store::StoreFailure) -> Self {
        ErrorFields {
            code: f.error.code.as_str(),
            message: f.error.message.clone(),
            retryable: f.retryable,
            status: None,
            server_code: None,
            retry_after_ms: None,
            resets_at: None,
        }
    }
}

/// What the token session does after a failed refresh.
#[derive(Serialize, Tsify)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum AfterRefreshFailure {
    Latch {
        error: ErrorFields,
    },
    AnswerLost {
        #[serde(rename = "retryAt")]
        retry_at: f64,
    },
    Pass,
}

impl From<&crate::session::AfterRefreshFailure> for AfterRefreshFailure {
    fn from(a: &crate::session::AfterRefreshFailure) -> Self {
        use crate::session::AfterRefreshFailure as A;
        match a {
            A::Latch(e) => AfterRefreshFailure::Latch { error: e.into() },
            A::AnswerLost { retry_at } => AfterRefreshFailure::AnswerLost {
                retry_at: *retry_at,
            },
            A::PassThrough => AfterRefreshFailure::Pass,
        }
    }
}

/// What the token session does after a save the store dropped.
#[derive(Serialize, Tsify)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum AfterDroppedSave {
    Written,
    Adopt,
    SignedOut { error: ErrorFields },
    Keep { error: ErrorFields },
}

impl From<&crate::session_store::DroppedSave> for AfterDroppedSave {
    fn from(d: &crate::session_store::DroppedSave) -> Self {
        use crate::session_store::DroppedSave as D;
        match d {
            D::Written => AfterDroppedSave::Written,
            D::Adopt => AfterDroppedSave::Adopt,
            D::SignedOut(e) => AfterDroppedSave::SignedOut { error: e.into() },
            D::Keep(f) => AfterDroppedSave::Keep { error: f.into() },
        }
    }
}

/// The token session's decision after reading the store.
#[derive(Serialize, Tsify)]
pub struct SessionDecision {
    #[tsify(type = "\"use\" | \"refresh\" | \"latched\"")]
    pub step: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional, type = "\"stored\" | \"held\"")]
    pub source: Option<&'static str>,
}

impl From<crate::session::SessionDecision> for SessionDecision {
    fn from(d: crate::session::SessionDecision) -> Self {
        use crate::session::SessionDecision as D;
        let (step, source) = match d {
            D::Use(s) => ("use", Some(s)),
            D::Refresh(s) => ("refresh", Some(s)),
            D::Latched => ("latched", None),
        };
        SessionDecision {
            step,
            source: source.map(crate::session::Source::as_str),
        }
    }
}

/// The `init` of a `fetch` call, before the adapter adds its `signal`.
#[derive(Serialize)]
pub(crate) struct FetchInit<'a> {
    method: &'static str,
    headers: Pairs<'a>,
    body: &'a str,
    redirect: &'static str,
}

/// Borrowed ordered pairs as a plain object.
pub(crate) struct Pairs<'a>(&'a [(String, String)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'a> From<&'a crate::http::HttpRequest> for FetchInit<'a> {
    fn from(req: &'a crate::http::HttpRequest) -> Self {
        FetchInit {
            method: crate::http::HttpRequest::METHOD,
            headers: Pairs(&req.headers),
            body: &req.body,
            redirect: "manual",
        }
    }
}
