//! Snapshots on disk: SAVE writes a dump that Redis's checker accepts and
//! that a restarted node loads whole; Redis's own dump loads into ferrokv;
//! a corrupt dump stops start-up with a message naming file and offset.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn all_contents(c: &mut Conn) -> Vec<String> {
    let mut out: Vec<String> = ENCODING_KEYS.iter().map(|k| contents(c, k)).collect();
    c.cmd(&["select", "5"]);
    out.push(format!("{:?}", c.cmd(&["get", "db5key"])));
    out.push(format!("{:?}", c.cmd(&["pexpiretime", "db5key"])));
    c.cmd(&["select", "0"]);
    out.push(format!("{:?}", c.cmd(&["pexpiretime", "l:small"])));
    // Redis saves keys that expired but were not reclaimed yet; loading skips them.
    out.push(format!("{:?}", c.cmd(&["exists", "gone"])));
    out
}

fn fill(c: &mut Conn) {
    populate_every_encoding(c);
    c.cmd(&["pexpireat", "l:small", "4102444800000"]);
    c.cmd(&["set", "gone", "x", "px", "1"]);
    c.cmd(&["select", "5"]);
    c.cmd(&["set", "db5key", "in five"]);
    c.cmd(&["pexpireat", "db5key", "4102444800123"]);
    c.cmd(&["select", "0"]);
    std::thread::sleep(Duration::from_millis(5));
}

/// Compares key by key, so a failure names the key instead of printing everything.
fn assert_same(got: &[String], want: &[String], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let cut = |s: &str| s.chars().take(300).collect::<String>();
            panic!("{what}: item {i} differs\n ours: {}\n want: {}", cut(g), cut(w));
        }
    }
}

fn info_field(c: &mut Conn, field: &str) -> String {
    let info = c.cmd(&["info", "persistence"]);
    let text = String::from_utf8_lossy(info.as_bytes().unwrap()).into_owned();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_else(|| panic!("{field} missing")).to_string()
}

#[test]
fn save_then_restart_keeps_everything_and_redis_accepts_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let before = {
        let node = Node::ferrokv(&["--dir", dir_arg]);
        let mut c = node.conn();
        fill(&mut c);
        assert_ne!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(c.cmd(&["save"]), simple("OK"));
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut c, "rdb_saves"), "1");
        let lastsave = match c.cmd(&["lastsave"]) {
            ferrokv_resp::Frame::Integer(n) => n,
            other => panic!("{other:?}"),
        };
        assert!(lastsave > 1_700_000_000);
        all_contents(&mut c)
    };
    let path = dir.path().join("dump.rdb");
    let check = Command::new(which("redis-check-rdb").unwrap()).arg(&path).output().unwrap();
    assert!(check.status.success(), "redis-check-rdb: {}", String::from_utf8_lossy(&check.stdout));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n != "dump.rdb").collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");

    let restarted = Node::ferrokv(&["--dir", dir_arg]);
    let mut c = restarted.conn();
    assert_same(&all_contents(&mut c), &before, "contents after restart");
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded"), (ENCODING_KEYS.len() + 1).to_string());

    let redis = Node::redis(&["--dir", dir_arg]);
    assert_same(&all_contents(&mut redis.conn()), &before, "Redis loading our dump");
}

#[test]
fn redis_dump_loads_into_ferrokv() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let expected = {
        let redis = Node::redis(&["--dir", dir_arg]);
        let mut c = redis.conn();
        fill(&mut c);
        assert_eq!(c.cmd(&["save"]), simple("OK"));
        all_contents(&mut c)
    };
    let ours = Node::ferrokv(&["--dir", dir_arg]);
    assert_same(&all_contents(&mut ours.conn()), &expected, "ferrokv loading Redis's dump");
}

/// Runs the server on `dir` expecting it to refuse to start; returns its log.
fn refused_start(dir: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", &free_port().to_string(), "--bind", "127.0.0.1", "--dir", dir])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "must exit with an error");
            let out = child.wait_with_output().unwrap();
            return format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server started on a corrupt dump");
}

#[test]
fn corrupt_or_truncated_dump_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    {
        let node = Node::ferrokv(&["--dir", dir_arg]);
        let mut c = node.conn();
        fill(&mut c);
        assert_eq!(c.cmd(&["save"]), simple("OK"));
    }
    let path = dir.path().join("dump.rdb");
    let good = std::fs::read(&path).unwrap();

    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n / 2] ^= 0x40;
    std::fs::write(&path, &flipped).unwrap();
    let log = refused_start(dir_arg);
    assert!(log.contains("dump.rdb") && log.contains("offset"), "log must name file and offset: {log}");

    std::fs::write(&path, &good[..n - 100]).unwrap();
    let log = refused_start(dir_arg);
    assert!(log.contains("dump.rdb") && log.contains("offset"), "log must name file and offset: {log}");

    // Well-formed bytes with a duplicate key: refused at the second copy (magic 9 + SELECTDB 2 + RESIZEDB 3 + first key 5).
    let mut w = ferrokv_rdb::file::Writer::new(std::fs::File::create(&path).unwrap(), &[], false, true).unwrap();
    w.select_db(0, 2, 0).unwrap();
    let v = ferrokv_rdb::RdbValue::String(b"v".to_vec());
    w.key(b"k", &v, ferrokv_rdb::Layout::Plain, None).unwrap();
    w.key(b"k", &v, ferrokv_rdb::Layout::Plain, None).unwrap();
    w.finish().unwrap();
    let log = refused_start(dir_arg);
    assert!(log.contains("duplicate key 'k' at offset 19"), "{log}");
}

#[test]
fn persistence_directives_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
        config get dbfilename
        config set dbfilename sub/dump.rdb
        config set dbfilename other.rdb
        config get dbfilename
        config set rdbcompression no
        config get rdbcompression
        config get rdbchecksum
        config set rdbchecksum no
        config set dir /tmp
        ? lastsave
        multi
        save
        discard
        "#,
    );
    let open = Pair::new(&["--enable-protected-configs", "yes"]);
    run_script(
        &open,
        r#"
        config set dbfilename sub/dump.rdb
        config set dbfilename other.rdb
        config get dbfilename
        config get enable-protected-configs
        "#,
    );
}

fn dbsize(c: &mut Conn) -> ferrokv_resp::Frame {
    c.cmd(&["dbsize"])
}

#[test]
fn shutdown_and_sigterm_save_when_save_points_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    // SHUTDOWN NOSAVE writes nothing; SHUTDOWN with save points saves.
    let mut node = Node::ferrokv(&["--dir", dir_arg]);
    node.conn().cmd(&["set", "a", "1"]);
    node.conn().send(&[b"shutdown", b"nosave"]);
    assert!(node.wait_exit(WAIT));
    assert!(!dir.path().join("dump.rdb").exists());

    let mut node = Node::ferrokv(&["--dir", dir_arg]);
    let mut c = node.conn();
    c.cmd(&["set", "a", "1"]);
    c.send(&[b"shutdown"]);
    assert!(c.read_to_close().is_empty(), "a successful SHUTDOWN does not reply");
    assert!(node.wait_exit(WAIT));
    let mut node = Node::ferrokv(&["--dir", dir_arg]);
    assert_eq!(node.conn().cmd(&["get", "a"]), bulk("1"));

    // SIGTERM saves too.
    node.conn().cmd(&["set", "b", "2"]);
    Command::new("kill").args(["-TERM", &node.pid().to_string()]).status().unwrap();
    assert!(node.wait_exit(WAIT));
    let node = Node::ferrokv(&["--dir", dir_arg]);
    assert_eq!(dbsize(&mut node.conn()), int(2));
}

#[test]
fn save_points_snapshot_after_enough_changes() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::ferrokv(&["--dir", dir.path().to_str().unwrap(), "--save", "1 3"]);
    let mut c = node.conn();
    c.cmd(&["set", "a", "1"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(info_field(&mut c, "rdb_saves"), "0", "one change is below the save point");
    c.cmd(&["set", "b", "1"]);
    c.cmd(&["set", "c", "1"]);
    assert!(eventually(WAIT, || info_field(&mut c, "rdb_saves") == "1"), "save point never fired");
    assert!(dir.path().join("dump.rdb").exists());
}

#[test]
fn failed_save_is_an_error_and_shutdown_refuses_to_lose_data() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::ferrokv(&["--dir", dir.path().to_str().unwrap()]);
    // A directory where the dump should go makes every save fail, even as root.
    std::fs::create_dir(dir.path().join("dump.rdb")).unwrap();
    let mut c = node.conn();
    c.cmd(&["set", "a", "1"]);
    assert_eq!(c.cmd(&["save"]), err("ERR"));
    assert_eq!(c.cmd(&["shutdown"]), err("ERR Errors trying to SHUTDOWN. Check logs."));
    assert_eq!(c.cmd(&["get", "a"]), bulk("1"), "still serving");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "the failed save's temp file is removed");
}

#[test]
fn debug_reload_round_trips_every_encoding() {
    let node = Node::ferrokv(&["--enable-debug-command", "yes"]);
    let mut c = node.conn();
    fill(&mut c);
    let before = all_contents(&mut c);
    assert_eq!(c.cmd(&["debug", "reload"]), simple("OK"));
    assert_same(&all_contents(&mut c), &before, "after DEBUG RELOAD");
}

#[test]
fn debug_reload_options_match_redis() {
    let pair = Pair::new(&["--enable-debug-command", "yes"]);
    run_script(
        &pair,
        r#"
        set a 1
        hset h f v
        pexpireat a 4102444800000
        debug reload
        pexpiretime a
        ~~ hgetall h
        debug reload bogus
        set later x
        debug reload nosave
        exists later
        set later y
        set a 2
        debug reload nosave noflush merge
        get later
        get a
        "#,
    );
}

fn digest(c: &mut Conn) -> ferrokv_resp::Frame {
    c.cmd(&["debug", "digest"])
}

fn wait_bgsave(c: &mut Conn) {
    assert!(eventually(WAIT, || info_field(c, "rdb_bgsave_in_progress") == "0"), "BGSAVE never finished");
}

#[test]
fn bgsave_is_the_instant_it_was_asked_while_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let node = Node::ferrokv(&["--dir", dir_arg, "--save", "", "--enable-debug-command", "yes"]);
    let mut c = node.conn();
    fill(&mut c);
    let mut batch = Vec::new();
    for i in 0..30_000 {
        batch.extend(encode(&[b"set", format!("key:{i}").as_bytes(), format!("value-{i}").as_bytes()]));
    }
    c.send_raw(&batch);
    for _ in 0..30_000 {
        c.read_raw();
    }
    let at_bgsave = digest(&mut c);
    // BGSAVE and the writes that follow it arrive in one read: the snapshot
    // must still be the instant of BGSAVE.
    let mut batch = encode(&[b"bgsave"]);
    for i in 0..3000 {
        batch.extend(encode(&[b"set", format!("key:{i}").as_bytes(), b"changed"]));
        batch.extend(encode(&[b"del", format!("key:{}", 29_999 - i).as_bytes()]));
    }
    batch.extend(encode(&[b"bgsave"]));
    batch.extend(encode(&[b"flushall"]));
    c.send_raw(&batch);
    assert_eq!(c.read(), simple("Background saving started"));
    for _ in 0..6000 {
        c.read_raw();
    }
    let second = c.read();
    assert!(second == err("ERR Background save already in progress") || second == simple("Background saving started"), "{second:?}");
    assert_eq!(c.read(), simple("OK"));
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let path = dir.path().join("dump.rdb");
    let check = Command::new(which("redis-check-rdb").unwrap()).arg(&path).output().unwrap();
    assert!(check.status.success(), "redis-check-rdb: {}", String::from_utf8_lossy(&check.stdout));
    if second == err("ERR Background save already in progress") {
        // The dump is the first BGSAVE's: everything as it was then.
        let loaded = Node::ferrokv(&["--dir", dir_arg, "--save", "", "--enable-debug-command", "yes"]);
        assert_eq!(digest(&mut loaded.conn()), at_bgsave);
        let redis = Node::redis(&["--dir", dir_arg, "--enable-debug-command", "yes"]);
        assert_eq!(digest(&mut redis.conn()), at_bgsave, "Redis loads the same dataset");
    }
    assert_eq!(c.cmd(&["bgsave", "schedule"]), simple("Background saving started"));
    assert_eq!(c.cmd(&["bgsave", "x"]), err("ERR syntax error"));
    wait_bgsave(&mut c);
}

#[test]
fn failed_bgsave_stops_writes_with_misconf_like_redis() {
    let pair = Pair::new(&["--save", "3600 1"]);
    let mut errors = Vec::new();
    for n in [&pair.ours, &pair.redis] {
        let mut c = n.conn();
        // A directory where the dump should go makes every save fail, even as root.
        let blocker = n.dir.path().join("dump.rdb");
        std::fs::create_dir(&blocker).unwrap();
        assert_eq!(c.cmd(&["set", "a", "1"]), simple("OK"));
        assert_eq!(c.cmd(&["bgsave"]), simple("Background saving started"));
        assert!(eventually(WAIT, || info_field(&mut c, "rdb_last_bgsave_status") == "err"), "{}", n.kind);
        assert!(eventually(WAIT, || info_field(&mut c, "rdb_bgsave_in_progress") == "0"));
        let refused = c.cmd(&["set", "b", "1"]);
        assert!(matches!(&refused, ferrokv_resp::Frame::Error(e) if e.starts_with(b"MISCONF")), "{}: {refused:?}", n.kind);
        assert_eq!(c.cmd(&["ping"]), refused, "{}", n.kind);
        errors.push(refused.clone());
        assert_eq!(c.cmd(&["get", "a"]), bulk("1"), "reads still work");
        c.cmd(&["config", "set", "stop-writes-on-bgsave-error", "no"]);
        assert_eq!(c.cmd(&["set", "b", "1"]), simple("OK"));
        c.cmd(&["config", "set", "stop-writes-on-bgsave-error", "yes"]);
        assert_eq!(c.cmd(&["set", "b", "2"]), refused);
        std::fs::remove_dir(&blocker).unwrap();
        assert_eq!(c.cmd(&["bgsave"]), simple("Background saving started"));
        assert!(eventually(WAIT, || info_field(&mut c, "rdb_last_bgsave_status") == "ok"), "{}", n.kind);
        assert_eq!(c.cmd(&["set", "b", "3"]), simple("OK"));
    }
    assert_eq!(errors[0], errors[1], "the MISCONF text is Redis's");
    let (mut a, mut b) = (pair.ours.conn(), pair.redis.conn());
    assert_eq!(a.cmd(&["config", "get", "stop-writes-on-bgsave-error"]), b.cmd(&["config", "get", "stop-writes-on-bgsave-error"]));
}
