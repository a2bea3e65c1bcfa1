//! The Redis Sentinel API over RESP (port 26379): SENTINEL subcommands,
//! PING, INFO, ROLE, HELLO, AUTH, CLIENT, and the event channels through
//! SUBSCRIBE/PSUBSCRIBE, with Redis 7.0's replies.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{encode, Protocol, RequestLimits, RequestParser};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use ferrokv_acl::command as shared;
use ferrokv_acl::log::Reason;
use ferrokv_acl::{Denied, User};
use ferrokv_commands::ctx::Reply;
use ferrokv_util::glob_match;

use crate::failover::{self, best_replica};
use crate::sentinel::Sentinel;
use crate::state::{Instance, Master, Reconf, State};

struct Client {
    proto: Protocol,
    channels: Vec<String>,
    patterns: Vec<String>,
    /// Logged in (or the default user needs no password).
    authenticated: bool,
    /// Its user, as of the registry's `generation`.
    user: Arc<User>,
    generation: u64,
    id: u64,
    addr: String,
    laddr: String,
    created: Instant,
}

/// Where a connection comes from (its address, and the one it reached).
pub struct Peer {
    pub addr: String,
    pub laddr: String,
}

pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(s: Arc<Sentinel>, mut stream: S, peer: Peer) {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut input = BytesMut::with_capacity(4096);
    let mut parser = RequestParser::new();
    let generation = s.acl.generation();
    let (user, authenticated) = s.acl.at_connect();
    let mut client = Client {
        proto: Protocol::Resp2,
        channels: Vec::new(),
        patterns: Vec::new(),
        authenticated,
        user,
        generation,
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        addr: peer.addr,
        laddr: peer.laddr,
        created: Instant::now(),
    };
    let mut events = s.events.subscribe();
    loop {
        let mut out = BytesMut::new();
        tokio::select! {
            read = stream.read_buf(&mut input) => {
                match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let limits = RequestLimits { max_bulk_len: 512 * 1024 * 1024, auth_required: false };
                loop {
                    match parser.parse(&mut input, &limits) {
                        Ok(Some(args)) => {
                            if !command(&s, &mut client, &args, &mut out) {
                                let _ = stream.write_all(&out).await;
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            encode::error(&mut out, format!("ERR {e}").as_bytes());
                            let _ = stream.write_all(&out).await;
                            return;
                        }
                    }
                }
            }
            ev = events.recv(), if !client.channels.is_empty() || !client.patterns.is_empty() => {
                if let Ok((channel, msg)) = ev {
                    deliver(&client, &channel, &msg, &mut out);
                }
            }
        }
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn deliver(c: &Client, channel: &str, msg: &str, out: &mut BytesMut) {
    if c.channels.iter().any(|ch| ch == channel) {
        encode::push_len(out, 3, c.proto);
        encode::bulk(out, b"message");
        encode::bulk(out, channel.as_bytes());
        encode::bulk(out, msg.as_bytes());
    }
    for p in &c.patterns {
        if glob_match(p.as_bytes(), channel.as_bytes(), false) {
            encode::push_len(out, 4, c.proto);
            encode::bulk(out, b"pmessage");
            encode::bulk(out, p.as_bytes());
            encode::bulk(out, channel.as_bytes());
            encode::bulk(out, msg.as_bytes());
        }
    }
}

fn arg(a: &Bytes) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// Answers one request; false closes the connection (QUIT).
fn command(s: &Arc<Sentinel>, c: &mut Client, args: &[Bytes], out: &mut BytesMut) -> bool {
    let name = args[0].to_ascii_lowercase();
    if !c.authenticated && !matches!(&name[..], b"auth" | b"hello" | b"quit") {
        encode::error(out, b"NOAUTH Authentication required.");
        return true;
    }
    // A user deleted meanwhile: its clients are closed, as Redis's.
    if c.generation != s.acl.generation() && !refresh_user(s, c) {
        return false;
    }
    if let Some(id) = s.acl.catalog.resolve(args) {
        // A wrong arity is the handler's to answer, before any ACL check.
        if s.acl.catalog.get(id).spec.arity_ok(args.len()) {
            if let Err(refusal) = s.acl.check(&c.user, id, args) {
                deny(s, c, args, refusal, out);
                return true;
            }
        }
    }
    match &name[..] {
        b"ping" => match args.len() {
            1 => encode::simple(out, b"PONG"),
            2 => encode::bulk(out, &args[1]),
            _ => wrong_arity(out, "ping"),
        },
        b"quit" => {
            encode::ok(out);
            return false;
        }
        b"auth" => auth(s, c, args, out),
        b"client" => encode::ok(out),
        b"hello" => hello(s, c, args, out),
        b"role" => {
            let st = s.state.lock();
            encode::array_len(out, 2);
            encode::bulk(out, b"sentinel");
            encode::array_len(out, st.masters.len());
            for n in st.masters.keys() {
                encode::bulk(out, n.as_bytes());
            }
        }
        b"info" => {
            let wanted: Vec<String> = args[1..].iter().map(|a| arg(a).to_ascii_lowercase()).collect();
            let text = info(&s.state.lock(), &wanted);
            encode::verbatim(out, text.as_bytes(), c.proto);
        }
        b"subscribe" | b"psubscribe" => {
            let pattern = &name[..] == b"psubscribe";
            for ch in &args[1..] {
                let list = if pattern { &mut c.patterns } else { &mut c.channels };
                let ch = arg(ch);
                if !list.contains(&ch) {
                    list.push(ch.clone());
                }
                encode::push_len(out, 3, c.proto);
                encode::bulk(out, if pattern { b"psubscribe" } else { b"subscribe" });
                encode::bulk(out, ch.as_bytes());
                encode::integer(out, (c.channels.len() + c.patterns.len()) as i64);
            }
        }
        b"unsubscribe" | b"punsubscribe" => {
            let pattern = &name[..] == b"punsubscribe";
            let list = if pattern { &mut c.patterns } else { &mut c.channels };
            let gone: Vec<String> = if args.len() == 1 { std::mem::take(list) } else { args[1..].iter().map(arg).collect() };
            for ch in gone {
                let list = if pattern { &mut c.patterns } else { &mut c.channels };
                list.retain(|x| *x != ch);
                encode::push_len(out, 3, c.proto);
                encode::bulk(out, if pattern { b"punsubscribe" } else { b"unsubscribe" });
                encode::bulk(out, ch.as_bytes());
                encode::integer(out, (c.channels.len() + c.patterns.len()) as i64);
            }
        }
        // Sentinels may publish their hellos here instead of on a node.
        b"publish" if args.len() == 3 => {
            if &args[1][..] != b"__sentinel__:hello" {
                return {
                    encode::error(out, b"ERR Only HELLO messages are accepted by Sentinel instances.");
                    true
                };
            }
            crate::monitor::process_hello(s, &String::from_utf8_lossy(&args[2]));
            encode::integer(out, 1);
        }
        b"publish" => wrong_arity(out, "publish"),
        b"acl" if args.len() >= 2 => acl(s, c, args, out),
        b"acl" => wrong_arity(out, "acl"),
        b"sentinel" if args.len() >= 2 => sentinel(s, c, args, out),
        b"sentinel" => wrong_arity(out, "sentinel"),
        _ => {
            let shown: Vec<String> = args[1..].iter().map(|a| format!("'{}'", arg(a))).collect();
            encode::error(out, format!("ERR unknown command '{}', with args beginning with: {}", arg(&args[0]), shown.join(" ")).as_bytes());
        }
    }
    true
}

fn wrong_arity(out: &mut BytesMut, name: &str) {
    encode::error(out, format!("ERR wrong number of arguments for '{name}' command").as_bytes());
}

/// The client's user again after a change of the registry; false if it
/// was deleted.
fn refresh_user(s: &Sentinel, c: &mut Client) -> bool {
    c.generation = s.acl.generation();
    match s.acl.users().get(&c.user.name) {
        Some(u) => {
            c.user = u.clone();
            true
        }
        None => false,
    }
}

/// A refused command: Redis's NOPERM reply, and an ACL LOG entry.
fn deny(s: &Sentinel, c: &Client, args: &[Bytes], refusal: crate::acl::Refusal, out: &mut BytesMut) {
    let (reason, object, text) = match refusal.denied {
        Denied::Command => (
            Reason::Command,
            Bytes::from_static(refusal.fullname.as_bytes()),
            format!("NOPERM this user has no permissions to run the '{}' command", refusal.fullname),
        ),
        Denied::Key(at) => (Reason::Key, args[at].clone(), "NOPERM this user has no permissions to access one of the keys used as arguments".to_string()),
        Denied::Channel(at) => {
            (Reason::Channel, args[at].clone(), "NOPERM this user has no permissions to access one of the channels used as arguments".to_string())
        }
    };
    s.acl.record(reason, object, c.user.name.clone(), client_info(c, refusal.fullname));
    encode::error(out, text.as_bytes());
}

/// CLIENT INFO's line for ACL LOG, in Redis's field order (the sentinel
/// keeps no buffers worth reporting).
fn client_info(c: &Client, cmd: &str) -> String {
    format!(
        "id={} addr={} laddr={} fd=-1 name= age={} idle=0 flags=N db=0 sub={} psub={} ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={cmd} user={} redir=-1 resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.created.elapsed().as_secs(),
        c.channels.len(),
        c.patterns.len(),
        String::from_utf8_lossy(&c.user.name),
        if c.proto == Protocol::Resp3 { 3 } else { 2 }
    )
}

/// Logs in as `user`, or logs the failure (object: the command used).
fn login(s: &Sentinel, c: &mut Client, user: &[u8], pass: &[u8], command: &Bytes) -> bool {
    let generation = s.acl.generation();
    match s.acl.authenticate(user, pass) {
        Some(u) => {
            c.user = u;
            c.generation = generation;
            c.authenticated = true;
            true
        }
        None => {
            s.acl.record(Reason::Auth, command.clone(), Bytes::copy_from_slice(user), client_info(c, &String::from_utf8_lossy(command).to_ascii_lowercase()));
            false
        }
    }
}

/// AUTH [user] password.
fn auth(s: &Sentinel, c: &mut Client, args: &[Bytes], out: &mut BytesMut) {
    let default_open = s.acl.users().default_user().nopass();
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 if default_open => {
            return encode::error(
                out,
                b"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            );
        }
        2 => (b"default", &args[1]),
        3 => (&args[1], &args[2]),
        1 => return wrong_arity(out, "auth"),
        _ => return encode::error(out, b"ERR syntax error"),
    };
    if !login(s, c, user, pass, &args[0]) {
        return encode::error(out, b"WRONGPASS invalid username-password pair or user is disabled.");
    }
    encode::ok(out);
}

fn hello(s: &Sentinel, c: &mut Client, args: &[Bytes], out: &mut BytesMut) {
    let mut proto = c.proto;
    if let Some(v) = args.get(1) {
        match &v[..] {
            b"2" => proto = Protocol::Resp2,
            b"3" => proto = Protocol::Resp3,
            _ => {
                encode::error(out, b"NOPROTO unsupported protocol version");
                return;
            }
        }
    }
    let mut i = 2;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"auth") && i + 2 < args.len() {
            if !login(s, c, &args[i + 1], &args[i + 2], &args[0]) {
                return encode::error(out, b"WRONGPASS invalid username-password pair or user is disabled.");
            }
            i += 3;
        } else if args[i].eq_ignore_ascii_case(b"setname") && i + 1 < args.len() {
            i += 2;
        } else {
            return encode::error(out, format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(&args[i])).as_bytes());
        }
    }
    if !c.authenticated {
        return encode::error(out, b"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    c.proto = proto;
    encode::map_len(out, 7, c.proto);
    for (k, v) in [("server", "redis"), ("version", "7.0.15")] {
        encode::bulk(out, k.as_bytes());
        encode::bulk(out, v.as_bytes());
    }
    encode::bulk(out, b"proto");
    encode::integer(out, if c.proto == Protocol::Resp3 { 3 } else { 2 });
    encode::bulk(out, b"id");
    encode::integer(out, 1);
    for (k, v) in [("mode", "sentinel"), ("role", "master")] {
        encode::bulk(out, k.as_bytes());
        encode::bulk(out, v.as_bytes());
    }
    encode::bulk(out, b"modules");
    encode::array_len(out, 0);
}

/// INFO [section ...]: server, clients and sentinel (all by default).
fn info(st: &State, wanted: &[String]) -> String {
    let all = wanted.is_empty() || wanted.iter().any(|w| w == "all" || w == "default" || w == "everything");
    let want = |name: &str| all || wanted.iter().any(|w| w == name);
    let mut parts = Vec::new();
    if want("server") {
        parts.push(format!(
            "# Server\r\nredis_version:7.0.15\r\nferrokv_version:{}\r\nredis_mode:sentinel\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            st.myid,
            st.config.port
        ));
    }
    if want("clients") {
        parts.push("# Clients\r\nconnected_clients:1\r\n".to_string());
    }
    if !want("sentinel") {
        return parts.join("\r\n");
    }
    let mut t = format!(
        "# Sentinel\r\nsentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\nsentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:0\r\n",
        st.masters.len(),
        st.tilt_since.is_some() as u8,
        st.tilt_since.map_or(-1, |t| t.elapsed().as_secs() as i64)
    );
    for (i, m) in st.masters.values().enumerate() {
        let status = if m.odown_since.is_some() {
            "odown"
        } else if m.inst.is_sdown() {
            "sdown"
        } else {
            "ok"
        };
        let (h, p) = m.client_addr();
        t.push_str(&format!("master{i}:name={},status={status},address={h}:{p},slaves={},sentinels={}\r\n", m.name, m.replicas.len(), m.sentinels.len() + 1));
    }
    parts.push(t);
    parts.join("\r\n")
}

fn ms_since(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// Field/value pairs of an instance, as `addReplySentinelRedisInstance`.
fn instance_fields(m: &Master, inst: &Instance, kind: &str) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    let name = if kind == "master" { m.name.clone() } else { inst.addr() };
    put("name", name);
    put("ip", inst.host.clone());
    put("port", inst.port.to_string());
    put("runid", inst.runid.clone().unwrap_or_default());
    let flags = match kind {
        "master" => m.flags(),
        _ => {
            let mut v = Vec::new();
            if inst.is_sdown() {
                v.push("s_down");
            }
            v.push(if kind == "slave" { "slave" } else { "sentinel" });
            if !inst.connected {
                v.push("disconnected");
            }
            if m.promoted.as_deref() == Some(&inst.addr()) && kind == "slave" {
                v.push("promoted");
            }
            match inst.reconf {
                Reconf::Sent(_) => v.push("reconf_sent"),
                Reconf::InProgress => v.push("reconf_inprog"),
                Reconf::Done if kind == "slave" && m.in_failover() => v.push("reconf_done"),
                _ => {}
            }
            v.join(",")
        }
    };
    put("flags", flags);
    put("link-pending-commands", "0".into());
    put("link-refcount", "1".into());
    if kind == "master" && m.in_failover() {
        put("failover-state", m.failover.name().into());
    }
    put("last-ping-sent", inst.ping_sent.map_or(0, ms_since).to_string());
    put("last-ok-ping-reply", ms_since(inst.last_ok_ping).to_string());
    put("last-ping-reply", ms_since(inst.last_reply).to_string());
    if let Some(t) = inst.sdown_since {
        put("s-down-time", ms_since(t).to_string());
    }
    if kind == "master" {
        if let Some(t) = m.odown_since {
            put("o-down-time", ms_since(t).to_string());
        }
    }
    put("down-after-milliseconds", m.down_after.as_millis().to_string());
    if kind != "sentinel" {
        put("info-refresh", inst.info_refresh.map_or(0, ms_since).to_string());
        put("role-reported", if inst.role_reported == crate::state::Role::Master { "master" } else { "slave" }.into());
        put("role-reported-time", ms_since(inst.role_reported_time).to_string());
    }
    if kind == "master" {
        put("config-epoch", m.config_epoch.to_string());
        put("num-slaves", m.replicas.len().to_string());
        put("num-other-sentinels", m.sentinels.len().to_string());
        put("quorum", m.quorum.to_string());
        put("failover-timeout", m.failover_timeout.as_millis().to_string());
        put("parallel-syncs", m.parallel_syncs.to_string());
    }
    if kind == "slave" {
        put("master-link-down-time", inst.master_link_down_ms.to_string());
        put("master-link-status", if inst.master_link_up { "ok" } else { "err" }.into());
        put("master-host", inst.master_host.clone().unwrap_or_else(|| "?".into()));
        put("master-port", inst.master_port.to_string());
        put("slave-priority", inst.priority.to_string());
        put("slave-repl-offset", inst.repl_offset.to_string());
        put("replica-announced", (inst.announced as u8).to_string());
    }
    if kind == "sentinel" {
        put("last-hello-message", inst.last_hello.map_or(0, ms_since).to_string());
        put("voted-leader", inst.leader.clone().unwrap_or_else(|| "?".into()));
        put("voted-leader-epoch", inst.leader_epoch.to_string());
    }
    f
}

fn reply_fields(c: &Client, fields: &[(String, String)], out: &mut BytesMut) {
    encode::map_len(out, fields.len(), c.proto);
    for (k, v) in fields {
        encode::bulk(out, k.as_bytes());
        encode::bulk(out, v.as_bytes());
    }
}

fn no_such_master(out: &mut BytesMut) {
    encode::error(out, b"ERR No such master with that name");
}

fn sentinel(s: &Arc<Sentinel>, c: &mut Client, args: &[Bytes], out: &mut BytesMut) {
    let sub = args[1].to_ascii_lowercase();
    let sub = String::from_utf8_lossy(&sub).into_owned();
    let mut st = s.state.lock();
    match (sub.as_str(), args.len()) {
        ("myid", 2) => encode::bulk(out, st.myid.as_bytes()),
        ("get-master-addr-by-name", 3) => match st.masters.get(&arg(&args[2])) {
            Some(m) => {
                let (h, p) = m.client_addr();
                encode::array_len(out, 2);
                encode::bulk(out, h.as_bytes());
                encode::bulk(out, p.to_string().as_bytes());
            }
            None => encode::null_array(out, c.proto),
        },
        ("masters", 2) => {
            encode::array_len(out, st.masters.len());
            for m in st.masters.values() {
                reply_fields(c, &instance_fields(m, &m.inst, "master"), out);
            }
        }
        ("master", 3) => match st.masters.get(&arg(&args[2])) {
            Some(m) => reply_fields(c, &instance_fields(m, &m.inst, "master"), out),
            None => no_such_master(out),
        },
        ("replicas" | "slaves", 3) => match st.masters.get(&arg(&args[2])) {
            Some(m) => {
                encode::array_len(out, m.replicas.len());
                for r in m.replicas.values() {
                    reply_fields(c, &instance_fields(m, r, "slave"), out);
                }
            }
            None => no_such_master(out),
        },
        ("sentinels", 3) => match st.masters.get(&arg(&args[2])) {
            Some(m) => {
                encode::array_len(out, m.sentinels.len());
                for p in m.sentinels.values() {
                    reply_fields(c, &instance_fields(m, p, "sentinel"), out);
                }
            }
            None => no_such_master(out),
        },
        ("is-master-down-by-addr", 6) => {
            let (host, port) = (arg(&args[2]), arg(&args[3]));
            let epoch: u64 = arg(&args[4]).parse().unwrap_or(0);
            let runid = arg(&args[5]);
            let name = st.masters.values().find(|m| m.inst.host == host && m.inst.port.to_string() == port).map(|m| m.name.clone());
            let (down, leader, leader_epoch) = match name {
                Some(n) => {
                    let down = st.masters[&n].inst.is_sdown();
                    if runid != "*" {
                        let (mut events, mut commands) = (Vec::new(), Vec::new());
                        let (masters, mut cx) = st.parts(&mut events, &mut commands);
                        let (l, e) = failover::vote(masters.get_mut(&n).expect("found above"), &mut cx, epoch, &runid);
                        for (k, m) in events {
                            s.event(&k, m);
                        }
                        (down, l.unwrap_or_else(|| "*".into()), e)
                    } else {
                        (down, "*".to_string(), 0)
                    }
                }
                None => (false, "*".to_string(), 0),
            };
            encode::array_len(out, 3);
            encode::integer(out, down as i64);
            encode::bulk(out, leader.as_bytes());
            encode::integer(out, leader_epoch as i64);
        }
        ("ckquorum", 3) => match st.masters.get(&arg(&args[2])) {
            Some(m) => {
                let voters = m.sentinels.len() + 1;
                let usable = 1 + m.sentinels.values().filter(|p| !p.is_sdown()).count();
                if usable < m.quorum as usize {
                    encode::error(out, format!("NOQUORUM {usable} usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. Not enough available Sentinels to reach the majority and authorize a failover").as_bytes());
                } else if usable < voters / 2 + 1 {
                    encode::error(
                        out,
                        format!("NOQUORUM {usable} usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover").as_bytes(),
                    );
                } else {
                    encode::simple(out, format!("OK {usable} usable Sentinels. Quorum and failover authorization can be reached").as_bytes());
                }
            }
            None => no_such_master(out),
        },
        ("failover", 3) => {
            let name = arg(&args[2]);
            match st.masters.get(&name) {
                None => no_such_master(out),
                Some(m) if m.in_failover() => encode::error(out, b"INPROG Failover already in progress"),
                Some(m) if best_replica(m).is_none() => encode::error(out, b"NOGOODSLAVE No suitable replica to promote"),
                Some(_) => {
                    let (mut events, mut commands) = (Vec::new(), Vec::new());
                    let (masters, mut cx) = st.parts(&mut events, &mut commands);
                    failover::begin(masters.get_mut(&name).expect("found above"), &mut cx, true);
                    drop(st);
                    for (k, m) in events {
                        s.event(&k, m);
                    }
                    encode::ok(out);
                }
            }
        }
        ("reset", 3) => {
            let pattern = arg(&args[2]);
            let names: Vec<String> = st.masters.keys().filter(|n| glob_match(pattern.as_bytes(), n.as_bytes(), false)).cloned().collect();
            for n in &names {
                let id = st.next_id();
                let m = st.masters.get_mut(n).expect("listed");
                let inst = Instance::new(id, &m.inst.host.clone(), m.inst.port, crate::state::Role::Master);
                m.inst = inst;
                m.replicas.clear();
                m.sentinels.clear();
                m.failover = crate::state::FailoverState::None;
                m.odown_since = None;
            }
            st.dirty = true;
            encode::integer(out, names.len() as i64);
        }
        ("monitor", 6) => {
            let name = arg(&args[2]);
            let (Ok(port), Ok(quorum)) = (arg(&args[4]).parse::<u16>(), arg(&args[5]).parse::<u32>()) else {
                encode::error(out, b"ERR Invalid port or quorum");
                return;
            };
            if quorum == 0 {
                encode::error(out, b"ERR Quorum must be 1 or greater.");
            } else if st.masters.contains_key(&name) {
                encode::error(out, b"ERR Duplicated master name");
            } else {
                let id = st.next_id();
                let mc = crate::config::MasterConfig::new(&name, &arg(&args[3]), port, quorum);
                st.masters.insert(name.clone(), Master::from_config(id, &mc));
                st.dirty = true;
                drop(st);
                s.event("+monitor", format!("master {name} {} {port} quorum {quorum}", arg(&args[3])));
                encode::ok(out);
            }
        }
        ("remove", 3) => {
            if st.masters.remove(&arg(&args[2])).is_some() {
                st.dirty = true;
                encode::ok(out);
            } else {
                no_such_master(out);
            }
        }
        ("set", n) if n >= 5 && n % 2 == 1 => {
            let name = arg(&args[2]);
            let Some(m) = st.masters.get_mut(&name) else { return no_such_master(out) };
            for pair in args[3..].chunks(2) {
                let (opt, v) = (arg(&pair[0]).to_ascii_lowercase(), arg(&pair[1]));
                let ms = v.parse::<u64>().ok();
                match (opt.as_str(), ms) {
                    ("down-after-milliseconds", Some(x)) if x > 0 => m.down_after = std::time::Duration::from_millis(x),
                    ("failover-timeout", Some(x)) if x > 0 => m.failover_timeout = std::time::Duration::from_millis(x),
                    ("parallel-syncs", Some(x)) if x > 0 => m.parallel_syncs = x as u32,
                    ("quorum", Some(x)) if x > 0 => m.quorum = x as u32,
                    ("auth-pass", _) => m.auth_pass = Some(v).filter(|p| !p.is_empty()),
                    ("auth-user", _) => m.auth_user = Some(v).filter(|p| !p.is_empty()),
                    _ => {
                        encode::error(out, format!("ERR Invalid argument '{v}' for SENTINEL SET '{opt}'").as_bytes());
                        return;
                    }
                }
            }
            st.dirty = true;
            encode::ok(out);
        }
        ("config", n) if n >= 4 => {
            let op = arg(&args[2]).to_ascii_lowercase();
            if op == "get" {
                let pattern = arg(&args[3]);
                let all = [
                    ("resolve-hostnames", if st.config.resolve_hostnames { "yes" } else { "no" }.to_string()),
                    ("announce-hostnames", if st.config.announce_hostnames { "yes" } else { "no" }.to_string()),
                    ("announce-ip", st.config.announce_ip.clone().unwrap_or_default()),
                    ("announce-port", st.config.announce_port.unwrap_or(0).to_string()),
                ];
                let hits: Vec<_> = all.iter().filter(|(k, _)| glob_match(pattern.as_bytes(), k.as_bytes(), false)).collect();
                encode::map_len(out, hits.len(), c.proto);
                for (k, v) in hits {
                    encode::bulk(out, k.as_bytes());
                    encode::bulk(out, v.as_bytes());
                }
            } else if op == "set" && n == 5 {
                let (k, v) = (arg(&args[3]).to_ascii_lowercase(), arg(&args[4]));
                let ok = match k.as_str() {
                    "resolve-hostnames" | "announce-hostnames" => match v.to_ascii_lowercase().as_str() {
                        "yes" | "no" => {
                            let on = v.eq_ignore_ascii_case("yes");
                            if k == "resolve-hostnames" {
                                st.config.resolve_hostnames = on;
                            } else {
                                st.config.announce_hostnames = on;
                            }
                            true
                        }
                        _ => false,
                    },
                    "announce-ip" => {
                        st.config.announce_ip = Some(v.clone()).filter(|x| !x.is_empty());
                        true
                    }
                    "announce-port" => match v.parse::<u16>() {
                        Ok(p) => {
                            st.config.announce_port = Some(p).filter(|p| *p != 0);
                            true
                        }
                        Err(_) => false,
                    },
                    _ => false,
                };
                if ok {
                    st.dirty = true;
                    encode::ok(out);
                } else {
                    encode::error(out, b"ERR Invalid argument to SENTINEL CONFIG SET");
                }
            } else {
                encode::error(out, b"ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.");
            }
        }
        ("flushconfig", 2) => {
            st.dirty = true;
            encode::ok(out);
        }
        _ => {
            encode::error(out, format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try SENTINEL HELP.", arg(&args[1])).as_bytes());
        }
    }
}

/// ACL on the sentinel's own port, as Redis Sentinel has it: the replies
/// that read are the node's (`ferrokv_acl::command`); LOAD and SAVE have
/// no ACL file here (users are kept in sentinel.conf).
fn acl(s: &Sentinel, c: &Client, args: &[Bytes], out: &mut BytesMut) {
    let catalog = &s.acl.catalog;
    let Some(id) = catalog.resolve(args).filter(|&id| catalog.get(id).parent.is_some()) else {
        let err = ferrokv_commands::errors::unknown_subcommand(&args[1], "ACL");
        return encode::error(out, err.0.as_bytes());
    };
    let fullname = catalog.get(id).fullname;
    if !catalog.get(id).spec.arity_ok(args.len()) {
        return encode::error(out, format!("ERR wrong number of arguments for '{fullname}' command").as_bytes());
    }
    let mut r = Reply { out, proto: c.proto };
    let done = match fullname {
        "acl|setuser" => acl_setuser(s, &mut r, args),
        "acl|deluser" => acl_deluser(s, &mut r, args),
        "acl|getuser" => {
            let user = s.acl.users().get(&args[2]).cloned();
            shared::getuser(&mut r, user.as_deref(), catalog);
            Ok(())
        }
        "acl|list" => {
            shared::list(&mut r, &s.acl.users(), catalog);
            Ok(())
        }
        "acl|users" => {
            shared::usernames(&mut r, &s.acl.users());
            Ok(())
        }
        "acl|whoami" => {
            r.bulk(&c.user.name);
            Ok(())
        }
        "acl|cat" => shared::cat(&mut r, catalog, args),
        "acl|genpass" => shared::genpass(&mut r, args),
        "acl|log" => shared::log(&mut r, &mut s.acl.log.lock(), args, crate::acl::now_ms()),
        "acl|dryrun" => acl_dryrun(s, &mut r, args),
        "acl|help" => {
            r.array(shared::HELP.len());
            shared::HELP.iter().for_each(|l| encode::simple(r.out, l.as_bytes()));
            Ok(())
        }
        _ => Err(shared::NO_FILE.to_string()),
    };
    if let Err(e) = done {
        encode::error(out, e.as_bytes());
    }
}

fn acl_setuser(s: &Sentinel, r: &mut Reply<'_>, args: &[Bytes]) -> Result<(), String> {
    if ferrokv_acl::selector::has_spaces(&args[2]) {
        return Err(shared::BAD_USERNAME.into());
    }
    s.acl.update(|users| users.set_user(&s.acl.catalog, &args[2], &args[3..], s.acl.pubsub_all)).map_err(|e| format!("ERR {e}"))?;
    s.state.lock().dirty = true;
    r.ok();
    Ok(())
}

fn acl_deluser(s: &Sentinel, r: &mut Reply<'_>, args: &[Bytes]) -> Result<(), String> {
    if args[2..].iter().any(|n| n.as_ref() == b"default") {
        return Err(shared::DEFAULT_UNDELETABLE.into());
    }
    let removed = s.acl.update(|users| args[2..].iter().filter(|n| users.remove(n).is_some()).count());
    s.state.lock().dirty |= removed > 0;
    r.int(removed as i64);
    Ok(())
}

fn acl_dryrun(s: &Sentinel, r: &mut Reply<'_>, args: &[Bytes]) -> Result<(), String> {
    let catalog = &s.acl.catalog;
    let user = s.acl.users().get(&args[2]).cloned().ok_or_else(|| format!("ERR User '{}' not found", arg(&args[2])))?;
    let line = &args[3..];
    let id = catalog.resolve(line).ok_or_else(|| format!("ERR Command '{}' not found", arg(&line[0])))?;
    let fullname = catalog.get(id).fullname;
    if !catalog.get(id).spec.arity_ok(line.len()) {
        return Err(format!("ERR wrong number of arguments for '{fullname}' command"));
    }
    shared::dryrun_verdict(r, user.check(catalog, id, line), fullname, line);
    Ok(())
}
