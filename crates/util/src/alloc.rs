//! Redis's `zmalloc_used_memory`: the bytes the process has allocated,
//! readable on every command at the cost of one atomic load.
//!
//! Why not ask the allocator: jemalloc's `stats.allocated` needs an epoch
//! advance that merges every arena's statistics, far too slow for the
//! `maxmemory` check each write makes. So the global allocator is wrapped
//! ([`Counting`]) and counts what it hands out, in the allocator's own size
//! classes (what `malloc_usable_size` would say, as Redis counts).
//!
//! Why per-thread batches: one shared counter bumped by every allocation
//! on every core would bounce its cache line between them. Each thread
//! adds to its own delta and folds it into the shared total once it
//! passes [`FLUSH_AT`] either way, so the total lags the truth by at most
//! that much per thread (the slack docs/memory.md states), and a thread
//! always sees its own allocations ([`used_memory`]).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Bytes a thread may hold back from the shared total.
pub const FLUSH_AT: isize = 32 << 10;

static USED: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Const-initialised and without a destructor: reading it never
    /// allocates, which an allocator's bookkeeping must not.
    static DELTA: Cell<isize> = const { Cell::new(0) };
}

/// Size classes of an allocator: what a request of `size` bytes aligned
/// to `align` really takes.
pub type UsableSize = fn(size: usize, align: usize) -> usize;

/// A global allocator that counts what `inner` hands out.
pub struct Counting<A> {
    inner: A,
    usable: UsableSize,
}

impl<A> Counting<A> {
    pub const fn new(inner: A, usable: UsableSize) -> Self {
        Counting { inner, usable }
    }
}

fn add(bytes: isize) {
    let flushed = DELTA.try_with(|d| {
        let v = d.get() + bytes;
        if v.unsigned_abs() >= FLUSH_AT as usize {
            USED.fetch_add(v, Ordering::Relaxed);
            d.set(0);
        } else {
            d.set(v);
        }
    });
    if flushed.is_err() {
        USED.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Folds this thread's delta into the total: call it as a thread stops,
/// or its last batch would be lost.
pub fn flush_thread() {
    let _ = DELTA.try_with(|d| USED.fetch_add(d.replace(0), Ordering::Relaxed));
}

/// Bytes allocated: the shared total plus this thread's own batch (so a
/// thread that frees memory sees it freed at once, as eviction needs).
pub fn used_memory() -> usize {
    let own = DELTA.try_with(Cell::get).unwrap_or(0);
    (USED.load(Ordering::Relaxed) + own).max(0) as usize
}

/// jemalloc's size classes with its defaults (16-byte quantum, four
/// classes per doubling, an 8-byte tiny class): 8, 16, 32, 48 … 128, 160,
/// 192, 224, 256, 320 … The same rule holds for its large classes.
pub fn jemalloc_size_class(size: usize, align: usize) -> usize {
    let size = size.max(align).max(1);
    if size <= 8 {
        return 8;
    }
    if size <= 128 {
        return size.next_multiple_of(16);
    }
    let lg = usize::BITS - 1 - (size - 1).leading_zeros();
    let delta = 1usize << (lg - 2);
    size.next_multiple_of(delta)
}

/// glibc's malloc: a 16-byte aligned chunk with an 8-byte header.
pub fn glibc_size_class(size: usize, align: usize) -> usize {
    (size.max(align) + 8).next_multiple_of(16).max(32) - 8
}

// SAFETY: every call is passed to `inner` unchanged; only counting is added.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            add((self.usable)(layout.size(), layout.align()) as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            add((self.usable)(layout.size(), layout.align()) as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.inner.dealloc(ptr, layout) };
        add(-((self.usable)(layout.size(), layout.align()) as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let (old, new) = ((self.usable)(layout.size(), layout.align()), (self.usable)(new_size, layout.align()));
            add(new as isize - old as isize);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_classes() {
        let classes = [(1, 8), (8, 8), (9, 16), (17, 32), (33, 48), (100, 112), (128, 128), (129, 160), (257, 320), (4097, 5120), (14337, 16384)];
        for (size, class) in classes {
            assert_eq!(jemalloc_size_class(size, 8), class, "size {size}");
        }
        assert_eq!(jemalloc_size_class(8, 64), 64);
        assert_eq!(jemalloc_size_class(0, 1), 8);
    }

    #[test]
    fn counts_a_threads_allocations_at_once_and_others_within_the_slack() {
        // The test binary's allocator is not `Counting`: drive the counter.
        let before = used_memory();
        add(1000);
        assert_eq!(used_memory(), before + 1000, "a thread sees its own batch");
        add(-1000);
        let seen_elsewhere = std::thread::spawn(|| {
            add(100);
            let mid = used_memory();
            flush_thread();
            (mid, used_memory())
        })
        .join()
        .unwrap();
        assert_eq!(seen_elsewhere.1, seen_elsewhere.0);
        assert_eq!(used_memory(), before + 100, "flushed when the thread stopped");
    }
}
