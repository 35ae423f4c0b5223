//! What a failed answer of the Codex backend means, as an [`Error`] a host can act on: a usage
//! limit with its reset time, a plan without Codex, a refused request (`400 {"detail"}`), a
//! bot-challenge page, a `response.failed` event.
//!
//! Why here: which of these an answer is decides whether the host retries, waits until a reset
//! time or asks the user to sign in again, so it is a protocol decision like the others and is
//! tested at the value level. The TypeScript side only reads the answer (status, three headers,
//! a bounded body) and hands it over; the streaming helper and the models list share it, so both
//! read replies the same way. Server text is quoted only after anything token-shaped is removed,
//! cut to 200 characters.

#![cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests

use crate::error::{sanitize_server_code, Error, ErrorCode};
use crate::http::parse_retry_after;
use crate::json::{decimal, is_js_whitespace, js_trim, Value};

/// The request whose answer failed, named in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST {base}/responses` (the streamed model call).
    ModelCall,
    /// `GET {base}/models`.
    ModelsList,
}

impl Route {
    /// The route as the TypeScript side names it (`"model call"`, `"models list"`).
    pub fn parse(s: &str) -> Option<Route> {
        match s {
            "model call" => Some(Route::ModelCall),
            "models list" => Some(Route::ModelsList),
            _ => None,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Route::ModelCall => "model call",
            Route::ModelsList => "models list",
        }
    }
}

/// What was read of a non-2xx (or unusable) answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `retry-after` header, if any.
    pub retry_after: Option<&'a str>,
    /// The body text, or `""` when it was not read (a redirect, a body announced too large).
    pub body: &'a str,
}

/// The longest server text a message quotes, in UTF-16 units (as JavaScript counts).
const MAX_QUOTE: usize = 200;
/// A word with at least this many token characters is taken for a token and not quoted.
const TOKEN_SHAPED: usize = 24;

/// Server text fit for a message: control characters become spaces, words with 24 or more token
/// characters (`[A-Za-z0-9-_.~+/=]`) become `[redacted]`, then the text is cut to 200 characters
/// and trimmed.
pub fn quote(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c <= '\u{1f}' || c == '\u{7f}' { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced
        .split(' ')
        .map(|w| {
            let token_chars = w
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.~+/=".contains(*c))
                .count();
            if token_chars >= TOKEN_SHAPED {
                "[redacted]"
            } else {
                w
            }
        })
        .collect();
    let joined = words.join(" ");
    let mut units = 0;
    let cut: String = joined
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= MAX_QUOTE
        })
        .collect();
    js_trim(&cut).to_owned()
}

/// `a ?? b` of JavaScript: `a` unless it is absent or `null`.
fn or_else<'a>(a: Option<&'a Value>, b: Option<&'a Value>) -> Option<&'a Value> {
    match a {
        None | Some(Value::Null) => b,
        some => some,
    }
}

/// The sanitised server code of a string member (anything else has none).
fn server_code(raw: Option<&Value>) -> Option<String> {
    raw.and_then(Value::as_str).and_then(sanitize_server_code)
}

/// `v` when it is an object.
fn object(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| v.is_object())
}

/// The largest time value a JavaScript `Date` holds (`Date` refuses anything beyond it).
const MAX_DATE_MS: f64 = 8.64e15;

/// The reset time of a usage-limit `error`: `resets_at` (Unix seconds), else now plus
/// `resets_in_seconds`, in epoch milliseconds.
fn resets_at(error: &Value, now: f64) -> Option<f64> {
    let at = error.get("resets_at").and_then(Value::as_f64);
    if let Some(at) = at.filter(|a| a.is_finite() && *a > 0.0) {
        return Some(at * 1000.0);
    }
    let in_sec = error.get("resets_in_seconds").and_then(Value::as_f64);
    in_sec
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| now + s * 1000.0)
}

/// Epoch milliseconds as `Date.prototype.toISOString` writes them (`2026-12-07T00:22:29.000Z`),
/// or `None` beyond the range of a `Date`.
fn iso_time(ms: f64) -> Option<String> {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        return None;
    }
    // In range, so the truncated value fits an i64 exactly.
    let t = ms.trunc() as i64;
    let days = t.div_euclid(86_400_000);
    let in_day = t.rem_euclid(86_400_000);
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Some(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    ))
}

/// A usage-limit error from an `error` object whose `type` (or `code`) names one, else `None`.
/// `status`: the reply's, when the error came from one (not from an event).
pub fn usage_error(error: &Value, status: Option<u16>, now: f64) -> Option<Error> {
    let kind = or_else(error.get("type"), error.get("code")).and_then(Value::as_str)?;
    let code = match kind {
        "usage_limit_reached" => ErrorCode::UsageLimitReached,
        "usage_not_included" => ErrorCode::UsageNotIncluded,
        _ => return None,
    };
    let resets = resets_at(error, now);
    let plan = error
        .get("plan_type")
        .and_then(Value::as_str)
        .map(|p| format!(" (plan {})", quote(p)))
        .unwrap_or_default();
    let e = if code == ErrorCode::UsageNotIncluded {
        Error::new(
            code,
            format!("This ChatGPT plan does not include Codex{plan}: upgrade the plan or use an API key."),
        )
    } else {
        // A reset time a `Date` cannot hold is still reported, but not written out.
        let when = resets
            .and_then(iso_time)
            .map_or_else(|| "later".to_owned(), |t| format!("after {t}"));
        Error::new(
            code,
            format!("The ChatGPT usage limit is reached{plan}: try again {when}."),
        )
        .with_retry_after(resets.map(|at| (at - now).max(0.0)))
    };
    let e = e.with_server_code(Some(kind)).with_resets_at(resets);
    Some(match status {
        Some(s) => e.with_status(s),
        None => e,
    })
}

/// A non-2xx answer (or an unusable 2xx) of the Codex backend to `route`, as an error.
pub fn reply_error(route: Route, reply: &Reply<'_>, now: f64) -> Error {
    let (status, what) = (reply.status, route.words());
    let after = reply.retry_after.and_then(|v| parse_retry_after(v, now));
    let detailed = |e: Error| e.with_status(status).with_retry_after(after);
    if (300..400).contains(&status) {
        return detailed(Error::new(
            ErrorCode::Redirect,
            format!("The Codex backend answered the {what} with a redirect (HTTP {status}); redirects are not followed."),
        ));
    }
    let html = reply
        .content_type
        .is_some_and(|t| t.to_ascii_lowercase().contains("text/html"))
        || reply.body.trim_start_matches(is_js_whitespace).starts_with('<');
    let body = crate::json::parse(reply.body.as_bytes()).filter(Value::is_object);
    let error = object(body.as_ref().and_then(|b| b.get("error")));
    if let Some(usage) = error.and_then(|e| usage_error(e, Some(status), now)) {
        return usage;
    }
    let member = |key: &str| error.and_then(|e| e.get(key));
    if status == 401 {
        return detailed(Error::new(
            ErrorCode::ReauthRequired,
            format!("The Codex backend refused the access token for the {what} (HTTP 401), also after a refresh: sign in again."),
        ))
        .with_server_code(member("code").and_then(Value::as_str));
    }
    if status == 403 && html {
        return detailed(Error::new(
            ErrorCode::Challenge,
            format!("The Codex backend answered the {what} with an HTML page (HTTP 403, a bot challenge?): this network or host is being challenged; try another network or later."),
        ));
    }
    let code = server_code(or_else(member("code"), member("type")));
    if status >= 500 || status == 429 {
        let mut e = detailed(Error::new(
            ErrorCode::ServerError,
            format!("The Codex backend could not answer the {what} (HTTP {status}); try again later."),
        ));
        e.server_code = code;
        return e;
    }
    let detail = body
        .as_ref()
        .and_then(|b| b.get("detail"))
        .and_then(Value::as_str)
        .or_else(|| member("message").and_then(Value::as_str));
    if (400..500).contains(&status) && (detail.is_some() || error.is_some()) {
        let quoted = detail.map(|d| format!(": {}", quote(d))).unwrap_or_default();
        let mut e = detailed(Error::new(
            ErrorCode::ModelError,
            format!("The Codex backend refused the {what} (HTTP {status}){quoted}"),
        ));
        e.server_code = code;
        return e;
    }
    let page = if html { " with an HTML page" } else { "" };
    detailed(Error::invalid_response(format!(
        "Unexpected answer to the {what}: HTTP {status}{page}."
    )))
}

/// The wait a failure's message asks for ("try again in 1.5s", any case), in milliseconds
/// rounded up: the first `try again in\s+<decimal>\s*s` of the text.
fn try_again_in_ms(message: &str) -> Option<f64> {
    const PHRASE: &str = "try again in";
    let lower = message.to_ascii_lowercase();
    lower.match_indices(PHRASE).find_map(|(at, _)| {
        let rest = lower.get(at + PHRASE.len()..)?;
        let after_space = rest.trim_start_matches(is_js_whitespace);
        if after_space.len() == rest.len() {
            return None;
        }
        let int_len = after_space.bytes().take_while(u8::is_ascii_digit).count();
        if int_len == 0 {
            return None;
        }
        let int = after_space.get(..int_len)?;
        let after_int = after_space.get(int_len..)?;
        let frac_len = after_int
            .strip_prefix('.')
            .map_or(0, |f| f.bytes().take_while(u8::is_ascii_digit).count());
        let (frac, unit) = match frac_len {
            0 => ("", after_int),
            n => (after_int.get(1..=n)?, after_int.get(n + 1..)?),
        };
        if !unit.trim_start_matches(is_js_whitespace).starts_with('s') {
            return None;
        }
        Some((decimal(int, frac) * 1000.0).ceil())
    })
}

/// A `response.failed` (or `error`) event's `error` object as an error: a usage limit as such,
/// anything else `response_failed`, retryable when the server code says the failure is transient
/// (`rate_limit_exceeded`, `server_error`) or gives none.
pub fn failed_error(error: Option<&Value>, now: f64) -> Error {
    let error = object(error);
    if let Some(usage) = error.and_then(|e| usage_error(e, None, now)) {
        return usage;
    }
    let member = |key: &str| error.and_then(|e| e.get(key));
    let code = server_code(or_else(member("code"), member("type")));
    let message = member("message")
        .and_then(Value::as_str)
        .map(quote)
        .unwrap_or_default();
    let retryable = matches!(
        code.as_deref(),
        None | Some("rate_limit_exceeded") | Some("server_error")
    );
    let named = code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    let mut e = Error::new(
        ErrorCode::ResponseFailed,
        format!("The model failed to answer{named}{said}"),
    )
    .with_retryable(retryable)
    .with_retry_after(try_again_in_ms(&message));
    e.server_code = code;
    e
}
