//! Leaving tokio's worker pool for work that holds a thread: a busy Lua
//! script, and the commands that wait for it. Meanwhile the pool's other
//! threads keep reading connections, as Redis serves events during a slow
//! script.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `f` with this worker thread handed over to tokio's other tasks.
pub fn off_the_workers<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            // This thread stops being a worker: replies it queued for the
            // end of its round must not wait for a park that never comes.
            crate::net::outbox::leave_worker();
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Called on a script's thread when it turns busy: from here on the thread
/// is no longer one of tokio's workers, so connections keep being read
/// (and get -BUSY) while the script runs. A quick script never pays for
/// the hand-off.
///
/// `block_in_place` hands this worker's queue to a new thread, but takes it
/// back when its closure returns if no thread has picked it up yet; and
/// tasks already in that queue (a connection woken just before the script
/// ran) run only with it. So a task is spawned into this worker's own queue
/// first, and the closure waits until it has run: then another thread owns
/// the queue, for good. (A bound of a few seconds only guards against a
/// runtime that is shutting down.)
pub fn hand_off_worker() {
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return;
    }
    let taken = Arc::new(AtomicBool::new(false));
    let mark = taken.clone();
    // Spawned while this thread is still a worker: it goes into this
    // worker's queue, so it runs only where that queue went.
    drop(handle.spawn(async move { mark.store(true, Ordering::Release) }));
    off_the_workers(|| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !taken.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(50));
        }
    });
}
