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
