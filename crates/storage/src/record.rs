//! A key's record: its [`Entry`], its position in the shard's table and its
//! key bytes in one allocation.
//!
//! Why: with a million small keys, what a key costs beyond its bytes is
//! what decides memory. Redis pays a dictEntry, an sds key and an embstr
//! object (three allocations). A record is one allocation: the 32-byte
//! entry (whose small string values are inline), the position, the key
//! length and the key, so a key of up to 11 bytes (`key:1000000`) with a
//! value of up to 22 takes one 48-byte jemalloc block.
//!
//! Why the position: the table's hash index holds an [`Alias`] of each
//! record's block, so a lookup reaches the key it compares in one hop
//! (through a position, it took two dependent cache misses: the vector's
//! slot, then the block). Removing a record moves the last one into its
//! slot in the vector, and the position kept here is how the table knows
//! which slot a found record is in.
//!
//! Layout: `[Entry][position: u32][key_len: u8][key bytes]`, aligned as
//! `Entry`; a key of 255 bytes or more has `u8::MAX` there and its real
//! length in the next four bytes (unaligned). One byte of length, not two,
//! is what puts an 11-byte key in the 48-byte class rather than the 64. No `repr(C)` struct describes
//! the whole block: fields are reached by offset only.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::mem::{align_of, size_of, ManuallyDrop};
use std::ptr::NonNull;

use crate::shard::Entry;

const POS_AT: usize = size_of::<Entry>();
const LEN_AT: usize = POS_AT + size_of::<u32>();
/// Where the key starts when its length fits the short field.
const SHORT_KEY_AT: usize = LEN_AT + size_of::<u8>();
/// The short field's value that says "the length follows in 4 bytes".
const LONG: u8 = u8::MAX;

/// Where a key of `len` bytes starts.
const fn key_at(len: usize) -> usize {
    if len < LONG as usize {
        SHORT_KEY_AT
    } else {
        SHORT_KEY_AT + size_of::<u32>()
    }
}

pub(crate) struct Record(NonNull<u8>);

// SAFETY: a record owns its entry and bytes exclusively (like a
// `Box<(Entry, u32, [u8])>`), and `Entry` is itself Send and Sync.
unsafe impl Send for Record {}
unsafe impl Sync for Record {}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Entry>();
    // The position field needs no padding after the entry.
    assert!(POS_AT.is_multiple_of(align_of::<u32>()));
};

/// A second pointer to a record's block, held by the table's hash index.
///
/// It is valid exactly as long as the [`Record`] it was taken from: the
/// table removes an alias from its index before it drops or frees the
/// record, and gives out what an alias reaches only through `&self` or
/// `&mut self` of the table that owns both, so the usual borrow rules hold
/// for the entry as if it were reached through the vector.
#[derive(Clone, Copy)]
pub(crate) struct Alias(NonNull<u8>);

// SAFETY: see `Record`; an alias is only dereferenced under the table's borrows.
unsafe impl Send for Alias {}
unsafe impl Sync for Alias {}

impl Alias {
    /// # Safety
    /// The record this alias was taken from is alive, and not borrowed
    /// mutably for `'a`.
    pub(crate) unsafe fn key<'a>(self) -> &'a [u8] {
        unsafe { block_key(self.0) }
    }

    /// # Safety
    /// As [`Alias::key`].
    pub(crate) unsafe fn position(self) -> usize {
        unsafe { self.0.as_ptr().add(POS_AT).cast::<u32>().read() as usize }
    }

    /// # Safety
    /// As [`Alias::key`].
    pub(crate) unsafe fn entry<'a>(self) -> &'a Entry {
        unsafe { &*self.0.as_ptr().cast::<Entry>() }
    }

    /// # Safety
    /// The record is alive and nothing else borrows it for `'a`.
    pub(crate) unsafe fn parts_mut<'a>(self) -> (&'a [u8], &'a mut Entry) {
        unsafe { block_parts_mut(self.0) }
    }
}

/// # Safety
/// `block` is a live record's block.
unsafe fn block_key_len(block: NonNull<u8>) -> usize {
    unsafe {
        let short = block.as_ptr().add(LEN_AT).read();
        if short < LONG {
            short as usize
        } else {
            block.as_ptr().add(SHORT_KEY_AT).cast::<u32>().read_unaligned() as usize
        }
    }
}

/// # Safety
/// As [`block_key_len`].
unsafe fn block_key<'a>(block: NonNull<u8>) -> &'a [u8] {
    unsafe {
        let len = block_key_len(block);
        std::slice::from_raw_parts(block.as_ptr().add(key_at(len)), len)
    }
}

/// # Safety
/// As [`block_key_len`], and nothing else borrows the block for `'a`.
unsafe fn block_parts_mut<'a>(block: NonNull<u8>) -> (&'a [u8], &'a mut Entry) {
    // The entry is bytes [0, POS_AT), the key lies past LEN_AT: disjoint.
    unsafe { (block_key(block), &mut *block.as_ptr().cast::<Entry>()) }
}

impl Record {
    fn layout(key_len: usize) -> Layout {
        Layout::from_size_align(key_at(key_len) + key_len, align_of::<Entry>()).expect("a key length fits a layout")
    }

    /// Bytes of the block holding a key of `key_len` bytes.
    pub(crate) fn size(key_len: usize) -> usize {
        Self::layout(key_len).size()
    }

    pub(crate) fn new(key: &[u8], entry: Entry, position: usize) -> Record {
        let len = u32::try_from(key.len()).expect("keys are at most 512 MB (proto-max-bulk-len)");
        let layout = Self::layout(key.len());
        // SAFETY: the block is `layout` bytes aligned for `Entry`; each write
        // stays inside it and matches the alignment of what it writes (the
        // long length is written unaligned).
        unsafe {
            let Some(block) = NonNull::new(alloc(layout)) else { handle_alloc_error(layout) };
            block.as_ptr().cast::<Entry>().write(entry);
            let record = Record(block);
            record.set_position(position);
            let p = block.as_ptr();
            if key.len() < LONG as usize {
                p.add(LEN_AT).write(len as u8);
            } else {
                p.add(LEN_AT).write(LONG);
                p.add(SHORT_KEY_AT).cast::<u32>().write_unaligned(len);
            }
            std::ptr::copy_nonoverlapping(key.as_ptr(), p.add(key_at(key.len())), key.len());
            record
        }
    }

    /// A hint to load the block into the cache; never faults.
    pub(crate) fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch reads nothing architecturally and cannot fault;
        // the pointer is a live block anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(self.0.as_ptr().cast());
        }
    }

    pub(crate) fn alias(&self) -> Alias {
        Alias(self.0)
    }

    /// Records the record's slot in the table's vector after a move.
    pub(crate) fn set_position(&self, position: usize) {
        let position = u32::try_from(position).expect("fewer than 2^32 keys per shard");
        // SAFETY: the position field is inside the block and aligned; no
        // reference to it is ever handed out (it is only read by value).
        unsafe { self.0.as_ptr().add(POS_AT).cast::<u32>().write(position) }
    }

    fn key_len(&self) -> usize {
        // SAFETY: written by `new`, never changed.
        unsafe { block_key_len(self.0) }
    }

    pub(crate) fn key(&self) -> &[u8] {
        // SAFETY: the block is alive while `self` is.
        unsafe { block_key(self.0) }
    }

    pub(crate) fn entry(&self) -> &Entry {
        // SAFETY: an initialised, aligned `Entry` sits at the start.
        unsafe { &*self.0.as_ptr().cast::<Entry>() }
    }

    /// The key and the entry at once (they never overlap).
    pub(crate) fn parts_mut(&mut self) -> (&[u8], &mut Entry) {
        // SAFETY: `&mut self` borrows the whole block.
        unsafe { block_parts_mut(self.0) }
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
        let long = vec![9u8; 70_000];
        for key in [&b""[..], b"k", b"key:000001", &[7u8; 254], &[7u8; 255], &[7u8; 1000], &[8u8; 65_535], &long] {
            let mut r = Record::new(key, Entry::new(Value::Str(Str::from_arg(b"val")), 5), 3);
            assert_eq!(r.key(), key);
            r.parts_mut().1.value = Value::Str(Str::from_arg(&[b'x'; 100]));
            r.parts_mut().1.lru = u32::MAX;
            assert_eq!(r.key(), key, "writing the entry left the key alone");
            // SAFETY: `r` is alive and not borrowed.
            assert_eq!(unsafe { r.alias().position() }, 3);
            r.set_position(u32::MAX as usize);
            assert_eq!(r.key(), key, "moving the record left the key alone");
            assert_eq!(unsafe { (r.alias().position(), r.alias().key()) }, (u32::MAX as usize, key));
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
        assert!(Record::layout(b"key:1000000".len()).size() <= 48);
    }
}
