//! A command's specification: arity, flags, key positions, ACL categories
//! and docs, with its handler. The node builds its one command table from
//! the data families here and its own admin families; admission, MULTI,
//! COMMAND output, the keyspace gate, read-only replicas and propagation
//! all read these flags, and there is no other list of "write commands".
//!
//! Arity follows Redis: positive = exactly that many arguments including the
//! name, negative = at least that many.

use bytes::Bytes;

use crate::ctx::Ctx;
use crate::errors::CmdResult;
use crate::keyspec::{self, KeyFinder, KeySpec};

/// A data command's handler: it sees only the narrow [`Ctx`].
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Command flags, as Redis documents them above `struct redisCommand`.
pub mod flags {
    /// May modify the dataset.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads the dataset.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory: refused with -OOM over `maxmemory` when nothing can
    /// be evicted (the node's `dispatch`, and scripts' calls).
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
    /// May be called without keys even though it takes them (EVAL).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 18;
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
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
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

/// A table entry as a family declares it. `H` is the handler's type: data
/// families use [`Handler`], the node its own, which sees the node.
pub struct Command<H: 'static = Handler> {
    /// Lower-case name; subcommands are named by the word after the container.
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    /// Categories beyond those the flags imply (`string`, `keyspace`…).
    pub acl: &'static [&'static str],
    /// First key, last key (negative counts from the end), step; 0 = no keys.
    pub keys: (i32, i32, i32),
    /// None for a container that only runs through its subcommands.
    pub handler: Option<H>,
    pub subcommands: &'static [Command<H>],
    pub group: &'static str,
    pub summary: &'static str,
    /// The Redis version that introduced it, as COMMAND DOCS reports.
    pub since: &'static str,
    /// Key specs; empty = derived from `keys` and the flags.
    pub key_specs: &'static [KeySpec],
    /// Finds the keys where the specs are not exact (incomplete, unknown
    /// or with flags that depend on the arguments).
    pub getkeys: Option<KeyFinder>,
    /// Hints for clients and proxies (`nondeterministic_output`,
    /// `request_policy:all_shards`…), in Redis's order.
    pub tips: &'static [&'static str],
    /// Where its Pub/Sub channels are, for ACL channel rules.
    pub channels: Option<ChannelSpec>,
}

/// The channels a Pub/Sub command names (Redis's `commands_with_channels`):
/// arguments from `first`, `count` of them (`None`: all the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    pub first: usize,
    pub count: Option<usize>,
    pub flags: u8,
}

/// What a command does with its channels.
pub mod channel {
    pub const PUBLISH: u8 = 1 << 0;
    pub const SUBSCRIBE: u8 = 1 << 1;
    pub const UNSUBSCRIBE: u8 = 1 << 2;
    /// The arguments are patterns (PSUBSCRIBE), matched literally by ACLs.
    pub const PATTERN: u8 = 1 << 3;
}

impl ChannelSpec {
    pub const fn rest(flags: u8) -> ChannelSpec {
        ChannelSpec { first: 1, count: None, flags }
    }

    pub const fn one(flags: u8) -> ChannelSpec {
        ChannelSpec { first: 1, count: Some(1), flags }
    }

    /// Positions of the channels in `argc` arguments.
    pub fn positions(&self, argc: usize) -> std::ops::Range<usize> {
        let end = self.count.map_or(argc, |n| (self.first + n).min(argc));
        self.first.min(end)..end
    }
}

impl<H> Command<H> {
    /// Everything but the handler, which is what dispatch and COMMAND read.
    pub fn spec(&self) -> Spec {
        Spec {
            name: self.name,
            arity: self.arity,
            flags: self.flags,
            acl: self.acl,
            keys: self.keys,
            group: self.group,
            summary: self.summary,
            since: self.since,
            key_specs: self.key_specs,
            getkeys: self.getkeys,
            tips: self.tips,
            channels: self.channels,
        }
    }
}

/// A command's specification without its handler: the same for data and
/// node commands, so the node's one table can hold both.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub acl: &'static [&'static str],
    pub keys: (i32, i32, i32),
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub key_specs: &'static [KeySpec],
    pub getkeys: Option<KeyFinder>,
    pub tips: &'static [&'static str],
    pub channels: Option<ChannelSpec>,
}

impl Spec {
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

    /// The key specs COMMAND INFO shows: the declared ones, or the one
    /// derived from the key positions.
    pub fn key_specs(&self) -> Vec<KeySpec> {
        if self.key_specs.is_empty() {
            keyspec::derived(self.keys, self.has(flags::WRITE)).into_iter().collect()
        } else {
            self.key_specs.to_vec()
        }
    }

    /// Does it take keys at all (COMMAND GETKEYS refuses those that do not)?
    pub fn takes_keys(&self) -> bool {
        self.getkeys.is_some() || !self.key_specs.is_empty() || self.keys.0 > 0
    }

    /// The keys of a full command line and what it does to each (COMMAND
    /// GETKEYSANDFLAGS): by the key specs when they are exact, otherwise
    /// by the command's own finder, as Redis's `getKeysFromCommandWithSpecs`.
    /// Empty when the arguments are not a valid form of the command.
    pub fn keys_in(&self, args: &[Bytes]) -> Vec<(usize, u16)> {
        use keyspec::flags::{INCOMPLETE, VARIABLE_FLAGS};
        let specs = self.key_specs();
        let exact = specs.iter().all(|s| s.flags & (INCOMPLETE | VARIABLE_FLAGS) == 0);
        let by_specs = if exact || self.getkeys.is_none() { keyspec::find(&specs, args) } else { None };
        by_specs.or_else(|| self.getkeys.and_then(|finder| finder(args))).unwrap_or_default()
    }

    /// ACL categories: implied by flags first, then explicit ones, printed
    /// in Redis's order.
    pub fn acl_categories(&self) -> Vec<&'static str> {
        let mut cats: Vec<&'static str> = self.acl.to_vec();
        // Read-only scripting commands (EVAL_RO) are not @read, as in Redis.
        let read = if self.acl.contains(&"scripting") { 0 } else { flags::READONLY };
        let implied = [
            (flags::WRITE, "write"),
            (read, "read"),
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

/// Builds a table entry; the fields that are usually empty get defaults.
/// `since` is the Redis version that introduced the command; key specs
/// (when the derived one is not Redis's) and tips follow as `key_specs =
/// &[…]`, a key finder (`getkeys = f`) and tips (`tips = &[…]`).
#[macro_export]
macro_rules! cmd {
    ($name:expr, $since:expr, $arity:expr, $flags:expr, $acl:expr, $keys:expr, $handler:expr, $group:expr, $summary:expr
     $(, key_specs = $key_specs:expr)? $(, getkeys = $getkeys:expr)? $(, tips = $tips:expr)? $(, channels = $channels:expr)? $(,)?) => {
        $crate::command::Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            acl: $acl,
            keys: $keys,
            handler: Some($handler),
            subcommands: &[],
            group: $group,
            summary: $summary,
            since: $since,
            key_specs: $crate::cmd!(@or $($key_specs)?),
            getkeys: $crate::cmd!(@some $($getkeys)?),
            tips: $crate::cmd!(@or $($tips)?),
            channels: $crate::cmd!(@some $($channels)?),
        }
    };
    (@or $given:expr) => {
        $given
    };
    (@or) => {
        &[]
    };
    (@some $given:expr) => {
        Some($given)
    };
    (@some) => {
        None
    };
}

/// A container command (CONFIG, CLIENT…) whose work is in its subcommands.
#[macro_export]
macro_rules! container {
    ($name:expr, $since:expr, $arity:expr, $subs:expr, $group:expr, $summary:expr) => {
        $crate::command::Command {
            name: $name,
            arity: $arity,
            flags: 0,
            acl: &[],
            keys: (0, 0, 0),
            handler: None,
            subcommands: $subs,
            group: $group,
            summary: $summary,
            since: $since,
            key_specs: &[],
            getkeys: None,
            tips: &[],
            channels: None,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(arity: i32, keys: (i32, i32, i32)) -> Spec {
        Spec {
            name: "x",
            arity,
            flags: 0,
            acl: &[],
            keys,
            group: "generic",
            summary: "",
            since: "1.0.0",
            key_specs: &[],
            getkeys: None,
            tips: &[],
            channels: None,
        }
    }

    #[test]
    fn arity_follows_redis_sign_convention() {
        assert!(spec(2, (0, 0, 0)).arity_ok(2));
        assert!(!spec(2, (0, 0, 0)).arity_ok(3));
        assert!(spec(-2, (0, 0, 0)).arity_ok(5));
        assert!(!spec(-2, (0, 0, 0)).arity_ok(1));
    }

    #[test]
    fn key_positions_count_from_the_end_and_step() {
        assert_eq!(spec(-3, (1, -1, 2)).key_positions(5).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(spec(-2, (1, -2, 1)).key_positions(4).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(spec(1, (0, 0, 0)).key_positions(1).count(), 0);
    }
}
