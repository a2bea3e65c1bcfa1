//! Sorted-set commands (Redis's t_zset.c), the non-blocking ones.
//!
//! Sorted-set API first (ranges, option parsing, replies), then the
//! commands. The ZRANGE family shares `zrange_generic` and the algebra
//! commands `algebra`, as Redis's generic functions do.

use bytes::Bytes;
use ferrokv_storage::events::{GENERIC, ZSET};
use ferrokv_storage::types::tree::cmp;
use ferrokv_storage::{Set, Thresholds, Value, ZSet};
use rand::Rng;

use crate::args;
use crate::blocking::{mpop_form, timeout_ms, Unblock};
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::{Ctx, Reply};
use crate::errors::{self, CmdResult, RedisError};
use crate::families::keys::{parse_cursor, scan_options};
use crate::keyspec::{flags::*, KeySpec};
use crate::typed::{done, zset_read, zset_write, Event};
use crate::{argv, cmd};

const Z: &[&str] = &["sortedset"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "zadd",
        "1.2.0",
        -4,
        WRITE | DENYOOM | FAST,
        Z,
        (1, 1, 1),
        zadd,
        "sorted-set",
        "Add one or more members to a sorted set, or update its score if it already exists"
    ),
    cmd!(
        "zincrby",
        "1.2.0",
        4,
        WRITE | DENYOOM | FAST,
        Z,
        (1, 1, 1),
        zincrby,
        "sorted-set",
        "Increment the score of a member in a sorted set",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "zrem",
        "1.2.0",
        -3,
        WRITE | FAST,
        Z,
        (1, 1, 1),
        zrem,
        "sorted-set",
        "Remove one or more members from a sorted set",
        key_specs = &[KeySpec::at(1, RW | DELETE)]
    ),
    cmd!("zscore", "1.2.0", 3, READONLY | FAST, Z, (1, 1, 1), zscore, "sorted-set", "Get the score associated with the given member in a sorted set"),
    cmd!("zmscore", "6.2.0", -3, READONLY | FAST, Z, (1, 1, 1), zmscore, "sorted-set", "Get the score associated with the given members in a sorted set"),
    cmd!(
        "zcard",
        "1.2.0",
        2,
        READONLY | FAST,
        Z,
        (1, 1, 1),
        zcard,
        "sorted-set",
        "Get the number of members in a sorted set",
        key_specs = &[KeySpec::at(1, RO)]
    ),
    cmd!("zcount", "2.0.0", 4, READONLY | FAST, Z, (1, 1, 1), zcount, "sorted-set", "Count the members in a sorted set with scores within the given values"),
    cmd!(
        "zlexcount",
        "2.8.9",
        4,
        READONLY | FAST,
        Z,
        (1, 1, 1),
        zlexcount,
        "sorted-set",
        "Count the number of members in a sorted set between a given lexicographical range"
    ),
    cmd!("zrange", "1.2.0", -4, READONLY, Z, (1, 1, 1), zrange, "sorted-set", "Return a range of members in a sorted set"),
    cmd!(
        "zrangestore",
        "6.2.0",
        -5,
        WRITE | DENYOOM,
        Z,
        (1, 2, 1),
        zrangestore,
        "sorted-set",
        "Store a range of members from sorted set into another key",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS)]
    ),
    cmd!(
        "zrevrange",
        "1.2.0",
        -4,
        READONLY,
        Z,
        (1, 1, 1),
        zrevrange,
        "sorted-set",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low"
    ),
    cmd!("zrangebyscore", "1.0.5", -4, READONLY, Z, (1, 1, 1), zrangebyscore, "sorted-set", "Return a range of members in a sorted set, by score"),
    cmd!(
        "zrevrangebyscore",
        "2.2.0",
        -4,
        READONLY,
        Z,
        (1, 1, 1),
        zrevrangebyscore,
        "sorted-set",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low"
    ),
    cmd!("zrangebylex", "2.8.9", -4, READONLY, Z, (1, 1, 1), zrangebylex, "sorted-set", "Return a range of members in a sorted set, by lexicographical range"),
    cmd!(
        "zrevrangebylex",
        "2.8.9",
        -4,
        READONLY,
        Z,
        (1, 1, 1),
        zrevrangebylex,
        "sorted-set",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings."
    ),
    cmd!("zrank", "2.0.0", 3, READONLY | FAST, Z, (1, 1, 1), zrank, "sorted-set", "Determine the index of a member in a sorted set"),
    cmd!(
        "zrevrank",
        "2.0.0",
        3,
        READONLY | FAST,
        Z,
        (1, 1, 1),
        zrevrank,
        "sorted-set",
        "Determine the index of a member in a sorted set, with scores ordered from high to low"
    ),
    cmd!(
        "zremrangebyrank",
        "2.0.0",
        4,
        WRITE,
        Z,
        (1, 1, 1),
        zremrangebyrank,
        "sorted-set",
        "Remove all members in a sorted set within the given indexes",
        key_specs = &[KeySpec::at(1, RW | DELETE)]
    ),
    cmd!(
        "zremrangebyscore",
        "1.2.0",
        4,
        WRITE,
        Z,
        (1, 1, 1),
        zremrangebyscore,
        "sorted-set",
        "Remove all members in a sorted set within the given scores",
        key_specs = &[KeySpec::at(1, RW | DELETE)]
    ),
    cmd!(
        "zremrangebylex",
        "2.8.9",
        4,
        WRITE,
        Z,
        (1, 1, 1),
        zremrangebylex,
        "sorted-set",
        "Remove all members in a sorted set between the given lexicographical range",
        key_specs = &[KeySpec::at(1, RW | DELETE)]
    ),
    cmd!(
        "zpopmin",
        "5.0.0",
        -2,
        WRITE | FAST,
        Z,
        (1, 1, 1),
        zpopmin,
        "sorted-set",
        "Remove and return members with the lowest scores in a sorted set",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "zpopmax",
        "5.0.0",
        -2,
        WRITE | FAST,
        Z,
        (1, 1, 1),
        zpopmax,
        "sorted-set",
        "Remove and return members with the highest scores in a sorted set",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "zmpop",
        "7.0.0",
        -4,
        WRITE | MOVABLEKEYS,
        Z,
        (0, 0, 0),
        zmpop,
        "sorted-set",
        "Remove and return members with scores in a sorted set",
        key_specs = &[KeySpec::counted(1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "zunion",
        "6.2.0",
        -3,
        READONLY | MOVABLEKEYS,
        Z,
        (0, 0, 0),
        zunion,
        "sorted-set",
        "Add multiple sorted sets",
        key_specs = &[KeySpec::counted(1, RO | ACCESS)]
    ),
    cmd!(
        "zinter",
        "6.2.0",
        -3,
        READONLY | MOVABLEKEYS,
        Z,
        (0, 0, 0),
        zinter,
        "sorted-set",
        "Intersect multiple sorted sets",
        key_specs = &[KeySpec::counted(1, RO | ACCESS)]
    ),
    cmd!(
        "zdiff",
        "6.2.0",
        -3,
        READONLY | MOVABLEKEYS,
        Z,
        (0, 0, 0),
        zdiff,
        "sorted-set",
        "Subtract multiple sorted sets",
        key_specs = &[KeySpec::counted(1, RO | ACCESS)]
    ),
    cmd!(
        "zunionstore",
        "2.0.0",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        Z,
        (1, 1, 1),
        zunionstore,
        "sorted-set",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::counted(2, RO | ACCESS)]
    ),
    cmd!(
        "zinterstore",
        "2.0.0",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        Z,
        (1, 1, 1),
        zinterstore,
        "sorted-set",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::counted(2, RO | ACCESS)]
    ),
    cmd!(
        "zdiffstore",
        "6.2.0",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        Z,
        (1, 1, 1),
        zdiffstore,
        "sorted-set",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::counted(2, RO | ACCESS)]
    ),
    cmd!(
        "zintercard",
        "7.0.0",
        -3,
        READONLY | MOVABLEKEYS,
        Z,
        (0, 0, 0),
        zintercard,
        "sorted-set",
        "Intersect multiple sorted sets and return the cardinality of the result",
        key_specs = &[KeySpec::counted(1, RO | ACCESS)]
    ),
    cmd!(
        "zrandmember",
        "6.2.0",
        -2,
        READONLY,
        Z,
        (1, 1, 1),
        zrandmember,
        "sorted-set",
        "Get one or multiple random elements from a sorted set",
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "zscan",
        "2.8.0",
        -3,
        READONLY,
        Z,
        (1, 1, 1),
        zscan,
        "sorted-set",
        "Incrementally iterate sorted sets elements and associated scores",
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "bzpopmin",
        "5.0.0",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        Z,
        (1, -2, 1),
        bzpopmin,
        "sorted-set",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        key_specs = &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "bzpopmax",
        "5.0.0",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        Z,
        (1, -2, 1),
        bzpopmax,
        "sorted-set",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        key_specs = &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "bzmpop",
        "7.0.0",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        Z,
        (0, 0, 0),
        bzmpop,
        "sorted-set",
        "Remove and return members with scores in a sorted set or block until one is available",
        key_specs = &[KeySpec::counted(2, RW | ACCESS | DELETE)]
    ),
];

/* ---------------------------------------------------------------------
 * Sorted set API
 * ------------------------------------------------------------------- */

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

/// `zslParseRange`: `(` makes a bound exclusive; the number is read with
/// bare `strtod`. NaN is refused.
fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.first() {
        Some(b'(') => args::strtod(&arg[1..]).map(|v| (v, true)),
        _ => args::strtod(arg).map(|v| (v, false)),
    }
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, RedisError> {
    let (min, minex) = score_bound(min).ok_or(NOT_FLOAT_RANGE)?;
    let (max, maxex) = score_bound(max).ok_or(NOT_FLOAT_RANGE)?;
    Ok(ScoreRange { min, max, minex, maxex })
}

#[derive(Clone)]
enum Lex {
    NegInf,
    PosInf,
    Incl(Bytes),
    Excl(Bytes),
}

fn lex_bound(arg: &Bytes) -> Result<Lex, RedisError> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Ok(Lex::NegInf),
        Some(b'+') if arg.len() == 1 => Ok(Lex::PosInf),
        Some(b'[') => Ok(Lex::Incl(arg.slice(1..))),
        Some(b'(') => Ok(Lex::Excl(arg.slice(1..))),
        _ => Err(NOT_LEX_RANGE.into()),
    }
}

struct LexRange {
    min: Lex,
    max: Lex,
}

impl LexRange {
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            Lex::NegInf => true,
            Lex::PosInf => false,
            Lex::Incl(x) => m >= &x[..],
            Lex::Excl(x) => m > &x[..],
        }
    }
    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            Lex::NegInf => false,
            Lex::PosInf => true,
            Lex::Incl(x) => m <= &x[..],
            Lex::Excl(x) => m < &x[..],
        }
    }
}

/// Ranks [start, end) of the elements within a score range.
fn score_span(z: &ZSet, r: &ScoreRange) -> (usize, usize) {
    let start = z.rank_where(|s, _| r.gte_min(s));
    let end = z.rank_where(|s, _| !r.lte_max(s)).max(start);
    (start, end)
}

/// Ranks [start, end) of the elements in a lex range, walked from the end
/// `rev` names. Lex ranges assume one score for every member; with several,
/// the answer is whatever Redis's walk gives, so it is reproduced: first
/// `zzlIsInLexRange` (the last member must be within min and the first
/// within max), then, for a listpack, `zzlFirstInLexRange` /
/// `zzlLastInLexRange` (the first member from that end within the near
/// bound, or nothing if it is outside the far one) and on while members stay
/// within the far bound. A large set (Redis's skiplist, whose walk depends on
/// its random levels) is searched by halving, which agrees whenever the
/// members are in lex order.
fn lex_span(z: &ZSet, r: &LexRange, rev: bool) -> (usize, usize) {
    let len = z.len();
    if z.encoding() == "listpack" {
        return walked_lex_span(&z.range(0, len), r, rev);
    }
    let member = |i: usize| z.range(i, 1).pop().map(|(m, _)| m).unwrap_or_default();
    if len == 0 || !r.gte_min(&member(len - 1)) || !r.lte_max(&member(0)) {
        return (0, 0);
    }
    let start = z.rank_where(|_, m| r.gte_min(m));
    let end = z.rank_where(|_, m| !r.lte_max(m)).max(start);
    (start, end)
}

/// [`lex_span`] over a listpack's elements, in order.
fn walked_lex_span(items: &[(Bytes, f64)], r: &LexRange, rev: bool) -> (usize, usize) {
    let (Some((first, _)), Some((last, _))) = (items.first(), items.last()) else { return (0, 0) };
    if !r.gte_min(last) || !r.lte_max(first) {
        return (0, 0);
    }
    if rev {
        let Some(last) = items.iter().rposition(|(m, _)| r.lte_max(m)) else { return (0, 0) };
        if !r.gte_min(&items[last].0) {
            return (0, 0);
        }
        let first = items[..last].iter().rposition(|(m, _)| !r.gte_min(m)).map_or(0, |i| i + 1);
        (first, last + 1)
    } else {
        let Some(first) = items.iter().position(|(m, _)| r.gte_min(m)) else { return (0, 0) };
        if !r.lte_max(&items[first].0) {
            return (0, 0);
        }
        let end = items[first..].iter().position(|(m, _)| !r.lte_max(m)).map_or(items.len(), |i| first + i);
        (first, end)
    }
}

/// ZRANGE…BYLEX on a listpack, as `genericZrangebylexCommand` walks it: from
/// the first member in range (see [`lex_span`]), skip `offset` members
/// without looking at them, then take members while they stay within the
/// far bound. With mixed scores that is not a span of members in range.
fn lex_walk(z: &ZSet, r: &LexRange, rev: bool, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    let items = z.range(0, z.len());
    let (s, e) = walked_lex_span(&items, r, rev);
    if s == e || offset < 0 {
        return Vec::new();
    }
    let limit = if limit < 0 { usize::MAX } else { limit as usize };
    let offset = offset as usize;
    if rev {
        items[..e].iter().rev().skip(offset).take_while(|(m, _)| r.gte_min(m)).take(limit).cloned().collect()
    } else {
        items[s..].iter().skip(offset).take_while(|(m, _)| r.lte_max(m)).take(limit).cloned().collect()
    }
}

/// Rank normalization of ZRANGE and ZREMRANGEBYRANK: inclusive ranks.
fn rank_span(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    start = start.max(0);
    if start > end || start >= len {
        return None;
    }
    end = end.min(len - 1);
    Some((start as usize, end as usize))
}

/// Members (with scores when asked): flat in RESP2, pairs in RESP3.
fn reply_elements(r: &mut Reply<'_>, items: &[(Bytes, f64)], withscores: bool) {
    let resp3 = r.proto == ferrokv_resp::Protocol::Resp3;
    r.array(if withscores && !resp3 { items.len() * 2 } else { items.len() });
    for (m, s) in items {
        if withscores && resp3 {
            r.array(2);
        }
        r.bulk(m);
        if withscores {
            r.double(*s);
        }
    }
}

fn reversed(z: &ZSet, start: usize, count: usize) -> Vec<(Bytes, f64)> {
    // Descending order from rank `start` counted from the top.
    let len = z.len();
    if start >= len {
        return Vec::new();
    }
    let last = len - 1 - start;
    let first = (last + 1).saturating_sub(count);
    let mut v = z.range(first, last + 1 - first);
    v.reverse();
    v
}

#[derive(Clone, Copy, PartialEq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The elements a ZRANGE-family request selects, in reply order.
fn select(z: &ZSet, kind: RangeKind, rev: bool, min: &Bytes, max: &Bytes, offset: i64, limit: i64) -> Result<Vec<(Bytes, f64)>, RedisError> {
    let take = |span: (usize, usize)| -> Vec<(Bytes, f64)> {
        let (s, e) = span;
        if offset < 0 {
            return Vec::new();
        }
        let total = e - s;
        let skip = (offset as usize).min(total);
        let n = if limit < 0 { total - skip } else { (limit as usize).min(total - skip) };
        if rev {
            let len = z.len();
            reversed(z, len - e + skip, n)
        } else {
            z.range(s + skip, n)
        }
    };
    Ok(match kind {
        RangeKind::Rank | RangeKind::Auto => {
            let start = args::int(min)?;
            let end = args::int(max)?;
            match rank_span(start, end, z.len()) {
                None => Vec::new(),
                Some((s, e)) if rev => reversed(z, s, e - s + 1),
                Some((s, e)) => z.range(s, e - s + 1),
            }
        }
        RangeKind::Score => take(score_span(z, &score_range(min, max)?)),
        RangeKind::Lex => {
            let range = LexRange { min: lex_bound(min)?, max: lex_bound(max)? };
            if z.encoding() == "listpack" {
                lex_walk(z, &range, rev, offset, limit)
            } else {
                take(lex_span(z, &range, rev))
            }
        }
    })
}

struct RangeRequest {
    kind: RangeKind,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

/// `zrangeGenericCommand`'s option parsing. `fixed` presets the kind and
/// direction for the legacy commands (which then refuse BYSCORE/REV…).
fn parse_range(args: &[Bytes], opts_from: usize, kind: RangeKind, rev: Option<bool>, store: bool) -> Result<RangeRequest, RedisError> {
    let mut req = RangeRequest { kind, rev: rev.unwrap_or(false), withscores: false, offset: 0, limit: -1 };
    let (mut dir_set, mut limit_given) = (rev.is_some(), false);
    let mut j = opts_from;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && args::is(a, "withscores") {
            req.withscores = true;
        } else if args::is(a, "limit") && left >= 2 {
            req.offset = args::int(&args[j + 1])?;
            req.limit = args::int(&args[j + 2])?;
            limit_given = true;
            j += 2;
        } else if !dir_set && args::is(a, "rev") {
            req.rev = true;
            dir_set = true;
        } else if req.kind == RangeKind::Auto && args::is(a, "bylex") {
            req.kind = RangeKind::Lex;
        } else if req.kind == RangeKind::Auto && args::is(a, "byscore") {
            req.kind = RangeKind::Score;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    if req.kind == RangeKind::Auto {
        req.kind = RangeKind::Rank;
    }
    if limit_given && req.kind == RangeKind::Rank {
        return Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX".into());
    }
    if req.withscores && req.kind == RangeKind::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into());
    }
    Ok(req)
}

fn zrange_generic(ctx: &mut Ctx<'_>, args: &[Bytes], src: usize, kind: RangeKind, rev: Option<bool>, store: bool) -> CmdResult {
    let req = parse_range(args, src + 3, kind, rev, store)?;
    // REV with BYSCORE/BYLEX gives the range as max then min.
    let (mut min, mut max) = (&args[src + 1], &args[src + 2]);
    if req.rev && req.kind != RangeKind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    // Ranges are validated before the key is looked at, as in Redis.
    match req.kind {
        RangeKind::Score => drop(score_range(min, max)?),
        RangeKind::Lex => drop((lex_bound(min)?, lex_bound(max)?)),
        _ => drop((args::int(min)?, args::int(max)?)),
    }
    let items = match zset_read(&mut ctx.view, &args[src])? {
        Some(z) => select(z, req.kind, req.rev, min, max, req.offset, req.limit)?,
        None => Vec::new(),
    };
    if store {
        let limits = ctx.view.thresholds();
        let n = store_result(ctx, &args[1], &items, &limits, "zrangestore");
        ctx.int(n as i64);
    } else {
        let (_, mut r) = ctx.parts();
        reply_elements(&mut r, &items, req.withscores);
    }
    Ok(())
}

/// Writes a computed sorted set to `dst` (deleting it when empty), raising
/// `event` (or `del`); returns its size.
pub(crate) fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], items: &[(Bytes, f64)], limits: &Thresholds, event: &'static str) -> usize {
    if items.is_empty() {
        if ctx.view.delete(dst) {
            ctx.notify(GENERIC, "del", dst);
        }
        return 0;
    }
    let mut z = ZSet::new_for(0, limits);
    for (m, s) in items {
        z.set(m, *s, limits);
    }
    ctx.view.set(dst, Value::ZSet(z), false);
    ctx.notify(ZSET, event, dst);
    items.len()
}

/* ---------------------------------------------------------------------
 * Sorted set commands
 * ------------------------------------------------------------------- */

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `zaddGenericCommand`.
fn zadd_generic(ctx: &mut Ctx<'_>, args: &[Bytes], mut f: AddFlags) -> CmdResult {
    let mut idx = 2;
    while idx < args.len() {
        let o = &args[idx];
        if args::is(o, "nx") {
            f.nx = true;
        } else if args::is(o, "xx") {
            f.xx = true;
        } else if args::is(o, "ch") {
            f.ch = true;
        } else if args::is(o, "incr") {
            f.incr = true;
        } else if args::is(o, "gt") {
            f.gt = true;
        } else if args::is(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let pairs = &args[idx..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    if f.nx && f.xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    // At most one of GT, LT and NX.
    if [f.gt, f.lt, f.nx].into_iter().filter(|&set| set).count() > 1 {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if f.incr && pairs.len() > 2 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let scores: Vec<f64> = pairs.chunks(2).map(|p| args::float(&p[0])).collect::<Result<_, _>>()?;
    let key = &args[1];
    let limits = ctx.view.thresholds();
    let exists = match zset_write(&mut ctx.view, key)? {
        Some(_) => true,
        None if f.xx => false,
        None => {
            let z = ZSet::new_for(pairs[1].len(), &limits);
            ctx.view.set(key, Value::ZSet(z), false);
            true
        }
    };
    let (mut added, mut updated, mut processed, mut last) = (0, 0, 0, 0.0);
    if exists {
        let z = zset_write(&mut ctx.view, key)?.expect("exists");
        for (pair, &score) in pairs.chunks(2).zip(&scores) {
            let member = &pair[1];
            match z.score(member) {
                Some(cur) => {
                    if f.nx {
                        continue;
                    }
                    let mut new = score;
                    if f.incr {
                        new += cur;
                        if new.is_nan() {
                            return Err("ERR resulting score is not a number (NaN)".into());
                        }
                    }
                    if (f.lt && new >= cur) || (f.gt && new <= cur) {
                        continue;
                    }
                    last = new;
                    processed += 1;
                    if new != cur {
                        z.set(member, new, &limits);
                        updated += 1;
                    }
                }
                None if !f.xx => {
                    z.set(member, score, &limits);
                    last = score;
                    added += 1;
                    processed += 1;
                }
                None => {}
            }
        }
        let empty = z.is_empty();
        if added + updated > 0 || empty {
            done(&mut ctx.view, key, empty, (ZSET, if f.incr { "zincr" } else { "zadd" }));
        }
    }
    if f.incr {
        if processed > 0 {
            ctx.double(last);
        } else {
            ctx.null();
        }
    } else {
        ctx.int(if f.ch { added + updated } else { added });
    }
    Ok(())
}

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] */
pub(crate) fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, AddFlags::default())
}

/* ZINCRBY key increment member */
fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, AddFlags { incr: true, ..Default::default() })
}

/* ZREM key member [member ...] */
fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(z) = zset_write(&mut ctx.view, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let n = args[2..].iter().filter(|m| z.remove(m)).count();
    let empty = z.is_empty();
    if n > 0 {
        done(&mut ctx.view, &args[1], empty, (ZSET, "zrem"));
    }
    ctx.int(n as i64);
    Ok(())
}

/* ZSCORE key member */
fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    match zset_read(view, &args[1])?.and_then(|z| z.score(&args[2])) {
        Some(s) => r.double(s),
        None => r.null(),
    }
    Ok(())
}

/* ZMSCORE key member [member ...] */
fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let z = zset_read(view, &args[1])?;
    r.array(args.len() - 2);
    for m in &args[2..] {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => r.double(s),
            None => r.null(),
        }
    }
    Ok(())
}

/* ZCARD key */
fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = zset_read(&mut ctx.view, &args[1])?.map_or(0, |z| z.len());
    ctx.int(n as i64);
    Ok(())
}

/* ZCOUNT key min max */
fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = score_range(&args[2], &args[3])?;
    let n = zset_read(&mut ctx.view, &args[1])?.map_or(0, |z| {
        let (s, e) = score_span(z, &range);
        e - s
    });
    ctx.int(n as i64);
    Ok(())
}

/* ZLEXCOUNT key min max */
fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = LexRange { min: lex_bound(&args[2])?, max: lex_bound(&args[3])? };
    let n = zset_read(&mut ctx.view, &args[1])?.map_or(0, |z| {
        let (s, e) = lex_span(z, &range, false);
        e - s
    });
    ctx.int(n as i64);
    Ok(())
}

fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, RangeKind::Auto, None, false)
}

fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 2, RangeKind::Auto, None, true)
}

fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, RangeKind::Rank, Some(true), false)
}

fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, RangeKind::Score, Some(false), false)
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, RangeKind::Score, Some(true), false)
}

fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, RangeKind::Lex, Some(false), false)
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, RangeKind::Lex, Some(true), false)
}

fn rank_generic(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let (view, mut r) = ctx.parts();
    match zset_read(view, &args[1])?.and_then(|z| z.rank(&args[2]).map(|k| if rev { z.len() - 1 - k } else { k })) {
        Some(k) => r.int(k as i64),
        None => r.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// ZREMRANGEBY*: removes ranks [start, end) computed by `span`.
fn zremrange(ctx: &mut Ctx<'_>, key: &[u8], event: &'static str, span: impl FnOnce(&ZSet) -> Option<(usize, usize)>) -> CmdResult {
    let Some(z) = zset_write(&mut ctx.view, key)? else {
        ctx.int(0);
        return Ok(());
    };
    let Some((s, e)) = span(z).filter(|(s, e)| e > s) else {
        ctx.int(0);
        return Ok(());
    };
    for (m, _) in z.range(s, e - s) {
        z.remove(&m);
    }
    let empty = z.is_empty();
    done(&mut ctx.view, key, empty, (ZSET, event));
    ctx.int((e - s) as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, end) = (args::int(&args[2])?, args::int(&args[3])?);
    zremrange(ctx, &args[1], "zremrangebyrank", |z| rank_span(start, end, z.len()).map(|(s, e)| (s, e + 1)))
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = score_range(&args[2], &args[3])?;
    zremrange(ctx, &args[1], "zremrangebyscore", |z| Some(score_span(z, &range)))
}

fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = LexRange { min: lex_bound(&args[2])?, max: lex_bound(&args[3])? };
    zremrange(ctx, &args[1], "zremrangebylex", |z| Some(lex_span(z, &range, false)))
}

/// Pops `count` elements from the low (`max == false`) or high end.
fn pop_elements(z: &mut ZSet, max: bool, count: usize) -> Vec<(Bytes, f64)> {
    let n = count.min(z.len());
    let items = if max { reversed(z, 0, n) } else { z.range(0, n) };
    for (m, _) in &items {
        z.remove(m);
    }
    items
}

/// ZPOPMIN/ZPOPMAX key [count].
fn zpop(ctx: &mut Ctx<'_>, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let count = match args.get(2) {
        Some(c) => {
            let n = args::int(c)?;
            if n < 0 {
                return Err("ERR value is out of range, must be positive".into());
            }
            Some(n as usize)
        }
        None => None,
    };
    let key = &args[1];
    let (view, mut r) = ctx.parts();
    let Some(z) = zset_write(view, key)? else {
        r.array(0);
        return Ok(());
    };
    let items = pop_elements(z, max, count.unwrap_or(1));
    let empty = z.is_empty();
    match count {
        // A single pop is a flat [member, score] in both protocols.
        None => {
            r.array(items.len() * 2);
            for (m, s) in &items {
                r.bulk(m);
                r.double(*s);
            }
        }
        Some(_) => reply_elements(&mut r, &items, true),
    }
    if !items.is_empty() {
        done(view, key, empty, pop_event(max));
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop(ctx, args, true)
}

/// The event a pop raises.
fn pop_event(max: bool) -> Event {
    (ZSET, if max { "zpopmax" } else { "zpopmin" })
}

/// `numkeys key [key ...] MIN|MAX [COUNT count]` starting at `at`;
/// returns whether MAX was asked.
fn parse_mpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), RedisError> {
    crate::shared::mpop_args(args, at, "max", "min")
}

/// Pops and replies `[key, [[member, score] ...]]`; false if no zset there.
fn mpop_from(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, key: &Bytes, max: bool, count: usize) -> Result<bool, RedisError> {
    let Some(z) = zset_write(view, key)? else { return Ok(false) };
    let items = pop_elements(z, max, count);
    let empty = z.is_empty();
    r.array(2);
    r.bulk(key);
    r.array(items.len());
    for (m, s) in &items {
        r.array(2);
        r.bulk(m);
        r.double(*s);
    }
    done(view, key, empty, pop_event(max));
    Ok(true)
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_mpop(args, 1)?;
    if !ctx.serve_first(args, keys, |a, k| mpop_form("ZMPOP", a, 1, k), |view, r, key| mpop_from(view, r, key, max, count))? {
        ctx.null_array();
    }
    Ok(())
}

/// BZPOPMIN/BZPOPMAX: `[key, member, score]`.
fn serve_bzpop(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, key: &Bytes, max: bool) -> Result<bool, RedisError> {
    let Some(z) = zset_write(view, key)? else { return Ok(false) };
    let (m, s) = pop_elements(z, max, 1).pop().expect("sorted sets are never empty");
    let empty = z.is_empty();
    r.array(3);
    r.bulk(key);
    r.bulk(&m);
    r.double(s);
    done(view, key, empty, pop_event(max));
    Ok(true)
}

fn bzpop(ctx: &mut Ctx<'_>, args: &[Bytes], unblock: &'static Unblock) -> CmdResult {
    let timeout = timeout_ms(&args[args.len() - 1])?;
    ctx.pop_or_block(args, &args[1..args.len() - 1], timeout, unblock)
}

/// A served BZPOPMIN replicates as ZPOPMIN of the key that served it.
static BZPOPMIN: Unblock = Unblock { serve: |v, r, _, k, _| serve_bzpop(v, r, k, false), replicate_as: Some(|_, k| argv!["ZPOPMIN", k]), independent: false };
static BZPOPMAX: Unblock = Unblock { serve: |v, r, _, k, _| serve_bzpop(v, r, k, true), replicate_as: Some(|_, k| argv!["ZPOPMAX", k]), independent: false };
static BZMPOP: Unblock =
    Unblock { serve: |v, r, a, k, _| serve_bzmpop(v, r, a, k), replicate_as: Some(|a, k| mpop_form("ZMPOP", a, 2, k)), independent: false };

fn bzpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, &BZPOPMIN)
}

fn bzpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, &BZPOPMAX)
}

fn serve_bzmpop(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, args: &[Bytes], key: &Bytes) -> Result<bool, RedisError> {
    let (_, max, count) = parse_mpop(args, 2)?;
    mpop_from(view, r, key, max, count)
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = timeout_ms(&args[1])?;
    let (keys, _, _) = parse_mpop(args, 2)?;
    ctx.pop_or_block(args, keys, timeout, &BZMPOP)
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// A source of ZUNION & co.: a sorted set, or a set whose members score 1.
fn source_elements(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Vec<(Bytes, f64)>>, RedisError> {
    Ok(match ctx.view.get(key).map(|e| &e.value) {
        None => None,
        Some(Value::ZSet(z)) => Some(z.range(0, usize::MAX)),
        Some(Value::Set(s)) => Some(Set::members(s).into_iter().map(|m| (m, 1.0)).collect()),
        Some(_) => return Err(errors::WRONGTYPE.into()),
    })
}

fn aggregate(a: Aggregate, acc: f64, v: f64) -> f64 {
    match a {
        Aggregate::Sum => {
            let s = acc + v;
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Aggregate::Min => acc.min(v),
        Aggregate::Max => acc.max(v),
    }
}

/// `zunionInterDiffGenericCommand`. `numkeys_at` is the index of numkeys;
/// `dst` is set for the STORE variants.
fn algebra(ctx: &mut Ctx<'_>, args: &[Bytes], numkeys_at: usize, op: Op, dst: Option<&Bytes>) -> CmdResult {
    let n = args::int(&args[numkeys_at])?;
    if n < 1 {
        return Err(format!("ERR at least 1 input key is needed for '{}' command", ctx.name).into());
    }
    let n = n as usize;
    if n > args.len() - numkeys_at - 1 {
        return Err(errors::SYNTAX.into());
    }
    let keys = &args[numkeys_at + 1..numkeys_at + 1 + n];
    let mut sources = Vec::with_capacity(n);
    for k in keys {
        sources.push(source_elements(ctx, k)?);
    }
    let mut weights = vec![1.0f64; n];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut j = numkeys_at + 1 + n;
    while j < args.len() {
        let remaining = args.len() - j;
        if op != Op::Diff && remaining > n && args::is(&args[j], "weights") {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = args::float(&args[j + 1 + i]).map_err(|_| RedisError::from("ERR weight value is not a float"))?;
            }
            j += 1 + n;
        } else if op != Op::Diff && remaining >= 2 && args::is(&args[j], "aggregate") {
            let a = &args[j + 1];
            agg = if args::is(a, "sum") {
                Aggregate::Sum
            } else if args::is(a, "min") {
                Aggregate::Min
            } else if args::is(a, "max") {
                Aggregate::Max
            } else {
                return Err(errors::SYNTAX.into());
            };
            j += 2;
        } else if dst.is_none() && args::is(&args[j], "withscores") {
            withscores = true;
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let weigh = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut result: indexmap::IndexMap<Bytes, f64> = indexmap::IndexMap::new();
    match op {
        Op::Union => {
            for (src, w) in sources.iter().zip(&weights) {
                for (m, s) in src.iter().flatten() {
                    let v = weigh(*s, *w);
                    result.entry(m.clone()).and_modify(|acc| *acc = aggregate(agg, *acc, v)).or_insert(v);
                }
            }
        }
        Op::Inter => {
            if sources.iter().all(|s| s.as_ref().is_some_and(|v| !v.is_empty())) {
                let maps: Vec<std::collections::HashMap<&Bytes, f64>> =
                    sources.iter().map(|s| s.as_ref().expect("checked").iter().map(|(m, s)| (m, *s)).collect()).collect();
                for (m, s) in sources[0].as_ref().expect("checked") {
                    let mut acc = weigh(*s, weights[0]);
                    let mut all = true;
                    for (i, map) in maps.iter().enumerate().skip(1) {
                        match map.get(m) {
                            Some(v) => acc = aggregate(agg, acc, weigh(*v, weights[i])),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        result.insert(m.clone(), acc);
                    }
                }
            }
        }
        Op::Diff => {
            if let Some(Some(first)) = sources.first() {
                for (m, s) in first {
                    if !sources[1..].iter().flatten().any(|o| o.iter().any(|(x, _)| x == m)) {
                        result.insert(m.clone(), *s);
                    }
                }
            }
        }
    }
    let mut items: Vec<(Bytes, f64)> = result.into_iter().collect();
    items.sort_by(|a, b| cmp((a.1, &a.0), (b.1, &b.0)));
    match dst {
        Some(dst) => {
            let limits = ctx.view.thresholds();
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            let n = store_result(ctx, dst, &items, &limits, event);
            ctx.int(n as i64);
        }
        None => {
            let (_, mut r) = ctx.parts();
            reply_elements(&mut r, &items, withscores);
        }
    }
    Ok(())
}

fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, 1, Op::Union, None)
}

fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, 1, Op::Inter, None)
}

fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, 1, Op::Diff, None)
}

fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, 2, Op::Union, Some(&args[1]))
}

fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, 2, Op::Inter, Some(&args[1]))
}

fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, 2, Op::Diff, Some(&args[1]))
}

/* ZINTERCARD numkeys key [key ...] [LIMIT limit] */
fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numkeys = args::int(&args[1])?;
    if numkeys <= 0 {
        return Err("ERR at least 1 input key is needed for 'zintercard' command".into());
    }
    if numkeys as usize > args.len() - 2 {
        return Err(errors::SYNTAX.into());
    }
    let n = numkeys as usize;
    let mut limit = 0i64;
    let mut i = 2 + n;
    while i < args.len() {
        if args::is(&args[i], "limit") && i + 1 < args.len() {
            limit = args::int_or(&args[i + 1], "ERR LIMIT can't be negative")?;
            if limit < 0 {
                return Err("ERR LIMIT can't be negative".into());
            }
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let mut sources = Vec::with_capacity(n);
    for k in &args[2..2 + n] {
        sources.push(source_elements(ctx, k)?);
    }
    let count = if sources.iter().all(|s| s.is_some()) {
        let first = sources[0].as_ref().expect("checked");
        let sets: Vec<std::collections::HashSet<&Bytes>> = sources.iter().map(|s| s.as_ref().expect("checked").iter().map(|(m, _)| m).collect()).collect();
        first.iter().filter(|(m, _)| sets.iter().all(|s| s.contains(m))).count()
    } else {
        0
    };
    let count = if limit > 0 { count.min(limit as usize) } else { count };
    ctx.int(count as i64);
    Ok(())
}

/* ZRANDMEMBER key [count [WITHSCORES]] */
fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 || (args.len() == 4 && !args::is(&args[3], "withscores")) {
        return Err(errors::SYNTAX.into());
    }
    let withscores = args.len() == 4;
    let count = args.get(2).map(|c| crate::shared::random_count(c, withscores)).transpose()?;
    let mut rng = rand::rng();
    let (view, mut r) = ctx.parts();
    let z = zset_read(view, &args[1])?;
    let Some(count) = count else {
        match z {
            Some(z) => r.bulk(&z.element_at(rng.random_range(0..z.len())).expect("index below len").0),
            None => r.null(),
        }
        return Ok(());
    };
    let Some(z) = z else {
        r.array(0);
        return Ok(());
    };
    let len = z.len();
    let items: Vec<(Bytes, f64)> = if count >= 0 && count as usize >= len {
        // The whole set, walked from the top as Redis does.
        reversed(z, 0, len)
    } else {
        // A score takes up to 24 bytes and its framing.
        let longest = || (0..len).filter_map(|i| z.element_at(i)).map(|(m, _)| m.len() + if withscores { 32 } else { 0 }).max().unwrap_or(0);
        crate::shared::random_picks(len, count, longest)?.into_iter().map(|i| z.element_at(i).expect("index below len")).collect()
    };
    reply_elements(&mut r, &items, withscores);
    Ok(())
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count] */
fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    // A missing key answers before the options are read, as Redis's.
    let Some(z) = zset_read(&mut ctx.view, &args[1])? else {
        crate::families::keys::reply_scan(ctx, 0, &[]);
        return Ok(());
    };
    let opts = scan_options(args, 3, false)?;
    let mut items = Vec::new();
    let next = z.scan(cursor, opts.count, |m, s| {
        if opts.matches(m) {
            items.push(Bytes::copy_from_slice(m));
            items.push(Bytes::from(ferrokv_resp::encode::format_double(s)));
        }
    });
    crate::families::keys::reply_scan(ctx, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::{words, Keyspace};

    #[test]
    fn zadd_and_zrange_withscores() {
        let ks = Keyspace::new();
        assert_eq!(ks.reply(&["ZADD", "z", "2", "b", "1", "a"]), ":2\r\n");
        assert_eq!(ks.reply(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
        assert_eq!(ks.reply(&["ZADD", "z", "NX", "XX", "1", "a"]), "-ERR XX and NX options at the same time are not compatible\r\n");
    }

    #[test]
    fn bzpopmax_blocks_then_replicates_as_zpopmax() {
        let ks = Keyspace::new();
        let out = ks.run(&["BZPOPMAX", "z", "0"]);
        let block = out.block.expect("blocks");
        assert_eq!(block.timeout_ms, 0);
        assert_eq!(words(&block.unblock.replicate_as.expect("pops propagate")(&block.args, &block.keys[0])), ["ZPOPMAX", "z"]);
        ks.run(&["ZADD", "z", "1", "a"]);
        assert_eq!(words(&ks.run(&["BZMPOP", "0", "1", "z", "MIN"]).rewrite.expect("rewritten")[0]), ["ZMPOP", "1", "z", "MIN"]);
    }

    #[test]
    fn zunionstore_without_keys_names_the_command() {
        let ks = Keyspace::new();
        assert_eq!(ks.reply(&["ZUNIONSTORE", "d", "0", "x"]), "-ERR at least 1 input key is needed for 'zunionstore' command\r\n");
    }
}
