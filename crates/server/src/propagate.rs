//! The one way a unit of effects leaves the keyspace: into the replication
//! log and the AOF (and, when they exist, keyspace notifications and client
//! tracking). Dispatch logs each call's effects through it while the call
//! still holds its keys, and the cron's active expiry logs each DEL the
//! same way, so every sink sees the keyspace's order.

use ferrokv_commands::Effects;
use ferrokv_replication::Replication;

use crate::persistence::aof::Aof;
use crate::server::Server;

pub struct Propagator<'s> {
    repl: &'s Replication,
    aof: &'s Aof,
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
        Propagator { repl: &server.repl, aof: &server.aof }
    }

    /// Whether a command's effects are worth collecting. A replica proxies
    /// its primary's stream verbatim instead of propagating what it
    /// applies; the AOF records effects whoever causes them.
    pub fn collects(&self, from_primary: bool, loading: bool) -> bool {
        (self.repl.logging() && !from_primary && !loading) || self.aof.enabled()
    }

    /// Logs one unit (MULTI/EXEC around it when it has several commands);
    /// `replicate` is false for what the primary sent us.
    pub fn log(&self, effects: &Effects, replicate: bool) -> Logged {
        let mut logged = Logged { offset: None, durable: true };
        if !effects.on || effects.is_empty() {
            return logged;
        }
        if replicate && self.repl.logging() {
            logged.offset = Some(self.repl.feed(effects.iter()));
        }
        if self.aof.enabled() && self.aof.feed(effects.iter()).is_err() {
            logged.durable = false;
        }
        logged
    }
}
