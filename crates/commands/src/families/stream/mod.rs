//! Stream commands (Redis's t_stream.c): appending and trimming
//! (`add.rs`), ranges and reads, blocking ones included (`read.rs`),
//! consumer groups (`group.rs`), XINFO (`info.rs`), and the RDB form
//! (`convert.rs`).

pub mod add;
pub mod convert;
pub mod group;
pub mod info;
pub mod read;

use bytes::Bytes;
use ferrokv_storage::types::stream::{Fields, IdBuf, StreamId};

use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::container;
use crate::ctx::Reply;
use crate::errors::RedisError;
use crate::keyspec::{flags::*, Begin, KeySpec};

const X: &[&str] = &["stream"];

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// XREAD/XREADGROUP's keys: after STREAMS, the first half of the rest.
const STREAMS_RO: KeySpec = KeySpec {
    notes: "",
    flags: RO | ACCESS,
    begin: Begin::Keyword { keyword: "STREAMS", startfrom: 1 },
    find: crate::keyspec::Find::Range { lastkey: -1, keystep: 1, limit: 2 },
};

pub static COMMANDS: &[Command] = &[
    cmd!(
        "xadd",
        "5.0.0",
        -5,
        WRITE | DENYOOM | FAST,
        X,
        (1, 1, 1),
        add::xadd,
        "stream",
        "Appends a new entry to a stream",
        key_specs = &[KeySpec::at(1, RW | UPDATE).notes("UPDATE instead of INSERT because of the optional trimming feature")],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "xtrim",
        "5.0.0",
        -4,
        WRITE,
        X,
        (1, 1, 1),
        add::xtrim,
        "stream",
        "Trims the stream to (approximately if '~' is passed) a certain size",
        key_specs = &[KeySpec::at(1, RW | DELETE)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "xdel",
        "5.0.0",
        -3,
        WRITE | FAST,
        X,
        (1, 1, 1),
        add::xdel,
        "stream",
        "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
        key_specs = &[KeySpec::at(1, RW | DELETE)]
    ),
    cmd!("xlen", "5.0.0", 2, READONLY | FAST, X, (1, 1, 1), add::xlen, "stream", "Return the number of entries in a stream", key_specs = &[KeySpec::at(1, RO)]),
    cmd!(
        "xsetid",
        "5.0.0",
        -3,
        WRITE | DENYOOM | FAST,
        X,
        (1, 1, 1),
        add::xsetid,
        "stream",
        "An internal command for replicating stream values",
        key_specs = &[KeySpec::at(1, RW | UPDATE)]
    ),
    cmd!(
        "xrange",
        "5.0.0",
        -4,
        READONLY,
        X,
        (1, 1, 1),
        read::xrange,
        "stream",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval"
    ),
    cmd!(
        "xrevrange",
        "5.0.0",
        -4,
        READONLY,
        X,
        (1, 1, 1),
        read::xrevrange,
        "stream",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE"
    ),
    cmd!(
        "xread",
        "5.0.0",
        -4,
        READONLY | BLOCKING | MOVABLEKEYS,
        X,
        (0, 0, 0),
        read::xread,
        "stream",
        "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
        key_specs = &[STREAMS_RO]
    ),
    cmd!(
        "xreadgroup",
        "5.0.0",
        -7,
        WRITE | BLOCKING | MOVABLEKEYS,
        X,
        (0, 0, 0),
        read::xreadgroup,
        "stream",
        "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
        key_specs = &[KeySpec { begin: Begin::Keyword { keyword: "STREAMS", startfrom: 4 }, ..STREAMS_RO }]
    ),
    cmd!(
        "xack",
        "5.0.0",
        -4,
        WRITE | FAST,
        X,
        (1, 1, 1),
        group::xack,
        "stream",
        "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
        key_specs = &[KeySpec::at(1, RW | UPDATE)]
    ),
    cmd!(
        "xpending",
        "5.0.0",
        -3,
        READONLY,
        X,
        (1, 1, 1),
        group::xpending,
        "stream",
        "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "xclaim",
        "5.0.0",
        -6,
        WRITE | FAST,
        X,
        (1, 1, 1),
        group::xclaim,
        "stream",
        "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
        key_specs = &[KeySpec::at(1, RW | UPDATE)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "xautoclaim",
        "6.2.0",
        -6,
        WRITE | FAST,
        X,
        (1, 1, 1),
        group::xautoclaim,
        "stream",
        "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
        key_specs = &[KeySpec::at(1, RW | DELETE)],
        tips = &["nondeterministic_output"]
    ),
    container!("xgroup", "5.0.0", -2, group::XGROUP, "stream", "A container for consumer groups commands"),
    container!("xinfo", "5.0.0", -2, info::XINFO, "stream", "A container for stream introspection commands"),
];

/// Redis's `string2ull`: a canonical non-negative integer, or what
/// `strtoull` takes whole (leading blanks, a sign, leading zeros).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(n) = ferrokv_resp::parse_i64(s) {
        return u64::try_from(n).ok();
    }
    let mut i = s.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)).count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = s.get(i..).filter(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))?;
    let n = digits.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add((d - b'0') as u64))?;
    Some(if negative { n.wrapping_neg() } else { n })
}

/// A parsed ID and whether its sequence was given (false for `<ms>-*`).
pub struct ParsedId {
    pub id: StreamId,
    pub seq_given: bool,
}

/// `streamGenericParseIDOrReply`: `-`/`+` (unless `strict`), `<ms>` (the
/// sequence then `missing_seq`), `<ms>-<seq>`, and `<ms>-*` when
/// `allow_auto_seq`.
pub fn parse_id_full(arg: &[u8], missing_seq: u64, strict: bool, allow_auto_seq: bool) -> Result<ParsedId, RedisError> {
    let invalid = || RedisError::from(INVALID_ID);
    // C strings end at the first NUL.
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    if arg.len() > 127 {
        return Err(invalid());
    }
    match arg {
        b"-" | b"+" if strict => return Err(invalid()),
        b"-" => return Ok(ParsedId { id: StreamId::MIN, seq_given: true }),
        b"+" => return Ok(ParsedId { id: StreamId::MAX, seq_given: true }),
        _ => {}
    }
    let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
        Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms).ok_or_else(invalid)?;
    match seq {
        Some(b"*") if allow_auto_seq => Ok(ParsedId { id: StreamId::new(ms, 0), seq_given: false }),
        Some(seq) => Ok(ParsedId { id: StreamId::new(ms, string2ull(seq).ok_or_else(invalid)?), seq_given: true }),
        None => Ok(ParsedId { id: StreamId::new(ms, missing_seq), seq_given: true }),
    }
}

/// `streamParseIDOrReply`: `-` and `+` allowed.
pub fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, RedisError> {
    Ok(parse_id_full(arg, missing_seq, false, false)?.id)
}

/// `streamParseStrictIDOrReply` without the `<ms>-*` form.
pub fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, RedisError> {
    Ok(parse_id_full(arg, missing_seq, true, false)?.id)
}

/// An interval bound (`streamParseIntervalIDOrReply`): `(` excludes the
/// ID, moving a start up and an end down by one.
pub fn interval_bound(arg: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, RedisError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = parse_strict_id(&arg[1..], missing_seq)?;
        let moved = if start { id.next() } else { id.prev() };
        return moved.ok_or_else(|| RedisError::from(if start { "ERR invalid start ID for the interval" } else { "ERR invalid end ID for the interval" }));
    }
    parse_id(arg, missing_seq)
}

/// An ID as a reply or argument.
pub fn id_bytes(id: StreamId) -> Bytes {
    Bytes::copy_from_slice(id.format(&mut IdBuf::default()))
}

pub fn reply_id(r: &mut Reply<'_>, id: StreamId) {
    r.bulk(id.format(&mut IdBuf::default()));
}

/// One entry: `[id, [field, value, …]]`.
pub fn reply_entry(r: &mut Reply<'_>, id: StreamId, fields: Fields<'_>) {
    r.array(2);
    reply_id(r, id);
    r.array(fields.len() * 2);
    for (f, v) in fields {
        r.bulk(f);
        r.bulk(v);
    }
}

/// `-NOGROUP No such key … or consumer group …` (XREADGROUP's and
/// XPENDING's wording differ, hence the callers' texts).
pub fn no_group(text: String) -> RedisError {
    RedisError::from(format!("NOGROUP {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_parses_them() {
        let p = |a: &str| parse_id(a.as_bytes(), 7).map(|i| (i.ms, i.seq)).ok();
        assert_eq!(p("5"), Some((5, 7)));
        assert_eq!(p("5-3"), Some((5, 3)));
        assert_eq!(p("-"), Some((0, 0)));
        assert_eq!(p("+"), Some((u64::MAX, u64::MAX)));
        assert_eq!(p("18446744073709551615-18446744073709551615"), Some((u64::MAX, u64::MAX)));
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p("-5"), None);
        assert_eq!(p("5--1"), None);
        assert_eq!(p("007"), Some((7, 7)));
        assert_eq!(p("+7"), Some((7, 7)));
        assert_eq!(p("5-*"), None);
        assert_eq!(p("abc"), None);
        assert_eq!(p(""), None);
        assert!(parse_strict_id(b"+", 0).is_err());
        let auto = parse_id_full(b"5-*", 0, true, true).unwrap();
        assert_eq!((auto.id, auto.seq_given), (StreamId::new(5, 0), false));
    }
}
