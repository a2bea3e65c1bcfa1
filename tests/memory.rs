//! maxmemory and eviction: Redis's OOM refusals compared with Redis 7.0,
//! and what each policy evicts, with the limit held under load.

mod common;
use common::*;
use std::time::Duration;

/// Used memory may pass `maxmemory` by what commands in flight allocate
/// and by the allocation counter's per-thread lag (docs/memory.md); a
/// single connection's sequential writes stay well inside this.
const SLACK: u64 = 512 << 10;

fn used(c: &mut Conn) -> u64 {
    info_field(c, "memory", "used_memory").parse().expect("used_memory")
}

fn stat(c: &mut Conn, field: &str) -> u64 {
    info_field(c, "stats", field).parse().expect("a counter")
}

fn dbsize(c: &mut Conn) -> i64 {
    match c.cmd(&["dbsize"]) {
        ferrokv_resp::Frame::Integer(n) => n,
        other => panic!("DBSIZE: {other:?}"),
    }
}

/// Sets `count` keys `prefix:<n>` to `size`-byte values, 100 to a
/// pipeline, with `ex` seconds of TTL when given.
fn fill(c: &mut Conn, prefix: &str, count: usize, size: usize, ex: Option<u64>) {
    let value = vec![b'v'; size];
    for chunk in (0..count).collect::<Vec<_>>().chunks(100) {
        for i in chunk {
            let key = format!("{prefix}:{i}");
            let ttl = ex.map(|s| s.to_string());
            let mut args: Vec<&[u8]> = vec![b"set", key.as_bytes(), &value];
            if let Some(t) = &ttl {
                args.extend([&b"ex"[..], t.as_bytes()]);
            }
            c.send(&args);
        }
        for _ in chunk {
            c.read();
        }
    }
}

#[test]
fn oom_refusals_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r##"
set present 1
config set maxmemory 1
config get maxmemory
set a b
get present
append present x
incr present
del present
lpush l x
ping
# Inside MULTI only EXEC, DISCARD, QUIT and RESET pass.
multi
get a
exec
# A transaction queued before memory ran out is refused whole at EXEC.
config set maxmemory 0
multi
set a b
config set maxmemory 1
exec
get a
# Scripts: a legacy script is stopped at its first DENYOOM call; a
# shebang script that may write is refused up front unless allow-oom.
eval "return redis.pcall('set', 'x', 'y')" 0
eval "return redis.call('get', 'x')" 0
eval "#!lua\nreturn 1" 0
eval "#!lua flags=no-writes\nreturn 1" 0
eval "#!lua flags=allow-oom\nreturn redis.call('set', 'x', 'y')" 0
get x
config set maxmemory-policy volatile-lru
set b c
config set maxmemory 0
set b c
"##,
    );
}

#[test]
fn eviction_directives_as_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
config get maxmemory
config get maxmemory-policy
config get maxmemory-samples
config get maxmemory-eviction-tenacity
config set maxmemory 100mb
config get maxmemory
config set maxmemory 1.5gb
config set maxmemory-samples 0
config set maxmemory-samples 65
config set maxmemory-samples 10
config set maxmemory-eviction-tenacity 101
config set maxmemory-eviction-tenacity 100
~~config get lfu*
config set lfu-log-factor -1
config set lfu-decay-time 0
config get lazyfree-lazy-eviction
config set lazyfree-lazy-eviction yes
config get replica-ignore-maxmemory
config get slave-ignore-maxmemory
"#,
    );
}

#[test]
fn every_policy_holds_the_limit_and_spares_what_it_must() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
        let node = Node::ferrokv(&["--maxmemory-policy", policy]);
        let mut c = node.conn();
        // Keys without a TTL first: volatile policies must never take them.
        fill(&mut c, "persistent", 1000, 100, None);
        let limit = used(&mut c) + (4 << 20);
        c.cmd(&["config", "set", "maxmemory", &limit.to_string()]);
        fill(&mut c, "volatile", 40_000, 500, Some(10_000));
        let now = used(&mut c);
        assert!(now <= limit + SLACK, "{policy}: used {now} over {limit}");
        assert!(stat(&mut c, "evicted_keys") > 0, "{policy}: nothing evicted");
        if policy.starts_with("volatile") {
            assert_eq!(
                c.cmd(
                    &["exists"]
                        .into_iter()
                        .chain((0..1000).map(|i| format!("persistent:{i}")).collect::<Vec<_>>().iter().map(|s| s.as_str()))
                        .collect::<Vec<_>>()
                ),
                int(1000),
                "{policy} evicted a key without a TTL"
            );
        }
        assert!(dbsize(&mut c) < 41_000, "{policy}");
    }
}

#[test]
fn volatile_policies_refuse_writes_when_no_key_has_a_ttl() {
    let node = Node::ferrokv(&["--maxmemory-policy", "volatile-lru"]);
    let mut c = node.conn();
    fill(&mut c, "k", 1000, 100, None);
    c.cmd(&["config", "set", "maxmemory", "1"]);
    assert_eq!(c.cmd(&["set", "x", "y"]), err("OOM command not allowed when used memory > 'maxmemory'."));
    assert_eq!(dbsize(&mut c), 1000);
    assert_eq!(stat(&mut c, "evicted_keys"), 0);
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let node = Node::ferrokv(&["--maxmemory-policy", "volatile-ttl", "--maxmemory-samples", "10"]);
    let mut c = node.conn();
    fill(&mut c, "soon", 2000, 500, Some(1000));
    fill(&mut c, "late", 2000, 500, Some(100_000));
    let limit = used(&mut c) + (1 << 20);
    c.cmd(&["config", "set", "maxmemory", &limit.to_string()]);
    fill(&mut c, "new", 3000, 500, Some(50_000));
    let survivors = |c: &mut Conn, prefix: &str| (0..2000).filter(|i| c.cmd(&["exists", &format!("{prefix}:{i}")]) == int(1)).count();
    let (soon, late) = (survivors(&mut c, "soon"), survivors(&mut c, "late"));
    assert!(soon < 1000 && late > 1900, "soon {soon} late {late}");
}

/// Redis's own LRU test: keys read recently survive a wave of new keys.
#[test]
fn lru_and_lfu_keep_the_keys_in_use() {
    for policy in ["allkeys-lru", "allkeys-lfu"] {
        let node = Node::ferrokv(&["--maxmemory-policy", policy, "--maxmemory-samples", "10"]);
        let mut c = node.conn();
        fill(&mut c, "old", 5000, 500, None);
        let limit = used(&mut c) + (512 << 10);
        c.cmd(&["config", "set", "maxmemory", &limit.to_string()]);
        // LRU's clock has a resolution of one second: let the old keys age
        // before the hot ones are read.
        std::thread::sleep(Duration::from_millis(2100));
        for _ in 0..if policy == "allkeys-lfu" { 20 } else { 1 } {
            for i in 0..500 {
                c.cmd(&["get", &format!("old:{i}")]);
            }
        }
        fill(&mut c, "new", 5000, 500, None);
        let hot = (0..500).filter(|i| c.cmd(&["exists", &format!("old:{i}")]) == int(1)).count();
        let cold = (500..5000).filter(|i| c.cmd(&["exists", &format!("old:{i}")]) == int(1)).count();
        assert!(hot > 400, "{policy}: {hot} of 500 hot keys left");
        // Under LFU a cold old key and a new one count the same (both at
        // LFU_INIT_VAL), so only LRU must prefer the new keys.
        let cold_at_most = if policy == "allkeys-lru" { 2000 } else { 3000 };
        assert!(cold < cold_at_most, "{policy}: {cold} of 4500 cold keys left");
    }
}

#[test]
fn the_limit_holds_under_concurrent_writers() {
    let node = Node::ferrokv(&["--maxmemory-policy", "allkeys-lru", "--maxmemory", "16mb", "--io-threads", "2"]);
    let limit = 16u64 << 20;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let port = node.port;
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                fill(&mut c, &format!("w{w}"), 20_000, 1000, None);
            })
        })
        .collect();
    let mut c = node.conn();
    let mut peak = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        peak = peak.max(used(&mut c));
        std::thread::sleep(Duration::from_millis(5));
    }
    writers.into_iter().for_each(|w| w.join().expect("writer"));
    // Four pipelines of 100 × 1 KB in flight, their buffers, and the lag.
    assert!(peak <= limit + 2 * SLACK, "peak {peak} over {limit}");
    assert!(used(&mut c) <= limit + SLACK);
    assert!(stat(&mut c, "evicted_keys") > 40_000);
}

#[test]
fn lazy_eviction_frees_in_the_background_and_propagates_unlink() {
    let node = Node::ferrokv(&["--maxmemory-policy", "allkeys-random", "--lazyfree-lazy-eviction", "yes", "--appendonly", "yes"]);
    let mut c = node.conn();
    fill(&mut c, "k", 1000, 1000, None);
    let limit = used(&mut c) + (256 << 10);
    c.cmd(&["config", "set", "maxmemory", &limit.to_string()]);
    fill(&mut c, "more", 1000, 1000, None);
    assert!(eventually(WAIT, || info_field(&mut c, "memory", "lazyfreed_objects").parse::<u64>().unwrap_or(0) > 0));
    assert_eq!(info_field(&mut c, "memory", "lazyfree_pending_objects"), "0");
    let aof = node.dir.path().join("appendonlydir");
    let text: String = std::fs::read_dir(&aof).unwrap().map(|f| String::from_utf8_lossy(&std::fs::read(f.unwrap().path()).unwrap()).into_owned()).collect();
    assert!(text.contains("UNLINK"), "no UNLINK in the AOF");
}

#[test]
fn primary_evictions_reach_the_replica_which_ignores_its_own_limit() {
    let primary = Node::ferrokv(&["--maxmemory-policy", "allkeys-lru"]);
    let port = primary.port.to_string();
    let replica = Node::ferrokv(&["--replicaof", "127.0.0.1", &port, "--maxmemory", "1"]);
    let mut p = primary.conn();
    fill(&mut p, "k", 2000, 500, None);
    let limit = used(&mut p) + (256 << 10);
    p.cmd(&["config", "set", "maxmemory", &limit.to_string()]);
    fill(&mut p, "more", 2000, 500, None);
    assert!(stat(&mut p, "evicted_keys") > 0);
    let mut r = replica.conn();
    // The link up first: before the replica attaches, both offsets may read
    // 0. The primary's cron may still be evicting (it is over its limit), so
    // the two are compared once the stream has stopped moving.
    let synced = eventually(Duration::from_secs(30), || {
        let offset = info_field(&mut p, "replication", "master_repl_offset");
        info_field(&mut r, "replication", "master_link_status") == "up"
            && info_field(&mut r, "replication", "slave_repl_offset") == offset
            && dbsize(&mut r) == dbsize(&mut p)
            && info_field(&mut p, "replication", "master_repl_offset") == offset
    });
    assert!(synced, "the replica did not apply the primary's evictions: {} keys against {}", dbsize(&mut r), dbsize(&mut p));
    assert_eq!(stat(&mut r, "evicted_keys"), 0);
}

#[test]
fn memory_command_replies_as_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
memory help
set k v
memory usage nokey
memory usage k samples -1
memory usage k samples x
memory usage k foo
memory usage k samples
memory usage
memory doctor
memory purge
? memory stats
? memory usage k
? memory usage k samples 0
memory foo
"#,
    );
}

#[test]
fn memory_usage_and_stats_count_what_keys_hold() {
    let node = Node::ferrokv(&["--enable-debug-command", "yes"]);
    let mut c = node.conn();
    let usage = |c: &mut Conn, key: &str| match c.cmd(&["memory", "usage", key, "samples", "0"]) {
        ferrokv_resp::Frame::Integer(n) => n,
        other => panic!("MEMORY USAGE {key}: {other:?}"),
    };
    c.cmd(&["set", "small", "v"]);
    c.cmd(&["set", "big", &"v".repeat(100_000)]);
    let (small, big) = (usage(&mut c, "small"), usage(&mut c, "big"));
    assert!(small > 0 && small < 100, "small {small}");
    // jemalloc rounds 100 KB up to its 112 KiB class.
    assert!((100_000..120_000).contains(&big), "big {big}");
    for i in 0..2000 {
        c.cmd(&["rpush", "list", &format!("element:{i}")]);
        c.cmd(&["hset", "hash", &format!("field:{i}"), &"x".repeat(i % 100)]);
        c.cmd(&["zadd", "zset", &i.to_string(), &format!("member:{i}")]);
        c.cmd(&["sadd", "set", &format!("member:{i}")]);
    }
    for key in ["list", "hash", "zset", "set"] {
        let n = usage(&mut c, key);
        assert!(n > 20_000 && n < 600_000, "{key}: {n}");
    }
    let used_before = used(&mut c);
    let expected: i64 = ["small", "big", "list", "hash", "zset", "set"].iter().map(|k| usage(&mut c, k)).sum();
    c.cmd(&["flushall"]);
    let freed = used_before as i64 - used(&mut c) as i64;
    assert!((freed - expected).abs() * 5 < expected, "MEMORY USAGE says {expected}, FLUSHALL freed {freed}");
    c.cmd(&["debug", "populate", "1000"]);
    let raw = String::from_utf8_lossy(&c.cmd_raw(&[b"memory", b"stats"])).into_owned();
    assert!(raw.contains("keys.count\r\n:1000\r\n") && raw.contains("db.0\r\n"), "{raw}");
}

#[test]
fn info_memory_has_redis_fields_in_redis_order() {
    let pair = Pair::new(&[]);
    let names = |n: &Node| -> Vec<String> {
        let raw = n.conn().cmd_raw(&[b"info", b"memory"]);
        String::from_utf8_lossy(&raw).lines().skip(1).filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string())).collect()
    };
    assert_eq!(names(&pair.ours), names(&pair.redis));
    let mut c = pair.ours.conn();
    c.cmd(&["set", "k", &"v".repeat(10_000)]);
    let overhead: u64 = info_field(&mut c, "memory", "used_memory_overhead").parse().unwrap();
    let dataset: u64 = info_field(&mut c, "memory", "used_memory_dataset").parse().unwrap();
    assert!(dataset >= 10_000 && overhead >= info_field(&mut c, "memory", "used_memory_startup").parse().unwrap());
}

/// A subscriber that stops reading is cut at its class's hard limit (and
/// logged), while a subscriber that reads gets every message.
#[test]
fn a_slow_subscriber_is_cut_at_its_output_limit_and_others_are_served() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const MESSAGES: usize = 4000;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ferrokv.log");
    let node = Node::ferrokv(&["--client-output-buffer-limit", "pubsub 2mb 1mb 60", "--logfile", log.to_str().unwrap()]);
    let mut slow = node.conn();
    slow.send(&[b"subscribe", b"ch"]);
    let mut fast = node.conn();
    fast.send(&[b"subscribe", b"ch"]);
    fast.read();
    let read = std::sync::Arc::new(AtomicUsize::new(0));
    let reader = {
        let read = read.clone();
        std::thread::spawn(move || {
            for _ in 0..MESSAGES {
                fast.read();
                read.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut publisher = node.conn();
    let payload = "x".repeat(10_000);
    for i in 0..MESSAGES {
        publisher.cmd(&["publish", "ch", &payload]);
        // The reading subscriber keeps up (it is never far behind); the
        // other one reads nothing: 40 MB pile up for it, past what the
        // kernel's socket buffers hold and past its 2 MB limit.
        if i % 50 == 49 {
            assert!(eventually(WAIT, || read.load(Ordering::Relaxed) + 50 > i), "the reading subscriber fell behind");
        }
    }
    reader.join().expect("the reading subscriber got every message");
    let subscribers = |c: &mut Conn| String::from_utf8_lossy(&c.cmd_raw(&[b"client", b"list"])).matches("sub=1").count();
    assert!(eventually(WAIT, || subscribers(&mut publisher) == 1), "the slow subscriber is still connected");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("scheduled to be closed ASAP for overcoming of output buffer limits."), "{text}");
    assert_eq!(publisher.cmd(&["ping"]), simple("PONG"));
}

#[test]
fn output_buffer_limit_directive_as_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
config get client-output-buffer-limit
config set client-output-buffer-limit "pubsub 1mb 512kb 30 normal 10mb 5mb 10"
config get client-output-buffer-limit
config set client-output-buffer-limit "pubsub 1mb 512kb"
config set client-output-buffer-limit "foo 1 1 1"
"#,
    );
}

#[test]
fn maxmemory_clients_evicts_the_biggest_client_and_spares_no_evict() {
    let node = Node::ferrokv(&["--maxmemory-clients", "4mb"]);
    let mut admin = node.conn();
    assert_eq!(admin.cmd(&["client", "no-evict", "on"]), simple("OK"));
    // Requests that have not finished arriving: most of a 10 MB SET each.
    let half_a_set = |c: &mut Conn| {
        c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n");
        c.send_raw(&vec![b'x'; 6 << 20]);
    };
    let mut protected = node.conn();
    assert_eq!(protected.cmd(&["client", "no-evict", "on"]), simple("OK"));
    half_a_set(&mut protected);
    // Sent raw: the write fails once the server drops the evicted client.
    let mut big = std::net::TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    let sent = std::io::Write::write_all(&mut big, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n")
        .and_then(|_| std::io::Write::write_all(&mut big, &vec![b'x'; 6 << 20]));
    big.set_read_timeout(Some(WAIT)).unwrap();
    let closed = sent.is_err()
        || match std::io::Read::read(&mut big, &mut [0u8; 1]) {
            Ok(0) => true,
            Err(e) => matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe),
            Ok(_) => false,
        };
    assert!(closed, "the biggest client was not evicted");
    assert_eq!(stat(&mut admin, "evicted_clients"), 1);
    let list = String::from_utf8_lossy(&admin.cmd_raw(&[b"client", b"list"])).into_owned();
    let line = list.lines().find(|l| l.contains("flags=e") && !l.contains("cmd=client|list")).expect("the protected client");
    let field = |name: &str| line.split(' ').find_map(|f| f.strip_prefix(&format!("{name}="))).and_then(|v| v.parse::<u64>().ok()).unwrap();
    // Its request may still be arriving: some megabytes of it are there.
    assert!(field("qbuf") >= 1 << 20 && field("tot-mem") >= field("qbuf") + field("qbuf-free"), "{line}");
    assert!(info_field(&mut admin, "memory", "mem_clients_normal").parse::<u64>().unwrap() >= 1 << 20);
    assert_eq!(admin.cmd(&["ping"]), simple("PONG"));
}

#[test]
fn maxmemory_clients_directive_as_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
config get maxmemory-clients
config set maxmemory-clients 10%
config get maxmemory-clients
config set maxmemory-clients 1mb
config get maxmemory-clients
config set maxmemory-clients -1
config set maxmemory-clients 101%
config set maxmemory-clients abc
client no-evict on
client no-evict off
client no-evict foo
"#,
    );
}
