//! The bounded run of the command-level fuzz body CI makes (the long runs
//! use `cargo fuzz run commands`, see fuzz/README.md): the kept corpus,
//! then seeded random inputs.

use rand::{Rng, SeedableRng};

#[test]
fn the_kept_corpus_and_random_command_lines_run_clean() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/commands");
    let mut kept = 0;
    for entry in std::fs::read_dir(&corpus).expect("fuzz/corpus/commands") {
        let data = std::fs::read(entry.expect("corpus entry").path()).expect("corpus file");
        ferrokv_commands::fuzzing::run(&data);
        kept += 1;
    }
    assert!(kept > 0, "the corpus is empty");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    // FERROKV_FUZZ_ITERS runs longer (without cargo-fuzz's instrumentation).
    let iters = std::env::var("FERROKV_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    for _ in 0..iters {
        let len = rng.random_range(0..96);
        let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        ferrokv_commands::fuzzing::run(&data);
    }
}
