//! The append-only file: Redis 7's multi-part layout both ways with a real
//! Redis, acknowledged writes surviving kill -9 over many rounds,
//! BGREWRITEAOF, and the truncated-tail policy.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rand::{Rng, SeedableRng};

fn digest(c: &mut Conn) -> ferrokv_resp::Frame {
    c.cmd(&["debug", "digest"])
}

fn fill(c: &mut Conn) {
    populate_every_encoding(c);
    c.cmd(&["pexpireat", "l:small", "4102444800000"]);
    c.cmd(&["select", "4"]);
    c.cmd(&["set", "db4", "x"]);
    c.cmd(&["incrbyfloat", "f", "1.25"]);
    c.cmd(&["select", "0"]);
    c.cmd(&["spop", "set:ht"]);
    c.cmd(&["del", "h:ht"]);
}

fn aof_dir(n: &Node) -> std::path::PathBuf {
    n.dir.path().join("appendonlydir")
}

#[test]
fn appendonly_creates_redis_layout_and_survives_kill9() {
    let mut n = Node::ferrokv(&["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--enable-debug-command", "yes"]);
    let mut c = n.conn();
    fill(&mut c);
    let before = digest(&mut c);
    assert_eq!(info_field(&mut c, "persistence", "aof_enabled"), "1");
    let manifest = std::fs::read_to_string(aof_dir(&n).join("appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    n.kill9();
    n.restart(&["--appendonly", "yes", "--save", "", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&mut n.conn()), before, "every write came back from the AOF");
}

#[test]
fn aof_directories_load_both_ways_with_redis() {
    // Redis writes, ferrokv loads.
    let redis = Node::redis(&["--appendonly", "yes", "--enable-debug-command", "yes"]);
    let mut rc = redis.conn();
    fill(&mut rc);
    let want = digest(&mut rc);
    rc.cmd(&["bgrewriteaof"]);
    assert!(eventually(WAIT, || info_field(&mut redis.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    rc.cmd(&["set", "after-rewrite", "1"]);
    let want_after = digest(&mut rc);
    assert_ne!(want, want_after);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&aof_dir(&redis), &copy.path().join("appendonlydir"));
    let ours = Node::ferrokv(&["--dir", copy.path().to_str().unwrap(), "--appendonly", "yes", "--save", "", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&mut ours.conn()), want_after, "ferrokv loading Redis's AOF");
    // ferrokv writes on, Redis loads the result.
    let mut oc = ours.conn();
    oc.cmd(&["set", "from-ferrokv", "yes"]);
    oc.cmd(&["hset", "h:new", "a", "1"]);
    let want = digest(&mut oc);
    let copy2 = tempfile::tempdir().unwrap();
    copy_dir(&copy.path().join("appendonlydir"), &copy2.path().join("appendonlydir"));
    let back = Node::redis(&["--dir", copy2.path().to_str().unwrap(), "--appendonly", "yes", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&mut back.conn()), want, "Redis loading ferrokv's AOF");
}

#[test]
fn without_the_rdb_preamble_the_base_is_commands_and_loads_both_ways() {
    let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--save", "", "--enable-debug-command", "yes"];
    let mut n = Node::ferrokv(&args);
    let mut c = n.conn();
    fill(&mut c);
    c.cmd(&["bgrewriteaof"]);
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    c.cmd(&["set", "after-rewrite", "1"]);
    let want = digest(&mut c);
    let manifest = std::fs::read_to_string(aof_dir(&n).join("appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    let base = std::fs::read(aof_dir(&n).join("appendonly.aof.2.base.aof")).unwrap();
    assert!(base.starts_with(b"*2\r\n$6\r\nSELECT\r\n"), "{:?}", String::from_utf8_lossy(&base[..40.min(base.len())]));
    // Redis loads it.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&aof_dir(&n), &copy.path().join("appendonlydir"));
    let redis = Node::redis(&["--dir", copy.path().to_str().unwrap(), "--appendonly", "yes", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&mut redis.conn()), want, "Redis loading ferrokv's command-form base");
    // So do we, after a kill -9.
    n.kill9();
    n.restart(&args);
    assert_eq!(digest(&mut n.conn()), want, "ferrokv loading its command-form base");
    // And Redis's own command-form base loads into ferrokv.
    let mut rc = redis.conn();
    rc.cmd(&["config", "set", "aof-use-rdb-preamble", "no"]);
    rc.cmd(&["bgrewriteaof"]);
    assert!(eventually(WAIT, || info_field(&mut redis.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    let redis_dir = copy.path().join("appendonlydir");
    assert!(std::fs::read_dir(&redis_dir).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".base.aof")));
    let copy2 = tempfile::tempdir().unwrap();
    copy_dir(&redis_dir, &copy2.path().join("appendonlydir"));
    let ours = Node::ferrokv(&["--dir", copy2.path().to_str().unwrap(), "--appendonly", "yes", "--save", "", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&mut ours.conn()), want, "ferrokv loading Redis's command-form base");
}

/// A client writes and records what was acknowledged while the server is
/// killed (-9) at random moments; after each restart every acknowledged
/// write must be there.
fn kill_rounds(fsync: &str, rounds: usize) {
    let args = ["--appendonly", "yes", "--appendfsync", fsync, "--save", ""];
    let mut n = Node::ferrokv(&args);
    let mut rng = rand::rngs::StdRng::seed_from_u64(fsync.len() as u64);
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..rounds {
        let port = n.port;
        let writer = std::thread::spawn(move || {
            let mut ok = Vec::new();
            let Some(mut c) = Conn::try_connect(port) else { return (ok, next) };
            let mut i = next;
            loop {
                i += 1;
                match c.try_cmd(&["set", &format!("w:{i}"), &i.to_string()]) {
                    Some(f) if f == simple("OK") => ok.push(i),
                    _ => return (ok, i),
                }
            }
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(20..300)));
        n.kill9();
        let (ok, last) = writer.join().unwrap();
        acked.extend(ok);
        next = last;
        n.restart(&args);
        let mut c = n.conn();
        let lost: Vec<u64> = acked.iter().copied().filter(|i| c.cmd(&["exists", &format!("w:{i}")]) != int(1)).collect();
        assert!(lost.is_empty(), "round {round} ({fsync}): {} of {} acknowledged writes lost, e.g. {:?}", lost.len(), acked.len(), &lost[..lost.len().min(10)]);
    }
    assert!(acked.len() > 100, "too few writes were acknowledged ({})", acked.len());
}

#[test]
fn appendfsync_always_keeps_every_acknowledged_write_across_kill9_rounds() {
    kill_rounds("always", 12);
}

/// A process crash cannot lose what the kernel already has: with everysec
/// nothing acknowledged is lost either (a machine crash could lose up to
/// about two seconds: the fsync cadence).
#[test]
fn appendfsync_everysec_loses_nothing_on_a_process_crash() {
    kill_rounds("everysec", 6);
}

#[test]
fn bgrewriteaof_switches_to_a_new_base_and_keeps_the_data() {
    let mut n = Node::ferrokv(&["--appendonly", "yes", "--save", "", "--enable-debug-command", "yes"]);
    let mut c = n.conn();
    for i in 0..2000 {
        c.cmd(&["set", "counter", &i.to_string()]);
    }
    fill(&mut c);
    let incr = aof_dir(&n).join("appendonly.aof.1.incr.aof");
    let before_size = std::fs::metadata(&incr).unwrap().len();
    assert_eq!(c.cmd(&["bgrewriteaof"]), simple("Background append only file rewriting started"));
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    c.cmd(&["set", "after", "rewrite"]);
    let manifest = std::fs::read_to_string(aof_dir(&n).join("appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    assert!(!incr.exists(), "the old incremental file is removed");
    let new_incr = std::fs::metadata(aof_dir(&n).join("appendonly.aof.2.incr.aof")).unwrap().len();
    assert!(new_incr < before_size / 10, "{new_incr} vs {before_size}");
    let want = digest(&mut c);
    n.restart(&["--appendonly", "yes", "--save", "", "--enable-debug-command", "yes"]);
    assert_eq!(digest(&mut n.conn()), want);
    let redis = Node::redis(&["--enable-debug-command", "yes"]);
    assert_eq!(redis.conn().cmd(&["config", "get", "appendfsync"]), n.conn().cmd(&["config", "get", "appendfsync"]), "directives read back as Redis's");
}

#[test]
fn truncated_tail_loads_when_allowed_and_stops_start_up_otherwise() {
    let mut n = Node::ferrokv(&["--appendonly", "yes", "--save", ""]);
    n.conn().cmd(&["set", "kept", "1"]);
    n.kill9();
    let incr = aof_dir(&n).join("appendonly.aof.1.incr.aof");
    let good = std::fs::metadata(&incr).unwrap().len();
    // A crash in the middle of writing a command.
    let mut data = std::fs::read(&incr).unwrap();
    data.extend_from_slice(b"*3\r\n$3\r\nset\r\n$4\r\nlost\r\n$1");
    std::fs::write(&incr, &data).unwrap();
    // aof-load-truncated no: start-up stops naming the file and offset.
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", &free_port().to_string(), "--dir", n.dir.path().to_str().unwrap(), "--appendonly", "yes", "--aof-load-truncated", "no", "--save", ""])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("appendonly.aof.1.incr.aof") && err.contains(&format!("offset {good}")), "{err}");
    // The default (yes): loads what is whole and cuts the tail.
    n.restart(&["--appendonly", "yes", "--save", ""]);
    let mut c = n.conn();
    assert_eq!(c.cmd(&["get", "kept"]), bulk("1"));
    assert_eq!(c.cmd(&["exists", "lost"]), int(0));
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good, "the partial command was cut off");
}

#[test]
fn config_set_appendonly_creates_the_aof_at_runtime() {
    let n = Node::ferrokv(&["--save", ""]);
    let mut c = n.conn();
    c.cmd(&["set", "before", "1"]);
    assert_eq!(c.cmd(&["config", "set", "appendonly", "yes"]), simple("OK"));
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_enabled") == "1"));
    c.cmd(&["set", "after", "1"]);
    assert!(aof_dir(&n).join("appendonly.aof.manifest").exists());
    let copy = tempfile::tempdir().unwrap();
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    copy_dir(&aof_dir(&n), &copy.path().join("appendonlydir"));
    let redis = Node::redis(&["--dir", copy.path().to_str().unwrap(), "--appendonly", "yes"]);
    let mut r = redis.conn();
    assert_eq!(r.cmd(&["mget", "before", "after"]), ferrokv_resp::Frame::Array(vec![bulk("1"), bulk("1")]));
}

#[test]
fn a_full_disk_refuses_writes_and_never_acknowledges_a_lost_one() {
    let n = Node::ferrokv(&["--appendonly", "yes", "--appendfsync", "always", "--save", ""]);
    let mut c = n.conn();
    c.cmd(&["set", "before", "1"]);
    // The next incremental file is a full disk: /dev/full fails every
    // write with ENOSPC, as a full filesystem does.
    std::os::unix::fs::symlink("/dev/full", aof_dir(&n).join("appendonly.aof.2.incr.aof")).unwrap();
    assert_eq!(c.cmd(&["bgrewriteaof"]), simple("Background append only file rewriting started"));
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    // The write that could not be persisted is not acknowledged.
    c.send(&[b"set", b"lost", b"1"]);
    assert!(c.is_closed(), "a write that never reached the disk was answered");
    let mut c = n.conn();
    assert_eq!(c.cmd(&["set", "refused", "1"]), err("MISCONF Errors writing to the AOF file: No space left on device"));
    assert_eq!(c.cmd(&["get", "before"]), bulk("1"), "reads still work");
    assert_eq!(info_field(&mut c, "persistence", "aof_last_write_status"), "err");
}

#[test]
fn a_corrupt_command_in_the_middle_stops_start_up_naming_the_file() {
    let mut n = Node::ferrokv(&["--appendonly", "yes", "--save", ""]);
    n.conn().cmd(&["set", "a", "1"]);
    n.conn().cmd(&["set", "b", "2"]);
    n.kill9();
    let incr = aof_dir(&n).join("appendonly.aof.1.incr.aof");
    let mut data = std::fs::read(&incr).unwrap();
    // The '*' that opens the last command.
    let at = data.iter().rposition(|b| *b == b'*').unwrap();
    data[at] = b'!';
    std::fs::write(&incr, &data).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", &free_port().to_string(), "--dir", n.dir.path().to_str().unwrap(), "--appendonly", "yes", "--save", ""])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exited = eventually(WAIT, || matches!(child.try_wait(), Ok(Some(_))));
    if !exited {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert!(exited && !out.status.success(), "a corrupt AOF must not load partially");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Bad file format reading the append only file") && err.contains("appendonly.aof.1.incr.aof"), "{err}");
}

#[test]
fn auto_rewrite_starts_when_the_incremental_file_outgrows_the_base() {
    let n = Node::ferrokv(&["--appendonly", "yes", "--save", "", "--auto-aof-rewrite-min-size", "64kb", "--auto-aof-rewrite-percentage", "100"]);
    let mut c = n.conn();
    let value = "v".repeat(1000);
    for i in 0..200 {
        c.cmd(&["set", &format!("k{}", i % 10), &value]);
    }
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_rewrites").parse::<u64>().unwrap_or(0) >= 2), "no automatic rewrite");
    assert!(eventually(WAIT, || info_field(&mut n.conn(), "persistence", "aof_rewrite_in_progress") == "0"));
    let manifest = std::fs::read_to_string(aof_dir(&n).join("appendonly.aof.manifest")).unwrap();
    assert!(!manifest.contains("seq 1 "), "{manifest}");
}

/// DEBUG LOADAOF empties the keyspace and loads the AOF back, as Redis:
/// keys that never reached it (DEBUG POPULATE's) are gone, the others kept,
/// and appending goes on afterwards.
#[test]
fn debug_loadaof_reloads_what_the_aof_holds() {
    let pair = Pair::new(&["--appendonly", "yes", "--enable-debug-command", "yes"]);
    run_script(&pair, "set a 1\nrpush l x y\ndebug populate 10\ndbsize\ndebug loadaof\ndbsize\nget a\nlrange l 0 -1\nset b 2\ndebug loadaof\nget b\ndbsize\n");
    let node = Node::ferrokv(&["--enable-debug-command", "yes"]);
    assert_eq!(node.conn().cmd(&["debug", "loadaof"]), err("ERR DEBUG LOADAOF needs appendonly yes"));
}
