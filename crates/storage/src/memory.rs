//! What a key costs in memory (MEMORY USAGE, MEMORY STATS): its record,
//! its share of the shard's tables, and its value's heap blocks, each in
//! the allocator's size classes, as the counting allocator counts them.
//!
//! Why sampling: like Redis's `objectComputeSize`, a large collection's
//! elements are not all visited; the first `samples` (0: all) stand for
//! the rest.

use std::mem::size_of;

use ferrokv_util::alloc::jemalloc_size_class;

use crate::shard::Entry;
use crate::value::{Str, Value};

/// One heap block of `bytes` (nothing for none).
pub(crate) fn block(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        jemalloc_size_class(bytes, 8)
    }
}

/// What a shard's tables spend per key beyond its record: its slot in the
/// records vector and its alias and control byte in the hash index.
pub(crate) const TABLE_OVERHEAD: usize = 2 * size_of::<usize>() + 1;

/// What the expiry table spends on a volatile key: the record's alias and
/// the time, and an index slot.
pub(crate) const EXPIRES_OVERHEAD: usize = size_of::<usize>() + size_of::<i64>() + size_of::<u32>() + 1;

/// A database's (or shard's) keys, and what its main table and expiry
/// table hold beyond the records.
#[derive(Debug, Default, Clone, Copy)]
pub struct TableOverhead {
    pub keys: usize,
    /// Keys with a TTL.
    pub volatile: usize,
    pub main: usize,
    pub expires: usize,
}

impl TableOverhead {
    /// A shard's tables as allocated.
    pub(crate) fn of(shard: &crate::Shard) -> TableOverhead {
        TableOverhead { keys: shard.len(), volatile: shard.volatile_len(), main: shard.map.overhead_bytes(), expires: shard.expires.overhead_bytes() }
    }
}

impl std::iter::Sum for TableOverhead {
    fn sum<I: Iterator<Item = TableOverhead>>(iter: I) -> TableOverhead {
        iter.fold(TableOverhead::default(), |a, b| TableOverhead {
            keys: a.keys + b.keys,
            volatile: a.volatile + b.volatile,
            main: a.main + b.main,
            expires: a.expires + b.expires,
        })
    }
}

/// Heap bytes of `count` elements, given the sizes of the first ones
/// (`sampled`, from `seen` elements): their mean stands for the rest.
pub(crate) fn extrapolate(sampled: usize, seen: usize, count: usize) -> usize {
    if seen == 0 {
        0
    } else {
        (sampled as f64 / seen as f64 * count as f64) as usize
    }
}

/// How many elements a sample visits (`samples` 0: all of them).
pub(crate) fn sample_len(samples: usize, len: usize) -> usize {
    if samples == 0 {
        len
    } else {
        samples.min(len)
    }
}

impl Str {
    fn heap_bytes(&self) -> usize {
        match self {
            Str::Int(_) | Str::Inline(_) => 0,
            Str::Emb(b) => block(b.len()),
            // The Arc's two counters precede the bytes.
            Str::Raw(a) => block(a.len() + 2 * size_of::<usize>()),
        }
    }
}

impl Value {
    /// Heap bytes the value holds beyond the entry it sits in.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => block(size_of::<crate::List>()) + l.heap_bytes(samples),
            Value::Hash(h) => h.heap_bytes(samples),
            Value::Set(s) => block(size_of::<crate::Set>()) + s.heap_bytes(samples),
            Value::ZSet(z) => z.heap_bytes(samples),
            Value::Stream(s) => block(size_of::<crate::Stream>()) + s.heap_bytes(),
        }
    }
}

/// MEMORY USAGE: everything a key costs, key bytes and tables included.
pub fn key_usage(key: &[u8], entry: &Entry, volatile: bool, samples: usize) -> usize {
    let record = crate::record::Record::size(key.len());
    let expiry = if volatile { EXPIRES_OVERHEAD } else { 0 };
    block(record) + TABLE_OVERHEAD + expiry + entry.value.heap_bytes(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Thresholds;

    fn usage(v: Value) -> usize {
        key_usage(b"key", &Entry::new(v, 0), false, 0)
    }

    #[test]
    fn grows_with_the_value() {
        let small = usage(Value::Str(Str::from_arg(b"v")));
        let emb = usage(Value::Str(Str::from_arg(&[b'v'; 40])));
        let big = usage(Value::Str(Str::from_arg(&[b'v'; 10_000])));
        assert!(small < emb && emb < big, "{small} {emb} {big}");
        assert!((10_000..12_500).contains(&big), "{big}");
        let t = Thresholds::default();
        let mut lists = (0..3).map(|_| crate::List::new(Default::default())).collect::<Vec<_>>();
        for (i, l) in lists.iter_mut().enumerate() {
            for _ in 0..10usize.pow(i as u32 + 1) {
                l.push(false, b"element");
            }
        }
        let sizes: Vec<usize> = lists.into_iter().map(|l| usage(Value::List(Box::new(l)))).collect();
        assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2], "{sizes:?}");
        let mut h = crate::Hash::default();
        let mut last = usage(Value::Hash(h.clone()));
        for n in [10, 100, 1000] {
            while h.len() < n {
                h.set(format!("field:{}", h.len()).as_bytes(), b"value", &t);
            }
            let now = usage(Value::Hash(h.clone()));
            assert!(now > last, "{n}: {now} after {last}");
            last = now;
        }
    }

    #[test]
    fn samples_stand_for_the_rest() {
        let mut s = crate::Set::Intset(Vec::new());
        let t = Thresholds::default();
        for i in 0..5000 {
            s.add(format!("member:{i:06}").as_bytes(), &t);
        }
        let all = usage(Value::Set(Box::new(s.clone())));
        let sampled = key_usage(b"key", &Entry::new(Value::Set(Box::new(s)), 0), false, 5);
        assert!(sampled.abs_diff(all) * 10 < all, "{sampled} vs {all}");
    }
}
