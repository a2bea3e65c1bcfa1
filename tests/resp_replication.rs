//! Redis's own replication protocol (SYNC/PSYNC over RESP) between a
//! ferrokv primary and Debian's redis-server 7.0 and redis-cli: a Redis
//! replica follows ferrokv under load and through faults, continues
//! partially after a cut, counts for WAIT beside a gRPC replica; the
//! stream is byte for byte Redis's; `redis-cli --rdb`, `--functions-rdb`
//! and `--replica` work as against Redis.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::repl::*;
use common::*;

fn ferrokv_primary(extra: &[&str]) -> Node {
    let mut args = vec!["--enable-debug-command", "yes", "--save", ""];
    args.extend_from_slice(extra);
    Node::ferrokv(&args)
}

fn redis_replica_of(port: u16, extra: &[&str]) -> Node {
    let p = port.to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", p.as_str(), "--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    Node::redis(&args)
}

fn field(n: &Node, section: &str, name: &str) -> String {
    info_field(&mut n.conn(), section, name)
}

#[test]
fn redis_replica_follows_ferrokv_under_writes() {
    let p = ferrokv_primary(&[]);
    populate_every_encoding(&mut p.conn());
    random_writes(p.port, 1, 1500);
    let r = redis_replica_of(p.port, &[]);
    // Writes while it syncs, and after.
    random_writes(p.port, 2, 3000);
    assert_converged(&p, &[&r]);
    assert_eq!(field(&r, "replication", "master_repl_offset"), field(&p, "replication", "master_repl_offset"));
    let line = field(&p, "replication", "slave0");
    assert!(line.starts_with(&format!("ip=127.0.0.1,port={},state=online,offset=", r.port)), "{line}");
    match p.conn().cmd(&["role"]) {
        ferrokv_resp::Frame::Array(role) => assert!(format!("{:?}", role[2]).contains(&r.port.to_string()), "ROLE lists the Redis replica: {role:?}"),
        other => panic!("ROLE: {other:?}"),
    }
}

#[test]
fn redis_replica_continues_partially_through_cuts_and_stalls() {
    let p = ferrokv_primary(&["--repl-ping-replica-period", "1"]);
    let proxy = Proxy::start(p.port);
    let r = redis_replica_of(proxy.port, &["--repl-timeout", "3"]);
    assert!(eventually(SYNC, || field(&r, "replication", "master_link_status") == "up"), "the Redis replica never synced");
    let load = Load::start(p.port, 300);
    inject_faults(&proxy, 11, 8, 100..400);
    proxy.cut();
    load.finish();
    assert_converged(&p, &[&r]);
    assert!(stat(&p, "sync_partial_ok") >= 1, "a Redis replica reconnecting within the backlog continues with PSYNC");
}

#[test]
fn wait_and_min_replicas_count_redis_and_ferrokv_replicas_alike() {
    let p = ferrokv_primary(&[]);
    let port = p.port.to_string();
    let ours = Node::ferrokv(&["--enable-debug-command", "yes", "--replicaof", "127.0.0.1", &port]);
    let theirs = redis_replica_of(p.port, &[]);
    let online = || (0..2).all(|i| field(&p, "replication", &format!("slave{i}")).contains("state=online"));
    assert!(eventually(SYNC, online), "both replicas online");
    let mut c = p.conn();
    for i in 0..50 {
        c.cmd(&["set", &format!("k{i}"), "v"]);
    }
    assert_eq!(c.cmd(&["wait", "2", "10000"]), int(2), "WAIT counts both kinds of replica");
    assert_converged(&p, &[&ours, &theirs]);
    c.cmd(&["config", "set", "min-replicas-to-write", "2"]);
    assert_eq!(c.cmd(&["set", "x", "1"]), simple("OK"));
    drop(theirs);
    let refused = eventually(Duration::from_secs(20), || matches!(p.conn().cmd(&["set", "x", "2"]), ferrokv_resp::Frame::Error(_)));
    assert!(refused, "with the Redis replica gone, min-replicas-to-write 2 refuses writes");
}

/// Starts a raw replica: REPLCONF, then SYNC; returns the connection
/// after the snapshot, with the snapshot's bytes.
fn raw_sync(port: u16, replconf: &[&[&str]]) -> (TcpStream, Vec<u8>) {
    let mut c = Conn::connect(port);
    for args in replconf {
        assert_eq!(c.cmd(args), simple("OK"), "{args:?}");
    }
    c.send_raw(b"SYNC\r\n");
    let mut s = c.stream;
    let mut buf = Vec::new();
    let deadline = Instant::now() + SYNC;
    // Newlines first (keepalives), then `$EOF:<mark>\r\n`, the RDB, the mark.
    let rdb = loop {
        assert!(Instant::now() < deadline, "no snapshot: {buf:?}");
        let mut chunk = [0u8; 65536];
        let n = s.read(&mut chunk).expect("read the snapshot");
        assert!(n > 0, "closed during the snapshot");
        buf.extend_from_slice(&chunk[..n]);
        let start = buf.iter().position(|b| *b != b'\n').unwrap_or(buf.len());
        let body = &buf[start..];
        if body.len() >= 47 && body.starts_with(b"$EOF:") {
            let mark = &body[5..45];
            if body.len() >= 87 && &body[body.len() - 40..] == mark {
                break body[47..body.len() - 40].to_vec();
            }
        }
    };
    (s, rdb)
}

/// Reads the stream until `end` arrives; PINGs (timing) left out and
/// absolute expiry times blanked. Acks every 100 ms meanwhile, as a replica
/// does every second (Redis starts the stream on the first ack after the
/// transfer).
fn stream_until(s: &mut TcpStream, end: &[u8]) -> String {
    s.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let mut buf = Vec::new();
    let deadline = Instant::now() + SYNC;
    while !buf.windows(end.len()).any(|w| w == end) {
        assert!(Instant::now() < deadline, "the stream never brought the end mark: {}", String::from_utf8_lossy(&buf));
        let mut chunk = [0u8; 65536];
        match s.read(&mut chunk) {
            Ok(0) => panic!("stream closed; so far: {}", String::from_utf8_lossy(&buf)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                s.write_all(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n").expect("ack");
            }
            Err(e) => panic!("reading the stream: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&buf).replace("*1\r\n$4\r\nping\r\n", "");
    let pxat = regex_free_blank(&text, "PXAT\r\n$13\r\n");
    let pexpireat = regex_free_blank(&pxat, "PEXPIREAT\r\n$1\r\nk\r\n$13\r\n");
    // A delivery's time, and the time part of a `*` stream ID.
    let time = regex_free_blank(&pexpireat, "TIME\r\n$13\r\n");
    regex_free_blank(&time, "xadd\r\n$4\r\nauto\r\n$15\r\n")
}

/// Blanks the 13 digits after each `marker`.
fn regex_free_blank(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i + marker.len()]);
        out.push_str("<ms>");
        rest = &rest[(i + marker.len() + 13).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_stream_is_byte_for_byte_redis() {
    let script: &[&[&str]] = &[
        &["set", "a", "1"],
        &["select", "3"],
        &["set", "b", "2"],
        &["multi"],
        &["incr", "n"],
        &["hset", "h", "f", "v"],
        &["exec"],
        &["SeT", "d", "1"],
        &["select", "0"],
        &["set", "c", "1", "ex", "100"],
        &["set", "k", "v"],
        &["expire", "k", "100"],
        &["lpush", "l", "a", "b", "c"],
        &["rpop", "l"],
        &["sadd", "s", "x"],
        &["spop", "s"],
        &["blpop", "l", "0"],
        &["getdel", "a"],
        &["incrbyfloat", "f", "1.5"],
        &["hincrbyfloat", "h", "g", "2.5"],
        &["getex", "k", "persist"],
        &["getex", "k", "ex", "50"],
        &["set", "k", "w", "get"],
        &["setex", "e", "100", "v"],
        &["psetex", "e2", "100000", "v"],
        &["expire", "e", "-1"],
        &["persist", "e2"],
        &["mset", "m1", "1", "m2", "2"],
        &["rename", "m1", "m3"],
        &["copy", "m3", "m4"],
        &["lmove", "l", "l2", "left", "right"],
        &["rpush", "l", "z"],
        &["brpoplpush", "l", "l3", "0"],
        &["zadd", "z", "1", "a", "2", "b"],
        &["zpopmin", "z"],
        &["bzpopmax", "z", "0"],
        &["pfadd", "hll", "a", "b"],
        &["setrange", "sr", "3", "x"],
        &["append", "sr", "y"],
        &["bitfield", "bf", "set", "u8", "0", "200", "get", "u8", "0"],
        &["sort", "l2", "alpha", "store", "sorted"],
        &["zunionstore", "zu", "1", "z"],
        &["publish", "news", "hello"],
        &["spublish", "orders", "o1"],
        &["geoadd", "geo", "ch", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        &["geoadd", "geo", "xx", "13.361389", "38.115556", "Palermo"],
        &["georadius", "geo", "15", "37", "200", "km", "storedist", "gd"],
        &["georadius_ro", "geo", "15", "37", "200", "km"],
        &["geosearchstore", "gs", "geo", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "count", "1"],
        &["xadd", "auto", "*", "f", "v"],
        &["xadd", "x", "1-1", "a", "1"],
        &["xadd", "x", "1-*", "a", "2"],
        &["xadd", "x", "maxlen", "~", "1", "limit", "5", "2-1", "a", "3"],
        &["xadd", "x", "maxlen", "=", "2", "3-1", "a", "4"],
        &["xtrim", "x", "minid", "~", "3"],
        &["xtrim", "x", "minid", "2-2"],
        &["xgroup", "create", "x", "g", "0"],
        &["xreadgroup", "group", "g", "alice", "count", "1", "streams", "x", ">"],
        &["xreadgroup", "group", "g", "bob", "noack", "streams", "x", ">"],
        &["xreadgroup", "group", "g", "alice", "streams", "x", "0"],
        &["xclaim", "x", "g", "carol", "0", "3-1", "justid"],
        &["xclaim", "x", "g", "carol", "0", "9-9", "lastid", "9-9"],
        &["xautoclaim", "x", "g", "dave", "0", "0"],
        &["xack", "x", "g", "3-1"],
        &["xgroup", "createconsumer", "x", "g", "erin"],
        &["xgroup", "delconsumer", "x", "g", "erin"],
        &["xgroup", "setid", "x", "g", "0", "entriesread", "0"],
        &["xdel", "x", "3-1"],
        &["xsetid", "x", "5-5"],
        &["xgroup", "destroy", "x", "g"],
        &["eval", "redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', 'n')", "1", "ev", "x"],
        &["unlink", "ev"],
        &["del", "nosuchkey"],
        &["swapdb", "0", "1"],
        &["select", "1"],
        &["flushdb"],
        &["wait", "1", "50"],
        &["flushall"],
        &["set", "end", "1"],
    ];
    let mut streams = Vec::new();
    let p = ferrokv_primary(&["--repl-ping-replica-period", "3600"]);
    let r = Node::redis(&["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"]);
    for port in [p.port, r.port] {
        let (mut s, rdb) = raw_sync(port, &[&["replconf", "capa", "eof"], &["replconf", "rdb-filter-only", ""]]);
        assert!(rdb.starts_with(b"REDIS0010"), "an RDB 10 header");
        let mut c = Conn::connect(port);
        for args in script {
            c.cmd(args);
        }
        streams.push(stream_until(&mut s, b"$3\r\nend\r\n$1\r\n1\r\n"));
    }
    assert_eq!(streams[0], streams[1], "left: ferrokv's stream, right: Redis's");
}

#[test]
fn replconf_and_sync_answer_as_redis() {
    let pair = Pair::new(&[]);
    let long_ip = "a".repeat(300);
    let cases: &[&[&str]] = &[
        &["replconf"],
        &["replconf", "a"],
        &["replconf", "listening-port", "x"],
        &["replconf", "listening-port", "6380", "capa", "eof", "capa", "psync2"],
        &["replconf", "rdb-only", "2"],
        &["replconf", "rdb-only", "x"],
        &["replconf", "rdb-only", "1"],
        &["replconf", "rdb-filter-only", "foo"],
        &["replconf", "rdb-filter-only", "functions"],
        &["replconf", "rdb-filter-only", "a b"],
        &["replconf", "rdb-filter-only", "\"a"],
        &["replconf", "capa", "foo"],
        &["replconf", "foo", "bar"],
        &["replconf", "ip-address", &long_ip],
        &["psync"],
        &["psync", "a"],
        &["sync", "x"],
    ];
    for args in cases {
        let (a, b) = (pair.ours.conn().cmd(args), pair.redis.conn().cmd(args));
        assert_eq!(a, b, "{args:?} (left: ferrokv, right: redis)");
    }
    // ACK from a client that is not a replica, and GETACK to a primary:
    // no reply at all (the PING after answers first).
    for n in [&pair.ours, &pair.redis] {
        let mut c = n.conn();
        c.send(&[b"replconf", b"ack", b"5"]);
        c.send(&[b"replconf", b"getack", b"*"]);
        assert_eq!(c.cmd(&["ping"]), simple("PONG"));
        // A filtered sync needs `capa eof`; SYNC inside MULTI is refused.
        c.cmd(&["replconf", "rdb-filter-only", ""]);
        let refused = c.cmd(&["sync"]);
        assert_eq!(refused, err("ERR Filtered replica requires EOF capability"), "{}", n.kind);
        c.cmd(&["multi"]);
        assert_eq!(c.cmd(&["psync", "?", "-1"]), err("ERR Command not allowed inside a transaction"), "{}", n.kind);
    }
}

/// Runs redis-cli with `args` against `port`, bounded.
fn redis_cli(port: u16, args: &[&str]) -> std::process::Output {
    let bin = which("redis-cli").expect("redis-cli is not installed: run .ci/run or apt-get install redis-tools");
    let mut child =
        Command::new(bin).arg("-p").arg(port.to_string()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn redis-cli");
    let deadline = Instant::now() + SYNC;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("redis-cli output");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-cli {args:?} did not finish");
}

fn check_rdb(path: &std::path::Path) {
    let bin = which("redis-check-rdb").expect("redis-check-rdb is not installed");
    let out = Command::new(bin).arg(path).output().expect("run redis-check-rdb");
    assert!(out.status.success(), "redis-check-rdb refused {}: {}", path.display(), String::from_utf8_lossy(&out.stdout));
}

#[test]
fn redis_cli_rdb_and_functions_rdb_make_backups_redis_loads() {
    let p = ferrokv_primary(&[]);
    let mut c = p.conn();
    populate_every_encoding(&mut c);
    c.cmd(&["set", "ttl", "v", "ex", "1000"]);
    let lib = "#!lua name=backup\nredis.register_function('one', function() return 1 end)";
    assert_eq!(c.cmd(&["function", "load", lib]), bulk("backup"));
    let dir = tempfile::tempdir().expect("temp dir");
    let (full, functions) = (dir.path().join("full.rdb"), dir.path().join("functions.rdb"));
    for (flag, path) in [("--rdb", &full), ("--functions-rdb", &functions)] {
        let out = redis_cli(p.port, &[flag, path.to_str().expect("utf-8 path")]);
        assert!(out.status.success(), "redis-cli {flag}: {}", String::from_utf8_lossy(&out.stderr));
        check_rdb(path);
    }
    let dirname = dir.path().to_str().expect("utf-8 path");
    let loaded = Node::redis(&["--dir", dirname, "--dbfilename", "full.rdb", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&loaded), digest(&p), "Redis loads redis-cli --rdb's backup of ferrokv with every key");
    let only_functions = Node::redis(&["--dir", dirname, "--dbfilename", "functions.rdb"]);
    let mut f = only_functions.conn();
    assert_eq!(f.cmd(&["dbsize"]), int(0), "--functions-rdb holds no keys");
    assert_eq!(f.cmd(&["fcall", "one", "0"]), int(1), "--functions-rdb holds the libraries");
    // The transfer is over: the RDB-only replicas are gone.
    assert!(eventually(WAIT, || field(&p, "replication", "connected_slaves") == "0"));
}

#[test]
fn redis_cli_replica_shows_the_stream() {
    let p = ferrokv_primary(&[]);
    let bin = which("redis-cli").expect("redis-cli is not installed");
    let mut child = Command::new(bin)
        .args(["-p", &p.port.to_string(), "--replica"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-cli --replica");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Writes go on until one shows up: the first may land in the snapshot.
    let mut c = p.conn();
    let deadline = Instant::now() + SYNC;
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "redis-cli --replica never showed a write; it printed {seen:?}");
        c.cmd(&["rpush", "queue", "job"]);
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line == r#""rpush","queue","job""# => break,
            Ok(line) => seen.push(line),
            Err(_) => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn ferrokv_replica_of(port: u16, extra: &[&str]) -> Node {
    let p = port.to_string();
    let mut args = vec!["--enable-debug-command", "yes", "--save", "", "--replicaof", "127.0.0.1", p.as_str()];
    args.extend_from_slice(extra);
    Node::ferrokv(&args)
}

#[test]
fn ferrokv_replica_follows_a_redis_primary_under_writes() {
    let p = Node::redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    populate_every_encoding(&mut p.conn());
    random_writes(p.port, 3, 1500);
    let r = ferrokv_replica_of(p.port, &[]);
    random_writes(p.port, 4, 3000);
    assert_converged(&p, &[&r]);
    assert_eq!(field(&r, "replication", "master_host"), "127.0.0.1");
    assert!(field(&p, "replication", "slave0").starts_with(&format!("ip=127.0.0.1,port={},state=online", r.port)));
    let mut c = p.conn();
    c.cmd(&["set", "acked", "1"]);
    assert_eq!(c.cmd(&["wait", "1", "10000"]), int(1), "ferrokv answers Redis's REPLCONF GETACK");
    // Disk-based transfers ($<size>) too.
    p.conn().cmd(&["config", "set", "repl-diskless-sync", "no"]);
    let r2 = ferrokv_replica_of(p.port, &[]);
    assert_converged(&p, &[&r2]);
}

#[test]
fn ferrokv_replica_of_redis_continues_partially_after_cuts_and_a_restart() {
    let p = Node::redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"]);
    let proxy = Proxy::start(p.port);
    let mut r = ferrokv_replica_of(proxy.port, &["--repl-timeout", "3"]);
    assert!(eventually(SYNC, || field(&r, "replication", "master_link_status") == "up"), "never synced");
    let load = Load::start(p.port, 500);
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(300));
        proxy.cut();
    }
    load.finish();
    assert_converged(&p, &[&r]);
    assert!(stat(&p, "sync_partial_ok") >= 1, "ferrokv reconnects to Redis with PSYNC and continues");
    // A restart from its own dump continues too (the RDB keeps the history).
    let partial_before = stat(&p, "sync_partial_ok");
    let full_before = stat(&p, "sync_full");
    let proxy_port = proxy.port.to_string();
    let mut c = r.conn();
    let _ = c.try_cmd(&["shutdown", "save"]);
    assert!(r.wait_exit(WAIT), "the replica shut down");
    r.restart(&["--enable-debug-command", "yes", "--save", "", "--replicaof", "127.0.0.1", &proxy_port]);
    random_writes(p.port, 900, 300);
    assert_converged(&p, &[&r]);
    assert_eq!(stat(&p, "sync_full"), full_before, "no full sync after the restart");
    assert!(stat(&p, "sync_partial_ok") > partial_before);
}

/// A live migration: clients write to Redis, a ferrokv replica catches up,
/// writes pause, ferrokv is promoted, the clients move to it, and the old
/// Redis primary becomes its replica (the way back). No acknowledged write
/// is lost, and Redis continues partially from ferrokv.
#[test]
fn live_migration_from_redis_loses_no_acknowledged_write() {
    let old = Node::redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    populate_every_encoding(&mut old.conn());
    let new = ferrokv_replica_of(old.port, &[]);
    let target = Arc::new(std::sync::atomic::AtomicU16::new(old.port));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = acked_writer(target.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    // The switch-over, as docs/operations.md tells it.
    let mut o = old.conn();
    assert_eq!(o.cmd(&["client", "pause", "20000", "write"]), simple("OK"));
    let caught_up = eventually(SYNC, || field(&new, "replication", "slave_repl_offset") == field(&old, "replication", "master_repl_offset"));
    assert!(caught_up, "the ferrokv replica caught up with the paused primary");
    assert_eq!(new.conn().cmd(&["replicaof", "no", "one"]), simple("OK"));
    target.store(new.port, Ordering::Relaxed);
    let new_port = new.port.to_string();
    assert_eq!(o.cmd(&["replicaof", "127.0.0.1", &new_port]), simple("OK"));
    assert_eq!(o.cmd(&["client", "unpause"]), simple("OK"));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().expect("writer");
    assert!(acked.len() > 10, "the writers wrote before and after the switch ({} writes)", acked.len());
    assert_acked_present(new.port, &acked);
    assert_converged(&new, &[&old]);
    assert_eq!(stat(&new, "sync_full"), 0, "Redis continued partially from ferrokv's inherited history");
}

/// `repl-diskless-load swapdb` loads a full sync from memory: a replica
/// whose data directory is gone (no temp file can be made) still syncs,
/// from a ferrokv primary and from a Redis one; with `disabled` it cannot.
#[test]
fn diskless_load_needs_no_disk() {
    for primary_is_redis in [false, true] {
        let p = if primary_is_redis { Node::redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]) } else { ferrokv_primary(&[]) };
        populate_every_encoding(&mut p.conn());
        let port = p.port.to_string();
        let on_disk = Node::ferrokv(&["--save", ""]);
        let in_memory = Node::ferrokv(&["--save", "", "--repl-diskless-load", "swapdb", "--enable-debug-command", "yes"]);
        for r in [&on_disk, &in_memory] {
            std::fs::remove_dir_all(r.dir.path()).expect("remove the replica's dir");
            assert_eq!(r.conn().cmd(&["replicaof", "127.0.0.1", &port]), simple("OK"));
        }
        assert_converged(&p, &[&in_memory]);
        assert_eq!(field(&on_disk, "replication", "master_link_status"), "down", "without a directory a disk-based load cannot happen");
    }
}

/// A Redis replica restarted from its own dump (SHUTDOWN SAVE keeps the
/// history in it) continues partially from a ferrokv primary.
#[test]
fn a_restarted_redis_replica_continues_partially() {
    let p = ferrokv_primary(&[]);
    random_writes(p.port, 7, 1000);
    let mut r = redis_replica_of(p.port, &[]);
    assert_converged(&p, &[&r]);
    let dir = r.dir.path().to_str().expect("utf-8 path").to_string();
    let _ = r.conn().try_cmd(&["shutdown", "save"]);
    assert!(r.wait_exit(WAIT), "the Redis replica shut down");
    random_writes(p.port, 8, 500);
    let full = stat(&p, "sync_full");
    let again = redis_replica_of(p.port, &["--dir", &dir]);
    assert_converged(&p, &[&again]);
    assert_eq!(stat(&p, "sync_full"), full, "no second full sync");
    assert!(stat(&p, "sync_partial_ok") >= 1, "the restarted Redis replica continued with PSYNC");
}
