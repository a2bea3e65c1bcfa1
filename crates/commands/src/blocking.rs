//! What a blocking command (BLPOP, BZPOPMIN, BLMOVE…) asks of the node
//! when it finds nothing: the keys to wait on, and how it is served when
//! one becomes ready. The node keeps the waiters; each family says how its
//! commands are served and what a served call propagates as.

use bytes::Bytes;
use ferrokv_storage::View;

use crate::ctx::Reply;
use crate::errors::RedisError;

/// Serves a waiter from the key that became ready: writes its reply and
/// returns true, or returns false when that key cannot serve it. What the
/// serving changed beyond `replicate_as` (XREADGROUP's XCLAIMs) goes in
/// the last argument.
pub type ServeFn = fn(&mut View<'_>, &mut Reply<'_>, &[Bytes], &Bytes, &mut Vec<Vec<Bytes>>) -> Result<bool, RedisError>;

/// The non-blocking command with the same effect as `args` served from
/// `key`, as Redis propagates a served BLPOP (`LPOP key`).
pub type ReplicateFn = fn(&[Bytes], &Bytes) -> Vec<Bytes>;

/// How one blocking command is served once a key it waits on is ready.
pub struct Unblock {
    pub serve: ServeFn,
    /// The command a served call propagates as (None: only what `serve`
    /// collected).
    pub replicate_as: Option<ReplicateFn>,
    /// Whether a waiter behind one that cannot be served may be: pops wait
    /// in line for the same elements, stream readers each for their own ID.
    pub independent: bool,
}

/// A blocking command's request to wait, left in the context for the node.
pub struct Block {
    pub args: Vec<Bytes>,
    pub keys: Vec<Bytes>,
    /// 0 = forever.
    pub timeout_ms: i64,
    pub unblock: &'static Unblock,
}

/// Parses a blocking timeout in seconds (fractions allowed; 0 = forever)
/// into milliseconds, with Redis's errors.
pub fn timeout_ms(arg: &[u8]) -> Result<i64, RedisError> {
    let secs = crate::args::parse_float(arg).ok_or_else(|| RedisError::from("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    // Redis converts to a long long as x86 does: a value past its range
    // becomes LLONG_MIN, hence "negative" for a huge timeout too.
    if ms < 0.0 || ms >= i64::MAX as f64 {
        return Err("ERR timeout is negative".into());
    }
    Ok(ms as i64)
}

/// `<NAME> 1 <key> <tail>`: what LMPOP, ZMPOP and their blocking forms
/// propagate, naming only the key that served; `at` is where numkeys is.
pub fn mpop_form(name: &'static str, args: &[Bytes], at: usize, key: &Bytes) -> Vec<Bytes> {
    let numkeys = crate::args::int(&args[at]).unwrap_or(0).max(0) as usize;
    let tail = args.get(at + 1 + numkeys..).unwrap_or(&[]);
    [Bytes::from_static(name.as_bytes()), Bytes::from_static(b"1"), key.clone()].into_iter().chain(tail.iter().cloned()).collect()
}
