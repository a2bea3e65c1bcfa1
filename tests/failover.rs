//! FAILOVER (Redis 6.2+): replies and errors as Redis 7.0's, and the
//! coordinated switch-over with writers running — between ferrokv nodes,
//! from ferrokv to a real Redis replica, and from a real Redis primary to a
//! ferrokv replica — with no acknowledged write lost and the old primary
//! following the new one partially.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::repl::*;
use common::*;

fn field(n: &Node, name: &str) -> String {
    info_field(&mut n.conn(), "replication", name)
}

fn ferrokv(extra: &[&str]) -> Node {
    let mut args = vec!["--enable-debug-command", "yes", "--save", ""];
    args.extend_from_slice(extra);
    Node::ferrokv(&args)
}

fn redis(extra: &[&str]) -> Node {
    let mut args = vec!["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    Node::redis(&args)
}

#[test]
fn failover_errors_are_redis_errors() {
    let pair = Pair::new(&[]);
    let cases: &[&[&str]] = &[
        &["failover", "abort"],
        &["failover", "foo"],
        &["failover", "timeout", "0"],
        &["failover", "timeout", "x"],
        &["failover", "timeout", "-5"],
        &["failover", "force"],
        &["failover", "to", "h"],
        &["failover", "to", "h", "x"],
        &["failover", "to", "h", "1", "force"],
        &["failover", "timeout", "10", "timeout", "20"],
        &["failover", "abort", "x"],
        &["failover"],
        &["failover", "to", "127.0.0.1", "1"],
    ];
    for args in cases {
        assert_eq!(pair.ours.conn().cmd(args), pair.redis.conn().cmd(args), "{args:?} (left: ferrokv, right: redis)");
    }
    // On a replica; to a host that is not a replica.
    for kind in ["ferrokv", "redis"] {
        let p = if kind == "ferrokv" { ferrokv(&[]) } else { redis(&[]) };
        let port = p.port.to_string();
        let r = ferrokv(&["--replicaof", "127.0.0.1", &port]);
        assert!(eventually(SYNC, || field(&p, "slave0").contains("state=online")), "{kind}: replica online");
        assert_eq!(r.conn().cmd(&["failover"]), err("ERR FAILOVER is not valid when server is a replica."), "{kind}");
        let refused = p.conn().cmd(&["failover", "to", "127.0.0.1", "1", "timeout", "10", "force"]);
        assert_eq!(refused, err("ERR FAILOVER target HOST and PORT is not a replica."), "{kind}");
        assert_eq!(field(&p, "master_failover_state"), "no-failover", "{kind}");
    }
}

/// Runs FAILOVER on `old` (towards `new`) with writers on; checks the
/// roles swapped, every acknowledged write is on `new`, and `old` follows
/// it, partially.
fn switch_over(old: &Node, new: &Node) {
    let target = Arc::new(AtomicU16::new(old.port));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = acked_writer(target.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    let new_port = new.port.to_string();
    assert_eq!(old.conn().cmd(&["failover", "to", "127.0.0.1", &new_port, "timeout", "20000"]), simple("OK"));
    let done = eventually(SYNC, || field(old, "master_failover_state") == "no-failover" && field(old, "role") == "slave");
    assert!(done, "the failover finished: old primary state {}, role {}", field(old, "master_failover_state"), field(old, "role"));
    assert_eq!(field(new, "role"), "master");
    target.store(new.port, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().expect("writer");
    assert!(acked.len() > 10, "writes went on before and after ({} acknowledged)", acked.len());
    assert_acked_present(new.port, &acked);
    assert_converged(new, &[old]);
    assert!(stat(new, "sync_partial_ok") >= 1, "the old primary continued partially as the new one's replica");
}

#[test]
fn failover_between_ferrokv_nodes() {
    let p = ferrokv(&[]);
    let port = p.port.to_string();
    let r = ferrokv(&["--replicaof", "127.0.0.1", &port]);
    assert!(eventually(SYNC, || field(&p, "slave0").contains("state=online")));
    switch_over(&p, &r);
}

#[test]
fn failover_from_ferrokv_to_a_redis_replica() {
    let p = ferrokv(&[]);
    let port = p.port.to_string();
    let r = redis(&["--replicaof", "127.0.0.1", &port]);
    assert!(eventually(SYNC, || field(&p, "slave0").contains("state=online")));
    switch_over(&p, &r);
}

#[test]
fn failover_from_redis_to_a_ferrokv_replica() {
    let p = redis(&[]);
    let port = p.port.to_string();
    let r = ferrokv(&["--replicaof", "127.0.0.1", &port]);
    assert!(eventually(SYNC, || field(&p, "slave0").contains("state=online")));
    switch_over(&p, &r);
}

#[test]
fn failover_abort_and_timeout_leave_the_primary_in_charge() {
    let p = ferrokv(&[]);
    let port = p.port.to_string();
    let r = ferrokv(&["--replicaof", "127.0.0.1", &port]);
    assert!(eventually(SYNC, || field(&p, "slave0").contains("state=online")));
    let target = r.port.to_string();
    // A replica that cannot ack (stopped) never syncs: the timeout ends it.
    let stopped = sigstop(&r);
    let mut c = p.conn();
    c.cmd(&["set", "k", "v"]);
    assert_eq!(c.cmd(&["failover", "to", "127.0.0.1", &target, "timeout", "500"]), simple("OK"));
    assert_eq!(field(&p, "master_failover_state"), "waiting-for-sync");
    assert!(eventually(WAIT, || field(&p, "master_failover_state") == "no-failover"), "the timeout ended it");
    assert_eq!(field(&p, "role"), "master");
    assert_eq!(c.cmd(&["set", "k", "w"]), simple("OK"), "writes flow again");
    // ABORT while waiting; CLIENT UNPAUSE does not let writes through
    // meanwhile (they wait for the failover to end).
    assert_eq!(c.cmd(&["failover"]), simple("OK"));
    assert_eq!(c.cmd(&["failover"]), err("ERR FAILOVER already in progress."));
    assert_eq!(c.cmd(&["client", "unpause"]), simple("OK"));
    let mut writer = p.conn();
    writer.send(&[b"set", b"held", b"1"]);
    writer.stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    let mut byte = [0u8; 1];
    assert!(std::io::Read::read(&mut writer.stream, &mut byte).is_err(), "a write got through a failover's pause");
    writer.stream.set_read_timeout(Some(WAIT)).expect("timeout");
    assert_eq!(c.cmd(&["failover", "abort"]), simple("OK"));
    assert!(eventually(WAIT, || field(&p, "master_failover_state") == "no-failover"));
    assert_eq!(writer.read(), simple("OK"), "the held write goes on once the failover is over");
    assert_eq!(c.cmd(&["set", "k", "x"]), simple("OK"));
    drop(stopped);
}

/// SIGSTOPs a node until dropped.
struct Stopped(u32);

/// Returns once every thread of the node is stopped (on a busy machine a
/// thread may still run for a moment after kill returns).
fn sigstop(n: &Node) -> Stopped {
    let pid = n.pid();
    std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().expect("kill -STOP");
    let all_stopped = || {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
        tasks.flatten().all(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // The state follows the parenthesised name.
            stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T') || rest.starts_with('t'))
        })
    };
    assert!(eventually(WAIT, all_stopped), "the node did not stop");
    Stopped(pid)
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
    }
}
