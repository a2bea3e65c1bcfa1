//! Writing replies straight into a connection's output buffer.
//!
//! Every function appends to a `BytesMut` so a pipelined batch becomes one
//! buffer and one write. Functions that differ between RESP2 and RESP3 take
//! the connection's [`Protocol`]; the RESP2 downgrades are Redis's (maps as
//! flat arrays, doubles as bulk strings, booleans as integers).

use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

fn line(out: &mut impl BufMut, kind: u8, n: i64) {
    out.put_u8(kind);
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
    out.put_slice(b"\r\n");
}

pub fn simple(out: &mut BytesMut, s: &[u8]) {
    out.put_u8(b'+');
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

pub fn ok(out: &mut BytesMut) {
    out.put_slice(b"+OK\r\n");
}

/// An error reply. `msg` starts with its code (`ERR`, `WRONGTYPE`…); CR and
/// LF inside it become spaces, as Redis does, so the protocol stays valid.
pub fn error(out: &mut BytesMut, msg: &[u8]) {
    out.put_u8(b'-');
    out.extend(msg.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.put_slice(b"\r\n");
}

pub fn integer(out: &mut BytesMut, n: i64) {
    line(out, b':', n);
}

pub fn bulk(out: &mut BytesMut, data: &[u8]) {
    line(out, b'$', data.len() as i64);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// A bulk string holding the decimal form of `n` (e.g. GET of an integer).
pub fn bulk_i64(out: &mut BytesMut, n: i64) {
    bulk(out, itoa::Buffer::new().format(n).as_bytes());
}

/// A missing value: `$-1` in RESP2, `_` in RESP3.
pub fn null(out: &mut BytesMut, proto: Protocol) {
    out.put_slice(match proto {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// A missing array: `*-1` in RESP2, `_` in RESP3.
pub fn null_array(out: &mut BytesMut, proto: Protocol) {
    out.put_slice(match proto {
        Protocol::Resp2 => b"*-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// A command as a client sends it, and as the replication stream and the
/// AOF carry it: a multibulk of its arguments. Generic over the buffer so a
/// file writer's `Vec<u8>` takes it as well as a connection's `BytesMut`.
pub fn command<A: AsRef<[u8]>>(out: &mut impl BufMut, argv: &[A]) {
    line(out, b'*', argv.len() as i64);
    for a in argv {
        let a = a.as_ref();
        line(out, b'$', a.len() as i64);
        out.put_slice(a);
        out.put_slice(b"\r\n");
    }
}

/// `SELECT db`, which a command stream carries whenever the database changes.
pub fn select(out: &mut impl BufMut, db: usize) {
    command(out, &[b"SELECT", itoa::Buffer::new().format(db).as_bytes()]);
}

pub fn array_len(out: &mut BytesMut, n: usize) {
    line(out, b'*', n as i64);
}

/// A map of `n` pairs; RESP2 sends the pairs as a flat array.
pub fn map_len(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => line(out, b'*', 2 * n as i64),
        Protocol::Resp3 => line(out, b'%', n as i64),
    }
}

pub fn set_len(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => line(out, b'*', n as i64),
        Protocol::Resp3 => line(out, b'~', n as i64),
    }
}

/// An out-of-band message (pub/sub); RESP2 clients see a plain array.
pub fn push_len(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => line(out, b'*', n as i64),
        Protocol::Resp3 => line(out, b'>', n as i64),
    }
}

pub fn boolean(out: &mut BytesMut, b: bool, proto: Protocol) {
    match proto {
        Protocol::Resp2 => integer(out, b as i64),
        Protocol::Resp3 => out.put_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
    }
}

pub fn double(out: &mut BytesMut, d: f64, proto: Protocol) {
    double_text(out, format_double(d).as_bytes(), proto);
}

/// A double as Redis's `addReplyHumanLongDouble` sends it (GEOPOS and
/// WITHCOORD): C's `%.17Lf` with trailing zeros trimmed.
pub fn human_double(out: &mut BytesMut, d: f64, proto: Protocol) {
    let mut text = format!("{d:.17}");
    if text.contains('.') {
        text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    }
    if text == "-0" {
        text = "0".into();
    }
    double_text(out, text.as_bytes(), proto);
}

/// A formatted double: a bulk string in RESP2, `,` in RESP3.
fn double_text(out: &mut BytesMut, text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => bulk(out, text),
        Protocol::Resp3 => {
            out.put_u8(b',');
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
    }
}

/// Verbatim text (INFO, CLIENT LIST…); a bulk string in RESP2.
pub fn verbatim(out: &mut BytesMut, text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => bulk(out, text),
        Protocol::Resp3 => {
            line(out, b'=', text.len() as i64 + 4);
            out.put_slice(b"txt:");
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
    }
}

/// Formats a double as Redis 7.0 replies it: C's `%.17g`, with `inf`/`-inf`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g(d, 17)
}

/// C's `%.<precision>g` for finite values.
pub fn format_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", precision - 1, d);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if exp < -4 || exp >= precision as i32 {
        let mut m = mantissa.to_string();
        if m.contains('.') {
            m = m.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exp.unsigned_abs());
    }
    let (int_part, frac_part) = if exp >= 0 {
        let split = (exp + 1) as usize;
        (digits[..split].to_string(), digits[split..].to_string())
    } else {
        ("0".to_string(), "0".repeat((-exp - 1) as usize) + &digits)
    };
    let frac = frac_part.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_c() {
        let cases = [
            (1.1, "1.1000000000000001"),
            (1.5, "1.5"),
            (100.0, "100"),
            (-0.5, "-0.5"),
            (1e17, "1e+17"),
            (1.2345e-5, "1.2345e-05"),
            (0.0001, "0.0001"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (3.0, "3"),
            (0.1, "0.10000000000000001"),
            (1e300, "1.0000000000000001e+300"),
        ];
        for (d, want) in cases {
            assert_eq!(format_double(d), want, "{d}");
        }
        assert_eq!(format_double(f64::INFINITY), "inf");
    }

    #[test]
    fn maps_downgrade_in_resp2() {
        let mut out = BytesMut::new();
        map_len(&mut out, 2, Protocol::Resp2);
        map_len(&mut out, 2, Protocol::Resp3);
        null(&mut out, Protocol::Resp2);
        null(&mut out, Protocol::Resp3);
        assert_eq!(&out[..], b"*4\r\n%2\r\n$-1\r\n_\r\n");
    }

    #[test]
    fn errors_never_break_the_protocol() {
        let mut out = BytesMut::new();
        error(&mut out, b"ERR bad\r\nthing");
        assert_eq!(&out[..], b"-ERR bad  thing\r\n");
    }
}
