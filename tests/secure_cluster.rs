//! A deployment as the security guide describes it: every link over TLS
//! (clients, replication, sentinels to nodes and to each other), least-
//! privilege ACL users on the nodes (an application user, a replication
//! user, a sentinel user), `requirepass` on the sentinels; then the primary
//! dies and the sentinels fail over, and the acknowledged writes are there.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::tls::Certs;
use common::*;

const SENTINEL_USER: &[&str] = &[
    "sentinel",
    "on",
    ">sentinel-pw",
    "allchannels",
    "+multi",
    "+slaveof",
    "+ping",
    "+exec",
    "+subscribe",
    "+config|rewrite",
    "+role",
    "+publish",
    "+info",
    "+client|setname",
    "+client|kill",
    "+script|kill",
];
const REPL_USER: &[&str] = &["repl", "on", ">repl-pw", "+psync", "+replconf", "+ping"];
const APP_USER: &[&str] = &["app", "on", ">app-pw", "~app:*", "&app:*", "+@read", "+@write", "+@connection", "-@dangerous", "+wait"];

struct Sentinel {
    child: Child,
    tls_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_cli(port: u16, certs: &Certs, auth: &[&str], args: &[&str]) -> String {
    let out = Command::new("redis-cli").args(["-p", &port.to_string()]).args(certs.cli_args()).args(auth).arg("--no-auth-warning").args(args).output().unwrap();
    (String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)).trim().to_string()
}

fn start_node(certs: &Certs, tls_port: u16, more: &[&str]) -> Node {
    let mut args: Vec<String> =
        vec!["--tls-port".into(), tls_port.to_string(), "--tls-replication".into(), "yes".into(), "--requirepass".into(), "admin-pw".into()];
    args.extend(certs.server_args());
    args.extend(["--masteruser", "repl", "--masterauth", "repl-pw", "--save", "", "--enable-debug-command", "yes"].map(String::from));
    for user in [SENTINEL_USER, REPL_USER, APP_USER] {
        args.push("--user".into());
        args.extend(user.iter().map(|s| s.to_string()));
    }
    args.extend(more.iter().map(|s| s.to_string()));
    Node::ferrokv(&args.iter().map(|s| s.as_str()).collect::<Vec<_>>())
}

fn start_sentinel(certs: &Certs, master_tls_port: u16) -> Sentinel {
    let dir = tempfile::tempdir().unwrap();
    let tls_port = free_port();
    let conf = dir.path().join("sentinel.conf");
    let s = |p: &std::path::PathBuf| p.to_str().unwrap().to_string();
    std::fs::write(
        &conf,
        format!(
            "port 0\nbind 127.0.0.1\ntls-port {tls_port}\ntls-replication yes\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\nrequirepass sentinel-admin\n\
             sentinel sentinel-pass sentinel-admin\nsentinel monitor mymaster 127.0.0.1 {master_tls_port} 2\nsentinel auth-user mymaster sentinel\n\
             sentinel auth-pass mymaster sentinel-pw\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\n",
            s(&certs.cert),
            s(&certs.key),
            s(&certs.ca)
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("sentinel.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ferrokv-sentinel"))
        .arg(&conf)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(WAIT, || std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok()), "sentinel did not start");
    Sentinel { child, tls_port, _dir: dir }
}

#[test]
fn tls_and_acl_users_everywhere_and_a_failover() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new(dir.path(), "cluster");
    let p_tls = free_port();
    let p = start_node(&certs, p_tls, &[]);
    let replica_of = p_tls.to_string();
    let (r1_tls, r2_tls) = (free_port(), free_port());
    let _r1 = start_node(&certs, r1_tls, &["--replicaof", "127.0.0.1", &replica_of]);
    let _r2 = start_node(&certs, r2_tls, &["--replicaof", "127.0.0.1", &replica_of, "--replica-priority", "50"]);
    let admin = ["--user", "default", "--pass", "admin-pw"];
    for r in [r1_tls, r2_tls] {
        assert!(
            eventually(WAIT, || redis_cli(r, &certs, &admin, &["info", "replication"]).contains("master_link_status:up")),
            "replica on {r} did not sync over TLS as the repl user"
        );
    }
    // The application user: its keys, not others', no admin commands.
    let app = ["--user", "app", "--pass", "app-pw"];
    assert_eq!(redis_cli(p_tls, &certs, &app, &["set", "app:1", "v"]), "OK");
    assert!(redis_cli(p_tls, &certs, &app, &["set", "other", "v"]).contains("NOPERM"));
    assert!(redis_cli(p_tls, &certs, &app, &["config", "get", "*"]).contains("NOPERM"));
    assert!(redis_cli(p_tls, &certs, &["--user", "app", "--pass", "wrong"], &["ping"]).contains("WRONGPASS"));
    let sentinels: Vec<Sentinel> = (0..3).map(|_| start_sentinel(&certs, p_tls)).collect();
    let sentinel_auth = ["--pass", "sentinel-admin"];
    for s in &sentinels {
        assert!(redis_cli(s.tls_port, &certs, &[], &["sentinel", "masters"]).contains("NOAUTH"), "the sentinel's port wants a password");
        assert!(
            eventually(Duration::from_secs(40), || {
                let replicas = redis_cli(s.tls_port, &certs, &sentinel_auth, &["sentinel", "replicas", "mymaster"]);
                let peers = redis_cli(s.tls_port, &certs, &sentinel_auth, &["sentinel", "sentinels", "mymaster"]);
                replicas.matches("name").count() == 2 && peers.matches("name").count() == 2
            }),
            "sentinel {} did not find the replicas and its peers over TLS",
            s.tls_port
        );
    }
    // Acknowledged by both replicas, then the primary dies.
    let mut acked = Vec::new();
    for i in 0..50 {
        let key = format!("app:k{i}");
        assert_eq!(redis_cli(p_tls, &certs, &app, &["set", &key, "v"]), "OK");
        acked.push(key);
    }
    assert_eq!(redis_cli(p_tls, &certs, &app, &["wait", "2", "5000"]), "2");
    drop(p);
    let promoted = eventually(Duration::from_secs(40), || {
        redis_cli(sentinels[0].tls_port, &certs, &sentinel_auth, &["sentinel", "get-master-addr-by-name", "mymaster"]).ends_with(&r2_tls.to_string())
    });
    assert!(promoted, "the sentinels did not promote the preferred replica over TLS");
    assert!(eventually(WAIT, || redis_cli(r2_tls, &certs, &admin, &["role"]).starts_with("master")));
    assert!(
        eventually(Duration::from_secs(20), || redis_cli(r1_tls, &certs, &admin, &["info", "replication"]).contains(&format!("master_port:{r2_tls}"))),
        "the other replica follows the new primary"
    );
    for key in &acked {
        assert_eq!(redis_cli(r2_tls, &certs, &app, &["get", key]), "v", "{key} lost");
    }
    assert_eq!(redis_cli(r2_tls, &certs, &app, &["set", "app:after", "x"]), "OK");
}
