//! An order-statistic treap over (score, member), for large sorted sets:
//! insert, remove, rank and select in O(log n) expected, and in-order walks
//! from any rank. Nodes live in an arena (indices, no pointers).

use std::cmp::Ordering;

use bytes::Bytes;
use rand::Rng;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    score: f64,
    member: Bytes,
    left: u32,
    right: u32,
    priority: u32,
    size: u32,
}

#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
}

impl Default for Tree {
    fn default() -> Self {
        Tree { nodes: Vec::new(), free: Vec::new(), root: NIL }
    }
}

/// Sorted-set order: by score, then by member bytes.
pub fn cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then_with(|| a.1.cmp(b.1))
}

impl Tree {
    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    fn size(&self, n: u32) -> u32 {
        if n == NIL {
            0
        } else {
            self.nodes[n as usize].size
        }
    }

    fn fix(&mut self, n: u32) {
        let (l, r) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
        self.nodes[n as usize].size = 1 + self.size(l) + self.size(r);
    }

    fn key(&self, n: u32) -> (f64, &[u8]) {
        let node = &self.nodes[n as usize];
        (node.score, &node.member)
    }

    /// Splits `n` into (< key, >= key), or (<= key, > key) when `inclusive_left`.
    fn split(&mut self, n: u32, key: (f64, &[u8]), inclusive_left: bool) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        let ord = cmp(self.key(n), key);
        let goes_left = ord == Ordering::Less || (inclusive_left && ord == Ordering::Equal);
        if goes_left {
            let right = self.nodes[n as usize].right;
            let (a, b) = self.split(right, key, inclusive_left);
            self.nodes[n as usize].right = a;
            self.fix(n);
            (n, b)
        } else {
            let left = self.nodes[n as usize].left;
            let (a, b) = self.split(left, key, inclusive_left);
            self.nodes[n as usize].left = b;
            self.fix(n);
            (a, n)
        }
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority > self.nodes[b as usize].priority {
            let right = self.nodes[a as usize].right;
            self.nodes[a as usize].right = self.merge(right, b);
            self.fix(a);
            a
        } else {
            let left = self.nodes[b as usize].left;
            self.nodes[b as usize].left = self.merge(a, left);
            self.fix(b);
            b
        }
    }

    /// Inserts a (score, member) that is not present.
    pub fn insert(&mut self, score: f64, member: Bytes) {
        let node = Node { score, member, left: NIL, right: NIL, priority: rand::rng().random(), size: 1 };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let key_member = self.nodes[id as usize].member.clone();
        let (l, r) = self.split(self.root, (score, &key_member), false);
        let l = self.merge(l, id);
        self.root = self.merge(l, r);
    }

    /// Removes the exact (score, member); true if it was there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let (l, rest) = self.split(self.root, (score, member), false);
        let (mid, r) = self.split(rest, (score, member), true);
        let found = mid != NIL;
        if found {
            self.nodes[mid as usize].member = Bytes::new();
            self.free.push(mid);
        }
        self.root = self.merge(l, r);
        found
    }

    /// How many elements sort before the first one for which `at_or_after`
    /// holds (a monotone predicate over the order).
    pub fn rank_where(&self, at_or_after: impl Fn(f64, &[u8]) -> bool) -> usize {
        let (mut n, mut rank) = (self.root, 0usize);
        while n != NIL {
            let node = &self.nodes[n as usize];
            if at_or_after(node.score, &node.member) {
                n = node.left;
            } else {
                rank += self.size(node.left) as usize + 1;
                n = node.right;
            }
        }
        rank
    }

    /// Elements from rank `start` in order (at most `count`).
    pub fn walk(&self, start: usize, count: usize) -> Vec<(Bytes, f64)> {
        let mut out = Vec::with_capacity(count.min(self.len().saturating_sub(start)));
        let mut stack = Vec::new();
        // Descend to the start rank, keeping the path of pending ancestors.
        let (mut n, mut k) = (self.root, start);
        while n != NIL {
            let left = self.size(self.nodes[n as usize].left) as usize;
            if k < left {
                stack.push(n);
                n = self.nodes[n as usize].left;
            } else if k == left {
                stack.push(n);
                break;
            } else {
                k -= left + 1;
                n = self.nodes[n as usize].right;
            }
        }
        while out.len() < count {
            let Some(n) = stack.pop() else { break };
            let node = &self.nodes[n as usize];
            out.push((node.member.clone(), node.score));
            let mut m = node.right;
            while m != NIL {
                stack.push(m);
                m = self.nodes[m as usize].left;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
