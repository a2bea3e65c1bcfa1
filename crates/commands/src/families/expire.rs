//! Expiry commands (Redis's expire.c): EXPIRE, PEXPIRE, EXPIREAT,
//! PEXPIREAT with NX/XX/GT/LT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.

use bytes::Bytes;
use ferrokv_storage::events::GENERIC;

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult};

const KS: &[&str] = &["keyspace"];

pub static COMMANDS: &[Command] = &[
    cmd!("expire", "1.0.0", -3, WRITE | FAST, KS, (1, 1, 1), expire, "generic", "Set a key's time to live in seconds"),
    cmd!("pexpire", "2.6.0", -3, WRITE | FAST, KS, (1, 1, 1), pexpire, "generic", "Set a key's time to live in milliseconds"),
    cmd!("expireat", "1.2.0", -3, WRITE | FAST, KS, (1, 1, 1), expireat, "generic", "Set the expiration for a key as a UNIX timestamp"),
    cmd!(
        "pexpireat",
        "2.6.0",
        -3,
        WRITE | FAST,
        KS,
        (1, 1, 1),
        pexpireat,
        "generic",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds"
    ),
    cmd!("ttl", "1.0.0", 2, READONLY | FAST, KS, (1, 1, 1), ttl, "generic", "Get the time to live for a key in seconds", tips = &["nondeterministic_output"]),
    cmd!(
        "pttl",
        "2.6.0",
        2,
        READONLY | FAST,
        KS,
        (1, 1, 1),
        pttl,
        "generic",
        "Get the time to live for a key in milliseconds",
        tips = &["nondeterministic_output"]
    ),
    cmd!("expiretime", "7.0.0", 2, READONLY | FAST, KS, (1, 1, 1), expiretime, "generic", "Get the expiration Unix timestamp for a key"),
    cmd!("pexpiretime", "7.0.0", 2, READONLY | FAST, KS, (1, 1, 1), pexpiretime, "generic", "Get the expiration Unix timestamp for a key in milliseconds"),
    cmd!("persist", "2.2.0", 2, WRITE | FAST, KS, (1, 1, 1), persist, "generic", "Remove the expiration from a key"),
];

#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_conditions(args: &[Bytes]) -> Result<Conditions, errors::RedisError> {
    let mut c = Conditions::default();
    for opt in &args[3..] {
        if args::is(opt, "nx") {
            c.nx = true;
        } else if args::is(opt, "xx") {
            c.xx = true;
        } else if args::is(opt, "gt") {
            c.gt = true;
        } else if args::is(opt, "lt") {
            c.lt = true;
        } else {
            return Err(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)).into());
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if c.gt && c.lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(c)
}

/// Whether the conditions allow replacing `current` (None = no expiry) by `when`.
fn allowed(c: &Conditions, current: Option<i64>, when: i64) -> bool {
    if c.nx && current.is_some() {
        return false;
    }
    if c.xx && current.is_none() {
        return false;
    }
    // No expiry counts as an infinite TTL: GT never beats it, LT always does.
    if c.gt && current.is_none_or(|cur| when <= cur) {
        return false;
    }
    if c.lt && current.is_some_and(|cur| when >= cur) {
        return false;
    }
    true
}

/// `expireGenericCommand`: `base` is now (relative forms) or 0 (absolute).
fn expire_generic(ctx: &mut Ctx<'_>, args: &[Bytes], relative: bool, seconds: bool) -> CmdResult {
    let conditions = parse_conditions(args)?;
    let mut when = args::int(&args[2])?;
    let name = ctx.name;
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(errors::invalid_expire(name));
        }
        when *= 1000;
    }
    let base = if relative { ctx.view.now_ms } else { 0 };
    if when > i64::MAX - base {
        return Err(errors::invalid_expire(name));
    }
    when += base;
    let key = &args[1];
    if ctx.view.get_mut(key).is_none() {
        ctx.int(0);
        return Ok(());
    }
    let current = ctx.view.expire_at(key);
    if !allowed(&conditions, current, when) {
        ctx.int(0);
        return Ok(());
    }
    // A replica applying its primary's PEXPIREAT keeps the key (its clock
    // is not the judge); the primary's DEL will come.
    if when <= ctx.view.now_ms && ctx.view.deletes_expired() {
        ctx.view.delete(key);
        ctx.notify(GENERIC, "del", key);
        ctx.effects.rewrite(crate::argv!["DEL", key]);
    } else {
        ctx.view.set_expire(key, when);
        ctx.view.modified(key);
        ctx.notify(GENERIC, "expire", key);
        ctx.effects.rewrite(crate::argv!["PEXPIREAT", key, when]);
    }
    ctx.int(1);
    Ok(())
}

/* EXPIRE key seconds [NX|XX|GT|LT] */
fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, true)
}

/* PEXPIRE key milliseconds [NX|XX|GT|LT] */
fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, false)
}

/* EXPIREAT key unix-time-seconds [NX|XX|GT|LT] */
fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, true)
}

/* PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT] */
fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, false)
}

/// `ttlGenericCommand`: -2 missing, -1 no expiry, else the rounded TTL or
/// the absolute time.
fn ttl_generic(ctx: &mut Ctx<'_>, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult {
    if ctx.view.get_notouch(&args[1]).is_none() {
        ctx.int(-2);
        return Ok(());
    }
    let reply = match ctx.view.expire_at(&args[1]) {
        None => -1,
        Some(at) => {
            let t = if absolute { at } else { (at - ctx.view.now_ms).max(0) };
            if ms {
                t
            } else {
                (t + 500) / 1000
            }
        }
    };
    ctx.int(reply);
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/* PERSIST key */
fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.view.get_mut(&args[1]).is_none() {
        ctx.int(0);
        return Ok(());
    }
    let removed = ctx.view.persist(&args[1]);
    if removed {
        ctx.view.modified(&args[1]);
        ctx.notify(GENERIC, "persist", &args[1]);
    }
    ctx.int(removed as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::{words, Keyspace};

    #[test]
    fn expire_propagates_an_absolute_time_and_a_past_one_deletes() {
        let ks = Keyspace::new();
        ks.run(&["SET", "k", "v"]);
        let out = ks.run(&["EXPIRE", "k", "100"]);
        assert_eq!(out.reply, ":1\r\n");
        let at = (ks.now_ms + 100_000).to_string();
        assert_eq!(words(&out.rewrite.expect("rewritten")[0]), ["PEXPIREAT", "k", at.as_str()]);
        assert_eq!(ks.reply(&["TTL", "k"]), ":100\r\n");
        let out = ks.run(&["EXPIRE", "k", "-1"]);
        assert_eq!(words(&out.rewrite.expect("rewritten")[0]), ["DEL", "k"]);
        assert_eq!(ks.reply(&["EXISTS", "k"]), ":0\r\n");
    }
}
