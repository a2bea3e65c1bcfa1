//! Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokv_resp::encode;

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;
use crate::net::client::kind;
use ferrokv_commands::{cmd, container};

const PS: &[&str] = &["pubsub"];
const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    cmd!("subscribe", "2.0.0", -2, SUB, PS, (0, 0, 0), subscribe, "pubsub", "Listen for messages published to the given channels"),
    cmd!("unsubscribe", "2.0.0", -1, SUB, PS, (0, 0, 0), unsubscribe, "pubsub", "Stop listening for messages posted to the given channels"),
    cmd!("psubscribe", "2.0.0", -2, SUB, PS, (0, 0, 0), psubscribe, "pubsub", "Listen for messages published to channels matching the given patterns"),
    cmd!("punsubscribe", "2.0.0", -1, SUB, PS, (0, 0, 0), punsubscribe, "pubsub", "Stop listening for messages posted to channels matching the given patterns"),
    cmd!("publish", "2.0.0", 3, PUBSUB | LOADING | STALE | FAST, PS, (0, 0, 0), publish, "pubsub", "Post a message to a channel"),
    container!("pubsub", "2.8.0", -2, PUBSUB_SUBCOMMANDS, "pubsub", "A container for Pub/Sub commands"),
];

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    cmd!("channels", "2.8.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), channels, "pubsub", "List active channels"),
    cmd!("numsub", "2.8.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), numsub, "pubsub", "Get the count of subscribers for channels"),
    cmd!("numpat", "2.8.0", 2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), numpat, "pubsub", "Get the count of unique patterns pattern subscriptions"),
    cmd!("shardchannels", "7.0.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), shardchannels, "pubsub", "List active shard channels"),
    cmd!("shardnumsub", "7.0.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), numsub_shard, "pubsub", "Get the count of subscribers for shard channels"),
    cmd!("help", "6.2.0", 2, LOADING | STALE, &[], (0, 0, 0), help, "pubsub", "Show helpful text about the different subcommands"),
];

/// The confirmation Redis sends per (un)subscribed channel: a push in RESP3.
fn confirm(ctx: &mut Ctx<'_>, what: &[u8], name: Option<&[u8]>, count: usize) {
    encode::push_len(ctx.data.out, 3, ctx.client.proto);
    ctx.bulk(what);
    match name {
        Some(n) => ctx.bulk(n),
        None => ctx.null(),
    }
    ctx.int(count as i64);
}

fn sync_flags(ctx: &mut Ctx<'_>) {
    let c = &ctx.client;
    c.shared.sub_count.store(c.channels.len(), Ordering::Relaxed);
    c.shared.psub_count.store(c.patterns.len(), Ordering::Relaxed);
    c.shared.set_flag(kind::PUBSUB, c.subscriptions() > 0);
}

/* SUBSCRIBE channel [channel ...] */
fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    for ch in &args[1..] {
        if ctx.client.channels.insert(ch.clone(), ()).is_none() {
            ctx.server.pubsub.subscribe(ch, &ctx.client.shared);
        }
        let n = ctx.client.subscriptions();
        confirm(ctx, b"subscribe", Some(ch), n);
    }
    sync_flags(ctx);
    Ok(())
}

/* PSUBSCRIBE pattern [pattern ...] */
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    for p in &args[1..] {
        if ctx.client.patterns.insert(p.clone(), ()).is_none() {
            ctx.server.pubsub.psubscribe(p, &ctx.client.shared);
        }
        let n = ctx.client.subscriptions();
        confirm(ctx, b"psubscribe", Some(p), n);
    }
    sync_flags(ctx);
    Ok(())
}

fn unsubscribe_channels(ctx: &mut Ctx<'_>, names: Vec<Bytes>, notify: bool) {
    for ch in names {
        if ctx.client.channels.remove(&ch).is_some() {
            ctx.server.pubsub.unsubscribe(&ch, ctx.client.id());
        }
        if notify {
            let n = ctx.client.subscriptions();
            confirm(ctx, b"unsubscribe", Some(&ch), n);
        }
    }
}

fn unsubscribe_patterns(ctx: &mut Ctx<'_>, names: Vec<Bytes>, notify: bool) {
    for p in names {
        if ctx.client.patterns.remove(&p).is_some() {
            ctx.server.pubsub.punsubscribe(&p, ctx.client.id());
        }
        if notify {
            let n = ctx.client.subscriptions();
            confirm(ctx, b"punsubscribe", Some(&p), n);
        }
    }
}

/// Drops every subscription (RESET does it silently).
pub fn unsubscribe_all(ctx: &mut Ctx<'_>, notify: bool) {
    let channels: Vec<Bytes> = ctx.client.channels.keys().cloned().collect();
    unsubscribe_channels(ctx, channels, notify);
    let patterns: Vec<Bytes> = ctx.client.patterns.keys().cloned().collect();
    unsubscribe_patterns(ctx, patterns, notify);
    sync_flags(ctx);
}

/* UNSUBSCRIBE [channel [channel ...]] */
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let names: Vec<Bytes> = if args.len() > 1 { args[1..].to_vec() } else { ctx.client.channels.keys().cloned().collect() };
    if names.is_empty() {
        let n = ctx.client.subscriptions();
        confirm(ctx, b"unsubscribe", None, n);
    }
    unsubscribe_channels(ctx, names, true);
    sync_flags(ctx);
    Ok(())
}

/* PUNSUBSCRIBE [pattern [pattern ...]] */
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let names: Vec<Bytes> = if args.len() > 1 { args[1..].to_vec() } else { ctx.client.patterns.keys().cloned().collect() };
    if names.is_empty() {
        let n = ctx.client.subscriptions();
        confirm(ctx, b"punsubscribe", None, n);
    }
    unsubscribe_patterns(ctx, names, true);
    sync_flags(ctx);
    Ok(())
}

/* PUBLISH channel message */
fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let proto = ctx.client.proto;
    let id = ctx.client.id();
    let out = &mut *ctx.data.out;
    let n = ctx.server.pubsub.publish(&args[1], &args[2], id, |push| crate::net::conn::write_push(proto, &push, out));
    ctx.int(n as i64);
    Ok(())
}

/* PUBSUB CHANNELS [pattern] */
fn channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::errors::wrong_arity("pubsub|channels"));
    }
    let list = ctx.server.pubsub.channels(args.get(2).map(|p| &p[..]));
    ctx.bulks(list.iter().map(|c| &c[..]));
    Ok(())
}

/* PUBSUB NUMSUB [channel ...]: a flat array even in RESP3, as Redis 7.0. */
fn numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.array(2 * (args.len() - 2));
    for ch in &args[2..] {
        ctx.bulk(ch);
        let n = ctx.server.pubsub.numsub(ch);
        ctx.int(n as i64);
    }
    Ok(())
}

fn numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.server.pubsub.numpat();
    ctx.int(n as i64);
    Ok(())
}

/// Sharded channels belong to cluster mode, which a standalone node lacks:
/// there are never any.
fn shardchannels(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.array(0);
    Ok(())
}

fn numsub_shard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.array(2 * (args.len() - 2));
    for ch in &args[2..] {
        ctx.bulk(ch);
        ctx.int(0);
    }
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ])
}
