//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokv_resp::Protocol;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::net::client::{kind, Client, ReplyMode};
use crate::Server;
use ferrokv_commands::cmd;
use ferrokv_commands::families::keys::db_index;

const CONN: &[&str] = &["connection"];
/// Flags most connection-state commands share.
const STATE: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;

pub static COMMANDS: &[Command] = &[
    cmd!(
        "ping",
        "1.0.0",
        -1,
        FAST,
        CONN,
        (0, 0, 0),
        ping,
        "connection",
        "Ping the server",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!("echo", "1.0.0", 2, LOADING | STALE | FAST, CONN, (0, 0, 0), echo, "connection", "Echo the given string"),
    cmd!("hello", "6.0.0", -1, STATE, CONN, (0, 0, 0), hello, "connection", "Handshake with Redis"),
    cmd!("auth", "1.0.0", -2, STATE, CONN, (0, 0, 0), auth, "connection", "Authenticate to the server"),
    cmd!("select", "1.0.0", 2, LOADING | STALE | FAST, CONN, (0, 0, 0), select, "connection", "Change the selected database for the current connection"),
    cmd!("quit", "1.0.0", -1, STATE, CONN, (0, 0, 0), quit, "connection", "Close the connection"),
    cmd!("reset", "6.2.0", 1, STATE, CONN, (0, 0, 0), reset, "connection", "Reset the connection"),
];

/* PING [message] */
fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(errors::wrong_arity("ping"));
    }
    if ctx.client.in_pubsub_context() {
        ctx.array(2);
        ctx.bulk(b"pong");
        ctx.bulk(args.get(1).map_or(&b""[..], |m| m));
    } else if let Some(msg) = args.get(1) {
        ctx.bulk(msg);
    } else {
        ctx.simple(b"PONG");
    }
    Ok(())
}

/* ECHO message */
fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.bulk(&args[1]);
    Ok(())
}

/// Redis accepts names of printable characters other than space.
pub fn validate_client_name(name: &[u8]) -> Result<(), RedisError> {
    if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err("ERR Client names cannot contain spaces, newlines or special characters.".into())
    }
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut version = None;
    let mut i = 1;
    if let Some(v) = args.get(1) {
        let v = args::int_or(v, "ERR Protocol version is not an integer or out of range")?;
        if !(2..=3).contains(&v) {
            return Err("NOPROTO unsupported protocol version".into());
        }
        version = Some(v);
        i = 2;
    }
    let mut name = None;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args::is(&args[i], "auth") && more >= 2 {
            // Logged in at once, as Redis does, whatever follows.
            if !crate::acl::authenticate(ctx.server, ctx.client, &args[i + 1], &args[i + 2], &args[0]) {
                return Err(errors::WRONGPASS.into());
            }
            i += 3;
        } else if args::is(&args[i], "setname") && more >= 1 {
            validate_client_name(&args[i + 1])?;
            name = Some(&args[i + 1]);
            i += 2;
        } else {
            return Err(format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(&args[i])).into());
        }
    }
    if !ctx.client.authenticated {
        return Err(errors::HELLO_NOAUTH.into());
    }
    if let Some(n) = name {
        *ctx.client.shared.name.lock() = (!n.is_empty()).then(|| n.clone());
    }
    if let Some(v) = version {
        ctx.set_proto(if v == 3 { Protocol::Resp3 } else { Protocol::Resp2 });
        ctx.client.shared.resp.store(v as u8, Ordering::Relaxed);
    }
    let proto = if ctx.client.proto == Protocol::Resp3 { 3 } else { 2 };
    let id = ctx.client.id() as i64;
    ctx.map(7);
    ctx.bulk(b"server");
    ctx.bulk(b"redis");
    ctx.bulk(b"version");
    ctx.bulk(crate::REDIS_VERSION.as_bytes());
    ctx.bulk(b"proto");
    ctx.int(proto);
    ctx.bulk(b"id");
    ctx.int(id);
    ctx.bulk(b"mode");
    ctx.bulk(b"standalone");
    ctx.bulk(b"role");
    ctx.bulk(b"master");
    ctx.bulk(b"modules");
    ctx.array(0);
    Ok(())
}

/* AUTH [username] password */
fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    authenticate(ctx.server, ctx.client, args)?;
    ctx.ok()
}

/// AUTH's work, which needs no keyspace (so it runs while a script is busy).
pub(crate) fn authenticate(server: &Server, client: &mut Client, args: &[Bytes]) -> Result<(), RedisError> {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 2 {
        if server.acl.default_user().nopass() {
            return Err(errors::NO_PASSWORD_SET.into());
        }
        (b"default", &args[1])
    } else {
        (&args[1], &args[2])
    };
    if !crate::acl::authenticate(server, client, user, pass, &args[0]) {
        return Err(errors::WRONGPASS.into());
    }
    Ok(())
}

/// `getIntFromObject`: an integer that fits a C int.
/* SELECT index */
fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let db = db_index(ctx, &args[1])?;
    ctx.client.select(db);
    ctx.view.db = db;
    ctx.ok()
}

/* QUIT */
fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.ok()
}

/* RESET */
fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    crate::admin::multi::discard_transaction(ctx.client);
    crate::admin::multi::unwatch_all(ctx.client);
    crate::admin::pubsub::unsubscribe_all(ctx, false);
    crate::admin::client::disable_tracking(ctx);
    ctx.set_proto(Protocol::Resp2);
    let client = &mut *ctx.client;
    client.select(0);
    client.shared.resp.store(2, Ordering::Relaxed);
    *client.shared.name.lock() = None;
    client.reply = ReplyMode::On;
    crate::acl::login_default(ctx.server, client);
    if client.shared.has(kind::MONITOR) {
        client.shared.set_flag(kind::MONITOR, false);
        if ctx.server.monitors.lock().remove(&client.id()).is_some() {
            ctx.server.monitor_count.fetch_sub(1, Ordering::Relaxed);
        }
    }
    ctx.simple(b"RESET");
    Ok(())
}
