//! The ACL log: recent refusals and failed logins, similar ones grouped
//! into one entry with a count, as ACL LOG shows them.

use std::collections::VecDeque;

use bytes::Bytes;

/// Entries closer than this in time, for the same thing, are grouped.
const GROUPING_MS: i64 = 60_000;
/// How many recent entries a new one is compared with.
const GROUPING_SCAN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where the refused command was run from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command, key, channel or (for a failed login) the command used.
    pub object: Bytes,
    pub username: Bytes,
    /// Milliseconds since the epoch of the last occurrence.
    pub ctime_ms: i64,
    /// CLIENT INFO of the client, at the last occurrence.
    pub client_info: String,
}

#[derive(Default)]
pub struct Log {
    entries: VecDeque<Entry>,
}

impl Log {
    /// Adds an entry, or counts it into a recent similar one (which moves
    /// to the front), and keeps at most `max_len`.
    pub fn add(&mut self, entry: Entry, max_len: usize) {
        let similar = self.entries.iter().take(GROUPING_SCAN).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && (e.ctime_ms - entry.ctime_ms).abs() <= GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        match similar.and_then(|i| self.entries.remove(i)) {
            Some(mut found) => {
                found.count += 1;
                found.ctime_ms = entry.ctime_ms;
                found.client_info = entry.client_info;
                self.entries.push_front(found);
            }
            None => {
                self.entries.push_front(entry);
                self.entries.truncate(max_len);
            }
        }
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn truncate(&mut self, max_len: usize) {
        self.entries.truncate(max_len);
    }
}
