//! `application/x-www-form-urlencoded` exactly as WHATWG `URLSearchParams` writes it (space as
//! `+`, `*-._` and alphanumerics kept, everything else percent-encoded as UTF-8 bytes), so the
//! module's form bodies are byte-identical to what a host's TypeScript would have sent.

use std::fmt::Write as _;

/// One name or value, form-encoded.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `name=value&...` in the given order.
pub(crate) fn body(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_url_search_params() {
        // new URLSearchParams({a: "x y+z/~!'()é*-._"}).toString()
        assert_eq!(
            body(&[("a", "x y+z/~!'()é*-._")]),
            "a=x+y%2Bz%2F%7E%21%27%28%29%C3%A9*-._"
        );
        assert_eq!(
            body(&[
                (
                    "redirect_uri",
                    "https://auth.openai.com/deviceauth/callback"
                ),
                ("k", "")
            ]),
            "redirect_uri=https%3A%2F%2Fauth.openai.com%2Fdeviceauth%2Fcallback&k="
        );
    }
}
