//! A defect in one command must not take the node down: `dispatch::run`
//! runs each handler under [`guarded`], which turns a panic into an error
//! reply and one log line with the command's name, the panic's message and
//! place, and a backtrace. Locks are parking_lot's, which a panic does not
//! poison; what the command changed before it panicked stays, and is not
//! propagated (the log says so).

use std::any::Any;
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// How many guarded commands this thread is inside (scripts nest them).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The last panic's message, place and backtrace, as the hook saw it.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook that captures a panic's place and backtrace: kept
/// for [`guarded`] to log inside a command, logged at once elsewhere.
pub fn install_hook() {
    panic::set_hook(Box::new(|info| {
        let place = info.location().map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        let report = format!("{}{place}\n{}", message(info.payload()), Backtrace::force_capture());
        if DEPTH.with(Cell::get) > 0 {
            LAST.with(|last| *last.borrow_mut() = Some(report));
        } else {
            tracing::error!("panic: {report}");
        }
    }));
}

/// Runs `command`'s handler `f`; a panic becomes the error text the client
/// gets, logged with what the hook captured.
pub fn guarded<R>(command: &str, f: impl FnOnce() -> R) -> Result<R, String> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    outcome.map_err(|payload| {
        let report = LAST.with(|last| last.borrow_mut().take()).unwrap_or_else(|| message(&*payload));
        tracing::error!("Command '{command}' panicked (a defect; the node goes on): {report}");
        format!("ERR internal error in '{command}' command (logged with a backtrace)")
    })
}

/// Stops the node at once, as Redis's `serverPanic`: for a state in which
/// going on would serve data that is wrong (the abort leaves a core where
/// the system keeps them).
pub fn server_panic(what: &str) -> ! {
    tracing::warn!("------------------------------------------------");
    tracing::warn!("!!! Software Failure. Press left mouse button to continue");
    tracing::warn!("Guru Meditation: {what}");
    std::process::abort();
}

fn message(payload: &(dyn Any + Send)) -> String {
    payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into())
}
