//! Replication helpers shared by the replication tests: digests, offsets,
//! convergence, and a random write load of every type.

use std::time::Duration;

use rand::{Rng, SeedableRng};

use super::*;

pub const SYNC: Duration = Duration::from_secs(30);

pub fn digest(n: &Node) -> String {
    let mut c = n.conn();
    match c.cmd(&["debug", "digest"]) {
        ferrokv_resp::Frame::Simple(s) => String::from_utf8_lossy(&s).into_owned(),
        other => panic!("DEBUG DIGEST: {other:?}"),
    }
}

pub fn offset(n: &Node, field: &str) -> String {
    info_field(&mut n.conn(), "replication", field)
}

/// Waits until every replica's link is up and it has applied everything
/// the primary logged, then compares digests. Active expiry on the primary
/// is stopped first: a key it reclaims between the two digests would
/// otherwise differ only for the moment its DEL is in flight.
pub fn assert_converged(primary: &Node, replicas: &[&Node]) {
    primary.conn().cmd(&["debug", "set-active-expire", "0"]);
    for r in replicas {
        let caught_up = eventually(SYNC, || offset(r, "master_link_status") == "up" && offset(r, "slave_repl_offset") == offset(primary, "master_repl_offset"));
        assert!(
            caught_up,
            "replica on {} did not catch up: primary at {}, replica at {} ({})",
            r.port,
            offset(primary, "master_repl_offset"),
            offset(r, "slave_repl_offset"),
            offset(r, "master_link_status")
        );
        if digest(r) != digest(primary) {
            panic!("replica on {} differs from the primary: {}", r.port, differences(primary, r));
        }
    }
}

/// The keys whose values differ, for a failure message.
pub fn differences(a: &Node, b: &Node) -> String {
    let mut out = String::new();
    for db in ["0", "1"] {
        let (mut ca, mut cb) = (a.conn(), b.conn());
        ca.cmd(&["select", db]);
        cb.cmd(&["select", db]);
        let keys = |c: &mut Conn| -> std::collections::BTreeSet<String> {
            match c.cmd(&["keys", "*"]) {
                ferrokv_resp::Frame::Array(items) => items.iter().map(|f| String::from_utf8_lossy(f.as_bytes().unwrap()).into_owned()).collect(),
                _ => Default::default(),
            }
        };
        let (ka, kb) = (keys(&mut ca), keys(&mut cb));
        for k in ka.union(&kb) {
            let (da, db_) = (ca.cmd(&["debug", "digest-value", k]), cb.cmd(&["debug", "digest-value", k]));
            if da != db_ {
                let (pa, pb) = (ca.cmd(&["pttl", k]), cb.cmd(&["pttl", k]));
                out.push_str(&format!("db{db} {k}: {} / {} (pttl {pa:?} / {pb:?}); ", contents_or_none(&mut ca, k), contents_or_none(&mut cb, k)));
            }
        }
    }
    out
}

pub fn contents_or_none(c: &mut Conn, k: &str) -> String {
    if c.cmd(&["exists", k]) == int(0) {
        "(none)".into()
    } else {
        contents(c, k).chars().take(200).collect()
    }
}

pub fn stat(n: &Node, field: &str) -> u64 {
    info_field(&mut n.conn(), "stats", field).parse().unwrap_or(0)
}

/// Random writes of every type, with expiries, transactions, blocking pops,
/// several databases: what replication must reproduce exactly.
pub fn random_writes(port: u16, seed: u64, ops: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut c = Conn::connect(port);
    let mut db = 0;
    for i in 0..ops {
        let k = rng.random_range(0..40);
        let v = format!("v{}", rng.random_range(0..1000));
        let n = rng.random_range(1..5).to_string();
        let (s, l, h, st, z) = (format!("s{k}"), format!("l{k}"), format!("h{k}"), format!("set{k}"), format!("z{k}"));
        let cmd: Vec<String> = match rng.random_range(0..26) {
            0 => vec!["set".into(), s, v],
            1 => vec!["set".into(), s, v, "ex".into(), "100".into()],
            2 => vec!["set".into(), s, v, "px".into(), rng.random_range(1..80).to_string()],
            3 => vec!["incrbyfloat".into(), format!("f{k}"), "1.1".into()],
            4 => vec!["append".into(), s, v],
            5 => vec!["expire".into(), s, rng.random_range(0..3).to_string()],
            6 => vec!["pexpire".into(), l.clone(), rng.random_range(1..60).to_string()],
            7 => vec!["getex".into(), s, "px".into(), "50".into()],
            8 => vec!["rpush".into(), l, v.clone(), v],
            9 => vec!["lpop".into(), l, n],
            10 => vec!["blpop".into(), l, format!("l{}", (k + 1) % 40), "0.01".into()],
            11 => vec!["lmove".into(), l, format!("l{}", (k + 3) % 40), "left".into(), "right".into()],
            12 => vec!["sadd".into(), st, v, n],
            13 => vec!["spop".into(), st, n],
            14 => vec!["srem".into(), st, v],
            15 => vec!["hset".into(), h, v.clone(), v],
            16 => vec!["hincrbyfloat".into(), h, "fl".into(), "0.5".into()],
            17 => vec!["zadd".into(), z, n, v],
            18 => vec!["zpopmin".into(), z],
            19 => vec!["zunionstore".into(), format!("zu{k}"), "2".into(), z, format!("z{}", (k + 1) % 40)],
            20 => vec!["del".into(), s, l],
            21 => vec!["pfadd".into(), format!("hll{k}"), v],
            22 => vec!["get".into(), s],
            23 => vec!["incr".into(), format!("n{k}")],
            24 => {
                db = 1 - db;
                vec!["select".into(), db.to_string()]
            }
            _ => {
                c.cmd(&["multi"]);
                c.cmd(&["incr", &format!("n{k}")]);
                c.cmd(&["spop", &st]);
                c.cmd(&["set", &s, &v, "ex", "30"]);
                vec!["exec".into()]
            }
        };
        let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        c.cmd(&args);
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A client writing `key:<i> = i` to whichever port `target` holds, one
/// write at a time, retrying a write that was not acknowledged (READONLY
/// from a demoted primary, a closed connection) against the current
/// target. Returns the acknowledged `i`s once `stop` is set.
pub fn acked_writer(
    target: std::sync::Arc<std::sync::atomic::AtomicU16>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<u64>> {
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut i = 0u64;
        let mut conn: Option<(u16, Conn)> = None;
        while !stop.load(Ordering::Relaxed) {
            let port = target.load(Ordering::Relaxed);
            if conn.as_ref().map(|(p, _)| *p) != Some(port) {
                conn = Conn::try_connect(port).map(|c| (port, c));
            }
            let Some((_, c)) = conn.as_mut() else { continue };
            let (k, v) = (format!("key:{i}"), i.to_string());
            match c.try_cmd(&["set", &k, &v]) {
                Some(ferrokv_resp::Frame::Simple(ok)) if &ok[..] == b"OK" => {
                    acked.push(i);
                    i += 1;
                }
                _ => {
                    conn = None;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        acked
    })
}

/// Every acknowledged write of [`acked_writer`] is on the node at `port`.
pub fn assert_acked_present(port: u16, acked: &[u64]) {
    let mut c = Conn::connect(port);
    for i in acked {
        assert_eq!(c.cmd(&["get", &format!("key:{i}")]), bulk(&i.to_string()), "acknowledged write key:{i} is missing on {port}");
    }
}

/// [`random_writes`] in rounds of 200 on a thread, one seed per round from
/// `first_seed`, until [`Load::finish`].
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    writer: std::thread::JoinHandle<()>,
}

impl Load {
    pub fn start(port: u16, first_seed: u64) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut seed = first_seed;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                random_writes(port, seed, 200);
                seed += 1;
            }
        });
        Load { stop, writer }
    }

    pub fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.writer.join().expect("writer");
    }
}

/// `rounds` faults on the links through `proxy`, chosen by `seed`, every
/// `gap_ms` apart: cuts, delayed chunks for 200 ms, stalls up to 400 ms.
pub fn inject_faults(proxy: &Proxy, seed: u64, rounds: usize, gap_ms: std::ops::Range<u64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(rng.random_range(gap_ms.clone())));
        match rng.random_range(0..3) {
            0 => proxy.cut(),
            1 => {
                proxy.delay(rng.random_range(1..30));
                std::thread::sleep(Duration::from_millis(200));
                proxy.delay(0);
            }
            _ => {
                proxy.pause(true);
                std::thread::sleep(Duration::from_millis(rng.random_range(50..400)));
                proxy.pause(false);
            }
        }
    }
}
