//! Stream entry IDs: `<ms>-<seq>`, two unsigned 64-bit halves, ordered
//! as one 128-bit number (Redis's `streamID`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next ID, or None past the largest (`streamIncrID`).
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID, or None before the smallest (`streamDecrID`).
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// The 16 big-endian bytes Redis keys its radix tree and PELs with
    /// (`streamEncodeID`), as RDB files store them.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_be_bytes(b: [u8; 16]) -> StreamId {
        let (ms, seq) = b.split_at(8);
        let mut m = [0u8; 8];
        let mut s = [0u8; 8];
        m.copy_from_slice(ms);
        s.copy_from_slice(seq);
        StreamId::new(u64::from_be_bytes(m), u64::from_be_bytes(s))
    }

    /// Writes `<ms>-<seq>` into `buf`, returning the text.
    pub fn format(self, buf: &mut IdBuf) -> &[u8] {
        let mut a = itoa::Buffer::new();
        let ms = a.format(self.ms).as_bytes();
        buf.len = ms.len();
        buf.data[..ms.len()].copy_from_slice(ms);
        buf.data[buf.len] = b'-';
        buf.len += 1;
        let seq = a.format(self.seq).as_bytes();
        buf.data[buf.len..buf.len + seq.len()].copy_from_slice(seq);
        buf.len += seq.len();
        &buf.data[..buf.len]
    }
}

/// Room for the longest ID text (20 + 1 + 20 bytes) without allocating.
pub struct IdBuf {
    data: [u8; 41],
    len: usize,
}

impl Default for IdBuf {
    fn default() -> Self {
        IdBuf { data: [0; 41], len: 0 }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_neighbours_and_bytes() {
        let a = StreamId::new(1, u64::MAX);
        assert_eq!(a.next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::new(2, 0).prev(), Some(a));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::MIN.prev(), None);
        assert!(a < StreamId::new(2, 0));
        assert_eq!(StreamId::from_be_bytes(a.to_be_bytes()), a);
        let mut buf = IdBuf::default();
        assert_eq!(StreamId::MAX.format(&mut buf), b"18446744073709551615-18446744073709551615");
        assert_eq!(a.to_string(), "1-18446744073709551615");
    }
}
