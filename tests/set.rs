//! Set commands, compared byte for byte with Redis 7.0 (intsets are
//! ordered in both; hashtable-encoded replies are compared sorted).

mod common;
use common::*;

#[test]
fn set_commands() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
sadd s 3 1 2 2
smembers s
object encoding s
scard s
sismember s 2
sismember s 9
smismember s 1 9 3
srem s 2 9
smembers s
sadd s a
object encoding s
~smembers s
srem s 1 3 a
exists s
sadd n 5 -1 007 10
~smembers n
object encoding n
sadd i 1 2 3 4
sadd j 3 4 5
sinter i j
sunion i j
sdiff i j
sdiff j i
sinter i nokey
sunion i nokey
sdiff nokey i
sinterstore d i j
smembers d
object encoding d
sunionstore d i j
smembers d
sdiffstore d i j
smembers d
sinterstore d i nokey
exists d
sadd w x y
~sinter w j
~sunion w j
~sdiff w j
sintercard 2 i j
sintercard 2 i j limit 1
sintercard 1 i limit 0
sintercard 0 i
sintercard 3 i
sintercard 1 i foo
sintercard 1 i limit -1
smove i j 1
smembers i
smembers j
smove i j 999
smove nokey j 1
smove i i 2
smove i i 99
set str v
smove i str 2
sadd str x
smembers str
sinter i str
scard nokey
smembers nokey
sismember nokey a
spop nokey
spop nokey 3
spop i -1
spop i 0
srandmember nokey
srandmember nokey 3
srandmember i -9223372036854775808
srandmember nokey -9223372036854775808
srandmember i 100
sadd whole 3 1 2
spop whole 10
exists whole
srandmember i 0
sscan i 0
sscan nokey 0
sscan i 0 match 2*
type i
"#,
    );
}

#[test]
fn set_encoding_limit() {
    let pair = Pair::new(&["--set-max-intset-entries", "3"]);
    run_script(
        &pair,
        r#"
sadd s 1 2 3
object encoding s
sadd s 4
object encoding s
~smembers s
sadd t 1 2 3 4 5
sinterstore u t t
object encoding u
"#,
    );
}

#[test]
fn spop_and_srandmember_return_members() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    c.cmd(&["sadd", "s", "a", "b", "c", "d"]);
    let ferrokv_resp::Frame::Array(two) = c.cmd(&["srandmember", "s", "2"]) else { panic!() };
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    let ferrokv_resp::Frame::Array(rep) = c.cmd(&["srandmember", "s", "-9"]) else { panic!() };
    assert_eq!(rep.len(), 9);
    let popped = c.cmd(&["spop", "s"]);
    assert_eq!(c.cmd(&["scard", "s"]), int(3));
    assert_eq!(c.cmd(&["sismember", "s", std::str::from_utf8(popped.as_bytes().unwrap()).unwrap()]), int(0));
    let ferrokv_resp::Frame::Array(rest) = c.cmd(&["spop", "s", "10"]) else { panic!() };
    assert_eq!(rest.len(), 3);
    assert_eq!(c.cmd(&["exists", "s"]), int(0), "an emptied set is deleted");
}

/// A negative count asks for a reply of that many picks, built in memory:
/// one the node could not hold is out of range (Redis 7.0 starts it and
/// stalls), and the connection and the node go on.
#[test]
fn a_huge_repeated_pick_count_is_out_of_range() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    c.cmd(&["sadd", "s", "a", "b"]);
    c.cmd(&["zadd", "z", "1", "a"]);
    c.cmd(&["hset", "h", "a", "1"]);
    for cmd in [
        &["srandmember", "s", "-9223372036854770000"][..],
        &["zrandmember", "z", "-9223372036854770000"],
        &["zrandmember", "z", "-4611686018427387903", "withscores"],
        &["hrandfield", "h", "-9223372036854770000"],
        &["hrandfield", "h", "-4611686018427387903", "withvalues"],
    ] {
        assert_eq!(c.cmd(cmd), err("ERR value is out of range"), "{cmd:?}");
    }
    let ferrokv_resp::Frame::Array(picks) = c.cmd(&["hrandfield", "h", "-1000", "withvalues"]) else { panic!() };
    assert_eq!(picks.len(), 2000);
    assert_eq!(c.cmd(&["ping"]), simple("PONG"));
}
