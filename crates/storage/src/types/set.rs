//! Sets: a sorted integer array while every member is an integer and there
//! are at most `set-max-intset-entries` (Redis's intset, replies in
//! ascending order), a hash table otherwise.

use bytes::Bytes;

use super::field::Field;
use super::{scan_indexed, IndexSet, Thresholds};

#[derive(Debug, Clone, PartialEq)]
pub enum Set {
    Intset(Vec<i64>),
    /// Boxed: an intset (the common small case) then costs 24 bytes, not 64.
    Table(Box<IndexSet<Field>>),
}

/// `setTypeCreate`: the encoding a new set starts with, given its first member.
pub fn new_for(member: &[u8]) -> Set {
    if ferrokv_resp::parse_i64(member).is_some() {
        Set::Intset(Vec::new())
    } else {
        Set::Table(Box::default())
    }
}

fn format(n: i64) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes())
}

impl Set {
    /// Its blocks (the first `samples` members standing for the rest).
    pub(crate) fn heap_bytes(&self, samples: usize) -> usize {
        use crate::memory::{block, extrapolate, sample_len};
        match self {
            Set::Intset(v) => block(v.capacity() * std::mem::size_of::<i64>()),
            Set::Table(t) => {
                let seen = sample_len(samples, t.len());
                let sampled: usize = t.iter().take(seen).map(Field::heap_bytes).sum();
                block(std::mem::size_of::<IndexSet<Field>>())
                    + super::table_bytes(t.capacity(), std::mem::size_of::<Field>())
                    + extrapolate(sampled, seen, t.len())
            }
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(v) => v.len(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn convert(&mut self) {
        if let Set::Intset(v) = self {
            let t: IndexSet<Field> = v.iter().map(|n| Field::from(&format(*n)[..])).collect();
            *self = Set::Table(Box::new(t));
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => ferrokv_resp::parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Set::Table(t) => t.contains(member),
        }
    }

    /// Adds a member; true if it was new.
    pub fn add(&mut self, member: &[u8], limits: &Thresholds) -> bool {
        if let Set::Intset(v) = self {
            match ferrokv_resp::parse_i64(member) {
                Some(n) => {
                    let Err(at) = v.binary_search(&n) else { return false };
                    v.insert(at, n);
                    if v.len() > limits.intset_entries {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        match self {
            Set::Table(t) => t.insert(Field::from(member)),
            Set::Intset(_) => unreachable!("converted above"),
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Intset(v) => match ferrokv_resp::parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(i)) => {
                    v.remove(i);
                    true
                }
                _ => false,
            },
            Set::Table(t) => t.swap_remove(member),
        }
    }

    /// Members in the encoding's order.
    pub fn members(&self) -> Vec<Bytes> {
        match self {
            Set::Intset(v) => v.iter().map(|n| format(*n)).collect(),
            Set::Table(t) => t.iter().map(|m| Bytes::copy_from_slice(m)).collect(),
        }
    }

    pub fn member_at(&self, i: usize) -> Option<Bytes> {
        match self {
            Set::Intset(v) => v.get(i).map(|n| format(*n)),
            Set::Table(t) => t.get_index(i).map(|m| Bytes::copy_from_slice(m)),
        }
    }

    /// Removes and returns the member at index `i`.
    pub fn take_at(&mut self, i: usize) -> Option<Bytes> {
        match self {
            Set::Intset(v) => (i < v.len()).then(|| format(v.remove(i))),
            Set::Table(t) => t.swap_remove_index(i).map(|m| Bytes::copy_from_slice(&m)),
        }
    }

    /// One SSCAN step: an intset is returned whole with cursor 0, as Redis.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Intset(v) => {
                v.iter().for_each(|n| visit(itoa::Buffer::new().format(*n).as_bytes()));
                0
            }
            Set::Table(t) => scan_indexed(t.len(), cursor, count, |i| visit(t.get_index(i).expect("index below len"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Adds and removes agree with a model set in both encodings; the
        /// intset stays sorted and converts at the threshold.
        #[test]
        fn agrees_with_a_model(ops in prop::collection::vec((any::<bool>(), prop_oneof!["-?[0-9]{1,3}", "[a-c]"]), 0..200), limit in 1usize..20) {
            let limits = Thresholds { intset_entries: limit, ..Thresholds::default() };
            let mut s: Option<Set> = None;
            let mut model = std::collections::BTreeSet::new();
            for (add, m) in ops {
                let set = s.get_or_insert_with(|| new_for(m.as_bytes()));
                if add {
                    prop_assert_eq!(set.add(m.as_bytes(), &limits), model.insert(m.clone().into_bytes()));
                } else {
                    prop_assert_eq!(set.remove(m.as_bytes()), model.remove(m.as_bytes()));
                }
                if let Set::Intset(v) = set {
                    prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(v.len() <= limit);
                }
                let mut got: Vec<Vec<u8>> = set.members().iter().map(|b| b.to_vec()).collect();
                got.sort();
                prop_assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
            }
        }
    }
}
