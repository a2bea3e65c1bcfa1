//! Keyspace events (Redis's `notifyKeyspaceEvent` classes) and the
//! `notify-keyspace-events` string that selects them.
//!
//! Storage raises the events it causes itself (a key created: `new`; found
//! expired on lookup: `expired`; missed by a read: `keymiss`) in a view's
//! event list, in order with those the commands raise through the same
//! list, so a command's events come out in Redis's order.

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 13;
pub const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// One event: in database `db`, `name` happened to `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub db: usize,
    pub name: &'static str,
    pub key: bytes::Bytes,
}

/// Every class character; `A` stands for [`ALL`].
const CLASSES: [(char, u32); 15] = [
    ('A', ALL),
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
    ('K', KEYSPACE),
    ('E', KEYEVENT),
    ('m', KEY_MISS),
];

/// Parses `notify-keyspace-events`; None on an unknown character.
pub fn parse(s: &str) -> Option<u32> {
    s.chars().try_fold(0, |flags, c| CLASSES.iter().find(|(k, _)| *k == c).map(|(_, bit)| flags | bit))
}

/// The string CONFIG GET shows, as Redis 7.0 writes it: `A` or the type
/// classes and `n`, then `K`, `E`, `m` (so with `A`, Redis 7.0 leaves out
/// `n`: kept, as clients compare the string).
pub fn to_string(flags: u32) -> String {
    let (types, rest) = CLASSES[1..].split_at(11);
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        s.extend(types.iter().filter(|(_, bit)| flags & bit != 0).map(|(c, _)| *c));
    }
    s.extend(rest.iter().filter(|(_, bit)| flags & bit != 0).map(|(c, _)| *c));
    s
}

/// The classes worth raising: none unless events are published somewhere.
pub fn effective(flags: u32) -> u32 {
    if flags & (KEYSPACE | KEYEVENT) == 0 {
        0
    } else {
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_as_redis_prints() {
        assert_eq!(parse("KEA").map(to_string).as_deref(), Some("AKE"));
        assert_eq!(parse("Ex$lshzgetmnd").map(to_string).as_deref(), Some("AEm"));
        assert_eq!(parse("Kl").map(to_string).as_deref(), Some("lK"));
        assert_eq!(parse("Kgn").map(to_string).as_deref(), Some("gnK"));
        assert_eq!(parse(""), Some(0));
        assert_eq!(parse("Q"), None);
        assert_eq!(effective(parse("A").unwrap()), 0);
    }
}
