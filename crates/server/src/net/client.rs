//! A connected client: what only its connection touches ([`Client`]) and
//! what other connections may read or signal ([`ClientShared`]: CLIENT LIST,
//! CLIENT KILL, pub/sub delivery).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferrokv_resp::Protocol;
use ferrokv_storage::{Key, WatchFlag, Watches};
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

/// Something delivered to a client outside a reply to its own request.
#[derive(Debug, Clone)]
pub enum Push {
    Message {
        channel: Bytes,
        payload: Bytes,
    },
    PMessage {
        pattern: Bytes,
        channel: Bytes,
        payload: Bytes,
    },
    /// A shard channel's message (SPUBLISH).
    SMessage {
        channel: Bytes,
        payload: Bytes,
    },
    Monitor(Bytes),
    /// Bytes already in the client's protocol (tracking invalidations).
    Raw(Bytes),
    /// Not for the client: the end-of-round write left bytes its socket
    /// would not take, so the connection writes them itself (`outbox`).
    Stalled,
}

impl Push {
    pub fn size(&self) -> usize {
        match self {
            Push::Message { channel, payload } | Push::SMessage { channel, payload } => channel.len() + payload.len() + 32,
            Push::PMessage { pattern, channel, payload } => pattern.len() + channel.len() + payload.len() + 48,
            Push::Monitor(line) => line.len() + 8,
            Push::Raw(bytes) => bytes.len(),
            Push::Stalled => 0,
        }
    }
}

/// Kinds CLIENT LIST prints in `flags=` and CLIENT KILL TYPE selects.
pub mod kind {
    pub const MULTI: u32 = 1 << 0;
    pub const PUBSUB: u32 = 1 << 1;
    pub const MONITOR: u32 = 1 << 2;
    pub const REPLICA: u32 = 1 << 3;
    pub const MASTER: u32 = 1 << 4;
    pub const DIRTY_CAS: u32 = 1 << 5;
    pub const CLOSE_ASAP: u32 = 1 << 6;
    pub const UNIX: u32 = 1 << 7;
    pub const BLOCKED: u32 = 1 << 8;
    /// CLIENT NO-EVICT ON: never evicted under `maxmemory-clients`.
    pub const NO_EVICT: u32 = 1 << 9;
}

pub struct ClientShared {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created: Instant,
    /// Milliseconds since `created` of the last request.
    pub last_interaction_ms: AtomicU64,
    pub db: AtomicUsize,
    pub name: Mutex<Option<Bytes>>,
    /// CLIENT SETINFO lib-name / lib-ver.
    pub lib: Mutex<(Option<Bytes>, Option<Bytes>)>,
    /// The command it last ran (CLIENT LIST `cmd=`).
    pub last_cmd: LastCmd,
    pub flags: AtomicU32,
    pub sub_count: AtomicUsize,
    pub psub_count: AtomicUsize,
    pub ssub_count: AtomicUsize,
    /// Queued MULTI commands, -1 outside MULTI.
    pub multi_count: AtomicI64,
    pub resp: AtomicU8,
    /// Bytes of pushes queued but not yet written (the output limits).
    pub pending_push: AtomicUsize,
    /// Bytes of replies its socket has not taken yet (a client that does
    /// not read): with `pending_push`, CLIENT LIST's `obl`/`oll`/`omem`.
    pub unsent: AtomicUsize,
    /// The arguments of the command it is blocked in (CLIENT LIST
    /// `argv-mem`: Redis keeps a blocked client's argv).
    pub argv_mem: AtomicUsize,
    /// What the connection's buffers hold, as its task last published it
    /// (CLIENT LIST `qbuf`, `qbuf-free`, `multi-mem`, `tot-mem`; client
    /// eviction): see `Memory`.
    pub memory: Memory,
    /// Milliseconds after `created` (plus one) since when `pending_push`
    /// has been over its soft limit; 0 while under it.
    pub soft_limit_since: AtomicU64,
    pub killed: AtomicBool,
    pub kill: Notify,
    pub push: mpsc::UnboundedSender<Push>,
    /// CLIENT TRACKING's options while it is on (others' invalidations and
    /// CLIENT LIST read them).
    pub tracking: Mutex<Option<crate::tracking::Mode>>,
    /// The user it is logged in as (CLIENT LIST `user=`, CLIENT KILL USER).
    pub user: Mutex<Bytes>,
}

/// A client's last command, set twice per command by its connection and
/// read by others' CLIENT LIST: a relaxed pointer store, where a mutex cost
/// four atomic operations per command.
pub struct LastCmd(std::sync::atomic::AtomicPtr<&'static str>);

static NO_COMMAND: &str = "NULL";

impl Default for LastCmd {
    fn default() -> Self {
        LastCmd(std::sync::atomic::AtomicPtr::new(std::ptr::from_ref(&NO_COMMAND).cast_mut()))
    }
}

impl LastCmd {
    pub fn set(&self, name: &'static &'static str) {
        self.0.store(std::ptr::from_ref(name).cast_mut(), Ordering::Relaxed);
    }

    pub fn get(&self) -> &'static str {
        // SAFETY: only ever set from `&'static &'static str`s, never written through.
        unsafe { *self.0.load(Ordering::Relaxed) }
    }
}

impl ClientShared {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, unix: bool, push: mpsc::UnboundedSender<Push>) -> Self {
        ClientShared {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            last_interaction_ms: AtomicU64::new(0),
            db: AtomicUsize::new(0),
            name: Mutex::new(None),
            lib: Mutex::new((None, None)),
            last_cmd: LastCmd::default(),
            flags: AtomicU32::new(if unix { kind::UNIX } else { 0 }),
            sub_count: AtomicUsize::new(0),
            psub_count: AtomicUsize::new(0),
            ssub_count: AtomicUsize::new(0),
            multi_count: AtomicI64::new(-1),
            resp: AtomicU8::new(2),
            pending_push: AtomicUsize::new(0),
            unsent: AtomicUsize::new(0),
            argv_mem: AtomicUsize::new(0),
            memory: Memory::default(),
            soft_limit_since: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            push,
            tracking: Mutex::new(None),
            user: Mutex::new(Bytes::from_static(b"default")),
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & flag != 0
    }

    pub fn set_flag(&self, flag: u32, on: bool) {
        if on {
            self.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }

    /// Asks the connection to close after what it is doing.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_one();
    }

    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Delivers a push; false if the client is gone. A client whose
    /// undelivered pushes pass its class's `client-output-buffer-limit`
    /// (hard, or soft for longer than its seconds) is disconnected and
    /// logged, as Redis does, instead of growing memory.
    pub fn deliver(&self, push: Push) -> bool {
        let pending = self.pending_push.fetch_add(push.size(), Ordering::Relaxed) + push.size();
        let limit = if self.has(kind::PUBSUB) { &PUBSUB_LIMIT } else { &NORMAL_LIMIT };
        if limit.exceeded(pending as u64, &self.soft_limit_since, self.created) {
            if !self.has(kind::CLOSE_ASAP) {
                self.set_flag(kind::CLOSE_ASAP, true);
                tracing::warn!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", crate::admin::client::describe(self));
            }
            self.kill();
            return false;
        }
        self.push.send(push).is_ok()
    }
}

/// A connection's memory, published by its task once per read (after its batch)
/// (relaxed stores: readers see a recent picture, as Redis's CLIENT LIST
/// does of other clients).
#[derive(Default)]
pub struct Memory {
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    pub multi: AtomicUsize,
    /// The pushes counted in `total` (they change between publications).
    pub pushes: AtomicUsize,
    /// Everything the client costs (Redis's `tot-mem`): buffers, queued
    /// commands and pushes, and the client's own structures.
    pub total: AtomicUsize,
}

/// What a connection costs before any buffer: its structures and task.
pub const CLIENT_BASE_MEMORY: usize = 2048;

impl Memory {
    /// Publishes the connection's figures and adds the change in its total
    /// to `all` (every client's, for `maxmemory-clients`).
    pub fn publish(&self, input: &bytes::BytesMut, out_capacity: usize, multi: usize, pushes: usize, all: &AtomicUsize) {
        self.qbuf.store(input.len(), Ordering::Relaxed);
        self.qbuf_free.store(input.capacity() - input.len(), Ordering::Relaxed);
        self.multi.store(multi, Ordering::Relaxed);
        self.pushes.store(pushes, Ordering::Relaxed);
        let total = CLIENT_BASE_MEMORY + input.capacity() + out_capacity + multi + pushes;
        // Buffers keep their capacity from batch to batch: the shared sum
        // (one cache line every worker would write) is touched only on a
        // change.
        let before = self.total.load(Ordering::Relaxed);
        // Compare-and-swap: an eviction's `release` in between wins (the
        // client is going), and the sum stays the sum of the totals.
        if total == before || self.total.compare_exchange(before, total, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        if total > before {
            all.fetch_add(total - before, Ordering::Relaxed);
        } else {
            all.fetch_sub(before - total, Ordering::Relaxed);
        }
    }

    /// Takes the client's total out of `all` (it is gone, or evicted).
    pub fn release(&self, all: &AtomicUsize) {
        all.fetch_sub(self.total.swap(0, Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// One class of `client-output-buffer-limit`: hard bytes, soft bytes and
/// seconds (0: no limit). Process-wide, as the config is, so a push checks
/// it without the server at hand.
#[derive(Default)]
pub struct OutputLimit {
    hard: AtomicU64,
    soft: AtomicU64,
    soft_secs: AtomicU64,
}

/// The classes whose output is pushes (replicas have their own stream).
pub static NORMAL_LIMIT: OutputLimit = OutputLimit::new();
pub static PUBSUB_LIMIT: OutputLimit = OutputLimit::new();

impl OutputLimit {
    const fn new() -> Self {
        OutputLimit { hard: AtomicU64::new(0), soft: AtomicU64::new(0), soft_secs: AtomicU64::new(0) }
    }

    pub fn set(&self, (hard, soft, secs): (u64, u64, u64)) {
        self.hard.store(hard, Ordering::Relaxed);
        self.soft.store(soft, Ordering::Relaxed);
        self.soft_secs.store(secs, Ordering::Relaxed);
    }

    /// Redis's checkClientOutputBufferLimits: at or over the hard limit, or
    /// over the soft one for more than its seconds (`since` keeps when it
    /// was first passed, reset once under).
    fn exceeded(&self, used: u64, since: &AtomicU64, created: Instant) -> bool {
        let hard = self.hard.load(Ordering::Relaxed);
        if hard > 0 && used >= hard {
            return true;
        }
        let soft = self.soft.load(Ordering::Relaxed);
        if soft == 0 || used < soft {
            since.store(0, Ordering::Relaxed);
            return false;
        }
        let now = created.elapsed().as_millis() as u64 + 1;
        match since.load(Ordering::Relaxed) {
            0 => {
                since.store(now, Ordering::Relaxed);
                false
            }
            at => (now - at) / 1000 > self.soft_secs.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// CLIENT REPLY SKIP was just called: the next command is silent.
    SkipNext,
    /// The command being run now is silent.
    Skip,
}

/// What WATCH remembers per key: Redis 7.0 aborts EXEC if a key that was
/// alive at WATCH time has expired since, even if nobody touched it.
pub struct Watched {
    pub db: usize,
    pub key: Key,
    pub expired_at_watch: bool,
    /// Its database's registry (unwatching needs no keyspace gate).
    pub watches: Arc<Watches>,
}

pub struct Client {
    pub shared: Arc<ClientShared>,
    pub db: usize,
    pub proto: Protocol,
    pub authenticated: bool,
    /// Its user's rules; None for the primary's stream and the AOF, which
    /// run whatever the rules (Redis's clients without a user).
    pub user: Option<Arc<ferrokv_acl::User>>,
    /// The ACL generation `user` was read at (see `crate::acl`).
    pub acl_gen: u64,
    /// Commands queued by MULTI; `None` outside a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A queueing error happened: EXEC will answer EXECABORT.
    pub multi_abort: bool,
    pub watch_flag: WatchFlag,
    pub watched: Vec<Watched>,
    pub channels: HashMap<Bytes, ()>,
    pub patterns: HashMap<Bytes, ()>,
    pub shard_channels: HashMap<Bytes, ()>,
    /// Tracking is on in the default (not BCAST) mode: (OPTIN, OPTOUT).
    /// The reads it remembers are decided here without a lock.
    pub tracking_reads: Option<(bool, bool)>,
    /// CLIENT CACHING YES/NO was given for the next command (or MULTI).
    pub caching: bool,
    pub reply: ReplyMode,
    pub close_after_reply: bool,
    pub is_unix: bool,
    /// The peer address is a loopback one (protected mode, DEBUG local).
    pub is_local: bool,
    /// Unix ms when the current batch of requests was read: the time its
    /// commands see (one clock read per batch, not per command).
    pub now_ms: i64,
    /// Set by a blocking command that found nothing: the connection waits.
    pub blocked: Option<crate::blocking::Blocked>,
    /// Running queued commands in EXEC: blocking commands do not block.
    pub in_exec: bool,
    /// Memory was over `maxmemory` with nothing left to evict when the
    /// current command was admitted (Redis's `pre_command_oom_state`): a
    /// script's first write of a DENYOOM command is refused.
    pub oom_at_start: bool,
    /// Running a script's commands: MONITOR and SLOWLOG show them as
    /// Redis's Lua client's (`[0 lua]`, `?:0`), not as this client's.
    pub in_script: bool,
    /// Replication offset after this client's last propagated write: what
    /// WAIT waits for replicas to acknowledge.
    pub woff: u64,
    /// Set by WAIT: the connection waits for acks.
    pub wait: Option<crate::replication::WaitAcks>,
    /// SHUTDOWN waiting for lagging replicas before it finishes.
    pub shutdown: Option<crate::shutdown::Request>,
    /// DEBUG LOADAOF, done by the connection once the command's gate is
    /// released (loading runs commands, which take it themselves).
    pub load_aof: bool,
    /// What REPLCONF configured, for a SYNC/PSYNC to come.
    pub replconf: Option<Box<ferrokv_replication::resp::Request>>,
    /// SYNC/PSYNC accepted: the connection turns into a replica's link.
    pub sync: bool,
    /// The primary's link on a replica: its commands bypass read-only and
    /// see keys as the primary did.
    pub is_master: bool,
    /// Replaying the AOF at start-up: like the primary's client, it sees
    /// keys as they were written and bypasses read-only.
    pub is_loading: bool,
    /// The command's effect could not be written to the AOF: drop its reply
    /// and close the connection.
    pub drop_reply: bool,
    /// The primary's commands run but not yet logged (a transaction being
    /// queued): logged when they take effect.
    pub repl_pending: bytes::BytesMut,
}

impl Client {
    pub fn new(shared: Arc<ClientShared>, authenticated: bool, is_unix: bool, is_local: bool) -> Self {
        Client {
            shared,
            db: 0,
            proto: Protocol::Resp2,
            authenticated,
            user: None,
            acl_gen: 0,
            multi: None,
            multi_abort: false,
            watch_flag: Arc::new(AtomicBool::new(false)),
            watched: Vec::new(),
            channels: HashMap::new(),
            patterns: HashMap::new(),
            shard_channels: HashMap::new(),
            tracking_reads: None,
            caching: false,
            reply: ReplyMode::On,
            close_after_reply: false,
            is_unix,
            is_local,
            now_ms: ferrokv_storage::now_ms(),
            blocked: None,
            in_exec: false,
            oom_at_start: false,
            in_script: false,
            woff: 0,
            wait: None,
            shutdown: None,
            load_aof: false,
            replconf: None,
            sync: false,
            is_master: false,
            is_loading: false,
            drop_reply: false,
            repl_pending: bytes::BytesMut::new(),
        }
    }

    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// What (P)SUBSCRIBE confirmations count: channels and patterns.
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Every subscription, shard channels included (Redis's
    /// `clientTotalPubSubSubscriptionCount`).
    pub fn all_subscriptions(&self) -> usize {
        self.subscriptions() + self.shard_channels.len()
    }

    /// The client's own subscriptions of one kind.
    pub fn subs_mut(&mut self, kind: crate::pubsub::Kind) -> &mut HashMap<Bytes, ()> {
        match kind {
            crate::pubsub::Kind::Channel => &mut self.channels,
            crate::pubsub::Kind::Pattern => &mut self.patterns,
            crate::pubsub::Kind::Shard => &mut self.shard_channels,
        }
    }

    /// In RESP2 a subscribed connection may only (un)subscribe, ping, quit.
    pub fn in_pubsub_context(&self) -> bool {
        self.proto == Protocol::Resp2 && self.all_subscriptions() > 0
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.shared.db.store(db, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn output_limits_cut_at_hard_and_after_soft_seconds() {
        let limit = OutputLimit::new();
        limit.set((1000, 100, 2));
        let since = AtomicU64::new(0);
        let created = Instant::now() - Duration::from_secs(10);
        assert!(!limit.exceeded(50, &since, created));
        assert!(limit.exceeded(1000, &since, created), "at the hard limit");
        assert!(!limit.exceeded(200, &since, created), "over soft: the clock starts");
        let started = since.load(Ordering::Relaxed);
        assert!(started > 0 && !limit.exceeded(200, &since, created), "still within the seconds");
        since.store(started - 3500, Ordering::Relaxed);
        assert!(limit.exceeded(200, &since, created), "over soft for more than 2 whole seconds");
        assert!(!limit.exceeded(50, &since, created) && since.load(Ordering::Relaxed) == 0, "back under: the clock resets");
        limit.set((0, 0, 0));
        assert!(!limit.exceeded(u64::MAX, &since, created), "no limit");
    }
}
