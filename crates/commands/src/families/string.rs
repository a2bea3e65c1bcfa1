//! String commands (Redis's t_string.c).
//!
//! String API first (lookups with type checks, length limits, expiry
//! parsing), then the commands. SET, SETNX, SETEX, PSETEX share
//! `set_generic`, as Redis's `setGenericCommand`.

use bytes::Bytes;
use ferrokv_storage::events::{GENERIC, STRING};
use ferrokv_storage::{Str, Value};

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::keyspec::{flags::*, KeySpec};
use crate::{cmd, longdouble};

const S: &[&str] = &["string"];

pub static COMMANDS: &[Command] = &[
    cmd!("get", "1.0.0", 2, READONLY | FAST, S, (1, 1, 1), get, "string", "Get the value of a key"),
    cmd!(
        "set",
        "1.0.0",
        -3,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        set,
        "string",
        "Set the string value of a key",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS).notes("RW and ACCESS due to the optional `GET` argument")],
        getkeys = set_keys
    ),
    cmd!(
        "setnx",
        "1.0.0",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        setnx,
        "string",
        "Set the value of a key, only if the key does not exist",
        key_specs = &[KeySpec::at(1, OW | INSERT)]
    ),
    cmd!(
        "setex",
        "2.0.0",
        4,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        setex,
        "string",
        "Set the value and expiration of a key",
        key_specs = &[KeySpec::at(1, OW | UPDATE)]
    ),
    cmd!(
        "psetex",
        "2.6.0",
        4,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        psetex,
        "string",
        "Set the value and expiration in milliseconds of a key",
        key_specs = &[KeySpec::at(1, OW | UPDATE)]
    ),
    cmd!(
        "getset",
        "1.0.0",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        getset,
        "string",
        "Set the string value of a key and return its old value",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "getdel",
        "6.2.0",
        2,
        WRITE | FAST,
        S,
        (1, 1, 1),
        getdel,
        "string",
        "Get the value of a key and delete the key",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE)]
    ),
    cmd!(
        "getex",
        "6.2.0",
        -2,
        WRITE | FAST,
        S,
        (1, 1, 1),
        getex,
        "string",
        "Get the value of a key and optionally set its expiration",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE).notes("RW and UPDATE because it changes the TTL")]
    ),
    cmd!("mget", "1.0.0", -2, READONLY | FAST, S, (1, -1, 1), mget, "string", "Get the values of all the given keys", tips = &["request_policy:multi_shard"]),
    cmd!(
        "mset",
        "1.0.1",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 2),
        mset,
        "string",
        "Set multiple keys to multiple values",
        key_specs = &[KeySpec::range(1, -1, 2, OW | UPDATE)],
        tips = &["request_policy:multi_shard", "response_policy:all_succeeded"]
    ),
    cmd!(
        "msetnx",
        "1.0.1",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 2),
        msetnx,
        "string",
        "Set multiple keys to multiple values, only if none of the keys exist",
        key_specs = &[KeySpec::range(1, -1, 2, OW | INSERT)],
        tips = &["request_policy:multi_shard", "response_policy:agg_min"]
    ),
    cmd!("append", "2.0.0", 3, WRITE | DENYOOM | FAST, S, (1, 1, 1), append, "string", "Append a value to a key", key_specs = &[KeySpec::at(1, RW | INSERT)]),
    cmd!(
        "strlen",
        "2.2.0",
        2,
        READONLY | FAST,
        S,
        (1, 1, 1),
        strlen,
        "string",
        "Get the length of the value stored in a key",
        key_specs = &[KeySpec::at(1, RO)]
    ),
    cmd!("getrange", "2.4.0", 4, READONLY, S, (1, 1, 1), getrange, "string", "Get a substring of the string stored at a key"),
    cmd!("substr", "1.0.0", 4, READONLY, S, (1, 1, 1), getrange, "string", "Get a substring of the string stored at a key"),
    cmd!("setrange", "2.2.0", 4, WRITE | DENYOOM, S, (1, 1, 1), setrange, "string", "Overwrite part of a string at key starting at the specified offset"),
    cmd!(
        "incr",
        "1.0.0",
        2,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        incr,
        "string",
        "Increment the integer value of a key by one",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "decr",
        "1.0.0",
        2,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        decr,
        "string",
        "Decrement the integer value of a key by one",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "incrby",
        "1.0.0",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        incrby,
        "string",
        "Increment the integer value of a key by the given amount",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "decrby",
        "1.0.0",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        decrby,
        "string",
        "Decrement the integer value of a key by the given number",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "incrbyfloat",
        "2.6.0",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        incrbyfloat,
        "string",
        "Increment the float value of a key by the given amount",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!("lcs", "7.0.0", -3, READONLY, S, (1, 2, 1), lcs, "string", "Find longest common substring"),
];

/// SET's key: overwritten, unless GET reads it first.
fn set_keys(args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    let reads = args.iter().skip(3).any(|a| args::is(a, "get"));
    Some(vec![(1, if reads { RW | ACCESS | UPDATE } else { OW | UPDATE })])
}

/* ---------------------------------------------------------------------
 * String API
 * ------------------------------------------------------------------- */

/// The string at `key` for reading: `Ok(None)` if missing, WRONGTYPE if not
/// a string.
pub fn read_str(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Str>, RedisError> {
    match ctx.view.get(key) {
        None => Ok(None),
        Some(e) => e.value.as_str().cloned().map(Some).ok_or_else(|| errors::WRONGTYPE.into()),
    }
}

/// The same for writing (`lookupKeyWrite`: no hit/miss accounting).
pub fn write_str(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Str>, RedisError> {
    match ctx.view.get_mut(key) {
        None => Ok(None),
        Some(e) => e.value.as_str().cloned().map(Some).ok_or_else(|| errors::WRONGTYPE.into()),
    }
}

/// `checkStringLength`: a result may not exceed `proto-max-bulk-len`.
pub fn check_length(ctx: &Ctx<'_>, size: u64, append: u64) -> CmdResult {
    let max = ctx.limits.proto_max_bulk_len() as u64;
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(errors::STRING_TOO_LONG.into()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

#[derive(Default)]
struct SetFlags {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// EX/PX (relative) or EXAT/PXAT (absolute), with the argument.
    expire: Option<(Unit, bool, Bytes)>,
}

/// `parseExtendedStringArgumentsOrReply`: SET's and GETEX's options, with
/// Redis's rules on which combine (a repeated EX replaces the first).
fn parse_set_flags(args: &[Bytes], start: usize, is_set: bool) -> Result<SetFlags, RedisError> {
    let mut f = SetFlags::default();
    let mut j = start;
    while j < args.len() {
        let opt = &args[j];
        let next = args.get(j + 1).cloned();
        let has_exp = |f: &SetFlags, unit: Unit, relative: bool| matches!(f.expire, Some((u, r, _)) if !(u == unit && r == relative));
        if args::is(opt, "nx") && !f.xx && is_set {
            f.nx = true;
        } else if args::is(opt, "xx") && !f.nx && is_set {
            f.xx = true;
        } else if args::is(opt, "get") && is_set {
            f.get = true;
        } else if args::is(opt, "keepttl") && !f.persist && f.expire.is_none() && is_set {
            f.keepttl = true;
        } else if args::is(opt, "persist") && !is_set && f.expire.is_none() && !f.keepttl {
            f.persist = true;
        } else if let (Some((unit, relative)), Some(v)) = (expire_option(opt), next) {
            if f.keepttl || f.persist || has_exp(&f, unit, relative) {
                return Err(errors::SYNTAX.into());
            }
            f.expire = Some((unit, relative, v));
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    Ok(f)
}

fn expire_option(opt: &[u8]) -> Option<(Unit, bool)> {
    if args::is(opt, "ex") {
        Some((Unit::Seconds, true))
    } else if args::is(opt, "px") {
        Some((Unit::Millis, true))
    } else if args::is(opt, "exat") {
        Some((Unit::Seconds, false))
    } else if args::is(opt, "pxat") {
        Some((Unit::Millis, false))
    } else {
        None
    }
}

/// `getExpireMillisecondsOrReply`: a positive time, as absolute Unix ms.
fn expire_ms(ctx: &Ctx<'_>, unit: Unit, relative: bool, arg: &[u8]) -> Result<i64, RedisError> {
    let name = ctx.name;
    let mut ms = args::int(arg)?;
    if ms <= 0 || (unit == Unit::Seconds && ms > i64::MAX / 1000) {
        return Err(errors::invalid_expire(name));
    }
    if unit == Unit::Seconds {
        ms *= 1000;
    }
    if relative {
        ms = ms.wrapping_add(ctx.view.now_ms);
    }
    if ms <= 0 {
        return Err(errors::invalid_expire(name));
    }
    Ok(ms)
}

fn reply_str(ctx: &mut Ctx<'_>, s: &Str) {
    match s {
        Str::Int(n) => ferrokv_resp::encode::bulk_i64(ctx.out, *n),
        _ => s.with_bytes(|b| ctx.bulk(b)),
    }
}

/// `getGenericCommand`: replies the value or null; WRONGTYPE otherwise.
fn get_generic(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    match read_str(ctx, key)? {
        Some(s) => reply_str(ctx, &s),
        None => ctx.null(),
    }
    Ok(())
}

enum Replies {
    /// OK on success, null when NX/XX prevent it (SET, SETEX…).
    OkOrNull,
    /// 1 on success, 0 otherwise (SETNX).
    OneOrZero,
}

fn set_generic(ctx: &mut Ctx<'_>, flags: SetFlags, key: &[u8], value: &[u8], replies: Replies) -> CmdResult {
    let expire = match &flags.expire {
        Some((unit, relative, arg)) => Some(expire_ms(ctx, *unit, *relative, arg)?),
        None => None,
    };
    if flags.get {
        get_generic(ctx, key)?;
    }
    let found = ctx.view.get_mut(key).is_some();
    if (flags.nx && found) || (flags.xx && !found) {
        if !flags.get {
            match replies {
                Replies::OkOrNull => ctx.null(),
                Replies::OneOrZero => ctx.int(0),
            }
        }
        return Ok(());
    }
    ctx.view.set(key, Value::Str(Str::from_arg(value)), flags.keepttl);
    ctx.notify(STRING, "set", key);
    if let Some(at) = expire {
        ctx.view.set_expire(key, at);
        ctx.notify(GENERIC, "expire", key);
        // A relative expiry is fixed to an absolute time for replicas.
        ctx.effects.rewrite(crate::argv!["SET", Bytes::copy_from_slice(key), Bytes::copy_from_slice(value), "PXAT", at]);
    }
    if !flags.get {
        match replies {
            Replies::OkOrNull => encode_ok(ctx),
            Replies::OneOrZero => ctx.int(1),
        }
    }
    Ok(())
}

fn encode_ok(ctx: &mut Ctx<'_>) {
    ferrokv_resp::encode::ok(ctx.out);
}

/* ---------------------------------------------------------------------
 * String commands
 * ------------------------------------------------------------------- */

/* GET key */
fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    get_generic(ctx, &args[1])
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL] */
fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let flags = parse_set_flags(args, 3, true)?;
    let (get, expire) = (flags.get, flags.expire.is_some());
    set_generic(ctx, flags, &args[1], &args[2], Replies::OkOrNull)?;
    if get && !expire {
        // Replicated without GET, as Redis (an expiry rewrote it already).
        ctx.effects.rewrite(args.iter().enumerate().filter(|(i, a)| *i < 3 || !a.eq_ignore_ascii_case(b"get")).map(|(_, a)| a.clone()).collect());
    }
    Ok(())
}

/* SETNX key value */
fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_generic(ctx, SetFlags { nx: true, ..Default::default() }, &args[1], &args[2], Replies::OneOrZero)
}

/* SETEX key seconds value */
fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let flags = SetFlags { expire: Some((Unit::Seconds, true, args[2].clone())), ..Default::default() };
    set_generic(ctx, flags, &args[1], &args[3], Replies::OkOrNull)
}

/* PSETEX key milliseconds value */
fn psetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let flags = SetFlags { expire: Some((Unit::Millis, true, args[2].clone())), ..Default::default() };
    set_generic(ctx, flags, &args[1], &args[3], Replies::OkOrNull)
}

/* GETSET key value */
fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    get_generic(ctx, &args[1])?;
    ctx.view.set(&args[1], Value::Str(Str::from_arg(&args[2])), false);
    ctx.notify(STRING, "set", &args[1]);
    Ok(())
}

/* GETDEL key */
/* Propagated as the DEL or UNLINK it amounts to, as Redis's. */
fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match read_str(ctx, &args[1])? {
        Some(s) => {
            reply_str(ctx, &s);
            let lazy = ferrokv_storage::lazyfree::Policy::on(&ctx.view.lazyfree().policy.user_del);
            ctx.view.unlink(&args[1], lazy);
            ctx.notify(GENERIC, "del", &args[1]);
            ctx.effects.rewrite(crate::argv![if lazy { "UNLINK" } else { "DEL" }, &args[1]]);
        }
        None => ctx.null(),
    }
    Ok(())
}

/* GETEX key [EX seconds|PX milliseconds|EXAT unix-time|PXAT unix-time|PERSIST] */
fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let flags = parse_set_flags(args, 2, false)?;
    let key = &args[1];
    let Some(s) = read_str(ctx, key)? else {
        ctx.null();
        return Ok(());
    };
    let expire = match &flags.expire {
        Some((unit, relative, arg)) => Some((expire_ms(ctx, *unit, *relative, arg)?, *relative)),
        None => None,
    };
    reply_str(ctx, &s);
    match expire {
        Some((at, false)) if at <= ctx.view.now_ms && ctx.view.deletes_expired() => {
            ctx.view.delete(key);
            ctx.notify(GENERIC, "del", key);
            ctx.effects.rewrite(crate::argv!["DEL", key]);
        }
        Some((at, _)) => {
            ctx.view.set_expire(key, at);
            ctx.view.modified(key);
            ctx.notify(GENERIC, "expire", key);
            ctx.effects.rewrite(crate::argv!["PEXPIREAT", key, at]);
        }
        None if flags.persist && ctx.view.persist(key) => {
            ctx.view.modified(key);
            ctx.notify(GENERIC, "persist", key);
            ctx.effects.rewrite(crate::argv!["PERSIST", key]);
        }
        None => {}
    }
    Ok(())
}

/* MGET key [key ...]: a missing or non-string key reads as null. */
fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.array(args.len() - 1);
    for key in &args[1..] {
        match ctx.view.get(key).and_then(|e| e.value.as_str().cloned()) {
            Some(s) => reply_str(ctx, &s),
            None => ctx.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx<'_>, args: &[Bytes], nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(ctx.name));
    }
    if nx && args[1..].chunks(2).any(|kv| ctx.view.get_mut(&kv[0]).is_some()) {
        ctx.int(0);
        return Ok(());
    }
    for kv in args[1..].chunks(2) {
        ctx.view.set(&kv[0], Value::Str(Str::from_arg(&kv[1])), false);
        ctx.notify(STRING, "set", &kv[0]);
    }
    if nx {
        ctx.int(1);
        Ok(())
    } else {
        ctx.ok()
    }
}

/* MSET key value [key value ...] */
fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, false)
}

/* MSETNX key value [key value ...] */
fn msetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, true)
}

/* APPEND key value */
fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, tail) = (&args[1], &args[2]);
    let total = match write_str(ctx, key)? {
        None => {
            ctx.view.set(key, Value::Str(Str::from_arg(tail)), false);
            tail.len()
        }
        Some(s) => {
            check_length(ctx, s.len() as u64, tail.len() as u64)?;
            let mut v = s.to_vec();
            v.extend_from_slice(tail);
            let n = v.len();
            ctx.view.replace(key, Value::Str(Str::raw(v)));
            n
        }
    };
    ctx.notify(STRING, "append", key);
    ctx.int(total as i64);
    Ok(())
}

/* STRLEN key */
fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read_str(ctx, &args[1])?.map_or(0, |s| s.len());
    ctx.int(n as i64);
    Ok(())
}

/* GETRANGE key start end */
fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut start = args::int(&args[2])?;
    let mut end = args::int(&args[3])?;
    let Some(s) = read_str(ctx, &args[1])? else {
        ctx.bulk(b"");
        return Ok(());
    };
    s.with_bytes(|b| {
        let len = b.len() as i64;
        if start < 0 && end < 0 && start > end {
            return encode_bulk(ctx, b"");
        }
        if start < 0 {
            start += len;
        }
        if end < 0 {
            end += len;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            encode_bulk(ctx, b"")
        } else {
            encode_bulk(ctx, &b[start as usize..=end as usize])
        }
    });
    Ok(())
}

fn encode_bulk(ctx: &mut Ctx<'_>, b: &[u8]) {
    ctx.bulk(b);
}

/* SETRANGE key offset value */
fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, value) = (&args[1], &args[3]);
    let offset = args::int(&args[2])?;
    if offset < 0 {
        return Err("ERR offset is out of range".into());
    }
    let offset = offset as u64;
    let mut data = match write_str(ctx, key)? {
        None => {
            if value.is_empty() {
                ctx.int(0);
                return Ok(());
            }
            check_length(ctx, offset, value.len() as u64)?;
            Vec::new()
        }
        Some(s) => {
            if value.is_empty() {
                ctx.int(s.len() as i64);
                return Ok(());
            }
            check_length(ctx, offset, value.len() as u64)?;
            s.to_vec()
        }
    };
    let end = offset as usize + value.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[offset as usize..end].copy_from_slice(value);
    let n = data.len();
    ctx.view.replace(key, Value::Str(Str::raw(data)));
    ctx.notify(STRING, "setrange", key);
    ctx.int(n as i64);
    Ok(())
}

/// `incrDecrCommand`: the new value keeps the key's expiry.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> CmdResult {
    // An integer already stored changes where it lies: one lookup, as
    // Redis's incrDecrCommand updates an unshared integer object in place.
    if let Some(Value::Str(Str::Int(n))) = ctx.view.get_mut(key).map(|e| &mut e.value) {
        let next = n.checked_add(by).ok_or_else(|| RedisError::from(errors::OVERFLOW))?;
        *n = next;
        ctx.view.modified(key);
        ctx.notify(STRING, "incrby", key);
        ctx.int(next);
        return Ok(());
    }
    let current = match write_str(ctx, key)? {
        None => 0,
        Some(Str::Int(n)) => n,
        Some(s) => s.with_bytes(args::int)?,
    };
    let next = current.checked_add(by).ok_or_else(|| RedisError::from(errors::OVERFLOW))?;
    ctx.view.replace(key, Value::Str(Str::Int(next)));
    ctx.notify(STRING, "incrby", key);
    ctx.int(next);
    Ok(())
}

/* INCR key */
fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, &args[1], 1)
}

/* DECR key */
fn decr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, &args[1], -1)
}

/* INCRBY key increment */
fn incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[2])?;
    incr_by(ctx, &args[1], by)
}

/* DECRBY key decrement */
fn decrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[2])?;
    if by == i64::MIN {
        return Err("ERR decrement would overflow".into());
    }
    incr_by(ctx, &args[1], -by)
}

/* INCRBYFLOAT key increment: long double arithmetic, as Redis. */
fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let current = write_str(ctx, key)?.map(|s| s.to_vec());
    let result = longdouble::incr(current.as_deref(), &args[2])?;
    ctx.view.replace(key, Value::Str(Str::unencoded(&result)));
    ctx.notify(STRING, "incrbyfloat", key);
    ctx.bulk(&result);
    // The result, not the arithmetic, goes to replicas (as Redis).
    ctx.effects.rewrite(crate::argv!["SET", key, result.to_vec(), "KEEPTTL"]);
    Ok(())
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] */
fn lcs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = ctx.view.get(&args[1]).map(|e| e.value.as_str().cloned());
    let b = ctx.view.get(&args[2]).map(|e| e.value.as_str().cloned());
    if matches!(a, Some(None)) || matches!(b, Some(None)) {
        return Err("ERR The specified keys must contain string values".into());
    }
    let a = a.flatten().map(|s| s.to_vec()).unwrap_or_default();
    let b = b.flatten().map(|s| s.to_vec()).unwrap_or_default();
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        if args::is(opt, "idx") {
            getidx = true;
        } else if args::is(opt, "len") {
            getlen = true;
        } else if args::is(opt, "withmatchlen") {
            withmatchlen = true;
        } else if args::is(opt, "minmatchlen") && j + 1 < args.len() {
            minmatchlen = args::int(&args[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    if getidx && getlen {
        return Err("ERR If you want both the length and indexes, please just use IDX.".into());
    }
    let table_bytes = (a.len() as u64 + 1) * (b.len() as u64 + 1) * 4;
    if table_bytes > ctx.limits.proto_max_bulk_len() as u64 {
        return Err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len".into());
    }
    let table = crate::families::lcs::Table::build(&a, &b);
    if getlen {
        ctx.int(table.len() as i64);
        return Ok(());
    }
    let walk = table.walk(&a, &b, minmatchlen as u32);
    if getidx {
        ctx.map(2);
        ctx.bulk(b"matches");
        ctx.array(walk.ranges.len());
        for r in &walk.ranges {
            ctx.array(2 + withmatchlen as usize);
            ctx.array(2);
            ctx.int(r.a.0 as i64);
            ctx.int(r.a.1 as i64);
            ctx.array(2);
            ctx.int(r.b.0 as i64);
            ctx.int(r.b.1 as i64);
            if withmatchlen {
                ctx.int(r.len as i64);
            }
        }
        ctx.bulk(b"len");
        ctx.int(table.len() as i64);
    } else {
        ctx.bulk(&walk.string);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::{words, Keyspace};

    #[test]
    fn set_with_a_relative_ttl_propagates_an_absolute_one() {
        let ks = Keyspace::new();
        let out = ks.run(&["SET", "k", "v", "EX", "10"]);
        assert_eq!(out.reply, "+OK\r\n");
        let rewrite = out.rewrite.expect("SET EX rewrites itself");
        let at = (ks.now_ms + 10_000).to_string();
        assert_eq!(words(&rewrite[0]), ["SET", "k", "v", "PXAT", at.as_str()]);
        assert_eq!(ks.reply(&["GET", "k"]), "$1\r\nv\r\n");
    }

    #[test]
    fn incrbyfloat_replicates_its_result_not_its_increment() {
        let ks = Keyspace::new();
        ks.run(&["SET", "f", "10.5"]);
        let out = ks.run(&["INCRBYFLOAT", "f", "0.1"]);
        assert_eq!(out.reply, "$4\r\n10.6\r\n");
        assert_eq!(words(&out.rewrite.expect("rewritten")[0]), ["SET", "f", "10.6", "KEEPTTL"]);
    }

    #[test]
    fn setrange_beyond_proto_max_bulk_len_is_refused() {
        let ks = Keyspace::new();
        ks.limits.proto_max_bulk_len.store(100, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(ks.reply(&["SETRANGE", "k", "200", "x"]), "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    }

    #[test]
    fn a_value_of_another_type_is_wrongtype() {
        let ks = Keyspace::new();
        ks.run(&["LPUSH", "l", "a"]);
        assert!(ks.reply(&["GET", "l"]).starts_with("-WRONGTYPE"));
    }
}
