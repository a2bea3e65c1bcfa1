//! Redis's protocol, primary side, on a client connection: a real Redis
//! replica, `redis-cli --rdb` and `redis-cli --replica` follow this node.
//!
//! ```text
//! REPLCONF listening-port / ip-address / capa / rdb-only / rdb-filter-only
//! PSYNC <replid> <offset+1> ─┬─ +CONTINUE [<replid>]  → the log
//! (or SYNC: no +FULLRESYNC)  └─ +FULLRESYNC <replid> <offset>
//!                                → $<size> RDB, or $EOF:<mark> RDB <mark>
//!                                → the log (nothing after rdb-only)
//! ← REPLCONF ACK <offset> [FACK <offset>] from the replica
//! ```
//! The session behind it is the one a gRPC replica gets ([`Session`]); this
//! module only writes its [`Event`]s in Redis's words and reads the acks.
//! The log's bytes are Redis's command stream already, PINGs and GETACKs
//! included, so offsets agree with every other replica.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{RequestLimits, RequestParser};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::primary::{Filter, Session, SessionError};
use crate::{Event, Hello, Host, Replication};

/// What a replica asked for on its connection: REPLCONF's options, then
/// SYNC or PSYNC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// PSYNC's replication ID and offset (the first byte wanted, counted
    /// from 1 as Redis does; None if not a number); None for SYNC.
    pub psync: Option<(String, Option<i64>)>,
    pub listening_port: i64,
    pub ip_address: String,
    /// `capa eof`: reads a snapshot streamed with an end mark.
    pub capa_eof: bool,
    /// `capa psync2`: understands `+CONTINUE <new replid>`.
    pub capa_psync2: bool,
    pub rdb_only: bool,
    pub filter: Option<Filter>,
}

/// Longest `REPLCONF ip-address` (Redis's NET_HOST_STR_LEN).
const MAX_IP_LEN: usize = 256;

impl Request {
    /// One REPLCONF option that configures the link (ACK and GETACK are
    /// the node's: they need its state). Errors in Redis's words.
    pub fn set(&mut self, option: &[u8], value: &[u8]) -> Result<(), String> {
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let int = || text(value).parse::<i64>().map_err(|_| "ERR value is not an integer or out of range".to_string());
        match option.to_ascii_lowercase().as_slice() {
            b"listening-port" => self.listening_port = int()?,
            b"ip-address" => {
                if value.len() >= MAX_IP_LEN {
                    return Err(format!("ERR REPLCONF ip-address provided by replica instance is too long: {} bytes", value.len()));
                }
                self.ip_address = text(value);
            }
            b"capa" => {
                if value.eq_ignore_ascii_case(b"eof") {
                    self.capa_eof = true;
                } else if value.eq_ignore_ascii_case(b"psync2") {
                    self.capa_psync2 = true;
                }
            }
            b"rdb-only" => match int()? {
                n @ 0..=1 => self.rdb_only = n == 1,
                _ => return Err("ERR value is out of range, value must between 0 and 1".into()),
            },
            b"rdb-filter-only" => self.filter = Some(parse_filter(value)?),
            // A ferrokv replica asking whether this primary speaks gRPC.
            b"ferrokv-transport" => {}
            _ => return Err(format!("ERR Unrecognized REPLCONF option: {}", text(option))),
        }
        Ok(())
    }

    /// The error SYNC/PSYNC give before anything starts, if any.
    pub fn refusal(&self) -> Option<&'static str> {
        (self.filter.is_some() && !self.capa_eof).then_some("ERR Filtered replica requires EOF capability")
    }

    fn hello(&self) -> Hello {
        let (replid, offset) = match &self.psync {
            // Redis counts the first byte wanted from 1; a ferrokv offset is
            // the bytes already held.
            Some((replid, Some(next))) if *next >= 1 => (replid.clone(), *next as u64 - 1),
            _ => (String::new(), 0),
        };
        Hello { replid, offset, announce_ip: self.ip_address.clone(), listening_port: self.listening_port as u16, ..Hello::default() }
    }
}

/// `rdb-filter-only "<filter> ..."`: the only filter Redis 7.0 knows is
/// `functions`; an empty list keeps nothing but the header.
fn parse_filter(value: &[u8]) -> Result<Filter, String> {
    let words = ferrokv_resp::split_args(value).ok_or("ERR Missing rdb-filter-only values")?;
    let mut filter = Filter { functions: false };
    for w in words {
        if w.eq_ignore_ascii_case(b"functions") {
            filter.functions = true;
        } else {
            return Err(format!("ERR Unsupported rdb-filter-only option: {}", String::from_utf8_lossy(&w)));
        }
    }
    Ok(filter)
}

/// How events are written for one replica.
struct Wire {
    /// SYNC rather than PSYNC: no `+FULLRESYNC` line.
    pre_psync: bool,
    capa_psync2: bool,
    /// The end mark of a streamed snapshot being sent.
    eof_mark: Option<String>,
    /// A streamed snapshot was sent: nothing more until the replica acks.
    /// It finds the end of the snapshot by the mark being the last bytes
    /// it read, so the log must not follow in the same read (Redis waits
    /// for the first REPLCONF ACK too).
    awaiting_ack: bool,
    /// `rdb-only`: the snapshot ends the link, no log follows.
    rdb_only: bool,
}

impl Wire {
    fn encode(&mut self, event: Event, out: &mut BytesMut) {
        match event {
            Event::FullSync { replid, offset, size } => {
                if !self.pre_psync {
                    out.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
                }
                if size > 0 {
                    out.extend_from_slice(format!("${size}\r\n").as_bytes());
                } else {
                    let mark = ferrokv_util::random_hex_id();
                    out.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
                    self.eof_mark = Some(mark);
                }
            }
            Event::SnapshotChunk(data) => out.extend_from_slice(&data),
            Event::SnapshotEnd => {
                if let Some(mark) = self.eof_mark.take() {
                    out.extend_from_slice(mark.as_bytes());
                    self.awaiting_ack = !self.rdb_only;
                }
            }
            Event::Continue { replid } if self.capa_psync2 => out.extend_from_slice(format!("+CONTINUE {replid}\r\n").as_bytes()),
            Event::Continue { .. } => out.extend_from_slice(b"+CONTINUE\r\n"),
            Event::Log { data, .. } => out.extend_from_slice(&data),
            // A session never makes one; the keepalive newlines are the
            // serving loop's, before anything else is sent.
            Event::Alive => {}
        }
    }
}

/// Aborts the session's task when the connection's side ends first.
struct Abort(tokio::task::JoinHandle<Result<(), SessionError>>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves a replica on its connection until either side ends. `input`
/// holds what the replica sent after SYNC/PSYNC.
pub async fn serve<S>(
    repl: &Arc<Replication>,
    host: Arc<dyn Host>,
    stream: &mut S,
    mut input: BytesMut,
    req: Request,
    peer_ip: String,
) -> Result<(), SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session::register(repl, req.hello(), peer_ip);
    session.can_stream = req.capa_eof;
    session.rdb_only = req.rdb_only;
    session.filter = req.filter;
    let info = session.info.clone();
    let timeout = Duration::from_secs(host.repl_timeout().max(1));
    let (tx, mut events) = mpsc::channel(16);
    let task = Abort(tokio::spawn(session.run(host, tx)));
    let mut wire = Wire { pre_psync: req.psync.is_none(), capa_psync2: req.capa_psync2, eof_mark: None, awaiting_ack: false, rdb_only: req.rdb_only };
    let mut parser = RequestParser::new();
    let limits = RequestLimits { max_bulk_len: 1 << 20, auth_required: false };
    let mut out = BytesMut::with_capacity(64 * 1024);
    // Once a second: until the sync starts a newline keeps the replica from
    // timing out (Redis's replicas read it as a ping); once it streams, a
    // replica silent for `repl-timeout` is dropped, as Redis drops it.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), Duration::from_secs(1));
    let mut started = false;
    loop {
        tokio::select! {
            event = events.recv(), if !wire.awaiting_ack => match event {
                Some(event) => {
                    started = true;
                    wire.encode(event, &mut out);
                    // Whatever else is ready goes in the same write.
                    while out.len() < 256 * 1024 && !wire.awaiting_ack {
                        match events.try_recv() {
                            Ok(e) => wire.encode(e, &mut out),
                            Err(_) => break,
                        }
                    }
                    stream.write_all(&out).await.map_err(|_| SessionError::Closed)?;
                    out.clear();
                }
                None => {
                    // The session ended (rdb-only done, cut, history changed).
                    let _ = stream.flush().await;
                    let mut task = task;
                    return (&mut task.0).await.unwrap_or(Err(SessionError::Closed));
                }
            },
            read = stream.read_buf(&mut input) => {
                if matches!(read, Ok(0) | Err(_)) {
                    return Err(SessionError::Closed);
                }
                info.touch();
                while let Some(args) = parser.parse(&mut input, &limits).map_err(|_| SessionError::Closed)? {
                    if let Some(offset) = ack_of(&args) {
                        info.ack(repl, offset);
                        wire.awaiting_ack = false;
                    }
                }
            }
            _ = tick.tick() => {
                if !started {
                    stream.write_all(b"\n").await.map_err(|_| SessionError::Closed)?;
                } else if info.state() == crate::ReplicaState::Online && info.lag_secs() > timeout.as_secs() {
                    tracing::warn!("Disconnecting timedout replica (streaming sync): {}:{}", info.ip, info.port);
                    return Err(SessionError::Closed);
                }
            }
        }
    }
}

/// `REPLCONF ACK <offset> [FACK <offset>]`.
fn ack_of(args: &[Bytes]) -> Option<u64> {
    if args.len() < 3 || !args[0].eq_ignore_ascii_case(b"replconf") || !args[1].eq_ignore_ascii_case(b"ack") {
        return None;
    }
    std::str::from_utf8(&args[2]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replconf_options_as_redis_reads_them() {
        let mut r = Request::default();
        r.set(b"listening-port", b"6380").unwrap();
        r.set(b"CAPA", b"eof").unwrap();
        r.set(b"capa", b"psync2").unwrap();
        r.set(b"capa", b"whatever").unwrap();
        assert_eq!((r.listening_port, r.capa_eof, r.capa_psync2), (6380, true, true));
        assert_eq!(r.set(b"rdb-only", b"2").unwrap_err(), "ERR value is out of range, value must between 0 and 1");
        assert_eq!(r.set(b"listening-port", b"x").unwrap_err(), "ERR value is not an integer or out of range");
        assert_eq!(r.set(b"rdb-filter-only", b"a b").unwrap_err(), "ERR Unsupported rdb-filter-only option: a");
        assert_eq!(r.set(b"rdb-filter-only", b"\"a").unwrap_err(), "ERR Missing rdb-filter-only values");
        assert_eq!(r.set(b"foo", b"x").unwrap_err(), "ERR Unrecognized REPLCONF option: foo");
        r.set(b"rdb-filter-only", b"").unwrap();
        assert_eq!(r.filter, Some(Filter { functions: false }));
        r.set(b"rdb-filter-only", b"functions").unwrap();
        assert_eq!(r.filter, Some(Filter { functions: true }));
    }

    #[test]
    fn psync_offsets_count_from_one() {
        let r = Request { psync: Some(("abc".into(), Some(101))), ..Request::default() };
        assert_eq!((r.hello().replid.as_str(), r.hello().offset), ("abc", 100));
        let r = Request { psync: Some(("?".into(), Some(-1))), ..Request::default() };
        assert_eq!(r.hello().replid, "");
    }

    #[test]
    fn events_in_redis_words() {
        let mut w = Wire { pre_psync: false, capa_psync2: true, eof_mark: None, awaiting_ack: false, rdb_only: false };
        let mut out = BytesMut::new();
        w.encode(Event::FullSync { replid: "r".into(), offset: 7, size: 3 }, &mut out);
        w.encode(Event::SnapshotChunk(Bytes::from_static(b"abc")), &mut out);
        w.encode(Event::SnapshotEnd, &mut out);
        assert_eq!(&out[..], b"+FULLRESYNC r 7\r\n$3\r\nabc");
        out.clear();
        w.encode(Event::FullSync { replid: "r".into(), offset: 7, size: 0 }, &mut out);
        w.encode(Event::SnapshotEnd, &mut out);
        let text = String::from_utf8(out.to_vec()).unwrap();
        let mark = text.strip_prefix("+FULLRESYNC r 7\r\n$EOF:").unwrap();
        assert_eq!(&mark[..40], &mark[42..], "the mark opens and closes the payload");
        assert!(w.awaiting_ack, "after a streamed snapshot the log waits for an ack");
        let mut sync = Wire { pre_psync: true, capa_psync2: false, eof_mark: None, awaiting_ack: false, rdb_only: false };
        out.clear();
        sync.encode(Event::FullSync { replid: "r".into(), offset: 7, size: 3 }, &mut out);
        sync.encode(Event::Continue { replid: "r".into() }, &mut out);
        assert_eq!(&out[..], b"$3\r\n+CONTINUE\r\n");
    }

    #[test]
    fn acks() {
        let args = |a: &[&str]| a.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect::<Vec<_>>();
        assert_eq!(ack_of(&args(&["REPLCONF", "ACK", "42", "FACK", "40"])), Some(42));
        assert_eq!(ack_of(&args(&["REPLCONF", "GETACK", "*"])), None);
        assert_eq!(ack_of(&args(&["PING"])), None);
    }
}
