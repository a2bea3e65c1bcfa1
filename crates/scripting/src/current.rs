//! The caller of the script running on this thread, and its run's flags,
//! for `redis.call`.
//!
//! Why not a closure per run (mlua's scoped functions): creating two Lua
//! closures and four registry entries per EVALSHA was a fifth of its CPU.
//! The functions are made once; the caller is lent to them for the run.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::Caller;

/// The state `redis.setresp` and `redis.set_repl` change during a run.
#[derive(Default)]
pub struct RunFlags {
    resp: AtomicU8,
    repl: AtomicU8,
}

impl RunFlags {
    pub fn resp(&self) -> u8 {
        self.resp.load(Ordering::Relaxed)
    }

    pub fn repl(&self) -> u8 {
        self.repl.load(Ordering::Relaxed)
    }

    pub fn set_resp(&self, v: u8) {
        self.resp.store(v, Ordering::Relaxed);
    }

    pub fn set_repl(&self, v: u8) {
        self.repl.store(v, Ordering::Relaxed);
    }
}

type Lent = (NonNull<dyn Caller + 'static>, NonNull<RunFlags>);

/// A running function's name and the command that called it.
type Command = (NonNull<str>, NonNull<[bytes::Bytes]>);

thread_local! {
    static CURRENT: Cell<Option<Lent>> = const { Cell::new(None) };
    static COMMAND: Cell<Option<Command>> = const { Cell::new(None) };
}

/// Lends `caller` and `flags` to this thread's script functions until
/// dropped.
pub struct Running<'a> {
    previous: Option<Lent>,
    previous_command: Option<Command>,
    _lent: PhantomData<(&'a mut dyn Caller, &'a RunFlags, &'a [bytes::Bytes])>,
}

impl<'a> Running<'a> {
    /// `command`: a function's name and the command that called it, read
    /// only if it turns busy (FUNCTION STATS), so a quick call copies
    /// nothing.
    pub fn new(caller: &'a mut dyn Caller, flags: &'a RunFlags, command: Option<(&'a str, &'a [bytes::Bytes])>) -> Self {
        let ptr = NonNull::from(caller);
        // SAFETY: only the lifetime is erased. The pointers are cleared when
        // this guard drops, which the borrows `'a` outlive, and they are
        // only dereferenced on this thread, inside `with`, while the script
        // (called synchronously under the guard) runs.
        let ptr: NonNull<dyn Caller + 'static> = unsafe { std::mem::transmute(ptr) };
        let previous = CURRENT.with(|c| c.replace(Some((ptr, NonNull::from(flags)))));
        let command = command.map(|(name, argv)| (NonNull::from(name), NonNull::from(argv)));
        let previous_command = COMMAND.with(|c| c.replace(command));
        Running { previous, previous_command, _lent: PhantomData }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
        COMMAND.with(|c| c.set(self.previous_command));
    }
}

/// A copy of the running function's name and command, if a function runs
/// on this thread.
pub fn command() -> Option<(String, Vec<bytes::Bytes>)> {
    let (name, argv) = COMMAND.with(|c| c.get())?;
    // SAFETY: as for the caller: lent by a `Running` still alive on this
    // thread.
    Some(unsafe { (name.as_ref().to_owned(), argv.as_ref().to_vec()) })
}

/// Runs `f` with the lent caller and flags; None when no script is running
/// here.
pub fn with<R>(f: impl FnOnce(&mut dyn Caller, &RunFlags) -> R) -> Option<R> {
    let (caller, flags) = CURRENT.with(|c| c.take())?;
    // SAFETY: see `Running::new`. Taking the pointers out while `f` runs
    // means a reentrant call finds none instead of a second `&mut`.
    let result = f(unsafe { &mut *caller.as_ptr() }, unsafe { flags.as_ref() });
    CURRENT.with(|c| c.set(Some((caller, flags))));
    Some(result)
}
