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
