//! `ferrokv-cli [-h host] [-p port] [--user u] [-a password] [--tls --cacert f
//! [--cert f --key f]] command [arg ...]`: one command, its reply printed as
//! redis-cli prints it. Exits 1 on an error
//! reply or no connection. Ships in the container image (which has no
//! shell) for HEALTHCHECK and `docker exec`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferrokv_resp::Frame;

fn print(f: &Frame, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match f {
        Frame::Simple(s) => out.push_str(&String::from_utf8_lossy(s)),
        Frame::Error(e) => out.push_str(&format!("(error) {}", String::from_utf8_lossy(e))),
        Frame::Integer(n) => out.push_str(&format!("(integer) {n}")),
        Frame::Bulk(b) => out.push_str(&format!("\"{}\"", String::from_utf8_lossy(b))),
        Frame::NullBulk | Frame::NullArray | Frame::Null => out.push_str("(nil)"),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) if items.is_empty() => out.push_str("(empty array)"),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    out.push_str(&pad);
                }
                let label = format!("{}) ", i + 1);
                out.push_str(&label);
                print(item, indent + label.len(), out);
            }
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--help" || a == "-h" && args.len() == 1) {
        println!("{USAGE}");
        return;
    }
    if args.first().is_some_and(|a| a == "--version" || a == "-v") {
        println!("ferrokv-cli {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    // As redis-cli: REDISCLI_AUTH keeps the password off the command line
    // (the deployment's health checks read it from the environment).
    let (mut host, mut port, mut pass, mut user) = ("127.0.0.1".to_string(), 6379u16, std::env::var("REDISCLI_AUTH").ok().filter(|p| !p.is_empty()), None);
    let (mut tls, mut cacert, mut cert, mut key) = (false, None, None, None);
    while args.len() >= 2 && args[0].starts_with('-') {
        if args[0] == "--tls" {
            tls = true;
            args.remove(0);
            continue;
        }
        let v = args.remove(1);
        match args.remove(0).as_str() {
            "-h" => host = v,
            "-p" => port = v.parse().unwrap_or_else(|_| fail("bad port")),
            "-a" | "--pass" => pass = Some(v),
            "--user" => user = Some(v),
            "--cacert" => cacert = Some(v),
            "--cert" => cert = Some(v),
            "--key" => key = Some(v),
            _ => fail(USAGE),
        }
    }
    if args.is_empty() {
        fail(USAGE);
    }
    let tcp = TcpStream::connect((host.as_str(), port)).unwrap_or_else(|e| fail(&format!("Could not connect to {host}:{port}: {e}")));
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let mut stream: Box<dyn ReadWrite> = if tls {
        let ca = cacert.unwrap_or_else(|| fail("--tls needs --cacert"));
        let identity = cert.as_deref().zip(key.as_deref());
        let config = ferrokv_tls::client_config(&ca, identity).unwrap_or_else(|e| fail(&e.to_string()));
        let name = rustls::pki_types::ServerName::try_from(host.clone()).unwrap_or_else(|e| fail(&e.to_string()));
        let session = rustls::ClientConnection::new(config, name).unwrap_or_else(|e| fail(&e.to_string()));
        Box::new(rustls::StreamOwned::new(session, tcp))
    } else {
        Box::new(tcp)
    };
    let mut buf = Vec::new();
    if let Some(p) = pass {
        let auth: Vec<String> = ["AUTH".to_string()].into_iter().chain(user).chain([p]).collect();
        let reply = call(&mut *stream, &mut buf, &auth);
        if matches!(reply, Frame::Error(_)) {
            fail("AUTH failed");
        }
    }
    let reply = call(&mut *stream, &mut buf, &args);
    let mut out = String::new();
    print(&reply, 0, &mut out);
    println!("{out}");
    if matches!(reply, Frame::Error(_)) {
        std::process::exit(1);
    }
}

/// A plain or TLS connection.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn call(stream: &mut dyn ReadWrite, buf: &mut Vec<u8>, args: &[String]) -> Frame {
    stream.write_all(&Frame::command(args.iter()).to_bytes()).unwrap_or_else(|e| fail(&e.to_string()));
    loop {
        if let Ok(Some((frame, used))) = Frame::parse(buf) {
            buf.drain(..used);
            return frame;
        }
        let mut chunk = [0u8; 65536];
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => fail("connection closed"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

const USAGE: &str = "Usage: ferrokv-cli [-h host] [-p port] [--user name] [-a|--pass password] [--tls --cacert file [--cert file --key file]] command [arg ...]\n       ferrokv-cli --help | --version\n       (REDISCLI_AUTH in the environment is the password when -a is not given)";

fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(1);
}
