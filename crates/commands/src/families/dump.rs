//! DUMP and RESTORE (Redis's cluster.c): a key's value as an RDB object with
//! a version and CRC-64 footer, so values move between ferrokv and Redis.
//! The conversions here are also what snapshots will use.

use bytes::Bytes;
use ferrokv_rdb::{dump_payload, restore_payload, Layout, PayloadError, RdbValue};
use ferrokv_storage::events::GENERIC;
use ferrokv_storage::{lfu, lru_clock, now_ms, types::set, Hash, List, Str, Thresholds, Value, ZSet};

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::keyspec::{flags::*, KeySpec};

const KS: &[&str] = &["keyspace"];
const KS_DANGER: &[&str] = &["keyspace", "dangerous"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "dump",
        "2.6.0",
        2,
        READONLY,
        KS,
        (1, 1, 1),
        dump,
        "generic",
        "Return a serialized version of the value stored at the specified key.",
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "restore",
        "2.6.0",
        -4,
        WRITE | DENYOOM,
        KS_DANGER,
        (1, 1, 1),
        restore,
        "generic",
        "Create a key using the provided serialized value, previously obtained using DUMP.",
        key_specs = &[KeySpec::at(1, OW | UPDATE)]
    ),
];

/// A stored value as a file or a DUMP payload writes it: its RDB shape, and
/// the layout Redis 7.0 writes it in — the compact one while the object has
/// its compact encoding in memory (listpack, intset).
pub fn rdb_form(value: &Value) -> (RdbValue, Layout) {
    let layout = match value.encoding() {
        "listpack" | "intset" => Layout::Compact,
        _ => Layout::Plain,
    };
    (to_rdb(value), layout)
}

/// The RDB shape of a stored value.
pub fn to_rdb(value: &Value) -> RdbValue {
    let owned = |items: Vec<Bytes>| items.into_iter().map(|b| b.to_vec()).collect();
    match value {
        Value::Str(s) => RdbValue::String(s.to_vec()),
        Value::List(l) => RdbValue::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Set(s) => RdbValue::Set(owned(s.members())),
        Value::Hash(h) => RdbValue::Hash(h.pairs().into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::ZSet(z) => RdbValue::ZSet(z.range(0, z.len()).into_iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        Value::Stream(s) => RdbValue::Stream(Box::new(super::stream::convert::to_rdb(s))),
    }
}

/// A stored value from its RDB shape, in the encoding the thresholds pick
/// (as Redis converts on load). Duplicate members and empty collections
/// are corrupt input (None).
pub fn from_rdb(value: RdbValue, limits: &Thresholds) -> Option<Value> {
    Some(match value {
        RdbValue::String(s) => Value::Str(Str::from_arg(&s)),
        RdbValue::List(items) if items.is_empty() => return None,
        RdbValue::List(items) => Value::List(Box::new(List::from_items(limits.list, items))),
        RdbValue::Hash(pairs) if pairs.is_empty() => return None,
        RdbValue::Set(members) => {
            let mut s = set::new_for(members.first()?);
            for m in &members {
                if !s.add(m, limits) {
                    return None;
                }
            }
            Value::Set(Box::new(s))
        }
        RdbValue::Hash(pairs) => {
            let mut h = Hash::default();
            let flat: Vec<&[u8]> = pairs.iter().flat_map(|(f, v)| [&f[..], &v[..]]).collect();
            h.prepare_for(&flat, limits);
            for (f, v) in &pairs {
                if !h.set(f, v, limits) {
                    return None;
                }
            }
            Value::Hash(h)
        }
        RdbValue::Stream(s) => Value::Stream(Box::new(super::stream::convert::from_rdb(*s, limits.stream)?)),
        RdbValue::ZSet(items) => {
            let mut z = ZSet::new_for(items.first()?.0.len(), limits);
            for (m, score) in &items {
                if !z.set(m, *score, limits) {
                    return None;
                }
            }
            Value::ZSet(z)
        }
    })
}

/// The LRU/LFU field from a FREQ or IDLETIME hint (RESTORE options, RDB
/// opcodes), as Redis's objectSetLRUOrLFU: each applies only under its policy.
pub fn access_hint(lfu_policy: bool, freq: Option<u8>, idle_seconds: Option<u64>) -> Option<u32> {
    match (lfu_policy, freq, idle_seconds) {
        (true, Some(freq), _) => Some(lfu::with_counter(freq as u32)),
        (false, _, Some(idle)) => Some((lru_clock() as i64 - idle.min(1 << 24) as i64).rem_euclid(1 << 24) as u32),
        _ => None,
    }
}

/* DUMP key */
fn dump(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some((value, layout)) = ctx.view.get(&args[1]).map(|e| rdb_form(&e.value)) else {
        ctx.null();
        return Ok(());
    };
    let compress = ctx.limits.rdbcompression();
    ctx.bulk(&dump_payload(&value, layout, compress));
    Ok(())
}

#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
    idle: Option<i64>,
    freq: Option<i64>,
}

fn restore_options(args: &[Bytes]) -> Result<RestoreOptions, RedisError> {
    let mut o = RestoreOptions::default();
    let mut i = 4;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if args::is(&args[i], "replace") {
            o.replace = true;
        } else if args::is(&args[i], "absttl") {
            o.absttl = true;
        } else if args::is(&args[i], "idletime") && has_value && o.freq.is_none() {
            i += 1;
            match ferrokv_resp::parse_i64(&args[i]) {
                Some(n) if n >= 0 => o.idle = Some(n),
                Some(_) => return Err("ERR Invalid IDLETIME value, must be >= 0".into()),
                None => return Err(errors::NOT_INTEGER.into()),
            }
        } else if args::is(&args[i], "freq") && has_value && o.idle.is_none() {
            i += 1;
            match ferrokv_resp::parse_i64(&args[i]) {
                Some(n) if (0..=255).contains(&n) => o.freq = Some(n),
                Some(_) => return Err("ERR Invalid FREQ value, must be >= 0 and <= 255".into()),
                None => return Err(errors::NOT_INTEGER.into()),
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(o)
}

/* RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency] */
fn restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = restore_options(args)?;
    let key = &args[1];
    if !opts.replace && ctx.view.get(key).is_some() {
        return Err("BUSYKEY Target key name already exists.".into());
    }
    let mut ttl = ferrokv_resp::parse_i64(&args[2]).ok_or(errors::NOT_INTEGER)?;
    if ttl < 0 {
        return Err("ERR Invalid TTL value, must be >= 0".into());
    }
    let value = match restore_payload(&args[3], ctx.limits.verify_checksums()) {
        Ok(v) => v,
        Err(PayloadError::VersionOrChecksum) => return Err("ERR DUMP payload version or checksum are wrong".into()),
        Err(PayloadError::BadFormat(_)) => return Err("ERR Bad data format".into()),
    };
    let limits = ctx.view.thresholds();
    let value = from_rdb(value, &limits).ok_or("ERR Bad data format")?;
    let deleted = opts.replace && ctx.view.delete(key);
    if ttl > 0 && !opts.absttl {
        ttl = ttl.saturating_add(now_ms());
    }
    // An already-expired TTL restores nothing (Redis only deletes the old key).
    if ttl > 0 && ttl <= now_ms() {
        if deleted {
            ctx.notify(GENERIC, "del", key);
        }
        ctx.effects.rewrite(crate::argv!["DEL", key]);
        return ctx.ok();
    }
    ctx.view.set(key, value, false);
    if ttl > 0 {
        ctx.view.set_expire(key, ttl);
        if !opts.absttl {
            // Replicas get the absolute time.
            let mut argv = args.to_vec();
            argv[2] = crate::argv![ttl].remove(0);
            argv.push(Bytes::from_static(b"ABSTTL"));
            ctx.effects.rewrite(argv);
        }
    }
    ctx.notify(GENERIC, "restore", key);
    let lfu_policy = ctx.view.lfu;
    if let (Some(entry), Some(lru)) = (ctx.view.get_mut(key), access_hint(lfu_policy, opts.freq.map(|f| f as u8), opts.idle.map(|i| i as u64))) {
        entry.lru = lru;
    }
    ctx.ok()
}

#[cfg(test)]
mod tests {
    use crate::testing::Keyspace;

    #[test]
    fn restore_of_a_corrupt_payload_is_refused() {
        let ks = Keyspace::new();
        assert_eq!(ks.reply(&["RESTORE", "k", "0", "garbage"]), "-ERR DUMP payload version or checksum are wrong\r\n");
        assert_eq!(ks.reply(&["DUMP", "missing"]), "$-1\r\n");
    }
}
