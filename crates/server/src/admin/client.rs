//! CLIENT: ID, SETNAME, GETNAME, LIST, INFO, KILL, SETINFO, PAUSE,
//! UNPAUSE, REPLY, NO-EVICT, UNBLOCK, TRACKING, CACHING, GETREDIR,
//! TRACKINGINFO, HELP.

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
use crate::net::client::{kind, ClientShared, ReplyMode, CLIENT_BASE_MEMORY};
use crate::server::{PauseMode, PausePurpose, Server};
use crate::tracking::Mode;
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
    cmd!("tracking", "6.0.0", -3, BASE, CONN, (0, 0, 0), tracking, "connection", "Enable or disable server assisted client side caching support"),
    cmd!("caching", "6.0.0", 3, BASE, CONN, (0, 0, 0), caching, "connection", "Instruct the server about tracking or not keys in the next request"),
    cmd!("getredir", "6.0.0", 2, BASE, CONN, (0, 0, 0), getredir, "connection", "Get tracking notifications redirection client ID if any"),
    cmd!(
        "trackinginfo",
        "6.2.0",
        2,
        BASE,
        CONN,
        (0, 0, 0),
        trackinginfo,
        "connection",
        "Return information about server assisted client side caching for the current connection"
    ),
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
    let mode = c.tracking.lock().clone();
    let on = |bit| c.has(bit);
    let mut flags = String::new();
    for (set, letter) in [
        (on(kind::MONITOR), 'O'),
        (on(kind::REPLICA), 'S'),
        (on(kind::MASTER), 'M'),
        (on(kind::PUBSUB), 'P'),
        (on(kind::MULTI), 'x'),
        (on(kind::BLOCKED), 'b'),
        (mode.is_some(), 't'),
        (mode.as_ref().is_some_and(|m| m.broken_redirect), 'R'),
        (mode.as_ref().is_some_and(|m| m.bcast), 'B'),
        (on(kind::DIRTY_CAS), 'd'),
        (on(kind::CLOSE_ASAP), 'A'),
        (on(kind::UNIX), 'U'),
        (on(kind::NO_EVICT), 'e'),
    ] {
        if set {
            flags.push(letter);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = c.name.lock().clone().unwrap_or_default();
    let output = Output::of(c);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs=16384 rbp=16384 obl={} oll={} omem={} tot-mem={} events={} cmd={} user={} redir={} resp={}",
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
        current.map_or_else(|| c.argv_mem.load(Ordering::Relaxed), |(_, argv)| argv),
        c.memory.multi.load(Ordering::Relaxed),
        output.obl,
        output.oll,
        output.omem,
        output.tot_mem,
        if output.pending > 0 { "rw" } else { "r" },
        c.last_cmd.get(),
        String::from_utf8_lossy(&c.user.lock()),
        mode.as_ref().map_or(-1, |m| m.redirect as i64),
        c.resp.load(Ordering::Relaxed),
    )
}

/// What a client has waiting to be written, in Redis's terms: the first
/// 16 KiB fill its buffer (`obl`); the rest goes to a list of 16 KiB
/// blocks (`oll` of them, `omem` bytes). `events=rw` while anything waits.
struct Output {
    pending: usize,
    obl: usize,
    oll: usize,
    omem: usize,
    tot_mem: usize,
}

impl Output {
    const BLOCK: usize = 16 * 1024;

    fn of(c: &ClientShared) -> Output {
        let pushes = c.pending_push.load(Ordering::Relaxed);
        let pending = pushes + c.unsent.load(Ordering::Relaxed);
        let obl = pending.min(Self::BLOCK);
        let omem = pending - obl;
        let oll = omem.div_ceil(Self::BLOCK);
        // The total was published with the pushes of that moment.
        let published = c.memory.total.load(Ordering::Relaxed).saturating_sub(c.memory.pushes.load(Ordering::Relaxed));
        Output { pending, obl, oll, omem, tot_mem: published.max(CLIENT_BASE_MEMORY) + pending }
    }
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
    user: Option<Bytes>,
    skipme: bool,
}

/// Closes `victim`: the caller after its reply, anyone else at once.
/// Redis frees another client synchronously, so it must vanish from CLIENT
/// LIST and INFO now, not when its task notices the flag.
pub fn close(server: &Server, caller: &mut crate::net::client::Client, victim: &ClientShared) {
    if victim.id == caller.id() {
        caller.close_after_reply = true;
    } else {
        victim.kill();
        server.clients.lock().remove(&victim.id);
    }
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
                if ctx.server.acl.users().get(val).is_none() {
                    return Err(format!("ERR No such user '{}'", String::from_utf8_lossy(val)).into());
                }
                f.user = Some(val.clone());
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
            && f.laddr.as_ref().is_none_or(|a| &c.laddr == a)
            && f.user.as_ref().is_none_or(|u| *c.user.lock() == u);
        if !matches || (c.id == me && f.skipme) {
            continue;
        }
        close(ctx.server, ctx.client, &c);
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
    if args.len() > 4 {
        return Err(errors::subcommand_syntax(&args[1], "CLIENT"));
    }
    // The mode is checked first, as Redis's clientCommand does.
    let mode = match args.get(3) {
        None => PauseMode::All,
        Some(m) if args::is(m, "all") => PauseMode::All,
        Some(m) if args::is(m, "write") => PauseMode::Write,
        Some(_) => return Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into()),
    };
    let ms = args::int_or(&args[2], "ERR timeout is not an integer or out of range")?;
    if ms < 0 {
        return Err("ERR timeout is negative".into());
    }
    ctx.server.pause.hold(PausePurpose::Client, Instant::now() + Duration::from_millis(ms as u64), mode);
    ctx.ok()
}

/* CLIENT UNPAUSE */
fn unpause(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.pause.release(PausePurpose::Client);
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

/* CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP] */
fn tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut mode = Mode::default();
    let mut prefixes = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let (a, more) = (&args[j], j + 1 < args.len());
        if args::is(a, "redirect") && more {
            j += 1;
            if mode.redirect != 0 {
                return Err("ERR A client can only redirect to a single other client".into());
            }
            let id = args::int(&args[j])?;
            if id <= 0 || !ctx.server.clients.lock().contains_key(&(id as u64)) {
                return Err("ERR The client ID you want redirect to does not exist".into());
            }
            mode.redirect = id as u64;
        } else if args::is(a, "bcast") {
            mode.bcast = true;
        } else if args::is(a, "optin") {
            mode.optin = true;
        } else if args::is(a, "optout") {
            mode.optout = true;
        } else if args::is(a, "noloop") {
            mode.noloop = true;
        } else if args::is(a, "prefix") && more {
            j += 1;
            prefixes.push(args[j].clone());
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    if args::is(&args[2], "on") {
        let current = ctx.client.shared.tracking.lock().clone();
        check_tracking_on(current.as_ref(), &mode, &prefixes)?;
        mode.prefixes = prefixes.into_iter().collect();
        ctx.client.tracking_reads = (!mode.bcast).then_some((mode.optin, mode.optout));
        ctx.server.tracking.enable(ctx.server, &ctx.client.shared, mode);
    } else if args::is(&args[2], "off") {
        disable_tracking(ctx);
    } else {
        return Err(errors::SYNTAX.into());
    }
    ctx.ok()
}

/// The checks Redis makes before turning tracking on, in its order.
fn check_tracking_on(current: Option<&Mode>, mode: &Mode, prefixes: &[Bytes]) -> CmdResult {
    if !mode.bcast && !prefixes.is_empty() {
        return Err("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    if current.is_some_and(|c| c.bcast != mode.bcast) {
        return Err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if mode.optin && mode.optout {
        return Err("ERR You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if current.is_some_and(|c| (mode.optin && c.optout) || (mode.optout && c.optin)) {
        return Err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    // Two prefixes where one starts the other would both report a key.
    let overlaps = |a: &[u8], b: &[u8]| a[..a.len().min(b.len())] == b[..a.len().min(b.len())];
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(old) = current.iter().flat_map(|c| &c.prefixes).find(|old| overlaps(old, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(old)
            )
            .into());
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlaps(p, o)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(other)
            )
            .into());
        }
    }
    Ok(())
}

/// CLIENT TRACKING OFF, and RESET.
pub fn disable_tracking(ctx: &mut Ctx<'_>) {
    ctx.server.tracking.disable(ctx.server, &ctx.client.shared);
    ctx.client.tracking_reads = None;
    ctx.client.caching = false;
}

/* CLIENT CACHING (YES|NO) */
fn caching(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(mode) = ctx.client.shared.tracking.lock().clone() else {
        return Err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled".into());
    };
    if args::is(&args[2], "yes") {
        if !mode.optin {
            return Err("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.".into());
        }
    } else if args::is(&args[2], "no") {
        if !mode.optout {
            return Err("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.".into());
        }
    } else {
        return Err(errors::SYNTAX.into());
    }
    ctx.client.caching = true;
    ctx.ok()
}

fn getredir(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let redirect = ctx.client.shared.tracking.lock().as_ref().map_or(-1, |m| m.redirect as i64);
    ctx.int(redirect);
    Ok(())
}

/* CLIENT TRACKINGINFO: flags, redirect and prefixes, as a map. */
fn trackinginfo(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let mode = ctx.client.shared.tracking.lock().clone();
    let caching = ctx.client.caching;
    let mut flags = vec![if mode.is_some() { "on" } else { "off" }];
    if let Some(m) = &mode {
        let optional = [
            (m.bcast, "bcast"),
            (m.optin, "optin"),
            (m.optin && caching, "caching-yes"),
            (m.optout, "optout"),
            (m.optout && caching, "caching-no"),
            (m.noloop, "noloop"),
            (m.broken_redirect, "broken_redirect"),
        ];
        flags.extend(optional.iter().filter(|(on, _)| *on).map(|(_, name)| *name));
    }
    ctx.map(3);
    ctx.bulk(b"flags");
    ctx.set_len(flags.len());
    flags.iter().for_each(|f| ctx.bulk(f.as_bytes()));
    ctx.bulk(b"redirect");
    ctx.int(mode.as_ref().map_or(-1, |m| m.redirect as i64));
    ctx.bulk(b"prefixes");
    let prefixes: Vec<Bytes> = mode.map(|m| m.prefixes.into_iter().collect()).unwrap_or_default();
    ctx.bulks(prefixes.iter().map(|p| &p[..]));
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
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
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    ])
}
