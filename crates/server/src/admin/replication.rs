//! Replication commands (Redis's replication.c): REPLICAOF/SLAVEOF, ROLE,
//! WAIT, FAILOVER, and what Redis's replicas send their primary: REPLCONF,
//! SYNC, PSYNC. The engine is `ferrokv-replication`; the node's glue is
//! `crate::replication`, FAILOVER's state machine `crate::failover`.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;
use crate::replication::{self, WaitAcks};
use ferrokv_commands::cmd;

const ADMIN_DANGER: &[&str] = &["admin", "dangerous"];
const CONN: &[&str] = &["connection"];
const REPLICAOF_FLAGS: u32 = ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING;
const SYNC_FLAGS: u32 = ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI;

pub static COMMANDS: &[Command] = &[
    cmd!(
        "replicaof",
        "5.0.0",
        3,
        REPLICAOF_FLAGS,
        &[],
        (0, 0, 0),
        replicaof,
        "server",
        "Make the server a replica of another instance, or promote it as master."
    ),
    cmd!(
        "slaveof",
        "1.0.0",
        3,
        REPLICAOF_FLAGS,
        &[],
        (0, 0, 0),
        replicaof,
        "server",
        "Make the server a replica of another instance, or promote it as master."
    ),
    cmd!(
        "role",
        "2.8.12",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        ADMIN_DANGER,
        (0, 0, 0),
        role,
        "server",
        "Return the role of the instance in the context of replication"
    ),
    cmd!(
        "wait",
        "3.0.0",
        3,
        NOSCRIPT,
        CONN,
        (0, 0, 0),
        wait,
        "generic",
        "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        tips = &["request_policy:all_shards", "response_policy:agg_min"]
    ),
    cmd!(
        "failover",
        "6.2.0",
        -1,
        ADMIN | NOSCRIPT | STALE,
        &[],
        (0, 0, 0),
        failover,
        "server",
        "Start a coordinated failover between this server and one of its replicas."
    ),
    cmd!("sync", "1.0.0", 1, SYNC_FLAGS, &[], (0, 0, 0), sync, "server", "Internal command used for replication"),
    cmd!("psync", "2.8.0", -3, SYNC_FLAGS, &[], (0, 0, 0), sync, "server", "Internal command used for replication"),
    cmd!(
        "replconf",
        "3.0.0",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        &[],
        (0, 0, 0),
        replconf,
        "server",
        "An internal command for configuring the replication stream"
    ),
];

/* REPLCONF <option> <value> [<option> <value> ...] */
fn replconf(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(crate::errors::SYNTAX.into());
    }
    for pair in args[1..].chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        // A replica's ACKs are read by its link (see ferrokv_replication::
        // resp), and GETACK by the replica applying its primary's log:
        // neither answers anything here, as in Redis.
        if args::is(option, "ack") || args::is(option, "getack") {
            return Ok(());
        }
        let req = ctx.client.replconf.get_or_insert_with(Default::default);
        req.set(option, value)?;
    }
    ctx.ok()
}

/* SYNC | PSYNC <replid> <offset>: the connection becomes a replica's link
 * once this call returns (see crate::replication::serve_replica). */
fn sync(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.client.shared.has(crate::net::client::kind::REPLICA) {
        return Ok(());
    }
    // FAILOVER on our primary: it hands over to us before it follows us.
    if args.len() == 4 && args::is(&args[3], "failover") {
        let who = crate::admin::client::describe(&ctx.client.shared);
        replication::take_over(ctx.server, &String::from_utf8_lossy(&args[1]), &who)?;
    }
    if ctx.server.repl.is_replica() && !replication::link_up(ctx.server) {
        return Err("NOMASTERLINK Can't SYNC while not connected with my master".into());
    }
    if !ctx.data.out.is_empty() {
        return Err("ERR SYNC and PSYNC are invalid with pending output".into());
    }
    let req = ctx.client.replconf.get_or_insert_with(Default::default);
    if let Some(refusal) = req.refusal() {
        return Err(refusal.into());
    }
    req.psync = (args.len() >= 3).then(|| (String::from_utf8_lossy(&args[1]).into_owned(), std::str::from_utf8(&args[2]).ok().and_then(|o| o.parse().ok())));
    tracing::info!("Replica {} asks for synchronization", replication::replica_name(&ctx.client.shared, req));
    ctx.client.sync = true;
    Ok(())
}

/* FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds] */
fn failover(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 && args::is(&args[1], "abort") {
        if !crate::failover::abort(ctx.server) {
            return Err("ERR No failover in progress.".into());
        }
        return ctx.ok();
    }
    let mut req = crate::failover::Request::default();
    let mut j = 1;
    while j < args.len() {
        if args::is(&args[j], "timeout") && j + 1 < args.len() && req.timeout.is_none() {
            let ms = args::int(&args[j + 1])?;
            if ms <= 0 {
                return Err("ERR FAILOVER timeout must be greater than 0".into());
            }
            req.timeout = Some(Duration::from_millis(ms as u64));
            j += 2;
        } else if args::is(&args[j], "to") && j + 2 < args.len() && req.target.is_none() {
            let port = args::int(&args[j + 2])?;
            req.target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port.clamp(0, u16::MAX as i64) as u16));
            j += 3;
        } else if args::is(&args[j], "force") && !req.force {
            req.force = true;
            j += 1;
        } else {
            return Err(crate::errors::SYNTAX.into());
        }
    }
    if ctx.server.failover.phase() != crate::failover::Phase::None {
        return Err("ERR FAILOVER already in progress.".into());
    }
    if ctx.server.repl.is_replica() {
        return Err("ERR FAILOVER is not valid when server is a replica.".into());
    }
    if ctx.server.repl.replicas.lock().is_empty() {
        return Err("ERR FAILOVER requires connected replicas.".into());
    }
    if req.force && (req.timeout.is_none() || req.target.is_none()) {
        return Err("ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into());
    }
    if let Some((host, port)) = &req.target {
        match crate::failover::replica_state(ctx.server, host, *port) {
            None => return Err("ERR FAILOVER target HOST and PORT is not a replica.".into()),
            Some(false) => return Err("ERR FAILOVER target replica is not online.".into()),
            Some(true) => {}
        }
    }
    crate::failover::start(&ctx.server.arc(), req);
    ctx.ok()
}

/* REPLICAOF <host> <port> | NO ONE */
fn replicaof(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let who = crate::admin::client::describe(&ctx.client.shared);
    if args::is(&args[1], "no") && args::is(&args[2], "one") {
        if ctx.server.repl.is_replica() {
            tracing::info!("MASTER MODE enabled (user request from '{who}')");
        }
        replication::promote(ctx.server);
        return ctx.ok();
    }
    let port = args::int_or(&args[2], "ERR Invalid master port")?;
    if !(0..=65535).contains(&port) {
        return Err("ERR Invalid master port".into());
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let same =
        ctx.server.repl.is_replica() && ctx.server.repl.link.lock().as_ref().is_some_and(|l| l.host.eq_ignore_ascii_case(&host) && l.port == port as u16);
    if same {
        ctx.simple(b"OK Already connected to specified master");
        return Ok(());
    }
    tracing::info!("REPLICAOF {host}:{port} enabled (user request from '{who}')");
    replication::follow(&ctx.server.arc(), host, port as u16, None);
    ctx.ok()
}

/* ROLE */
fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let repl = &ctx.server.repl;
    let link = repl.link.lock().clone().filter(|_| repl.is_replica());
    match link {
        Some(l) => {
            ctx.array(5);
            ctx.bulk(b"slave");
            ctx.bulk(l.host.as_bytes());
            ctx.int(l.port as i64);
            ctx.bulk(l.state.role_name().as_bytes());
            let connected = l.state == ferrokv_replication::LinkState::Connected;
            ctx.int(if connected { repl.offset() as i64 } else { -1 });
        }
        None => {
            let replicas = replication::online_replicas(ctx.server);
            ctx.array(3);
            ctx.bulk(b"master");
            ctx.int(repl.offset() as i64);
            ctx.array(replicas.len());
            for (ip, port, offset) in replicas {
                ctx.array(3);
                ctx.bulk(ip.as_bytes());
                ctx.bulk(port.to_string().as_bytes());
                ctx.bulk(offset.to_string().as_bytes());
            }
        }
    }
    Ok(())
}

/* WAIT numreplicas timeout */
fn wait(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.server.repl.is_replica() {
        return Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into());
    }
    let replicas = args::int(&args[1])?;
    let timeout = args::int_or(&args[2], "ERR timeout is not an integer or out of range")?;
    if timeout < 0 {
        return Err("ERR timeout is negative".into());
    }
    let offset = ctx.client.woff;
    let acked = ctx.server.repl.acked_at_least(offset);
    if acked as i64 >= replicas || ctx.client.in_exec {
        ctx.int(acked as i64);
        return Ok(());
    }
    ctx.server.repl.request_acks();
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    ctx.client.wait = Some(WaitAcks { offset, replicas: replicas.max(0) as usize, deadline });
    Ok(())
}
