//! Pub/Sub across connections, RESP2 and RESP3, compared with Redis 7.0.

mod common;
use common::*;

#[test]
fn subscribe_publish_unsubscribe() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
@0 subscribe news sport
!read
@1 publish news hello
@0 !read
@1 publish nobody x
@1 pubsub numsub news sport nobody
~@1 pubsub channels
~@1 pubsub channels *
@1 pubsub numpat
@0 get x
@0 ping
@0 ping hi
@0 unsubscribe news
@0 unsubscribe
@0 unsubscribe
@0 get x
@0 psubscribe n*
@1 publish news again
@0 !read
@1 pubsub numpat
@0 punsubscribe n*
@0 punsubscribe
@1 pubsub channels
@1 pubsub foo
@1 pubsub shardchannels
@1 pubsub shardnumsub x
"#,
    );
}

#[test]
fn resp3_push_and_self_publish() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
?@0 hello 3
@0 subscribe ch
@0 get x
@0 publish ch self
@0 !read
@1 publish ch other
@0 !read
@0 psubscribe c*
@1 publish ch both
@0 !read
@0 !read
@0 pubsub numsub ch nosuch
@0 pubsub shardnumsub ch
@0 unsubscribe
@0 punsubscribe
@0 ping
"#,
    );
}

/// Sharded channels: their own subscriptions, counts and `smessage`
/// pushes, apart from channels and patterns, in RESP2 and RESP3.
const SHARDED: &str = r#"
@0 ssubscribe orders audit
!read
@1 spublish orders o1
@0 !read
@1 publish orders not-for-shard-subscribers
@1 spublish nobody x
@1 pubsub shardnumsub orders audit nobody
~@1 pubsub shardchannels
~@1 pubsub shardchannels o*
@1 pubsub shardchannels nomatch*
@1 pubsub channels
@1 pubsub numsub orders
@0 subscribe plain
@0 psubscribe pat*
@0 ssubscribe orders
@1 spublish orders o2
@0 !read
@1 publish plain p
@0 !read
@0 get x
@0 ping
@0 sunsubscribe audit
@0 sunsubscribe nosuch
@0 sunsubscribe
@0 sunsubscribe
@0 unsubscribe
@0 punsubscribe
@0 get x
@0 ssubscribe a b c
@0 !read
@0 !read
@0 reset
@1 pubsub shardnumsub a b c
@1 pubsub shardchannels
@1 spublish
@1 spublish a
@1 ssubscribe
@1 multi
@1 ssubscribe x
@1 subscribe y
@1 exec
@1 spublish x 1
"#;

#[test]
fn sharded_channels() {
    run_script(&Pair::new(&[]), SHARDED);
}

#[test]
fn sharded_channels_resp3() {
    run_script(&Pair::new(&[]), &format!("?@0 hello 3\n?@1 hello 3\n{SHARDED}"));
}

/// INFO's `pubsubshard_channels` and CLIENT LIST's `ssub=` count shard
/// subscriptions as Redis does.
#[test]
fn shard_subscriptions_show_in_info_and_client_list() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut sub = node.conn();
        sub.send(&[b"ssubscribe", b"a", b"b"]);
        sub.read();
        sub.read();
        let mut c = node.conn();
        assert_eq!(info_field(&mut c, "stats", "pubsubshard_channels"), "2");
        let ferrokv_resp::Frame::Bulk(list) = c.cmd(&["client", "list"]) else { panic!("CLIENT LIST is a bulk string") };
        let list = String::from_utf8_lossy(&list).into_owned();
        assert!(list.lines().any(|l| l.contains(" ssub=2 ") && l.contains("flags=P")), "{list}");
    }
}
