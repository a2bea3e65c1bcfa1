//! Redis 7.0's per-command latency histograms (`latency-tracking`): an
//! HDR histogram from 1 ns to 1 s with two significant digits, the same
//! bucket layout as Redis's hdr_histogram, so LATENCY HISTOGRAM's buckets
//! and INFO latencystats' percentiles read exactly as Redis computes them.
//!
//! Every command records into it, so recording is one plain add into this
//! thread's own copy of the counts (the slots of `ferrokv_storage::counter`;
//! threads past them share the last with an atomic add); readers sum the
//! copies. A copy is allocated on its thread's first record (24 KiB).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use ferrokv_storage::counter::{my_slot, SHARED, SLOTS};

/// Two significant digits: 256 sub-buckets, the upper half of each
/// bucket being new values.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF: usize = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = 255;
/// Redis's LATENCY_HISTOGRAM_MAX_VALUE: 1 s, in nanoseconds.
pub const MAX_NS: u64 = 1_000_000_000;
/// Buckets to cover 1 s (256 << 22 > 1e9), plus one half for the first.
const COUNTS: usize = (23 + 1) * SUB_BUCKET_HALF;

fn bucket_index(v: u64) -> u32 {
    (64 - (v | SUB_BUCKET_MASK).leading_zeros()) - (SUB_BUCKET_HALF_MAGNITUDE + 1)
}

/// The counts slot a value falls in.
fn index_of(v: u64) -> usize {
    let b = bucket_index(v);
    let sub = (v >> b) as usize;
    (((b as usize) + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub - SUB_BUCKET_HALF
}

/// The smallest value of a counts slot.
fn value_at(index: usize) -> u64 {
    let mut bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let mut sub = (index & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF;
        bucket = 0;
    }
    (sub as u64) << bucket
}

pub fn lowest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    (v >> b) << b
}

pub fn highest_equivalent(v: u64) -> u64 {
    lowest_equivalent(v) + (1 << bucket_index(v)) - 1
}

#[derive(Default)]
pub struct Histogram {
    slots: [OnceLock<Box<[AtomicU64]>>; SLOTS],
}

impl Histogram {
    /// Records a command's duration, clamped to 1 ns ..= 1 s as Redis.
    pub fn record(&self, ns: u64) {
        let i = index_of(ns.clamp(1, MAX_NS));
        let slot = my_slot();
        let counts = self.slots[slot].get_or_init(|| (0..COUNTS).map(|_| AtomicU64::new(0)).collect());
        let cell = &counts[i];
        if slot == SHARED {
            cell.fetch_add(1, Ordering::Relaxed);
        } else {
            // This thread is the slot's only writer.
            cell.store(cell.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }

    /// The counts summed over every thread's copy (None: nothing recorded).
    pub fn counts(&self) -> Option<Vec<u64>> {
        let mut sum = vec![0u64; COUNTS];
        let mut any = false;
        for counts in self.slots.iter().filter_map(|s| s.get()) {
            any = true;
            sum.iter_mut().zip(counts.iter()).for_each(|(s, c)| *s += c.load(Ordering::Relaxed));
        }
        (any && sum.iter().any(|&c| c > 0)).then_some(sum)
    }

    /// CONFIG RESETSTAT. A record racing with it may survive the reset.
    pub fn reset(&self) {
        for counts in self.slots.iter().filter_map(|s| s.get()) {
            counts.iter().for_each(|c| c.store(0, Ordering::Relaxed));
        }
    }
}

/// `hdr_value_at_percentile`: the highest value equivalent to the one at
/// that percentile (the lowest, for percentile 0).
pub fn value_at_percentile(counts: &[u64], percentile: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    let wanted = (((percentile.min(100.0) / 100.0) * total as f64) + 0.5) as u64;
    let wanted = wanted.max(1);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= wanted {
            let v = value_at(i);
            return if percentile == 0.0 { lowest_equivalent(v) } else { highest_equivalent(v) };
        }
    }
    0
}

/// LATENCY HISTOGRAM's buckets: at 1024 ns and every doubling, the
/// microseconds of that level's highest equivalent value and how many
/// calls took at most that long, where the count grew (Redis's log
/// iteration with base 2 from 1024).
pub fn cumulative_usec(counts: &[u64]) -> Vec<(u64, u64)> {
    let total: u64 = counts.iter().sum();
    let mut out = Vec::new();
    let (mut level, mut cumulative, mut i, mut previous) = (1024u64, 0u64, 0usize, 0u64);
    while previous < total && level <= 2 * MAX_NS {
        let upto = index_of(level).min(counts.len() - 1);
        while i <= upto {
            cumulative += counts[i];
            i += 1;
        }
        if cumulative > previous {
            out.push((highest_equivalent(level) / 1000, cumulative));
        }
        previous = cumulative;
        level *= 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalents_as_hdr_with_two_digits() {
        // INFO latencystats in Redis: 1 µs reads 1.003, 3 µs 3.007,
        // 146 µs 146.431 (p0: 145.408).
        assert_eq!(highest_equivalent(1000), 1003);
        assert_eq!(highest_equivalent(3000), 3007);
        assert_eq!(highest_equivalent(146_000), 146_431);
        assert_eq!(lowest_equivalent(146_000), 145_408);
        // LATENCY HISTOGRAM's levels: 1, 2, 4, 8, 16, 33, 66 µs…
        let levels: Vec<u64> = (0..7).map(|k| highest_equivalent(1024 << k) / 1000).collect();
        assert_eq!(levels, [1, 2, 4, 8, 16, 33, 66]);
        for v in [1, 255, 256, 1000, 65_535, 1 << 20, MAX_NS] {
            assert!(value_at(index_of(v)) <= v && v <= highest_equivalent(value_at(index_of(v))), "{v}");
            assert!(index_of(v) < COUNTS);
        }
    }

    #[test]
    fn percentiles_and_buckets() {
        let h = Histogram::default();
        for _ in 0..99 {
            h.record(7_000);
        }
        h.record(264_000);
        let counts = h.counts().unwrap();
        assert_eq!(value_at_percentile(&counts, 50.0), 7_007);
        assert_eq!(value_at_percentile(&counts, 99.9), highest_equivalent(264_000));
        assert_eq!(cumulative_usec(&counts), vec![(8, 99), (264, 100)]);
        h.reset();
        assert!(h.counts().is_none());
    }
}
