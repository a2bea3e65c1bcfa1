//! Lua scripting as Redis 7.0 runs it (EVAL, EVALSHA, SCRIPT): a Lua 5.1
//! VM (as Redis embeds) with Redis's globals, all read-only; the script
//! cache, keyed by SHA1; the `redis` library; and the conversions between
//! Lua values and RESP, both ways, as Redis does them.
//!
//! Invariant: knows nothing of the node. Commands are run through the
//! [`Caller`] the node passes to [`Engine::run`], so a script reaches the
//! keyspace the same way every other caller does, under the gate the node
//! already holds.

mod convert;
mod current;
mod libs;
mod trampoline;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{Frame, Protocol};
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

/// What the node does for a script.
pub trait Caller {
    /// Runs one command, replying in `proto`. Err is an error the script
    /// raises before the command runs (unknown command, wrong arity, not
    /// allowed from scripts…), as Redis's text without the leading `-`; a
    /// command's own error reply comes back as `Ok(Frame::Error)`.
    /// `repl` is where its effects go, as `redis.set_repl` last said.
    fn call(&mut self, args: Vec<Bytes>, proto: Protocol, repl: u8) -> Result<Frame, String>;
    /// Whether the command exists (redis.acl_check_cmd).
    fn exists(&self, name: &[u8]) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Lua: {0}")]
    Lua(#[from] mlua::Error),
}

/// What other clients see of the running script: whether one holds the
/// keyspace, whether it has run past `busy-reply-threshold` (they get
/// -BUSY), whether SCRIPT KILL asked it to stop, and whether it wrote
/// (then it cannot be killed). Shared with the node outside the engine's
/// lock, so a connection reads it while a script runs, in one load.
#[derive(Debug, Default)]
pub struct Watchdog {
    /// Called (on the script's thread) when a script turns busy: the node
    /// hands that thread's work to others so connections are still read.
    on_busy: Option<fn()>,
    state: AtomicU8,
    kill: AtomicBool,
    wrote: AtomicBool,
    /// Wakes the commands waiting for the script to end or turn busy.
    changed: (parking_lot::Mutex<()>, parking_lot::Condvar),
}

/// Watchdog states.
const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const BUSY: u8 = 2;

/// Why SCRIPT KILL did not kill.
#[derive(Debug, PartialEq, Eq)]
pub enum KillError {
    NotBusy,
    Unkillable,
}

impl Watchdog {
    pub fn new(on_busy: fn()) -> Watchdog {
        Watchdog { on_busy: Some(on_busy), ..Default::default() }
    }

    pub fn busy(&self) -> bool {
        self.state.load(Ordering::Acquire) == BUSY
    }

    /// A script holds the keyspace (busy or not yet).
    pub fn running(&self) -> bool {
        self.state.load(Ordering::Acquire) != IDLE
    }

    /// The running script called a write command.
    pub fn wrote(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// SCRIPT KILL: stops a busy script that has not written.
    pub fn kill(&self) -> Result<(), KillError> {
        if !self.busy() {
            return Err(KillError::NotBusy);
        }
        if self.wrote.load(Ordering::Relaxed) {
            return Err(KillError::Unkillable);
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }

    /// Blocks until no script runs (true) or, unless `to_the_end`, until
    /// the running one turns busy (false).
    pub fn wait(&self, to_the_end: bool) -> bool {
        let (lock, changed) = &self.changed;
        let mut guard = lock.lock();
        loop {
            match self.state.load(Ordering::Acquire) {
                IDLE => return true,
                BUSY if !to_the_end => return false,
                // Bounded, so a missed wake-up costs a poll, not a hang.
                _ => _ = changed.wait_for(&mut guard, Duration::from_millis(100)),
            }
        }
    }

    fn start(&self) {
        self.kill.store(false, Ordering::Release);
        self.wrote.store(false, Ordering::Relaxed);
        self.state.store(RUNNING, Ordering::Release);
    }

    fn set(&self, state: u8) {
        let _guard = self.changed.0.lock();
        self.state.store(state, Ordering::Release);
        self.changed.1.notify_all();
    }
}

/// Which sinks a script's effects go to (`redis.set_repl`).
pub mod repl {
    pub const NONE: u8 = 0;
    pub const AOF: u8 = 1;
    pub const REPLICA: u8 = 2;
    pub const ALL: u8 = 3;
}

/// The state `redis.setresp` and `redis.set_repl` change during a run.
#[derive(Default)]
struct RunFlags {
    resp: AtomicU8,
    repl: AtomicU8,
}

/// A Lua VM and the scripts loaded into it.
pub struct Engine {
    lua: Lua,
    env: Table,
    run: Function,
    set_args: Function,
    flags: Arc<RunFlags>,
    /// Compiled scripts by SHA1 (Redis keeps them as `f_<sha>` globals).
    scripts: HashMap<String, Function>,
    watchdog: Arc<Watchdog>,
    /// When the running script started, for the busy check.
    clock: Arc<RunClock>,
    /// Bytes of script source held (INFO's used_memory_scripts_eval).
    source_bytes: usize,
}

/// The Redis version scripts see (`redis.REDIS_VERSION`).
pub const REDIS_VERSION: &str = "7.0.15";
const REDIS_VERSION_NUM: i64 = 0x07000f;

impl Engine {
    /// A VM whose scripts report to `watchdog` (busy, killed).
    pub fn new(watchdog: Arc<Watchdog>) -> Result<Engine, EngineError> {
        // SAFETY: `debug` is loaded only for the prelude's error handler
        // (Redis's does the same); scripts run in an environment without it.
        let lua = unsafe { Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::default()) };
        let flags = Arc::new(RunFlags::default());
        let sha1hex = lua.create_function(|_, s: mlua::String| Ok(sha1_hex(&s.as_bytes())))?;
        let log = lua.create_function(|_, args: MultiValue| {
            log(&args);
            Ok(())
        })?;
        let f = flags.clone();
        let setresp = lua.create_function(move |lua, v: Value| {
            let version = convert::integer(&v).filter(|v| *v == 2 || *v == 3);
            let Some(version) = version else { return Ok((Value::Nil, convert::error_value(lua, "ERR RESP version must be 2 or 3.")?)) };
            f.resp.store(version as u8, Ordering::Relaxed);
            Ok((Value::Nil, Value::Nil))
        })?;
        lua.set_named_registry_value(trampoline::key(trampoline::SETRESP), setresp)?;
        let f = flags.clone();
        let set_repl = lua.create_function(move |lua, v: Value| {
            let flags = convert::integer(&v).filter(|v| (0..=3).contains(v));
            let Some(flags) = flags else {
                return Ok((Value::Nil, convert::error_value(lua, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")?));
            };
            f.repl.store(flags as u8, Ordering::Relaxed);
            Ok((Value::Nil, Value::Nil))
        })?;
        lua.set_named_registry_value(trampoline::key(trampoline::SET_REPL), set_repl)?;
        // SAFETY: plain lua_CFunctions that only use the Lua API.
        let (setresp, set_repl) = unsafe { (lua.create_c_function(trampoline::setresp)?, lua.create_c_function(trampoline::set_repl)?) };
        let flags_for_call = flags.clone();
        let call_impl = lua.create_function(move |lua, args: MultiValue| {
            let resp = if flags_for_call.resp.load(Ordering::Relaxed) == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
            let repl = flags_for_call.repl.load(Ordering::Relaxed);
            match current::with(|caller| convert::call(lua, caller, args, resp, repl)) {
                Some(result) => result,
                None => Ok((convert::error_value(lua, "ERR redis.call is only available while a script runs")?, true)),
            }
        })?;
        lua.set_named_registry_value(trampoline::key(trampoline::CURRENT), call_impl)?;
        let acl_check_impl = lua.create_function(|lua, args: MultiValue| {
            let known = match args.front() {
                Some(Value::String(name)) => current::with(|caller| caller.exists(&name.as_bytes())).unwrap_or(false),
                _ => false,
            };
            if known {
                return Ok((Value::Boolean(true), Value::Nil));
            }
            Ok((Value::Nil, convert::error_value(lua, "ERR Invalid command passed to redis.acl_check_cmd()")?))
        })?;
        lua.set_named_registry_value(trampoline::key(trampoline::ACL_CHECK), acl_check_impl)?;
        // SAFETY: plain lua_CFunctions that only use the Lua API.
        let (call, pcall, acl_check) =
            unsafe { (lua.create_c_function(trampoline::call)?, lua.create_c_function(trampoline::pcall)?, lua.create_c_function(trampoline::acl_check)?) };
        let cjson = libs::cjson(&lua)?;
        let bit = libs::bit(&lua)?;
        let prelude = lua.load(include_str!("prelude.lua")).set_name("=ferrokv").into_function()?;
        let (run, env, set_args): (Function, Table, Function) =
            prelude.call((call, pcall, acl_check, sha1hex, log, setresp, set_repl, REDIS_VERSION, REDIS_VERSION_NUM, cjson, bit))?;
        // Nothing but the prelude's environment is reachable from scripts.
        let clock = Arc::new(RunClock::default());
        watch(&lua, &watchdog, &clock);
        Ok(Engine { lua, env, run, set_args, flags, scripts: HashMap::new(), watchdog, clock, source_bytes: 0 })
    }

    /// Compiles `body` into the cache (SCRIPT LOAD, and EVAL's first step);
    /// returns its SHA1, or Redis's compile error.
    pub fn load(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let f = self
            .lua
            .load(body)
            .set_name("@user_script")
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| format!("ERR Error compiling script (new function): {}", lua_message(&e)))?;
        self.source_bytes += body.len();
        self.scripts.insert(sha.clone(), f);
        Ok(sha)
    }

    pub fn exists(&self, sha: &str) -> bool {
        self.scripts.contains_key(&sha.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// Bytes the VM uses (INFO's used_memory_lua / used_memory_vm_eval).
    pub fn vm_memory(&self) -> usize {
        self.lua.used_memory()
    }

    pub fn source_bytes(&self) -> usize {
        self.source_bytes
    }

    /// Runs the cached script `sha` with KEYS and ARGV; encodes its
    /// reply for a client speaking `proto` into `out`, or returns the error
    /// reply (without the leading `-`). `busy_after` is
    /// `busy-reply-threshold` (zero: never busy); while busy, the
    /// watchdog can kill the script.
    pub fn run(
        &mut self,
        sha: &str,
        (keys, argv): (&[Bytes], &[Bytes]),
        caller: &mut dyn Caller,
        proto: Protocol,
        out: &mut BytesMut,
        busy_after: Duration,
    ) -> Result<(), String> {
        let sha = sha.to_ascii_lowercase();
        let Some(f) = self.scripts.get(&sha).cloned() else {
            return Err("NOSCRIPT No matching script. Please use EVAL.".into());
        };
        self.flags.resp.store(2, Ordering::Relaxed);
        self.flags.repl.store(repl::ALL, Ordering::Relaxed);
        self.watchdog.start();
        self.clock.start(busy_after);
        let outcome = self.invoke(f, keys, argv, caller);
        let killed_at = self.clock.killed_at.swap(0, Ordering::AcqRel);
        self.watchdog.set(IDLE);
        if killed_at != 0 {
            return Err(format!("ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:{killed_at}."));
        }
        let mut values = outcome.map_err(|e| format!("ERR Error running script {sha}: {}", lua_message(&e)))?.into_iter();
        let ok = matches!(values.next(), Some(Value::Boolean(true)));
        let value = values.next().unwrap_or(Value::Nil);
        if !ok {
            return Err(convert::script_error(&value, &sha));
        }
        let script_resp3 = self.flags.resp.load(Ordering::Relaxed) == 3;
        convert::reply(&value, proto, script_resp3, out, 0)
    }

    /// Calls the script with KEYS and ARGV set; `redis.call`, `redis.pcall`
    /// and `redis.acl_check_cmd` reach `caller` meanwhile.
    fn invoke(&self, f: Function, keys: &[Bytes], argv: &[Bytes], caller: &mut dyn Caller) -> mlua::Result<MultiValue> {
        self.set_args.call::<()>((convert::strings(&self.lua, keys)?, convert::strings(&self.lua, argv)?))?;
        let _running = current::Running::new(caller);
        self.run.call::<MultiValue>(f)
    }
}

/// When the running script started and when it turns busy, read by the
/// VM's hook.
#[derive(Default)]
struct RunClock {
    started: parking_lot::Mutex<Option<(Instant, Duration)>>,
    /// The line a killed script stopped at (0: not killed).
    killed_at: std::sync::atomic::AtomicI64,
}

impl RunClock {
    fn start(&self, busy_after: Duration) {
        *self.started.lock() = (!busy_after.is_zero()).then(|| (Instant::now(), busy_after));
    }
}

/// The VM's hook, every 100k instructions: past `busy-reply-threshold` the
/// script is busy; once killed it stops, recording where.
fn watch(lua: &Lua, watchdog: &Arc<Watchdog>, clock: &Arc<RunClock>) {
    let (watchdog, clock) = (watchdog.clone(), clock.clone());
    lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), move |_, debug| {
        let Some((started, busy_after)) = *clock.started.lock() else { return Ok(mlua::VmState::Continue) };
        if !watchdog.busy() && started.elapsed() >= busy_after {
            tracing::warn!("Slow script detected: still in execution after {} milliseconds.", started.elapsed().as_millis());
            if let Some(hand_off) = watchdog.on_busy {
                hand_off();
            }
            watchdog.set(BUSY);
        }
        if watchdog.kill.load(Ordering::Acquire) {
            clock.killed_at.store(i64::from(debug.curr_line().max(1)), Ordering::Release);
            return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
        }
        Ok(mlua::VmState::Continue)
    });
}

pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut s = String::with_capacity(40);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The message of a Lua error, without mlua's decoration.
fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        other => other.to_string(),
    }
}

fn log(args: &MultiValue) {
    let mut it = args.iter();
    let level = match it.next() {
        Some(Value::Integer(n)) => *n,
        Some(Value::Number(n)) => *n as i64,
        _ => 3,
    };
    let msg: Vec<String> = it.map(|v| v.to_string().unwrap_or_default()).collect();
    let msg = msg.join(" ");
    match level {
        0 => tracing::debug!("{msg}"),
        1 => tracing::debug!("{msg}"),
        2 => tracing::info!("{msg}"),
        _ => tracing::warn!("{msg}"),
    }
}
