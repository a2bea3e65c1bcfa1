//! A shard's key table: records in a dense vector, found through a hash
//! index of aliases of the records themselves.
//!
//! Why dense: Redis samples keys at random (active expiry, RANDOMKEY,
//! eviction) and SCAN needs a cursor that survives deletions; positions in a
//! vector give both (see `Shard::scan_step`). Why the index holds aliases
//! rather than positions: a lookup then reaches the key it compares in one
//! dependent load (see `record`). Why not `IndexMap`: it keeps each key's
//! hash beside it and grows its entry vector to match its index's capacity
//! (up to twice the keys); here a key costs one record pointer in the
//! vector, an alias and a control byte in the index, and its record.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::LazyLock;

use crate::record::{Alias, Record};
use crate::shard::Entry;

/// The seed is drawn once per process, as Redis seeds its dict hash at
/// start-up, so nobody can pick keys that collide.
static HASHER: LazyLock<RandomState> = LazyLock::new(RandomState::default);

/// A key's one hash: its low bits place it in a shard's table and bits
/// 32–35 pick the shard (`keyspace::shard_of`), so a command hashes its key
/// once for both. (hashbrown takes a slot from the low bits and a tag from
/// the top seven, so the shard bits bias neither.)
pub fn key_hash(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

/// Below this many slots a table is never shrunk.
const MIN_SHRINK: usize = 1024;

/// Whether a dense vector of `len` items in `capacity` slots should give
/// memory back: Redis shrinks a dict under 1/8 full. (The key table and
/// the expiry table share the rule.)
pub(crate) fn is_sparse(len: usize, capacity: usize) -> bool {
    capacity > MIN_SHRINK && len * 8 < capacity
}

/// Bytes of a hashbrown index able to hold `capacity` items of `slot`
/// bytes: a power of two of buckets, at most 7/8 full, a control byte per
/// bucket plus a group's worth (MEMORY STATS).
pub(crate) fn index_bytes(capacity: usize, slot: usize) -> usize {
    let buckets = if capacity == 0 { 0 } else { (capacity * 8 / 7).next_power_of_two() };
    crate::memory::block(buckets * (slot + 1) + 16)
}

#[derive(Default)]
pub struct Table {
    records: Vec<Record>,
    /// Every record in `records`, hashed by its key. Invariant: an alias is
    /// in the index exactly while its record is in `records`, and each
    /// record's stored position is its slot there.
    index: HashTable<Alias>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.records.iter()).finish()
    }
}

/// The key an indexed alias points at.
fn key_of<'a>(a: &Alias) -> &'a [u8] {
    // SAFETY: the index only holds aliases of live records (the invariant
    // on `Table::index`); the bytes are read while the table is borrowed.
    unsafe { a.key() }
}

fn rehash(a: &Alias) -> u64 {
    key_hash(key_of(a))
}

impl Table {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `hash` is `key_hash(key)`: callers that also chose the shard by it
    /// pass it on instead of hashing again (the `*_hashed` methods). The
    /// expiry table keeps what this returns (see `expires`).
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<Alias> {
        self.index.find(hash, |a| key_of(a) == key).copied()
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key_hash(key), key).is_some()
    }

    #[cfg(test)]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.get_hashed(key_hash(key), key)
    }

    pub fn get_hashed(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        // SAFETY: the record is alive (indexed) and `&self` keeps it so.
        self.find(hash, key).map(|a| unsafe { a.entry() })
    }

    #[cfg(test)]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.get_mut_hashed(key_hash(key), key)
    }

    pub fn get_mut_hashed(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry> {
        // SAFETY: alive (indexed); `&mut self` borrows every record.
        self.find(hash, key).map(|a| unsafe { a.parts_mut().1 })
    }

    /// The stored key with its entry.
    pub fn get_full_mut(&mut self, key: &[u8]) -> Option<(&[u8], &mut Entry)> {
        let a = self.find(key_hash(key), key)?;
        // SAFETY: as in `get_mut_hashed`.
        Some(unsafe { a.parts_mut() })
    }

    /// Adds a key the caller knows is absent.
    pub fn insert_new(&mut self, key: &[u8], entry: Entry) {
        self.insert_new_hashed(key_hash(key), key, entry)
    }

    pub fn insert_new_hashed(&mut self, hash: u64, key: &[u8], entry: Entry) {
        debug_assert!(!self.contains_key(key), "insert_new of a present key");
        let record = Record::new(key, entry, self.records.len());
        let alias = record.alias();
        self.records.push(record);
        self.index.insert_unique(hash, alias, rehash);
    }

    /// Removes `key`, moving the last record into its place.
    #[cfg(test)]
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.swap_remove_hashed(key_hash(key), key)
    }

    pub fn swap_remove_hashed(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        let (alias, _) = self.index.find_entry(hash, |a| key_of(a) == key).ok()?.remove();
        // SAFETY: the record is still in `records` (only its alias is gone).
        let at = unsafe { alias.position() };
        let removed = self.records.swap_remove(at);
        if let Some(moved) = self.records.get(at) {
            moved.set_position(at);
        }
        self.shrink_if_sparse();
        Some(removed.into_entry())
    }

    /// Gives memory back once most keys are gone, as Redis shrinks a dict
    /// under 1/8 full (here: the vector's capacity; the index follows).
    fn shrink_if_sparse(&mut self) {
        if is_sparse(self.records.len(), self.records.capacity()) {
            let keep = self.records.len() * 2;
            self.records.shrink_to(keep);
            self.index.shrink_to(keep, rehash);
        }
    }

    /// Bytes of the table's own blocks (the records vector and the hash
    /// index, as allocated: capacity, not length), for MEMORY STATS.
    pub fn overhead_bytes(&self) -> usize {
        crate::memory::block(self.records.capacity() * std::mem::size_of::<Record>()) + index_bytes(self.index.capacity(), std::mem::size_of::<Alias>())
    }

    /// Starts loading record `i` into the cache (eviction's samples are
    /// random records: asked for together, their misses overlap).
    pub fn prefetch_index(&self, i: usize) {
        if let Some(r) = self.records.get(i) {
            r.prefetch();
        }
    }

    pub fn get_index(&self, i: usize) -> Option<(&[u8], &Entry)> {
        self.records.get(i).map(|r| (r.key(), r.entry()))
    }

    pub fn get_index_mut(&mut self, i: usize) -> Option<(&[u8], &mut Entry)> {
        self.records.get_mut(i).map(Record::parts_mut)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.records.iter().map(|r| (r.key(), r.entry()))
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.records.iter().map(Record::key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Str, Value};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn entry(n: u32) -> Entry {
        Entry::new(Value::Str(Str::Int(n as i64)), n)
    }

    proptest! {
        /// Any sequence of inserts and removals agrees with a HashMap, and
        /// every position stays reachable through the index.
        #[test]
        fn agrees_with_a_hashmap(ops in proptest::collection::vec((any::<bool>(), 0u16..600), 0..3000)) {
            let mut table = Table::default();
            let mut model = HashMap::new();
            for (n, (insert, k)) in ops.into_iter().enumerate() {
                let key = format!("k{k}").into_bytes();
                if insert {
                    match table.get_mut(&key) {
                        Some(e) => e.lru = n as u32,
                        None => table.insert_new(&key, entry(n as u32)),
                    }
                    model.insert(key, n as u32);
                } else {
                    prop_assert_eq!(table.swap_remove(&key).map(|e| e.lru), model.remove(&key));
                }
            }
            prop_assert_eq!(table.len(), model.len());
            for (k, lru) in &model {
                prop_assert_eq!(table.get(k).map(|e| e.lru), Some(*lru));
            }
            for i in 0..table.len() {
                let (k, _) = table.get_index(i).unwrap();
                // SAFETY: the table is alive and not borrowed mutably.
                prop_assert_eq!(table.find(key_hash(k), k).map(|a| unsafe { a.position() }), Some(i));
            }
        }
    }

    #[test]
    fn shrinks_once_mostly_empty() {
        let mut table = Table::default();
        for i in 0..10_000 {
            table.insert_new(format!("k{i}").as_bytes(), entry(i));
        }
        for i in 0..9_990 {
            assert!(table.swap_remove(format!("k{i}").as_bytes()).is_some());
        }
        assert!(table.records.capacity() <= MIN_SHRINK, "capacity {}", table.records.capacity());
        for i in 9_990..10_000 {
            assert_eq!(table.get(format!("k{i}").as_bytes()).map(|e| e.lru), Some(i));
        }
    }
}
