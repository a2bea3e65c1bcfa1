//! Streams (Redis's t_stream.c storage): entries in nodes keyed by their
//! master ID in an ordered map (Redis's radix tree of listpacks: the same
//! order, the same node boundaries), plus the stream's counters and its
//! consumer groups.
//!
//! Invariants: `length` counts live entries; nodes hold at least one live
//! entry (a node whose last live entry goes is removed, as in Redis);
//! `last_id` only grows; IDs are strictly increasing across nodes.

pub mod group;
pub mod id;
pub mod node;

use std::collections::btree_map;
use std::collections::BTreeMap;

use bytes::Bytes;

pub use group::{Consumer, Group, Nack, INVALID_ENTRIES_READ};
pub use id::{IdBuf, StreamId};
pub use node::Fields;

use node::{Node, Slot, DELETED};

/// Largest listpack Redis allows a node (STREAM_LISTPACK_MAX_SIZE).
const LISTPACK_MAX: usize = 1 << 30;
/// Up to how many nodes `free_effort` counts the radix tree exactly (the
/// lazy-free threshold: beyond it only "more than that" matters).
const EXACT_EFFORT_UP_TO: usize = 64;

/// `stream-node-max-bytes` and `stream-node-max-entries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }
}

/// How XADD and XTRIM trim (MAXLEN or MINID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added (7.0's `entries-added`, the base of group lag).
    pub entries_added: u64,
    /// By name, in byte order (Redis's rax order, which XINFO GROUPS shows).
    pub groups: BTreeMap<Bytes, Group>,
}

/// One live entry found by a range walk.
pub struct Entry<'a> {
    pub id: StreamId,
    node: &'a Node,
    slot: Slot,
}

impl<'a> Entry<'a> {
    pub fn fields(&self) -> Fields<'a> {
        self.node.fields(&self.slot)
    }

    pub fn field_count(&self) -> usize {
        self.slot.nfields
    }
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// What Redis's `rax->numnodes` would be for the nodes' keys (XINFO's
    /// `radix-tree-nodes`): the nodes of the compressed trie of their
    /// 16-byte big-endian master IDs, as Redis's radix tree keeps it — one
    /// per branching position, per run of single-child positions, and per
    /// key end (an empty tree is its root alone). O(nodes).
    pub fn radix_tree_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be_bytes()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_nodes(&keys, 0, false)
    }

    /// Adds an entry with `id`, which the caller checked is above
    /// `last_id`; `pairs` alternates fields and values (`streamAppendItem`).
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) {
        let payload: usize = pairs.iter().map(|p| p.len()).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX { LISTPACK_MAX } else { limits.max_bytes };
        let full = match self.nodes.last_key_value() {
            None => true,
            Some((_, tail)) => tail.lp_bytes() + payload >= max_bytes || (limits.max_entries != 0 && (tail.live + tail.deleted) as usize >= limits.max_entries),
        };
        if full {
            if let Some(mut tail) = self.nodes.last_entry() {
                tail.get_mut().shrink();
            }
            self.nodes.insert(id, Node::new(pairs));
        }
        let Some(mut tail) = self.nodes.last_entry() else { unreachable!("a node was ensured above") };
        let master = *tail.key();
        tail.get_mut().push(master, id, pairs);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// Live entries with IDs in `start..=end`, ascending or (`rev`) descending.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        let nodes = if start > end {
            self.nodes.range(end..end)
        } else {
            // The node holding `start` is keyed at or below it.
            let lower = self.nodes.range(..=start).next_back().map_or(start, |(k, _)| *k);
            self.nodes.range(lower..=end)
        };
        Range { nodes, cur: None, slots: Vec::new(), lo: 0, hi: 0, start, end, rev, done: start > end }
    }

    /// Every live entry, oldest first.
    pub fn iter(&self) -> Range<'_> {
        self.range(StreamId::MIN, StreamId::MAX, false)
    }

    /// The first (or last) live entry's ID (`streamGetEdgeID`).
    pub fn edge_id(&self, first: bool) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, !first).next().map(|e| e.id)
    }

    /// The first entry's ID, deleted or not (`streamGetEdgeID` without
    /// skipping tombstones): what an approximate MINID trim propagates.
    pub fn first_stored_id(&self) -> Option<StreamId> {
        let (master, node) = self.nodes.first_key_value()?;
        let mut slots = Vec::new();
        node.slots(*master, &mut slots);
        slots.first().map(|s| s.id)
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.range(id, id, false).next().is_some()
    }

    /// Marks the entry deleted (`streamDeleteItem`); false if it is not
    /// there. Leaves `first_id` and `max_deleted_entry_id` to the caller.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let mut slots = Vec::new();
        node.slots(master, &mut slots);
        let Some(slot) = slots.iter().find(|s| s.id == id && s.flags & DELETED == 0) else {
            return false;
        };
        if node.live == 1 {
            self.nodes.remove(&master);
        } else {
            node.mark_deleted(slot);
        }
        self.length -= 1;
        true
    }

    /// `streamTrim`: removes entries from the head. `approx` only removes
    /// whole nodes; `limit` (0: none) bounds the entries removed. Returns
    /// how many went.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        let mut slots = Vec::new();
        while let Some(mut first) = self.nodes.first_entry() {
            if let Trim::MaxLen(maxlen) = trim {
                if self.length <= maxlen {
                    break;
                }
            }
            let master = *first.key();
            let entries = first.get().live as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            first.get().slots(master, &mut slots);
            let remove_node = match trim {
                Trim::MaxLen(maxlen) => self.length - entries >= maxlen,
                Trim::MinId(min) => slots.last().is_some_and(|s| s.id < min),
            };
            if remove_node {
                first.remove();
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let node = first.get_mut();
            for slot in &slots {
                let stop = match trim {
                    Trim::MaxLen(maxlen) => self.length <= maxlen,
                    Trim::MinId(min) => slot.id >= min,
                };
                if stop {
                    break;
                }
                if slot.flags & DELETED == 0 {
                    node.mark_deleted(slot);
                    self.length -= 1;
                    deleted += 1;
                }
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true).unwrap_or_default();
        }
        deleted
    }

    pub fn heap_bytes(&self) -> usize {
        // A B-tree entry per node: its key and the node's handle.
        let per_node = std::mem::size_of::<StreamId>() + std::mem::size_of::<Node>();
        let nodes: usize = self.nodes.values().map(Node::heap_bytes).sum::<usize>() + self.nodes.len() * per_node * 3 / 2;
        nodes + self.groups.iter().map(|(name, g)| crate::memory::block(name.len()) + g.heap_bytes()).sum::<usize>()
    }

    /// What freeing the stream walks, as Redis's `lazyfreeGetFreeEffort`
    /// estimates it: its radix tree's nodes, and each group with a PEL the
    /// size of the first group's.
    pub fn free_effort(&self) -> usize {
        let first_pel = self.groups.values().next().map_or(0, |g| g.pel.len());
        // Only the comparison with the lazy-free threshold (64) is ever
        // made, and a radix tree has at least a node per key: past that
        // many nodes, counting them exactly (a walk of every key) is moot.
        let rax = if self.nodes.len() > EXACT_EFFORT_UP_TO { self.nodes.len() + 1 } else { self.radix_tree_nodes() };
        rax + self.groups.len() * (1 + first_pel)
    }

    /// The counters group bookkeeping reads, apart from the groups
    /// themselves (so a group can change while they are consulted).
    pub fn counters(&self) -> Counters {
        Counters {
            length: self.length,
            last_id: self.last_id,
            first_id: self.first_id,
            max_deleted_entry_id: self.max_deleted_entry_id,
            entries_added: self.entries_added,
        }
    }
}

/// Trie nodes below `depth` for sorted `keys` sharing their first `depth`
/// bytes; `in_chain` when the parent position had a single child (and so
/// already counted the compressed node this position extends).
fn rax_nodes(keys: &[[u8; 16]], depth: usize, in_chain: bool) -> usize {
    if depth == 16 {
        return 1;
    }
    let mut groups = keys.chunk_by(|a, b| a[depth] == b[depth]).peekable();
    let Some(first) = groups.next() else { return 0 };
    if groups.peek().is_none() {
        return usize::from(!in_chain) + rax_nodes(first, depth + 1, true);
    }
    1 + rax_nodes(first, depth + 1, false) + groups.map(|g| rax_nodes(g, depth + 1, false)).sum::<usize>()
}

/// A copy of a stream's counters.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
}

impl Counters {
    /// The logical read counter of `id` (`streamEstimateDistanceFromFirstEverEntry`),
    /// or None when it cannot be known.
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// Whether `start..=end` (None: to the end) may hold a deleted entry
    /// (`streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: StreamId, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        let end = end.unwrap_or(StreamId::MAX);
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// A group's lag (`streamReplyWithCGLag`), None when unknown.
    pub fn lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(group.last_id, None) {
            return Some(self.entries_added.wrapping_sub(group.entries_read as u64));
        }
        self.estimate_distance(group.last_id).map(|read| self.entries_added.wrapping_sub(read))
    }
}

/// A walk over live entries in an ID range (`streamIterator`).
pub struct Range<'a> {
    nodes: btree_map::Range<'a, StreamId, Node>,
    cur: Option<&'a Node>,
    slots: Vec<Slot>,
    lo: usize,
    hi: usize,
    start: StreamId,
    end: StreamId,
    rev: bool,
    done: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            if let Some(node) = self.cur {
                while self.lo < self.hi {
                    let slot = if self.rev {
                        self.hi -= 1;
                        self.slots[self.hi]
                    } else {
                        self.lo += 1;
                        self.slots[self.lo - 1]
                    };
                    if slot.flags & DELETED != 0 {
                        continue;
                    }
                    let (before, after) = (slot.id < self.start, slot.id > self.end);
                    if (self.rev && before) || (!self.rev && after) {
                        self.done = true;
                        return None;
                    }
                    if before || after {
                        continue;
                    }
                    return Some(Entry { id: slot.id, node, slot });
                }
            }
            let next = if self.rev { self.nodes.next_back() } else { self.nodes.next() };
            let Some((master, node)) = next else {
                self.done = true;
                return None;
            };
            node.slots(*master, &mut self.slots);
            (self.lo, self.hi) = (0, self.slots.len());
            self.cur = Some(node);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn filled(n: u64, limits: NodeLimits) -> Stream {
        let mut s = Stream::new();
        for i in 1..=n {
            let v = i.to_string();
            s.append(id(i, 0), &[b"f", v.as_bytes()], limits);
        }
        s
    }

    fn ids(r: Range<'_>) -> Vec<u64> {
        r.map(|e| e.id.ms).collect()
    }

    #[test]
    fn nodes_split_as_redis_and_ranges_cross_them() {
        let s = filled(250, NodeLimits::default());
        assert_eq!(s.node_count(), 3);
        assert_eq!(ids(s.range(id(98, 0), id(103, 0), false)), vec![98, 99, 100, 101, 102, 103]);
        assert_eq!(ids(s.range(id(98, 0), id(103, 0), true)), vec![103, 102, 101, 100, 99, 98]);
        assert_eq!(ids(s.range(id(5, 1), id(6, 0), false)), vec![6]);
        assert!(ids(s.range(id(7, 0), id(6, 0), false)).is_empty());
        assert_eq!(s.iter().count(), 250);
        let small = filled(10, NodeLimits { max_bytes: 40, max_entries: 0 });
        assert!(small.node_count() > 1);
        assert_eq!(ids(small.iter()), (1..=10).collect::<Vec<_>>());
    }

    /// Past 64 nodes free_effort stops counting; the decision is the same.
    #[test]
    fn free_effort_decides_lazy_freeing_as_the_exact_count_would() {
        let mut s = Stream::new();
        for ms in 1..=90u64 {
            s.append(id(ms * 1000, 0), &[b"f", b"v"], NodeLimits { max_bytes: 4096, max_entries: 1 });
            assert_eq!(s.free_effort() > 64, s.radix_tree_nodes() > 64, "{ms} nodes");
        }
    }

    /// Redis 7.0's `radix-tree-nodes` for these node keys.
    #[test]
    fn radix_tree_nodes_as_redis_counts() {
        let with = |ids: &[(u64, u64)]| {
            let mut s = Stream::new();
            for &(ms, seq) in ids {
                s.append(id(ms, seq), &[b"f", b"v"], NodeLimits { max_bytes: 4096, max_entries: 1 });
            }
            s.radix_tree_nodes()
        };
        assert_eq!(with(&[]), 1);
        assert_eq!(with(&[(1, 1)]), 2);
        assert_eq!(with(&[(1, 1), (1, 3), (1, 5)]), 5);
        let spaced: Vec<(u64, u64)> = (1..=20).map(|i| (1_700_000_000_000 + i * 7, 0)).collect();
        assert_eq!(with(&spaced[..3]), 8);
        assert_eq!(with(&spaced), 42);
    }

    #[test]
    fn delete_marks_and_drops_emptied_nodes() {
        let mut s = filled(150, NodeLimits::default());
        assert!(s.delete(id(5, 0)));
        assert!(!s.delete(id(5, 0)));
        assert!(!s.delete(id(500, 0)));
        assert_eq!(s.len(), 149);
        assert!(!s.contains(id(5, 0)));
        for i in 101..=150 {
            assert!(s.delete(id(i, 0)));
        }
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.edge_id(false), Some(id(100, 0)));
    }

    #[test]
    fn trims_like_redis() {
        let mut s = filled(250, NodeLimits::default());
        assert_eq!(s.trim(Trim::MaxLen(160), true, 0), 0, "approx keeps the partial head node");
        assert_eq!(s.trim(Trim::MaxLen(140), true, 0), 100);
        assert_eq!(s.trim(Trim::MaxLen(100), false, 0), 50);
        assert_eq!(s.len(), 100);
        assert_eq!(s.first_id, id(151, 0));
        assert_eq!(s.trim(Trim::MinId(id(200, 0)), false, 0), 49);
        assert_eq!(s.first_id, id(200, 0));
        assert_eq!(s.trim(Trim::MaxLen(0), false, 0), 51);
        assert_eq!((s.len(), s.node_count(), s.first_id), (0, 0, StreamId::MIN));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add { gap: u64, seq: u64, fields: u8, value: Vec<u8> },
        Delete(usize),
        Trim { maxlen: Option<u64>, min_at: usize, approx: bool, limit: u64 },
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (0u64..3, 0u64..3, 0u8..3, proptest::collection::vec(any::<u8>(), 0..30))
                .prop_map(|(gap, seq, fields, value)| Op::Add { gap, seq, fields, value }),
            2 => any::<usize>().prop_map(Op::Delete),
            1 => (proptest::option::of(0u64..40), any::<usize>(), any::<bool>(), 0u64..30)
                .prop_map(|(maxlen, min_at, approx, limit)| Op::Trim { maxlen, min_at, approx, limit }),
        ]
    }

    proptest::proptest! {
        /// Any sequence of appends, deletions and trims leaves exactly the
        /// entries a plain list model holds (an approximate trim removes
        /// whole nodes only, so it is checked against what it reports),
        /// and ranges both ways agree with the model.
        #[test]
        fn behaves_like_a_list(ops in proptest::collection::vec(op(), 1..200), tiny in proptest::bool::ANY) {
            let limits = if tiny { NodeLimits { max_bytes: 60, max_entries: 4 } } else { NodeLimits::default() };
            let mut s = Stream::new();
            let mut model: Vec<(StreamId, Vec<Vec<u8>>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Add { gap, seq, fields, value } => {
                        let id = StreamId::new(s.last_id.ms + gap, if gap == 0 { s.last_id.seq + 1 + seq } else { seq });
                        let names: &[&[u8]] = match fields { 0 => &[b"a", b"b"], 1 => &[b"a"], _ => &[b"c", b"a", b"b"] };
                        let pairs: Vec<&[u8]> = names.iter().flat_map(|n| [*n, &value[..]]).collect();
                        s.append(id, &pairs, limits);
                        model.push((id, pairs.iter().map(|p| p.to_vec()).collect()));
                    }
                    Op::Delete(i) if !model.is_empty() => {
                        let (id, _) = model.remove(i % model.len());
                        proptest::prop_assert!(s.delete(id));
                        proptest::prop_assert!(!s.delete(id));
                    }
                    Op::Delete(_) => {}
                    Op::Trim { maxlen, min_at, approx, limit } => {
                        let trim = match maxlen {
                            Some(n) => Trim::MaxLen(n),
                            None => Trim::MinId(model.get(min_at % (model.len() + 1)).map_or(s.last_id.next().unwrap_or(StreamId::MAX), |e| e.0)),
                        };
                        let removed = s.trim(trim, approx, if approx { limit } else { 0 });
                        if !approx {
                            let keep = match trim {
                                Trim::MaxLen(n) => model.len().saturating_sub(n as usize),
                                Trim::MinId(min) => model.iter().take_while(|e| e.0 < min).count(),
                            };
                            proptest::prop_assert_eq!(removed as usize, keep);
                        }
                        model.drain(..removed as usize);
                    }
                }
                proptest::prop_assert_eq!(s.len() as usize, model.len());
            }
            let got: Vec<(StreamId, Vec<Vec<u8>>)> = s.iter().map(|e| (e.id, e.fields().flat_map(|(f, v)| [f.to_vec(), v.to_vec()]).collect())).collect();
            proptest::prop_assert_eq!(&got, &model);
            if let (Some(first), Some(last)) = (model.first(), model.last()) {
                proptest::prop_assert_eq!(s.edge_id(true), Some(first.0));
                proptest::prop_assert_eq!(s.edge_id(false), Some(last.0));
                let mid = model[model.len() / 2].0;
                let back: Vec<StreamId> = s.range(mid, StreamId::MAX, true).map(|e| e.id).collect();
                let want: Vec<StreamId> = model.iter().rev().map(|e| e.0).take_while(|id| *id >= mid).collect();
                proptest::prop_assert_eq!(back, want);
            }
        }
    }
}
