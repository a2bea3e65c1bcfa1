//! The node: shared state, listeners, the periodic cron, and shutdown.
//!
//! Entry point for the binary and for in-process tests: [`start`] binds the
//! configured listeners and returns a [`Handle`]; [`Handle::wait`] resolves
//! when the server has shut down (SIGTERM, SHUTDOWN, or [`Handle::shutdown`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrokv_storage::{Counter, Store};
use parking_lot::{Mutex, RwLock};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{oneshot, watch, Notify};
use tracing::{info, warn, Instrument};

use crate::command::Table;
use crate::config::{Config, Loaded};
use crate::net::client::ClientShared;
use crate::persistence::Persistence;
use crate::pubsub::PubSub;
use crate::slowlog::SlowLog;

/// Counters INFO stats reports (beyond the keyspace's own).
#[derive(Default)]
pub struct ServerStats {
    pub connections_received: AtomicU64,
    pub commands_processed: Counter,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub error_replies: AtomicU64,
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Clients disconnected under `maxmemory-clients` (INFO's evicted_clients).
    pub evicted_clients: AtomicU64,
    pub errors: Mutex<HashMap<String, u64>>,
}

impl ServerStats {
    /// Redis keeps at most 128 distinct error codes in errorstats.
    pub fn count_error(&self, code: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock();
        if let Some(n) = errors.get_mut(code) {
            *n += 1;
        } else if errors.len() < 128 {
            errors.insert(code.to_string(), 1);
        }
    }

    /// One write of `n` bytes to a client (INFO's total_net_output_bytes
    /// and total_writes_processed), whoever made it.
    pub fn wrote(&self, n: usize) {
        self.net_output_bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.writes_processed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.rejected_connections,
            &self.error_replies,
            &self.reads_processed,
            &self.writes_processed,
            &self.evicted_clients,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.commands_processed.reset();
        self.errors.lock().clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseMode {
    All,
    Write,
}

fn stricter(a: PauseMode, b: PauseMode) -> PauseMode {
    if a == PauseMode::All || b == PauseMode::All {
        PauseMode::All
    } else {
        PauseMode::Write
    }
}

/// Config values read on every request, copied out of the config lock so
/// the hot path touches no shared lock. Refreshed on every CONFIG SET.
#[derive(Default)]
pub struct HotConfig {
    pub lfu: AtomicBool,
    /// What eviction reads (see `evict`): `maxmemory` is checked before
    /// every command, the rest only while over it.
    pub maxmemory: AtomicU64,
    /// `maxmemory-clients` in bytes (a percentage resolved against
    /// `maxmemory`; 0: no limit).
    pub maxmemory_clients: AtomicUsize,
    pub eviction: Mutex<crate::evict::Settings>,
    /// The keyspace event classes raised (0 unless published: see
    /// `ferrokv_storage::events::effective`).
    pub notify: std::sync::atomic::AtomicU32,
    /// What the data commands read.
    pub limits: ferrokv_commands::Limits,
    pub query_buffer_limit: std::sync::atomic::AtomicI64,
    pub slowlog_slower_than: std::sync::atomic::AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    pub latency_threshold: AtomicU64,
    /// `latency-tracking`: each command's duration goes to its histogram.
    pub latency_tracking: AtomicBool,
    pub timeout: AtomicU64,
    pub replica_read_only: AtomicBool,
    pub replica_serve_stale_data: AtomicBool,
    pub min_replicas_to_write: AtomicU64,
    pub min_replicas_max_lag: AtomicU64,
}

impl HotConfig {
    /// Copies the hot values, and the encoding thresholds into the store.
    pub fn load_all(&self, c: &Config, store: &Store) {
        self.load(c);
        store.limits.hash_max_listpack_entries.store(c.hash_max_listpack_entries as usize, Ordering::Relaxed);
        store.limits.hash_max_listpack_value.store(c.hash_max_listpack_value as usize, Ordering::Relaxed);
        store.limits.set_max_intset_entries.store(c.set_max_intset_entries as usize, Ordering::Relaxed);
        store.limits.zset_max_listpack_entries.store(c.zset_max_listpack_entries as usize, Ordering::Relaxed);
        store.limits.zset_max_listpack_value.store(c.zset_max_listpack_value as usize, Ordering::Relaxed);
        store.limits.list_max_listpack_size.store(c.list_max_listpack_size, Ordering::Relaxed);
        store.limits.list_compress_depth.store(c.list_compress_depth as usize, Ordering::Relaxed);
        store.limits.stream_node_max_bytes.store(c.stream_node_max_bytes as usize, Ordering::Relaxed);
        store.limits.stream_node_max_entries.store(c.stream_node_max_entries as usize, Ordering::Relaxed);
        let policy = &store.lazyfree.policy;
        let yes = |name: &str| c.value(name) == "yes";
        policy.user_del.store(yes("lazyfree-lazy-user-del"), Ordering::Relaxed);
        policy.user_flush.store(yes("lazyfree-lazy-user-flush"), Ordering::Relaxed);
        policy.server_del.store(yes("lazyfree-lazy-server-del"), Ordering::Relaxed);
        policy.expire.store(yes("lazyfree-lazy-expire"), Ordering::Relaxed);
        store.expire_effort.store(c.value("active-expire-effort").parse().unwrap_or(1), Ordering::Relaxed);
    }

    pub fn load(&self, c: &Config) {
        self.lfu.store(c.maxmemory_policy.is_lfu(), Ordering::Relaxed);
        self.maxmemory.store(c.maxmemory, Ordering::Relaxed);
        self.maxmemory_clients.store(c.maxmemory_clients.bytes(c.maxmemory) as usize, Ordering::Relaxed);
        crate::net::client::NORMAL_LIMIT.set(c.output_limits.normal);
        crate::net::client::PUBSUB_LIMIT.set(c.output_limits.pubsub);
        self.notify.store(ferrokv_storage::events::effective(c.notify_keyspace_events), Ordering::Relaxed);
        *self.eviction.lock() = crate::evict::Settings::from(c);
        ferrokv_storage::lfu::configure(c.lfu_log_factor as u32, c.lfu_decay_time as u32);
        self.limits.proto_max_bulk_len.store(c.proto_max_bulk_len, Ordering::Relaxed);
        self.limits.rdbcompression.store(c.rdbcompression, Ordering::Relaxed);
        self.limits.rdbchecksum.store(c.rdbchecksum, Ordering::Relaxed);
        self.limits.hll_sparse_max_bytes.store(c.hll_sparse_max_bytes as usize, Ordering::Relaxed);
        self.query_buffer_limit.store(c.client_query_buffer_limit, Ordering::Relaxed);
        self.slowlog_slower_than.store(c.slowlog_log_slower_than, Ordering::Relaxed);
        self.slowlog_max_len.store(c.slowlog_max_len as usize, Ordering::Relaxed);
        self.latency_threshold.store(c.latency_monitor_threshold, Ordering::Relaxed);
        self.latency_tracking.store(c.value("latency-tracking") == "yes", Ordering::Relaxed);
        self.timeout.store(c.timeout, Ordering::Relaxed);
        self.replica_read_only.store(c.replica_read_only, Ordering::Relaxed);
        self.replica_serve_stale_data.store(c.replica_serve_stale_data, Ordering::Relaxed);
        self.min_replicas_to_write.store(c.min_replicas_to_write, Ordering::Relaxed);
        self.min_replicas_max_lag.store(c.min_replicas_max_lag, Ordering::Relaxed);
    }
}

/// Paused clients (CLIENT PAUSE and the node's own pauses): until when,
/// and what each holds back.
#[derive(Default)]
pub struct Pause {
    /// Each purpose's own pause; what clients wait for is their union.
    held: Mutex<[Option<(Instant, PauseMode)>; PausePurpose::COUNT]>,
    /// Set while any purpose holds a pause: the per-command check is one load.
    pub active: AtomicBool,
    pub lifted: Notify,
}

/// Who paused writes (or everything). Each ends only its own pause, so
/// CLIENT UNPAUSE leaves a failover's in place, as Redis keeps them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausePurpose {
    /// CLIENT PAUSE.
    Client,
    /// FAILOVER, until it ends.
    Failover,
    /// SHUTDOWN waiting for lagging replicas.
    Shutdown,
    /// DEBUG LOADAOF reloading the dataset.
    Reload,
}

impl PausePurpose {
    const COUNT: usize = 4;
}

impl Pause {
    /// Holds a pause for `purpose` until `until` (a later end, or a stricter
    /// mode, wins over what that purpose already holds).
    pub fn hold(&self, purpose: PausePurpose, until: Instant, mode: PauseMode) {
        let mut held = self.held.lock();
        let slot = &mut held[purpose as usize];
        *slot = Some(match *slot {
            Some((cur_until, cur_mode)) => (cur_until.max(until), stricter(cur_mode, mode)),
            None => (until, mode),
        });
        self.active.store(true, Ordering::Release);
    }

    /// Ends `purpose`'s pause; the others stay.
    pub fn release(&self, purpose: PausePurpose) {
        let mut held = self.held.lock();
        held[purpose as usize] = None;
        self.after_release(&held[..]);
    }

    /// Ends the pauses whose time has come (the cron).
    pub fn release_expired(&self) {
        let now = Instant::now();
        let mut held = self.held.lock();
        let mut ended = false;
        for slot in held.iter_mut().filter(|h| h.is_some_and(|(until, _)| now >= until)) {
            *slot = None;
            ended = true;
        }
        if ended {
            self.after_release(&held[..]);
        }
    }

    /// After a pause ended: the one-load flag follows, and waiters look
    /// again (a pause lifted, or what remains is shorter).
    fn after_release(&self, held: &[Option<(Instant, PauseMode)>]) {
        self.active.store(held.iter().any(Option::is_some), Ordering::Release);
        self.lifted.notify_waiters();
    }

    /// How long a command with these traits must still wait, if at all:
    /// until the last of the pauses that hold it back ends (a failover's
    /// write pause does not hold reads back for as long as it lasts, even
    /// while a shorter CLIENT PAUSE ALL runs).
    pub fn remaining(&self, is_write: bool) -> Option<Duration> {
        let now = Instant::now();
        let held = self.held.lock();
        held.iter().flatten().filter(|(until, mode)| now < *until && (*mode == PauseMode::All || is_write)).map(|(until, _)| *until - now).max()
    }
}

pub struct Server {
    pub store: Store,
    pub config: RwLock<Config>,
    pub hot: HotConfig,
    pub config_file: Option<std::path::PathBuf>,
    pub commands: Table,
    /// ACL users and the ACL log.
    pub acl: crate::acl::Acl,
    pub clients: Mutex<HashMap<u64, Arc<ClientShared>>>,
    pub connected: AtomicUsize,
    next_client_id: AtomicU64,
    pub pubsub: PubSub,
    /// Client-side caching: who may cache which keys.
    pub tracking: crate::tracking::Tracking,
    pub blocking: crate::blocking::Blocking,
    pub monitors: Mutex<HashMap<u64, Arc<ClientShared>>>,
    pub monitor_count: AtomicUsize,
    pub stats: ServerStats,
    pub slowlog: SlowLog,
    pub latency: crate::latency::Monitor,
    pub pause: Pause,
    pub started: Instant,
    pub started_unix: u64,
    pub persistence: Persistence,
    /// Set (under the exclusive gate) once the final snapshot is taken: no
    /// command runs after it, so nothing acknowledged misses the dump.
    pub stopping: AtomicBool,
    pub run_id: String,
    /// Replication: history, backlog, attached replicas, the link.
    pub repl: Arc<ferrokv_replication::Replication>,
    /// Where TCP connections speaking gRPC (replica links) are handed.
    pub grpc: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<ferrokv_tls::Io>>,
    /// The append-only file.
    pub aof: crate::persistence::aof::Aof,
    /// The Lua VM and script cache, made on first use.
    pub scripts: Mutex<Option<ferrokv_scripting::Engine>>,
    /// FUNCTION's libraries (their VM made on first use).
    pub functions: Mutex<Option<ferrokv_scripting::Functions>>,
    /// Their counts, which FUNCTION STATS reads while a function runs.
    pub function_counts: Arc<ferrokv_scripting::FunctionCounts>,
    /// The running script as other connections see it (-BUSY, SCRIPT KILL).
    pub script_watchdog: Arc<ferrokv_scripting::Watchdog>,
    /// The task following our primary, while we are a replica.
    pub repl_link: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// FAILOVER's state (INFO `master_failover_state`).
    pub failover: crate::failover::Failover,
    pub active_expire: AtomicBool,
    /// DEBUG PAUSE-CRON: the periodic work stops while set.
    pub cron_paused: AtomicBool,
    pub tcp_port: AtomicUsize,
    /// The TLS port actually listened on (0: none), for INFO.
    pub tls_port: AtomicUsize,
    /// Every client's memory (`ClientShared::memory` totals), for
    /// `maxmemory-clients` and INFO's mem_clients_normal.
    pub clients_memory: AtomicUsize,
    /// Values freed in the background (lazy eviction).
    /// `used_memory` once the node was made (MEMORY STATS's startup.allocated).
    pub memory_at_startup: u64,
    /// Highest `used_memory` seen (INFO memory).
    pub memory_peak: AtomicU64,
    /// Commands per second over the last cron second (INFO stats).
    pub ops_per_sec: AtomicU64,
    shutdown_tx: watch::Sender<bool>,
    /// Running TCP listeners by local address; CONFIG SET port/bind swaps them.
    tcp_listeners: Mutex<Vec<(SocketAddr, oneshot::Sender<()>)>>,
    tls_listeners: Mutex<Vec<(SocketAddr, oneshot::Sender<()>)>>,
    /// TLS configuration (certificates, CA, protocols), reloadable.
    pub tls: crate::net::tls::Tls,
    me: std::sync::OnceLock<std::sync::Weak<Server>>,
}

impl Server {
    pub fn new(loaded: Loaded) -> Arc<Server> {
        let config = loaded.config;
        let (shutdown_tx, _) = watch::channel(false);
        let commands = Table::new(ferrokv_commands::FAMILIES, crate::admin::FAMILIES);
        let server = Arc::new(Server {
            store: Store::new(config.databases),
            acl: crate::acl::Acl::new(&commands),
            commands,
            clients: Mutex::new(HashMap::new()),
            connected: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(1),
            pubsub: PubSub::default(),
            tracking: Default::default(),
            blocking: Default::default(),
            monitors: Mutex::new(HashMap::new()),
            monitor_count: AtomicUsize::new(0),
            stats: ServerStats::default(),
            slowlog: SlowLog::default(),
            latency: crate::latency::Monitor::default(),
            pause: Pause::default(),
            started: Instant::now(),
            started_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            persistence: Persistence::default(),
            stopping: AtomicBool::new(false),
            run_id: ferrokv_util::random_hex_id(),
            repl: ferrokv_replication::Replication::new(config.repl_backlog_size.max(1) as usize),
            grpc: std::sync::OnceLock::new(),
            repl_link: Mutex::new(None),
            failover: Default::default(),
            aof: crate::persistence::aof::Aof::default(),
            scripts: Mutex::new(None),
            functions: Mutex::new(None),
            function_counts: Arc::default(),
            script_watchdog: Arc::new(ferrokv_scripting::Watchdog::new(crate::net::workers::hand_off_worker)),
            active_expire: AtomicBool::new(true),
            cron_paused: AtomicBool::new(false),
            tcp_port: AtomicUsize::new(config.port as usize),
            tls_port: AtomicUsize::new(0),
            clients_memory: AtomicUsize::new(0),
            memory_at_startup: ferrokv_util::alloc::used_memory() as u64,
            memory_peak: AtomicU64::new(0),
            ops_per_sec: AtomicU64::new(0),
            hot: {
                let hot = HotConfig::default();
                hot.load(&config);
                hot
            },
            config: RwLock::new(config),
            config_file: loaded.file,
            shutdown_tx,
            tcp_listeners: Mutex::new(Vec::new()),
            tls_listeners: Mutex::new(Vec::new()),
            tls: Default::default(),
            me: std::sync::OnceLock::new(),
        });
        let _ = server.me.set(Arc::downgrade(&server));
        server.hot.load_all(&server.config.read(), &server.store);
        server.apply_repl_config();
        let requirepass = server.config.read().requirepass.clone();
        crate::acl::set_requirepass(&server, &requirepass);
        server
    }

    /// Pushes settings that live outside the config (replication log,
    /// the MISCONF state) after a change.
    pub fn apply_repl_config(&self) {
        let c = self.config.read();
        self.aof.policy.store(c.appendfsync, Ordering::Relaxed);
        self.persistence.update_misconf(&c);
        let (hard, soft, secs) = c.output_limits.replica;
        let size = c.repl_backlog_size.max(1) as usize;
        self.repl.with_log(|log| {
            log.set_backlog_size(size);
            log.limit = ferrokv_replication::OutputLimit { hard, soft, soft_seconds: secs };
        });
    }

    /// The owning `Arc`, for handlers that start tasks.
    pub fn arc(&self) -> Arc<Server> {
        self.me.get().and_then(|w| w.upgrade()).expect("a server is always owned by an Arc while it runs")
    }

    /// Listens on every `bind` address at `port`, keeping listeners whose
    /// address is unchanged, binding new ones first and stopping the rest
    /// only when all succeeded. Must run inside the runtime.
    pub fn listen_tcp(self: &Arc<Self>, bind: &[String], port: u16) -> Result<Vec<SocketAddr>, StartError> {
        self.listen(bind, port, false)
    }

    /// As [`Server::listen_tcp`], for the TLS port (`tls-port`).
    pub fn listen_tls(self: &Arc<Self>, bind: &[String], port: u16) -> Result<Vec<SocketAddr>, StartError> {
        self.listen(bind, port, true)
    }

    fn listen(self: &Arc<Self>, bind: &[String], port: u16, tls: bool) -> Result<Vec<SocketAddr>, StartError> {
        let listeners = if tls { &self.tls_listeners } else { &self.tcp_listeners };
        let backlog = self.config.read().tcp_backlog as u32;
        let mut wanted: Vec<(SocketAddr, Option<TcpListener>)> = Vec::new();
        let current: Vec<SocketAddr> = listeners.lock().iter().map(|(a, _)| *a).collect();
        if port != 0 {
            for addr in bind {
                let (optional, host) = match addr.strip_prefix('-') {
                    Some(h) => (true, h),
                    None => (false, addr.as_str()),
                };
                let resolved = crate::net::listener::resolve(host, port).map_err(|source| StartError::Bind { addr: addr.clone(), source })?;
                if current.contains(&resolved) {
                    wanted.push((resolved, None));
                    continue;
                }
                match crate::net::listener::bind_tcp(resolved, backlog) {
                    Ok(l) => wanted.push((resolved, Some(l))),
                    Err(e) if optional => warn!("optional bind {addr} skipped: {e}"),
                    Err(source) => return Err(StartError::Bind { addr: format!("{host}:{port}"), source }),
                }
            }
        }
        let mut running = listeners.lock();
        let keep: Vec<SocketAddr> = wanted.iter().map(|(a, _)| *a).collect();
        for (addr, stop) in std::mem::take(&mut *running) {
            if keep.contains(&addr) {
                running.push((addr, stop));
            } else {
                let _ = stop.send(());
            }
        }
        for (addr, listener) in wanted {
            if let Some(l) = listener {
                let local = l.local_addr().unwrap_or(addr);
                let (tx, rx) = oneshot::channel();
                spawn_tcp(self.clone(), l, rx, tls);
                running.push((local, tx));
            }
        }
        let addrs: Vec<SocketAddr> = running.iter().map(|(a, _)| *a).collect();
        if tls {
            self.tls_port.store(addrs.first().map_or(0, |a| a.port()) as usize, Ordering::Relaxed);
        } else if let Some(p) = addrs.first().map(|a| a.port()) {
            self.tcp_port.store(p as usize, Ordering::Relaxed);
        }
        Ok(addrs)
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether the default user needs a password (protected mode).
    pub fn requires_auth(&self) -> bool {
        self.acl.auth_required()
    }

    /// Starts an orderly shutdown of every listener and connection.
    pub fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }

    /// Exits at once, without the keyspace (SHUTDOWN NOSAVE while a busy
    /// script holds it, as Redis exits then): what was acknowledged is
    /// already written to the AOF and is fsynced here; what the script did
    /// is in no log yet (its effects are logged when it returns).
    pub fn exit_now(&self, reason: &str) -> ! {
        tracing::warn!("{reason}");
        self.aof.fsync_if_needed();
        let socket = self.config.read().unixsocket.clone();
        if !socket.is_empty() {
            tracing::info!("Removing the unix socket file.");
            let _ = std::fs::remove_file(socket);
        }
        tracing::warn!("ferrokv is now ready to exit, bye bye...");
        std::process::exit(0)
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A running server.
pub struct Handle {
    pub server: Arc<Server>,
    pub tcp_addrs: Vec<SocketAddr>,
    pub tls_addrs: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Handle {
    pub fn shutdown(&self) {
        self.server.shutdown();
    }

    /// Resolves when every listener has stopped.
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Could not create server TCP listening socket {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("Failed opening Unix socket {path}: {source}")]
    Unix { path: String, source: std::io::Error },
    #[error(transparent)]
    Load(#[from] crate::persistence::snapshot::LoadError),
    #[error(transparent)]
    Aof(#[from] crate::persistence::aof::AofError),
    /// The users in the configuration or the ACL file do not load.
    #[error("{0}")]
    Acl(String),
    /// The certificates, key or CA do not load.
    #[error("{0}")]
    Tls(String),
}

/// Loads the dump before any client can connect; a bad file stops start-up.
fn load_snapshot(server: &Server) -> Result<(), StartError> {
    let path = crate::persistence::snapshot::dump_path(server);
    let keep_expired = server.config.read().replicaof.is_some();
    let opts = crate::persistence::snapshot::LoadOptions { merge: false, keep_expired, functions: ferrokv_scripting::RestorePolicy::Append };
    let started = Instant::now();
    let file = crate::persistence::snapshot::load(server, &mut server.store.exclusive(), &path, opts)?;
    crate::replication::restore_history(server, &file);
    let (loaded, expired) = (file.keys, file.expired);
    server.persistence.last_load_keys_loaded.store(loaded, Ordering::Relaxed);
    server.persistence.last_load_keys_expired.store(expired, Ordering::Relaxed);
    if loaded + expired > 0 {
        info!(keys = loaded, expired, path = %path.display(), "DB loaded from disk: {:.3} seconds", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Binds the listeners and starts serving.
pub async fn start(loaded: Loaded) -> Result<Handle, StartError> {
    let server = Server::new(loaded);
    let config = server.config.read().clone();
    crate::logging::running(&config);
    tracing::warn!("Server initialized");
    crate::acl::load_at_startup(&server, &config).map_err(StartError::Acl)?;
    server.persistence.last_save.store(server.started_unix, Ordering::Relaxed);
    // With appendonly the AOF is the dataset (dump.rdb is ignored once an
    // AOF exists); without one yet, it is created from what dump.rdb held.
    if !(config.appendonly && crate::persistence::aof::load(&server)?) {
        load_snapshot(&server)?;
        if config.appendonly {
            crate::persistence::aof::rewrite(&server)?;
        }
    }
    if let Err(e) = server.tls.reload(&config) {
        tracing::warn!("{e}");
        return Err(StartError::Tls("Failed to configure TLS. Check logs for more info.".into()));
    }
    let mut tasks = Vec::new();
    let tcp_addrs = server.listen_tcp(&config.bind, config.port)?;
    let tls_addrs = server.listen_tls(&config.bind, config.tls_port)?;
    if !config.unixsocket.is_empty() {
        let listener = crate::net::listener::bind_unix(&config.unixsocket, config.unixsocketperm)
            .map_err(|source| StartError::Unix { path: config.unixsocket.clone(), source })?;
        tasks.push(spawn_unix(server.clone(), listener, config.unixsocket.clone()));
    }
    tasks.push(tokio::spawn(crate::cron::run(server.clone())));
    crate::replication::start(&server);
    if let Some((host, port)) = config.replicaof.clone() {
        crate::replication::follow(&server, host, port, None);
    }
    info!("Ready to accept connections");
    Ok(Handle { server, tcp_addrs, tls_addrs, tasks })
}

fn spawn_tcp(server: Arc<Server>, listener: TcpListener, mut stop_listener: oneshot::Receiver<()>, tls: bool) -> tokio::task::JoinHandle<()> {
    let span = tracing::info_span!("node", role = "master", addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
    tokio::spawn(
        async move {
            let mut stop = server.shutdown_signal();
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = &mut stop_listener => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => crate::net::conn::accept_tcp(&server, stream, peer, tls),
                        Err(e) => {
                            // Out of file descriptors and the like: back off, keep serving.
                            warn!("Accepting client connection: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                }
            }
        }
        .instrument(span),
    )
}

fn spawn_unix(server: Arc<Server>, listener: UnixListener, path: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stop = server.shutdown_signal();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => crate::net::conn::accept_unix(&server, stream, &path),
                    Err(e) => {
                        warn!("Accepting client connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        let _ = std::fs::remove_file(&path);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each purpose ends only its own pause, and a short CLIENT PAUSE ALL
    /// over a failover's long write pause holds reads only as long as it.
    #[test]
    fn pauses_are_held_per_purpose() {
        let pause = Pause::default();
        let now = Instant::now();
        pause.hold(PausePurpose::Failover, now + Duration::from_secs(3600), PauseMode::Write);
        pause.hold(PausePurpose::Client, now + Duration::from_millis(50), PauseMode::All);
        assert!(pause.remaining(false).is_some_and(|d| d <= Duration::from_millis(50)));
        assert!(pause.remaining(true).is_some_and(|d| d > Duration::from_secs(3000)));
        pause.release(PausePurpose::Client);
        assert_eq!(pause.remaining(false), None);
        assert!(pause.remaining(true).is_some());
        assert!(pause.active.load(Ordering::Acquire));
        pause.release(PausePurpose::Failover);
        assert!(!pause.active.load(Ordering::Acquire));
        pause.hold(PausePurpose::Client, Instant::now(), PauseMode::All);
        pause.release_expired();
        assert!(!pause.active.load(Ordering::Acquire));
    }
}
