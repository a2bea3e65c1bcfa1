//! A compact sequence of byte strings in one allocation, as Redis's
//! listpack: each entry is a varint length followed by its bytes.
//!
//! Small hashes and sorted sets live in one of these, so they cost a few
//! bytes per element instead of a hash-table entry and two allocations. The
//! operations are linear, which is what Redis accepts too below the
//! `*-max-listpack-*` thresholds.
//!
//! Layout: `[entries][count: u16]` in one exactly sized boxed slice (an
//! empty listpack holds no allocation). Why a box and not a `Vec`: the
//! handle is 16 bytes, so a small hash or sorted set sits inside its
//! key's 24-byte value instead of behind another 32-byte allocation, and
//! no doubling slack is ever held.

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Box<[u8]>,
}

/// Bytes of the element count after the entries.
const TRAILER: usize = 2;
/// The count from which it is found by walking the entries instead, as
/// Redis's `LP_HDR_NUMELE_UNKNOWN`.
const COUNT_UNKNOWN: u16 = u16::MAX;

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

/// Decodes the entry starting at `pos`: (data start, data end).
fn entry_at(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut i = pos;
    let n = super::varint::get(buf, &mut i) as usize;
    (i, i + n)
}

/// A position in the listpack: the byte offset where an entry starts.
pub type Pos = usize;

impl Listpack {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.stored_count().unwrap_or_else(|| self.iter().count())
    }

    /// The count in the trailer, unless it is too large to be kept there.
    fn stored_count(&self) -> Option<usize> {
        let Some(at) = self.buf.len().checked_sub(TRAILER) else {
            return Some(0);
        };
        match u16::from_le_bytes([self.buf[at], self.buf[at + 1]]) {
            COUNT_UNKNOWN => None,
            n => Some(n as usize),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes of memory this listpack holds (for MEMORY-style accounting).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// A listpack from its bytes (a decompressed list node).
    pub(crate) fn from_raw(buf: Box<[u8]>) -> Listpack {
        Listpack { buf }
    }

    /// Its bytes (to compress a list node).
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    /// Its one heap block, in the allocator's classes.
    pub(crate) fn heap_bytes(&self) -> usize {
        crate::memory::block(self.buf.len())
    }

    /// The entries, without the count.
    fn entries(&self) -> &[u8] {
        &self.buf[..self.end()]
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { buf: self.entries(), pos: 0 }
    }

    /// Entries with their positions.
    pub fn iter_pos(&self) -> impl Iterator<Item = (Pos, &[u8])> {
        let buf = self.entries();
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= buf.len() {
                return None;
            }
            let (start, end) = entry_at(buf, pos);
            let here = pos;
            pos = end;
            Some((here, &buf[start..end]))
        })
    }

    pub fn get(&self, pos: Pos) -> &[u8] {
        let (start, end) = entry_at(&self.buf, pos);
        &self.buf[start..end]
    }

    /// The position after the entry at `pos`.
    pub fn next(&self, pos: Pos) -> Pos {
        entry_at(&self.buf, pos).1
    }

    pub fn end(&self) -> Pos {
        self.buf.len().saturating_sub(TRAILER)
    }

    pub fn push(&mut self, data: &[u8]) {
        let end = self.end();
        self.insert(end, data);
    }

    /// Inserts before the entry at `pos` (or at the end when `pos == end()`):
    /// one shift of the tail, as Redis's `lpInsert` memmoves.
    pub fn insert(&mut self, pos: Pos, data: &[u8]) {
        let count = self.stored_count().map(|n| n + 1);
        self.splice(pos, pos, data, count);
    }

    pub fn replace(&mut self, pos: Pos, data: &[u8]) {
        let end = self.next(pos);
        let count = self.stored_count();
        self.splice(pos, end, data, count);
    }

    /// Puts the entry for `data` in place of the bytes `pos..end`. The
    /// buffer grows to the exact size, as Redis's `lpInsert` reallocates:
    /// jemalloc resizes in place within a size class, and a listpack never
    /// holds the up-to-half spare capacity of a doubling `Vec` (a list of
    /// 1 KB elements took 1.25× Redis's memory that way).
    fn splice(&mut self, pos: Pos, end: Pos, data: &[u8], count: Option<usize>) {
        let (head, hlen) = super::varint::encode(data.len() as u64);
        let new = hlen + data.len();
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        if buf.is_empty() {
            buf.reserve_exact(new + TRAILER);
            buf.extend_from_slice(&[0; TRAILER]);
        }
        let old_len = buf.len();
        if new > end - pos {
            let grow = new - (end - pos);
            buf.reserve_exact(grow);
            buf.resize(old_len + grow, 0);
            buf.copy_within(end..old_len, pos + new);
        } else {
            buf.copy_within(end..old_len, pos + new);
            buf.truncate(old_len - (end - pos - new));
        }
        buf[pos..pos + hlen].copy_from_slice(&head[..hlen]);
        buf[pos + hlen..pos + new].copy_from_slice(data);
        self.buf = with_count(buf, count);
    }

    /// Removes `count` consecutive entries starting at `pos`.
    pub fn remove(&mut self, pos: Pos, count: usize) {
        let mut end = pos;
        for _ in 0..count {
            end = self.next(end);
        }
        if pos == 0 && end == self.end() {
            self.buf = Box::default();
            return;
        }
        let left = self.stored_count().map(|n| n - count);
        let mut buf = std::mem::take(&mut self.buf).into_vec();
        buf.drain(pos..end);
        self.buf = with_count(buf, left);
    }
}

/// Writes the count into the trailer and gives the buffer back at its
/// exact size (a shrink reallocates, as Redis's `lpDelete` does). An
/// unknown count stays unknown, as in Redis.
fn with_count(mut buf: Vec<u8>, count: Option<usize>) -> Box<[u8]> {
    let at = buf.len() - TRAILER;
    let count = count.and_then(|n| u16::try_from(n).ok()).unwrap_or(COUNT_UNKNOWN);
    buf[at..].copy_from_slice(&count.to_le_bytes());
    buf.into_boxed_slice()
}

pub struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (start, end) = entry_at(self.buf, self.pos);
        self.pos = end;
        Some(&self.buf[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The count survives edits, and the buffer holds exactly the entries.
    #[test]
    fn grows_to_the_exact_size() {
        let mut lp = Listpack::new();
        for i in 0..7 {
            lp.insert(0, &[b'x'; 1024]);
            lp.push(format!("{i}").as_bytes());
            assert_eq!(lp.len(), 2 * (i + 1));
        }
        let first = lp.iter_pos().next().expect("not empty").0;
        lp.replace(first, &[b'y'; 2000]);
        assert_eq!(lp.bytes(), 6 * (1024 + 2) + 7 * 2 + (2000 + 2) + TRAILER);
        assert_eq!(lp.len(), 14);
    }

    /// Past 65534 entries the count is found by walking, as in Redis.
    #[test]
    fn counts_past_the_trailer() {
        let mut lp = Listpack::new();
        for _ in 0..70_000 {
            lp.push(b"");
        }
        assert_eq!(lp.len(), 70_000);
        lp.remove(0, 5_000);
        assert_eq!(lp.len(), 65_000);
        lp.remove(0, 1_000);
        assert_eq!(lp.len(), 64_000);
        lp.remove(0, 64_000);
        assert!(lp.is_empty());
    }

    proptest! {
        /// Random edits agree with a Vec model.
        #[test]
        fn matches_a_vec_model(ops in prop::collection::vec((0u8..4, any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 0..300)), 0..60)) {
            let mut lp = Listpack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, idx, data) in ops {
                let positions: Vec<Pos> = lp.iter_pos().map(|(p, _)| p).collect();
                match op {
                    0 => { lp.push(&data); model.push(data); }
                    1 => {
                        let i = idx.index(model.len() + 1);
                        let pos = positions.get(i).copied().unwrap_or(lp.end());
                        lp.insert(pos, &data);
                        model.insert(i, data);
                    }
                    2 if !model.is_empty() => {
                        let i = idx.index(model.len());
                        lp.replace(positions[i], &data);
                        model[i] = data;
                    }
                    3 if !model.is_empty() => {
                        let i = idx.index(model.len());
                        let n = (model.len() - i).min(2);
                        lp.remove(positions[i], n);
                        model.drain(i..i + n);
                    }
                    _ => {}
                }
                prop_assert_eq!(lp.len(), model.len());
                prop_assert_eq!(lp.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), model.clone());
            }
        }
    }
}
