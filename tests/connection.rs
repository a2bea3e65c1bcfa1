//! Connection commands and authentication, compared with Redis 7.0.

mod common;
use common::*;
use std::io::Write;

#[test]
fn ping_echo_hello_select() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
ping
ping hello
ping a b
echo "with space"
echo
hello 4
hello abc
hello 3 foo
hello 2 setname "bad name"
select 1
select 0
auth foo
auth default foo
auth a b c
auth nobody pass
client setname ok-name
client getname
client setname "has space"
client setname ""
client getname
client reply foo
client no-evict on
client no-evict maybe
client getredir
client unblock 9999
client unblock abc
client pause abc
client pause -1
client kill 1.2.3.4:5
client kill id abc
client kill type foo
client kill foo bar
client kill id 99999
client kill user nobody
client list type foo
client foo
client
reset
"#,
    );
}

#[test]
fn requirepass_and_auth() {
    let pair = Pair::new(&["--requirepass", "s3cret"]);
    run_script(
        &pair,
        r#"
get x
ping
echo x
exec
multi
hello 3
hello 2 auth default wrong
auth wrong
auth default wrong
auth s3cret
get x
reset
get x
auth default s3cret
get x
"#,
    );
    // Before AUTH, large requests are refused at the protocol level.
    for node in [&pair.ours, &pair.redis] {
        let mut c = node.conn();
        c.send_raw(b"*11\r\n");
        assert_eq!(c.read(), err("ERR Protocol error: unauthenticated multibulk length"), "{}", node.kind);
        assert!(c.is_closed());
        let mut c = node.conn();
        c.send_raw(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
        assert_eq!(c.read(), err("ERR Protocol error: unauthenticated bulk length"), "{}", node.kind);
    }
}

#[test]
fn hello_reply_shape() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    let raw = c.cmd_raw(&[b"hello", b"3", b"setname", b"me"]);
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n"), "{text}");
    assert!(text.ends_with("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"), "{text}");
    assert_eq!(c.cmd(&["client", "getname"]), bulk("me"));
    // RESP3 types now.
    assert_eq!(c.cmd_raw(&[b"get", b"missing"]), b"_\r\n");
    assert_eq!(c.cmd(&["reset"]), simple("RESET"));
    assert_eq!(c.cmd_raw(&[b"get", b"missing"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["client", "getname"]), ferrokv_resp::Frame::NullBulk);
}

#[test]
fn hello_authenticates() {
    let node = Node::ferrokv(&["--requirepass", "pw"]);
    let mut c = node.conn();
    assert!(matches!(c.cmd(&["hello", "3", "auth", "default", "pw"]), ferrokv_resp::Frame::Map(_)));
    assert_eq!(c.cmd(&["get", "x"]), ferrokv_resp::Frame::Null);
}

#[test]
fn quit_closes_after_reply() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    c.send_raw(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(c.read_to_close(), b"+OK\r\n");
}

#[test]
fn client_list_kill_and_reply_modes() {
    let node = Node::ferrokv(&[]);
    let mut a = node.conn();
    let mut b = node.conn();
    assert_eq!(b.cmd(&["client", "setname", "victim"]), simple("OK"));
    let b_id = match b.cmd(&["client", "id"]) {
        ferrokv_resp::Frame::Integer(n) => n,
        other => panic!("{other:?}"),
    };
    let list = a.cmd(&["client", "list"]);
    let text = String::from_utf8(list.as_bytes().unwrap().to_vec()).unwrap();
    let line = text.lines().find(|l| l.contains("name=victim")).expect("victim listed");
    assert!(line.starts_with(&format!("id={b_id} addr=127.0.0.1:")), "{line}");
    for field in
        [" laddr=", " fd=", " age=", " idle=", " flags=N ", " db=0 ", " sub=0 psub=0 ssub=0 multi=-1 ", " cmd=client|id ", " user=default redir=-1 resp=2"]
    {
        assert!(line.contains(field), "missing {field} in {line}");
    }
    let info = a.cmd(&["client", "info"]);
    assert!(String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap().contains("cmd=client|info"));
    assert_eq!(a.cmd(&["client", "kill", "id", &b_id.to_string()]), int(1));
    assert!(b.is_closed(), "killed client still connected");
    // SKIPME yes (the default) spares the caller. Counted against the
    // caller's own id: a KILL TYPE normal may also find the harness's
    // start-up probe, closed on its side but not yet reaped by the server.
    let a_id = match a.cmd(&["client", "id"]) {
        ferrokv_resp::Frame::Integer(n) => n.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(a.cmd(&["client", "kill", "id", &a_id]), int(0), "SKIPME yes spares the caller");
    assert!(matches!(a.cmd(&["client", "kill", "type", "normal"]), ferrokv_resp::Frame::Integer(_)));
    assert_eq!(a.cmd(&["ping"]), simple("PONG"), "the caller survives KILL TYPE normal");
    // CLIENT REPLY OFF / SKIP.
    a.send(&[b"client", b"reply", b"off"]);
    a.send(&[b"set", b"x", b"1"]);
    a.send(&[b"client", b"reply", b"skip"]);
    a.send(&[b"client", b"reply", b"on"]);
    assert_eq!(a.read(), simple("OK"));
    a.send(&[b"client", b"reply", b"skip"]);
    a.send(&[b"get", b"x"]);
    assert_eq!(a.cmd(&["get", "x"]), bulk("1"));
}

#[test]
fn client_pause_holds_writes() {
    let node = Node::ferrokv(&[]);
    let mut admin = node.conn();
    let mut writer = node.conn();
    assert_eq!(admin.cmd(&["client", "pause", "300", "write"]), simple("OK"));
    let started = std::time::Instant::now();
    assert_eq!(writer.cmd(&["get", "k"]), ferrokv_resp::Frame::NullBulk, "reads pass a WRITE pause");
    assert_eq!(writer.cmd(&["set", "k", "v"]), simple("OK"));
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "write was not held");
    // A long WRITE pause is lifted by UNPAUSE (itself not a write; under a
    // PAUSE ALL, Redis 7.0 holds UNPAUSE too, and so do we).
    assert_eq!(admin.cmd(&["client", "pause", "60000", "write"]), simple("OK"));
    // EXEC of a transaction that only reads passes, as in Redis (held, it
    // would outlast the connection's read timeout).
    let mut tx = node.conn();
    assert_eq!(tx.cmd(&["multi"]), simple("OK"));
    assert_eq!(tx.cmd(&["get", "k"]), simple("QUEUED"));
    assert_eq!(tx.cmd(&["exec"]), ferrokv_resp::Frame::Array(vec![bulk("v")]));
    writer.send(&[b"set", b"k", b"w"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let released = std::time::Instant::now();
    assert_eq!(admin.cmd(&["client", "unpause"]), simple("OK"));
    assert_eq!(writer.read(), simple("OK"));
    assert!(released.elapsed() < std::time::Duration::from_secs(5));
}

/// Replies leave at the end of a round without waiting for any socket; a
/// client that does not read gets the rest from its own connection, which
/// waits for it (outbox's stalled path). Meanwhile others are served, and in
/// the end every reply arrives whole and in order.
#[test]
fn a_slow_reader_gets_every_reply_in_order() {
    let node = Node::ferrokv(&[]);
    let mut setup = node.conn();
    let big = "v".repeat(64 * 1024);
    assert_eq!(setup.cmd(&["set", "big", &big]), simple("OK"));
    let mut slow = node.conn();
    let mut writer = slow.stream.try_clone().expect("clone");
    // Small writes, so each batch answers well under the 1 MB a batch may
    // hold back, and the round's non-blocking writes are what fill the socket.
    let rounds = 40;
    let per_write = 10;
    let sender = std::thread::spawn(move || {
        let mut chunk = Vec::new();
        for _ in 0..per_write {
            chunk.extend_from_slice(&encode(&[b"get", b"big"]));
            chunk.extend_from_slice(&encode(&[b"incr", b"seq"]));
        }
        for _ in 0..rounds {
            writer.write_all(&chunk).expect("write");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    // ~25 MB of replies unread: the server still answers everyone else.
    let mut other = node.conn();
    for i in 0..200 {
        assert_eq!(other.cmd(&["incr", "other"]), int(i + 1));
    }
    sender.join().expect("sender");
    for n in 1..=(rounds * per_write) as i64 {
        assert_eq!(slow.read(), bulk(&big), "GET before INCR #{n}");
        assert_eq!(slow.read(), int(n), "INCR #{n} in order");
    }
}
