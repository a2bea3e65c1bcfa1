//! SORT and SORT_RO, compared byte for byte with Redis 7.0.

mod common;
use common::*;

#[test]
fn sort_variants() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
rpush l 3 1 2 10 -5 2.5
sort l
sort l desc
sort l limit 1 2
sort l limit -1 2
sort l limit 2 -1
sort l limit 10 2
sort l limit 0 0
rpush a banana apple cherry
sort a
sort a alpha
sort a alpha desc limit 0 2
sort_ro a alpha
sort_ro a alpha store x
mset w_3 30 w_1 10 w_2 20 w_10 5 w_-5 0 w_2.5 25
sort l by w_*
sort l by w_* desc
sort l by nosort
sort l by w_* get # get w_*
sort l by w_* get nosuch_* get #
hset h_3 f c
hset h_1 f a
hset h_2 f b
rpush l2 1 2 3
sort l2 by h_*->f alpha
sort l2 by nosuch get h_*->f
sort l2 by h_*->f get h_*->f alpha desc
sort l store dst
lrange dst 0 -1
sort l by w_* get w_* store dst
lrange dst 0 -1
sort nokey
sort nokey store dst
exists dst
sadd s 5 3 9
sort s
sort s desc limit 0 2
sadd ss c a b
sort ss alpha
sort ss by nosort store dst2 alpha
lrange dst2 0 -1
zadd z 3 x 1 y 2 w
object encoding z
sort z alpha
object encoding z
sort z by nosort
sort z by nosort desc
sort z by nosort limit 1 1
set str x
sort str
sort l foo
sort l limit 1
sort l limit a 1
sort_ro l store x
"#,
    );
}
