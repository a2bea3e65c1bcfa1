//! Parsing what clients send: multibulk requests and inline commands.
//!
//! The parser is resumable: a request split across reads keeps its progress
//! (arguments already read, the pending bulk length), so a large request is
//! not rescanned on every read. Errors carry Redis 7.0's exact text; after one
//! the server replies and closes that connection only.

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::parse_i64;

/// Longest inline request, or count line, Redis accepts without a newline.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Arguments whose bulk length exceeds this are refused before `AUTH`.
const UNAUTH_BULK_MAX: i64 = 16 * 1024;
/// Arguments per request refused before `AUTH`.
const UNAUTH_MULTIBULK_MAX: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: too big inline request")]
    InlineTooBig,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: too big mbulk count string")]
    MultibulkCountTooBig,
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: too big bulk count string")]
    BulkCountTooBig,
    #[error("Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedDollar(u8),
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

/// What the connection allows at the moment of parsing.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// A password is set and this connection has not authenticated yet.
    pub auth_required: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits { max_bulk_len: 512 * 1024 * 1024, auth_required: false }
    }
}

/// Resumable state of one connection's request parsing.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still to read in the current multibulk request; 0 = none started.
    multibulk_remaining: usize,
    /// Length of the bulk whose header was read but whose data has not arrived.
    pending_bulk: Option<usize>,
    args: Vec<Bytes>,
}

/// Argument vectors longer than this are not kept for reuse.
const RECYCLE_MAX: usize = 1024;

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a request has been started but not completed.
    pub fn in_progress(&self) -> bool {
        self.multibulk_remaining > 0
    }

    /// Hands back a request's argument vector once it has been answered, so
    /// the next request reuses its allocation instead of making one.
    pub fn recycle(&mut self, mut args: Vec<Bytes>) {
        if self.args.capacity() == 0 && args.capacity() <= RECYCLE_MAX {
            args.clear();
            self.args = args;
        }
    }

    /// Takes the next complete, non-empty request from `buf`.
    ///
    /// `Ok(None)` means more bytes are needed. Empty requests (blank inline
    /// lines, `*0`, `*-1`) are skipped, as Redis does.
    pub fn parse(&mut self, buf: &mut BytesMut, limits: &RequestLimits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if buf.is_empty() {
                return Ok(None);
            }
            let progress = if self.multibulk_remaining > 0 || buf[0] == b'*' { self.parse_multibulk(buf, limits)? } else { parse_inline(buf)? };
            match progress {
                Progress::Incomplete => return Ok(None),
                Progress::Empty => continue,
                Progress::Done(args) => return Ok(Some(args)),
                Progress::Collected => return Ok(Some(std::mem::take(&mut self.args))),
            }
        }
    }

    fn parse_multibulk(&mut self, buf: &mut BytesMut, limits: &RequestLimits) -> Result<Progress, ProtocolError> {
        if self.multibulk_remaining == 0 {
            let Some(line_end) = find_cr_line(buf, ProtocolError::MultibulkCountTooBig)? else {
                return Ok(Progress::Incomplete);
            };
            let count = parse_i64(&buf[1..line_end]).filter(|&n| n <= i32::MAX as i64).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count > UNAUTH_MULTIBULK_MAX && limits.auth_required {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            buf.advance(line_end + 2);
            if count <= 0 {
                return Ok(Progress::Empty);
            }
            self.multibulk_remaining = count as usize;
            self.args.clear();
            // A hostile count must not reserve memory it never sends.
            self.args.reserve(self.multibulk_remaining.min(1024));
        }
        while self.multibulk_remaining > 0 {
            let len = match self.pending_bulk {
                Some(len) => len,
                None => {
                    let Some(line_end) = find_cr_line(buf, ProtocolError::BulkCountTooBig)? else {
                        return Ok(Progress::Incomplete);
                    };
                    if buf[0] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(buf[0]));
                    }
                    let len = parse_i64(&buf[1..line_end]).filter(|&n| n >= 0 && n <= limits.max_bulk_len).ok_or(ProtocolError::InvalidBulkLength)?;
                    if len > UNAUTH_BULK_MAX && limits.auth_required {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    buf.advance(line_end + 2);
                    self.pending_bulk = Some(len as usize);
                    len as usize
                }
            };
            if buf.len() < len.saturating_add(2) {
                // Let a large argument arrive into one allocation, but never
                // reserve far ahead of what the peer has actually sent.
                let want = (len.saturating_add(2) - buf.len()).min(1024 * 1024);
                buf.reserve(want);
                return Ok(Progress::Incomplete);
            }
            let arg = buf.split_to(len).freeze();
            // Redis skips the two bytes after a bulk without looking at them.
            buf.advance(2);
            self.args.push(arg);
            self.pending_bulk = None;
            self.multibulk_remaining -= 1;
        }
        Ok(Progress::Collected)
    }
}

enum Progress {
    Incomplete,
    Empty,
    Done(Vec<Bytes>),
    Collected,
}

/// Finds a header line ended by `\r` plus one more byte, as Redis does.
fn find_cr_line(buf: &[u8], too_big: ProtocolError) -> Result<Option<usize>, ProtocolError> {
    match memchr::memchr(b'\r', buf) {
        None if buf.len() > INLINE_MAX_SIZE => Err(too_big),
        None => Ok(None),
        Some(pos) if pos + 2 > buf.len() => Ok(None),
        Some(pos) => Ok(Some(pos)),
    }
}

fn parse_inline(buf: &mut BytesMut) -> Result<Progress, ProtocolError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError::InlineTooBig);
        }
        return Ok(Progress::Incomplete);
    };
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let args = split_args(&buf[..line_end]).ok_or(ProtocolError::UnbalancedQuotes)?;
    buf.advance(nl + 1);
    if args.is_empty() {
        return Ok(Progress::Empty);
    }
    Ok(Progress::Done(args.into_iter().map(Bytes::from).collect()))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments with Redis's `sdssplitargs` rules: double
/// quotes with C escapes (`\xHH`, `\n`…), single quotes with `\'` only, and
/// a closing quote that must be followed by a space or the end.
/// `None` means unbalanced quotes. Also used to read redis.conf lines.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            let c = line.get(i).copied();
            if in_dq {
                match c {
                    None => return None,
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && line.get(i + 2).and_then(|&b| hex_value(b)).is_some()
                            && line.get(i + 3).and_then(|&b| hex_value(b)).is_some() =>
                    {
                        current.push(hex_value(line[i + 2])? * 16 + hex_value(line[i + 3])?);
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        current.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|&b| !is_space(b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(b) => current.push(b),
                }
            } else if in_sq {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|&b| !is_space(b)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(b) => current.push(b),
                }
            } else {
                match c {
                    None => break,
                    Some(b) if is_space(b) => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(b) => current.push(b),
                }
            }
            if in_dq || in_sq || c.is_some() {
                i += 1;
            }
        }
        args.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(args) = parser.parse(&mut buf, &RequestLimits::default())? {
            out.push(args);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline_mix() {
        let reqs = parse_all(b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nPING\r\n\r\n*0\r\n*-1\r\nset a \"x\\x41\\n\" \r\n").unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0], vec![Bytes::from("ECHO"), Bytes::from("abc")]);
        assert_eq!(reqs[1], vec![Bytes::from("PING")]);
        assert_eq!(reqs[2][2], Bytes::from("xA\n"));
    }

    #[test]
    fn redis_error_texts() {
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (b"*2\r\n+foo\r\n", "Protocol error: expected '$', got '+'"),
            (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"),
            (b"ECHO \"abc\r\n", "Protocol error: unbalanced quotes in request"),
            (b"*1\n$4\r\n", "Protocol error: invalid multibulk length"),
            (b"*\r\n", "Protocol error: invalid multibulk length"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_all(input).unwrap_err().to_string(), *want, "{input:?}");
        }
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = RequestLimits { auth_required: true, ..Default::default() };
        let mut p = RequestParser::new();
        let err = p.parse(&mut BytesMut::from(&b"*11\r\n"[..]), &limits).unwrap_err();
        assert_eq!(err, ProtocolError::UnauthenticatedMultibulkLength);
        let mut p = RequestParser::new();
        let err = p.parse(&mut BytesMut::from(&b"*2\r\n$4\r\nAUTH\r\n$16385\r\n"[..]), &limits);
        assert_eq!(err.unwrap_err(), ProtocolError::UnauthenticatedBulkLength);
    }

    #[test]
    fn a_huge_allowed_bulk_length_waits_instead_of_overflowing() {
        let limits = RequestLimits { max_bulk_len: i64::MAX, auth_required: false };
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$9223372036854775807\r\nabc"[..]);
        assert_eq!(p.parse(&mut buf, &limits), Ok(None));
    }

    #[test]
    fn skips_two_bytes_after_bulk_like_redis() {
        let reqs = parse_all(b"*1\r\n$4\r\nPINGxx\r\n").unwrap();
        assert_eq!(reqs, vec![vec![Bytes::from("PING")]]);
    }

    #[test]
    fn oversized_lines_without_newline() {
        let long = vec![b'a'; INLINE_MAX_SIZE + 1];
        assert_eq!(parse_all(&long).unwrap_err(), ProtocolError::InlineTooBig);
        let mut mb = b"*1".to_vec();
        mb.extend(std::iter::repeat_n(b'1', INLINE_MAX_SIZE));
        assert_eq!(parse_all(&mb).unwrap_err(), ProtocolError::MultibulkCountTooBig);
    }

    #[test]
    fn split_args_quoting() {
        let a = split_args(b"a 'b c' \"d\\te\" 'it\\'s'").unwrap();
        assert_eq!(a, vec![b"a".to_vec(), b"b c".to_vec(), b"d\te".to_vec(), b"it's".to_vec()]);
        assert!(split_args(b"\"abc\"def").is_none());
        assert!(split_args(b"'abc").is_none());
        assert_eq!(split_args(b"   ").unwrap().len(), 0);
    }

    fn encode_request(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend(format!("${}\r\n", a.len()).as_bytes());
            out.extend(a);
            out.extend(b"\r\n");
        }
        out
    }

    proptest! {
        /// Any split of a valid pipeline into reads yields the same requests.
        #[test]
        fn resumable_across_any_split(
            reqs in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..5), 1..6),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let wire: Vec<u8> = reqs.iter().flat_map(|r| encode_request(r)).collect();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
            points.push(wire.len());
            points.sort();
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut start = 0;
            for p in points {
                buf.extend_from_slice(&wire[start..p]);
                start = p;
                while let Some(args) = parser.parse(&mut buf, &RequestLimits::default()).unwrap() {
                    got.push(args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
                }
            }
            prop_assert_eq!(got, reqs);
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn never_panics(input in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_all(&input);
        }
    }
}
