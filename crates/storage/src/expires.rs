//! A shard's expiry table: when each volatile key expires.
//!
//! Why this shape: with a TTL on every key, the table costs what a key
//! costs twice over if it keeps its own copy of each key (an `IndexMap`
//! of `Bytes` spent ~120 bytes a key). Here an entry is the key's record
//! (an [`Alias`]: the key's bytes are read from it) and the time, 16 bytes
//! in a dense vector (Redis samples volatile keys at random: active expiry,
//! `volatile-*` eviction), found through a hash index of 4-byte positions.
//!
//! Invariant: an entry's alias is valid while its key's record is in the
//! shard's table. The shard removes a key's expiry before its record
//! (`Shard::remove_hashed`), and records are never removed otherwise.

use hashbrown::HashTable;

use crate::record::Alias;
use crate::table::key_hash;

#[derive(Default)]
pub struct Expires {
    /// (the key's record, absolute expiry in Unix ms).
    entries: Vec<(Alias, i64)>,
    /// Positions in `entries`, hashed by the key (`key_hash`).
    index: HashTable<u32>,
}

impl std::fmt::Debug for Expires {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries((0..self.len()).filter_map(|i| self.get_index(i))).finish()
    }
}

/// The key an entry stands for.
fn key_of<'a>(alias: Alias) -> &'a [u8] {
    // SAFETY: entries only hold aliases of records still in the shard's
    // table (the module's invariant), read while the shard is borrowed.
    unsafe { alias.key() }
}

impl Expires {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index.find(hash, |&p| key_of(entries[p as usize].0) == key).map(|&p| p as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<i64> {
        self.position(key_hash(key), key).map(|p| self.entries[p].1)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.position(key_hash(key), key).is_some()
    }

    /// Sets `key`'s expiry; `record` is its record in the shard's table
    /// (which the caller has just found or made).
    pub(crate) fn set(&mut self, key: &[u8], record: Alias, at: i64) {
        let hash = key_hash(key);
        match self.position(hash, key) {
            Some(p) => self.entries[p].1 = at,
            None => {
                let p = u32::try_from(self.entries.len()).expect("fewer than 2^32 keys per shard");
                self.entries.push((record, at));
                let entries = &self.entries;
                self.index.insert_unique(hash, p, |&q| key_hash(key_of(entries[q as usize].0)));
            }
        }
    }

    /// Removes `key`'s expiry, moving the last entry into its place.
    pub fn remove(&mut self, key: &[u8]) -> Option<i64> {
        let hash = key_hash(key);
        let entries = &self.entries;
        let p = self.index.find_entry(hash, |&p| key_of(entries[p as usize].0) == key).ok()?.remove().0 as usize;
        let (_, at) = self.entries.swap_remove(p);
        if let Some(&(moved, _)) = self.entries.get(p) {
            // The entry that was last now lives at `p`.
            let last = self.entries.len() as u32;
            if let Some(slot) = self.index.find_mut(key_hash(key_of(moved)), |&q| q == last) {
                *slot = p as u32;
            }
        }
        if crate::table::is_sparse(self.entries.len(), self.entries.capacity()) {
            let keep = self.entries.len() * 2;
            self.entries.shrink_to(keep);
            let entries = &self.entries;
            self.index.shrink_to(keep, |&q| key_hash(key_of(entries[q as usize].0)));
        }
        Some(at)
    }

    /// The `i`th entry (random sampling).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], i64)> {
        self.entries.get(i).map(|&(alias, at)| (key_of(alias), at))
    }

    /// Bytes of the table's own blocks, as allocated.
    pub fn overhead_bytes(&self) -> usize {
        crate::memory::block(self.entries.capacity() * std::mem::size_of::<(Alias, i64)>())
            + crate::table::index_bytes(self.index.capacity(), std::mem::size_of::<u32>())
    }
}

#[cfg(test)]
mod tests {
    use crate::shard::Shard;
    use crate::value::{Str, Value};
    use crate::Entry;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Setting, clearing and deleting keys agrees with a HashMap, and
        /// every entry stays reachable through the index.
        #[test]
        fn agrees_with_a_hashmap(ops in proptest::collection::vec((0u8..3, 0u16..400, any::<i64>()), 0..3000)) {
            let mut shard = Shard::default();
            let mut model: HashMap<Vec<u8>, i64> = HashMap::new();
            for (op, k, at) in ops {
                let key = format!("k{k}").into_bytes();
                match op {
                    0 => {
                        if !shard.map.contains_key(&key) {
                            shard.map.insert_new(&key, Entry::new(Value::Str(Str::Int(1)), 0));
                        }
                        shard.set_expire(&key, at);
                        model.insert(key, at);
                    }
                    1 => prop_assert_eq!(shard.expires.remove(&key), model.remove(&key)),
                    _ => {
                        shard.remove(&key);
                        model.remove(&key);
                    }
                }
            }
            prop_assert_eq!(shard.expires.len(), model.len());
            for (k, at) in &model {
                prop_assert_eq!(shard.expires.get(k), Some(*at));
            }
            for i in 0..shard.expires.len() {
                let (k, at) = shard.expires.get_index(i).unwrap();
                prop_assert_eq!(model.get(k), Some(&at));
            }
        }
    }
}
