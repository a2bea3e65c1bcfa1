//! A key's record: its [`Entry`] and its key bytes in one allocation.
//!
//! Why: with a million small keys, what a key costs beyond its bytes is
//! what decides memory. Redis pays a dictEntry, an sds key and an embstr
//! object (three allocations). A record is one allocation: the 32-byte
//! entry (whose small string values are inline), the key length and the
//! key, so `key:000001` → `val` takes one 48-byte jemalloc block, and the
//! table holding records spends one pointer on each.
//!
//! Layout: `[Entry][key_len: u32][key bytes]`, aligned as `Entry`. The key
//! starts right after the length (no padding), so no `repr(C)` struct
//! describes the whole block: fields are reached by offset only.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::mem::{align_of, size_of, ManuallyDrop};
use std::ptr::NonNull;

use crate::shard::Entry;

const LEN_AT: usize = size_of::<Entry>();
const KEY_AT: usize = LEN_AT + size_of::<u32>();

pub(crate) struct Record(NonNull<u8>);

// SAFETY: a record owns its entry and bytes exclusively (like a
// `Box<(Entry, [u8])>`), and `Entry` is itself Send and Sync.
unsafe impl Send for Record {}
unsafe impl Sync for Record {}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Entry>();
    // The length field needs no padding after the entry.
    assert!(LEN_AT.is_multiple_of(align_of::<u32>()));
};

impl Record {
    fn layout(key_len: usize) -> Layout {
        Layout::from_size_align(KEY_AT + key_len, align_of::<Entry>()).expect("a key length fits a layout")
    }

    pub(crate) fn new(key: &[u8], entry: Entry) -> Record {
        let len = u32::try_from(key.len()).expect("keys are at most 512 MB (proto-max-bulk-len)");
        let layout = Self::layout(key.len());
        // SAFETY: the block is `layout` bytes aligned for `Entry`; each write
        // stays inside it and matches the alignment of what it writes.
        unsafe {
            let Some(block) = NonNull::new(alloc(layout)) else { handle_alloc_error(layout) };
            block.as_ptr().cast::<Entry>().write(entry);
            block.as_ptr().add(LEN_AT).cast::<u32>().write(len);
            std::ptr::copy_nonoverlapping(key.as_ptr(), block.as_ptr().add(KEY_AT), key.len());
            Record(block)
        }
    }

    fn key_len(&self) -> usize {
        // SAFETY: written by `new`, never changed.
        unsafe { self.0.as_ptr().add(LEN_AT).cast::<u32>().read() as usize }
    }

    pub(crate) fn key(&self) -> &[u8] {
        // SAFETY: `key_len` initialised bytes follow the length.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(KEY_AT), self.key_len()) }
    }

    pub(crate) fn entry(&self) -> &Entry {
        // SAFETY: an initialised, aligned `Entry` sits at the start.
        unsafe { &*self.0.as_ptr().cast::<Entry>() }
    }

    /// The key and the entry at once (they never overlap).
    pub(crate) fn parts_mut(&mut self) -> (&[u8], &mut Entry) {
        let key_len = self.key_len();
        // SAFETY: the entry is bytes [0, LEN_AT), the key [KEY_AT, ..): disjoint.
        unsafe {
            let key = std::slice::from_raw_parts(self.0.as_ptr().add(KEY_AT), key_len);
            (key, &mut *self.0.as_ptr().cast::<Entry>())
        }
    }

    /// Frees the block, handing back the entry.
    pub(crate) fn into_entry(self) -> Entry {
        let this = ManuallyDrop::new(self);
        let layout = Self::layout(this.key_len());
        // SAFETY: the entry is moved out exactly once, then the block freed
        // with the layout it was allocated with; `Drop` does not run.
        unsafe {
            let entry = this.0.as_ptr().cast::<Entry>().read();
            dealloc(this.0.as_ptr(), layout);
            entry
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let layout = Self::layout(self.key_len());
        // SAFETY: as in `into_entry`, with the entry dropped in place.
        unsafe {
            std::ptr::drop_in_place(self.0.as_ptr().cast::<Entry>());
            dealloc(self.0.as_ptr(), layout);
        }
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record").field("key", &bytes::Bytes::copy_from_slice(self.key())).field("entry", self.entry()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Str, Value};

    #[test]
    fn keeps_key_and_entry_apart() {
        for key in [&b""[..], b"k", b"key:000001", &[7u8; 1000]] {
            let mut r = Record::new(key, Entry::new(Value::Str(Str::from_arg(b"val")), 5));
            assert_eq!(r.key(), key);
            r.parts_mut().1.value = Value::Str(Str::from_arg(&[b'x'; 100]));
            r.parts_mut().1.lru = u32::MAX;
            assert_eq!(r.key(), key, "writing the entry left the key alone");
            let (k, e) = r.parts_mut();
            assert_eq!(k, key);
            assert_eq!(e.lru, u32::MAX);
            let e = r.into_entry();
            assert_eq!(e.value.as_str().unwrap().len(), 100);
        }
    }

    #[test]
    fn a_small_key_fits_one_small_block() {
        assert_eq!(size_of::<Entry>(), 32);
        assert!(Record::layout(b"key:000001".len()).size() <= 48);
    }
}
