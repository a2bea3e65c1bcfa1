//! Real clients and tools against ferrokv: redis-rs and redis-benchmark.
//! (The redis-py suite lives in tests/py and runs from scripts/test.)

mod common;
use common::*;
use std::process::Command;

#[test]
fn redis_rs_client_works_unchanged() {
    let node = Node::ferrokv(&[]);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", node.port)).unwrap();
    let mut con = client.get_connection_with_timeout(WAIT).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg(42).query(&mut con).unwrap();
    let v: i64 = redis::cmd("INCRBY").arg("k").arg(8).query(&mut con).unwrap();
    assert_eq!(v, 50);
    let (a, b): (String, Option<String>) = redis::pipe().cmd("GET").arg("k").cmd("GET").arg("missing").query(&mut con).unwrap();
    assert_eq!((a.as_str(), b), ("50", None));
    let (x, y): (i64, i64) = redis::pipe().atomic().cmd("INCR").arg("t").cmd("INCR").arg("t").query(&mut con).unwrap();
    assert_eq!((x, y), (1, 2));
    let err = redis::cmd("INCR").arg("k").arg("extra").query::<i64>(&mut con).unwrap_err();
    assert!(err.to_string().contains("wrong number of arguments"), "{err}");
    // Pub/sub through the client's own machinery.
    let mut sub_con = client.get_connection_with_timeout(WAIT).unwrap();
    sub_con.set_read_timeout(Some(WAIT)).unwrap();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.subscribe("news").unwrap();
    let n: i64 = redis::cmd("PUBLISH").arg("news").arg("hello").query(&mut con).unwrap();
    assert_eq!(n, 1);
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "news");
    assert_eq!(msg.get_payload::<String>().unwrap(), "hello");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    let Some(bench) = which("redis-benchmark") else { panic!("redis-benchmark is not installed: run .ci/run or apt-get install redis-tools") };
    let node = Node::ferrokv(&[]);
    let out =
        Command::new(bench).args(["-p", &node.port.to_string(), "-t", "ping,set,get,incr,mset", "-P", "16", "-n", "20000", "-c", "20", "-q"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-benchmark failed: {stdout}{stderr}");
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"] {
        assert!(stdout.contains(&format!("{test}: ")), "no result for {test}: {stdout}");
    }
    assert!(!stdout.to_lowercase().contains("error") && !stderr.to_lowercase().contains("error"), "{stdout}{stderr}");
    let mut c = node.conn();
    let info = c.cmd(&["info", "stats"]);
    let text = String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap();
    assert!(text.contains("total_error_replies:0\r\n"), "errors during the benchmark: {text}");
}

/// The calling client's own line (CLIENT INFO, and CLIENT LIST ID naming
/// itself) carries what Redis 7.0 reports: the request in its query buffer,
/// its arguments' bytes, the reply buffer's size and peak, the command.
#[test]
fn the_callers_own_client_line_matches_redis() {
    let pair = Pair::new(&[]);
    let fields = |line: &str| -> Vec<String> {
        let keep = ["qbuf", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "events", "cmd", "multi", "resp", "flags", "db"];
        line.split_whitespace().filter(|kv| keep.iter().any(|k| kv.split('=').next() == Some(*k))).map(String::from).collect()
    };
    let (mut a, mut b) = (pair.ours.conn(), pair.redis.conn());
    let text = |f: ferrokv_resp::Frame| String::from_utf8_lossy(f.as_bytes().expect("a string")).into_owned();
    let (la, lb) = (text(a.cmd(&["client", "info"])), text(b.cmd(&["client", "info"])));
    assert_eq!(fields(&la), fields(&lb), "\n{la}\n{lb}");
    let id = |c: &mut Conn| match c.cmd(&["client", "id"]) {
        ferrokv_resp::Frame::Integer(n) => n.to_string(),
        other => panic!("{other:?}"),
    };
    let (ia, ib) = (id(&mut a), id(&mut b));
    let (la, lb) = (text(a.cmd(&["client", "list", "id", &ia])), text(b.cmd(&["client", "list", "id", &ib])));
    assert_eq!(fields(&la), fields(&lb), "\n{la}\n{lb}");
}

/// Other clients' lines carry live values as Redis 7.0's do: a client
/// blocked in BLPOP keeps its arguments (`argv-mem`), and a subscriber that
/// does not read has its messages waiting in its buffer (`obl`, up to
/// 16 KiB) and in 16 KiB blocks (`oll`, `omem`), counted in `tot-mem`,
/// with `events=rw`.
#[test]
fn other_clients_lines_show_blocked_arguments_and_unsent_output() {
    let pair = Pair::new(&[]);
    let field = |line: &str, key: &str| -> String {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('='))).unwrap_or_default().to_string()
    };
    let line_of = |c: &mut Conn, name: &str| -> String {
        let list = String::from_utf8_lossy(c.cmd(&["client", "list"]).as_bytes().expect("a string")).into_owned();
        list.lines().find(|l| l.contains(&format!(" name={name} "))).unwrap_or_default().to_string()
    };
    for n in [&pair.ours, &pair.redis] {
        let mut blocked = n.conn();
        blocked.cmd(&["client", "setname", "blocked"]);
        blocked.send(&[b"blpop", b"somelist", b"0"]);
        let mut sub = n.conn();
        sub.cmd(&["client", "setname", "sub"]);
        sub.send(&[b"subscribe", b"ch"]);
        let mut c = n.conn();
        assert!(eventually(WAIT, || field(&line_of(&mut c, "blocked"), "flags") == "b"), "{}", n.kind);
        assert_eq!(field(&line_of(&mut c, "blocked"), "argv-mem"), "14", "{}: blpop somelist 0", n.kind);
        let message = vec![b'x'; 10_000];
        // More than the sockets' buffers hold: the rest waits in the server.
        for _ in 0..3000 {
            c.send(&[b"publish", b"ch", &message]);
        }
        for _ in 0..3000 {
            c.read();
        }
        let line = line_of(&mut c, "sub");
        let num = |key: &str| field(&line, key).parse::<u64>().unwrap_or_else(|_| panic!("{}: {key} in {line}", n.kind));
        assert!(num("obl") <= 16384, "{}: {line}", n.kind);
        assert!(num("oll") > 100 && num("omem") > 1_000_000, "{}: {line}", n.kind);
        assert!(num("tot-mem") >= num("omem"), "{}: {line}", n.kind);
        assert_eq!(field(&line, "events"), "rw", "{}: {line}", n.kind);
        let id = field(&line_of(&mut c, "blocked"), "id");
        assert_eq!(c.cmd(&["client", "unblock", &id]), int(1));
        blocked.read();
        assert_eq!(field(&line_of(&mut c, "blocked"), "argv-mem"), "0", "{}: unblocked", n.kind);
        drop(sub);
    }
}
