//! Generic keyspace commands, compared byte for byte with Redis 7.0.

mod common;
use common::*;

#[test]
fn del_exists_type_rename() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
mset a 1 b 2 c 3
exists a b missing a
del a missing
unlink b c
exists a b c
type missing
set s v
type s
rename missing x
rename s s
renamenx s s
rename s t
get t
exists s
set u other
renamenx t u
rename t u
get u
set e v
expire e 100
rename e e2
ttl e2
touch e2 u missing
"#,
    );
}

#[test]
fn keys_scan_random() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
randomkey
keys *
mset user:1 a user:2 b item:1 c "sp ace" d
~keys *
~keys user:*
~keys *:1
~keys user:[12]
~keys user:?
keys nomatch*
~scan 0 count 1000
~scan 0 match user:* count 1000
~scan 0 type string count 1000
~scan 0 type hash count 1000
scan 0 count 0
scan 0 count abc
scan abc
scan 0 foo bar
scan 0 match
dbsize
"#,
    );
}

#[test]
fn scan_visits_every_key_present_throughout() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    let mut writer = node.conn();
    for i in 0..500 {
        c.cmd(&["set", &format!("stay:{i}"), "v"]);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        // Churn between steps: delete and add other keys.
        writer.cmd(&["set", &format!("churn:{round}"), "v"]);
        if round > 2 {
            writer.cmd(&["del", &format!("churn:{}", round - 2)]);
        }
        round += 1;
        let reply = c.cmd(&["scan", &cursor, "count", "7"]);
        let ferrokv_resp::Frame::Array(items) = reply else { panic!("scan reply") };
        cursor = String::from_utf8(items[0].as_bytes().unwrap().to_vec()).unwrap();
        if let ferrokv_resp::Frame::Array(keys) = &items[1] {
            for k in keys {
                seen.insert(String::from_utf8(k.as_bytes().unwrap().to_vec()).unwrap());
            }
        }
        if cursor == "0" {
            break;
        }
        assert!(round < 10_000, "scan did not terminate");
    }
    for i in 0..500 {
        assert!(seen.contains(&format!("stay:{i}")), "stay:{i} missed by SCAN");
    }
}

#[test]
fn move_copy_swap_flush() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
set k v
move k 1
move k 1
select 1
get k
move k 0
select 0
get k
move k 0
move k 16
move k abc
set k2 v2
expire k2 100
copy k2 k3
ttl k3
copy k2 k3
copy k2 k3 replace
copy k2 k2
copy k2 k2 db 1
select 1
get k2
select 0
copy k2 k9 db 16
copy k2 k9 foo
copy missing x
set int 42
copy int int2
object encoding int2
swapdb 0 1
dbsize
swapdb 0 1
dbsize
swapdb 0 16
swapdb a 1
swapdb 0 b
swapdb 0 0
select 2
set x y
flushdb
dbsize
select 0
flushdb async
flushdb sync
flushdb foo
mset a 1 b 2
select 3
set c 3
flushall
dbsize
select 0
dbsize
flushall foo
select 16
select -1
select abc
"#,
    );
}

#[test]
fn object_subcommands() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
set s hello
set i 100
set bigi 123456
object encoding s
object encoding i
object encoding missing
object refcount i
object refcount bigi
object refcount s
object refcount missing
object idletime s
object freq s
object foo s
object encoding
object help
config set maxmemory-policy allkeys-lfu
object idletime s
object freq missing
config set maxmemory-policy noeviction
"#,
    );
}

/// TTL, TYPE, EXISTS and OBJECT look a key up as Redis's LOOKUP_NOTOUCH
/// does: the hit or miss is counted, the access time is left alone.
#[test]
fn lookups_that_do_not_touch_the_access_time() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut c = node.conn();
        c.cmd(&["set", "k", "v"]);
        c.cmd(&["config", "resetstat"]);
        // OBJECT IDLETIME counts whole seconds: wait past one.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        for cmd in [&["ttl", "k"][..], &["pttl", "k"], &["expiretime", "k"], &["type", "k"], &["exists", "k"], &["object", "encoding", "k"]] {
            c.cmd(cmd);
        }
        for cmd in [&["ttl", "nokey"][..], &["type", "nokey"], &["exists", "nokey"]] {
            c.cmd(cmd);
        }
        let idle = c.cmd(&["object", "idletime", "k"]);
        assert!(matches!(idle, ferrokv_resp::Frame::Integer(n) if n >= 1), "{}: {idle:?}", node.kind);
        assert_eq!(info_field(&mut c, "stats", "keyspace_hits"), "7", "{}", node.kind);
        assert_eq!(info_field(&mut c, "stats", "keyspace_misses"), "3", "{}", node.kind);
    }
}
