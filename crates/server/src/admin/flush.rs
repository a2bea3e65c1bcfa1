//! FLUSHDB and FLUSHALL: keyspace commands, but the node's, because a
//! synchronous flush hands the freed memory back to the allocator at once,
//! as Redis does.

use bytes::Bytes;
use ferrokv_commands::cmd;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use ferrokv_storage::lazyfree::{LazyFree, Policy};
use ferrokv_storage::Keyspace;

const KS_DANGER: &[&str] = &["keyspace", "dangerous"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "flushdb",
        "1.0.0",
        -1,
        WRITE | WHOLE,
        KS_DANGER,
        (0, 0, 0),
        flushdb,
        "server",
        "Remove all keys from the current database",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!(
        "flushall",
        "1.0.0",
        -1,
        WRITE | WHOLE,
        KS_DANGER,
        (0, 0, 0),
        flushall,
        "server",
        "Remove all keys from all databases",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
];

/// `[ASYNC|SYNC]`; returns true for SYNC (the default unless
/// `lazyfree-lazy-user-flush`), after which freed memory goes back to the
/// OS at once, as in Redis.
fn flush_mode(ctx: &Ctx<'_>, args: &[Bytes]) -> Result<bool, RedisError> {
    match args.len() {
        1 => Ok(!Policy::on(&ctx.server.store.lazyfree.policy.user_flush)),
        2 if args::is(&args[1], "async") => Ok(false),
        2 if args::is(&args[1], "sync") => Ok(true),
        _ => Err(errors::SYNTAX.into()),
    }
}

/// ASYNC empties at once and frees on the lazyfree thread.
fn flush(ks: &mut Keyspace, db: usize, now: i64, sync: bool, lazyfree: &LazyFree) {
    if sync {
        ks.flush_db(db, now);
    } else {
        ks.flush_db_lazily(db, now, lazyfree);
    }
}

/* FLUSHDB [ASYNC|SYNC] */
fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sync = flush_mode(ctx, args)?;
    let (db, now) = (ctx.view.db, ctx.view.now_ms);
    let lazyfree = &ctx.server.store.lazyfree;
    if let Some(ks) = ctx.view.keyspace() {
        flush(ks, db, now, sync, lazyfree);
    }
    ctx.view.changed();
    ctx.view.signal_flushed();
    if sync {
        crate::info::purge_allocator();
    }
    ctx.ok()
}

/* FLUSHALL [ASYNC|SYNC] */
fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sync = flush_mode(ctx, args)?;
    let now = ctx.view.now_ms;
    let lazyfree = &ctx.server.store.lazyfree;
    if let Some(ks) = ctx.view.keyspace() {
        for db in 0..ks.db_count() {
            flush(ks, db, now, sync, lazyfree);
        }
    }
    ctx.view.changed();
    ctx.view.signal_flushed();
    if sync {
        crate::info::purge_allocator();
    }
    ctx.ok()
}
