//! The node's one command table, built by injection from the data families
//! (`ferrokv_commands::FAMILIES`) and the node's admin families: one entry
//! per command (and subcommand) with its spec, handler and counters.
//! Admission, MULTI, COMMAND output, the keyspace gate, read-only replicas
//! and propagation all read the spec's flags; there is no other list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use ferrokv_acl::{Catalog, CmdId};
use ferrokv_storage::Counter;

pub use ferrokv_commands::command::{flags, Spec, ACL_ORDER};

use crate::ctx::Ctx;
use crate::errors::CmdResult;

/// An admin command's handler: it sees the node and the client.
pub type NodeHandler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// An admin family's table entry.
pub type Command = ferrokv_commands::Command<NodeHandler>;

/// What runs a command: a data handler on the narrow context, the node's
/// own on the whole one, or nothing (a container reached without a known
/// subcommand, which dispatch answers before running).
#[derive(Clone, Copy)]
pub enum Handler {
    Data(ferrokv_commands::Handler),
    Node(NodeHandler),
    Container,
}

/// Per-command counters for INFO commandstats.
#[derive(Default)]
pub struct CommandStats {
    /// Bumped by every call: counters without locked instructions.
    pub calls: Counter,
    pub usec: Counter,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    /// `latency-tracking`: LATENCY HISTOGRAM, INFO latencystats.
    pub latency: crate::histogram::Histogram,
}

impl CommandStats {
    pub fn reset(&self) {
        self.calls.reset();
        self.usec.reset();
        self.latency.reset();
        for c in [&self.rejected, &self.failed] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A command as the server runs it: its spec, full name and counters.
pub struct Entry {
    pub spec: &'static Spec,
    pub handler: Handler,
    /// `get`, or `config|get` for a subcommand. Leaked once per table so
    /// clients can point at it (CLIENT LIST `cmd=`) without copying.
    pub fullname: &'static str,
    /// `fullname` behind a thin pointer, for [`crate::net::client::LastCmd`].
    pub fullname_ref: &'static &'static str,
    pub stats: CommandStats,
    pub subcommands: FastMap<Entry>,
    /// Its number in ACL bitmaps (the table's [`Catalog`]).
    pub acl_id: CmdId,
}

type FastMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

pub struct Table {
    commands: FastMap<Entry>,
    /// The same commands, numbered for ACL rules.
    pub catalog: Catalog,
}

impl Table {
    /// The table of `data` families (handlers on the narrow context) and
    /// the node's `admin` families. Entries are leaked once per table so
    /// clients can point at them without copying.
    pub fn new(data: &[&'static [ferrokv_commands::Command]], admin: &[&'static [Command]]) -> Table {
        let data = data.iter().flat_map(|f| f.iter()).map(|c| (c.name.to_string(), entry(c, None, Handler::Data)));
        let admin = admin.iter().flat_map(|f| f.iter()).map(|c| (c.name.to_string(), entry(c, None, Handler::Node)));
        let mut commands: FastMap<Entry> = data.chain(admin).collect();
        let catalog = number(&mut commands);
        Table { commands, catalog }
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

fn entry<H: Copy>(cmd: &'static ferrokv_commands::Command<H>, parent: Option<&str>, wrap: fn(H) -> Handler) -> Entry {
    let fullname: &'static str = match parent {
        Some(p) => Box::leak(format!("{p}|{}", cmd.name).into_boxed_str()),
        None => cmd.name,
    };
    let subcommands = cmd.subcommands.iter().map(|s| (s.name.to_string(), entry(s, Some(cmd.name), wrap))).collect();
    let fullname_ref = Box::leak(Box::new(fullname));
    let handler = cmd.handler.map_or(Handler::Container, wrap);
    Entry { spec: Box::leak(Box::new(cmd.spec())), handler, fullname, fullname_ref, stats: CommandStats::default(), subcommands, acl_id: 0 }
}

/// Numbers every command for ACLs, in name order (containers before their
/// subcommands), so descriptions list single commands in a stable order.
fn number(commands: &mut FastMap<Entry>) -> Catalog {
    let mut catalog = Catalog::new();
    let mut names: Vec<String> = commands.keys().cloned().collect();
    names.sort();
    for name in names {
        let Some(entry) = commands.get_mut(&name) else { continue };
        let id = catalog.add(entry.fullname, entry.spec, None).expect("the command table fits the ACL bitmap");
        entry.acl_id = id;
        let mut subs: Vec<&mut Entry> = entry.subcommands.values_mut().collect();
        subs.sort_by_key(|e| e.fullname);
        for sub in subs {
            sub.acl_id = catalog.add(sub.fullname, sub.spec, Some(id)).expect("the command table fits the ACL bitmap");
        }
    }
    catalog
}

impl Entry {
    pub fn subcommand(&self, name: &[u8]) -> Option<&Entry> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.subcommands.get(&lower)
    }
}
