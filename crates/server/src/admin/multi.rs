//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queued commands were admitted when queued (arity, auth…); a refusal
//! there poisons the transaction and EXEC answers EXECABORT. EXEC holds the
//! keyspace gate exclusively, so the queued commands run with nothing in
//! between, and WATCH flags set by other clients' writes abort it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use ferrokv_commands::keyspec::{flags::*, KeySpec};
use ferrokv_storage::{WatchFlag, Watches};

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::dispatch;
use crate::errors::{self, CmdResult, RedisError};
use crate::net::client::{kind, Client, Watched};
use crate::Server;
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
    begin(ctx.client)?;
    ctx.ok()
}

/// MULTI's work, which needs no keyspace: it runs while a script is busy,
/// so a pipelined transaction that meets one is refused whole (its queued
/// commands get -BUSY and EXEC -EXECABORT) rather than run in part.
pub(crate) fn begin(client: &mut Client) -> Result<(), RedisError> {
    if client.multi.is_some() {
        return Err("ERR MULTI calls can not be nested".into());
    }
    client.multi = Some(Vec::new());
    client.multi_abort = false;
    client.shared.set_flag(kind::MULTI, true);
    client.shared.multi_count.store(0, Ordering::Relaxed);
    Ok(())
}

/// Leaves MULTI state, forgetting queued commands and watched keys.
pub fn discard_transaction(client: &mut Client) {
    client.multi = None;
    client.multi_abort = false;
    client.shared.set_flag(kind::MULTI, false);
    client.shared.multi_count.store(-1, Ordering::Relaxed);
    unwatch_all(client);
}

/// Forgets the watched keys (no keyspace needed: each registry is shared).
pub fn unwatch_all(client: &mut Client) {
    for w in client.watched.drain(..) {
        w.watches.remove(&w.key, &client.watch_flag);
    }
    client.watch_flag.store(false, Ordering::Release);
}

/* DISCARD */
fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    discard_or_refuse(ctx.client)?;
    ctx.ok()
}

/// DISCARD's work, which needs no keyspace (it runs while a script is busy).
pub(crate) fn discard_or_refuse(client: &mut Client) -> Result<(), RedisError> {
    if client.multi.is_none() {
        return Err("ERR DISCARD without MULTI".into());
    }
    discard_transaction(client);
    Ok(())
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
        discard_transaction(ctx.client);
        return Err(errors::EXECABORT.into());
    }
    if dirty {
        discard_transaction(ctx.client);
        ctx.null_array();
        return Ok(());
    }
    unwatch_all(ctx.client);
    ctx.array(queue.len());
    let server = ctx.server;
    ctx.client.in_exec = true;
    for args in &queue {
        match dispatch::resolve(server, args) {
            // The rules may have changed since the command was queued.
            Ok(entry) => match crate::acl::check(server, ctx.client, entry, args) {
                Ok(()) => dispatch::run(ctx, entry, args),
                Err(denied) => {
                    let err = crate::acl::exec_error(server, ctx.client, entry, args, denied);
                    ctx.error_item(&err.0);
                }
            },
            // Admitted when queued; the table cannot have changed since.
            Err((_, err)) => ctx.error_item(&err.0),
        }
    }
    ctx.client.in_exec = false;
    discard_transaction(ctx.client);
    Ok(())
}

/* WATCH key [key ...] */
fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let view = &mut ctx.data.view;
    watch_keys(ctx.client, &args[1..], |key, flag| view.watch(key, flag))?;
    ctx.ok()
}

/// WATCH's work; `register` adds a key to its database's registry and says
/// whether it was expired at that moment.
fn watch_keys(client: &mut Client, keys: &[Bytes], mut register: impl FnMut(&[u8], &WatchFlag) -> (bool, Arc<Watches>)) -> Result<(), RedisError> {
    if client.multi.is_some() {
        return Err("ERR WATCH inside MULTI is not allowed".into());
    }
    if client.watch_flag.load(Ordering::Acquire) {
        return Ok(());
    }
    let db = client.db;
    for key in keys {
        if client.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let (expired_at_watch, watches) = register(key, &client.watch_flag);
        client.watched.push(Watched { db, key: key.clone(), expired_at_watch, watches });
    }
    Ok(())
}

/// WATCH while a script is busy, without the keyspace: the key's state
/// cannot be read, so it counts as alive, and EXEC aborts if it has
/// expired by then (Redis would not, had it been expired at WATCH already:
/// a retry, never a lost update).
pub(crate) fn watch_while_busy(server: &Server, client: &mut Client, keys: &[Bytes]) -> Result<(), RedisError> {
    let watches = server.store.watches(client.db).ok_or("ERR DB index is out of range")?.clone();
    watch_keys(client, keys, |key, flag| {
        watches.add(Bytes::copy_from_slice(key), flag);
        (false, watches.clone())
    })
}

/* UNWATCH */
fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.client);
    ctx.ok()
}
