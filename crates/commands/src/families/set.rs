//! Set commands (Redis's t_set.c).

use bytes::Bytes;
use ferrokv_storage::events::{GENERIC, SET};
use ferrokv_storage::types::set::new_for;
use ferrokv_storage::{Set, Thresholds, Value};
use rand::Rng;

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::{Ctx, Reply};
use crate::errors::{self, CmdResult, RedisError};
use crate::families::keys::{parse_cursor, reply_scan, scan_options};
use crate::keyspec::{flags::*, KeySpec};
use crate::typed::{done, set_create, set_read, set_write};

const S: &[&str] = &["set"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "sadd",
        "1.0.0",
        -3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        sadd,
        "set",
        "Add one or more members to a set",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!("srem", "1.0.0", -3, WRITE | FAST, S, (1, 1, 1), srem, "set", "Remove one or more members from a set", key_specs = &[KeySpec::at(1, RW | DELETE)]),
    cmd!("smembers", "1.0.0", 2, READONLY, S, (1, 1, 1), smembers, "set", "Get all the members in a set", tips = &["nondeterministic_output_order"]),
    cmd!(
        "sismember",
        "1.0.0",
        3,
        READONLY | FAST,
        S,
        (1, 1, 1),
        sismember,
        "set",
        "Determine if a given value is a member of a set",
        key_specs = &[KeySpec::at(1, RO)]
    ),
    cmd!("smismember", "6.2.0", -3, READONLY | FAST, S, (1, 1, 1), smismember, "set", "Returns the membership associated with the given elements for a set"),
    cmd!("scard", "1.0.0", 2, READONLY | FAST, S, (1, 1, 1), scard, "set", "Get the number of members in a set", key_specs = &[KeySpec::at(1, RO)]),
    cmd!(
        "spop",
        "1.0.0",
        -2,
        WRITE | FAST,
        S,
        (1, 1, 1),
        spop,
        "set",
        "Remove and return one or multiple random members from a set",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "srandmember",
        "1.0.0",
        -2,
        READONLY,
        S,
        (1, 1, 1),
        srandmember,
        "set",
        "Get one or multiple random members from a set",
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "smove",
        "1.0.0",
        4,
        WRITE | FAST,
        S,
        (1, 2, 1),
        smove,
        "set",
        "Move a member from one set to another",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)]
    ),
    cmd!("sinter", "1.0.0", -2, READONLY, S, (1, -1, 1), sinter, "set", "Intersect multiple sets", tips = &["nondeterministic_output_order"]),
    cmd!(
        "sintercard",
        "7.0.0",
        -3,
        READONLY | MOVABLEKEYS,
        S,
        (0, 0, 0),
        sintercard,
        "set",
        "Intersect multiple sets and return the cardinality of the result",
        key_specs = &[KeySpec::counted(1, RO | ACCESS)]
    ),
    cmd!(
        "sinterstore",
        "1.0.0",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 1),
        sinterstore,
        "set",
        "Intersect multiple sets and store the resulting set in a key",
        key_specs = &[KeySpec::at(1, RW | UPDATE), KeySpec::range(2, -1, 1, RO | ACCESS)]
    ),
    cmd!("sunion", "1.0.0", -2, READONLY, S, (1, -1, 1), sunion, "set", "Add multiple sets", tips = &["nondeterministic_output_order"]),
    cmd!(
        "sunionstore",
        "1.0.0",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 1),
        sunionstore,
        "set",
        "Add multiple sets and store the resulting set in a key",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::range(2, -1, 1, RO | ACCESS)]
    ),
    cmd!("sdiff", "1.0.0", -2, READONLY, S, (1, -1, 1), sdiff, "set", "Subtract multiple sets", tips = &["nondeterministic_output_order"]),
    cmd!(
        "sdiffstore",
        "1.0.0",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 1),
        sdiffstore,
        "set",
        "Subtract multiple sets and store the resulting set in a key",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::range(2, -1, 1, RO | ACCESS)]
    ),
    cmd!("sscan", "2.8.0", -3, READONLY, S, (1, 1, 1), sscan, "set", "Incrementally iterate Set elements", tips = &["nondeterministic_output"]),
];

/* SADD key member [member ...] */
fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let limits = ctx.view.thresholds();
    let first = args[2].clone();
    let s = set_create(&mut ctx.view, &args[1], || new_for(&first))?;
    let added = args[2..].iter().filter(|m| s.add(m, &limits)).count();
    if added > 0 {
        done(&mut ctx.view, &args[1], false, (SET, "sadd"));
    }
    ctx.int(added as i64);
    Ok(())
}

/* SREM key member [member ...] */
fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(s) = set_write(&mut ctx.view, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let removed = args[2..].iter().filter(|m| s.remove(m)).count();
    let empty = s.is_empty();
    if removed > 0 {
        done(&mut ctx.view, &args[1], empty, (SET, "srem"));
    }
    ctx.int(removed as i64);
    Ok(())
}

fn reply_members(r: &mut Reply<'_>, members: &[Bytes]) {
    r.set_len(members.len());
    for m in members {
        r.bulk(m);
    }
}

/* SMEMBERS key */
fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let members = set_read(view, &args[1])?.map(|s| s.members()).unwrap_or_default();
    reply_members(&mut r, &members);
    Ok(())
}

/* SISMEMBER key member */
fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found = set_read(&mut ctx.view, &args[1])?.is_some_and(|s| s.contains(&args[2]));
    ctx.int(found as i64);
    Ok(())
}

/* SMISMEMBER key member [member ...] */
fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let s = set_read(view, &args[1])?;
    r.array(args.len() - 2);
    for m in &args[2..] {
        r.int(s.as_ref().is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/* SCARD key */
fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = set_read(&mut ctx.view, &args[1])?.map_or(0, |s| s.len());
    ctx.int(n as i64);
    Ok(())
}

/// The optional count of SPOP/SRANDMEMBER.
fn count_arg(args: &[Bytes]) -> Result<Option<i64>, RedisError> {
    match args.len() {
        2 => Ok(None),
        3 => Ok(Some(args::int(&args[2])?)),
        _ => Err(errors::SYNTAX.into()),
    }
}

/* SPOP key [count] */
fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = count_arg(args)?;
    if count.is_some_and(|c| c < 0) {
        return Err("ERR value is out of range, must be positive".into());
    }
    let mut rng = rand::rng();
    let (view, mut r) = ctx.parts();
    let Some(s) = set_write(view, &args[1])? else {
        match count {
            None => r.null(),
            Some(_) => r.set_len(0),
        }
        return Ok(());
    };
    let n = count.map_or(1, |c| (c as usize).min(s.len()));
    let mut popped = Vec::with_capacity(n);
    if count.is_some() && n == s.len() {
        // The whole set goes, in the set's own order (as Redis replies).
        popped = s.members();
        while s.take_at(0).is_some() {}
    }
    while popped.len() < n {
        let i = rng.random_range(0..s.len());
        popped.extend(s.take_at(i));
    }
    let empty = s.is_empty();
    match count {
        None => r.bulk(&popped[0]),
        Some(_) => reply_members(&mut r, &popped),
    }
    if !popped.is_empty() {
        done(view, &args[1], empty, (SET, "spop"));
        // Chance picked the members: replicas remove exactly those.
        let mut argv = crate::argv!["SREM", &args[1]];
        argv.extend(popped.iter().map(|m| Bytes::copy_from_slice(m)));
        ctx.effects.rewrite(argv);
    }
    Ok(())
}

/* SRANDMEMBER key [count] */
fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let count = args.get(2).map(|c| crate::shared::random_count(c, false)).transpose()?;
    let mut rng = rand::rng();
    let (view, mut r) = ctx.parts();
    let s = set_read(view, &args[1])?;
    let Some(count) = count else {
        match s {
            Some(s) => r.bulk(&s.member_at(rng.random_range(0..s.len())).expect("index below len")),
            None => r.null(),
        }
        return Ok(());
    };
    let Some(s) = s else {
        r.array(0);
        return Ok(());
    };
    let len = s.len();
    let longest = || (0..len).filter_map(|i| s.member_at(i)).map(|m| m.len()).max().unwrap_or(0);
    let picks = crate::shared::random_picks(len, count, longest)?;
    r.array(picks.len());
    for i in picks {
        r.bulk(&s.member_at(i).expect("index below len"));
    }
    Ok(())
}

/* SMOVE source destination member */
fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let src_has = match set_write(&mut ctx.view, src)? {
        None => {
            ctx.int(0);
            return Ok(());
        }
        Some(s) => s.contains(member),
    };
    // The destination must be a set (or missing) even if nothing moves.
    set_write(&mut ctx.view, dst)?;
    if src == dst {
        ctx.int(src_has as i64);
        return Ok(());
    }
    if !src_has {
        ctx.int(0);
        return Ok(());
    }
    let limits = ctx.view.thresholds();
    let s = set_write(&mut ctx.view, src)?.expect("checked above");
    s.remove(member);
    let empty = s.is_empty();
    done(&mut ctx.view, src, empty, (SET, "srem"));
    let d = set_create(&mut ctx.view, dst, || new_for(member))?;
    d.add(member, &limits);
    done(&mut ctx.view, dst, false, (SET, "sadd"));
    ctx.int(1);
    Ok(())
}

/// The sets named by `keys`, as owned copies (None for missing keys);
/// WRONGTYPE for any other type.
fn load_sets(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<Vec<Option<Set>>, RedisError> {
    keys.iter().map(|k| set_read(&mut ctx.view, k).map(|s| s.cloned())).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

impl Algebra {
    /// The event the STORE form raises on its destination.
    fn store_event(self) -> &'static str {
        match self {
            Algebra::Inter => "sinterstore",
            Algebra::Union => "sunionstore",
            Algebra::Diff => "sdiffstore",
        }
    }
}

/// Computes the result as Redis builds it: a new set, intset while it can
/// be, filled in the order Redis visits members.
fn compute(op: Algebra, sets: &[Option<Set>], limits: &Thresholds) -> Set {
    let mut result = Set::Intset(Vec::new());
    match op {
        Algebra::Inter => {
            if sets.iter().any(|s| s.as_ref().is_none_or(|s| s.is_empty())) {
                return result;
            }
            let sets: Vec<&Set> = sets.iter().map(|s| s.as_ref().expect("checked")).collect();
            let smallest = sets.iter().min_by_key(|s| s.len()).expect("at least one key");
            for m in smallest.members() {
                if sets.iter().all(|s| s.contains(&m)) {
                    result.add(&m, limits);
                }
            }
        }
        Algebra::Union => {
            for s in sets.iter().flatten() {
                for m in s.members() {
                    result.add(&m, limits);
                }
            }
        }
        Algebra::Diff => {
            if let Some(Some(first)) = sets.first() {
                for m in first.members() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(&m)) {
                        result.add(&m, limits);
                    }
                }
            }
        }
    }
    result
}

fn algebra(ctx: &mut Ctx<'_>, keys: &[Bytes], op: Algebra) -> CmdResult {
    let sets = load_sets(ctx, keys)?;
    let limits = ctx.view.thresholds();
    let result = compute(op, &sets, &limits);
    let (_, mut r) = ctx.parts();
    reply_members(&mut r, &result.members());
    Ok(())
}

fn algebra_store(ctx: &mut Ctx<'_>, dst: &Bytes, keys: &[Bytes], op: Algebra) -> CmdResult {
    let sets = load_sets(ctx, keys)?;
    let limits = ctx.view.thresholds();
    let result = compute(op, &sets, &limits);
    let n = result.len();
    if n == 0 {
        if ctx.view.delete(dst) {
            ctx.notify(GENERIC, "del", dst);
        }
    } else {
        ctx.view.set(dst, Value::Set(Box::new(result)), false);
        ctx.notify(SET, op.store_event(), dst);
    }
    ctx.int(n as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, &args[1..], Algebra::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, &args[1..], Algebra::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, &args[1..], Algebra::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, &args[1], &args[2..], Algebra::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, &args[1], &args[2..], Algebra::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, &args[1], &args[2..], Algebra::Diff)
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numkeys = args::int(&args[1])?;
    if numkeys <= 0 {
        return Err("ERR numkeys should be greater than 0".into());
    }
    if numkeys as usize > args.len() - 2 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    let keys = &args[2..2 + numkeys as usize];
    let mut limit = 0i64;
    let mut i = 2 + numkeys as usize;
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
    let sets = load_sets(ctx, keys)?;
    let limits = ctx.view.thresholds();
    let n = compute(Algebra::Inter, &sets, &limits).len();
    let n = if limit > 0 { n.min(limit as usize) } else { n };
    ctx.int(n as i64);
    Ok(())
}

/* SSCAN key cursor [MATCH pattern] [COUNT count] */
fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    // A missing key answers before the options are read, as Redis's.
    let Some(s) = set_read(&mut ctx.view, &args[1])? else {
        reply_scan(ctx, 0, &[]);
        return Ok(());
    };
    let opts = scan_options(args, 3, false)?;
    let mut items = Vec::new();
    let next = s.scan(cursor, opts.count, |m| {
        if opts.matches(m) {
            items.push(Bytes::copy_from_slice(m));
        }
    });
    reply_scan(ctx, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::{words, Keyspace};

    #[test]
    fn spop_replicates_the_members_it_took() {
        let ks = Keyspace::new();
        ks.run(&["SADD", "s", "only"]);
        let out = ks.run(&["SPOP", "s"]);
        assert_eq!(out.reply, "$4\r\nonly\r\n");
        let rewrite = out.rewrite.expect("rewritten");
        assert!(rewrite.iter().any(|argv| words(argv).contains(&"only".to_string())), "{:?}", rewrite.iter().map(|a| words(a)).collect::<Vec<_>>());
        assert_eq!(ks.reply(&["EXISTS", "s"]), ":0\r\n");
    }

    #[test]
    fn sinter_of_a_missing_key_is_empty() {
        let ks = Keyspace::new();
        ks.run(&["SADD", "a", "1", "2"]);
        assert_eq!(ks.reply(&["SINTER", "a", "missing"]), "*0\r\n");
        assert_eq!(ks.reply(&["SISMEMBER", "a", "2"]), ":1\r\n");
    }
}
