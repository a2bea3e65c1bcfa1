//! Configuration as Redis users know it: redis.conf syntax, `--directive`
//! arguments, units, `include`, and CONFIG GET/SET/REWRITE.
//!
//! Every directive lives in one table ([`table::DIRECTIVES`]); parsing,
//! CONFIG GET globbing, CONFIG SET validation and REWRITE all read it.

mod load;
mod rewrite;
pub mod table;

use std::path::PathBuf;

pub use load::{load, ConfigError};
pub use rewrite::{rewrite, rewrite_all, write_atomically};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCommand {
    No,
    Yes,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
    /// Redis 7.2's `nothing`, accepted on top of 7.0's four.
    Nothing,
}

pub use ferrokv_storage::MaxmemoryPolicy;

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: Vec<String>,
    pub port: u16,
    pub unixsocket: String,
    pub unixsocketperm: u32,
    pub maxclients: u64,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u64,
    pub requirepass: String,
    pub databases: usize,
    pub dir: PathBuf,
    pub logfile: String,
    pub loglevel: LogLevel,
    pub protected_mode: bool,
    /// LZF-compress strings in RDB objects (snapshots and DUMP).
    /// Save points: snapshot after `seconds` if at least `changes` writes.
    pub save: Vec<(u64, u64)>,
    pub rdbcompression: bool,
    /// The snapshot's file name inside `dir`.
    pub dbfilename: String,
    /// Write and verify the CRC-64 footer of RDB files and DUMP payloads.
    pub rdbchecksum: bool,
    /// Refuse writes (-MISCONF) while the last background save failed.
    pub stop_writes_on_bgsave_error: bool,
    pub appendonly: bool,
    /// `appendfsync`: always, everysec, no.
    pub appendfsync: u8,
    pub appenddirname: String,
    pub appendfilename: String,
    pub aof_use_rdb_preamble: bool,
    pub aof_load_truncated: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: i64,
    pub hz: u64,
    /// Milliseconds a script runs before other clients get -BUSY.
    pub busy_reply_threshold: u64,
    pub enable_debug_command: DebugCommand,
    /// Who may CONFIG SET `dir` and `dbfilename` (same yes/no/local shape).
    pub enable_protected_configs: DebugCommand,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// Most keys CLIENT TRACKING remembers (0: no limit).
    pub tracking_table_max_keys: u64,
    pub repl_ping_replica_period: u64,
    pub repl_backlog_ttl: u64,
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: u64,
    pub repl_diskless_sync_max_replicas: u64,
    /// `repl-diskless-load`: how a replica loads a full sync.
    pub repl_diskless_load: DisklessLoad,
    /// `propagation-error-behavior`.
    pub propagation_error: PropagationError,
    /// A replica that cannot persist applies its primary's writes anyway
    /// (logging it) instead of stopping.
    pub replica_ignore_disk_write_errors: bool,
    pub replica_lazy_flush: bool,
    pub shutdown_timeout: u64,
    pub latency_monitor_threshold: u64,
    /// Bytes of `used_memory` above which keys are evicted (0: no limit).
    pub maxmemory: u64,
    pub maxmemory_policy: MaxmemoryPolicy,
    pub maxmemory_samples: u64,
    pub maxmemory_eviction_tenacity: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    /// Free evicted values on the lazyfree thread (and propagate UNLINK).
    pub lazyfree_lazy_eviction: bool,
    /// A replica leaves eviction to its primary (whose DELs it applies).
    pub replica_ignore_maxmemory: bool,
    /// The budget of every client's buffers together (0: none).
    pub maxmemory_clients: MemoryOrPercent,
    /// `notify-keyspace-events`, as `ferrokv_storage::events` flags.
    pub notify_keyspace_events: u32,
    pub pidfile: String,
    /// Worker threads serving connections (Redis's `io-threads`); by
    /// default one per core but one, as Redis advises for its I/O threads:
    /// the spare core takes the kernel's network work (and, on a small box,
    /// the clients), and on two cores one worker never contends with
    /// another for a hot key's shard (docs/benchmarks.md measures both).
    pub io_threads: u64,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    pub hll_sparse_max_bytes: u64,
    pub list_max_listpack_size: i64,
    /// Plain nodes kept at each end of a list; those further in are
    /// LZF-compressed (0: none).
    pub list_compress_depth: u64,
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: u64,
    /// `replicaof <host> <port>`: the primary's client address.
    pub replicaof: Option<(String, u16)>,
    pub masterauth: String,
    pub masteruser: String,
    /// The TLS port (0: none) and the `tls-*` settings; see `net::tls`.
    pub tls_port: u16,
    pub tls_replication: bool,
    pub tls_auth_clients: ferrokv_tls::AuthClients,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub tls_key_file_pass: String,
    pub tls_client_cert_file: String,
    pub tls_client_key_file: String,
    pub tls_client_key_file_pass: String,
    pub tls_ca_cert_file: String,
    pub tls_ca_cert_dir: String,
    pub tls_protocols: String,
    pub tls_ciphers: String,
    pub tls_ciphersuites: String,
    /// ACL users come from this file, not from `user` lines.
    pub aclfile: String,
    pub acllog_max_len: u64,
    /// `acl-pubsub-default allchannels`: new users may use every channel.
    pub acl_pubsub_allchannels: bool,
    /// `user <name> <rules…>` lines, loaded once the command table exists
    /// (their syntax is checked while reading).
    pub users: Vec<Vec<String>>,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub replica_priority: u64,
    pub replica_announce_ip: String,
    pub replica_announce_port: u16,
    pub replica_announced: bool,
    pub repl_backlog_size: i64,
    pub repl_timeout: u64,
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// `client-output-buffer-limit` per class: (hard, soft, soft seconds).
    pub output_limits: OutputLimits,
    /// Directives kept as their CONFIG GET text (see `table::Kind`); an
    /// absent name holds its default.
    pub stored: std::collections::BTreeMap<&'static str, String>,
}

/// A memory value or a percentage of `maxmemory` (`maxmemory-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryOrPercent {
    Bytes(u64),
    Percent(u64),
}

impl MemoryOrPercent {
    /// In bytes, a percentage taken of `maxmemory`.
    pub fn bytes(self, maxmemory: u64) -> u64 {
        match self {
            MemoryOrPercent::Bytes(b) => b,
            MemoryOrPercent::Percent(p) => maxmemory / 100 * p,
        }
    }
}

/// `client-output-buffer-limit normal … replica … pubsub …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub normal: (u64, u64, u64),
    pub replica: (u64, u64, u64),
    pub pubsub: (u64, u64, u64),
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits { normal: (0, 0, 0), replica: (256 << 20, 64 << 20, 60), pubsub: (32 << 20, 8 << 20, 60) }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: vec!["*".into(), "-::*".into()],
            port: 6379,
            unixsocket: String::new(),
            unixsocketperm: 0,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            requirepass: String::new(),
            databases: 16,
            dir: PathBuf::from("."),
            logfile: String::new(),
            loglevel: LogLevel::Notice,
            protected_mode: true,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            rdbcompression: true,
            dbfilename: "dump.rdb".into(),
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            appendonly: false,
            appendfsync: crate::persistence::aof::fsync::EVERYSEC,
            appenddirname: "appendonlydir".into(),
            appendfilename: "appendonly.aof".into(),
            aof_use_rdb_preamble: true,
            aof_load_truncated: true,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            hz: 10,
            busy_reply_threshold: 5000,
            enable_debug_command: DebugCommand::No,
            enable_protected_configs: DebugCommand::No,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            tracking_table_max_keys: 1_000_000,
            repl_ping_replica_period: 10,
            repl_backlog_ttl: 3600,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: DisklessLoad::Disabled,
            propagation_error: PropagationError::Ignore,
            replica_lazy_flush: false,
            replica_ignore_disk_write_errors: false,
            shutdown_timeout: 10,
            latency_monitor_threshold: 0,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            lazyfree_lazy_eviction: false,
            replica_ignore_maxmemory: true,
            notify_keyspace_events: 0,
            maxmemory_clients: MemoryOrPercent::Bytes(0),
            pidfile: String::new(),
            io_threads: std::thread::available_parallelism().map(|n| (n.get() as u64).saturating_sub(1).max(1)).unwrap_or(1),
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            replicaof: None,
            masterauth: String::new(),
            masteruser: String::new(),
            tls_port: 0,
            tls_replication: false,
            tls_auth_clients: ferrokv_tls::AuthClients::Yes,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_key_file_pass: String::new(),
            tls_client_cert_file: String::new(),
            tls_client_key_file: String::new(),
            tls_client_key_file_pass: String::new(),
            tls_ca_cert_file: String::new(),
            tls_ca_cert_dir: String::new(),
            tls_protocols: String::new(),
            tls_ciphers: String::new(),
            tls_ciphersuites: String::new(),
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_allchannels: false,
            users: Vec::new(),
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_priority: 100,
            replica_announce_ip: String::new(),
            replica_announce_port: 0,
            replica_announced: true,
            repl_backlog_size: 1024 * 1024,
            repl_timeout: 60,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            output_limits: OutputLimits::default(),
            stored: Default::default(),
        }
    }
}

/// `repl-diskless-load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisklessLoad {
    /// Through a file in `dir`.
    Disabled,
    /// From the socket, only when the dataset is empty.
    OnEmptyDb,
    /// From the socket, keeping the old dataset until the new one loaded.
    Swapdb,
}

/// `propagation-error-behavior`: what a command from the primary that
/// fails here (or, from a replica's point of view, an error it would send
/// back) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropagationError {
    Ignore,
    Panic,
    PanicOnReplicas,
}

impl Config {
    /// A directive's value as CONFIG GET shows it, for the few places that
    /// read a directive kept as text (start-up, signals).
    pub fn value(&self, name: &str) -> String {
        table::find(name).map(|d| d.get(self)).unwrap_or_default()
    }
}

/// Logs one line per directive set to a value ferrokv does not act on, so
/// an operator moving a redis.conf over sees what it ignores.
pub fn log_ignored(c: &Config) {
    let defaults = Config::default();
    for d in table::DIRECTIVES {
        let value = d.get(c);
        if value == d.get(&defaults) {
            continue;
        }
        match d.note {
            table::Note::NoEffect => tracing::info!("Config '{} {value}' has no effect in ferrokv.", d.name),
            table::Note::Later(feature) => {
                tracing::warn!("Config '{} {value}' is accepted, but ferrokv does not implement {feature} yet: it has no effect.", d.name)
            }
            table::Note::Used | table::Note::Refused(_) => {}
        }
    }
}

/// The result of loading: the config plus where it came from, for REWRITE.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    /// Absolute path of the main config file, if one was given.
    pub file: Option<PathBuf>,
}
