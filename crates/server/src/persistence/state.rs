//! The persistence state the node keeps between saves: when the last save
//! ran and how it ended, the running BGSAVE, and whether writes are refused
//! with -MISCONF.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::config::Config;
use crate::server::Server;

/// Snapshot bookkeeping, for LASTSAVE and INFO persistence.
#[derive(Default, Debug)]
pub struct Persistence {
    /// Unix seconds of the last successful save (start-up time until then).
    pub last_save: AtomicU64,
    pub saves: AtomicU64,
    pub last_load_keys_loaded: AtomicU64,
    pub last_load_keys_expired: AtomicU64,
    /// Unix seconds of the last attempt and whether it failed, so a failing
    /// save point retries every few seconds instead of every cron tick.
    pub last_try: AtomicU64,
    pub last_failed: AtomicBool,
    /// When the running BGSAVE started (INFO's rdb_current_bgsave_time_sec).
    pub bgsave_started: Mutex<Option<Instant>>,
    pub last_bgsave_secs: std::sync::atomic::AtomicI64,
    pub last_bgsave_failed: AtomicBool,
    /// BGSAVE SCHEDULE while another snapshot ran: the cron starts it.
    pub bgsave_scheduled: AtomicBool,
    /// A BGSAVE was started and has not finished (set by whoever starts it,
    /// so a second BGSAVE right after the first is refused).
    pub bgsave_running: AtomicBool,
    /// Writes are refused with -MISCONF (the last BGSAVE failed and
    /// `stop-writes-on-bgsave-error` is on with save points configured).
    pub misconf: AtomicBool,
}

impl Persistence {
    pub fn set_bgsave_status(&self, ok: bool, server: &Server) {
        self.last_failed.store(!ok, Ordering::Relaxed);
        self.last_bgsave_failed.store(!ok, Ordering::Relaxed);
        self.update_misconf(&server.config.read());
    }

    pub fn update_misconf(&self, c: &Config) {
        let on = self.last_bgsave_failed.load(Ordering::Relaxed) && c.stop_writes_on_bgsave_error && !c.save.is_empty();
        self.misconf.store(on, Ordering::Relaxed);
    }
}
