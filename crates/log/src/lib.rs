//! Logging with Redis's face. Code logs through `tracing`; this crate
//! turns each event into the line Redis 7.0 would write:
//!
//! ```text
//! 1234:M 05 Dec 2026 19:41:44.668 * Ready to accept connections
//! ```
//!
//! (pid, role, local time, level character, message), or one JSON object
//! per line for log pipelines. Redis's levels map onto tracing's: debug is
//! TRACE, verbose DEBUG, notice INFO, warning WARN (and ERROR).

mod line;
mod syslog;

pub use syslog::FACILITY_NAMES as SYSLOG_FACILITIES;

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use tracing::Level;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub use line::{redis_line, Record};

/// Redis's `loglevel`, plus `nothing` (no logging at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Debug,
    Verbose,
    Notice,
    Warning,
    Nothing,
}

impl Verbosity {
    fn from_u8(v: u8) -> Verbosity {
        match v {
            0 => Verbosity::Debug,
            1 => Verbosity::Verbose,
            2 => Verbosity::Notice,
            3 => Verbosity::Warning,
            _ => Verbosity::Nothing,
        }
    }

    fn shows(self, level: &Level) -> bool {
        let rank = match *level {
            Level::TRACE => Verbosity::Debug,
            Level::DEBUG => Verbosity::Verbose,
            Level::INFO => Verbosity::Notice,
            Level::WARN | Level::ERROR => Verbosity::Warning,
        };
        self != Verbosity::Nothing && rank as u8 >= self as u8
    }
}

/// The role character after the pid: `M` primary, `S` replica, `X`
/// sentinel (Redis's `C` is a forked child; ferrokv forks none).
pub mod role {
    pub const PRIMARY: u8 = b'M';
    pub const REPLICA: u8 = b'S';
    pub const SENTINEL: u8 = b'X';
}

static LOGFILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static ROLE: AtomicU8 = AtomicU8::new(role::PRIMARY);
static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Notice as u8);

/// Changes the role shown on every later line (REPLICAOF, failover).
pub fn set_role(role: u8) {
    ROLE.store(role, Ordering::Relaxed);
}

/// Changes the level at run time (CONFIG SET loglevel).
pub fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Redis,
    Json,
}

/// The line format chosen at start-up.
pub fn format() -> Format {
    if JSON.load(Ordering::Relaxed) {
        Format::Json
    } else {
        Format::Redis
    }
}

/// Where and how lines go.
#[derive(Debug, Clone)]
pub struct Options {
    pub verbosity: Verbosity,
    /// Empty: standard output. Otherwise the file is opened for each line,
    /// as Redis does, so a log rotated away is recreated.
    pub logfile: String,
    /// `syslog-enabled` with `syslog-ident` and `syslog-facility`.
    pub syslog: Option<(String, String)>,
    pub format: Format,
    pub role: u8,
}

/// Whether `logfile` can be written; checked before start-up goes on, as
/// Redis refuses to start with a log file it cannot open.
pub fn check_logfile(path: &str) -> std::io::Result<()> {
    if path.is_empty() {
        return Ok(());
    }
    std::fs::OpenOptions::new().create(true).append(true).open(path).map(drop)
}

/// Installs the subscriber. `RUST_LOG`, when set, filters instead of
/// `loglevel` (for debugging ferrokv itself).
pub fn init(options: Options) {
    set_role(options.role);
    set_verbosity(options.verbosity);
    let _ = LOGFILE.set(options.logfile.clone());
    JSON.store(options.format == Format::Json, Ordering::Relaxed);
    if let Some((ident, facility)) = &options.syslog {
        syslog::open(ident, facility);
    }
    let layer = RedisLayer { logfile: options.logfile, format: options.format, syslog: options.syslog.is_some() };
    match std::env::var("RUST_LOG").ok().and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok()) {
        Some(filter) => tracing_subscriber::registry().with(layer.with_filter(filter)).init(),
        None => {
            // Libraries (HTTP/2, gRPC) speak only for errors: their
            // internals are not the operator's language.
            let by_level = tracing_subscriber::filter::filter_fn(|meta| {
                let ours = meta.target().starts_with("ferrokv");
                (ours || *meta.level() == Level::ERROR) && Verbosity::from_u8(VERBOSITY.load(Ordering::Relaxed)).shows(meta.level())
            });
            tracing_subscriber::registry().with(layer.with_filter(by_level)).init()
        }
    }
}

struct RedisLayer {
    logfile: String,
    format: Format,
    syslog: bool,
}

impl<S: tracing::Subscriber> Layer<S> for RedisLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let record = Record::of(event, ROLE.load(Ordering::Relaxed));
        if self.syslog {
            syslog::send(event.metadata().level(), &record.text());
        }
        let line = match self.format {
            Format::Redis => redis_line(&record),
            Format::Json => record.json(),
        };
        write_line(&self.logfile, line.as_bytes());
    }
}

/// Text written as it is, without a line prefix (the logo), where lines go.
pub fn raw(text: &str) {
    if VERBOSITY.load(Ordering::Relaxed) <= Verbosity::Notice as u8 {
        write_line(LOGFILE.get().map_or("", |s| s.as_str()), text.as_bytes());
    }
}

/// One `write` per line, so lines from several threads never interleave.
fn write_line(logfile: &str, line: &[u8]) {
    if logfile.is_empty() {
        let _ = std::io::stdout().lock().write_all(line);
        return;
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(logfile) {
        let _ = f.write_all(line);
    }
}
