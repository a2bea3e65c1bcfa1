//! String commands, compared byte for byte with Redis 7.0.

mod common;
use common::*;

#[test]
fn get_set_and_options() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
get missing
set k v
get k
set k v2 nx
set k v3 xx
get k
set k v4 xx get
set n1 v nx get
get n1
set k v ex 100
ttl k
set k v px 100000 keepttl
set k v keepttl
ttl k
set k v ex 10 px 10
set k v ex 10 ex 20
ttl k
set k v exat 99999999999
expiretime k
set k v pxat 99999999999000
pexpiretime k
set k v ex 0
set k v ex -1
set k v ex abc
set k v ex 9999999999999999
set k v px 9223372036854775807
set k v nx xx
set k v foo
set k v ex
set k v keepttl ex 10
object encoding k
set i 12345
object encoding i
set i 0123
object encoding i
set l aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
object encoding l
set i -9223372036854775808
object encoding i
get i
"#,
    );
}

#[test]
fn variants_of_set_and_get() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
setnx a 1
setnx a 2
get a
setex b 100 v
ttl b
setex b 0 v
setex b abc v
psetex c 100000 v
pttl nosuch
psetex c -5 v
getset a 9
getset newkey x
get newkey
getdel a
getdel a
set e v ex 100
getex e
ttl e
getex e persist
ttl e
getex e ex 50
ttl e
getex e px 10 ex 10
getex e exat 1
get e
getex missing ex 10
getex e nx
mset a 1 b 2 c 3
mget a b c missing
mset a 1 b
msetnx a 1 z 2
msetnx y 1 z 2
mget y z
"#,
    );
}

#[test]
fn append_strlen_ranges() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
append s hello
append s " world"
get s
object encoding s
strlen s
strlen missing
append n 123
object encoding n
append n 4
object encoding n
getrange s 0 4
getrange s -5 -1
getrange s 5 3
getrange s -1 -5
getrange s 0 1000
getrange missing 0 10
getrange s a 1
substr s 1 3
set i 12345
getrange i 1 2
setrange s 6 WORLD
get s
setrange s 20 x
get s
setrange new 3 abc
get new
object encoding new
setrange new2 0 ""
exists new2
setrange s 0 ""
setrange s -1 x
setrange s 536870912 x
"#,
    );
}

#[test]
fn counters() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
incr c
incr c
incrby c 10
decr c
decrby c 5
get c
object encoding c
incrby c abc
set s hello
incr s
set big 9223372036854775807
incr big
set small -9223372036854775808
decr small
decrby c -9223372036854775808
set sp " 1"
incr sp
set c2 10
expire c2 100
incr c2
ttl c2
incrbyfloat f 0.1
incrbyfloat f 0.2
incrbyfloat f 1e3
incrbyfloat f -1000.3
incrbyfloat f abc
set f2 1.5e3
incrbyfloat f2 0.5
object encoding f2
incrbyfloat f3 3
object encoding f3
set hugef 1e308
incrbyfloat hugef 1e308
incrbyfloat s 1
incrbyfloat f nan
incrbyfloat f inf
"#,
    );
}

#[test]
fn lcs() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
mset key1 ohmytext key2 mynewtext
lcs key1 key2
lcs key1 key2 len
lcs key1 key2 idx
lcs key1 key2 idx minmatchlen 4
lcs key1 key2 idx minmatchlen 4 withmatchlen
lcs key1 key2 idx withmatchlen
lcs key1 key2 len idx
lcs key1 missing
lcs key1 key2 foo
lcs key1 key2 minmatchlen abc
mset a aaaa b aa
lcs a b idx
mset x abcdefg y xbcyefz
lcs x y idx withmatchlen
"#,
    );
}

#[test]
fn wrongtype_on_every_string_command() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
rpush l a
get l
set l x get
getset l x
getdel l
getex l
mget l
append l x
strlen l
getrange l 0 1
setrange l 0 x
incr l
decrby l 1
incrbyfloat l 1
lcs l l
setbit l 0 1
getbit l 0
bitcount l
bitpos l 1
bitop and d l
bitfield l get u8 0
bitfield_ro l get u8 0
set l x
type l
hset h f v
rename h l
type l
copy l l2
type l2
object encoding l2
"#,
    );
}
