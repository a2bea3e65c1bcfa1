//! The periodic work Redis does in `serverCron`, at `hz` times a second:
//! active expiry (with a quarter of each period as its budget, like Redis's
//! slow cycle), eviction left over, `save` points, and lifting an expired
//! CLIENT PAUSE.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrokv_commands::Effects;

use crate::propagate::Propagator;
use crate::server::Server;

pub async fn run(server: Arc<Server>) {
    let mut stop = server.shutdown_signal();
    let mut sample = (Instant::now(), 0u64);
    let mut last_fsync = Instant::now();
    let mut no_replicas_since = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        let hz = server.config.read().hz.max(1);
        let period = Duration::from_millis(1000 / hz);
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if server.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        if server.tracking.clients() > 0 {
            let max_keys = server.config.read().tracking_table_max_keys as usize;
            server.tracking.limit(&server, max_keys);
        }
        // Replicas never expire keys themselves: the primary's DELs do. Nor
        // does a primary while writes are paused (a failover waits for its
        // offset to hold still), as Redis's pause stops expiry too.
        if server.active_expire.load(Ordering::Relaxed) && !server.repl.is_replica() && !server.pause.active.load(Ordering::Acquire) {
            let server2 = server.clone();
            // Expiry takes shard locks; keep it off the async workers' hot loop.
            let _ = tokio::task::spawn_blocking(move || {
                let propagator = Propagator::new(&server2);
                server2.store.active_expire_cycle(period / 4, |db, key| {
                    // Logged under the key's shard, like any write. A
                    // failed AOF write refuses later writes (see aof.rs).
                    let mut effects = Effects::new(true);
                    effects.event(propagator.notify(), ferrokv_storage::events::EXPIRED, db, "expired", key);
                    effects.expired(db, key.clone());
                    effects.invalidated.push(key.clone());
                    propagator.log(&effects, true, None);
                })
            })
            .await;
        }
        evict_over_the_limit(&server).await;
        let scheduled = server.persistence.bgsave_scheduled.load(Ordering::Relaxed);
        // In the background, as Redis's save points: clients keep being
        // served while it runs.
        if !crate::persistence::bgsave::in_progress(&server) && (scheduled || crate::persistence::snapshot::save_point_due(&server)) {
            server.persistence.bgsave_scheduled.store(false, Ordering::Relaxed);
            crate::persistence::bgsave::spawn_bgsave(&server);
        }
        aof_duties(&server, &mut last_fsync);
        ferrokv_storage::refresh_lru_clock();
        lift_expired_pause(&server);
        expire_backlog(&server, &mut no_replicas_since);
        ping_replicas(&server, &mut last_ping);
        sample = sample_ops(&server, sample);
    }
}

/// Every `repl-ping-replica-period` seconds a PING goes down the stream,
/// except while writes are paused (CLIENT PAUSE, a failover or shutdown
/// waiting for replicas to catch up: the offset must hold still, as Redis's).
fn ping_replicas(server: &Server, last_ping: &mut Instant) {
    let period = server.config.read().repl_ping_replica_period.max(1);
    if last_ping.elapsed() < Duration::from_secs(period) {
        return;
    }
    *last_ping = Instant::now();
    if !server.pause.active.load(Ordering::Acquire) {
        server.repl.ping_replicas();
    }
}

/// `repl-backlog-ttl`: a primary left without replicas that long frees
/// its backlog (a replica keeps its own: it may be promoted).
fn expire_backlog(server: &Server, no_replicas_since: &mut Instant) {
    let repl = &server.repl;
    if !repl.replicas.lock().is_empty() || !repl.logging() {
        *no_replicas_since = Instant::now();
        return;
    }
    let ttl = server.config.read().repl_backlog_ttl;
    if ttl == 0 || repl.is_replica() || no_replicas_since.elapsed() <= Duration::from_secs(ttl) {
        return;
    }
    repl.with_log(|log| log.free_backlog());
    *no_replicas_since = Instant::now();
    tracing::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
}

/// Redis's eviction time proc: commands evict before they run, but when
/// one ran out of time (or none is coming), memory still goes back under
/// `maxmemory` here.
async fn evict_over_the_limit(server: &Arc<Server>) {
    let max = server.hot.maxmemory.load(Ordering::Relaxed);
    if max == 0 || crate::evict::used() <= max {
        return;
    }
    let s = server.clone();
    let _ = tokio::task::spawn_blocking(move || crate::evict::perform(&s)).await;
}

/// `appendfsync everysec`, and `auto-aof-rewrite-percentage`/`-min-size`.
fn aof_duties(server: &Arc<Server>, last_fsync: &mut Instant) {
    if !server.aof.enabled() {
        return;
    }
    if last_fsync.elapsed() >= Duration::from_secs(1) {
        *last_fsync = Instant::now();
        let s = server.clone();
        tokio::task::spawn_blocking(move || {
            s.aof.retry_failed_write();
            s.aof.fsync_if_needed();
        });
    }
    let (pct, min) = {
        let c = server.config.read();
        (c.auto_aof_rewrite_percentage, c.auto_aof_rewrite_min_size.max(0) as u64)
    };
    let base = server.aof.base_size.load(Ordering::Relaxed).max(1);
    let incr = server.aof.current_size.load(Ordering::Relaxed);
    if pct > 0 && base + incr >= min && incr * 100 / base >= pct && !server.aof.rewrite_running.load(Ordering::Relaxed) {
        tracing::info!("Starting automatic rewriting of AOF on {}% growth", incr * 100 / base);
        crate::persistence::aof::spawn_rewrite(server);
    }
}

fn lift_expired_pause(server: &Server) {
    server.pause.release_expired();
}

/// Refreshes INFO's instantaneous_ops_per_sec about once a second.
fn sample_ops(server: &Server, (at, count): (Instant, u64)) -> (Instant, u64) {
    let elapsed = at.elapsed();
    if elapsed < Duration::from_secs(1) {
        return (at, count);
    }
    let now = server.stats.commands_processed.get();
    let rate = (now.saturating_sub(count) as f64 / elapsed.as_secs_f64()) as u64;
    server.ops_per_sec.store(rate, Ordering::Relaxed);
    (Instant::now(), now)
}
