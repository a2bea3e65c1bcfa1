//! The length and delta prefix our compact encodings share (LEB128: seven
//! bits a byte, the high bit saying more follows): listpack entries and
//! stream nodes both write their lengths this way.

/// `n` encoded: (bytes, how many of them are used).
pub fn encode(mut n: u64) -> ([u8; 10], usize) {
    let (mut out, mut i) = ([0u8; 10], 0);
    while n >= 0x80 {
        out[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    (out, i + 1)
}

/// Appends `n` encoded.
pub fn put(buf: &mut Vec<u8>, n: u64) {
    let (bytes, len) = encode(n);
    buf.extend_from_slice(&bytes[..len]);
}

/// Decodes the number at `*pos` (our own bytes, never a peer's) and moves
/// `pos` past it.
pub fn get(buf: &[u8], pos: &mut usize) -> u64 {
    let (mut n, mut shift) = (0u64, 0);
    loop {
        let b = buf[*pos];
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(n: u64) {
            let mut buf = vec![7];
            put(&mut buf, n);
            let mut pos = 1;
            prop_assert_eq!(get(&buf, &mut pos), n);
            prop_assert_eq!(pos, buf.len());
            prop_assert_eq!(encode(n).1, buf.len() - 1);
        }
    }
}
