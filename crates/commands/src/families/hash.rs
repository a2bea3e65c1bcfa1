//! Hash commands (Redis's t_hash.c).

use bytes::Bytes;
use ferrokv_storage::events::HASH;
use ferrokv_storage::Hash;

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::families::keys::{parse_cursor, reply_scan, scan_options};
use crate::keyspec::{flags::*, KeySpec};
use crate::longdouble;
use crate::typed::{done, hash_create, hash_read, hash_write};

const H: &[&str] = &["hash"];

pub static COMMANDS: &[Command] = &[
    cmd!("hset", "2.0.0", -4, WRITE | DENYOOM | FAST, H, (1, 1, 1), hset, "hash", "Set the string value of a hash field"),
    cmd!("hmset", "2.0.0", -4, WRITE | DENYOOM | FAST, H, (1, 1, 1), hmset, "hash", "Set multiple hash fields to multiple values"),
    cmd!(
        "hsetnx",
        "2.0.0",
        4,
        WRITE | DENYOOM | FAST,
        H,
        (1, 1, 1),
        hsetnx,
        "hash",
        "Set the value of a hash field, only if the field does not exist",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!("hget", "2.0.0", 3, READONLY | FAST, H, (1, 1, 1), hget, "hash", "Get the value of a hash field"),
    cmd!("hmget", "2.0.0", -3, READONLY | FAST, H, (1, 1, 1), hmget, "hash", "Get the values of all the given hash fields"),
    cmd!("hdel", "2.0.0", -3, WRITE | FAST, H, (1, 1, 1), hdel, "hash", "Delete one or more hash fields", key_specs = &[KeySpec::at(1, RW | DELETE)]),
    cmd!("hexists", "2.0.0", 3, READONLY | FAST, H, (1, 1, 1), hexists, "hash", "Determine if a hash field exists", key_specs = &[KeySpec::at(1, RO)]),
    cmd!("hlen", "2.0.0", 2, READONLY | FAST, H, (1, 1, 1), hlen, "hash", "Get the number of fields in a hash", key_specs = &[KeySpec::at(1, RO)]),
    cmd!(
        "hstrlen",
        "3.2.0",
        3,
        READONLY | FAST,
        H,
        (1, 1, 1),
        hstrlen,
        "hash",
        "Get the length of the value of a hash field",
        key_specs = &[KeySpec::at(1, RO)]
    ),
    cmd!("hkeys", "2.0.0", 2, READONLY, H, (1, 1, 1), hkeys, "hash", "Get all the fields in a hash", tips = &["nondeterministic_output_order"]),
    cmd!("hvals", "2.0.0", 2, READONLY, H, (1, 1, 1), hvals, "hash", "Get all the values in a hash", tips = &["nondeterministic_output_order"]),
    cmd!("hgetall", "2.0.0", 2, READONLY, H, (1, 1, 1), hgetall, "hash", "Get all the fields and values in a hash", tips = &["nondeterministic_output_order"]),
    cmd!(
        "hincrby",
        "2.0.0",
        4,
        WRITE | DENYOOM | FAST,
        H,
        (1, 1, 1),
        hincrby,
        "hash",
        "Increment the integer value of a hash field by the given number",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "hincrbyfloat",
        "2.6.0",
        4,
        WRITE | DENYOOM | FAST,
        H,
        (1, 1, 1),
        hincrbyfloat,
        "hash",
        "Increment the float value of a hash field by the given amount",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "hrandfield",
        "6.2.0",
        -2,
        READONLY,
        H,
        (1, 1, 1),
        hrandfield,
        "hash",
        "Get one or multiple random fields from a hash",
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "hscan",
        "2.8.0",
        -3,
        READONLY,
        H,
        (1, 1, 1),
        hscan,
        "hash",
        "Incrementally iterate hash fields and associated values",
        tips = &["nondeterministic_output"]
    ),
];

/// HSET and HMSET: set pairs, converting the encoding first if any
/// argument is too long for a listpack. Returns how many fields were new.
fn set_pairs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<i64, RedisError> {
    if !args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(ctx.name));
    }
    let limits = ctx.view.thresholds();
    let key = &args[1];
    let h = hash_create(&mut ctx.view, key, Hash::default)?;
    h.prepare_for(&args[2..], &limits);
    let added = args[2..].chunks(2).filter(|fv| h.set(&fv[0], &fv[1], &limits)).count();
    done(&mut ctx.view, key, false, (HASH, "hset"));
    Ok(added as i64)
}

/* HSET key field value [field value ...] */
fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = set_pairs(ctx, args)?;
    ctx.int(n);
    Ok(())
}

/* HMSET key field value [field value ...] */
fn hmset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args)?;
    ctx.ok()
}

/* HSETNX key field value */
fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let limits = ctx.view.thresholds();
    let h = hash_create(&mut ctx.view, &args[1], Hash::default)?;
    if h.contains(&args[2]) {
        ctx.int(0);
        return Ok(());
    }
    h.prepare_for(&args[2..4], &limits);
    h.set(&args[2], &args[3], &limits);
    done(&mut ctx.view, &args[1], false, (HASH, "hset"));
    ctx.int(1);
    Ok(())
}

/* HGET key field */
fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    match hash_read(view, &args[1])?.and_then(|h| h.get(&args[2])) {
        Some(v) => r.bulk(v),
        None => r.null(),
    }
    Ok(())
}

/* HMGET key field [field ...] */
fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let h = hash_read(view, &args[1])?;
    r.array(args.len() - 2);
    for f in &args[2..] {
        match h.as_ref().and_then(|h| h.get(f)) {
            Some(v) => r.bulk(v),
            None => r.null(),
        }
    }
    Ok(())
}

/* HDEL key field [field ...] */
fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let Some(h) = hash_write(&mut ctx.view, key)? else {
        ctx.int(0);
        return Ok(());
    };
    let removed = args[2..].iter().filter(|f| h.remove(f)).count();
    let empty = h.is_empty();
    if removed > 0 {
        done(&mut ctx.view, key, empty, (HASH, "hdel"));
    }
    ctx.int(removed as i64);
    Ok(())
}

/* HEXISTS key field */
fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found = hash_read(&mut ctx.view, &args[1])?.is_some_and(|h| h.contains(&args[2]));
    ctx.int(found as i64);
    Ok(())
}

/* HLEN key */
fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = hash_read(&mut ctx.view, &args[1])?.map_or(0, |h| h.len());
    ctx.int(n as i64);
    Ok(())
}

/* HSTRLEN key field */
fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = hash_read(&mut ctx.view, &args[1])?.and_then(|h| h.get(&args[2]).map(|v| v.len())).unwrap_or(0);
    ctx.int(n as i64);
    Ok(())
}

/// HKEYS, HVALS, HGETALL: (fields, values) wanted.
fn get_all(ctx: &mut Ctx<'_>, key: &[u8], fields: bool, values: bool) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let Some(h) = hash_read(view, key)? else {
        if fields && values {
            r.map(0);
        } else {
            r.array(0);
        }
        return Ok(());
    };
    let pairs = h.pairs();
    if fields && values {
        r.map(pairs.len());
    } else {
        r.array(pairs.len());
    }
    for (f, v) in pairs {
        if fields {
            r.bulk(f);
        }
        if values {
            r.bulk(v);
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    get_all(ctx, &args[1], true, false)
}

fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    get_all(ctx, &args[1], false, true)
}

fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    get_all(ctx, &args[1], true, true)
}

/* HINCRBY key field increment */
fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[3])?;
    let limits = ctx.view.thresholds();
    let h = hash_create(&mut ctx.view, &args[1], Hash::default)?;
    let current = match h.get(&args[2]) {
        Some(v) => ferrokv_resp::parse_i64(v).ok_or_else(|| RedisError::from("ERR hash value is not an integer"))?,
        None => 0,
    };
    let next = current.checked_add(by).ok_or_else(|| RedisError::from(errors::OVERFLOW))?;
    let text = itoa::Buffer::new().format(next).to_string();
    h.prepare_for(&args[2..3], &limits);
    h.set(&args[2], text.as_bytes(), &limits);
    done(&mut ctx.view, &args[1], false, (HASH, "hincrby"));
    ctx.int(next);
    Ok(())
}

/* HINCRBYFLOAT key field increment: long double arithmetic, as Redis. */
fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // The increment is checked before the key is touched, as in Redis.
    match longdouble::incr(None, &args[3]) {
        Err(longdouble::IncrError::NanOrInfinity) => return Err("ERR value is NaN or Infinity".into()),
        Err(_) => return Err(errors::NOT_FLOAT.into()),
        Ok(_) => {}
    }
    let limits = ctx.view.thresholds();
    let h = hash_create(&mut ctx.view, &args[1], Hash::default)?;
    let current = h.get(&args[2]).map(|v| v.to_vec());
    let result = longdouble::incr(current.as_deref(), &args[3]).map_err(|e| match e {
        longdouble::IncrError::Current => RedisError::from("ERR hash value is not a float"),
        other => RedisError::from(other),
    })?;
    h.prepare_for(&args[2..3], &limits);
    h.set(&args[2], &result, &limits);
    let empty = h.is_empty();
    done(&mut ctx.view, &args[1], empty, (HASH, "hincrbyfloat"));
    ctx.bulk(&result);
    // The result, not the arithmetic, goes to replicas (as Redis).
    ctx.effects.rewrite(crate::argv!["HSET", &args[1], &args[2], result.to_vec()]);
    Ok(())
}

/* HRANDFIELD key [count [WITHVALUES]] */
fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    use rand::Rng;
    if args.len() > 4 || (args.len() == 4 && !args::is(&args[3], "withvalues")) {
        return Err(errors::SYNTAX.into());
    }
    let withvalues = args.len() == 4;
    let count = args.get(2).map(|c| crate::shared::random_count(c, withvalues)).transpose()?;
    let (view, mut r) = ctx.parts();
    let h = hash_read(view, &args[1])?;
    let mut rng = rand::rng();
    let Some(count) = count else {
        match h.filter(|h| !h.is_empty()) {
            Some(h) => {
                let (f, _) = h.pair_at(rng.random_range(0..h.len())).expect("index below len");
                r.bulk(f);
            }
            None => r.null(),
        }
        return Ok(());
    };
    let Some(h) = h else {
        r.array(0);
        return Ok(());
    };
    let len = h.len();
    let longest = || (0..len).filter_map(|i| h.pair_at(i)).map(|(f, v)| f.len() + if withvalues { v.len() + 16 } else { 0 }).max().unwrap_or(0);
    let picks = crate::shared::random_picks(len, count, longest)?;
    let resp3 = r.proto == ferrokv_resp::Protocol::Resp3;
    r.array(if withvalues && !resp3 { picks.len() * 2 } else { picks.len() });
    for i in picks {
        let (f, v) = h.pair_at(i).expect("index below len");
        if withvalues && resp3 {
            r.array(2);
        }
        r.bulk(f);
        if withvalues {
            r.bulk(v);
        }
    }
    Ok(())
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] */
fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    // A missing key answers before the options are read, as Redis's.
    let Some(h) = hash_read(&mut ctx.view, &args[1])? else {
        reply_scan(ctx, 0, &[]);
        return Ok(());
    };
    let opts = scan_options(args, 3, false)?;
    let mut items = Vec::new();
    let next = h.scan(cursor, opts.count, |f, v| {
        if opts.matches(f) {
            items.push(Bytes::copy_from_slice(f));
            items.push(Bytes::copy_from_slice(v));
        }
    });
    reply_scan(ctx, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::{words, Keyspace};

    #[test]
    fn hset_counts_new_fields_and_hincrbyfloat_replicates_its_result() {
        let ks = Keyspace::new();
        assert_eq!(ks.reply(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
        assert_eq!(ks.reply(&["HSET", "h", "a", "3"]), ":0\r\n");
        let out = ks.run(&["HINCRBYFLOAT", "h", "a", "1.5"]);
        assert_eq!(out.reply, "$3\r\n4.5\r\n");
        assert_eq!(words(&out.rewrite.expect("rewritten")[0]), ["HSET", "h", "a", "4.5"]);
        assert_eq!(ks.reply(&["HSET", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hset' command\r\n");
    }
}
