//! HyperLogLog values, byte-compatible with Redis 7.0 (they travel in RDB
//! files and DUMP payloads): a 16-byte header ("HYLL", encoding, 3 unused
//! bytes, the cached cardinality with its top bit as "invalid"), then
//! either Redis's sparse opcodes (ZERO `00xxxxxx`, XZERO `01xxxxxx
//! yyyyyyyy`, VAL `1vvvvvxx`) or 16384 dense 6-bit registers. Updates
//! follow Redis's in-place split-and-merge so the bytes match.

pub const HDR: usize = 16;
pub const REGISTERS: usize = 16384;
const P: u32 = 14;
const Q: u32 = 64 - P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = 63;
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
const SPARSE: u8 = 1;
const DENSE: u8 = 0;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value is not a valid HyperLogLog ("INVALIDOBJ Corrupted HLL...").
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// `isHLLObjectOrReply`: magic, known encoding, dense of the exact size.
pub fn is_valid(b: &[u8]) -> bool {
    b.len() >= HDR && &b[..4] == b"HYLL" && b[4] <= SPARSE && (b[4] != DENSE || b.len() == DENSE_SIZE)
}

/// `createHLLObject`: an empty sparse HLL, one XZERO run of 16384.
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HDR];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = SPARSE;
    xzero(&mut v, REGISTERS);
    v
}

fn xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push(((l >> 8) as u8) | 0x40);
    out.push((l & 0xff) as u8);
}

fn zero(out: &mut Vec<u8>, len: usize) {
    out.push((len - 1) as u8);
}

fn val(value: u8, len: usize) -> u8 {
    ((value - 1) << 2) | ((len - 1) as u8) | 0x80
}

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((((b0 & 0x3f) as usize) << 8) | b1 as usize) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}

pub fn invalidate_cache(h: &mut [u8]) {
    h[15] |= 0x80;
}

/// The cached cardinality, if valid.
pub fn cached(h: &[u8]) -> Option<u64> {
    (h[15] & 0x80 == 0).then(|| u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")))
}

pub fn set_cache(h: &mut [u8], card: u64) {
    h[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Redis's MurmurHash64A (little-endian reads), seeded as HLL uses it.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `hllPatLen`: the register an element maps to and its run of zeroes + 1.
pub fn pattern(elem: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(elem, 0xadc8_3b19);
    let index = (hash as usize) & (REGISTERS - 1);
    hash >>= P;
    hash |= 1u64 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) as u8) & REGISTER_MAX
}

fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = v as u32;
    regs[byte] &= !((REGISTER_MAX as u32) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next &= !((REGISTER_MAX as u32) >> (8 - fb)) as u8;
        *next |= (v >> (8 - fb)) as u8;
    }
}

pub fn is_sparse(h: &[u8]) -> bool {
    h[4] == SPARSE
}

/// PFDEBUG DECODE: the sparse opcodes as Redis prints them (`z:len`,
/// `Z:len`, `v:value,len`).
pub fn decode_sparse(h: &[u8]) -> Result<String, Corrupt> {
    let mut out = Vec::new();
    let mut p = HDR;
    while p < h.len() {
        let b = h[p];
        if is_zero(b) {
            out.push(format!("z:{}", zero_len(b)));
            p += 1;
        } else if is_xzero(b) {
            out.push(format!("Z:{}", xzero_len(b, *h.get(p + 1).ok_or(Corrupt)?)));
            p += 2;
        } else {
            out.push(format!("v:{},{}", val_value(b), val_len(b)));
            p += 1;
        }
    }
    Ok(out.join(" "))
}

/// PFDEBUG GETREG: every register of a dense HLL.
pub fn registers(h: &[u8]) -> Vec<u8> {
    let mut regs = vec![0u8; REGISTERS];
    if h[4] == DENSE {
        regs.iter_mut().enumerate().for_each(|(i, r)| *r = dense_get(&h[HDR..], i));
    }
    regs
}

/// PFSELFTEST: Redis's self-test. Dense registers read back what was
/// written, and sparse and dense estimates stay within the error bound
/// at every power of ten up to a million.
pub fn self_test() -> Result<(), String> {
    let mut regs = vec![0u8; (REGISTERS * BITS).div_ceil(8)];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..1000 {
        let expected: Vec<u8> = (0..REGISTERS).map(|_| (rand() % (REGISTER_MAX as u64 + 1)) as u8).collect();
        expected.iter().enumerate().for_each(|(i, &v)| dense_set(&mut regs, i, v));
        if let Some(i) = (0..REGISTERS).find(|&i| dense_get(&regs, i) != expected[i]) {
            return Err(format!("TESTFAILED Register error at {i}"));
        }
    }
    let mut sparse = new_sparse();
    let mut dense = new_sparse();
    sparse_to_dense(&mut dense).map_err(|_| "TESTFAILED dense conversion")?;
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint = 1u64;
    for j in 1..=1_000_000u64 {
        let elem = j.to_le_bytes();
        add(&mut sparse, &elem, 3000).map_err(|_| "TESTFAILED corrupt sparse")?;
        add(&mut dense, &elem, 3000).map_err(|_| "TESTFAILED corrupt dense")?;
        if j == checkpoint {
            let count = count(&dense).map_err(|_| "TESTFAILED corrupt dense")?;
            if count != self::count(&sparse).map_err(|_| "TESTFAILED corrupt sparse")? {
                return Err(format!("TESTFAILED sparse and dense disagree at {checkpoint}"));
            }
            let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * checkpoint as f64).ceil() as u64 };
            let abserr = checkpoint.abs_diff(count);
            if abserr > maxerr {
                return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
            }
            checkpoint *= 10;
        }
    }
    Ok(())
}

/// `hllSparseToDense` (a no-op on a dense HLL).
pub fn sparse_to_dense(h: &mut Vec<u8>) -> Result<(), Corrupt> {
    if h[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&h[..HDR]);
    dense[4] = DENSE;
    let (mut idx, mut p) = (0usize, HDR);
    while p < h.len() {
        let b = h[p];
        if is_zero(b) {
            idx += zero_len(b);
            p += 1;
        } else if is_xzero(b) {
            idx += xzero_len(b, *h.get(p + 1).ok_or(Corrupt)?);
            p += 2;
        } else {
            let (len, v) = (val_len(b), val_value(b));
            if idx + len > REGISTERS {
                break;
            }
            for i in idx..idx + len {
                dense_set(&mut dense[HDR..], i, v);
            }
            idx += len;
            p += 1;
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *h = dense;
    Ok(())
}

/// `hllSparseSet`/`hllDenseSet`: raises register `index` to `count`;
/// true if it changed. Promotes to dense past `sparse_max` bytes.
pub fn set_register(h: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if h[4] == DENSE {
        let regs = &mut h[HDR..];
        if count > dense_get(regs, index) {
            dense_set(regs, index, count);
            return Ok(true);
        }
        return Ok(false);
    }
    if count > VAL_MAX_VALUE {
        return promote(h, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let end = h.len();
    let (mut p, mut first, mut prev, mut span) = (HDR, 0usize, None, 0usize);
    while p < end {
        let b = h[p];
        let oplen;
        if is_zero(b) {
            span = zero_len(b);
            oplen = 1;
        } else if is_val(b) {
            span = val_len(b);
            oplen = 1;
        } else {
            span = xzero_len(b, *h.get(p + 1).ok_or(Corrupt)?);
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let b = h[p];
    let (zero_op, xzero_op) = (is_zero(b), is_xzero(b));
    let runlen = if zero_op {
        zero_len(b)
    } else if xzero_op {
        xzero_len(b, h[p + 1])
    } else {
        val_len(b)
    };
    let mut updated = false;
    if !zero_op && !xzero_op {
        if val_value(b) >= count {
            return Ok(false);
        }
        if runlen == 1 {
            h[p] = val(count, 1);
            updated = true;
        }
    }
    if !updated && zero_op && runlen == 1 {
        h[p] = val(count, 1);
        updated = true;
    }
    if !updated {
        // Step 2: split the run into up to three opcodes.
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if zero_op || xzero_op {
            if index != first {
                let len = index - first;
                if len > ZERO_MAX_LEN {
                    xzero(&mut seq, len);
                } else {
                    zero(&mut seq, len);
                }
            }
            seq.push(val(count, 1));
            if index != last {
                let len = last - index;
                if len > ZERO_MAX_LEN {
                    xzero(&mut seq, len);
                } else {
                    zero(&mut seq, len);
                }
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq.push(val(cur, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(cur, last - index));
            }
        }
        // Step 3: replace the old opcode with the sequence.
        let oldlen = if xzero_op { 2 } else { 1 };
        if seq.len() > oldlen && h.len() + seq.len() - oldlen > sparse_max {
            return promote(h, index, count);
        }
        h.splice(p..p + oldlen, seq);
    }
    // Step 4: merge adjacent VAL opcodes of equal value, up to 5 opcodes
    // from the one before the change.
    let mut q = prev.unwrap_or(HDR);
    let mut scan = 5;
    while q < h.len() && scan > 0 {
        scan -= 1;
        let b = h[q];
        if is_xzero(b) {
            q += 2;
            continue;
        }
        if is_zero(b) {
            q += 1;
            continue;
        }
        if q + 1 < h.len() && is_val(h[q + 1]) {
            let (v1, v2) = (val_value(b), val_value(h[q + 1]));
            let len = val_len(b) + val_len(h[q + 1]);
            if v1 == v2 && len <= VAL_MAX_LEN {
                h[q + 1] = val(v1, len);
                h.remove(q);
                continue;
            }
        }
        q += 1;
    }
    invalidate_cache(h);
    Ok(true)
}

fn promote(h: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(h)?;
    let regs = &mut h[HDR..];
    if count > dense_get(regs, index) {
        dense_set(regs, index, count);
    }
    Ok(true)
}

/// `hllAdd`: true if a register changed.
pub fn add(h: &mut Vec<u8>, elem: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(elem);
    set_register(h, index, count, sparse_max)
}

/// `hllMerge`: max[i] = max(max[i], register i).
pub fn merge_into(max: &mut [u8], h: &[u8]) -> Result<(), Corrupt> {
    if h[4] == DENSE {
        let regs = &h[HDR..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    let (mut i, mut p) = (0usize, HDR);
    while p < h.len() {
        let b = h[p];
        if is_zero(b) {
            i += zero_len(b);
            p += 1;
        } else if is_xzero(b) {
            i += xzero_len(b, *h.get(p + 1).ok_or(Corrupt)?);
            p += 2;
        } else {
            let (len, v) = (val_len(b), val_value(b));
            if i + len > REGISTERS {
                break;
            }
            for m in &mut max[i..i + len] {
                *m = (*m).max(v);
            }
            i += len;
            p += 1;
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Ertl's estimator over a register histogram, as Redis's `hllCount`.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// Cardinality of a register array (PFCOUNT of several keys).
pub fn count_registers(regs: &[u8]) -> u64 {
    let mut histo = [0u32; 64];
    regs.iter().for_each(|&r| histo[r as usize & 63] += 1);
    estimate(&histo)
}

/// Cardinality of one HLL value (not using the cache).
pub fn count(h: &[u8]) -> Result<u64, Corrupt> {
    let mut regs = vec![0u8; REGISTERS];
    merge_into(&mut regs, h)?;
    Ok(count_registers(&regs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_bytes_redis_produced() {
        // PFADD h, then PFADD h a, on Redis 7.0.15.
        let mut h = new_sparse();
        invalidate_cache(&mut h);
        assert_eq!(h, b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff");
        assert!(add(&mut h, b"a", 3000).unwrap());
        assert_eq!(h, b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80q\xa6\x84NW");
        assert_eq!(count(&h).unwrap(), 1);
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        sparse_to_dense(&mut dense).unwrap();
        for i in 0..2000u32 {
            let e = i.to_string();
            add(&mut sparse, e.as_bytes(), usize::MAX).unwrap();
            add(&mut dense, e.as_bytes(), usize::MAX).unwrap();
        }
        assert_eq!(count(&sparse).unwrap(), count(&dense).unwrap());
        let n = count(&dense).unwrap() as f64;
        assert!((n - 2000.0).abs() / 2000.0 < 0.05, "estimate {n}");
        let mut promoted = sparse.clone();
        sparse_to_dense(&mut promoted).unwrap();
        assert_eq!(&promoted[HDR..], &dense[HDR..]);
    }
}
