//! The replication buffer: the most recent part of the command log.
//!
//! As Redis 7.0's shared replication buffer, one buffer serves both
//! purposes: the backlog that partial resyncs continue from, and the data
//! not yet sent to each attached replica (so a replica's pending output costs
//! no copy of its own). It keeps at least `size` bytes (`repl-backlog-size`)
//! and never drops what an attached replica has still to receive; the caller
//! cuts replicas that fall too far behind (`client-output-buffer-limit
//! replica`), which is what bounds it.
//!
//! Offsets count bytes of the log from the beginning of the replication
//! history: the buffer holds `[start, end)`, and `end` is
//! `master_repl_offset`. Redis numbers bytes from 1, so INFO's
//! `repl_backlog_first_byte_offset` is `start + 1`.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Appends go into a block of this size; full blocks are frozen and shared
/// with readers without copying.
const BLOCK: usize = 16 * 1024;

pub struct Backlog {
    /// Frozen blocks, consecutive, each with the offset of its first byte.
    blocks: VecDeque<(u64, Bytes)>,
    /// The block being filled, starting at `tail_start`.
    tail: BytesMut,
    tail_start: u64,
    size: usize,
}

/// The requested offset is no longer (or not yet) in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("offset {0} is outside the backlog")]
pub struct Missing(pub u64);

impl Backlog {
    /// An empty buffer whose next byte is `offset`.
    pub fn new(offset: u64, size: usize) -> Self {
        Backlog { blocks: VecDeque::new(), tail: BytesMut::with_capacity(BLOCK), tail_start: offset, size }
    }

    /// Offset of the oldest byte held.
    pub fn start(&self) -> u64 {
        self.blocks.front().map_or(self.tail_start, |(o, _)| *o)
    }

    /// Offset just past the newest byte: `master_repl_offset`.
    pub fn end(&self) -> u64 {
        self.tail_start + self.tail.len() as u64
    }

    /// `repl_backlog_histlen`.
    pub fn histlen(&self) -> u64 {
        self.end() - self.start()
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn set_size(&mut self, size: usize) {
        self.size = size;
    }

    /// Whether a partial resync from `offset` can be served.
    pub fn contains(&self, offset: u64) -> bool {
        (self.start()..=self.end()).contains(&offset)
    }

    /// The block being filled, for encoding straight into it; call
    /// [`Backlog::seal`] afterwards.
    pub fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Freezes the tail once it is a full block.
    pub fn seal(&mut self) {
        if self.tail.len() >= BLOCK {
            let len = self.tail.len() as u64;
            let block = self.tail.split().freeze();
            self.blocks.push_back((self.tail_start, block));
            self.tail_start += len;
            self.tail.reserve(BLOCK);
        }
    }

    pub fn append(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.seal();
    }

    /// Drops whole blocks older than both the backlog size and `keep_from`
    /// (the oldest byte an attached replica still needs).
    pub fn trim(&mut self, keep_from: u64) {
        let by_size = self.end().saturating_sub(self.size as u64);
        let keep = keep_from.min(by_size);
        while let Some((offset, block)) = self.blocks.front() {
            if offset + block.len() as u64 > keep {
                break;
            }
            self.blocks.pop_front();
        }
    }

    /// Up to `max` bytes starting at `from` (empty when `from` is the end).
    pub fn read(&self, from: u64, max: usize) -> Result<Bytes, Missing> {
        if !self.contains(from) {
            return Err(Missing(from));
        }
        if from >= self.tail_start {
            let at = (from - self.tail_start) as usize;
            let n = (self.tail.len() - at).min(max);
            return Ok(Bytes::copy_from_slice(&self.tail[at..at + n]));
        }
        let i = self.blocks.partition_point(|(o, b)| o + b.len() as u64 <= from);
        let (offset, block) = &self.blocks[i];
        let at = (from - offset) as usize;
        let n = (block.len() - at).min(max);
        Ok(block.slice(at..at + n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(b: &Backlog, mut from: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let chunk = b.read(from, 1000).unwrap();
            if chunk.is_empty() {
                return out;
            }
            from += chunk.len() as u64;
            out.extend_from_slice(&chunk);
        }
    }

    #[test]
    fn keeps_size_and_what_replicas_need() {
        let mut b = Backlog::new(100, 20_000);
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        for c in data.chunks(777) {
            b.append(c);
        }
        assert_eq!(b.end(), 100_100);
        b.trim(u64::MAX);
        assert!(b.histlen() >= 20_000 && b.histlen() < 20_000 + BLOCK as u64 + 1);
        assert!(!b.contains(100));
        let start = b.start();
        assert_eq!(read_all(&b, start), &data[(start - 100) as usize..]);
        // A replica still at 50_000 keeps everything from there.
        let mut b2 = Backlog::new(0, 1000);
        for c in data.chunks(777) {
            b2.append(c);
            b2.trim(50_000);
        }
        assert!(b2.start() <= 50_000);
        assert_eq!(read_all(&b2, 50_000), &data[50_000..]);
        assert_eq!(b2.read(b2.end() + 1, 10), Err(Missing(b2.end() + 1)));
    }

    proptest! {
        #[test]
        fn any_position_reads_back_what_was_appended(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40_000), 1..12), size in 1usize..100_000, pick in any::<prop::sample::Index>()) {
            let mut b = Backlog::new(7, size);
            let mut all = Vec::new();
            for c in &chunks {
                b.append(c);
                all.extend_from_slice(c);
                b.trim(u64::MAX);
            }
            prop_assert_eq!(b.end(), 7 + all.len() as u64);
            prop_assert!(b.histlen() as usize >= size.min(all.len()));
            let from = b.start() + pick.index(b.histlen() as usize + 1) as u64;
            prop_assert_eq!(read_all(&b, from), &all[(from - 7) as usize..]);
        }
    }
}
