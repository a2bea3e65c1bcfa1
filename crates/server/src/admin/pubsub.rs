//! Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokv_resp::encode;

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;
use crate::net::client::kind;
use crate::pubsub::Kind;
use ferrokv_commands::command::{channel, ChannelSpec};
use ferrokv_commands::keyspec::{flags::NOT_KEY, KeySpec};
use ferrokv_commands::{cmd, container};

const PS: &[&str] = &["pubsub"];
const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    cmd!(
        "subscribe",
        "2.0.0",
        -2,
        SUB,
        PS,
        (0, 0, 0),
        subscribe,
        "pubsub",
        "Listen for messages published to the given channels",
        channels = ChannelSpec::rest(channel::SUBSCRIBE)
    ),
    cmd!(
        "unsubscribe",
        "2.0.0",
        -1,
        SUB,
        PS,
        (0, 0, 0),
        unsubscribe,
        "pubsub",
        "Stop listening for messages posted to the given channels",
        channels = ChannelSpec::rest(channel::UNSUBSCRIBE)
    ),
    cmd!(
        "psubscribe",
        "2.0.0",
        -2,
        SUB,
        PS,
        (0, 0, 0),
        psubscribe,
        "pubsub",
        "Listen for messages published to channels matching the given patterns",
        channels = ChannelSpec::rest(channel::SUBSCRIBE | channel::PATTERN)
    ),
    cmd!(
        "punsubscribe",
        "2.0.0",
        -1,
        SUB,
        PS,
        (0, 0, 0),
        punsubscribe,
        "pubsub",
        "Stop listening for messages posted to channels matching the given patterns",
        channels = ChannelSpec::rest(channel::UNSUBSCRIBE | channel::PATTERN)
    ),
    cmd!(
        "publish",
        "2.0.0",
        3,
        PUBSUB | LOADING | STALE | FAST,
        PS,
        (0, 0, 0),
        publish,
        "pubsub",
        "Post a message to a channel",
        channels = ChannelSpec::one(channel::PUBLISH)
    ),
    // Shard channels name a slot as keys do (so a cluster can route them);
    // they are not keys, hence `not_key`.
    cmd!(
        "ssubscribe",
        "7.0.0",
        -2,
        SUB,
        PS,
        (1, -1, 1),
        ssubscribe,
        "pubsub",
        "Listen for messages published to the given shard channels",
        key_specs = &[KeySpec::range(1, -1, 1, NOT_KEY)],
        channels = ChannelSpec::rest(channel::SUBSCRIBE)
    ),
    cmd!(
        "sunsubscribe",
        "7.0.0",
        -1,
        SUB,
        PS,
        (1, -1, 1),
        sunsubscribe,
        "pubsub",
        "Stop listening for messages posted to the given shard channels",
        key_specs = &[KeySpec::range(1, -1, 1, NOT_KEY)],
        channels = ChannelSpec::rest(channel::UNSUBSCRIBE)
    ),
    cmd!(
        "spublish",
        "7.0.0",
        3,
        PUBSUB | LOADING | STALE | FAST,
        PS,
        (1, 1, 1),
        spublish,
        "pubsub",
        "Post a message to a shard channel",
        key_specs = &[KeySpec::at(1, NOT_KEY)],
        channels = ChannelSpec::one(channel::PUBLISH)
    ),
    container!("pubsub", "2.8.0", -2, PUBSUB_SUBCOMMANDS, "pubsub", "A container for Pub/Sub commands"),
];

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    cmd!("channels", "2.8.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), channels, "pubsub", "List active channels"),
    cmd!("numsub", "2.8.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), numsub, "pubsub", "Get the count of subscribers for channels"),
    cmd!("numpat", "2.8.0", 2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), numpat, "pubsub", "Get the count of unique patterns pattern subscriptions"),
    cmd!("shardchannels", "7.0.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), shardchannels, "pubsub", "List active shard channels"),
    cmd!("shardnumsub", "7.0.0", -2, PUBSUB | LOADING | STALE, PS, (0, 0, 0), shardnumsub, "pubsub", "Get the count of subscribers for shard channels"),
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

/// What a confirmation of `kind` counts: shard subscriptions apart.
fn confirm_count(ctx: &Ctx<'_>, kind: Kind) -> usize {
    match kind {
        Kind::Shard => ctx.client.shard_channels.len(),
        _ => ctx.client.subscriptions(),
    }
}

fn sync_flags(ctx: &mut Ctx<'_>) {
    let c = &ctx.client;
    c.shared.sub_count.store(c.channels.len(), Ordering::Relaxed);
    c.shared.psub_count.store(c.patterns.len(), Ordering::Relaxed);
    c.shared.ssub_count.store(c.shard_channels.len(), Ordering::Relaxed);
    c.shared.set_flag(kind::PUBSUB, c.all_subscriptions() > 0);
}

/// SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE: each name confirmed in turn.
fn subscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind, what: &[u8]) -> CmdResult {
    for name in &args[1..] {
        if ctx.client.subs_mut(kind).insert(name.clone(), ()).is_none() {
            ctx.server.pubsub.subscribe(kind, name, &ctx.client.shared);
        }
        let n = confirm_count(ctx, kind);
        confirm(ctx, what, Some(name), n);
    }
    sync_flags(ctx);
    Ok(())
}

/* SUBSCRIBE channel [channel ...] */
fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Channel, b"subscribe")
}

/* PSUBSCRIBE pattern [pattern ...] */
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Pattern, b"psubscribe")
}

/* SSUBSCRIBE shardchannel [shardchannel ...] */
fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Inside EXEC (Redis's CLIENT_DENY_BLOCKING), where SUBSCRIBE is let through.
    if !ctx.may_block {
        return Err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client".into());
    }
    subscribe_generic(ctx, args, Kind::Shard, b"ssubscribe")
}

/// Drops `names` of `kind`, confirming each when `notify`.
fn unsubscribe_names(ctx: &mut Ctx<'_>, kind: Kind, names: Vec<Bytes>, what: &[u8], notify: bool) {
    for name in names {
        if ctx.client.subs_mut(kind).remove(&name).is_some() {
            ctx.server.pubsub.unsubscribe(kind, &name, ctx.client.id());
        }
        if notify {
            let n = confirm_count(ctx, kind);
            confirm(ctx, what, Some(&name), n);
        }
    }
}

/// Drops every subscription (RESET does it silently).
pub fn unsubscribe_all(ctx: &mut Ctx<'_>, notify: bool) {
    for (kind, what) in [(Kind::Channel, &b"unsubscribe"[..]), (Kind::Pattern, b"punsubscribe"), (Kind::Shard, b"sunsubscribe")] {
        let names: Vec<Bytes> = ctx.client.subs_mut(kind).keys().cloned().collect();
        unsubscribe_names(ctx, kind, names, what, notify);
    }
    sync_flags(ctx);
}

/// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE: the names given, or all of
/// that kind (one confirmation with a null name when there are none).
fn unsubscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind, what: &[u8]) -> CmdResult {
    let names: Vec<Bytes> = if args.len() > 1 { args[1..].to_vec() } else { ctx.client.subs_mut(kind).keys().cloned().collect() };
    if names.is_empty() {
        let n = confirm_count(ctx, kind);
        confirm(ctx, what, None, n);
    }
    unsubscribe_names(ctx, kind, names, what, true);
    sync_flags(ctx);
    Ok(())
}

/* UNSUBSCRIBE [channel [channel ...]] */
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Channel, b"unsubscribe")
}

/* PUNSUBSCRIBE [pattern [pattern ...]] */
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Pattern, b"punsubscribe")
}

/* SUNSUBSCRIBE [shardchannel [shardchannel ...]] */
fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Shard, b"sunsubscribe")
}

/// PUBLISH and SPUBLISH: the publisher's own messages (RESP3) go into its
/// reply buffer before the count, as Redis orders them; replicas publish
/// it to their own subscribers, as Redis's do.
fn publish_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let proto = ctx.client.proto;
    let id = ctx.client.id();
    let out = &mut *ctx.data.out;
    let n = ctx.server.pubsub.publish(kind, &args[1], &args[2], id, |push| crate::net::conn::write_push(proto, &push, out));
    ctx.int(n as i64);
    let db = ctx.client.db;
    ctx.data.effects.push_repl_only(db, args.to_vec());
    Ok(())
}

/* PUBLISH channel message */
fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    publish_generic(ctx, args, Kind::Channel)
}

/* SPUBLISH shardchannel message */
fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    publish_generic(ctx, args, Kind::Shard)
}

/* PUBSUB CHANNELS [pattern] and SHARDCHANNELS [pattern] */
fn names_of(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind, name: &'static str) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::errors::wrong_arity(name));
    }
    let list = ctx.server.pubsub.names(kind, args.get(2).map(|p| &p[..]));
    ctx.bulks(list.iter().map(|c| &c[..]));
    Ok(())
}

fn channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    names_of(ctx, args, Kind::Channel, "pubsub|channels")
}

fn shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    names_of(ctx, args, Kind::Shard, "pubsub|shardchannels")
}

/* PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: a flat array even in RESP3,
 * as Redis 7.0. */
fn numsub_of(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    ctx.array(2 * (args.len() - 2));
    for ch in &args[2..] {
        ctx.bulk(ch);
        let n = ctx.server.pubsub.numsub(kind, ch);
        ctx.int(n as i64);
    }
    Ok(())
}

fn numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    numsub_of(ctx, args, Kind::Channel)
}

fn shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    numsub_of(ctx, args, Kind::Shard)
}

fn numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.server.pubsub.count(Kind::Pattern);
    ctx.int(n as i64);
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
