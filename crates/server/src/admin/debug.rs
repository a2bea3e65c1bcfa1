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
    Sub { name: "restart", min: 2, max: 3, run: restart },
    Sub { name: "crash-and-recover", min: 2, max: 3, run: crash_and_recover },
    Sub { name: "aof-flush-sleep", min: 3, max: 3, run: aof_flush_sleep },
    Sub { name: "drop-cluster-packet-filter", min: 3, max: 3, run: drop_cluster_packet_filter },
    Sub { name: "clusterlink", min: 5, max: 5, run: clusterlink },
    Sub { name: "client-eviction", min: 2, max: 2, run: client_eviction },
    #[cfg(feature = "jemalloc")]
    Sub { name: "mallctl", min: 3, max: 4, run: mallctl },
    #[cfg(feature = "jemalloc")]
    Sub { name: "mallctl-str", min: 3, max: 4, run: mallctl_str },
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
        "AOF-FLUSH-SLEEP <microsec>",
        "    Server will sleep before flushing the AOF, this is used for testing.",
        "ASSERT",
        "    Crash by assertion failed.",
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "CRASH-AND-RECOVER [<milliseconds>]",
        "    Hard crash and restart after a <milliseconds> delay (default 0).",
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
        "MALLCTL <key> [<val>]",
        "    Get or set a malloc tuning integer.",
        "MALLCTL-STR <key> [<val>]",
        "    Get or set a malloc tuning string.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "DROP-CLUSTER-PACKET-FILTER <packet-type>",
        "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
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
        "RESTART [<milliseconds>]",
        "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
        "SDSLEN <key>",
        "    Show low level SDS string info representing `key` and value.",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
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
        "CLIENT-EVICTION",
        "    Show low level client eviction pools info (maxmemory-clients).",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "CLUSTERLINK KILL <to|from|all> <node-id>",
        "    Kills the link based on the direction to/from (both) with the provided node.",
        "HELP",
        "    Prints this help.",
    ])
}

/// Like Redis, the whole server stalls: DEBUG holds the exclusive gate. It
/// sleeps on its worker (not `block_in_place`, whose thread would go on
/// without ending a round, leaving the replies it queued unwritten); what
/// is queued goes out first.
fn sleep(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // As Redis's `strtod(arg, NULL)` then a long long of microseconds: the
    // longest number at the start counts (none: 0), and a time that is
    // negative or past the long long's range sleeps not at all.
    let micros = leading_float(&args[2]) * 1e6;
    if micros.is_finite() && micros > 0.0 && micros < i64::MAX as f64 {
        crate::net::outbox::write_queued();
        std::thread::sleep(Duration::from_micros(micros as u64));
    }
    ctx.ok()
}

/// C's `strtod` without an end pointer: the number the argument starts
/// with (after blanks), 0 when it starts with none.
fn leading_float(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    (1..=text.len()).rev().filter(|&i| text.is_char_boundary(i)).find_map(|i| text[..i].parse::<f64>().ok()).unwrap_or(0.0)
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
    crate::panics::server_panic(&format!("DEBUG PANIC called at Unix time {}", ferrokv_storage::now_ms() / 1000))
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

/* DEBUG RESTART [ms]: save the config and the dataset, then run this
 * binary again in this process (same pid, same arguments). */
fn restart(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    restart_generic(ctx, args, true)
}

/* DEBUG CRASH-AND-RECOVER [ms]: the same without saving anything. */
fn crash_and_recover(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    restart_generic(ctx, args, false)
}

/// Redis's `restartServer`: only returns (with Redis's error) when the
/// config or the dataset could not be saved; an exec that fails exits.
fn restart_generic(ctx: &mut Ctx<'_>, args: &[Bytes], graceful: bool) -> CmdResult {
    const FAILED: &str = "ERR failed to restart the server. Check server logs.";
    let delay = match args.get(2) {
        Some(a) => args::int(a)?.max(0) as u64,
        None => 0,
    };
    let server = ctx.server;
    if graceful {
        if let Some(path) = &server.config_file {
            let c = crate::acl::config_to_rewrite(server);
            if let Err(e) = crate::config::rewrite(path, &c) {
                tracing::warn!("Can't restart: configuration rewrite process failed: {e}");
                return Err(FAILED.into());
            }
        }
        let saves = crate::shutdown::Request::default().saves(server);
        let saved = ctx.view.keyspace().is_some_and(|ks| crate::persistence::snapshot::final_save(server, ks, saves, false));
        if !saved {
            return Err(FAILED.into());
        }
    }
    std::thread::sleep(Duration::from_millis(delay));
    // Listening sockets and files are close-on-exec: the new image opens its own.
    let err = match std::env::current_exe() {
        Ok(exe) => {
            use std::os::unix::process::CommandExt;
            std::process::Command::new(exe).args(std::env::args_os().skip(1)).exec()
        }
        Err(e) => e,
    };
    tracing::warn!("Can't restart: execve() failed: {err}");
    std::process::exit(1);
}

/* DEBUG AOF-FLUSH-SLEEP <microsec>: every AOF write waits this long first. */
fn aof_flush_sleep(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let us = args::int(&args[2])?.max(0) as u64;
    ctx.server.aof.flush_sleep_us.store(us, Ordering::Relaxed);
    ctx.ok()
}

/* DEBUG DROP-CLUSTER-PACKET-FILTER <type>: there is no cluster bus to filter. */
fn drop_cluster_packet_filter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    args::int(&args[2])?;
    ctx.ok()
}

fn clusterlink(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err("ERR Debug option only available for cluster mode enabled setup!".into())
}

/* DEBUG CLIENT-EVICTION: clients by memory in maxmemory-clients' buckets
 * (32 KB doubling to 8 GB), as Redis lays them out. */
fn client_eviction(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    use crate::net::client::kind;
    const MIN_LOG: u32 = 15;
    const MAX_LOG: u32 = 33;
    if ctx.server.hot.maxmemory_clients.load(Ordering::Relaxed) == 0 {
        return Err("ERR maxmemory-clients is disabled.".into());
    }
    let mut buckets = [(0usize, 0usize); (MAX_LOG - MIN_LOG + 1) as usize];
    for c in ctx.server.clients.lock().values() {
        if c.has(kind::REPLICA) || c.has(kind::MASTER) || c.has(kind::NO_EVICT) {
            continue;
        }
        let mem = c.memory.total.load(Ordering::Relaxed);
        let bits = usize::BITS - mem.leading_zeros();
        let b = (bits.clamp(MIN_LOG, MAX_LOG) - MIN_LOG) as usize;
        buckets[b].0 += mem;
        buckets[b].1 += 1;
    }
    let mut text = String::new();
    for (j, (mem, clients)) in buckets.iter().enumerate() {
        let j = j as u32;
        if j == 0 {
            text.push_str("bucket          0");
        } else {
            text.push_str(&format!("bucket {:10}", 1usize << (j - 1 + MIN_LOG)));
        }
        if j == MAX_LOG - MIN_LOG {
            text.push_str("+            : ");
        } else {
            text.push_str(&format!(" - {:10}: ", (1usize << (j + MIN_LOG)) - 1));
        }
        text.push_str(&format!("tot-mem: {mem:10}, clients: {clients}\n"));
    }
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/* DEBUG MALLCTL <key> [<val>]: a jemalloc integer, read (or written) at
 * the widest size it takes, as Redis's `mallctl_int`. */
#[cfg(feature = "jemalloc")]
fn mallctl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let new = args.get(3).map(|v| args::int(v)).transpose()?;
    let name = std::ffi::CString::new(args[2].to_vec()).map_err(|_| RedisError::from("ERR Invalid argument"))?;
    let mut size = std::mem::size_of::<i64>();
    while size > 0 {
        let (mut old, mut len) = (0i64, size);
        let mut val = new.unwrap_or(0);
        let newp = if new.is_some() { (&mut val as *mut i64).cast() } else { std::ptr::null_mut() };
        // SAFETY: `old`/`val` are live i64s and `len` never exceeds their size.
        let ret = unsafe { tikv_jemalloc_sys::mallctl(name.as_ptr(), (&mut old as *mut i64).cast(), &mut len, newp, if new.is_some() { size } else { 0 }) };
        match ret {
            0 => {
                ctx.int(old);
                return Ok(());
            }
            libc::EPERM if new.is_some() => {
                // SAFETY: as above, write-only.
                if unsafe { tikv_jemalloc_sys::mallctl(name.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), newp, size) } == 0 {
                    return ctx.ok();
                }
                return Err(strerror(libc::EPERM));
            }
            libc::EINVAL => size /= 2,
            err => return Err(strerror(err)),
        }
    }
    Err(strerror(libc::EINVAL))
}

/* DEBUG MALLCTL-STR <key> [<val>|VOID] */
#[cfg(feature = "jemalloc")]
fn mallctl_str(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = std::ffi::CString::new(args[2].to_vec()).map_err(|_| RedisError::from("ERR Invalid argument"))?;
    let mut old: *const libc::c_char = std::ptr::null();
    let mut len = std::mem::size_of::<*const libc::c_char>();
    // SAFETY: jemalloc writes one pointer to a static string into `old`.
    let read = unsafe { tikv_jemalloc_sys::mallctl(name.as_ptr(), (&mut old as *mut *const libc::c_char).cast(), &mut len, std::ptr::null_mut(), 0) };
    if read != 0 && !(read == libc::EPERM && args.len() > 3) {
        return Err(strerror(read));
    }
    let mut written = 0;
    if let Some(v) = args.get(3) {
        let value = std::ffi::CString::new(v.to_vec()).map_err(|_| RedisError::from("ERR Invalid argument"))?;
        let mut ptr = value.as_ptr();
        let (newp, newlen) = if &v[..] == b"VOID" {
            (std::ptr::null_mut(), 0)
        } else {
            ((&mut ptr as *mut *const libc::c_char).cast(), std::mem::size_of::<*const libc::c_char>())
        };
        // SAFETY: `ptr` points at a live NUL-terminated string for the call.
        written = unsafe { tikv_jemalloc_sys::mallctl(name.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), newp, newlen) };
    }
    if read == 0 && !old.is_null() {
        // SAFETY: jemalloc returned a NUL-terminated static string.
        let text = unsafe { std::ffi::CStr::from_ptr(old) };
        ctx.bulk(text.to_bytes());
        Ok(())
    } else if written != 0 {
        Err(strerror(written))
    } else {
        ctx.ok()
    }
}

#[cfg(feature = "jemalloc")]
fn strerror(code: i32) -> RedisError {
    format!("ERR {}", ferrokv_util::strerror(&std::io::Error::from_raw_os_error(code))).into()
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
        Value::Stream(s) => s.len() as usize,
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
