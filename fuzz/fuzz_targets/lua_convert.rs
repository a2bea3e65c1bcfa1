//! The conversions between RESP and Lua, both ways: the input is a
//! command's reply (when it parses as a frame) handed to a script through
//! redis.call, and MessagePack a script decodes into arbitrary Lua values
//! and returns. Every reply must be exactly one RESP frame, in RESP2 and
//! RESP3, and nothing may panic.
#![no_main]

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{Frame, Protocol};
use ferrokv_scripting::{Caller, Engine, Watchdog};
use libfuzzer_sys::fuzz_target;

struct Replies(Frame);

impl Caller for Replies {
    fn call(&mut self, _args: Vec<Bytes>, _proto: Protocol, _repl: u8) -> Result<Frame, String> {
        Ok(self.0.clone())
    }

    fn exists(&self, _name: &[u8]) -> bool {
        true
    }
}

const SCRIPTS: [&str; 4] = [
    "return redis.call('x')",
    "redis.setresp(3) return redis.pcall('x')",
    "local ok, _, v = pcall(cmsgpack.unpack_one, ARGV[1]) if ok then return v end return {err = ARGV[1]}",
    "redis.setresp(3) local ok, _, v = pcall(cmsgpack.unpack_one, ARGV[1]) return {map = {x = v}, big_number = ARGV[1]}",
];

thread_local! {
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::new(Arc::new(Watchdog::default())).expect("a VM"));
}

fuzz_target!(|data: &[u8]| {
    let reply = match Frame::parse(data) {
        Ok(Some((frame, _))) => frame,
        _ => Frame::Bulk(Bytes::copy_from_slice(data)),
    };
    let argv = [Bytes::copy_from_slice(data)];
    ENGINE.with(|engine| {
        let mut engine = engine.borrow_mut();
        for script in SCRIPTS {
            let sha = engine.load(script.as_bytes()).expect("the script compiles");
            for proto in [Protocol::Resp2, Protocol::Resp3] {
                let mut out = BytesMut::new();
                let script = engine.script(sha.as_bytes()).expect("just loaded");
                match engine.run(script, (&[], &argv), &mut Replies(reply.clone()), proto, &mut out, Duration::ZERO) {
                    // Well-formed, complete, and nothing after it (nested
                    // deeper than our parser reads is still well-formed).
                    Ok(()) => match Frame::parse(&out) {
                        Ok(Some((_, used))) => assert_eq!(used, out.len()),
                        Err(ferrokv_resp::FrameError::TooDeep) => {}
                        other => panic!("not one frame ({other:?}): {out:?}"),
                    },
                    Err(e) => assert!(!e.contains('\r') && !e.contains('\n')),
                }
            }
        }
    });
});
