//! XADD, XTRIM, XDEL, XLEN and XSETID: what changes a stream's entries
//! and counters.

use bytes::Bytes;
use ferrokv_storage::events::STREAM;
use ferrokv_storage::types::stream::{Stream, StreamId, Trim};

use super::{id_bytes, parse_id_full, parse_strict_id};
use crate::args;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError, NO_SUCH_KEY, SYNTAX};
use crate::typed::{stream_create, stream_read, stream_write};

/// Largest total of an entry's fields and values (STREAM_LISTPACK_MAX_SIZE).
const ENTRY_MAX: usize = 1 << 30;

/// XADD and XTRIM options (`streamAddTrimArgs`).
#[derive(Default)]
struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    /// Where the MAXLEN count or MINID id is, for rewriting.
    trim_at: usize,
    limit: u64,
    nomkstream: bool,
    /// XADD's ID (None: `*`), and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    /// Where the ID is.
    id_at: usize,
}

/// `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(ctx: &Ctx<'_>, args: &[Bytes], xadd: bool) -> Result<AddTrim, RedisError> {
    let mut o = AddTrim::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (args::is(opt, "maxlen") || args::is(opt, "minid")) && more > 0 {
            if o.trim.is_some() {
                return Err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible".into());
            }
            o.approx = false;
            if more >= 2 && (args[i + 1][..] == *b"~" || args[i + 1][..] == *b"=") {
                o.approx = args[i + 1][..] == *b"~";
                i += 1;
            }
            let arg = &args[i + 1];
            o.trim = Some(if args::is(opt, "maxlen") {
                let n = args::int(arg)?;
                if n < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.".into());
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(arg, 0)?)
            });
            i += 1;
            o.trim_at = i;
        } else if args::is(opt, "limit") && more > 0 {
            let n = args::int(&args[i + 1])?;
            if n < 0 {
                return Err("ERR The LIMIT argument must be >= 0.".into());
            }
            o.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && args::is(opt, "nomkstream") {
            o.nomkstream = true;
        } else if xadd {
            let p = parse_id_full(opt, 0, true, true)?;
            o.id = Some((p.id, p.seq_given));
            break;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    o.id_at = i;
    if o.limit != 0 && o.trim.is_none() {
        return Err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy".into());
    }
    if !xadd && o.trim.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy".into());
    }
    if ctx.obey {
        // Trimmed exactly as the primary (or the AOF's writer) did.
        o.limit = 0;
    } else if limit_given {
        if !o.approx {
            return Err("ERR syntax error, LIMIT cannot be used without the special ~ option".into());
        }
    } else if o.approx {
        // At most 100 nodes' worth of work, bounded both ways.
        let per_node = ctx.view.thresholds().stream.max_entries as u64;
        o.limit = (100 * per_node).clamp(1, 1_000_000);
        if per_node == 0 {
            o.limit = 10_000;
        }
    }
    Ok(o)
}

/// What an approximate trim propagates as: `=` and the length (or first
/// ID) it left, so replicas and the AOF trim exactly the same entries
/// (LIMIT stays: replicas and the AOF loader ignore it, see `Ctx::obey`).
fn exact_trim_args(args: &[Bytes], o: &AddTrim, s: &Stream) -> Vec<Bytes> {
    let mut out = args.to_vec();
    out[o.trim_at - 1] = Bytes::from_static(b"=");
    out[o.trim_at] = match o.trim {
        Some(Trim::MaxLen(_)) => Bytes::from(s.len().to_string()),
        _ => id_bytes(s.first_stored_id().unwrap_or_default()),
    };
    out
}

/// `streamNextID`: now, or just past the last ID when the clock is behind.
fn next_auto_id(last: StreamId) -> Option<StreamId> {
    let ms = ferrokv_storage::now_ms().max(0) as u64;
    if ms > last.ms {
        Some(StreamId::new(ms, 0))
    } else {
        last.next()
    }
}

/* XADD key [NOMKSTREAM] [(MAXLEN|MINID) [=|~] threshold [LIMIT count]] (*|id) field value [field value ...] */
pub fn xadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let o = parse_add_trim(ctx, args, true)?;
    let fields_at = o.id_at + 1;
    if args.len() < fields_at + 2 || !(args.len() - fields_at).is_multiple_of(2) {
        return Err(errors::wrong_arity(ctx.name));
    }
    if let Some((id, true)) = o.id {
        if id.is_zero() {
            return Err("ERR The ID specified in XADD must be greater than 0-0".into());
        }
    }
    let key = &args[1];
    if o.nomkstream && stream_write(&mut ctx.view, key)?.is_none() {
        ctx.null();
        return Ok(());
    }
    let limits = ctx.view.thresholds().stream;
    let s = stream_create(&mut ctx.view, key, Stream::new)?;
    if s.last_id == StreamId::MAX {
        return Err("ERR The stream has exhausted the last possible ID, unable to add more items".into());
    }
    let id = match o.id {
        Some((id, true)) => Some(id),
        Some((id, false)) if id.ms == s.last_id.ms => s.last_id.next().filter(|n| n.ms == id.ms),
        Some((id, false)) => Some(id),
        None => next_auto_id(s.last_id),
    };
    let Some(id) = id.filter(|id| *id > s.last_id) else {
        return Err("ERR The ID specified in XADD is equal or smaller than the target stream top item".into());
    };
    let pairs: Vec<&[u8]> = args[fields_at..].iter().map(|a| &a[..]).collect();
    if pairs.iter().map(|p| p.len()).sum::<usize>() > ENTRY_MAX {
        return Err("ERR Elements are too large to be stored".into());
    }
    s.append(id, &pairs, limits);
    let trimmed = o.trim.map(|t| s.trim(t, o.approx, o.limit)).unwrap_or(0);
    let mut propagated = (ctx.effects.on && o.trim.is_some() && o.approx).then(|| exact_trim_args(args, &o, s));
    if ctx.effects.on && !matches!(o.id, Some((_, true))) {
        // The ID chosen, not `*` or `<ms>-*`, so replicas add the same.
        propagated.get_or_insert_with(|| args.to_vec())[o.id_at] = id_bytes(id);
    }
    ctx.bulk(&id_bytes(id));
    ctx.view.modified(key);
    ctx.notify(STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(STREAM, "xtrim", key);
    }
    if let Some(argv) = propagated {
        ctx.effects.rewrite(argv);
    }
    ctx.view.signal_ready(key);
    Ok(())
}

/* XTRIM key (MAXLEN|MINID) [=|~] threshold [LIMIT count] */
pub fn xtrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let o = parse_add_trim(ctx, args, false)?;
    let key = &args[1];
    let Some(s) = stream_write(&mut ctx.view, key)? else {
        ctx.int(0);
        return Ok(());
    };
    let Some(trim) = o.trim else { return Err(SYNTAX.into()) };
    let deleted = s.trim(trim, o.approx, o.limit);
    if deleted > 0 {
        if o.approx {
            let argv = exact_trim_args(args, &o, s);
            ctx.effects.rewrite(argv);
        }
        ctx.notify(STREAM, "xtrim", key);
        ctx.view.modified(key);
    }
    ctx.int(deleted as i64);
    Ok(())
}

/* XDEL key id [id ...] */
pub fn xdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if stream_write(&mut ctx.view, key)?.is_none() {
        ctx.int(0);
        return Ok(());
    }
    let ids = args[2..].iter().map(|a| parse_strict_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
    let Some(s) = stream_write(&mut ctx.view, key)? else { unreachable!("checked above") };
    let (mut deleted, mut first) = (0, false);
    for id in ids {
        if s.delete(id) {
            first |= id == s.first_id;
            s.max_deleted_entry_id = s.max_deleted_entry_id.max(id);
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.is_empty() {
            s.first_id = StreamId::MIN;
        } else if first {
            s.first_id = s.edge_id(true).unwrap_or_default();
        }
        ctx.view.modified(key);
        ctx.notify(STREAM, "xdel", key);
    }
    ctx.int(deleted);
    Ok(())
}

/* XLEN key */
pub fn xlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = stream_read(&mut ctx.view, &args[1])?.map_or(0, |s| s.len());
    ctx.int(n as i64);
    Ok(())
}

/* XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id] */
pub fn xsetid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = parse_strict_id(&args[2], 0)?;
    let (mut entries_added, mut max_deleted) = (None, StreamId::MIN);
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args::is(&args[i], "entriesadded") && more > 0 {
            let n = args::int(&args[i + 1])?;
            if n < 0 {
                return Err("ERR entries_added must be positive".into());
            }
            entries_added = Some(n as u64);
        } else if args::is(&args[i], "maxdeletedid") && more > 0 {
            max_deleted = parse_strict_id(&args[i + 1], 0)?;
            if id < max_deleted {
                return Err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id".into());
            }
        } else {
            return Err(SYNTAX.into());
        }
        i += 2;
    }
    let key = &args[1];
    let Some(s) = stream_write(&mut ctx.view, key)? else { return Err(NO_SUCH_KEY.into()) };
    if !s.is_empty() {
        if s.edge_id(false).is_some_and(|top| id < top) {
            return Err("ERR The ID specified in XSETID is smaller than the target stream top item".into());
        }
        if entries_added.is_some_and(|n| s.len() > n) {
            return Err("ERR The entries_added specified in XSETID is smaller than the target stream length".into());
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_entry_id = max_deleted;
    }
    ctx.view.modified(key);
    ctx.notify(STREAM, "xsetid", key);
    ctx.ok()
}
