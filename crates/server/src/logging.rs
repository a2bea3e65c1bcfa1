//! The node's logging set-up: `loglevel`, `logfile` and `syslog-*` turned
//! into [`ferrokv_log::Options`]; lines in Redis's format (or JSON).

use crate::config::{Config, LogLevel};

pub fn verbosity(level: LogLevel) -> ferrokv_log::Verbosity {
    match level {
        LogLevel::Debug => ferrokv_log::Verbosity::Debug,
        LogLevel::Verbose => ferrokv_log::Verbosity::Verbose,
        LogLevel::Notice => ferrokv_log::Verbosity::Notice,
        LogLevel::Warning => ferrokv_log::Verbosity::Warning,
        LogLevel::Nothing => ferrokv_log::Verbosity::Nothing,
    }
}

/// Installs logging; a log file that cannot be opened stops start-up, as
/// Redis does.
pub fn init(config: &Config, format: ferrokv_log::Format) {
    if let Err(e) = ferrokv_log::check_logfile(&config.logfile) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    let syslog = (config.value("syslog-enabled") == "yes").then(|| (config.value("syslog-ident"), config.value("syslog-facility")));
    let role = if config.replicaof.is_some() { ferrokv_log::role::REPLICA } else { ferrokv_log::role::PRIMARY };
    ferrokv_log::init(ferrokv_log::Options { verbosity: verbosity(config.loglevel), logfile: config.logfile.clone(), syslog, format, role });
}

/// The first lines, before the configuration is acted on, as Redis
/// writes them (its version line names ours and the Redis it matches).
pub fn banner(config_file: Option<&std::path::Path>) {
    tracing::warn!("oO0OoO0OoO0Oo ferrokv is starting oO0OoO0OoO0Oo");
    tracing::warn!(
        "ferrokv version={}, redis_version={}, bits={}, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        crate::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    match config_file {
        Some(_) => tracing::warn!("Configuration loaded"),
        None => tracing::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use ferrokv-server /path/to/ferrokv.conf"
        ),
    }
}

/// Redis's mode line, or the logo when `always-show-logo` is on or the
/// output is a terminal.
pub fn running(config: &Config) {
    use std::io::IsTerminal;
    let mode = if config.replicaof.is_some() { "replica" } else { "standalone" };
    let logo = ferrokv_log::format() == ferrokv_log::Format::Redis
        && (config.value("always-show-logo") == "yes" || (config.logfile.is_empty() && std::io::stdout().is_terminal()));
    if !logo {
        tracing::info!("Running mode={mode}, port={}.", config.port);
        return;
    }
    let version = format!("ferrokv {} (Redis {} compatible) {} bit", env!("CARGO_PKG_VERSION"), crate::REDIS_VERSION, usize::BITS);
    let lines = [
        String::new(),
        format!("        ______          {version}"),
        "       / ____ \\".to_string(),
        format!("      | |    | |        Running in {mode} mode"),
        format!("      | |____| |        Port: {}", config.port),
        format!("      |  ____  |        PID: {}", std::process::id()),
        "      | |    | |".to_string(),
        "      |_|    |_|".to_string(),
        String::new(),
    ];
    ferrokv_log::raw(&(lines.join("\n") + "\n"));
}
