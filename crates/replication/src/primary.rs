//! The primary's side of one replica link.
//!
//! ```text
//! Hello ─┬─ history continues (PSYNC ok) ──────────────────────────┐
//!        └─ otherwise: WaitBgsave (snapshot taken at offset X)       │
//!              → SendBulk (RDB streamed) → log from X ──────────────┴→ Online
//! ```
//! A session ends when the replica goes away, when it falls behind by more
//! than the output limit, or when this node's history changes (promotion,
//! becoming a replica): the replica reconnects and continues if it can.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::log::Cut;
use crate::{Event, Hello, Host, Replication, TempFile};

/// Bytes of log per message.
const LOG_CHUNK: usize = 64 * 1024;
/// Bytes of snapshot per message.
const SNAPSHOT_CHUNK: usize = 256 * 1024;

/// As INFO's `slaveN:...,state=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    WaitBgsave,
    SendBulk,
    Online,
}

impl ReplicaState {
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// An attached replica, as INFO, ROLE, WAIT and min-replicas see it.
pub struct ReplicaInfo {
    pub id: u64,
    pub ip: String,
    pub port: u16,
    state: Mutex<ReplicaState>,
    ack_offset: AtomicU64,
    last_ack: Mutex<Instant>,
}

impl ReplicaInfo {
    pub fn state(&self) -> ReplicaState {
        *self.state.lock()
    }

    pub fn ack_offset(&self) -> u64 {
        self.ack_offset.load(Ordering::Acquire)
    }

    /// Seconds since the last ack (INFO's `lag`).
    pub fn lag_secs(&self) -> u64 {
        self.last_ack.lock().elapsed().as_secs()
    }

    /// The replica is alive (Redis replicas send newlines while they load
    /// a snapshot, which refresh the ack time as Redis counts them).
    pub fn touch(&self) {
        *self.last_ack.lock() = Instant::now();
    }

    /// REPLCONF ACK: records the replica's applied offset.
    pub fn ack(&self, repl: &Replication, offset: u64) {
        self.ack_offset.fetch_max(offset, Ordering::AcqRel);
        *self.last_ack.lock() = Instant::now();
        repl.acked.notify_waiters();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("replica is not authorized (masterauth/masteruser do not match)")]
    Unauthorized,
    #[error("snapshot for full sync failed: {0}")]
    Snapshot(String),
    #[error("snapshot for full sync failed: {0}")]
    Host(#[from] crate::HostError),
    #[error("{0}")]
    Cut(#[from] Cut),
    #[error("replica link closed")]
    Closed,
}

/// One replica's session, registered while it lives.
pub struct Session {
    repl: Arc<Replication>,
    pub info: Arc<ReplicaInfo>,
    hello: Hello,
    /// The replica reads a snapshot of unknown size (Redis's `capa eof`):
    /// only then may the snapshot be streamed without a file.
    pub can_stream: bool,
    /// `REPLCONF rdb-only 1`: the snapshot and nothing after it.
    pub rdb_only: bool,
    /// `REPLCONF rdb-filter-only`: a snapshot without keys (with the
    /// function libraries if this is set).
    pub filter: Option<Filter>,
}

/// What a filtered snapshot keeps (`rdb-filter-only`): never keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    pub functions: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.repl.with_log(|log| log.detach(self.info.id));
        self.repl.replicas.lock().remove(&self.info.id);
        tracing::info!(replica = %format!("{}:{}", self.info.ip, self.info.port), "Connection with replica lost.");
    }
}

impl Session {
    /// Checks the replica's credentials and registers it. `peer_ip` is used
    /// unless it announces an address of its own.
    pub fn open(repl: &Arc<Replication>, host: &dyn Host, hello: Hello, peer_ip: String) -> Result<Session, SessionError> {
        if !host.authorized(&hello.username, &hello.password) {
            return Err(SessionError::Unauthorized);
        }
        Ok(Session::register(repl, hello, peer_ip))
    }

    /// Registers a replica whose credentials its transport has checked
    /// (RESP: the connection authenticated as any client does).
    pub fn register(repl: &Arc<Replication>, hello: Hello, peer_ip: String) -> Session {
        let ip = if hello.announce_ip.is_empty() { peer_ip } else { hello.announce_ip.clone() };
        let info = Arc::new(ReplicaInfo {
            id: repl.new_session_id(),
            ip,
            port: hello.listening_port,
            state: Mutex::new(ReplicaState::WaitBgsave),
            ack_offset: AtomicU64::new(0),
            last_ack: Mutex::new(Instant::now()),
        });
        repl.replicas.lock().insert(info.id, info.clone());
        Session { repl: repl.clone(), info, hello, can_stream: true, rdb_only: false, filter: None }
    }

    /// Serves the session: sync, then the log, until it ends.
    pub async fn run(self, host: Arc<dyn Host>, tx: mpsc::Sender<Event>) -> Result<(), SessionError> {
        let repl = self.repl.clone();
        let id = self.info.id;
        let who = format!("{}:{}", self.info.ip, self.info.port);
        // An RDB-only or filtered request always wants a snapshot.
        let wants_snapshot = self.rdb_only || self.filter.is_some();
        let partial = !wants_snapshot && repl.with_log(|log| log.try_continue(id, &self.hello.replid, self.hello.offset));
        if partial {
            repl.sync_partial_ok.fetch_add(1, Ordering::Relaxed);
            let replid = repl.log.lock().replid.clone();
            tracing::info!(replica = %who, offset = self.hello.offset, "Partial resynchronization request accepted.");
            send(&tx, Event::Continue { replid }).await?;
        } else {
            if self.hello.replid != crate::log::NO_REPLID && !self.hello.replid.is_empty() {
                repl.sync_partial_err.fetch_add(1, Ordering::Relaxed);
            }
            repl.sync_full.fetch_add(1, Ordering::Relaxed);
            tracing::info!(replica = %who, "Full resync requested; starting snapshot");
            self.full_sync(&host, &tx).await?;
            if self.rdb_only {
                tracing::info!(replica = %who, "RDB-only transfer to replica done");
                return Ok(());
            }
        }
        *self.info.state.lock() = ReplicaState::Online;
        *self.info.last_ack.lock() = Instant::now();
        tracing::info!(replica = %who, "Synchronization with replica succeeded");
        self.stream_log(&tx).await
    }

    async fn full_sync(&self, host: &Arc<dyn Host>, tx: &mpsc::Sender<Event>) -> Result<(), SessionError> {
        if let Some(filter) = self.filter {
            return self.filtered_sync(host, tx, filter).await;
        }
        if let Some((delay, max_replicas)) = host.diskless().filter(|_| self.can_stream) {
            return self.diskless_sync(host, tx, delay, max_replicas).await;
        }
        let repl = &self.repl;
        let id = self.info.id;
        repl.with_log(|log| log.hold_for_snapshot(id));
        let temp = TempFile::new(&host.dir(), "sync", id);
        let path = temp.0.clone();
        let h = host.clone();
        let offset = tokio::task::spawn_blocking(move || h.snapshot(&path)).await.map_err(|e| SessionError::Snapshot(e.to_string()))??;
        let replid = repl.with_log(|log| {
            log.attach(id, offset);
            log.replid.clone()
        });
        *self.info.state.lock() = ReplicaState::SendBulk;
        let mut file = tokio::fs::File::open(&temp.0).await.map_err(|e| SessionError::Snapshot(e.to_string()))?;
        let size = file.metadata().await.map_err(|e| SessionError::Snapshot(e.to_string()))?.len();
        send(tx, Event::FullSync { replid, offset, size }).await?;
        loop {
            let mut buf = bytes::BytesMut::with_capacity(SNAPSHOT_CHUNK);
            let n = file.read_buf(&mut buf).await.map_err(|e| SessionError::Snapshot(e.to_string()))?;
            if n == 0 {
                break;
            }
            send(tx, Event::SnapshotChunk(buf.freeze())).await?;
        }
        send(tx, Event::SnapshotEnd).await
    }

    /// A snapshot without keys (`rdb-filter-only`): small, so made in
    /// memory, and sent as a stream of unknown size as Redis sends it.
    async fn filtered_sync(&self, host: &Arc<dyn Host>, tx: &mpsc::Sender<Event>, filter: Filter) -> Result<(), SessionError> {
        let id = self.info.id;
        self.repl.with_log(|log| log.hold_for_snapshot(id));
        let h = host.clone();
        let (rdb, offset) = tokio::task::spawn_blocking(move || h.snapshot_filtered(filter)).await.map_err(|e| SessionError::Snapshot(e.to_string()))??;
        let replid = self.repl.with_log(|log| {
            log.attach(id, offset);
            log.replid.clone()
        });
        *self.info.state.lock() = ReplicaState::SendBulk;
        send(tx, Event::FullSync { replid, offset, size: 0 }).await?;
        send(tx, Event::SnapshotChunk(rdb)).await?;
        send(tx, Event::SnapshotEnd).await
    }

    /// A full sync from a shared streamed snapshot (see `diskless`): its
    /// size is not known in advance, so it is announced as 0.
    async fn diskless_sync(&self, host: &Arc<dyn Host>, tx: &mpsc::Sender<Event>, delay: Duration, max_replicas: usize) -> Result<(), SessionError> {
        use crate::diskless::Part;
        let mut parts = crate::diskless::join(&self.repl, host, self.info.id, delay, max_replicas);
        loop {
            match parts.recv().await {
                Some(Part::Start { replid, offset }) => {
                    *self.info.state.lock() = ReplicaState::SendBulk;
                    send(tx, Event::FullSync { replid, offset, size: 0 }).await?;
                }
                Some(Part::Data(chunk)) => send(tx, Event::SnapshotChunk(chunk)).await?,
                Some(Part::End) => return send(tx, Event::SnapshotEnd).await,
                Some(Part::Failed(e)) => return Err(SessionError::Snapshot(e)),
                None => return Err(SessionError::Snapshot("the diskless snapshot ended without its last part".into())),
            }
        }
    }

    /// Sends the log as it grows (PINGs and GETACKs are in it).
    async fn stream_log(&self, tx: &mpsc::Sender<Event>) -> Result<(), SessionError> {
        let repl = &self.repl;
        loop {
            let appended = repl.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            let (offset, data) = repl.with_log(|log| log.next_for(self.info.id, LOG_CHUNK))?;
            if !data.is_empty() {
                send(tx, Event::Log { offset, data }).await?;
                continue;
            }
            tokio::select! {
                _ = appended => {}
                _ = tx.closed() => return Err(SessionError::Closed),
            }
        }
    }
}

async fn send(tx: &mpsc::Sender<Event>, e: Event) -> Result<(), SessionError> {
    tx.send(e).await.map_err(|_| SessionError::Closed)
}
