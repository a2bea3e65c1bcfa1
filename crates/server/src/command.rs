//! The command table: one entry per command (and subcommand) with its arity,
//! flags, key positions and handler. Admission, MULTI, COMMAND output,
//! the keyspace gate (and later read-only replicas and propagation) all read
//! these flags; there is no other list of "write commands".
//!
//! Arity follows Redis: positive = exactly that many arguments including the
//! name, negative = at least that many.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use ferrokv_storage::Counter;

use crate::ctx::Ctx;
use crate::errors::CmdResult;

pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Command flags, as Redis documents them above `struct redisCommand`.
pub mod flags {
    /// May modify the dataset.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads the dataset.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory; refused when over maxmemory.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative; dangerous in the wrong hands.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/Sub related.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while the dataset loads.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a replica with stale data.
    pub const STALE: u32 = 1 << 8;
    /// Not shown to MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 9;
    /// Not recorded in the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    /// O(1) or O(log N), never blocks for long.
    pub const FAST: u32 = 1 << 11;
    /// Allowed before AUTH.
    pub const NO_AUTH: u32 = 1 << 12;
    /// May replicate even though not a write (e.g. PUBLISH in clusters).
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 14;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;
    pub const NO_ASYNC_LOADING: u32 = 1 << 16;
    /// Key positions depend on the arguments (numkeys, STORE…); COMMAND
    /// shows it, and dispatch treats such commands as `WHOLE`.
    pub const MOVABLEKEYS: u32 = 1 << 17;
    /// Ours: needs the whole keyspace (several shards or databases, or
    /// every key), so it runs under the exclusive gate.
    pub const WHOLE: u32 = 1 << 24;

    /// Names as COMMAND INFO prints them, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// ACL categories, in the order Redis prints them.
pub const ACL_ORDER: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

pub struct Command {
    /// Lower-case name; subcommands are named by the word after the container.
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    /// Categories beyond those the flags imply (`string`, `keyspace`…).
    pub acl: &'static [&'static str],
    /// First key, last key (negative counts from the end), step; 0 = no keys.
    pub keys: (i32, i32, i32),
    pub handler: Handler,
    pub subcommands: &'static [Command],
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
}

impl Command {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Arity check with Redis's sign convention.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// Positions of the key arguments in `argc` arguments (for subcommands,
    /// positions count from the container's name).
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let (first, last, step) = self.keys;
        let argc = argc as i32;
        let last = if last < 0 { argc + last } else { last.min(argc - 1) };
        let step = step.max(1) as usize;
        // No keys: an empty range.
        let (start, end) = if first > 0 && last >= first { (first as usize, last as usize + 1) } else { (0, 0) };
        (start..end).step_by(step)
    }

    /// ACL categories: implied by flags first, then explicit ones, printed
    /// in Redis's order.
    pub fn acl_categories(&self) -> Vec<&'static str> {
        let mut cats: Vec<&'static str> = self.acl.to_vec();
        let implied = [
            (flags::WRITE, "write"),
            (flags::READONLY, "read"),
            (flags::ADMIN, "admin"),
            (flags::ADMIN, "dangerous"),
            (flags::PUBSUB, "pubsub"),
            (flags::FAST, "fast"),
            (flags::BLOCKING, "blocking"),
        ];
        for (f, c) in implied {
            if self.has(f) && !cats.contains(&c) {
                cats.push(c);
            }
        }
        if !self.has(flags::FAST) && !cats.contains(&"slow") {
            cats.push("slow");
        }
        cats.sort_by_key(|c| ACL_ORDER.iter().position(|o| o == c).unwrap_or(usize::MAX));
        cats
    }
}

/// Per-command counters for INFO commandstats.
#[derive(Default)]
pub struct CommandStats {
    /// Bumped by every call: counters without locked instructions.
    pub calls: Counter,
    pub usec: Counter,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

impl CommandStats {
    pub fn reset(&self) {
        self.calls.reset();
        self.usec.reset();
        for c in [&self.rejected, &self.failed] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A command as the server runs it: its spec, full name and counters.
pub struct Entry {
    pub spec: &'static Command,
    /// `get`, or `config|get` for a subcommand. Leaked once per table so
    /// clients can point at it (CLIENT LIST `cmd=`) without copying.
    pub fullname: &'static str,
    /// `fullname` behind a thin pointer, for [`crate::client::LastCmd`].
    pub fullname_ref: &'static &'static str,
    pub stats: CommandStats,
    pub subcommands: FastMap<Entry>,
}

type FastMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

pub struct Table {
    commands: FastMap<Entry>,
}

impl Table {
    pub fn new(families: &[&'static [Command]]) -> Table {
        fn entry(spec: &'static Command, parent: Option<&str>) -> Entry {
            let fullname: &'static str = match parent {
                Some(p) => Box::leak(format!("{p}|{}", spec.name).into_boxed_str()),
                None => spec.name,
            };
            let subcommands = spec.subcommands.iter().map(|s| (s.name.to_string(), entry(s, Some(spec.name)))).collect();
            let fullname_ref = Box::leak(Box::new(fullname));
            Entry { spec, fullname, fullname_ref, stats: CommandStats::default(), subcommands }
        }
        let commands = families.iter().flat_map(|f| f.iter()).map(|c| (c.name.to_string(), entry(c, None))).collect();
        Table { commands }
    }

    /// Finds a command by its (any-case) name.
    pub fn get(&self, name: &[u8]) -> Option<&Entry> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        // Folded while copied: lowercasing the copy in place reloads bytes
        // just stored in other widths, a store-forwarding stall that was
        // most of this lookup's time (`perf annotate`).
        for (to, from) in lower.iter_mut().zip(name) {
            *to = from.to_ascii_lowercase();
        }
        self.commands.get(std::str::from_utf8(lower).ok()?)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.commands.values()
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Every entry including subcommands, for INFO commandstats.
    pub fn all_entries(&self) -> impl Iterator<Item = &Entry> {
        self.commands.values().flat_map(|e| std::iter::once(e).chain(e.subcommands.values()))
    }
}

impl Entry {
    pub fn subcommand(&self, name: &[u8]) -> Option<&Entry> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.subcommands.get(&lower)
    }
}

/// Builds a table entry; the fields that are usually empty get defaults.
#[macro_export]
macro_rules! cmd {
    ($name:expr, $arity:expr, $flags:expr, $acl:expr, $keys:expr, $handler:expr, $group:expr, $summary:expr) => {
        $crate::command::Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            acl: $acl,
            keys: $keys,
            handler: $handler,
            subcommands: &[],
            group: $group,
            summary: $summary,
            since: "1.0.0",
        }
    };
}

/// A container command (CONFIG, CLIENT…) whose work is in its subcommands.
#[macro_export]
macro_rules! container {
    ($name:expr, $arity:expr, $subs:expr, $group:expr, $summary:expr) => {
        $crate::command::Command {
            name: $name,
            arity: $arity,
            flags: 0,
            acl: &[],
            keys: (0, 0, 0),
            handler: $crate::ctx::container_without_subcommand,
            subcommands: $subs,
            group: $group,
            summary: $summary,
            since: "2.0.0",
        }
    };
}
