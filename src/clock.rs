//! Time enters only as readings of the host's clock (epoch milliseconds). A reading that is not a
//! finite number >= 0 would silently poison every expiry computed from it, so it stops the
//! operation before any request.

use crate::error::Error;

/// The largest time a JS `Date` can hold (epoch milliseconds).
pub(crate) const MAX_TIME_MS: f64 = 8.64e15;

#[cfg_attr(not(feature = "internals"), allow(unreachable_pub))] // for the tests and fuzz targets
pub fn check_reading(reading: f64) -> Result<f64, Error> {
    if reading.is_finite() && (0.0..=MAX_TIME_MS).contains(&reading) {
        Ok(reading)
    } else {
        Err(Error::invalid_config(
            "clock() must return milliseconds since the Unix epoch (a finite number from 0 to 8.64e15)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finite_non_negative_readings_are_accepted() {
        assert_eq!(check_reading(0.0), Ok(0.0));
        assert_eq!(check_reading(1.5e12), Ok(1.5e12));
        for bad in [f64::NAN, f64::INFINITY, -1.0, 8.7e15] {
            assert_eq!(
                check_reading(bad).unwrap_err().code,
                crate::error::ErrorCode::InvalidConfig
            );
        }
    }
}
