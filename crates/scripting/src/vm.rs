//! One Lua VM with Redis's environment, and running a script or a function
//! in it. EVAL's scripts and FUNCTION's libraries each get one, as in Redis.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use mlua::{ffi, Function, Lua, LuaOptions, MultiValue, RegistryKey, StdLib, Table, Value};

use crate::current::RunFlags;
use crate::functions::{self, Pending};
use crate::{convert, current, libs, log, repl, sha1_hex, trampoline, Caller, EngineError, Watchdog, REDIS_VERSION, REDIS_VERSION_NUM};

/// What runs, for the watchdog and for error messages (`script: <name>,
/// on @<source>:<line>.`).
pub(crate) struct Run<'a> {
    pub name: &'a str,
    pub source: &'static str,
    /// The command that runs a function (FUNCTION STATS shows it).
    pub command: Option<&'a [Bytes]>,
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    /// A function gets KEYS and ARGV as its two arguments; a script as
    /// globals.
    pub function: bool,
}

pub(crate) struct Vm {
    pub lua: Lua,
    env: Table,
    /// The prelude's `run`, pinned so a run pushes it by its index.
    run: RegistryKey,
    run_library: Function,
    set_loading: Function,
    flags: Arc<RunFlags>,
    watchdog: Arc<Watchdog>,
    clock: Arc<RunClock>,
}

/// A script's run as the watchdog and the clock see it, from start to drop.
struct Running<'v>(&'v Vm);

impl<'v> Running<'v> {
    fn start(vm: &'v Vm, function: bool, busy_after: Duration) -> Self {
        vm.watchdog.start(function);
        vm.clock.start(busy_after, Limit::Busy);
        Running(vm)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.clock.stop();
        self.0.watchdog.finish();
    }
}

impl Vm {
    /// A VM whose scripts report to `watchdog` (busy, killed).
    /// With `registering` (FUNCTION's VM), `redis.register_function` is
    /// available while a library loads and collects into it.
    pub fn new(watchdog: Arc<Watchdog>, registering: Option<Pending>) -> Result<Vm, EngineError> {
        // SAFETY: `debug` is loaded only for the prelude's error handler
        // (Redis's does the same); scripts run in an environment without it.
        let lua = unsafe { Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::default()) };
        let flags = Arc::new(RunFlags::default());
        let sha1hex = lua.create_function(|_, s: mlua::String| Ok(sha1_hex(&s.as_bytes())))?;
        let log_impl = lua.create_function(|lua, args: MultiValue| match log(&args) {
            Ok(()) => Ok((Value::Nil, Value::Nil)),
            Err(msg) => Ok((Value::Nil, convert::error_value(lua, msg)?)),
        })?;
        lua.set_named_registry_value(trampoline::key(trampoline::LOG), log_impl)?;
        register_run_state(&lua, &flags)?;
        let acl_check_impl = lua.create_function(|lua, args: MultiValue| {
            let argv: Option<Vec<Bytes>> = args.iter().map(|v| convert::text(v).map(Bytes::from)).collect();
            let allowed = argv.filter(|a| !a.is_empty()).and_then(|argv| current::with(|caller, _| caller.acl_check(&argv)).flatten());
            match allowed {
                Some(allowed) => Ok((Value::Boolean(allowed), Value::Nil)),
                None => Ok((Value::Nil, convert::error_value(lua, "ERR Invalid command passed to redis.acl_check_cmd()")?)),
            }
        })?;
        lua.set_named_registry_value(trampoline::key(trampoline::ACL_CHECK), acl_check_impl)?;
        let register = match registering {
            Some(pending) => {
                let f = functions::register_function(&lua, pending)?;
                lua.set_named_registry_value(trampoline::key(trampoline::REGISTER_FUNCTION), f)?;
                // SAFETY: a plain lua_CFunction that only uses the Lua API.
                Value::Function(unsafe { lua.create_c_function(trampoline::register_function)? })
            }
            None => Value::Nil,
        };
        // SAFETY: plain lua_CFunctions that only use the Lua API.
        let (call, pcall, acl_check, setresp, set_repl, log) = unsafe {
            (
                lua.create_c_function(trampoline::call)?,
                lua.create_c_function(trampoline::pcall)?,
                lua.create_c_function(trampoline::acl_check)?,
                lua.create_c_function(trampoline::setresp)?,
                lua.create_c_function(trampoline::set_repl)?,
                lua.create_c_function(trampoline::redis_log)?,
            )
        };
        let (cjson, bit) = (libs::cjson(&lua)?, libs::bit(&lua)?);
        let libs = lua.create_sequence_from([cjson, bit, libs::cmsgpack(&lua)?, libs::structs(&lua)?])?;
        let prelude = lua.load(include_str!("prelude.lua")).set_name("=ferrokv").into_function()?;
        let (run, env, run_library, set_loading): (Function, Table, Function, Function) =
            prelude.call((call, pcall, acl_check, sha1hex, log, setresp, set_repl, REDIS_VERSION, REDIS_VERSION_NUM, libs, register))?;
        // Nothing but the prelude's environment is reachable from scripts.
        let clock = Arc::new(RunClock::default());
        watch(&lua, &watchdog, &clock);
        let run = lua.create_registry_value(run)?;
        Ok(Vm { lua, env, run, run_library, set_loading, flags, watchdog, clock })
    }

    /// Compiles a script or a library in the scripts' environment.
    pub fn compile(&self, body: &[u8], chunk: &str) -> mlua::Result<Function> {
        self.lua.load(body).set_name(chunk).set_environment(self.env.clone()).into_function()
    }

    /// Runs `f`; encodes its reply for a client speaking `proto` into
    /// `out`, or returns the error reply (without the leading `-`).
    /// `busy_after` is `busy-reply-threshold` (zero: never busy); while
    /// busy, the watchdog can kill the script.
    pub fn run(
        &self,
        f: &RegistryKey,
        what: Run<'_>,
        caller: &mut dyn Caller,
        proto: Protocol,
        out: &mut BytesMut,
        busy_after: Duration,
    ) -> Result<(), String> {
        self.flags.set_resp(2);
        self.flags.set_repl(repl::ALL);
        let mut converted = None;
        let outcome = {
            // Ended when dropped, so a panic (a defect, caught by the
            // command's guard) does not leave the node "running a script".
            let _running = Running::start(self, what.function, busy_after);
            self.invoke(f, &what, caller, |state, flags| {
                // SAFETY: `state` holds the script's result on top of its stack.
                converted = Some(unsafe { crate::reply::encode(state, proto, flags.resp() == 3, out) });
            })
        };
        let killed_at = self.clock.stopped_at.swap(0, Ordering::AcqRel);
        let (name, source) = (what.name, what.source);
        if killed_at != 0 {
            return Err(format!("ERR Script killed by user with SCRIPT KILL... script: {name}, on {source}:{killed_at}."));
        }
        let error = outcome.map_err(|e| format!("ERR Error running script {name}: {}", lua_message(&e)))?;
        match converted {
            Some(result) => result,
            None => Err(convert::script_error(&error.into_iter().next().unwrap_or(Value::Nil), name)),
        }
    }

    /// Calls the script with KEYS and ARGV, in one call into the VM (its
    /// arguments made and its result read on the Lua stack: going through
    /// mlua values was a sixth of a short script's CPU); `redis.call`,
    /// `redis.pcall` and `redis.acl_check_cmd` reach `caller` meanwhile.
    /// On success `reply` encodes the result and nothing is returned;
    /// otherwise the error value is.
    fn invoke(&self, f: &RegistryKey, what: &Run<'_>, caller: &mut dyn Caller, reply: impl FnOnce(*mut ffi::lua_State, &RunFlags)) -> mlua::Result<MultiValue> {
        let _running = current::Running::new(caller, &self.flags, what.command.map(|command| (what.name, command)));
        let flags = &self.flags;
        // SAFETY: the closure only uses the Lua API, on its own stack, in
        // protected mode; both keys belong to this VM.
        unsafe {
            self.lua.exec_raw((), |state| {
                ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::lua_Integer::from(self.run.id()));
                ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::lua_Integer::from(f.id()));
                push_strings(state, what.keys);
                push_strings(state, what.argv);
                ffi::lua_pushboolean(state, i32::from(what.function));
                ffi::lua_call(state, 4, 2);
                if ffi::lua_toboolean(state, -2) != 0 {
                    reply(state, flags);
                    ffi::lua_settop(state, 0);
                } else {
                    ffi::lua_remove(state, -2);
                }
            })
        }
    }

    /// Runs a library's code in the loading environment (only `redis`
    /// with `register_function`, `log` and the version), stopped after
    /// `timeout` (zero: never); returns the error's message.
    pub fn load_library(&self, f: Function, timeout: Duration) -> Result<(), String> {
        self.set_loading.call::<()>(true).map_err(|e| lua_message(&e))?;
        self.clock.start(timeout, Limit::Load);
        let outcome = self.run_library.call::<MultiValue>(f);
        self.clock.stop();
        let timed_out = self.clock.stopped_at.swap(0, Ordering::AcqRel) != 0;
        let _ = self.set_loading.call::<()>(false);
        if timed_out {
            return Err("ERR FUNCTION LOAD timeout".into());
        }
        let mut values = outcome.map_err(|e| format!("ERR {}", lua_message(&e)))?.into_iter();
        if matches!(values.next(), Some(Value::Boolean(true))) {
            return Ok(());
        }
        Err(convert::error_message(&values.next().unwrap_or(Value::Nil)))
    }

    /// Bytes the VM uses (INFO's used_memory_vm_*).
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// `redis.setresp` and `redis.set_repl`, behind their C trampolines.
fn register_run_state(lua: &Lua, flags: &Arc<RunFlags>) -> mlua::Result<()> {
    let f = flags.clone();
    let setresp = lua.create_function(move |lua, v: Value| {
        let version = convert::integer(&v).filter(|v| *v == 2 || *v == 3);
        let Some(version) = version else { return Ok((Value::Nil, convert::error_value(lua, "ERR RESP version must be 2 or 3.")?)) };
        f.set_resp(version as u8);
        Ok((Value::Nil, Value::Nil))
    })?;
    lua.set_named_registry_value(trampoline::key(trampoline::SETRESP), setresp)?;
    let f = flags.clone();
    let set_repl = lua.create_function(move |lua, v: Value| {
        let flags = convert::integer(&v).filter(|v| (0..=3).contains(v));
        let Some(flags) = flags else {
            return Ok((Value::Nil, convert::error_value(lua, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")?));
        };
        f.set_repl(flags as u8);
        Ok((Value::Nil, Value::Nil))
    })?;
    lua.set_named_registry_value(trampoline::key(trampoline::SET_REPL), set_repl)
}

/// A table of `items` as Lua strings, on top of the stack.
unsafe fn push_strings(state: *mut ffi::lua_State, items: &[Bytes]) {
    ffi::lua_createtable(state, items.len().min(i32::MAX as usize) as i32, 0);
    for (i, item) in items.iter().enumerate() {
        ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
        ffi::lua_rawseti(state, -2, (i + 1) as ffi::lua_Integer);
    }
}

/// What the clock limits: a run turns busy after the threshold; a
/// library's load is stopped at its timeout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Limit {
    Busy,
    Load,
}

/// When the running code started, read by the VM's hook.
#[derive(Default)]
struct RunClock {
    started: parking_lot::Mutex<Option<(Instant, Duration, Limit)>>,
    /// The line a killed script stopped at (0: not stopped).
    stopped_at: AtomicI64,
}

impl RunClock {
    fn start(&self, after: Duration, limit: Limit) {
        *self.started.lock() = (!after.is_zero()).then(|| (Instant::now(), after, limit));
    }

    fn stop(&self) {
        *self.started.lock() = None;
    }
}

/// The VM's hook, every 100k instructions: past `busy-reply-threshold` the
/// script is busy; once killed it stops, recording where. A library's load
/// stops at its timeout.
fn watch(lua: &Lua, watchdog: &Arc<Watchdog>, clock: &Arc<RunClock>) {
    let (watchdog, clock) = (watchdog.clone(), clock.clone());
    lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), move |_, debug| {
        let Some((started, after, limit)) = *clock.started.lock() else { return Ok(mlua::VmState::Continue) };
        let stop = |clock: &RunClock| {
            clock.stopped_at.store(i64::from(debug.curr_line().max(1)), Ordering::Release);
            Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."))
        };
        if limit == Limit::Load {
            return if started.elapsed() > after { stop(&clock) } else { Ok(mlua::VmState::Continue) };
        }
        if !watchdog.busy() && started.elapsed() >= after {
            tracing::warn!("Slow script detected: still in execution after {} milliseconds.", started.elapsed().as_millis());
            watchdog.turn_busy(started.elapsed());
        }
        if watchdog.killed() {
            return stop(&clock);
        }
        Ok(mlua::VmState::Continue)
    });
}

/// The message of a Lua error, without mlua's decoration.
pub(crate) fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        other => other.to_string(),
    }
}
