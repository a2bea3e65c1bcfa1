//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS.

use bytes::Bytes;
use ferrokv_storage::types::stream::{Group, Stream, StreamId, INVALID_ENTRIES_READ};

use super::{no_group, reply_entry, reply_id, X};
use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::{Ctx, Reply};
use crate::errors::{subcommand_syntax, CmdResult, NO_SUCH_KEY};
use crate::keyspec::{flags::*, KeySpec};
use crate::typed::stream_read;

pub static XINFO: &[Command] = &[
    cmd!(
        "consumers",
        "5.0.0",
        4,
        READONLY,
        X,
        (2, 2, 1),
        xinfo_consumers,
        "stream",
        "List the consumers in a consumer group",
        key_specs = &[KeySpec::at(2, RO | ACCESS)],
        tips = &["nondeterministic_output"]
    ),
    cmd!(
        "groups",
        "5.0.0",
        3,
        READONLY,
        X,
        (2, 2, 1),
        xinfo_groups,
        "stream",
        "List the consumer groups of a stream",
        key_specs = &[KeySpec::at(2, RO | ACCESS)]
    ),
    cmd!("stream", "5.0.0", -3, READONLY, X, (2, 2, 1), xinfo_stream, "stream", "Get information about a stream", key_specs = &[KeySpec::at(2, RO | ACCESS)]),
    cmd!("help", "5.0.0", 2, LOADING | STALE, X, (0, 0, 0), xinfo_help, "stream", "Show helpful text about the different subcommands"),
];

fn field(r: &mut Reply<'_>, name: &str) {
    r.bulk(name.as_bytes());
}

/// A group's progress, as both XINFO GROUPS and XINFO STREAM FULL show
/// it: its last delivered ID, `entries-read` and lag (null when unknown).
fn progress(r: &mut Reply<'_>, s: &Stream, g: &Group) {
    field(r, "last-delivered-id");
    reply_id(r, g.last_id);
    field(r, "entries-read");
    if g.entries_read == INVALID_ENTRIES_READ {
        r.null();
    } else {
        r.int(g.entries_read);
    }
    field(r, "lag");
    match s.counters().lag(g) {
        Some(n) => r.int(n as i64),
        None => r.null(),
    }
}

/* XINFO STREAM key [FULL [COUNT count]] */
fn xinfo_stream(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = &args[3..];
    let full = !opts.is_empty();
    let mut count = 10i64;
    if full {
        if (opts.len() != 1 && opts.len() != 3) || !args::is(&opts[0], "full") || (opts.len() == 3 && !args::is(&opts[1], "count")) {
            return Err(subcommand_syntax(&args[1], "xinfo"));
        }
        if opts.len() == 3 {
            count = args::int(&opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let (view, mut r) = ctx.parts();
    let Some(s) = stream_read(view, &args[2])? else { return Err(NO_SUCH_KEY.into()) };
    let r = &mut r;
    r.map(if full { 9 } else { 10 });
    field(r, "length");
    r.int(s.len() as i64);
    field(r, "radix-tree-keys");
    r.int(s.node_count() as i64);
    field(r, "radix-tree-nodes");
    r.int(s.radix_tree_nodes() as i64);
    field(r, "last-generated-id");
    reply_id(r, s.last_id);
    field(r, "max-deleted-entry-id");
    reply_id(r, s.max_deleted_entry_id);
    field(r, "entries-added");
    r.int(s.entries_added as i64);
    field(r, "recorded-first-entry-id");
    reply_id(r, s.first_id);
    if !full {
        field(r, "groups");
        r.int(s.groups.len() as i64);
        for (name, rev) in [("first-entry", false), ("last-entry", true)] {
            field(r, name);
            match s.range(StreamId::MIN, StreamId::MAX, rev).next() {
                Some(e) => reply_entry(r, e.id, e.fields()),
                None => r.null(),
            }
        }
        return Ok(());
    }
    let count = count as usize;
    let bounded = |n: usize| if count == 0 { n } else { n.min(count) };
    field(r, "entries");
    let entries = super::read::collect(s, StreamId::MIN, StreamId::MAX, false, count);
    r.array(entries.len());
    for e in &entries {
        reply_entry(r, e.id, e.fields());
    }
    field(r, "groups");
    r.array(s.groups.len());
    for (name, g) in &s.groups {
        r.map(7);
        field(r, "name");
        r.bulk(name);
        progress(r, s, g);
        field(r, "pel-count");
        r.int(g.pel.len() as i64);
        field(r, "pending");
        r.array(bounded(g.pel.len()));
        for (id, nack) in g.pel.iter().take(bounded(g.pel.len())) {
            r.array(4);
            reply_id(r, *id);
            r.bulk(&nack.consumer);
            r.int(nack.delivery_time);
            r.int(nack.delivery_count as i64);
        }
        field(r, "consumers");
        r.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            r.map(4);
            field(r, "name");
            r.bulk(cname);
            field(r, "seen-time");
            r.int(c.seen_time);
            field(r, "pel-count");
            r.int(c.pel.len() as i64);
            field(r, "pending");
            r.array(bounded(c.pel.len()));
            for id in c.pel.iter().take(bounded(c.pel.len())) {
                let nack = &g.pel[id];
                r.array(3);
                reply_id(r, *id);
                r.int(nack.delivery_time);
                r.int(nack.delivery_count as i64);
            }
        }
    }
    Ok(())
}

/* XINFO GROUPS key */
fn xinfo_groups(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let Some(s) = stream_read(view, &args[2])? else { return Err(NO_SUCH_KEY.into()) };
    let r = &mut r;
    r.array(s.groups.len());
    for (name, g) in &s.groups {
        r.map(6);
        field(r, "name");
        r.bulk(name);
        field(r, "consumers");
        r.int(g.consumers.len() as i64);
        field(r, "pending");
        r.int(g.pel.len() as i64);
        progress(r, s, g);
    }
    Ok(())
}

/* XINFO CONSUMERS key group */
fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, name) = (&args[2], &args[3]);
    let (view, mut r) = ctx.parts();
    let Some(s) = stream_read(view, key)? else { return Err(NO_SUCH_KEY.into()) };
    let Some(g) = s.groups.get(&name[..]) else {
        return Err(no_group(format!("No such consumer group '{}' for key name '{}'", String::from_utf8_lossy(name), String::from_utf8_lossy(key))));
    };
    let now = ferrokv_storage::now_ms();
    r.array(g.consumers.len());
    for (cname, c) in &g.consumers {
        r.map(3);
        field(&mut r, "name");
        r.bulk(cname);
        field(&mut r, "pending");
        r.int(c.pel.len() as i64);
        field(&mut r, "idle");
        r.int((now - c.seen_time).max(0));
    }
    Ok(())
}

fn xinfo_help(ctx: &mut Ctx<'_>, _: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    ])
}
