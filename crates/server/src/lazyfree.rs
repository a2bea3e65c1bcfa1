//! Redis's lazy freeing: values dropped on a background thread, so a big
//! value leaving the keyspace costs the command that removed it nothing.
//! Used by eviction under `lazyfree-lazy-eviction`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, OnceLock};

type Garbage = Box<dyn Send>;

#[derive(Default)]
pub struct LazyFree {
    tx: OnceLock<Sender<Garbage>>,
    counts: Arc<Counts>,
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
        let tx = self.tx.get_or_init(|| spawn(self.counts.clone()));
        self.counts.pending.fetch_add(1, Ordering::Relaxed);
        if let Err(returned) = tx.send(Box::new(value)) {
            self.counts.pending.fetch_sub(1, Ordering::Relaxed);
            drop(returned);
        }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

fn spawn(counts: Arc<Counts>) -> Sender<Garbage> {
    let (tx, rx) = channel::<Garbage>();
    let started = std::thread::Builder::new().name("lazyfree".into()).spawn(move || {
        for garbage in rx {
            drop(garbage);
            counts.pending.fetch_sub(1, Ordering::Relaxed);
            counts.freed.fetch_add(1, Ordering::Relaxed);
        }
        ferrokv_util::alloc::flush_thread();
    });
    if let Err(e) = started {
        // The receiver is gone with the closure: `free` drops in place.
        tracing::warn!("Can't start the lazyfree thread: {e}");
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
