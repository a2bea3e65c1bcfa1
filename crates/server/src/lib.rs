//! One ferrokv node: connections, the command table (the data families of
//! `ferrokv-commands` and the admin families here), configuration and INFO. The binary (`ferrokv-server`) only parses its
//! arguments and calls [`run`]; tests can [`server::start`] a node in-process.

pub mod acl;
pub mod admin;
pub mod blocking;
pub mod clock;
pub mod command;
pub mod config;
mod cron;
pub mod ctx;
pub mod digest;
pub mod dispatch;
pub mod evict;
pub mod failover;
pub mod histogram;
pub mod info;
pub mod latency;
pub mod logging;
pub mod memtest;
pub mod net;
pub mod panics;
pub mod persistence;
pub mod propagate;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod shutdown;
pub mod slowlog;
pub mod supervise;
pub mod tracking;

pub use ferrokv_commands::{args, errors};
pub use server::{start, Handle, Server, StartError};

/// Counted, so `used_memory` (INFO, `maxmemory`) costs one load.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: ferrokv_util::alloc::Counting<tikv_jemallocator::Jemalloc> =
    ferrokv_util::alloc::Counting::new(tikv_jemallocator::Jemalloc, ferrokv_util::alloc::jemalloc_size_class);

#[cfg(not(feature = "jemalloc"))]
#[global_allocator]
static ALLOCATOR: ferrokv_util::alloc::Counting<std::alloc::System> =
    ferrokv_util::alloc::Counting::new(std::alloc::System, ferrokv_util::alloc::glibc_size_class);

/// The Redis version whose behaviour this node reproduces; reported where
/// Redis reports its own version (INFO, HELLO) so clients pick the right
/// features. `ferrokv_version` in INFO carries ours.
pub const REDIS_VERSION: &str = "7.0.15";

/// Runs a node until SIGTERM, SIGINT or SHUTDOWN.
pub async fn run(loaded: config::Loaded) -> Result<(), StartError> {
    let daemonized = supervise::background(&loaded.config);
    let mut pidfile = loaded.config.pidfile.clone();
    if pidfile.is_empty() && daemonized {
        pidfile = supervise::DEFAULT_PIDFILE.into();
    }
    let supervisor = supervise::supervisor(&loaded.config);
    supervise::announce(supervisor);
    config::log_ignored(&loaded.config);
    let handle = start(loaded).await?;
    if !pidfile.is_empty() {
        // As Redis's createPidFile: a failure is logged, not fatal.
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            tracing::warn!("Failed to write PID file: {e}");
        }
    }
    supervise::ready(supervisor);
    let server = handle.server.clone();
    tokio::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return,
        };
        loop {
            let flags = tokio::select! {
                _ = term.recv() => {
                    tracing::warn!("Received SIGTERM scheduling shutdown...");
                    "shutdown-on-sigterm"
                }
                _ = tokio::signal::ctrl_c() => {
                    tracing::warn!("Received SIGINT scheduling shutdown...");
                    "shutdown-on-sigint"
                }
            };
            let req = shutdown::Request::from_flags(&server.config.read().value(flags));
            if shutdown::on_signal(&server, req).await {
                break;
            }
        }
        server.shutdown();
    });
    handle.wait().await;
    supervise::stopping(supervisor);
    if !pidfile.is_empty() {
        tracing::info!("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    tracing::warn!("ferrokv is now ready to exit, bye bye...");
    Ok(())
}

#[cfg(all(test, feature = "jemalloc"))]
mod tests {
    /// The counting allocator's size classes are jemalloc's own.
    #[test]
    fn size_classes_match_jemalloc() {
        for size in (1..70_000).chain([1 << 20, (1 << 20) + 1, 3 << 20]) {
            for align in [1usize, 8, 16] {
                let flags = if align <= 16 && align <= size { 0 } else { align.trailing_zeros() as i32 };
                // SAFETY: nallocx only computes a size class.
                let real = unsafe { tikv_jemalloc_sys::nallocx(size, flags) };
                assert_eq!(ferrokv_util::alloc::jemalloc_size_class(size, align), real, "size {size} align {align}");
            }
        }
    }
}
