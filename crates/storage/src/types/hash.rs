//! Hashes: a listpack of field/value pairs while small (insertion order,
//! as Redis replies), a hash table past `hash-max-listpack-*`.

use super::field::Field;
use super::listpack::Listpack;
use super::{scan_indexed, IndexMap, Thresholds};

#[derive(Debug, Clone, PartialEq)]
pub enum Hash {
    Listpack(Listpack),
    /// Boxed, so a `Hash` is 16 bytes and sits inside its key's value.
    Table(Box<IndexMap<Field, Field>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::new())
    }
}

impl Hash {
    /// Its blocks (the first `samples` fields standing for the rest).
    pub(crate) fn heap_bytes(&self, samples: usize) -> usize {
        use crate::memory::{block, extrapolate, sample_len};
        match self {
            Hash::Listpack(lp) => lp.heap_bytes(),
            Hash::Table(t) => {
                let seen = sample_len(samples, t.len());
                let sampled: usize = t.iter().take(seen).map(|(f, v)| f.heap_bytes() + v.heap_bytes()).sum();
                block(std::mem::size_of::<IndexMap<Field, Field>>())
                    + super::table_bytes(t.capacity(), 2 * std::mem::size_of::<Field>())
                    + extrapolate(sampled, seen, t.len())
            }
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len() / 2,
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position of the field entry in a listpack.
    fn find(lp: &Listpack, field: &[u8]) -> Option<usize> {
        let mut pos = 0;
        while pos < lp.end() {
            if lp.get(pos) == field {
                return Some(pos);
            }
            pos = lp.next(lp.next(pos));
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => Self::find(lp, field).map(|p| lp.get(lp.next(p))),
            Hash::Table(t) => t.get(field).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// `hashTypeTryConversion`: any argument longer than the value limit
    /// turns a listpack into a table before the write.
    pub fn prepare_for<A: AsRef<[u8]>>(&mut self, args: &[A], limits: &Thresholds) {
        if matches!(self, Hash::Listpack(_)) && args.iter().any(|a| a.as_ref().len() > limits.hash_value) {
            self.convert();
        }
    }

    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut t = IndexMap::with_capacity_and_hasher(lp.len() / 2, Default::default());
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                t.insert(Field::from(f), Field::from(v));
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Sets a field; true if it was new. Converts past the entry limit.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Thresholds) -> bool {
        let new = match self {
            Hash::Listpack(lp) => match Self::find(lp, field) {
                Some(p) => {
                    let vp = lp.next(p);
                    lp.replace(vp, value);
                    false
                }
                None => {
                    lp.push(field);
                    lp.push(value);
                    true
                }
            },
            // An existing field keeps its key: only the value is replaced,
            // as Redis's hashTypeSet replaces the value's sds.
            Hash::Table(t) => match t.get_mut(field) {
                Some(v) => {
                    *v = Field::from(value);
                    false
                }
                None => {
                    t.insert(Field::from(field), Field::from(value));
                    true
                }
            },
        };
        if matches!(self, Hash::Listpack(_)) && self.len() > limits.hash_entries {
            self.convert();
        }
        new
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match Self::find(lp, field) {
                Some(p) => {
                    lp.remove(p, 2);
                    true
                }
                None => false,
            },
            Hash::Table(t) => t.swap_remove(field).is_some(),
        }
    }

    /// Field/value pairs in the encoding's order.
    pub fn pairs(&self) -> Vec<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(lp) => {
                let mut out = Vec::with_capacity(lp.len() / 2);
                let mut it = lp.iter();
                while let (Some(f), Some(v)) = (it.next(), it.next()) {
                    out.push((f, v));
                }
                out
            }
            Hash::Table(t) => t.iter().map(|(f, v)| (&f[..], &v[..])).collect(),
        }
    }

    /// The pair at index `i` (0-based, in `pairs` order).
    pub fn pair_at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(_) => self.pairs().get(i).copied(),
            Hash::Table(t) => t.get_index(i).map(|(f, v)| (&f[..], &v[..])),
        }
    }

    /// One HSCAN step: a listpack is returned whole with cursor 0, as Redis.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Listpack(_) => {
                self.pairs().into_iter().for_each(|(f, v)| visit(f, v));
                0
            }
            Hash::Table(t) => scan_indexed(t.len(), cursor, count, |i| {
                let (f, v) = t.get_index(i).expect("index below len");
                visit(f, v)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of sets and removes agrees with a map, in either
        /// encoding, and a listpack keeps insertion order.
        #[test]
        fn agrees_with_a_model(ops in prop::collection::vec((any::<bool>(), 0u8..20, prop::collection::vec(any::<u8>(), 0..80)), 0..200), entries in 1usize..16) {
            let limits = Thresholds { hash_entries: entries, hash_value: 40, ..Thresholds::default() };
            let mut h = Hash::default();
            let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for (set, f, v) in ops {
                let field = vec![f];
                if set {
                    h.prepare_for(&[&field, &v], &limits);
                    let new = h.set(&field, &v, &limits);
                    match model.iter_mut().find(|(k, _)| *k == field) {
                        Some(e) => { prop_assert!(!new); e.1 = v.clone(); }
                        None => { prop_assert!(new); model.push((field, v)); }
                    }
                } else {
                    let removed = h.remove(&field);
                    let before = model.len();
                    model.retain(|(k, _)| *k != field);
                    prop_assert_eq!(removed, before != model.len());
                }
                let mut got: Vec<(Vec<u8>, Vec<u8>)> = h.pairs().into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                if matches!(h, Hash::Listpack(_)) {
                    prop_assert_eq!(&got, &model);
                } else {
                    let mut want = model.clone();
                    got.sort();
                    want.sort();
                    prop_assert_eq!(got, want);
                }
            }
        }
    }
}
