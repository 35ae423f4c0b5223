//! Shared fixtures: providers of both kinds (public and confidential), canary secrets, a fake
//! clock reading, an unsigned JWT builder, and assertions for requests and errors that also prove
//! no secret or raw body leaks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use oauth_device_flow::json::{self, Value};
use oauth_device_flow::{
    openai_codex_provider, rfc8628_provider, DeviceCode, Error, ErrorCode, HttpRequest,
    HttpResponse, Provider, Secret,
};

/// The fake clock reading every operation gets unless a test says otherwise
/// (Tue, 14 Nov 2023 22:13:20 GMT).
pub const NOW: f64 = 1_700_000_000_000.0;
/// [`NOW`] + 30 s as an IMF-fixdate.
pub const NOW_PLUS_30S_HTTP_DATE: &str = "Tue, 14 Nov 2023 22:13:50 GMT";
/// Before [`NOW`].
pub const PAST_HTTP_DATE: &str = "Tue, 14 Nov 2023 22:00:00 GMT";

pub const ISSUER: &str = "http://127.0.0.1:8080";
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// 15 minutes, OpenAI's user-code lifetime.
pub const FIFTEEN_MIN_MS: f64 = 900_000.0;

// Canary secrets: every one contains "CANARY", so one case-insensitive search finds any leak.
pub const DEVICE_CODE: &str = "dc_CANARY_device_code_1";
pub const USER_CODE: &str = "ABCD-EFGH";
pub const AUTH_CODE: &str = "ac_CANARY_authorization_code_1";
pub const CODE_VERIFIER: &str = "cv_CANARY_code_verifier_1";
pub const ACCESS: &str = "at_CANARY_access_1";
pub const REFRESH: &str = "rt_CANARY_refresh_1";
pub const REFRESH_NEW: &str = "rt_CANARY_refresh_2";
pub const ID_TOKEN: &str = "it_CANARY_id_1";
pub const CLIENT_SECRET: &str = "cs_CANARY_secret 1/+:é";
/// [`CLIENT_SECRET`] as `URLSearchParams` writes it.
pub const CLIENT_SECRET_FORM: &str = "cs_CANARY_secret+1%2F%2B%3A%C3%A9";
/// Marker placed in reply bodies outside any error description: it must never reach an error.
pub const RAW_BODY_MARKER: &str = "RAWBODY_marker_7f3a";

pub const RFC_CLIENT_ID: &str = "my client/1";
pub const RFC_CLIENT_ID_FORM: &str = "my+client%2F1";
pub const RFC_DEVICE_ENDPOINT: &str = "https://idp.example.com/oauth/device/code";
pub const RFC_TOKEN_ENDPOINT: &str = "https://idp.example.com/oauth/token";
pub const RFC_REVOCATION_ENDPOINT: &str = "https://idp.example.com/oauth/revoke";
/// `Basic base64(formEncode(id) ":" formEncode(secret))`, computed with Node's `URLSearchParams`
/// and `Buffer`.
pub const BASIC_AUTH: &str =
    "Basic bXkrY2xpZW50JTJGMTpjc19DQU5BUllfc2VjcmV0KzElMkYlMkIlM0ElQzMlQTk=";

pub const JSON_CT: (&str, &str) = ("Content-Type", "application/json");
pub const FORM_CT: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
pub const ACCEPT: (&str, &str) = ("Accept", "application/json");

/// The codex provider's own headers, in insertion order.
pub const CODEX_EXTRA_HEADERS: [(&str, &str); 2] = [
    ("User-Agent", "codex_cli_rs/0.1 (tests)"),
    ("originator", "codex_cli_rs"),
];
/// The rfc8628 provider's own headers, in insertion order.
pub const RFC_EXTRA_HEADERS: [(&str, &str); 2] = [
    ("User-Agent", "device-test/1.0"),
    ("X-Request-Source", "tests"),
];

pub fn parse(text: &str) -> Value {
    json::parse(text.as_bytes()).unwrap_or_else(|| panic!("test JSON must parse: {text}"))
}

/// `openaiCodexProvider({ issuer: ISSUER, headers })`.
pub fn codex() -> Provider {
    openai_codex_provider(&parse(
        r#"{"issuer":"http://127.0.0.1:8080","headers":{"User-Agent":"codex_cli_rs/0.1 (tests)","originator":"codex_cli_rs"}}"#,
    ))
    .expect("codex provider")
}

/// `openaiCodexProvider()`: the real issuer, no extra headers.
pub fn codex_default() -> Provider {
    openai_codex_provider(&Value::Null).expect("default codex provider")
}

pub fn codex_json_headers() -> Vec<(&'static str, &'static str)> {
    [ACCEPT, JSON_CT]
        .into_iter()
        .chain(CODEX_EXTRA_HEADERS)
        .collect()
}

pub fn codex_form_headers() -> Vec<(&'static str, &'static str)> {
    [ACCEPT, FORM_CT]
        .into_iter()
        .chain(CODEX_EXTRA_HEADERS)
        .collect()
}

/// How an rfc8628 client authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Public,
    Post,
    Basic,
}

pub const ALL_AUTH: [Auth; 3] = [Auth::Public, Auth::Post, Auth::Basic];

/// The rfc8628 provider options (an `OAuthProvider` without `kind`) for `auth`.
pub fn rfc_options(auth: Auth) -> String {
    let client = match auth {
        Auth::Public => String::new(),
        Auth::Post => {
            r#","clientAuth":"client_secret_post","clientSecret":"cs_CANARY_secret 1/+:é""#.into()
        }
        Auth::Basic => {
            r#","clientAuth":"client_secret_basic","clientSecret":"cs_CANARY_secret 1/+:é""#.into()
        }
    };
    format!(
        r#"{{"clientId":"my client/1","deviceAuthorizationEndpoint":"{RFC_DEVICE_ENDPOINT}","tokenEndpoint":"{RFC_TOKEN_ENDPOINT}","revocationEndpoint":"{RFC_REVOCATION_ENDPOINT}","scope":"openid offline_access","extraParams":{{"audience":"https://api.example.com/","resource":"urn:example:res"}},"headers":{{"User-Agent":"device-test/1.0","X-Request-Source":"tests"}}{client}}}"#
    )
}

pub fn rfc(auth: Auth) -> Provider {
    rfc8628_provider(&parse(&rfc_options(auth))).expect("rfc8628 provider")
}

/// Accept, Content-Type, [Authorization for client_secret_basic], then the provider headers.
pub fn rfc_form_headers(auth: Auth) -> Vec<(&'static str, &'static str)> {
    let mut h = vec![ACCEPT, FORM_CT];
    if auth == Auth::Basic {
        h.push(("Authorization", BASIC_AUTH));
    }
    h.extend(RFC_EXTRA_HEADERS);
    h
}

/// What follows `client_id` in a form body: `client_secret` for client_secret_post only.
pub fn secret_field(auth: Auth) -> String {
    match auth {
        Auth::Post => format!("&client_secret={CLIENT_SECRET_FORM}"),
        Auth::Public | Auth::Basic => String::new(),
    }
}

/// Checks the request exactly: method, URL, every header name and value in order, body bytes.
/// Its `Debug` must hide the body and the Authorization header.
pub fn assert_request(req: &HttpRequest, url: &str, headers: &[(&str, &str)], body: &str) {
    assert_eq!(HttpRequest::METHOD, "POST");
    assert_eq!(req.url, url, "url");
    let got: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, headers, "headers of {url}");
    assert_eq!(req.body, body, "body of {url}");
    assert_clean_text("request Debug", &format!("{req:?}"));
}

pub fn device_code_with(interval_ms: f64, expires_at: f64) -> DeviceCode {
    DeviceCode {
        device_code: Secret::new(DEVICE_CODE),
        user_code: USER_CODE.to_owned(),
        verification_uri: format!("{ISSUER}/codex/device"),
        verification_uri_complete: None,
        interval_ms,
        expires_at,
    }
}

/// A code issued at [`NOW`]: 5 s interval, 15 min lifetime.
pub fn device_code() -> DeviceCode {
    device_code_with(5000.0, NOW + FIFTEEN_MIN_MS)
}

pub fn reply(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, body.as_bytes())
}

pub fn reply_after(status: u16, body: &str, retry_after: &str) -> HttpResponse {
    reply(status, body).with_retry_after(retry_after)
}

/// An HTML error page as a proxy or captive portal sends it.
pub fn html_page() -> String {
    format!(
        "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>{RAW_BODY_MARKER}</h1>{{\"error\":\"x\"}}</body></html>"
    )
}

/// An unsigned JWT (`alg: none`): base64url (no padding) of the header and of `payload`.
pub fn jwt(payload: &str) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

/// What an error must be, field by field; `server_code` and `retry_after_ms` are `None` unless
/// set, so every assertion checks all of them.
#[derive(Clone, Debug)]
pub struct Want {
    pub code: ErrorCode,
    pub retryable: bool,
    pub status: Option<u16>,
    pub server_code: Option<String>,
    pub retry_after_ms: Option<f64>,
}

pub fn want(code: ErrorCode, retryable: bool, status: Option<u16>) -> Want {
    Want {
        code,
        retryable,
        status,
        server_code: None,
        retry_after_ms: None,
    }
}

impl Want {
    pub fn server(mut self, code: impl Into<String>) -> Want {
        self.server_code = Some(code.into());
        self
    }

    pub fn after(mut self, ms: f64) -> Want {
        self.retry_after_ms = Some(ms);
        self
    }
}

/// Checks every public field of the error, then that it leaks nothing.
#[track_caller]
pub fn assert_err(e: &Error, w: Want) {
    assert_eq!(e.code, w.code, "code of {e:?}");
    assert_eq!(e.retryable(), w.retryable, "retryable of {e:?}");
    assert_eq!(e.status, w.status, "status of {e:?}");
    assert_eq!(
        e.server_code.as_deref(),
        w.server_code.as_deref(),
        "serverCode of {e:?}"
    );
    assert_eq!(e.retry_after_ms, w.retry_after_ms, "retryAfterMs of {e:?}");
    assert!(!e.message.trim().is_empty(), "an error explains itself");
    assert_clean(e);
}

/// Unwraps the error of `r` and checks it.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug>(r: Result<T, Error>, w: Want) -> Error {
    let e = r.expect_err("expected an error");
    assert_err(&e, w);
    e
}

/// The error's message, `to_json()`, `Display` and `Debug` contain no canary secret, no client
/// credential in any encoding, no JWT and no raw body.
#[track_caller]
pub fn assert_clean(e: &Error) {
    assert_clean_text("message", &e.message);
    assert_clean_text("to_json", &e.to_json());
    assert_clean_text("Display", &e.to_string());
    assert_clean_text("Debug", &format!("{e:?}"));
}

#[track_caller]
pub fn assert_clean_text(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for marker in ["canary", "rawbody"] {
        assert!(!lower.contains(marker), "{what} leaks {marker}: {text}");
    }
    for secret in [
        DEVICE_CODE,
        AUTH_CODE,
        CODE_VERIFIER,
        ACCESS,
        REFRESH,
        REFRESH_NEW,
        ID_TOKEN,
        CLIENT_SECRET,
        CLIENT_SECRET_FORM,
        &BASIC_AUTH["Basic ".len()..],
        "eyJ",
        "<html",
        "<!DOCTYPE",
    ] {
        assert!(!text.contains(secret), "{what} leaks {secret:?}: {text}");
    }
}
