//! The links to instances: per master and replica a command connection
//! (PING every second, INFO every 10 s or every second around a failover,
//! a hello on `__sentinel__:hello` every 2 s) and a subscription to that
//! channel (how sentinels find each other, as Redis's do); per peer sentinel
//! a connection that PINGs and, while the master looks down, asks
//! `SENTINEL is-master-down-by-addr` (its opinion, and its vote).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrokv_resp::Frame;
use parking_lot::Mutex;

use crate::failover::{self, Cx};
use crate::link::{text, Link};
use crate::sentinel::{describe, replicaof_command, Command, Sentinel};
use crate::state::{FailoverState, Instance, Master, Reconf, Role, State, HELLO_PERIOD, INFO_PERIOD, PING_PERIOD};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Master(String),
    Replica(String, String),
    Peer(String, String),
}

/// Tasks already running, by instance id.
pub struct Tasks(Mutex<HashSet<u64>>);

impl Tasks {
    pub fn new() -> Self {
        Tasks(Mutex::new(HashSet::new()))
    }
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts a task for every instance that has none.
pub fn ensure_tasks(s: &Arc<Sentinel>, tasks: &Arc<Tasks>) {
    let mut wanted = Vec::new();
    {
        let st = s.state.lock();
        for m in st.masters.values() {
            wanted.push((m.inst.id, Target::Master(m.name.clone())));
            for (k, r) in &m.replicas {
                wanted.push((r.id, Target::Replica(m.name.clone(), k.clone())));
            }
            for (k, p) in &m.sentinels {
                wanted.push((p.id, Target::Peer(m.name.clone(), k.clone())));
            }
        }
    }
    let mut running = tasks.0.lock();
    for (id, target) in wanted {
        if running.insert(id) {
            let (s, tasks) = (s.clone(), tasks.clone());
            tokio::spawn(async move {
                match &target {
                    Target::Peer(..) => peer_loop(&s, id, &target).await,
                    _ => {
                        let sub = tokio::spawn(subscribe_loop(s.clone(), id, target.clone()));
                        instance_loop(&s, id, &target).await;
                        sub.abort();
                    }
                }
                tasks.0.lock().remove(&id);
            });
        }
    }
}

/// The instance with this id, if it still exists.
fn with_inst<R>(st: &mut State, id: u64, target: &Target, f: impl FnOnce(&mut Instance) -> R) -> Option<R> {
    let inst = match target {
        Target::Master(n) => st.masters.get_mut(n).map(|m| &mut m.inst),
        Target::Replica(n, k) => st.masters.get_mut(n).and_then(|m| m.replicas.get_mut(k)),
        Target::Peer(n, k) => st.masters.get_mut(n).and_then(|m| m.sentinels.get_mut(k)),
    }?;
    (inst.id == id).then(|| f(inst))
}

fn master_name(t: &Target) -> &str {
    match t {
        Target::Master(n) | Target::Replica(n, _) | Target::Peer(n, _) => n,
    }
}

/// Where to connect and with which credentials, if the instance exists.
fn endpoint(s: &Sentinel, id: u64, target: &Target) -> Option<(String, u16, Option<String>, Option<String>)> {
    let mut st = s.state.lock();
    let (user, pass) = st.masters.get(master_name(target)).map(|m| (m.auth_user.clone(), m.auth_pass.clone()))?;
    let (h, p) = with_inst(&mut st, id, target, |i| (i.host.clone(), i.port))?;
    match target {
        // Peers are logged in to with `sentinel-user`/`sentinel-pass`.
        Target::Peer(..) => Some((h, p, s.security.peer_user.clone(), s.security.peer_pass.clone())),
        _ => Some((h, p, user, pass)),
    }
}

async fn connect(s: &Sentinel, host: &str, port: u16, user: &Option<String>, pass: &Option<String>) -> Option<Link> {
    let mut link = Link::connect(host, port, CONNECT_TIMEOUT, s.security.link_tls()).await.ok()?;
    if let Some(p) = pass {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(u) = user {
            args.push(u.as_bytes());
        }
        args.push(p.as_bytes());
        link.call(&args, CONNECT_TIMEOUT).await.ok()?;
    }
    Some(link)
}

async fn instance_loop(s: &Arc<Sentinel>, id: u64, target: &Target) {
    let mut last_info: Option<Instant> = None;
    let mut last_hello: Option<Instant> = None;
    let mut info_due = false;
    let mut hello_due = false;
    let mut woken = s.wake_links.subscribe();
    let mut config_changed = s.wake_hello.subscribe();
    loop {
        let Some(mut link) = open_link(s, id, target).await else { return };
        let opened = Instant::now();
        loop {
            if endpoint(s, id, target).is_none() {
                return;
            }
            let sent = Instant::now();
            if !ping(s, id, target, &mut link).await {
                break;
            }
            let period = info_period(s, target);
            if std::mem::take(&mut info_due) || last_info.is_none_or(|t| t.elapsed() >= period) {
                let Ok(info) = link.call(&[b"INFO"], PING_PERIOD * 2).await else { break };
                last_info = Some(Instant::now());
                process_info(s, id, target, &text(&info));
            }
            if std::mem::take(&mut hello_due) || last_hello.is_none_or(|t| t.elapsed() >= HELLO_PERIOD) {
                let hello = hello_message(s, master_name(target));
                if let Some(h) = hello {
                    if link.call(&[b"PUBLISH", HELLO_CHANNEL.as_bytes(), h.as_bytes()], PING_PERIOD).await.is_err() {
                        break;
                    }
                }
                last_hello = Some(Instant::now());
            }
            let next = ping_period(s, target).min(info_period(s, target));
            tokio::select! {
                _ = tokio::time::sleep(next.saturating_sub(sent.elapsed())) => {}
                _ = woken.changed() => info_due = true,
                // Our view of the primary changed: say so on every node now,
                // not on the next 2 s hello, so peers that still point
                // clients at the old primary learn it at once.
                _ = config_changed.changed() => hello_due = true,
            }
        }
        set_connected(s, id, target, false);
        // A link that served for a while reconnects at once: the usual
        // cause is the CLIENT KILL of a failover's own transaction, and the
        // promotion is read on the new link. One that failed at once backs off.
        if opened.elapsed() < PING_PERIOD {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        info_due = true;
    }
}

/// Connects (retrying, marking the instance disconnected meanwhile) until
/// it works; None once the instance is gone.
async fn open_link(s: &Sentinel, id: u64, target: &Target) -> Option<Link> {
    loop {
        let (host, port, user, pass) = endpoint(s, id, target)?;
        if let Some(link) = connect(s, &host, port, &user, &pass).await {
            set_connected(s, id, target, true);
            return Some(link);
        }
        set_connected(s, id, target, false);
        tokio::time::sleep(PING_PERIOD / 2).await;
    }
}

/// One PING, its reply recorded; false if the link failed.
async fn ping(s: &Sentinel, id: u64, target: &Target, link: &mut Link) -> bool {
    let sent = Instant::now();
    with_inst(&mut s.state.lock(), id, target, |i| i.ping_sent = Some(sent));
    match link.call(&[b"PING"], PING_PERIOD).await {
        Ok(reply) => {
            record_ping(s, id, target, &reply);
            true
        }
        Err(_) => false,
    }
}

fn set_connected(s: &Sentinel, id: u64, target: &Target, yes: bool) {
    with_inst(&mut s.state.lock(), id, target, |i| i.connected = yes);
}

/// PONG, and the two errors a live but unhappy instance gives, count.
fn record_ping(s: &Sentinel, id: u64, target: &Target, reply: &Frame) {
    let ok = match reply {
        Frame::Simple(b) => &b[..] == b"PONG",
        Frame::Error(e) => e.starts_with(b"LOADING") || e.starts_with(b"MASTERDOWN"),
        _ => false,
    };
    let now = Instant::now();
    with_inst(&mut s.state.lock(), id, target, |i| {
        i.last_reply = now;
        i.ping_sent = None;
        if ok {
            i.last_ok_ping = now;
        }
    });
}

/// INFO every 250 ms while the master is down, every 50 ms during a
/// failover (Redis: every second): a promotion and the re-pointed replicas
/// are seen sooner, and a failover lasts a fraction of a second.
fn info_period(s: &Sentinel, target: &Target) -> Duration {
    let st = s.state.lock();
    match st.masters.get(master_name(target)) {
        Some(m) if m.in_failover() => PING_PERIOD / 20,
        Some(m) if m.inst.is_sdown() => PING_PERIOD / 4,
        _ => INFO_PERIOD,
    }
}

/// PING every second, or a fifth of `down-after-milliseconds` when that is
/// shorter (at least 100 ms): a dead node is then noticed within 20% of the
/// configured time instead of up to a whole second late.
fn ping_period(s: &Sentinel, target: &Target) -> Duration {
    let st = s.state.lock();
    let down_after = st.masters.get(master_name(target)).map_or(PING_PERIOD * 30, |m| m.down_after);
    (down_after / 5).clamp(Duration::from_millis(100), PING_PERIOD)
}

/// ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch
fn hello_message(s: &Sentinel, name: &str) -> Option<String> {
    let st = s.state.lock();
    let m = st.masters.get(name)?;
    let (h, p) = m.client_addr();
    Some(format!("{},{},{},{},{},{},{},{}", st.announce_ip, st.announce_port, st.myid, st.current_epoch, m.name, h, p, m.config_epoch))
}

fn info_fields(info: &str) -> std::collections::HashMap<&str, &str> {
    info.lines().filter_map(|l| l.trim_end().split_once(':')).collect()
}

fn process_info(s: &Arc<Sentinel>, id: u64, target: &Target, info: &str) {
    let f = info_fields(info);
    let role = match f.get("role") {
        Some(&"master") => Role::Master,
        Some(_) => Role::Replica,
        None => return,
    };
    let now = Instant::now();
    let mut events = Vec::new();
    let mut commands = Vec::new();
    {
        let mut st = s.state.lock();
        let name = master_name(target).to_string();
        let found = with_inst(&mut st, id, target, |i| {
            i.info_refresh = Some(now);
            if let Some(r) = f.get("run_id") {
                i.runid = Some(r.to_string());
            }
            if let Some(r) = f.get("master_replid") {
                i.replid = Some(r.to_string());
            }
            if i.role_reported != role {
                i.role_reported = role;
                i.role_reported_time = now;
            }
            if role == Role::Replica {
                let host = f.get("master_host").map(|h| h.to_string());
                let port = f.get("master_port").and_then(|p| p.parse().ok()).unwrap_or(0);
                if host != i.master_host || port != i.master_port {
                    i.master_changed = now;
                }
                i.master_host = host;
                i.master_port = port;
                i.master_link_up = f.get("master_link_status") == Some(&"up");
                i.master_link_down_ms = f.get("master_link_down_since_seconds").and_then(|v| v.parse::<i64>().ok()).map_or(0, |s| s.max(0) as u64 * 1000);
                i.priority = f.get("slave_priority").and_then(|v| v.parse().ok()).unwrap_or(100);
                i.repl_offset = f.get("slave_repl_offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                i.announced = f.get("replica_announced") != Some(&"0");
            }
        });
        if found.is_none() {
            return;
        }
        let (masters, mut cx) = st.parts(&mut events, &mut commands);
        let Some(m) = masters.get_mut(&name) else { return };
        match target {
            Target::Master(_) if role == Role::Master => discover_replicas(m, &mut cx, info),
            Target::Replica(_, key) => replica_info(m, &mut cx, key, role),
            _ => {}
        }
    }
    if !events.is_empty() {
        crate::sentinel::wake(&s.wake_timer);
    }
    for (k, m) in events {
        s.event(&k, m);
    }
    for c in commands {
        send_command(s.clone(), c);
    }
}

/// `slaveN:ip=…,port=…` lines of a master's INFO add replicas.
fn discover_replicas(m: &mut Master, cx: &mut Cx<'_>, info: &str) {
    for line in info.lines().filter(|l| l.starts_with("slave") && l.contains("ip=")) {
        let value = line.split_once(':').map_or("", |(_, v)| v.trim());
        let kv: std::collections::HashMap<&str, &str> = value.split(',').filter_map(|p| p.split_once('=')).collect();
        let (Some(ip), Some(port)) = (kv.get("ip"), kv.get("port").and_then(|p| p.parse::<u16>().ok())) else { continue };
        let key = format!("{ip}:{port}");
        if m.replicas.contains_key(&key) {
            continue;
        }
        let inst = Instance::new(cx.next_id(), ip, port, Role::Replica);
        cx.events.push(("+slave".into(), describe(m, Some(&inst), "slave")));
        m.replicas.insert(key, inst);
        *cx.dirty = true;
    }
}

/// What a replica's INFO means for the failover and for its configuration.
fn replica_info(m: &mut Master, cx: &mut Cx<'_>, key: &str, role: Role) {
    let Some(r) = m.replicas.get(key).cloned() else { return };
    let promoted = m.promoted.as_deref() == Some(key);
    if promoted && role == Role::Master && m.failover == FailoverState::WaitPromotion {
        return failover::promotion_seen(m, cx);
    }
    let ours = (m.inst.host.clone(), m.inst.port);
    let points_at = |h: &str, p: u16| r.master_host.as_deref() == Some(h) && r.master_port == p;
    // Re-pointing during our failover: sent → in progress → done.
    if m.failover == FailoverState::ReconfReplicas {
        let Some((ph, pp)) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)).map(|p| (p.host.clone(), p.port)) else { return };
        let who = describe(m, Some(&r), "slave");
        let Some(rr) = m.replicas.get_mut(key) else { return };
        if matches!(rr.reconf, Reconf::Sent(_)) && points_at(&ph, pp) {
            rr.reconf = Reconf::InProgress;
            cx.events.push(("+slave-reconf-inprog".into(), who.clone()));
        }
        if rr.reconf == Reconf::InProgress && r.master_link_up {
            rr.reconf = Reconf::Done;
            cx.events.push(("+slave-reconf-done".into(), who));
        }
        return;
    }
    if m.in_failover() || m.inst.is_sdown() {
        return;
    }
    let to = Some((ours.0.as_str(), ours.1));
    // A node we know as a replica says master (the old master back after a
    // failover): once it has said so for a while, make it a replica.
    // Redis waits 8 s for newer configurations to arrive first; when this
    // sentinel's own failover made the current primary it waits 1 s (a
    // newer failover's leader publishes its hello at once).
    let ours_recently = m.led_switch.is_some_and(|t| t.elapsed() < Duration::from_secs(60));
    let wait = if ours_recently { Duration::from_secs(1) } else { Duration::from_millis(HELLO_PERIOD.as_millis() as u64 * 4) };
    if role == Role::Master && r.role_reported_time.elapsed() > wait && !r.is_sdown() {
        cx.events.push(("+convert-to-slave".into(), describe(m, Some(&r), "slave")));
        cx.commands.push(replicaof_command(&m.name, &r, to));
        if let Some(rr) = m.replicas.get_mut(key) {
            rr.role_reported_time = Instant::now();
        }
        return;
    }
    // A replica following some other master: point it at ours, once it has
    // followed that other one for failover-timeout and ours looks sane
    // (Redis's rule). Sooner, this sentinel may be the one that is behind:
    // right after a failover it has not yet heard of, it would send the new
    // primary's replicas back to the old one.
    let sane = m.inst.role_reported == Role::Master && !m.inst.is_sdown();
    if role == Role::Replica && r.master_host.is_some() && !points_at(&ours.0, ours.1) && sane && r.master_changed.elapsed() > m.failover_timeout {
        cx.events.push(("+fix-slave-config".into(), describe(m, Some(&r), "slave")));
        cx.commands.push(replicaof_command(&m.name, &r, to));
        if let Some(rr) = m.replicas.get_mut(key) {
            rr.master_changed = Instant::now();
        }
    }
}

/// Subscribes to the hello channel of a master or replica.
async fn subscribe_loop(s: Arc<Sentinel>, id: u64, target: Target) {
    loop {
        let Some((host, port, user, pass)) = endpoint(&s, id, &target) else { return };
        if let Some(mut link) = connect(&s, &host, port, &user, &pass).await {
            if link.send(&[b"SUBSCRIBE", HELLO_CHANNEL.as_bytes()]).await.is_ok() {
                while let Ok(frame) = link.read_frame().await {
                    if let Frame::Array(items) | Frame::Push(items) = frame {
                        if items.len() == 3 && text(&items[0]) == "message" {
                            process_hello(&s, &text(&items[2]));
                        }
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A hello from a sentinel: learn the peer, a newer epoch, a newer config.
pub fn process_hello(s: &Arc<Sentinel>, msg: &str) {
    let parts: Vec<&str> = msg.split(',').collect();
    if parts.len() != 8 {
        return;
    }
    let (ip, port, runid, epoch, name, mip, mport, mepoch) = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6], parts[7]);
    let (Ok(port), Ok(epoch), Ok(mport), Ok(mepoch)) = (port.parse::<u16>(), epoch.parse::<u64>(), mport.parse::<u16>(), mepoch.parse::<u64>()) else { return };
    let mut events = Vec::new();
    let wakes;
    {
        let mut st = s.state.lock();
        if runid == st.myid || !st.masters.contains_key(name) {
            return;
        }
        let known = st.masters[name].sentinels.contains_key(runid);
        if !known {
            let sid = st.next_id();
            let m = st.masters.get_mut(name).expect("exists");
            // A sentinel restarted with a new id at the same address replaces the old one.
            m.sentinels.retain(|_, p| !(p.host == ip && p.port == port));
            let mut inst = Instance::new(sid, ip, port, Role::Master);
            inst.runid = Some(runid.to_string());
            events.push(("+sentinel".into(), format!("sentinel {runid} {ip} {port} @ {} {} {}", m.name, m.inst.host, m.inst.port)));
            m.sentinels.insert(runid.to_string(), inst);
            st.dirty = true;
        }
        if let Some(p) = st.masters.get_mut(name).and_then(|m| m.sentinels.get_mut(runid)) {
            p.last_hello = Some(Instant::now());
        }
        if epoch > st.current_epoch {
            st.current_epoch = epoch;
            st.dirty = true;
            events.push(("+new-epoch".into(), epoch.to_string()));
        }
        let m = &st.masters[name];
        if mepoch > m.config_epoch && (m.inst.host != mip || m.inst.port != mport) {
            events.push(("+config-update-from".into(), format!("sentinel {runid} {ip} {port} @ {} {} {}", m.name, m.inst.host, m.inst.port)));
            let mut commands = Vec::new();
            let (masters, mut cx) = st.parts(&mut events, &mut commands);
            let m = masters.get_mut(name).expect("exists");
            failover::switch_master(m, &mut cx, mip, mport);
            m.config_epoch = mepoch;
        }
        wakes = std::mem::take(&mut st.wakes);
    }
    s.raise(wakes);
    for (k, m) in events {
        s.event(&k, m);
    }
}

/// A peer sentinel: PING, and while the master looks down, its opinion
/// (and, during our failover, its vote).
async fn peer_loop(s: &Arc<Sentinel>, id: u64, target: &Target) {
    let mut woken = s.wake_peers.subscribe();
    loop {
        let Some(mut link) = open_link(s, id, target).await else { return };
        loop {
            if endpoint(s, id, target).is_none() {
                return;
            }
            let started = Instant::now();
            if !ping(s, id, target, &mut link).await {
                break;
            }
            if let Some(ask) = ask_args(s, target) {
                let args: Vec<&[u8]> = ask.iter().map(|a| a.as_bytes()).collect();
                let Ok(reply) = link.call(&args, PING_PERIOD).await else { break };
                record_opinion(s, id, target, &reply);
            }
            // Every 100 ms while the master is down, else every second;
            // at once when woken (the master just went down, or we started
            // a failover and want votes).
            let wait = if master_down(s, target) { Duration::from_millis(100) } else { PING_PERIOD.saturating_sub(started.elapsed()) };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = woken.changed() => {}
            }
        }
        set_connected(s, id, target, false);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn master_down(s: &Sentinel, target: &Target) -> bool {
    s.state.lock().masters.get(master_name(target)).is_some_and(|m| m.inst.is_sdown())
}

/// `SENTINEL is-master-down-by-addr ip port epoch runid|*`, when asking.
fn ask_args(s: &Sentinel, target: &Target) -> Option<Vec<String>> {
    let st = s.state.lock();
    let m = st.masters.get(master_name(target))?;
    if !m.inst.is_sdown() {
        return None;
    }
    let runid = if m.in_failover() { st.myid.clone() } else { "*".to_string() };
    Some(vec!["SENTINEL".into(), "is-master-down-by-addr".into(), m.inst.host.clone(), m.inst.port.to_string(), st.current_epoch.to_string(), runid])
}

fn record_opinion(s: &Sentinel, id: u64, target: &Target, reply: &Frame) {
    let Frame::Array(items) = reply else { return };
    if items.len() != 3 {
        return;
    }
    let down = matches!(items[0], Frame::Integer(1));
    let leader = text(&items[1]);
    let epoch = match &items[2] {
        Frame::Integer(n) => *n as u64,
        _ => return,
    };
    let voted = leader != "*";
    with_inst(&mut s.state.lock(), id, target, |p| {
        p.master_down_at = down.then(Instant::now);
        if voted {
            p.leader = Some(leader);
            p.leader_epoch = epoch;
        }
    });
    // An opinion may complete ODOWN, a vote the election: judge now.
    crate::sentinel::wake(&s.wake_timer);
}

/// Sends a command (or a MULTI … EXEC of several) on a fresh connection.
pub fn send_command(s: Arc<Sentinel>, c: Command) {
    tokio::spawn(async move {
        let (user, pass) = {
            let st = s.state.lock();
            st.masters.get(&c.master).map(|m| (m.auth_user.clone(), m.auth_pass.clone())).unwrap_or((None, None))
        };
        let what = || c.args.iter().map(|a| a.join(" ")).collect::<Vec<_>>().join("; ");
        let Some(mut link) = connect(&s, &c.host, c.port, &user, &pass).await else {
            tracing::warn!("Sentinel could not reach {}:{} to send '{}'", c.host, c.port, what());
            return;
        };
        let mut all: Vec<Vec<String>> = Vec::new();
        if c.transaction {
            all.push(vec!["MULTI".into()]);
        }
        all.extend(c.args.iter().cloned());
        if c.transaction {
            all.push(vec!["EXEC".into()]);
        }
        // The whole transaction in one write, then its replies: a node that
        // is stopped (SIGSTOP, a stalled VM) still has it all in its socket
        // and runs it when it resumes, instead of only the MULTI.
        for args in &all {
            let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
            if let Err(e) = link.send(&a).await {
                tracing::warn!("Sentinel could not send '{}' to {}:{}: {e}", args.join(" "), c.host, c.port);
                return;
            }
        }
        for args in &all {
            if let Err(e) = link.read(Duration::from_secs(2)).await {
                tracing::warn!("Sentinel got no reply to '{}' from {}:{}: {e}", args.join(" "), c.host, c.port);
                return;
            }
        }
        // The node took its new role: let the links read INFO now.
        crate::sentinel::wake(&s.wake_links);
    });
}
