//! Lazy freeing, side by side with Redis 7.0: which deletions hand their
//! value to the background thread is visible in INFO's
//! `lazyfreed_objects`, and both servers must count the same.

mod common;
use common::*;
use std::time::Duration;

fn freed(c: &mut Conn) -> u64 {
    info_field(c, "memory", "lazyfreed_objects").parse().expect("a count")
}

/// Runs `steps` on both servers; after each, the growth of
/// `lazyfreed_objects` must be the same on both.
fn same_lazyfree_counts(steps: &[(&str, &[&[&str]])]) {
    let pair = Pair::new(&["--enable-debug-command", "yes"]);
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.redis.conn());
    for (what, cmds) in steps {
        let before = (freed(&mut ours), freed(&mut theirs));
        for cmd in *cmds {
            assert_eq!(ours.cmd(cmd), theirs.cmd(cmd), "{what}: {cmd:?}");
        }
        // The thread frees in the background: wait for Redis's count to
        // settle, then for ours to reach it.
        std::thread::sleep(Duration::from_millis(50));
        let expected = freed(&mut theirs) - before.1;
        assert!(
            eventually(Duration::from_secs(10), || freed(&mut ours) - before.0 == expected),
            "{what}: Redis freed {expected} lazily, ferrokv {}",
            freed(&mut ours) - before.0
        );
    }
}

fn members(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("member-{i}")).collect()
}

#[test]
fn unlink_del_flush_overwrite_and_expiry_free_as_redis() {
    let big = members(200);
    let mut sadd_big: Vec<&str> = vec!["sadd", "big"];
    sadd_big.extend(big.iter().map(|s| s.as_str()));
    let mut hset_big: Vec<&str> = vec!["hset", "h"];
    let fields = members(600);
    for m in &fields {
        hset_big.extend([m.as_str(), "v"]);
    }
    let mut rpush: Vec<&str> = vec!["rpush", "l"];
    rpush.extend(big.iter().map(|s| s.as_str()));
    let steps: &[(&str, &[&[&str]])] = &[
        ("UNLINK of a big set", &[&sadd_big, &["unlink", "big"]]),
        ("UNLINK of a small set", &[&["sadd", "small", "a", "b"], &["unlink", "small"]]),
        ("DEL of a big hash", &[&hset_big, &["del", "h"]]),
        ("DEL under lazyfree-lazy-user-del", &[&["config", "set", "lazyfree-lazy-user-del", "yes"], &hset_big, &["del", "h"]]),
        ("UNLINK of a list of 50 nodes", &[&["config", "set", "list-max-listpack-size", "4"], &rpush, &["unlink", "l"]]),
        (
            "UNLINK of a list of 67 nodes",
            &[
                &rpush,
                &[
                    "rpush", "l", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y",
                    "z", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24",
                    "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47",
                    "48", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63", "64", "65", "66", "67", "68",
                ],
                &["unlink", "l"],
            ],
        ),
        ("SET over a big set, server-del off", &[&sadd_big, &["set", "big", "x"]]),
        ("SET over a big set, server-del on", &[&["config", "set", "lazyfree-lazy-server-del", "yes"], &["del", "big"], &sadd_big, &["set", "big", "x"]]),
        (
            "expired big set, lazy expire",
            &[
                &["config", "set", "lazyfree-lazy-expire", "yes"],
                &["del", "big"],
                &sadd_big,
                &["pexpire", "big", "1"],
                &["debug", "sleep", "0.01"],
                &["exists", "big"],
            ],
        ),
        ("FLUSHALL ASYNC", &[&["mset", "a", "1", "b", "2", "c", "3"], &["select", "3"], &["set", "d", "4"], &["select", "0"], &["flushall", "async"]]),
        ("FLUSHDB SYNC", &[&["mset", "a", "1", "b", "2"], &["flushdb", "sync"]]),
        ("FLUSHDB under lazyfree-lazy-user-flush", &[&["config", "set", "lazyfree-lazy-user-flush", "yes"], &["mset", "a", "1", "b", "2"], &["flushdb"]]),
    ];
    same_lazyfree_counts(steps);
}

#[test]
fn streams_free_lazily_as_redis_counts_them() {
    let xadds: Vec<Vec<String>> = (1..=40).map(|i| vec!["xadd".into(), "s".into(), format!("{i}-1"), "f".into(), "v".into()]).collect();
    let xadds: Vec<Vec<&str>> = xadds.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
    let mut small: Vec<&[&str]> = xadds.iter().map(Vec::as_slice).collect();
    small.push(&["unlink", "s"]);
    let mut many_nodes: Vec<&[&str]> = vec![&["config", "set", "stream-node-max-entries", "1"]];
    many_nodes.extend(xadds.iter().map(Vec::as_slice));
    many_nodes.push(&["unlink", "s"]);
    let mut with_pel: Vec<&[&str]> = vec![&["config", "set", "stream-node-max-entries", "100"]];
    with_pel.extend(xadds.iter().map(Vec::as_slice));
    with_pel.extend([
        &["xgroup", "create", "s", "g1", "0"][..],
        &["xgroup", "create", "s", "g2", "0"],
        &["xreadgroup", "group", "g1", "c", "streams", "s", ">"],
        &["unlink", "s"],
    ]);
    same_lazyfree_counts(&[
        ("UNLINK of a one-node stream", &small),
        ("UNLINK of a 40-node stream", &many_nodes),
        ("UNLINK of a stream with a PEL of 40", &with_pel),
    ]);
}
