//! DEBUG DIGEST and DEBUG DIGEST-VALUE, computed exactly as Redis's
//! debug.c does, so equal datasets give equal digests across ferrokv and
//! Redis: replication tests compare a primary and its replicas with them.
//!
//! Per key: a SHA-1 "mix" of the key, its type and its elements (ordered
//! types mixed in order, unordered ones XORed so order does not matter),
//! plus a marker when the key has an expiry; the dataset digest XORs the
//! keys' digests after mixing in each non-empty database's number.

use ferrokv_rdb::value::RdbValue;
use ferrokv_storage::{Entry, Keyspace};
use sha1::{Digest, Sha1};

pub type Sha = [u8; 20];

fn sha1(data: &[u8]) -> Sha {
    Sha1::digest(data).into()
}

/// `xorDigest`: digest ^= SHA1(data).
fn xor(digest: &mut Sha, data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// `mixDigest`: digest = SHA1(digest ^ SHA1(data)), order-sensitive.
fn mix(digest: &mut Sha, data: &[u8]) {
    xor(digest, data);
    *digest = sha1(digest);
}

/// Redis's type codes (OBJ_STRING …) as the digest mixes them.
fn type_code(v: &RdbValue) -> u32 {
    match v {
        RdbValue::String(_) => 0,
        RdbValue::List(_) => 1,
        RdbValue::Set(_) => 2,
        RdbValue::ZSet(_) => 3,
        RdbValue::Hash(_) => 4,
        RdbValue::Stream(_) => 6,
    }
}

/// `xorObjectDigest`: mixes the value into `digest` (which holds the key
/// for DEBUG DIGEST, nothing for DIGEST-VALUE).
pub fn object_digest(digest: &mut Sha, entry: &Entry, has_expire: bool) {
    let value = ferrokv_commands::families::dump::to_rdb(&entry.value);
    mix(digest, &type_code(&value).to_be_bytes());
    match &value {
        RdbValue::String(s) => mix(digest, s),
        RdbValue::List(items) => items.iter().for_each(|i| mix(digest, i)),
        RdbValue::Set(members) => members.iter().for_each(|m| xor(digest, m)),
        RdbValue::ZSet(pairs) => {
            for (member, score) in pairs {
                let mut e = [0u8; 20];
                mix(&mut e, member);
                mix(&mut e, ferrokv_resp::encode::format_double(*score).as_bytes());
                xor(digest, &e);
            }
        }
        RdbValue::Hash(pairs) => {
            for (field, v) in pairs.iter() {
                let mut e = [0u8; 20];
                mix(&mut e, field);
                mix(&mut e, v);
                xor(digest, &e);
            }
        }
        RdbValue::Stream(s) => {
            for ((ms, seq), pairs) in &s.entries {
                mix(digest, format!("{ms}.{seq}").as_bytes());
                for (field, v) in pairs {
                    mix(digest, field);
                    mix(digest, v);
                }
            }
        }
    }
    if has_expire {
        xor(digest, b"!!expire!!");
    }
}

/// `computeDatasetDigest`: every key of every database, expired or not
/// (as Redis walks its dictionaries).
pub fn dataset_digest(ks: &mut Keyspace) -> Sha {
    let mut fin = [0u8; 20];
    for db in 0..ks.db_count() {
        let d = ks.db_mut(db);
        if d.is_empty() {
            continue;
        }
        mix(&mut fin, &(db as u32).to_be_bytes());
        let _ = d.for_each_live(i64::MIN, |key, entry, expire| {
            let mut digest = [0u8; 20];
            mix(&mut digest, key);
            object_digest(&mut digest, entry, expire.is_some());
            xor(&mut fin, &digest);
            Ok::<(), ()>(())
        });
    }
    fin
}

pub fn hex(d: &Sha) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
