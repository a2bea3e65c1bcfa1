//! Long double arithmetic for INCRBYFLOAT, in C (see csrc/longdouble.c).

use crate::errors::{RedisError, NOT_FLOAT};

extern "C" {
    fn fk_ld_incr(cur: *const u8, cur_len: usize, incr: *const u8, incr_len: usize, out: *mut u8, out_cap: usize, bad: *mut i32) -> i32;
}

/// Why an increment failed, so callers can word the error as Redis does.
pub enum IncrError {
    /// The stored value is not a float.
    Current,
    /// The increment argument is not a float.
    Increment,
    /// The result is NaN or infinite.
    NanOrInfinity,
}

/// `current + incr` in long double, formatted as Redis's `ld2string(HUMAN)`.
pub fn incr(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrError> {
    let mut out = vec![0u8; 5200];
    let mut bad = 0i32;
    let (cp, cl) = current.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
    // SAFETY: pointers and lengths come from live slices; `out` has the capacity given.
    let n = unsafe { fk_ld_incr(cp, cl, incr.as_ptr(), incr.len(), out.as_mut_ptr(), out.len(), &mut bad) };
    match n {
        -1 if bad == 0 => Err(IncrError::Current),
        -1 => Err(IncrError::Increment),
        n if n < 0 => Err(IncrError::NanOrInfinity),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

impl From<IncrError> for RedisError {
    fn from(e: IncrError) -> Self {
        match e {
            IncrError::Current | IncrError::Increment => RedisError::from(NOT_FLOAT),
            IncrError::NanOrInfinity => RedisError::from("ERR increment would produce NaN or Infinity"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_double_rounding_like_redis() {
        let step = |cur: Option<&str>, by: &str| String::from_utf8(incr(cur.map(str::as_bytes), by.as_bytes()).ok().unwrap()).unwrap();
        assert_eq!(step(Some("0.1"), "0.2"), "0.3");
        assert_eq!(step(Some("10.50"), "0.1"), "10.6");
        assert_eq!(step(None, "3"), "3");
        assert_eq!(step(Some("5.0e3"), "2.0e2"), "5200");
        assert_eq!(step(Some("-1"), "1"), "0");
        assert!(matches!(incr(Some(b"abc"), b"1"), Err(IncrError::Current)));
        assert!(matches!(incr(Some(b"1"), b" 1"), Err(IncrError::Increment)));
        assert!(matches!(incr(Some(b"1e4932"), b"1e4932"), Err(IncrError::NanOrInfinity)));
        // Beyond long double's range is not a number at all (ERANGE).
        assert!(matches!(incr(Some(b"1e4933"), b"1"), Err(IncrError::Current)));
    }
}
