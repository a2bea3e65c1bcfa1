//! Hash commands, compared byte for byte with Redis 7.0. Small hashes are
//! listpacks in both, so even their order must match; hashtable-encoded
//! replies are compared sorted.

mod common;
use common::*;

#[test]
fn hash_commands() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
hset h f1 v1 f2 v2 f3 v3
hset h f2 new f4 v4
hgetall h
hkeys h
hvals h
hget h f2
hget h nosuch
hget nokey f
hmget h f1 nosuch f4
hmget nokey a b
hlen h
hlen nokey
hexists h f1
hexists h nosuch
hstrlen h f1
hstrlen h nosuch
hdel h f1 nosuch f3
hgetall h
hdel h f2 f4
exists h
hset h a
hset h a 1 b
hmset h a 1
hmset h a 1 b 2
hsetnx h a 9
hsetnx h c 3
hgetall h
hincrby h a 10
hincrby h a -11
hincrby h new 5
hincrby h a abc
hset h s text
hincrby h s 1
hset h big 9223372036854775807
hincrby h big 1
hincrbyfloat h f 0.1
hincrbyfloat h f 0.2
hincrbyfloat h s 1
hincrbyfloat h a abc
hgetall h
object encoding h
set str x
hset str a b
hget str a
hgetall str
hgetall nokey
hkeys nokey
hrandfield nokey
hrandfield nokey 5
hrandfield h -9223372036854775808
hrandfield h -4611686018427387904 withvalues
hrandfield h 4611686018427387904 withvalues
hrandfield h 9223372036854775807 withvalues
hrandfield h 5 withvalues foo
hrandfield h 0
hset small3 a 1 b 2 c 3
hrandfield small3 10
hrandfield small3 10 withvalues
hrandfield h abc
hscan h 0
hscan nokey 0
hscan h 0 match a*
hscan h 0 count 0
type h
"#,
    );
}

#[test]
fn hash_encoding_conversions() {
    let pair = Pair::new(&["--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8"]);
    run_script(
        &pair,
        r#"
hset small a 1 b 2 c 3 d 4
object encoding small
hgetall small
hset small e 5
object encoding small
~~hgetall small
hset long a 123456789
object encoding long
hset short a 12345678
object encoding short
hset short a 123456789
object encoding short
hset k123456789 x y
object encoding k123456789
config set hash-max-listpack-entries 128
config get hash-max-ziplist-entries
"#,
    );
}

#[test]
fn hash_random_fields_are_members() {
    let node = Node::ferrokv(&[]);
    let mut c = node.conn();
    c.cmd(&["hset", "h", "a", "1", "b", "2", "c", "3"]);
    for _ in 0..20 {
        let f = c.cmd(&["hrandfield", "h"]);
        assert!([bulk("a"), bulk("b"), bulk("c")].contains(&f), "{f:?}");
    }
    let ferrokv_resp::Frame::Array(all) = c.cmd(&["hrandfield", "h", "10"]) else { panic!() };
    assert_eq!(all.len(), 3, "a count above the size returns every field once");
    let ferrokv_resp::Frame::Array(rep) = c.cmd(&["hrandfield", "h", "-7", "withvalues"]) else { panic!() };
    assert_eq!(rep.len(), 14, "a negative count repeats, with values");
    let ferrokv_resp::Frame::Array(two) = c.cmd(&["hrandfield", "h", "2"]) else { panic!() };
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1], "a positive count gives distinct fields");
}
