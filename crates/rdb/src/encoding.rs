//! RDB lengths and strings.
//!
//! A length is `00LLLLLL` (6 bits), `01LLLLLL LLLLLLLL` (14 bits), `0x80` +
//! 32-bit or `0x81` + 64-bit big-endian; `11EEEEEE` marks a specially encoded
//! string instead: integers in 1, 2 or 4 little-endian bytes, or LZF.

use crate::cursor::Cursor;
use ferrokv_util::lzf;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    #[error("unexpected end of RDB data at offset {0}")]
    Truncated(usize),
    #[error("invalid length encoding at offset {0}")]
    BadLength(usize),
    #[error("unknown string encoding {1} at offset {0}")]
    BadStringEncoding(usize, u8),
    #[error("invalid LZF data at offset {0}")]
    BadLzf(usize),
    #[error("{1} at offset {0}")]
    Corrupt(usize, String),
    #[error("{1} at offset {0} is not supported")]
    Unsupported(usize, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Plain(u64),
    /// A specially encoded string (0 int8, 1 int16, 2 int32, 3 LZF).
    Encoded(u8),
}

pub fn read_length(data: &[u8], pos: &mut usize) -> Result<Length, RdbError> {
    let at = *pos;
    let b = Cursor::new(data, pos).byte()?;
    Ok(match b >> 6 {
        0 => Length::Plain((b & 0x3f) as u64),
        1 => Length::Plain((((b & 0x3f) as u64) << 8) | Cursor::new(data, pos).byte()? as u64),
        3 => Length::Encoded(b & 0x3f),
        _ => match b {
            0x80 => Length::Plain(u32::from_be_bytes(Cursor::new(data, pos).array()?) as u64),
            0x81 => Length::Plain(u64::from_be_bytes(Cursor::new(data, pos).array()?)),
            _ => return Err(RdbError::BadLength(at)),
        },
    })
}

pub fn write_length(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(((len >> 8) as u8) | 0x40);
        out.push((len & 0xff) as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

fn plain(data: &[u8], pos: &mut usize) -> Result<usize, RdbError> {
    let at = *pos;
    match read_length(data, pos)? {
        Length::Plain(n) => usize::try_from(n).map_err(|_| RdbError::BadLength(at)),
        Length::Encoded(_) => Err(RdbError::BadLength(at)),
    }
}

/// Reads a string in any of its encodings (integers come back as text).
pub fn read_string(data: &[u8], pos: &mut usize) -> Result<Vec<u8>, RdbError> {
    let at = *pos;
    match read_length(data, pos)? {
        Length::Plain(n) => {
            let n = usize::try_from(n).map_err(|_| RdbError::BadLength(at))?;
            Ok(Cursor::new(data, pos).take(n)?.to_vec())
        }
        Length::Encoded(0) => Ok((Cursor::new(data, pos).byte()? as i8).to_string().into_bytes()),
        Length::Encoded(1) => Ok(i16::from_le_bytes(Cursor::new(data, pos).array()?).to_string().into_bytes()),
        Length::Encoded(2) => Ok(i32::from_le_bytes(Cursor::new(data, pos).array()?).to_string().into_bytes()),
        Length::Encoded(3) => {
            let clen = plain(data, pos)?;
            let len = plain(data, pos)?;
            let c = Cursor::new(data, pos).take(clen)?;
            lzf::decompress(c, len).ok_or(RdbError::BadLzf(at))
        }
        Length::Encoded(e) => Err(RdbError::BadStringEncoding(at, e)),
    }
}

/// `rdbSaveRawString`: short canonical integers as integers, strings over
/// 20 bytes LZF-compressed when that saves at least four bytes (and
/// `compress` is on, as `rdbSaveLzfStringObject`), else raw.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = canonical_int(s) {
            if let Ok(b) = i8::try_from(v) {
                out.push(0xc0);
                out.push(b as u8);
                return;
            }
            if let Ok(b) = i16::try_from(v) {
                out.push(0xc1);
                out.extend_from_slice(&b.to_le_bytes());
                return;
            }
            if let Ok(b) = i32::try_from(v) {
                out.push(0xc2);
                out.extend_from_slice(&b.to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(c) = lzf::compress(s).filter(|c| c.len() + 4 <= s.len()) {
            out.push(0xc3);
            write_length(out, c.len() as u64);
            write_length(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_length(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A string that round-trips through an integer exactly (`string2ll` and
/// back), as `rdbTryIntegerEncoding` requires.
fn canonical_int(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let v: i64 = text.parse().ok()?;
    (v.to_string().as_bytes() == s).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redis_dump_payloads() {
        // The value part of DUMPs taken from Redis 7.0 (type byte stripped).
        for (payload, want) in [(&b"\xc190"[..], &b"12345"[..]), (b"\x05hello", b"hello")] {
            let mut pos = 0;
            assert_eq!(read_string(payload, &mut pos).unwrap(), want);
            assert_eq!(pos, payload.len());
            let mut out = Vec::new();
            write_string(&mut out, want, true);
            assert_eq!(out, payload);
        }
        let lzf = b"\xc3\t@T\x01aa\xe0G\x00\x01aa";
        let mut pos = 0;
        assert_eq!(read_string(lzf, &mut pos).unwrap(), vec![b'a'; 84]);
    }

    #[test]
    fn absurd_lengths_are_errors() {
        let mut pos = 0;
        assert_eq!(read_string(b"\x81\xff\xff\xff\xff\xff\xff\xff\xffabc", &mut pos), Err(RdbError::Truncated(9)));
    }

    #[test]
    fn truncated_input_is_an_error_with_its_offset() {
        let mut pos = 0;
        assert_eq!(read_string(b"\x05hel", &mut pos), Err(RdbError::Truncated(1)));
        let mut pos = 0;
        assert_eq!(read_string(b"\xc5", &mut pos), Err(RdbError::BadStringEncoding(0, 5)));
    }

    proptest! {
        #[test]
        fn lengths_roundtrip(n in prop_oneof![0u64..70, 60u64..20000, any::<u32>().prop_map(|v| v as u64), any::<u64>()]) {
            let mut out = Vec::new();
            write_length(&mut out, n);
            let mut pos = 0;
            prop_assert_eq!(read_length(&out, &mut pos).unwrap(), Length::Plain(n));
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn strings_roundtrip(s in prop::collection::vec(any::<u8>(), 0..200), ints in any::<i64>(), compress in any::<bool>()) {
            for v in [s.clone(), ints.to_string().into_bytes(), b"a".repeat(s.len() + 21)] {
                let mut out = Vec::new();
                write_string(&mut out, &v, compress);
                let mut pos = 0;
                prop_assert_eq!(read_string(&out, &mut pos).unwrap(), v);
                prop_assert_eq!(pos, out.len());
            }
        }
    }
}
