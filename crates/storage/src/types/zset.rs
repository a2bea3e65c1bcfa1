//! Sorted sets: a listpack of (member, score) pairs kept in order while
//! small (`zset-max-listpack-*`), a member→score map plus an
//! order-statistic tree past that ("skiplist" in OBJECT ENCODING).

use bytes::Bytes;

use super::listpack::Listpack;
use super::tree::{cmp, Tree};
use super::{scan_indexed, IndexMap, Thresholds};

#[derive(Debug, Clone)]
pub enum ZSet {
    /// Member then the score's 8 bytes, for every element, in order.
    Listpack(Listpack),
    /// Boxed, so a `ZSet` is 16 bytes and sits inside its key's value.
    Skiplist(Box<Sorted>),
}

/// The large encoding: a member → score table, and the members in order.
#[derive(Debug, Clone, Default)]
pub struct Sorted {
    dict: IndexMap<Bytes, f64>,
    tree: Tree,
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.range(0, usize::MAX) == other.range(0, usize::MAX)
    }
}

fn score_of(b: &[u8]) -> f64 {
    f64::from_le_bytes(b.try_into().expect("scores are 8 bytes"))
}

impl ZSet {
    /// Its blocks (the first `samples` members standing for the rest:
    /// each member's bytes are shared by the table and the tree).
    pub(crate) fn heap_bytes(&self, samples: usize) -> usize {
        use crate::memory::{block, extrapolate, sample_len};
        match self {
            ZSet::Listpack(lp) => lp.heap_bytes(),
            ZSet::Skiplist(s) => {
                let seen = sample_len(samples, s.dict.len());
                let sampled: usize = s.dict.keys().take(seen).map(|m| block(m.len())).sum();
                block(std::mem::size_of::<Sorted>())
                    + super::table_bytes(s.dict.capacity(), std::mem::size_of::<(Bytes, f64)>())
                    + s.tree.heap_bytes()
                    + extrapolate(sampled, seen, s.dict.len())
            }
        }
    }

    /// `zsetTypeCreate` as ZADD does it: a skiplist from the start when the
    /// first member is already too long.
    pub fn new_for(first_member_len: usize, limits: &Thresholds) -> ZSet {
        if limits.zset_entries == 0 || first_member_len > limits.zset_value {
            ZSet::Skiplist(Box::default())
        } else {
            ZSet::Listpack(Listpack::new())
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(lp) => lp.len() / 2,
            ZSet::Skiplist(sorted) => sorted.dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (position of the member entry, score) in a listpack.
    fn lp_find(lp: &Listpack, member: &[u8]) -> Option<(usize, f64)> {
        let mut pos = 0;
        while pos < lp.end() {
            let sp = lp.next(pos);
            if lp.get(pos) == member {
                return Some((pos, score_of(lp.get(sp))));
            }
            pos = lp.next(sp);
        }
        None
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(lp) => Self::lp_find(lp, member).map(|(_, s)| s),
            ZSet::Skiplist(sorted) => sorted.dict.get(member).copied(),
        }
    }

    /// Forces the large encoding (Redis's SORT does this to sorted sets).
    pub fn convert_to_skiplist(&mut self) {
        self.convert();
    }

    fn convert(&mut self) {
        if let ZSet::Listpack(_) = self {
            let all = self.range(0, usize::MAX);
            let mut dict = IndexMap::with_capacity_and_hasher(all.len(), Default::default());
            let mut tree = Tree::default();
            for (m, s) in all {
                dict.insert(m.clone(), s);
                tree.insert(s, m);
            }
            *self = ZSet::Skiplist(Box::new(Sorted { dict, tree }));
        }
    }

    /// Sets `member`'s score, adding it if new (true). Converts first when
    /// the listpack would grow past the limits, as `zsetAdd` does.
    pub fn set(&mut self, member: &[u8], score: f64, limits: &Thresholds) -> bool {
        let existed = self.remove(member);
        if let ZSet::Listpack(lp) = self {
            if !existed && (lp.len() / 2 + 1 > limits.zset_entries || member.len() > limits.zset_value) {
                self.convert();
            }
        }
        match self {
            ZSet::Listpack(lp) => {
                let mut pos = 0;
                while pos < lp.end() {
                    let sp = lp.next(pos);
                    if cmp((score_of(lp.get(sp)), lp.get(pos)), (score, member)).is_gt() {
                        break;
                    }
                    pos = lp.next(sp);
                }
                lp.insert(pos, &score.to_le_bytes());
                lp.insert(pos, member);
            }
            ZSet::Skiplist(sorted) => {
                let Sorted { dict, tree } = &mut **sorted;
                let m = Bytes::copy_from_slice(member);
                dict.insert(m.clone(), score);
                tree.insert(score, m);
            }
        }
        !existed
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Listpack(lp) => match Self::lp_find(lp, member) {
                Some((pos, _)) => {
                    lp.remove(pos, 2);
                    true
                }
                None => false,
            },
            ZSet::Skiplist(sorted) => match sorted.dict.swap_remove(member) {
                Some(score) => sorted.tree.remove(score, member),
                None => false,
            },
        }
    }

    /// How many elements come before the first for which `at_or_after`
    /// holds (monotone in the set's order).
    pub fn rank_where(&self, at_or_after: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Listpack(lp) => {
                let mut it = lp.iter();
                let mut n = 0;
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    if at_or_after(score_of(s), m) {
                        break;
                    }
                    n += 1;
                }
                n
            }
            ZSet::Skiplist(sorted) => sorted.tree.rank_where(at_or_after),
        }
    }

    /// 0-based rank of a member in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.rank_where(|s, m| cmp((s, m), (score, member)).is_ge()))
    }

    /// Up to `count` elements in ascending order from rank `start`.
    pub fn range(&self, start: usize, count: usize) -> Vec<(Bytes, f64)> {
        match self {
            ZSet::Listpack(_) => {
                let mut out = Vec::new();
                self.visit_from(start, |m, s| {
                    if out.len() >= count {
                        return false;
                    }
                    out.push((Bytes::copy_from_slice(m), s));
                    true
                });
                out
            }
            ZSet::Skiplist(sorted) => sorted.tree.walk(start, count),
        }
    }

    /// Visits elements in ascending order from rank `start` until `visit`
    /// returns false, copying nothing.
    pub fn visit_from(&self, start: usize, mut visit: impl FnMut(&[u8], f64) -> bool) {
        match self {
            ZSet::Listpack(lp) => {
                let mut it = lp.iter();
                let mut i = 0;
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    if i >= start && !visit(m, score_of(s)) {
                        return;
                    }
                    i += 1;
                }
            }
            ZSet::Skiplist(sorted) => sorted.tree.visit_from(start, |s, m| visit(m, s)),
        }
    }

    /// The element at index `i` of the member table (ZRANDMEMBER).
    pub fn element_at(&self, i: usize) -> Option<(Bytes, f64)> {
        match self {
            ZSet::Listpack(_) => self.range(i, 1).pop(),
            ZSet::Skiplist(sorted) => sorted.dict.get_index(i).map(|(m, s)| (m.clone(), *s)),
        }
    }

    /// Converts a result built as a skiplist back to a listpack when it fits
    /// (`zsetConvertToListpackIfNeeded`, used by the *STORE commands).
    pub fn shrink_if_fits(&mut self, limits: &Thresholds) {
        if let ZSet::Skiplist(_) = self {
            let all = self.range(0, usize::MAX);
            if all.len() <= limits.zset_entries && all.iter().all(|(m, _)| m.len() <= limits.zset_value) {
                let mut lp = Listpack::new();
                for (m, s) in all {
                    lp.push(&m);
                    lp.push(&s.to_le_bytes());
                }
                *self = ZSet::Listpack(lp);
            }
        }
    }

    /// An empty skiplist-encoded set (results of the *STORE commands start so).
    pub fn new_skiplist() -> ZSet {
        ZSet::Skiplist(Box::default())
    }

    /// One ZSCAN step: a listpack is returned whole with cursor 0, as Redis.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(_) => {
                self.range(0, usize::MAX).iter().for_each(|(m, s)| visit(m, *s));
                0
            }
            ZSet::Skiplist(sorted) => scan_indexed(sorted.dict.len(), cursor, count, |i| {
                let (m, s) = sorted.dict.get_index(i).expect("index below len");
                visit(m, *s)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Both encodings keep the same ordered contents as a model, and
        /// ranks agree.
        #[test]
        fn agrees_with_a_model(ops in prop::collection::vec((any::<bool>(), -3i32..3, 0u8..10), 0..200), entries in 1usize..12) {
            let limits = Thresholds { zset_entries: entries, ..Thresholds::default() };
            let mut z = ZSet::new_for(1, &limits);
            let mut model: Vec<(Bytes, f64)> = Vec::new();
            for (set, score, m) in ops {
                let member = vec![b'a' + m];
                let pos = model.iter().position(|(x, _)| x[..] == member[..]);
                if set {
                    prop_assert_eq!(z.set(&member, score as f64, &limits), pos.is_none());
                    if let Some(p) = pos { model.remove(p); }
                    model.push((Bytes::from(member.clone()), score as f64));
                    model.sort_by(|a, b| cmp((a.1, &a.0), (b.1, &b.0)));
                } else {
                    prop_assert_eq!(z.remove(&member), pos.is_some());
                    if let Some(p) = pos { model.remove(p); }
                }
                prop_assert_eq!(z.range(0, usize::MAX), model.clone());
                for (i, (m, _)) in model.iter().enumerate() {
                    prop_assert_eq!(z.rank(m), Some(i));
                }
            }
        }
    }
}
