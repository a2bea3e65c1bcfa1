//! The one way a unit of effects leaves the keyspace: into the replication
//! log, the AOF, keyspace notifications and client-side caching's
//! invalidations. Dispatch logs each call's effects through it while the call
//! still holds its keys, and the cron's active expiry and eviction log each
//! DEL the same way, so every sink sees the keyspace's order.

use ferrokv_commands::Effects;
use ferrokv_replication::Replication;

use crate::persistence::aof::Aof;
use crate::pubsub::PubSub;
use crate::server::Server;
use crate::tracking::Current;

pub struct Propagator<'s> {
    server: &'s Server,
    repl: &'s Replication,
    aof: &'s Aof,
    pubsub: &'s PubSub,
    /// The configured event classes (`notify-keyspace-events`).
    notify: u32,
}

/// What logging a unit did.
pub struct Logged {
    /// The replication offset after the unit, when replicas were fed it.
    pub offset: Option<u64>,
    /// False when the AOF could not take it: the caller must not
    /// acknowledge the command.
    pub durable: bool,
}

impl<'s> Propagator<'s> {
    pub fn new(server: &'s Server) -> Self {
        Propagator {
            server,
            repl: &server.repl,
            aof: &server.aof,
            pubsub: &server.pubsub,
            notify: server.hot.notify.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The event classes to raise (0: notifications are off).
    pub fn notify(&self) -> u32 {
        self.notify
    }

    /// Whether a command's effects are worth collecting. A replica proxies
    /// its primary's stream verbatim instead of propagating what it
    /// applies; the AOF records effects whoever causes them.
    pub fn collects(&self, from_primary: bool, loading: bool) -> bool {
        (self.feeds_replicas() && !from_primary && !loading) || self.aof.enabled()
    }

    /// Only a primary feeds its log: a replica's log is its primary's
    /// stream, so its own writes (`replica-read-only no`) stay local, as
    /// in Redis (`shouldPropagate`).
    fn feeds_replicas(&self) -> bool {
        self.repl.logging() && !self.repl.is_replica()
    }

    /// Logs one unit (MULTI/EXEC around it when it has several commands);
    /// `replicate` is false for what the primary sent us. `current` is the
    /// client whose command it is, if any: its own invalidations follow
    /// its reply.
    pub fn log(&self, effects: &Effects, replicate: bool, current: Option<Current<'_>>) -> Logged {
        let mut logged = Logged { offset: None, durable: true };
        self.publish_events(effects);
        self.invalidate(effects, current);
        if !effects.on || effects.is_empty() {
            return logged;
        }
        if replicate && self.feeds_replicas() {
            logged.offset = Some(self.repl.feed(effects.iter()));
        }
        if self.aof.enabled() {
            let fed = match effects.durable() {
                None => self.aof.feed(effects.iter()),
                Some(durable) if durable.is_empty() => Ok(()),
                Some(durable) => self.aof.feed(durable.into_iter()),
            };
            logged.durable = fed.is_ok();
        }
        logged
    }

    /// Client-side caching: the unit's modified keys (or, after a flush,
    /// every key) are invalid for whoever may cache them.
    fn invalidate(&self, effects: &Effects, mut current: Option<Current<'_>>) {
        if !self.server.store.tracking.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let tracking = &self.server.tracking;
        if !effects.invalidated.is_empty() {
            tracking.invalidate(self.server, &effects.invalidated, current.as_mut().map(Current::reborrow));
        }
        if effects.flushed {
            tracking.flush(self.server, current);
        }
    }

    /// Keyspace notifications: `__keyspace@<db>__:<key>` gets the event's
    /// name, `__keyevent@<db>__:<name>` the key, as the classes say.
    fn publish_events(&self, effects: &Effects) {
        use ferrokv_storage::events::{KEYEVENT, KEYSPACE};
        for e in &effects.events {
            if self.notify & KEYSPACE != 0 {
                let mut channel = format!("__keyspace@{}__:", e.db).into_bytes();
                channel.extend_from_slice(&e.key);
                self.pubsub.publish(crate::pubsub::Kind::Channel, &channel.into(), &bytes::Bytes::from_static(e.name.as_bytes()), u64::MAX, |_| {});
            }
            if self.notify & KEYEVENT != 0 {
                let channel = format!("__keyevent@{}__:{}", e.db, e.name).into();
                self.pubsub.publish(crate::pubsub::Kind::Channel, &channel, &e.key, u64::MAX, |_| {});
            }
        }
    }
}
