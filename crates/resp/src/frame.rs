//! A whole RESP2/RESP3 value, as a client reads replies.
//!
//! Parsing checks that a frame is complete before building it: an incomplete
//! frame is `Ok(None)`, never an error. Lengths are capped before anything is
//! allocated, and nesting is bounded, so no input can exhaust memory or stack.

use bytes::Bytes;

use crate::encode::format_double;

/// Deepest nesting accepted from a peer.
const MAX_DEPTH: usize = 128;
/// Largest bulk accepted from a peer (Redis's `proto-max-bulk-len` default).
const MAX_BULK: i64 = 512 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(Bytes),
    Error(Bytes),
    Integer(i64),
    Bulk(Bytes),
    /// RESP2 `$-1`.
    NullBulk,
    /// RESP2 `*-1`.
    NullArray,
    Array(Vec<Frame>),
    /// RESP3 `_`.
    Null,
    Double(f64),
    Boolean(bool),
    BigNumber(Bytes),
    Verbatim {
        format: [u8; 3],
        text: Bytes,
    },
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("invalid RESP type byte {0:#04x}")]
    UnknownType(u8),
    #[error("invalid RESP length or number")]
    BadNumber,
    #[error("RESP frame nested too deeply")]
    TooDeep,
    #[error("RESP line not terminated by CRLF")]
    BadTerminator,
}

/// Parses a signed 64-bit integer exactly as Redis's `string2ll`: an optional
/// `-`, digits, no `+`, no spaces, no leading zeros, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

impl Frame {
    /// Builds a request: an array of bulk strings.
    pub fn command<I, A>(args: I) -> Frame
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        Frame::Array(args.into_iter().map(|a| Frame::Bulk(Bytes::copy_from_slice(a.as_ref()))).collect())
    }

    /// Parses one frame from the front of `buf`; returns it and the bytes used.
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        let mut cursor = Cursor { buf, pos: 0 };
        match cursor.frame(0)? {
            Some(frame) => Ok(Some((frame, cursor.pos))),
            None => Ok(None),
        }
    }

    /// Appends the wire form of this frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, t: u8, n: i64) {
            out.push(t);
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match self {
            Frame::Simple(s) | Frame::Error(s) | Frame::BigNumber(s) => {
                out.push(match self {
                    Frame::Simple(_) => b'+',
                    Frame::Error(_) => b'-',
                    _ => b'(',
                });
                out.extend_from_slice(s);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Integer(n) => head(out, b':', *n),
            Frame::Bulk(b) => {
                head(out, b'$', b.len() as i64);
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::NullBulk => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::Double(d) => {
                out.push(b',');
                out.extend_from_slice(format_double(*d).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Frame::Verbatim { format, text } => {
                head(out, b'=', text.len() as i64 + 4);
                out.extend_from_slice(format);
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let t = match self {
                    Frame::Array(_) => b'*',
                    Frame::Set(_) => b'~',
                    _ => b'>',
                };
                head(out, t, items.len() as i64);
                items.iter().for_each(|f| f.encode(out));
            }
            Frame::Map(pairs) => {
                head(out, b'%', pairs.len() as i64);
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The bytes of a simple, bulk or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim { text: b, .. } => Some(b),
            _ => None,
        }
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// The next CRLF-terminated line, without its terminator.
    fn line(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let rest = &self.buf[self.pos..];
        let Some(cr) = memchr::memchr(b'\r', rest) else {
            return Ok(None);
        };
        match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(Some(&rest[..cr]))
            }
            Some(_) => Err(FrameError::BadTerminator),
        }
    }

    fn number(&mut self) -> Result<Option<i64>, FrameError> {
        match self.line()? {
            None => Ok(None),
            Some(l) => parse_i64(l).map(Some).ok_or(FrameError::BadNumber),
        }
    }

    fn blob(&mut self, len: i64) -> Result<Option<Bytes>, FrameError> {
        if !(0..=MAX_BULK).contains(&len) {
            return Err(FrameError::BadNumber);
        }
        let len = len as usize;
        if self.buf.len() - self.pos < len + 2 {
            return Ok(None);
        }
        if &self.buf[self.pos + len..self.pos + len + 2] != b"\r\n" {
            return Err(FrameError::BadTerminator);
        }
        let data = Bytes::copy_from_slice(&self.buf[self.pos..self.pos + len]);
        self.pos += len + 2;
        Ok(Some(data))
    }

    /// Reads `count` frames; the capacity is bounded by the bytes present,
    /// since every frame takes at least three.
    fn frames(&mut self, count: i64, depth: usize) -> Result<Option<Vec<Frame>>, FrameError> {
        if count < 0 {
            return Err(FrameError::BadNumber);
        }
        let cap = (count as usize).min((self.buf.len() - self.pos) / 3);
        let mut items = Vec::with_capacity(cap);
        for _ in 0..count {
            match self.frame(depth + 1)? {
                Some(f) => items.push(f),
                None => return Ok(None),
            }
        }
        Ok(Some(items))
    }

    fn frame(&mut self, depth: usize) -> Result<Option<Frame>, FrameError> {
        if depth > MAX_DEPTH {
            return Err(FrameError::TooDeep);
        }
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        macro_rules! need {
            ($e:expr) => {
                match $e? {
                    Some(v) => v,
                    None => return Ok(None),
                }
            };
        }
        let frame = match kind {
            b'+' => Frame::Simple(Bytes::copy_from_slice(need!(self.line()))),
            b'-' => Frame::Error(Bytes::copy_from_slice(need!(self.line()))),
            b'(' => Frame::BigNumber(Bytes::copy_from_slice(need!(self.line()))),
            b':' => Frame::Integer(need!(self.number())),
            b'_' => {
                need!(self.line());
                Frame::Null
            }
            b'#' => match need!(self.line()) {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return Err(FrameError::BadNumber),
            },
            b',' => {
                let l = need!(self.line());
                let s = std::str::from_utf8(l).map_err(|_| FrameError::BadNumber)?;
                Frame::Double(parse_resp_double(s).ok_or(FrameError::BadNumber)?)
            }
            b'$' => match need!(self.number()) {
                -1 => Frame::NullBulk,
                n => Frame::Bulk(need!(self.blob(n))),
            },
            b'=' => {
                let n = need!(self.number());
                let data = need!(self.blob(n));
                if data.len() < 4 || data[3] != b':' {
                    return Err(FrameError::BadNumber);
                }
                Frame::Verbatim { format: [data[0], data[1], data[2]], text: data.slice(4..) }
            }
            b'*' => match need!(self.number()) {
                -1 => Frame::NullArray,
                n => Frame::Array(need!(self.frames(n, depth))),
            },
            b'~' => {
                let n = need!(self.number());
                Frame::Set(need!(self.frames(n, depth)))
            }
            b'>' => {
                let n = need!(self.number());
                Frame::Push(need!(self.frames(n, depth)))
            }
            b'%' => {
                let n = need!(self.number());
                let flat = need!(self.frames(n.checked_mul(2).ok_or(FrameError::BadNumber)?, depth));
                let mut pairs = Vec::with_capacity(flat.len() / 2);
                let mut it = flat.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Frame::Map(pairs)
            }
            b'|' => {
                // Attributes annotate the frame that follows; we keep the frame.
                let n = need!(self.number());
                need!(self.frames(n.checked_mul(2).ok_or(FrameError::BadNumber)?, depth));
                need!(self.frame(depth + 1))
            }
            other => return Err(FrameError::UnknownType(other)),
        };
        Ok(Some(frame))
    }
}

fn parse_resp_double(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        for bad in [&b""[..], b"-0", b"01", b"+1", b" 1", b"9223372036854775808", b"1a", b"-"] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn incomplete_is_none() {
        let full = b"*2\r\n$3\r\nfoo\r\n%1\r\n+a\r\n:1\r\n";
        for cut in 0..full.len() {
            assert_eq!(Frame::parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(Frame::parse(full).unwrap().is_some());
    }

    proptest! {
        #[test]
        fn encode_parse_roundtrip(frame in crate::arbitrary::frame()) {
            let wire = frame.to_bytes();
            let (parsed, used) = Frame::parse(&wire).unwrap().unwrap();
            prop_assert_eq!(used, wire.len());
            // %.17g keeps every f64 exactly, so doubles survive the trip.
            prop_assert_eq!(parsed, frame);
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = Frame::parse(&input);
        }
    }
}
