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
        // Both layouts, whatever the size: Redis loads and re-encodes either.
        for (i, r) in in_db.into_iter().enumerate() {
            let layout = if i % 2 == 0 { ferrokv_rdb::Layout::Compact } else { ferrokv_rdb::Layout::Plain };
            w.key(&r.key, &r.value, layout, r.expire_ms).unwrap();
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

/// A ziplist of short strings (6-bit lengths) and small integers, as
/// Redis 6 and older wrote them.
fn ziplist(items: &[&str]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0u8;
    let mut tail = 10;
    for item in items {
        let start = body.len();
        tail = 10 + start;
        body.push(prev);
        match item.parse::<i64>() {
            Ok(n @ 0..=12) => body.push(0xF1 + n as u8),
            Ok(n) => {
                body.push(0xC0);
                body.extend_from_slice(&(n as i16).to_le_bytes());
            }
            Err(_) => {
                body.push(item.len() as u8);
                body.extend_from_slice(item.as_bytes());
            }
        }
        prev = (body.len() - start) as u8;
    }
    let total = 10 + body.len() + 1;
    let mut out = (total as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(items.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xFF);
    out
}

fn rdb_string(out: &mut Vec<u8>, s: &[u8]) {
    assert!(s.len() < 64);
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

#[test]
fn ziplist_era_encodings_load_as_redis_7_loads_them() {
    // An RDB version 9 file with every encoding Redis 7.0 no longer writes.
    let mut f = b"REDIS0009".to_vec();
    f.extend_from_slice(&[0xFE, 0x00]);
    let mut obj = |kind: u8, key: &str, blob: &[u8]| {
        f.push(kind);
        rdb_string(&mut f, key.as_bytes());
        rdb_string(&mut f, blob);
    };
    obj(10, "list:zl", &ziplist(&["a", "7", "bb", "300"]));
    obj(13, "hash:zl", &ziplist(&["f1", "v1", "f2", "12"]));
    obj(12, "zset:zl", &ziplist(&["m1", "1.5", "m2", "3"]));
    // zipmap {"k1" => "v1", "k2" => "v2"} (one free byte after v2).
    obj(9, "hash:zm", &[0x02, 2, b'k', b'1', 2, 0, b'v', b'1', 2, b'k', b'2', 2, 1, b'v', b'2', 0, 0xFF]);
    // Quicklist version 1: two ziplist nodes.
    f.push(14);
    rdb_string(&mut f, b"list:ql");
    f.push(2);
    rdb_string(&mut f, &ziplist(&["x", "y"]));
    rdb_string(&mut f, &ziplist(&["9", "z"]));
    f.push(0xFF);
    let crc = ferrokv_rdb::crc64::crc64(0, &f);
    f.extend_from_slice(&crc.to_le_bytes());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.rdb"), &f).unwrap();
    let d = dir.path().to_str().unwrap();
    let ours = Node::ferrokv(&["--dir", d]);
    let redis = Node::redis(&["--dir", d]);
    let (mut a, mut b) = (ours.conn(), redis.conn());
    assert_eq!(b.cmd(&["dbsize"]), int(5), "Redis loaded the file");
    for key in ["list:zl", "hash:zl", "zset:zl", "hash:zm", "list:ql"] {
        let (x, y) = (contents(&mut a, key), contents(&mut b, key));
        // Encodings are the loader's choice; the values must be equal.
        let strip = |s: &str| s.split_once(' ').map(|(t, rest)| format!("{t} {}", rest.split_once(' ').map_or("", |r| r.1))).unwrap_or_default();
        assert_eq!(strip(&x), strip(&y), "{key}");
    }
    assert_eq!(a.cmd(&["lrange", "list:ql", "0", "-1"]), b.cmd(&["lrange", "list:ql", "0", "-1"]));
}
