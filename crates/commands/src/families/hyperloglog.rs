//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, and the debugging pair
//! PFDEBUG and PFSELFTEST (format in storage's hll).

use bytes::Bytes;
use ferrokv_storage::events::STRING;
use ferrokv_storage::{hll, Str, Value, View};

use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::keyspec::{flags::*, KeySpec};

const HLL: &[&str] = &["hyperloglog"];
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

pub static COMMANDS: &[Command] = &[
    cmd!(
        "pfadd",
        "2.8.9",
        -2,
        WRITE | DENYOOM | FAST,
        HLL,
        (1, 1, 1),
        pfadd,
        "hyperloglog",
        "Adds the specified elements to the specified HyperLogLog.",
        key_specs = &[KeySpec::at(1, RW | INSERT)]
    ),
    cmd!(
        "pfcount",
        "2.8.9",
        -2,
        READONLY,
        HLL,
        (1, -1, 1),
        pfcount,
        "hyperloglog",
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        key_specs =
            &[KeySpec::range(1, -1, 1, RW | ACCESS).notes("RW because it may change the internal representation of the key, and propagate to replicas")]
    ),
    cmd!(
        "pfmerge",
        "2.8.9",
        -2,
        WRITE | DENYOOM,
        HLL,
        (1, -1, 1),
        pfmerge,
        "hyperloglog",
        "Merge N different HyperLogLogs into a single one.",
        key_specs = &[KeySpec::at(1, RW | ACCESS | INSERT), KeySpec::range(2, -1, 1, RO | ACCESS)]
    ),
    cmd!(
        "pfdebug",
        "2.8.9",
        3,
        WRITE | DENYOOM | ADMIN,
        HLL,
        (2, 2, 1),
        pfdebug,
        "hyperloglog",
        "Internal commands for debugging HyperLogLog values",
        key_specs = &[KeySpec::at(2, RW | ACCESS)]
    ),
    cmd!("pfselftest", "2.8.9", 1, ADMIN, HLL, (0, 0, 0), pfselftest, "hyperloglog", "An internal command for testing HyperLogLog values"),
];

/// The HLL bytes at `key`: `Ok(None)` if missing; WRONGTYPE for other
/// types, and Redis's HLL error for strings that are not HLLs.
fn load(view: &mut View<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, RedisError> {
    match view.get(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::Str(s)) => {
            let bytes = s.to_vec();
            if hll::is_valid(&bytes) {
                Ok(Some(bytes))
            } else {
                Err(NOT_HLL.into())
            }
        }
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

fn store(view: &mut View<'_>, key: &[u8], bytes: Vec<u8>) {
    view.replace(key, Value::Str(Str::raw(bytes)));
}

fn sparse_max(ctx: &Ctx<'_>) -> usize {
    ctx.limits.hll_sparse_max_bytes()
}

/* PFADD key [element ...] */
fn pfadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let max = sparse_max(ctx);
    let (mut h, mut updated) = match load(&mut ctx.view, &args[1])? {
        Some(h) => (h, false),
        None => (hll::new_sparse(), true),
    };
    for e in &args[2..] {
        if hll::add(&mut h, e, max).map_err(|_| RedisError::from(CORRUPT))? {
            updated = true;
        }
    }
    if updated {
        hll::invalidate_cache(&mut h);
        store(&mut ctx.view, &args[1], h);
        ctx.notify(STRING, "pfadd", &args[1]);
    }
    ctx.int(updated as i64);
    Ok(())
}

/* PFCOUNT key [key ...] */
fn pfcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        let mut regs = vec![0u8; hll::REGISTERS];
        for key in &args[1..] {
            if let Some(h) = load(&mut ctx.view, key)? {
                hll::merge_into(&mut regs, &h).map_err(|_| RedisError::from(CORRUPT))?;
            }
        }
        ctx.int(hll::count_registers(&regs) as i64);
        return Ok(());
    }
    let Some(mut h) = load(&mut ctx.view, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let card = match hll::cached(&h) {
        Some(c) => c,
        None => {
            let c = hll::count(&h).map_err(|_| RedisError::from(CORRUPT))?;
            // The cache lives in the value: PFCOUNT writes it back, as Redis.
            hll::set_cache(&mut h, c);
            store(&mut ctx.view, &args[1], h);
            c
        }
    };
    ctx.int(card as i64);
    Ok(())
}

/* PFMERGE destkey [sourcekey ...] */
fn pfmerge(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut regs = vec![0u8; hll::REGISTERS];
    let mut any_dense = false;
    for key in &args[1..] {
        if let Some(h) = load(&mut ctx.view, key)? {
            any_dense |= h[4] == 0;
            hll::merge_into(&mut regs, &h).map_err(|_| RedisError::from(CORRUPT))?;
        }
    }
    let max = sparse_max(ctx);
    let mut dst = load(&mut ctx.view, &args[1])?.unwrap_or_else(hll::new_sparse);
    if any_dense {
        hll::sparse_to_dense(&mut dst).map_err(|_| RedisError::from(CORRUPT))?;
    }
    for (i, &r) in regs.iter().enumerate() {
        if r > 0 {
            hll::set_register(&mut dst, i, r, max).map_err(|_| RedisError::from(CORRUPT))?;
        }
    }
    hll::invalidate_cache(&mut dst);
    store(&mut ctx.view, &args[1], dst);
    ctx.notify(STRING, "pfadd", &args[1]);
    ctx.ok()
}

/* PFDEBUG <GETREG|DECODE|ENCODING|TODENSE> key */
fn pfdebug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let key = &args[2];
    let Some(mut h) = load(&mut ctx.view, key)? else {
        return Err("ERR The specified key does not exist".into());
    };
    match sub.as_str() {
        "getreg" => {
            // Reading the registers makes the value dense, as in Redis
            // (and the change is propagated).
            if hll::is_sparse(&h) {
                hll::sparse_to_dense(&mut h).map_err(|_| RedisError::from(CORRUPT))?;
                store(&mut ctx.view, key, h.clone());
            }
            let regs = hll::registers(&h);
            ctx.array(regs.len());
            regs.iter().for_each(|&r| ctx.int(r as i64));
        }
        "decode" => {
            if !hll::is_sparse(&h) {
                return Err("ERR HLL encoding is not sparse".into());
            }
            let text = hll::decode_sparse(&h).map_err(|_| RedisError::from(CORRUPT))?;
            ctx.bulk(text.as_bytes());
        }
        "encoding" => ctx.simple(if hll::is_sparse(&h) { b"sparse" } else { b"dense" }),
        "todense" => {
            let converted = hll::is_sparse(&h);
            if converted {
                hll::sparse_to_dense(&mut h).map_err(|_| RedisError::from(CORRUPT))?;
                store(&mut ctx.view, key, h);
            }
            ctx.int(converted as i64);
        }
        _ => return Err(format!("ERR Unknown PFDEBUG subcommand '{}'", String::from_utf8_lossy(&args[1])).into()),
    }
    Ok(())
}

/* PFSELFTEST */
fn pfselftest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    hll::self_test().map_err(RedisError::from)?;
    ctx.ok()
}

#[cfg(test)]
mod tests {
    use crate::testing::Keyspace;

    #[test]
    fn pfadd_and_pfcount() {
        let ks = Keyspace::new();
        assert_eq!(ks.reply(&["PFADD", "h", "a", "b", "c"]), ":1\r\n");
        assert_eq!(ks.reply(&["PFADD", "h", "a"]), ":0\r\n");
        assert_eq!(ks.reply(&["PFCOUNT", "h"]), ":3\r\n");
    }
}
