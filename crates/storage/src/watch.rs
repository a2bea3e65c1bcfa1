//! WATCH bookkeeping: which clients watch which keys of a database.
//!
//! A client owns one [`WatchFlag`]; every write that touches a watched key
//! sets the flags of its watchers, and EXEC aborts when its flag is set.
//! Writes check an atomic count first, so without watchers a write costs
//! one relaxed load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::shard::Key;

pub type WatchFlag = Arc<AtomicBool>;

#[derive(Default)]
pub struct Watches {
    keys: Mutex<HashMap<Key, Vec<WatchFlag>>>,
    count: AtomicUsize,
}

impl Watches {
    pub fn add(&self, key: Key, flag: &WatchFlag) {
        let mut keys = self.keys.lock();
        let watchers = keys.entry(key).or_default();
        if !watchers.iter().any(|f| Arc::ptr_eq(f, flag)) {
            watchers.push(flag.clone());
        }
        self.count.store(keys.len(), Ordering::Release);
    }

    pub fn remove(&self, key: &[u8], flag: &WatchFlag) {
        let mut keys = self.keys.lock();
        if let Some(watchers) = keys.get_mut(key) {
            watchers.retain(|f| !Arc::ptr_eq(f, flag));
            if watchers.is_empty() {
                keys.remove(key);
            }
        }
        self.count.store(keys.len(), Ordering::Release);
    }

    /// Marks the watchers of `key` dirty (Redis's `touchWatchedKey`).
    pub fn touch(&self, key: &[u8]) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(watchers) = self.keys.lock().get(key) {
            watchers.iter().for_each(|f| f.store(true, Ordering::Release));
        }
    }

    /// Marks dirty the watchers of every watched key for which `exists`
    /// holds (FLUSHDB, SWAPDB: only keys that were there, or will be, count).
    pub fn touch_where(&self, mut exists: impl FnMut(&[u8]) -> bool) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        for (key, watchers) in self.keys.lock().iter() {
            if exists(key) {
                watchers.iter().for_each(|f| f.store(true, Ordering::Release));
            }
        }
    }
}
