//! Admission and execution of one request: Redis's `processCommand` (every
//! check a command must pass, in Redis's order) and `call` (run it, then
//! account for it: stats, slow log, latency, MONITOR).

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::encode;
use ferrokv_storage::{shard_of, View};
use smallvec::SmallVec;

use crate::blocking::Waiter;
use crate::command::{flags, Entry, Handler};
use crate::ctx::Ctx;
use crate::errors::{self, RedisError};
use crate::net::client::{kind, Client, ReplyMode};
use crate::propagate::Propagator;
use crate::server::Server;
use crate::tracking::Current;
use ferrokv_commands::Effects;

/// Commands that run rather than queue inside MULTI.
fn runs_inside_multi(name: &str) -> bool {
    matches!(name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Commands a RESP2 connection may send while subscribed.
fn allowed_in_pubsub(name: &str) -> bool {
    matches!(name, "ping" | "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe" | "quit" | "reset")
}

/// Finds the table entry for a request (the subcommand for containers) or
/// the error Redis gives for it.
pub fn resolve<'s>(server: &'s Server, args: &[Bytes]) -> Result<&'s Entry, (Option<&'s Entry>, RedisError)> {
    let Some(entry) = server.commands.get(&args[0]) else {
        return Err((None, errors::unknown_command(args)));
    };
    if entry.subcommands.is_empty() {
        if !entry.spec.arity_ok(args.len()) {
            return Err((Some(entry), errors::wrong_arity(entry.fullname)));
        }
        return Ok(entry);
    }
    let Some(sub_name) = args.get(1) else {
        // A container may run bare when its arity allows (COMMAND).
        if entry.spec.arity_ok(args.len()) {
            return Ok(entry);
        }
        return Err((Some(entry), errors::wrong_arity(entry.fullname)));
    };
    let Some(sub) = entry.subcommand(sub_name) else {
        return Err((None, errors::unknown_subcommand(sub_name, entry.spec.name)));
    };
    if !sub.spec.arity_ok(args.len()) {
        return Err((Some(sub), errors::wrong_arity(sub.fullname)));
    }
    Ok(sub)
}

/// Answers one request into `out`. A request queued by MULTI takes `args`;
/// otherwise they are left for the caller to reuse.
pub fn process(server: &Server, client: &mut Client, args: &mut Vec<Bytes>, out: &mut BytesMut) {
    let mark = out.len();
    let silent = match client.reply {
        ReplyMode::SkipNext => {
            client.reply = ReplyMode::Skip;
            true
        }
        ReplyMode::Skip | ReplyMode::Off => true,
        ReplyMode::On => false,
    };
    admit_and_run(server, client, args, out);
    if client.drop_reply {
        // Its effect could not be made durable: no reply, and the
        // connection closes, so nothing reads as acknowledged.
        client.drop_reply = false;
        out.truncate(mark);
        client.close_after_reply = true;
        return;
    }
    if silent {
        match client.reply {
            ReplyMode::On => {}
            ReplyMode::Skip => {
                client.reply = ReplyMode::On;
                out.truncate(mark);
            }
            _ => out.truncate(mark),
        }
    }
}

fn admit_and_run(server: &Server, client: &mut Client, args: &mut Vec<Bytes>, out: &mut BytesMut) {
    let entry = match resolve(server, args) {
        Ok(e) => e,
        Err((entry, err)) => return reject(server, client, entry, err, out),
    };
    let spec = entry.spec;
    if !client.authenticated && !spec.has(flags::NO_AUTH) && server.acl.auth_required() {
        return reject(server, client, Some(entry), errors::NOAUTH.into(), out);
    }
    // The primary's stream waits for a busy script instead (Redis stops
    // reading it meanwhile): refusing it would lose its writes. Commands
    // allowed while busy go on (AUTH inside MULTI is queued, as in Redis)
    // and are answered without the keyspace when `call` cannot have it.
    if server.script_watchdog.busy() && !client.is_master && !spec.has(flags::ALLOW_BUSY) {
        return reject(server, client, Some(entry), crate::admin::scripting::busy_error(server), out);
    }
    if client.multi.is_some() && spec.has(flags::NO_MULTI) {
        return reject(server, client, Some(entry), "ERR Command not allowed inside a transaction".into(), out);
    }
    if let Err(denied) = crate::acl::check(server, client, entry, args) {
        let err = crate::acl::admission_error(server, client, entry, args, denied);
        return reject(server, client, Some(entry), err, out);
    }
    if out_of_memory(server, client, entry) {
        return reject(server, client, Some(entry), crate::evict::OOM.into(), out);
    }
    if client.in_pubsub_context() && !allowed_in_pubsub(spec.name) {
        let msg = format!("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", entry.fullname);
        return reject(server, client, Some(entry), msg.into(), out);
    }
    if let Some(err) = refusal(server, client, entry) {
        return reject(server, client, Some(entry), err, out);
    }
    if let Some(queue) = client.multi.as_mut() {
        if !runs_inside_multi(spec.name) {
            queue.push(std::mem::take(args));
            client.shared.multi_count.store(queue.len() as i64, Ordering::Relaxed);
            encode::simple(out, b"QUEUED");
            return;
        }
    }
    call(server, client, entry, args, out);
    // CLIENT CACHING covers the next command, or the next transaction.
    if client.caching && client.multi.is_none() && !entry.fullname.starts_with("client|") {
        client.caching = false;
    }
}

/// A script holds the keyspace: wait for it off the worker threads (so other
/// connections keep being read) until it ends (true) or turns busy (false;
/// the primary's stream waits for the end whatever).
fn wait_for_script(server: &Server, to_the_end: bool) -> bool {
    crate::net::workers::off_the_workers(|| server.script_watchdog.wait(to_the_end))
}

/// A script has run past `busy-reply-threshold` and holds the keyspace:
/// SCRIPT KILL, FUNCTION KILL, FUNCTION STATS and SHUTDOWN NOSAVE are
/// answered here, without it, and everything else gets -BUSY. Of Redis's
/// other `allow_busy` commands, those that need no keyspace run too (MULTI,
/// DISCARD, WATCH, UNWATCH, AUTH, QUIT); RESET and HELLO, whose handlers
/// reply through the keyspace's context, get -BUSY.
fn answer_while_busy(server: &Server, client: &mut Client, entry: &Entry, args: &[Bytes], out: &mut BytesMut) {
    let result = match entry.fullname {
        "discard" => crate::admin::multi::discard_or_refuse(client),
        "unwatch" => {
            crate::admin::multi::unwatch_all(client);
            Ok(())
        }
        "script|kill" => crate::admin::scripting::kill_reply(server, false),
        "function|kill" => crate::admin::scripting::kill_reply(server, true),
        "function|stats" => return crate::admin::functions::write_stats(server, client.proto, out),
        "multi" => crate::admin::multi::begin(client),
        "watch" => crate::admin::multi::watch_while_busy(server, client, &args[1..]),
        "auth" => crate::admin::connection::authenticate(server, client, args),
        "quit" => {
            client.close_after_reply = true;
            Ok(())
        }
        "shutdown" if args.iter().skip(1).any(|a| a.eq_ignore_ascii_case(b"nosave")) => {
            server.exit_now("User requested shutdown while a script was busy: exiting without saving.");
        }
        _ => Err(crate::admin::scripting::busy_error(server)),
    };
    match result {
        Ok(()) => encode::ok(out),
        Err(err) => reject(server, client, Some(entry), err, out),
    }
}

/// Redis's maxmemory step of `processCommand`: evict as needed, then
/// whether to refuse the command: one that may grow memory (DENYOOM, or
/// EXEC of a transaction holding one), or anything but EXEC, DISCARD, QUIT
/// and RESET inside MULTI (queueing grows memory without bound). The
/// primary's stream is never refused, and a busy script holds the
/// keyspace, so nothing is evicted meanwhile.
fn out_of_memory(server: &Server, client: &mut Client, entry: &Entry) -> bool {
    if client.is_master || client.is_loading || server.script_watchdog.busy() {
        return false;
    }
    client.oom_at_start = crate::evict::perform(server) == crate::evict::Outcome::Fail;
    if !client.oom_at_start {
        return false;
    }
    let name = entry.spec.name;
    entry.spec.has(flags::DENYOOM)
        || (name == "exec" && queued_denyoom(server, client))
        || (client.multi.is_some() && !matches!(name, "exec" | "discard" | "quit" | "reset"))
}

/// Whether a transaction queued a command that may grow memory.
fn queued_denyoom(server: &Server, client: &Client) -> bool {
    client.multi.iter().flatten().any(|args| resolve(server, args).is_ok_and(|e| e.spec.has(flags::DENYOOM)))
}

/// What the node's state refuses: writes after a failed save (-MISCONF) or
/// while the AOF cannot be written, and what a replica or too few replicas
/// refuse. Scripts check it again for every command they call.
pub fn refusal(server: &Server, client: &Client, entry: &Entry) -> Option<RedisError> {
    let spec = entry.spec;
    refusal_of(server, client, spec.has(flags::WRITE), spec.has(flags::STALE), spec.name == "ping")
}

/// [`refusal`] of a command that writes (`is_write`) or may run on stale
/// data (`stale_ok`): a function's flags stand for FCALL's.
pub fn refusal_of(server: &Server, client: &Client, is_write: bool, stale_ok: bool, is_ping: bool) -> Option<RedisError> {
    if is_write || is_ping {
        if let Some(err) = disk_error(server) {
            if !client.is_master {
                return Some(err);
            }
            if is_write {
                crate::replication::write_despite_disk_error(server);
            }
        }
    }
    crate::replication::refuse_access(server, client, is_write, stale_ok)
}

/// Why writes cannot be persisted now, in Redis's words (its
/// `writeCommandsDeniedByDiskError`): a failed background save with
/// `stop-writes-on-bgsave-error`, or a failing AOF.
fn disk_error(server: &Server) -> Option<RedisError> {
    if server.persistence.misconf.load(Ordering::Relaxed) {
        return Some(errors::MISCONF.into());
    }
    server.aof.refusal().map(RedisError::from)
}

/// A command refused before running: reply, count, and poison an open
/// transaction as Redis's `rejectCommand` does.
fn reject(server: &Server, client: &mut Client, entry: Option<&Entry>, err: RedisError, out: &mut BytesMut) {
    if let Some(e) = entry {
        e.stats.rejected.fetch_add(1, Ordering::Relaxed);
    }
    // A refused EXEC ends the transaction, saying why.
    let err = if entry.is_some_and(|e| e.spec.name == "exec") {
        crate::admin::multi::discard_transaction(client);
        RedisError::from(format!("EXECABORT Transaction discarded because of: {}", err.0))
    } else {
        if client.multi.is_some() {
            client.multi_abort = true;
        }
        err
    };
    server.stats.count_error(err.code());
    encode::error(out, err.0.as_bytes());
}

/// How a command holds the keyspace.
enum Gate {
    /// Shared gate; the shard of the (single-shard) keys is locked lazily.
    One,
    /// Shared gate and these shards, locked in order before it runs.
    Shards(SmallVec<[usize; 8]>),
    /// The gate exclusively: whole-keyspace commands, commands whose keys
    /// depend on their arguments, and writes while clients are blocked
    /// (which may have to serve them with nobody in between).
    Exclusive,
}

fn gate_for(server: &Server, entry: &Entry, args: &[Bytes]) -> Gate {
    if entry.spec.has(flags::WHOLE) || entry.spec.has(flags::MOVABLEKEYS) || (entry.spec.has(flags::WRITE) && server.blocking.active()) {
        return Gate::Exclusive;
    }
    // A single key needs no list: its shard is found (and locked) when the
    // command first touches it, so hashing it here would be done twice.
    let mut positions = entry.spec.key_positions(args.len());
    let (Some(a), Some(b)) = (positions.next(), positions.next()) else {
        return Gate::One;
    };
    let mut shards: SmallVec<[usize; 8]> = [a, b].into_iter().chain(positions).map(|i| shard_of(&args[i])).collect();
    shards.sort_unstable();
    shards.dedup();
    if shards.len() > 1 {
        Gate::Shards(shards)
    } else {
        Gate::One
    }
}

/// The keyspace gate, as `try_take` gives it. A script holds it for its
/// whole run, so a command that finds it taken while one runs waits for the
/// script instead (off the workers), and gets None (-BUSY) if the script
/// turns busy. Checking for a script before taking the gate would not do:
/// a script may take the gate just after the check, before it is marked
/// as running.
fn take_gate<G>(server: &Server, client: &Client, try_take: impl Fn(Duration) -> Option<G>) -> Option<G> {
    let mut wait = Duration::ZERO;
    loop {
        if let Some(gate) = try_take(wait) {
            return Some(gate);
        }
        if server.script_watchdog.running() && !wait_for_script(server, client.is_master) {
            return None;
        }
        // Another command's turn (or a script about to be marked running).
        wait = Duration::from_millis(5);
    }
}

/// Checked while holding the gate: a command that gets the keyspace after
/// the final snapshot is dropped unacknowledged (the connection closes).
fn refuse_after_shutdown(server: &Server, client: &mut Client) -> bool {
    let stopping = server.stopping.load(Ordering::Acquire);
    if stopping {
        client.close_after_reply = true;
    }
    stopping
}

/// Runs an admitted command under the right gate.
pub fn call<'s>(server: &'s Server, client: &mut Client, entry: &'s Entry, args: &[Bytes], out: &mut BytesMut) {
    let db = client.db;
    let lfu = server.hot.lfu.load(Ordering::Relaxed);
    let notify = server.hot.notify.load(Ordering::Relaxed);
    let now = client.now_ms;
    let expiry = crate::replication::expiry_for(server, client);
    let collect = Propagator::new(server).collects(client.is_master, client.is_loading);
    match gate_for(server, entry, args) {
        Gate::Exclusive => {
            let Some(mut ks) = take_gate(server, client, |wait| server.store.try_exclusive_for(wait)) else {
                return answer_while_busy(server, client, entry, args, out);
            };
            if refuse_after_shutdown(server, client) {
                return;
            }
            let mut view = View::exclusive(&server.store, &mut ks, db, now);
            view.lfu = lfu;
            view.expiry = expiry;
            view.notify = notify;
            let mut ctx = node_ctx(server, client, entry, view, out, collect);
            run(&mut ctx, entry, args);
            propagate(&mut ctx);
        }
        gate => {
            let Some(ks) = take_gate(server, client, |wait| server.store.try_shared_for(wait)) else {
                return answer_while_busy(server, client, entry, args, out);
            };
            if refuse_after_shutdown(server, client) {
                return;
            }
            let mut view = match &gate {
                Gate::Shards(shards) => View::shards(&server.store, &ks, db, now, shards),
                _ => View::shared(&server.store, &ks, db, now),
            };
            view.lfu = lfu;
            view.expiry = expiry;
            view.notify = notify;
            let mut ctx = node_ctx(server, client, entry, view, out, collect);
            run(&mut ctx, entry, args);
            propagate(&mut ctx);
        }
    }
}

fn node_ctx<'a>(server: &'a Server, client: &'a mut Client, entry: &'a Entry, view: View<'a>, out: &'a mut BytesMut, collect: bool) -> Ctx<'a> {
    let mut data = ferrokv_commands::Ctx::new(view, out, client.proto, &server.hot.limits, Effects::new(collect));
    data.obey = client.is_master || client.is_loading;
    Ctx { server, client, entry, data }
}

/// Logs the call's effects while it still holds its keys, so the log's
/// order is the keyspace's.
fn propagate(ctx: &mut Ctx<'_>) {
    let data = &mut ctx.data;
    data.effects.invalidated.append(&mut data.view.touched);
    data.effects.flushed |= std::mem::take(&mut data.view.flushed);
    let current = Current { id: ctx.client.id(), out: &mut *data.out };
    let logged = Propagator::new(ctx.server).log(&data.effects, !ctx.client.is_master, Some(current));
    if let Some(offset) = logged.offset {
        ctx.client.woff = offset;
    }
    if !logged.durable {
        // Not on disk: the client must not see this as acknowledged.
        ctx.client.drop_reply = true;
    }
    if ctx.client.is_master && ctx.client.multi.is_none() {
        // The primary's command (or transaction) has taken effect: log it
        // verbatim while still holding its keys.
        ctx.server.repl.log_applied(&ctx.client.repl_pending, ctx.client.woff, ctx.client.db);
        ctx.client.repl_pending.clear();
    }
}

/// Calls the handler with `ctx` already holding the right view, then does
/// Redis's bookkeeping. EXEC calls this for each queued command.
pub fn run<'a>(ctx: &mut Ctx<'a>, entry: &'a Entry, args: &[Bytes]) {
    let saved = std::mem::replace(&mut ctx.entry, entry);
    let saved_name = std::mem::replace(&mut ctx.data.name, entry.fullname);
    ctx.data.view.db = ctx.client.db;
    ctx.data.may_block = !ctx.client.in_exec && !ctx.client.in_script;
    ctx.data.in_script = ctx.client.in_script;
    // Redis records the command before running it (CLIENT INFO shows itself).
    ctx.client.shared.last_cmd.set(entry.fullname_ref);
    let (db, changes, replied) = (ctx.data.view.db, ctx.data.view.changes, ctx.data.out.len());
    let started = crate::clock::now();
    let outcome = crate::panics::guarded(entry.fullname, || match entry.handler {
        Handler::Data(handler) => handler(&mut ctx.data, args),
        Handler::Node(handler) => handler(ctx, args),
        Handler::Container => Err(errors::unknown_subcommand(args.get(1).map_or(&b""[..], |a| &a[..]), entry.spec.name)),
    });
    let usec = crate::clock::usec_since(started);
    let panicked = outcome.is_err();
    let result = outcome.unwrap_or_else(|msg| Err(after_panic(ctx, entry, changes, replied, msg)));
    register_block(ctx);
    if ctx.data.effects.on {
        collect_effects(ctx, args, db, changes, !panicked);
    }
    // Serve clients blocked on keys this command filled; inside EXEC that
    // waits for the end of the transaction, as in Redis.
    if !ctx.client.in_exec && !ctx.data.view.ready.is_empty() {
        if ctx.data.view.is_exclusive() && ctx.server.blocking.active() {
            ctx.server.blocking.serve_ready(&mut ctx.data.view, &mut ctx.data.effects);
        }
        ctx.data.view.ready.clear();
    }
    // Keyspace events (the handler's, and those of serving blocked
    // clients) go out with the unit's other effects.
    ctx.data.effects.events.append(&mut ctx.data.view.events);
    if ctx.client.tracking_reads.is_some() && entry.spec.has(flags::READONLY) && !panicked {
        remember_reads(ctx, entry, args);
    }
    ctx.entry = saved;
    ctx.data.name = saved_name;
    let server = ctx.server;
    entry.stats.calls.add(1);
    entry.stats.usec.add(usec);
    if server.hot.latency_tracking.load(Ordering::Relaxed) {
        // In nanoseconds from microseconds, as Redis records it.
        entry.stats.latency.record(usec.saturating_mul(1000));
    }
    server.stats.commands_processed.add(1);
    ctx.client.shared.last_cmd.set(entry.fullname_ref);
    if let Err(err) = result {
        entry.stats.failed.fetch_add(1, Ordering::Relaxed);
        server.stats.count_error(err.code());
        encode::error(ctx.data.out, err.0.as_bytes());
    }
    account(ctx, entry, args, usec);
}

/// Client-side caching: the keys a read command touched may now be cached
/// by its client, unless OPTIN without CACHING YES or OPTOUT with CACHING
/// NO says otherwise. Read-only scripts count through the commands they
/// run, and shard channels are not keys (`trackingRememberKeys`).
fn remember_reads(ctx: &mut Ctx<'_>, entry: &Entry, args: &[Bytes]) {
    let Some((optin, optout)) = ctx.client.tracking_reads else { return };
    if (optin && !ctx.client.caching) || (optout && ctx.client.caching) {
        return;
    }
    // EVAL_RO and the like are the read-only commands of the scripting
    // category: their declared keys are not what they read.
    if entry.spec.has(flags::PUBSUB) || entry.spec.acl.contains(&"scripting") {
        return;
    }
    let keys = entry.spec.keys_in(args);
    if !keys.is_empty() {
        ctx.server.tracking.remember(ctx.server, ctx.client.id(), keys.iter().map(|&(at, _)| &args[at]));
    }
}

/// Undoes what a panicked handler left half-done in the reply and the
/// call's requests (so the client reads one well-formed error), and says
/// in the log whether it had changed data, which is kept but not
/// propagated: replaying a command that panicked could do anything.
fn after_panic(ctx: &mut Ctx<'_>, entry: &Entry, changes: u64, replied: usize, msg: String) -> RedisError {
    ctx.data.out.truncate(replied);
    ctx.data.block = None;
    ctx.data.effects.take_rewrite();
    if ctx.data.view.changes != changes {
        tracing::warn!("'{}' had changed the dataset before it panicked: the change stays here and is not sent to replicas or the AOF", entry.fullname);
    }
    msg.into()
}

/// A blocking command that found nothing asked to wait: its waiter is
/// registered while the keys are still held, so no push slips between the
/// handler's look and the registration.
fn register_block(ctx: &mut Ctx<'_>) {
    if let Some(block) = ctx.data.block.take() {
        let timeout = block.timeout_ms;
        let (waiter, rx) = Waiter::new(ctx.client.shared.clone(), ctx.client.db, ctx.client.proto, block);
        ctx.client.blocked = Some(ctx.server.blocking.block(waiter, rx, timeout));
    }
}

/// Keys found expired go out as DEL, then the command (or what it
/// rewrote itself into) if it changed anything and the table says it may
/// replicate (`write` or `may_replicate`): EXEC adds nothing of its own
/// (its queued commands did), nor does DEBUG POPULATE/RELOAD, nor a
/// command that panicked (`completed` false).
fn collect_effects(ctx: &mut Ctx<'_>, args: &[Bytes], db: usize, changes_before: u64, completed: bool) {
    let data = &mut ctx.data;
    for (edb, key) in data.view.expired.drain(..) {
        data.effects.expired(edb, key);
    }
    let rewrite = data.effects.take_rewrite();
    let spec = ctx.entry.spec;
    if !completed || data.view.changes == changes_before || !(spec.has(flags::WRITE) || spec.has(flags::MAY_REPLICATE)) {
        return;
    }
    match rewrite {
        Some(cmds) => cmds.into_iter().for_each(|argv| data.effects.push(db, argv)),
        None => data.effects.push(db, args.to_vec()),
    }
}

fn account(ctx: &mut Ctx<'_>, entry: &Entry, args: &[Bytes], usec: u64) {
    let server = ctx.server;
    let spec = entry.spec;
    let slower_than = server.hot.slowlog_slower_than.load(Ordering::Relaxed);
    let max_len = server.hot.slowlog_max_len.load(Ordering::Relaxed);
    let latency_threshold = server.hot.latency_threshold.load(Ordering::Relaxed);
    if !spec.has(flags::SKIP_SLOWLOG) && slower_than >= 0 && usec >= slower_than as u64 {
        let (addr, name) = if ctx.client.in_script {
            ("?:0".to_owned(), Bytes::new())
        } else {
            (ctx.client.shared.addr.clone(), ctx.client.shared.name.lock().clone().unwrap_or_default())
        };
        server.slowlog.push(args, &redacted(args), usec, addr, name, max_len);
    }
    if latency_threshold > 0 && usec / 1000 >= latency_threshold {
        let event = if spec.has(flags::FAST) { "fast-command" } else { "command" };
        server.latency.record(event, usec / 1000);
    }
    if !spec.has(flags::SKIP_MONITOR) && !spec.has(flags::ADMIN) {
        feed_monitors(ctx, args);
    }
}

/// Which arguments MONITOR and the slow log show as `(redacted)`: the
/// secrets of AUTH, HELLO AUTH, ACL SETUSER, MIGRATE AUTH/AUTH2 and CONFIG
/// SET of `requirepass`, `masterauth` and `masteruser`, as Redis redacts
/// them.
pub fn redacted(args: &[Bytes]) -> Vec<bool> {
    let mut hidden = vec![false; args.len()];
    let is = |i: usize, word: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()));
    if is(0, "auth") {
        hidden.iter_mut().skip(1).for_each(|h| *h = true);
    } else if is(0, "acl") && is(1, "setuser") {
        hidden.iter_mut().skip(2).for_each(|h| *h = true);
    } else if is(0, "hello") || is(0, "migrate") {
        for i in 1..args.len() {
            let secrets = if is(i, "auth") && is(0, "hello") || is(i, "auth2") {
                2
            } else if is(i, "auth") {
                1
            } else {
                0
            };
            hidden.iter_mut().skip(i + 1).take(secrets).for_each(|h| *h = true);
        }
    } else if is(0, "config") && is(1, "set") {
        for i in (2..args.len()).step_by(2) {
            if ["requirepass", "masterauth", "masteruser"].iter().any(|n| is(i, n)) && i + 1 < args.len() {
                hidden[i + 1] = true;
            }
        }
    }
    hidden
}

/// One MONITOR line: `+<unix>.<usec> [<db> <addr>] "arg" ...`, with
/// passwords redacted as Redis does; a script's commands are shown as
/// Redis's Lua client's (`[0 lua]`). EVAL and FCALL feed it themselves,
/// before the commands they run.
pub fn feed_monitors(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if ctx.server.monitor_count.load(Ordering::Relaxed) == 0 {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let addr = if ctx.client.in_script {
        "lua".to_owned()
    } else if ctx.client.shared.has(kind::UNIX) {
        format!("unix:{}", ctx.server.config.read().unixsocket)
    } else {
        ctx.client.shared.addr.clone()
    };
    let mut line = format!("{}.{:06} [{} {}]", now.as_secs(), now.subsec_micros(), ctx.client.db, addr);
    let hidden = redacted(args);
    for (i, a) in args.iter().enumerate() {
        line.push(' ');
        if hidden[i] {
            line.push_str("\"(redacted)\"");
        } else {
            line.push_str(&crate::config::table::repr(a));
        }
    }
    let line = Bytes::from(line);
    for m in ctx.server.monitors.lock().values() {
        if m.id != ctx.client.id() {
            m.deliver(crate::net::client::Push::Monitor(line.clone()));
        }
    }
}
