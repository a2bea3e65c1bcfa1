//! Any bytes, split anywhere across reads, must never panic the request
//! parser, and a successful parse must consume input (no infinite loop).
#![no_main]

use bytes::BytesMut;
use ferrokv_resp::{RequestLimits, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, rest) = match data.split_first() {
        Some((s, r)) => (*s as usize, r),
        None => return,
    };
    let auth_required = split & 1 == 1;
    let limits = RequestLimits { max_bulk_len: 1 << 20, auth_required };
    let cut = if rest.is_empty() { 0 } else { split % (rest.len() + 1) };
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    for part in [&rest[..cut], &rest[cut..]] {
        buf.extend_from_slice(part);
        loop {
            let before = buf.len();
            match parser.parse(&mut buf, &limits) {
                Ok(Some(args)) => assert!(!args.is_empty() && buf.len() < before),
                Ok(None) | Err(_) => break,
            }
        }
    }
});
