//! The append-only file, in Redis 7's multi-part layout: a directory
//! (`appenddirname`) holding a base file (an RDB snapshot with
//! `aof-use-rdb-preamble yes`, the default; commands with `no`, see
//! `aof_base`), incremental files of RESP commands, and a manifest naming
//! them:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! Writes reach the incremental file from the same effects that replication
//! logs (so they are deterministic), while the writer still holds its keys.
//! `appendfsync always` fsyncs before the command returns (so before its
//! reply is written); `everysec` leaves it to a thread that fsyncs every
//! second; `no` to the kernel. BGREWRITEAOF starts a new incremental file at
//! the instant a point-in-time snapshot begins, writes that snapshot as the
//! new base, and only then switches the manifest; a crash at any point
//! leaves a manifest that loads.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;

use crate::persistence::bgsave::Format;
use crate::server::Server;

/// `appendfsync`.
pub mod fsync {
    pub const ALWAYS: u8 = 0;
    pub const EVERYSEC: u8 = 1;
    pub const NO: u8 = 2;
}

#[derive(Debug, thiserror::Error)]
pub enum AofError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("Bad file format reading the append only file {0}: {1} at offset {2}")]
    Format(PathBuf, String, u64),
    #[error("Unexpected end of file reading the append only file {0} at offset {1} (aof-load-truncated is no)")]
    Truncated(PathBuf, u64),
    #[error("Bad manifest {0}: {1}")]
    Manifest(PathBuf, String),
    #[error(transparent)]
    Rdb(#[from] crate::persistence::snapshot::LoadError),
    #[error("there is no append only file to load")]
    Missing,
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub seq: u64,
    /// `b` base, `h` history, `i` incremental.
    pub kind: char,
}

pub fn parse_manifest(path: &Path, text: &str) -> Result<Vec<Part>, AofError> {
    let mut parts = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let words: Vec<String> = ferrokv_resp::split_args(line.as_bytes())
            .ok_or_else(|| AofError::Manifest(path.into(), format!("unbalanced quotes in '{line}'")))?
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect();
        let mut name = None;
        let mut seq = None;
        let mut kind = None;
        for kv in words.chunks(2) {
            match (kv[0].as_str(), kv.get(1)) {
                ("file", Some(v)) => name = Some(v.clone()),
                ("seq", Some(v)) => seq = v.parse().ok(),
                ("type", Some(v)) => kind = v.chars().next(),
                _ => {}
            }
        }
        match (name, seq, kind) {
            (Some(name), Some(seq), Some(kind @ ('b' | 'h' | 'i'))) => parts.push(Part { name, seq, kind }),
            _ => return Err(AofError::Manifest(path.into(), format!("invalid line '{line}'"))),
        }
    }
    Ok(parts)
}

pub fn render_manifest(parts: &[Part]) -> String {
    parts.iter().map(|p| format!("file {} seq {} type {}\n", p.name, p.seq, p.kind)).collect()
}

/// The incremental file being appended to.
struct Incr {
    file: File,
    /// Database of the last command written (None: write SELECT first).
    db: Option<usize>,
    buf: BytesMut,
    /// Bytes a failed write left behind: written first, before anything
    /// newer, and while any remain writes are refused (-MISCONF).
    pending: BytesMut,
    /// Written but not yet fsynced (everysec).
    unsynced: bool,
}

pub struct Aof {
    on: AtomicBool,
    incr: Mutex<Option<Incr>>,
    pub policy: AtomicU8,
    /// The base's and the incremental files' sizes (auto-rewrite, INFO).
    pub base_size: AtomicU64,
    pub current_size: AtomicU64,
    pub rewrites: AtomicU64,
    pub rewrite_running: AtomicBool,
    pub last_write_failed: AtomicBool,
    /// The last everysec fsync failed: what was written may not be on
    /// disk, so writes are refused until one succeeds, as in Redis.
    pub fsync_failed: AtomicBool,
    /// Why the last write (or fsync) failed, as Redis words it (`No space left on device`).
    pub last_error: Mutex<String>,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds each write waits first (tests).
    pub flush_sleep_us: AtomicU64,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            on: AtomicBool::new(false),
            incr: Mutex::new(None),
            policy: AtomicU8::new(fsync::EVERYSEC),
            base_size: AtomicU64::new(0),
            current_size: AtomicU64::new(0),
            rewrites: AtomicU64::new(0),
            rewrite_running: AtomicBool::new(false),
            last_write_failed: AtomicBool::new(false),
            flush_sleep_us: AtomicU64::new(0),
            fsync_failed: AtomicBool::new(false),
            last_error: Mutex::new(String::new()),
        }
    }
}

pub struct Paths {
    pub dir: PathBuf,
    pub name: String,
}

impl Paths {
    pub fn of(server: &Server) -> Paths {
        let c = server.config.read();
        Paths { dir: c.dir.join(&c.appenddirname), name: c.appendfilename.clone() }
    }
    pub fn manifest(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.name))
    }
    /// `.rdb` with the RDB preamble, `.aof` for the command form (as Redis).
    pub fn base(&self, seq: u64, format: Format) -> String {
        let ext = if format == Format::Rdb { "rdb" } else { "aof" };
        format!("{}.{seq}.base.{ext}", self.name)
    }
    pub fn incr(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.name)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AofError + '_ {
    move |e| AofError::Io(path.into(), e)
}

/// Writes a file atomically: temp, fsync, rename, fsync the directory.
fn write_atomically(path: &Path, data: &[u8]) -> Result<(), AofError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(data).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(d) = path.parent() {
        File::open(d).and_then(|d| d.sync_all()).map_err(io(d))?;
    }
    Ok(())
}

impl Aof {
    pub fn enabled(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Starts appending to incremental file `seq` (created if missing).
    fn open_incr(&self, paths: &Paths, seq: u64) -> Result<(), AofError> {
        std::fs::create_dir_all(&paths.dir).map_err(io(&paths.dir))?;
        let path = paths.dir.join(paths.incr(seq));
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.current_size.store(len, Ordering::Relaxed);
        *self.incr.lock() = Some(Incr { file, db: None, buf: BytesMut::new(), pending: BytesMut::new(), unsynced: false });
        self.on.store(true, Ordering::Release);
        Ok(())
    }

    pub fn disable(&self) {
        self.on.store(false, Ordering::Release);
        if let Some(i) = self.incr.lock().take() {
            if let Err(e) = i.file.sync_data() {
                tracing::warn!("Fail to fsync the AOF file: {}", error_text(&e));
            }
        }
    }

    /// Appends one unit of effects (called while the writer holds its keys).
    /// With `appendfsync always` the data is on disk when this returns Ok;
    /// Err (the write's error, already logged) means the command must not
    /// be acknowledged.
    pub fn feed<'a>(&self, cmds: impl ExactSizeIterator<Item = (usize, &'a [Bytes])>) -> std::io::Result<()> {
        let mut guard = self.incr.lock();
        let Some(incr) = guard.as_mut() else { return Ok(()) };
        let mut buf = std::mem::take(&mut incr.buf);
        buf.clear();
        ferrokv_replication::log::encode_unit(&mut buf, &mut incr.db, cmds);
        self.current_size.fetch_add(buf.len() as u64, Ordering::Relaxed);
        incr.pending.extend_from_slice(&buf);
        incr.buf = buf;
        self.flush(incr)
    }

    /// Writes what is pending (and fsyncs under `always`); on failure keeps
    /// what was not written for the next attempt.
    fn flush(&self, incr: &mut Incr) -> std::io::Result<()> {
        let sleep = self.flush_sleep_us.load(Ordering::Relaxed);
        if sleep > 0 {
            std::thread::sleep(std::time::Duration::from_micros(sleep));
        }
        let mut result = Ok(());
        while !incr.pending.is_empty() {
            match incr.file.write(&incr.pending) {
                Ok(0) => {
                    result = Err(std::io::Error::from(std::io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => {
                    let _ = incr.pending.split_to(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let result = result.and_then(|_| match self.policy.load(Ordering::Relaxed) {
            fsync::ALWAYS => incr.file.sync_data(),
            _ => {
                incr.unsynced = true;
                Ok(())
            }
        });
        match result {
            Ok(()) => {
                if self.last_write_failed.swap(false, Ordering::Relaxed) {
                    tracing::warn!("AOF write error looks solved, Redis can write again.");
                }
                Ok(())
            }
            Err(e) => {
                let text = error_text(&e);
                if !self.last_write_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!("Error writing to the AOF file: {text}");
                }
                *self.last_error.lock() = text;
                Err(e)
            }
        }
    }

    /// The cron's retry of a failed write (writes are refused meanwhile).
    pub fn retry_failed_write(&self) {
        if self.last_write_failed.load(Ordering::Relaxed) {
            if let Some(incr) = self.incr.lock().as_mut() {
                let _ = self.flush(incr);
            }
        }
    }

    /// Whether the last write or fsync failed (INFO's aof_last_write_status).
    pub fn failing(&self) -> bool {
        self.last_write_failed.load(Ordering::Relaxed) || self.fsync_failed.load(Ordering::Relaxed)
    }

    /// `-MISCONF` while a write to the AOF, or its fsync, is failing.
    pub fn refusal(&self) -> Option<String> {
        (self.enabled() && self.failing()).then(|| format!("MISCONF Errors writing to the AOF file: {}", self.last_error.lock()))
    }

    /// `appendfsync everysec`: called once a second.
    pub fn fsync_if_needed(&self) {
        let file = {
            let mut guard = self.incr.lock();
            match guard.as_mut() {
                Some(i) if i.unsynced => {
                    i.unsynced = false;
                    i.file.try_clone().ok()
                }
                _ => None,
            }
        };
        // Outside the lock: writers keep appending meanwhile.
        if let Some(f) = file {
            if !self.record_fsync(f.sync_data()) {
                // Still not known to be on disk: try again next second.
                if let Some(i) = self.incr.lock().as_mut() {
                    i.unsynced = true;
                }
            }
        }
    }

    /// Records an everysec fsync's outcome as Redis's bio thread does:
    /// a failure is logged once and refuses writes until an fsync succeeds;
    /// EBADF and EINVAL (a file system without fsync) are not failures.
    /// Returns whether the data is on disk.
    fn record_fsync(&self, result: std::io::Result<()>) -> bool {
        match result {
            Err(e) if !matches!(e.raw_os_error(), Some(libc::EBADF | libc::EINVAL)) => {
                let text = error_text(&e);
                if !self.fsync_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!("Fail to fsync the AOF file: {text}");
                }
                *self.last_error.lock() = text;
                false
            }
            _ => {
                self.fsync_failed.store(false, Ordering::Relaxed);
                true
            }
        }
    }
}

/// An I/O error as Redis words it (`strerror`): without Rust's
/// ` (os error N)` suffix.
fn error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

/// DEBUG LOADAOF: the AOF written so far is flushed and closed, the
/// keyspace emptied and the AOF loaded back (appending then goes on), with
/// every other client paused meanwhile.
pub fn reload(server: &std::sync::Arc<Server>) -> Result<(), AofError> {
    use crate::server::{PauseMode, PausePurpose};
    server.pause.hold(PausePurpose::Reload, std::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365), PauseMode::All);
    server.aof.disable();
    {
        let mut ks = server.store.exclusive();
        server.store.settle_snapshot(&mut ks);
        let now = ferrokv_storage::now_ms();
        for db in 0..ks.db_count() {
            ks.flush_db(db, now);
        }
    }
    let result = load(server).and_then(|found| if found { Ok(()) } else { Err(AofError::Missing) });
    server.pause.release(PausePurpose::Reload);
    if result.is_ok() {
        tracing::warn!("Append Only File loaded by DEBUG LOADAOF");
    }
    result
}

/// At start-up with `appendonly yes`: loads the manifest's files (base,
/// then every incremental file, in order) into the keyspace. Returns false
/// when there is no AOF yet (the caller loads dump.rdb instead).
pub fn load(server: &std::sync::Arc<Server>) -> Result<bool, AofError> {
    let paths = Paths::of(server);
    let manifest = paths.manifest();
    let text = match std::fs::read_to_string(&manifest) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(AofError::Io(manifest, e)),
    };
    let parts = parse_manifest(&manifest, &text)?;
    let truncated_ok = server.config.read().aof_load_truncated;
    let last_incr = parts.iter().filter(|p| p.kind == 'i').map(|p| p.seq).max();
    for p in parts.iter().filter(|p| p.kind == 'b').chain(parts.iter().filter(|p| p.kind == 'i')) {
        let path = paths.dir.join(&p.name);
        let data = std::fs::read(&path).map_err(io(&path))?;
        if p.kind == 'b' {
            server.aof.base_size.store(data.len() as u64, Ordering::Relaxed);
        }
        if data.starts_with(b"REDIS") {
            load_rdb(server, &path)?;
        } else {
            // Only the last incremental file may end mid-command (a crash).
            let may_truncate = truncated_ok && p.kind == 'i' && Some(p.seq) == last_incr;
            replay(server, &path, &data, may_truncate)?;
        }
    }
    let seq = last_incr.unwrap_or(1);
    if last_incr.is_none() {
        let mut with_incr = parts.clone();
        with_incr.push(Part { name: paths.incr(seq), seq, kind: 'i' });
        write_atomically(&manifest, render_manifest(&with_incr).as_bytes())?;
    }
    server.aof.open_incr(&paths, seq)?;
    Ok(true)
}

fn load_rdb(server: &Server, path: &Path) -> Result<(), AofError> {
    let opts = crate::persistence::snapshot::LoadOptions { merge: true, keep_expired: true, functions: ferrokv_scripting::RestorePolicy::Append };
    crate::persistence::snapshot::load(server, &mut server.store.exclusive(), path, opts)?;
    Ok(())
}

/// Runs the commands of an incremental file through dispatch as a loading
/// client (no propagation, keys seen as they were written).
fn replay(server: &std::sync::Arc<Server>, path: &Path, data: &[u8], may_truncate: bool) -> Result<(), AofError> {
    let mut client = crate::replication::loading_client(server);
    let mut input = BytesMut::from(data);
    let mut parser = ferrokv_resp::RequestParser::new();
    let limits = ferrokv_resp::RequestLimits { max_bulk_len: i64::MAX, auth_required: false };
    let mut out = BytesMut::new();
    let mut done = 0u64;
    loop {
        let before = input.len();
        // Only multibulk commands are written to an AOF: anything else is a
        // corrupt file, not an inline command.
        if !parser.in_progress() && input.first().is_some_and(|b| *b != b'*') {
            return Err(AofError::Format(path.into(), "expected '*' at the start of a command".into(), (data.len() - input.len()) as u64));
        }
        match parser.parse(&mut input, &limits) {
            Ok(Some(mut args)) => {
                if crate::dispatch::resolve(server, &args).is_err() {
                    let name = String::from_utf8_lossy(&args[0]).into_owned();
                    return Err(AofError::Format(path.into(), format!("unknown command '{name}'"), (data.len() - before) as u64));
                }
                client.now_ms = ferrokv_storage::now_ms();
                crate::dispatch::process(server, &mut client, &mut args, &mut out);
                parser.recycle(args);
                out.clear();
                if !parser.in_progress() {
                    done = (data.len() - input.len()) as u64;
                }
            }
            Ok(None) if input.is_empty() && !parser.in_progress() => break,
            Ok(None) => {
                if !may_truncate {
                    return Err(AofError::Truncated(path.into(), done));
                }
                tracing::warn!(path = %path.display(), offset = done, "!!! Warning: short read while loading the AOF file !!! Truncating the AOF at offset {done}");
                let f = OpenOptions::new().write(true).open(path).map_err(io(path))?;
                f.set_len(done).map_err(io(path))?;
                f.sync_all().map_err(io(path))?;
                break;
            }
            Err(e) => return Err(AofError::Format(path.into(), e.to_string(), (data.len() - before) as u64)),
        }
    }
    if client.multi.is_some() {
        // A transaction cut by a crash never happened.
        tracing::warn!(path = %path.display(), "Revert incomplete MULTI/EXEC transaction in AOF file");
    }
    Ok(())
}

/// Creates the AOF of the current dataset (start-up with `appendonly yes`
/// and no AOF yet, or CONFIG SET appendonly yes), or rewrites it
/// (BGREWRITEAOF): new incremental file from the snapshot's instant, then
/// the base, then the manifest. Blocking: call from a blocking thread.
pub fn rewrite(server: &Server) -> Result<(), AofError> {
    let paths = Paths::of(server);
    std::fs::create_dir_all(&paths.dir).map_err(io(&paths.dir))?;
    let manifest = paths.manifest();
    let old: Vec<Part> = match std::fs::read_to_string(&manifest) {
        Ok(t) => parse_manifest(&manifest, &t)?,
        Err(_) => Vec::new(),
    };
    let seq = old.iter().map(|p| p.seq).max().unwrap_or(0) + 1;
    let format = if server.config.read().aof_use_rdb_preamble { Format::Rdb } else { Format::Commands };
    let base_name = paths.base(seq, format);
    let base_tmp = paths.dir.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
    let started = loop {
        let attempt = crate::persistence::bgsave::begin(server, &mut server.store.exclusive(), &base_tmp, format, |_| {
            // The instant of the snapshot: from here on writes go to the new
            // incremental file; the old files stay listed until the base
            // is complete.
            let mut listed = old.clone();
            listed.push(Part { name: paths.incr(seq), seq, kind: 'i' });
            let switched = write_atomically(&manifest, render_manifest(&listed).as_bytes()).and_then(|_| server.aof.open_incr(&paths, seq));
            (Vec::new(), switched)
        });
        match attempt {
            Ok(s) => break s,
            Err(crate::persistence::bgsave::SnapshotError::Busy) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => return Err(AofError::Io(base_tmp, std::io::Error::other(e.to_string()))),
        }
    };
    let (switched, _keys) =
        crate::persistence::bgsave::finish(server, started).map_err(|e| AofError::Io(base_tmp.clone(), std::io::Error::other(e.to_string())))?;
    switched?;
    let base = paths.dir.join(&base_name);
    std::fs::rename(&base_tmp, &base).map_err(io(&base))?;
    let now = vec![Part { name: base_name, seq, kind: 'b' }, Part { name: paths.incr(seq), seq, kind: 'i' }];
    write_atomically(&manifest, render_manifest(&now).as_bytes())?;
    for p in old {
        let _ = std::fs::remove_file(paths.dir.join(p.name));
    }
    server.aof.base_size.store(std::fs::metadata(&base).map(|m| m.len()).unwrap_or(0), Ordering::Relaxed);
    server.aof.rewrites.fetch_add(1, Ordering::Relaxed);
    tracing::info!(base = %base.display(), "Background AOF rewrite finished successfully");
    Ok(())
}

/// CONFIG SET appendonly: yes creates the AOF (writes are recorded from the
/// snapshot's instant on), no stops recording.
pub fn apply_config(server: &std::sync::Arc<Server>) {
    let on = server.config.read().appendonly;
    if on && !server.aof.enabled() {
        spawn_rewrite(server);
    } else if !on && server.aof.enabled() {
        server.aof.disable();
    }
}

/// A rewrite that must happen now (after a replica's full sync): waits for
/// one already running to end, then rewrites on this (blocking) thread.
pub fn rewrite_exclusively(server: &Server) -> Result<(), AofError> {
    while !claim_rewrite(server) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    rewrite_claimed(server)
}

/// BGREWRITEAOF / auto-rewrite / enabling: one at a time, on a blocking thread.
pub fn spawn_rewrite(server: &std::sync::Arc<Server>) -> bool {
    if !claim_rewrite(server) {
        return false;
    }
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = rewrite_claimed(&s) {
            tracing::warn!("Background AOF rewrite failed: {e}");
            s.aof.last_write_failed.store(true, Ordering::Relaxed);
        }
    });
    true
}

/// Takes the one rewrite slot; false while another rewrite holds it.
fn claim_rewrite(server: &Server) -> bool {
    !server.aof.rewrite_running.swap(true, Ordering::AcqRel)
}

/// Runs a rewrite in the slot the caller claimed, then frees the slot.
fn rewrite_claimed(server: &Server) -> Result<(), AofError> {
    let result = rewrite(server);
    server.aof.rewrite_running.store(false, Ordering::Release);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_errors() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let parts = parse_manifest(Path::new("m"), text).unwrap();
        assert_eq!(parts[1], Part { name: "appendonly.aof.1.incr.aof".into(), seq: 1, kind: 'i' });
        assert_eq!(render_manifest(&parts), text);
        assert!(parse_manifest(Path::new("m"), "file x seq 1 type z\n").is_err());
    }

    #[test]
    fn a_failed_everysec_fsync_refuses_writes_until_one_succeeds() {
        let aof = Aof::default();
        aof.on.store(true, Ordering::Relaxed);
        assert_eq!(aof.refusal(), None);
        assert!(!aof.record_fsync(Err(std::io::Error::from_raw_os_error(libc::EIO))));
        assert_eq!(aof.refusal().as_deref(), Some("MISCONF Errors writing to the AOF file: Input/output error"));
        assert!(aof.failing(), "INFO shows aof_last_write_status:err");
        // A file system without fsync is not a failure (Redis ignores EINVAL).
        assert!(aof.record_fsync(Err(std::io::Error::from_raw_os_error(libc::EINVAL))));
        assert_eq!(aof.refusal(), None);
        assert!(!aof.record_fsync(Err(std::io::Error::from_raw_os_error(libc::ENOSPC))));
        assert!(aof.record_fsync(Ok(())));
        assert_eq!(aof.refusal(), None);
    }
}
