//! Point-in-time snapshots without fork and without a copy of the dataset.
//!
//! A snapshot starts under the exclusive gate, an instant that fixes its
//! *epoch*: every entry carries the epoch it was created in, so entries
//! older than the snapshot's are exactly the ones it must contain, and
//! entries created afterwards are not in it. From then on, under the shared
//! gate:
//!
//! - a command about to touch a key whose entry is older than the epoch
//!   first captures that one entry (copy-on-write per key) and stamps it;
//! - a walker visits every shard, in small chunks under the shard's lock,
//!   capturing the entries still older than the epoch.
//!
//! The walker goes down each shard's dense index: a removal (`swap_remove`)
//! only moves the last entry, which the walker has already passed, so no
//! entry that was there at the instant is missed. Every entry is captured
//! exactly once, as it was at the instant, while clients keep being served;
//! the extra memory is what has been captured but not yet written out, and
//! a command pays for copying only the entries it touches.
//!
//! What "capture" means (RDB encoding, where the bytes go) belongs to the
//! caller, through [`Capture`]: the store knows nothing of file formats.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::keyspace::SHARDS;
use crate::shard::{Key, Shard};
use crate::value::Value;

/// Entries the walker captures per hold of a shard's lock.
const CHUNK: usize = 512;

/// The epoch new entries are created in; a snapshot starts a new one.
static EPOCH: AtomicU32 = AtomicU32::new(0);

/// Entries created now carry this epoch. (The exclusive gate orders the
/// bump before any entry created after it.)
pub(crate) fn current_epoch() -> u32 {
    EPOCH.load(Ordering::Relaxed)
}

/// Receives copies of entries as they were at the snapshot's instant. Runs
/// under a shard's lock, often on a client's request path: it must not
/// block. Values share their bytes with the live ones, so copies are cheap.
pub trait Capture: Send + Sync {
    fn capture(&self, db: usize, entries: Vec<(Key, Value, Option<i64>)>);
    /// One key a command is about to change, on that command's path: the
    /// live value will be replaced right after, so a capture that encodes
    /// it now lets the old value go at once.
    fn capture_key(&self, db: usize, key: &[u8], value: &Value, expire: Option<i64>) {
        self.capture(db, vec![(Bytes::copy_from_slice(key), value.clone(), expire)]);
    }
    /// Called by the walker between chunks, holding nothing: where it waits
    /// for the output to drain, so captured copies stay few.
    fn pace(&self) {}
}

pub struct SnapshotJob {
    epoch: u32,
    /// One flag per (db, shard): the walker has not finished it.
    pending: Box<[AtomicBool]>,
    left: AtomicUsize,
    capture: Box<dyn Capture>,
}

impl SnapshotJob {
    /// Called with the keyspace held exclusively.
    pub(crate) fn new(databases: usize, capture: Box<dyn Capture>) -> Arc<Self> {
        let n = databases * SHARDS;
        let epoch = EPOCH.fetch_add(1, Ordering::Relaxed) + 1;
        Arc::new(SnapshotJob { epoch, pending: (0..n).map(|_| AtomicBool::new(true)).collect(), left: AtomicUsize::new(n), capture })
    }

    fn is_pending(&self, db: usize, index: usize) -> bool {
        self.pending[db * SHARDS + index].load(Ordering::Acquire)
    }

    /// Before a command touches `key` (shard `index` of `db`, held by the
    /// caller): capture its entry if the snapshot still needs it.
    pub(crate) fn before_key(&self, db: usize, index: usize, shard: &mut Shard, key: &[u8]) {
        if !self.is_pending(db, index) {
            return;
        }
        let Some((k, entry)) = shard.map.get_full_mut(key) else {
            return;
        };
        if entry.epoch >= self.epoch {
            return;
        }
        entry.epoch = self.epoch;
        self.capture.capture_key(db, k, &entry.value, shard.expires.get(key));
    }

    /// Captures what is still needed among the entries below `cursor` (at
    /// most [`CHUNK`]); returns where to continue, 0 when the shard is done.
    pub(crate) fn capture_chunk(&self, db: usize, shard: &mut Shard, cursor: usize) -> usize {
        let end = cursor.min(shard.map.len());
        let start = end.saturating_sub(CHUNK);
        let mut copies = Vec::new();
        for i in (start..end).rev() {
            let (k, entry) = shard.map.get_index_mut(i).expect("index below len");
            if entry.epoch < self.epoch {
                entry.epoch = self.epoch;
                copies.push((Bytes::copy_from_slice(k), entry.value.clone(), None));
            }
        }
        for c in copies.iter_mut() {
            c.2 = shard.expires.get(&c.0);
        }
        if !copies.is_empty() {
            self.capture.capture(db, copies);
        }
        start
    }

    /// Captures everything the shard still owes (FLUSHALL, SWAPDB, a load
    /// are about to change it wholesale) and marks it done.
    pub(crate) fn settle_shard(&self, db: usize, index: usize, shard: &mut Shard) {
        if !self.is_pending(db, index) {
            return;
        }
        let mut cursor = shard.map.len();
        while cursor > 0 {
            cursor = self.capture_chunk(db, shard, cursor);
        }
        self.done(db, index);
    }

    pub(crate) fn done(&self, db: usize, index: usize) {
        if self.pending[db * SHARDS + index].swap(false, Ordering::AcqRel) {
            self.left.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn pace(&self) {
        self.capture.pace();
    }

    pub(crate) fn pending_shard(&self, db: usize, index: usize) -> bool {
        self.is_pending(db, index)
    }

    /// Shards the walker has not finished.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use parking_lot::Mutex;

    use super::*;
    use crate::value::Str;
    use crate::{now_ms, Store, View};

    type Seen = Arc<Mutex<BTreeMap<(usize, Vec<u8>), Vec<u8>>>>;

    struct Collect(Seen);

    impl Capture for Collect {
        fn capture(&self, db: usize, entries: Vec<(Key, Value, Option<i64>)>) {
            let mut seen = self.0.lock();
            for (k, v, _) in entries {
                let v = v.as_str().map(|s| s.to_vec()).unwrap_or_default();
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

    #[test]
    fn writers_racing_the_walker_never_change_what_it_captures() {
        use rand::{Rng, SeedableRng};
        let store = Arc::new(Store::new(1));
        let mut before = BTreeMap::new();
        for i in 0..20_000 {
            set(&store, 0, &format!("k{i}"), &format!("v{i}"));
            before.insert((0, format!("k{i}").into_bytes()), format!("v{i}").into_bytes());
        }
        let seen: Seen = Default::default();
        let job = store.begin_snapshot(&mut store.exclusive(), Box::new(Collect(seen.clone()))).unwrap();
        let walker = {
            let (store, job) = (store.clone(), job.clone());
            std::thread::spawn(move || store.walk_snapshot(&job))
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        while store.snapshot_running() {
            let k = format!("k{}", rng.random_range(0..25_000));
            let ks = store.shared();
            let mut view = View::shared(&store, &ks, 0, now_ms());
            if rng.random_bool(0.3) {
                view.delete(k.as_bytes());
            } else {
                view.set(k.as_bytes(), Value::Str(Str::from_arg(b"changed")), false);
            }
        }
        walker.join().unwrap();
        assert_eq!(*seen.lock(), before);
    }
}
