//! One node of a stream: a run of entries delta-encoded against the
//! node's master ID and master fields, as Redis's stream listpacks.
//!
//! Layout of `buf`: the master fields (`varint n`, then `n` × `varint len,
//! bytes`), then the entries, each `flags, varint ms-delta, varint
//! zigzag(seq-delta)`, followed by either the values alone (SAMEFIELDS:
//! the fields are the master's) or `varint n` and `n` field/value pairs.
//! A deleted entry stays in place with its flag set, as in Redis, so
//! deleting never moves bytes.
//!
//! Why not Redis's listpack bytes themselves: varints take fewer bytes
//! than listpack entries with their back-lengths, and no back-length is
//! needed (a node is walked forward and reversed in a small buffer).
//! What Redis's node would weigh is still tracked (`lp_rest`), because
//! `stream-node-max-bytes` is measured in listpack bytes, and matching
//! Redis's node boundaries makes `~` trimming remove what Redis removes.

use super::id::StreamId;
use crate::types::varint::{get as varint, put as put_varint};

pub(crate) const DELETED: u8 = 1;
pub(crate) const SAMEFIELDS: u8 = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub(crate) buf: Vec<u8>,
    /// Entries not marked deleted.
    pub(crate) live: u32,
    pub(crate) deleted: u32,
    /// Where the entries start (past the master fields).
    entries_at: u32,
    /// Redis's `lpBytes` of this node, less the live and deleted counters
    /// (whose encoded size changes with their values).
    lp_rest: u32,
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

fn bytes<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let len = varint(buf, pos) as usize;
    let out = &buf[*pos..*pos + len];
    *pos += len;
    out
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

use ferrokv_util::lpsize::{self, int_size as lp_int_size};

/// A string element's listpack size (stored as an integer when it reads
/// as one, as `lpAppend` does).
fn lp_str_size(s: &[u8]) -> usize {
    match ferrokv_resp::parse_i64(s) {
        Some(n) => lp_int_size(n),
        None => lpsize::str_size(s.len()),
    }
}

/// One entry as found in a node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub id: StreamId,
    /// Offset of the flags byte.
    pub at: usize,
    pub flags: u8,
    /// Offset of the fields (past the ID, and past the count unless SAMEFIELDS).
    pub fields_at: usize,
    pub nfields: usize,
    /// Offset of the next entry.
    pub end: usize,
}

impl Node {
    /// A node whose master entry takes `fields` (the even elements of
    /// `pairs`), holding nothing yet.
    pub(crate) fn new(pairs: &[&[u8]]) -> Node {
        let n = pairs.len() / 2;
        let mut buf = Vec::new();
        put_varint(&mut buf, n as u64);
        let mut lp = lpsize::FIXED + lp_int_size(n as i64) + lp_int_size(0);
        for f in pairs.iter().step_by(2) {
            put_bytes(&mut buf, f);
            lp += lp_str_size(f);
        }
        Node { entries_at: buf.len() as u32, buf, live: 0, deleted: 0, lp_rest: lp as u32 }
    }

    /// Redis's `lpBytes` for this node.
    pub(crate) fn lp_bytes(&self) -> usize {
        self.lp_rest as usize + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64)
    }

    pub(crate) fn master_fields(&self) -> MasterFields<'_> {
        let mut pos = 0;
        let n = varint(&self.buf, &mut pos) as usize;
        MasterFields { buf: &self.buf, pos, left: n }
    }

    fn master_len(&self) -> usize {
        let mut pos = 0;
        varint(&self.buf, &mut pos) as usize
    }

    /// Whether `pairs` has exactly the master's fields, in order.
    fn same_fields(&self, pairs: &[&[u8]]) -> bool {
        let master = self.master_fields();
        master.left == pairs.len() / 2 && master.zip(pairs.iter().step_by(2)).all(|(m, f)| m == *f)
    }

    /// Appends an entry (the stream checked that `id` is the largest).
    pub(crate) fn push(&mut self, master: StreamId, id: StreamId, pairs: &[&[u8]]) {
        let same = self.same_fields(pairs);
        let ms_delta = id.ms.wrapping_sub(master.ms) as i64;
        let seq_delta = id.seq.wrapping_sub(master.seq) as i64;
        let flags = if same { SAMEFIELDS } else { 0 };
        self.buf.push(flags);
        put_varint(&mut self.buf, ms_delta as u64);
        put_varint(&mut self.buf, zigzag(seq_delta));
        let n = pairs.len() / 2;
        let mut lp = lp_int_size(flags as i64) + lp_int_size(ms_delta) + lp_int_size(seq_delta);
        if same {
            for v in pairs.iter().skip(1).step_by(2) {
                put_bytes(&mut self.buf, v);
                lp += lp_str_size(v);
            }
            lp += lp_int_size(n as i64 + 3);
        } else {
            put_varint(&mut self.buf, n as u64);
            for b in pairs {
                put_bytes(&mut self.buf, b);
                lp += lp_str_size(b);
            }
            lp += lp_int_size(n as i64) + lp_int_size(2 * n as i64 + 4);
        }
        self.lp_rest += lp as u32;
        self.live += 1;
    }

    /// Reads the entry at `at`.
    pub(crate) fn slot(&self, master: StreamId, at: usize) -> Slot {
        let buf = &self.buf;
        let flags = buf[at];
        let mut pos = at + 1;
        let ms = master.ms.wrapping_add(varint(buf, &mut pos));
        let seq = master.seq.wrapping_add(unzigzag(varint(buf, &mut pos)) as u64);
        let (nfields, values_per_field) = if flags & SAMEFIELDS != 0 { (self.master_len(), 1) } else { (varint(buf, &mut pos) as usize, 2) };
        let fields_at = pos;
        for _ in 0..nfields * values_per_field {
            let len = varint(buf, &mut pos) as usize;
            pos += len;
        }
        Slot { id: StreamId::new(ms, seq), at, flags, fields_at, nfields, end: pos }
    }

    /// Every entry's slot, deleted ones included, in order.
    pub(crate) fn slots(&self, master: StreamId, out: &mut Vec<Slot>) {
        out.clear();
        let mut at = self.entries_at as usize;
        while at < self.buf.len() {
            let s = self.slot(master, at);
            at = s.end;
            out.push(s);
        }
    }

    /// The field/value pairs of the entry in `slot`.
    pub(crate) fn fields<'a>(&'a self, slot: &Slot) -> Fields<'a> {
        let master = (slot.flags & SAMEFIELDS != 0).then(|| self.master_fields());
        Fields { buf: &self.buf, pos: slot.fields_at, left: slot.nfields, master }
    }

    /// Flags the entry deleted, keeping the counters (Redis's
    /// `streamIteratorRemoveEntry`); the flag's encoded size never changes.
    pub(crate) fn mark_deleted(&mut self, slot: &Slot) {
        self.buf[slot.at] |= DELETED;
        self.live -= 1;
        self.deleted += 1;
    }

    pub(crate) fn shrink(&mut self) {
        self.buf.shrink_to_fit();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        crate::memory::block(self.buf.capacity())
    }
}

/// The master entry's field names.
pub(crate) struct MasterFields<'a> {
    buf: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for MasterFields<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(bytes(self.buf, &mut self.pos))
    }
}

/// An entry's field/value pairs.
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    left: usize,
    master: Option<MasterFields<'a>>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let field = match &mut self.master {
            Some(m) => m.next()?,
            None => bytes(self.buf, &mut self.pos),
        };
        Some((field, bytes(self.buf, &mut self.pos)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Fields<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_roundtrip_with_and_without_master_fields() {
        let master = StreamId::new(100, 5);
        let mut node = Node::new(&[b"a", b"1", b"b", b"2"]);
        node.push(master, master, &[b"a", b"1", b"b", b"2"]);
        node.push(master, StreamId::new(101, 0), &[b"x", b"9"]);
        node.push(master, StreamId::new(101, 1), &[b"a", b"3", b"b", b"hello"]);
        let mut slots = Vec::new();
        node.slots(master, &mut slots);
        type Pairs = Vec<(Vec<u8>, Vec<u8>)>;
        let got: Vec<(StreamId, Pairs)> = slots.iter().map(|s| (s.id, node.fields(s).map(|(f, v)| (f.to_vec(), v.to_vec())).collect())).collect();
        assert_eq!(got[1].0, StreamId::new(101, 0));
        assert_eq!(got[1].1, vec![(b"x".to_vec(), b"9".to_vec())]);
        assert_eq!(got[2].1[1], (b"b".to_vec(), b"hello".to_vec()));
        assert_eq!(slots[0].flags, SAMEFIELDS);
        assert_eq!(slots[1].flags, 0);
        node.mark_deleted(&slots[1]);
        node.slots(master, &mut slots);
        assert_eq!(slots[1].flags & DELETED, DELETED);
        assert_eq!((node.live, node.deleted), (2, 1));
    }

    /// The listpack size Redis 7.0 reports for `XADD s 1-1 a 1 b 2` then
    /// `XADD s 1-2 a 3 b 4` (`DEBUG LISTPACK` / a DUMP payload: 33 then 45
    /// bytes).
    #[test]
    fn tracks_redis_listpack_bytes() {
        let master = StreamId::new(1, 1);
        let mut node = Node::new(&[b"a", b"1", b"b", b"2"]);
        node.push(master, master, &[b"a", b"1", b"b", b"2"]);
        assert_eq!(node.lp_bytes(), 33);
        node.push(master, StreamId::new(1, 2), &[b"a", b"3", b"b", b"4"]);
        assert_eq!(node.lp_bytes(), 45);
    }
}
