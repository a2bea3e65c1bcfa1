//! Any bytes must decode as an RDB string or fail with an error (never
//! panic, never allocate past the input's claims), and what we encode must
//! decode back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut pos = 0;
    let _ = ferrokv_rdb::read_string(data, &mut pos);
    let mut out = Vec::new();
    ferrokv_rdb::write_string(&mut out, data, true);
    let mut pos = 0;
    assert_eq!(ferrokv_rdb::read_string(&out, &mut pos).as_deref(), Ok(data));
});
