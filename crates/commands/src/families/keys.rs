//! Generic keyspace commands (Redis's db.c): DEL, UNLINK, EXISTS, TYPE,
//! KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, MOVE, COPY, TOUCH, OBJECT,
//! DBSIZE, SWAPDB (FLUSHDB and FLUSHALL are the node's: they hand memory
//! back to the allocator).

use bytes::Bytes;
use ferrokv_storage::events::GENERIC;
use ferrokv_storage::lazyfree::Policy;
use ferrokv_storage::{idle_seconds, lfu, Str, Value};

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::keyspec::{flags::*, KeySpec};
use crate::{cmd, container};

const KS: &[&str] = &["keyspace"];
const KS_DANGER: &[&str] = &["keyspace", "dangerous"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "del",
        "1.0.0",
        -2,
        WRITE,
        KS,
        (1, -1, 1),
        del,
        "generic",
        "Delete a key",
        key_specs = &[KeySpec::range(1, -1, 1, RM | DELETE)],
        tips = &["request_policy:multi_shard", "response_policy:agg_sum"]
    ),
    cmd!(
        "unlink",
        "4.0.0",
        -2,
        WRITE | FAST,
        KS,
        (1, -1, 1),
        unlink,
        "generic",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        key_specs = &[KeySpec::range(1, -1, 1, RM | DELETE)],
        tips = &["request_policy:multi_shard", "response_policy:agg_sum"]
    ),
    cmd!(
        "exists",
        "1.0.0",
        -2,
        READONLY | FAST,
        KS,
        (1, -1, 1),
        exists,
        "generic",
        "Determine if a key exists",
        key_specs = &[KeySpec::range(1, -1, 1, RO)],
        tips = &["request_policy:multi_shard", "response_policy:agg_sum"]
    ),
    cmd!("type", "1.0.0", 2, READONLY | FAST, KS, (1, 1, 1), type_, "generic", "Determine the type stored at key", key_specs = &[KeySpec::at(1, RO)]),
    cmd!(
        "keys",
        "1.0.0",
        2,
        READONLY | WHOLE,
        KS_DANGER,
        (0, 0, 0),
        keys,
        "generic",
        "Find all keys matching the given pattern",
        tips = &["request_policy:all_shards", "nondeterministic_output_order"]
    ),
    cmd!(
        "scan",
        "2.8.0",
        -2,
        READONLY | WHOLE,
        KS,
        (0, 0, 0),
        scan,
        "generic",
        "Incrementally iterate the keys space",
        tips = &["nondeterministic_output", "request_policy:special"]
    ),
    cmd!(
        "randomkey",
        "1.0.0",
        1,
        READONLY | WHOLE,
        KS,
        (0, 0, 0),
        randomkey,
        "generic",
        "Return a random key from the keyspace",
        tips = &["request_policy:all_shards", "nondeterministic_output"]
    ),
    cmd!(
        "rename",
        "1.0.0",
        3,
        WRITE,
        KS,
        (1, 2, 1),
        rename,
        "generic",
        "Rename a key",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, OW | UPDATE)]
    ),
    cmd!(
        "renamenx",
        "1.0.0",
        3,
        WRITE | FAST,
        KS,
        (1, 2, 1),
        renamenx,
        "generic",
        "Rename a key, only if the new key does not exist",
        key_specs = &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, OW | INSERT)]
    ),
    cmd!(
        "move",
        "1.0.0",
        3,
        WRITE | FAST | WHOLE,
        KS,
        (1, 1, 1),
        move_,
        "generic",
        "Move a key to another database",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!(
        "copy",
        "6.2.0",
        -3,
        WRITE | DENYOOM | WHOLE,
        KS,
        (1, 2, 1),
        copy,
        "generic",
        "Copy a key",
        key_specs = &[KeySpec::at(1, RO | ACCESS), KeySpec::at(2, OW | UPDATE)]
    ),
    cmd!(
        "touch",
        "3.2.1",
        -2,
        READONLY | FAST,
        KS,
        (1, -1, 1),
        touch,
        "generic",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        key_specs = &[KeySpec::range(1, -1, 1, RO)],
        tips = &["request_policy:multi_shard", "response_policy:agg_sum"]
    ),
    container!("object", "2.2.3", -2, OBJECT_SUBCOMMANDS, "generic", "A container for object introspection commands"),
    cmd!(
        "dbsize",
        "1.0.0",
        1,
        READONLY | FAST | WHOLE,
        KS,
        (0, 0, 0),
        dbsize,
        "server",
        "Return the number of keys in the selected database",
        tips = &["request_policy:all_shards", "response_policy:agg_sum"]
    ),
    cmd!("swapdb", "4.0.0", 3, WRITE | FAST | WHOLE, KS_DANGER, (0, 0, 0), swapdb, "server", "Swaps two Redis databases"),
];

static OBJECT_SUBCOMMANDS: &[Command] = &[
    cmd!(
        "encoding",
        "2.2.3",
        3,
        READONLY,
        KS,
        (2, 2, 1),
        object_encoding,
        "generic",
        "Inspect the internal encoding of a Redis object",
        key_specs = &[KeySpec::at(2, RO)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "freq",
        "4.0.0",
        3,
        READONLY,
        KS,
        (2, 2, 1),
        object_freq,
        "generic",
        "Get the logarithmic access frequency counter of a Redis object",
        key_specs = &[KeySpec::at(2, RO)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "idletime",
        "2.2.3",
        3,
        READONLY,
        KS,
        (2, 2, 1),
        object_idletime,
        "generic",
        "Get the time since a Redis object was last accessed",
        key_specs = &[KeySpec::at(2, RO)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "refcount",
        "2.2.3",
        3,
        READONLY,
        KS,
        (2, 2, 1),
        object_refcount,
        "generic",
        "Get the number of references to the value of the key",
        key_specs = &[KeySpec::at(2, RO)],
        tips = &["nondeterministic_output"]
    ),
    cmd!("help", "6.2.0", 2, LOADING | STALE, KS, (0, 0, 0), object_help, "generic", "Show helpful text about the different subcommands"),
];

/* DEL key [key ...]: freed lazily too under `lazyfree-lazy-user-del`. */
fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let lazy = Policy::on(&ctx.view.lazyfree().policy.user_del);
    remove(ctx, args, lazy)
}

/* UNLINK key [key ...]: big values are freed on the lazyfree thread. */
fn unlink(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    remove(ctx, args, true)
}

fn remove(ctx: &mut Ctx<'_>, args: &[Bytes], lazy: bool) -> CmdResult {
    let mut n = 0;
    for key in &args[1..] {
        if ctx.view.unlink(key, lazy) {
            ctx.notify(GENERIC, "del", key);
            n += 1;
        }
    }
    ctx.int(n as i64);
    Ok(())
}

/* EXISTS key [key ...]: a key named twice counts twice. */
fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = args[1..].iter().filter(|k| ctx.view.get_notouch(k).is_some()).count();
    ctx.int(n as i64);
    Ok(())
}

/* TYPE key */
fn type_(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = ctx.view.get_notouch(&args[1]).map_or("none", |e| e.value.type_name());
    ctx.simple(name.as_bytes());
    Ok(())
}

/* KEYS pattern */
fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = ctx.view.keys_matching(&args[1]);
    ctx.bulks(keys.iter().map(|k| &k[..]));
    Ok(())
}

/// SCAN's cursor: what C's `strtoul` accepts, minus leading spaces.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, RedisError> {
    let s = std::str::from_utf8(arg).map_err(|_| RedisError::from(errors::INVALID_CURSOR))?;
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(errors::INVALID_CURSOR.into());
    }
    let v: u64 = digits.parse().map_err(|_| RedisError::from(errors::INVALID_CURSOR))?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN-family options: `[MATCH pattern] [COUNT count]` and, for SCAN
/// itself, `[TYPE type]`.
pub struct ScanOptions<'a> {
    pub count: usize,
    pub pattern: Option<&'a Bytes>,
    pub type_name: Option<&'a Bytes>,
}

impl ScanOptions<'_> {
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| ferrokv_util::glob_match(p, item, false))
    }
}

pub fn scan_options(args: &[Bytes], start: usize, allow_type: bool) -> Result<ScanOptions<'_>, RedisError> {
    let mut o = ScanOptions { count: 10, pattern: None, type_name: None };
    let mut i = start;
    while i < args.len() {
        let more = args.len() - i >= 2;
        if args::is(&args[i], "count") && more {
            let n = args::int(&args[i + 1])?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            o.count = n as usize;
        } else if args::is(&args[i], "match") && more {
            o.pattern = Some(&args[i + 1]).filter(|p| &p[..] != b"*");
        } else if allow_type && args::is(&args[i], "type") && more {
            o.type_name = Some(&args[i + 1]);
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    Ok(o)
}

/// Replies `[cursor, [items...]]`.
pub fn reply_scan(ctx: &mut Ctx<'_>, cursor: u64, items: &[Bytes]) {
    ctx.array(2);
    ctx.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    ctx.bulks(items.iter().map(|k| &k[..]));
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1])?;
    let opts = scan_options(args, 2, true)?;
    let mut found = Vec::new();
    let next = ctx.view.scan(cursor, opts.count, |key, entry| {
        let type_ok = opts.type_name.is_none_or(|t| t.eq_ignore_ascii_case(entry.value.type_name().as_bytes()));
        if opts.matches(key) && type_ok {
            found.push(Bytes::copy_from_slice(key));
        }
    });
    reply_scan(ctx, next, &found);
    Ok(())
}

/* RANDOMKEY */
fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    match ctx.view.random_key() {
        Some(k) => ctx.bulk(&k),
        None => ctx.null(),
    }
    Ok(())
}

/// RENAME and RENAMENX: the value moves with its expiry and access time.
fn rename_generic(ctx: &mut Ctx<'_>, args: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    if ctx.view.get_mut(src).is_none() {
        return Err(errors::NO_SUCH_KEY.into());
    }
    if src == dst {
        if nx {
            ctx.int(0);
        } else {
            ctx.ok()?;
        }
        return Ok(());
    }
    let expire = ctx.view.expire_at(src);
    if ctx.view.get_mut(dst).is_some() {
        if nx {
            ctx.int(0);
            return Ok(());
        }
        ctx.view.delete(dst);
    }
    let value = ctx.view.take(src).expect("looked up above");
    ctx.view.set(dst, value, false);
    if let Some(at) = expire {
        ctx.view.set_expire(dst, at);
    }
    ctx.notify(GENERIC, "rename_from", src);
    ctx.notify(GENERIC, "rename_to", dst);
    if nx {
        ctx.int(1);
        Ok(())
    } else {
        ctx.ok()
    }
}

/* RENAME key newkey */
fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}

/* RENAMENX key newkey */
fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// Runs `f` with the view pointed at database `db`, then back.
fn in_db<R>(ctx: &mut Ctx<'_>, db: usize, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
    let saved = std::mem::replace(&mut ctx.view.db, db);
    let r = f(ctx);
    ctx.view.db = saved;
    r
}

/* MOVE key db */
fn move_(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let n = int32(&args[2])?;
    if n < 0 || n as usize >= ctx.view.db_count() {
        return Err(errors::DB_RANGE.into());
    }
    let dst = n as usize;
    if dst == ctx.view.db {
        return Err(errors::SAME_OBJECT.into());
    }
    if ctx.view.get_mut(key).is_none() {
        ctx.int(0);
        return Ok(());
    }
    let expire = ctx.view.expire_at(key);
    if in_db(ctx, dst, |c| c.view.get_mut(key).is_some()) {
        ctx.int(0);
        return Ok(());
    }
    let value = ctx.view.take(key).expect("looked up above");
    in_db(ctx, dst, |c| {
        c.view.set(key, value, false);
        if let Some(at) = expire {
            c.view.set_expire(key, at);
        }
    });
    ctx.notify(GENERIC, "move_from", key);
    in_db(ctx, dst, |c| c.notify(GENERIC, "move_to", key));
    ctx.int(1);
    Ok(())
}

/* COPY source destination [DB destination-db] [REPLACE] */
fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src_key, dst_key) = (&args[1], &args[2]);
    let mut replace = false;
    let mut dst_db = ctx.view.db;
    let mut i = 3;
    while i < args.len() {
        if args::is(&args[i], "replace") {
            replace = true;
        } else if args::is(&args[i], "db") && i + 1 < args.len() {
            dst_db = db_index(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if dst_db == ctx.view.db && src_key == dst_key {
        return Err(errors::SAME_OBJECT.into());
    }
    let Some(value) = ctx.view.get(src_key).map(|e| e.value.clone()) else {
        ctx.int(0);
        return Ok(());
    };
    let expire = ctx.view.expire_at(src_key);
    let copied = in_db(ctx, dst_db, |c| {
        if c.view.get_mut(dst_key).is_some() {
            if !replace {
                return false;
            }
            c.view.delete(dst_key);
        }
        c.view.set(dst_key, value, false);
        if let Some(at) = expire {
            c.view.set_expire(dst_key, at);
        }
        c.notify(GENERIC, "copy_to", dst_key);
        true
    });
    ctx.int(copied as i64);
    Ok(())
}

/* TOUCH key [key ...] */
fn touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = args[1..].iter().filter(|k| ctx.view.get_notouch(k).is_some()).count();
    ctx.int(n as i64);
    Ok(())
}

/* OBJECT ENCODING key */
fn object_encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.view.get_notouch(&args[2]).map(|e| e.value.encoding()) {
        Some(enc) => ctx.bulk(enc.as_bytes()),
        None => ctx.null(),
    }
    Ok(())
}

/* OBJECT FREQ key */
fn object_freq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(data) = ctx.view.get_notouch(&args[2]).map(|e| e.lru) else {
        ctx.null();
        return Ok(());
    };
    if !ctx.view.lfu {
        return Err(errors::LFU_NOT_SELECTED.into());
    }
    ctx.int(lfu::frequency(data) as i64);
    Ok(())
}

/* OBJECT IDLETIME key */
fn object_idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(lru) = ctx.view.get_notouch(&args[2]).map(|e| e.lru) else {
        ctx.null();
        return Ok(());
    };
    if ctx.view.lfu {
        return Err(errors::LRU_NOT_SELECTED.into());
    }
    ctx.int(idle_seconds(lru) as i64);
    Ok(())
}

/* OBJECT REFCOUNT key: small integers are shared objects in Redis. */
fn object_refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(value) = ctx.view.get_notouch(&args[2]).map(|e| e.value.clone()) else {
        ctx.null();
        return Ok(());
    };
    let shared = matches!(value, Value::Str(Str::Int(n)) if (0..10_000).contains(&n));
    ctx.int(if shared { i32::MAX as i64 } else { 1 });
    Ok(())
}

fn object_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ])
}

/* DBSIZE */
fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let db = ctx.view.db;
    let n = ctx.view.keyspace_for_reading().map_or(0, |ks| ks.db_mut(db).len());
    ctx.int(n as i64);
    Ok(())
}

/* SWAPDB index1 index2 */
fn swapdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = args::int_or(&args[1], "ERR invalid first DB index")
        .and_then(|n| int32(&args[1]).map(|_| n))
        .map_err(|_| RedisError::from("ERR invalid first DB index"))?;
    let b = args::int_or(&args[2], "ERR invalid second DB index")
        .and_then(|n| int32(&args[2]).map(|_| n))
        .map_err(|_| RedisError::from("ERR invalid second DB index"))?;
    let count = ctx.view.db_count() as i64;
    if a < 0 || b < 0 || a >= count || b >= count {
        return Err(errors::DB_RANGE.into());
    }
    let now = ctx.view.now_ms;
    if let Some(ks) = ctx.view.keyspace() {
        ks.swap_dbs(a as usize, b as usize, now);
    }
    ctx.view.changed();
    ctx.ok()
}

/// An `int32` argument, as SELECT, MOVE and SWAPDB take database indexes.
pub fn int32(arg: &[u8]) -> Result<i64, RedisError> {
    let n = args::int(arg)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(errors::NOT_INTEGER.into());
    }
    Ok(n)
}

/// A database index that exists.
pub fn db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, RedisError> {
    let n = int32(arg)?;
    if n < 0 || n as usize >= ctx.view.db_count() {
        return Err(errors::DB_RANGE.into());
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use crate::testing::Keyspace;

    #[test]
    fn move_and_swapdb_work_on_the_views_database() {
        let ks = Keyspace::new();
        ks.run(&["SET", "k", "v"]);
        assert_eq!(ks.reply(&["MOVE", "k", "0"]), "-ERR source and destination objects are the same\r\n");
        assert_eq!(ks.reply(&["MOVE", "k", "3"]), ":1\r\n");
        assert_eq!(ks.reply(&["DBSIZE"]), ":0\r\n");
        assert_eq!(ks.reply(&["SWAPDB", "0", "3"]), "+OK\r\n");
        assert_eq!(ks.reply(&["GET", "k"]), "$1\r\nv\r\n");
        assert_eq!(ks.reply(&["MOVE", "k", "16"]), "-ERR DB index is out of range\r\n");
    }

    #[test]
    fn object_freq_needs_an_lfu_policy() {
        let ks = Keyspace::new();
        ks.run(&["SET", "k", "v"]);
        assert!(ks.reply(&["OBJECT", "FREQ", "k"]).starts_with("-ERR An LFU maxmemory policy is not selected"));
        assert_eq!(ks.reply(&["OBJECT", "ENCODING", "k"]), "$6\r\nembstr\r\n");
    }
}
