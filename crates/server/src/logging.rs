//! Logs go to stdout (or `logfile`), filtered by `loglevel`, through
//! `tracing`; RUST_LOG overrides the level for debugging.

use crate::config::{Config, LogLevel};

pub fn init(config: &Config) {
    let level = match config.loglevel {
        LogLevel::Debug => "debug",
        LogLevel::Verbose => "info",
        LogLevel::Notice => "info",
        LogLevel::Warning => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if config.logfile.is_empty() {
        builder.init();
    } else {
        match std::fs::OpenOptions::new().create(true).append(true).open(&config.logfile) {
            Ok(file) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).init(),
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                std::process::exit(1);
            }
        }
    }
}
