//! Rules several collection families share, written once.

use bytes::Bytes;
use rand::Rng;

use crate::args;
use crate::errors::{self, RedisError};

/// `numkeys key [key ...] <first|second> [COUNT count]` from `at`, as LMPOP,
/// BLMPOP, ZMPOP and BZMPOP take it. Returns the keys, whether the `first`
/// word was given (LEFT, MIN) and the count.
pub fn mpop_args<'a>(args: &'a [Bytes], at: usize, first: &str, second: &str) -> Result<(&'a [Bytes], bool, usize), RedisError> {
    let numkeys = args::int_or(&args[at], "ERR numkeys should be greater than 0")?;
    if numkeys <= 0 {
        return Err("ERR numkeys should be greater than 0".into());
    }
    let numkeys = numkeys as usize;
    if numkeys > args.len() - at - 2 {
        return Err(errors::SYNTAX.into());
    }
    let keys = &args[at + 1..at + 1 + numkeys];
    let end = &args[at + 1 + numkeys];
    let is_first = if args::is(end, first) {
        true
    } else if args::is(end, second) {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let mut count = 1usize;
    match &args[at + 2 + numkeys..] {
        [] => {}
        [opt, n] if args::is(opt, "count") => {
            let n = args::int_or(n, "ERR count should be greater than 0")?;
            if n <= 0 {
                return Err("ERR count should be greater than 0".into());
            }
            count = n as usize;
        }
        _ => return Err(errors::SYNTAX.into()),
    }
    Ok((keys, is_first, count))
}

/// The count of HRANDFIELD, SRANDMEMBER and ZRANDMEMBER, with Redis 7.0's
/// range checks: never i64::MIN, and within ±LONG_MAX/2 when each pick
/// is a pair (`paired`: WITHVALUES, WITHSCORES), so its double fits.
pub fn random_count(arg: &[u8], paired: bool) -> Result<i64, RedisError> {
    let count = args::int(arg)?;
    if count == i64::MIN {
        return Err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807".into());
    }
    if paired && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(errors::OUT_OF_RANGE.into());
    }
    Ok(count)
}

/// Which elements HRANDFIELD, SRANDMEMBER and ZRANDMEMBER return for a
/// count: negative repeats, a count covering the whole collection returns
/// every element once (in the collection's order), otherwise distinct picks.
///
/// A negative count is the one place where a few bytes of request ask for
/// an unbounded reply, and the reply is built in memory: past
/// [`request_budget`] the node would fail to allocate and abort, so such a
/// count is out of range (Redis 7.0 starts the reply and stalls, or is
/// killed). `longest` is the longest element's encoded size, only asked
/// for when the picks repeat.
pub fn random_picks(len: usize, count: i64, longest: impl FnOnce() -> usize) -> Result<Vec<usize>, RedisError> {
    let mut rng = rand::rng();
    if count >= 0 {
        return Ok(if count as usize >= len { (0..len).collect() } else { rand::seq::index::sample(&mut rng, len, count as usize).into_vec() });
    }
    let picks = count.unsigned_abs();
    if picks > len as u64 {
        // Each pick costs its encoding (with framing) and its index.
        let per_pick = longest() as u64 + 32;
        if picks.saturating_mul(per_pick) > request_budget() {
            return Err(errors::OUT_OF_RANGE.into());
        }
    }
    Ok((0..picks).map(|_| rng.random_range(0..len)).collect())
}

/// Bytes one small request may make the node allocate (a reply of
/// repeated picks, DEBUG POPULATE): a quarter of the machine's memory
/// (1 GiB when it cannot be read). Past it an allocation could fail, and
/// a failed allocation aborts the process.
pub fn request_budget() -> u64 {
    static BUDGET: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let total_kb = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        total_kb.map_or(1 << 30, |kb| kb.saturating_mul(1024) / 4)
    });
    *BUDGET
}
