//! dump.rdb files come from disk and from replication: any bytes must load
//! or fail with an error at an offset, never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A valid header lets the fuzzer spend its time on the records.
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(data);
    let _ = ferrokv_rdb::file::read(&file, false, |_| Ok(()));
});
