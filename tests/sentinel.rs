//! ferrokv-sentinel with real processes on 127.0.0.1: three nodes, three
//! sentinels (quorum 2, down-after 1000 ms): discovery, the Sentinel API,
//! failover when the primary is killed, the old primary rejoining.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use ferrokv_resp::Frame;

const FAILOVER: Duration = Duration::from_secs(40);

struct SentinelProc {
    child: Child,
    /// Redis's own Sentinel (`redis-server --sentinel`) rather than ours.
    redis: bool,
    port: u16,
    conf: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SentinelProc {
    fn start(master_port: u16, extra: &str) -> SentinelProc {
        Self::start_kind(false, master_port, extra)
    }

    fn start_kind(redis: bool, master_port: u16, extra: &str) -> SentinelProc {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sentinel.conf");
        let port = free_port();
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {master_port} 2\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\nsentinel parallel-syncs mymaster 1\n{extra}"
            ),
        )
        .unwrap();
        let mut s = SentinelProc { child: spawn(&conf, redis), redis, port, conf, _dir: dir };
        assert!(eventually(WAIT, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "sentinel did not start");
        s.check_alive();
        s
    }

    fn check_alive(&mut self) {
        assert!(matches!(self.child.try_wait(), Ok(None)), "sentinel exited");
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    fn master_addr(&self) -> Option<u16> {
        match self.conn().cmd(&["sentinel", "get-master-addr-by-name", "mymaster"]) {
            Frame::Array(items) => String::from_utf8_lossy(items[1].as_bytes()?).parse().ok(),
            _ => None,
        }
    }

    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.conf, self.redis);
        let port = self.port;
        assert!(eventually(WAIT, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    }
}

/// Logs go to `sentinel.log` beside the config (tests read them).
fn spawn(conf: &std::path::Path, redis: bool) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(conf.with_file_name("sentinel.log")).unwrap();
    let mut cmd = if redis {
        let mut c = Command::new(which("redis-server").expect("redis-server is not installed"));
        c.arg(conf).arg("--sentinel");
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferrokv-sentinel"));
        c.arg(conf);
        c
    };
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1").stdout(log.try_clone().unwrap()).stderr(log).stdin(Stdio::null()).spawn().unwrap()
}

impl Drop for SentinelProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count(f: Frame) -> usize {
    match f {
        Frame::Array(items) => items.len(),
        _ => 0,
    }
}

fn fields(f: &Frame) -> std::collections::HashMap<String, String> {
    let Frame::Array(items) = f else { return Default::default() };
    items
        .chunks(2)
        .map(|kv| (String::from_utf8_lossy(kv[0].as_bytes().unwrap()).into_owned(), String::from_utf8_lossy(kv[1].as_bytes().unwrap()).into_owned()))
        .collect()
}

fn cluster() -> (Node, Node, Node, Vec<SentinelProc>) {
    cluster_with(&[])
}

/// A primary, two replicas (the second with the better priority) and three
/// sentinels that have found each other; `extra` goes to every node.
fn cluster_with(extra: &[&str]) -> (Node, Node, Node, Vec<SentinelProc>) {
    let args = |more: &[&str]| -> Vec<String> { ["--save", "", "--protected-mode", "no"].iter().chain(more).chain(extra).map(|s| s.to_string()).collect() };
    let start = |more: &[&str]| {
        let a = args(more);
        Node::ferrokv(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    };
    let p = start(&[]);
    let port = p.port.to_string();
    let r1 = start(&["--replicaof", "127.0.0.1", &port]);
    let r2 = start(&["--replicaof", "127.0.0.1", &port, "--replica-priority", "50"]);
    for r in [&r1, &r2] {
        assert!(eventually(WAIT, || info_field(&mut r.conn(), "replication", "master_link_status") == "up"));
    }
    let sentinels: Vec<SentinelProc> = (0..3).map(|_| SentinelProc::start(p.port, "")).collect();
    for s in &sentinels {
        assert!(
            eventually(FAILOVER, || count(s.conn().cmd(&["sentinel", "replicas", "mymaster"])) == 2
                && count(s.conn().cmd(&["sentinel", "sentinels", "mymaster"])) == 2),
            "sentinel {} did not discover the replicas and its peers",
            s.port
        );
    }
    (p, r1, r2, sentinels)
}

#[test]
fn failover_promotes_a_replica_and_the_old_primary_rejoins() {
    let (mut p, r1, r2, mut sentinels) = cluster();
    let s = &sentinels[0];
    assert_eq!(s.master_addr(), Some(p.port));
    let master = fields(&s.conn().cmd(&["sentinel", "master", "mymaster"]));
    assert_eq!(master["flags"], "master");
    assert_eq!(master["num-slaves"], "2");
    assert_eq!(master["num-other-sentinels"], "2");
    assert_eq!(master["quorum"], "2");
    assert_eq!(s.conn().cmd(&["sentinel", "ckquorum", "mymaster"]), simple("OK 3 usable Sentinels. Quorum and failover authorization can be reached"));
    assert_eq!(s.conn().cmd(&["sentinel", "get-master-addr-by-name", "nope"]), Frame::NullArray);
    let mut events: Vec<Conn> = sentinels.iter().map(|s| s.conn()).collect();
    for e in events.iter_mut() {
        e.cmd(&["psubscribe", "*"]);
    }
    p.conn().cmd(&["set", "before", "failover"]);
    assert_eq!(p.conn().cmd(&["wait", "2", "5000"]), int(2));

    let old = p.port;
    p.kill9();
    // r2 has the better (lower) priority: it is the one promoted.
    for s in &sentinels {
        assert!(eventually(FAILOVER, || s.master_addr() == Some(r2.port)), "sentinel {} still points at {:?}", s.port, s.master_addr());
    }
    assert!(eventually(FAILOVER, || info_field(&mut r2.conn(), "replication", "role") == "master"));
    assert!(eventually(FAILOVER, || info_field(&mut r1.conn(), "replication", "master_port") == r2.port.to_string()
        && info_field(&mut r1.conn(), "replication", "master_link_status") == "up"));
    assert_eq!(r1.conn().cmd(&["get", "before"]), bulk("failover"), "acknowledged data survived");
    r2.conn().cmd(&["set", "after", "failover"]);
    assert!(eventually(WAIT, || r1.conn().cmd(&["get", "after"]) == bulk("failover")));
    // The events clients see, in Redis's words: every sentinel switches;
    // the leader's steps appear on one of them.
    let mut seen = String::new();
    for e in events.iter_mut() {
        let mut mine = String::new();
        while !mine.contains("+switch-master") {
            if let Frame::Array(items) = e.read() {
                mine.push_str(&format!(
                    "{} {}\n",
                    String::from_utf8_lossy(items[2].as_bytes().unwrap()),
                    String::from_utf8_lossy(items[3].as_bytes().unwrap())
                ));
            }
        }
        assert!(mine.contains(&format!("+switch-master mymaster 127.0.0.1 {old} 127.0.0.1 {}", r2.port)), "{mine}");
        assert!(mine.contains(&format!("+sdown master mymaster 127.0.0.1 {old}")), "{mine}");
        seen.push_str(&mine);
    }
    for e in [
        "+odown master mymaster",
        "#quorum",
        "+new-epoch",
        "+try-failover",
        "+vote-for-leader",
        "+elected-leader",
        "+selected-slave slave 127.0.0.1:",
        "+promoted-slave",
        "+slave-reconf-sent",
        "+failover-end",
    ] {
        assert!(seen.contains(e), "{e} missing from\n{seen}");
    }
    // The old primary comes back and is made a replica of the new one.
    p.restart(&["--save", "", "--protected-mode", "no"]);
    assert!(eventually(FAILOVER, || info_field(&mut p.conn(), "replication", "master_port") == r2.port.to_string()), "old primary never rejoined");
    assert!(eventually(FAILOVER, || p.conn().cmd(&["get", "after"]) == bulk("failover")));
    // A restarted sentinel resumes with the current primary and epoch.
    sentinels[1].restart();
    assert_eq!(sentinels[1].master_addr(), Some(r2.port));
    let text = std::fs::read_to_string(&sentinels[1].conf).unwrap();
    assert!(text.contains("sentinel myid ") && text.contains(&format!("sentinel monitor mymaster 127.0.0.1 {} 2", r2.port)), "{text}");
    for s in sentinels.iter_mut() {
        s.check_alive();
    }
}

impl SentinelProc {
    fn log(&self) -> String {
        std::fs::read_to_string(self.conf.with_file_name("sentinel.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn one_sentinel_down_still_fails_over() {
    let (mut p, _r1, r2, mut sentinels) = cluster();
    sentinels[2].kill();
    p.kill9();
    for s in &sentinels[..2] {
        assert!(eventually(FAILOVER, || s.master_addr() == Some(r2.port)), "sentinel {} did not fail over", s.port);
    }
}

#[test]
fn two_sentinels_down_never_fail_over_and_say_why() {
    let (mut p, _r1, _r2, mut sentinels) = cluster();
    let old = p.port;
    sentinels[1].kill();
    sentinels[2].kill();
    p.kill9();
    let s = &sentinels[0];
    assert!(eventually(FAILOVER, || s.log().contains("no failover can be authorized")), "no clear log line:\n{}", s.log());
    assert_eq!(s.master_addr(), Some(old), "a lone sentinel must not fail over");
    let flags = fields(&s.conn().cmd(&["sentinel", "master", "mymaster"]))["flags"].clone();
    assert!(flags.contains("s_down") && !flags.contains("o_down"), "{flags}");
}

/// Field names, in order, of a SENTINEL reply made of field/value arrays.
fn names(f: &Frame) -> Vec<String> {
    match f {
        Frame::Array(items) if items.first().is_some_and(|i| matches!(i, Frame::Array(_))) => items.iter().flat_map(names).collect(),
        Frame::Array(items) => items.chunks(2).map(|kv| String::from_utf8_lossy(kv[0].as_bytes().unwrap_or(b"?")).into_owned()).collect(),
        other => vec![format!("{other:?}")],
    }
}

fn info_names(port: u16) -> Vec<String> {
    let raw = Conn::connect(port).cmd_raw(&[b"info", b"sentinel"]);
    String::from_utf8_lossy(&raw).lines().filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string())).collect()
}

#[test]
fn sentinel_replies_have_the_shape_of_redis_sentinel() {
    let p = Node::ferrokv(&["--save", "", "--protected-mode", "no"]);
    let port = p.port.to_string();
    let r = Node::ferrokv(&["--save", "", "--replicaof", "127.0.0.1", &port]);
    assert!(eventually(WAIT, || info_field(&mut r.conn(), "replication", "master_link_status") == "up"));
    let ours = SentinelProc::start(p.port, "");
    // A real Redis Sentinel watching the same nodes; each discovers the other.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redis-sentinel.conf");
    let rport = free_port();
    std::fs::write(&conf, format!("port {rport}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {} 2\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\n", p.port)).unwrap();
    let mut redis =
        Command::new(which("redis-server").expect("redis-server")).arg(&conf).arg("--sentinel").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert!(eventually(WAIT, || std::net::TcpStream::connect(("127.0.0.1", rport)).is_ok()));
    let theirs = Conn::connect(rport);
    drop(theirs);
    for port in [ours.port, rport] {
        assert!(
            eventually(FAILOVER, || count(Conn::connect(port).cmd(&["sentinel", "replicas", "mymaster"])) == 1
                && count(Conn::connect(port).cmd(&["sentinel", "sentinels", "mymaster"])) == 1),
            "sentinel {port} did not discover the replica and the other sentinel"
        );
    }
    let (mut a, mut b) = (ours.conn(), Conn::connect(rport));
    for cmd in [
        vec!["sentinel", "master", "mymaster"],
        vec!["sentinel", "masters"],
        vec!["sentinel", "replicas", "mymaster"],
        vec!["sentinel", "slaves", "mymaster"],
        vec!["sentinel", "sentinels", "mymaster"],
    ] {
        assert_eq!(names(&a.cmd(&cmd)), names(&b.cmd(&cmd)), "{cmd:?}");
    }
    for cmd in [
        vec!["sentinel", "get-master-addr-by-name", "mymaster"],
        vec!["sentinel", "get-master-addr-by-name", "nope"],
        vec!["sentinel", "ckquorum", "mymaster"],
        vec!["ping"],
    ] {
        assert_eq!(a.cmd(&cmd), b.cmd(&cmd), "{cmd:?}");
    }
    assert_eq!(names(&a.cmd(&["role"])), names(&b.cmd(&["role"])));
    assert_eq!(info_names(ours.port), info_names(rport), "INFO sentinel");
    let master0 = |port: u16| info_field(&mut Conn::connect(port), "sentinel", "master0");
    assert_eq!(master0(ours.port), master0(rport));
    assert_eq!(a.cmd(&["sentinel", "master", "nope"]), b.cmd(&["sentinel", "master", "nope"]));
    let _ = redis.kill();
    let _ = redis.wait();
}

/// The port the sentinels agree is the primary, if they answer.
fn primary_port(sentinels: &[SentinelProc]) -> Option<u16> {
    sentinels.iter().find_map(|s| s.master_addr())
}

#[test]
fn writes_acknowledged_with_wait_survive_failovers_at_random_moments() {
    use rand::{Rng, SeedableRng};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let (p, r1, r2, sentinels) = cluster();
    let mut nodes = [p, r1, r2];
    let sentinel_ports: Vec<u16> = sentinels.iter().map(|s| s.port).collect();
    let acked = Arc::new(Mutex::new(Vec::<u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, ports) = (acked.clone(), stop.clone(), sentinel_ports.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let primary = ports.iter().find_map(|p| match Conn::try_connect(*p)?.try_cmd(&["sentinel", "get-master-addr-by-name", "mymaster"])? {
                    Frame::Array(items) => String::from_utf8_lossy(items[1].as_bytes()?).parse::<u16>().ok(),
                    _ => None,
                });
                let Some(mut c) = primary.and_then(Conn::try_connect) else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let key = format!("w:{i}");
                    let Some(set) = c.try_cmd(&["set", &key, "1"]) else { break };
                    if set != simple("OK") {
                        // READONLY from a demoted primary: ask the sentinels again.
                        break;
                    }
                    match c.try_cmd(&["wait", "1", "500"]) {
                        Some(Frame::Integer(n)) if n >= 1 => acked.lock().unwrap().push(i),
                        Some(_) => {}
                        None => break,
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for round in 0..3 {
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
        let old = primary_port(&sentinels).expect("sentinels answer");
        let victim = nodes.iter_mut().find(|n| n.port == old).expect("the primary is one of ours");
        victim.kill9();
        assert!(eventually(FAILOVER, || primary_port(&sentinels).is_some_and(|p| p != old)), "round {round}: no failover");
        victim.restart(&["--save", "", "--protected-mode", "no"]);
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    let primary = primary_port(&sentinels).unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 10, "the writer got few acknowledgements ({})", acked.len());
    let mut c = Conn::connect(primary);
    let lost: Vec<u64> = acked.iter().copied().filter(|i| c.cmd(&["exists", &format!("w:{i}")]) != int(1)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes lost: {:?}", lost.len(), acked.len(), &lost[..lost.len().min(20)]);
}

#[test]
fn a_stalled_sentinel_enters_tilt_instead_of_acting() {
    let p = Node::ferrokv(&["--save", "", "--protected-mode", "no"]);
    let mut s = SentinelProc::start(p.port, "");
    assert!(eventually(WAIT, || info_field(&mut s.conn(), "sentinel", "sentinel_tilt") == "0"));
    let pid = s.child.id().to_string();
    // Stop the process for longer than the tilt trigger, as an overloaded
    // machine or a paused VM would.
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(3000));
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    assert!(eventually(WAIT, || info_field(&mut s.conn(), "sentinel", "sentinel_tilt") == "1"), "no TILT after a stall");
    assert!(eventually(WAIT, || s.log().contains("+tilt #tilt mode entered")), "{}", s.log());
    assert_eq!(s.master_addr(), Some(p.port));
    s.check_alive();
}

#[test]
fn a_partitioned_old_primary_stops_writes_and_rejoins_as_the_only_replica() {
    let (p, r1, r2, sentinels) = cluster_with(&["--min-replicas-to-write", "1", "--min-replicas-max-lag", "2"]);
    let pid = p.pid().to_string();
    // SIGSTOP cuts the primary off from everyone, as a partition would.
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    for s in &sentinels {
        assert!(eventually(FAILOVER, || s.master_addr() == Some(r2.port)), "no failover on {}", s.port);
    }
    // The new primary accepts writes once its other replica follows it.
    assert!(eventually(FAILOVER, || r2.conn().cmd(&["set", "k", "new-primary"]) == simple("OK")));
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    // Back, it has no replica left: with min-replicas it refuses writes.
    let mut c = p.conn();
    let refused = |f: &Frame| matches!(f, Frame::Error(e) if e.starts_with(b"NOREPLICAS") || e.starts_with(b"READONLY"));
    assert!(eventually(FAILOVER, || refused(&c.cmd(&["set", "k", "old-primary"]))), "the isolated old primary accepted a write");
    // Then it is made a replica: exactly one primary, all data converged.
    assert!(eventually(FAILOVER, || info_field(&mut p.conn(), "replication", "master_port") == r2.port.to_string()
        && info_field(&mut p.conn(), "replication", "master_link_status") == "up"));
    let roles: Vec<String> = [&p, &r1, &r2].iter().map(|n| info_field(&mut n.conn(), "replication", "role")).collect();
    assert_eq!(roles.iter().filter(|r| *r == "master").count(), 1, "{roles:?}");
    assert!(eventually(WAIT, || p.conn().cmd(&["get", "k"]) == bulk("new-primary")));
}

#[test]
fn sentinel_failover_switches_over_on_request() {
    let (p, _r1, r2, sentinels) = cluster();
    let mut c = sentinels[0].conn();
    assert_eq!(c.cmd(&["sentinel", "failover", "nope"]), err("ERR No such master with that name"));
    assert_eq!(c.cmd(&["sentinel", "failover", "mymaster"]), simple("OK"));
    for s in &sentinels {
        assert!(eventually(FAILOVER, || s.master_addr() == Some(r2.port)), "sentinel {} did not switch", s.port);
    }
    // The old primary, alive all along, is turned into a replica.
    assert!(eventually(FAILOVER, || info_field(&mut p.conn(), "replication", "master_port") == r2.port.to_string()
        && info_field(&mut p.conn(), "replication", "master_link_status") == "up"));
}

#[test]
fn sigterm_saves_the_config_and_exits_at_once() {
    let primary = Node::ferrokv(&[]);
    // Options before their `monitor` line and server directives load, as
    // with Redis's sentinel.
    let extra = "loglevel notice\nprotected-mode no\nrepl-diskless-sync-delay 0\n";
    let mut s = SentinelProc::start(primary.port, extra);
    let text = std::fs::read_to_string(&s.conf).unwrap();
    let rest: Vec<&str> = text.lines().filter(|l| !l.starts_with("sentinel down-after-milliseconds")).collect();
    std::fs::write(&s.conf, format!("sentinel down-after-milliseconds mymaster 1500\n{}\n", rest.join("\n"))).unwrap();
    s.restart();
    s.check_alive();
    let down_after = fields(&s.conn().cmd(&["sentinel", "master", "mymaster"]))["down-after-milliseconds"].clone();
    assert_eq!(down_after, "1500");
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(eventually(Duration::from_secs(5), || matches!(s.child.try_wait(), Ok(Some(st)) if st.success())), "sentinel did not exit cleanly on SIGTERM");
    let saved = std::fs::read_to_string(&s.conf).unwrap();
    assert!(saved.contains("sentinel myid ") && saved.contains("repl-diskless-sync-delay 0"), "{saved}");
}

/// A mixed group — a ferrokv primary, a Redis replica (the preferred one)
/// and a ferrokv replica — managed by either Sentinel: the primary dies,
/// the Redis replica is promoted, the ferrokv replica follows it over
/// Redis's protocol, and what WAIT acknowledged is there.
#[test]
fn a_mixed_group_fails_over_under_either_sentinel() {
    for redis_sentinels in [false, true] {
        let kind = if redis_sentinels { "Redis's Sentinel" } else { "ferrokv-sentinel" };
        let mut p = Node::ferrokv(&["--save", "", "--protected-mode", "no", "--enable-debug-command", "yes"]);
        let port = p.port.to_string();
        let theirs = Node::redis(&["--replicaof", "127.0.0.1", &port, "--replica-priority", "50", "--enable-debug-command", "yes"]);
        let ours = Node::ferrokv(&["--save", "", "--protected-mode", "no", "--replicaof", "127.0.0.1", &port, "--enable-debug-command", "yes"]);
        for r in [&theirs, &ours] {
            assert!(eventually(WAIT, || info_field(&mut r.conn(), "replication", "master_link_status") == "up"), "{kind}: replicas synced");
        }
        let sentinels: Vec<SentinelProc> = (0..3).map(|_| SentinelProc::start_kind(redis_sentinels, p.port, "")).collect();
        for s in &sentinels {
            let found = eventually(FAILOVER, || {
                count(s.conn().cmd(&["sentinel", "replicas", "mymaster"])) == 2 && count(s.conn().cmd(&["sentinel", "sentinels", "mymaster"])) == 2
            });
            assert!(found, "{kind} {} did not discover the replicas and its peers", s.port);
        }
        let mut c = p.conn();
        for i in 0..100 {
            c.cmd(&["set", &format!("k{i}"), &i.to_string()]);
        }
        assert_eq!(c.cmd(&["wait", "2", "5000"]), int(2), "{kind}");
        p.kill9();
        let promoted = eventually(FAILOVER, || sentinels[0].master_addr() == Some(theirs.port));
        assert!(promoted, "{kind} promoted the Redis replica (master now {:?})", sentinels[0].master_addr());
        // Polled on fresh connections: the sentinels' reconfiguration of
        // this replica ends with CLIENT KILL TYPE normal, which may close
        // a poll's connection under it.
        let follows = eventually(FAILOVER, || {
            try_info_field(ours.port, "replication", "master_port") == Some(theirs.port.to_string())
                && try_info_field(ours.port, "replication", "master_link_status").as_deref() == Some("up")
        });
        assert!(follows, "{kind}: the ferrokv replica follows the promoted Redis");
        for i in 0..100 {
            assert_eq!(theirs.conn().cmd(&["get", &format!("k{i}")]), bulk(&i.to_string()), "{kind}: acknowledged k{i}");
        }
        common::repl::assert_converged(&theirs, &[&ours]);
    }
}

/// The sentinel's own port has Redis's ACL users, compared with Redis
/// Sentinel 7.0 started from the same `user` lines and `requirepass`:
/// every ACL subcommand, AUTH with users, NOPERM for commands and
/// channels, the ACL LOG entries; users set at run time are kept in the
/// config file.
#[test]
fn sentinel_acl_users_as_redis_sentinel() {
    let dir = tempfile::tempdir().unwrap();
    let conf_of = |name: &str, port: u16| {
        let conf = dir.path().join(name);
        std::fs::write(&conf, format!("port {port}\nbind 127.0.0.1\nrequirepass adminpw\nuser app on >pw ~* &news* +ping +sentinel|masters +subscribe\n"))
            .unwrap();
        conf
    };
    let (pa, pb) = (free_port(), free_port());
    let (conf_a, conf_b) = (conf_of("ours.conf", pa), conf_of("redis.conf", pb));
    let mut procs = [spawn(&conf_a, false), spawn(&conf_b, true)];
    for port in [pa, pb] {
        assert!(eventually(WAIT, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "sentinel on {port} did not start");
    }
    let conns = |port: u16| (0..3).map(|_| Conn::connect(port)).collect::<Vec<_>>();
    run_script_over(
        conns(pa),
        conns(pb),
        "ping\nacl whoami\nauth nope\nauth default nope\nauth app nope\n@1 auth app pw\nauth adminpw\nacl whoami\n@1 acl whoami\nacl users\n%acl list\n%acl getuser app\nacl getuser nosuch\n\
         acl setuser u2 on nopass +@all\nacl setuser u3 on >x resetchannels &news* -@all +subscribe +publish +ping\n%acl getuser u3\n%acl list\nacl deluser default\nacl deluser nosuch u2\nacl users\n\
         acl dryrun app ping\nacl dryrun app info\nacl dryrun app sentinel masters\nacl dryrun app sentinel myid\nacl dryrun app get x\nacl dryrun nosuch ping\nacl dryrun u3 publish news1 x\nacl dryrun u3 publish other x\nacl dryrun app ping a b\n\
         acl cat\n~acl cat admin\n~acl cat pubsub\n~acl cat connection\n~acl cat dangerous\n~acl cat fast\n~acl cat slow\nacl cat foo\nacl cat a b\nacl genpass 0\nacl genpass 5000\nacl log x\nacl save\nacl load\nacl foo\nacl getuser\nacl setuser \"a b\"\nacl setuser x foo\nacl help\n\
         @1 ping\n@1 info\n@1 sentinel myid\n@1 sentinel masters\n@1 publish news x\n@2 auth u3 x\n@2 publish news1 x\n@2 publish other x\n@2 ping\n@2 info\n",
    );
    // ACL LOG: the same entries (the client's details and ages aside).
    let log = |port: u16| {
        let mut c = Conn::connect(port);
        c.cmd(&["auth", "adminpw"]);
        match c.cmd(&["acl", "log"]) {
            Frame::Array(entries) => entries
                .iter()
                .map(|e| {
                    let Frame::Array(kv) = e else { panic!("an entry: {e:?}") };
                    let text = |f: &Frame| match f {
                        Frame::Integer(n) => n.to_string(),
                        other => String::from_utf8_lossy(other.as_bytes().unwrap_or_default()).into_owned(),
                    };
                    let f: std::collections::HashMap<String, String> = kv.chunks(2).map(|p| (text(&p[0]), text(&p[1]))).collect();
                    ["count", "reason", "context", "object", "username"].map(|k| f.get(k).cloned().unwrap_or_default()).join(" ")
                })
                .collect::<Vec<_>>(),
            other => panic!("ACL LOG: {other:?}"),
        }
    };
    let ours = log(pa);
    assert!(ours.iter().any(|e| e == "1 auth toplevel auth app") && ours.iter().any(|e| e == "1 command toplevel sentinel|myid app"), "{ours:?}");
    assert_eq!(ours, log(pb), "ACL LOG, left ferrokv, right Redis Sentinel");
    // A user set at run time is in the config file once the sentinel saves it.
    assert!(
        eventually(WAIT, || std::fs::read_to_string(&conf_a).is_ok_and(|t| t.contains("\nuser u3 on #"))),
        "{}",
        std::fs::read_to_string(&conf_a).unwrap_or_default()
    );
    for p in &mut procs {
        let _ = p.kill();
        let _ = p.wait();
    }
    // Started again from that file, it knows the user.
    let mut again = spawn(&conf_a, false);
    assert!(eventually(WAIT, || std::net::TcpStream::connect(("127.0.0.1", pa)).is_ok()));
    assert_eq!(Conn::connect(pa).cmd(&["auth", "u3", "x"]), simple("OK"));
    let _ = again.kill();
    let _ = again.wait();
}
