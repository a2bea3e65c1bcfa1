//! Background snapshots: BGSAVE, save points, and the snapshots a full sync
//! streams to a replica. The keyspace is held exclusively only for the
//! instant the snapshot stands for; the store's point-in-time mechanism
//! (`ferrokv_storage::snapshot`) then captures each shard before anyone
//! changes it, and a writer thread streams the captured records to the
//! file. No fork, no copy of the dataset (docs/persistence.md).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use bytes::Bytes;
use ferrokv_commands::families::dump::rdb_form;
use ferrokv_rdb::file::{encode_key, encode_select_db};
use ferrokv_storage::snapshot::Capture;
use ferrokv_storage::{now_ms, Key, Keyspace, Value};

use crate::persistence::snapshot::Aux;
use crate::server::Server;

enum Chunk {
    /// Entries the walker captured (copies that share their bytes with the
    /// live values), encoded by the writer thread.
    Shard(usize, Vec<(Key, Value, Option<i64>)>),
    /// One key a client was about to change, encoded on its path: the old
    /// value is freed as soon as the client replaces it, instead of living
    /// on in the queue (under heavy overwrites that is most of the memory a
    /// snapshot costs; encoded, a compressible value shrinks too).
    Encoded(usize, Vec<u8>),
    End,
}

/// Entries the walker has captured but the writer not yet written, past
/// which the walker waits (with 1 KB values: about 8 MB).
const QUEUED_MAX: usize = 8 * 1024;

/// Flush the encoding buffer to the file past this size.
const FLUSH_AT: usize = 64 * 1024;

/// Hands captured entries to the writer thread.
struct RdbCapture {
    tx: mpsc::Sender<Chunk>,
    format: Format,
    compress: bool,
    keys: Arc<AtomicU64>,
    /// Entries sent but not yet written, and whether the writer still runs.
    queued: Arc<(AtomicUsize, std::sync::atomic::AtomicBool)>,
}

impl Capture for RdbCapture {
    fn capture(&self, db: usize, entries: Vec<(Key, Value, Option<i64>)>) {
        self.keys.fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.queued.0.fetch_add(entries.len(), Ordering::AcqRel);
        // The writer only goes away after End, which comes after the last
        // capture; a send error means it failed, which it reports itself.
        let _ = self.tx.send(Chunk::Shard(db, entries));
    }

    fn capture_key(&self, db: usize, key: &[u8], value: &Value, expire: Option<i64>) {
        self.keys.fetch_add(1, Ordering::Relaxed);
        let mut bytes = Vec::new();
        self.format.key(&mut bytes, key, value, expire, self.compress);
        let _ = self.tx.send(Chunk::Encoded(db, bytes));
    }

    fn pace(&self) {
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while self.queued.1.load(Ordering::Acquire) && self.queued.0.load(Ordering::Acquire) > QUEUED_MAX && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// What the snapshot's file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rdb,
    /// The commands that rebuild each key: an AOF base without the RDB
    /// preamble (`aof-use-rdb-preamble no`).
    Commands,
}

impl Format {
    fn select(self, buf: &mut Vec<u8>, db: usize) {
        match self {
            Format::Rdb => encode_select_db(buf, db as u32),
            Format::Commands => ferrokv_resp::encode::select(buf, db),
        }
    }

    /// One key's record (`compress`: LZF for RDB strings, as `rdbcompression`).
    fn key(self, buf: &mut Vec<u8>, key: &[u8], value: &Value, expire: Option<i64>, compress: bool) {
        match self {
            Format::Rdb => {
                let (value, layout) = rdb_form(value);
                encode_key(buf, key, &value, layout, expire, compress)
            }
            Format::Commands => crate::persistence::aof_base::key(buf, key, value, expire),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("Background save already in progress")]
    Busy,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A snapshot that has begun: the instant is fixed, the shards are being
/// captured and written.
pub struct Started<T> {
    job: Arc<ferrokv_storage::snapshot::SnapshotJob>,
    tx: mpsc::Sender<Chunk>,
    writer: std::thread::JoinHandle<std::io::Result<()>>,
    keys: Arc<AtomicU64>,
    pub value: T,
}

/// Where a snapshot goes: a file (fsynced at the end), or a stream (a
/// diskless full sync) that is only flushed.
pub enum Sink<'p> {
    File(&'p Path),
    Stream(Box<dyn Write + Send>),
}

/// Begins a point-in-time snapshot to `path`, with the keyspace held
/// exclusively: this is the instant it stands for. `at_start` runs then and
/// returns the extra AUX fields plus a value for the caller (replication
/// reads its offset there). Busy if another snapshot is running.
pub fn begin<T>(
    server: &Server,
    ks: &mut Keyspace,
    path: &Path,
    format: Format,
    at_start: impl FnOnce(&mut Keyspace) -> (Vec<(&'static str, Vec<u8>)>, T),
) -> Result<Started<T>, SnapshotError> {
    begin_to(server, ks, Sink::File(path), format, at_start)
}

/// [`begin`], into any sink.
pub fn begin_to<T>(
    server: &Server,
    ks: &mut Keyspace,
    sink: Sink<'_>,
    format: Format,
    at_start: impl FnOnce(&mut Keyspace) -> (Vec<(&'static str, Vec<u8>)>, T),
) -> Result<Started<T>, SnapshotError> {
    if server.store.snapshot_running() {
        return Err(SnapshotError::Busy);
    }
    let (compress, checksum) = {
        let c = server.config.read();
        (c.rdbcompression, c.rdbchecksum)
    };
    let out = match sink {
        Sink::File(path) => Out::File(File::create(path)?),
        Sink::Stream(w) => Out::Stream(w),
    };
    let (tx, rx) = mpsc::channel();
    let keys = Arc::new(AtomicU64::new(0));
    let queued = Arc::new((AtomicUsize::new(0), std::sync::atomic::AtomicBool::new(true)));
    let capture = RdbCapture { tx: tx.clone(), format, compress, keys: keys.clone(), queued: queued.clone() };
    let (aux, value) = at_start(ks);
    // The libraries stand for this instant too (FUNCTION LOAD changes them
    // with the keyspace shared, so not while it is held exclusively).
    let functions = crate::admin::functions::codes(server);
    let writer = std::thread::Builder::new().name("rdb-writer".into()).spawn(move || {
        let result = match format {
            Format::Rdb => write_rdb(out, rx, (&aux, &functions), (compress, checksum), &queued.0),
            Format::Commands => write_commands(out, rx, &functions, &queued.0),
        };
        // Whatever happened, nobody waits on this writer any more.
        queued.1.store(false, Ordering::Release);
        ferrokv_util::alloc::flush_thread();
        result
    })?;
    let job = server.store.begin_snapshot(ks, Box::new(capture)).expect("checked above, with the keyspace held");
    Ok(Started { job, tx, writer, keys, value })
}

/// Captures what is left and waits for the file (blocking: call it from a
/// blocking thread, without holding the keyspace). Returns the key count.
pub fn finish<T>(server: &Server, started: Started<T>) -> Result<(T, u64), SnapshotError> {
    let Started { job, tx, writer, keys, value } = started;
    server.store.walk_snapshot(&job);
    drop(job);
    let _ = tx.send(Chunk::End);
    writer.join().map_err(|_| std::io::Error::other("the RDB writer thread panicked"))??;
    Ok((value, keys.load(Ordering::Relaxed)))
}

/// Both steps, taking the keyspace for the instant itself.
pub fn write_snapshot<T>(
    server: &Server,
    sink: Sink<'_>,
    at_start: impl FnOnce(&mut Keyspace) -> (Vec<(&'static str, Vec<u8>)>, T),
) -> Result<(T, u64), SnapshotError> {
    let started = begin_to(server, &mut server.store.exclusive(), sink, Format::Rdb, at_start)?;
    finish(server, started)
}

/// What a snapshot writer writes into.
enum Out {
    File(File),
    Stream(Box<dyn Write + Send>),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::File(f) => f.write(buf),
            Out::Stream(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::File(f) => f.flush(),
            Out::Stream(w) => w.flush(),
        }
    }
}

impl Out {
    /// A file is fsynced; a stream flushed.
    fn done(mut self) -> std::io::Result<()> {
        self.flush()?;
        match self {
            Out::File(f) => f.sync_all(),
            Out::Stream(_) => Ok(()),
        }
    }
}

/// Encodes and hands the chunks to `emit` until the last one: SELECT
/// whenever the database changes, then the keys.
fn write_chunks(
    rx: mpsc::Receiver<Chunk>,
    format: Format,
    compress: bool,
    queued: &AtomicUsize,
    mut emit: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
    let mut selected = None;
    let mut select = |buf: &mut Vec<u8>, db: usize| {
        if selected != Some(db) {
            format.select(buf, db);
            selected = Some(db);
        }
    };
    while let Ok(chunk) = rx.recv() {
        match chunk {
            Chunk::Shard(db, entries) => {
                select(&mut buf, db);
                for (key, value, expire) in &entries {
                    format.key(&mut buf, key, value, *expire, compress);
                    if buf.len() >= FLUSH_AT {
                        emit(&buf)?;
                        buf.clear();
                    }
                }
                let n = entries.len();
                drop(entries);
                queued.fetch_sub(n, Ordering::AcqRel);
            }
            Chunk::Encoded(db, bytes) => {
                select(&mut buf, db);
                buf.extend_from_slice(&bytes);
            }
            Chunk::End => return emit(&buf),
        }
        if buf.len() >= FLUSH_AT {
            emit(&buf)?;
            buf.clear();
        }
    }
    Err(std::io::Error::other("snapshot ended without its last record"))
}

fn write_rdb(out: Out, rx: mpsc::Receiver<Chunk>, (aux, functions): (&Aux, &[Bytes]), format: (bool, bool), queued: &AtomicUsize) -> std::io::Result<()> {
    let mut w = crate::persistence::snapshot::begin_file(BufWriter::with_capacity(1 << 20, out), aux, functions, format)?;
    write_chunks(rx, Format::Rdb, format.0, queued, |bytes| w.raw(bytes))?;
    w.finish()?.into_inner().map_err(|e| e.into_error())?.done()
}

/// The command form (`aof_base`): no header, no footer; the libraries as
/// FUNCTION LOAD commands first, as Redis's AOF rewrite writes them.
fn write_commands(out: Out, rx: mpsc::Receiver<Chunk>, functions: &[Bytes], queued: &AtomicUsize) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    for code in functions {
        let mut cmd = Vec::with_capacity(code.len() + 40);
        ferrokv_resp::encode::command(&mut cmd, &[&b"FUNCTION"[..], b"LOAD", code]);
        out.write_all(&cmd)?;
    }
    write_chunks(rx, Format::Commands, false, queued, |bytes| out.write_all(bytes))?;
    out.into_inner().map_err(|e| e.into_error())?.done()
}

/// BGSAVE's first step, with the keyspace held: the snapshot stands for
/// this instant (as Redis's fork). Then [`complete_bgsave`] on a blocking
/// thread.
pub fn begin_bgsave(server: &Server, ks: &mut Keyspace) -> Result<Started<(u64, Instant)>, SnapshotError> {
    let temp = bgsave_temp(server);
    let result = begin(server, ks, &temp, Format::Rdb, |_| {
        let dirty = server.store.stats.dirty.get();
        (crate::replication::snapshot_aux(server), (dirty, Instant::now()))
    });
    if result.is_ok() {
        *server.persistence.bgsave_started.lock() = Some(Instant::now());
    }
    result
}

/// Not SAVE's temp name: a SHUTDOWN may save in the foreground meanwhile.
fn bgsave_temp(server: &Server) -> std::path::PathBuf {
    server.config.read().dir.join(format!("temp-bg-{}.rdb", std::process::id()))
}

/// BGSAVE's second step: write, rename over the dump, and the bookkeeping
/// INFO persistence and LASTSAVE report.
pub fn complete_bgsave(server: &Server, started: Started<(u64, Instant)>) -> Result<u64, SnapshotError> {
    let (path, dir) = {
        let c = server.config.read();
        (c.dir.join(&c.dbfilename), c.dir.clone())
    };
    let temp = bgsave_temp(server);
    let p = &server.persistence;
    let result = finish(server, started).and_then(|((dirty_before, t0), keys)| {
        std::fs::rename(&temp, &path)?;
        File::open(&dir)?.sync_all()?;
        Ok((dirty_before, t0, keys))
    });
    let elapsed = p.bgsave_started.lock().take().map_or(0, |t| t.elapsed().as_secs() as i64);
    p.last_bgsave_secs.store(elapsed, Ordering::Relaxed);
    match result {
        Ok((dirty_before, _, keys)) => {
            server.store.stats.dirty.sub(dirty_before);
            p.last_save.store(now_ms() as u64 / 1000, Ordering::Relaxed);
            p.saves.fetch_add(1, Ordering::Relaxed);
            p.set_bgsave_status(true, server);
            tracing::info!(keys, path = %path.display(), "Background saving terminated with success");
            Ok(keys)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            p.last_try.store(now_ms() as u64 / 1000, Ordering::Relaxed);
            p.set_bgsave_status(false, server);
            tracing::warn!("Background saving error: {e}");
            Err(e)
        }
    }
}

/// Whether a snapshot of any kind (BGSAVE, a full sync's) is under way.
pub fn in_progress(server: &Server) -> bool {
    server.persistence.bgsave_running.load(Ordering::Acquire) || server.store.snapshot_running()
}

/// Starts a BGSAVE (the instant is now; `ks` is the keyspace held
/// exclusively) and completes it on a blocking thread. False if a snapshot
/// is already running.
pub fn start_bgsave(server: &Arc<Server>, ks: &mut Keyspace) -> bool {
    let p = &server.persistence;
    if p.bgsave_running.swap(true, Ordering::AcqRel) {
        return false;
    }
    match begin_bgsave(server, ks) {
        Ok(started) => {
            let s = server.clone();
            tokio::task::spawn_blocking(move || {
                let _ = complete_bgsave(&s, started);
                s.persistence.bgsave_running.store(false, Ordering::Release);
            });
            true
        }
        Err(SnapshotError::Busy) => {
            p.bgsave_running.store(false, Ordering::Release);
            false
        }
        Err(e) => {
            p.bgsave_running.store(false, Ordering::Release);
            p.set_bgsave_status(false, server);
            tracing::warn!("Background saving error: {e}");
            true
        }
    }
}

/// A save point's BGSAVE, from the cron (takes the keyspace itself, on a
/// blocking thread).
pub fn spawn_bgsave(server: &Arc<Server>) {
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        let mut ks = s.store.exclusive();
        let s2 = s.clone();
        start_bgsave(&s2, &mut ks);
    });
}
