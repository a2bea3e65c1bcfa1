//! Statistics bumped by every command (commandstats, keyspace hits and
//! misses, changes since the last save), without a locked instruction.
//!
//! Why: Redis increments plain integers, being single-threaded; an atomic
//! `fetch_add` costs a locked read-modify-write, and a command paid five of
//! them for statistics alone. Here each thread that counts owns a slot of
//! the counter and adds with a plain load and store (it is the slot's only
//! writer); readers (INFO, the cron) add the slots up. Threads past the
//! owned slots share the last one with `fetch_add`, so a count is never
//! lost, only made slower.
//!
//! Subtracting (a save takes its changes off `dirty`) and resetting
//! (CONFIG RESETSTAT) move a base the sum is read against rather than
//! writing slots other threads own.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Slots in a counter, with the base filling one cache line.
pub const SLOTS: usize = 7;
/// The slot threads share once the owned ones are taken.
pub const SHARED: usize = SLOTS - 1;

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot in every counter; `usize::MAX` until it counts.
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's slot (the same in every per-thread statistic).
pub fn my_slot() -> usize {
    let slot = SLOT.get();
    if slot != usize::MAX {
        return slot;
    }
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed).min(SHARED);
    SLOT.set(slot);
    slot
}

#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Counter {
    slots: [AtomicU64; SLOTS],
    /// What `get` subtracts: what was taken off or reset away.
    base: AtomicU64,
}

impl Counter {
    pub fn add(&self, n: u64) {
        let slot = my_slot();
        let cell = &self.slots[slot];
        if slot == SHARED {
            cell.fetch_add(n, Ordering::Relaxed);
        } else {
            // This thread is the slot's only writer.
            cell.store(cell.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        }
    }

    fn sum(&self) -> u64 {
        self.slots.iter().fold(0u64, |acc, s| acc.wrapping_add(s.load(Ordering::Relaxed)))
    }

    pub fn get(&self) -> u64 {
        // A reset racing with an add may leave the base ahead for a moment.
        self.sum().saturating_sub(self.base.load(Ordering::Relaxed))
    }

    /// Takes `n` off (never below zero).
    pub fn sub(&self, n: u64) {
        self.base.fetch_add(n.min(self.get()), Ordering::Relaxed);
    }

    /// Back to zero (CONFIG RESETSTAT).
    pub fn reset(&self) {
        self.base.store(self.sum(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_every_add_across_more_threads_than_slots() {
        let c = Arc::new(Counter::default());
        let threads: Vec<_> = (0..SLOTS * 2)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| c.add(1)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.get(), (SLOTS * 2 * 10_000) as u64);
    }

    #[test]
    fn sub_and_reset_move_the_base() {
        let c = Counter::default();
        c.add(10);
        c.sub(3);
        assert_eq!(c.get(), 7);
        c.sub(100);
        assert_eq!(c.get(), 0, "never below zero");
        c.add(5);
        assert_eq!(c.get(), 5);
        c.reset();
        assert_eq!(c.get(), 0);
        c.add(2);
        assert_eq!(c.get(), 2);
    }

    #[test]
    fn a_counter_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Counter>(), 64);
    }
}
