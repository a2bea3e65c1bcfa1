//! Lists as Redis 7.0 stores them: a quicklist, that is a sequence of
//! listpack nodes, each holding as many elements as `list-max-listpack-size`
//! allows (negative: a byte budget per node, -2 = 8 KB; positive: a count).
//! Pushes and pops at either end touch one node; small elements cost a few
//! bytes each instead of an allocation.

use std::collections::VecDeque;

use bytes::Bytes;

use super::listpack::Listpack;

/// Node byte budgets for fill -1 … -5 (Redis's `optimization_level`).
const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A node never grows past this by count alone (Redis's SIZE_SAFETY_LIMIT).
const SAFETY_LIMIT: usize = 8192;

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    nodes: VecDeque<Listpack>,
    len: usize,
    fill: i64,
}

impl Default for List {
    fn default() -> Self {
        List::new(-2)
    }
}

impl List {
    /// An empty list whose nodes follow `fill` (`list-max-listpack-size`
    /// at creation, as in Redis).
    pub fn new(fill: i64) -> List {
        List { nodes: VecDeque::new(), len: 0, fill }
    }

    pub fn from_items<I, T>(fill: i64, items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut l = List::new(fill);
        for i in items {
            l.push(false, i.as_ref());
        }
        l
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The node vector and the nodes (the first `samples` standing for
    /// the rest).
    pub(crate) fn heap_bytes(&self, samples: usize) -> usize {
        use crate::memory::{block, extrapolate, sample_len};
        let seen = sample_len(samples, self.nodes.len());
        let sampled: usize = self.nodes.iter().take(seen).map(Listpack::heap_bytes).sum();
        block(self.nodes.capacity() * std::mem::size_of::<Listpack>()) + extrapolate(sampled, seen, self.nodes.len())
    }

    /// Whether `node` may take one more element of `size` bytes.
    fn allows(&self, node: &Listpack, size: usize) -> bool {
        let new_bytes = node.end() + size + 11;
        if self.fill >= 0 {
            let max = self.fill.max(1) as usize;
            node.len() < max && new_bytes <= SAFETY_LIMIT
        } else {
            let level = ((-self.fill - 1) as usize).min(LEVELS.len() - 1);
            new_bytes <= LEVELS[level] || node.is_empty()
        }
    }

    /// Pushes at the head (`front`) or the tail.
    pub fn push(&mut self, front: bool, v: &[u8]) {
        let fits = match if front { self.nodes.front() } else { self.nodes.back() } {
            Some(n) => self.allows(n, v.len()),
            None => false,
        };
        if !fits {
            if front {
                self.nodes.push_front(Listpack::new());
            } else {
                self.nodes.push_back(Listpack::new());
            }
        }
        let node = if front { self.nodes.front_mut() } else { self.nodes.back_mut() }.expect("a node exists");
        if front {
            node.insert(0, v);
        } else {
            node.push(v);
        }
        self.len += 1;
    }

    pub fn pop(&mut self, front: bool) -> Option<Bytes> {
        let node = if front { self.nodes.front_mut() } else { self.nodes.back_mut() }?;
        let pos = if front { 0 } else { node.iter_pos().last().map(|(p, _)| p)? };
        let v = Bytes::copy_from_slice(node.get(pos));
        node.remove(pos, 1);
        if node.is_empty() {
            if front {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
        }
        self.len -= 1;
        Some(v)
    }

    /// Resolves a Redis index (negative counts from the end).
    pub fn index(&self, i: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if i < 0 { len + i } else { i };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// (node, position in the node's listpack) of element `i`, walking from
    /// the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        let mut skipped = 0;
        let mut node_idx = 0;
        if i < self.len / 2 {
            for (n, node) in self.nodes.iter().enumerate() {
                if i < skipped + node.len() {
                    node_idx = n;
                    break;
                }
                skipped += node.len();
            }
        } else {
            let mut end = self.len;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                end -= node.len();
                if i >= end {
                    node_idx = n;
                    skipped = end;
                    break;
                }
            }
        }
        let pos = self.nodes[node_idx].iter_pos().nth(i - skipped).map(|(p, _)| p).expect("index within node");
        (node_idx, pos)
    }

    pub fn get(&self, i: usize) -> Option<Bytes> {
        (i < self.len).then(|| {
            let (n, pos) = self.locate(i);
            Bytes::copy_from_slice(self.nodes[n].get(pos))
        })
    }

    pub fn set(&mut self, i: usize, v: &[u8]) {
        if i < self.len {
            let (n, pos) = self.locate(i);
            self.nodes[n].replace(pos, v);
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.nodes.iter().flat_map(|n| n.iter().collect::<Vec<_>>())
    }

    /// Elements `start..=end` (already normalized).
    pub fn range(&self, start: usize, end: usize) -> Vec<Bytes> {
        self.iter().skip(start).take(end + 1 - start).map(Bytes::copy_from_slice).collect()
    }

    pub fn to_vec(&self) -> Vec<Bytes> {
        self.iter().map(Bytes::copy_from_slice).collect()
    }

    /// Replaces the contents (LINSERT, LREM, LTRIM rebuild: O(n), as those
    /// commands are in Redis).
    pub fn replace_all(&mut self, items: Vec<Bytes>) {
        *self = List::from_items(self.fill, items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Pushes, pops, gets and sets agree with a VecDeque, across node
        /// boundaries, for byte budgets and counts.
        #[test]
        fn agrees_with_a_deque(ops in prop::collection::vec((0u8..5, any::<bool>(), prop::collection::vec(any::<u8>(), 0..600), any::<prop::sample::Index>()), 0..300), fill in prop_oneof![Just(-1i64), Just(-2), Just(1), Just(3)]) {
            let mut l = List::new(fill);
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for (op, front, v, idx) in ops {
                match op {
                    0 | 1 => {
                        l.push(front, &v);
                        if front { model.push_front(v) } else { model.push_back(v) }
                    }
                    2 => {
                        let got = l.pop(front).map(|b| b.to_vec());
                        let want = if front { model.pop_front() } else { model.pop_back() };
                        prop_assert_eq!(got, want);
                    }
                    3 if !model.is_empty() => {
                        let i = idx.index(model.len());
                        l.set(i, &v);
                        model[i] = v;
                    }
                    _ if !model.is_empty() => {
                        let i = idx.index(model.len());
                        prop_assert_eq!(l.get(i).map(|b| b.to_vec()), Some(model[i].clone()));
                    }
                    _ => {}
                }
                prop_assert_eq!(l.len(), model.len());
            }
            prop_assert_eq!(l.to_vec().iter().map(|b| b.to_vec()).collect::<Vec<_>>(), model.iter().cloned().collect::<Vec<_>>());
        }
    }
}
