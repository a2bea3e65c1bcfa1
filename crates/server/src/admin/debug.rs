//! DEBUG: the subcommands Redis's tooling and client test suites use, each
//! a row of one table (name, argument counts, handler), with Redis 7.0's
//! replies. DEBUG holds the keyspace's exclusive gate, as in Redis where it
//! stalls the server.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use ferrokv_storage::{idle_seconds, Value};

use crate::admin::server::allowed_by;
use crate::args;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};

type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// A subcommand: its name, the argument counts it takes (DEBUG and the
/// name included) and its handler.
struct Sub {
    name: &'static str,
    min: usize,
    max: usize,
    run: Handler,
}

const ANY: usize = usize::MAX;

const SUBCOMMANDS: &[Sub] = &[
    Sub { name: "change-repl-id", min: 2, max: 2, run: change_repl_id },
    Sub { name: "config-rewrite-force-all", min: 2, max: 2, run: config_rewrite_force_all },
    Sub { name: "digest", min: 2, max: 2, run: digest },
    Sub { name: "digest-value", min: 2, max: ANY, run: digest_value },
    Sub { name: "error", min: 3, max: 3, run: error },
    Sub { name: "log", min: 3, max: 3, run: log },
    Sub { name: "leak", min: 3, max: 3, run: leak },
    Sub { name: "htstats", min: 3, max: 4, run: htstats },
    Sub { name: "htstats-key", min: 3, max: 4, run: htstats_key },
    Sub { name: "replicate", min: 3, max: ANY, run: replicate },
    Sub { name: "object", min: 3, max: 3, run: object },
    Sub { name: "panic", min: 2, max: 2, run: panic },
    Sub { name: "assert", min: 2, max: 2, run: assert },
    Sub { name: "oom", min: 2, max: 2, run: oom },
    Sub { name: "segfault", min: 2, max: 2, run: segfault },
    Sub { name: "populate", min: 3, max: 5, run: populate },
    Sub { name: "protocol", min: 3, max: 3, run: protocol },
    Sub { name: "reload", min: 2, max: ANY, run: reload },
    Sub { name: "sdslen", min: 3, max: 3, run: sdslen },
    Sub { name: "set-active-expire", min: 3, max: 3, run: set_active_expire },
    Sub { name: "quicklist-packed-threshold", min: 3, max: 3, run: quicklist_packed_threshold },
    Sub { name: "set-skip-checksum-validation", min: 3, max: 3, run: set_skip_checksum_validation },
    Sub { name: "sleep", min: 3, max: 3, run: sleep },
    Sub { name: "stringmatch-test", min: 2, max: 2, run: stringmatch_test },
    Sub { name: "structsize", min: 2, max: 2, run: structsize },
    Sub { name: "listpack", min: 3, max: 3, run: listpack },
    Sub { name: "loadaof", min: 2, max: 2, run: loadaof },
    Sub { name: "quicklist", min: 3, max: 4, run: quicklist },
    Sub { name: "pause-cron", min: 3, max: 3, run: pause_cron },
    Sub { name: "replybuffer", min: 4, max: 4, run: replybuffer },
    Sub { name: "help", min: 2, max: 2, run: help },
    #[cfg(debug_assertions)]
    Sub { name: "panic-in-handler", min: 2, max: 3, run: panic_in_handler },
];

/* DEBUG <subcommand> ... */
pub fn debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !allowed_by(ctx.server.config.read().enable_debug_command, ctx.client.is_local) {
        return Err(errors::DEBUG_DISABLED.into());
    }
    let sub = &args[1];
    let found = SUBCOMMANDS.iter().find(|s| args::is(sub, s.name) && (s.min..=s.max).contains(&args.len()));
    match found {
        Some(s) => (s.run)(ctx, args),
        None => Err(format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.", errors::clip(sub)).into()),
    }
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ASSERT",
        "    Crash by assertion failed.",
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LEAK <string>",
        "    Create a memory leak of the input string.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "HTSTATS <dbid>",
        "    Return hash table statistics of the specified Redis database.",
        "HTSTATS-KEY <key>",
        "    Like HTSTATS but for the hash table stored at <key>'s value.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "REPLICATE <string>",
        "    Replicates the provided string to replicas, allowing data divergence.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "OOM",
        "    Crash the server simulating an out-of-memory error.",
        "PANIC",
        "    Crash the server simulating a panic.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from RDB.",
        "    * NOFLUSH: the existing database will not be removed before load, but",
        "      conflicting keys will generate an exception and kill the server.",
        "    * NOSAVE: the database will be loaded from an existing RDB file.",
        "    Examples:",
        "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
        "      the database.",
        "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
        "      existing RDB file.",
        "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
        "      file to the database.",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
        "SDSLEN <key>",
        "    Show low level SDS string info representing `key` and value.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
        "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "STRINGMATCH-TEST",
        "    Run a fuzz tester against the stringmatchlen() function.",
        "STRUCTSIZE",
        "    Return the size of different Redis core C structures.",
        "LISTPACK <key>",
        "    Show low level info about the listpack encoding of <key>.",
        "QUICKLIST <key> [<0|1>]",
        "    Show low level info about the quicklist encoding of <key>.",
        "    The optional argument (0 by default) sets the level of detail",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "HELP",
        "    Prints this help.",
    ])
}

/// Like Redis, the whole server stalls: DEBUG holds the exclusive gate. It
/// sleeps on its worker (not `block_in_place`, whose thread would go on
/// without ending a round, leaving the replies it queued unwritten); what
/// is queued goes out first.
fn sleep(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let secs = args::float(&args[2])?;
    // A time no Duration holds (inf, 1e308) is refused, not slept.
    let d = Duration::try_from_secs_f64(secs.max(0.0)).map_err(|_| RedisError::from("ERR value is out of range"))?;
    crate::net::outbox::write_queued();
    std::thread::sleep(d);
    ctx.ok()
}

/// Debug builds only: a defect on demand, to test that a panicking command
/// leaves the node serving (after writing a key, with the keyspace held
/// exclusively, when given one).
#[cfg(debug_assertions)]
fn panic_in_handler(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if let Some(key) = args.get(2) {
        ctx.view.set(key, Value::Str(ferrokv_storage::Str::from_arg(b"written before the panic")), false);
        ctx.view.modified(key);
    }
    ctx.array(3);
    ctx.bulk(b"half of a reply");
    panic!("DEBUG PANIC-IN-HANDLER, as asked");
}

/// DEBUG PANIC: the node stops at once, as Redis's serverPanic.
fn panic(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    tracing::warn!("------------------------------------------------");
    tracing::warn!("!!! Software Failure. Press left mouse button to continue");
    tracing::warn!("Guru Meditation: DEBUG PANIC called at Unix time {}", ferrokv_storage::now_ms() / 1000);
    std::process::abort();
}

/// DEBUG ASSERT: a failed assertion stops the node, as Redis's serverAssert.
fn assert(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    tracing::warn!("=== ASSERTION FAILED ===");
    tracing::warn!("==> DEBUG ASSERT: '1 == 2' is not true");
    std::process::abort();
}

/// DEBUG OOM: an allocation that cannot be had stops the node.
fn oom(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    tracing::warn!("Out Of Memory allocating {} bytes!", usize::MAX);
    std::process::abort();
}

/// DEBUG SEGFAULT: the node dies of SIGSEGV, as Redis's does.
fn segfault(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    tracing::warn!("DEBUG SEGFAULT: crashing by signal 11 (SIGSEGV), as asked");
    // SAFETY: raising a signal at ourselves; its default action ends us.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort();
}

fn object(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(entry) = ctx.view.peek(&args[2]).cloned() else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let len = entry.value.as_str().map_or(0, |s| s.len());
    let line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        &entry as *const _,
        entry.value.encoding(),
        len,
        entry.lru,
        idle_seconds(entry.lru)
    );
    ctx.simple(line.as_bytes());
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: `prefix:N` = `value:N` (cut or
/// zero-padded to size), skipping keys that exist.
fn populate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = args::int(&args[2])?;
    if count < 0 {
        return Err("ERR count is negative".into());
    }
    let prefix = args.get(3).map_or(&b"key"[..], |p| &p[..]);
    let size = match args.get(4) {
        Some(s) => args::int(s)?,
        None => 0,
    };
    if size < 0 {
        return Err("ERR size is negative".into());
    }
    // Redis allocates whatever is asked (and dies when it cannot).
    let per_key = (size as u64).max(16) + prefix.len() as u64 + 64;
    if (count as u64).saturating_mul(per_key) > ferrokv_commands::shared::request_budget() {
        return Err("ERR value is out of range".into());
    }
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if ctx.view.exists(&key) {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if size > 0 {
            value.resize(size as usize, 0);
        }
        ctx.view.set(&key, Value::Str(ferrokv_storage::Str::from_arg(&value)), false);
    }
    ctx.ok()
}

fn reload(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for opt in &args[2..] {
        if args::is(opt, "merge") {
            merge = true;
        } else if args::is(opt, "noflush") {
            flush = false;
        } else if args::is(opt, "nosave") {
            save = false;
        } else {
            return Err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.".into());
        }
    }
    let server = ctx.server;
    let Some(ks) = ctx.view.keyspace() else {
        return Err("ERR DEBUG RELOAD needs exclusive access to the keyspace".into());
    };
    crate::persistence::snapshot::reload(server, ks, save, flush, merge).map_err(RedisError::from)?;
    ctx.ok()
}

fn digest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let Some(ks) = ctx.view.keyspace_for_reading() else {
        return Err("ERR DEBUG DIGEST needs exclusive access to the keyspace".into());
    };
    let d = crate::digest::dataset_digest(ks);
    ctx.simple(crate::digest::hex(&d).as_bytes());
    Ok(())
}

fn digest_value(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.array(args.len() - 2);
    for key in &args[2..] {
        let mut d = [0u8; 20];
        let has_expire = ctx.view.expire_at(key).is_some();
        if let Some(entry) = ctx.view.peek(key) {
            crate::digest::object_digest(&mut d, entry, has_expire);
        }
        ctx.simple(crate::digest::hex(&d).as_bytes());
    }
    Ok(())
}

fn set_active_expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let on = args::int(&args[2])? != 0;
    ctx.server.active_expire.store(on, Ordering::Relaxed);
    ctx.ok()
}

fn change_repl_id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.repl.with_log(|log| log.change_replid());
    ctx.ok()
}

/// A reply of each RESP type, as Redis's DEBUG PROTOCOL sends it (client
/// libraries test their parsers with it). 3.141 is Redis's literal, not π.
#[allow(clippy::approx_constant)]
fn protocol(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let resp3 = ctx.proto() == ferrokv_resp::Protocol::Resp3;
    let name = String::from_utf8_lossy(&args[2]).to_ascii_lowercase();
    match name.as_str() {
        "string" => ctx.bulk(b"Hello World"),
        "integer" => ctx.int(12345),
        "double" => ctx.double(3.141),
        "bignum" if resp3 => ctx.out.extend_from_slice(b"(1234567999999999999999999999999999999\r\n"),
        "bignum" => ctx.bulk(b"1234567999999999999999999999999999999"),
        "null" => ctx.null(),
        "array" | "set" => {
            if name == "set" {
                ctx.set_len(3);
            } else {
                ctx.array(3);
            }
            (0..3).for_each(|j| ctx.int(j));
        }
        "map" => {
            ctx.map(3);
            for j in 0..3 {
                ctx.int(j);
                ctx.boolean(j == 1);
            }
        }
        "attrib" => {
            // Attributes are not replies: a real one follows.
            if resp3 {
                ctx.out.extend_from_slice(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
            }
            ctx.bulk(b"Some real reply following the attribute");
        }
        "push" if !resp3 => return Err("ERR RESP2 is not supported by this command".into()),
        "push" => {
            ctx.out.extend_from_slice(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n");
            ctx.bulk(b"Some real reply following the push reply");
        }
        "true" => ctx.boolean(true),
        "false" => ctx.boolean(false),
        "verbatim" => ctx.verbatim(b"This is a verbatim\nstring"),
        _ => return Err(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
                .into(),
        ),
    }
    Ok(())
}

/// DEBUG ERROR: the string as the error reply, newlines made spaces.
fn error(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let text: Vec<u8> = args[2].iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
    ctx.out.extend_from_slice(b"-");
    ctx.out.extend_from_slice(&text);
    ctx.out.extend_from_slice(b"\r\n");
    Ok(())
}

fn log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
    ctx.ok()
}

/// DEBUG LEAK: memory that is never freed, as asked (leak checkers' tests).
fn leak(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    std::mem::forget(args[2].to_vec());
    ctx.ok()
}

/// DEBUG REPLICATE cmd [arg ...]: sent to replicas (and the AOF) without
/// running here, diverging them on purpose.
fn replicate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let db = ctx.view.db;
    ctx.data.effects.push(db, args[2..].to_vec());
    ctx.ok()
}

fn config_rewrite_force_all(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    crate::admin::server::rewrite_config(ctx, true)
}

fn quicklist_packed_threshold(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Accepted as Redis's (0 restores 1 GiB, at most 4 GiB less 1 MiB);
    // ferrokv's lists have no plain nodes, so nothing else changes.
    let size = crate::config::table::parse_memory(&String::from_utf8_lossy(&args[2]));
    match size {
        Some(sz) if sz <= (1 << 32) - (1 << 20) => ctx.ok(),
        _ => Err("ERR argument must be a memory value bigger than 1 and smaller than 4gb".into()),
    }
}

fn set_skip_checksum_validation(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let skip = args::int(&args[2])? != 0;
    ctx.server.hot.limits.skip_checksum.store(skip, Ordering::Relaxed);
    ctx.ok()
}

/// Redis fuzzes its glob matcher; ferrokv's runs the same kind of random
/// patterns against random strings and must simply come back.
fn stringmatch_test(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    use rand::Rng;
    let mut rng = rand::rng();
    for _ in 0..100_000 {
        let pattern: Vec<u8> = (0..rng.random_range(0..32)).map(|_| rng.random_range(0..=255u8)).collect();
        let text: Vec<u8> = (0..rng.random_range(0..32)).map(|_| rng.random_range(0..=255u8)).collect();
        let _ = ferrokv_util::glob_match(&pattern, &text, false);
    }
    ctx.simple(b"Apparently Redis did not crash: test passed");
    Ok(())
}

/// The sizes of ferrokv's core structures, in Redis's `name:size ` form.
fn structsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let line = format!(
        "bits:{} entry:{} value:{} str:{} ",
        usize::BITS,
        std::mem::size_of::<ferrokv_storage::Entry>(),
        std::mem::size_of::<Value>(),
        std::mem::size_of::<ferrokv_storage::Str>()
    );
    ctx.simple(line.as_bytes());
    Ok(())
}

fn sdslen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = args[2].clone();
    let Some(entry) = ctx.view.peek(&key) else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let Some(s) = entry.value.as_str().filter(|s| s.encoding() != "int") else {
        return Err("ERR Not an sds encoded string.".into());
    };
    let class = |n: usize| ferrokv_util::alloc::jemalloc_size_class(n, 1);
    let line = format!(
        "key_sds_len:{}, key_sds_avail:0, key_zmalloc: {}, val_sds_len:{}, val_sds_avail:0, val_zmalloc: {}",
        key.len(),
        class(key.len().max(1)),
        s.len(),
        if s.encoding() == "raw" { class(s.len().max(1)) } else { 0 }
    );
    ctx.simple(line.as_bytes());
    Ok(())
}

/// DEBUG LISTPACK / QUICKLIST print a value's layout to the log, as Redis
/// prints it to stdout.
fn listpack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(entry) = ctx.view.peek(&args[2]) else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    if entry.value.encoding() != "listpack" {
        return Err("ERR Not a listpack encoded object.".into());
    }
    tracing::info!("{{listpack}} {} {} entries", String::from_utf8_lossy(&args[2]), value_len(&entry.value));
    ctx.simple(b"Listpack structure printed on stdout");
    Ok(())
}

fn quicklist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(entry) = ctx.view.peek(&args[2]) else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let Value::List(l) = &entry.value else {
        return Err("ERR Not a quicklist encoded object.".into());
    };
    tracing::info!("{{quicklist}} {} count: {} len: {}", String::from_utf8_lossy(&args[2]), l.len(), l.node_count());
    ctx.simple(b"Quicklist structure printed on stdout");
    Ok(())
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Hash(h) => h.len(),
        Value::Set(s) => s.len(),
        Value::ZSet(z) => z.len(),
    }
}

/// DEBUG HTSTATS dbid [full]: the main table and the expiry table of a
/// database, in Redis's words.
fn htstats(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let db = args::int(&args[2])?;
    let Some(ks) = ctx.view.keyspace_for_reading() else {
        return Err("ERR DEBUG HTSTATS needs exclusive access to the keyspace".into());
    };
    if db < 0 || db as usize >= ks.db_count() {
        return Err("ERR Out of range database".into());
    }
    let (keys, volatile) = ks.sizes()[db as usize];
    let mut text = String::from("[Dictionary HT]\n");
    text.push_str(&table_stats(keys));
    text.push_str("[Expires HT]\n");
    text.push_str(&table_stats(volatile));
    ctx.verbatim(text.as_bytes());
    Ok(())
}

fn htstats_key(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(entry) = ctx.view.peek(&args[2]) else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let len = match &entry.value {
        Value::Set(s) if s.encoding() == "hashtable" => s.len(),
        Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
        Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        _ => return Err("ERR The value stored at the specified key is not represented using an hash table".into()),
    };
    let text = table_stats(len);
    ctx.verbatim(text.as_bytes());
    Ok(())
}

fn table_stats(elements: usize) -> String {
    if elements == 0 {
        return "No stats available for empty dictionaries\n".into();
    }
    format!("Hash table 0 stats (main hash table):\n table size: {}\n number of elements: {elements}\n", elements.next_power_of_two())
}

/// DEBUG LOADAOF: finished by the connection (see `Client::load_aof`),
/// with `appendonly yes` only (Redis would exit on a node without an AOF).
fn loadaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if !ctx.server.aof.enabled() {
        return Err("ERR DEBUG LOADAOF needs appendonly yes".into());
    }
    ctx.client.load_aof = true;
    Ok(())
}

/// DEBUG PAUSE-CRON 1 stops the periodic work (expiry, eviction, save
/// points) until DEBUG PAUSE-CRON 0.
fn pause_cron(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let paused = args::int(&args[2])? != 0;
    ctx.server.cron_paused.store(paused, Ordering::Relaxed);
    ctx.ok()
}

/// Redis resizes client reply buffers from its cron; ferrokv's buffers
/// are sized per write, so these settings are accepted and change nothing.
fn replybuffer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args::is(&args[2], "peak-reset-time") {
        if !(args::is(&args[3], "never") || args::is(&args[3], "reset") || args::int(&args[3]).is_ok()) {
            return Err(errors::SYNTAX.into());
        }
        ctx.ok()
    } else if args::is(&args[2], "resizing") {
        args::int(&args[3])?;
        ctx.ok()
    } else {
        Err(format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.", errors::clip(&args[1])).into())
    }
}
