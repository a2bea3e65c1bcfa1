//! List commands, compared byte for byte with Redis 7.0.

mod common;
use common::*;

#[test]
fn push_pop_range() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
rpush l a b c
lpush l z y
lrange l 0 -1
lrange l 1 2
lrange l -2 -1
lrange l 5 10
lrange l -100 100
lrange l 2 1
lrange nokey 0 -1
lrange l a 1
llen l
llen nokey
lpushx nokey a
rpushx nokey a
lpushx l x
rpushx l w
lpop l
rpop l
lpop l 2
rpop l 0
lpop l -1
lpop l 1 2
lpop nokey
lpop nokey 3
rpop l 10
exists l
object encoding nokey
rpush l a
object encoding l
type l
set s v
lpush s a
lrange s 0 1
lpop s
"#,
    );
}

#[test]
fn index_set_insert_remove_trim() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
rpush l a b c a b c a
lindex l 0
lindex l -1
lindex l 7
lindex l abc
lindex nokey 0
lset l 1 B
lset l -1 Z
lset l 9 x
lset nokey 0 x
lrange l 0 -1
linsert l before c X
linsert l after Z end
linsert l after nosuch x
linsert nokey after a x
linsert l middle a x
lrange l 0 -1
lrem l 2 a
lrange l 0 -1
lrem l -1 c
lrange l 0 -1
lrem l 0 X
lrem nokey 0 a
lrange l 0 -1
ltrim l 1 -2
lrange l 0 -1
ltrim l 5 10
exists l
rpush t 1 2 3 4 5
ltrim t -3 -1
lrange t 0 -1
ltrim t 0 abc
ltrim nokey 0 1
"#,
    );
}

#[test]
fn lpos_lmove_lmpop() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
rpush l a b c 1 2 3 c c
lpos l c
lpos l c rank 2
lpos l c rank -1
lpos l c rank -2 count 2
lpos l c count 0
lpos l c count 2 maxlen 3
lpos l c maxlen 3
lpos l nosuch
lpos l nosuch count 5
lpos nokey a
lpos nokey a count 1
lpos l c rank 0
lpos l c count -1
lpos l c maxlen -1
lpos l c foo 1
rpush src 1 2 3
lmove src dst left right
lmove src dst right left
lrange src 0 -1
lrange dst 0 -1
lmove src src left right
lrange src 0 -1
lmove nokey dst left left
lmove src dst up down
rpoplpush src dst
rpoplpush src dst
exists src
lrange dst 0 -1
set str x
rpush src2 a
rpoplpush src2 str
lrange src2 0 -1
lmpop 2 nokey dst left
lmpop 1 dst right count 10
lmpop 1 nokey left
lmpop 0 l left
lmpop 1 l middle
lmpop 1 l left count 0
lmpop 2 l left
lmpop 1 l left count 2 extra
lmpop 1 str left
"#,
    );
}

/// With `list-compress-depth`, inner nodes are LZF-compressed; every
/// command still answers as Redis's (whose nodes are compressed alike).
#[test]
fn compressed_lists_answer_as_redis() {
    let pair = Pair::new(&["--list-compress-depth", "1", "--list-max-listpack-size", "4"]);
    let mut script = String::from("config get list-compress-depth\n");
    for i in 0..60 {
        script.push_str(&format!("rpush l element-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n"));
    }
    script.push_str(
        "object encoding l\nlrange l 0 -1\nlrange l 17 33\nlindex l 30\nlset l 30 changed\nlindex l 30\nlinsert l before element-40-aaaaaaaaaaaaaaaaaaaaaaaa x\n\
         lrem l 1 element-41-aaaaaaaaaaaaaaaaaaaaaaaa\nlpos l element-50-aaaaaaaaaaaaaaaaaaaaaaaa\nlpop l 5\nrpop l 5\nltrim l 3 -3\nllen l\nlrange l 0 -1\n\
         config set list-compress-depth 2\nrpush l2 a b c d e f g h i j k l m n o p q r s t u v w x y z\nlrange l2 5 20\nsort l2 alpha limit 0 5\n",
    );
    run_script(&pair, &script);
}

#[test]
fn compression_shrinks_a_long_list() {
    let plain = Node::ferrokv(&[]);
    let packed = Node::ferrokv(&["--list-compress-depth", "1"]);
    let usage = |n: &Node| {
        let mut c = n.conn();
        for chunk in 0..50 {
            let items: Vec<String> = (0..100).map(|i| format!("item:{chunk}:{i}:aaaaaaaaaaaaaaaaaaaa")).collect();
            let mut args = vec!["rpush", "big"];
            args.extend(items.iter().map(|s| s.as_str()));
            c.cmd(&args);
        }
        match c.cmd(&["memory", "usage", "big", "samples", "0"]) {
            ferrokv_resp::Frame::Integer(n) => n,
            other => panic!("{other:?}"),
        }
    };
    let (p, z) = (usage(&plain), usage(&packed));
    assert!(z * 2 < p, "compressed {z} vs plain {p}");
    // Compressed, it reads back the same.
    let mut c = packed.conn();
    assert_eq!(c.cmd(&["lindex", "big", "2500"]), bulk("item:25:0:aaaaaaaaaaaaaaaaaaaa"));
    assert_eq!(c.cmd(&["llen", "big"]), int(5000));
}
