//! Size limits on everything a host hands in. The module's memory never shrinks, and a provider
//! or a token of hundreds of megabytes once grew it for good, so every input string has a cap,
//! checked before the value is used (and, in the wasm adapter, before a JS string is copied into
//! the module at all). Lengths are counted as JavaScript counts them (`string.length`, UTF-16
//! code units), so a host can check them itself and the TypeScript baseline counts the same.
//!
//! The caps are far above what any real server or host needs, yet small enough that a call's
//! memory stays bounded: a token cannot be longer than the 64 KiB reply it came from.

use crate::error::Error;

/// Every endpoint URL, the issuer and a reply's `verification_uri`.
pub(crate) const MAX_URL_LEN: usize = 2048;
/// `clientId`.
pub(crate) const MAX_CLIENT_ID_LEN: usize = 512;
/// `scope` and `clientSecret`.
pub(crate) const MAX_SCOPE_LEN: usize = 4096;
pub(crate) const MAX_CLIENT_SECRET_LEN: usize = 4096;
/// Names of `headers` and `extraParams` members.
pub(crate) const MAX_NAME_LEN: usize = 256;
/// Values of `headers` and `extraParams` members.
pub(crate) const MAX_VALUE_LEN: usize = 4096;
/// Members of `headers`, and of `extraParams`.
pub(crate) const MAX_ENTRIES: usize = 32;
/// All of `headers` together (names and values): servers refuse larger request headers
/// (Node's HTTP server answers 431 above 16 KiB, nginx's default buffers hold 8 KiB).
pub(crate) const MAX_HEADERS_TOTAL_LEN: usize = 8192;
/// Each string of a token set or a `DeviceCode` handed back, and a token to revoke: the largest
/// reply body, so nothing the module returned is ever refused.
pub(crate) const MAX_TOKEN_LEN: usize = 65_536;
/// The JSON text of one object argument (provider, options, tokens, code). A provider within
/// the field caps stays far below it even with every character escaped; the wasm adapter refuses
/// a larger text before copying it into the module.
#[cfg(target_arch = "wasm32")]
pub(crate) const MAX_ARGUMENT_JSON_LEN: usize = 2 * 1024 * 1024;

/// The length of `s` in UTF-16 code units (JavaScript's `string.length`).
pub(crate) fn js_length(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `invalid_config` naming `what` and its cap when `s` is longer than `cap` units.
pub(crate) fn check_len(what: &str, s: &str, cap: usize) -> Result<(), Error> {
    // A UTF-8 string has at least as many bytes as UTF-16 units: a short one needs no count.
    if s.len() <= cap || js_length(s) <= cap {
        return Ok(());
    }
    Err(too_long(what, cap))
}

/// The error for an input longer than its cap (the value itself is never quoted).
pub(crate) fn too_long(what: &str, cap: usize) -> Error {
    Error::invalid_config(format!(
        "{what} is too long: at most {cap} characters are accepted"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_counted_in_utf16_units() {
        assert_eq!(js_length("abc"), 3);
        assert_eq!(js_length("é"), 1);
        assert_eq!(js_length("😀"), 2);
        assert!(check_len("x", &"é".repeat(10), 10).is_ok());
        assert!(check_len("x", &"😀".repeat(5), 10).is_ok());
        assert!(check_len("x", &"😀".repeat(6), 10).is_err());
        assert!(check_len("x", &"a".repeat(11), 10).is_err());
    }
}
