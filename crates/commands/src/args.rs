//! Reading command arguments: numbers with Redis's exact rules.

use crate::errors::{RedisError, NOT_FLOAT, NOT_INTEGER};

/// `getLongLongFromObject`: strict decimal, else "not an integer".
pub fn int(arg: &[u8]) -> Result<i64, RedisError> {
    ferrokv_resp::parse_i64(arg).ok_or_else(|| NOT_INTEGER.into())
}

/// An integer with a custom error (e.g. "timeout is not an integer…").
pub fn int_or(arg: &[u8], err: &'static str) -> Result<i64, RedisError> {
    ferrokv_resp::parse_i64(arg).ok_or_else(|| err.into())
}

/// `getDoubleFromObject`: what C's strtod takes, but no leading space, no
/// trailing bytes, no NaN and no overflow to infinity from a finite text.
pub fn float(arg: &[u8]) -> Result<f64, RedisError> {
    parse_float(arg).ok_or_else(|| NOT_FLOAT.into())
}

pub fn parse_float(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("nan") {
        return None;
    }
    let v: f64 = if body == "inf" || body == "infinity" {
        if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    } else {
        if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return None;
        }
        let v: f64 = s.parse().ok()?;
        // strtod reports ERANGE for overflow and for underflow to zero.
        if v.is_infinite() || (v == 0.0 && body.chars().any(|c| ('1'..='9').contains(&c)) && !has_zero_mantissa(body)) {
            return None;
        }
        v
    };
    Some(v)
}

/// True when the digits before any exponent are all zero ("0.000e5").
fn has_zero_mantissa(body: &str) -> bool {
    body.split('e').next().unwrap_or("").chars().all(|c| c == '0' || c == '.')
}

/// C's bare `strtod` over a whole argument, as Redis uses it for sorted-set
/// ranges and SORT weights: leading spaces pass, an empty string is 0,
/// trailing bytes and NaN do not.
pub fn strtod(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if text.is_empty() {
        return Some(0.0);
    }
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if unsigned == "inf" || unsigned == "infinity" {
        return Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if unsigned.starts_with("nan") {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Compares an argument with an option name, ignoring ASCII case.
pub fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_strtod() {
        for (s, v) in
            [("1.5", 1.5), ("-2", -2.0), ("+3", 3.0), (".5", 0.5), ("1e3", 1000.0), ("inf", f64::INFINITY), ("-Infinity", f64::NEG_INFINITY), ("0.0e5", 0.0)]
        {
            assert_eq!(parse_float(s.as_bytes()), Some(v), "{s}");
        }
        for s in ["", " 1", "1 ", "nan", "abc", "1e400", "1e-400", "1x"] {
            assert_eq!(parse_float(s.as_bytes()), None, "{s}");
        }
    }
}
