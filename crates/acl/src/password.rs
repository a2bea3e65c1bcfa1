//! Passwords are kept only as SHA-256 hex digests, as Redis keeps them, so
//! ACL LIST, ACL SAVE and CONFIG REWRITE never show a clear-text password.

use sha2::{Digest, Sha256};

/// Length of a digest in hex.
pub const HASH_LEN: usize = 64;

/// The lower-case hex SHA-256 of `clear`.
pub fn hash(clear: &[u8]) -> String {
    let digest = Sha256::digest(clear);
    let mut hex = String::with_capacity(HASH_LEN);
    for b in digest {
        hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    hex
}

/// `#<hash>` and `!<hash>` take exactly 64 lower-case hex digits.
pub fn is_valid_hash(hash: &[u8]) -> bool {
    hash.len() == HASH_LEN && hash.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Compares two digests in time independent of where they differ, so a
/// caller timing AUTH learns nothing of the stored digest.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// ACL GENPASS's most bits.
pub const GENPASS_MAX_BITS: i64 = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_redis() {
        // redis-cli ACL SETUSER u >foo; ACL GETUSER u -> passwords
        assert_eq!(hash(b"foo"), "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
        assert!(is_valid_hash(hash(b"x").as_bytes()));
        assert!(!is_valid_hash(b"2C26"));
        assert!(same(&hash(b"a"), &hash(b"a")));
        assert!(!same(&hash(b"a"), &hash(b"b")));
    }
}
