//! Keyspace notifications compared with Redis 7.0: the same commands on
//! both servers, and the stream of events a pattern subscriber receives
//! must be identical, event for event and in order.

mod common;
use common::*;
use ferrokv_resp::Frame;
use std::time::Duration;

/// Runs `script` (one command per line, `!sleep <ms>` to wait) on `node`
/// with `classes` enabled, and returns every (channel, message) a
/// `__key*__:*` subscriber saw.
fn events(node: &Node, classes: &str, script: &str) -> Vec<(String, String)> {
    let mut c = node.conn();
    c.cmd(&["config", "set", "notify-keyspace-events", classes]);
    let mut sub = node.conn();
    sub.send(&[b"psubscribe", b"__key*__:*"]);
    sub.read();
    sub.send(&[b"subscribe", b"__done__"]);
    sub.read();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(ms) = line.strip_prefix("!sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().expect("ms")));
            continue;
        }
        let args = ferrokv_resp::split_args(line.as_bytes()).expect("quoting");
        let args: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        c.send(&args);
        c.read();
    }
    c.cmd(&["publish", "__done__", "end"]);
    let mut seen = Vec::new();
    loop {
        let Frame::Array(items) = sub.read() else { panic!("a pub/sub message") };
        let text: Vec<String> = items
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        if text[0] != "pmessage" {
            break;
        }
        seen.push((text[2].clone(), text[3].clone()));
    }
    seen
}

fn same_events(classes: &str, script: &str) {
    let pair = Pair::new(&[]);
    let (ours, theirs) = (events(&pair.ours, classes, script), events(&pair.redis, classes, script));
    if ours != theirs {
        let show = |v: &[(String, String)]| v.iter().map(|(c, m)| format!("  {c} {m}")).collect::<Vec<_>>().join("\n");
        panic!("events differ\n--- ferrokv\n{}\n--- redis 7.0\n{}", show(&ours), show(&theirs));
    }
    assert!(!ours.is_empty() || script.trim().is_empty());
}

#[test]
fn config_and_classes_as_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
config get notify-keyspace-events
config set notify-keyspace-events KEA
config get notify-keyspace-events
config set notify-keyspace-events Ex$lshzgetmnd
config get notify-keyspace-events
config set notify-keyspace-events Kl
config get notify-keyspace-events
config set notify-keyspace-events Q
config set notify-keyspace-events ""
config get notify-keyspace-events
"#,
    );
    // Only the classes asked for, on only the channels asked for.
    same_events("K$", "set a 1\nlpush l x\ndel a");
    same_events("El", "set a 1\nlpush l x\nrpop l");
    same_events("Kgn", "set a 1\nset a 2\ndel a");
}

#[test]
fn string_events() {
    same_events(
        "KEA",
        r#"
set s v
set s v nx
set s v xx ex 100
set s v keepttl
set s v get
setnx s v
setnx s2 v
setex s3 100 v
psetex s4 100000 v
getset s w
getdel s
getdel s
getex s2 ex 100
getex s2 persist
getex s2
append s5 abc
setrange s5 1 xyz
setrange s6 0 ""
incr n
incrby n 5
decr n
decrby n 2
incrbyfloat f 1.5
mset a 1 b 2
msetnx c 1 d 2
msetnx c 1 e 2
setbit bits 7 1
bitop or dest bits s5
bitop and empty nokey1 nokey2
bitfield bf set u8 0 255
bitfield bf get u8 0
"#,
    );
}

#[test]
fn generic_events() {
    same_events(
        "KEA",
        r#"
set a 1
set b 2
del a b c
set a 1
unlink a
set k v
expire k 100
pexpire k 100000
expireat k 4000000000
pexpireat k 4000000000000
persist k
expire k 0
set k v
expire k -1
set k v
rename k k2
renamenx k2 k3
set k4 v
renamenx k3 k4
move k4 1
copy k3 k5
dump k3
set t 1
touch t
sort nolist store dest
rpush list 3 1 2
sort list store sorted
sort nolist store sorted
set e v px 1
!sleep 20
get e
"#,
    );
}

#[test]
fn new_and_keymiss_events() {
    same_events("KEnm", "get missing\nset a 1\nset a 2\nlpush l x\nhget nohash f\nexists nokey\nttl nokey\n");
}

#[test]
fn list_events() {
    same_events(
        "KEA",
        r#"
lpush l a b c
rpush l d
lpushx nol x
rpushx l e
lpop l
rpop l 2
lpop l 0
lset l 0 z
linsert l before z y
linsert l after nothere q
lrem l 1 y
lrem l 0 nothere
ltrim l 0 0
lmove l l2 left right
rpush l x y
rpoplpush l l2
lmpop 2 nol l2 right count 5
rpush l3 a
ltrim l3 1 0
rpush m a b
blpop m 1
brpop m 1
"#,
    );
}

#[test]
fn hash_set_zset_hll_events() {
    same_events(
        "KEA",
        r#"
hset h a 1 b 2
hset h a 1
hsetnx h a 1
hsetnx h c 3
hmset h d 4
hincrby h n 5
hincrbyfloat h f 1.5
hdel h a b c d nope
hdel h n f
sadd s a b c
sadd s a
srem s a
srem s nope
sadd sp x
spop sp
smove s s2 b
smove s s2 nope
sadd s3 1 2 3
sinterstore d1 s3 s3
sunionstore d2 s3 nokey
sdiffstore d3 s3 s3
zadd z 1 a 2 b
zadd z 1 a
zadd z xx 5 a
zincrby z 1 a
zrem z a nope
zadd z 1 x 2 y 3 w
zremrangebyrank z 0 0
zremrangebyscore z 2 2
zremrangebylex z - +
zadd z2 1 a 2 b 3 c
zpopmin z2
zpopmax z2 5
zadd z3 1 a 2 b
zunionstore z4 1 z3
zinterstore z5 2 z3 nokey
zdiffstore z6 1 z3
zrangestore z7 z3 0 -1
zmpop 1 z3 min count 10
bzpopmin nokey z7 1
pfadd hll a b c
pfadd hll a
pfmerge hll2 hll
pfcount hll
"#,
    );
}

#[test]
fn expired_and_evicted_events() {
    same_events("KEA", "set a 1 px 10\n!sleep 50\nget a\nset b 1 px 10\n!sleep 300\n");
    same_events("KEA", "config set maxmemory-policy allkeys-random\nset big 1\nconfig set maxmemory 1\nset x y\nconfig set maxmemory 0\n");
}

#[test]
fn serving_a_blocked_client_raises_its_pop() {
    let pair = Pair::new(&[]);
    let run = |node: &Node| {
        let mut waiter = node.conn();
        waiter.send(&[b"blpop", b"q", b"10"]);
        // The waiter is registered before the push arrives.
        let mut c = node.conn();
        assert!(eventually(WAIT, || info_field(&mut c, "clients", "blocked_clients") == "1"));
        let seen = events(node, "KEA", "rpush q a b");
        waiter.read();
        seen
    };
    assert_eq!(run(&pair.ours), run(&pair.redis));
}

#[test]
fn stream_events() {
    same_events(
        "KEA",
        r#"
xadd s 1-1 a 1
xadd s maxlen 1 2-1 a 2
xadd s nomkstream 3-1 a 3
xadd nokey nomkstream 1-1 a 1
xtrim s maxlen 0
xtrim s maxlen 0
xadd s 4-1 a 4
xdel s 4-1 9-9
xadd s 5-1 a 5
xsetid s 9-9
xgroup create s g 0
xgroup create s2 g $ mkstream
xreadgroup group g alice streams s >
xgroup createconsumer s g bob
xgroup createconsumer s g bob
xclaim s g bob 0 5-1
xack s g 5-1
xgroup delconsumer s g bob
xgroup setid s g 0
xgroup destroy s g
copy s s3
rename s3 s4
del s4
"#,
    );
}
