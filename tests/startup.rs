//! Start-up as Redis users and their tools see it: the first lines of the
//! log in Redis's format (checked beside a real redis-server), JSON lines,
//! the log file, daemonizing with a pid file, and systemd's readiness
//! notification.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// Reads lines from the child's stdout until one contains `until` (or the
/// bound passes); returns them all.
fn lines_until(child: &mut Child, until: &str) -> Vec<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WAIT;
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let done = line.contains(until);
        lines.push(line);
        if done {
            break;
        }
    }
    lines
}

/// `pid:role dd Mon yyyy hh:mm:ss.mmm c message` → (role, level char, message).
fn parse(line: &str, pid: u32) -> Option<(char, char, String)> {
    let (head, rest) = line.split_once(' ')?;
    let (p, role) = head.split_once(':')?;
    if p != pid.to_string() || role.len() != 1 {
        return None;
    }
    let parts: Vec<&str> = rest.splitn(6, ' ').collect();
    let [day, month, year, time, level, message] = parts[..] else { return None };
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let ok = day.len() == 2
        && day.chars().all(|c| c.is_ascii_digit())
        && months.contains(&month)
        && year.len() == 4
        && time.len() == 12
        && time.as_bytes()[2] == b':'
        && time.as_bytes()[8] == b'.'
        && level.len() == 1;
    ok.then(|| (role.chars().next().unwrap(), level.chars().next().unwrap(), message.to_string()))
}

fn start(bin: &str, args: &[&str], dir: &std::path::Path) -> Child {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .spawn()
        .expect("start the server")
}

/// The first lines: every one in Redis's shape, and the lines log
/// watchers wait for, with Redis's level characters, as redis-server
/// writes them.
#[test]
fn first_lines_in_redis_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let redis = which("redis-server").expect("redis-server");
    for bin in [env!("CARGO_BIN_EXE_ferrokv-server").to_string(), redis.display().to_string()] {
        let port = free_port().to_string();
        let mut child = start(&bin, &["--port", &port, "--save", "", "--bind", "127.0.0.1"], dir.path());
        let lines = lines_until(&mut child, "Ready to accept connections");
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        let parsed: Vec<(char, char, String)> = lines.iter().map(|l| parse(l, pid).unwrap_or_else(|| panic!("{bin}: not Redis's format: {l:?}"))).collect();
        let find = |text: &str| parsed.iter().find(|(_, _, m)| m == text).map(|(r, c, _)| (*r, *c));
        // Redis writes these three the same way; the role is the primary's.
        let expected = [
            (format!("Running mode=standalone, port={port}."), ('M', '*')),
            ("Server initialized".to_string(), ('M', '#')),
            ("Ready to accept connections".to_string(), ('M', '*')),
        ];
        for (text, at) in &expected {
            assert_eq!(find(text), Some(*at), "{bin}: {text:?} in {lines:#?}");
        }
        assert!(parsed.iter().any(|(_, c, m)| *c == '#' && m.ends_with("is starting oO0OoO0OoO0Oo")), "{bin}: {lines:#?}");
        assert!(parsed.iter().any(|(_, _, m)| m.contains(&format!("pid={pid}, just started"))), "{bin}: {lines:#?}");
        seen.push(lines.len());
    }
    assert_eq!(seen.len(), 2);
}

#[test]
fn json_lines_and_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut child = start(env!("CARGO_BIN_EXE_ferrokv-server"), &["--port", &port, "--save", "", "--log-format", "json"], dir.path());
    let lines = lines_until(&mut child, "Ready to accept connections");
    let _ = child.kill();
    let _ = child.wait();
    let ready = lines.last().expect("a line");
    assert!(ready.starts_with("{\"time\":\"") && ready.ends_with("\"level\":\"notice\",\"message\":\"Ready to accept connections\"}"), "{ready}");
    assert!(ready.contains(&format!("\"pid\":{},\"role\":\"M\"", child.id())), "{ready}");

    let log = dir.path().join("ferrokv.log");
    let port = free_port();
    let mut child = start(env!("CARGO_BIN_EXE_ferrokv-server"), &["--port", &port.to_string(), "--save", "", "--logfile", log.to_str().unwrap()], dir.path());
    assert!(eventually(WAIT, || std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Ready to accept connections"))));
    // A log rotated away is recreated by the next line, as with Redis.
    std::fs::remove_file(&log).unwrap();
    let mut c = Conn::connect(port);
    assert_eq!(c.cmd(&["config", "set", "loglevel", "warning"]), simple("OK"));
    c.send(&[b"shutdown", b"nosave"]);
    c.read_to_close();
    assert!(eventually(WAIT, || child.try_wait().ok().flatten().is_some()));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(" # User requested shutdown...") && text.contains(" # ferrokv is now ready to exit, bye bye..."), "{text}");
    assert!(!text.contains(" * "), "loglevel warning leaves notices out: {text}");
}

/// `daemonize yes`: the started process returns at once with status 0, the
/// daemon's pid is in the pid file and it serves; SIGTERM removes the file.
#[test]
fn daemonize_writes_the_pid_file() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("ferrokv.pid");
    let log = dir.path().join("ferrokv.log");
    let port = free_port();
    let status = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", &port.to_string(), "--save", "", "--daemonize", "yes", "--pidfile", pidfile.to_str().unwrap(), "--logfile", log.to_str().unwrap()])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(eventually(WAIT, || std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))));
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(eventually(WAIT, || Conn::try_connect(port).is_some()));
    assert_eq!(Conn::connect(port).cmd(&["ping"]), simple("PONG"));
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(eventually(WAIT, || !pidfile.exists()), "the daemon removes its pid file");
    assert!(eventually(WAIT, || Conn::try_connect(port).is_none()));
}

/// `supervised systemd`: READY=1 arrives on NOTIFY_SOCKET once the node
/// accepts connections.
#[test]
fn systemd_hears_ready() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", &port.to_string(), "--save", "", "--supervised", "systemd", "--daemonize", "yes"])
        .env("NOTIFY_SOCKET", &sock_path)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("a notification within the bound");
    assert_eq!(&buf[..n], b"STATUS=Ready to accept connections\nREADY=1\n");
    // Supervised, `daemonize yes` does not fork: this is the server.
    assert!(Conn::try_connect(port).is_some());
    assert!(child.try_wait().unwrap().is_none());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn test_memory_and_version_as_redis_server() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server")).args(["--test-memory", "1"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Pass 50/50 OK") && text.contains("Your memory passed this test."), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server")).args(["--test-memory"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Usage: ferrokv-server --test-memory <megabytes>"));
    for flag in ["--version", "--help"] {
        for bin in [env!("CARGO_BIN_EXE_ferrokv-server"), env!("CARGO_BIN_EXE_ferrokv-sentinel"), env!("CARGO_BIN_EXE_ferrokv-cli")] {
            let out = Command::new(bin).arg(flag).stdin(Stdio::null()).output().unwrap();
            assert!(out.status.success() && !out.stdout.is_empty(), "{bin} {flag}");
        }
    }
}

/// `ferrokv-server -` reads the configuration from standard input.
#[test]
fn config_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_ferrokv-server")).arg("-").current_dir(dir.path()).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("port {port}\nsave \"\"\nmaxclients 77\n").as_bytes()).unwrap();
    assert!(eventually(WAIT, || Conn::try_connect(port).is_some()));
    let reply = Conn::connect(port).cmd(&["config", "get", "maxclients"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(reply, ferrokv_resp::Frame::Array(vec![bulk("maxclients"), bulk("77")]));
}

/// `shutdown-on-sigterm`: `nosave` skips the save the save points would
/// ask for; `save` saves with none configured.
#[test]
fn shutdown_on_sigterm_flags() {
    for (flags, save, expect_dump) in [("nosave", "3600 1", false), ("save", "", true), ("default", "", false)] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
            .args(["--port", &port.to_string(), "--save", save, "--shutdown-on-sigterm", flags, "--dir", dir.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        assert!(eventually(WAIT, || Conn::try_connect(port).is_some()));
        assert_eq!(Conn::connect(port).cmd(&["set", "k", "v"]), simple("OK"));
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert!(eventually(WAIT, || child.try_wait().ok().flatten().is_some()));
        assert_eq!(dir.path().join("dump.rdb").exists(), expect_dump, "shutdown-on-sigterm {flags} with save {save:?}");
    }
}

/// What a server sends to syslog while it starts (`syslog-enabled yes`),
/// as the datagrams reach /dev/log: the server runs in a private mount
/// namespace whose /dev/log is this test's socket (nothing of the
/// machine's is touched). None where that needs powers the test lacks.
fn syslog_datagrams(bin: &std::path::Path) -> Option<(u32, Vec<String>)> {
    let unshare = which("unshare")?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("log.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let script = format!(
        "set -e; d={dir}; mkdir -p $d/hostdev; mount --bind /dev $d/hostdev; mount -t tmpfs tmpfs /dev; \
         for n in null zero random urandom; do touch /dev/$n; mount --bind $d/hostdev/$n /dev/$n; done; \
         touch /dev/log; mount --bind {sock} /dev/log; exec \"$@\"",
        dir = dir.path().display(),
        sock = sock_path.display()
    );
    let port = free_port().to_string();
    let mut child = Command::new(unshare)
        .args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(bin)
        .args(["--port", &port, "--save", "", "--syslog-enabled", "yes", "--syslog-ident", "kvtest", "--syslog-facility", "local3"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !got.iter().any(|l: &String| l.contains("Ready to accept connections")) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Some((pid, got))
}

/// `syslog-enabled`, `syslog-ident`, `syslog-facility`: each log line goes
/// to syslog as Redis sends it (ident and pid, the facility with Redis's
/// priority for the level, the message without the file's prefix),
/// checked beside redis-server.
#[test]
fn syslog_receives_lines_as_from_redis() {
    let ours = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ferrokv-server"));
    let Some((pid, lines)) = syslog_datagrams(&ours) else {
        eprintln!("syslog test not run: it needs root and unshare(1) for a private /dev/log");
        return;
    };
    let redis = which("redis-server").expect("redis-server");
    let (_, redis_lines) = syslog_datagrams(&redis).expect("the same powers for Redis");
    // `<PRI>Mmm dd hh:mm:ss ident[pid]: message`: the priority and the
    // message of the ready line, on both.
    let ready = |lines: &[String]| -> Option<(String, String)> {
        let line = lines.iter().find(|l| l.contains("Ready to accept connections"))?;
        let pri = line[..line.find('>')? + 1].to_string();
        let message = line[line.find("]: ")? + 3..].trim_end().to_string();
        Some((pri, message))
    };
    let theirs = ready(&redis_lines).unwrap_or_else(|| panic!("Redis sent no ready line: {redis_lines:?}"));
    assert_eq!(ready(&lines), Some(theirs.clone()), "ours: {lines:?}");
    assert_eq!(theirs.0, "<157>", "local3 (19) with notice (5)");
    // Our pid is the one `exec` kept.
    assert!(lines.iter().any(|l| l.contains(&format!("kvtest[{pid}]: "))), "{lines:?}");
}
