//! Living under an init system as Redis does: `daemonize` (fork, detach,
//! write a pid file) and `supervised` (tell systemd we are ready, or stop
//! ourselves for upstart).

use std::os::unix::net::UnixDatagram;

use crate::config::Config;

/// Where a daemon without `pidfile` writes its pid, as Redis's
/// `/var/run/redis.pid`.
pub const DEFAULT_PIDFILE: &str = "/var/run/ferrokv.pid";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervisor {
    None,
    Systemd,
    Upstart,
}

/// `supervised`, with `auto` resolved from the environment as Redis does.
pub fn supervisor(config: &Config) -> Supervisor {
    match config.value("supervised").as_str() {
        "systemd" => Supervisor::Systemd,
        "upstart" => Supervisor::Upstart,
        "auto" if std::env::var_os("UPSTART_JOB").is_some() => Supervisor::Upstart,
        "auto" if std::env::var_os("NOTIFY_SOCKET").is_some() => Supervisor::Systemd,
        _ => Supervisor::None,
    }
}

/// Whether to fork into the background: `daemonize yes`, unless a
/// supervisor runs us (it wants the process it started).
pub fn background(config: &Config) -> bool {
    config.value("daemonize") == "yes" && supervisor(config) == Supervisor::None
}

/// Forks; the parent exits 0, the child leaves the terminal's session with
/// standard streams on /dev/null. Call before any thread starts.
pub fn daemonize() {
    // SAFETY: called while the process is single-threaded (before the
    // runtime); the child only continues Rust code, the parent exits.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("fork failed: {}", std::io::Error::last_os_error());
                std::process::exit(1);
            }
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
}

/// Redis's start-up line about the supervisor.
pub fn announce(s: Supervisor) {
    match s {
        Supervisor::Systemd => {
            tracing::info!("supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.")
        }
        Supervisor::Upstart => tracing::info!("supervised by upstart, will stop to signal readiness."),
        Supervisor::None => {}
    }
}

/// Signals readiness once the node accepts connections.
pub fn ready(s: Supervisor) {
    match s {
        Supervisor::Systemd => notify_systemd("STATUS=Ready to accept connections\nREADY=1\n"),
        Supervisor::Upstart => {
            std::env::remove_var("UPSTART_JOB");
            // SAFETY: stopping ourselves is how upstart's `expect stop` learns we are ready.
            unsafe { libc::raise(libc::SIGSTOP) };
        }
        Supervisor::None => {}
    }
}

/// Tells systemd we are stopping (Redis sends the same at shutdown).
pub fn stopping(s: Supervisor) {
    if s == Supervisor::Systemd {
        notify_systemd("STOPPING=1\n");
    }
}

fn notify_systemd(message: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        tracing::warn!("systemd supervision requested or auto-detected, but NOTIFY_SOCKET environment variable is not set!");
        return;
    };
    let sent = UnixDatagram::unbound().and_then(|sock| {
        let bytes = path.as_encoded_bytes();
        // A leading '@' names a socket in the abstract namespace.
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(message.as_bytes(), &addr)
        } else {
            sock.send_to(message.as_bytes(), &path)
        }
    });
    if let Err(e) = sent {
        tracing::warn!("Can't send notification to systemd: {e}");
    }
}
