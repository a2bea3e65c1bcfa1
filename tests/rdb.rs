//! The RDB codec against Redis 7.0 itself: DUMP payloads taken from a real
//! redis-server (string encodings chosen by Redis, its LZF output, its
//! CRC-64 footer) decode to the stored values.

mod common;
use common::*;
use ferrokv_rdb::{crc64::crc64, read_string};
use rand::{Rng, SeedableRng};

#[test]
fn redis_dump_payloads_decode_and_checksum() {
    let node = Node::redis(&[]);
    let mut c = node.conn();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut values: Vec<Vec<u8>> =
        vec![b"".to_vec(), b"0".to_vec(), b"-128".to_vec(), b"32767".to_vec(), b"2147483647".to_vec(), b"2147483648".to_vec(), b"007".to_vec()];
    for _ in 0..200 {
        let len = rng.random_range(0..3000);
        let alphabet: &[u8] = if rng.random_bool(0.5) { b"ab" } else { b"abcdefghijklmnopqrstuvwxyz0123456789" };
        values.push((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect());
    }
    for v in values {
        c.send(&[b"set", b"k", &v]);
        assert_eq!(c.read(), simple("OK"));
        let payload = c.cmd(&["dump", "k"]).as_bytes().expect("a DUMP payload").to_vec();
        let (body, footer) = payload.split_at(payload.len() - 8);
        assert_eq!(crc64(0, body), u64::from_le_bytes(footer.try_into().unwrap()), "checksum");
        assert_eq!(body[0], 0, "string type");
        let mut pos = 1;
        let decoded = read_string(body, &mut pos).expect("decodes");
        assert_eq!(decoded, v);
        assert_eq!(&body[pos..], &[10, 0], "RDB version 10 follows the value");
    }
}

#[test]
fn payloads_we_encode_restore_in_redis() {
    let node = Node::redis(&[]);
    let mut c = node.conn();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for i in 0..200 {
        let len = rng.random_range(0..4000);
        let alphabet: &[u8] = if i % 2 == 0 { b"xy" } else { b"the quick brown fox " };
        let v: Vec<u8> = (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect();
        let mut payload = vec![0u8];
        ferrokv_rdb::write_string(&mut payload, &v, true);
        payload.extend_from_slice(&[10, 0]);
        let crc = crc64(0, &payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        c.send(&[b"restore", b"r", b"0", &payload, b"replace"]);
        assert_eq!(c.read(), simple("OK"), "Redis refused our payload for a {len}-byte value");
        assert_eq!(c.cmd(&["get", "r"]), bulk(std::str::from_utf8(&v).unwrap()));
    }
}

/// Every key of a dump.rdb written by Redis 7.0 (every type and encoding,
/// expiries, several databases) decodes to exactly what Redis's own DUMP of
/// that key holds; a file we write from those records passes
/// `redis-check-rdb` and loads into Redis with identical contents.
#[test]
fn rdb_files_move_both_ways() {
    let redis = Node::redis(&[]);
    let mut c = redis.conn();
    populate_every_encoding(&mut c);
    c.cmd(&["pexpireat", "l:small", "4102444800000"]);
    c.cmd(&["select", "5"]);
    c.cmd(&["set", "db5key", "in five"]);
    c.cmd(&["expire", "db5key", "100000"]);
    c.cmd(&["select", "0"]);
    assert_eq!(c.cmd(&["save"]), simple("OK"));
    let file = std::fs::read(redis.dir.path().join("dump.rdb")).expect("Redis wrote dump.rdb");

    let mut records = Vec::new();
    let loaded = ferrokv_rdb::file::read(&file, true, |r| {
        records.push(r);
        Ok(())
    })
    .expect("Redis's dump.rdb loads");
    assert_eq!(loaded.version, 10);
    assert!(loaded.aux.iter().any(|(k, v)| k == b"redis-ver" && v.starts_with(b"7.0")), "AUX fields read");
    assert_eq!(records.len(), ENCODING_KEYS.len() + 1);
    for r in &records {
        let key = std::str::from_utf8(&r.key).unwrap();
        c.cmd(&["select", &r.db.to_string()]);
        let expected = ferrokv_rdb::restore_payload(&dump(&mut c, key), true).expect("Redis's DUMP decodes");
        assert_eq!(r.value, expected, "{key}: file record differs from Redis's DUMP");
        let expire = match c.cmd(&["pexpiretime", key]) {
            ferrokv_resp::Frame::Integer(-1) => None,
            ferrokv_resp::Frame::Integer(at) => Some(at),
            other => panic!("{other:?}"),
        };
        assert_eq!(r.expire_ms, expire, "{key}: expiry");
    }
    c.cmd(&["select", "0"]);

    // Write them back as ferrokv would, and hand the file to Redis.
    let out_dir = tempfile::tempdir().unwrap();
    let path = out_dir.path().join("dump.rdb");
    let sink = std::fs::File::create(&path).unwrap();
    let mut w = ferrokv_rdb::file::Writer::new(sink, &[("redis-ver", b"7.0.15"), ("redis-bits", b"64")], true, true).unwrap();
    for db in [0, 5] {
        let in_db: Vec<_> = records.iter().filter(|r| r.db == db).collect();
        w.select_db(db as u32, in_db.len() as u64, in_db.iter().filter(|r| r.expire_ms.is_some()).count() as u64).unwrap();
        for r in in_db {
            w.key(&r.key, &r.value, r.expire_ms).unwrap();
        }
    }
    w.finish().unwrap().sync_all().unwrap();
    let check = std::process::Command::new(which("redis-check-rdb").expect("redis-check-rdb installed")).arg(&path).output().unwrap();
    assert!(check.status.success(), "redis-check-rdb refused our file: {}", String::from_utf8_lossy(&check.stdout));

    let reloaded = Node::redis(&["--dir", out_dir.path().to_str().unwrap(), "--dbfilename", "dump.rdb"]);
    let mut r = reloaded.conn();
    for key in ENCODING_KEYS {
        assert_eq!(contents(&mut r, key), contents(&mut c, key), "{key} after Redis loaded our file");
    }
    assert_eq!(r.cmd(&["pexpiretime", "l:small"]), int(4102444800000));
    r.cmd(&["select", "5"]);
    assert_eq!(r.cmd(&["get", "db5key"]), bulk("in five"));
}
