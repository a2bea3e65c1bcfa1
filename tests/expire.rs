//! Expiry: commands compared with Redis 7.0, lazy and active reclamation.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn expire_commands() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
set k v
ttl k
pttl k
expiretime k
ttl missing
pttl missing
expiretime missing
expire k 100
ttl k
expire k 200 nx
expire k 200 xx
ttl k
expire k 50 gt
expire k 500 gt
ttl k
expire k 600 lt
expire k 300 lt
ttl k
expire k 10 nx xx
expire k 10 gt lt
expire k 10 nx gt
expire k 10 foo
expire k abc
expire k 9223372036854775807
expireat k 9223372036854775807
pexpire k 9223372036854775807
expire missing 10
persist k
persist k
ttl k
set p v
expire p 10 xx
expire p 10 gt
expire p 10 lt
ttl p
expireat k 99999999999
expiretime k
pexpireat k 99999999999999
pexpiretime k
expire k 0
exists k
set k v
pexpire k -1
exists k
set k v
expireat k 1
exists k
persist missing
"#,
    );
}

#[test]
fn lazy_and_active_expiry() {
    let node = Node::ferrokv(&["--hz", "50", "--enable-debug-command", "yes"]);
    let mut c = node.conn();
    c.cmd(&["set", "lazy", "v", "px", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.cmd(&["get", "lazy"]), Frame::NullBulk);
    // Active expiry reclaims keys nobody touches.
    c.cmd(&["debug", "set-active-expire", "1"]);
    for i in 0..200 {
        c.cmd(&["set", &format!("k{i}"), "v", "px", "30"]);
    }
    c.cmd(&["set", "keep", "v"]);
    let reclaimed = eventually(Duration::from_secs(10), || {
        let info = c.cmd(&["info", "keyspace"]);
        let text = String::from_utf8(info.as_bytes().unwrap().to_vec()).unwrap();
        text.contains("db0:keys=1,")
    });
    assert!(reclaimed, "active expiry did not reclaim untouched keys");
    let stats = c.cmd(&["info", "stats"]);
    let text = String::from_utf8(stats.as_bytes().unwrap().to_vec()).unwrap();
    let expired: u64 = text.lines().find_map(|l| l.strip_prefix("expired_keys:")).unwrap().trim().parse().unwrap();
    assert!(expired >= 200, "expired_keys = {expired}");
}

#[test]
fn active_expiry_can_be_disabled() {
    let node = Node::ferrokv(&["--hz", "50", "--enable-debug-command", "yes"]);
    let mut c = node.conn();
    assert_eq!(c.cmd(&["debug", "set-active-expire", "0"]), simple("OK"));
    c.cmd(&["set", "k", "v", "px", "20"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd(&["dbsize"]), int(1), "the key should still be stored");
    assert_eq!(c.cmd(&["get", "k"]), Frame::NullBulk);
    assert_eq!(c.cmd(&["dbsize"]), int(0));
}

use ferrokv_resp::Frame;
