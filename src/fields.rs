//! Guards for the members of a success reply and of the host's own objects, each naming the
//! member it checked so that a message says exactly what was wrong (never its value).

use crate::error::Error;
use crate::json::{number_like, Value};
use crate::limits::{check_len, MAX_TOKEN_LEN};

/// A required non-empty string of a reply (the first of `names` present wins, for aliases).
pub(crate) fn reply_string(body: &Value, step: &str, names: &[&str]) -> Result<String, Error> {
    names
        .iter()
        .find_map(|n| {
            body.get(n)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::invalid_response(format!(
                "The {step} reply has no usable \"{}\" (a non-empty string is required).",
                names.first().copied().unwrap_or("")
            ))
        })
}

/// An optional string of a reply: absent, `null`, `""` or a non-string all count as absent.
pub(crate) fn reply_opt_string(body: &Value, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `interval` in milliseconds: seconds in 1..=3600, else the default 5 s.
pub(crate) fn interval_ms(body: &Value) -> f64 {
    body.get("interval")
        .and_then(number_like)
        .filter(|s| (1.0..=3600.0).contains(s))
        .unwrap_or(5.0)
        * 1000.0
}

/// `expires_in` in seconds when usable (in (0, 31_536_000]), else `None`.
pub(crate) fn expires_in(body: &Value) -> Option<f64> {
    body.get("expires_in")
        .and_then(number_like)
        .filter(|s| *s > 0.0 && *s <= 31_536_000.0)
}

/// A required non-empty string of a host object (`what` names the object, e.g. `code`), at
/// most [`MAX_TOKEN_LEN`] characters.
pub(crate) fn input_string(v: &Value, what: &str, name: &str) -> Result<String, Error> {
    match v.get(name) {
        Some(Value::String(s)) if !s.is_empty() => {
            check_len(&format!("{what}.{name}"), s, MAX_TOKEN_LEN)?;
            Ok(s.clone())
        }
        _ => Err(Error::invalid_config(format!(
            "{what}.{name} must be a non-empty string"
        ))),
    }
}

/// An optional string of a host object: absent or `null` is `None`, `""` too; at most
/// [`MAX_TOKEN_LEN`] characters.
pub(crate) fn input_opt_string(v: &Value, what: &str, name: &str) -> Result<Option<String>, Error> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            check_len(&format!("{what}.{name}"), s, MAX_TOKEN_LEN)?;
            Ok((!s.is_empty()).then(|| s.clone()))
        }
        Some(_) => Err(Error::invalid_config(format!(
            "{what}.{name} must be a string when set"
        ))),
    }
}

/// An optional finite number of a host object.
pub(crate) fn input_opt_number(v: &Value, what: &str, name: &str) -> Result<Option<f64>, Error> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_finite() => Ok(Some(*n)),
        Some(_) => Err(Error::invalid_config(format!(
            "{what}.{name} must be a finite number when set"
        ))),
    }
}
