//! Time enters only as readings of the host's clock (epoch milliseconds). A reading that is not a
//! finite number >= 0 would silently poison every expiry computed from it, so it stops the
//! operation before any request.

use crate::error::Error;

pub fn check_reading(reading: f64) -> Result<f64, Error> {
    if reading.is_finite() && reading >= 0.0 {
        Ok(reading)
    } else {
        Err(Error::invalid_config(
            "clock() must return a finite number of milliseconds since the Unix epoch (>= 0)",
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
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(
                check_reading(bad).unwrap_err().code,
                crate::ErrorCode::InvalidConfig
            );
        }
    }
}
