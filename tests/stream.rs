//! Streams compared byte for byte with Redis 7.0 (RESP2 and RESP3):
//! appends, ranges, trimming, deletion, consumer groups, claims, XINFO,
//! blocking reads across connections, and the RDB/DUMP form both ways.

mod common;
use common::*;
use ferrokv_resp::Frame;

const BASICS: &str = r#"
xadd s 1-1 a 1 b 2
xadd s 1-2 a 3 b 4
xadd s 1-* c 5
xadd s 2-* c 6
xadd s 3 d 7
xadd s 3-5 e 8
xadd s 3-5 e 8
xadd s 2-9 e 8
xadd s 0-0 e 8
xadd s 0 e 8
xadd s - e 8
xadd s + e 8
xadd s abc e 8
xadd s 5-1 a
xadd s 5-1
xadd s 5-1 a 1 b
xadd s nomkstream 6-0 f v
xadd nokey nomkstream 1-1 f v
exists nokey
xadd s 18446744073709551615-18446744073709551614 f v
xadd s 18446744073709551615-* f v
xadd s 18446744073709551615-* f v
xadd s 7-0 f v
xlen s
xlen nokey
xrange s - +
xrange s - + count 2
xrange s - + count 0
xrange s - + count -1
xrange s 1-2 3
xrange s (1-2 (3-5
xrange s (1 +
xrange s 1 1
xrange s 1-1 1-1
xrange s 3-6 3-4
xrange s (18446744073709551615-18446744073709551615 +
xrange s - (0-0
xrange s + -
xrange s - + count
xrange s - + foo 1
xrange s abc +
xrange s - 1-abc
xrange s ( +
xrange nokey - +
xrevrange s + -
xrevrange s + - count 3
xrevrange s 3 1-2
xrevrange s (3-5 (1-1
xrevrange s (3-5 (1-1 count 1
xdel s 1-2 3-5 99-0 1-2
xdel s abc
xdel nokey 1-1
xlen s
xrange s - +
xinfo stream s
set str x
xadd str 1-1 a b
xrange str - +
xlen str
xdel str 1-1
type s
object encoding s
xsetid s 1-1
xsetid s 18446744073709551615-18446744073709551615 entriesadded 1
xsetid s 18446744073709551615-18446744073709551615 entriesadded 100 maxdeletedid 3-5
xsetid s 1-1 maxdeletedid 2-2
xsetid s 20-0 entriesadded -1
xsetid s 20-0 foo
xsetid nokey 1-1
xinfo stream s
xadd e 1-1 a b
xdel e 1-1
xlen e
xinfo stream e
xrange e - +
exists e
copy s s2
xrange s2 - +
xinfo stream s2
rename s2 s3
xlen s3
object encoding s3
config set stream-node-max-entries 2
xadd n 1-1 a 1
xadd n 1-2 a 2
xadd n 1-3 b 3
xadd n 1-4 a 4 b 5
xadd n 1-5 a 6
xinfo stream n
xadd n maxlen ~ 2 1-6 a 7
xrange n - +
xinfo stream n
config set stream-node-max-bytes 40
xadd m 1-1 f 0123456789
xadd m 1-2 f 0123456789
xadd m 1-3 f 0123456789
xinfo stream m
config set stream-node-max-entries 100
config set stream-node-max-bytes 4096
eval "return redis.call('xread', 'block', '0', 'streams', 'nokey', '0')" 0
eval "return redis.call('XREADGROUP', 'group', 'g', 'c', 'block', '0', 'streams', 'nokey', '>')" 0
eval "return redis.call('xread', 'count', '1', 'streams', 's', '0')" 0
eval "return redis.call('xadd', 's', '*', 'f', 'v') ~= false" 0
"#;

const TRIMMING: &str = r#"
xadd t maxlen 2 1-1 a 1
xadd t maxlen = 2 2-1 a 2
xadd t maxlen 2 3-1 a 3
xrange t - +
xadd t minid 3 4-1 a 4
xrange t - +
xadd t maxlen ~ 2 5-1 a 5
xlen t
xadd t maxlen -1 6-1 a 6
xadd t maxlen 1 minid 1 6-1 a 6
xadd t limit 10 6-1 a 6
xadd t maxlen 1 limit 10 6-1 a 6
xadd t maxlen abc 6-1 a 6
xadd t minid abc 6-1 a 6
xadd t minid + 6-1 a 6
xtrim t maxlen 1
xrange t - +
xtrim t maxlen ~ 0
xtrim t minid 0
xtrim t
xtrim t foo 1
xtrim t maxlen ~ 1 limit -1
xtrim t maxlen ~ 1 limit 5
xtrim nokey maxlen 0
xtrim t maxlen 0
xlen t
exists t
xinfo stream t
"#;

const GROUPS: &str = r#"
xgroup create s g 0
xgroup create s g 0 mkstream
exists s
xadd s 1-1 a 1
xadd s 2-1 b 2
xadd s 3-1 c 3
xgroup create s g 0
xgroup create s g 0
xgroup create s late $
xgroup create s mid 2-1 entriesread 2
xgroup create s bad 0 entriesread -5
xgroup create s bad 0 foo
xgroup create s bad abc
xgroup create s bad + 
xgroup create s bad 0 mkstream mkstream entriesread 1 extra
xinfo groups s
xreadgroup group g alice count 1 streams s >
xreadgroup group g alice streams s >
xreadgroup group g alice streams s >
xreadgroup group g bob streams s 0
xreadgroup group g alice streams s 0
xreadgroup group g alice count 1 streams s 1-1
xreadgroup group nosuch alice streams s >
xreadgroup group g alice streams nokey >
xreadgroup group g alice streams s $
xreadgroup group g alice streams s
xreadgroup group g alice noack streams s 0
xreadgroup streams s >
xread group g alice streams s 0
xread noack streams s 0
xread streams s >
xread count 2 streams s 0
xread count 1 streams s s 0 1-1
xread streams s nokey 0 0
xread streams s 999
xread streams s abc
xread streams s
xread count -5 streams s 0
xread block -1 streams s 0
xread block abc streams s 0
xread foo streams s 0
xpending s g
?xpending s g - + 10
?xpending s g - + 10 alice
xpending s g - + 10 nobody
?xpending s g (1-1 + 10
?xpending s g - (3-1 1
xpending s g - + 0
xpending s g - + -3
xpending s g - +
?xpending s g idle 0 - + 10
xpending s g idle abc - + 10
xpending s nosuch
xpending nokey g
?xpending s g - + 10 alice extra
?xinfo consumers s g
xinfo consumers s nosuch
xinfo consumers nokey g
xack s g 1-1 1-1 9-9
xack s g abc
xack s nosuch 1-1
xack nokey g 1-1
xpending s g
xclaim s g bob 0 2-1
xclaim s g bob 0 2-1 justid
xclaim s g bob 0 2-1 retrycount 7 justid
?xpending s g - + 10
xclaim s g carol 0 1-1 force justid
xclaim s g carol 0 99-0 force justid
xclaim s g carol 0 3-1 idle abc
xclaim s g carol 0 3-1 foo
xclaim s g carol abc 3-1
xclaim s nosuch carol 0 3-1
xclaim nokey g carol 0 3-1
xclaim s g carol 3600000 3-1
xclaim s g carol 0 3-1 lastid 5-0 justid
xinfo groups s
xautoclaim s g dave 0 0
xautoclaim s g dave 0 0 count 1 justid
xautoclaim s g dave 0 (1-1 justid
xautoclaim s g dave 0 0 count 0
xautoclaim s g dave 0 0 count abc
xautoclaim s g dave 0 0 foo
xautoclaim s g dave abc 0
xautoclaim s nosuch dave 0 0
xautoclaim nokey g dave 0 0
xdel s 2-1
xautoclaim s g dave 0 0 justid
xpending s g
xgroup createconsumer s g erin
xgroup createconsumer s g erin
xgroup createconsumer s nosuch erin
xgroup createconsumer nokey g erin
xgroup delconsumer s g dave
xgroup delconsumer s g nobody
xgroup delconsumer s nosuch dave
xgroup setid s g 0
xgroup setid s g $ entriesread 3
xgroup setid s g abc
xgroup setid s g 0 entriesread -3
xgroup setid s nosuch 0
xgroup setid nokey g 0
xgroup setid s g 0 foo 1
xinfo groups s
xgroup destroy s late
xgroup destroy s late
xgroup destroy nokey late
xgroup foo s g
xgroup create s
xinfo foo s
xinfo stream
xinfo stream s foo
xinfo stream s full count
xinfo stream s full count abc
xinfo help
xgroup help
xinfo groups nokey
xinfo stream nokey
xreadgroup group g frank noack streams s >
xinfo groups s
"#;

#[test]
fn basics_resp2() {
    run_script(&Pair::new(&[]), BASICS);
}

#[test]
fn basics_resp3() {
    run_script(&Pair::new(&[]), &format!("?hello 3\n{BASICS}"));
}

#[test]
fn trimming() {
    run_script(&Pair::new(&[]), TRIMMING);
    run_script(&Pair::new(&[]), &format!("?hello 3\n{TRIMMING}"));
}

#[test]
fn groups_resp2_and_resp3() {
    run_script(&Pair::new(&[]), GROUPS);
    run_script(&Pair::new(&[]), &format!("?hello 3\n{GROUPS}"));
}

const BLOCKING: &str = r#"
xadd s 1-1 a 1
xgroup create s g $
>@1 xread block 0 streams s $
!sleep 50
>@2 xread count 1 block 0 streams s nokey 1-1 0
!sleep 100
xadd nokey 5-5 z 9
@2 !read
xadd s 2-1 b 2
@1 !read
>@1 xread block 0 streams s 9-0
!sleep 50
>@2 xread block 0 streams s 2-1
!sleep 100
xadd s 3-1 c 3
@2 !read
xadd s 9-1 d 4
@1 !read
xread block 50 streams s $
xread block 50 streams s 9-1
xgroup setid s g $
>@1 xreadgroup group g alice block 0 streams s >
!sleep 50
>@2 xreadgroup group g bob count 1 block 0 streams s >
!sleep 100
xadd s 10-1 e 5
@1 !read
xadd s 11-1 f 6
xadd s 11-2 f 7
@2 !read
xpending s g
>@1 xreadgroup group g carol block 0 streams s >
!sleep 100
xgroup destroy s g
@1 !read
>@1 xread block 0 streams s $
!sleep 100
del s
xadd s 1-1 new 1
xadd s 12-1 new 2
@1 !read
multi
xread block 0 streams s $
xreadgroup group g x block 0 streams s >
exec
>@1 xread block 0 streams s $
!sleep 50
multi
xadd s 20-1 x 1
xdel s 20-1
exec
@1 !read
"#;

const UNBLOCK: &str = r#"
>@1 xread block 0 streams s $
>@2 xreadgroup group g alice block 0 streams s >
!sleep 100
xgroup create s g $ mkstream
client unblock $ID1
@1 !read
client unblock $ID2 error
@2 !read
client unblock $ID2
"#;

#[test]
fn client_unblock_ends_blocked_reads() {
    run_script_with_ids(&Pair::new(&[]), &UNBLOCK.replace("xreadgroup group g alice", "xread"));
    run_script_with_ids(&Pair::new(&[]), &format!("xgroup create s g $ mkstream\n{}", UNBLOCK.replace("xgroup create s g $ mkstream\n", "")));
}

#[test]
fn blocking_reads_resp2_and_resp3() {
    run_script(&Pair::new(&[]), BLOCKING);
    run_script(&Pair::new(&[]), &format!("?@0 hello 3\n?@1 hello 3\n?@2 hello 3\n{BLOCKING}"));
}

/// What the trims and reads a stream's users run leave behind.
fn churn(c: &mut Conn) {
    populate_stream(c, "x");
    for i in 0..300 {
        c.cmd(&["xadd", "t", "maxlen", "~", "20", "limit", "150", &format!("{}-0", i + 1), "f", "v"]);
    }
    c.cmd(&["xadd", "t", "minid", "~", "250", "1000-0", "f", "v"]);
    c.cmd(&["xreadgroup", "group", "g1", "dave", "count", "3", "streams", "x", ">"]);
    c.cmd(&["xclaim", "x", "g1", "erin", "0", "1700000000005-2", "1700000000006-0", "retrycount", "9"]);
    c.cmd(&["xautoclaim", "x", "g1", "frank", "0", "0", "count", "2"]);
    c.cmd(&["xgroup", "setid", "x", "g2", "1700000000100-1", "entriesread", "100"]);
    c.cmd(&["xgroup", "create", "empty", "g", "$", "mkstream"]);
}

fn stream_state(c: &mut Conn) -> String {
    ["x", "t", "empty"].iter().map(|k| contents(c, k)).collect::<Vec<_>>().join("\n")
}

/// XPENDING's rows without the idle times (which depend on the clock):
/// ID, owner and delivery count.
fn pending_rows(c: &mut Conn, key: &str, group: &str) -> Vec<String> {
    let Frame::Array(rows) = c.cmd(&["xpending", key, group, "-", "+", "100"]) else { panic!("XPENDING") };
    rows.into_iter()
        .map(|row| match row {
            Frame::Array(f) => format!("{:?} {:?} {:?}", f[0], f[1], f[3]),
            other => panic!("row {other:?}"),
        })
        .collect()
}

/// Delivery counts after deliveries, history reads and claims with and
/// without JUSTID and RETRYCOUNT (a negative one counts as none).
#[test]
fn delivery_counts_as_redis() {
    let pair = Pair::new(&[]);
    for c in [&mut pair.ours.conn(), &mut pair.redis.conn()] {
        for cmd in [
            &["xadd", "s", "1-1", "a", "1"][..],
            &["xadd", "s", "2-1", "a", "2"],
            &["xadd", "s", "3-1", "a", "3"],
            &["xgroup", "create", "s", "g", "0"],
            &["xreadgroup", "group", "g", "alice", "streams", "s", ">"],
            &["xreadgroup", "group", "g", "alice", "streams", "s", "0"],
            &["xclaim", "s", "g", "bob", "0", "1-1"],
            &["xclaim", "s", "g", "bob", "0", "2-1", "justid"],
            &["xclaim", "s", "g", "bob", "0", "3-1", "retrycount", "-5"],
            &["xclaim", "s", "g", "carol", "0", "3-1", "retrycount", "9", "justid"],
            &["xautoclaim", "s", "g", "dave", "0", "2-1", "count", "1"],
            &["xack", "s", "g", "1-1", "2-1"],
            &["xclaim", "s", "g", "erin", "0", "1-1", "force", "justid"],
            &["xclaim", "s", "g", "erin", "0", "2-1", "force"],
        ] {
            c.cmd(cmd);
        }
    }
    assert_eq!(pending_rows(&mut pair.ours.conn(), "s", "g"), pending_rows(&mut pair.redis.conn(), "s", "g"));
}

const AOF: [&str; 6] = ["--appendonly", "yes", "--save", "", "--enable-debug-command", "yes"];

/// Redis's AOF (its trims with LIMIT rewritten to `=`, its XCLAIMs) loads
/// into ferrokv with every group intact; ferrokv's command-form rewrite
/// reloads into itself and into Redis the same.
#[test]
fn aof_moves_streams_both_ways_with_redis() {
    let redis = Node::redis(&["--appendonly", "yes", "--enable-debug-command", "yes"]);
    let mut rc = redis.conn();
    churn(&mut rc);
    let want = stream_state(&mut rc);
    assert!(want.contains("dave") && want.contains("stream"), "{want}");
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&redis.dir.path().join("appendonlydir"), &copy.path().join("appendonlydir"));
    let dir = copy.path().to_str().unwrap();
    let mut ours = Node::ferrokv(&[&["--dir", dir, "--aof-use-rdb-preamble", "no"][..], &AOF].concat());
    assert_eq!(stream_state(&mut ours.conn()), want, "ferrokv loading Redis's AOF");
    let mut c = ours.conn();
    c.cmd(&["bgrewriteaof"]);
    assert!(eventually(WAIT, || info_field(&mut ours.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    ours.kill9();
    ours.restart(&[&["--dir", dir][..], &AOF].concat());
    assert_eq!(stream_state(&mut ours.conn()), want, "ferrokv reloading its command-form rewrite");
    let copy2 = tempfile::tempdir().unwrap();
    copy_dir(&copy.path().join("appendonlydir"), &copy2.path().join("appendonlydir"));
    let back = Node::redis(&["--dir", copy2.path().to_str().unwrap(), "--appendonly", "yes"]);
    assert_eq!(stream_state(&mut back.conn()), want, "Redis loading ferrokv's AOF");
}

/// A replica (ferrokv's, over gRPC) and a restart from the RDB hold the
/// same streams and groups as the primary.
#[test]
fn replicas_and_snapshots_keep_groups() {
    let p = Node::ferrokv(&["--enable-debug-command", "yes"]);
    let port = p.port.to_string();
    let r = Node::ferrokv(&["--enable-debug-command", "yes", "--save", "", "--replicaof", "127.0.0.1", &port]);
    let mut c = p.conn();
    churn(&mut c);
    let want = stream_state(&mut c);
    let digest = c.cmd(&["debug", "digest"]);
    assert!(eventually(WAIT, || r.conn().cmd(&["debug", "digest"]) == digest), "the replica converges");
    assert_eq!(stream_state(&mut r.conn()), want, "the replica's groups");
    assert_eq!(c.cmd(&["debug", "reload"]), simple("OK"));
    assert_eq!(stream_state(&mut c), want, "DEBUG RELOAD (save and load the RDB)");
}
