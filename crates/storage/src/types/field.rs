//! A field, member or value inside a large collection: up to 22 bytes
//! inline, longer ones in one exact allocation.
//!
//! Why: a large hash is a hash table of field/value pairs, and as `Bytes`
//! each pair cost two allocations and two dependent cache misses beyond the
//! table's own slot (the entry, then the field's bytes to compare). Most
//! fields and values are short (`element:000000012345`, a counter, a
//! flag), so kept inline they cost neither: the entry holds the bytes the
//! lookup compares, 24 bytes each instead of 32 plus a heap block.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use crate::value::Inline;

/// The inline form is the one a key's small string value uses.
#[derive(Clone)]
pub enum Field {
    Inline(Inline),
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Field>() == 24);

impl Field {
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Field::Inline(_) => 0,
            Field::Heap(b) => crate::memory::block(b.len()),
        }
    }
}

impl From<&[u8]> for Field {
    fn from(b: &[u8]) -> Field {
        match Inline::new(b) {
            Some(inline) => Field::Inline(inline),
            None => Field::Heap(b.into()),
        }
    }
}

impl Deref for Field {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Field::Inline(inline) => inline.bytes(),
            Field::Heap(b) => b,
        }
    }
}

/// Lookups by `&[u8]` need the same hash and equality as the slice's.
impl Borrow<[u8]> for Field {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl Hash for Field {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl PartialEq for Field {
    fn eq(&self, other: &Field) -> bool {
        **self == **other
    }
}

impl Eq for Field {}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        bytes::Bytes::copy_from_slice(self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::INLINE_MAX;
    use std::hash::BuildHasher;

    #[test]
    fn round_trips_and_hashes_as_its_bytes() {
        let s = foldhash::fast::FixedState::with_seed(1);
        for len in [0, 1, 21, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let f = Field::from(&bytes[..]);
            assert_eq!(&*f, &bytes[..]);
            assert_eq!(matches!(f, Field::Inline(_)), len <= INLINE_MAX);
            assert_eq!(s.hash_one(&f), s.hash_one(&bytes[..]), "a map of fields is searched by slices");
            assert_eq!(f, Field::from(&bytes[..]));
        }
    }
}
