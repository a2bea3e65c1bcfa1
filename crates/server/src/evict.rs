//! When to evict and what it tells the rest of the node: Redis's
//! `performEvictions`. Storage chooses the keys (`ferrokv_storage::evict`);
//! this decides whether memory is over `maxmemory`, evicts until it is not
//! (or until the `maxmemory-eviction-tenacity` time limit, after which the
//! cron goes on), and logs each eviction as DEL (UNLINK when lazy) through
//! the same propagation step as every write.
//!
//! Several workers check and write at once, so used memory may pass
//! `maxmemory` by what the commands in flight allocate between their check
//! and their write, plus the allocation counter's per-thread lag
//! (`ferrokv_util::alloc::FLUSH_AT` per thread); docs/memory.md states the
//! slack.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferrokv_commands::{argv, Effects};
use ferrokv_storage::evict::Eviction;
use ferrokv_storage::MaxmemoryPolicy;

use crate::config::Config;
use crate::propagate::Propagator;
use crate::server::Server;

/// Redis's `shared.oomerr`.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The eviction directives, as the hot config keeps them.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub policy: MaxmemoryPolicy,
    pub samples: usize,
    pub tenacity: u64,
    pub lazy: bool,
    pub replica_ignores: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from(&Config::default())
    }
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Settings {
            policy: c.maxmemory_policy,
            samples: c.maxmemory_samples as usize,
            tenacity: c.maxmemory_eviction_tenacity,
            lazy: c.lazyfree_lazy_eviction,
            replica_ignores: c.replica_ignore_maxmemory,
        }
    }
}

/// What an eviction run achieved (Redis's EVICT_OK / RUNNING / FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit (or no limit applies).
    Ok,
    /// Still over, but evicting: out of time, or another thread holds the
    /// keyspace. Commands are not refused.
    Running,
    /// Over, and nothing can be evicted: DENYOOM commands are refused.
    Fail,
}

/// Redis's `evictionTimeLimitUs`: 50 µs per step of tenacity up to 10
/// (500 µs by default), then growing 15% a step, unlimited at 100.
fn time_limit(tenacity: u64) -> Duration {
    match tenacity {
        0..=10 => Duration::from_micros(50 * tenacity),
        11..=99 => Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64),
        _ => Duration::MAX,
    }
}

/// Memory that counts against `maxmemory`.
pub fn used() -> u64 {
    ferrokv_util::alloc::used_memory() as u64
}

/// Evicts until memory is under `maxmemory`, as far as policy and the time
/// limit allow. Cheap when there is no limit or memory is under it: one
/// load and the allocation count.
pub fn perform(server: &Server) -> Outcome {
    let max = server.hot.maxmemory.load(Ordering::Relaxed);
    if max == 0 || used() <= max {
        return Outcome::Ok;
    }
    let settings = *server.hot.eviction.lock();
    if settings.replica_ignores && server.repl.is_replica() {
        return Outcome::Ok;
    }
    if settings.policy == MaxmemoryPolicy::NoEviction {
        return Outcome::Fail;
    }
    let started = Instant::now();
    let limit = time_limit(settings.tenacity);
    let propagator = Propagator::new(server);
    let collect = propagator.collects(false, false);
    let mut evicted = 0u64;
    let outcome = loop {
        if used() <= max {
            break Outcome::Ok;
        }
        let deleted = server.store.evict_one(settings.policy, settings.samples, |db, key| {
            let mut effects = Effects::new(collect);
            effects.event(propagator.notify(), ferrokv_storage::events::EVICTED, db, "evicted", key);
            effects.push(db, argv![if settings.lazy { "UNLINK" } else { "DEL" }, key]);
            effects.invalidated.push(key.clone());
            propagator.log(&effects, true, None);
        });
        let entry = match deleted {
            Eviction::Evicted(_, _, entry) => entry,
            Eviction::NoCandidate => break Outcome::Fail,
            Eviction::KeyspaceBusy => break Outcome::Running,
        };
        if settings.lazy {
            server.store.lazyfree.free(entry);
        } else {
            drop(entry);
        }
        evicted += 1;
        if evicted.is_multiple_of(16) && started.elapsed() > limit {
            break Outcome::Running;
        }
    };
    let ms = started.elapsed().as_millis() as u64;
    let threshold = server.hot.latency_threshold.load(Ordering::Relaxed);
    if threshold > 0 && ms >= threshold {
        server.latency.record("eviction-cycle", ms);
    }
    outcome
}

/// `maxmemory-clients`: while every client's memory together is over the
/// limit, the client using the most is disconnected and logged (Redis
/// evicts from its biggest memory bucket first), never one that asked for
/// CLIENT NO-EVICT, a replica or the primary's link. Cheap while under.
pub fn evict_clients(server: &Server) {
    use crate::net::client::kind;
    let limit = server.hot.maxmemory_clients.load(Ordering::Relaxed);
    if limit == 0 || server.clients_memory.load(Ordering::Relaxed) <= limit {
        return;
    }
    let clients = server.clients.lock();
    while server.clients_memory.load(Ordering::Relaxed) > limit {
        let exempt = kind::NO_EVICT | kind::REPLICA | kind::MASTER;
        let victim =
            clients.values().filter(|c| !c.has(exempt) && c.memory.total.load(Ordering::Relaxed) > 0).max_by_key(|c| c.memory.total.load(Ordering::Relaxed));
        let Some(victim) = victim else { break };
        tracing::warn!("Evicting client: {}", crate::admin::client::describe(victim));
        victim.memory.release(&server.clients_memory);
        server.stats.evicted_clients.fetch_add(1, Ordering::Relaxed);
        victim.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_as_redis() {
        assert_eq!(time_limit(0), Duration::ZERO);
        assert_eq!(time_limit(10), Duration::from_micros(500));
        assert_eq!(time_limit(11), Duration::from_micros(575));
        assert_eq!(time_limit(100), Duration::MAX);
    }
}
