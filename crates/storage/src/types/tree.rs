//! An order-statistic B+tree over (score, member), for large sorted sets:
//! sorted leaf blocks of up to [`FANOUT`] elements, internal nodes that keep
//! each child's element count and largest key. Insert, remove, rank and
//! select are O(log n) with few cache misses (a leaf is one array), and
//! in-order walks from any rank read leaves in sequence.

use std::cmp::Ordering;

use bytes::Bytes;

/// Most elements in a leaf, and most children in an internal node.
const FANOUT: usize = 64;

type Item = (f64, Bytes);

#[derive(Debug, Clone)]
enum Node {
    Leaf(Vec<Item>),
    Internal { children: Vec<Node>, counts: Vec<usize>, maxes: Vec<Item> },
}

#[derive(Debug, Clone)]
pub struct Tree {
    root: Node,
    len: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree { root: Node::Leaf(Vec::new()), len: 0 }
    }
}

/// Sorted-set order: by score, then by member bytes.
pub fn cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then_with(|| a.1.cmp(b.1))
}

fn key(i: &Item) -> (f64, &[u8]) {
    (i.0, &i.1)
}

impl Node {
    fn last(&self) -> Option<&Item> {
        match self {
            Node::Leaf(v) => v.last(),
            Node::Internal { maxes, .. } => maxes.last(),
        }
    }

    /// Inserts; returns a new right sibling when the node split.
    fn insert(&mut self, item: Item) -> Option<Node> {
        match self {
            Node::Leaf(v) => {
                let at = v.partition_point(|x| cmp(key(x), key(&item)).is_lt());
                v.insert(at, item);
                (v.len() > FANOUT).then(|| Node::Leaf(v.split_off(v.len() / 2)))
            }
            Node::Internal { children, counts, maxes } => {
                // The first child whose largest key is not below the item.
                let i = maxes.partition_point(|m| cmp(key(m), key(&item)).is_lt()).min(children.len() - 1);
                if cmp(key(&item), key(&maxes[i])).is_gt() {
                    maxes[i] = item.clone();
                }
                counts[i] += 1;
                let sibling = children[i].insert(item)?;
                // The child split: fix its summary and add the sibling.
                let (c, m) = (children[i].count(), children[i].last().cloned().expect("non-empty after split"));
                counts[i] = c;
                maxes[i] = m;
                let (sc, sm) = (sibling.count(), sibling.last().cloned().expect("non-empty sibling"));
                children.insert(i + 1, sibling);
                counts.insert(i + 1, sc);
                maxes.insert(i + 1, sm);
                if children.len() > FANOUT {
                    let half = children.len() / 2;
                    return Some(Node::Internal { children: children.split_off(half), counts: counts.split_off(half), maxes: maxes.split_off(half) });
                }
                None
            }
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Internal { counts, .. } => counts.iter().sum(),
        }
    }

    /// Removes the exact item; true if found. Empty children are dropped.
    fn remove(&mut self, k: (f64, &[u8])) -> bool {
        match self {
            Node::Leaf(v) => match v.binary_search_by(|x| cmp(key(x), k)) {
                Ok(i) => {
                    v.remove(i);
                    true
                }
                Err(_) => false,
            },
            Node::Internal { children, counts, maxes } => {
                let i = maxes.partition_point(|m| cmp(key(m), k).is_lt());
                if i == children.len() || !children[i].remove(k) {
                    return false;
                }
                counts[i] -= 1;
                if counts[i] == 0 {
                    children.remove(i);
                    counts.remove(i);
                    maxes.remove(i);
                } else if cmp(key(&maxes[i]), k).is_eq() {
                    maxes[i] = children[i].last().cloned().expect("non-empty child");
                }
                true
            }
        }
    }

    fn rank_where(&self, at_or_after: &impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            Node::Leaf(v) => v.partition_point(|x| !at_or_after(x.0, &x.1)),
            Node::Internal { children, counts, maxes } => {
                let mut rank = 0;
                for (i, m) in maxes.iter().enumerate() {
                    if at_or_after(m.0, &m.1) {
                        return rank + children[i].rank_where(at_or_after);
                    }
                    rank += counts[i];
                }
                rank
            }
        }
    }

    /// Visits items in order from rank `skip` on until `visit` says stop
    /// (false); returns false once stopped.
    fn visit(&self, mut skip: usize, visit: &mut impl FnMut(f64, &Bytes) -> bool) -> bool {
        match self {
            Node::Leaf(v) => v.iter().skip(skip).all(|(s, m)| visit(*s, m)),
            Node::Internal { children, counts, .. } => {
                for (child, &c) in children.iter().zip(counts) {
                    if skip >= c {
                        skip -= c;
                        continue;
                    }
                    if !child.visit(skip, visit) {
                        return false;
                    }
                    skip = 0;
                }
                true
            }
        }
    }
}

impl Tree {
    /// The nodes' blocks (not the members' bytes, which the set's table
    /// shares and counts).
    pub(crate) fn heap_bytes(&self) -> usize {
        fn node(n: &Node) -> usize {
            use crate::memory::block;
            use std::mem::size_of;
            match n {
                Node::Leaf(v) => block(v.capacity() * size_of::<Item>()),
                Node::Internal { children, counts, maxes } => {
                    block(children.capacity() * size_of::<Node>())
                        + block(counts.capacity() * size_of::<usize>())
                        + block(maxes.capacity() * size_of::<Item>())
                        + children.iter().map(node).sum::<usize>()
                }
            }
        }
        node(&self.root)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts a (score, member) that is not present.
    pub fn insert(&mut self, score: f64, member: Bytes) {
        if let Some(sibling) = self.root.insert((score, member)) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let (lc, lm) = (left.count(), left.last().cloned().expect("non-empty"));
            let (rc, rm) = (sibling.count(), sibling.last().cloned().expect("non-empty"));
            self.root = Node::Internal { children: vec![left, sibling], counts: vec![lc, rc], maxes: vec![lm, rm] };
        }
        self.len += 1;
    }

    /// Removes the exact (score, member); true if it was there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let found = self.root.remove((score, member));
        if found {
            self.len -= 1;
            // Collapse a root left with one child.
            while let Node::Internal { children, .. } = &mut self.root {
                if children.len() != 1 {
                    break;
                }
                let only = children.pop().expect("one child");
                self.root = only;
            }
            if self.len == 0 {
                self.root = Node::Leaf(Vec::new());
            }
        }
        found
    }

    /// How many elements sort before the first one for which `at_or_after`
    /// holds (a monotone predicate over the order).
    pub fn rank_where(&self, at_or_after: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.root.rank_where(&at_or_after)
    }

    /// Elements from rank `start` in order (at most `count`).
    pub fn walk(&self, start: usize, count: usize) -> Vec<(Bytes, f64)> {
        let mut out = Vec::with_capacity(count.min(self.len.saturating_sub(start)));
        self.visit_from(start, |s, m| {
            if out.len() >= count {
                return false;
            }
            out.push((m.clone(), s));
            true
        });
        out
    }

    /// Visits elements in order from rank `start` until `visit` returns
    /// false, without copying them (GEOSEARCH reads score ranges so).
    pub fn visit_from(&self, start: usize, mut visit: impl FnMut(f64, &Bytes) -> bool) {
        self.root.visit(start, &mut visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Thousands of elements force internal splits and emptied children;
    /// ranks, walks and removals agree with a BTreeSet throughout.
    #[test]
    fn deep_trees_agree_with_a_btreeset() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut t = Tree::default();
        let mut model = std::collections::BTreeSet::new();
        for step in 0..60_000 {
            let score = rng.random_range(0..500) as i64;
            let member = format!("m{}", rng.random_range(0..200));
            let k = (score, member.clone());
            if rng.random_range(0..3) > 0 {
                if model.insert(k) {
                    t.insert(score as f64, Bytes::from(member));
                }
            } else {
                assert_eq!(t.remove(score as f64, member.as_bytes()), model.remove(&k));
            }
            assert_eq!(t.len(), model.len());
            if step % 5000 == 0 {
                let all: Vec<(i64, String)> = t.walk(0, usize::MAX).into_iter().map(|(m, s)| (s as i64, String::from_utf8(m.to_vec()).unwrap())).collect();
                assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
                let start = rng.random_range(0..model.len().max(1));
                let got: Vec<i64> = t.walk(start, 50).into_iter().map(|(_, s)| s as i64).collect();
                let want: Vec<i64> = model.iter().skip(start).take(50).map(|(s, _)| *s).collect();
                assert_eq!(got, want);
                let pivot = rng.random_range(0..500) as f64;
                assert_eq!(t.rank_where(|s, _| s >= pivot), model.iter().filter(|(s, _)| (*s as f64) < pivot).count());
            }
        }
        assert!(model.len() > 4096 * 2, "the test must reach internal splits");
        for (s, m) in model.iter() {
            assert!(t.remove(*s as f64, m.as_bytes()));
        }
        assert!(t.is_empty());
    }

    proptest! {
        #[test]
        fn agrees_with_a_sorted_vec(ops in prop::collection::vec((any::<bool>(), -5i32..5, 0u8..8), 0..300), start in 0usize..20, count in 0usize..20) {
            let mut t = Tree::default();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for (insert, score, m) in ops {
                let (score, member) = (score as f64, vec![b'a' + m]);
                let present = model.iter().any(|(s, x)| *s == score && *x == member);
                if insert && !present {
                    t.insert(score, Bytes::from(member.clone()));
                    model.push((score, member));
                    model.sort_by(|a, b| cmp((a.0, &a.1), (b.0, &b.1)));
                } else if !insert {
                    prop_assert_eq!(t.remove(score, &member), present);
                    model.retain(|(s, x)| !(*s == score && *x == member));
                }
                prop_assert_eq!(t.len(), model.len());
            }
            let got: Vec<(f64, Vec<u8>)> = t.walk(start, count).into_iter().map(|(m, s)| (s, m.to_vec())).collect();
            let want: Vec<(f64, Vec<u8>)> = model.iter().skip(start).take(count).cloned().collect();
            prop_assert_eq!(got, want);
            let r = t.rank_where(|s, _| s >= 0.0);
            prop_assert_eq!(r, model.iter().filter(|(s, _)| *s < 0.0).count());
        }
    }
}
