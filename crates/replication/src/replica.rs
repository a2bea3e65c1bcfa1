//! The replica's side: the link to the primary.
//!
//! ```text
//! Connect → Connecting ─┬─ Continue → Connected
//!    ↑                  └─ FullSync → Transfer (RDB to a temp file, then
//!    │                                load) → Connected
//!    └──── link error, timeout, protocol error (retry every second) ─┘
//! ```
//! In `Connected` the replica applies the log command by command; the node
//! appends each command's bytes to its own log once it took effect (so its
//! offsets are the primary's, its replicas see the same stream, and a
//! promotion can continue it). It acks its offset every second and when
//! the log carries a REPLCONF GETACK.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrokv_resp::{RequestLimits, RequestParser};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::{ApplySession, Event, Hello, Host, Rdb, Replication, TempFile};

/// INFO's `master_link_status` and `master_sync_in_progress` derive from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Transfer,
    Connected,
}

impl LinkState {
    /// ROLE's state names.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// The replica's view of its link, for INFO and ROLE.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    pub last_io: Instant,
    pub down_since: Option<Instant>,
    /// Bytes of log received (`slave_read_repl_offset`).
    pub read_offset: u64,
    pub sync_size: u64,
    pub sync_read: u64,
    pub sync_started: Option<Instant>,
}

impl LinkInfo {
    pub fn new(host: String, port: u16) -> Self {
        LinkInfo {
            host,
            port,
            state: LinkState::Connect,
            last_io: Instant::now(),
            down_since: Some(Instant::now()),
            read_offset: 0,
            sync_size: 0,
            sync_read: 0,
            sync_started: None,
        }
    }
}

/// An open stream to a primary: events in, acks out.
pub struct Stream {
    pub events: mpsc::Receiver<Result<Event, String>>,
    pub acks: mpsc::Sender<u64>,
}

/// How a transport opens a link.
pub type Connect = Arc<dyn Fn(String, u16, Hello) -> Pin<Box<dyn Future<Output = Result<Stream, String>> + Send>> + Send + Sync>;

const RETRY: Duration = Duration::from_secs(1);
const ACK_EVERY: Duration = Duration::from_secs(1);

/// Learns whether the primary accepted a FAILOVER hand-over (PSYNC …
/// FAILOVER): Ok once it answered with a sync, the error otherwise.
pub type Handover = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Follows the primary at `host:port` until the task is aborted. With
/// `handover`, the first attempt asks the primary to take over from us.
pub async fn run_link(repl: Arc<Replication>, host: Arc<dyn Host>, target: (String, u16), connect: Connect, mut handover: Option<Handover>) {
    let (h, p) = target;
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        set_state(&repl, LinkState::Connecting);
        let mut hello = host.hello();
        hello.failover = handover.is_some();
        let (replid, offset) = {
            let log = repl.log.lock();
            (log.replid.clone(), log.offset())
        };
        hello.replid = replid;
        hello.offset = offset;
        tracing::info!("Connecting to MASTER {h}:{p}");
        let result = match connect(h.clone(), p, hello).await {
            Ok(stream) => follow(&repl, &host, stream, attempt, &mut handover).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            if let Some(tx) = handover.take() {
                let _ = tx.send(Err(e.clone()));
            }
            tracing::warn!("{e}");
        }
        link_down(&repl);
        tokio::time::sleep(RETRY).await;
    }
}

fn set_state(repl: &Replication, state: LinkState) {
    if let Some(l) = repl.link.lock().as_mut() {
        l.state = state;
        l.last_io = Instant::now();
        if state == LinkState::Connected {
            l.down_since = None;
        }
    }
}

fn link_down(repl: &Replication) {
    if let Some(l) = repl.link.lock().as_mut() {
        l.state = LinkState::Connect;
        l.down_since.get_or_insert_with(Instant::now);
        l.sync_started = None;
    }
}

fn touch(repl: &Replication, f: impl FnOnce(&mut LinkInfo)) {
    if let Some(l) = repl.link.lock().as_mut() {
        l.last_io = Instant::now();
        f(l);
    }
}

/// Runs one connected stream until it fails.
async fn follow(repl: &Arc<Replication>, host: &Arc<dyn Host>, mut stream: Stream, attempt: u64, handover: &mut Option<Handover>) -> Result<(), String> {
    let timeout = Duration::from_secs(host.repl_timeout().max(1));
    let mut applier = Applier::new(repl.offset());
    let mut transfer: Option<Transfer> = None;
    let mut ack_timer = tokio::time::interval(ACK_EVERY);
    let mut online = false;
    // The deadline runs from the last thing received, not from the last
    // turn of this loop (the ack timer turns it every second).
    let mut last_received = tokio::time::Instant::now();
    loop {
        let event = tokio::select! {
            // What already arrived counts before the deadline does (a long
            // snapshot load must not read as a silent primary).
            biased;
            e = stream.events.recv() => match e {
                None => return Err("Connection with master lost.".into()),
                Some(Err(e)) => return Err(e),
                Some(Ok(e)) => {
                    last_received = tokio::time::Instant::now();
                    e
                }
            },
            _ = tokio::time::sleep_until(last_received + timeout) => return Err("MASTER timeout: no data nor PING received".into()),
            _ = ack_timer.tick() => {
                if online {
                    let _ = stream.acks.send(repl.offset()).await;
                }
                continue;
            }
        };
        if matches!(event, Event::FullSync { .. } | Event::Continue { .. }) {
            // The primary took the PSYNC: a hand-over is done.
            if let Some(tx) = handover.take() {
                let _ = tx.send(Ok(()));
            }
        }
        match event {
            Event::FullSync { replid, offset, size } => {
                let t = Transfer::open(host, attempt, replid, offset, size).await?;
                if size > 0 {
                    tracing::info!("MASTER <-> REPLICA sync: receiving {size} bytes from master to {}", t.target());
                } else {
                    tracing::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to {}", t.target());
                }
                touch(repl, |l| {
                    l.state = LinkState::Transfer;
                    l.sync_size = size;
                    l.sync_read = 0;
                    l.sync_started = Some(Instant::now());
                });
                transfer = Some(t);
            }
            Event::SnapshotChunk(data) => {
                let t = transfer.as_mut().ok_or("snapshot data outside a full sync")?;
                t.write(&data).await?;
                touch(repl, |l| l.sync_read += data.len() as u64);
            }
            Event::SnapshotEnd => {
                let t = transfer.take().ok_or("snapshot end outside a full sync")?;
                let offset = t.load(host).await?;
                applier = Applier::new(offset);
                touch(repl, |l| l.read_offset = offset);
                online = true;
                set_state(repl, LinkState::Connected);
                tracing::info!("MASTER <-> REPLICA sync: Finished with success");
                // At once: a Redis primary holds the log of a streamed sync
                // until the first ack.
                let _ = stream.acks.send(offset).await;
            }
            Event::Alive => touch(repl, |_| {}),
            Event::Continue { replid } => {
                repl.with_log(|log| log.adopt_replid(&replid));
                online = true;
                set_state(repl, LinkState::Connected);
                tracing::info!("Successful partial resynchronization with master.");
            }
            Event::Log { offset, data } => {
                if !online {
                    return Err("log data before the sync".into());
                }
                if offset != applier.received {
                    return Err(format!("log out of order: got offset {offset}, expected {}", applier.received));
                }
                applier.received += data.len() as u64;
                let received = applier.received;
                touch(repl, |l| l.read_offset = received);
                if applier.apply(host, &data)? {
                    // REPLCONF GETACK: the offset now includes it, as Redis's.
                    let _ = stream.acks.send(repl.offset()).await;
                }
            }
        }
    }
}

/// `REPLCONF GETACK <anything>`, which a replica answers with its offset.
pub fn is_getack(args: &[bytes::Bytes]) -> bool {
    args.len() >= 2 && args[0].eq_ignore_ascii_case(b"replconf") && args[1].eq_ignore_ascii_case(b"getack")
}

/// A snapshot being received: into a temp file, or into memory with
/// `repl-diskless-load` (loaded from there, no disk involved).
struct Transfer {
    sink: Sink,
    replid: String,
    offset: u64,
}

enum Sink {
    File { temp: TempFile, file: tokio::fs::File },
    Memory(BytesMut),
}

/// Memory reserved up front for a snapshot of announced size (it grows
/// past this as it arrives).
const RESERVE_AT_MOST: u64 = 256 << 20;

impl Transfer {
    async fn open(host: &Arc<dyn Host>, attempt: u64, replid: String, offset: u64, size: u64) -> Result<Transfer, String> {
        let h = host.clone();
        let diskless = tokio::task::spawn_blocking(move || h.diskless_load()).await.unwrap_or(false);
        let sink = if diskless {
            Sink::Memory(BytesMut::with_capacity(size.min(RESERVE_AT_MOST) as usize))
        } else {
            let temp = TempFile::new(&host.dir(), "replica", attempt);
            let file = tokio::fs::File::create(&temp.0).await.map_err(|e| format!("creating {}: {e}", temp.0.display()))?;
            Sink::File { temp, file }
        };
        Ok(Transfer { sink, replid, offset })
    }

    fn target(&self) -> &'static str {
        match self.sink {
            Sink::File { .. } => "disk",
            Sink::Memory(_) => "parser",
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), String> {
        match &mut self.sink {
            Sink::File { file, .. } => file.write_all(data).await.map_err(|e| format!("writing the snapshot: {e}")),
            Sink::Memory(buf) => {
                buf.extend_from_slice(data);
                Ok(())
            }
        }
    }

    async fn load(mut self, host: &Arc<dyn Host>) -> Result<u64, String> {
        let h = host.clone();
        let (replid, offset) = (self.replid.clone(), self.offset);
        let loaded = match &mut self.sink {
            Sink::File { temp, file } => {
                file.flush().await.map_err(|e| e.to_string())?;
                let path = temp.0.clone();
                tokio::task::spawn_blocking(move || h.load(Rdb::File(&path), &replid, offset)).await
            }
            Sink::Memory(buf) => {
                let data = std::mem::take(buf).freeze();
                tokio::task::spawn_blocking(move || h.load(Rdb::Memory(&data), &replid, offset)).await
            }
        };
        loaded.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        Ok(offset)
    }
}

/// Parses the log into commands and applies them one at a time.
struct Applier {
    parser: RequestParser,
    pending: BytesMut,
    /// The same bytes as `pending`: what each parsed command was, verbatim.
    raw: BytesMut,
    /// Bytes the parser has taken since the last complete command (it
    /// consumes a partial command's arguments as they arrive).
    taken: usize,
    received: u64,
    /// Offset just past the last complete command parsed.
    parsed: u64,
    session: Option<ApplySession>,
}

impl Applier {
    fn new(offset: u64) -> Self {
        Applier { parser: RequestParser::new(), pending: BytesMut::new(), raw: BytesMut::new(), taken: 0, received: offset, parsed: offset, session: None }
    }

    /// Applies what `data` completes; true if the primary asked for an ack
    /// (REPLCONF GETACK) in it.
    fn apply(&mut self, host: &Arc<dyn Host>, data: &[u8]) -> Result<bool, String> {
        self.pending.extend_from_slice(data);
        self.raw.extend_from_slice(data);
        let limits = RequestLimits { max_bulk_len: i64::MAX, auth_required: false };
        let session = self.session.get_or_insert_with(|| ApplySession { state: Box::new(()) });
        let mut getack = false;
        loop {
            let before = self.pending.len();
            let parsed = self.parser.parse(&mut self.pending, &limits);
            self.taken += before - self.pending.len();
            let args = match parsed {
                Ok(Some(args)) => args,
                Ok(None) => return Ok(getack),
                Err(e) => return Err(format!("bad command in the primary's log: {e}")),
            };
            let bytes = self.raw.split_to(std::mem::take(&mut self.taken));
            self.parsed += bytes.len() as u64;
            getack |= is_getack(&args);
            host.apply(session, args, &bytes, self.parsed);
        }
    }
}
