//! Client-side caching (CLIENT TRACKING), compared byte for byte with
//! Redis 7.0: the invalidations each mode sends, to the client itself in
//! RESP3 or to a RESP2 redirect subscribed to `__redis__:invalidate`, and
//! every option's errors.

mod common;
use common::*;

/// The default mode in RESP3: a read remembers the key, a write by
/// anyone (or an expiry, or a flush) invalidates it once.
const DEFAULT_MODE: &str = r#"
?@0 hello 3
@0 client tracking on
@0 client getredir
@0 client trackinginfo
@0 get k
@1 set k v
@0 !read
@1 set k v2
@0 ping
@0 mget k k2
@1 mset k 1 k2 2
@0 !read
@0 !read
@0 get k
@0 set k mine
@0 !read
@0 hget h f
@1 hset h f v
@0 !read
@0 get gone
@1 set gone x px 30
@0 !read
@0 get gone
!sleep 80
@1 get gone
@0 !read
@0 exists k
@0 get k
@1 flushall
@0 !read
@1 set k again
@0 ping
@0 get k
@0 flushdb
@0 !read
@0 client tracking off
@0 client trackinginfo
@0 get k
@1 set k off
@0 ping
"#;

#[test]
fn default_mode_invalidates_what_was_read() {
    run_script_with_ids(&Pair::new(&[]), DEFAULT_MODE);
}

/// Invalidations caused inside MULTI/EXEC and scripts arrive after the
/// EXEC's or the script's reply; a script's reads are remembered.
#[test]
fn transactions_and_scripts() {
    run_script_with_ids(
        &Pair::new(&[]),
        r#"
?@0 hello 3
@0 client tracking on
@0 mget a b
@0 multi
@0 set a 1
@0 get b
@0 set b 2
@0 exec
@0 !read
@0 !read
@0 eval "return redis.call('get', KEYS[1])" 1 c
@1 set c 1
@0 !read
@0 eval "redis.call('get', KEYS[1]) return redis.call('set', KEYS[1], 'x')" 1 d
@0 !read
@0 eval_ro "return redis.call('get', KEYS[1])" 1 e
@1 set e 1
@0 !read
@0 get f
@1 eval "return redis.call('del', KEYS[1])" 1 f
@0 ping
@1 set f 1
@0 !read
@1 del f
@0 ping
"#,
    );
}

/// NOLOOP, OPTIN with CACHING YES, OPTOUT with CACHING NO, and CACHING
/// applying to a whole transaction.
#[test]
fn noloop_optin_optout() {
    run_script_with_ids(
        &Pair::new(&[]),
        r#"
?@0 hello 3
@0 client tracking on noloop
@0 client trackinginfo
@0 get k
@0 set k mine
@0 ping
@1 set k other
@0 ping
@0 get k
@1 set k other
@0 !read
@0 client tracking off
@0 client tracking on optin
@0 client trackinginfo
@0 get a
@1 set a 1
@0 ping
@0 client caching yes
@0 client trackinginfo
@0 get a
@0 get b
@1 mset a 2 b 2
@0 !read
@0 ping
@0 client caching yes
@0 multi
@0 get c
@0 get d
@0 exec
@1 mset c 1 d 1
@0 !read
@0 !read
@0 client caching no
@0 client tracking on optout
@0 client tracking off
@0 client tracking on optout
@0 client trackinginfo
@0 client caching no
@0 client trackinginfo
@0 get x
@1 set x 1
@0 ping
@0 get y
@1 set y 1
@0 !read
@0 client caching yes
@0 client tracking on optin
"#,
    );
}

/// BCAST: every modified key under a prefix, one message per prefix.
#[test]
fn broadcast_prefixes() {
    run_script_with_ids(
        &Pair::new(&[]),
        r#"
?@0 hello 3
@0 client tracking on bcast prefix user: prefix order:
@0 client trackinginfo
@1 set user:1 a
@0 !read
@1 mset order:9 x user:2 y other z
@0 !read
@0 !read
@1 set other 1
@0 ping
@0 client tracking on bcast prefix session:
@0 client trackinginfo
@1 set session:1 x
@0 !read
@0 client tracking on bcast prefix use
@0 client tracking on bcast prefix zz prefix zzz
@0 client tracking on
@0 client tracking off
@0 client tracking on bcast
@1 set anything 1
@0 !read
@0 client tracking on bcast noloop
@0 set mine 1
@0 ping
@0 client trackinginfo
"#,
    );
}

/// RESP2: invalidations reach a redirect target subscribed to
/// `__redis__:invalidate`; a vanished target breaks the redirect.
#[test]
fn resp2_redirect() {
    run_script_with_ids(
        &Pair::new(&[]),
        r#"
@2 subscribe __redis__:invalidate
@0 client tracking on redirect $ID2
?@0 client getredir
?@0 client trackinginfo
@0 get k
@1 set k v
@2 !read
@0 get k
@1 flushall
@2 !read
@0 client tracking on redirect 999999
@0 client tracking on redirect $ID2 redirect $ID2
@0 client tracking on redirect abc
"#,
    );
}

/// Every error CLIENT TRACKING and CLIENT CACHING give, in Redis's order.
#[test]
fn option_errors() {
    run_script(
        &Pair::new(&[]),
        r#"
client caching yes
client caching no
client tracking on prefix a
client tracking on optin optout
client tracking on bcast optin
client tracking on bogus
client tracking maybe
client tracking on prefix
client tracking
client caching maybe
client tracking on optin
client caching maybe
client caching no
client tracking on optout
client getredir
client trackinginfo
client help
"#,
    );
}

/// INFO's tracking fields and CLIENT LIST's `t`/`B` flags and `redir=`.
#[test]
fn info_and_client_list_show_tracking() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut reader = node.conn();
        reader.cmd(&["hello", "3"]);
        reader.cmd(&["client", "tracking", "on"]);
        reader.cmd(&["mget", "a", "b", "c"]);
        let mut bcast = node.conn();
        bcast.cmd(&["client", "tracking", "on", "bcast", "prefix", "x", "prefix", "y"]);
        let mut c = node.conn();
        assert_eq!(info_field(&mut c, "clients", "tracking_clients"), "2");
        assert_eq!(info_field(&mut c, "stats", "tracking_total_keys"), "3");
        assert_eq!(info_field(&mut c, "stats", "tracking_total_items"), "3");
        assert_eq!(info_field(&mut c, "stats", "tracking_total_prefixes"), "2");
        let ferrokv_resp::Frame::Bulk(list) = c.cmd(&["client", "list"]) else { panic!("CLIENT LIST is a bulk string") };
        let list = String::from_utf8_lossy(&list).into_owned();
        assert!(list.lines().any(|l| l.contains(" flags=t ") && l.contains(" redir=0 ")), "{list}");
        assert!(list.lines().any(|l| l.contains(" flags=tB ")), "{list}");
        reader.cmd(&["client", "tracking", "off"]);
        assert_eq!(info_field(&mut c, "clients", "tracking_clients"), "1");
    }
}

/// Keys the server stops tracking (`tracking-table-max-keys`) or evicts
/// are invalidated for their readers.
#[test]
fn the_table_limit_and_eviction_invalidate() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut reader = node.conn();
        reader.cmd(&["hello", "3"]);
        reader.cmd(&["client", "tracking", "on"]);
        let mut c = node.conn();
        c.cmd(&["config", "set", "tracking-table-max-keys", "2"]);
        reader.cmd(&["mget", "k1", "k2", "k3", "k4", "k5"]);
        for _ in 0..3 {
            let push = format!("{:?}", reader.read());
            assert!(push.contains("invalidate"), "{push}");
        }
        assert!(eventually(WAIT, || info_field(&mut c, "stats", "tracking_total_keys") == "2"));
        c.cmd(&["config", "set", "tracking-table-max-keys", "0"]);
        c.cmd(&["flushall"]);
        reader.read(); // the flush's null invalidation
        c.cmd(&["set", "big", &"x".repeat(100_000)]);
        reader.cmd(&["get", "big"]);
        c.cmd(&["config", "set", "maxmemory-policy", "allkeys-random"]);
        c.cmd(&["config", "set", "maxmemory", "1"]);
        c.cmd(&["set", "other", "1"]);
        let push = format!("{:?}", reader.read());
        assert!(push.contains("big"), "{push}");
        c.cmd(&["config", "set", "maxmemory", "0"]);
    }
}
