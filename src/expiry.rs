//! "Is it time to refresh?" Called on every model request, so it takes only the two values it
//! needs. Expired iff `now + skew >= expiresAt`, from the stored `expiresAt`, else the access
//! token's JWT `exp`; when neither is known the answer is "no" and the host relies on a 401.

use crate::clock::check_reading;
use crate::error::Error;
use crate::jwt;

/// The default skew (one minute; docs/behaviour.md, "Expiry, claims and headers").
pub const DEFAULT_SKEW_MS: f64 = 60_000.0;

/// Whether the access token must be refreshed: `now + skew_ms >= expires_at`, from the stored
/// `expires_at`, else the access token's JWT `exp`; `false` when neither is known (the host then
/// relies on a 401). A clock reading or skew that is not a usable number is `invalid_config`.
pub fn is_access_token_expired(
    expires_at: Option<f64>,
    access_token: Option<&str>,
    now: f64,
    skew_ms: f64,
) -> Result<bool, Error> {
    let now = check_reading(now)?;
    if !skew_ms.is_finite() {
        return Err(Error::invalid_config(
            "skewMs must be a finite number of milliseconds",
        ));
    }
    if expires_at.is_none() {
        if let Some(access) = access_token {
            crate::limits::check_len("tokens.accessToken", access, crate::limits::MAX_TOKEN_LEN)?;
        }
    }
    let expiry = expires_at.or_else(|| access_token.and_then(jwt::expires_at));
    Ok(expiry.is_some_and(|at| is_expired_at(at, now, skew_ms) == Some(true)))
}

/// The rule itself, for a known `expiresAt`. `None` when the clock reading or the skew is
/// unusable ([`is_access_token_expired`] says why). Builds no error: the per-request check of the
/// WebAssembly adapter calls it with plain numbers.
pub(crate) fn is_expired_at(expires_at: f64, now: f64, skew_ms: f64) -> Option<bool> {
    let usable = now.is_finite() && (0.0..=crate::clock::MAX_TIME_MS).contains(&now);
    (usable && skew_ms.is_finite()).then_some(now + skew_ms >= expires_at)
}
