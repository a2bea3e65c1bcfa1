//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queued commands were admitted when queued (arity, auth…); a refusal
//! there poisons the transaction and EXEC answers EXECABORT. EXEC holds the
//! keyspace gate exclusively, so the queued commands run with nothing in
//! between, and WATCH flags set by other clients' writes abort it.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokv_commands::keyspec::{flags::*, KeySpec};

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::dispatch;
use crate::errors::{self, CmdResult};
use crate::net::client::{kind, Watched};
use ferrokv_commands::cmd;

const TX: &[&str] = &["transaction"];

pub static COMMANDS: &[Command] = &[
    cmd!("multi", "1.2.0", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, TX, (0, 0, 0), multi, "transactions", "Start a transaction block"),
    cmd!("exec", "1.2.0", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | WHOLE, TX, (0, 0, 0), exec, "transactions", "Execute all commands issued after MULTI"),
    cmd!(
        "discard",
        "2.0.0",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        TX,
        (0, 0, 0),
        discard,
        "transactions",
        "Discard all commands issued after MULTI"
    ),
    cmd!(
        "watch",
        "2.2.0",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        TX,
        (1, -1, 1),
        watch,
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        key_specs = &[KeySpec::range(1, -1, 1, RO)]
    ),
    cmd!("unwatch", "2.2.0", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, TX, (0, 0, 0), unwatch, "transactions", "Forget about all watched keys"),
];

/* MULTI */
fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err("ERR MULTI calls can not be nested".into());
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_abort = false;
    ctx.client.shared.set_flag(kind::MULTI, true);
    ctx.client.shared.multi_count.store(0, Ordering::Relaxed);
    ctx.ok()
}

/// Leaves MULTI state, forgetting queued commands and watched keys.
pub fn discard_transaction(ctx: &mut Ctx<'_>) {
    ctx.client.multi = None;
    ctx.client.multi_abort = false;
    ctx.client.shared.set_flag(kind::MULTI, false);
    ctx.client.shared.multi_count.store(-1, Ordering::Relaxed);
    unwatch_all(ctx);
}

pub fn unwatch_all(ctx: &mut Ctx<'_>) {
    let flag = ctx.client.watch_flag.clone();
    for w in ctx.client.watched.drain(..) {
        ctx.data.view.unwatch(w.db, &w.key, &flag);
    }
    flag.store(false, Ordering::Release);
}

/* DISCARD */
fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err("ERR DISCARD without MULTI".into());
    }
    discard_transaction(ctx);
    ctx.ok()
}

/// Redis 7.0 aborts EXEC when a key alive at WATCH time has expired since.
fn watched_key_expired(ctx: &mut Ctx<'_>) -> bool {
    let watched: Vec<(usize, Bytes)> = ctx.client.watched.iter().filter(|w| !w.expired_at_watch).map(|w| (w.db, w.key.clone())).collect();
    watched.iter().any(|(db, key)| ctx.view.is_expired_in(*db, key))
}

/* EXEC */
fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let Some(queue) = ctx.client.multi.take() else {
        return Err("ERR EXEC without MULTI".into());
    };
    let dirty = ctx.client.watch_flag.load(Ordering::Acquire) || watched_key_expired(ctx);
    if ctx.client.multi_abort {
        discard_transaction(ctx);
        return Err(errors::EXECABORT.into());
    }
    if dirty {
        discard_transaction(ctx);
        ctx.null_array();
        return Ok(());
    }
    unwatch_all(ctx);
    ctx.array(queue.len());
    let server = ctx.server;
    ctx.client.in_exec = true;
    for args in &queue {
        match dispatch::resolve(server, args) {
            Ok(entry) => dispatch::run(ctx, entry, args),
            // Admitted when queued; the table cannot have changed since.
            Err((_, err)) => ctx.error_item(&err.0),
        }
    }
    ctx.client.in_exec = false;
    discard_transaction(ctx);
    Ok(())
}

/* WATCH key [key ...] */
fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err("ERR WATCH inside MULTI is not allowed".into());
    }
    if ctx.client.watch_flag.load(Ordering::Acquire) {
        return ctx.ok();
    }
    let db = ctx.client.db;
    let flag = ctx.client.watch_flag.clone();
    for key in &args[1..] {
        if ctx.client.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let expired_at_watch = ctx.view.watch(key, &flag);
        ctx.client.watched.push(Watched { db, key: key.clone(), expired_at_watch });
    }
    ctx.ok()
}

/* UNWATCH */
fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx);
    ctx.ok()
}
