//! Replies leave at the end of a scheduler round, as Redis writes them in
//! `beforeSleep` (`handleClientsWithPendingWrites`).
//!
//! Why: a client such as redis-benchmark drives many connections from one
//! event loop. Written as each connection finishes its batch, replies wake
//! it once per connection; written together when the worker runs out of
//! ready connections, they wake it once per round, and both sides spend
//! less of their time in the scheduler. A connection therefore hands its
//! answered batch to its [`Outbox`], which queues itself on the worker
//! thread; the runtime's park hook ([`write_queued`], installed by
//! [`install`]) writes every queued outbox without waiting, just before the
//! worker sleeps.
//!
//! What a socket does not take stays in the outbox and the connection is
//! told ([`Push::Stalled`]) to write it itself, waiting for the socket,
//! so a client that does not read holds back only itself, as Redis installs
//! a write handler for it. Every byte goes out through the outbox's buffer
//! under its lock, in order, whoever writes it. The buffer holds what the
//! socket must carry: replies are sealed into it (TLS records on the TLS
//! port, see `wire`) as they are handed over.
//!
//! Bounds: a worker that never parks writes its queue every
//! [`MAX_QUEUED`] batches; a thread that never parks as a worker (a test's
//! runtime without the hook) does not defer at all.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::net::client::{ClientShared, Push};
use crate::server::Server;
use bytes::{Buf, BytesMut};
use parking_lot::Mutex;

/// A worker busy enough never to park still writes its queued replies
/// after this many batches.
const MAX_QUEUED: usize = 64;
/// A connection whose deferred replies would pass this writes them itself,
/// waiting for its socket: one that keeps finding more input (a long
/// pipeline) may run many batches before its worker parks, and its replies
/// must neither pile up nor stop holding it back.
const MAX_DEFERRED: usize = 1024 * 1024;

thread_local! {
    /// Outboxes with bytes waiting for this worker's next park.
    static QUEUE: RefCell<Vec<Arc<Outbox>>> = const { RefCell::new(Vec::new()) };
    /// Whether this thread is a worker that runs the park hook (it has
    /// parked at least once): elsewhere nothing would write a queue.
    static PARKS: Cell<bool> = const { Cell::new(false) };
}

/// Makes `builder`'s workers write queued replies when they park (and
/// when they stop, when they also fold their allocation count into the
/// total: see `ferrokv_util::alloc`).
pub fn install(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    builder
        .on_thread_park(|| {
            PARKS.set(true);
            write_queued();
        })
        .on_thread_stop(|| {
            write_queued();
            ferrokv_util::alloc::flush_thread();
        })
}

/// Writes every outbox queued on this thread, without waiting for any
/// socket. Called by the park hook, and by code about to block its worker.
pub fn write_queued() {
    let queued = QUEUE.with_borrow_mut(std::mem::take);
    for outbox in &queued {
        outbox.write_ready();
    }
    // Give the (now empty) vector back so the next round does not allocate.
    QUEUE.with_borrow_mut(|q| {
        if q.is_empty() {
            *q = queued;
            q.clear();
        }
    });
}

/// Called on a thread that stops being a worker (`block_in_place`): what
/// it queued is written now, and from here on its connections write their
/// replies themselves, since this thread's park hook may never run again.
pub fn leave_worker() {
    write_queued();
    PARKS.set(false);
}

/// One connection's replies between its batches and its socket.
pub struct Outbox {
    fd: RawFd,
    state: Mutex<State>,
    /// The connection's client: its push queue (for [`Push::Stalled`]),
    /// and what it has unsent.
    pub client: Arc<ClientShared>,
    server: Arc<Server>,
}

#[derive(Default)]
struct State {
    /// Sealed replies not yet written, oldest first.
    buf: BytesMut,
    /// In some worker's queue.
    queued: bool,
    /// Left for the connection to write: the hook does not touch it.
    stalled: bool,
    /// The connection is gone (its descriptor may be reused): never write.
    closed: bool,
}

impl Outbox {
    /// `fd` is the connection's socket; it must stay open until
    /// [`Outbox::close`] (see [`Closing`]).
    pub fn new(fd: RawFd, server: Arc<Server>, client: Arc<ClientShared>) -> Arc<Outbox> {
        Arc::new(Outbox { fd, state: Mutex::new(State::default()), client, server })
    }

    /// Hands the replies in `out` over, sealed by `seal` (see
    /// `wire::Wire::seal`), for the end of the round; `out` is left empty.
    /// Returns false, taking nothing, where no park hook would write them
    /// or too much is already waiting: the caller then writes itself.
    pub fn defer(self: &Arc<Self>, out: &mut BytesMut, seal: impl FnOnce(&mut BytesMut, &mut BytesMut) -> io::Result<()>) -> io::Result<bool> {
        if out.is_empty() {
            return Ok(true);
        }
        if !PARKS.get() {
            return Ok(false);
        }
        let queue = {
            let mut st = self.state.lock();
            if st.buf.len() + out.len() > MAX_DEFERRED {
                return Ok(false);
            }
            seal(out, &mut st.buf)?;
            let queue = !st.queued && !st.stalled;
            st.queued |= queue;
            queue
        };
        if queue {
            let full = QUEUE.with_borrow_mut(|q| {
                q.push(self.clone());
                q.len() >= MAX_QUEUED
            });
            if full {
                write_queued();
            }
        }
        Ok(true)
    }

    /// For a connection about to write itself (a big batch, a blocking
    /// command, a stall): seals the replies in `out` behind whatever is
    /// still deferred and leaves all of it in `out`, to be written as is.
    pub fn take_sealed(&self, out: &mut BytesMut, seal: impl FnOnce(&mut BytesMut, &mut BytesMut) -> io::Result<()>) -> io::Result<()> {
        let mut st = self.state.lock();
        st.stalled = false;
        seal(out, &mut st.buf)?;
        // Swap rather than copy: the outbox keeps `out`'s emptied buffer.
        std::mem::swap(&mut st.buf, out);
        Ok(())
    }

    /// The park hook's write: what the socket takes now.
    fn write_ready(&self) {
        let mut st = self.state.lock();
        st.queued = false;
        self.write_without_waiting(&mut st);
    }

    /// Writes what the socket takes now; leaves the rest to the connection.
    fn write_without_waiting(&self, st: &mut State) {
        let fd = self.fd;
        if st.closed || st.stalled {
            return;
        }
        while !st.buf.is_empty() {
            match send_now(fd, &st.buf) {
                Ok(n) => {
                    st.buf.advance(n);
                    self.server.stats.wrote(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Full, or failing: the connection's own write waits for
                // the socket, or meets the error and closes.
                Err(_) => {
                    st.stalled = true;
                    self.client.unsent.store(st.buf.len(), Ordering::Relaxed);
                    let _ = self.client.push.send(Push::Stalled);
                    return;
                }
            }
        }
        // Fully written: drop the offset `advance` left, keep the capacity.
        st.buf.clear();
    }

    /// The connection is ending: a last attempt without waiting, then
    /// nothing more is ever written to its descriptor.
    pub fn close(&self) {
        let mut st = self.state.lock();
        self.write_without_waiting(&mut st);
        st.closed = true;
        st.buf = BytesMut::new();
    }
}

/// Closes the outbox when dropped, also on unwinding: declare it after the
/// socket so it runs first, while the descriptor is still the connection's.
pub struct Closing<'a>(pub &'a Outbox);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// One non-blocking `send` (no SIGPIPE: a gone peer is an error here).
fn send_now(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes; `fd` is the open socket
    // of a connection whose outbox is not closed (see `Outbox::new`).
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
