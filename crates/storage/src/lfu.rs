//! Redis's LFU counter in the 24 bits of `Entry::lru`: 16 bits of minutes
//! (last decrement time) and an 8-bit logarithmic counter.

use std::sync::atomic::{AtomicU32, Ordering};

use rand::Rng;

use crate::keyspace::lru_clock;

/// Counter of a new key (LFU_INIT_VAL), so it is not evicted at once.
const INIT_VAL: u32 = 5;
/// `lfu-log-factor` and `lfu-decay-time` (Redis's defaults 10 and 1):
/// process-wide, as in Redis, so every lookup reads them without a lock.
static LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static DECAY_MINUTES: AtomicU32 = AtomicU32::new(1);

/// Applies `lfu-log-factor` and `lfu-decay-time`.
pub fn configure(log_factor: u32, decay_minutes: u32) {
    LOG_FACTOR.store(log_factor, Ordering::Relaxed);
    DECAY_MINUTES.store(decay_minutes, Ordering::Relaxed);
}

fn minutes() -> u32 {
    (lru_clock() / 60) & 0xffff
}

pub fn initial() -> u32 {
    (minutes() << 8) | INIT_VAL
}

/// Data for a key restored with an explicit counter (RESTORE … FREQ).
pub fn with_counter(counter: u32) -> u32 {
    (minutes() << 8) | (counter & 0xff)
}

/// The counter after decay (what `OBJECT FREQ` reports).
pub fn frequency(data: u32) -> u32 {
    let ldt = data >> 8;
    let counter = data & 0xff;
    let now = minutes();
    let elapsed = if now >= ldt { now - ldt } else { 0xffff - ldt + now };
    // A decay time of 0 never decays (Redis's lfu_decay_time == 0).
    let periods = match DECAY_MINUTES.load(Ordering::Relaxed) {
        0 => 0,
        d => elapsed / d,
    };
    counter.saturating_sub(periods)
}

/// Data after one access: decay, then a probabilistic increment.
pub fn accessed(data: u32) -> u32 {
    let mut counter = frequency(data);
    if counter < 255 {
        let base = counter.saturating_sub(INIT_VAL) as f64;
        let p = 1.0 / (base * LOG_FACTOR.load(Ordering::Relaxed) as f64 + 1.0);
        if rand::rng().random::<f64>() < p {
            counter += 1;
        }
    }
    (minutes() << 8) | counter
}
