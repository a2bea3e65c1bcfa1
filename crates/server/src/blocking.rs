//! Clients blocked on keys (BLPOP, BZPOPMIN, BLMOVE…).
//!
//! A blocking command that finds nothing registers a [`Waiter`] while it
//! still holds the keyspace gate, so no push can slip between its look and
//! its registration. Keys that come to hold a list or sorted set are
//! recorded by the view; after the writing command (or the whole EXEC),
//! dispatch serves the waiters of those keys in FIFO order, under the same
//! gate, and hands each reply to the waiter's connection. While anyone is
//! blocked, write commands take the gate exclusively, so no other client
//! runs between a push and the serving of its waiters.
//!
//! A waiter's reply slot is claimed exactly once: by the server serving
//! it, by its own timeout, or by CLIENT UNBLOCK. Claiming before serving
//! means an element is never popped for a client that already gave up.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use ferrokv_storage::View;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use ferrokv_commands::blocking::{Block, Unblock};
use ferrokv_commands::{Effects, Reply};

use crate::net::client::ClientShared;

pub struct Waiter {
    pub client: Arc<ClientShared>,
    pub db: usize,
    pub proto: Protocol,
    pub args: Vec<Bytes>,
    pub keys: Vec<Bytes>,
    pub unblock: &'static Unblock,
    slot: Mutex<Option<oneshot::Sender<BytesMut>>>,
}

impl Waiter {
    /// A waiter for `client` on what its command asked for, and the
    /// receiver its connection awaits.
    pub fn new(client: Arc<ClientShared>, db: usize, proto: Protocol, block: Block) -> (Waiter, oneshot::Receiver<BytesMut>) {
        let (tx, rx) = oneshot::channel();
        let Block { args, keys, unblock, .. } = block;
        (Waiter { client, db, proto, args, keys, unblock, slot: Mutex::new(Some(tx)) }, rx)
    }

    /// Takes the reply slot; `None` if someone else already did.
    pub fn claim(&self) -> Option<oneshot::Sender<BytesMut>> {
        self.slot.lock().take()
    }

    fn restore(&self, tx: oneshot::Sender<BytesMut>) {
        *self.slot.lock() = Some(tx);
    }
}

/// What the blocked connection waits on.
pub struct Blocked {
    pub waiter: Arc<Waiter>,
    pub rx: oneshot::Receiver<BytesMut>,
    /// None = forever.
    pub deadline: Option<std::time::Instant>,
}

/// Waiters per (db, key), oldest first.
type Queues = HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>;

#[derive(Default)]
pub struct Blocking {
    queues: Mutex<Queues>,
    by_client: Mutex<HashMap<u64, Arc<Waiter>>>,
    waiting: AtomicUsize,
}

impl Blocking {
    /// Whether any client is blocked (one load on the hot path).
    pub fn active(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    pub fn count(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Registers a waiter on its keys; returns what its connection awaits.
    pub fn block(&self, waiter: Waiter, rx: oneshot::Receiver<BytesMut>, timeout_ms: i64) -> Blocked {
        let waiter = Arc::new(waiter);
        let mut queues = self.queues.lock();
        for k in &waiter.keys {
            let q = queues.entry((waiter.db, k.clone())).or_default();
            if !q.iter().any(|w| Arc::ptr_eq(w, &waiter)) {
                q.push_back(waiter.clone());
            }
        }
        self.by_client.lock().insert(waiter.client.id, waiter.clone());
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let deadline = (timeout_ms > 0).then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms as u64));
        Blocked { waiter, rx, deadline }
    }

    /// Forgets a waiter (served, timed out, unblocked or disconnected).
    pub fn remove(&self, waiter: &Arc<Waiter>) {
        let mut queues = self.queues.lock();
        for k in &waiter.keys {
            let slot = (waiter.db, k.clone());
            if let Some(q) = queues.get_mut(&slot) {
                q.retain(|w| !Arc::ptr_eq(w, waiter));
                if q.is_empty() {
                    queues.remove(&slot);
                }
            }
        }
        if self.by_client.lock().remove(&waiter.client.id).is_some() {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub fn waiter_of(&self, client_id: u64) -> Option<Arc<Waiter>> {
        self.by_client.lock().get(&client_id).cloned()
    }

    /// The waiters on `key`, oldest first.
    fn waiters(&self, db: usize, key: &Bytes) -> Vec<Arc<Waiter>> {
        self.queues.lock().get(&(db, key.clone())).map(|q| q.iter().cloned().collect()).unwrap_or_default()
    }

    /// Serves the waiters of every ready key, in FIFO order per key. Serving
    /// one may make other keys ready (BLMOVE's destination), which are
    /// served in turn.
    pub fn serve_ready(&self, view: &mut View<'_>, effects: &mut Effects) {
        let saved_db = view.db;
        while !view.ready.is_empty() {
            let ready = std::mem::take(&mut view.ready);
            for (db, key) in ready {
                for w in self.waiters(db, &key) {
                    let Some(tx) = w.claim() else {
                        // Gave up already (timeout, unblock); its task removes it.
                        self.remove(&w);
                        continue;
                    };
                    let mut out = BytesMut::new();
                    let mut propagate = Vec::new();
                    view.db = w.db;
                    let served = {
                        let mut reply = Reply { out: &mut out, proto: w.proto };
                        (w.unblock.serve)(view, &mut reply, &w.args, &key, &mut propagate).unwrap_or(false)
                    };
                    if !served {
                        w.restore(tx);
                        if w.unblock.independent {
                            continue;
                        }
                        break;
                    }
                    self.remove(&w);
                    if effects.on {
                        if let Some(replicate_as) = w.unblock.replicate_as {
                            effects.push(w.db, replicate_as(&w.args, &key));
                        }
                        propagate.into_iter().for_each(|argv| effects.push(w.db, argv));
                    }
                    let _ = tx.send(out);
                }
            }
        }
        view.db = saved_db;
    }
}
