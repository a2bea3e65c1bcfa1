//! Process-level test support: start `ferrokv-server` (and a real
//! `redis-server` as the oracle) on free 127.0.0.1 ports, and talk RESP to
//! them over plain sockets. Every wait is bounded.
#![allow(dead_code)]

pub mod repl;
pub mod tls;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrokv_resp::Frame;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("local addr").port()
}

pub struct Node {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub kind: &'static str,
}

impl Node {
    /// Starts `ferrokv-server --port <free> --dir <tmp> <args>`.
    pub fn ferrokv(args: &[&str]) -> Node {
        Self::spawn("ferrokv", env!("CARGO_BIN_EXE_ferrokv-server").into(), args)
    }

    /// Starts Debian's `redis-server` 7.0 with the same kind of arguments.
    pub fn redis(args: &[&str]) -> Node {
        let bin = which("redis-server").expect("redis-server is not installed: run .ci/run or apt-get install redis-server");
        let mut all: Vec<&str> = args.first().filter(|f| !f.starts_with("--")).into_iter().copied().collect();
        all.extend(["--save", "", "--appendonly", "no"]);
        all.extend(args.iter().skip(all.len() - 4));
        Self::spawn("redis", bin, &all)
    }

    fn spawn(kind: &'static str, bin: PathBuf, args: &[&str]) -> Node {
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let mut cmd = Command::new(&bin);
            // A config file must come first, as for redis-server.
            let (file, rest) = match args.first() {
                Some(f) if !f.starts_with("--") => (Some(*f), &args[1..]),
                _ => (None, args),
            };
            cmd.args(file);
            cmd.arg("--port").arg(port.to_string()).arg("--dir").arg(dir.path()).arg("--bind").arg("127.0.0.1");
            cmd.args(rest).stdout(Stdio::null()).stderr(server_stderr()).stdin(Stdio::null());
            if kind == "ferrokv" {
                cmd.env("RUST_LOG", log_level());
                // Two workers whatever the machine (the default is one on
                // two cores): commands on different shards then really run
                // in parallel in every test. Later arguments override it.
                if !rest.contains(&"--io-threads") {
                    cmd.args(["--io-threads", "2"]);
                }
                // Full syncs start at once (Redis waits 5 s for more
                // replicas to share the diskless snapshot), as Redis's own
                // tests set it.
                if !rest.contains(&"--repl-diskless-sync-delay") {
                    cmd.args(["--repl-diskless-sync-delay", "0"]);
                }
            }
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // Exited: most likely the port was taken; retry.
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Another test's server may hold the port we picked: only
                    // a server reporting our child's pid is ours.
                    match serves_pid(port, child.id()) {
                        Some(false) => break,
                        // Behind requirepass: ours if our child is still running.
                        None if !matches!(child.try_wait(), Ok(None)) => break,
                        // Ours: ready once it has loaded its data (Redis
                        // answers LOADING to most commands until then).
                        _ if still_loading(port) => {}
                        _ => return Node { child, port, dir, kind },
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{kind} did not start");
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for the process to exit; returns whether it did.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the server on `port` reports `pid`; None if it will not say (auth).
fn serves_pid(port: u16, pid: u32) -> Option<bool> {
    // Whoever answered the probe may have gone since (another test's
    // short-lived process on a reused port): then it is not ours.
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return Some(false);
    };
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut c = Conn { stream, buf: Vec::new() };
    match c.try_cmd(&["info", "server"]) {
        Some(Frame::Error(_)) => None,
        Some(Frame::Bulk(info)) => Some(String::from_utf8_lossy(&info).lines().any(|l| l.trim() == format!("process_id:{pid}"))),
        _ => Some(false),
    }
}

/// Whether the server on `port` says it is still loading its dataset.
fn still_loading(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return true;
    };
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut c = Conn { stream, buf: Vec::new() };
    match c.try_cmd(&["info", "persistence"]) {
        Some(Frame::Bulk(info)) => String::from_utf8_lossy(&info).lines().any(|l| l.trim() == "loading:1"),
        // Behind requirepass: it cannot say; take it as ready.
        Some(Frame::Error(_)) => false,
        _ => true,
    }
}

/// Servers' logs go nowhere, unless FERROKV_TEST_LOGS is set (debugging a
/// failing test): then to the test's stderr.
fn server_stderr() -> Stdio {
    if std::env::var_os("FERROKV_TEST_LOGS").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

/// Warnings only, unless FERROKV_TEST_LOGS asks for the servers' logs.
fn log_level() -> &'static str {
    if std::env::var_os("FERROKV_TEST_LOGS").is_some() {
        "info"
    } else {
        "warn"
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join(name)).find(|p| p.is_file())
}

/// A blocking RESP connection with bounded reads.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    Frame::command(args.iter().copied()).to_bytes()
}

impl Conn {
    /// A connection to a server that may be gone: None instead of a panic.
    pub fn try_connect(port: u16) -> Option<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let _ = stream.set_nodelay(true);
        Some(Conn { stream, buf: Vec::new() })
    }

    /// A command whose reply may never come (a server being killed).
    pub fn try_cmd(&mut self, args: &[&str]) -> Option<Frame> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.stream.write_all(&encode(&a)).ok()?;
        let raw = self.next_raw().ok()?;
        Frame::parse(&raw).ok()?.map(|(f, _)| f)
    }

    pub fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Conn { stream, buf: Vec::new() }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Reads more; false when the peer closed.
    fn try_fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    fn fill(&mut self) -> bool {
        self.try_fill().unwrap_or_else(|e| panic!("read timed out or failed: {e}"))
    }

    /// The raw bytes of the next reply frame (the differential tests
    /// compare bytes, which a decoded frame no longer has).
    fn next_raw(&mut self) -> Result<Vec<u8>, String> {
        loop {
            match Frame::parse(&self.buf) {
                Ok(Some((_, used))) => return Ok(self.buf.drain(..used).collect()),
                Ok(None) => {}
                Err(e) => return Err(format!("invalid RESP from server: {e}")),
            }
            match self.try_fill() {
                Ok(true) => {}
                Ok(false) => return Err(format!("connection closed before a full reply; have {:?}", String::from_utf8_lossy(&self.buf))),
                Err(e) => return Err(format!("read timed out or failed: {e}")),
            }
        }
    }

    /// The raw bytes of the next reply frame.
    pub fn read_raw(&mut self) -> Vec<u8> {
        self.next_raw().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn read(&mut self) -> Frame {
        let raw = self.read_raw();
        Frame::parse(&raw).expect("valid").expect("complete").0
    }

    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a);
        self.read()
    }

    pub fn cmd_raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.read_raw()
    }

    /// Reads until the peer closes; returns everything received.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// True if the server closed the connection (within the read timeout);
    /// a reset (closed with our data unread) counts as closed.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(0) => true,
            Err(e) => matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe),
            Ok(_) => false,
        }
    }
}

pub fn bulk(s: &str) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

pub fn simple(s: &str) -> Frame {
    Frame::Simple(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

pub fn err(s: &str) -> Frame {
    Frame::Error(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

pub fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

/// Polls `f` until it returns true, for at most `within`.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A ferrokv node and a real Redis started with the same arguments.
pub struct Pair {
    pub ours: Node,
    pub redis: Node,
}

impl Pair {
    pub fn new(args: &[&str]) -> Pair {
        Pair { ours: Node::ferrokv(args), redis: Node::redis(args) }
    }
}

/// Sorts a flat field/value array by pairs (HGETALL in RESP2, HSCAN items).
pub fn sorted_pairs(raw: &[u8]) -> Vec<u8> {
    let (frame, _) = Frame::parse(raw).expect("valid").expect("complete");
    let sort_flat = |items: Vec<Frame>| {
        let mut pairs: Vec<Vec<Frame>> = items.chunks(2).map(|c| c.to_vec()).collect();
        pairs.sort_by_key(|p| p[0].to_bytes());
        Frame::Array(pairs.into_iter().flatten().collect())
    };
    let frame = match frame {
        Frame::Array(mut items) if items.len() == 2 && matches!(items[1], Frame::Array(_)) && matches!(items[0], Frame::Bulk(_)) => {
            let Frame::Array(inner) = items.pop().expect("two items") else { unreachable!() };
            items.push(sort_flat(inner));
            Frame::Array(items)
        }
        Frame::Array(items) => sort_flat(items),
        other => other,
    };
    frame.to_bytes()
}

/// Sorts the elements of an array reply whose order Redis leaves
/// unspecified (KEYS, SMEMBERS…), so both sides compare equal.
pub fn sorted_reply(raw: &[u8]) -> Vec<u8> {
    let (frame, _) = Frame::parse(raw).expect("valid").expect("complete");
    fn sort(f: Frame) -> Frame {
        match f {
            Frame::Array(mut items) => {
                // A flat field/value array (HGETALL in RESP2) sorts by pairs
                // when asked with `~~`; plain arrays sort by element.
                items.sort_by_key(|i| i.to_bytes());
                Frame::Array(items)
            }
            Frame::Set(mut items) => {
                items.sort_by_key(|i| i.to_bytes());
                Frame::Set(items)
            }
            Frame::Map(mut pairs) => {
                pairs.sort_by_key(|(k, _)| k.to_bytes());
                Frame::Map(pairs)
            }
            other => other,
        }
    }
    let frame = match frame {
        // SCAN: [cursor, [keys]] - sort the keys only.
        Frame::Array(mut items) if items.len() == 2 && matches!(items[1], Frame::Array(_)) => {
            let keys = items.pop().expect("two items");
            items.push(sort(keys));
            Frame::Array(items)
        }
        other => sort(other),
    };
    frame.to_bytes()
}

/// Sorts each run of single-command ACL rules (`+get +set`) in every
/// string of a reply: Redis lists them in its command dict's hash order,
/// which changes from run to run.
pub fn acl_rules_sorted(raw: &[u8]) -> Vec<u8> {
    fn sort_rules(text: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(text);
        let mut tokens: Vec<String> = Vec::new();
        for t in text.split(' ') {
            match t.strip_suffix(')') {
                Some(rest) if !rest.is_empty() => {
                    tokens.push(rest.to_string());
                    tokens.push(")".into());
                }
                _ => tokens.push(t.to_string()),
            }
        }
        let single = |t: &String| (t.starts_with('+') || t.starts_with('-')) && !t[1..].starts_with('@');
        let mut i = 0;
        while i < tokens.len() {
            let start = i;
            while i < tokens.len() && single(&tokens[i]) {
                i += 1;
            }
            tokens[start..i].sort_by(|a, b| a[1..].cmp(&b[1..]).then(a.cmp(b)));
            i = i.max(start + 1);
        }
        tokens.join(" ").replace(" )", ")").into_bytes()
    }
    fn walk(f: Frame) -> Frame {
        match f {
            Frame::Bulk(b) => Frame::Bulk(sort_rules(&b).into()),
            Frame::Array(items) => Frame::Array(items.into_iter().map(walk).collect()),
            Frame::Set(items) => Frame::Set(items.into_iter().map(walk).collect()),
            Frame::Map(pairs) => Frame::Map(pairs.into_iter().map(|(k, v)| (walk(k), walk(v))).collect()),
            other => other,
        }
    }
    let (frame, _) = Frame::parse(raw).expect("valid").expect("complete");
    walk(frame).to_bytes()
}

/// Runs a script on both servers and requires byte-identical replies.
///
/// One command per line, quoted as redis-cli would. A line starting with
/// `>` sends without reading (a blocking command; `@N !read` reads its
/// reply later), `~~` compares a field/value reply sorted by field, `~` compares the reply with array elements sorted, `?` only its type
/// (replies holding client ids or times), `%` sorts single-command ACL
/// rules (see [`acl_rules_sorted`]); `!sleep <ms>` waits;
/// `#` starts a comment. Several connections: a line `@N cmd` runs on
/// connection N (0 by default).
pub fn run_script(pair: &Pair, script: &str) {
    let ours: Vec<Conn> = (0..3).map(|_| pair.ours.conn()).collect();
    let theirs: Vec<Conn> = (0..3).map(|_| pair.redis.conn()).collect();
    run_script_on(ours, theirs, script, false);
}

/// As [`run_script`], where `$ID<n>` in a command stands for connection
/// n's client id on each server (CLIENT TRACKING … REDIRECT, CLIENT KILL ID).
pub fn run_script_with_ids(pair: &Pair, script: &str) {
    let ours: Vec<Conn> = (0..3).map(|_| pair.ours.conn()).collect();
    let theirs: Vec<Conn> = (0..3).map(|_| pair.redis.conn()).collect();
    run_script_on(ours, theirs, script, true);
}

/// As [`run_script`], over connections already made (to servers that are
/// not `Node`s, such as sentinels): three to each side.
pub fn run_script_over(ours: Vec<Conn>, theirs: Vec<Conn>, script: &str) {
    run_script_on(ours, theirs, script, false);
}

fn client_id(c: &mut Conn) -> i64 {
    match c.cmd(&["client", "id"]) {
        Frame::Integer(n) => n,
        other => panic!("CLIENT ID answered {other:?}"),
    }
}

fn run_script_on(mut ours: Vec<Conn>, mut theirs: Vec<Conn>, script: &str, ids: bool) {
    let ids: Vec<(i64, i64)> = if ids { ours.iter_mut().zip(theirs.iter_mut()).map(|(a, b)| (client_id(a), client_id(b))).collect() } else { Vec::new() };
    let with_ids = |line: &str, theirs: bool| -> String {
        let mut line = line.to_string();
        for (n, (a, b)) in ids.iter().enumerate() {
            line = line.replace(&format!("$ID{n}"), &(if theirs { b } else { a }).to_string());
        }
        line
    };
    for (lineno, line) in script.lines().enumerate() {
        let mut line = line.trim();
        if std::env::var("SCRIPT_TRACE").is_ok() {
            eprintln!("> {line}");
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(ms) = line.strip_prefix("!sleep ") {
            std::thread::sleep(Duration::from_millis(ms.trim().parse().expect("sleep ms")));
            continue;
        }
        let send_only = line.starts_with('>');
        if send_only {
            line = line[1..].trim_start();
        }
        let pairs = line.starts_with("~~");
        if pairs {
            line = line[2..].trim_start();
        }
        let unordered = line.starts_with('~');
        if unordered {
            line = line[1..].trim_start();
        }
        let acl_rules = line.starts_with('%');
        if acl_rules {
            line = line[1..].trim_start();
        }
        let type_only = line.starts_with('?');
        if type_only {
            line = line[1..].trim_start();
        }
        let mut conn = 0;
        if let Some(rest) = line.strip_prefix('@') {
            let (n, cmd) = rest.split_once(' ').expect("@N command");
            conn = n.parse().expect("connection number");
            line = cmd;
        }
        if let Some(expect_push) = line.strip_prefix("!read") {
            // Read one pending frame (a push) on this connection from both.
            let _ = expect_push;
            let (a, b) = (ours[conn].read_raw(), theirs[conn].read_raw());
            assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b), "line {}: pending frame differs", lineno + 1);
            continue;
        }
        let parse = |l: String| ferrokv_resp::split_args(l.as_bytes()).unwrap_or_else(|| panic!("line {}: bad quoting", lineno + 1));
        let (args_a, args_b) = (parse(with_ids(line, false)), parse(with_ids(line, true)));
        let args_a: Vec<&[u8]> = args_a.iter().map(|a| &a[..]).collect();
        let args_b: Vec<&[u8]> = args_b.iter().map(|a| &a[..]).collect();
        if send_only {
            // A command that blocks: its reply is read later with `!read`.
            ours[conn].send(&args_a);
            theirs[conn].send(&args_b);
            continue;
        }
        let mut a = ours[conn].cmd_raw(&args_a);
        let mut b = theirs[conn].cmd_raw(&args_b);
        if unordered {
            a = sorted_reply(&a);
            b = sorted_reply(&b);
        }
        if pairs {
            a = sorted_pairs(&a);
            b = sorted_pairs(&b);
        }
        if acl_rules {
            a = acl_rules_sorted(&a);
            b = acl_rules_sorted(&b);
        }
        if type_only {
            a.truncate(1);
            b.truncate(1);
        }
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "line {}: `{line}` replied differently (left: ferrokv, right: redis 7.0)",
            lineno + 1
        );
    }
}

/// Copies the files of a directory (an AOF directory) into `to`.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Builds keys of every type in every encoding Redis 7.0 writes.
pub fn populate_every_encoding(c: &mut Conn) {
    c.cmd(&["set", "s:int", "12345"]);
    c.cmd(&["set", "s:emb", "hello"]);
    let big = "abc".repeat(4000);
    c.cmd(&["set", "s:raw", &big]);
    c.cmd(&["set", "s:neg", "-70000"]);
    for i in 0..5 {
        c.cmd(&["rpush", "l:small", &i.to_string(), &format!("v{i}")]);
    }
    for i in 0..3000 {
        c.cmd(&["rpush", "l:big", &format!("element-{i}"), &(i * 1000 - 5).to_string()]);
    }
    c.cmd(&["sadd", "set:int", "1", "-2", "70000", "5000000000"]);
    for i in 0..600 {
        c.cmd(&["sadd", "set:ht", &format!("m{i}")]);
    }
    c.cmd(&["hset", "h:lp", "a", "1", "b", "-300", "c", "70000", "d", "x".repeat(60).as_str()]);
    for i in 0..600 {
        c.cmd(&["hset", "h:ht", &format!("f{i}"), &format!("v{i}")]);
    }
    c.cmd(&["zadd", "z:lp", "1", "a", "-2.5", "b", "inf", "c", "-inf", "d", "3e100", "e"]);
    for i in 0..300 {
        c.cmd(&["zadd", "z:sl", &format!("{}.25", i - 150), &format!("m{i}")]);
    }
    populate_stream(c, "x:groups");
}

/// A stream over several nodes, with deleted entries, entries with their
/// own fields, and groups with pending entries, consumers owning none, and
/// a NOACK reader. Every ID is explicit, so both servers hold the same.
pub fn populate_stream(c: &mut Conn, key: &str) {
    let id = |i: u64| format!("{}-{}", 1_700_000_000_000 + i, i % 3);
    for i in 1..=250u64 {
        let (v, n) = (format!("v{i}"), i.to_string());
        let mut args = vec!["xadd", key, "", "field", &v, "n", &n];
        let id_text = id(i);
        args[2] = &id_text;
        if i % 7 == 0 {
            args.extend(["extra", "x"]);
        }
        c.cmd(&args);
    }
    for i in [3, 120, 121, 250] {
        c.cmd(&["xdel", key, &id(i)]);
    }
    c.cmd(&["xgroup", "create", key, "g1", "0"]);
    c.cmd(&["xreadgroup", "group", "g1", "alice", "count", "10", "streams", key, ">"]);
    c.cmd(&["xreadgroup", "group", "g1", "bob", "count", "5", "streams", key, ">"]);
    c.cmd(&["xack", key, "g1", &id(1), &id(2)]);
    c.cmd(&["xgroup", "createconsumer", key, "g1", "idle"]);
    c.cmd(&["xgroup", "create", key, "g2", "0"]);
    c.cmd(&["xreadgroup", "group", "g2", "carol", "noack", "count", "3", "streams", key, ">"]);
    c.cmd(&["xgroup", "create", key, "g3", "$"]);
}

pub const ENCODING_KEYS: &[&str] = &["s:int", "s:emb", "s:raw", "s:neg", "l:small", "l:big", "set:int", "set:ht", "h:lp", "h:ht", "z:lp", "z:sl", "x:groups"];

/// Each group's XPENDING summary.
fn groups_pending(c: &mut Conn, key: &str) -> Vec<u8> {
    let Frame::Array(groups) = c.cmd(&["xinfo", "groups", key]) else { panic!("XINFO GROUPS {key}") };
    let mut out = Vec::new();
    for g in groups {
        let Frame::Array(fields) = g else { panic!("group {g:?}") };
        let name = fields[1].as_bytes().expect("group name").to_vec();
        out.extend(c.cmd_raw(&[b"xpending", key.as_bytes(), &name]));
    }
    out
}

/// Everything a client can observe about a key's value.
pub fn contents(c: &mut Conn, key: &str) -> String {
    let kind = c.cmd(&["type", key]);
    let kind = String::from_utf8_lossy(kind.as_bytes().unwrap()).into_owned();
    let body = match kind.as_str() {
        "string" => c.cmd_raw(&[b"get", key.as_bytes()]),
        "list" => c.cmd_raw(&[b"lrange", key.as_bytes(), b"0", b"-1"]),
        "set" => sorted_reply(&c.cmd_raw(&[b"smembers", key.as_bytes()])),
        "hash" => sorted_pairs(&c.cmd_raw(&[b"hgetall", key.as_bytes()])),
        "zset" => c.cmd_raw(&[b"zrange", key.as_bytes(), b"0", b"-1", b"withscores"]),
        "stream" => [
            c.cmd_raw(&[b"xrange", key.as_bytes(), b"-", b"+"]),
            c.cmd_raw(&[b"xinfo", b"groups", key.as_bytes()]),
            c.cmd_raw(&[b"xinfo", b"stream", key.as_bytes()]),
            groups_pending(c, key),
        ]
        .concat(),
        other => panic!("{key}: unexpected type {other}"),
    };
    let encoding = c.cmd(&["object", "encoding", key]);
    format!("{kind} {:?} {}", encoding, String::from_utf8_lossy(&body))
}

pub fn dump(c: &mut Conn, key: &str) -> Vec<u8> {
    match c.cmd(&["dump", key]) {
        ferrokv_resp::Frame::Bulk(b) => b.to_vec(),
        other => panic!("DUMP {key}: {other:?}"),
    }
}

impl Node {
    /// Stops the process at once (SIGKILL), as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the binary again on the same port and directory (after a
    /// kill or SHUTDOWN), with `args`.
    pub fn restart(&mut self, args: &[&str]) {
        self.kill9();
        let bin: PathBuf = env!("CARGO_BIN_EXE_ferrokv-server").into();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let mut cmd = Command::new(&bin);
            cmd.arg("--port").arg(self.port.to_string()).arg("--dir").arg(self.dir.path()).arg("--bind").arg("127.0.0.1");
            cmd.args(["--repl-diskless-sync-delay", "0"]);
            cmd.args(args).stdout(Stdio::null()).stderr(server_stderr()).stdin(Stdio::null()).env("RUST_LOG", log_level());
            let mut child = cmd.spawn().expect("spawn ferrokv-server");
            let started = eventually(Duration::from_secs(5), || {
                matches!(child.try_wait(), Ok(None)) && TcpStream::connect(("127.0.0.1", self.port)).is_ok() && serves_pid(self.port, child.id()) == Some(true)
            });
            if started {
                self.child = child;
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("ferrokv did not restart on port {}", self.port);
    }
}

/// One field of INFO, as a string ("" if absent).
pub fn info_field(c: &mut Conn, section: &str, field: &str) -> String {
    let raw = c.cmd_raw(&[b"info", section.as_bytes()]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string())).unwrap_or_default()
}

/// As [`info_field`] on a fresh connection, or None when the connection
/// fails or is closed under the query (a sentinel reconfiguring the node
/// kills its normal clients).
pub fn try_info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let text = match Conn::try_connect(port)?.try_cmd(&["info", section])? {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => return None,
    };
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
}

/// A TCP proxy the test controls, for faults between two nodes: cut every
/// connection, pause forwarding (a slow or partitioned peer), delay each
/// chunk. Bytes are never dropped or reordered inside a connection.
pub struct Proxy {
    pub port: u16,
    state: std::sync::Arc<ProxyState>,
}

struct ProxyState {
    target: u16,
    paused: std::sync::atomic::AtomicBool,
    delay_ms: std::sync::atomic::AtomicU64,
    conns: std::sync::Mutex<Vec<TcpStream>>,
    stop: std::sync::atomic::AtomicBool,
}

impl Proxy {
    pub fn start(target: u16) -> Proxy {
        use std::sync::atomic::{AtomicBool, AtomicU64};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let state = std::sync::Arc::new(ProxyState {
            target,
            paused: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            conns: std::sync::Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let s = state.clone();
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            while !s.stop.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect(("127.0.0.1", s.target)) else {
                            continue;
                        };
                        for (from, to) in [(&client, &server), (&server, &client)] {
                            let (from, to) = (from.try_clone().expect("clone"), to.try_clone().expect("clone"));
                            let s2 = s.clone();
                            std::thread::spawn(move || pump(from, to, &s2));
                        }
                        let mut conns = s.conns.lock().unwrap();
                        conns.push(client);
                        conns.push(server);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, state }
    }

    /// Closes every connection through the proxy (the peers reconnect).
    pub fn cut(&self) {
        for c in self.state.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn pause(&self, on: bool) {
        self.state.paused.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn delay(&self, ms: u64) {
        self.state.delay_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.cut();
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, s: &ProxyState) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut buf = [0u8; 16384];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while s.paused.load(Relaxed) && !s.stop.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let d = s.delay_ms.load(Relaxed);
        if d > 0 {
            std::thread::sleep(Duration::from_millis(d));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(std::net::Shutdown::Both);
    let _ = to.shutdown(std::net::Shutdown::Both);
}
