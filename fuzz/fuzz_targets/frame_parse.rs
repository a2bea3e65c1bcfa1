//! Any bytes must parse to a frame, "incomplete", or an error; a parsed
//! frame re-encodes to bytes that parse to the same frame.
#![no_main]

use ferrokv_resp::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((frame, used))) = Frame::parse(data) {
        assert!(used <= data.len());
        let again = frame.to_bytes();
        let (reparsed, _) = Frame::parse(&again).expect("re-encoded frame parses").expect("complete");
        // NaN never equals itself; compare the encodings instead.
        assert_eq!(reparsed.to_bytes(), again);
    }
});
