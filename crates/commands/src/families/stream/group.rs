//! Consumer groups: XGROUP, delivery to consumers (XREADGROUP's part),
//! XACK, XPENDING, XCLAIM and XAUTOCLAIM. What a group does to its PEL
//! goes to replicas and the AOF as the XCLAIM / XGROUP commands that
//! reproduce it (Redis's `streamPropagateXCLAIM`), never as the command.

use bytes::Bytes;
use ferrokv_storage::events::STREAM;
use ferrokv_storage::types::stream::{Group, Nack, Stream, StreamId, INVALID_ENTRIES_READ};

use super::read::collect;
use super::{id_bytes, interval_bound, no_group, parse_id, parse_strict_id, reply_entry, reply_id, X};
use crate::args;
use crate::argv;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::{Ctx, Reply};
use crate::errors::{CmdResult, RedisError, SYNTAX};
use crate::keyspec::{flags::*, KeySpec};
use crate::typed::{stream_create, stream_read, stream_write};

pub static XGROUP: &[Command] = &[
    cmd!("create", "5.0.0", -5, WRITE | DENYOOM, X, (2, 2, 1), xgroup_create, "stream", "Create a consumer group.", key_specs = &[KeySpec::at(2, RW | INSERT)]),
    cmd!(
        "setid",
        "5.0.0",
        -5,
        WRITE,
        X,
        (2, 2, 1),
        xgroup_setid,
        "stream",
        "Set a consumer group to an arbitrary last delivered ID value.",
        key_specs = &[KeySpec::at(2, RW | UPDATE)]
    ),
    cmd!("destroy", "5.0.0", 4, WRITE, X, (2, 2, 1), xgroup_destroy, "stream", "Destroy a consumer group.", key_specs = &[KeySpec::at(2, RW | DELETE)]),
    cmd!(
        "createconsumer",
        "6.2.0",
        5,
        WRITE | DENYOOM,
        X,
        (2, 2, 1),
        xgroup_createconsumer,
        "stream",
        "Create a consumer in a consumer group.",
        key_specs = &[KeySpec::at(2, RW | INSERT)]
    ),
    cmd!(
        "delconsumer",
        "5.0.0",
        5,
        WRITE,
        X,
        (2, 2, 1),
        xgroup_delconsumer,
        "stream",
        "Delete a consumer from a consumer group.",
        key_specs = &[KeySpec::at(2, RW | DELETE)]
    ),
    cmd!("help", "5.0.0", 2, LOADING | STALE, X, (0, 0, 0), xgroup_help, "stream", "Show helpful text about the different subcommands"),
];

/// Who is delivered to, and how.
pub struct Delivery<'a> {
    pub key: &'a Bytes,
    pub group: &'a Bytes,
    pub consumer: &'a Bytes,
    /// 0: no bound.
    pub count: usize,
    pub noack: bool,
    pub now: i64,
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`:
/// the idempotent form a delivery or claim propagates as.
fn xclaim_form(key: &Bytes, group_name: &Bytes, id: StreamId, nack: &Nack, last_id: StreamId) -> Vec<Bytes> {
    argv![
        "XCLAIM",
        key,
        group_name,
        &nack.consumer,
        "0",
        id_bytes(id),
        "TIME",
        nack.delivery_time,
        "RETRYCOUNT",
        nack.delivery_count as i64,
        "FORCE",
        "JUSTID",
        "LASTID",
        id_bytes(last_id)
    ]
}

fn setid_form(key: &Bytes, group_name: &Bytes, g: &Group) -> Vec<Bytes> {
    argv!["XGROUP", "SETID", key, group_name, id_bytes(g.last_id), "ENTRIESREAD", g.entries_read]
}

/// The consumer, looked up (its seen time refreshed) or created (true); a
/// creation under NOACK propagates, since no XCLAIM will create it.
fn consumer_for(g: &mut Group, d: &Delivery<'_>, prop: &mut Vec<Vec<Bytes>>) -> (Bytes, bool) {
    let (c, created) = g.consumer(d.consumer, d.now);
    c.seen_time = d.now;
    if created && d.noack {
        prop.push(argv!["XGROUP", "CREATECONSUMER", d.key, d.group, d.consumer]);
    }
    (g.consumer_name(d.consumer).unwrap_or_else(|| d.consumer.clone()), created)
}

/// XREADGROUP `>`: entries from `start` on, moving the group's last ID
/// and read counter and (unless NOACK) adding them to the consumer's PEL
/// (`streamReplyWithRange` with a group). True when it created the consumer.
pub fn deliver_new(r: &mut Reply<'_>, s: &mut Stream, d: &Delivery<'_>, start: StreamId, prop: &mut Vec<Vec<Bytes>>) -> bool {
    let ids: Vec<StreamId> = {
        let entries = collect(s, start, StreamId::MAX, false, d.count);
        r.array(entries.len());
        for e in &entries {
            reply_entry(r, e.id, e.fields());
        }
        entries.iter().map(|e| e.id).collect()
    };
    let counters = s.counters();
    let Some(g) = s.groups.get_mut(d.group) else { return false };
    let (owner, created) = consumer_for(g, d, prop);
    let mut moved = false;
    for id in ids {
        if id > g.last_id {
            if g.entries_read != INVALID_ENTRIES_READ && !counters.range_has_tombstones(id, None) {
                g.entries_read += 1;
            } else if counters.entries_added > 0 {
                g.entries_read = counters.estimate_distance(id).map_or(INVALID_ENTRIES_READ, |n| n as i64);
            }
            g.last_id = id;
            moved = true;
        }
        if !d.noack {
            let nack = Nack { delivery_time: d.now, delivery_count: 1, consumer: owner.clone() };
            g.assign(id, &owner, nack);
            if let Some(nack) = g.pel.get(&id) {
                prop.push(xclaim_form(d.key, d.group, id, nack, g.last_id));
            }
        }
    }
    if d.noack && moved {
        prop.push(setid_form(d.key, d.group, g));
    }
    created
}

/// XREADGROUP with an ID: the consumer's own pending entries after it,
/// each delivered once more; one deleted since shows as `[id, nil]`. True
/// when it created the consumer.
pub fn deliver_history(r: &mut Reply<'_>, s: &mut Stream, d: &Delivery<'_>, start: StreamId, prop: &mut Vec<Vec<Bytes>>) -> bool {
    let Some(g) = s.groups.get_mut(d.group) else { return false };
    let (_, created) = consumer_for(g, d, prop);
    let ids: Vec<StreamId> = {
        let c = &g.consumers[&d.consumer[..]];
        let it = c.pel.range(start..).copied();
        if d.count == 0 {
            it.collect()
        } else {
            it.take(d.count).collect()
        }
    };
    let mut found = Vec::with_capacity(ids.len());
    r.array(ids.len());
    for &id in &ids {
        match s.range(id, id, false).next() {
            Some(e) => {
                reply_entry(r, id, e.fields());
                found.push(id);
            }
            None => {
                r.array(2);
                reply_id(r, id);
                r.null_array();
            }
        }
    }
    if let Some(g) = s.groups.get_mut(d.group) {
        for id in found {
            if let Some(nack) = g.pel.get_mut(&id) {
                nack.delivery_time = d.now;
                nack.delivery_count += 1;
            }
        }
    }
    created
}

fn group_err(key: &[u8], group: &[u8]) -> RedisError {
    no_group(format!("No such key '{}' or consumer group '{}'", String::from_utf8_lossy(key), String::from_utf8_lossy(group)))
}

const KEY_REQUIRED: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// CREATE and SETID options: MKSTREAM (CREATE only) and ENTRIESREAD.
fn group_options(args: &[Bytes], create: bool) -> Result<(bool, i64), RedisError> {
    let (mut mkstream, mut entries_read) = (false, INVALID_ENTRIES_READ);
    let mut i = 5;
    while i < args.len() {
        if create && args::is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if args::is(&args[i], "entriesread") && i + 1 < args.len() {
            entries_read = args::int(&args[i + 1])?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err("ERR value for ENTRIESREAD must be positive or -1".into());
            }
            i += 2;
        } else {
            return Err(crate::errors::subcommand_syntax(&args[1], "xgroup"));
        }
    }
    Ok((mkstream, entries_read))
}

/// The group at `key`, or XGROUP's errors for a missing key or group.
fn existing_group<'v>(ctx: &'v mut Ctx<'_>, key: &[u8], group: &[u8]) -> Result<&'v mut Group, RedisError> {
    let Some(s) = stream_write(&mut ctx.view, key)? else { return Err(KEY_REQUIRED.into()) };
    s.groups
        .get_mut(group)
        .ok_or_else(|| no_group(format!("No such consumer group '{}' for key name '{}'", String::from_utf8_lossy(group), String::from_utf8_lossy(key))))
}

/* XGROUP CREATE key group (id|$) [MKSTREAM] [ENTRIESREAD n] */
fn xgroup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 8 {
        return Err(crate::errors::subcommand_syntax(&args[1], "xgroup"));
    }
    let (mkstream, entries_read) = group_options(args, true)?;
    let (key, name) = (&args[2], &args[3]);
    let exists = stream_write(&mut ctx.view, key)?.is_some();
    if !exists && !mkstream {
        return Err(KEY_REQUIRED.into());
    }
    let id = match &args[4][..] {
        b"$" => stream_read(&mut ctx.view, key)?.map_or(StreamId::MIN, |s| s.last_id),
        id => parse_strict_id(id, 0)?,
    };
    let s = stream_create(&mut ctx.view, key, Stream::new)?;
    if s.groups.contains_key(&name[..]) {
        return Err("BUSYGROUP Consumer Group name already exists".into());
    }
    s.groups.insert(name.clone(), Group::new(id, entries_read));
    ctx.view.modified(key);
    ctx.notify(STREAM, "xgroup-create", key);
    ctx.ok()
}

/* XGROUP SETID key group (id|$) [ENTRIESREAD n] */
fn xgroup_setid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() != 5 && args.len() != 7 {
        return Err(crate::errors::subcommand_syntax(&args[1], "xgroup"));
    }
    let (_, entries_read) = group_options(args, false)?;
    let key = &args[2];
    let last = match stream_write(&mut ctx.view, key)? {
        Some(s) => s.last_id,
        None => return Err(KEY_REQUIRED.into()),
    };
    existing_group(ctx, key, &args[3])?;
    let id = match &args[4][..] {
        b"$" => last,
        id => parse_id(id, 0)?,
    };
    let g = existing_group(ctx, key, &args[3])?;
    g.last_id = id;
    g.entries_read = entries_read;
    ctx.view.modified(key);
    ctx.notify(STREAM, "xgroup-setid", key);
    ctx.ok()
}

/* XGROUP DESTROY key group */
fn xgroup_destroy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[2];
    let Some(s) = stream_write(&mut ctx.view, key)? else { return Err(KEY_REQUIRED.into()) };
    if s.groups.remove(&args[3][..]).is_none() {
        ctx.int(0);
        return Ok(());
    }
    ctx.view.modified(key);
    ctx.notify(STREAM, "xgroup-destroy", key);
    // Readers blocked on the group get -NOGROUP.
    ctx.view.signal_ready(key);
    ctx.int(1);
    Ok(())
}

/* XGROUP CREATECONSUMER key group consumer */
fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[2];
    let g = existing_group(ctx, key, &args[3])?;
    let (_, created) = g.consumer(&args[4], ferrokv_storage::now_ms());
    if created {
        ctx.view.modified(key);
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    ctx.int(created as i64);
    Ok(())
}

/* XGROUP DELCONSUMER key group consumer */
fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[2];
    let g = existing_group(ctx, key, &args[3])?;
    let Some(pending) = g.delete_consumer(&args[4]) else {
        ctx.int(0);
        return Ok(());
    };
    ctx.view.modified(key);
    ctx.notify(STREAM, "xgroup-delconsumer", key);
    ctx.int(pending as i64);
    Ok(())
}

fn xgroup_help(ctx: &mut Ctx<'_>, _: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ])
}

/* XACK key group id [id ...] */
pub fn xack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let has_group = stream_read(&mut ctx.view, key)?.is_some_and(|s| s.groups.contains_key(&args[2][..]));
    if !has_group {
        ctx.int(0);
        return Ok(());
    }
    let ids = args[3..].iter().map(|a| parse_strict_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
    let Some(g) = stream_write(&mut ctx.view, key)?.and_then(|s| s.groups.get_mut(&args[2][..])) else { unreachable!("checked above") };
    let acked = ids.into_iter().filter(|id| g.ack(*id)).count();
    if acked > 0 {
        ctx.view.modified(key);
    }
    ctx.int(acked as i64);
    Ok(())
}

/* XPENDING key group [[IDLE min-idle-time] start end count [consumer]] */
pub fn xpending(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() != 3 && !(6..=9).contains(&args.len()) {
        return Err(SYNTAX.into());
    }
    let mut range = None;
    let mut min_idle = 0;
    if args.len() >= 6 {
        let mut at = 3;
        if args::is(&args[3], "idle") {
            min_idle = args::int(&args[4])?;
            if args.len() < 8 {
                return Err(SYNTAX.into());
            }
            at += 2;
        }
        let count = args::int(&args[at + 2])?.max(0) as usize;
        let start = interval_bound(&args[at], 0, true)?;
        let end = interval_bound(&args[at + 1], u64::MAX, false)?;
        range = Some((start, end, count, args.get(at + 3)));
    }
    let (key, name) = (&args[1], &args[2]);
    let (view, mut r) = ctx.parts();
    let Some(g) = stream_read(view, key)?.and_then(|s| s.groups.get(&name[..])) else { return Err(group_err(key, name)) };
    let Some((start, end, count, consumer)) = range else {
        r.array(4);
        r.int(g.pel.len() as i64);
        match (g.pel.first_key_value(), g.pel.last_key_value()) {
            (Some((first, _)), Some((last, _))) => {
                reply_id(&mut r, *first);
                reply_id(&mut r, *last);
                let owners: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
                r.array(owners.len());
                for (name, c) in owners {
                    r.array(2);
                    r.bulk(name);
                    r.bulk(itoa::Buffer::new().format(c.pel.len()).as_bytes());
                }
            }
            _ => {
                r.null();
                r.null();
                r.null_array();
            }
        }
        return Ok(());
    };
    let now = ferrokv_storage::now_ms();
    let idle_enough = |(_, n): &(StreamId, &Nack)| min_idle == 0 || now - n.delivery_time >= min_idle;
    let rows: Vec<(StreamId, &Nack)> = match consumer {
        Some(c) => match g.consumers.get(&c[..]) {
            Some(c) => {
                c.pel.range(start..).take_while(|id| **id <= end).filter_map(|id| g.pel.get(id).map(|n| (*id, n))).filter(idle_enough).take(count).collect()
            }
            None => Vec::new(),
        },
        None => g.pel.range(start..).take_while(|(id, _)| **id <= end).map(|(id, n)| (*id, n)).filter(idle_enough).take(count).collect(),
    };
    r.array(rows.len());
    for (id, nack) in rows {
        r.array(4);
        reply_id(&mut r, id);
        r.bulk(&nack.consumer);
        r.int((now - nack.delivery_time).max(0));
        r.int(nack.delivery_count as i64);
    }
    Ok(())
}

/// XCLAIM's options after its IDs.
#[derive(Default)]
struct ClaimOptions {
    force: bool,
    justid: bool,
    delivery_time: Option<i64>,
    retry_count: Option<u64>,
    last_id: StreamId,
}

fn claim_options(args: &[Bytes], now: i64) -> Result<ClaimOptions, RedisError> {
    let mut o = ClaimOptions::default();
    let mut j = 0;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if args::is(opt, "force") {
            o.force = true;
        } else if args::is(opt, "justid") {
            o.justid = true;
        } else if args::is(opt, "idle") && more > 0 {
            j += 1;
            o.delivery_time = Some(now.wrapping_sub(args::int_or(&args[j], "ERR Invalid IDLE option argument for XCLAIM")?));
        } else if args::is(opt, "time") && more > 0 {
            j += 1;
            o.delivery_time = Some(args::int_or(&args[j], "ERR Invalid TIME option argument for XCLAIM")?);
        } else if args::is(opt, "retrycount") && more > 0 {
            j += 1;
            // A negative count is as if none were given (Redis's -1 default).
            let n = args::int_or(&args[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")?;
            o.retry_count = u64::try_from(n).ok();
        } else if args::is(opt, "lastid") && more > 0 {
            j += 1;
            o.last_id = parse_strict_id(&args[j], 0)?;
        } else {
            return Err(format!("ERR Unrecognized XCLAIM option '{}'", String::from_utf8_lossy(opt)).into());
        }
        j += 1;
    }
    Ok(o)
}

/// Takes a pending entry for `owner`, creating the consumer on first use
/// (then true).
fn claim_one(g: &mut Group, owner: &Bytes, now: i64, id: StreamId, delivery_time: i64, bump: bool, retry: Option<u64>) -> bool {
    let (c, created) = g.consumer(owner, now);
    c.seen_time = now;
    let owner = g.consumer_name(owner).unwrap_or_else(|| owner.clone());
    // A NACK FORCE creates starts delivered once (`streamCreateNACK`).
    let count = g.pel.get(&id).map_or(1, |n| n.delivery_count);
    let delivery_count = retry.unwrap_or(if bump { count + 1 } else { count });
    g.assign(id, &owner, Nack { delivery_time, delivery_count, consumer: owner.clone() });
    created
}

/* XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id] */
pub fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, name, owner) = (&args[1], &args[2], &args[3]);
    if !stream_read(&mut ctx.view, key)?.is_some_and(|s| s.groups.contains_key(&name[..])) {
        return Err(group_err(key, name));
    }
    let min_idle = args::int_or(&args[4], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
    let ids: Vec<StreamId> = args[5..].iter().map_while(|a| parse_strict_id(a, 0).ok()).collect();
    let now = ferrokv_storage::now_ms();
    let o = claim_options(&args[5 + ids.len()..], now)?;
    let delivery_time = o.delivery_time.filter(|t| (0..=now).contains(t)).unwrap_or(now);
    let mut prop = Vec::new();
    let Some(s) = stream_write(&mut ctx.view, key)? else { unreachable!("checked above") };
    let exists: Vec<bool> = ids.iter().map(|id| s.contains(*id)).collect();
    let Some(g) = s.groups.get_mut(&name[..]) else { unreachable!("checked above") };
    let mut propagate_last_id = o.last_id > g.last_id;
    if propagate_last_id {
        g.last_id = o.last_id;
    }
    let (mut claimed, mut created_consumer) = (Vec::new(), false);
    for (&id, exists) in ids.iter().zip(exists) {
        if !exists {
            if let Some(nack) = g.pel.get(&id) {
                prop.push(xclaim_form(key, name, id, nack, g.last_id));
                propagate_last_id = false;
                g.ack(id);
            }
            continue;
        }
        let pending = g.pel.get(&id);
        if pending.is_none() && !o.force {
            continue;
        }
        if let Some(n) = pending {
            if min_idle > 0 && now - n.delivery_time < min_idle {
                continue;
            }
        }
        created_consumer |= claim_one(g, owner, now, id, delivery_time, !o.justid, o.retry_count);
        if let Some(nack) = g.pel.get(&id) {
            prop.push(xclaim_form(key, name, id, nack, g.last_id));
        }
        propagate_last_id = false;
        claimed.push(id);
    }
    if propagate_last_id {
        prop.push(setid_form(key, name, g));
    }
    let changed = !prop.is_empty();
    let Some(s) = stream_read(&mut ctx.view, key)? else { unreachable!("checked above") };
    let mut out = bytes::BytesMut::new();
    let mut r = Reply { out: &mut out, proto: ctx.proto };
    r.array(claimed.len());
    for id in claimed {
        if o.justid {
            reply_id(&mut r, id);
        } else if let Some(e) = s.range(id, id, false).next() {
            reply_entry(&mut r, id, e.fields());
        }
    }
    ctx.out.extend_from_slice(&out);
    if created_consumer {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    if changed {
        ctx.view.modified(key);
    }
    ctx.effects.suppress();
    prop.into_iter().for_each(|argv| ctx.effects.rewrite(argv));
    Ok(())
}

/// The most XAUTOCLAIM COUNT may ask (LONG_MAX / 16, as Redis bounds it).
const AUTOCLAIM_MAX_COUNT: i64 = i64::MAX / 16;

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
pub fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, name, owner) = (&args[1], &args[2], &args[3]);
    let min_idle = args::int_or(&args[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let start = interval_bound(&args[5], 0, true)?;
    let (mut count, mut justid) = (100usize, false);
    let mut j = 6;
    while j < args.len() {
        if args::is(&args[j], "count") && j + 1 < args.len() {
            count = match ferrokv_resp::parse_i64(&args[j + 1]) {
                Some(n) if (1..=AUTOCLAIM_MAX_COUNT).contains(&n) => n as usize,
                _ => return Err("ERR COUNT must be > 0".into()),
            };
            j += 1;
        } else if args::is(&args[j], "justid") {
            justid = true;
        } else {
            return Err(SYNTAX.into());
        }
        j += 1;
    }
    let now = ferrokv_storage::now_ms();
    let Some(s) = stream_write(&mut ctx.view, key)?.filter(|s| s.groups.contains_key(&name[..])) else { return Err(group_err(key, name)) };
    let mut attempts = count.saturating_mul(10);
    // No more than the scan can reach, and the one after it (the cursor).
    let pending: Vec<StreamId> = s.groups[&name[..]].pel.range(start..).map(|(id, _)| *id).take(attempts.saturating_add(1)).collect();
    let (mut claimed, mut deleted, mut prop) = (Vec::new(), Vec::new(), Vec::new());
    let (mut next, mut created_consumer) = (0, false);
    while attempts > 0 && count > 0 && next < pending.len() {
        attempts -= 1;
        let id = pending[next];
        next += 1;
        let exists = s.contains(id);
        let Some(g) = s.groups.get_mut(&name[..]) else { break };
        let Some(nack) = g.pel.get(&id) else { continue };
        if !exists {
            prop.push(xclaim_form(key, name, id, nack, g.last_id));
            g.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        if min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        created_consumer |= claim_one(g, owner, now, id, now, !justid, None);
        if let Some(nack) = g.pel.get(&id) {
            prop.push(xclaim_form(key, name, id, nack, g.last_id));
        }
        claimed.push(id);
        count -= 1;
    }
    let cursor = pending.get(next).copied().unwrap_or(StreamId::MIN);
    let (view, mut r) = ctx.parts();
    let Some(s) = stream_read(view, key)? else { unreachable!("checked above") };
    r.array(3);
    reply_id(&mut r, cursor);
    r.array(claimed.len());
    for id in claimed {
        if justid {
            reply_id(&mut r, id);
        } else if let Some(e) = s.range(id, id, false).next() {
            reply_entry(&mut r, id, e.fields());
        }
    }
    r.array(deleted.len());
    for id in deleted {
        reply_id(&mut r, id);
    }
    if created_consumer {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    if !prop.is_empty() {
        ctx.view.modified(key);
    }
    ctx.effects.suppress();
    prop.into_iter().for_each(|argv| ctx.effects.rewrite(argv));
    Ok(())
}
