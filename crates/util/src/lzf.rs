//! LZF, the compression Redis uses for long strings in RDB files and for
//! the inner nodes of compressed lists (`list-compress-depth`): literal runs
//! (`000LLLLL` then L+1 bytes) and back-references (`LLLooooo [L] oooooooo`,
//! length L+2, offset o+1; L = 7 continues in the next byte).

/// Decompresses into exactly `expected_len` bytes, or `None` if the input
/// is not valid LZF for that length (never panics, never over-allocates).
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    // A back-reference of 3 input bytes yields at most 264 output bytes, so
    // a longer claim is invalid on its face (and must not be allocated).
    if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    let mut out = Vec::with_capacity(expected_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lit = input.get(i..i + n)?;
            if out.len() + n > expected_len {
                return None;
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let offset = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let len = len + 2;
            if offset > out.len() || out.len() + len > expected_len {
                return None;
            }
            let start = out.len() - offset;
            // Byte by byte: a reference may overlap what it produces.
            for k in 0..len {
                out.push(out[start + k]);
            }
        }
    }
    (out.len() == expected_len).then_some(out)
}

/// Most output bytes per input byte that valid LZF can produce (264 / 3).
const MAX_EXPANSION: usize = 88;

const HASH_BITS: usize = 14;
const MAX_OFFSET: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 32;

/// Compresses; `None` when the result would not be smaller than the input
/// (Redis then stores the string raw).
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    if input.len() < 4 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut lit_start = 0usize;
    let mut i = 0usize;
    let hash = |p: usize| -> usize {
        let v = (input[p] as u32) << 16 | (input[p + 1] as u32) << 8 | input[p + 2] as u32;
        ((v.wrapping_mul(2_654_435_761)) >> (32 - HASH_BITS)) as usize
    };
    let flush_literals = |out: &mut Vec<u8>, from: usize, to: usize| {
        let mut s = from;
        while s < to {
            let n = (to - s).min(MAX_LIT);
            out.push((n - 1) as u8);
            out.extend_from_slice(&input[s..s + n]);
            s += n;
        }
    };
    while i + 2 < input.len() {
        let h = hash(i);
        let cand = table[h];
        table[h] = i;
        if cand != usize::MAX && i - cand <= MAX_OFFSET && input[cand..cand + 3] == input[i..i + 3] {
            let max = (input.len() - i).min(MAX_REF);
            let mut len = 3;
            while len < max && input[cand + len] == input[i + len] {
                len += 1;
            }
            flush_literals(&mut out, lit_start, i);
            let off = i - cand - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((l << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((l - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            i += len;
            lit_start = i;
            if out.len() >= input.len() {
                return None;
            }
        } else {
            i += 1;
        }
    }
    flush_literals(&mut out, lit_start, input.len());
    (out.len() < input.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_what_redis_wrote() {
        // DUMP of 84 'a's from Redis 7.0: compressed 9 bytes for 84.
        let compressed = b"\x01aa\xe0G\x00\x01aa";
        assert_eq!(decompress(compressed, 84).unwrap(), vec![b'a'; 84]);
        assert_eq!(decompress(compressed, 83), None);
    }

    proptest! {
        #[test]
        fn roundtrip(data in prop::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            if let Some(c) = compress(&data) {
                prop_assert!(c.len() < data.len());
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn absurd_lengths_are_refused_not_allocated(data in prop::collection::vec(any::<u8>(), 0..50)) {
            prop_assert_eq!(decompress(&data, usize::MAX / 2), None);
        }

        #[test]
        fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..200), len in 0usize..500) {
            let _ = decompress(&data, len);
        }
    }
}
