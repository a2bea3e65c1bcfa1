//! The node's side of replication (the engine is `ferrokv-replication`):
//! how this node snapshots, loads and applies for it ([`NodeHost`]), the
//! admission rules of a replica and of `min-replicas-to-write`, following
//! a primary (REPLICAOF), WAIT, and INFO replication.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokv_replication::primary::Filter;
use ferrokv_replication::{grpc, replica, resp, ApplySession, Hello, Host, HostError, LinkInfo, LinkState, Rdb, ReplicaState};
use ferrokv_storage::Expiry;

use crate::command::{flags, Entry};
use crate::config::DisklessLoad;
use crate::errors::RedisError;
use crate::net::client::{kind, Client, ClientShared};
use crate::server::Server;

pub const READONLY: &str = "READONLY You can't write against a read only replica.";
pub const MASTERDOWN: &str = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// Redis's `processCommand` checks that depend on replication: writes on a
/// read-only replica, stale reads with `replica-serve-stale-data no`,
/// writes without enough good replicas.
pub fn refuse(server: &Server, client: &Client, entry: &Entry) -> Option<RedisError> {
    refuse_access(server, client, entry.spec.has(flags::WRITE), entry.spec.has(flags::STALE))
}

/// What a replica, or a primary short of good replicas, refuses: a write
/// (`is_write`), or anything not allowed on stale data (`stale_ok`). A
/// function is checked with its own flags (FCALL itself is neither).
pub fn refuse_access(server: &Server, client: &Client, is_write: bool, stale_ok: bool) -> Option<RedisError> {
    if client.is_loading {
        return None;
    }
    if server.repl.is_replica() {
        if client.is_master {
            return None;
        }
        let (read_only, serve_stale) = (server.hot.replica_read_only.load(Ordering::Relaxed), server.hot.replica_serve_stale_data.load(Ordering::Relaxed));
        if is_write && read_only {
            return Some(READONLY.into());
        }
        if !serve_stale && !stale_ok && !link_up(server) {
            return Some(MASTERDOWN.into());
        }
        return None;
    }
    let min = server.hot.min_replicas_to_write.load(Ordering::Relaxed);
    if is_write && min > 0 {
        let lag = server.hot.min_replicas_max_lag.load(Ordering::Relaxed);
        if lag > 0 && (server.repl.good_replicas(lag) as u64) < min {
            return Some(NOREPLICAS.into());
        }
    }
    None
}

pub fn link_up(server: &Server) -> bool {
    server.repl.link.lock().as_ref().is_some_and(|l| l.state == LinkState::Connected)
}

/// How lookups treat keys whose time has passed: replicas never delete
/// them on their own (the primary's DEL will come), and the primary's own
/// commands see them as the primary did.
pub fn expiry_for(server: &Server, client: &Client) -> Expiry {
    if client.is_loading {
        Expiry::Ignore
    } else if !server.repl.is_replica() {
        Expiry::Delete
    } else if client.is_master {
        Expiry::Ignore
    } else {
        Expiry::Hide
    }
}

/// Replication's window on this node.
pub struct NodeHost(pub Weak<Server>);

impl NodeHost {
    fn server(&self) -> Result<Arc<Server>, HostError> {
        self.0.upgrade().ok_or(HostError::ShuttingDown)
    }
}

/// The primary's client on a replica, kept across the commands of a link.
struct MasterClient {
    client: Client,
    out: BytesMut,
}

impl Host for NodeHost {
    fn snapshot(&self, path: &Path) -> Result<u64, HostError> {
        let server = self.server()?;
        loop {
            let result = crate::persistence::bgsave::write_snapshot(&server, crate::persistence::bgsave::Sink::File(path), |_| sync_point(&server));
            match result {
                Ok((offset, _)) => return Ok(offset),
                // One snapshot at a time (a BGSAVE may be running): wait.
                Err(crate::persistence::bgsave::SnapshotError::Busy) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(HostError::Snapshot { path: path.to_path_buf(), source: Box::new(e) }),
            }
        }
    }

    fn snapshot_to(&self, out: Box<dyn std::io::Write + Send>, at_start: Box<dyn FnOnce(u64) + Send>) -> Result<u64, HostError> {
        let server = self.server()?;
        // One snapshot at a time: wait for a running BGSAVE to end first
        // (the stream is not begun until the snapshot is).
        while server.store.snapshot_running() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let sink = crate::persistence::bgsave::Sink::Stream(out);
        let result = crate::persistence::bgsave::write_snapshot(&server, sink, |_| {
            let (aux, offset) = sync_point(&server);
            at_start(offset);
            (aux, offset)
        });
        result.map(|(offset, _)| offset).map_err(|e| HostError::Snapshot { path: PathBuf::from("<replicas' sockets>"), source: Box::new(e) })
    }

    fn snapshot_filtered(&self, filter: Filter) -> Result<(Bytes, u64), HostError> {
        let server = self.server()?;
        let format = {
            let c = server.config.read();
            (c.rdbcompression, c.rdbchecksum)
        };
        let (aux, offset) = sync_point(&server);
        let functions = if filter.functions { crate::admin::functions::codes(&server) } else { Vec::new() };
        let fail = |e: std::io::Error| HostError::Snapshot { path: PathBuf::from("<replica's socket>"), source: Box::new(e) };
        let rdb = crate::persistence::snapshot::begin_file(Vec::new(), &aux, &functions, format).and_then(|w| w.finish()).map_err(fail)?;
        Ok((Bytes::from(rdb), offset))
    }

    fn diskless(&self) -> Option<(Duration, usize)> {
        let server = self.server().ok()?;
        let c = server.config.read();
        c.repl_diskless_sync.then(|| (Duration::from_secs(c.repl_diskless_sync_delay), c.repl_diskless_sync_max_replicas as usize))
    }

    fn diskless_load(&self) -> bool {
        let Ok(server) = self.server() else {
            return false;
        };
        let mode = server.config.read().repl_diskless_load;
        // `on-empty-db`: only when there is nothing to lose if the load fails.
        match mode {
            DisklessLoad::Swapdb => true,
            DisklessLoad::OnEmptyDb => server.store.exclusive().sizes().iter().all(|(keys, _)| *keys == 0),
            DisklessLoad::Disabled => false,
        }
    }

    fn load(&self, rdb: Rdb<'_>, replid: &str, offset: u64) -> Result<(), HostError> {
        let server = self.server()?;
        let mut ks = server.store.exclusive();
        server.store.settle_snapshot(&mut ks);
        let now = ferrokv_storage::now_ms();
        // `replica-lazy-flush`: the old dataset is freed in the background.
        let lazy = server.config.read().replica_lazy_flush;
        for db in 0..ks.db_count() {
            if lazy {
                ks.flush_db_lazily(db, now, &server.store.lazyfree);
            } else {
                ks.flush_db(db, now);
            }
        }
        // The primary's libraries replace ours, as its keys do.
        let opts = crate::persistence::snapshot::LoadOptions { merge: false, keep_expired: true, functions: ferrokv_scripting::RestorePolicy::Flush };
        let started = Instant::now();
        let loaded = match rdb {
            Rdb::File(path) => crate::persistence::snapshot::load(&server, &mut ks, path, opts),
            Rdb::Memory(data) => crate::persistence::snapshot::load_bytes(&server, &mut ks, data, &rdb.path(), opts),
        };
        let loaded = loaded.map_err(|e| HostError::Load { path: rdb.path(), source: Box::new(e) })?;
        let keys = loaded.keys;
        server.repl.with_log(|log| log.reset_to(replid, offset, loaded.stream_db().unwrap_or(0)));
        tracing::info!(keys, "MASTER <-> REPLICA sync: Loading DB in memory done in {:.3} seconds", started.elapsed().as_secs_f64());
        drop(ks);
        // Every key may have changed: clients caching them hear so.
        server.tracking.flush(&server, None);
        // The AOF still describes the dataset the sync replaced: rewrite it
        // from the loaded one before the first command of the stream is
        // applied (Redis's restartAOFAfterSYNC), or a restart would bring
        // back the old data and none of the new.
        if server.aof.enabled() {
            crate::persistence::aof::rewrite_exclusively(&server).map_err(|e| HostError::AofRewrite(Box::new(e)))?;
        }
        Ok(())
    }

    fn apply(&self, session: &mut ApplySession, mut args: Vec<Bytes>, raw: &[u8], end: u64) {
        let Ok(server) = self.server() else {
            return;
        };
        if !session.state.is::<MasterClient>() {
            session.state = Box::new(MasterClient { client: master_client(&server), out: BytesMut::new() });
        }
        let Some(m) = session.state.downcast_mut::<MasterClient>() else {
            return;
        };
        m.client.now_ms = ferrokv_storage::now_ms();
        m.client.woff = end;
        m.client.repl_pending.extend_from_slice(raw);
        let name = args.first().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).unwrap_or_default();
        crate::dispatch::process(&server, &mut m.client, &mut args, &mut m.out);
        if m.out.first() == Some(&b'-') {
            propagation_error(&server, &name, &m.out);
        }
        m.out.clear();
    }

    fn take_over(&self, replid: &str, from: &str) -> Result<(), String> {
        let server = self.server().map_err(|e| e.to_string())?;
        take_over(&server, replid, from)
    }

    fn authorized(&self, username: &str, password: &str) -> bool {
        let Ok(server) = self.server() else {
            return false;
        };
        crate::acl::may_replicate(&server, username, password)
    }

    fn dir(&self) -> PathBuf {
        self.server().map(|s| s.config.read().dir.clone()).unwrap_or_else(|_| PathBuf::from("."))
    }

    fn hello(&self) -> Hello {
        let Ok(server) = self.server() else {
            return Hello::default();
        };
        let c = server.config.read();
        // Over TLS links the TLS port is where this node is reached, as Redis announces it.
        let port = match (c.replica_announce_port, c.tls_replication && c.tls_port != 0) {
            (0, true) => c.tls_port,
            (0, false) => server.tcp_port.load(Ordering::Relaxed) as u16,
            (announced, _) => announced,
        };
        Hello {
            username: c.masteruser.clone(),
            password: c.masterauth.clone(),
            announce_ip: c.replica_announce_ip.clone(),
            listening_port: port,
            ..Hello::default()
        }
    }

    fn repl_timeout(&self) -> u64 {
        self.server().map(|s| s.config.read().repl_timeout).unwrap_or(60)
    }
}

/// What a snapshot for a full sync records, read at the instant it stands
/// for: the history, the offset and the stream's database (AUX fields), and
/// the offset the replica goes on from.
fn sync_point(server: &Server) -> (Vec<(&'static str, Vec<u8>)>, u64) {
    server.repl.with_log(|log| {
        let (offset, db) = log.snapshot_point();
        (repl_aux(&log.replid, offset, db), offset)
    })
}

/// A command from the primary failed here: the datasets have parted.
/// Logged as Redis logs it; `propagation-error-behavior panic` (or
/// `panic-on-replicas`) stops the node rather than serve a dataset that
/// differs from its primary's.
fn propagation_error(server: &Server, command: &str, reply: &[u8]) {
    let text = String::from_utf8_lossy(reply);
    let error = text.trim_start_matches('-').trim_end();
    tracing::warn!("== CRITICAL == This replica is sending an error to its master: '{error}' after processing the command '{command}'");
    // Only replicas apply a primary's stream: both panic settings apply.
    if server.config.read().propagation_error != crate::config::PropagationError::Ignore {
        crate::panics::server_panic(&format!("This replica panicked sending an error to its master after processing the command '{command}'"));
    }
}

/// The primary's stream carries a write while this replica cannot persist
/// (a failed save, a failing AOF): by default it stops rather than hold
/// data its disk does not (Redis 7.0's `replica-ignore-disk-write-errors
/// no`); with `yes` it applies the write and says so every 10 seconds.
pub fn write_despite_disk_error(server: &Server) {
    if !server.config.read().replica_ignore_disk_write_errors {
        crate::panics::server_panic("Replica was unable to write command to disk.");
    }
    static LAST_LOG_MS: AtomicI64 = AtomicI64::new(0);
    let now = ferrokv_storage::now_ms();
    let last = LAST_LOG_MS.load(Ordering::Relaxed);
    if now > last + 10_000 && LAST_LOG_MS.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        tracing::warn!("Replica is applying a command even though it is unable to write to disk.");
    }
}

/// The AUX fields that let a restarted replica continue its history.
pub fn repl_aux(replid: &str, offset: u64, db: usize) -> Vec<(&'static str, Vec<u8>)> {
    vec![("repl-stream-db", db.to_string().into_bytes()), ("repl-id", replid.as_bytes().to_vec()), ("repl-offset", offset.to_string().into_bytes())]
}

/// The AUX fields for a snapshot taken now (with the keyspace held), when
/// this node has a replication history worth continuing.
pub fn snapshot_aux(server: &Server) -> Vec<(&'static str, Vec<u8>)> {
    server.repl.with_log(|log| {
        if log.backlog.is_none() && log.applied.is_none() {
            return Vec::new();
        }
        let (offset, db) = log.snapshot_point();
        repl_aux(&log.replid, offset, db)
    })
}

/// The address part of a client's `ip:port` (IPv6 addresses hold colons).
fn peer_ip(shared: &ClientShared) -> String {
    shared.addr.rsplit_once(':').map_or(String::new(), |(ip, _)| ip.trim_matches(['[', ']']).to_string())
}

/// How Redis names a replica in its log: its announced or peer address and
/// its listening port.
pub fn replica_name(shared: &ClientShared, req: &resp::Request) -> String {
    let ip = if req.ip_address.is_empty() { peer_ip(shared) } else { req.ip_address.clone() };
    match req.listening_port {
        0 => format!("{ip}:<unknown-replica-port>"),
        port if ip.contains(':') => format!("[{ip}]:{port}"),
        port => format!("{ip}:{port}"),
    }
}

/// After SYNC/PSYNC: the connection serves the replica (Redis's protocol,
/// see `ferrokv_replication::resp`) until it goes away, the client is
/// killed or the node shuts down. `input` holds what it sent after.
pub async fn serve_replica<S>(server: &Server, client: &mut Client, stream: &mut S, input: BytesMut)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    client.sync = false;
    let req = *client.replconf.take().unwrap_or_default();
    client.shared.set_flag(kind::REPLICA, true);
    let host: Arc<dyn Host> = Arc::new(NodeHost(Arc::downgrade(&server.arc())));
    let mut stop = server.shutdown_signal();
    let ip = peer_ip(&client.shared);
    tokio::select! {
        result = resp::serve(&server.repl, host, stream, input, req, ip) => {
            if let Err(e) = result {
                tracing::debug!("replica link ended: {e}");
            }
        }
        _ = client.shared.kill.notified() => {}
        _ = stop.changed() => {}
    }
}

/// After the dump is loaded at start-up: a replica takes up the history
/// saved in it, so it can continue partially with its primary.
pub fn restore_history(server: &Server, loaded: &crate::persistence::snapshot::Loaded) {
    if server.config.read().replicaof.is_none() {
        return;
    }
    if let (Some(replid), Some(offset)) = (loaded.aux_str("repl-id"), loaded.aux_str("repl-offset").and_then(|o| o.parse::<u64>().ok())) {
        let db = loaded.stream_db().unwrap_or(0);
        server.repl.with_log(|log| log.restore(&replid, offset, Some(db)));
        tracing::info!(replid = %replid, offset, "Restored replication ID and offset from the RDB file");
    }
}

/// The client that replays the AOF at start-up.
pub fn loading_client(server: &Arc<Server>) -> Client {
    let mut client = new_master_client(server);
    client.shared.set_flag(kind::MASTER, false);
    client.is_master = false;
    client.is_loading = true;
    client
}

/// The primary's client, created when a link starts applying.
fn master_client(server: &Arc<Server>) -> Client {
    let db = server.repl.log.lock().applied.map_or(0, |(_, db)| db);
    let mut client = new_master_client(server);
    client.select(db);
    client
}

fn new_master_client(server: &Arc<Server>) -> Client {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let addr = server.repl.link.lock().as_ref().map(|l| format!("{}:{}", l.host, l.port)).unwrap_or_default();
    let shared = Arc::new(ClientShared::new(server.next_client_id(), addr, String::new(), -1, false, tx));
    shared.set_flag(kind::MASTER, true);
    let mut client = Client::new(shared, true, false, false);
    client.is_master = true;
    client
}

/// Starts the gRPC side of this node; TCP connections that open with the
/// HTTP/2 preface are handed to it.
pub fn start(server: &Arc<Server>) {
    let host: Arc<dyn Host> = Arc::new(NodeHost(Arc::downgrade(server)));
    let tx = grpc::serve(server.repl.clone(), host);
    let _ = server.grpc.set(tx);
}

/// The TLS configuration of the link to the primary, when
/// `tls-replication` says links use TLS (read at each attempt).
fn tls_source(server: &Arc<Server>) -> resp::replica::TlsSource {
    let node = Arc::downgrade(server);
    Arc::new(move || {
        let server = node.upgrade()?;
        let tls = server.config.read().tls_replication;
        tls.then(|| server.tls.client()).flatten()
    })
}

/// REPLICAOF host port: follow that primary (from scratch or continuing).
/// With `handover`, the first attempt is FAILOVER's hand-over.
pub fn follow(server: &Arc<Server>, host: String, port: u16, handover: Option<replica::Handover>) {
    let mut task = server.repl_link.lock();
    if let Some(t) = task.take() {
        t.abort();
    }
    server.repl.set_replica(true);
    ferrokv_log::set_role(ferrokv_log::role::REPLICA);
    server.repl.with_log(|log| log.cut_all());
    *server.repl.link.lock() = Some(LinkInfo::new(host.clone(), port));
    server.config.write().replicaof = Some((host.clone(), port));
    let node: Arc<dyn Host> = Arc::new(NodeHost(Arc::downgrade(server)));
    *task = Some(tokio::spawn(replica::run_link(server.repl.clone(), node, (host, port), resp::replica::connector(tls_source(server)), handover)));
}

/// REPLICAOF NO ONE: stop following and start a new history that continues
/// the old one, so the other replicas can continue with us.
pub fn promote(server: &Server) {
    let mut task = server.repl_link.lock();
    if let Some(t) = task.take() {
        t.abort();
    }
    if server.repl.is_replica() {
        server.repl.with_log(|log| log.shift_replid());
        server.repl.set_replica(false);
        ferrokv_log::set_role(ferrokv_log::role::PRIMARY);
        *server.repl.link.lock() = None;
    }
    server.config.write().replicaof = None;
}

/// `PSYNC <replid> <offset> FAILOVER` (from FAILOVER on our primary): if we
/// follow that history, we take over as primary first (the PSYNC then
/// continues as for any replica), as Redis's syncCommand does.
pub fn take_over(server: &Server, replid: &str, from: &str) -> Result<(), String> {
    if server.repl.log.lock().replid != replid {
        return Err("ERR PSYNC FAILOVER replid must match my replid.".into());
    }
    promote(server);
    tracing::info!("MASTER MODE enabled (failover request from '{from}')");
    Ok(())
}

/// A client waiting in WAIT.
pub struct WaitAcks {
    pub offset: u64,
    pub replicas: usize,
    pub deadline: Option<Instant>,
}

/// Waits until enough replicas acked or the deadline passed; the count.
pub async fn wait_acks(server: &Server, w: WaitAcks) -> usize {
    let repl = &server.repl;
    loop {
        let acked = repl.acked.notified();
        tokio::pin!(acked);
        acked.as_mut().enable();
        let n = repl.acked_at_least(w.offset);
        if n >= w.replicas {
            return n;
        }
        let left = w.deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return n;
        }
        tokio::select! {
            _ = acked => {}
            _ = sleep_opt(left) => return repl.acked_at_least(w.offset),
        }
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// INFO's `# Replication` section, field for field as Redis 7.0.
pub fn info(server: &Server, out: &mut String) {
    let c = server.config.read();
    let repl = &server.repl;
    let log = repl.log.lock();
    let offset = log.offset();
    out.push_str("# Replication\r\n");
    if let Some(l) = repl.link.lock().as_ref().filter(|_| repl.is_replica()) {
        let connected = l.state == LinkState::Connected;
        let last_io = if connected { l.last_io.elapsed().as_secs() as i64 } else { -1 };
        let read = if connected { l.read_offset.max(offset) } else { offset };
        let _ = write!(
            out,
            "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
            l.host,
            l.port,
            if connected { "up" } else { "down" },
            last_io,
            (l.state == LinkState::Transfer) as u8,
            read,
            offset
        );
        if l.state == LinkState::Transfer {
            // A diskless sync's size is unknown: Redis reports -1 (and
            // derives the rest from it).
            let total = if l.sync_size > 0 { l.sync_size as i64 } else { -1 };
            let perc = l.sync_read as f64 * 100.0 / total as f64;
            let _ = write!(
                out,
                "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                total,
                l.sync_read,
                total - l.sync_read as i64,
                l.last_io.elapsed().as_secs()
            );
        }
        if !connected {
            let down = l.down_since.map_or(-1, |d| d.elapsed().as_secs() as i64);
            let _ = write!(out, "master_link_down_since_seconds:{down}\r\n");
        }
        let _ = write!(
            out,
            "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
            c.replica_priority, c.replica_read_only as u8, c.replica_announced as u8
        );
    } else {
        out.push_str("role:master\r\n");
    }
    let replicas: Vec<_> = repl.replicas.lock().values().cloned().collect();
    let _ = write!(out, "connected_slaves:{}\r\n", replicas.len());
    if c.min_replicas_to_write > 0 && c.min_replicas_max_lag > 0 {
        let _ = write!(out, "min_slaves_good_slaves:{}\r\n", repl.good_replicas(c.min_replicas_max_lag));
    }
    for (i, r) in replicas.iter().enumerate() {
        let _ = write!(out, "slave{i}:ip={},port={},state={},offset={},lag={}\r\n", r.ip, r.port, r.state().name(), r.ack_offset(), r.lag_secs());
    }
    let backlog = log.backlog.as_ref();
    let _ = write!(
        out,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        server.failover.phase().name(),
        log.replid,
        log.replid2,
        offset,
        log.second_repl_offset(),
        backlog.is_some() as u8,
        c.repl_backlog_size,
        backlog.map_or(0, |b| b.start() + 1),
        backlog.map_or(0, |b| b.histlen())
    );
}

/// ROLE's reply parts for a primary: online replicas as (ip, port, offset).
pub fn online_replicas(server: &Server) -> Vec<(String, u16, u64)> {
    server.repl.replicas.lock().values().filter(|r| r.state() == ReplicaState::Online).map(|r| (r.ip.clone(), r.port, r.ack_offset())).collect()
}
