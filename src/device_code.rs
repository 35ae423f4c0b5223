//! Step 1: ask for a user code. OpenAI takes JSON and answers `device_auth_id`/`user_code`/
//! `interval` (no `verification_uri`, no `expires_in`: the URL is the provider's and the code
//! lives 15 minutes); an RFC 8628 server takes a form and answers the standard fields.

use crate::classify::{classify, ReplyContext};
use crate::endpoint::check_endpoint;
use crate::error::Error;
use crate::fields::{
    expires_in, input_opt_string, input_string, interval_ms, reply_opt_string, reply_string,
};
use crate::http::{HttpRequest, HttpResponse};
use crate::json::{ObjectWriter, Value};
use crate::provider::{Provider, ProviderKind};
use crate::request;
use crate::secret::Secret;
use crate::request_kind::RequestKind;

/// How long an OpenAI user code lives when the server does not say.
pub const OPENAI_CODE_LIFETIME_MS: f64 = 15.0 * 60.0 * 1000.0;
/// The shortest polling interval: a server's smaller `interval` is raised to it.
pub const MIN_INTERVAL_MS: f64 = 1000.0;
/// The longest polling interval (one hour), also the cap of `slow_down`.
pub const MAX_INTERVAL_MS: f64 = 3_600_000.0;

/// A pending device authorization. Keep it server-side: `device_code` is a secret.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceCode {
    /// The device code (`device_auth_id` for OpenAI), sent with every poll: a secret.
    pub device_code: Secret,
    /// The code the user types at the verification URI.
    pub user_code: String,
    /// Where the user enters the code.
    pub verification_uri: String,
    /// A URI with the code filled in, when the server sends a usable one.
    pub verification_uri_complete: Option<String>,
    /// How long to wait between polls, in milliseconds.
    pub interval_ms: f64,
    /// When the code expires, in epoch milliseconds.
    pub expires_at: f64,
}

impl DeviceCode {
    /// Validates a `DeviceCode` handed back by the host.
    pub fn from_json(v: &Value) -> Result<DeviceCode, Error> {
        if !v.is_object() {
            return Err(Error::invalid_config(
                "code must be the DeviceCode object requestDeviceCode returned",
            ));
        }
        let interval_ms = match v.get("intervalMs") {
            Some(Value::Number(n)) if (MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(n) => *n,
            _ => {
                return Err(Error::invalid_config(
                    "code.intervalMs must be a number from 1000 to 3600000",
                ))
            }
        };
        let expires_at = match v.get("expiresAt") {
            Some(Value::Number(n)) if n.is_finite() && *n >= 0.0 => *n,
            _ => {
                return Err(Error::invalid_config(
                    "code.expiresAt must be a finite number of epoch milliseconds",
                ))
            }
        };
        Ok(DeviceCode {
            device_code: Secret::new(input_string(v, "code", "deviceCode")?),
            user_code: input_string(v, "code", "userCode")?,
            verification_uri: input_string(v, "code", "verificationUri")?,
            verification_uri_complete: input_opt_string(v, "code", "verificationUriComplete")?,
            interval_ms,
            expires_at,
        })
    }

    /// The code as the drop-in's `DeviceCode` JSON object (what [`DeviceCode::from_json`] reads).
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .string("deviceCode", self.device_code.expose())
            .string("userCode", &self.user_code)
            .string("verificationUri", &self.verification_uri)
            .opt_string(
                "verificationUriComplete",
                self.verification_uri_complete.as_deref(),
            )
            .number("intervalMs", self.interval_ms)
            .number("expiresAt", self.expires_at)
            .finish()
    }
}

/// The user-code (OpenAI) or device authorization (RFC 8628) request.
pub fn device_authorization_request(p: &Provider) -> HttpRequest {
    let url = p.device_authorization_endpoint();
    match p.kind() {
        ProviderKind::OpenAiCodex => request::json(p, url, &[("client_id", p.client_id())]),
        ProviderKind::Rfc8628 => {
            let mut tail: Vec<(&str, &str)> = Vec::new();
            if let Some(scope) = p.scope() {
                tail.push(("scope", scope));
            }
            tail.extend(p.extra_params().iter().map(|(k, v)| (k.as_str(), v.as_str())));
            request::client_form(p, url, &[("client_id", p.client_id())], &tail)
        }
    }
}

/// The code the user types: shown by the host, so control characters (terminal escapes) are
/// refused like a missing code.
fn user_code(body: &Value, step: &str) -> Result<String, Error> {
    let code = reply_string(body, step, &["user_code", "usercode"])?;
    if code.chars().any(char::is_control) {
        return Err(Error::invalid_response(format!(
            "The {step} reply's \"user_code\" contains control characters."
        )));
    }
    Ok(code)
}

/// Reads the reply; `now` is the operation's one clock reading, the base of `expiresAt`.
pub fn process_device_authorization(
    p: &Provider,
    resp: &HttpResponse,
    now: f64,
) -> Result<DeviceCode, Error> {
    let codex = p.kind() == ProviderKind::OpenAiCodex;
    let ctx = ReplyContext {
        request: RequestKind::DeviceAuthorization,
        kind: p.kind(),
        now,
        success_marker: if codex {
            "device_auth_id"
        } else {
            "device_code"
        },
        secrets: &[p.client_secret_text()],
    };
    let body = classify(&ctx, resp)?;
    let step = RequestKind::DeviceAuthorization.describe();
    let with_status = |e: Error| resp.annotate(e, now);
    let (device_code, verification_uri, verification_uri_complete, lifetime_ms) = if codex {
        let id = reply_string(&body, step, &["device_auth_id"]).map_err(with_status)?;
        let uri = p.verification_uri().unwrap_or_default().to_owned();
        let lifetime = expires_in(&body).map_or(OPENAI_CODE_LIFETIME_MS, |s| s * 1000.0);
        (id, uri, None, lifetime)
    } else {
        let code = reply_string(&body, step, &["device_code"]).map_err(with_status)?;
        let uri = reply_string(&body, step, &["verification_uri", "verification_url"])
            .map_err(with_status)?;
        // The user is sent there: only a URL an endpoint could be (https:, or http: to the
        // loopback host; no `javascript:`, no userinfo, no control characters).
        if check_endpoint("verification_uri", &uri).is_err() {
            return Err(with_status(Error::invalid_response(
                "The device authorization reply's \"verification_uri\" is not a usable https: URL.",
            )));
        }
        let complete = reply_opt_string(&body, "verification_uri_complete")
            .or_else(|| reply_opt_string(&body, "verification_url_complete"))
            .filter(|u| check_endpoint("verification_uri_complete", u).is_ok());
        let lifetime = expires_in(&body).map(|s| s * 1000.0).ok_or_else(|| {
            with_status(Error::invalid_response(
                "The device authorization reply has no usable \"expires_in\" (seconds, 1 to 31536000).",
            ))
        })?;
        (code, uri, complete, lifetime)
    };
    Ok(DeviceCode {
        device_code: Secret::new(device_code),
        user_code: user_code(&body, step).map_err(with_status)?,
        verification_uri,
        verification_uri_complete,
        interval_ms: interval_ms(&body),
        expires_at: now + lifetime_ms,
    })
}
