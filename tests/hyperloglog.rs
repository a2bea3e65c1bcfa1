//! HyperLogLog: replies and the stored bytes themselves match Redis 7.0,
//! through sparse updates, promotion to dense, merges and cached counts.

mod common;
use common::*;

#[test]
fn hll_bytes_and_counts_match_redis() {
    let pair = Pair::new(&[]);
    let mut script = String::from("pfadd h\nget h\npfadd h a b c\nget h\npfcount h\nget h\npfadd h a\npfcount h nokey\n");
    // Grow through many sparse splits and merges, checking the bytes.
    for batch in 0..30 {
        let elems: Vec<String> = (0..20).map(|i| format!("e{}", batch * 20 + i)).collect();
        script.push_str(&format!("pfadd big {}\nget big\npfcount big\n", elems.join(" ")));
    }
    script.push_str("pfadd other x y z\npfmerge dst big other\nget dst\npfcount dst\npfcount big other\npfmerge dst\nget dst\n");
    script.push_str("set s hello\npfadd s a\npfcount s\npfmerge s big\nrpush l a\npfadd l a\npfcount l\npfmerge nowhere\nget nowhere\n");
    run_script(&pair, &script);
}

#[test]
fn promotion_to_dense_matches_redis() {
    let pair = Pair::new(&["--hll-sparse-max-bytes", "200"]);
    let mut script = String::new();
    for batch in 0..15 {
        let elems: Vec<String> = (0..40).map(|i| format!("k{}", batch * 40 + i)).collect();
        script.push_str(&format!("pfadd d {}\nget d\n", elems.join(" ")));
    }
    script.push_str("pfcount d\nget d\npfadd s1 a b\npfmerge s1 d\nget s1\npfcount s1\n");
    run_script(&pair, &script);
}

/// PFDEBUG and PFSELFTEST, reply for reply against Redis 7.0: the sparse
/// opcodes, the registers (which make the value dense, as GET then shows),
/// the encoding, and every error.
#[test]
fn pfdebug_and_pfselftest_match_redis() {
    let pair = Pair::new(&[]);
    let elems: Vec<String> = (0..300).map(|i| format!("e{i}")).collect();
    run_script(
        &pair,
        &format!(
            "pfadd h a b c d\npfdebug decode h\npfdebug encoding h\npfdebug getreg h\nget h\npfdebug encoding h\npfdebug decode h\npfdebug todense h\n\
pfadd h2 {}\npfdebug decode h2\npfdebug todense h2\npfdebug todense h2\nget h2\npfdebug encoding h2\n\
pfdebug getreg nosuch\nset s hello\npfdebug getreg s\nrpush l a\npfdebug encoding l\npfdebug nosuch h\npfdebug getreg\npfselftest\npfselftest x\n",
            elems.join(" ")
        ),
    );
}
