//! The clock commands are timed with (INFO commandstats, SLOWLOG, LATENCY).
//!
//! Why not `Instant`: every command reads the clock twice, as Redis's
//! `call` does, and on this kind of machine a vDSO `clock_gettime` was 6%
//! of a PING's CPU time (`perf`; Redis pays the same in `gettimeofday`).
//! `quanta` reads the TSC where it is invariant (calibrated against the
//! monotonic clock once) and falls back to the monotonic clock elsewhere.

use std::sync::LazyLock;

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// A point in time, only meaningful to [`usec_since`].
#[derive(Clone, Copy)]
pub struct Stamp(u64);

pub fn now() -> Stamp {
    Stamp(CLOCK.raw())
}

/// Whole microseconds since `start` (zero if the clock went back, which a
/// thread moved between cores with unsynchronised counters could see).
pub fn usec_since(start: Stamp) -> u64 {
    let end = CLOCK.raw();
    CLOCK.delta_as_nanos(start.0, end.max(start.0)) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep_in_microseconds() {
        let start = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let us = usec_since(start);
        // Bounded below by the sleep; the upper bound only rules out a
        // wrong unit (a loaded machine may oversleep a lot).
        assert!((20_000..20_000_000).contains(&us), "{us}");
    }
}
