//! A shard's key table: records in a dense vector, found through a hash
//! index of their positions.
//!
//! Why dense: Redis samples keys at random (active expiry, RANDOMKEY,
//! eviction) and SCAN needs a cursor that survives deletions; positions in a
//! vector give both (see `Shard::scan_step`). Why not `IndexMap`: it keeps
//! each key's hash beside it and grows its entry vector to match its index's
//! capacity (up to twice the keys); here a key costs one record pointer in
//! the vector, a 4-byte position and a control byte in the index, and its
//! record.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use crate::record::Record;
use crate::shard::Entry;

/// Below this many slots a table is never shrunk.
const MIN_SHRINK: usize = 1024;

#[derive(Default)]
pub struct Table {
    records: Vec<Record>,
    /// Positions in `records`, hashed by the record's key.
    index: HashTable<u32>,
    hasher: RandomState,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.records.iter()).finish()
    }
}

impl Table {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn find(&self, key: &[u8]) -> Option<usize> {
        let records = &self.records;
        self.index.find(self.hasher.hash_one(key), |&i| records[i as usize].key() == key).map(|&i| i as usize)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.find(key).map(|i| self.records[i].entry())
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.get_full_mut(key).map(|(_, e)| e)
    }

    /// The stored key with its entry.
    pub fn get_full_mut(&mut self, key: &[u8]) -> Option<(&[u8], &mut Entry)> {
        let i = self.find(key)?;
        Some(self.records[i].parts_mut())
    }

    /// Adds a key the caller knows is absent.
    pub fn insert_new(&mut self, key: &[u8], entry: Entry) {
        debug_assert!(!self.contains_key(key), "insert_new of a present key");
        let at = u32::try_from(self.records.len()).expect("fewer than 2^32 keys per shard");
        self.records.push(Record::new(key, entry));
        let Table { records, index, hasher } = self;
        index.insert_unique(hasher.hash_one(key), at, |&i| hasher.hash_one(records[i as usize].key()));
    }

    /// Removes `key`, moving the last record into its place.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<Entry> {
        let hash = self.hasher.hash_one(key);
        let records = &self.records;
        let (at, _) = self.index.find_entry(hash, |&i| records[i as usize].key() == key).ok()?.remove();
        let at = at as usize;
        let last = self.records.len() - 1;
        let removed = self.records.swap_remove(at);
        if at != last {
            let moved = self.hasher.hash_one(self.records[at].key());
            *self.index.find_mut(moved, |&i| i as usize == last).expect("every record is indexed") = at as u32;
        }
        self.shrink_if_sparse();
        Some(removed.into_entry())
    }

    /// Gives memory back once most keys are gone, as Redis shrinks a dict
    /// under 1/8 full (here: the vector's capacity; the index follows).
    fn shrink_if_sparse(&mut self) {
        let cap = self.records.capacity();
        if cap > MIN_SHRINK && self.records.len() * 8 < cap {
            let keep = self.records.len() * 2;
            self.records.shrink_to(keep);
            let Table { records, index, hasher } = self;
            index.shrink_to(keep, |&i| hasher.hash_one(records[i as usize].key()));
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
                prop_assert_eq!(table.find(k), Some(i));
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
