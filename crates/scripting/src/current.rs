//! The caller of the script running on this thread, for `redis.call`.
//!
//! Why not a closure per run (mlua's scoped functions): creating two Lua
//! closures and four registry entries per EVALSHA was a fifth of its CPU.
//! The functions are made once; the caller is lent to them for the run.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::Caller;

thread_local! {
    static CURRENT: Cell<Option<NonNull<dyn Caller + 'static>>> = const { Cell::new(None) };
}

/// Lends `caller` to this thread's script functions until dropped.
pub struct Running<'a> {
    previous: Option<NonNull<dyn Caller + 'static>>,
    _caller: PhantomData<&'a mut dyn Caller>,
}

impl<'a> Running<'a> {
    pub fn new(caller: &'a mut dyn Caller) -> Self {
        let ptr = NonNull::from(caller);
        // SAFETY: only the lifetime is erased. The pointer is cleared when
        // this guard drops, which the borrow `'a` outlives, and it is only
        // dereferenced on this thread, inside `with`, while the script
        // (called synchronously under the guard) runs.
        let ptr: NonNull<dyn Caller + 'static> = unsafe { std::mem::transmute(ptr) };
        let previous = CURRENT.with(|c| c.replace(Some(ptr)));
        Running { previous, _caller: PhantomData }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Runs `f` with the lent caller; None when no script is running here.
pub fn with<R>(f: impl FnOnce(&mut dyn Caller) -> R) -> Option<R> {
    let ptr = CURRENT.with(|c| c.take())?;
    // SAFETY: see `Running::new`. Taking the pointer out while `f` runs
    // means a reentrant call finds none instead of a second `&mut`.
    let result = f(unsafe { &mut *ptr.as_ptr() });
    CURRENT.with(|c| c.set(Some(ptr)));
    Some(result)
}
