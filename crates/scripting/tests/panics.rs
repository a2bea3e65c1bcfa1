//! A panic while a script runs (a defect in a command it calls) must not
//! cross Lua's C frames, and must not leave the watchdog thinking a script
//! still runs: every other client would then wait, or get -BUSY, forever.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{Frame, Protocol};
use ferrokv_scripting::{Caller, Engine, Watchdog};

struct Panics;

impl Caller for Panics {
    fn call(&mut self, _args: Vec<Bytes>, _proto: Protocol, _repl: u8) -> Result<Frame, String> {
        panic!("a defect in a command the script called");
    }

    fn acl_check(&mut self, _args: &[bytes::Bytes]) -> Option<bool> {
        Some(true)
    }
}

#[test]
fn a_panic_inside_a_script_leaves_no_script_running() {
    let watchdog = Arc::new(Watchdog::default());
    let mut engine = Engine::new(watchdog.clone()).expect("a VM");
    let sha = engine.load(b"return redis.call('get', 'k')").expect("compiles");
    let script = engine.script(sha.as_bytes()).expect("loaded");
    let mut out = BytesMut::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine.run(script, (&[], &[]), &mut Panics, Protocol::Resp2, &mut out, Duration::from_millis(5))
    }));
    let reply = outcome.expect("the panic stays inside redis.call");
    assert!(reply.unwrap_err().contains("ERR the command failed unexpectedly"));
    assert!(!watchdog.running() && !watchdog.busy(), "the watchdog was left running");
    // And the VM still runs scripts.
    let sha = engine.load(b"return 1").expect("compiles");
    let script = engine.script(sha.as_bytes()).expect("loaded");
    let mut out = BytesMut::new();
    struct Nothing;
    impl Caller for Nothing {
        fn call(&mut self, _: Vec<Bytes>, _: Protocol, _: u8) -> Result<Frame, String> {
            Ok(Frame::Null)
        }
        fn acl_check(&mut self, _: &[bytes::Bytes]) -> Option<bool> {
            Some(true)
        }
    }
    engine.run(script, (&[], &[]), &mut Nothing, Protocol::Resp2, &mut out, Duration::ZERO).expect("runs");
    assert_eq!(&out[..], b":1\r\n");
}
