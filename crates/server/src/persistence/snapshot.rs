//! RDB snapshots on disk: SAVE and loading at start-up.
//!
//! A snapshot is written to `temp-<pid>.rdb` in `dir`, fsynced, renamed over
//! `dbfilename` and the directory fsynced, so a crash mid-save never damages
//! the previous dump. Loading is all or nothing: the file is decoded into a
//! fresh keyspace, and any error stops start-up naming the file and offset.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokv_rdb::file::Writer;
use ferrokv_scripting::RestorePolicy;
use ferrokv_storage::{lfu, lru_clock, now_ms, Entry, Keyspace};

use crate::server::Server;
use ferrokv_commands::families::dump::{access_hint, from_rdb, rdb_form};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("Failed reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("Bad RDB file {path}: {source}")]
    Format { path: PathBuf, source: ferrokv_rdb::RdbError },
    #[error("Failed loading the function libraries of {path}: {message}")]
    Functions { path: PathBuf, message: String },
}

pub fn dump_path(server: &Server) -> PathBuf {
    let c = server.config.read();
    c.dir.join(&c.dbfilename)
}

/// AUX fields beyond the standard ones (replication history).
pub type Aux = [(&'static str, Vec<u8>)];

/// Writes every database and the function libraries to `path` (via a temp
/// file); returns the key count.
pub fn save(ks: &mut Keyspace, path: &Path, compress: bool, checksum: bool, aux: &Aux, functions: &[Bytes]) -> std::io::Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = write_file(ks, &temp, (compress, checksum), aux, functions).and_then(|n| {
        std::fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()?;
        Ok(n)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// An RDB file's start as Redis 7.0 writes it: the AUX fields
/// (`redis-ver`, `redis-bits`, `ctime`, `extra`, `aof-base`), then the
/// function libraries; the databases follow.
pub fn begin_file<W: std::io::Write>(out: W, extra: &Aux, functions: &[Bytes], (compress, checksum): (bool, bool)) -> std::io::Result<Writer<W>> {
    let ctime = (now_ms() / 1000).to_string();
    let mut aux: Vec<(&str, &[u8])> = vec![("redis-ver", crate::REDIS_VERSION.as_bytes()), ("redis-bits", b"64"), ("ctime", ctime.as_bytes())];
    aux.extend(extra.iter().map(|(k, v)| (*k, &v[..])));
    aux.push(("aof-base", b"0"));
    let mut w = Writer::new(out, &aux, compress, checksum)?;
    for code in functions {
        w.function(code)?;
    }
    Ok(w)
}

/// Writes every database to `temp` as an RDB file, fsynced.
pub fn write_file(ks: &mut Keyspace, temp: &Path, format: (bool, bool), extra: &Aux, functions: &[Bytes]) -> std::io::Result<u64> {
    let mut w = begin_file(BufWriter::with_capacity(1 << 20, File::create(temp)?), extra, functions, format)?;
    let mut total = 0;
    for (index, (keys, expires)) in ks.sizes().into_iter().enumerate() {
        if keys == 0 {
            continue;
        }
        w.select_db(index as u32, keys as u64, expires as u64)?;
        // Keys whose time passed but are not reclaimed yet are saved too, as
        // Redis does: a replica loading the file must hold what its primary
        // holds (the primary's DEL will follow); a primary skips them.
        ks.db_mut(index).for_each_live(i64::MIN, |key, entry, expire| {
            total += 1;
            let (value, layout) = rdb_form(&entry.value);
            w.key(key, &value, layout, expire)
        })?;
    }
    let file = w.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(total)
}

/// How keys from the file meet the keyspace.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Replace keys that already exist instead of calling the file corrupt.
    pub merge: bool,
    /// Load keys whose time has passed (a replica: its primary decides).
    pub keep_expired: bool,
    /// How the file's function libraries meet the loaded ones.
    pub functions: RestorePolicy,
}

/// What a load found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub keys: u64,
    pub expired: u64,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Loaded {
    pub fn aux_str(&self, name: &str) -> Option<String> {
        self.aux.iter().find(|(k, _)| k == name.as_bytes()).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// `repl-stream-db`: the database the primary's commands ran in.
    pub fn stream_db(&self) -> Option<usize> {
        self.aux_str("repl-stream-db").and_then(|v| v.parse().ok())
    }
}

/// Loads `path` into the keyspace; a missing file is an empty dataset.
/// Keys already expired are skipped, as a primary skips them.
/// Loads an RDB file's keys into `ks` and its function libraries into
/// the node.
pub fn load(server: &Server, ks: &mut Keyspace, path: &Path, opts: LoadOptions) -> Result<Loaded, LoadError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(source) => return Err(LoadError::Io { path: path.into(), source }),
    };
    load_bytes(server, ks, &data, path, opts)
}

/// Loads an RDB held in memory (`repl-diskless-load`); `path` names it in
/// errors.
pub fn load_bytes(server: &Server, ks: &mut Keyspace, data: &[u8], path: &Path, opts: LoadOptions) -> Result<Loaded, LoadError> {
    let (lfu_policy, check_crc) = {
        let c = server.config.read();
        (c.maxmemory_policy.is_lfu(), c.rdbchecksum && server.hot.limits.verify_checksums())
    };
    let limits = &server.store.limits.snapshot();
    let LoadOptions { merge, keep_expired, functions } = opts;
    let now = now_ms();
    let (mut loaded, mut expired) = (0, 0);
    let format = |source| LoadError::Format { path: path.into(), source };
    let file = ferrokv_rdb::file::read(data, check_crc, |r| {
        if r.db as usize >= ks.db_count() {
            return Err(format!("database {} is out of range (databases {})", r.db, ks.db_count()));
        }
        if !keep_expired && r.expire_ms.is_some_and(|at| at <= now) {
            expired += 1;
            return Ok(());
        }
        let key = Bytes::from(r.key);
        let name = || String::from_utf8_lossy(&key).into_owned();
        let value = from_rdb(r.value, limits).ok_or_else(|| format!("duplicate elements in key '{}'", name()))?;
        let fresh = if lfu_policy { lfu::initial() } else { lru_clock() };
        let lru = access_hint(lfu_policy, r.lfu_freq, r.idle_seconds).unwrap_or(fresh);
        if !ks.db_mut(r.db as usize).insert_loaded(&key, Entry::new(value, lru), r.expire_ms, merge) {
            return Err(format!("duplicate key '{}'", name()));
        }
        loaded += 1;
        Ok(())
    })
    .map_err(format)?;
    crate::admin::functions::install(server, &file.functions, functions).map_err(|message| LoadError::Functions { path: path.into(), message })?;
    Ok(Loaded { keys: loaded, expired, aux: file.aux })
}

/// SAVE's work, with the bookkeeping INFO and LASTSAVE report.
pub fn save_now(server: &Server, ks: &mut Keyspace) -> std::io::Result<u64> {
    server.persistence.last_try.store(now_ms() as u64 / 1000, Ordering::Relaxed);
    let result = save_and_count(server, ks);
    server.persistence.last_failed.store(result.is_err(), Ordering::Relaxed);
    if let Err(e) = &result {
        tracing::warn!("Failed saving the DB: {e}");
    }
    result
}

fn save_and_count(server: &Server, ks: &mut Keyspace) -> std::io::Result<u64> {
    let (path, compress, checksum) = {
        let c = server.config.read();
        (c.dir.join(&c.dbfilename), c.rdbcompression, c.rdbchecksum)
    };
    let dirty_before = server.store.stats.dirty.get();
    let aux = crate::replication::snapshot_aux(server);
    let n = save(ks, &path, compress, checksum, &aux, &crate::admin::functions::codes(server))?;
    server.store.stats.dirty.sub(dirty_before);
    server.persistence.last_save.store(now_ms() as u64 / 1000, Ordering::Relaxed);
    server.persistence.saves.fetch_add(1, Ordering::Relaxed);
    tracing::info!(keys = n, path = %path.display(), "DB saved on disk");
    Ok(n)
}

/// Whether a `save <seconds> <changes>` point is due (Redis retries a failed
/// save only after 5 seconds).
pub fn save_point_due(server: &Server) -> bool {
    let p = &server.persistence;
    let now = now_ms() as u64 / 1000;
    if p.last_failed.load(Ordering::Relaxed) && now < p.last_try.load(Ordering::Relaxed) + 5 {
        return false;
    }
    let dirty = server.store.stats.dirty.get();
    let since = now.saturating_sub(p.last_save.load(Ordering::Relaxed));
    server.config.read().save.iter().any(|&(secs, changes)| dirty >= changes && since >= secs)
}

/// The last act before exit (SHUTDOWN, SIGTERM): snapshot if asked, then
/// stop every later command, all under the exclusive gate. On a failed save
/// the server keeps running (unless `force`), as Redis does.
pub fn final_save(server: &Server, ks: &mut Keyspace, save: bool, force: bool) -> bool {
    if save && save_now(server, ks).is_err() && !force {
        tracing::warn!("Error trying to save the DB, can't exit.");
        return false;
    }
    server.stopping.store(true, Ordering::Release);
    true
}

/// DEBUG RELOAD: save (unless `nosave`), empty the keyspace (unless
/// `noflush`), and load the dump back. Tests use it to prove a dataset
/// survives the round trip.
pub fn reload(server: &Server, ks: &mut Keyspace, save: bool, flush: bool, merge: bool) -> Result<(), &'static str> {
    server.store.settle_snapshot(ks);
    if save && save_now(server, ks).is_err() {
        return Err("ERR");
    }
    if flush {
        let now = now_ms();
        for db in 0..ks.db_count() {
            ks.flush_db(db, now);
        }
    }
    let opts = LoadOptions { merge, keep_expired: server.repl.is_replica(), functions: RestorePolicy::Replace };
    match load(server, ks, &dump_path(server), opts) {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!("{e}");
            Err("ERR Error trying to load the RDB dump, check server logs.")
        }
    }
}
