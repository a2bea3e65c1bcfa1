//! Collection types and their encodings, named as Redis names them in
//! `OBJECT ENCODING`: compact while small, converted past Redis's
//! configurable thresholds, never converted back (as in Redis).

pub mod field;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod stream;
pub mod tree;
pub mod varint;
pub mod zset;

use std::sync::atomic::{AtomicUsize, Ordering};

/// The `*-max-*` thresholds, set from the server's configuration.
#[derive(Debug)]
pub struct Limits {
    pub hash_max_listpack_entries: AtomicUsize,
    pub hash_max_listpack_value: AtomicUsize,
    pub set_max_intset_entries: AtomicUsize,
    pub zset_max_listpack_entries: AtomicUsize,
    pub zset_max_listpack_value: AtomicUsize,
    pub list_max_listpack_size: std::sync::atomic::AtomicI64,
    pub list_compress_depth: AtomicUsize,
    pub stream_node_max_bytes: AtomicUsize,
    pub stream_node_max_entries: AtomicUsize,
}

impl Default for Limits {
    fn default() -> Self {
        // Redis 7.0's compiled-in defaults.
        Limits {
            hash_max_listpack_entries: AtomicUsize::new(512),
            hash_max_listpack_value: AtomicUsize::new(64),
            set_max_intset_entries: AtomicUsize::new(512),
            zset_max_listpack_entries: AtomicUsize::new(128),
            zset_max_listpack_value: AtomicUsize::new(64),
            list_max_listpack_size: std::sync::atomic::AtomicI64::new(-2),
            list_compress_depth: AtomicUsize::new(0),
            stream_node_max_bytes: AtomicUsize::new(4096),
            stream_node_max_entries: AtomicUsize::new(100),
        }
    }
}

/// A snapshot of the limits for one command.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub intset_entries: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    pub list: list::Shape,
    pub stream: stream::NodeLimits,
}

impl Limits {
    pub fn snapshot(&self) -> Thresholds {
        Thresholds {
            hash_entries: self.hash_max_listpack_entries.load(Ordering::Relaxed),
            hash_value: self.hash_max_listpack_value.load(Ordering::Relaxed),
            intset_entries: self.set_max_intset_entries.load(Ordering::Relaxed),
            zset_entries: self.zset_max_listpack_entries.load(Ordering::Relaxed),
            zset_value: self.zset_max_listpack_value.load(Ordering::Relaxed),
            list: list::Shape { fill: self.list_max_listpack_size.load(Ordering::Relaxed), depth: self.list_compress_depth.load(Ordering::Relaxed) },
            stream: stream::NodeLimits {
                max_bytes: self.stream_node_max_bytes.load(Ordering::Relaxed),
                max_entries: self.stream_node_max_entries.load(Ordering::Relaxed),
            },
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Limits::default().snapshot()
    }
}

pub(crate) type IndexMap<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;
pub(crate) type IndexSet<K> = indexmap::IndexSet<K, foldhash::fast::RandomState>;

/// An indexmap's own blocks for `capacity` entries of `entry` bytes: the
/// entry vector (each with its hash) and the index of positions.
pub(crate) fn table_bytes(capacity: usize, entry: usize) -> usize {
    use crate::memory::block;
    block(capacity * (entry + std::mem::size_of::<u64>())) + block(capacity * (std::mem::size_of::<usize>() + 1))
}

/// A SCAN step over an index-addressed table, walking down (see
/// `Shard::scan_step` for why this survives `swap_remove`). Cursor 0 starts;
/// the returned cursor is 0 when done, else the next position plus one.
pub(crate) fn scan_indexed(len: usize, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
    let mut next = if cursor == 0 { len } else { (cursor as usize).min(len) };
    let mut seen = 0;
    while next > 0 && seen < count.max(1) {
        next -= 1;
        visit(next);
        seen += 1;
    }
    next as u64
}
