//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c): the
//! node's side of scripting. `ferrokv-scripting` runs the Lua; every
//! command a script calls goes through `dispatch::run` on this same
//! context, under the exclusive gate EVAL holds (its keys are movable), so
//! a script is atomic and its commands' effects propagate as one unit
//! (MULTI/EXEC when more than one), as Redis 7.0 replicates scripts.

use bytes::{Bytes, BytesMut};
use ferrokv_commands::keyspec::{flags::*, KeySpec};
use ferrokv_commands::{cmd, container};
use ferrokv_resp::{Frame, Protocol};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use ferrokv_scripting::{repl, script_flags, Caller, Engine, KillError};
use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::dispatch;
use crate::errors::{CmdResult, RedisError};
use crate::server::Server;

const SCRIPTING: &[&str] = &["scripting"];
const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS;

/// EVAL's and FCALL's keys (`numkeys` then the keys), which a script may
/// use in any way; the _RO forms only read them.
pub(crate) const SCRIPT_KEYS: &[KeySpec] =
    &[KeySpec::counted(2, RW | ACCESS | UPDATE).notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")];
pub(crate) const SCRIPT_KEYS_RO: &[KeySpec] =
    &[KeySpec::counted(2, RO | ACCESS).notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")];

pub static COMMANDS: &[Command] = &[
    cmd!("eval", "2.6.0", -3, EVAL_FLAGS, SCRIPTING, (0, 0, 0), eval, "scripting", "Execute a Lua script server side", key_specs = SCRIPT_KEYS),
    cmd!(
        "evalsha",
        "2.6.0",
        -3,
        EVAL_FLAGS,
        SCRIPTING,
        (0, 0, 0),
        evalsha,
        "scripting",
        "Execute a Lua script server side",
        key_specs = &[KeySpec::counted(2, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "eval_ro",
        "7.0.0",
        -3,
        READONLY | EVAL_FLAGS,
        SCRIPTING,
        (0, 0, 0),
        eval_ro,
        "scripting",
        "Execute a read-only Lua script server side",
        key_specs = SCRIPT_KEYS_RO
    ),
    cmd!(
        "evalsha_ro",
        "7.0.0",
        -3,
        READONLY | EVAL_FLAGS,
        SCRIPTING,
        (0, 0, 0),
        evalsha_ro,
        "scripting",
        "Execute a read-only Lua script server side",
        key_specs = &[KeySpec::counted(2, RO | ACCESS)]
    ),
    container!("script", "2.6.0", -2, SCRIPT, "scripting", "A container for Lua scripts management commands"),
];

static SCRIPT: &[Command] = &[
    cmd!(
        "load",
        "2.6.0",
        3,
        NOSCRIPT | STALE,
        SCRIPTING,
        (0, 0, 0),
        script_load,
        "scripting",
        "Load a script into the scripts cache",
        tips = &["request_policy:all_nodes", "response_policy:all_succeeded"]
    ),
    cmd!(
        "exists",
        "2.6.0",
        -3,
        NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        script_exists,
        "scripting",
        "Check existence of scripts in the script cache.",
        tips = &["request_policy:all_shards", "response_policy:agg_logical_and"]
    ),
    cmd!(
        "flush",
        "2.6.0",
        -2,
        NOSCRIPT,
        SCRIPTING,
        (0, 0, 0),
        script_flush,
        "scripting",
        "Remove all the scripts from the script cache.",
        tips = &["request_policy:all_nodes", "response_policy:all_succeeded"]
    ),
    cmd!(
        "kill",
        "2.6.0",
        2,
        NOSCRIPT | ALLOW_BUSY,
        SCRIPTING,
        (0, 0, 0),
        script_kill,
        "scripting",
        "Kill the script currently in execution.",
        tips = &["request_policy:all_shards", "response_policy:one_succeeded"]
    ),
    cmd!("help", "5.0.0", 2, LOADING | STALE, SCRIPTING, (0, 0, 0), script_help, "scripting", "Show helpful text about the different subcommands"),
];

/* EVAL script numkeys [key ...] [arg ...] */
fn eval(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, false, false)
}

/* EVALSHA sha1 numkeys [key ...] [arg ...] */
fn evalsha(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, true, false)
}

/* EVAL_RO script numkeys [key ...] [arg ...] */
fn eval_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, false, true)
}

/* EVALSHA_RO sha1 numkeys [key ...] [arg ...] */
fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run_script(ctx, args, true, true)
}

/// `numkeys` (parsed as `n`: EVAL and FCALL word a bad number differently), checked as Redis checks it.
pub(crate) fn numkeys(args: &[Bytes], n: i64) -> Result<usize, RedisError> {
    if n < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    if n as usize > args.len() - 3 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    Ok(n as usize)
}

fn run_script(ctx: &mut Ctx<'_>, args: &[Bytes], by_sha: bool, read_only: bool) -> CmdResult {
    // Shown before the commands it runs, as Redis feeds it.
    dispatch::feed_monitors(ctx, args);
    let (keys, argv) = args[3..].split_at(numkeys(args, args::int(&args[2])?)?);
    let server = ctx.server;
    let mut engine = engine(server)?;
    let loaded;
    let sha = if by_sha {
        &args[1][..]
    } else {
        loaded = engine.load(&args[1])?;
        loaded.as_bytes()
    };
    let script = engine.script(sha)?;
    let admitted = match script.flags {
        Some(flags) => admit_flags(ctx, flags, read_only)?,
        None => Admitted { read_only, allow_oom: false },
    };
    as_script(ctx, admitted, |caller, proto, out, busy_after| engine.run(script, (keys, argv), caller, proto, out, busy_after))
}

/// How a script runs once admitted.
#[derive(Clone, Copy)]
pub(crate) struct Admitted {
    /// Its writes are refused.
    pub read_only: bool,
    /// It may grow memory over `maxmemory` (`allow-oom`, or `no-writes`).
    pub allow_oom: bool,
}

/// What a function's or a shebang script's flags refuse before it runs
/// (Redis's scriptPrepareForRun, and the command flags its flags stand for
/// in processCommand). Without `no-writes` it may write, so it is refused
/// where a write would be, by the `*_RO` commands (`ro_command`), and over
/// `maxmemory` unless `allow-oom`.
pub(crate) fn admit_flags(ctx: &Ctx<'_>, flags: u8, ro_command: bool) -> Result<Admitted, RedisError> {
    let writes = flags & script_flags::NO_WRITES == 0;
    let allow_oom = !writes || flags & script_flags::ALLOW_OOM != 0;
    if !allow_oom && ctx.client.oom_at_start {
        return Err(crate::evict::OOM.into());
    }
    if writes && ro_command {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    if let Some(err) = dispatch::refusal_of(ctx.server, ctx.client, writes, flags & script_flags::ALLOW_STALE != 0, false) {
        return Err(err);
    }
    Ok(Admitted { read_only: ro_command || !writes, allow_oom })
}

/// Runs a script or a function (`run`) with Redis's checks on the commands
/// it calls (`read_only`: writes refused). The script's SELECT and protocol
/// are its own; the caller's are restored after it.
pub(crate) fn as_script(
    ctx: &mut Ctx<'_>,
    admitted: Admitted,
    run: impl FnOnce(&mut dyn Caller, Protocol, &mut BytesMut, Duration) -> Result<(), String>,
) -> CmdResult {
    let (db, proto) = (ctx.client.db, ctx.data.proto);
    let busy_after = Duration::from_millis(ctx.server.config.read().busy_reply_threshold);
    let mut reply = BytesMut::new();
    ctx.client.in_script = true;
    let result =
        std::panic::catch_unwind(AssertUnwindSafe(|| run(&mut ScriptCaller { ctx: &mut *ctx, admitted, wrote: false }, proto, &mut reply, busy_after)));
    ctx.client.in_script = false;
    ctx.client.select(db);
    ctx.set_proto(proto);
    // A panic goes on to the command's guard, the client's state restored.
    let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    result?;
    ctx.data.out.extend_from_slice(&reply);
    Ok(())
}

/// The VM, made on first use (a node that never scripts never pays for it).
fn engine(server: &Server) -> Result<MappedMutexGuard<'_, Engine>, RedisError> {
    made_on_first_use(&server.scripts, || Engine::new(server.script_watchdog.clone()))
}

/// The VM in `slot`, made on first use.
pub(crate) fn made_on_first_use<T, E: std::fmt::Display>(
    slot: &Mutex<Option<T>>,
    make: impl FnOnce() -> Result<T, E>,
) -> Result<MappedMutexGuard<'_, T>, RedisError> {
    let mut guard = slot.lock();
    if guard.is_none() {
        *guard = Some(make().map_err(|e| RedisError::from(format!("ERR {e}")))?);
    }
    Ok(MutexGuard::map(guard, |g| g.as_mut().expect("made above")))
}

/// Runs the commands a script calls, with Redis's checks for scripts.
struct ScriptCaller<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    admitted: Admitted,
    /// A write command has run (Redis's SCRIPT_WRITE_DIRTY): from then on
    /// the script is not stopped for memory, or it would be half done.
    wrote: bool,
}

impl Caller for ScriptCaller<'_, '_> {
    fn call(&mut self, args: Vec<Bytes>, proto: Protocol, repl: u8) -> Result<Frame, String> {
        let ctx = &mut *self.ctx;
        let server = ctx.server;
        let entry = match dispatch::resolve(server, &args) {
            Ok(e) => e,
            Err((None, _)) => return Err("ERR Unknown Redis command called from script".into()),
            Err((Some(_), _)) => return Err("ERR Wrong number of args calling Redis command from script".into()),
        };
        if entry.spec.has(NOSCRIPT) {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        if let Err(denied) = crate::acl::check(server, ctx.client, entry, &args) {
            return Err(format!("ERR {}", crate::acl::script_error(server, ctx.client, entry, &args, denied)));
        }
        if self.admitted.read_only && entry.spec.has(WRITE) {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        if let Some(err) = dispatch::refusal(server, ctx.client, entry) {
            return Err(err.0.into_owned());
        }
        if entry.spec.has(DENYOOM) && ctx.client.oom_at_start && !self.admitted.allow_oom && !self.wrote {
            return Err(crate::evict::OOM.into());
        }
        if entry.spec.has(WRITE) {
            self.wrote = true;
            server.script_watchdog.wrote();
        }
        let saved = ctx.data.proto;
        ctx.set_proto(proto);
        let (mark, logged) = (ctx.data.out.len(), ctx.data.effects.cmds.len());
        dispatch::run(ctx, entry, &args);
        if repl == repl::NONE {
            ctx.data.effects.cmds.truncate(logged);
        }
        let frame = Frame::parse(&ctx.data.out[mark..]);
        ctx.data.out.truncate(mark);
        ctx.set_proto(saved);
        match frame {
            Ok(Some((frame, _))) => Ok(frame),
            _ => Err("ERR the command's reply could not be read back".into()),
        }
    }

    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool> {
        let server = self.ctx.server;
        // A wrong number of arguments still names a command, as Redis's lookupCommand.
        let entry = dispatch::resolve(server, args).map_or_else(|(entry, _)| entry, Some)?;
        Some(crate::acl::check(server, self.ctx.client, entry, args).is_ok())
    }
}

/* SCRIPT LOAD script */
fn script_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sha = engine(ctx.server)?.load(&args[2])?;
    ctx.bulk(sha.as_bytes());
    Ok(())
}

/* SCRIPT EXISTS sha1 [sha1 ...] */
fn script_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found: Vec<bool> = {
        let engine = ctx.server.scripts.lock();
        args[2..].iter().map(|sha| engine.as_ref().is_some_and(|e| e.exists(sha))).collect()
    };
    ctx.array(found.len());
    for f in found {
        ctx.int(f as i64);
    }
    Ok(())
}

/* SCRIPT FLUSH [ASYNC|SYNC] */
fn script_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.get(2) {
        None => {}
        Some(mode) if args.len() == 3 && (args::is(mode, "sync") || args::is(mode, "async")) => {}
        Some(_) => return Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option".into()),
    }
    // A new VM on next use, as Redis makes one on SCRIPT FLUSH.
    *ctx.server.scripts.lock() = None;
    ctx.ok()
}

/* SCRIPT KILL */
fn script_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    // While a script is busy dispatch answers this before the keyspace
    // (which the script holds); here no script is running.
    kill_reply(ctx.server, false)?;
    ctx.ok()
}

/// SCRIPT KILL's (`function` false) or FUNCTION KILL's outcome, as Redis
/// words it.
pub fn kill_reply(server: &Server, function: bool) -> Result<(), RedisError> {
    match server.script_watchdog.kill(function) {
        Ok(()) => Ok(()),
        Err(KillError::NotBusy) => Err("NOTBUSY No scripts in execution right now.".into()),
        Err(KillError::Unkillable) => Err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into()),
        Err(KillError::WrongKind) => Err(busy_error(server)),
    }
}

/// What other clients get while a script is busy: the KILL that stops it
/// depends on its kind.
pub fn busy_error(server: &Server) -> RedisError {
    if server.script_watchdog.running_function() {
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.".into()
    } else {
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.".into()
    }
}

/* SCRIPT HELP */
fn script_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ])
}
