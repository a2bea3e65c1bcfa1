//! Command lines drawn from the table, run against an in-process keyspace:
//! no handler may panic, and every reply is one well-formed frame (the
//! body is `ferrokv_commands::fuzzing::run`, which CI also runs briefly).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferrokv_commands::fuzzing::run(data));
