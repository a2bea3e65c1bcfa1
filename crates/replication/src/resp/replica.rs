//! Redis's protocol, replica side: this node follows a primary that speaks
//! Redis's own protocol (a real Redis, for a migration).
//!
//! ```text
//! PING → AUTH (masterauth) → REPLCONF ferrokv-transport ─ a ferrokv primary: gRPC instead
//!   → REPLCONF listening-port / ip-address / capa eof capa psync2
//!   → PSYNC <replid> <offset+1> (or ? -1) ─┬─ +CONTINUE [<replid>] → the log
//!                                          └─ +FULLRESYNC <replid> <offset>
//!                                             → $<size> or $EOF:<mark> RDB → the log
//! → REPLCONF ACK <offset> (the link's acks)
//! ```
//! What arrives becomes the engine's [`Event`]s, so loading, applying,
//! acking, partial resyncs and promotion are the same code as for a gRPC
//! link ([`crate::replica`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use ferrokv_resp::encode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// The halves of the link to a Redis primary (plain or TLS).
type OwnedReadHalf = tokio::io::ReadHalf<ferrokv_tls::Io>;
type OwnedWriteHalf = tokio::io::WriteHalf<ferrokv_tls::Io>;
use tokio::sync::mpsc;

use crate::replica::{Connect, Stream};
use crate::{Event, Hello};

/// Bounds each step of the handshake (Redis's `repl-syncio-timeout`).
const SYNCIO_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes per event while the snapshot or the log arrives.
const CHUNK: usize = 256 * 1024;
/// Redis's end mark (and replication ID) length.
const MARK_LEN: usize = 40;

/// How a replica reaches its primary, whichever protocol it speaks: a
/// ferrokv primary (it accepts REPLCONF ferrokv-transport) is followed over gRPC, anything else
/// over Redis's protocol.
/// `tls` gives the TLS client configuration when links must use TLS
/// (`tls-replication`), read at each attempt so a new certificate applies.
pub fn connector(tls: TlsSource) -> Connect {
    Arc::new(move |host, port, hello| Box::pin(open(host, port, hello, tls())))
}

/// The TLS configuration of outgoing links, if they use TLS.
pub type TlsSource = Arc<dyn Fn() -> Option<Arc<rustls::ClientConfig>> + Send + Sync>;

async fn open(host: String, port: u16, hello: Hello, tls: Option<Arc<rustls::ClientConfig>>) -> Result<Stream, String> {
    let addr = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let stream = tokio::time::timeout(SYNCIO_TIMEOUT, ferrokv_tls::connect(&addr, tls.as_ref(), false))
        .await
        .map_err(|_| "Timeout connecting to the MASTER...".to_string())?
        .map_err(|e| format!("Error condition on socket for SYNC: {}", strerror(&e)))?;
    let mut link = Link { stream, buf: BytesMut::with_capacity(CHUNK) };
    link.authenticate(&hello).await?;
    if link.is_ferrokv().await? {
        drop(link);
        return crate::grpc::open(host, port, hello, tls).await;
    }
    let start = link.psync(&hello).await?;
    tracing::debug!("following {addr} over Redis's replication protocol");
    let (read, write) = tokio::io::split(link.stream);
    let (ev_tx, ev_rx) = mpsc::channel(16);
    let (ack_tx, ack_rx) = mpsc::channel(16);
    tokio::spawn(read_events(read, link.buf, start, ev_tx));
    tokio::spawn(write_acks(write, ack_rx));
    Ok(Stream { events: ev_rx, acks: ack_tx })
}

use ferrokv_util::strerror;

/// The handshake's connection and what was read past the last reply.
struct Link {
    stream: ferrokv_tls::Io,
    buf: BytesMut,
}

/// Where the stream starts, as PSYNC's reply said.
#[derive(Debug)]
enum Start {
    Full { replid: String, offset: u64 },
    Continue { replid: String, offset: u64 },
}

impl Link {
    async fn read_more(&mut self) -> Result<(), String> {
        let n = tokio::time::timeout(SYNCIO_TIMEOUT, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| "Timeout receiving a reply from the MASTER".to_string())?
            .map_err(|e| format!("Error reading from MASTER: {}", strerror(&e)))?;
        if n == 0 {
            return Err("Connection with master lost.".into());
        }
        Ok(())
    }

    /// The next reply line; the newlines a primary sends to keep the link
    /// alive are skipped.
    async fn line(&mut self) -> Result<String, String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(i + 1);
                return Ok(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > 64 * 1024 {
                return Err("Protocol error: the master's reply line is too long".into());
            }
            self.read_more().await?;
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> Result<String, String> {
        let mut out = BytesMut::new();
        encode::command(&mut out, args);
        self.stream.write_all(&out).await.map_err(|e| format!("Error writing to MASTER: {}", strerror(&e)))?;
        self.line().await
    }

    /// PING, then AUTH with `masteruser`/`masterauth` if set, as Redis's
    /// replica starts.
    async fn authenticate(&mut self, hello: &Hello) -> Result<(), String> {
        let pong = self.command(&[b"PING"]).await?;
        // A primary that wants AUTH first answers NOAUTH: that is fine here.
        if pong.starts_with('-') && !pong.starts_with("-NOAUTH") && !pong.starts_with("-NOPERM") && !pong.starts_with("-ERR operation not permitted") {
            return Err(format!("Error reply to PING from master: '{pong}'"));
        }
        tracing::info!("Master replied to PING, replication can continue...");
        if hello.password.is_empty() {
            return Ok(());
        }
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if !hello.username.is_empty() {
            args.push(hello.username.as_bytes());
        }
        args.push(hello.password.as_bytes());
        match self.command(&args).await? {
            ok if ok == "+OK" => Ok(()),
            err => Err(format!("Unable to AUTH to MASTER: {err}")),
        }
    }

    /// Whether the primary is a ferrokv node (it knows REPLCONF ferrokv-transport).
    async fn is_ferrokv(&mut self) -> Result<bool, String> {
        // A REPLCONF option only ferrokv knows: a replication user needs no
        // more than Redis's replicas need (PSYNC, REPLCONF, PING), where
        // INFO would need +info.
        let reply = self.command(&[b"REPLCONF", b"ferrokv-transport", b"grpc"]).await?;
        if reply.starts_with('+') {
            return Ok(true);
        }
        if reply.starts_with("-ERR Unrecognized REPLCONF option") {
            return Ok(false);
        }
        Err(format!("Error reply to REPLCONF from master: '{reply}'"))
    }

    /// REPLCONF, then PSYNC with the history this node holds.
    async fn psync(&mut self, hello: &Hello) -> Result<Start, String> {
        let port = hello.listening_port.to_string();
        let mut confs: Vec<Vec<&[u8]>> = vec![vec![b"REPLCONF", b"listening-port", port.as_bytes()]];
        if !hello.announce_ip.is_empty() {
            confs.push(vec![b"REPLCONF", b"ip-address", hello.announce_ip.as_bytes()]);
        }
        confs.push(vec![b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
        for conf in confs {
            let reply = self.command(&conf).await?;
            if reply.starts_with('-') {
                tracing::info!("(Non critical) Master does not understand REPLCONF {}: {reply}", String::from_utf8_lossy(conf[1]));
            }
        }
        let (replid, next) = if hello.offset == 0 { ("?".to_string(), "-1".to_string()) } else { (hello.replid.clone(), (hello.offset + 1).to_string()) };
        if replid != "?" {
            tracing::info!("Trying a partial resynchronization (request {replid}:{next}).");
        }
        let mut psync: Vec<&[u8]> = vec![b"PSYNC", replid.as_bytes(), next.as_bytes()];
        if hello.failover {
            psync.push(b"FAILOVER");
        }
        let reply = self.command(&psync).await?;
        parse_psync_reply(&reply, hello)
    }
}

fn parse_psync_reply(reply: &str, hello: &Hello) -> Result<Start, String> {
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut words = rest.split(' ');
        let (Some(replid), Some(offset)) = (words.next(), words.next().and_then(|o| o.parse().ok())) else {
            return Err(format!("Master replied with wrong +FULLRESYNC syntax: {reply}"));
        };
        tracing::info!("Full resync from master: {replid}:{offset}");
        return Ok(Start::Full { replid: replid.to_string(), offset });
    }
    if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let replid = rest.trim();
        let replid = if replid.len() == MARK_LEN { replid.to_string() } else { hello.replid.clone() };
        return Ok(Start::Continue { replid, offset: hello.offset });
    }
    if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        return Err(format!("Master is currently unable to PSYNC but should be in the future: {reply}"));
    }
    Err(format!("Unexpected reply to PSYNC from master: {reply}"))
}

/// Turns what the primary sends into events: the snapshot (if any), then
/// the log with its offsets. Ends when the link or the follower does.
async fn read_events(mut read: OwnedReadHalf, mut buf: BytesMut, start: Start, events: mpsc::Sender<Result<Event, String>>) {
    let result = async {
        let offset = match start {
            Start::Continue { replid, offset } => {
                send(&events, Event::Continue { replid }).await?;
                offset
            }
            Start::Full { replid, offset } => {
                read_snapshot(&mut read, &mut buf, &events, replid, offset).await?;
                offset
            }
        };
        read_log(&mut read, buf, &events, offset).await
    }
    .await;
    if let Err(Some(e)) = result {
        let _ = events.send(Err(e)).await;
    }
}

/// Err(None): the follower went away; Err(Some): the link failed.
type Ended = Option<String>;

async fn send(events: &mpsc::Sender<Result<Event, String>>, e: Event) -> Result<(), Ended> {
    events.send(Ok(e)).await.map_err(|_| None)
}

async fn fill(read: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<(), Ended> {
    match read.read_buf(buf).await {
        Ok(0) => Err(Some("Connection with master lost.".into())),
        Ok(_) => Ok(()),
        Err(e) => Err(Some(format!("I/O error trying to sync with MASTER: {}", strerror(&e)))),
    }
}

/// `$<size>` then that many bytes, or `$EOF:<mark>` then bytes up to the
/// mark (the primary sends nothing after it until we ack).
async fn read_snapshot(
    read: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    events: &mpsc::Sender<Result<Event, String>>,
    replid: String,
    offset: u64,
) -> Result<(), Ended> {
    let header = loop {
        while buf.first() == Some(&b'\n') {
            buf.advance(1);
            send(events, Event::Alive).await?;
        }
        if let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line = buf.split_to(i + 1);
            break String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
        }
        fill(read, buf).await?;
    };
    if let Some(mark) = header.strip_prefix("$EOF:").filter(|m| m.len() == MARK_LEN) {
        send(events, Event::FullSync { replid, offset, size: 0 }).await?;
        let mark = mark.as_bytes().to_vec();
        loop {
            if buf.len() >= MARK_LEN && buf.ends_with(&mark) {
                buf.truncate(buf.len() - MARK_LEN);
                if !buf.is_empty() {
                    send(events, Event::SnapshotChunk(buf.split().freeze())).await?;
                }
                return send(events, Event::SnapshotEnd).await;
            }
            // Keep the last bytes back: they may be the start of the mark.
            if buf.len() > CHUNK {
                let keep = buf.len() - MARK_LEN;
                send(events, Event::SnapshotChunk(buf.split_to(keep).freeze())).await?;
            }
            fill(read, buf).await?;
        }
    }
    let Some(size) = header.strip_prefix('$').and_then(|n| n.parse::<u64>().ok()) else {
        return Err(Some(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?")));
    };
    send(events, Event::FullSync { replid, offset, size }).await?;
    let mut left = size;
    while left > 0 {
        if buf.is_empty() {
            fill(read, buf).await?;
        }
        let n = (buf.len() as u64).min(left).min(CHUNK as u64) as usize;
        send(events, Event::SnapshotChunk(buf.split_to(n).freeze())).await?;
        left -= n as u64;
    }
    send(events, Event::SnapshotEnd).await
}

/// The command stream, as it comes, with the offset of its first byte.
async fn read_log(read: &mut OwnedReadHalf, mut buf: BytesMut, events: &mpsc::Sender<Result<Event, String>>, mut offset: u64) -> Result<(), Ended> {
    loop {
        if !buf.is_empty() {
            let data: Bytes = buf.split().freeze();
            let len = data.len() as u64;
            send(events, Event::Log { offset, data }).await?;
            offset += len;
        }
        buf.reserve(CHUNK);
        fill(read, &mut buf).await?;
    }
}

/// `REPLCONF ACK <offset>` for each ack the link makes.
async fn write_acks(mut write: OwnedWriteHalf, mut acks: mpsc::Receiver<u64>) {
    let mut out = BytesMut::new();
    while let Some(offset) = acks.recv().await {
        let offset = offset.to_string();
        encode::command(&mut out, &[&b"REPLCONF"[..], b"ACK", offset.as_bytes()]);
        if write.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psync_replies() {
        let hello = Hello { replid: "a".repeat(40), offset: 10, ..Hello::default() };
        let b = "b".repeat(40);
        assert!(matches!(parse_psync_reply(&format!("+FULLRESYNC {b} 77"), &hello), Ok(Start::Full { offset: 77, .. })));
        match parse_psync_reply(&format!("+CONTINUE {b}"), &hello) {
            Ok(Start::Continue { replid, offset: 10 }) => assert_eq!(replid, b),
            _ => panic!("+CONTINUE with a new ID"),
        }
        match parse_psync_reply("+CONTINUE", &hello) {
            Ok(Start::Continue { replid, .. }) => assert_eq!(replid, hello.replid),
            _ => panic!("+CONTINUE alone keeps the ID"),
        }
        assert!(parse_psync_reply("-LOADING Redis is loading", &hello).unwrap_err().contains("should be in the future"));
        assert!(parse_psync_reply("+FULLRESYNC x", &hello).is_err());
        assert!(parse_psync_reply("-ERR nope", &hello).unwrap_err().starts_with("Unexpected reply to PSYNC"));
    }
}
