//! HTTP as data. The core never performs a request: it hands the host an [`HttpRequest`] to send
//! and takes back an [`HttpResponse`]. Every request is a `POST` with `redirect: "manual"`; the
//! host's adapter uses [`read_body_needed`] to decide whether to read a body at all (a redirect
//! or an announced oversized body is settled from the head alone).

use crate::error::{Error, ErrorCode};
use crate::json::js_trim;
use std::fmt;

/// Bodies larger than this (UTF-8 bytes) are refused without being parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What to send. The method is always `POST`. Its `Debug` output redacts the body and every
/// header value but `Accept` and `Content-Type`.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    /// The endpoint, as the provider gives it.
    pub url: String,
    /// In send order: `Accept`, `Content-Type`, then `Authorization` (client_secret_basic), then
    /// the provider's own headers.
    pub headers: Vec<(String, String)>,
    /// A JSON object or a form, as `Content-Type` says.
    pub body: String,
}

impl HttpRequest {
    /// The method of every request.
    pub const METHOD: &'static str = "POST";

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpRequest {
    // The body carries secrets (codes, tokens, the client secret), and so can any header but the
    // two the core sets to fixed values: `Authorization`, and a provider's own headers (an API
    // key). Those values print as `[redacted]`; the method, the URL and the header names show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let fixed = ["accept", "content-type"]
                    .iter()
                    .any(|h| k.eq_ignore_ascii_case(h));
                (k.as_str(), if fixed { v.as_str() } else { "[redacted]" })
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &Self::METHOD)
            .field("url", &self.url)
            .field("headers", &headers)
            .field(
                "body",
                &format_args!("[redacted, {} bytes]", self.body.len()),
            )
            .finish()
    }
}

/// What came back.
#[derive(Clone, PartialEq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The raw `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body as UTF-8 bytes (empty when it was not read).
    pub body: Vec<u8>,
    /// The body as the host's `JSON.parse` read it, when the WebAssembly adapter read it so
    /// (then `body` is empty): the text never has to be copied into the module.
    #[cfg(target_arch = "wasm32")]
    pub(crate) parsed: Option<ParsedBody>,
}

/// A reply body read in the host (WebAssembly build): whether its text is blank (JS `trim()`),
/// and its JSON value, `None` when `JSON.parse` refused it or it nests too deeply.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ParsedBody {
    pub blank: bool,
    pub json: Option<crate::json::Value>,
}

impl HttpResponse {
    /// A reply with `status` and `body` and no `Retry-After`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            retry_after: None,
            body: body.into(),
            #[cfg(target_arch = "wasm32")]
            parsed: None,
        }
    }

    /// The same reply with a raw `Retry-After` header value.
    pub fn with_retry_after(mut self, value: &str) -> Self {
        self.retry_after = Some(value.to_owned());
        self
    }

    /// `Retry-After` in milliseconds from `now`, when the reply carries a usable one.
    pub fn retry_after_ms(&self, now: f64) -> Option<f64> {
        self.retry_after
            .as_deref()
            .and_then(|v| parse_retry_after(v, now))
    }

    /// An error about this reply: its status and `Retry-After` attached.
    pub(crate) fn annotate(&self, e: Error, now: f64) -> Error {
        e.with_status(self.status)
            .with_retry_after(self.retry_after_ms(now))
    }
}

impl fmt::Debug for HttpResponse {
    // A token response body is a secret: only its size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .finish()
    }
}

/// Decides from the status and `Content-Length` alone whether the body must be read:
/// `Err` for a redirect (never followed, body not read) or an announced body over the cap;
/// `Ok(false)` when the outcome is already known (a revocation's 2xx).
pub fn read_body_needed(
    request: crate::request_kind::RequestKind,
    status: u16,
    content_length: Option<&str>,
) -> Result<bool, Error> {
    if (300..400).contains(&status) {
        return Err(redirect(status));
    }
    if request == crate::request_kind::RequestKind::Revocation && (200..300).contains(&status) {
        return Ok(false);
    }
    if let Some(len) = content_length.map(js_trim) {
        let oversized = !len.is_empty()
            && len.bytes().all(|b| b.is_ascii_digit())
            && (len.len() > 12 || len.parse::<u64>().is_ok_and(|n| n > MAX_BODY_BYTES as u64));
        if oversized {
            return Err(too_large(status));
        }
    }
    Ok(true)
}

pub(crate) fn redirect(status: u16) -> Error {
    Error::new(
        ErrorCode::Redirect,
        format!(
            "The server answered with a redirect (HTTP {status}). Redirects are not followed: check the endpoint URL, or a captive portal or proxy may be in the way."
        ),
    )
    .with_status(status)
}

pub(crate) fn too_large(status: u16) -> Error {
    Error::invalid_response(format!(
        "The server's reply (HTTP {status}) is larger than {} KiB and was not read.",
        MAX_BODY_BYTES / 1024
    ))
    .with_status(status)
}

/// `Retry-After` as milliseconds from `now`: delay-seconds, or an HTTP date (a past date is 0).
#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let v = js_trim(value);
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(crate::json::decimal(v, "") * 1000.0)
            .filter(|ms| *ms <= crate::clock::MAX_TIME_MS);
    }
    let date = httpdate::parse_http_date(v).ok()?;
    let since_epoch = date.duration_since(std::time::UNIX_EPOCH).ok()?;
    let at_ms = since_epoch.as_secs_f64() * 1000.0;
    Some((at_ms - now_ms).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request_kind::RequestKind;

    #[test]
    fn redirects_and_announced_oversized_bodies_are_settled_from_the_head() {
        let e = read_body_needed(RequestKind::Refresh, 302, None).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::Redirect, Some(302)));
        let e = read_body_needed(RequestKind::Refresh, 200, Some("65537")).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::InvalidResponse, Some(200)));
        let e = read_body_needed(RequestKind::Poll, 200, Some("99999999999999999999999")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidResponse);
        assert_eq!(
            read_body_needed(RequestKind::Refresh, 200, Some("65536")),
            Ok(true)
        );
        assert_eq!(
            read_body_needed(RequestKind::Refresh, 200, Some("garbage")),
            Ok(true)
        );
        assert_eq!(
            read_body_needed(RequestKind::Revocation, 200, Some("999999")),
            Ok(false)
        );
    }

    #[test]
    fn retry_after_seconds_and_http_dates() {
        let now = 1_445_412_480_000.0; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after("120", now), Some(120_000.0));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0.0));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30_000.0)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(0.0)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn debug_output_hides_body_and_authorization() {
        let req = HttpRequest {
            url: "https://a.example/token".into(),
            headers: vec![("Authorization".into(), "Basic c2VjcmV0".into())],
            body: "refresh_token=rt_canary".into(),
        };
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("rt_canary") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        let resp = HttpResponse::new(200, &b"{\"access_token\":\"at_canary\"}"[..]);
        assert!(!format!("{resp:?}").contains("at_canary"));
    }
}
