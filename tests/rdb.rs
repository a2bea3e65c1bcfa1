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
