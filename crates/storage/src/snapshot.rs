//! Point-in-time snapshots without fork and without a copy of the dataset.
//!
//! A snapshot starts under the exclusive gate (an instant: every shard is
//! marked pending) and then proceeds under the shared gate: a walker visits
//! the shards one by one and captures each still-pending one. Any view that
//! is about to touch a pending shard captures it first, under the shard's
//! lock, before anything can change it. So every shard is captured exactly
//! once, in the state it had when the snapshot started, while clients keep
//! being served. The extra memory is what has been captured but not yet
//! written out, never the dataset; a writer pays for serializing one shard
//! at most once per snapshot.
//!
//! What "capture" means (RDB encoding, where the bytes go) belongs to the
//! caller, through [`Capture`]: the store knows nothing of file formats.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::keyspace::SHARDS;
use crate::shard::{Entry, Key, Shard};

/// Takes one shard as it is now. Runs under the shard's lock, on a
/// client's request path: it should copy (cheaply: values share their
/// bytes) rather than encode, and never block.
pub trait Capture: Send + Sync {
    fn capture(&self, db: usize, keys: &mut dyn Iterator<Item = (&Key, &Entry, Option<i64>)>);
    /// Called by the walker between shards, holding nothing: where it waits
    /// for the output to drain, so captured copies stay few.
    fn pace(&self) {}
}

pub struct SnapshotJob {
    /// One flag per (db, shard): not captured yet.
    pending: Box<[AtomicBool]>,
    left: AtomicUsize,
    capture: Box<dyn Capture>,
}

impl SnapshotJob {
    pub(crate) fn new(databases: usize, capture: Box<dyn Capture>) -> Arc<Self> {
        let n = databases * SHARDS;
        Arc::new(SnapshotJob { pending: (0..n).map(|_| AtomicBool::new(true)).collect(), left: AtomicUsize::new(n), capture })
    }

    /// Captures shard `index` of `db` if it still waits; the caller holds
    /// that shard (its lock, or the exclusive gate).
    pub(crate) fn before_touch(&self, db: usize, index: usize, shard: &Shard) {
        let slot = &self.pending[db * SHARDS + index];
        if !slot.load(Ordering::Acquire) {
            return;
        }
        if !shard.is_empty() {
            let mut keys = shard.map.iter().map(|(k, e)| (k, e, shard.expires.get(k).copied()));
            self.capture.capture(db, &mut keys);
        }
        slot.store(false, Ordering::Release);
        self.left.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn pace(&self) {
        self.capture.pace();
    }

    /// Shards still to capture.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use parking_lot::Mutex;

    use super::*;
    use crate::value::{Str, Value};
    use crate::{now_ms, Store, View};

    type Seen = Arc<Mutex<BTreeMap<(usize, Vec<u8>), Vec<u8>>>>;

    struct Collect(Seen);

    impl Capture for Collect {
        fn capture(&self, db: usize, keys: &mut dyn Iterator<Item = (&Key, &Entry, Option<i64>)>) {
            let mut seen = self.0.lock();
            for (k, e, _) in keys {
                let v = e.value.as_str().map(|s| s.to_vec()).unwrap_or_default();
                assert!(seen.insert((db, k.to_vec()), v).is_none(), "a key captured twice");
            }
        }
    }

    fn set(store: &Store, db: usize, key: &str, value: &str) {
        let ks = store.shared();
        let mut view = View::shared(store, &ks, db, now_ms());
        view.set(key.as_bytes(), Value::Str(Str::from_arg(value.as_bytes())), false);
    }

    #[test]
    fn captures_the_moment_it_started_while_writes_go_on() {
        let store = Store::new(2);
        let mut before = BTreeMap::new();
        for i in 0..500 {
            set(&store, i % 2, &format!("k{i}"), "old");
            before.insert((i % 2, format!("k{i}").into_bytes()), b"old".to_vec());
        }
        let seen: Seen = Default::default();
        let job = store.begin_snapshot(&mut store.exclusive(), Box::new(Collect(seen.clone()))).expect("no snapshot running");
        assert!(store.begin_snapshot(&mut store.exclusive(), Box::new(Collect(seen.clone()))).is_none(), "one at a time");
        // Writes during the snapshot: overwrite, add, delete, flush.
        for i in 0..200 {
            set(&store, i % 2, &format!("k{i}"), "new");
            set(&store, 0, &format!("fresh{i}"), "new");
        }
        {
            let mut ks = store.exclusive();
            let mut view = View::exclusive(&store, &mut ks, 1, now_ms());
            let now = view.now_ms;
            view.keyspace().expect("exclusive").flush_db(1, now);
        }
        store.walk_snapshot(&job);
        assert_eq!(job.left(), 0);
        assert!(!store.snapshot_running());
        assert_eq!(*seen.lock(), before);
    }
}
