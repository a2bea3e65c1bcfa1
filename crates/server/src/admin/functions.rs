//! FUNCTION and FCALL (Redis 7.0's functions.c): the node's side of
//! function libraries. `ferrokv-scripting` keeps the libraries and runs
//! them; FCALL runs a function as EVAL runs a script (`as_script`: the
//! exclusive gate, its commands through `dispatch::run`, their effects
//! propagated), with the function's flags deciding what it may do. The
//! FUNCTION commands that change libraries propagate as themselves, and
//! snapshots carry the libraries (`persistence::bgsave`).

use bytes::{Bytes, BytesMut};
use ferrokv_commands::{cmd, container};
use ferrokv_resp::{encode, Protocol};
use ferrokv_scripting::{script_flags, Functions, RestorePolicy};
use parking_lot::MappedMutexGuard;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{CmdResult, RedisError};
use crate::server::Server;

use super::scripting::{admit_flags, as_script, made_on_first_use, numkeys};

const SCRIPTING: &[&str] = &["scripting"];
const FCALL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS;

pub static COMMANDS: &[Command] = &[
    cmd!("fcall", "7.0.0", -3, FCALL_FLAGS, SCRIPTING, (0, 0, 0), fcall, "scripting", "Invoke a function", key_specs = crate::admin::scripting::SCRIPT_KEYS),
    cmd!(
        "fcall_ro",
        "7.0.0",
        -3,
        READONLY | FCALL_FLAGS,
        SCRIPTING,
        (0, 0, 0),
        fcall_ro,
        "scripting",
        "Invoke a read-only function",
        key_specs = crate::admin::scripting::SCRIPT_KEYS_RO
    ),
    container!("function", "7.0.0", -2, FUNCTION, "scripting", "A container for function commands"),
];

static FUNCTION: &[Command] = &[
    cmd!(
        "delete",
        "7.0.0",
        3,
        WRITE | NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        function_delete,
        "scripting",
        "Delete a function by name",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!("dump", "7.0.0", 2, NOSCRIPT, SCRIPTING, (0, 0, 0), function_dump, "scripting", "Dump all functions into a serialized binary payload"),
    cmd!(
        "flush",
        "7.0.0",
        -2,
        WRITE | NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        function_flush,
        "scripting",
        "Deleting all functions",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!("help", "7.0.0", 2, LOADING | STALE, SCRIPTING, (0, 0, 0), function_help, "scripting", "Show helpful text about the different subcommands"),
    cmd!(
        "kill",
        "7.0.0",
        2,
        NOSCRIPT | ALLOW_BUSY,
        SCRIPTING,
        (0, 0, 0),
        function_kill,
        "scripting",
        "Kill the function currently in execution.",
        tips = &["request_policy:all_shards", "response_policy:one_succeeded"]
    ),
    cmd!(
        "list",
        "7.0.0",
        -2,
        NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        function_list,
        "scripting",
        "List information about all the functions",
        tips = &["nondeterministic_output_order"]
    ),
    cmd!(
        "load",
        "7.0.0",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        function_load,
        "scripting",
        "Create a function with the given arguments (name, code, description)",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!(
        "restore",
        "7.0.0",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        function_restore,
        "scripting",
        "Restore all the functions on the given payload",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!(
        "stats",
        "7.0.0",
        2,
        NOSCRIPT | ALLOW_BUSY,
        SCRIPTING,
        (0, 0, 0),
        function_stats,
        "scripting",
        "Return information about the function currently running (name, description, duration)",
        tips = &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]
    ),
];

/// The libraries, their VM made on first use.
fn functions(server: &Server) -> Result<MappedMutexGuard<'_, Functions>, RedisError> {
    made_on_first_use(&server.functions, || Functions::new(server.script_watchdog.clone(), server.function_counts.clone()))
}

/// Every library's code, for a snapshot (taken with the keyspace held, so
/// it stands for the same instant as the keys).
pub fn codes(server: &Server) -> Vec<Bytes> {
    server.functions.lock().as_ref().map_or_else(Vec::new, |f| f.libraries().map(|l| l.code.clone()).collect())
}

/// Installs the libraries an RDB file held (start-up, full sync, DEBUG
/// RELOAD, an AOF's RDB preamble).
pub fn install(server: &Server, codes: &[Vec<u8>], policy: RestorePolicy) -> Result<(), String> {
    if codes.is_empty() && policy != RestorePolicy::Flush {
        return Ok(());
    }
    functions(server).map_err(|e| e.0.into_owned())?.restore(codes, policy)
}

/* FCALL function numkeys [key ...] [arg ...] */
fn fcall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run_function(ctx, args, false)
}

/* FCALL_RO function numkeys [key ...] [arg ...] */
fn fcall_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run_function(ctx, args, true)
}

fn run_function(ctx: &mut Ctx<'_>, args: &[Bytes], ro_command: bool) -> CmdResult {
    // Shown before the commands it runs, as Redis feeds it.
    crate::dispatch::feed_monitors(ctx, args);
    let server = ctx.server;
    let functions = functions(server)?;
    // The function is looked up before numkeys is read, as Redis's.
    let def = functions.get(&args[1]).ok_or("ERR Function not found")?;
    let n = args::int_or(&args[2], "ERR Bad number of keys provided")?;
    let (keys, argv) = args[3..].split_at(numkeys(args, n)?);
    let admitted = admit_flags(ctx, def.flags, ro_command)?;
    as_script(ctx, admitted, |caller, proto, out, busy_after| functions.call((def, args), (keys, argv), caller, proto, out, busy_after))
}

/* FUNCTION LOAD [REPLACE] function-code */
fn function_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    for a in &args[2..args.len() - 1] {
        if !args::is(a, "replace") {
            return Err(format!("ERR Unknown option given: {}", String::from_utf8_lossy(a)).into());
        }
        replace = true;
    }
    let name = functions(ctx.server)?.load(&args[args.len() - 1], replace)?;
    ctx.view.changed();
    ctx.bulk(name.as_bytes());
    Ok(())
}

/* FUNCTION DELETE library-name */
fn function_delete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    functions(ctx.server)?.delete(&args[2])?;
    ctx.view.changed();
    ctx.ok()
}

/* FUNCTION FLUSH [ASYNC|SYNC] */
fn function_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.get(2) {
        None => {}
        Some(mode) if args.len() == 3 && (args::is(mode, "sync") || args::is(mode, "async")) => {}
        Some(_) => return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into()),
    }
    if let Some(f) = ctx.server.functions.lock().as_mut() {
        f.flush();
    }
    ctx.view.changed();
    ctx.ok()
}

/* FUNCTION DUMP */
fn function_dump(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let codes = codes(ctx.server);
    let payload = ferrokv_rdb::dump_functions(codes.iter().map(|c| &c[..]), ctx.data.limits.rdbcompression());
    ctx.bulk(&payload);
    Ok(())
}

/* FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE] */
fn function_restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let policy = match args.get(3) {
        None => RestorePolicy::Append,
        Some(p) if args.len() == 4 && args::is(p, "flush") => RestorePolicy::Flush,
        Some(p) if args.len() == 4 && args::is(p, "append") => RestorePolicy::Append,
        Some(p) if args.len() == 4 && args::is(p, "replace") => RestorePolicy::Replace,
        Some(_) => return Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.".into()),
    };
    let codes = ferrokv_rdb::restore_functions(&args[2], true).map_err(|e| match e {
        ferrokv_rdb::FunctionPayloadError::NotAFunction => RedisError::from("ERR given type is not a function"),
        ferrokv_rdb::FunctionPayloadError::Payload(ferrokv_rdb::PayloadError::VersionOrChecksum) => "ERR DUMP payload version or checksum are wrong".into(),
        ferrokv_rdb::FunctionPayloadError::Payload(_) => "ERR failed loading the given functions payload".into(),
    })?;
    functions(ctx.server)?.restore(&codes, policy)?;
    ctx.view.changed();
    ctx.ok()
}

/* FUNCTION KILL */
fn function_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    // While a function is busy dispatch answers this before the keyspace
    // (which the function holds); here none is running.
    super::scripting::kill_reply(ctx.server, true)?;
    ctx.ok()
}

/* FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE] */
fn function_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut pattern, mut with_code) = (None, false);
    let mut i = 2;
    while i < args.len() {
        if !with_code && args::is(&args[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && args::is(&args[i], "libraryname") {
            pattern = Some(args.get(i + 1).ok_or("ERR library name argument was not given")?);
            i += 1;
        } else {
            return Err(format!("ERR Unknown argument {}", String::from_utf8_lossy(&args[i])).into());
        }
        i += 1;
    }
    let guard = ctx.server.functions.lock();
    let matching: Vec<_> =
        guard.iter().flat_map(|f| f.libraries()).filter(|l| pattern.is_none_or(|p| ferrokv_util::glob_match(p, l.name.as_bytes(), true))).collect();
    ctx.array(matching.len());
    for lib in matching {
        ctx.map(3 + with_code as usize);
        ctx.bulk(b"library_name");
        ctx.bulk(lib.name.as_bytes());
        ctx.bulk(b"engine");
        ctx.bulk(b"LUA");
        ctx.bulk(b"functions");
        ctx.array(lib.functions.len());
        for f in lib.functions.values() {
            ctx.map(3);
            ctx.bulk(b"name");
            ctx.bulk(f.name.as_bytes());
            ctx.bulk(b"description");
            match &f.description {
                Some(d) => ctx.bulk(d),
                None => ctx.null(),
            }
            ctx.bulk(b"flags");
            let names: Vec<&str> = script_flags::NAMES.iter().filter(|(_, bit)| f.flags & bit != 0).map(|(n, _)| *n).collect();
            ctx.set_len(names.len());
            for n in names {
                ctx.simple(n.as_bytes());
            }
        }
        if with_code {
            ctx.bulk(b"library_code");
            ctx.bulk(&lib.code);
        }
    }
    Ok(())
}

/* FUNCTION STATS */
fn function_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let proto = ctx.data.proto;
    write_stats(ctx.server, proto, ctx.data.out);
    Ok(())
}

/// FUNCTION STATS's reply; answered while a function is busy too, so it
/// reads only the watchdog and the counts, never the libraries.
pub fn write_stats(server: &Server, proto: Protocol, out: &mut BytesMut) {
    encode::map_len(out, 2, proto);
    encode::bulk(out, b"running_script");
    match server.script_watchdog.current_function() {
        Some(running) => {
            encode::map_len(out, 3, proto);
            encode::bulk(out, b"name");
            encode::bulk(out, running.name.as_bytes());
            encode::bulk(out, b"command");
            encode::array_len(out, running.command.len());
            for arg in &running.command {
                encode::bulk(out, arg);
            }
            encode::bulk(out, b"duration_ms");
            encode::integer(out, running.started.elapsed().as_millis() as i64);
        }
        None => encode::null(out, proto),
    }
    encode::bulk(out, b"engines");
    encode::map_len(out, 1, proto);
    encode::bulk(out, b"LUA");
    encode::map_len(out, 2, proto);
    let counts = &server.function_counts;
    encode::bulk(out, b"libraries_count");
    encode::integer(out, counts.libraries.load(std::sync::atomic::Ordering::Relaxed) as i64);
    encode::bulk(out, b"functions_count");
    encode::integer(out, counts.functions.load(std::sync::atomic::Ordering::Relaxed) as i64);
}

/* FUNCTION HELP */
fn function_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ])
}
