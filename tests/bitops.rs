//! Bit operations, compared byte for byte with Redis 7.0.

mod common;
use common::*;

#[test]
fn setbit_getbit_bitcount() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
setbit b 7 1
setbit b 7 1
setbit b 7 0
setbit b 100 1
get b
getbit b 100
getbit b 1000
getbit missing 3
setbit b 4294967296 1
setbit b -1 1
setbit b 0 2
setbit b 0 abc
object encoding b
set s foobar
bitcount s
bitcount s 0 0
bitcount s 1 1
bitcount s 1 1 byte
bitcount s 5 30 bit
bitcount s -2 -1
bitcount s -1 -2
bitcount s 0
bitcount s 0 1 foo
bitcount missing 0
bitcount missing
set i 255
bitcount i
getbit i 2
"#,
    );
}

#[test]
fn bitpos_variants() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        "
set s \"\\xff\\xf0\\x00\"
bitpos s 0
bitpos s 1
bitpos s 1 2
bitpos s 0 0 1
bitpos s 1 2 -1 byte
bitpos s 1 7 15 bit
bitpos s 0 7 15 bit
bitpos s 0 0 -1 bit
bitpos s 1 100
set z \"\\x00\\x00\\x00\"
bitpos z 1
bitpos z 0
bitpos z 0 1
set o \"\\xff\\xff\\xff\"
bitpos o 0
bitpos o 0 0 -1
bitpos o 0 0 -1 bit
bitpos missing 1
bitpos missing 0
bitpos s 2
bitpos s 1 0 1 foo
bitpos s 1 a
",
    );
}

#[test]
fn bitop() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
set a foobar
set b abcdef
bitop and dest a b
get dest
bitop or dest a b
get dest
bitop xor dest a b
get dest
bitop not dest a
get dest
bitop not dest a b
bitop foo dest a
set short ab
bitop or dest a short missing
get dest
bitop and dest missing missing2
exists dest
set dest x
expire dest 100
bitop or dest a
ttl dest
"#,
    );
}

#[test]
fn bitfield() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
bitfield bf set i8 0 100 get i8 0
bitfield bf incrby u2 100 1 overflow sat incrby u2 102 1
bitfield bf incrby i8 0 100
bitfield bf overflow wrap incrby i8 0 100
bitfield bf overflow sat incrby i8 0 100
bitfield bf overflow fail incrby i8 0 100
bitfield bf overflow fail set i8 0 200
bitfield bf get u8 #1 set u8 #1 255 get u8 #1
bitfield bf get i64 0 get u63 0
bitfield bf set i64 0 -1 get u63 0 get i64 0
bitfield bf incrby i64 0 -9223372036854775808
bitfield bf overflow sat incrby i64 0 -9223372036854775807
bitfield bf get u64 0
bitfield bf get i65 0
bitfield bf get x8 0
bitfield bf get i8 -1
bitfield bf foo
bitfield bf overflow bad
bitfield bf get i8
bitfield bf set i8 0 abc
get bf
bitfield missing get u4 0
exists missing
bitfield_ro bf get i8 0
bitfield_ro bf set i8 0 1
bitfield nf overflow fail set u2 0 5
get nf
bitfield bf
set s hello
bitfield s get u8 0 get u16 8
"#,
    );
}
