//! Which provider headers a request may carry. A header that the host's `fetch` refuses or
//! rewrites would otherwise pass validation and then fail every request as a retryable
//! `network_error` (Node's fetch throws on `Connection`, `Transfer-Encoding`, `Expect`, ...,
//! on values outside Latin-1 and on control characters; it silently replaces `Host` and trims
//! surrounding whitespace). Such a header is a configuration error, found before any request.
//!
//! The rules follow the Fetch standard: the names it forbids a request to set (connection and
//! framing headers, `Cookie`, `Origin`, ..., every `Proxy-` and `Sec-` name; the method-override
//! names are refused outright since every request of this module is a POST), and a value is
//! Latin-1 without control characters other than tab, with no leading or trailing space or tab.

use crate::error::Error;

/// Headers the module sets itself; a provider may not override them.
const RESERVED: [&str; 3] = ["accept", "content-type", "authorization"];

/// The Fetch standard's forbidden request-header names (lowercase), and the method overrides.
const FORBIDDEN: [&str; 24] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "x-http-method",
    "x-http-method-override",
    "x-method-override",
];

/// Names starting with these are forbidden too.
const FORBIDDEN_PREFIXES: [&str; 2] = ["proxy-", "sec-"];

/// Checks `provider.headers` (names and values already within their length caps).
pub(crate) fn check_headers(headers: &[(String, String)]) -> Result<(), Error> {
    for (i, (name, value)) in headers.iter().enumerate() {
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            return Err(Error::invalid_config(format!(
                "provider.headers may not set {name}: the module sets Accept, Content-Type and Authorization itself"
            )));
        }
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(Error::invalid_config(format!(
                "provider.headers has an invalid header name \"{}\" (letters, digits and !#$%&'*+-.^_`|~ only)",
                printable(name)
            )));
        }
        if FORBIDDEN.contains(&lower.as_str())
            || FORBIDDEN_PREFIXES.iter().any(|p| lower.starts_with(p))
        {
            return Err(Error::invalid_config(format!(
                "provider.headers may not set {name}: fetch sets or refuses it (a Fetch standard forbidden header)"
            )));
        }
        if value.chars().any(|c| !is_value_char(c)) {
            return Err(Error::invalid_config(format!(
                "provider.headers[{name}] has a character fetch cannot send: Latin-1 only (U+0000..U+00FF), no control characters other than tab, no line break, NUL or DEL"
            )));
        }
        if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
            return Err(Error::invalid_config(format!(
                "provider.headers[{name}] starts or ends with a space or tab (fetch would remove it)"
            )));
        }
        if headers
            .iter()
            .skip(i + 1)
            .any(|(other, _)| other.eq_ignore_ascii_case(name))
        {
            return Err(Error::invalid_config(format!(
                "provider.headers names {name} twice (header names are case-insensitive)"
            )));
        }
    }
    Ok(())
}

/// A character of a header value fetch sends as it is: tab, visible ASCII and space, and the
/// Latin-1 range above the C1 controls.
fn is_value_char(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{a0}'..='\u{ff}')
}

/// RFC 9110 `tchar`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A name from the host, shown in a message: control characters dropped, at most 64 characters.
pub(crate) fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> Result<(), Error> {
        check_headers(&[(name.to_owned(), value.to_owned())])
    }

    #[test]
    fn names_fetch_refuses_or_rewrites_are_refused_in_any_casing() {
        for name in [
            "Content-Length",
            "transfer-encoding",
            "CONNECTION",
            "Expect",
            "Host",
            "Keep-Alive",
            "Upgrade",
            "TE",
            "Trailer",
            "Cookie",
            "Proxy-Authorization",
            "Sec-Fetch-Mode",
            "X-HTTP-Method-Override",
        ] {
            assert!(one(name, "1").is_err(), "{name}");
        }
        for name in ["User-Agent", "originator", "X-Trace", "Proxied", "Second"] {
            assert!(one(name, "1").is_ok(), "{name}");
        }
    }

    #[test]
    fn values_must_be_latin1_without_controls_or_surrounding_blanks() {
        for bad in [
            "a\u{2028}b",
            "a\u{7f}b",
            "a\u{85}b",
            "\u{100}",
            "a\rb",
            "a\nb",
            "a\0b",
            "a\u{b}b",
            " a",
            "a\t",
            "😀",
        ] {
            assert!(one("X-A", bad).is_err(), "{bad:?}");
        }
        for ok in ["", "a\tb", "é ÿ", "a b", "~!\"#"] {
            assert!(one("X-A", ok).is_ok(), "{ok:?}");
        }
    }
}
