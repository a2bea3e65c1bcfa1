//! Lua scripting as Redis 7.0 runs it: EVAL's script cache and FUNCTION's
//! libraries, each in a Lua 5.1 VM (as Redis embeds) with Redis's globals,
//! all read-only; the `redis` library; and the conversions between Lua
//! values and RESP, both ways, as Redis does them.
//!
//! Invariant: knows nothing of the node. Commands are run through the
//! [`Caller`] the node passes to a run, so a script reaches the keyspace
//! the same way every other caller does, under the gate the node already
//! holds.

mod call;
mod convert;
mod current;
mod eval;
mod functions;
mod libs;
mod reply;
mod trampoline;
mod vm;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrokv_resp::Frame;
use ferrokv_resp::Protocol;
use mlua::{MultiValue, Value};

pub use eval::{Engine, Script};
pub use functions::{flags as script_flags, FunctionCounts, FunctionDef, Functions, Library, RestorePolicy};

/// What the node does for a script.
pub trait Caller {
    /// Runs one command, replying in `proto`. Err is an error the script
    /// raises before the command runs (unknown command, wrong arity, not
    /// allowed from scripts…), as Redis's text without the leading `-`; a
    /// command's own error reply comes back as `Ok(Frame::Error)`.
    /// `repl` is where its effects go, as `redis.set_repl` last said.
    fn call(&mut self, args: Vec<Bytes>, proto: Protocol, repl: u8) -> Result<Frame, String>;
    /// redis.acl_check_cmd: whether the script's user may run this command
    /// line; None when it names no command.
    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool>;
}

/// What other clients see of the running script: whether one holds the
/// keyspace, whether it has run past `busy-reply-threshold` (they get
/// -BUSY), whether it is a function or an EVAL script, whether SCRIPT KILL
/// or FUNCTION KILL asked it to stop, and whether it wrote (then it cannot
/// be killed). Shared with the node outside the engines' locks, so a
/// connection reads it while a script runs, in one load.
#[derive(Debug, Default)]
pub struct Watchdog {
    /// Called (on the script's thread) when a script turns busy: the node
    /// hands that thread's work to others so connections are still read.
    on_busy: Option<fn()>,
    state: AtomicU8,
    function: AtomicBool,
    kill: AtomicBool,
    wrote: AtomicBool,
    /// Wakes the commands waiting for the script to end or turn busy;
    /// `waiting` counts them, so a run with nobody waiting takes no lock.
    changed: (parking_lot::Mutex<()>, parking_lot::Condvar),
    waiting: std::sync::atomic::AtomicUsize,
    /// The running function and the command that called it (FUNCTION STATS).
    current: parking_lot::Mutex<Option<RunningFunction>>,
}

/// Watchdog states.
const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const BUSY: u8 = 2;

/// A function in execution, as FUNCTION STATS shows it.
#[derive(Debug, Clone)]
pub struct RunningFunction {
    pub name: String,
    pub command: Vec<Bytes>,
    pub started: Instant,
}

/// Why SCRIPT KILL or FUNCTION KILL did not kill.
#[derive(Debug, PartialEq, Eq)]
pub enum KillError {
    NotBusy,
    Unkillable,
    /// SCRIPT KILL of a function, FUNCTION KILL of an EVAL script: the
    /// caller gets the running kind's -BUSY.
    WrongKind,
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

    /// The running script is a function (FCALL), not an EVAL script.
    pub fn running_function(&self) -> bool {
        self.function.load(Ordering::Acquire)
    }

    /// What FUNCTION STATS shows of the running function.
    pub fn current_function(&self) -> Option<RunningFunction> {
        self.current.lock().clone()
    }

    /// The running script called a write command.
    pub fn wrote(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// SCRIPT KILL (`function` false) or FUNCTION KILL: stops a busy
    /// script of that kind that has not written.
    pub fn kill(&self, function: bool) -> Result<(), KillError> {
        if !self.busy() {
            return Err(KillError::NotBusy);
        }
        if self.wrote.load(Ordering::Relaxed) {
            return Err(KillError::Unkillable);
        }
        if self.running_function() != function {
            return Err(KillError::WrongKind);
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }

    /// Blocks until no script runs (true) or, unless `to_the_end`, until
    /// the running one turns busy (false).
    pub fn wait(&self, to_the_end: bool) -> bool {
        let (lock, changed) = &self.changed;
        // Counted before the state is read (both SeqCst): a `set` either
        // sees this waiter and notifies under the lock, or stored its state
        // before the read below.
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = lock.lock();
        let ended = loop {
            match self.state.load(Ordering::SeqCst) {
                IDLE => break true,
                BUSY if !to_the_end => break false,
                // Bounded, so a missed wake-up costs a poll, not a hang.
                _ => _ = changed.wait_for(&mut guard, Duration::from_millis(100)),
            }
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        ended
    }

    fn start(&self, function: bool) {
        self.kill.store(false, Ordering::Release);
        self.wrote.store(false, Ordering::Relaxed);
        self.function.store(function, Ordering::Release);
        self.state.store(RUNNING, Ordering::Release);
    }

    /// Past the threshold: FUNCTION STATS shows the running function
    /// (started `elapsed` ago) from now on, and other clients get -BUSY.
    fn turn_busy(&self, elapsed: Duration) {
        if let Some((name, command)) = current::command() {
            let started = Instant::now().checked_sub(elapsed).unwrap_or_else(Instant::now);
            *self.current.lock() = Some(RunningFunction { name, command, started });
        }
        if let Some(hand_off) = self.on_busy {
            hand_off();
        }
        self.set(BUSY);
    }

    fn killed(&self) -> bool {
        self.kill.load(Ordering::Acquire)
    }

    fn finish(&self) {
        if self.busy() && self.function.load(Ordering::Relaxed) {
            *self.current.lock() = None;
        }
        self.set(IDLE);
    }

    fn set(&self, state: u8) {
        self.state.store(state, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _guard = self.changed.0.lock();
            self.changed.1.notify_all();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Lua: {0}")]
    Lua(#[from] mlua::Error),
}

/// Which sinks a script's effects go to (`redis.set_repl`).
pub mod repl {
    pub const NONE: u8 = 0;
    pub const AOF: u8 = 1;
    pub const REPLICA: u8 = 2;
    pub const ALL: u8 = 3;
}

/// The Redis version scripts see (`redis.REDIS_VERSION`).
pub const REDIS_VERSION: &str = "7.0.15";
pub(crate) const REDIS_VERSION_NUM: i64 = 0x07000f;

pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut s = String::with_capacity(40);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `redis.log(level, ...)`: the string and number arguments joined by
/// spaces, at the level's severity; Redis's error otherwise.
pub(crate) fn log(args: &MultiValue) -> Result<(), &'static str> {
    if args.len() < 2 {
        return Err("ERR redis.log() requires two arguments or more.");
    }
    let level = match &args[0] {
        Value::Integer(n) => *n,
        Value::Number(n) => *n as i64,
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()).ok_or("ERR First argument must be a number (log level).")? as i64,
        _ => return Err("ERR First argument must be a number (log level)."),
    };
    if !(0..=3).contains(&level) {
        return Err("ERR Invalid debug level.");
    }
    let parts: Vec<String> = args
        .iter()
        .skip(1)
        .filter(|v| matches!(v, Value::String(_) | Value::Integer(_) | Value::Number(_)))
        .map(|v| v.to_string().unwrap_or_default())
        .collect();
    let msg = parts.join(" ");
    match level {
        0 | 1 => tracing::debug!("{msg}"),
        2 => tracing::info!("{msg}"),
        _ => tracing::warn!("{msg}"),
    }
    Ok(())
}
