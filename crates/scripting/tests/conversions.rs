//! Property tests of the conversions between RESP and Lua: whatever a
//! command replies, and whatever values a script builds (here decoded from
//! arbitrary MessagePack), the script's reply is one well-formed RESP
//! frame (or an error), in RESP2 and RESP3, and nothing panics.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{Frame, Protocol};
use ferrokv_scripting::{Caller, Engine, Watchdog};
use proptest::prelude::*;

/// A node whose every command replies `reply`.
struct Replies(Frame);

impl Caller for Replies {
    fn call(&mut self, _args: Vec<Bytes>, _proto: Protocol, _repl: u8) -> Result<Frame, String> {
        Ok(self.0.clone())
    }

    fn acl_check(&mut self, _args: &[bytes::Bytes]) -> Option<bool> {
        Some(true)
    }
}

/// Runs `script` and checks its reply is exactly one complete frame.
fn reply_is_one_frame(engine: &mut Engine, script: &str, argv: &[Bytes], caller: &mut dyn Caller, proto: Protocol) {
    let sha = engine.load(script.as_bytes()).expect("the script compiles");
    let mut out = BytesMut::new();
    let script = engine.script(sha.as_bytes()).expect("just loaded");
    match engine.run(script, (&[], argv), caller, proto, &mut out, Duration::ZERO) {
        Ok(()) => match Frame::parse(&out) {
            Ok(Some((_, used))) => assert_eq!(used, out.len(), "bytes after the reply: {out:?}"),
            // Nested deeper than our parser reads is still well-formed.
            Err(ferrokv_resp::FrameError::TooDeep) => {}
            other => panic!("not one frame ({other:?}): {out:?}"),
        },
        Err(e) => assert!(!e.contains('\r') && !e.contains('\n'), "bad error text {e:?}"),
    }
}

fn engine() -> Engine {
    Engine::new(Arc::new(Watchdog::default())).expect("a VM")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_command_reply_round_trips_through_lua(frame in ferrokv_resp::arbitrary::frame()) {
        let mut engine = engine();
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            for script in ["return redis.call('x')", "return redis.pcall('x')", "redis.setresp(3) return redis.call('x')"] {
                reply_is_one_frame(&mut engine, script, &[], &mut Replies(frame.clone()), proto);
            }
        }
    }

    #[test]
    fn any_values_a_script_builds_make_one_reply(data in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut engine = engine();
        let argv = [Bytes::from(data)];
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            for script in [
                "local ok, v = pcall(cmsgpack.unpack_one, ARGV[1]) return {ok, v}",
                "local ok, _, v = pcall(cmsgpack.unpack_one, ARGV[1]) if ok then return v end return ARGV[1]",
                "redis.setresp(3) local ok, _, v = pcall(cmsgpack.unpack_one, ARGV[1]) return {map = {x = v}, double = 1.5}",
                "local ok, v = pcall(struct.unpack, 'bhiLdc0s', ARGV[1]) return {ok, v}",
                "return {err = ARGV[1]}",
                "return {ok = ARGV[1]}",
                "return {ARGV[1], {err = ARGV[1]}, {ok = ARGV[1]}}",
                "redis.setresp(3) return {verbatim_string = {format = 'txt', string = ARGV[1]}, big_number = ARGV[1]}",
                "redis.setresp(3) return {{big_number = ARGV[1]}, {double = ARGV[1]}, {set = {[ARGV[1]] = true}}}",
            ] {
                reply_is_one_frame(&mut engine, script, &argv, &mut Replies(Frame::Null), proto);
            }
        }
    }
}
