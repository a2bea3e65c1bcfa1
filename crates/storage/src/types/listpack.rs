//! A compact sequence of byte strings in one allocation, as Redis's
//! listpack: each entry is a varint length followed by its bytes.
//!
//! Small hashes and sorted sets live in one of these, so they cost a few
//! bytes per element instead of a hash-table entry and two allocations. The
//! operations are linear, which is what Redis accepts too below the
//! `*-max-listpack-*` thresholds.

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    len: usize,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

/// The length prefix of an entry: (bytes, how many of them are used).
fn varint(mut n: usize) -> ([u8; 10], usize) {
    let (mut out, mut i) = ([0u8; 10], 0);
    while n >= 0x80 {
        out[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    (out, i + 1)
}

/// Decodes the entry starting at `pos`: (data start, data end).
fn entry_at(buf: &[u8], pos: usize) -> (usize, usize) {
    let (mut n, mut shift, mut i) = (0usize, 0, pos);
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    (i, i + n)
}


/// A position in the listpack: the byte offset where an entry starts.
pub type Pos = usize;

impl Listpack {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory this listpack holds (for MEMORY-style accounting).
    pub fn bytes(&self) -> usize {
        self.buf.capacity()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { buf: &self.buf, pos: 0 }
    }

    /// Entries with their positions.
    pub fn iter_pos(&self) -> impl Iterator<Item = (Pos, &[u8])> {
        let buf = &self.buf;
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
        self.buf.len()
    }

    pub fn push(&mut self, data: &[u8]) {
        let end = self.end();
        self.insert(end, data);
    }

    /// Inserts before the entry at `pos` (or at the end when `pos == end()`):
    /// one shift of the tail, as Redis's `lpInsert` memmoves.
    pub fn insert(&mut self, pos: Pos, data: &[u8]) {
        self.splice(pos, pos, data);
        self.len += 1;
    }

    pub fn replace(&mut self, pos: Pos, data: &[u8]) {
        let end = self.next(pos);
        self.splice(pos, end, data);
    }

    /// Puts the entry for `data` in place of the bytes `pos..end`. The
    /// buffer grows to the exact size, as Redis's `lpInsert` reallocates:
    /// jemalloc resizes in place within a size class, and a listpack never
    /// holds the up-to-half spare capacity of a doubling `Vec` (a list of
    /// 1 KB elements took 1.25× Redis's memory that way).
    fn splice(&mut self, pos: Pos, end: Pos, data: &[u8]) {
        let (head, hlen) = varint(data.len());
        let new = hlen + data.len();
        let old_len = self.buf.len();
        if new > end - pos {
            let grow = new - (end - pos);
            self.buf.reserve_exact(grow);
            self.buf.resize(old_len + grow, 0);
            self.buf.copy_within(end..old_len, pos + new);
        } else {
            self.buf.copy_within(end..old_len, pos + new);
            self.buf.truncate(old_len - (end - pos - new));
        }
        self.buf[pos..pos + hlen].copy_from_slice(&head[..hlen]);
        self.buf[pos + hlen..pos + new].copy_from_slice(data);
    }

    /// Removes `count` consecutive entries starting at `pos`.
    pub fn remove(&mut self, pos: Pos, count: usize) {
        let mut end = pos;
        for _ in 0..count {
            end = self.next(end);
        }
        self.buf.drain(pos..end);
        self.len -= count;
    }
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

    /// No doubling slack: what grows a listpack asks for its exact size.
    #[test]
    fn grows_to_the_exact_size() {
        let mut lp = Listpack::new();
        for i in 0..7 {
            lp.insert(0, &[b'x'; 1024]);
            lp.push(format!("{i}").as_bytes());
            assert_eq!(lp.buf.capacity(), lp.buf.len());
        }
        let first = lp.iter_pos().next().expect("not empty").0;
        lp.replace(first, &[b'y'; 2000]);
        assert_eq!(lp.buf.capacity(), lp.buf.len());
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
