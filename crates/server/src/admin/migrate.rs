//! MIGRATE (Redis's cluster.c): moves keys to another instance, ferrokv or
//! Redis, as DUMP payloads restored there. As in Redis the command is atomic
//! and holds the keyspace for the transfer, which its timeout bounds: the
//! one handler that does network I/O, deliberately, with blocking sockets
//! and every wait bounded.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use ferrokv_commands::keyspec::{flags::*, Begin, KeySpec};
use ferrokv_rdb::dump_payload;
use ferrokv_resp::Frame;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use ferrokv_commands::cmd;
use ferrokv_commands::families::dump::rdb_form;

const KS_DANGER: &[&str] = &["keyspace", "dangerous"];

pub static COMMANDS: &[Command] = &[cmd!(
    "migrate",
    "2.6.0",
    -6,
    WRITE | MOVABLEKEYS,
    KS_DANGER,
    (3, 3, 1),
    migrate,
    "generic",
    "Atomically transfer a key from a Redis instance to another one.",
    key_specs = &[
        KeySpec::at(3, RW | ACCESS | DELETE),
        KeySpec::range(0, -1, 1, RW | ACCESS | DELETE | INCOMPLETE).begin(Begin::Keyword { keyword: "KEYS", startfrom: -2 }),
    ],
    getkeys = migrate_keys,
    tips = &["nondeterministic_output"]
)];

#[derive(Default)]
struct Options {
    copy: bool,
    replace: bool,
    auth: Option<Vec<Bytes>>,
    keys: Option<Vec<Bytes>>,
}

fn options(args: &[Bytes]) -> Result<Options, RedisError> {
    let mut o = Options::default();
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - j - 1;
        if args::is(&args[j], "copy") {
            o.copy = true;
        } else if args::is(&args[j], "replace") {
            o.replace = true;
        } else if args::is(&args[j], "auth") && more >= 1 {
            o.auth = Some(vec![args[j + 1].clone()]);
            j += 1;
        } else if args::is(&args[j], "auth2") && more >= 2 {
            o.auth = Some(vec![args[j + 1].clone(), args[j + 2].clone()]);
            j += 2;
        } else if args::is(&args[j], "keys") {
            if !args[3].is_empty() {
                return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string".into());
            }
            o.keys = Some(args[j + 1..].to_vec());
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    Ok(o)
}

/// MIGRATE's keys: the one key, or those after KEYS (when the key is "").
/// AUTH and AUTH2 take passwords that could read "keys", so they are
/// skipped; None for KEYS beside a key, which MIGRATE refuses.
fn migrate_keys(args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    let mut keys = 3..4;
    let mut i = 6;
    while i < args.len() {
        let a = &args[i];
        if args::is(a, "keys") {
            if !args[3].is_empty() {
                return None;
            }
            keys = i + 1..args.len();
            break;
        }
        i += if args::is(a, "auth") {
            2
        } else if args::is(a, "auth2") {
            3
        } else {
            1
        };
    }
    Some(keys.map(|at| (at, RW | ACCESS | DELETE)).collect())
}

/* MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password] [AUTH2 username password] [KEYS key [key ...]] */
fn migrate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let o = options(args)?;
    let port = args::int(&args[2])?;
    let db = args::int(&args[4])?;
    let mut timeout = args::int(&args[5])?;
    if timeout <= 0 {
        timeout = 1000;
    }
    let keys = o.keys.clone().unwrap_or_else(|| vec![args[3].clone()]);
    let compress = ctx.server.config.read().rdbcompression;
    let now = ctx.view.now_ms;
    // (key, ttl ms or 0, payload) of every key that exists and is live.
    let mut items = Vec::new();
    for key in keys {
        let ttl = match ctx.view.expire_at(&key) {
            Some(at) if at - now <= 0 => continue,
            Some(at) => at - now,
            None => 0,
        };
        if let Some(entry) = ctx.view.get(&key) {
            let (value, layout) = rdb_form(&entry.value);
            items.push((key, ttl, dump_payload(&value, layout, compress)));
        }
    }
    if items.is_empty() {
        ctx.simple(b"NOKEY");
        return Ok(());
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let replies = transfer(&host, port, db, Duration::from_millis(timeout as u64), &o, &items)?;
    let mut error = None;
    let mut moved = Vec::new();
    for ((key, _, _), reply) in items.iter().zip(replies) {
        match reply {
            Frame::Error(e) => {
                error.get_or_insert(String::from_utf8_lossy(&e).into_owned());
            }
            _ if !o.copy => {
                if ctx.view.delete(key) {
                    ctx.notify(ferrokv_storage::events::GENERIC, "del", key);
                }
                moved.push(key.clone());
            }
            _ => {}
        }
    }
    if !moved.is_empty() {
        // Replicas and the AOF see the effect: the keys are gone.
        let mut del = vec![Bytes::from_static(b"DEL")];
        del.extend(moved);
        ctx.effects.rewrite(del);
    }
    match error {
        Some(e) => Err(format!("ERR Target instance replied with error: {e}").into()),
        None => ctx.ok(),
    }
}

/// Sends AUTH, SELECT and one RESTORE per key in one write, then reads the
/// RESTOREs' replies.
fn transfer(host: &str, port: i64, db: i64, timeout: Duration, o: &Options, items: &[(Bytes, i64, Vec<u8>)]) -> Result<Vec<Frame>, RedisError> {
    let connect_err = || RedisError::from("IOERR error or timeout connecting to the client");
    let addr = (host, port as u16).to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(connect_err)?;
    // Redis connects without blocking, so a refused connection shows up
    // only when it writes: the same error as a failed write.
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => RedisError::from("IOERR error or timeout writing to target instance"),
        _ => connect_err(),
    })?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_nodelay(true);
    let mut out = Vec::new();
    let mut preamble = 0;
    if let Some(auth) = &o.auth {
        let mut cmd = vec![Bytes::from_static(b"AUTH")];
        cmd.extend(auth.iter().cloned());
        Frame::command(cmd).encode(&mut out);
        preamble += 1;
    }
    Frame::command([b"SELECT".to_vec(), db.to_string().into_bytes()]).encode(&mut out);
    preamble += 1;
    for (key, ttl, payload) in items {
        let mut cmd: Vec<Vec<u8>> = vec![b"RESTORE".to_vec(), key.to_vec(), ttl.to_string().into_bytes(), payload.clone()];
        if o.replace {
            cmd.push(b"REPLACE".to_vec());
        }
        Frame::command(cmd).encode(&mut out);
    }
    stream.write_all(&out).map_err(|_| RedisError::from("IOERR error or timeout writing to target instance"))?;
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    while replies.len() < preamble + items.len() {
        if let Ok(Some((frame, used))) = Frame::parse(&buf) {
            buf.drain(..used);
            if replies.len() < preamble {
                if let Frame::Error(e) = &frame {
                    return Err(format!("ERR Target instance replied with error: {}", String::from_utf8_lossy(e)).into());
                }
            }
            replies.push(frame);
            continue;
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err("IOERR error or timeout reading to target instance".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(replies.split_off(preamble))
}
