//! Blocking list and sorted-set commands across connections, compared with
//! Redis 7.0: FIFO order, wake-ups from EXEC, no blocking inside MULTI,
//! timeouts, CLIENT UNBLOCK, keys that change type.

mod common;
use common::*;
use ferrokv_resp::Frame;
use std::time::{Duration, Instant};

#[test]
fn fifo_wakeups_and_transactions() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
>@1 blpop l 0
!sleep 50
>@2 blpop l 0
!sleep 50
@0 rpush l a b c
@1 !read
@2 !read
@0 lrange l 0 -1
>@1 brpop k1 k2 0
!sleep 50
@0 rpush k2 x
@1 !read
>@1 blpop t 0
!sleep 50
@0 multi
@0 rpush t a
@0 lpop t
@0 exec
@0 multi
@0 rpush t b
@0 rpush t c
@0 exec
@1 !read
@0 lrange t 0 -1
@0 multi
@0 blpop nothing 0
@0 blmove nothing d left left 0
@0 bzpopmin nothing 0
@0 blmpop 0 1 nothing left
@0 exec
"#,
    );
}

#[test]
fn timeouts_and_type_changes() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
@0 blpop l 0.05
@0 brpoplpush l d 0.05
@0 blmove l d left left 0.05
@0 bzpopmin z 0.05
@0 blmpop 0.05 1 l left
@0 bzmpop 0.05 1 z min
@0 blpop l -1
@0 blpop l abc
@0 blmpop 0 0 l left
@0 set str x
@0 blpop str 0
>@1 blpop k 0
!sleep 50
@0 set k x
@0 del k
@0 rpush k v
@1 !read
?@2 hello 3
@2 blpop l 0.05
"#,
    );
}

#[test]
fn blmove_and_sorted_sets() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
>@1 blmove src dst left right 0
!sleep 50
@0 rpush src a b
@1 !read
@0 lrange src 0 -1
@0 lrange dst 0 -1
>@1 brpoplpush src2 dst 0
!sleep 50
@0 rpush src2 x
@1 !read
>@1 bzpopmin z 0
!sleep 50
@0 zadd z 2 b 1 a
@1 !read
>@1 bzpopmax z2 0
!sleep 50
@0 zadd z2 2 b 1 a
@1 !read
>@1 blmpop 0 2 none l3 right count 5
!sleep 50
@0 rpush l3 1 2 3
@1 !read
>@1 bzmpop 0 1 z3 max count 2
!sleep 50
@0 zadd z3 1 a 2 b 3 c
@1 !read
@0 zrange z3 0 -1
"#,
    );
}

fn id_of(c: &mut Conn) -> i64 {
    match c.cmd(&["client", "id"]) {
        Frame::Integer(n) => n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_unblock_and_blocked_clients() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut admin = node.conn();
        let mut b = node.conn();
        let id = id_of(&mut b).to_string();
        b.send(&[b"blpop", b"nothing", b"0"]);
        assert!(
            eventually(WAIT, || {
                let info = admin.cmd(&["info", "clients"]);
                String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap().contains("blocked_clients:1\r\n")
            }),
            "{}",
            node.kind
        );
        assert_eq!(admin.cmd(&["client", "unblock", &id]), int(1), "{}", node.kind);
        assert_eq!(b.read(), Frame::NullArray, "{}", node.kind);
        b.send(&[b"blpop", b"nothing", b"0"]);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(admin.cmd(&["client", "unblock", &id, "error"]), int(1), "{}", node.kind);
        assert_eq!(b.read(), err("UNBLOCKED client unblocked via CLIENT UNBLOCK"), "{}", node.kind);
        assert_eq!(admin.cmd(&["client", "unblock", &id]), int(0), "{}", node.kind);
        assert_eq!(b.cmd(&["ping"]), simple("PONG"), "{}", node.kind);
    }
}

#[test]
fn a_timeout_is_honoured_and_other_clients_keep_working() {
    let node = Node::ferrokv(&[]);
    let mut b = node.conn();
    let mut other = node.conn();
    let started = Instant::now();
    b.send(&[b"blpop", b"l", b"0.3"]);
    assert_eq!(other.cmd(&["set", "k", "v"]), simple("OK"));
    assert_eq!(other.cmd(&["get", "k"]), bulk("v"));
    assert_eq!(b.read(), Frame::NullArray);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(290), "returned after {waited:?}");
    // A disconnected waiter is forgotten: the pushed value stays.
    let mut gone = node.conn();
    gone.send(&[b"blpop", b"q", b"0"]);
    std::thread::sleep(Duration::from_millis(50));
    drop(gone);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(other.cmd(&["rpush", "q", "kept"]), int(1));
    assert_eq!(other.cmd(&["lrange", "q", "0", "-1"]), Frame::Array(vec![bulk("kept")]));
}
