//! One shard of a database: its slice of the keys and of their expiry times.
//!
//! Both tables are dense (a vector plus a hash index) because Redis samples
//! keys at random (active expiry, RANDOMKEY) and SCAN needs a cursor that
//! survives deletions; positions give both (see `scan_step`). Keys live in
//! their records (see `record`); the expiry table, for volatile keys only,
//! points at them (see `expires`).

use bytes::Bytes;

use crate::expires::Expires;
use crate::table::Table;
use crate::value::Value;

pub type Key = Bytes;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Redis's 24-bit LRU clock (seconds), or LFU data under an LFU policy.
    pub lru: u32,
    /// The snapshot epoch the entry was created or last captured in (see
    /// `snapshot`); fits in what would be padding.
    pub(crate) epoch: u32,
}

impl Entry {
    pub fn new(value: Value, lru: u32) -> Entry {
        Entry { value, lru, epoch: crate::snapshot::current_epoch() }
    }
}

#[derive(Debug, Default)]
pub struct Shard {
    pub(crate) map: Table,
    /// Absolute expiry in Unix milliseconds, only for keys that have one.
    pub(crate) expires: Expires,
}

impl Shard {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    pub(crate) fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.expires.get(key).is_some_and(|at| at <= now_ms)
    }

    /// Sets the expiry of `key`; false (and nothing set) if the key is
    /// not in the table.
    pub(crate) fn set_expire(&mut self, key: &[u8], at: i64) -> bool {
        let Some(record) = self.map.find(crate::table::key_hash(key), key) else {
            return false;
        };
        self.expires.set(key, record, at);
        true
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.remove_hashed(crate::table::key_hash(key), key)
    }

    /// [`Shard::remove`] of a key whose `key_hash` is `hash`.
    pub(crate) fn remove_hashed(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        // The expiry first: it reads the key from the record.
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        self.map.swap_remove_hashed(hash, key)
    }

    /// Visits up to `count` keys walking down from `next` (exclusive), and
    /// returns where to continue (0 when this shard is done).
    ///
    /// Walking down makes the cursor safe under `swap_remove`: a removal only
    /// moves the last key, which is either already visited (it may then be
    /// seen twice, which SCAN allows) or still below the cursor. So a key
    /// present for the whole scan is always returned.
    pub(crate) fn scan_step(&self, next: usize, count: usize, mut visit: impl FnMut(&[u8], &Entry)) -> usize {
        let mut next = next.min(self.map.len());
        let mut seen = 0;
        while next > 0 && seen < count {
            next -= 1;
            let (k, e) = self.map.get_index(next).expect("index below len");
            visit(k, e);
            seen += 1;
        }
        next
    }
}
