//! Choosing keys to evict, as Redis's `evict.c` does: approximated LRU,
//! LFU and TTL through a pool of the best candidates seen so far, fed by a
//! few random samples per round (`maxmemory-samples`), or a random key.
//!
//! Why a pool that outlives one eviction: each round samples only a few
//! keys, and keeping the 16 best candidates across rounds is what makes
//! Redis's approximation close to true LRU for little work. Storage only
//! chooses and deletes; when to evict (used memory against `maxmemory`)
//! and what to tell replicas is the server's business.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use rand::Rng;

use crate::keyspace::{idle_seconds, Store};
use crate::shard::{Entry, Key, Shard};

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxmemoryPolicy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl MaxmemoryPolicy {
    pub fn is_lfu(self) -> bool {
        matches!(self, MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu)
    }

    pub fn is_lru(self) -> bool {
        matches!(self, MaxmemoryPolicy::VolatileLru | MaxmemoryPolicy::AllkeysLru)
    }

    /// Only keys with an expiry are candidates.
    pub fn is_volatile(self) -> bool {
        matches!(self, MaxmemoryPolicy::VolatileLru | MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::VolatileRandom | MaxmemoryPolicy::VolatileTtl)
    }

    fn is_random(self) -> bool {
        matches!(self, MaxmemoryPolicy::VolatileRandom | MaxmemoryPolicy::AllkeysRandom)
    }
}

/// What [`Store::evict_one`] did.
pub enum Eviction {
    /// Deleted this key of this database; its entry is the caller's to free.
    Evicted(usize, Key, Entry),
    /// No key is a candidate under the policy.
    NoCandidate,
    /// Someone holds the whole keyspace: nothing was looked at.
    KeyspaceBusy,
}

/// EVPOOL_SIZE.
const POOL_SIZE: usize = 16;
/// Random shards tried for a non-empty one before giving up on a database.
const SHARD_TRIES: usize = 8;

struct Candidate {
    /// Higher is a better candidate: idle milliseconds, 255 minus the LFU
    /// counter, or u64::MAX minus the expiry time.
    score: u64,
    db: usize,
    key: Key,
}

/// Evictions between two checks of which databases hold candidates.
const DBS_REFRESH: u32 = 64;

/// The best candidates seen, ascending by score.
#[derive(Default)]
pub struct Pool {
    entries: Vec<Candidate>,
    /// Where a random policy looks next (Redis's static `next_db`).
    next_db: usize,
    /// The databases that held candidates under `dbs_policy` when last
    /// checked: sampling skips the empty ones without locking their shards
    /// (with 16 databases and one in use, that was most of an eviction's
    /// work).
    dbs: Vec<usize>,
    dbs_policy: Option<MaxmemoryPolicy>,
    dbs_refresh_in: u32,
}

impl Pool {
    /// Redis's evictionPoolPopulate insertion: a candidate worse than a
    /// full pool's worst is dropped; otherwise the worst makes room. A key
    /// sampled twice may sit in the pool twice, as in Redis: the second
    /// copy is found gone when its turn comes.
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        let at = self.entries.partition_point(|c| c.score < score);
        if self.entries.len() == POOL_SIZE {
            if at == 0 {
                return;
            }
            self.entries.remove(0);
            self.entries.insert(at - 1, Candidate { score, db, key: Bytes::copy_from_slice(key) });
        } else {
            self.entries.insert(at, Candidate { score, db, key: Bytes::copy_from_slice(key) });
        }
    }
}

fn score(policy: MaxmemoryPolicy, entry: &Entry, expire_at: Option<i64>) -> u64 {
    match policy {
        MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu => 255 - crate::lfu::frequency(entry.lru) as u64,
        MaxmemoryPolicy::VolatileTtl => u64::MAX - expire_at.unwrap_or(0).max(0) as u64,
        _ => idle_seconds(entry.lru) * 1000,
    }
}

/// Samples `count` keys of `shard` into the pool: consecutive slots from
/// a random one, as Redis's dictGetSomeKeys walks consecutive buckets (the
/// slots' pointers then share cache lines; each record is one miss).
fn sample_into(pool: &mut Pool, shard: &Shard, db: usize, policy: MaxmemoryPolicy, count: usize, rng: &mut impl Rng) {
    let n = candidates(shard, policy);
    if n == 0 {
        return;
    }
    let start = rng.random_range(0..n);
    if !policy.is_volatile() {
        for i in (0..count.min(n)).map(|i| (start + i) % n) {
            shard.map.prefetch_index(i);
        }
    }
    for i in (0..count.min(n)).map(|i| (start + i) % n) {
        if policy.is_volatile() {
            let (key, at) = shard.expires.get_index(i).expect("index below len");
            if let Some(entry) = shard.map.get_hashed(crate::table::key_hash(key), key) {
                pool.offer(score(policy, entry, Some(at)), db, key);
            }
        } else {
            let (key, entry) = shard.map.get_index(i).expect("index below len");
            pool.offer(score(policy, entry, None), db, key);
        }
    }
}

/// How many candidates `shard` offers under `policy`.
fn candidates(shard: &Shard, policy: MaxmemoryPolicy) -> usize {
    if policy.is_volatile() {
        shard.volatile_len()
    } else {
        shard.len()
    }
}

/// A random key of `shard` under a random policy.
fn random_key(shard: &Shard, policy: MaxmemoryPolicy, rng: &mut impl Rng) -> Option<Key> {
    let n = candidates(shard, policy);
    if n == 0 {
        return None;
    }
    let i = rng.random_range(0..n);
    Some(if policy.is_volatile() {
        Bytes::copy_from_slice(shard.expires.get_index(i).expect("index below len").0)
    } else {
        Bytes::copy_from_slice(shard.map.get_index(i).expect("index below len").0)
    })
}

impl Store {
    /// Evicts one key chosen by `policy` (never `noeviction`), looking at
    /// `samples` keys per database per round. `on_evicted` sees the key
    /// while its shard is still held, so what it logs keeps the keyspace's
    /// order; the entry is handed back to be freed (now, or lazily).
    pub fn evict_one(&self, policy: MaxmemoryPolicy, samples: usize, on_evicted: impl FnOnce(usize, &Key)) -> Eviction {
        if policy == MaxmemoryPolicy::NoEviction {
            return Eviction::NoCandidate;
        }
        let Some(ks) = self.try_shared_for(std::time::Duration::from_millis(10)) else {
            return Eviction::KeyspaceBusy;
        };
        let mut pool = self.evict_pool.lock();
        let mut rng = rand::rng();
        let mut on_evicted = Some(on_evicted);
        // A pooled candidate may be gone (deleted, or its TTL removed) by
        // the time it is picked: the next one is tried, a bounded number
        // of times.
        for attempt in 0..64 {
            let chosen = if policy.is_random() {
                self.pick_random(&ks, &mut pool, policy, &mut rng)
            } else {
                self.pick_best(&ks, &mut pool, policy, samples.max(1), attempt == 0, &mut rng)
            };
            let Some((db, key)) = chosen else {
                return Eviction::NoCandidate;
            };
            let index = crate::shard_of(&key);
            let mut shard = ks.shard(db, index).lock();
            if policy.is_volatile() && !shard.expires.contains_key(&key[..]) {
                continue;
            }
            if let Some(job) = self.current_snapshot() {
                job.before_key(db, index, &mut shard, &key);
            }
            let Some(entry) = shard.remove(&key) else {
                continue;
            };
            ks.watches_of(db).touch(&key);
            if let Some(f) = on_evicted.take() {
                f(db, &key);
            }
            drop(shard);
            self.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
            return Eviction::Evicted(db, key, entry);
        }
        Eviction::NoCandidate
    }

    /// The databases holding candidates, checked again every
    /// [`DBS_REFRESH`] evictions, on a policy change, or when `force`d.
    /// (Returned inline: one eviction allocates nothing for it.)
    fn candidate_dbs(ks: &crate::Keyspace, pool: &mut Pool, policy: MaxmemoryPolicy, force: bool) -> smallvec::SmallVec<[usize; 16]> {
        if force || pool.dbs_refresh_in == 0 || pool.dbs_policy != Some(policy) {
            pool.dbs = (0..ks.db_count()).filter(|&db| (0..crate::SHARDS).any(|s| candidates(&ks.shard(db, s).lock(), policy) > 0)).collect();
            pool.dbs_policy = Some(policy);
            pool.dbs_refresh_in = DBS_REFRESH;
        }
        pool.dbs_refresh_in -= 1;
        pool.dbs.iter().copied().collect()
    }

    /// The best pooled candidate, after a round of sampling every database
    /// with candidates (`populate`, Redis's evictionPoolPopulate; later
    /// attempts of one eviction take the next in the pool, as Redis does,
    /// until it runs dry). None when no key is a candidate.
    fn pick_best(
        &self,
        ks: &crate::Keyspace,
        pool: &mut Pool,
        policy: MaxmemoryPolicy,
        samples: usize,
        populate: bool,
        rng: &mut impl Rng,
    ) -> Option<(usize, Key)> {
        if !populate {
            if let Some(c) = pool.entries.pop() {
                return Some((c.db, c.key));
            }
        }
        // A second pass looks at every database: the list may be stale.
        for force in [false, true] {
            for db in Self::candidate_dbs(ks, pool, policy, force) {
                for _ in 0..SHARD_TRIES {
                    let shard = ks.shard(db, rng.random_range(0..crate::SHARDS)).lock();
                    if candidates(&shard, policy) > 0 {
                        sample_into(pool, &shard, db, policy, samples, rng);
                        break;
                    }
                }
            }
            if let Some(c) = pool.entries.pop() {
                return Some((c.db, c.key));
            }
        }
        None
    }

    /// A random key, visiting databases round-robin as Redis does.
    fn pick_random(&self, ks: &crate::Keyspace, pool: &mut Pool, policy: MaxmemoryPolicy, rng: &mut impl Rng) -> Option<(usize, Key)> {
        // A second pass looks at every database: the list may be stale.
        for force in [false, true] {
            let dbs = Self::candidate_dbs(ks, pool, policy, force);
            for _ in 0..dbs.len() {
                let db = dbs[pool.next_db % dbs.len()];
                pool.next_db = pool.next_db.wrapping_add(1);
                let start = rng.random_range(0..crate::SHARDS);
                for s in (0..crate::SHARDS).map(|i| (start + i) % crate::SHARDS) {
                    if let Some(key) = random_key(&ks.shard(db, s).lock(), policy, rng) {
                        return Some((db, key));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_sixteen_in_order() {
        let mut pool = Pool::default();
        for i in 0..40u64 {
            pool.offer((i * 7919) % 101, 0, format!("k{i}").as_bytes());
        }
        let scores: Vec<u64> = pool.entries.iter().map(|c| c.score).collect();
        assert_eq!(scores.len(), POOL_SIZE);
        assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
        let mut all: Vec<u64> = (0..40u64).map(|i| (i * 7919) % 101).collect();
        all.sort_unstable();
        assert_eq!(&scores[..], &all[40 - POOL_SIZE..]);
    }
}
