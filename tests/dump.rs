//! DUMP and RESTORE against real Redis 7.0: payloads move both ways for every
//! type and encoding, and RESTORE's options and errors match.

mod common;

use common::*;

/// Builds keys of every type in every encoding Redis 7.0 writes.
fn populate(c: &mut Conn) {
    c.cmd(&["set", "s:int", "12345"]);
    c.cmd(&["set", "s:emb", "hello"]);
    let big = "abc".repeat(4000);
    c.cmd(&["set", "s:raw", &big]);
    c.cmd(&["set", "s:neg", "-70000"]);
    for i in 0..5 {
        c.cmd(&["rpush", "l:small", &i.to_string(), &format!("v{i}")]);
    }
    for i in 0..3000 {
        c.cmd(&["rpush", "l:big", &format!("element-{i}"), &(i * 1000 - 5).to_string()]);
    }
    c.cmd(&["sadd", "set:int", "1", "-2", "70000", "5000000000"]);
    for i in 0..600 {
        c.cmd(&["sadd", "set:ht", &format!("m{i}")]);
    }
    c.cmd(&["hset", "h:lp", "a", "1", "b", "-300", "c", "70000", "d", "x".repeat(60).as_str()]);
    for i in 0..600 {
        c.cmd(&["hset", "h:ht", &format!("f{i}"), &format!("v{i}")]);
    }
    c.cmd(&["zadd", "z:lp", "1", "a", "-2.5", "b", "inf", "c", "-inf", "d", "3e100", "e"]);
    for i in 0..300 {
        c.cmd(&["zadd", "z:sl", &format!("{}.25", i - 150), &format!("m{i}")]);
    }
}

const KEYS: &[&str] = &["s:int", "s:emb", "s:raw", "s:neg", "l:small", "l:big", "set:int", "set:ht", "h:lp", "h:ht", "z:lp", "z:sl"];

/// Everything a client can observe about a key's value.
fn contents(c: &mut Conn, key: &str) -> String {
    let kind = c.cmd(&["type", key]);
    let kind = String::from_utf8_lossy(kind.as_bytes().unwrap()).into_owned();
    let body = match kind.as_str() {
        "string" => c.cmd_raw(&[b"get", key.as_bytes()]),
        "list" => c.cmd_raw(&[b"lrange", key.as_bytes(), b"0", b"-1"]),
        "set" => sorted_reply(&c.cmd_raw(&[b"smembers", key.as_bytes()])),
        "hash" => sorted_pairs(&c.cmd_raw(&[b"hgetall", key.as_bytes()])),
        "zset" => c.cmd_raw(&[b"zrange", key.as_bytes(), b"0", b"-1", b"withscores"]),
        other => panic!("{key}: unexpected type {other}"),
    };
    let encoding = c.cmd(&["object", "encoding", key]);
    format!("{kind} {:?} {}", encoding, String::from_utf8_lossy(&body))
}

fn dump(c: &mut Conn, key: &str) -> Vec<u8> {
    match c.cmd(&["dump", key]) {
        ferrokv_resp::Frame::Bulk(b) => b.to_vec(),
        other => panic!("DUMP {key}: {other:?}"),
    }
}

#[test]
fn payloads_move_both_ways_with_identical_contents() {
    let pair = Pair::new(&[]);
    let (mut ours, mut redis) = (pair.ours.conn(), pair.redis.conn());
    populate(&mut redis);
    populate(&mut ours);
    for key in KEYS {
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
