//! XRANGE, XREVRANGE, XREAD and XREADGROUP, blocking forms included: a
//! reader that finds nothing new waits on its keys and is served by the
//! XADD (or the XGROUP DESTROY) that wakes them, through the same waiting
//! machinery as BLPOP.

use bytes::Bytes;
use ferrokv_storage::types::stream::{Entry, Stream, StreamId};
use ferrokv_storage::View;

use super::group::{deliver_history, deliver_new, Delivery};
use super::{interval_bound, no_group, parse_strict_id, reply_entry};
use crate::args;
use crate::blocking::Unblock;
use crate::ctx::{Ctx, Reply};
use crate::errors::{CmdResult, RedisError, SYNTAX};
use crate::typed::{stream_read, stream_write};

/// COUNT of a blocked read that gave none (XREAD_BLOCKED_DEFAULT_COUNT).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// Writes `entries` as an array.
fn reply_entries(r: &mut Reply<'_>, entries: &[Entry<'_>]) {
    r.array(entries.len());
    for e in entries {
        reply_entry(r, e.id, e.fields());
    }
}

/// Up to `count` (0: all) entries of `start..=end`.
pub fn collect(s: &Stream, start: StreamId, end: StreamId, rev: bool, count: usize) -> Vec<Entry<'_>> {
    let it = s.range(start, end, rev);
    if count == 0 {
        it.collect()
    } else {
        it.take(count).collect()
    }
}

fn xrange_generic(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let start = interval_bound(start_arg, 0, true)?;
    let end = interval_bound(end_arg, u64::MAX, false)?;
    let mut count = -1i64;
    let mut i = 4;
    while i < args.len() {
        if args::is(&args[i], "count") && i + 1 < args.len() {
            count = args::int(&args[i + 1])?.max(0);
            i += 2;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let (view, mut r) = ctx.parts();
    let Some(s) = stream_read(view, &args[1])? else {
        r.array(0);
        return Ok(());
    };
    if count == 0 {
        r.null_array();
        return Ok(());
    }
    reply_entries(&mut r, &collect(s, start, end, rev, count.max(0) as usize));
    Ok(())
}

/* XRANGE key start end [COUNT count] */
pub fn xrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    xrange_generic(ctx, args, false)
}

/* XREVRANGE key end start [COUNT count] */
pub fn xrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    xrange_generic(ctx, args, true)
}

/// Where a read starts for one stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gt {
    /// Entries above this ID.
    Id(StreamId),
    /// `>`: entries never delivered to the group.
    New,
}

/// XREAD and XREADGROUP arguments.
struct Read<'a> {
    count: usize,
    block_ms: Option<i64>,
    /// Index of the first key.
    streams_at: usize,
    keys: &'a [Bytes],
    ids: Vec<Gt>,
    group: Option<(&'a Bytes, &'a Bytes)>,
    noack: bool,
}

/// BLOCK's milliseconds (`getTimeoutFromObjectOrReply` in milliseconds).
fn block_timeout(arg: &[u8]) -> Result<i64, RedisError> {
    let ms = args::int_or(arg, "ERR timeout is not an integer or out of range")?;
    if ms < 0 {
        return Err("ERR timeout is negative".into());
    }
    Ok(ms)
}

fn parse_read(args: &[Bytes], xreadgroup: bool, in_script: bool) -> Result<Read<'_>, RedisError> {
    let (mut count, mut block_ms, mut group, mut noack) = (0, None, None, false);
    let mut streams_at = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let o = &args[i];
        if args::is(o, "block") && more > 0 {
            if in_script {
                return Err(format!("ERR {} command is not allowed with BLOCK option from scripts", String::from_utf8_lossy(&args[0])).into());
            }
            i += 1;
            block_ms = Some(block_timeout(&args[i])?);
        } else if args::is(o, "count") && more > 0 {
            i += 1;
            count = args::int(&args[i])?.max(0) as usize;
        } else if args::is(o, "streams") && more > 0 {
            streams_at = Some(i + 1);
            break;
        } else if args::is(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.".into());
            }
            group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if args::is(o, "noack") {
            if !xreadgroup {
                return Err("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.".into());
            }
            noack = true;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let Some(streams_at) = streams_at else { return Err(SYNTAX.into()) };
    let rest = args.len() - streams_at;
    if !rest.is_multiple_of(2) {
        return Err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.".into());
    }
    if xreadgroup && group.is_none() {
        return Err("ERR Missing GROUP option for XREADGROUP".into());
    }
    let n = rest / 2;
    Ok(Read { count, block_ms, streams_at, keys: &args[streams_at..streams_at + n], ids: Vec::with_capacity(n), group, noack })
}

/// Resolves each stream's ID, checking types and groups in order, as
/// Redis does before serving anything.
fn resolve_ids(view: &mut View<'_>, req: &mut Read<'_>, args: &[Bytes]) -> CmdResult {
    for (i, key) in req.keys.iter().enumerate() {
        let s = stream_read(view, key)?;
        if let Some((group, _)) = req.group {
            if !s.as_ref().is_some_and(|s| s.groups.contains_key(group)) {
                return Err(no_group(format!(
                    "No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(group)
                )));
            }
        }
        let arg = &args[req.streams_at + req.keys.len() + i];
        let gt = match &arg[..] {
            b"$" if req.group.is_some() => return Err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.".into()),
            b"$" => Gt::Id(s.map_or(StreamId::MIN, |s| s.last_id)),
            b">" if req.group.is_none() => return Err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.".into()),
            b">" => Gt::New,
            _ => Gt::Id(parse_strict_id(arg, 0)?),
        };
        req.ids.push(gt);
    }
    Ok(())
}

/// Serves one stream of a read, if it has something for it now: writes
/// `key` and its entries and returns true.
///
/// "Something new" is a live entry past the ID when called, as Redis's
/// `streamLastValidID`; for a blocked reader being woken it is the
/// stream's last ID past it (what `serveClientsBlockedOnStreamKey`
/// checks, so a reader woken by an entry deleted since gets an empty
/// list, as from Redis).
fn serve_stream(
    view: &mut View<'_>,
    r: &mut Reply<'_>,
    req: &Read<'_>,
    i: usize,
    count: usize,
    woken: bool,
    prop: &mut Vec<Vec<Bytes>>,
) -> Result<bool, RedisError> {
    let key = &req.keys[i];
    let Some(s) = stream_write(view, key)? else { return Ok(false) };
    let has_news = |s: &ferrokv_storage::Stream, after: StreamId| if woken { s.last_id > after } else { s.edge_id(false).is_some_and(|last| last > after) };
    let gt = req.ids[i];
    let Some((group, consumer)) = req.group else {
        let Gt::Id(gt) = gt else { return Ok(false) };
        if !has_news(s, gt) {
            return Ok(false);
        }
        let Some(start) = gt.next() else { return Ok(false) };
        if r.proto == ferrokv_resp::Protocol::Resp2 {
            r.array(2);
        }
        r.bulk(key);
        reply_entries(r, &collect(s, start, StreamId::MAX, false, count));
        return Ok(true);
    };
    let history = match gt {
        Gt::Id(id) => Some(id),
        _ => None,
    };
    let last_delivered = s.groups.get(group).map_or(StreamId::MAX, |g| g.last_id);
    if history.is_none() && !has_news(s, last_delivered) {
        return Ok(false);
    }
    if r.proto == ferrokv_resp::Protocol::Resp2 {
        r.array(2);
    }
    r.bulk(key);
    let d = Delivery { key, group, consumer, count, noack: req.noack, now: ferrokv_storage::now_ms() };
    let created = match history {
        Some(gt) => deliver_history(r, s, &d, gt.next().unwrap_or(StreamId::MAX), prop),
        None => deliver_new(r, s, &d, last_delivered.next().unwrap_or(StreamId::MAX), prop),
    };
    if created {
        view.notify(ferrokv_storage::events::STREAM, "xgroup-createconsumer", key);
    }
    Ok(true)
}

fn xread_generic(ctx: &mut Ctx<'_>, args: &[Bytes], xreadgroup: bool) -> CmdResult {
    let mut req = parse_read(args, xreadgroup, ctx.in_script)?;
    resolve_ids(&mut ctx.view, &mut req, args)?;
    let mut prop = Vec::new();
    // Replies go to a side buffer until the count of served streams is known.
    let mut body = bytes::BytesMut::new();
    let mut served = 0;
    for i in 0..req.keys.len() {
        let mut r = Reply { out: &mut body, proto: ctx.proto };
        if serve_stream(&mut ctx.view, &mut r, &req, i, req.count, false, &mut prop)? {
            served += 1;
            if req.group.is_some() {
                ctx.view.modified(&req.keys[i]);
            }
        }
    }
    if xreadgroup {
        // Propagated as the effects it had, never as itself.
        ctx.effects.suppress();
        for argv in prop {
            ctx.effects.rewrite(argv);
        }
    }
    if served > 0 {
        if ctx.proto == ferrokv_resp::Protocol::Resp2 {
            ctx.array(served);
        } else {
            ctx.map(served);
        }
        ctx.out.extend_from_slice(&body);
        return Ok(());
    }
    if let Some(timeout) = req.block_ms {
        let keys = req.keys.to_vec();
        // `$` waits for what comes after the last ID as it is now.
        let mut waiting = args.to_vec();
        for (i, gt) in req.ids.iter().enumerate() {
            if let Gt::Id(id) = gt {
                waiting[req.streams_at + req.keys.len() + i] = super::id_bytes(*id);
            }
        }
        let unblock = if xreadgroup { &XREADGROUP } else { &XREAD };
        if ctx.block(&waiting, &keys, timeout, unblock) {
            return Ok(());
        }
    }
    ctx.null_array();
    Ok(())
}

/* XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...] */
pub fn xread(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    xread_generic(ctx, args, false)
}

/* XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...] */
pub fn xreadgroup(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    xread_generic(ctx, args, true)
}

static XREAD: Unblock = Unblock { serve: serve_blocked, replicate_as: None, independent: true };
static XREADGROUP: Unblock = Unblock { serve: serve_blocked, replicate_as: None, independent: true };

/// Serves a blocked XREAD/XREADGROUP from `key`, which became ready
/// (`serveClientsBlockedOnStreamKey`): the reply names only that key.
fn serve_blocked(view: &mut View<'_>, r: &mut Reply<'_>, args: &[Bytes], key: &Bytes, prop: &mut Vec<Vec<Bytes>>) -> Result<bool, RedisError> {
    let xreadgroup = args[0].len() == 10;
    let mut req = parse_read(args, xreadgroup, false)?;
    let Some(i) = req.keys.iter().position(|k| k == key) else { return Ok(false) };
    let Ok(Some(s)) = stream_read(view, key) else { return Ok(false) };
    if let Some((group, _)) = req.group {
        if !s.groups.contains_key(group) {
            r.error("NOGROUP the consumer group this client was blocked on no longer exists");
            return Ok(true);
        }
    }
    let gt = |arg: &Bytes| match &arg[..] {
        b">" => Gt::New,
        id => parse_strict_id(id, 0).map_or(Gt::New, Gt::Id),
    };
    req.ids = args[req.streams_at + req.keys.len()..].iter().map(gt).collect();
    let count = if req.count == 0 { BLOCKED_DEFAULT_COUNT } else { req.count };
    let mut body = bytes::BytesMut::new();
    let mut inner = Reply { out: &mut body, proto: r.proto };
    if !serve_stream(view, &mut inner, &req, i, count, true, prop)? {
        return Ok(false);
    }
    if req.group.is_some() {
        view.modified(key);
    }
    if r.proto == ferrokv_resp::Protocol::Resp2 {
        r.array(1);
    } else {
        r.map(1);
    }
    r.out.extend_from_slice(&body);
    Ok(true)
}
