//! Redis's lazy freeing: values dropped on a background thread, so a big
//! value leaving the keyspace costs the command that removed it nothing.
//! UNLINK and FLUSHALL/FLUSHDB ASYNC always; DEL, flushes, expiry,
//! overwrites and eviction when their `lazyfree-lazy-*` directive says so.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, OnceLock};

use crate::value::Value;

/// What one message to the thread frees, and how many objects it counts
/// as (a whole database counts its keys, as in Redis).
type Garbage = (Box<dyn Send>, u64);

/// Redis's LAZYFREE_THRESHOLD: a value whose freeing touches fewer
/// allocations than this is freed at once; the hand-off would cost more.
pub const THRESHOLD: usize = 64;

#[derive(Default)]
pub struct LazyFree {
    tx: OnceLock<Sender<Garbage>>,
    counts: Arc<Counts>,
    /// The `lazyfree-lazy-*` directives, set from the configuration.
    pub policy: Policy,
}

/// Which deletions free lazily, besides UNLINK and the ASYNC flushes.
#[derive(Default)]
pub struct Policy {
    /// `lazyfree-lazy-user-del`: DEL acts as UNLINK.
    pub user_del: AtomicBool,
    /// `lazyfree-lazy-user-flush`: FLUSHALL/FLUSHDB/SCRIPT FLUSH/FUNCTION
    /// FLUSH default to ASYNC.
    pub user_flush: AtomicBool,
    /// `lazyfree-lazy-server-del`: values a command replaces (SET over a
    /// key, RENAME's target…).
    pub server_del: AtomicBool,
    /// `lazyfree-lazy-expire`: keys whose time passed.
    pub expire: AtomicBool,
}

impl Policy {
    pub fn on(flag: &AtomicBool) -> bool {
        flag.load(Ordering::Relaxed)
    }
}

/// Redis's `lazyfreeGetFreeEffort`: how many allocations freeing `value`
/// walks (nodes of a list, entries of a hash table or skiplist); one for
/// everything held in a single block.
pub fn free_effort(value: &Value) -> usize {
    match value {
        Value::List(l) => l.node_count(),
        Value::Set(s) if s.encoding() == "hashtable" => s.len(),
        Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
        Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        Value::Stream(s) => s.free_effort(),
        _ => 1,
    }
}

/// INFO memory's lazyfree_pending_objects and lazyfreed_objects.
#[derive(Default)]
pub struct Counts {
    pub pending: AtomicU64,
    pub freed: AtomicU64,
}

impl LazyFree {
    /// Hands `value` to the lazyfree thread (started on first use); drops
    /// it here if the thread cannot be had.
    pub fn free<T: Send + 'static>(&self, value: T) {
        self.free_counted(value, 1);
    }

    /// As `free`, counting `objects` (a database's keys).
    pub fn free_counted<T: Send + 'static>(&self, value: T, objects: u64) {
        let tx = self.tx.get_or_init(|| spawn(self.counts.clone()));
        self.counts.pending.fetch_add(objects, Ordering::Relaxed);
        if let Err(returned) = tx.send((Box::new(value), objects)) {
            self.counts.pending.fetch_sub(objects, Ordering::Relaxed);
            drop(returned);
        }
    }

    /// Frees a value that left the keyspace: on the thread when it is
    /// worth it (Redis's `freeObjAsync`), here otherwise.
    pub fn drop_value(&self, value: Value) {
        if free_effort(&value) > THRESHOLD {
            self.free(value);
        }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

fn spawn(counts: Arc<Counts>) -> Sender<Garbage> {
    let (tx, rx) = channel::<Garbage>();
    let started = std::thread::Builder::new().name("lazyfree".into()).spawn(move || {
        for (garbage, objects) in rx {
            drop(garbage);
            counts.pending.fetch_sub(objects, Ordering::Relaxed);
            counts.freed.fetch_add(objects, Ordering::Relaxed);
        }
        ferrokv_util::alloc::flush_thread();
    });
    if let Err(e) = started {
        // The receiver is gone with the closure: `free` drops in place.
        eprintln!("Can't start the lazyfree thread: {e}");
    }
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_in_the_background_and_counts() {
        let lazy = LazyFree::default();
        for _ in 0..100 {
            lazy.free(vec![0u8; 1000]);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while lazy.counts().freed.load(Ordering::Relaxed) < 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(lazy.counts().freed.load(Ordering::Relaxed), 100);
        assert_eq!(lazy.counts().pending.load(Ordering::Relaxed), 0);
    }
}
