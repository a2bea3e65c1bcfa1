//! The wire: raw request bytes, including malformed ones, must get exactly
//! Redis 7.0's bytes back (and a close where Redis closes); pipelines are
//! answered in one write; limits on clients, idle time and sockets.

mod common;
use common::*;
use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

/// Sends `input`, half-closes, and returns everything until the server closes.
fn exchange(port: u16, input: &[u8]) -> Vec<u8> {
    let mut c = Conn::connect(port);
    c.stream.write_all(input).unwrap();
    c.stream.shutdown(Shutdown::Write).unwrap();
    c.read_to_close()
}

#[test]
fn raw_requests_match_redis_byte_for_byte() {
    let pair = Pair::new(&[]);
    let long_inline = "a".repeat(70 * 1024);
    let long_count = format!("*1{}", "1".repeat(70 * 1024));
    let long_bulk_count = format!("*1\r\n${}", "1".repeat(70 * 1024));
    let unknown_long = format!("foo {} b\r\n", "x".repeat(200));
    let pipeline = "PING\r\n".repeat(100);
    let cases: Vec<&[u8]> = vec![
        b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nPING\r\n",
        b"*x\r\n",
        b"*2\r\n+foo\r\n",
        b"*1\r\n$-5\r\n",
        b"ECHO \"abc\r\n",
        b"ECHO 'abc\r\n",
        b"ECHO \"a\"b\r\n",
        b"*0\r\nPING\r\n",
        b"*-1\r\nPING\r\n",
        b"\r\n\r\nPING\r\n",
        b"*1\r\n$4\r\nPINGxx\r\n",
        b"set a \"x\\x41\\n\" \r\nget a\r\n",
        b"echo 'it\\'s'\r\n",
        b"foo bar\r\n",
        unknown_long.as_bytes(),
        b"*3\r\n$3\r\nfoo\r\n$1\r\na\r\n$1\r\nb\r\n",
        b"PING\nPING\n",
        b"*1\n$4\r\nPING\r\n",
        b"*1\r\n$600000000\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$\r\n",
        b"*\r\n",
        b"*1\r\n$0\r\n\r\n",
        b"*2\r\n$3\r\nGET\r\n",
        b"*2\r\n$3\r\nSET\r\n$1\r\na\r\n",
        b"*3000000000\r\n",
        b"*1\r\n\r\n",
        long_inline.as_bytes(),
        long_count.as_bytes(),
        long_bulk_count.as_bytes(),
        pipeline.as_bytes(),
        b"GET\r\n",
        b"*1\r\n$4\r\nping\r\n*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n",
    ];
    for input in cases {
        let ours = exchange(pair.ours.port, input);
        let theirs = exchange(pair.redis.port, input);
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs), "input {:?}", String::from_utf8_lossy(&input[..input.len().min(80)]));
    }
}

#[test]
fn a_protocol_error_closes_only_that_connection() {
    let node = Node::ferrokv(&[]);
    let mut good = node.conn();
    good.cmd(&["set", "k", "v"]);
    let mut bad = node.conn();
    bad.send_raw(b"*1\r\n$-5\r\n");
    assert_eq!(bad.read(), err("ERR Protocol error: invalid bulk length"));
    assert!(bad.is_closed());
    assert_eq!(good.cmd(&["get", "k"]), bulk("v"));
}

fn stat(c: &mut Conn, name: &str) -> u64 {
    let info = c.cmd(&["info", "stats"]);
    let text = String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
}

#[test]
fn a_pipeline_in_one_read_is_answered_in_one_write() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    let writes_before = stat(&mut c, "total_writes_processed");
    let reads_before = stat(&mut c, "total_reads_processed");
    let mut batch = Vec::new();
    for i in 0..200 {
        batch.extend(encode(&[b"set", format!("k{i}").as_bytes(), b"v"]));
    }
    c.send_raw(&batch);
    for _ in 0..200 {
        assert_eq!(c.read(), simple("OK"));
    }
    let writes = stat(&mut c, "total_writes_processed") - writes_before;
    let reads = stat(&mut c, "total_reads_processed") - reads_before;
    // However the kernel splits the batch into reads, each read's requests
    // are answered with one write (the INFO calls add one read and write).
    // The counters are global: the harness's start-up probe counts its own
    // write just after its client got the reply, so it may land in our
    // window: one write of slack.
    assert!(writes <= reads + 1, "{writes} writes for {reads} reads of one pipelined batch");
    assert!(reads < 100, "{reads} reads for 200 requests sent in one write");
}

#[test]
fn maxclients_refuses_with_redis_error() {
    let node = Node::ferrokv(&["--maxclients", "2"]);
    let mut a = node.conn();
    // The harness's readiness probe may not have been reaped yet.
    assert!(eventually(WAIT, || {
        let info = a.cmd(&["info", "clients"]);
        String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap().contains("connected_clients:1\r\n")
    }));
    let mut b = node.conn();
    assert_eq!(b.cmd(&["ping"]), simple("PONG"));
    let mut c = node.conn();
    assert_eq!(c.read_to_close(), b"-ERR max number of clients reached\r\n");
    let info = a.cmd(&["info", "stats"]);
    assert!(String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap().contains("rejected_connections:1\r\n"));
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let node = Node::ferrokv(&["--timeout", "1"]);
    let mut idle = node.conn();
    assert_eq!(idle.cmd(&["ping"]), simple("PONG"));
    let mut subscriber = node.conn();
    subscriber.cmd(&["subscribe", "ch"]);
    idle.stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(idle.is_closed(), "idle client not closed");
    let mut admin = node.conn();
    assert_eq!(admin.cmd(&["publish", "ch", "still here"]), int(1), "subscribers are exempt from timeout");
}

#[test]
fn unix_socket_with_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("ferrokv.sock");
    let node = Node::ferrokv(&["--unixsocket", sock.to_str().unwrap(), "--unixsocketperm", "700"]);
    use std::os::unix::fs::PermissionsExt;
    assert!(eventually(WAIT, || sock.exists()));
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777, 0o700);
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let n = std::io::Read::read(&mut s, &mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.contains("flags=U "), "{text}");
    drop(node);
}

#[test]
fn big_values_arrive_intact() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    let value = vec![b'x'; 5 * 1024 * 1024];
    c.send(&[b"set", b"big", &value]);
    assert_eq!(c.read(), simple("OK"));
    assert_eq!(c.cmd(&["strlen", "big"]), int(value.len() as i64));
    let raw = c.cmd_raw(&[b"get", b"big"]);
    assert_eq!(raw.len(), value.len() + format!("${}\r\n\r\n", value.len()).len());
}

#[test]
fn query_buffer_limit_closes_the_client() {
    // Both servers log to one file: each must write Redis's line.
    let log = tempfile::NamedTempFile::new().unwrap();
    let pair = Pair::new(&["--client-query-buffer-limit", "1mb", "--logfile", log.path().to_str().unwrap()]);
    for node in [&pair.ours, &pair.redis] {
        let mut c = node.conn();
        c.send_raw(b"*2\r\n$3\r\nSET\r\n$3000000\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        let mut closed = false;
        for _ in 0..40 {
            if std::io::Write::write_all(&mut c.stream, &chunk).is_err() {
                closed = true;
                break;
            }
        }
        assert!(closed || c.is_closed(), "{} kept a client past client-query-buffer-limit", node.kind);
        let mut other = node.conn();
        assert_eq!(other.cmd(&["ping"]), simple("PONG"), "{}", node.kind);
    }
    let text = std::fs::read_to_string(log.path()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("Closing client that reached max query buffer length: id=")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in lines {
        // What the buffer starts with differs: ferrokv's parser has taken
        // the command's head off it already.
        assert!(l.contains(" # ") && l.contains(r#"(qbuf initial bytes: ""#) && l.ends_with(r#"")"#), "{l}");
    }
}
