//! TLS on the client port and on replication links, with certificates made
//! for each test, checked with Debian's redis-cli and against Redis 7.0
//! started with the same files.

mod common;
use std::process::Command;
use std::time::Duration;

use common::tls::Certs;
use common::*;

fn cli(port: u16, tls: &[String], args: &[&str]) -> (bool, String) {
    let out = Command::new("redis-cli").args(["-p", &port.to_string()]).args(tls).args(args).output().expect("redis-cli");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success() && !text.contains("Could not connect") && !text.contains("SSL") && !text.contains("Error"), text.trim().to_string())
}

/// Sends a plain PING to a TLS port: true if PONG came back (the
/// connection may end with an alert, a close or a reset).
fn plain_text_answered(port: u16) -> bool {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(b"*1\r\n$4\r\nPING\r\n");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).contains("PONG")
}

fn node_args(certs: &Certs, tls_port: u16, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--tls-port".to_string(), tls_port.to_string(), "--enable-debug-command".into(), "yes".into()];
    args.extend(certs.server_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn start(kind: &str, args: &[String]) -> Node {
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    if kind == "redis" {
        Node::redis(&args)
    } else {
        Node::ferrokv(&args)
    }
}

/// redis-cli over TLS with a client certificate; without one the handshake
/// fails (tls-auth-clients yes), and `optional`/`no` let it in; a bad
/// client costs only its own connection.
#[test]
fn clients_connect_over_tls_as_with_redis() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new(dir.path(), "node");
    for kind in ["ferrokv", "redis"] {
        let tls_port = free_port();
        let node = start(kind, &node_args(&certs, tls_port, &[]));
        let with_cert = certs.cli_args();
        assert_eq!(cli(tls_port, &with_cert, &["set", "k", "v"]), (true, "OK".into()), "{kind}");
        assert_eq!(cli(tls_port, &with_cert, &["get", "k"]), (true, "v".into()), "{kind}");
        let no_cert = vec!["--tls".to_string(), "--cacert".into(), certs.ca.to_str().unwrap().into()];
        let (ok, text) = cli(tls_port, &no_cert, &["ping"]);
        assert!(!ok, "{kind}: a client without a certificate got in: {text}");
        // Plain text on the TLS port: that connection fails, nobody else's.
        assert!(!plain_text_answered(tls_port), "{kind}: plain text on the TLS port answered");
        assert_eq!(cli(tls_port, &with_cert, &["ping"]), (true, "PONG".into()), "{kind}");
        let mut c = node.conn();
        assert_eq!(c.cmd(&["get", "k"]), bulk("v"), "{kind}: the same data on the plain port");
        assert_eq!(c.cmd(&["config", "set", "tls-auth-clients", "optional"]), simple("OK"), "{kind}");
        assert_eq!(cli(tls_port, &no_cert, &["ping"]), (true, "PONG".into()), "{kind}: optional");
        assert_eq!(c.cmd(&["config", "get", "tls-auth-clients"]), ferrokv_resp::Frame::Array(vec![bulk("tls-auth-clients"), bulk("optional")]));
    }
}

/// CONFIG SET of the certificate files applies to the next connections
/// (rotation); a file that does not load is refused and changes nothing.
#[test]
fn certificates_rotate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let old = Certs::new(dir.path(), "old");
    let new = Certs::new(dir.path(), "new");
    for kind in ["ferrokv", "redis"] {
        let tls_port = free_port();
        let node = start(kind, &node_args(&old, tls_port, &["--tls-auth-clients", "no"]));
        let trusts = |c: &Certs| vec!["--tls".to_string(), "--cacert".into(), c.ca.to_str().unwrap().into()];
        assert!(cli(tls_port, &trusts(&old), &["ping"]).0, "{kind}");
        assert!(!cli(tls_port, &trusts(&new), &["ping"]).0, "{kind}");
        let mut c = node.conn();
        let bad = c.cmd(&["config", "set", "tls-cert-file", "/nonexistent.crt"]);
        assert!(
            matches!(&bad, ferrokv_resp::Frame::Error(e) if e.starts_with(b"ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration")),
            "{kind}: {bad:?}"
        );
        assert!(cli(tls_port, &trusts(&old), &["ping"]).0, "{kind}: still the old certificate");
        let set = c.cmd(&["config", "set", "tls-cert-file", new.cert.to_str().unwrap(), "tls-key-file", new.key.to_str().unwrap()]);
        assert_eq!(set, simple("OK"), "{kind}");
        assert!(cli(tls_port, &trusts(&new), &["ping"]).0, "{kind}: the new certificate");
        assert!(!cli(tls_port, &trusts(&old), &["ping"]).0, "{kind}");
    }
}

/// A ferrokv replica follows a ferrokv primary's TLS port (gRPC over TLS),
/// and a Redis primary's (RESP over TLS); a Redis replica follows ours.
#[test]
fn replication_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new(dir.path(), "repl");
    for (primary_kind, replica_kind) in [("ferrokv", "ferrokv"), ("redis", "ferrokv"), ("ferrokv", "redis")] {
        let tls_port = free_port();
        let primary = start(primary_kind, &node_args(&certs, tls_port, &["--tls-replication", "yes"]));
        let mut p = primary.conn();
        populate_every_encoding(&mut p);
        let replica_tls = free_port();
        let replica = start(replica_kind, &node_args(&certs, replica_tls, &["--tls-replication", "yes"]));
        let mut r = replica.conn();
        assert_eq!(r.cmd(&["replicaof", "127.0.0.1", &tls_port.to_string()]), simple("OK"));
        let synced = eventually(Duration::from_secs(20), || info_field(&mut r, "replication", "master_link_status") == "up");
        assert!(synced, "{primary_kind} -> {replica_kind}: link not up over TLS");
        p.cmd(&["set", "after", "sync"]);
        assert!(eventually(Duration::from_secs(10), || r.cmd(&["get", "after"]) == bulk("sync")), "{primary_kind} -> {replica_kind}");
        common::repl::assert_converged(&primary, &[&replica]);
    }
}

/// A node whose certificates do not load does not start, as Redis.
#[test]
fn bad_tls_files_stop_start_up() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", "0", "--tls-port", "0", "--tls-replication", "yes", "--tls-cert-file", "/nonexistent.crt", "--tls-key-file", "/nonexistent.key"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("Failed to configure TLS. Check logs for more info."), "{text}");
}

/// Client certificates checked against the CA: one from another CA and an
/// expired one are refused by both servers; ferrokv logs the handshake
/// failure with the peer's address, and serves everyone else meanwhile.
#[test]
fn wrong_and_expired_client_certificates_are_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new(dir.path(), "node");
    let stranger = Certs::new(dir.path(), "stranger");
    let log = dir.path().join("ferrokv.log");
    for kind in ["ferrokv", "redis"] {
        let tls_port = free_port();
        let mut extra = vec!["--logfile".to_string(), log.to_str().unwrap().to_string()];
        if kind == "redis" {
            extra.clear();
        }
        let extra: Vec<&str> = extra.iter().map(|s| s.as_str()).collect();
        let _node = start(kind, &node_args(&certs, tls_port, &extra));
        let with = |cert: &std::path::PathBuf, key: &std::path::PathBuf| {
            vec![
                "--tls".to_string(),
                "--cacert".into(),
                certs.ca.to_str().unwrap().into(),
                "--cert".into(),
                cert.to_str().unwrap().into(),
                "--key".into(),
                key.to_str().unwrap().into(),
            ]
        };
        assert!(!cli(tls_port, &with(&stranger.client_cert, &stranger.client_key), &["ping"]).0, "{kind}: another CA's client got in");
        assert!(!cli(tls_port, &with(&certs.expired_cert, &certs.expired_key), &["ping"]).0, "{kind}: an expired client got in");
        assert_eq!(cli(tls_port, &certs.cli_args(), &["ping"]), (true, "PONG".into()), "{kind}: the others are served");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Error accepting a client connection:") && text.contains("addr=127.0.0.1:"), "{text}");
}

/// tls-protocols, tls-ciphersuites and the CA as a directory; settings that
/// cannot apply are refused as Redis refuses them.
#[test]
fn protocols_ciphers_and_ca_directory() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new(dir.path(), "node");
    for kind in ["ferrokv", "redis"] {
        let tls_port = free_port();
        let node = start(kind, &node_args(&certs, tls_port, &["--tls-protocols", "TLSv1.3", "--tls-ciphersuites", "TLS_AES_256_GCM_SHA384"]));
        assert_eq!(cli(tls_port, &certs.cli_args(), &["ping"]), (true, "PONG".into()), "{kind}");
        let mut c = node.conn();
        for (name, value) in [("tls-protocols", "bogus"), ("tls-ciphersuites", "NO_SUCH_SUITE")] {
            assert_eq!(
                c.cmd(&["config", "set", name, value]),
                err(&format!("ERR CONFIG SET failed (possibly related to argument '{name}') - Unable to update TLS configuration. Check server logs.")),
                "{kind}: {name}"
            );
        }
        assert_eq!(c.cmd(&["config", "set", "tls-protocols", "TLSv1.2 TLSv1.3"]), simple("OK"), "{kind}");
        assert_eq!(cli(tls_port, &certs.cli_args(), &["ping"]), (true, "PONG".into()), "{kind}");
    }
    // A directory of CA files (Redis's OpenSSL wants hashed names there;
    // ferrokv reads every certificate file in it).
    let cas = dir.path().join("cas");
    std::fs::create_dir(&cas).unwrap();
    std::fs::copy(&certs.ca, cas.join("ca.pem")).unwrap();
    let tls_port = free_port();
    let args = [
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        certs.cert.to_str().unwrap(),
        "--tls-key-file",
        certs.key.to_str().unwrap(),
        "--tls-ca-cert-dir",
        cas.to_str().unwrap(),
    ]
    .map(String::from);
    let node = start("ferrokv", &args);
    assert_eq!(cli(tls_port, &certs.cli_args(), &["ping"]), (true, "PONG".into()));
    let port = tls_port.to_string();
    assert!(info_field(&mut node.conn(), "server", "ferrokv_tls_port") == port, "INFO shows the TLS listener");
}

/// An encrypted private key opens with `tls-key-file-pass`, on both servers;
/// a wrong password stops ferrokv's start-up as it stops Redis's.
#[test]
fn encrypted_private_key_with_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new(dir.path(), "node");
    let locked = dir.path().join("node-encrypted.key");
    common::tls::encrypt_key(&certs.key, "s3cret", &locked);
    for kind in ["ferrokv", "redis"] {
        let tls_port = free_port();
        let mut args = node_args(&certs, tls_port, &["--tls-key-file-pass", "s3cret"]);
        let at = args.iter().position(|a| a == "--tls-key-file").unwrap();
        args[at + 1] = locked.to_str().unwrap().to_string();
        let _node = start(kind, &args);
        assert_eq!(cli(tls_port, &certs.cli_args(), &["ping"]), (true, "PONG".into()), "{kind}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", "0", "--tls-port", "0", "--tls-replication", "yes", "--tls-cert-file", certs.cert.to_str().unwrap()])
        .args(["--tls-key-file", locked.to_str().unwrap(), "--tls-key-file-pass", "wrong", "--tls-ca-cert-file", certs.ca.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("wrong password"), "{text}");
}
