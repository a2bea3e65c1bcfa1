//! RESTORE payloads and RDB objects come from clients and files: any bytes
//! must decode or fail with an error, never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Unchecked, so the fuzzer reaches the object decoders past the CRC.
    let _ = ferrokv_rdb::restore_payload(data, false);
    if let Some((&kind, body)) = data.split_first() {
        let mut pos = 0;
        let _ = ferrokv_rdb::value::read_object(kind, body, &mut pos);
    }
});
