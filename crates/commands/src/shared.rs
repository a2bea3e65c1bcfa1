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

/// Which elements HRANDFIELD, SRANDMEMBER and ZRANDMEMBER return for a
/// count: negative repeats, a count covering the whole collection returns
/// every element once (in the collection's order), otherwise distinct picks.
pub fn random_picks(len: usize, count: i64) -> Vec<usize> {
    let mut rng = rand::rng();
    if count < 0 {
        (0..count.unsigned_abs()).map(|_| rng.random_range(0..len)).collect()
    } else if count as usize >= len {
        (0..len).collect()
    } else {
        rand::seq::index::sample(&mut rng, len, count as usize).into_vec()
    }
}
