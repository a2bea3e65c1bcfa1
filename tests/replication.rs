//! Replication with real processes on 127.0.0.1: full and partial syncs,
//! convergence under concurrent writes of every type (compared with DEBUG
//! DIGEST), restarts, promotion, WAIT, min-replicas, read-only replicas,
//! the output limit, and faults injected by a proxy between the nodes.

mod common;

use std::time::Duration;

use common::repl::*;
use common::*;

fn primary(extra: &[&str]) -> Node {
    let mut args = vec!["--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    Node::ferrokv(&args)
}

fn replica_of(port: u16, extra: &[&str]) -> Node {
    let p = port.to_string();
    let mut args = vec!["--enable-debug-command", "yes", "--replicaof", "127.0.0.1", p.as_str()];
    args.extend_from_slice(extra);
    Node::ferrokv(&args)
}

#[test]
fn digest_is_redis_digest() {
    let pair = Pair::new(&["--enable-debug-command", "yes"]);
    for n in [&pair.ours, &pair.redis] {
        let mut c = n.conn();
        assert_eq!(c.cmd(&["debug", "digest"]), simple("0000000000000000000000000000000000000000"));
        populate_every_encoding(&mut c);
        c.cmd(&["pexpireat", "l:small", "4102444800000"]);
        c.cmd(&["select", "3"]);
        c.cmd(&["set", "other", "db"]);
    }
    let (mut f, mut r) = (pair.ours.conn(), pair.redis.conn());
    assert_eq!(f.cmd(&["debug", "digest"]), r.cmd(&["debug", "digest"]));
    let mut args = vec!["debug", "digest-value", "nokey"];
    args.extend_from_slice(ENCODING_KEYS);
    assert_eq!(f.cmd(&args), r.cmd(&args));
}

#[test]
fn replicas_converge_under_concurrent_writes() {
    let p = primary(&["--save", ""]);
    random_writes(p.port, 1, 2000);
    let r1 = replica_of(p.port, &["--save", ""]);
    let writers: Vec<_> = (0..3).map(|i| std::thread::spawn(move || random_writes(p.port, 10 + i, 3000))).collect();
    let port = p.port;
    // The second replica syncs while the writers run.
    std::thread::sleep(Duration::from_millis(200));
    let r2 = replica_of(port, &["--save", ""]);
    for w in writers {
        w.join().expect("writer");
    }
    assert_converged(&p, &[&r1, &r2]);
    // Replicas never expire keys themselves but hide them from reads.
    let mut c = p.conn();
    c.cmd(&["set", "soon", "x", "px", "50"]);
    assert_converged(&p, &[&r1]);
    std::thread::sleep(Duration::from_millis(100));
    let mut rc = r1.conn();
    assert_eq!(rc.cmd(&["get", "soon"]), ferrokv_resp::Frame::NullBulk);
    assert_eq!(rc.cmd(&["dbsize"]), c.cmd(&["dbsize"]), "the replica keeps the key until the primary's DEL");
    c.cmd(&["get", "soon"]);
    assert_converged(&p, &[&r1, &r2]);
}

#[test]
fn replica_is_read_only_and_reports_like_redis() {
    let p = primary(&["--save", ""]);
    let r = replica_of(p.port, &["--save", "", "--replica-priority", "42"]);
    p.conn().cmd(&["set", "k", "v"]);
    assert_converged(&p, &[&r]);
    let mut c = r.conn();
    assert_eq!(c.cmd(&["set", "k", "x"]), err("READONLY You can't write against a read only replica."));
    assert_eq!(c.cmd(&["get", "k"]), bulk("v"));
    c.cmd(&["multi"]);
    assert_eq!(c.cmd(&["set", "k", "x"]), err("READONLY You can't write against a read only replica."));
    assert_eq!(c.cmd(&["exec"]), err("EXECABORT Transaction discarded because of previous errors."));
    assert_eq!(offset(&r, "role"), "slave");
    assert_eq!(offset(&r, "master_port"), p.port.to_string());
    assert_eq!(offset(&r, "slave_priority"), "42");
    assert_eq!(offset(&r, "slave_read_only"), "1");
    assert_eq!(offset(&r, "master_sync_in_progress"), "0");
    assert_eq!(offset(&r, "master_replid"), offset(&p, "master_replid"));
    assert_eq!(offset(&p, "connected_slaves"), "1");
    assert!(offset(&p, "slave0").starts_with(&format!("ip=127.0.0.1,port={},state=online,offset=", r.port)), "{}", offset(&p, "slave0"));
    let role = c.cmd(&["role"]);
    assert_eq!(
        format!("{role:?}"),
        format!(
            "{:?}",
            ferrokv_resp::Frame::Array(vec![
                bulk("slave"),
                bulk("127.0.0.1"),
                int(p.port as i64),
                bulk("connected"),
                int(offset(&r, "slave_repl_offset").parse().unwrap())
            ])
        )
    );
    // Stale data: with replica-serve-stale-data no, a replica without its
    // primary refuses reads but still answers INFO and PING.
    c.cmd(&["config", "set", "replica-serve-stale-data", "no"]);
    let mut p = p;
    p.kill9();
    assert!(eventually(SYNC, || offset(&r, "master_link_status") == "down"));
    assert_eq!(c.cmd(&["get", "k"]), err("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."));
    // As Redis 7.0: PING is not a stale command (Sentinel accepts this
    // reply as a sign of life), INFO is.
    assert_eq!(c.cmd(&["ping"]), err("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."));
    assert_eq!(offset(&r, "role"), "slave");
    assert!(offset(&r, "master_link_down_since_seconds").parse::<i64>().unwrap() >= 0);
}

#[test]
fn restarted_replica_continues_partially_and_restarted_primary_syncs_fully() {
    let mut p = primary(&["--save", ""]);
    let mut r = replica_of(p.port, &[]);
    random_writes(p.port, 2, 1000);
    assert_converged(&p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), 1);
    // SHUTDOWN saves the replica's history (repl-id, repl-offset) in its dump.
    r.conn().send(&[b"shutdown"]);
    assert!(r.wait_exit(WAIT));
    random_writes(p.port, 3, 500);
    let port = p.port.to_string();
    r.restart(&["--enable-debug-command", "yes", "--replicaof", "127.0.0.1", &port]);
    assert_converged(&p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), 1, "no second full sync");
    assert_eq!(stat(&p, "sync_partial_ok"), 1);
    // Killed (-9) after a SAVE: it continues from the dump's offset, which
    // the primary's backlog still holds.
    assert_eq!(r.conn().cmd(&["save"]), simple("OK"));
    random_writes(p.port, 13, 300);
    r.kill9();
    random_writes(p.port, 14, 300);
    r.restart(&["--enable-debug-command", "yes", "--replicaof", "127.0.0.1", &port]);
    assert_converged(&p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), 1, "still no second full sync");
    assert_eq!(stat(&p, "sync_partial_ok"), 2);
    // A restarted primary starts a new history: a full sync.
    p.restart(&["--enable-debug-command", "yes", "--save", ""]);
    random_writes(p.port, 4, 300);
    assert_converged(&p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), 1);
}

#[test]
fn promoted_replica_keeps_the_others_partial() {
    let p = primary(&["--save", ""]);
    let r1 = replica_of(p.port, &["--save", ""]);
    let r2 = replica_of(p.port, &["--save", ""]);
    random_writes(p.port, 5, 1000);
    assert_converged(&p, &[&r1, &r2]);
    let old_replid = offset(&p, "master_replid");
    drop(p);
    let mut c1 = r1.conn();
    assert_eq!(c1.cmd(&["replicaof", "no", "one"]), simple("OK"));
    assert_eq!(offset(&r1, "role"), "master");
    assert_eq!(offset(&r1, "master_replid2"), old_replid);
    let port = r1.port.to_string();
    assert_eq!(r2.conn().cmd(&["replicaof", "127.0.0.1", &port]), simple("OK"));
    assert_eq!(r2.conn().cmd(&["replicaof", "127.0.0.1", &port]), simple("OK Already connected to specified master"));
    random_writes(r1.port, 6, 500);
    assert_converged(&r1, &[&r2]);
    assert_eq!(stat(&r1, "sync_full"), 0, "the other replica continued partially");
    assert_eq!(stat(&r1, "sync_partial_ok"), 1);
    // A chained replica (of r2) sees the same stream.
    let r3 = replica_of(r2.port, &["--save", ""]);
    random_writes(r1.port, 7, 300);
    assert_converged(&r1, &[&r2, &r3]);
}

#[test]
fn wait_counts_acknowledging_replicas() {
    let p = primary(&["--save", ""]);
    let _r1 = replica_of(p.port, &["--save", ""]);
    let _r2 = replica_of(p.port, &["--save", ""]);
    assert!(eventually(SYNC, || offset(&p, "connected_slaves") == "2"
        && !offset(&p, "slave1").contains("state=wait")
        && !offset(&p, "slave1").contains("send_bulk")));
    let mut c = p.conn();
    c.cmd(&["set", "k", "v"]);
    assert_eq!(c.cmd(&["wait", "2", "5000"]), int(2));
    c.cmd(&["incr", "n"]);
    // Asking for more than exist waits the whole timeout, then counts.
    assert_eq!(c.cmd(&["wait", "3", "200"]), int(2));
    c.cmd(&["multi"]);
    c.cmd(&["wait", "3", "0"]);
    assert_eq!(c.cmd(&["exec"]), ferrokv_resp::Frame::Array(vec![int(2)]));
    assert_eq!(c.cmd(&["wait", "x", "0"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["wait", "1", "-1"]), err("ERR timeout is negative"));
}

#[test]
fn min_replicas_refuses_writes_without_good_replicas() {
    let p = primary(&["--save", "", "--min-replicas-to-write", "1", "--min-replicas-max-lag", "2"]);
    let mut c = p.conn();
    assert_eq!(c.cmd(&["set", "k", "v"]), err("NOREPLICAS Not enough good replicas to write."));
    assert_eq!(c.cmd(&["get", "k"]), ferrokv_resp::Frame::NullBulk, "reads are not affected");
    let mut r = replica_of(p.port, &[]);
    assert!(eventually(SYNC, || c.cmd(&["set", "k", "v"]) == simple("OK")));
    assert_eq!(offset(&p, "min_slaves_good_slaves"), "1");
    r.conn().send(&[b"shutdown"]);
    assert!(r.wait_exit(WAIT));
    assert!(eventually(SYNC, || c.cmd(&["set", "k", "v2"]) == err("NOREPLICAS Not enough good replicas to write.")));
    let port = p.port.to_string();
    r.restart(&["--replicaof", "127.0.0.1", &port]);
    assert!(eventually(SYNC, || c.cmd(&["set", "k", "v3"]) == simple("OK")));
}

#[test]
fn slow_replica_is_cut_at_the_output_limit_and_recovers() {
    let p = primary(&["--save", "", "--client-output-buffer-limit", "replica 256kb 128kb 1", "--repl-backlog-size", "64kb"]);
    let proxy = Proxy::start(p.port);
    let r = replica_of(proxy.port, &["--save", ""]);
    random_writes(p.port, 8, 200);
    assert_converged(&p, &[&r]);
    proxy.pause(true);
    let big = "x".repeat(4096);
    let mut c = p.conn();
    for i in 0..400 {
        c.cmd(&["set", &format!("big{}", i % 50), &big]);
    }
    std::thread::sleep(Duration::from_millis(300));
    proxy.cut();
    proxy.pause(false);
    assert_converged(&p, &[&r]);
    assert!(stat(&p, "sync_full") >= 2, "the cut replica needed a new sync (its offset left the backlog)");
}

#[test]
fn faults_between_primary_and_replica_never_diverge() {
    // Pings every second keep an idle link inside the replica's timeout.
    let p = primary(&["--save", "", "--repl-ping-replica-period", "1"]);
    let proxy = Proxy::start(p.port);
    let r = replica_of(proxy.port, &["--save", "", "--repl-timeout", "2"]);
    let load = Load::start(p.port, 100);
    inject_faults(&proxy, 9, 12, 50..300);
    load.finish();
    assert_converged(&p, &[&r]);
    assert!(stat(&p, "sync_partial_ok") >= 1, "reconnects within the backlog continue partially");
}

#[test]
fn what_sentinel_sends_queues_and_runs() {
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(conf.path(), "# node\n").unwrap();
    let p = primary(&["--save", ""]);
    let n = Node::ferrokv(&[conf.path().to_str().unwrap(), "--save", ""]);
    let mut c = n.conn();
    let port = p.port.to_string();
    assert_eq!(c.cmd(&["multi"]), simple("OK"));
    for cmd in
        [vec!["slaveof", "127.0.0.1", &port], vec!["config", "rewrite"], vec!["client", "kill", "type", "normal"], vec!["client", "kill", "type", "pubsub"]]
    {
        assert_eq!(c.cmd(&cmd), simple("QUEUED"), "{cmd:?}");
    }
    let reply = c.cmd(&["exec"]);
    let ferrokv_resp::Frame::Array(items) = reply else { panic!("EXEC: {reply:?}") };
    assert_eq!(items[0], simple("OK"));
    assert_eq!(items[1], simple("OK"));
    let text = std::fs::read_to_string(conf.path()).unwrap();
    assert!(text.contains(&format!("replicaof 127.0.0.1 {port}")), "{text}");
    assert!(eventually(SYNC, || offset(&n, "master_link_status") == "up"));
    assert_eq!(info_field(&mut n.conn(), "server", "run_id").len(), 40);
    // And back: NO ONE removes the line.
    let mut c = n.conn();
    c.cmd(&["slaveof", "no", "one"]);
    c.cmd(&["config", "rewrite"]);
    assert!(!std::fs::read_to_string(conf.path()).unwrap().contains("replicaof"));
}

#[test]
fn replicas_announce_the_address_given() {
    let p = primary(&["--save", ""]);
    let _r = replica_of(p.port, &["--save", "", "--replica-announce-ip", "10.1.2.3", "--replica-announce-port", "6390"]);
    assert!(eventually(SYNC, || offset(&p, "slave0").starts_with("ip=10.1.2.3,port=6390,state=online")), "{}", offset(&p, "slave0"));
    let role = p.conn().cmd(&["role"]);
    let ferrokv_resp::Frame::Array(items) = role else { panic!("{role:?}") };
    let ferrokv_resp::Frame::Array(replicas) = &items[2] else { panic!("{items:?}") };
    let ferrokv_resp::Frame::Array(first) = &replicas[0] else { panic!("{replicas:?}") };
    assert_eq!(&first[..2], &[bulk("10.1.2.3"), bulk("6390")]);
}

#[test]
fn primary_with_requirepass_refuses_replicas_without_masterauth() {
    let p = primary(&["--save", "", "--requirepass", "secret"]);
    let bad = replica_of(p.port, &["--save", ""]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(offset(&bad, "master_link_status"), "down");
    let good = replica_of(p.port, &["--save", "", "--masterauth", "secret"]);
    let mut c = p.conn();
    c.cmd(&["auth", "secret"]);
    c.cmd(&["set", "k", "v"]);
    assert!(eventually(SYNC, || good.conn().cmd(&["get", "k"]) == bulk("v")));
}

/// INFO replication field names, in order, with values masked.
fn info_shape(port: u16) -> Vec<String> {
    let raw = Conn::connect(port).cmd_raw(&[b"info", b"replication"]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.lines()
        .skip(1)
        .filter(|l| l.contains(':'))
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            // slaveN lines: keep the field names of the value too.
            if name.starts_with("slave") && value.contains('=') {
                let keys: Vec<&str> = value.split(',').map(|kv| kv.split('=').next().unwrap()).collect();
                format!("{name}:{}", keys.join(","))
            } else {
                name.to_string()
            }
        })
        .collect()
}

fn role_shape(port: u16) -> String {
    let role = Conn::connect(port).cmd(&["role"]);
    fn shape(f: &ferrokv_resp::Frame) -> String {
        match f {
            ferrokv_resp::Frame::Array(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(",")),
            ferrokv_resp::Frame::Bulk(b) if matches!(&b[..], b"master" | b"slave" | b"connected") => String::from_utf8_lossy(b).into_owned(),
            ferrokv_resp::Frame::Bulk(_) => "bulk".into(),
            ferrokv_resp::Frame::Integer(_) => "int".into(),
            other => format!("{other:?}"),
        }
    }
    shape(&role)
}

#[test]
fn info_replication_and_role_have_redis_shape() {
    let fp = primary(&["--save", ""]);
    let fr = replica_of(fp.port, &["--save", ""]);
    let rp = Node::redis(&[]);
    let rport = rp.port.to_string();
    let rr = Node::redis(&["--replicaof", "127.0.0.1", &rport]);
    for (p, r) in [(&fp, &fr), (&rp, &rr)] {
        assert!(eventually(SYNC, || info_field(&mut r.conn(), "replication", "master_link_status") == "up"), "{} replica never synced", r.kind);
        assert!(eventually(SYNC, || info_field(&mut p.conn(), "replication", "slave0").contains("state=online")), "{}", p.kind);
    }
    assert_eq!(info_shape(fp.port), info_shape(rp.port), "primary's INFO replication");
    assert_eq!(info_shape(fr.port), info_shape(rr.port), "replica's INFO replication");
    assert_eq!(role_shape(fp.port), role_shape(rp.port), "primary's ROLE");
    assert_eq!(role_shape(fr.port), role_shape(rr.port), "replica's ROLE");
}

#[test]
fn a_replica_with_an_aof_keeps_what_its_full_sync_brought_across_a_crash() {
    let p = primary(&[]);
    let mut c = p.conn();
    for i in 0..50 {
        c.cmd(&["set", &format!("before:{i}"), "1"]);
    }
    let mut r = replica_of(p.port, &["--appendonly", "yes"]);
    assert!(eventually(WAIT, || offset(&r, "slave_repl_offset") == offset(&p, "master_repl_offset") && Conn::connect(r.port).cmd(&["dbsize"]) == int(50)));
    c.cmd(&["set", "streamed", "1"]);
    assert!(eventually(WAIT, || Conn::connect(r.port).cmd(&["exists", "streamed"]) == int(1)));
    // Promoted, written to, then crashed: it must come back with what the
    // sync brought, the stream after it, and its own writes.
    let mut rc = r.conn();
    rc.cmd(&["replicaof", "no", "one"]);
    rc.cmd(&["set", "own", "1"]);
    r.kill9();
    r.restart(&["--appendonly", "yes"]);
    let mut rc = r.conn();
    assert_eq!(rc.cmd(&["dbsize"]), int(52), "the AOF lost what the full sync loaded");
    assert_eq!(rc.cmd(&["exists", "before:7", "streamed", "own"]), int(3));
}

/// `repl-ping-replica-period`: the primary's pings keep an idle link
/// within the replica's `repl-timeout`; pings rarer than the timeout let
/// the replica drop the link and continue with a partial resync.
#[test]
fn ping_period_keeps_an_idle_link_alive() {
    for (period, survives) in [("1", true), ("10", false)] {
        let p = primary(&["--save", "", "--repl-ping-replica-period", period]);
        let r = replica_of(p.port, &["--save", "", "--repl-timeout", "2"]);
        assert_converged(&p, &[&r]);
        let before = stat(&p, "sync_partial_ok");
        std::thread::sleep(Duration::from_millis(4500));
        let after = stat(&p, "sync_partial_ok");
        assert_eq!(after == before, survives, "period {period}: partial resyncs {before} -> {after}");
    }
}

/// `repl-backlog-ttl`: once its replicas are gone for that long, the
/// primary frees the backlog and starts a new replication ID, as Redis.
#[test]
fn backlog_freed_after_ttl_without_replicas() {
    let p = primary(&["--save", "", "--repl-backlog-ttl", "1"]);
    let replid = {
        let r = replica_of(p.port, &["--save", ""]);
        assert_converged(&p, &[&r]);
        assert_eq!(offset(&p, "repl_backlog_active"), "1");
        offset(&p, "master_replid")
    };
    assert!(eventually(SYNC, || offset(&p, "repl_backlog_active") == "0"), "the backlog outlived repl-backlog-ttl");
    assert_ne!(offset(&p, "master_replid"), replid);
    assert_eq!(offset(&p, "master_replid2"), "0000000000000000000000000000000000000000");
}

/// `propagation-error-behavior`: a command from the primary that fails on
/// the replica (its data parted from the primary's) is logged as Redis
/// logs it; with `panic` the replica stops instead of serving it.
#[test]
fn propagation_errors_are_logged_or_stop_the_replica() {
    for behavior in ["ignore", "panic"] {
        let p = primary(&["--save", ""]);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("replica.log");
        let mut r =
            replica_of(p.port, &["--save", "", "--replica-read-only", "no", "--propagation-error-behavior", behavior, "--logfile", log.to_str().unwrap()]);
        assert_converged(&p, &[&r]);
        // The replica's own write makes `k` a list there; the primary's
        // INCR then fails on it.
        assert_eq!(r.conn().cmd(&["rpush", "k", "a"]), int(1));
        assert_eq!(p.conn().cmd(&["incr", "k"]), int(1));
        let critical = "== CRITICAL == This replica is sending an error to its master: 'WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'incr'";
        assert!(
            eventually(SYNC, || std::fs::read_to_string(&log).is_ok_and(|t| t.contains(critical))),
            "{behavior}: no CRITICAL line in {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if behavior == "panic" {
            assert!(r.wait_exit(SYNC), "the replica kept serving after a propagation error");
        } else {
            assert_eq!(r.conn().cmd(&["ping"]), simple("PONG"));
        }
    }
}

/// `replica-ignore-disk-write-errors`: a replica whose saves fail refuses
/// its own clients with -MISCONF (PING too) and, on its primary's next
/// write, stops by default or, with `yes`, applies it and logs that it
/// does; as Redis 7.0 does, checked on both.
#[test]
fn a_replica_that_cannot_persist_stops_or_applies_as_configured() {
    let mut refusals = Vec::new();
    for kind in ["ferrokv", "redis"] {
        let start = |args: &[&str]| if kind == "redis" { Node::redis(args) } else { Node::ferrokv(args) };
        for ignore in ["yes", "no"] {
            let p = start(&["--save", ""]);
            let logs = tempfile::tempdir().unwrap();
            let log = logs.path().join("replica.log");
            let port = p.port.to_string();
            let args =
                ["--save", "3600 1", "--replicaof", "127.0.0.1", &port, "--replica-ignore-disk-write-errors", ignore, "--logfile", log.to_str().unwrap()];
            let mut r = start(&args);
            assert_eq!(p.conn().cmd(&["set", "a", "1"]), simple("OK"));
            assert!(eventually(SYNC, || r.conn().cmd(&["get", "a"]) == bulk("1")), "{kind}: the replica never synced");
            // A directory where the dump goes (the sync may have left a
            // file there) makes the save fail, even as root.
            let dump = r.dir.path().join("dump.rdb");
            let _ = std::fs::remove_file(&dump);
            std::fs::create_dir(&dump).unwrap();
            let mut c = r.conn();
            assert_eq!(c.cmd(&["bgsave"]), simple("Background saving started"), "{kind}");
            assert!(eventually(WAIT, || info_field(&mut c, "persistence", "rdb_last_bgsave_status") == "err"), "{kind}");
            assert!(eventually(WAIT, || info_field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0"), "{kind}");
            refusals.push(c.cmd(&["ping"]));
            assert_eq!(p.conn().cmd(&["set", "b", "1"]), simple("OK"));
            let logged = |line: &str| eventually(SYNC, || std::fs::read_to_string(&log).is_ok_and(|t| t.contains(line)));
            if ignore == "yes" {
                assert!(eventually(SYNC, || r.conn().cmd(&["get", "b"]) == bulk("1")), "{kind}: the write was not applied");
                assert!(logged("Replica is applying a command even though it is unable to write to disk."), "{kind}");
            } else {
                assert!(r.wait_exit(SYNC), "{kind}: the replica applied a write it could not persist");
                assert!(logged("Guru Meditation: Replica was unable to write command to disk."), "{kind}");
            }
        }
    }
    assert!(matches!(&refusals[0], ferrokv_resp::Frame::Error(e) if e.starts_with(b"MISCONF")), "{:?}", refusals[0]);
    assert!(refusals.iter().all(|r| *r == refusals[0]), "PING on the replica: {refusals:?}");
}

/// Shutting down with a replica behind: writes pause and the primary waits
/// (up to `shutdown-timeout`) until the replica has acknowledged
/// everything, so what it acknowledged survives the failover that follows a
/// planned restart. The link is held while the primary is asked to stop;
/// it must still be running a while later, and exit once the replica
/// caught up.
#[test]
fn shutdown_waits_for_lagging_replicas() {
    for how in ["sigterm", "shutdown"] {
        let mut p = primary(&["--save", "", "--shutdown-timeout", "60"]);
        let proxy = Proxy::start(p.port);
        let r = replica_of(proxy.port, &["--save", ""]);
        assert_converged(&p, &[&r]);
        proxy.pause(true);
        let mut c = p.conn();
        for i in 0..50 {
            assert_eq!(c.cmd(&["set", &format!("k{i}"), "v"]), simple("OK"));
        }
        match how {
            "sigterm" => unsafe {
                libc::kill(p.pid() as i32, libc::SIGTERM);
            },
            _ => c.send(&[b"shutdown", b"nosave"]),
        }
        assert!(!p.wait_exit(Duration::from_millis(1500)), "{how}: the primary left its replica behind");
        let mut other = p.conn();
        other.send(&[b"set", b"late", b"v"]);
        proxy.pause(false);
        assert!(p.wait_exit(SYNC), "{how}: the primary did not exit");
        if how == "shutdown" {
            assert!(c.read_to_close().is_empty(), "SHUTDOWN answers nothing when it succeeds");
        }
        // Writes were paused during the wait: the late SET never ran.
        assert_eq!(r.conn().cmd(&["dbsize"]), int(50), "{how}: the replica missed acknowledged writes");
    }
}

/// SHUTDOWN NOW does not wait; a replica that never answers is waited for
/// only `shutdown-timeout` seconds, and named in the log.
#[test]
fn shutdown_now_and_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("primary.log");
    let mut p = primary(&["--save", "", "--shutdown-timeout", "1", "--logfile", log.to_str().unwrap()]);
    let proxy = Proxy::start(p.port);
    let r = replica_of(proxy.port, &["--save", ""]);
    assert_converged(&p, &[&r]);
    proxy.pause(true);
    assert_eq!(p.conn().cmd(&["set", "k", "v"]), simple("OK"));
    let mut c = p.conn();
    c.send(&[b"shutdown", b"nosave"]);
    c.read_to_close();
    assert!(p.wait_exit(SYNC));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(" # Lagging replica 127.0.0.1:"), "{text}");

    let mut p = primary(&["--save", "", "--shutdown-timeout", "3600"]);
    let proxy = Proxy::start(p.port);
    let _r = replica_of(proxy.port, &["--save", ""]);
    assert!(eventually(SYNC, || offset(&p, "connected_slaves") == "1"));
    proxy.pause(true);
    assert_eq!(p.conn().cmd(&["set", "k", "v"]), simple("OK"));
    let mut c = p.conn();
    c.send(&[b"shutdown", b"nosave", b"now"]);
    c.read_to_close();
    assert!(p.wait_exit(SYNC), "SHUTDOWN NOW waited");
}

/// Diskless full syncs (`repl-diskless-sync yes`, the default): replicas
/// asking within `repl-diskless-sync-delay` share one streamed snapshot,
/// which starts early once `repl-diskless-sync-max-replicas` have asked;
/// a sync through a file (`no`) still works.
#[test]
fn diskless_sync_shares_one_snapshot() {
    // A delay no test waits for: only the replica count can start it.
    let p = primary(&["--save", "", "--repl-diskless-sync-delay", "600", "--repl-diskless-sync-max-replicas", "2"]);
    let mut c = p.conn();
    for i in 0..2000 {
        c.cmd(&["set", &format!("k{i}"), "v"]);
    }
    let r1 = replica_of(p.port, &["--save", ""]);
    let r2 = replica_of(p.port, &["--save", ""]);
    assert_converged(&p, &[&r1, &r2]);
    assert_eq!(r1.conn().cmd(&["dbsize"]), int(2000));
    // Had the second replica not joined the first one's snapshot, it would
    // wait for a second replica that never comes (or the 600 s).
    assert_eq!(stat(&p, "sync_full"), 2);
    assert!(!std::fs::read_dir(p.dir.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("temp-")), "no snapshot file");

    let p = primary(&["--save", "", "--repl-diskless-sync", "no"]);
    p.conn().cmd(&["set", "k", "v"]);
    let r = replica_of(p.port, &["--save", ""]);
    assert_converged(&p, &[&r]);
    assert_eq!(r.conn().cmd(&["get", "k"]), bulk("v"));
}

/// PUBLISH and SPUBLISH reach a replica's subscribers (Redis propagates
/// them to replicas), and never the AOF; a replica's client-side caching
/// readers hear of the primary's writes.
#[test]
fn publish_and_invalidations_reach_replica_clients() {
    let p = primary(&["--save", "", "--appendonly", "yes"]);
    let r = replica_of(p.port, &["--save", ""]);
    assert!(eventually(SYNC, || offset(&p, "connected_slaves") == "1" && !offset(&p, "slave0").contains("state=wait")));
    let mut sub = r.conn();
    sub.send(&[b"subscribe", b"news"]);
    sub.read();
    sub.send(&[b"ssubscribe", b"orders"]);
    sub.read();
    let mut reader = r.conn();
    reader.cmd(&["hello", "3"]);
    reader.cmd(&["client", "tracking", "on"]);
    reader.cmd(&["get", "cached"]);
    let mut c = p.conn();
    assert_eq!(c.cmd(&["publish", "news", "hello"]), int(0));
    assert_eq!(c.cmd(&["spublish", "orders", "o1"]), int(0));
    c.cmd(&["set", "cached", "v"]);
    assert_eq!(sub.read(), ferrokv_resp::Frame::Array(vec![bulk("message"), bulk("news"), bulk("hello")]));
    assert_eq!(sub.read(), ferrokv_resp::Frame::Array(vec![bulk("smessage"), bulk("orders"), bulk("o1")]));
    assert!(format!("{:?}", reader.read()).contains("cached"));
    // The AOF holds the write and not the messages.
    let aof = std::fs::read_dir(p.dir.path().join("appendonlydir")).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect::<Vec<_>>().concat();
    let aof = String::from_utf8_lossy(&aof);
    assert!(aof.contains("cached") && !aof.contains("publish") && !aof.contains("PUBLISH"), "{aof}");
}
