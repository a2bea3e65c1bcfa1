//! Replication: a primary streams a point-in-time snapshot and then its
//! command log to replicas, which apply it and serve reads.
//!
//! The core is transport-independent: [`log`] (history, offsets, backlog),
//! [`primary`] (one replica's session on the primary: PSYNC decision,
//! snapshot, log), [`replica`] (the link to the primary: sync, apply, acks).
//! Both sides exchange [`Event`]s and acks; [`grpc`] carries them over the
//! protocol in `proto/`, and only it touches generated types; [`resp`]
//! maps the same events onto Redis's own wire (SYNC/PSYNC), for real Redis
//! replicas and redis-cli.
//!
//! The node plugs in through [`Host`]: take a snapshot, load one, run a
//! command as the primary's client.

pub mod backlog;
pub mod diskless;
pub mod grpc;
pub mod log;
pub mod primary;
pub mod replica;
pub mod resp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

pub use log::{OutputLimit, ReplLog};
pub use primary::{ReplicaInfo, ReplicaState};
pub use replica::{LinkInfo, LinkState};

/// What flows from the primary to a replica, whatever the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    FullSync {
        replid: String,
        offset: u64,
        size: u64,
    },
    SnapshotChunk(Bytes),
    SnapshotEnd,
    Continue {
        replid: String,
    },
    Log {
        offset: u64,
        data: Bytes,
    },
    /// The primary is there but has nothing to send yet (Redis's newlines
    /// while it prepares a snapshot): it only keeps the link from timing out.
    Alive,
}

/// The replica's opening message (PSYNC replid offset, REPLCONF, AUTH).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hello {
    pub replid: String,
    pub offset: u64,
    pub username: String,
    pub password: String,
    pub announce_ip: String,
    pub listening_port: u16,
    /// `PSYNC … FAILOVER`: the sender, this node's primary until now,
    /// hands over (FAILOVER); the receiver promotes itself first if it
    /// follows the history `replid`.
    pub failover: bool,
}

/// Why the node could not serve or take a full sync. The node's own error
/// types stay the source, so the log line says what failed underneath.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("server is shutting down")]
    ShuttingDown,
    #[error("writing {}: {source}", path.display())]
    Snapshot { path: PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("loading {}: {source}", path.display())]
    Load { path: PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("rewriting the AOF after the sync: {0}")]
    AofRewrite(Box<dyn std::error::Error + Send + Sync>),
}

/// The node, as replication needs it. Snapshot and load are blocking calls
/// (run on a blocking thread).
pub trait Host: Send + Sync + 'static {
    /// Writes an RDB of the whole dataset to `path`, consistent with the log
    /// at the returned offset ([`ReplLog::snapshot_point`], read with the
    /// keyspace held still).
    fn snapshot(&self, path: &Path) -> Result<u64, HostError>;
    /// Streams an RDB of the whole dataset into `out` (a diskless sync);
    /// `at_start` gets the log offset at the instant the snapshot stands
    /// for, with the keyspace held still.
    fn snapshot_to(&self, out: Box<dyn std::io::Write + Send>, at_start: Box<dyn FnOnce(u64) + Send>) -> Result<u64, HostError>;
    /// An RDB without keys (`rdb-filter-only`), with the function libraries
    /// if `filter` keeps them, and the log offset it stands for.
    fn snapshot_filtered(&self, filter: primary::Filter) -> Result<(Bytes, u64), HostError>;
    /// `repl-diskless-sync`: the delay and the replica count that start a
    /// diskless snapshot, or None to sync through a file.
    fn diskless(&self) -> Option<(std::time::Duration, usize)>;
    /// `repl-diskless-load`: whether a full sync's snapshot is received
    /// into memory and loaded from there rather than through a file
    /// (blocking: it may look at the dataset).
    fn diskless_load(&self) -> bool;
    /// Replaces the dataset with the RDB `rdb`, which holds the primary's
    /// history `replid` up to `offset`.
    fn load(&self, rdb: Rdb<'_>, replid: &str, offset: u64) -> Result<(), HostError>;
    /// Runs one command of the primary's log (`raw`, parsed into `args`) as
    /// the primary's client; `end` is the log offset just after it. Once it
    /// has taken effect (not merely queued in a MULTI) the host calls
    /// [`Replication::log_applied`] while still holding the keys, so this
    /// node's log, its dataset and [`ReplLog::applied`] move together.
    fn apply(&self, session: &mut ApplySession, args: Vec<Bytes>, raw: &[u8], end: u64);
    /// `PSYNC … FAILOVER` from `from`: this node's primary hands over to
    /// it. Promotes this node if it follows history `replid`, else Redis's
    /// refusal.
    fn take_over(&self, replid: &str, from: &str) -> Result<(), String>;
    /// Whether a replica presenting these credentials may sync.
    fn authorized(&self, username: &str, password: &str) -> bool;
    /// Where snapshots in transit are written.
    fn dir(&self) -> PathBuf;
    /// The credentials and announced address a replica link presents.
    fn hello(&self) -> Hello;
    /// Seconds without traffic after which a link is considered dead
    /// (`repl-timeout`).
    fn repl_timeout(&self) -> u64;
}

/// A full sync's snapshot as received: a file, or memory.
#[derive(Debug, Clone, Copy)]
pub enum Rdb<'a> {
    File(&'a Path),
    Memory(&'a [u8]),
}

impl Rdb<'_> {
    /// How errors name it.
    pub fn path(&self) -> PathBuf {
        match self {
            Rdb::File(p) => p.to_path_buf(),
            Rdb::Memory(_) => PathBuf::from("<the replication stream>"),
        }
    }
}

/// Per-link state the host keeps for the primary's client (selected
/// database, open MULTI…), opaque to replication.
pub struct ApplySession {
    pub state: Box<dyn std::any::Any + Send>,
}

/// Replication state shared by the node, its links and its commands.
pub struct Replication {
    pub log: Mutex<ReplLog>,
    /// Set once a backlog exists: from then on writes are logged (one
    /// relaxed load on the write path when nobody replicates).
    logging: AtomicBool,
    /// New log bytes (senders wait on it).
    pub appended: Notify,
    /// An ack arrived (WAIT waits on it).
    pub acked: Notify,
    pub replicas: Mutex<BTreeMap<u64, Arc<ReplicaInfo>>>,
    next_session: AtomicU64,
    /// Some while this node is a replica.
    pub link: Mutex<Option<LinkInfo>>,
    /// The diskless snapshot replicas may still join.
    pub pending_sync: Mutex<Option<Arc<diskless::Job>>>,
    is_replica: AtomicBool,
    /// Full and partial syncs served, and partial ones refused (INFO stats).
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
}

impl Replication {
    pub fn new(backlog_size: usize) -> Arc<Self> {
        Arc::new(Replication {
            log: Mutex::new(ReplLog::new(backlog_size)),
            logging: AtomicBool::new(false),
            appended: Notify::new(),
            acked: Notify::new(),
            replicas: Mutex::new(BTreeMap::new()),
            next_session: AtomicU64::new(1),
            link: Mutex::new(None),
            pending_sync: Mutex::new(None),
            is_replica: AtomicBool::new(false),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
        })
    }

    /// Whether writes must be propagated (a backlog exists) — checked before
    /// building anything to propagate.
    pub fn logging(&self) -> bool {
        self.logging.load(Ordering::Relaxed)
    }

    pub fn is_replica(&self) -> bool {
        self.is_replica.load(Ordering::Acquire)
    }

    pub fn set_replica(&self, yes: bool) {
        self.is_replica.store(yes, Ordering::Release);
    }

    /// Logs one unit of propagation (see [`ReplLog::feed`]). Called by the
    /// writer while it still holds the keys it changed.
    pub fn feed<'a>(&self, cmds: impl ExactSizeIterator<Item = (usize, &'a [Bytes])>) -> u64 {
        let offset = {
            let mut log = self.log.lock();
            log.feed(cmds);
            log.offset()
        };
        self.appended.notify_waiters();
        offset
    }

    /// A replica logs the primary's commands verbatim once they took
    /// effect, up to `end`, with the primary's client in database `db`.
    pub fn log_applied(&self, data: &[u8], end: u64, db: usize) {
        self.with_log(|log| {
            log.append_raw(data);
            debug_assert_eq!(log.offset(), end, "the log and the applied point move together");
            log.applied = Some((end, db));
        });
        self.appended.notify_waiters();
    }

    /// Runs `f` on the log and keeps [`Replication::logging`] in step with
    /// whether a backlog exists.
    pub fn with_log<R>(&self, f: impl FnOnce(&mut ReplLog) -> R) -> R {
        let mut log = self.log.lock();
        let r = f(&mut log);
        self.logging.store(log.backlog.is_some(), Ordering::Relaxed);
        r
    }

    pub fn offset(&self) -> u64 {
        self.log.lock().offset()
    }

    /// Asks every replica for an ack (WAIT): REPLCONF GETACK in the stream,
    /// as Redis sends it, so every kind of replica answers it.
    pub fn request_acks(&self) {
        if self.with_log(|log| log.feed_getack()) {
            self.appended.notify_waiters();
        }
    }

    /// `repl-ping-replica-period`: a PING in the stream keeps idle replicas
    /// from timing out (Redis's replicationCron). Replicas pass on their
    /// primary's instead of making their own.
    pub fn ping_replicas(&self) {
        if self.is_replica() || self.replicas.lock().is_empty() {
            return;
        }
        self.with_log(|log| log.feed_control(&[b"ping"]));
        self.appended.notify_waiters();
    }

    /// Online replicas that have acknowledged at least `offset`.
    pub fn acked_at_least(&self, offset: u64) -> usize {
        self.replicas.lock().values().filter(|r| r.state() == ReplicaState::Online && r.ack_offset() >= offset).count()
    }

    /// Online replicas whose last ack is at most `max_lag` seconds old
    /// (`min-replicas-max-lag`).
    pub fn good_replicas(&self, max_lag: u64) -> usize {
        self.replicas.lock().values().filter(|r| r.state() == ReplicaState::Online && r.lag_secs() <= max_lag).count()
    }

    fn new_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }
}

/// A temp file for a snapshot in transit, removed when dropped.
pub(crate) struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(dir: &Path, what: &str, id: u64) -> Self {
        TempFile(dir.join(format!("temp-{what}-{}-{id}.rdb", std::process::id())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
