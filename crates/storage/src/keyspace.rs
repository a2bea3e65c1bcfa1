//! Databases, the gate that orders whole-keyspace work, and the [`View`]
//! through which a command reads and writes keys.
//!
//! Concurrency: each database is split into [`SHARDS`] shards, each behind
//! its own mutex, and the whole keyspace sits behind a reader-writer gate.
//! A command whose keys all live in one shard holds the gate shared and that
//! one shard's mutex, so commands on different shards run in parallel on
//! different cores. Commands that span shards or databases (MSET, RENAME,
//! EXEC, FLUSHALL, KEYS…) hold the gate exclusively, which gives them
//! Redis's atomicity without a lock order to get wrong.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use rand::Rng;
use smallvec::SmallVec;

use crate::counter::Counter;
use crate::lazyfree::{LazyFree, Policy};
use crate::shard::{Entry, Key, Shard};
use crate::snapshot::{Capture, SnapshotJob};
use crate::table::key_hash;
use crate::value::Value;
use crate::watch::{WatchFlag, Watches};

/// Shards per database. A power of two; enough to spread a few cores'
/// worth of connections without contention.
pub const SHARDS: usize = 16;

/// Keys sampled per round of active expiry (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP),
/// at `active-expire-effort` 1; each step of effort adds a quarter.
const EXPIRE_SAMPLE: usize = 20;
/// Another round runs while more than this percentage of a sample was
/// expired, at effort 1; each step of effort takes one off.
const EXPIRE_STALE_PERCENT: usize = 10;

/// Active expiry's work per round for an `active-expire-effort` (1..=10),
/// as Redis scales it: (keys sampled, stale percentage that goes on).
pub fn expire_effort(effort: u64) -> (usize, usize) {
    let e = effort.clamp(1, 10) as usize - 1;
    (EXPIRE_SAMPLE + EXPIRE_SAMPLE / 4 * e, EXPIRE_STALE_PERCENT - e)
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Redis's LRU clock (seconds, 24 bits), as the cron last set it: like
/// Redis, reading it costs no clock call; its resolution is one second.
static LRU_CLOCK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

pub fn lru_clock() -> u32 {
    match LRU_CLOCK.load(Ordering::Relaxed) {
        u32::MAX => refresh_lru_clock(),
        c => c,
    }
}

/// Called by the server's cron; returns the new value.
pub fn refresh_lru_clock() -> u32 {
    let c = ((now_ms() / 1000) as u32) & 0x00ff_ffff;
    LRU_CLOCK.store(c, Ordering::Relaxed);
    c
}

/// Seconds since `lru` on Redis's wrapping 24-bit clock.
pub fn idle_seconds(lru: u32) -> u64 {
    let now = lru_clock();
    if now >= lru {
        (now - lru) as u64
    } else {
        (now + 0x0100_0000 - lru) as u64
    }
}

pub fn shard_of(key: &[u8]) -> usize {
    shard_of_hash(key_hash(key))
}

/// The shard of a key whose [`key_hash`] is `hash` (bits 32 and up: the
/// table takes its slot from the low bits).
fn shard_of_hash(hash: u64) -> usize {
    (hash >> 32) as usize & (SHARDS - 1)
}

/// Counters INFO reports; shared by every connection.
#[derive(Default, Debug)]
pub struct Stats {
    pub keyspace_hits: Counter,
    pub keyspace_misses: Counter,
    pub expired_keys: AtomicU64,
    /// Keys evicted under `maxmemory` (INFO's evicted_keys).
    pub evicted_keys: AtomicU64,
    /// Writes since the last save, for `save` points and INFO persistence.
    pub dirty: Counter,
}

#[derive(Default)]
pub struct DbData {
    shards: Box<[Mutex<Shard>]>,
}

impl DbData {
    fn new() -> Self {
        DbData { shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect() }
    }
}

pub struct Db {
    /// The keys; swapped whole by SWAPDB, while watchers stay with the index.
    data: DbData,
    /// Shared with the clients watching, so they unwatch (DISCARD, a
    /// disconnect) without taking the keyspace gate.
    pub watches: Arc<Watches>,
}

impl Db {
    pub fn len(&mut self) -> usize {
        self.data.shards.iter_mut().map(|s| s.get_mut().len()).sum()
    }

    pub fn volatile_len(&mut self) -> usize {
        self.data.shards.iter_mut().map(|s| s.get_mut().volatile_len()).sum()
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Visits every key that has not expired, with its absolute expiry (a
    /// snapshot's view of the database). Stops at the visitor's first error.
    pub fn for_each_live<E>(&mut self, now: i64, mut visit: impl FnMut(&[u8], &Entry, Option<i64>) -> Result<(), E>) -> Result<(), E> {
        for shard in self.data.shards.iter_mut() {
            let shard = shard.get_mut();
            for (key, entry) in shard.map.iter() {
                let expire = shard.expires.get(key);
                if expire.is_some_and(|at| at <= now) {
                    continue;
                }
                visit(key, entry, expire)?;
            }
        }
        Ok(())
    }

    /// Adds a key read from a snapshot. A key already present is replaced
    /// when `merge` (DEBUG RELOAD MERGE), else refused with false (a
    /// duplicate in the file, which the loader treats as corruption).
    pub fn insert_loaded(&mut self, key: &[u8], entry: Entry, expire: Option<i64>, merge: bool) -> bool {
        let shard = self.shard_mut(key);
        if shard.map.contains_key(key) {
            if !merge {
                return false;
            }
            shard.remove(key);
        }
        shard.map.insert_new(key, entry);
        if let Some(at) = expire {
            shard.set_expire(key, at);
        }
        true
    }

    fn shard_mut(&mut self, key: &[u8]) -> &mut Shard {
        self.data.shards[shard_of(key)].get_mut()
    }
}

pub struct Keyspace {
    dbs: Vec<Db>,
}

impl Keyspace {
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// One shard of a database, for work that walks shards itself
    /// (eviction) under the shared gate.
    pub(crate) fn shard(&self, db: usize, index: usize) -> &Mutex<Shard> {
        &self.dbs[db].data.shards[index]
    }

    pub(crate) fn watches_of(&self, db: usize) -> &Watches {
        &self.dbs[db].watches
    }

    pub fn db_mut(&mut self, index: usize) -> &mut Db {
        &mut self.dbs[index]
    }

    /// Each database's keys and what its tables hold beyond the records
    /// (INFO memory, MEMORY STATS).
    pub fn table_overheads(&mut self) -> Vec<crate::memory::TableOverhead> {
        self.dbs.iter_mut().map(|db| db.data.shards.iter_mut().map(|s| crate::memory::TableOverhead::of(s.get_mut())).sum()).collect()
    }

    /// Sizes of every database: (keys, keys with an expiry).
    pub fn sizes(&mut self) -> Vec<(usize, usize)> {
        self.dbs.iter_mut().map(|db| (db.len(), db.volatile_len())).collect()
    }

    pub fn swap_dbs(&mut self, a: usize, b: usize, now: i64) {
        if a == b {
            return;
        }
        // Watchers of a key that exists on either side see the swap.
        for (x, y) in [(a, b), (b, a)] {
            let (dx, dy) = two_mut(&mut self.dbs, x, y);
            dx.watches.touch_where(|k| live(dx.data.shards[shard_of(k)].get_mut(), k, now) || live(dy.data.shards[shard_of(k)].get_mut(), k, now));
        }
        let (da, db) = two_mut(&mut self.dbs, a, b);
        std::mem::swap(&mut da.data, &mut db.data);
    }

    /// Empties one database; returns how many keys it held.
    pub fn flush_db(&mut self, index: usize, now: i64) -> usize {
        self.take_db(index, now).1
    }

    /// FLUSHDB ASYNC: empties the database at once and frees what it held
    /// on the lazyfree thread, counting its keys (Redis's `emptyDbAsync`).
    pub fn flush_db_lazily(&mut self, index: usize, now: i64, lazyfree: &LazyFree) -> usize {
        let (data, removed) = self.take_db(index, now);
        lazyfree.free_counted(data, removed as u64);
        removed
    }

    fn take_db(&mut self, index: usize, now: i64) -> (DbData, usize) {
        let db = &mut self.dbs[index];
        let Db { data, watches } = db;
        watches.touch_where(|k| live(data.shards[shard_of(k)].get_mut(), k, now));
        let removed = db.len();
        (std::mem::replace(&mut db.data, DbData::new()), removed)
    }
}

fn live(shard: &mut Shard, key: &[u8], now: i64) -> bool {
    shard.map.contains_key(key) && !shard.is_expired(key, now)
}

fn two_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (l, r) = v.split_at_mut(b);
        (&mut l[a], &mut r[0])
    } else {
        let (l, r) = v.split_at_mut(a);
        (&mut r[0], &mut l[b])
    }
}

/// The keyspace and what everyone shares about it.
fn settle(job: &SnapshotJob, ks: &mut Keyspace) {
    for (db, d) in ks.dbs.iter_mut().enumerate() {
        for (index, shard) in d.data.shards.iter_mut().enumerate() {
            job.settle_shard(db, index, shard.get_mut());
        }
    }
}

pub struct Store {
    keyspace: RwLock<Keyspace>,
    pub stats: Stats,
    /// Encoding thresholds, from the server's configuration.
    pub limits: crate::types::Limits,
    /// Where the active expiry cycle resumes: (db * SHARDS + shard).
    expire_cursor: AtomicUsize,
    /// The running point-in-time snapshot, if any; `snapshot_active`
    /// mirrors it so views check with one load.
    snapshot: Mutex<Option<Arc<SnapshotJob>>>,
    snapshot_active: AtomicBool,
    /// Each database's WATCH registry (the same as its `Db::watches`),
    /// reachable without the gate: WATCH while a script is busy.
    watches: Box<[Arc<Watches>]>,
    /// Eviction's best candidates so far (see `evict`).
    pub(crate) evict_pool: Mutex<crate::evict::Pool>,
    /// The lazyfree thread and the `lazyfree-lazy-*` policy.
    pub lazyfree: LazyFree,
    /// `active-expire-effort` (1..=10).
    pub expire_effort: std::sync::atomic::AtomicU64,
    /// Some client tracks keys (CLIENT TRACKING): views then record the
    /// keys they modify in `View::touched` for invalidation.
    pub tracking: AtomicBool,
}

impl Store {
    pub fn new(databases: usize) -> Self {
        let dbs: Vec<Db> = (0..databases.max(1)).map(|_| Db { data: DbData::new(), watches: Arc::default() }).collect();
        let watches = dbs.iter().map(|db| db.watches.clone()).collect();
        Store {
            watches,
            keyspace: RwLock::new(Keyspace { dbs }),
            stats: Stats::default(),
            limits: Default::default(),
            expire_cursor: AtomicUsize::new(0),
            snapshot: Mutex::new(None),
            snapshot_active: AtomicBool::new(false),
            evict_pool: Mutex::default(),
            lazyfree: LazyFree::default(),
            expire_effort: std::sync::atomic::AtomicU64::new(1),
            tracking: AtomicBool::new(false),
        }
    }

    /// The running snapshot, for a view being created (under the gate).
    pub(crate) fn current_snapshot(&self) -> Option<Arc<SnapshotJob>> {
        if !self.snapshot_active.load(Ordering::Acquire) {
            return None;
        }
        self.snapshot.lock().clone()
    }

    /// Database `db`'s WATCH registry, without the keyspace gate.
    pub fn watches(&self, db: usize) -> Option<&Arc<Watches>> {
        self.watches.get(db)
    }

    pub fn snapshot_running(&self) -> bool {
        self.snapshot_active.load(Ordering::Acquire)
    }

    /// Starts a point-in-time snapshot of `ks` (held exclusively: the
    /// instant it stands for). None if one is already running.
    pub fn begin_snapshot(&self, ks: &mut Keyspace, capture: Box<dyn Capture>) -> Option<Arc<SnapshotJob>> {
        let mut slot = self.snapshot.lock();
        if slot.is_some() {
            return None;
        }
        let job = SnapshotJob::new(ks.dbs.len(), capture);
        *slot = Some(job.clone());
        self.snapshot_active.store(true, Ordering::Release);
        Some(job)
    }

    /// Captures what the snapshot still needs, walking every shard in
    /// chunks under the shared gate, then ends it.
    pub fn walk_snapshot(&self, job: &Arc<SnapshotJob>) {
        let databases = self.shared().dbs.len();
        for db in 0..databases {
            for index in 0..SHARDS {
                let mut cursor = usize::MAX;
                loop {
                    job.pace();
                    let ks = self.shared();
                    let mut shard = ks.dbs[db].data.shards[index].lock();
                    if !job.pending_shard(db, index) {
                        break;
                    }
                    cursor = job.capture_chunk(db, &mut shard, cursor);
                    if cursor == 0 {
                        job.done(db, index);
                        break;
                    }
                }
            }
        }
        debug_assert_eq!(job.left(), 0);
        let mut slot = self.snapshot.lock();
        if slot.as_ref().is_some_and(|j| Arc::ptr_eq(j, job)) {
            *slot = None;
            self.snapshot_active.store(false, Ordering::Release);
        }
    }

    /// Captures everything the running snapshot still needs, before a
    /// change to the whole keyspace (FLUSHALL, SWAPDB, a load).
    pub fn settle_snapshot(&self, ks: &mut Keyspace) {
        if let Some(job) = self.current_snapshot() {
            settle(&job, ks);
        }
    }

    pub fn shared(&self) -> RwLockReadGuard<'_, Keyspace> {
        self.keyspace.read()
    }

    pub fn exclusive(&self) -> RwLockWriteGuard<'_, Keyspace> {
        self.keyspace.write()
    }

    /// The shared gate if it can be had within `wait` (zero: only now).
    pub fn try_shared_for(&self, wait: std::time::Duration) -> Option<RwLockReadGuard<'_, Keyspace>> {
        self.keyspace.try_read_for(wait)
    }

    /// The exclusive gate if it can be had within `wait` (zero: only now).
    pub fn try_exclusive_for(&self, wait: std::time::Duration) -> Option<RwLockWriteGuard<'_, Keyspace>> {
        self.keyspace.try_write_for(wait)
    }

    /// One run of active expiry, as Redis's slow cycle: sample volatile keys
    /// shard by shard, delete the expired ones, and keep sampling a shard
    /// while many of its samples were expired, until `budget` is spent.
    /// `on_expired` sees each deleted key (for propagation and WATCH).
    pub fn active_expire_cycle(&self, budget: std::time::Duration, mut on_expired: impl FnMut(usize, &Key)) -> usize {
        let started = Instant::now();
        let ks = self.shared();
        let job = self.current_snapshot();
        let total = ks.dbs.len() * SHARDS;
        let mut deleted = 0;
        let mut rng = rand::rng();
        let (sample_size, stale_percent) = expire_effort(self.expire_effort.load(Ordering::Relaxed));
        let lazy = Policy::on(&self.lazyfree.policy.expire);
        for _ in 0..total {
            let slot = self.expire_cursor.fetch_add(1, Ordering::Relaxed) % total;
            let (dbi, si) = (slot / SHARDS, slot % SHARDS);
            let db = &ks.dbs[dbi];
            let mut shard = db.data.shards[si].lock();
            loop {
                let n = shard.expires.len();
                if n == 0 {
                    break;
                }
                let now = now_ms();
                let mut expired_now = 0;
                let sample = sample_size.min(n);
                for _ in 0..sample {
                    let len = shard.expires.len();
                    if len == 0 {
                        break;
                    }
                    let i = rng.random_range(0..len);
                    let (key, at) = shard.expires.get_index(i).expect("index below len");
                    if at <= now {
                        let key = Bytes::copy_from_slice(key);
                        if let Some(job) = &job {
                            job.before_key(dbi, si, &mut shard, &key);
                        }
                        if let Some(entry) = shard.remove(&key) {
                            if lazy {
                                self.lazyfree.drop_value(entry.value);
                            }
                        }
                        db.watches.touch(&key);
                        on_expired(dbi, &key);
                        expired_now += 1;
                    }
                }
                deleted += expired_now;
                if expired_now * 100 <= sample * stale_percent || started.elapsed() > budget {
                    break;
                }
            }
            drop(shard);
            if started.elapsed() > budget {
                break;
            }
        }
        self.stats.expired_keys.fetch_add(deleted as u64, Ordering::Relaxed);
        deleted
    }
}

enum Target<'a> {
    /// The shards held, as (db, shard, guard), in ascending shard order.
    Shared {
        ks: &'a Keyspace,
        /// Inline: a single-key command (the common case) allocates nothing.
        locked: SmallVec<[(usize, usize, MutexGuard<'a, Shard>); 2]>,
    },
    All(&'a mut Keyspace),
}

/// A command's window on the keyspace: the selected database, the current
/// time, and either one shard (shared gate) or everything (exclusive gate).
///
/// Every lookup applies lazy expiry first, as Redis's `lookupKey` does, and
/// records what it deleted in `expired` so the server can propagate DELs.
pub struct View<'a> {
    target: Target<'a>,
    pub db: usize,
    pub now_ms: i64,
    stats: &'a Stats,
    limits: &'a crate::types::Limits,
    lazyfree: &'a LazyFree,
    pub expired: Vec<(usize, Key)>,
    /// Keys that now hold a list or sorted set: clients blocked on them
    /// may be served (Redis's `signalKeyAsReady` on dbAdd).
    pub ready: Vec<(usize, Key)>,
    /// Under an LFU policy `lru` holds LFU data instead (see `touch_entry`).
    pub lfu: bool,
    /// Changes made through this view (Redis's `server.dirty` delta): a
    /// command that made any is propagated.
    pub changes: u64,
    pub expiry: Expiry,
    /// The keyspace event classes to raise (`events::effective`; 0: none)
    /// and those raised, in order (see `events`).
    pub notify: u32,
    pub events: Vec<crate::events::Event>,
    /// The running snapshot: shards are captured before this view touches them.
    snapshot: Option<Arc<SnapshotJob>>,
    /// Keys modified or expired through this view, recorded only while some
    /// client tracks keys (`Store::tracking`), for their invalidation.
    pub touched: Vec<Key>,
    /// A FLUSHDB/FLUSHALL ran through this view while keys are tracked:
    /// every tracking client is told all its keys are invalid.
    pub flushed: bool,
    /// `Store::tracking`, read at each change (not once per view: a client
    /// may turn tracking on and read a key while this view runs).
    tracking: &'a AtomicBool,
}

/// What a lookup does with a key whose time has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// Delete it (a primary), recording the deletion for propagation.
    #[default]
    Delete,
    /// Treat it as missing but keep it: a replica waits for the primary's
    /// DEL, as Redis 7.0 replicas do.
    Hide,
    /// See it as live: the primary's own commands on a replica, which must
    /// find what the primary found.
    Ignore,
}

impl<'a> View<'a> {
    /// A view holding the gate shared; `now_ms` is the time commands in it
    /// see (the server reads the clock once per batch of requests).
    pub fn shared(store: &'a Store, ks: &'a Keyspace, db: usize, now_ms: i64) -> Self {
        View::over(store, Target::Shared { ks, locked: SmallVec::new() }, db, now_ms)
    }

    fn over(store: &'a Store, target: Target<'a>, db: usize, now_ms: i64) -> Self {
        View {
            target,
            db,
            now_ms,
            stats: &store.stats,
            limits: &store.limits,
            lazyfree: &store.lazyfree,
            expired: Vec::new(),
            ready: Vec::new(),
            lfu: false,
            changes: 0,
            expiry: Expiry::Delete,
            notify: 0,
            events: Vec::new(),
            snapshot: store.current_snapshot(),
            touched: Vec::new(),
            flushed: false,
            tracking: &store.tracking,
        }
    }

    /// A shared view holding `shards` of `db` from the start, locked in
    /// the ascending order the caller gives them in, without repeats (so two
    /// such views can never deadlock): a command whose keys span shards
    /// stays atomic without the exclusive gate.
    pub fn shards(store: &'a Store, ks: &'a Keyspace, db: usize, now_ms: i64, shards: &[usize]) -> Self {
        assert!(shards.windows(2).all(|w| w[0] < w[1]), "shards are locked in strictly ascending order");
        let locked = shards.iter().map(|&s| (db, s, ks.dbs[db].data.shards[s].lock())).collect();
        View { target: Target::Shared { ks, locked }, ..View::shared(store, ks, db, now_ms) }
    }

    pub fn exclusive(store: &'a Store, ks: &'a mut Keyspace, db: usize, now_ms: i64) -> Self {
        View::over(store, Target::All(ks), db, now_ms)
    }

    /// Picks up a snapshot begun by this very command (BGSAVE inside EXEC):
    /// what the rest of it changes is captured first.
    pub fn refresh_snapshot(&mut self, store: &Store) {
        self.snapshot = store.current_snapshot();
    }

    /// The encoding thresholds in force for this command.
    pub fn thresholds(&self) -> crate::types::Thresholds {
        self.limits.snapshot()
    }

    /// Whether keys whose time has passed are deleted here (a primary), as
    /// opposed to kept until the primary's DEL (a replica).
    pub fn deletes_expired(&self) -> bool {
        self.expiry == Expiry::Delete
    }

    pub fn is_exclusive(&self) -> bool {
        matches!(self.target, Target::All(_))
    }

    /// The whole keyspace, for commands that hold the gate exclusively and
    /// may change any of it: a running snapshot captures everything first.
    pub fn keyspace(&mut self) -> Option<&mut Keyspace> {
        match &mut self.target {
            Target::All(ks) => {
                if let Some(job) = &self.snapshot {
                    settle(job, ks);
                }
                Some(ks)
            }
            Target::Shared { .. } => None,
        }
    }

    /// The whole keyspace for reading only (INFO, DBSIZE, DEBUG DIGEST, a
    /// foreground save): no capture needed.
    pub fn keyspace_for_reading(&mut self) -> Option<&mut Keyspace> {
        self.read_all()
    }

    /// The whole keyspace for reading (KEYS, SCAN, RANDOMKEY).
    fn read_all(&mut self) -> Option<&mut Keyspace> {
        match &mut self.target {
            Target::All(ks) => Some(ks),
            Target::Shared { .. } => None,
        }
    }

    pub fn db_count(&self) -> usize {
        match &self.target {
            Target::All(ks) => ks.dbs.len(),
            Target::Shared { ks, .. } => ks.dbs.len(),
        }
    }

    fn db_watches(&self, db: usize) -> &Arc<Watches> {
        match &self.target {
            Target::All(ks) => &ks.dbs[db].watches,
            Target::Shared { ks, .. } => &ks.dbs[db].watches,
        }
    }

    /// The shard holding `key` in the selected database.
    fn shard(&mut self, key: &[u8]) -> &mut Shard {
        self.shard_hashed(key_hash(key), key)
    }

    /// [`View::shard`] for a key whose [`key_hash`] is `hash`: an operation
    /// hashes its key once, for the shard and for the lookup in it.
    fn shard_hashed(&mut self, hash: u64, key: &[u8]) -> &mut Shard {
        let db = self.db;
        let want = shard_of_hash(hash);
        match &mut self.target {
            Target::All(ks) => {
                let shard = ks.dbs[db].data.shards[want].get_mut();
                if let Some(job) = &self.snapshot {
                    job.before_key(db, want, shard, key);
                }
                shard
            }
            Target::Shared { ks, locked } => {
                let i = match locked.iter().position(|(d, s, _)| *d == db && *s == want) {
                    Some(i) => i,
                    None => {
                        // Dispatch locks every shard a command's keys name
                        // before it runs; a key outside them is a routing
                        // mistake. Taking it after releasing the others keeps
                        // even that free of deadlock.
                        debug_assert!(locked.is_empty(), "a shared command touched a shard it did not lock");
                        locked.clear();
                        locked.push((db, want, ks.dbs[db].data.shards[want].lock()));
                        0
                    }
                };
                let shard = &mut *locked[i].2;
                if let Some(job) = &self.snapshot {
                    job.before_key(db, want, shard, key);
                }
                shard
            }
        }
    }

    /// Raises keyspace event `name` of `class` on `key` in the selected
    /// database, if that class is configured (Redis's notifyKeyspaceEvent).
    pub fn notify(&mut self, class: u32, name: &'static str, key: &[u8]) {
        if self.notify & class != 0 {
            self.events.push(crate::events::Event { db: self.db, name, key: Bytes::copy_from_slice(key) });
        }
    }

    /// Applies lazy expiry to `key`; true if the key is to be treated as
    /// missing (deleted, or hidden on a replica).
    fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed_hashed(key_hash(key), key)
    }

    fn expire_if_needed_hashed(&mut self, hash: u64, key: &[u8]) -> bool {
        let now = self.now_ms;
        let expiry = self.expiry;
        if expiry == Expiry::Ignore {
            return false;
        }
        let shard = self.shard_hashed(hash, key);
        if !shard.is_expired(key, now) {
            return false;
        }
        if expiry == Expiry::Hide {
            return true;
        }
        if let Some(entry) = shard.remove_hashed(hash, key) {
            if Policy::on(&self.lazyfree.policy.expire) {
                self.lazyfree.drop_value(entry.value);
            }
        }
        let db = self.db;
        self.db_watches(db).touch(key);
        self.track_touch(key);
        self.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
        self.notify(crate::events::EXPIRED, "expired", key);
        self.expired.push((db, Bytes::copy_from_slice(key)));
        true
    }

    fn touch_entry(entry: &mut Entry, lfu: bool) {
        entry.lru = if lfu { crate::lfu::accessed(entry.lru) } else { lru_clock() };
    }

    /// `lookupKeyRead`: counts a hit or a miss and refreshes the access time.
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        if self.notify & crate::events::KEY_MISS != 0 {
            return self.get_noting_misses(key);
        }
        let hash = key_hash(key);
        let hidden = self.expire_if_needed_hashed(hash, key) && self.expiry == Expiry::Hide;
        let lfu = self.lfu;
        let stats = self.stats;
        match self.shard_hashed(hash, key).map.get_mut_hashed(hash, key).filter(|_| !hidden) {
            Some(entry) => {
                stats.keyspace_hits.add(1);
                Self::touch_entry(entry, lfu);
                Some(entry)
            }
            None => {
                stats.keyspace_misses.add(1);
                None
            }
        }
    }

    /// [`View::get`] raising `keymiss` (the `m` class): a second lookup on
    /// a hit, so the plain path stays one.
    fn get_noting_misses(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.notify &= !crate::events::KEY_MISS;
        let hit = self.get(key).is_some();
        self.notify |= crate::events::KEY_MISS;
        if !hit {
            self.notify(crate::events::KEY_MISS, "keymiss", key);
            return None;
        }
        let hash = key_hash(key);
        self.shard_hashed(hash, key).map.get_mut_hashed(hash, key)
    }

    /// `lookupKeyWrite`: no hit/miss accounting.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let hash = key_hash(key);
        if self.expire_if_needed_hashed(hash, key) && self.expiry == Expiry::Hide {
            return None;
        }
        let lfu = self.lfu;
        let entry = self.shard_hashed(hash, key).map.get_mut_hashed(hash, key)?;
        Self::touch_entry(entry, lfu);
        Some(entry)
    }

    /// `LOOKUP_NOTOUCH` (TTL, TYPE, EXISTS, OBJECT): a hit or miss is
    /// counted, but the access time (OBJECT IDLETIME, LRU/LFU) is not
    /// touched.
    pub fn get_notouch(&mut self, key: &[u8]) -> Option<&Entry> {
        let stats = self.stats;
        // Looked up twice only when misses are to be raised.
        if self.notify & crate::events::KEY_MISS != 0 && self.peek(key).is_none() {
            stats.keyspace_misses.add(1);
            self.notify(crate::events::KEY_MISS, "keymiss", key);
            return None;
        }
        let found = self.peek(key);
        match found {
            Some(_) => stats.keyspace_hits.add(1),
            None => stats.keyspace_misses.add(1),
        }
        found
    }

    /// Looks without touching the access time or the stats (DEBUG OBJECT,
    /// the node's own lookups).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let hash = key_hash(key);
        if self.expire_if_needed_hashed(hash, key) && self.expiry == Expiry::Hide {
            return None;
        }
        self.shard_hashed(hash, key).map.get_hashed(hash, key)
    }

    /// MEMORY USAGE: what `key` costs, with `samples` elements of a
    /// collection standing for the rest (0: all). As a lookup that does not
    /// touch the access time.
    pub fn memory_usage(&mut self, key: &[u8], samples: usize) -> Option<usize> {
        self.get_notouch(key)?;
        let shard = self.shard(key);
        let volatile = shard.expires.contains_key(key);
        let entry = shard.map.get_hashed(key_hash(key), key)?;
        Some(crate::memory::key_usage(key, entry, volatile, samples))
    }

    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.peek(key).is_some()
    }

    /// `setKey`: stores `value`, dropping any expiry unless `keep_ttl`.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        let hash = key_hash(key);
        self.expire_if_needed_hashed(hash, key);
        if matches!(value, Value::List(_) | Value::ZSet(_) | Value::Stream(_)) {
            self.signal_ready(key);
        }
        let lru = if self.lfu { crate::lfu::initial() } else { lru_clock() };
        let shard = self.shard_hashed(hash, key);
        match shard.map.get_mut_hashed(hash, key) {
            Some(entry) => {
                let old = std::mem::replace(&mut entry.value, value);
                if !keep_ttl {
                    shard.expires.remove(key);
                }
                self.free_replaced(old);
            }
            None => {
                shard.map.insert_new_hashed(hash, key, Entry::new(value, lru));
                self.notify(crate::events::NEW, "new", key);
            }
        }
        self.modified(key);
    }

    /// A value the server removed or replaced (not a user's DEL): freed
    /// lazily under `lazyfree-lazy-server-del`, as Redis's `dbDelete`.
    fn free_replaced(&self, old: Value) {
        if Policy::on(&self.lazyfree.policy.server_del) {
            self.lazyfree.drop_value(old);
        }
    }

    /// Replaces the value of an existing key in place, keeping its expiry.
    pub fn replace(&mut self, key: &[u8], value: Value) {
        self.set(key, value, true)
    }

    /// Removes `key` as the server does (an emptied collection, a moved
    /// key); true if it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.take(key).map(|old| self.free_replaced(old)).is_some()
    }

    /// DEL and UNLINK: removes `key`, freeing a big value on the lazyfree
    /// thread when `lazy`; true if it existed.
    pub fn unlink(&mut self, key: &[u8], lazy: bool) -> bool {
        match self.take(key) {
            Some(old) if lazy => {
                self.lazyfree.drop_value(old);
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// The lazyfree thread and policy, for commands that free whole
    /// databases (FLUSHALL ASYNC).
    pub fn lazyfree(&self) -> &LazyFree {
        self.lazyfree
    }

    /// Removes `key` and returns its value.
    pub fn take(&mut self, key: &[u8]) -> Option<Value> {
        let hash = key_hash(key);
        if self.expire_if_needed_hashed(hash, key) && self.expiry == Expiry::Hide {
            return None;
        }
        let entry = self.shard_hashed(hash, key).remove_hashed(hash, key)?;
        self.modified(key);
        Some(entry.value)
    }

    /// Absolute expiry of a live key, in Unix ms.
    pub fn expire_at(&mut self, key: &[u8]) -> Option<i64> {
        if self.expire_if_needed(key) && self.expiry == Expiry::Hide {
            return None;
        }
        self.shard(key).expires.get(key)
    }

    /// Sets the expiry of an existing key. Does not signal: callers decide
    /// (an expiry in the past deletes instead).
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) {
        self.shard(key).set_expire(key, at_ms);
    }

    pub fn persist(&mut self, key: &[u8]) -> bool {
        if self.expire_if_needed(key) && self.expiry == Expiry::Hide {
            return false;
        }
        self.shard(key).expires.remove(key).is_some()
    }

    /// Wakes the clients blocked on `key` (`signalKeyAsReady`): a stream
    /// that grew, or whose group went away, may serve a waiter.
    pub fn signal_ready(&mut self, key: &[u8]) {
        // Blocked clients are served only by a command holding the whole
        // keyspace (a write takes it whenever someone is blocked), so a
        // shared view need not copy the key.
        if self.is_exclusive() {
            self.ready.push((self.db, Bytes::copy_from_slice(key)));
        }
    }

    /// `signalModifiedKey`: watchers of the key see the change.
    pub fn modified(&mut self, key: &[u8]) {
        self.changed();
        let db = self.db;
        self.db_watches(db).touch(key);
        self.track_touch(key);
    }

    /// `signalFlushedDb` for client-side caching: every key is invalid.
    pub fn signal_flushed(&mut self) {
        self.flushed |= self.tracking.load(Ordering::Relaxed);
    }

    /// Records a modified key for client-side caching's invalidation.
    fn track_touch(&mut self, key: &[u8]) {
        if self.tracking.load(Ordering::Relaxed) {
            self.touched.push(Bytes::copy_from_slice(key));
        }
    }

    /// Counts a change with no key of its own to signal (FLUSHALL, SWAPDB):
    /// one for `save` points and rdb_changes_since_last_save, and one that
    /// makes the command propagate.
    pub fn changed(&mut self) {
        self.stats.dirty.add(1);
        self.changes += 1;
    }

    /// Registers a WATCH on `key` in the selected database; returns whether
    /// the key was logically expired at that moment (Redis 7.0 remembers it)
    /// and the registry to unwatch it from later.
    pub fn watch(&mut self, key: &[u8], flag: &WatchFlag) -> (bool, Arc<Watches>) {
        let now = self.now_ms;
        let expired = self.shard(key).is_expired(key, now);
        let db = self.db;
        let watches = self.db_watches(db);
        watches.add(Bytes::copy_from_slice(key), flag);
        (expired, watches.clone())
    }

    /// Whether `key` in database `db` exists but its time has passed.
    pub fn is_expired_in(&mut self, db: usize, key: &[u8]) -> bool {
        let saved = std::mem::replace(&mut self.db, db);
        let now = self.now_ms;
        let expired = self.shard(key).is_expired(key, now);
        self.db = saved;
        expired
    }

    /// The keyspace under the exclusive gate, or `None` (the command table
    /// guarantees it for commands that call the whole-database helpers).
    fn all(&mut self) -> Option<&mut Keyspace> {
        self.read_all()
    }

    /// Keys of the selected database matching `pattern` (KEYS), skipping
    /// logically expired ones.
    pub fn keys_matching(&mut self, pattern: &[u8]) -> Vec<Key> {
        let (db, now) = (self.db, self.now_ms);
        let all_keys = pattern == b"*";
        let mut out = Vec::new();
        if let Some(ks) = self.all() {
            for shard in ks.dbs[db].data.shards.iter_mut() {
                let shard = shard.get_mut();
                for k in shard.map.keys() {
                    if (all_keys || ferrokv_util::glob_match(pattern, k, false)) && !shard.is_expired(k, now) {
                        out.push(Bytes::copy_from_slice(k));
                    }
                }
            }
        }
        out
    }

    /// One SCAN step over the selected database. The cursor packs the shard
    /// (high 32 bits) and the position within it (see `Shard::scan_step`);
    /// 0 starts and ends a scan.
    pub fn scan(&mut self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &Entry)) -> u64 {
        let (db, now) = (self.db, self.now_ms);
        let Some(ks) = self.all() else { return 0 };
        let mut shard_idx = (cursor >> 32) as usize;
        let mut pos = (cursor & 0xffff_ffff) as usize;
        let mut budget = count.max(1);
        while shard_idx < SHARDS && budget > 0 {
            let shard = ks.dbs[db].data.shards[shard_idx].get_mut();
            // Position 0 in a cursor means "from the top of this shard".
            let next = if pos == 0 { shard.len() } else { pos };
            let expires = &shard.expires;
            let mut seen = 0;
            let rest = shard.scan_step(next, budget, |k, e| {
                seen += 1;
                if expires.get(k).is_none_or(|at| at > now) {
                    visit(k, e);
                }
            });
            budget -= seen;
            if rest > 0 {
                return ((shard_idx as u64) << 32) | rest as u64;
            }
            shard_idx += 1;
            pos = 0;
        }
        if shard_idx >= SHARDS {
            0
        } else {
            (shard_idx as u64) << 32
        }
    }

    /// A random live key of the selected database (RANDOMKEY).
    pub fn random_key(&mut self) -> Option<Key> {
        let (db, now) = (self.db, self.now_ms);
        let mut rng = rand::rng();
        let ks = self.all()?;
        let dbr = &mut ks.dbs[db];
        // Bounded retries, as Redis gives up on a keyspace full of expired keys.
        for _ in 0..100 {
            let total = dbr.len();
            if total == 0 {
                return None;
            }
            let mut pick = rng.random_range(0..total);
            for shard in dbr.data.shards.iter_mut() {
                let shard = shard.get_mut();
                if pick < shard.len() {
                    let key = shard.map.get_index(pick).expect("index below len").0;
                    if shard.is_expired(key, now) {
                        break;
                    }
                    return Some(Bytes::copy_from_slice(key));
                }
                pick -= shard.len();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_effort_scales_as_redis() {
        // ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP + KEYS_PER_LOOP/4*effort, and
        // ACCEPTABLE_STALE - effort, with effort = active-expire-effort - 1.
        assert_eq!(expire_effort(1), (20, 10));
        assert_eq!(expire_effort(10), (65, 1));
        assert_eq!(expire_effort(0), (20, 10));
    }
    use crate::value::Str;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn s(v: &str) -> Value {
        Value::Str(Str::from_arg(v.as_bytes()))
    }

    #[test]
    fn lazy_expiry_on_lookup_records_the_deletion() {
        let store = Store::new(2);
        let ks = store.shared();
        let mut view = View::shared(&store, &ks, 0, now_ms());
        view.set(b"k", s("v"), false);
        view.set_expire(b"k", view.now_ms - 1);
        assert!(view.get(b"k").is_none());
        assert_eq!(view.expired, vec![(0, Bytes::from_static(b"k"))]);
        assert_eq!(store.stats.expired_keys.load(Ordering::Relaxed), 1);
        assert_eq!(store.stats.keyspace_misses.get(), 1);
    }

    #[test]
    fn set_drops_ttl_unless_kept() {
        let store = Store::new(1);
        let ks = store.shared();
        let mut view = View::shared(&store, &ks, 0, now_ms());
        view.set(b"k", s("v"), false);
        view.set_expire(b"k", view.now_ms + 100_000);
        view.set(b"k", s("w"), true);
        assert!(view.expire_at(b"k").is_some());
        view.set(b"k", s("x"), false);
        assert!(view.expire_at(b"k").is_none());
    }

    #[test]
    fn writes_flag_watchers_and_unwatch_stops_it() {
        let store = Store::new(1);
        let mut ks = store.exclusive();
        let flag = Arc::new(AtomicBool::new(false));
        let mut view = View::exclusive(&store, &mut ks, 0, now_ms());
        let (_, watches) = view.watch(b"w", &flag);
        view.set(b"other", s("1"), false);
        assert!(!flag.load(Ordering::Acquire));
        view.set(b"w", s("1"), false);
        assert!(flag.load(Ordering::Acquire));
        flag.store(false, Ordering::Release);
        watches.remove(b"w", &flag);
        view.delete(b"w");
        assert!(!flag.load(Ordering::Acquire));
    }

    #[test]
    fn flush_and_swap_flag_only_watchers_of_existing_keys() {
        let store = Store::new(2);
        let (present, absent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        {
            let mut ks = store.exclusive();
            let mut view = View::exclusive(&store, &mut ks, 0, now_ms());
            view.set(b"p", s("1"), false);
            view.watch(b"p", &present);
            view.watch(b"a", &absent);
        }
        let mut ks = store.exclusive();
        ks.flush_db(0, now_ms());
        assert!(present.load(Ordering::Acquire) && !absent.load(Ordering::Acquire));
        ks.swap_dbs(0, 1, now_ms());
        assert!(!absent.load(Ordering::Acquire));
    }

    #[test]
    fn scan_returns_every_stable_key_despite_deletions() {
        let store = Store::new(1);
        let mut ks = store.exclusive();
        let mut view = View::exclusive(&store, &mut ks, 0, now_ms());
        for i in 0..300 {
            view.set(format!("stable{i}").as_bytes(), s("v"), false);
            view.set(format!("churn{i}").as_bytes(), s("v"), false);
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut round) = (0u64, 0);
        loop {
            cursor = view.scan(cursor, 5, |k, _| {
                seen.insert(k.to_vec());
            });
            // Deleting churn keys moves stable keys around inside shards.
            if round < 300 {
                view.delete(format!("churn{round}").as_bytes());
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..300 {
            assert!(seen.contains(format!("stable{i}").as_bytes()), "stable{i} missed");
        }
    }

    #[test]
    fn active_expiry_reclaims_untouched_keys() {
        let store = Store::new(1);
        {
            let mut ks = store.exclusive();
            let mut view = View::exclusive(&store, &mut ks, 0, now_ms());
            for i in 0..100 {
                let k = format!("k{i}");
                view.set(k.as_bytes(), s("v"), false);
                view.set_expire(k.as_bytes(), view.now_ms - 1);
            }
            view.set(b"keep", s("v"), false);
        }
        let mut reclaimed = 0;
        for _ in 0..50 {
            reclaimed += store.active_expire_cycle(std::time::Duration::from_millis(50), |_, _| {});
        }
        assert_eq!(reclaimed, 100);
        assert_eq!(store.exclusive().sizes()[0], (1, 0));
    }
}
