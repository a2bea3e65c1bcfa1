//! CLIENT: ID, SETNAME, GETNAME, LIST, INFO, KILL, SETINFO, PAUSE,
//! UNPAUSE, REPLY, NO-EVICT, UNBLOCK, GETREDIR, HELP.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::admin::connection::validate_client_name;
use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::net::client::{kind, ClientShared, ReplyMode};
use crate::server::{PauseMode, Server};
use ferrokv_commands::{cmd, container};

const CONN: &[&str] = &["connection"];
const BASE: u32 = NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[container!("client", "2.4.0", -2, SUBCOMMANDS, "connection", "A container for client connection commands")];

static SUBCOMMANDS: &[Command] = &[
    cmd!("id", "5.0.0", 2, BASE, CONN, (0, 0, 0), id, "connection", "Returns the client ID for the current connection"),
    cmd!("setname", "2.6.9", 3, BASE, CONN, (0, 0, 0), setname, "connection", "Set the current connection name"),
    cmd!("getname", "2.6.9", 2, BASE, CONN, (0, 0, 0), getname, "connection", "Get the current connection name"),
    cmd!("list", "2.4.0", -2, ADMIN | BASE, CONN, (0, 0, 0), list, "connection", "Get the list of client connections", tips = &["nondeterministic_output"]),
    cmd!(
        "info",
        "6.2.0",
        2,
        BASE,
        CONN,
        (0, 0, 0),
        info,
        "connection",
        "Returns information about the current client connection.",
        tips = &["nondeterministic_output"]
    ),
    cmd!("kill", "2.4.0", -3, ADMIN | BASE, CONN, (0, 0, 0), kill, "connection", "Kill the connection of a client"),
    cmd!("setinfo", "7.2.0", 4, BASE, CONN, (0, 0, 0), setinfo, "connection", "Set client or connection specific info"),
    cmd!("pause", "2.9.50", -3, ADMIN | BASE, CONN, (0, 0, 0), pause, "connection", "Stop processing commands from clients for some time"),
    cmd!("unpause", "6.2.0", 2, ADMIN | BASE, CONN, (0, 0, 0), unpause, "connection", "Resume processing of clients that were paused"),
    cmd!("reply", "3.2.0", 3, BASE, CONN, (0, 0, 0), reply, "connection", "Instruct the server whether to reply to commands"),
    cmd!("no-evict", "7.0.0", 3, ADMIN | BASE, CONN, (0, 0, 0), no_evict, "connection", "Set client eviction mode for the current connection"),
    cmd!(
        "unblock",
        "5.0.0",
        -3,
        ADMIN | BASE,
        CONN,
        (0, 0, 0),
        unblock,
        "connection",
        "Unblock a client blocked in a blocking command from a different connection"
    ),
    cmd!("getredir", "6.0.0", 2, BASE, CONN, (0, 0, 0), getredir, "connection", "Get tracking notifications redirection client ID if any"),
    cmd!("help", "5.0.0", 2, LOADING | STALE, CONN, (0, 0, 0), help, "connection", "Show helpful text about the different subcommands"),
];

fn id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let id = ctx.client.id() as i64;
    ctx.int(id);
    Ok(())
}

fn setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    validate_client_name(&args[2])?;
    *ctx.client.shared.name.lock() = (!args[2].is_empty()).then(|| args[2].clone());
    ctx.ok()
}

fn getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let name = ctx.client.shared.name.lock().clone();
    match name {
        Some(n) => ctx.bulk(&n),
        None => ctx.null(),
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

fn type_by_name(name: &[u8]) -> Option<ClientType> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::Pubsub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

/// `getClientType`: MONITOR clients count as normal.
fn type_of(c: &ClientShared) -> ClientType {
    if c.has(kind::MASTER) {
        ClientType::Master
    } else if c.has(kind::REPLICA) {
        ClientType::Replica
    } else if c.has(kind::PUBSUB) {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

/// One CLIENT LIST line, in Redis 7.0's field order.
pub fn describe(c: &ClientShared) -> String {
    describe_with(c, None)
}

/// The calling client's line: its query buffer still holds the request
/// being run (`qbuf`, here its multibulk form) and `argv-mem` counts that
/// request's arguments, as Redis reports them.
fn describe_caller(c: &ClientShared, args: &[Bytes]) -> String {
    let argv_mem: usize = args.iter().map(|a| a.len()).sum();
    let header = |n: usize| itoa::Buffer::new().format(n).len() + 3;
    let qbuf = header(args.len()) + args.iter().map(|a| header(a.len()) + a.len() + 2).sum::<usize>();
    describe_with(c, Some((qbuf, argv_mem)))
}

fn describe_with(c: &ClientShared, current: Option<(usize, usize)>) -> String {
    let mut flags = String::new();
    for (bit, letter) in [
        (kind::MONITOR, 'O'),
        (kind::REPLICA, 'S'),
        (kind::MASTER, 'M'),
        (kind::PUBSUB, 'P'),
        (kind::MULTI, 'x'),
        (kind::BLOCKED, 'b'),
        (kind::DIRTY_CAS, 'd'),
        (kind::CLOSE_ASAP, 'A'),
        (kind::UNIX, 'U'),
        (kind::NO_EVICT, 'e'),
    ] {
        if c.has(bit) {
            flags.push(letter);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = c.name.lock().clone().unwrap_or_default();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs=16384 rbp=16384 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(&name),
        c.created.elapsed().as_secs(),
        c.idle_secs(),
        flags,
        c.db.load(Ordering::Relaxed),
        c.sub_count.load(Ordering::Relaxed),
        c.psub_count.load(Ordering::Relaxed),
        c.ssub_count.load(Ordering::Relaxed),
        c.multi_count.load(Ordering::Relaxed),
        current.map_or(c.memory.qbuf.load(Ordering::Relaxed), |(qbuf, _)| qbuf),
        c.memory.qbuf_free.load(Ordering::Relaxed),
        current.map_or(0, |(_, argv)| argv),
        c.memory.multi.load(Ordering::Relaxed),
        c.pending_push.load(Ordering::Relaxed),
        c.memory.total.load(Ordering::Relaxed),
        c.last_cmd.get(),
        c.resp.load(Ordering::Relaxed),
    )
}

fn sorted_clients(server: &Server) -> Vec<Arc<ClientShared>> {
    let mut all: Vec<_> = server.clients.lock().values().cloned().collect();
    all.sort_by_key(|c| c.id);
    all
}

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID client-id ...] */
fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut only_type = None;
    let mut ids: Option<Vec<u64>> = None;
    if args.len() == 4 && args::is(&args[2], "type") {
        only_type = Some(type_by_name(&args[3]).ok_or_else(|| RedisError::from(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(&args[3]))))?);
    } else if args.len() >= 4 && args::is(&args[2], "id") {
        let mut v = Vec::new();
        for a in &args[3..] {
            match ferrokv_resp::parse_i64(a) {
                Some(n) if n > 0 => v.push(n as u64),
                _ => return Err("ERR Invalid client ID".into()),
            }
        }
        ids = Some(v);
    } else if args.len() != 2 {
        return Err(errors::SYNTAX.into());
    }
    let mut text = String::new();
    for c in sorted_clients(ctx.server) {
        if only_type.is_some_and(|t| type_of(&c) != t) || ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
            continue;
        }
        text.push_str(&if c.id == ctx.client.shared.id { describe_caller(&c, args) } else { describe(&c) });
        text.push('\n');
    }
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/* CLIENT INFO */
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut line = describe_caller(&ctx.client.shared, args);
    line.push('\n');
    ctx.verbatim(line.as_bytes());
    Ok(())
}

#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<String>,
    laddr: Option<String>,
    skipme: bool,
}

/* CLIENT KILL ip:port | CLIENT KILL <filter> <value> ... */
fn kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let old_form = args.len() == 3;
    let mut f = KillFilter { skipme: !old_form, ..Default::default() };
    if old_form {
        f.addr = Some(String::from_utf8_lossy(&args[2]).into_owned());
    } else {
        if !args.len().is_multiple_of(2) {
            return Err(errors::SYNTAX.into());
        }
        for pair in args[2..].chunks(2) {
            let (opt, val) = (&pair[0], &pair[1]);
            if args::is(opt, "id") {
                match ferrokv_resp::parse_i64(val) {
                    Some(n) if n > 0 => f.id = Some(n as u64),
                    _ => return Err("ERR client-id should be greater than 0".into()),
                }
            } else if args::is(opt, "type") {
                f.kind = Some(type_by_name(val).ok_or_else(|| RedisError::from(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(val))))?);
            } else if args::is(opt, "addr") {
                f.addr = Some(String::from_utf8_lossy(val).into_owned());
            } else if args::is(opt, "laddr") {
                f.laddr = Some(String::from_utf8_lossy(val).into_owned());
            } else if args::is(opt, "user") {
                if &val[..] != b"default" {
                    return Err(format!("ERR No such user '{}'", String::from_utf8_lossy(val)).into());
                }
            } else if args::is(opt, "skipme") {
                f.skipme = if args::is(val, "yes") {
                    true
                } else if args::is(val, "no") {
                    false
                } else {
                    return Err(errors::SYNTAX.into());
                };
            } else {
                return Err(errors::SYNTAX.into());
            }
        }
    }
    let me = ctx.client.id();
    let mut killed = 0;
    for c in sorted_clients(ctx.server) {
        let matches = f.id.is_none_or(|id| c.id == id)
            && f.kind.is_none_or(|t| type_of(&c) == t)
            && f.addr.as_ref().is_none_or(|a| &c.addr == a)
            && f.laddr.as_ref().is_none_or(|a| &c.laddr == a);
        if !matches || (c.id == me && f.skipme) {
            continue;
        }
        if c.id == me {
            ctx.client.close_after_reply = true;
        } else {
            // Redis frees another client synchronously, so it must vanish from
            // CLIENT LIST and INFO now, not when its task notices the flag.
            c.kill();
            ctx.server.clients.lock().remove(&c.id);
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err("ERR No such client".into());
        }
        return ctx.ok();
    }
    ctx.int(killed);
    Ok(())
}

/* CLIENT SETINFO <LIB-NAME libname | LIB-VER libver> (Redis 7.2; clients send it) */
fn setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let value = &args[3];
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(format!("ERR {} cannot contain spaces, newlines or special characters.", String::from_utf8_lossy(&args[2]).to_ascii_lowercase()).into());
    }
    let mut lib = ctx.client.shared.lib.lock();
    if args::is(&args[2], "lib-name") {
        lib.0 = Some(value.clone());
    } else if args::is(&args[2], "lib-ver") {
        lib.1 = Some(value.clone());
    } else {
        return Err(format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(&args[2])).into());
    }
    drop(lib);
    ctx.ok()
}

/* CLIENT PAUSE timeout [WRITE|ALL] */
fn pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ms = args::int_or(&args[2], "ERR timeout is not an integer or out of range")?;
    if ms < 0 {
        return Err("ERR timeout is negative".into());
    }
    let mode = match args.get(3) {
        None => PauseMode::All,
        Some(m) if args::is(m, "all") => PauseMode::All,
        Some(m) if args::is(m, "write") => PauseMode::Write,
        Some(_) => return Err(errors::SYNTAX.into()),
    };
    if args.len() > 4 {
        return Err(errors::SYNTAX.into());
    }
    ctx.server.pause.extend(Instant::now() + Duration::from_millis(ms as u64), mode);
    ctx.ok()
}

/* CLIENT UNPAUSE */
fn unpause(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.pause.set(crate::failover::pause_held(ctx.server));
    ctx.ok()
}

/* CLIENT REPLY ON|OFF|SKIP */
fn reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args::is(&args[2], "on") {
        ctx.client.reply = ReplyMode::On;
        ctx.ok()
    } else if args::is(&args[2], "off") {
        ctx.client.reply = ReplyMode::Off;
        Ok(())
    } else if args::is(&args[2], "skip") {
        if ctx.client.reply != ReplyMode::Off {
            ctx.client.reply = ReplyMode::SkipNext;
        }
        Ok(())
    } else {
        Err(errors::SYNTAX.into())
    }
}

/* CLIENT NO-EVICT ON|OFF: exempts this client from `maxmemory-clients`. */
fn no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let on = if args::is(&args[2], "on") {
        true
    } else if args::is(&args[2], "off") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    ctx.client.shared.set_flag(kind::NO_EVICT, on);
    ctx.ok()
}

/* CLIENT UNBLOCK client-id [TIMEOUT|ERROR] */
fn unblock(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = args::int(&args[2])?;
    let mut error = false;
    if let Some(mode) = args.get(3) {
        if args::is(mode, "error") {
            error = true;
        } else if !args::is(mode, "timeout") || args.len() > 4 {
            return Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into());
        }
    }
    let waiter = ctx.server.blocking.waiter_of(id as u64);
    let Some((waiter, tx)) = waiter.and_then(|w| w.claim().map(|tx| (w, tx))) else {
        ctx.int(0);
        return Ok(());
    };
    ctx.server.blocking.remove(&waiter);
    let mut reply = bytes::BytesMut::new();
    if error {
        ferrokv_resp::encode::error(&mut reply, b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        ferrokv_resp::encode::null_array(&mut reply, waiter.proto);
    }
    let _ = tx.send(reply);
    ctx.int(1);
    Ok(())
}

fn getredir(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.int(-1);
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    ])
}
