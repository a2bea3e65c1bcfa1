//! DUMP and RESTORE against real Redis 7.0: payloads move both ways for every
//! type and encoding, and RESTORE's options and errors match.

mod common;

use common::*;

#[test]
fn payloads_move_both_ways_with_identical_contents() {
    let pair = Pair::new(&[]);
    let (mut ours, mut redis) = (pair.ours.conn(), pair.redis.conn());
    populate_every_encoding(&mut redis);
    populate_every_encoding(&mut ours);
    for key in ENCODING_KEYS {
        let expected = contents(&mut redis, key);
        assert_eq!(contents(&mut ours, key), expected, "{key} built by commands");

        let from_redis = dump(&mut redis, key);
        let restored = format!("from-redis:{key}");
        ours.send(&[b"restore", restored.as_bytes(), b"0", &from_redis]);
        assert_eq!(ours.read(), simple("OK"), "ferrokv refused Redis's DUMP of {key}");
        assert_eq!(contents(&mut ours, &restored), expected, "{key} restored from Redis's payload");

        let from_ours = dump(&mut ours, key);
        let back = format!("from-ferrokv:{key}");
        redis.send(&[b"restore", back.as_bytes(), b"0", &from_ours]);
        assert_eq!(redis.read(), simple("OK"), "Redis refused our DUMP of {key}");
        assert_eq!(contents(&mut redis, &back), expected, "{key} restored into Redis from our payload");
    }
}

/// Redis 7.0 writes each object in its in-memory encoding (listpack,
/// intset, quicklist-2); so do we. Without compression the payloads of the
/// compact and single-node values are the same bytes; for the large ones
/// (whose element order follows each server's own tables) the type byte is.
#[test]
fn payloads_use_the_layouts_redis_writes_byte_for_byte() {
    let pair = Pair::new(&[]);
    let (mut ours, mut redis) = (pair.ours.conn(), pair.redis.conn());
    for c in [&mut ours, &mut redis] {
        assert_eq!(c.cmd(&["config", "set", "rdbcompression", "no"]), simple("OK"));
        populate_every_encoding(c);
    }
    for key in ["s:int", "s:emb", "s:raw", "s:neg", "l:small", "set:int", "h:lp", "z:lp"] {
        assert_eq!(dump(&mut ours, key), dump(&mut redis, key), "DUMP {key}");
    }
    for (key, kind) in [("l:big", 18), ("set:ht", 2), ("h:ht", 4), ("z:sl", 5)] {
        assert_eq!(dump(&mut redis, key)[0], kind, "Redis's type byte for {key}");
        assert_eq!(dump(&mut ours, key)[0], kind, "our type byte for {key}");
    }
}

#[test]
fn restore_options_and_errors_match_redis() {
    let pair = Pair::new(&[]);
    // The payload of the string "v" written by Redis 7.0, and one with a broken checksum.
    let script = r#"
        set src v
        rpush lsrc a b c
        dump nosuchkey
        restore k 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce"
        restore k 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce"
        restore k 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" replace
        get k
        restore k2 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xcf"
        restore k2 0 "\x00\x01v\x0b\x00\x91\x08\xce\xb2\x198\x8a\xce"
        restore k2 0 "short"
        restore k2 -1 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce"
        restore k2 abc "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce"
        restore k2 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" idletime -1
        restore k2 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" freq 256
        restore k2 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" freq 1 idletime 1
        restore k2 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" bogus
        restore k2 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" idletime 1000
        object idletime k2
        restore k3 100000 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce"
        ? pttl k3
        restore k4 1 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" absttl
        exists k4
        restore k replace 1 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" absttl replace
        restore k 1 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" absttl replace
        exists k
        config set maxmemory-policy allkeys-lfu
        restore k5 0 "\x00\x01v\x0a\x00\x91\x08\xce\xb2\x198\x8a\xce" freq 100
        object freq k5
        config set maxmemory-policy noeviction
    "#;
    run_script(&pair, script);
    // The script compares the two servers; pin down that the good payload really restores.
    let mut c = pair.ours.conn();
    assert_eq!(c.cmd(&["exists", "k2", "k3", "k5"]), int(3));
    assert_eq!(c.cmd(&["get", "k2"]), bulk("v"));
    assert_eq!(c.cmd(&["exists", "k", "k4"]), int(0), "already-expired ABSTTL restores nothing");
}

/// MIGRATE from `src` to `dst` (either kind), with every option.
fn migrate_round(src: &Node, dst: &Node) -> Vec<String> {
    let (mut s, mut d) = (src.conn(), dst.conn());
    let port = dst.port.to_string();
    let mut log = Vec::new();
    let mut run = |c: &mut Conn, args: &[&str]| log.push(format!("{args:?} -> {:?}", c.cmd(args)).replace(&dst.port.to_string(), "<port>"));
    populate_every_encoding(&mut s);
    s.cmd(&["pexpire", "s:emb", "100000"]);
    run(&mut s, &["migrate", "127.0.0.1", &port, "s:emb", "0", "5000"]);
    run(&mut s, &["exists", "s:emb"]);
    let ttl = d.cmd(&["pttl", "s:emb"]);
    assert!(matches!(ttl, ferrokv_resp::Frame::Integer(t) if t > 90_000 && t <= 100_000), "{ttl:?}");
    run(&mut s, &["migrate", "127.0.0.1", &port, "nokey", "0", "5000"]);
    run(&mut s, &["migrate", "127.0.0.1", &port, "", "3", "5000", "copy", "keys", "l:big", "z:sl", "h:lp", "missing"]);
    run(&mut s, &["exists", "l:big", "z:sl", "h:lp"]);
    run(&mut d, &["select", "3"]);
    for k in ["l:big", "z:sl", "h:lp"] {
        assert_eq!(contents(&mut d, k), contents(&mut s, k), "{k} arrived intact");
    }
    run(&mut d, &["select", "0"]);
    d.cmd(&["set", "s:int", "taken"]);
    run(&mut s, &["migrate", "127.0.0.1", &port, "s:int", "0", "5000"]);
    run(&mut s, &["migrate", "127.0.0.1", &port, "s:int", "0", "5000", "replace"]);
    run(&mut d, &["get", "s:int"]);
    run(&mut s, &["migrate", "127.0.0.1", &port, "k", "0", "5000", "keys", "a"]);
    run(&mut s, &["migrate", "127.0.0.1", &port, "s:raw", "0", "5000", "bogus"]);
    run(&mut s, &["migrate", "127.0.0.1", "1", "s:raw", "0", "100"]);
    log
}

#[test]
fn migrate_moves_keys_between_ferrokv_and_redis_in_every_direction() {
    let (f1, f2) = (Node::ferrokv(&[]), Node::ferrokv(&[]));
    let (r1, r2) = (Node::redis(&[]), Node::redis(&[]));
    let (f3, r3) = (Node::ferrokv(&[]), Node::redis(&[]));
    let want = migrate_round(&r1, &r2);
    assert_eq!(migrate_round(&f1, &f2), want, "ferrokv → ferrokv replies as Redis → Redis");
    // Across implementations, in both directions.
    let (f4, r4) = (Node::ferrokv(&[]), Node::redis(&[]));
    assert_eq!(migrate_round(&f3, &r3), want, "ferrokv → Redis");
    assert_eq!(migrate_round(&r4, &f4), want, "Redis → ferrokv");
}

#[test]
fn migrate_authenticates_to_the_target() {
    let src = Node::ferrokv(&[]);
    let dst = Node::redis(&["--requirepass", "pw"]);
    let mut s = src.conn();
    s.cmd(&["set", "k", "v"]);
    let port = dst.port.to_string();
    let refused = s.cmd(&["migrate", "127.0.0.1", &port, "k", "0", "5000", "copy"]);
    assert!(matches!(&refused, ferrokv_resp::Frame::Error(e) if e.starts_with(b"ERR Target instance replied with error: NOAUTH")), "{refused:?}");
    assert_eq!(s.cmd(&["migrate", "127.0.0.1", &port, "k", "0", "5000", "auth", "pw"]), simple("OK"));
    assert_eq!(s.cmd(&["exists", "k"]), int(0));
    let mut d = dst.conn();
    d.cmd(&["auth", "pw"]);
    assert_eq!(d.cmd(&["get", "k"]), bulk("v"));
}
