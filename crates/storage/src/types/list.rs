//! Lists as Redis 7.0 stores them: a quicklist, that is a sequence of
//! listpack nodes, each holding as many elements as `list-max-listpack-size`
//! allows (negative: a byte budget per node, -2 = 8 KB; positive: a count).
//! Pushes and pops at either end touch one node; small elements cost a few
//! bytes each instead of an allocation.

use std::borrow::Cow;
use std::collections::VecDeque;

use bytes::Bytes;
use ferrokv_util::lzf;

use super::listpack::Listpack;

/// Node byte budgets for fill -1 … -5 (Redis's `optimization_level`).
const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A node never grows past this by count alone (Redis's SIZE_SAFETY_LIMIT).
const SAFETY_LIMIT: usize = 8192;
/// Smaller nodes are not worth compressing (MIN_COMPRESS_BYTES), nor is a
/// compression that saves less than this (MIN_COMPRESS_IMPROVE).
const MIN_COMPRESS_BYTES: usize = 48;
const MIN_COMPRESS_IMPROVE: usize = 8;

/// How a list's nodes are shaped: `list-max-listpack-size` (`fill`) and
/// `list-compress-depth` (`depth`: plain nodes kept at each end, 0 for
/// none compressed), both fixed when the list is created, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub fill: i64,
    pub depth: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape { fill: -2, depth: 0 }
    }
}

/// A quicklist node: a listpack, LZF-compressed while it lies deeper than
/// `depth` nodes from both ends (Redis's node `encoding`).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Plain(Listpack),
    Compressed { lzf: Box<[u8]>, raw_len: usize, count: usize },
}

impl Node {
    fn len(&self) -> usize {
        match self {
            Node::Plain(lp) => lp.len(),
            Node::Compressed { count, .. } => *count,
        }
    }

    /// The listpack, decompressed into a copy when compressed.
    fn plain(&self) -> Cow<'_, Listpack> {
        match self {
            Node::Plain(lp) => Cow::Borrowed(lp),
            Node::Compressed { lzf, raw_len, .. } => {
                let raw = lzf::decompress(lzf, *raw_len).expect("a node compressed here decompresses");
                Cow::Owned(Listpack::from_raw(raw.into_boxed_slice()))
            }
        }
    }

    /// The listpack, decompressed in place when compressed.
    fn plain_mut(&mut self) -> &mut Listpack {
        if let Node::Compressed { .. } = self {
            *self = Node::Plain(self.plain().into_owned());
        }
        match self {
            Node::Plain(lp) => lp,
            Node::Compressed { .. } => unreachable!("decompressed above"),
        }
    }

    /// Compresses the node when that is worth it (quicklistCompressNode).
    fn compress(&mut self) {
        let Node::Plain(lp) = self else { return };
        let raw = lp.raw();
        if raw.len() < MIN_COMPRESS_BYTES {
            return;
        }
        if let Some(c) = lzf::compress(raw).filter(|c| c.len() + MIN_COMPRESS_IMPROVE < raw.len()) {
            *self = Node::Compressed { lzf: c.into_boxed_slice(), raw_len: raw.len(), count: lp.len() };
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Node::Plain(lp) => lp.heap_bytes(),
            Node::Compressed { lzf, .. } => crate::memory::block(lzf.len()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    shape: Shape,
}

impl Default for List {
    fn default() -> Self {
        List::new(Shape::default())
    }
}

impl List {
    /// An empty list whose nodes follow `shape` (the configuration at
    /// creation, as in Redis).
    pub fn new(shape: Shape) -> List {
        List { nodes: VecDeque::new(), len: 0, shape }
    }

    pub fn from_items<I, T>(shape: Shape, items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut l = List::new(Shape { depth: 0, ..shape });
        for i in items {
            l.push(false, i.as_ref());
        }
        l.shape.depth = shape.depth;
        l.compress_inner();
        l
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Quicklist nodes (what freeing the list walks).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The node vector and the nodes (the first `samples` standing for
    /// the rest).
    pub(crate) fn heap_bytes(&self, samples: usize) -> usize {
        use crate::memory::{block, extrapolate, sample_len};
        let seen = sample_len(samples, self.nodes.len());
        let sampled: usize = self.nodes.iter().take(seen).map(Node::heap_bytes).sum();
        block(self.nodes.capacity() * std::mem::size_of::<Node>()) + extrapolate(sampled, seen, self.nodes.len())
    }

    /// Whether node `i` lies deeper than `depth` from both ends.
    fn is_inner(&self, i: usize) -> bool {
        let depth = self.shape.depth;
        depth > 0 && i >= depth && i + depth < self.nodes.len()
    }

    /// Compresses every inner node (after a rebuild).
    fn compress_inner(&mut self) {
        for i in 0..self.nodes.len() {
            if self.is_inner(i) {
                self.nodes[i].compress();
            }
        }
    }

    /// Restores the invariant after nodes came or went at the ends: the
    /// `depth` nodes at each end plain, the next ones inward compressed
    /// (Redis's __quicklistCompress walks the same `depth` nodes).
    fn settle_ends(&mut self) {
        let (depth, n) = (self.shape.depth, self.nodes.len());
        if depth == 0 {
            return;
        }
        for i in (0..depth.min(n)).chain(n.saturating_sub(depth)..n) {
            if matches!(self.nodes[i], Node::Compressed { .. }) {
                self.nodes[i].plain_mut();
            }
        }
        for i in [depth, n.saturating_sub(depth + 1)] {
            if self.is_inner(i) {
                self.nodes[i].compress();
            }
        }
    }

    /// Whether `node` may take one more element of `size` bytes.
    fn allows(fill: i64, node: &Listpack, size: usize) -> bool {
        let new_bytes = node.end() + size + 11;
        if fill >= 0 {
            let max = fill.max(1) as usize;
            node.len() < max && new_bytes <= SAFETY_LIMIT
        } else {
            let level = ((-fill - 1) as usize).min(LEVELS.len() - 1);
            new_bytes <= LEVELS[level] || node.is_empty()
        }
    }

    /// The plain node at the head (`front`) or the tail: the ends are never
    /// compressed, as `depth` is at least one whenever anything is.
    fn end_node(&mut self, front: bool) -> Option<&mut Listpack> {
        let node = if front { self.nodes.front_mut() } else { self.nodes.back_mut() }?;
        Some(node.plain_mut())
    }

    /// Pushes at the head (`front`) or the tail.
    pub fn push(&mut self, front: bool, v: &[u8]) {
        let fill = self.shape.fill;
        let fits = self.end_node(front).is_some_and(|n| Self::allows(fill, n, v.len()));
        if !fits {
            if front {
                self.nodes.push_front(Node::Plain(Listpack::new()));
            } else {
                self.nodes.push_back(Node::Plain(Listpack::new()));
            }
            self.settle_ends();
        }
        let node = self.end_node(front).expect("a node exists");
        if front {
            node.insert(0, v);
        } else {
            node.push(v);
        }
        self.len += 1;
    }

    pub fn pop(&mut self, front: bool) -> Option<Bytes> {
        let node = self.end_node(front)?;
        let pos = if front { 0 } else { node.iter_pos().last().map(|(p, _)| p)? };
        let v = Bytes::copy_from_slice(node.get(pos));
        node.remove(pos, 1);
        if node.is_empty() {
            if front {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
            self.settle_ends();
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
        let pos = self.nodes[node_idx].plain().iter_pos().nth(i - skipped).map(|(p, _)| p).expect("index within node");
        (node_idx, pos)
    }

    pub fn get(&self, i: usize) -> Option<Bytes> {
        (i < self.len).then(|| {
            let (n, pos) = self.locate(i);
            Bytes::copy_from_slice(self.nodes[n].plain().get(pos))
        })
    }

    pub fn set(&mut self, i: usize, v: &[u8]) {
        if i < self.len {
            let (n, pos) = self.locate(i);
            self.nodes[n].plain_mut().replace(pos, v);
            if self.is_inner(n) {
                self.nodes[n].compress();
            }
        }
    }

    /// Every element, in order (inner nodes decompressed one at a time).
    pub fn iter(&self) -> impl Iterator<Item = Bytes> + '_ {
        self.nodes.iter().flat_map(|n| n.plain().iter().map(Bytes::copy_from_slice).collect::<Vec<_>>())
    }

    /// Visits elements `start..=end` (already normalized) in place; nodes
    /// wholly before `start` are skipped without being decompressed.
    pub fn visit(&self, start: usize, end: usize, mut f: impl FnMut(&[u8])) {
        let (mut first, mut left) = (0, end + 1 - start);
        for node in &self.nodes {
            let n = node.len();
            if first + n > start {
                let lp = node.plain();
                for v in lp.iter().skip(start.saturating_sub(first)).take(left) {
                    f(v);
                    left -= 1;
                }
                if left == 0 {
                    break;
                }
            }
            first += n;
        }
    }

    /// Elements `start..=end` (already normalized).
    pub fn range(&self, start: usize, end: usize) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(end + 1 - start);
        self.visit(start, end, |v| out.push(Bytes::copy_from_slice(v)));
        out
    }

    pub fn to_vec(&self) -> Vec<Bytes> {
        self.iter().collect()
    }

    /// Replaces the contents (LINSERT, LREM, LTRIM rebuild: O(n), as those
    /// commands are in Redis).
    pub fn replace_all(&mut self, items: Vec<Bytes>) {
        *self = List::from_items(self.shape, items);
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
        fn agrees_with_a_deque(ops in prop::collection::vec((0u8..5, any::<bool>(), prop::collection::vec(any::<u8>(), 0..600), any::<prop::sample::Index>()), 0..300), fill in prop_oneof![Just(-1i64), Just(-2), Just(1), Just(3)], depth in 0usize..3) {
            let mut l = List::new(Shape { fill, depth });
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
            prop_assert!(l.compressed_as_it_should());
            if !model.is_empty() {
                let (s, e) = (model.len() / 3, model.len() - 1);
                prop_assert_eq!(l.range(s, e).iter().map(|b| b.to_vec()).collect::<Vec<_>>(), model.iter().skip(s).cloned().collect::<Vec<_>>());
            }
        }
    }

    impl List {
        /// The invariant: the ends plain, inner nodes compressed unless
        /// too small or incompressible.
        fn compressed_as_it_should(&self) -> bool {
            (0..self.nodes.len()).all(|i| match &self.nodes[i] {
                Node::Compressed { .. } => self.is_inner(i),
                Node::Plain(lp) => {
                    !self.is_inner(i) || {
                        let mut n = Node::Plain(lp.clone());
                        n.compress();
                        matches!(n, Node::Plain(_))
                    }
                }
            })
        }
    }

    #[test]
    fn inner_nodes_are_compressed_and_read_back() {
        let mut l = List::new(Shape { fill: 4, depth: 1 });
        for i in 0..100 {
            l.push(false, format!("element number {i} with some repetition repetition").as_bytes());
        }
        let compressed = l.nodes.iter().filter(|n| matches!(n, Node::Compressed { .. })).count();
        assert_eq!(compressed, l.nodes.len() - 2, "every node but the two ends");
        assert_eq!(l.get(50).unwrap(), Bytes::from("element number 50 with some repetition repetition"));
        l.set(50, b"x");
        assert_eq!(l.get(50).unwrap(), Bytes::from("x"));
        assert!(l.compressed_as_it_should());
        let plain = List::from_items(Shape { fill: 4, depth: 0 }, l.to_vec());
        assert!(l.heap_bytes(0) < plain.heap_bytes(0));
    }
}
