//! `ferrokv-server --test-memory <megabytes>`: Redis's quick RAM check
//! (address, random, solid and checkerboard patterns written and read
//! back), for a node that crashed in a way bad memory could explain.

/// A word that read back differently from what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    pub index: usize,
    pub expected: u64,
    pub found: u64,
}

/// Runs `passes` passes over `megabytes` MiB, calling `progress` after each.
pub fn run(megabytes: usize, passes: usize, mut progress: impl FnMut(usize)) -> Result<(), Mismatch> {
    let words = megabytes * 1024 * 1024 / 8;
    let mut mem = vec![0u64; words];
    for pass in 1..=passes {
        let seed = pass as u64;
        check(&mut mem, |i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))?;
        check(&mut mem, |i| xorshift(seed ^ i as u64))?;
        check(&mut mem, |_| 0)?;
        check(&mut mem, |_| u64::MAX)?;
        check(&mut mem, |i| if i % 2 == 0 { 0x5555_5555_5555_5555 } else { 0xAAAA_AAAA_AAAA_AAAA })?;
        progress(pass);
    }
    Ok(())
}

/// Writes the pattern everywhere, then reads every word back. Volatile
/// accesses keep the compiler from proving the reads redundant.
fn check(mem: &mut [u64], pattern: impl Fn(usize) -> u64) -> Result<(), Mismatch> {
    for (i, w) in mem.iter_mut().enumerate() {
        // SAFETY: `w` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(w, pattern(i)) };
    }
    for (i, w) in mem.iter().enumerate() {
        // SAFETY: as above, shared.
        let found = unsafe { std::ptr::read_volatile(w) };
        let expected = pattern(i);
        if found != expected {
            return Err(Mismatch { index: i, expected, found });
        }
    }
    Ok(())
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

#[cfg(test)]
mod tests {
    #[test]
    fn passes_on_working_memory() {
        let mut seen = Vec::new();
        assert_eq!(super::run(1, 2, |p| seen.push(p)), Ok(()));
        assert_eq!(seen, [1, 2]);
    }
}
