//! What Redis's listpack spends on one element, back-length included.
//! Streams split their nodes at `stream-node-max-bytes` of listpack, so
//! both the keyspace (to split where Redis splits) and the RDB writer (to
//! write nodes Redis would write) need the same arithmetic.

/// An element holding the integer `n`.
pub fn int_size(n: i64) -> usize {
    let enc = match n {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        _ if i32::try_from(n).is_ok() => 5,
        _ => 9,
    };
    enc + backlen_size(enc)
}

/// An element holding a string of `len` bytes that does not read as an
/// integer (one that does is stored, and sized, as [`int_size`]).
pub fn str_size(len: usize) -> usize {
    let enc = len
        + match len {
            0..=63 => 1,
            64..=4095 => 2,
            _ => 5,
        };
    enc + backlen_size(enc)
}

/// Bytes of the back-length of an entry of `size` bytes (`lpEncodeBacklen`,
/// whose upper bounds are exclusive: an entry of exactly 16383 bytes takes 3).
pub fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The header (total bytes, count) and the end byte.
pub const FIXED: usize = 6 + 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_redis_encodes() {
        assert_eq!(int_size(5), 2);
        assert_eq!(int_size(-1), 3);
        assert_eq!(int_size(1 << 40), 10);
        assert_eq!(str_size(1), 3);
        assert_eq!(str_size(100), 103);
    }
}
