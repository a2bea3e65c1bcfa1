//! List commands (Redis's t_list.c), the non-blocking ones.

use bytes::Bytes;
use ferrokv_storage::events::LIST;
use ferrokv_storage::List;

use crate::args;
use crate::blocking::{mpop_form, timeout_ms, Unblock};
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::{Ctx, Reply};
use crate::errors::{self, CmdResult, RedisError};
use crate::keyspec::{flags::*, KeySpec};
use crate::typed::{done, list_create, list_read, list_write, Event};
use crate::{argv, cmd};

const L: &[&str] = &["list"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "lpush",
        "1.0.0",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        lpush,
        "list",
        "Prepend one or multiple elements to a list",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!(
        "rpush",
        "1.0.0",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        rpush,
        "list",
        "Append one or multiple elements to a list",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!(
        "lpushx",
        "2.2.0",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        lpushx,
        "list",
        "Prepend an element to a list, only if the list exists",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!(
        "rpushx",
        "2.2.0",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        rpushx,
        "list",
        "Append an element to a list, only if the list exists",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!(
        "lpop",
        "1.0.0",
        -2,
        WRITE | FAST,
        L,
        (1, 1, 1),
        lpop,
        "list",
        "Remove and get the first elements in a list",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "rpop",
        "1.0.0",
        -2,
        WRITE | FAST,
        L,
        (1, 1, 1),
        rpop,
        "list",
        "Remove and get the last elements in a list",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE)]
    ),
    cmd!("llen", "1.0.0", 2, READONLY | FAST, L, (1, 1, 1), llen, "list", "Get the length of a list", key_specs = &[KeySpec::at(1, RO)]),
    cmd!("lrange", "1.0.0", 4, READONLY, L, (1, 1, 1), lrange, "list", "Get a range of elements from a list"),
    cmd!("lindex", "1.0.0", 3, READONLY, L, (1, 1, 1), lindex, "list", "Get an element from a list by its index"),
    cmd!("lset", "1.0.0", 4, WRITE | DENYOOM, L, (1, 1, 1), lset, "list", "Set the value of an element in a list by its index"),
    cmd!(
        "linsert",
        "2.2.0",
        5,
        WRITE | DENYOOM,
        L,
        (1, 1, 1),
        linsert,
        "list",
        "Insert an element before or after another element in a list",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!("lrem", "1.0.0", 4, WRITE, L, (1, 1, 1), lrem, "list", "Remove elements from a list", key_specs = &[KeySpec::at(1, RW | DELETE)]),
    cmd!("ltrim", "1.0.0", 4, WRITE, L, (1, 1, 1), ltrim, "list", "Trim a list to the specified range", key_specs = &[KeySpec::at(1, RW | DELETE)]),
    cmd!("lpos", "6.0.6", -3, READONLY, L, (1, 1, 1), lpos, "list", "Return the index of matching elements on a list"),
    cmd!(
        "lmove",
        "6.2.0",
        5,
        WRITE | DENYOOM,
        L,
        (1, 2, 1),
        lmove,
        "list",
        "Pop an element from a list, push it to another list and return it",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)]
    ),
    cmd!(
        "rpoplpush",
        "1.2.0",
        3,
        WRITE | DENYOOM,
        L,
        (1, 2, 1),
        rpoplpush,
        "list",
        "Remove the last element in a list, prepend it to another list and return it",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)]
    ),
    cmd!(
        "lmpop",
        "7.0.0",
        -4,
        WRITE | MOVABLEKEYS,
        L,
        (0, 0, 0),
        lmpop,
        "list",
        "Pop elements from a list",
        key_specs = &[KeySpec::counted(1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "blpop",
        "2.0.0",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        L,
        (1, -2, 1),
        blpop,
        "list",
        "Remove and get the first element in a list, or block until one is available",
        key_specs = &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "brpop",
        "2.0.0",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        L,
        (1, -2, 1),
        brpop,
        "list",
        "Remove and get the last element in a list, or block until one is available",
        key_specs = &[KeySpec::range(1, -2, 1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "blmove",
        "6.2.0",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        L,
        (1, 2, 1),
        blmove,
        "list",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)]
    ),
    cmd!(
        "brpoplpush",
        "2.2.0",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        L,
        (1, 2, 1),
        brpoplpush,
        "list",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)]
    ),
    cmd!(
        "blmpop",
        "7.0.0",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        L,
        (0, 0, 0),
        blmpop,
        "list",
        "Pop elements from a list, or block until one is available",
        key_specs = &[KeySpec::counted(2, RW | ACCESS | DELETE)]
    ),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

fn end_arg(arg: &[u8]) -> Result<End, RedisError> {
    if args::is(arg, "left") {
        Ok(End::Left)
    } else if args::is(arg, "right") {
        Ok(End::Right)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/// The event a push raises (`lpush`/`rpush`, LPUSHX and moves included).
fn push_event(end: End) -> Event {
    (LIST, if end == End::Left { "lpush" } else { "rpush" })
}

fn pop_event(end: End) -> Event {
    (LIST, if end == End::Left { "lpop" } else { "rpop" })
}

fn push_to(l: &mut List, end: End, v: &[u8]) {
    l.push(end == End::Left, v);
}

fn pop_from(l: &mut List, end: End) -> Option<Bytes> {
    l.pop(end == End::Left)
}

/// A new, empty list with the configured node size.
fn new_list(view: &ferrokv_storage::View<'_>) -> impl FnOnce() -> List {
    let shape = view.thresholds().list;
    move || List::new(shape)
}

/// `pushGenericCommand`: `only_existing` is the X variant.
fn push(ctx: &mut Ctx<'_>, args: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let key = &args[1];
    let l = if only_existing {
        match list_write(&mut ctx.view, key)? {
            Some(l) => l,
            None => {
                ctx.int(0);
                return Ok(());
            }
        }
    } else {
        let make = new_list(&ctx.view);
        list_create(&mut ctx.view, key, make)?
    };
    for v in &args[2..] {
        push_to(l, end, v);
    }
    let n = l.len();
    done(&mut ctx.view, key, false, push_event(end));
    ctx.int(n as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push(ctx, args, End::Right, true)
}

/// `popGenericCommand`: LPOP/RPOP key [count].
fn pop(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::wrong_arity(ctx.name));
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
    let Some(l) = list_write(view, key)? else {
        match count {
            Some(_) => r.null_array(),
            None => r.null(),
        }
        return Ok(());
    };
    match count {
        None => {
            let v = pop_from(l, end).expect("lists are never empty");
            r.bulk(&v);
        }
        Some(n) => {
            let n = n.min(l.len());
            r.array(n);
            for _ in 0..n {
                let v = pop_from(l, end).expect("counted");
                r.bulk(&v);
            }
            if n == 0 {
                return Ok(());
            }
        }
    }
    let empty = l.is_empty();
    done(view, key, empty, pop_event(end));
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop(ctx, args, End::Left)
}

fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop(ctx, args, End::Right)
}

/* LLEN key */
fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = list_read(&mut ctx.view, &args[1])?.map_or(0, |l| l.len());
    ctx.int(n as i64);
    Ok(())
}

/// Redis's range normalization for LRANGE and LTRIM: `None` when empty.
fn normalize(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    start = start.max(0);
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

fn reply_range(r: &mut Reply<'_>, l: &List, range: Option<(usize, usize)>) {
    match range {
        None => r.array(0),
        Some((s, e)) => {
            r.array(e - s + 1);
            l.visit(s, e, |v| r.bulk(v));
        }
    }
}

/* LRANGE key start stop */
fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let (view, mut r) = ctx.parts();
    match list_read(view, &args[1])? {
        Some(l) => {
            let range = normalize(start, end, l.len());
            reply_range(&mut r, l, range);
        }
        None => r.array(0),
    }
    Ok(())
}

/* LINDEX key index */
fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Redis looks the key up before it reads the index.
    let (view, mut r) = ctx.parts();
    let Some(l) = list_read(view, &args[1])? else {
        r.null();
        return Ok(());
    };
    let i = args::int(&args[2])?;
    match l.index(i).and_then(|i| l.get(i)) {
        Some(v) => r.bulk(&v),
        None => r.null(),
    }
    Ok(())
}

/* LSET key index element */
fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(l) = list_write(&mut ctx.view, &args[1])? else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let i = args::int(&args[2])?;
    let Some(i) = l.index(i) else {
        return Err("ERR index out of range".into());
    };
    l.set(i, &args[3]);
    done(&mut ctx.view, &args[1], false, (LIST, "lset"));
    ctx.ok()
}

/* LINSERT key BEFORE|AFTER pivot element */
fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let after = if args::is(&args[2], "after") {
        true
    } else if args::is(&args[2], "before") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let Some(l) = list_write(&mut ctx.view, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let mut items = l.to_vec();
    let Some(at) = items.iter().position(|v| v == &args[3]) else {
        ctx.int(-1);
        return Ok(());
    };
    items.insert(if after { at + 1 } else { at }, args[4].clone());
    l.replace_all(items);
    let n = l.len();
    done(&mut ctx.view, &args[1], false, (LIST, "linsert"));
    ctx.int(n as i64);
    Ok(())
}

/* LREM key count element */
fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = args::int(&args[2])?;
    let Some(l) = list_write(&mut ctx.view, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let mut items = l.to_vec();
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < items.len() && removed < limit {
            if items[i] == args[3] {
                items.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = items.len();
        while i > 0 && removed < limit {
            i -= 1;
            if items[i] == args[3] {
                items.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        l.replace_all(items);
    }
    let empty = l.is_empty();
    if removed > 0 {
        done(&mut ctx.view, &args[1], empty, (LIST, "lrem"));
    }
    ctx.int(removed as i64);
    Ok(())
}

/* LTRIM key start stop */
fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let Some(l) = list_write(&mut ctx.view, &args[1])? else {
        return ctx.ok();
    };
    match normalize(start, end, l.len()) {
        None => l.replace_all(Vec::new()),
        Some((s, e)) => {
            if s > 0 || e + 1 < l.len() {
                let kept = l.range(s, e);
                l.replace_all(kept);
            }
        }
    }
    let empty = l.is_empty();
    done(&mut ctx.view, &args[1], empty, (LIST, "ltrim"));
    ctx.ok()
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0i64);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if args::is(&args[i], "rank") && more {
            rank = args::int(&args[i + 1])?;
            if rank == 0 {
                return Err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
                        .into(),
                );
            }
        } else if args::is(&args[i], "count") && more {
            // Redis words a non-number as a negative count.
            let c = args::int_or(&args[i + 1], "ERR COUNT can't be negative")?;
            if c < 0 {
                return Err("ERR COUNT can't be negative".into());
            }
            count = Some(c);
        } else if args::is(&args[i], "maxlen") && more {
            maxlen = args::int_or(&args[i + 1], "ERR MAXLEN can't be negative")?;
            if maxlen < 0 {
                return Err("ERR MAXLEN can't be negative".into());
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let (view, mut r) = ctx.parts();
    let Some(l) = list_read(view, &args[1])? else {
        match count {
            Some(_) => r.array(0),
            None => r.null(),
        }
        return Ok(());
    };
    let len = l.len();
    // RANK LLONG_MIN wraps in Redis 7.0 (-rank stays negative): it counts
    // every match from the tail as wanted, and COUNT never stops it.
    let wrapped = rank == i64::MIN;
    let want = match count {
        Some(0) => usize::MAX,
        Some(_) if wrapped => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let mut skip = if wrapped { 0 } else { rank.unsigned_abs() as usize - 1 };
    let mut found = Vec::new();
    let items = l.to_vec();
    let checks = if maxlen == 0 { len } else { (maxlen as usize).min(len) };
    for step in 0..checks {
        let idx = if rank > 0 { step } else { len - 1 - step };
        if items[idx] == args[2] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(idx);
            if found.len() >= want {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            r.array(found.len());
            found.iter().for_each(|i| r.int(*i as i64));
        }
        None => match found.first() {
            Some(i) => r.int(*i as i64),
            None => r.null(),
        },
    }
    Ok(())
}

/// `lmoveGenericCommand`: pops from `src` and pushes onto `dst`.
fn lmove_generic(ctx: &mut Ctx<'_>, src: &Bytes, dst: &Bytes, from: End, to: End) -> CmdResult {
    if list_write(&mut ctx.view, src)?.is_none() {
        ctx.null();
        return Ok(());
    }
    // The destination must be a list (or missing) before anything moves.
    list_write(&mut ctx.view, dst)?;
    let v = move_one(&mut ctx.view, (src, from), (dst, to))?;
    ctx.bulk(&v);
    Ok(())
}

/// Moves one element of the (non-empty) list at `src` onto `dst`, as
/// Redis's lmoveGenericCommand: the push and its event first, then the
/// pop's event and, if `src` is now empty, its deletion (so a one-element
/// list rotated onto itself stays).
fn move_one(view: &mut ferrokv_storage::View<'_>, (src, from): (&Bytes, End), (dst, to): (&Bytes, End)) -> Result<Bytes, RedisError> {
    let l = list_write(view, src)?.expect("checked by the caller");
    let v = pop_from(l, from).expect("lists are never empty");
    let make = new_list(view);
    let d = list_create(view, dst, make)?;
    push_to(d, to, &v);
    done(view, dst, false, push_event(to));
    let empty = list_write(view, src)?.is_none_or(|l| l.is_empty());
    done(view, src, empty, pop_event(from));
    Ok(v)
}

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT */
fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let from = end_arg(&args[3])?;
    let to = end_arg(&args[4])?;
    lmove_generic(ctx, &args[1], &args[2], from, to)
}

/* RPOPLPUSH source destination */
fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    lmove_generic(ctx, &args[1], &args[2], End::Right, End::Left)
}

/// `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at `at`.
fn parse_mpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], End, usize), RedisError> {
    let (keys, left, count) = crate::shared::mpop_args(args, at, "left", "right")?;
    Ok((keys, if left { End::Left } else { End::Right }, count))
}

/// Pops up to `count` from `key` and replies `[key, [elements]]`; false if
/// the key holds no list.
fn mpop_from(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, key: &Bytes, end: End, count: usize) -> Result<bool, RedisError> {
    let Some(l) = list_write(view, key)? else { return Ok(false) };
    let n = count.min(l.len());
    r.array(2);
    r.bulk(key);
    r.array(n);
    for _ in 0..n {
        let v = pop_from(l, end).expect("counted");
        r.bulk(&v);
    }
    let empty = l.is_empty();
    done(view, key, empty, pop_event(end));
    Ok(true)
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] */
fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 1)?;
    if !ctx.serve_first(args, keys, |a, k| mpop_form("LMPOP", a, 1, k), |view, r, key| mpop_from(view, r, key, end, count))? {
        ctx.null_array();
    }
    Ok(())
}

/* BLPOP key [key ...] timeout and BRPOP */
fn bpop(ctx: &mut Ctx<'_>, args: &[Bytes], unblock: &'static Unblock) -> CmdResult {
    let timeout = timeout_ms(&args[args.len() - 1])?;
    ctx.pop_or_block(args, &args[1..args.len() - 1], timeout, unblock)
}

/// What each blocking list command is served by, and what a served call
/// replicates as: the non-blocking command with the same effect.
static BLPOP: Unblock = Unblock { serve: |v, r, _, k, _| serve_pop(v, r, k, End::Left), replicate_as: Some(|_, k| argv!["LPOP", k]), independent: false };
static BRPOP: Unblock = Unblock { serve: |v, r, _, k, _| serve_pop(v, r, k, End::Right), replicate_as: Some(|_, k| argv!["RPOP", k]), independent: false };
static BLMOVE: Unblock = Unblock {
    serve: |v, r, a, k, _| serve_move(v, r, a, k),
    replicate_as: Some(|a, _| [Bytes::from_static(b"LMOVE")].into_iter().chain(a[1..5].iter().cloned()).collect()),
    independent: false,
};
static BRPOPLPUSH: Unblock =
    Unblock { serve: |v, r, a, k, _| serve_move(v, r, a, k), replicate_as: Some(|a, _| argv!["RPOPLPUSH", &a[1], &a[2]]), independent: false };
static BLMPOP: Unblock = Unblock { serve: |v, r, a, k, _| serve_mpop(v, r, a, k), replicate_as: Some(|a, k| mpop_form("LMPOP", a, 2, k)), independent: false };

fn serve_pop(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, key: &Bytes, end: End) -> Result<bool, RedisError> {
    let Some(l) = list_write(view, key)? else { return Ok(false) };
    let v = pop_from(l, end).expect("lists are never empty");
    let empty = l.is_empty();
    r.array(2);
    r.bulk(key);
    r.bulk(&v);
    done(view, key, empty, pop_event(end));
    Ok(true)
}

fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, &BLPOP)
}

fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, &BRPOP)
}

/// BLMOVE's and BRPOPLPUSH's directions, from the waiter's own arguments.
fn blmove_ends(args: &[Bytes]) -> (End, End) {
    if args.len() == 6 {
        (end_arg(&args[3]).unwrap_or(End::Left), end_arg(&args[4]).unwrap_or(End::Left))
    } else {
        (End::Right, End::Left)
    }
}

fn serve_move(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, args: &[Bytes], _key: &Bytes) -> Result<bool, RedisError> {
    let (src, dst) = (&args[1], &args[2]);
    let (from, to) = blmove_ends(args);
    if list_write(view, src)?.is_none() {
        return Ok(false);
    }
    // A destination of the wrong type ends the wait with WRONGTYPE (Redis
    // pops, fails, and pushes the element back: nothing moves).
    if list_write(view, dst).is_err() {
        r.error(errors::WRONGTYPE);
        return Ok(true);
    }
    let v = move_one(view, (src, from), (dst, to))?;
    r.bulk(&v);
    Ok(true)
}

fn blmove_generic(ctx: &mut Ctx<'_>, args: &[Bytes], timeout: i64, unblock: &'static Unblock) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let (from, to) = blmove_ends(args);
    if list_write(&mut ctx.view, src)?.is_some() {
        lmove_generic(ctx, src, dst, from, to)?;
        // Served at once: replicated as the command without BLOCK, as Redis.
        if let Some(replicate_as) = unblock.replicate_as {
            ctx.effects.rewrite(replicate_as(args, src));
        }
        return Ok(());
    }
    if !ctx.block(args, std::slice::from_ref(src), timeout, unblock) {
        // Inside MULTI Redis answers a plain null here, not a null array.
        ctx.null();
    }
    Ok(())
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    end_arg(&args[3])?;
    end_arg(&args[4])?;
    let timeout = timeout_ms(&args[5])?;
    blmove_generic(ctx, args, timeout, &BLMOVE)
}

/* BRPOPLPUSH source destination timeout */
fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = timeout_ms(&args[3])?;
    blmove_generic(ctx, args, timeout, &BRPOPLPUSH)
}

fn serve_mpop(view: &mut ferrokv_storage::View<'_>, r: &mut Reply<'_>, args: &[Bytes], key: &Bytes) -> Result<bool, RedisError> {
    let (_, end, count) = parse_mpop(args, 2)?;
    mpop_from(view, r, key, end, count)
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = timeout_ms(&args[1])?;
    let (keys, _, _) = parse_mpop(args, 2)?;
    ctx.pop_or_block(args, keys, timeout, &BLMPOP)
}

#[cfg(test)]
mod tests {
    use crate::testing::{words, Keyspace};

    #[test]
    fn blpop_serves_at_once_and_replicates_as_lpop() {
        let ks = Keyspace::new();
        ks.run(&["RPUSH", "q", "a", "b"]);
        let out = ks.run(&["BLPOP", "empty", "q", "0"]);
        assert_eq!(out.reply, "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
        assert!(out.block.is_none());
        assert_eq!(words(&out.rewrite.expect("rewritten")[0]), ["LPOP", "q"]);
    }

    #[test]
    fn blpop_on_empty_keys_asks_to_block_and_replies_nothing() {
        let ks = Keyspace::new();
        let out = ks.run(&["BLPOP", "a", "b", "1.5"]);
        assert_eq!(out.reply, "");
        let block = out.block.expect("blocks");
        assert_eq!(words(&block.keys), ["a", "b"]);
        assert_eq!(block.timeout_ms, 1500);
        assert_eq!(words(&block.unblock.replicate_as.expect("pops propagate")(&block.args, &block.keys[1])), ["LPOP", "b"]);
    }

    #[test]
    fn blocking_pops_inside_exec_answer_as_on_timeout() {
        let ks = Keyspace::new();
        let out = ks.run_in_exec(&["BLMPOP", "0", "1", "a", "LEFT"]);
        assert_eq!(out.reply, "*-1\r\n");
        assert!(out.block.is_none());
        // BLMOVE answers a plain null there, as Redis does.
        assert_eq!(ks.run_in_exec(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"]).reply, "$-1\r\n");
    }

    #[test]
    fn lmpop_names_the_key_that_served_in_what_it_replicates() {
        let ks = Keyspace::new();
        ks.run(&["RPUSH", "b", "1", "2", "3"]);
        let out = ks.run(&["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2"]);
        assert_eq!(out.reply, "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
        assert_eq!(words(&out.rewrite.expect("rewritten")[0]), ["LMPOP", "1", "b", "RIGHT", "COUNT", "2"]);
    }

    #[test]
    fn a_popped_empty_list_is_deleted() {
        let ks = Keyspace::new();
        ks.run(&["RPUSH", "l", "x"]);
        ks.run(&["LPOP", "l"]);
        assert_eq!(ks.reply(&["EXISTS", "l"]), ":0\r\n");
    }
}
