//! Server commands: our command table checked against Redis 7.0's own,
//! INFO's sections and field names, SLOWLOG, MONITOR, DEBUG, LATENCY,
//! and shutdown by command and by signal.

mod common;
use common::*;
use ferrokv_resp::Frame;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

fn text(f: &Frame) -> String {
    String::from_utf8(f.as_bytes().expect("string reply").to_vec()).unwrap()
}

fn names(f: &Frame) -> Vec<String> {
    match f {
        Frame::Array(items) | Frame::Set(items) => items.iter().map(|i| String::from_utf8_lossy(i.as_bytes().unwrap()).into_owned()).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

/// name, arity, flags, first, last, step, ACL categories, tips and key
/// specs of every command and subcommand in a COMMAND reply.
fn table(reply: &Frame) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Frame::Array(cmds) = reply else { panic!("COMMAND reply") };
    fn walk(c: &Frame, out: &mut BTreeMap<String, String>) {
        let Frame::Array(f) = c else { return };
        let name = String::from_utf8_lossy(f[0].as_bytes().unwrap()).into_owned();
        let mut flags = names(&f[2]);
        flags.sort();
        let mut acl = names(&f[6]);
        acl.sort();
        out.insert(name, format!("{:?} {:?} {:?} {:?} {:?} {:?} tips {:?} key specs {:?}", f[1], flags, f[3], f[4], f[5], acl, f[7], f[8]));
        if let Some(Frame::Array(subs)) = f.get(9) {
            for s in subs {
                walk(s, out);
            }
        }
    }
    for c in cmds {
        walk(c, &mut out);
    }
    out
}

#[test]
fn command_table_matches_redis() {
    let pair = Pair::new(&[]);
    let ours = table(&pair.ours.conn().cmd(&["command"]));
    let redis = table(&pair.redis.conn().cmd(&["command"]));
    let mut mismatches = Vec::new();
    for (name, spec) in &ours {
        match redis.get(name) {
            None if name == "client|setinfo" => {} // Redis 7.2's; clients send it.
            None => mismatches.push(format!("{name}: not a Redis 7.0 command")),
            Some(r) if r != spec => mismatches.push(format!("{name}:\n  ours  {spec}\n  redis {r}")),
            _ => {}
        }
    }
    assert!(mismatches.is_empty(), "command table differs from Redis 7.0:\n{}", mismatches.join("\n"));
    assert!(ours.len() >= 129, "only {} commands", ours.len());
}

/// `since` and `group` of every command and subcommand in COMMAND DOCS
/// (RESP2: a flat name, fields list).
fn docs(reply: &Frame, prefix: &str, out: &mut BTreeMap<String, String>) {
    let Frame::Array(items) = reply else { panic!("COMMAND DOCS reply") };
    for pair in items.chunks(2) {
        let name = format!("{prefix}{}", text(&pair[0]));
        let Frame::Array(fields) = &pair[1] else { continue };
        let mut since = String::new();
        let mut group = String::new();
        for f in fields.chunks(2) {
            match text(&f[0]).as_str() {
                "since" => since = text(&f[1]),
                "group" => group = text(&f[1]),
                "subcommands" => docs(&f[1], "", out),
                _ => {}
            }
        }
        out.insert(name, format!("since {since} group {group}"));
    }
}

#[test]
fn command_docs_since_and_group_match_redis() {
    let pair = Pair::new(&[]);
    let (mut ours, mut redis) = (BTreeMap::new(), BTreeMap::new());
    docs(&pair.ours.conn().cmd(&["command", "docs"]), "", &mut ours);
    docs(&pair.redis.conn().cmd(&["command", "docs"]), "", &mut redis);
    let mismatches: Vec<String> = ours
        .iter()
        .filter_map(|(name, d)| match redis.get(name) {
            Some(r) if r != d => Some(format!("{name}: ours {d}, redis {r}")),
            _ => None,
        })
        .collect();
    assert!(mismatches.is_empty(), "COMMAND DOCS differs from Redis 7.0:\n{}", mismatches.join("\n"));
    assert_eq!(ours.get("zmpop").map(String::as_str), Some("since 7.0.0 group sorted-set"));
}

#[test]
fn command_subcommands_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
command info get nosuch
?hello 3
command info get nosuch
command info keys mset
?hello 2
command getkeys set a b
command getkeys mset a 1 b 2
command getkeys ping
command getkeys nosuch a
command getkeys get
command getkeys time x
command getkeys config get
command getkeys zunionstore d 2 a b
command getkeys zunionstore d 3 a b
command getkeys zunionstore d 0 a
command getkeys zunionstore d -1 a
command getkeys zunionstore d 99999999999999999999 a
command getkeys eval x 0
command getkeys eval x 2 a b c
command getkeys eval x 3 a b
command getkeys fcall_ro f 1 a
command getkeys lmpop 2 a b left
command getkeys blmpop 0 2 a b left
command getkeys mset a 1 b
command getkeys sintercard 2 a b limit 1
command getkeysandflags set a b
command getkeysandflags set a b get
command getkeysandflags set a b ex 10 GET
command getkeysandflags bitfield a get u8 0
command getkeysandflags bitfield a get u8 0 overflow wrap incrby u8 0 1
command getkeysandflags bitfield a get u8
command getkeysandflags bitfield_ro a get u8 0
command getkeysandflags sort a
command getkeysandflags sort a by x get y limit 0 1 store b store c
command getkeysandflags sort_ro a by x
command getkeysandflags migrate h p k 0 0
command getkeysandflags migrate h p "" 0 0 copy keys a b
command getkeysandflags migrate h p "" 0 0 auth2 u keys keys a
command getkeysandflags migrate h p k 0 0 keys a
command getkeysandflags lmove a b left right
command getkeysandflags rename a b
command getkeysandflags del a b
command getkeysandflags exists a b
command getkeysandflags pfcount a b
command getkeysandflags bitop and d a b
command getkeysandflags zrangestore d s 0 -1
command getkeysandflags object encoding a
command getkeysandflags getex a persist
~command list filterby pattern get*
~command list filterby aclcat bitmap
command help
command foo
"#,
    );
    let mut c = pair.ours.conn();
    assert!(matches!(c.cmd(&["command", "count"]), Frame::Integer(n) if n > 80));
    let docs = c.cmd(&["command", "docs", "get"]);
    assert!(format!("{docs:?}").contains("Get the value of a key"), "{docs:?}");
}

fn fields(section: &str) -> BTreeSet<String> {
    section.lines().filter(|l| !l.starts_with('#') && l.contains(':')).map(|l| l.split(':').next().unwrap().to_string()).collect()
}

#[test]
fn info_sections_and_field_names() {
    let pair = Pair::new(&[]);
    let mut ours = pair.ours.conn();
    let mut redis = pair.redis.conn();
    ours.cmd(&["set", "k", "v", "ex", "100"]);
    ours.cmd(&["set", "k2", "v"]);
    let default = text(&ours.cmd(&["info"]));
    let headers: Vec<&str> = default.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"]
    );
    assert!(default.contains("db0:keys=2,expires=1,avg_ttl="), "{default}");
    for section in ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster"] {
        let o = fields(&text(&ours.cmd(&["info", section])));
        let r = fields(&text(&redis.cmd(&["info", section])));
        let extra: Vec<_> = o.difference(&r).filter(|f| !f.starts_with("ferrokv_")).collect();
        assert!(extra.is_empty(), "INFO {section} has fields Redis does not: {extra:?}");
    }
    for must in
        ["run_id", "tcp_port", "uptime_in_seconds", "connected_clients", "used_memory", "total_commands_processed", "keyspace_hits", "role", "master_replid"]
    {
        assert!(text(&ours.cmd(&["info", "everything"])).contains(&format!("\r\n{must}:")), "{must}");
    }
    ours.cmd(&["get", "k"]);
    ours.cmd(&["foo"]);
    let all = text(&ours.cmd(&["info", "commandstats", "errorstats"]));
    assert!(all.contains("cmdstat_get:calls=1,usec="), "{all}");
    assert!(all.contains("cmdstat_set:calls=2,"), "{all}");
    assert!(all.contains("errorstat_ERR:count=1"), "{all}");
    assert_eq!(text(&ours.cmd(&["info", "nosuchsection"])), "");
    assert_eq!(ours.cmd(&["config", "resetstat"]), simple("OK"));
    assert!(!text(&ours.cmd(&["info", "commandstats"])).contains("cmdstat_get"));
}

#[test]
fn slowlog_records_slow_commands() {
    let pair = Pair::new(&["--slowlog-log-slower-than", "0"]);
    for node in [&pair.ours, &pair.redis] {
        let mut c = node.conn();
        c.cmd(&["slowlog", "reset"]);
        c.cmd(&["client", "setname", "slowpoke"]);
        let long = "x".repeat(200);
        c.cmd(&["set", "k", &long]);
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let mut args = vec!["del"];
        args.extend(many.iter().map(|s| s.as_str()));
        c.cmd(&args);
        let Frame::Array(entries) = c.cmd(&["slowlog", "get", "2"]) else { panic!() };
        assert_eq!(entries.len(), 2, "{}", node.kind);
        let Frame::Array(del) = &entries[0] else { panic!() };
        let Frame::Array(del_args) = &del[3] else { panic!() };
        assert_eq!(del_args.len(), 32, "{}", node.kind);
        assert_eq!(del_args[31], bulk("... (10 more arguments)"), "{}", node.kind);
        assert_eq!(del[5], bulk("slowpoke"), "{}", node.kind);
        let Frame::Array(set) = &entries[1] else { panic!() };
        let Frame::Array(set_args) = &set[3] else { panic!() };
        assert_eq!(set_args[2], bulk(&format!("{}... (72 more bytes)", "x".repeat(128))), "{}", node.kind);
        assert_eq!(c.cmd(&["slowlog", "get", "-2"]), err("ERR count should be greater than or equal to -1"), "{}", node.kind);
    }
}

#[test]
fn monitor_streams_commands() {
    let node = Node::ferrokv(&[]);
    let mut m = node.conn();
    assert_eq!(m.cmd(&["monitor"]), simple("OK"));
    let mut c = node.conn();
    c.cmd(&["select", "2"]);
    c.cmd(&["set", "k", "a \"q\"\n"]);
    c.cmd(&["auth", "secret"]);
    c.cmd(&["config", "get", "port"]);
    let lines: Vec<String> = (0..3).map(|_| text(&m.read())).collect();
    assert!(lines[0].ends_with(" [0 127.0.0.1:") || lines[0].contains("] \"select\" \"2\""), "{}", lines[0]);
    assert!(lines[1].contains(" [2 127.0.0.1:") && lines[1].ends_with("] \"set\" \"k\" \"a \\\"q\\\"\\n\""), "{}", lines[1]);
    assert!(lines[2].ends_with("\"auth\" \"(redacted)\""), "{}", lines[2]);
    let ts: f64 = lines[0].split(' ').next().unwrap().parse().unwrap();
    assert!(ts > 1.6e9);
}

#[test]
fn debug_commands_follow_enable_debug_command() {
    let node = Node::ferrokv(&["--enable-debug-command", "local"]);
    let mut c = node.conn();
    c.cmd(&["set", "k", "12"]);
    let obj = text(&c.cmd(&["debug", "object", "k"]));
    assert!(obj.starts_with("Value at:0x") && obj.contains(" refcount:1 encoding:int serializedlength:"), "{obj}");
    assert_eq!(c.cmd(&["debug", "object", "nokey"]), err("ERR no such key"));
    assert_eq!(c.cmd(&["debug", "nosuch"]), err("ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP."));
    let before = text(&c.cmd(&["info", "replication"]));
    assert_eq!(c.cmd(&["debug", "change-repl-id"]), simple("OK"));
    assert_ne!(before, text(&c.cmd(&["info", "replication"])));
    // DEBUG SLEEP stalls everyone, as in Redis.
    let mut other = node.conn();
    c.send(&[b"debug", b"sleep", b"0.5"]);
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    assert_eq!(other.cmd(&["get", "k"]), bulk("12"));
    assert!(started.elapsed() >= Duration::from_millis(300), "GET was not held by DEBUG SLEEP");
    assert_eq!(c.read(), simple("OK"));
}

#[test]
fn latency_monitor_records_spikes() {
    let node = Node::ferrokv(&["--enable-debug-command", "yes", "--latency-monitor-threshold", "50"]);
    let mut c = node.conn();
    assert_eq!(c.cmd(&["latency", "latest"]), Frame::Array(vec![]));
    c.cmd(&["debug", "sleep", "0.1"]);
    let Frame::Array(latest) = c.cmd(&["latency", "latest"]) else { panic!() };
    let Frame::Array(event) = &latest[0] else { panic!() };
    assert_eq!(event[0], bulk("command"));
    assert!(matches!(event[2], Frame::Integer(ms) if ms >= 100));
    let Frame::Array(history) = c.cmd(&["latency", "history", "command"]) else { panic!() };
    assert_eq!(history.len(), 1);
    assert!(text(&c.cmd(&["latency", "doctor"])).contains("command: 1 latency spikes"));
    assert_eq!(c.cmd(&["latency", "reset"]), int(1));
    assert_eq!(c.cmd(&["latency", "latest"]), Frame::Array(vec![]));
}

#[test]
fn shutdown_command_and_sigterm_stop_the_server() {
    let mut node = Node::ferrokv(&[]);
    let mut c = node.conn();
    c.send(&[b"shutdown", b"nosave"]);
    assert_eq!(c.read_to_close(), b"");
    assert!(node.wait_exit(WAIT), "SHUTDOWN did not stop the process");

    // With a pidfile: written at start, removed at a clean exit.
    let pidfile = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let mut node = Node::ferrokv(&["--pidfile", pidfile.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), format!("{}\n", node.pid()));
    let mut c = node.conn();
    assert_eq!(c.cmd(&["shutdown", "abort"]), err("ERR No shutdown in progress."));
    assert_eq!(c.cmd(&["shutdown", "foo"]), err("ERR syntax error"));
    unsafe { libc_kill(node.pid() as i32, 15) };
    assert!(node.wait_exit(WAIT), "SIGTERM did not stop the process");
    assert!(!pidfile.exists(), "the pid file is removed at exit");
}

/// --help and --version of every binary print and exit 0, connecting to
/// nothing and reading no config.
#[test]
fn binaries_answer_help_and_version() {
    for bin in [env!("CARGO_BIN_EXE_ferrokv-server"), env!("CARGO_BIN_EXE_ferrokv-sentinel"), env!("CARGO_BIN_EXE_ferrokv-cli")] {
        for flag in ["--help", "--version"] {
            let out = std::process::Command::new(bin).arg(flag).output().unwrap();
            assert!(out.status.success(), "{bin} {flag}: {out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(if flag == "--help" { "sage" } else { "ferrokv" }), "{bin} {flag}: {text}");
        }
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn time_reply() {
    let node = Node::ferrokv(&[]);
    let Frame::Array(t) = node.conn().cmd(&["time"]) else { panic!() };
    let secs: u64 = text(&t[0]).parse().unwrap();
    let micros: u64 = text(&t[1]).parse().unwrap();
    assert!(secs > 1_600_000_000 && micros < 1_000_000);
}

/// A defect in one command (DEBUG PANIC-IN-HANDLER, debug builds only)
/// costs that command an error: the client reads one well-formed reply,
/// the keyspace is not left held, the same connection, a transaction
/// around it and other clients go on, and the log names the command with
/// a backtrace.
#[test]
fn a_panicking_command_answers_an_error_and_the_node_goes_on() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let node = Node::ferrokv(&["--logfile", log.path().to_str().unwrap(), "--enable-debug-command", "yes"]);
    let mut c = node.conn();
    let failed = err("ERR internal error in 'debug' command (logged with a backtrace)");
    assert_eq!(c.cmd(&["debug", "panic-in-handler", "k"]), failed);
    assert_eq!(c.cmd(&["get", "k"]), bulk("written before the panic"), "kept, as the log says");
    assert_eq!(c.cmd(&["set", "a", "1"]), simple("OK"));
    c.cmd(&["multi"]);
    c.cmd(&["incr", "a"]);
    c.cmd(&["debug", "panic-in-handler"]);
    c.cmd(&["incr", "a"]);
    assert_eq!(c.cmd(&["exec"]), Frame::Array(vec![int(2), failed, int(3)]));
    let mut other = node.conn();
    assert_eq!(other.cmd(&["get", "a"]), bulk("3"));
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        text.contains("Command 'debug' panicked (a defect; the node goes on): DEBUG PANIC-IN-HANDLER, as asked at crates/server/src/admin/debug.rs"),
        "{text}"
    );
    assert!(text.contains("had changed the dataset before it panicked"), "{text}");
    // Times past a long long's microseconds neither panic nor sleep: OK at
    // once, as Redis answers them.
    for secs in ["inf", "1e308"] {
        assert_eq!(c.cmd(&["debug", "sleep", secs]), simple("OK"), "{secs}");
    }
}

/// DEBUG's subcommands that client libraries and Redis's tooling use, reply
/// for reply against Redis 7.0, in RESP2 and RESP3.
#[test]
fn debug_subcommands_match_redis() {
    let pair = Pair::new(&["--enable-debug-command", "yes"]);
    let protocol = "debug protocol string\ndebug protocol integer\ndebug protocol double\ndebug protocol bignum\ndebug protocol null\ndebug protocol array\ndebug protocol set\ndebug protocol map\ndebug protocol attrib\ndebug protocol push\ndebug protocol verbatim\ndebug protocol true\ndebug protocol false\ndebug protocol nosuch\n";
    run_script(&pair, protocol);
    // In RESP3 the push comes before a real reply.
    let resp3 = protocol.replace("push\n", "push\n!read\n");
    run_script(
        &pair,
        &format!(
            r#"
?hello 3
{resp3}
?hello 2
debug error "MYERR something failed"
debug error "ERR with\r\nnewlines"
debug log "a line from the test"
debug leak abc
debug stringmatch-test
debug quicklist-packed-threshold 100
debug quicklist-packed-threshold 0
debug quicklist-packed-threshold 5gb
debug quicklist-packed-threshold abc
debug set-skip-checksum-validation 1
restore k 0 "\x00\x03bar\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"
get k
debug set-skip-checksum-validation 0
restore k2 0 "\x00\x03bar\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"
rpush l a b c
sadd s a b c
set str hello
set num 12345
debug listpack nosuch
debug listpack l
debug listpack s
debug quicklist s
debug quicklist l
debug quicklist l 1
debug sdslen nosuch
debug sdslen l
debug sdslen num
debug htstats-key l
debug htstats-key nosuch
debug htstats 99
debug pause-cron 1
debug pause-cron 0
debug replybuffer resizing 0
debug replybuffer peak-reset-time never
debug replybuffer peak-reset-time reset
debug replybuffer peak-reset-time 100
debug replybuffer foo 1
debug nosuch
debug protocol
"#
        ),
    );
}

/// What DEBUG PAUSE-CRON, REPLICATE and CONFIG-REWRITE-FORCE-ALL do.
#[test]
fn debug_pause_cron_replicate_and_rewrite_all() {
    let node = Node::ferrokv(&["--enable-debug-command", "yes"]);
    let mut c = node.conn();
    assert_eq!(c.cmd(&["debug", "pause-cron", "1"]), simple("OK"));
    assert_eq!(c.cmd(&["set", "k", "v", "px", "10"]), simple("OK"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd(&["dbsize"]), int(1), "active expiry ran with the cron paused");
    assert_eq!(c.cmd(&["debug", "pause-cron", "0"]), simple("OK"));
    assert!(eventually(Duration::from_secs(10), || c.cmd(&["dbsize"]) == int(0)));

    let replica = Node::ferrokv(&["--replicaof", "127.0.0.1", &node.port.to_string()]);
    let mut r = replica.conn();
    assert!(eventually(Duration::from_secs(20), || info_field(&mut r, "replication", "master_link_status") == "up"));
    assert_eq!(c.cmd(&["debug", "replicate", "set", "only-there", "1"]), simple("OK"));
    assert!(eventually(Duration::from_secs(10), || r.cmd(&["get", "only-there"]) == bulk("1")));
    assert_eq!(c.cmd(&["exists", "only-there"]), int(0));

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("n.conf");
    std::fs::write(&conf, "maxclients 50\n").unwrap();
    let node = Node::ferrokv(&[conf.to_str().unwrap(), "--enable-debug-command", "yes"]);
    assert_eq!(node.conn().cmd(&["debug", "config-rewrite-force-all"]), simple("OK"));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("maxclients 50\n") && text.contains("activedefrag no\n") && text.contains("tls-port 0\n"), "{text}");
}

/// A command's name, calls and (µs, cumulative count) buckets.
type CommandHistogram = (String, i64, Vec<(i64, i64)>);

fn histogram_of(f: &Frame) -> Vec<CommandHistogram> {
    let pairs = |f: &Frame| -> Vec<(Frame, Frame)> {
        match f {
            Frame::Map(p) => p.clone(),
            Frame::Array(items) => items.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect(),
            other => panic!("not a map: {other:?}"),
        }
    };
    let num = |f: &Frame| match f {
        Frame::Integer(n) => *n,
        other => panic!("not an integer: {other:?}"),
    };
    let mut out: Vec<_> = pairs(f)
        .into_iter()
        .map(|(name, body)| {
            let body = pairs(&body);
            let calls = num(&body[0].1);
            let buckets = pairs(&body[1].1).iter().map(|(k, v)| (num(k), num(v))).collect();
            (text(&name), calls, buckets)
        })
        .collect();
    out.sort();
    out
}

/// LATENCY HISTOGRAM and INFO latencystats beside Redis 7.0: the same
/// commands, calls and reply shape; buckets at Redis's levels (1, 2, 4, 8,
/// 16, 33, 66… µs) ending at the call count; percentiles printed as HDR
/// equivalents with Redis's labels. Durations differ, so values are
/// checked for form, not compared.
#[test]
fn latency_histogram_and_latencystats_as_redis() {
    let pair = Pair::new(&[]);
    let levels: Vec<i64> = (0..21).map(|k| ((1024i64 << k) + (8i64 << k) - 1) / 1000).collect();
    for proto in ["2", "3"] {
        let (mut ours, mut theirs) = (pair.ours.conn(), pair.redis.conn());
        for c in [&mut ours, &mut theirs] {
            c.cmd(&["hello", proto]);
            assert_eq!(c.cmd(&["config", "resetstat"]), simple("OK"));
            for _ in 0..5 {
                c.cmd(&["set", "a", "b"]);
            }
            for _ in 0..3 {
                c.cmd(&["get", "a"]);
            }
            c.cmd(&["config", "set", "latency-tracking-info-percentiles", "50 99.999 0"]);
        }
        let args = ["latency", "histogram", "set", "get", "nosuch", "config"];
        let (a, b) = (histogram_of(&ours.cmd(&args)), histogram_of(&theirs.cmd(&args)));
        let shape = |h: &[CommandHistogram]| h.iter().map(|(n, c, _)| (n.clone(), *c)).collect::<Vec<_>>();
        assert_eq!(shape(&a), shape(&b), "RESP{proto}");
        for (name, calls, buckets) in &a {
            assert!(buckets.iter().all(|(usec, _)| levels.contains(usec)), "{name}: {buckets:?}");
            assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{name}: {buckets:?}");
            assert_eq!(buckets.last().map(|b| b.1), Some(*calls), "{name}");
        }
        let stats = |c: &mut Conn| {
            let t = text(&c.cmd(&["info", "latencystats"]));
            t.lines()
                .filter(|l| l.starts_with("latency_percentiles_usec_set:") || l.starts_with("latency_percentiles_usec_get:"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (sa, sb) = (stats(&mut ours), stats(&mut theirs));
        assert_eq!(sa.len(), 2, "{sa:?}");
        let labels = |lines: &[String]| -> Vec<String> {
            let mut v: Vec<String> = lines.iter().map(|l| l.split(['=', ',']).step_by(2).collect::<Vec<_>>().join(",")).collect();
            v.sort();
            v
        };
        assert_eq!(labels(&sa), labels(&sb));
        assert!(
            sa.iter().all(|l| l.split(',').all(|kv| kv.rsplit('=').next().is_some_and(|v| v.split_once('.').is_some_and(|(_, d)| d.len() == 3)))),
            "{sa:?}"
        );
    }
    // latency-tracking off: nothing more is recorded.
    let mut c = pair.ours.conn();
    c.cmd(&["config", "set", "latency-tracking", "no"]);
    let before = histogram_of(&c.cmd(&["latency", "histogram", "set"]));
    c.cmd(&["set", "a", "b"]);
    assert_eq!(histogram_of(&c.cmd(&["latency", "histogram", "set"])), before);
}

/// LOLWUT beside Redis 7.0: the version line, and Schotter where it does
/// not depend on chance (its first two rows).
#[test]
fn lolwut_as_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        "lolwut\nlolwut version 7\nlolwut version 5 20 3 2\nlolwut version 5 66 8 1\nlolwut version 5 1 1 1\nlolwut version 5 2000 300 2\nlolwut version 5 -5 0 1\nlolwut version 5 abc\nlolwut version x\n?hello 3\nlolwut version 5 33 5 2\nlolwut\n",
    );
}

/// LOLWUT VERSION 6 beside Redis 7.0: a random skyline, so the same
/// picture with every cell's gray masked (size, cell by cell form, the
/// dedication), only Redis's four grays, and the same clamping and errors.
#[test]
fn lolwut_6_as_redis() {
    let pair = Pair::new(&[]);
    // Every cell is a space drawn in its colours, then a reset.
    let cell = " \x1b[0m";
    for args in [
        &["lolwut", "version", "6"][..],
        &["lolwut", "version", "6", "33", "7"],
        &["lolwut", "version", "6", "0", "-3"],
        &["lolwut", "version", "6", "1200", "2"],
    ] {
        let mut masked = Vec::new();
        for n in [&pair.ours, &pair.redis] {
            let got = text(&n.conn().cmd(args));
            let mut grays = std::collections::BTreeSet::new();
            let mut out = String::new();
            let mut rest = got.as_str();
            while let Some(at) = rest.find("\x1b[") {
                out.push_str(&rest[..at]);
                let end = rest[at..].find(cell).map(|e| at + e + cell.len()).unwrap_or_else(|| panic!("{}: a cell that does not end in {cell:?}", n.kind));
                grays.insert(rest[at + 2..end - cell.len()].to_string());
                out.push('#');
                rest = &rest[end..];
            }
            out.push_str(rest);
            let allowed = ["0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"];
            assert!(grays.iter().all(|g| allowed.contains(&g.as_str())), "{}: {grays:?}", n.kind);
            masked.push(out);
        }
        assert_eq!(masked[0], masked[1], "{args:?}: left ferrokv, right redis 7.0");
    }
    run_script(&pair, "lolwut version 6 abc\nlolwut version 6 10 x\nlolwut version 4294967301 3 1 1\n");
}

/// DEBUG ASSERT, OOM, PANIC and SEGFAULT end the node (tooling tests its
/// crash handling with them); SEGFAULT by the signal its name says.
#[test]
fn debug_crashes_end_the_node() {
    use std::os::unix::process::ExitStatusExt;
    for (sub, signal) in [("assert", libc::SIGABRT), ("oom", libc::SIGABRT), ("panic", libc::SIGABRT), ("segfault", libc::SIGSEGV)] {
        let port = free_port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
            .args(["--port", &port.to_string(), "--save", "", "--enable-debug-command", "yes"])
            .stdout(std::process::Stdio::null())
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(eventually(Duration::from_secs(20), || Conn::try_connect(port).is_some()));
        let mut c = Conn::connect(port);
        c.send(&[b"debug", sub.as_bytes()]);
        c.read_to_close();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "DEBUG {sub} left the node running");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.signal(), Some(signal), "DEBUG {sub}");
    }
}

/// LATENCY GRAPH draws Redis's sparkline: the same picture from the same
/// spikes (digits masked: the milliseconds and the ages can differ by one).
#[test]
fn latency_graph_is_redis_graph() {
    let pair = Pair::new(&["--enable-debug-command", "yes", "--latency-monitor-threshold", "50"]);
    let mask = |f: Frame| text(&f).chars().map(|c| if c.is_ascii_digit() { 'D' } else { c }).collect::<String>();
    let mut graphs = Vec::new();
    for n in [&pair.ours, &pair.redis] {
        let mut c = n.conn();
        assert_eq!(c.cmd(&["latency", "graph", "command"]), err("ERR No samples available for event 'command'"));
        let now = |c: &mut Conn| match c.cmd(&["time"]) {
            Frame::Array(t) => text(&t[0]).parse::<u64>().unwrap(),
            other => panic!("TIME: {other:?}"),
        };
        // 0.225 s sits half a step between two sparkline levels (12 steps
        // over 100..300 ms): a millisecond of jitter cannot change the
        // picture, as it could at 0.2 (exactly on a level boundary).
        for secs in ["0.1", "0.3", "0.225"] {
            c.cmd(&["debug", "sleep", secs]);
            // The next spike in another second (by the server's clock, not
            // by how long this took): a sample of its own.
            let second = now(&mut c);
            assert!(eventually(Duration::from_secs(5), || now(&mut c) > second));
        }
        graphs.push(mask(c.cmd(&["latency", "graph", "command"])));
    }
    assert_eq!(graphs[0], graphs[1], "left: ferrokv, right: redis 7.0");
    assert_eq!(pair.ours.conn().cmd(&["latency", "help"]), pair.redis.conn().cmd(&["latency", "help"]));
    let debug_help = |n: &Node| n.conn().cmd(&["debug", "help"]);
    assert_eq!(debug_help(&pair.ours), debug_help(&pair.redis), "DEBUG HELP lists what Redis's does");
}

/// DEBUG RESTART saves and runs the binary again in the same process;
/// CRASH-AND-RECOVER does so without saving. The other DEBUG additions
/// answer as Redis's.
#[test]
fn debug_restart_and_crash_and_recover() {
    let n = Node::ferrokv(&["--enable-debug-command", "yes", "--save", "3600 1"]);
    let mut c = n.conn();
    c.cmd(&["set", "saved", "1"]);
    let pid = info_field(&mut c, "server", "process_id");
    let run_id = info_field(&mut c, "server", "run_id");
    let restarted = |old_run_id: &str| {
        let mut fresh = None;
        assert!(eventually(WAIT, || match Conn::try_connect(n.port) {
            Some(mut c) => {
                let ok = c.try_cmd(&["info", "server"]).is_some_and(|f| matches!(f, Frame::Bulk(_))) && info_field(&mut c, "server", "run_id") != old_run_id;
                if ok {
                    fresh = Some(c);
                }
                ok
            }
            None => false,
        }));
        fresh.expect("a connection to the restarted server")
    };
    c.send(&[b"debug", b"restart"]);
    assert!(c.is_closed(), "the restarting server closes its connections");
    let mut c = restarted(&run_id);
    assert_eq!(info_field(&mut c, "server", "process_id"), pid, "the same process");
    assert_eq!(c.cmd(&["get", "saved"]), bulk("1"));
    let run_id = info_field(&mut c, "server", "run_id");
    c.cmd(&["set", "unsaved", "1"]);
    c.send(&[b"debug", b"crash-and-recover", b"10"]);
    assert!(c.is_closed());
    let mut c = restarted(&run_id);
    assert_eq!(c.cmd(&["exists", "saved", "unsaved"]), int(1), "only what the restart saved");
    assert_eq!(c.cmd(&["debug", "aof-flush-sleep", "0"]), simple("OK"));
    assert_eq!(c.cmd(&["debug", "drop-cluster-packet-filter", "-1"]), simple("OK"));
    assert_eq!(c.cmd(&["debug", "clusterlink", "kill", "all", "x"]), err("ERR Debug option only available for cluster mode enabled setup!"));
    assert_eq!(c.cmd(&["debug", "client-eviction"]), err("ERR maxmemory-clients is disabled."));
    assert_eq!(c.cmd(&["debug", "mallctl", "nosuch.key"]), err("ERR No such file or directory"));
    assert!(matches!(c.cmd(&["debug", "mallctl-str", "version"]), Frame::Bulk(v) if v.starts_with(b"5.")));
    assert!(matches!(c.cmd(&["debug", "mallctl", "opt.narenas"]), Frame::Integer(n) if n > 0));
}
