//! One connection: accept checks (maxclients, protected mode), then a loop
//! that reads, parses every complete request in the buffer, runs them in
//! order and hands all their replies to the connection's outbox, which the
//! worker writes at the end of its round (see `outbox`).
//!
//! Pushes from other connections (pub/sub messages, MONITOR lines) arrive
//! through the client's queue and go out between batches; a kill from
//! CLIENT KILL or the idle timeout ends the loop.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferrokv_resp::{encode, Protocol, RequestLimits, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;
use tracing::debug;

use crate::command::flags;
use crate::net::client::{kind, Client, ClientShared, Push};
use crate::net::outbox::{Closing, Outbox};
use crate::net::wire::Wire;
use crate::server::Server;
use ferrokv_tls::Io;

/// Above this many bytes of replies, a batch is flushed before it ends, so a
/// huge pipeline cannot grow the output buffer without bound.
const FLUSH_AT: usize = 1024 * 1024;

const MAX_CLIENTS_REPLY: &str = "-ERR max number of clients reached\r\n";
const PROTECTED_MODE: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// A connection on the client port or, with `tls`, on the TLS port.
pub fn accept_tcp(server: &Arc<Server>, stream: TcpStream, peer: SocketAddr, tls: bool) {
    server.stats.connections_received.fetch_add(1, Ordering::Relaxed);
    let (protected, keepalive) = {
        let c = server.config.read();
        (c.protected_mode && !server.acl.auth_required(), c.tcp_keepalive)
    };
    let local = peer.ip().is_loopback();
    if protected && !local {
        refuse(stream, PROTECTED_MODE);
        return;
    }
    if at_capacity(server) {
        refuse(stream, MAX_CLIENTS_REPLY);
        return;
    }
    let _ = stream.set_nodelay(true);
    if keepalive > 0 {
        let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive)).with_interval(Duration::from_secs((keepalive / 3).max(1)));
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
    }
    let server = server.clone();
    // Logged in as the default user was at accept, as Redis creates the
    // client then (the first bytes may come later).
    let login = crate::acl::Login::default_user(&server);
    tokio::spawn(async move {
        let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let fd = stream.as_raw_fd();
        let peer = Peer { addr: peer.to_string(), laddr, fd, unix: false, local };
        if tls {
            return accept_tls(&server, stream, peer, login).await;
        }
        if opens_with_http2(&stream).await {
            if let Some(grpc) = server.grpc.get() {
                let _ = grpc.send(Io::Plain(stream));
            }
            return;
        }
        spawn(&server, stream, peer, login);
    });
}

/// A connection on the TLS port: the handshake (a failure is logged with
/// the peer and costs only this connection), then gRPC for a replica that
/// negotiated `h2`, RESP for everyone else.
async fn accept_tls(server: &Arc<Server>, stream: TcpStream, peer: Peer, login: crate::acl::Login) {
    let Some(config) = server.tls.server() else { return };
    let stream = match ferrokv_tls::accept(&config, stream).await {
        Ok(s) => s,
        Err(why) => return tracing::warn!("Error accepting a client connection: {why} (addr={} laddr={})", peer.addr, peer.laddr),
    };
    if stream.get_ref().1.alpn_protocol() == Some(ferrokv_tls::ALPN_H2) {
        if let Some(grpc) = server.grpc.get() {
            let _ = grpc.send(Io::Server(Box::new(stream)));
        }
        return;
    }
    spawn(server, stream, peer, login);
}

/// Replica links (gRPC) share the client port: they open with the HTTP/2
/// preface, which no RESP request starts with. Only a first byte `P` (an
/// inline PING, say) needs more bytes to decide.
async fn opens_with_http2(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 4];
    for _ in 0..200 {
        match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) if buf[0] != b'P' => return n == 0,
            Ok(n) if n >= 4 => return buf == ferrokv_replication::grpc::PREFACE[..4],
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    false
}

pub fn accept_unix(server: &Arc<Server>, stream: UnixStream, path: &str) {
    server.stats.connections_received.fetch_add(1, Ordering::Relaxed);
    if at_capacity(server) {
        refuse(stream, MAX_CLIENTS_REPLY);
        return;
    }
    let fd = stream.as_raw_fd();
    let addr = format!("{path}:0");
    let peer = Peer { addr: addr.clone(), laddr: addr, fd, unix: true, local: true };
    spawn(server, stream, peer, crate::acl::Login::default_user(server));
}

fn at_capacity(server: &Server) -> bool {
    let max = server.config.read().maxclients as usize;
    if server.connected.load(Ordering::Relaxed) >= max {
        server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        return true;
    }
    false
}

fn refuse<S: AsyncWrite + Unpin + Send + 'static>(mut stream: S, msg: &'static str) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(msg.as_bytes())).await;
    });
}

/// Where a connection comes from.
struct Peer {
    addr: String,
    laddr: String,
    fd: i32,
    unix: bool,
    local: bool,
}

fn spawn<S>(server: &Arc<Server>, stream: S, peer: Peer, login: crate::acl::Login)
where
    S: Wire + Send + 'static,
{
    let Peer { addr, laddr, fd, unix, local } = peer;
    let (push_tx, push_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(ClientShared::new(server.next_client_id(), addr, laddr, fd, unix, push_tx));
    let outbox = Outbox::new(fd, server.clone(), shared.clone());
    server.connected.fetch_add(1, Ordering::Relaxed);
    server.clients.lock().insert(shared.id, shared.clone());
    let mut client = Client::new(shared, false, unix, local);
    login.apply(&mut client);
    let server = server.clone();
    tokio::spawn(async move {
        let id = client.id();
        let mut client = client;
        let mut stream = stream;
        {
            // Dropped before `stream`, so nothing is written to the
            // descriptor once it may belong to someone else.
            let _closing = Closing(&outbox);
            serve(&server, &mut client, &mut stream, push_rx, &outbox).await;
        }
        cleanup(&server, &mut client);
        debug!(id, "client closed");
    });
}

async fn serve<S>(server: &Server, client: &mut Client, stream: &mut S, mut pushes: mpsc::UnboundedReceiver<Push>, outbox: &Arc<Outbox>)
where
    S: Wire,
{
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut parser = RequestParser::new();
    let mut stop = server.shutdown_signal();
    loop {
        if client.shared.killed.load(Ordering::Acquire) {
            return;
        }
        let idle_limit = idle_limit(server, client);
        tokio::select! {
            biased;
            _ = client.shared.kill.notified() => return,
            _ = stop.changed() => return,
            Some(push) = pushes.recv() => {
                let mut stalled = false;
                for push in std::iter::once(push).chain(std::iter::from_fn(|| pushes.try_recv().ok())) {
                    stalled |= matches!(push, Push::Stalled);
                    encode_push(client, &push, &mut out);
                }
                // The round's write left bytes the socket would not take.
                if stalled && flush(server, outbox, stream, &mut out).await.is_err() {
                    return;
                }
            }
            read = stream.read_buf(&mut input) => {
                match read {
                    // What earlier requests were answered still goes out
                    // (Redis writes before it sees the end of input).
                    Ok(0) => {
                        let _ = flush(server, outbox, stream, &mut out).await;
                        return;
                    }
                    Err(_) => return,
                    Ok(n) => {
                        server.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        server.stats.reads_processed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if input.len() as i64 > server.hot.query_buffer_limit.load(Ordering::Relaxed) {
                    // Redis closes such a client without a reply, and logs it.
                    let head = crate::config::table::repr(&input[..input.len().min(64)]);
                    tracing::warn!(
                        "Closing client that reached max query buffer length: {} (qbuf initial bytes: {head})",
                        crate::admin::client::describe(&client.shared)
                    );
                    return;
                }
                client.now_ms = ferrokv_storage::now_ms();
                client.shared.last_interaction_ms.store(client.shared.created.elapsed().as_millis() as u64, Ordering::Relaxed);
                if !run_batch(server, client, &mut parser, &mut input, &mut out, stream, outbox).await {
                    let _ = flush(server, outbox, stream, &mut out).await;
                    return;
                }
                // Once per read: what is left in `input` is a request still
                // arriving, which counts too (Redis evicts clients with big
                // query buffers before their request completes).
                if publish_memory(server, client, &input, &out) {
                    return;
                }
            }
            _ = sleep_or_forever(idle_limit) => {
                if idle_limit.is_some() && client.shared.idle_secs() >= server.hot.timeout.load(Ordering::Relaxed) {
                    return;
                }
            }
        }
        if client.close_after_reply {
            let _ = flush(server, outbox, stream, &mut out).await;
            return;
        }
        match outbox.defer(&mut out, |replies, wire| stream.seal(replies, wire)) {
            Ok(true) => {}
            Ok(false) if flush(server, outbox, stream, &mut out).await.is_ok() => {}
            _ => return,
        }
    }
}

/// Publishes what the connection's buffers hold, then applies
/// `maxmemory-clients`; true if this client was the one evicted.
fn publish_memory(server: &Server, client: &Client, input: &BytesMut, out: &BytesMut) -> bool {
    let multi = client.multi.as_ref().map_or(0, |q| q.iter().flatten().map(|a| a.len() + std::mem::size_of::<bytes::Bytes>()).sum());
    let pushes = client.shared.pending_push.load(Ordering::Relaxed);
    client.shared.memory.publish(input, out.capacity(), multi, pushes, &server.clients_memory);
    crate::evict::evict_clients(server);
    client.shared.killed.load(Ordering::Acquire)
}

/// Subscribers and monitors are exempt from `timeout`, as in Redis.
fn idle_limit(server: &Server, client: &Client) -> Option<Duration> {
    let timeout = server.hot.timeout.load(Ordering::Relaxed);
    if timeout == 0 || client.subscriptions() > 0 || client.shared.has(kind::MONITOR) {
        return None;
    }
    let idle = client.shared.idle_secs();
    Some(Duration::from_secs(timeout.saturating_sub(idle).max(1)))
}

async fn sleep_or_forever(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Runs every complete request in `input`. Returns false when the
/// connection must close (protocol error, QUIT, kill).
async fn run_batch<S>(
    server: &Server,
    client: &mut Client,
    parser: &mut RequestParser,
    input: &mut BytesMut,
    out: &mut BytesMut,
    stream: &mut S,
    outbox: &Outbox,
) -> bool
where
    S: Wire,
{
    loop {
        let limits = RequestLimits { max_bulk_len: server.hot.limits.proto_max_bulk_len(), auth_required: !client.authenticated };
        let mut args = match parser.parse(input, &limits) {
            Ok(Some(args)) => args,
            Ok(None) => return true,
            Err(e) => {
                debug!(id = client.id(), "Protocol error ({e}) from client");
                server.stats.count_error("ERR");
                encode::error(out, format!("ERR {e}").as_bytes());
                return false;
            }
        };
        if server.pause.active.load(Ordering::Acquire) {
            wait_while_paused(server, client, &args, out, stream, outbox).await;
        }
        crate::dispatch::process(server, client, &mut args, out);
        if client.blocked.is_some() {
            client.shared.argv_mem.store(args.iter().map(|a| a.len()).sum(), Ordering::Relaxed);
        }
        parser.recycle(args);
        if let Some(blocked) = client.blocked.take() {
            let served = wait_blocked(server, client, blocked, input, out, stream, outbox).await;
            client.shared.argv_mem.store(0, Ordering::Relaxed);
            if !served {
                return false;
            }
        }
        if let Some(wait) = client.wait.take() {
            let _ = flush(server, outbox, stream, out).await;
            let acked = crate::replication::wait_acks(server, wait).await;
            encode::integer(out, acked as i64);
        }
        if let Some(req) = client.shutdown.take() {
            let _ = flush(server, outbox, stream, out).await;
            crate::shutdown::wait_for_replicas(server).await;
            if crate::shutdown::finish(server, req) {
                server.shutdown();
                return false;
            }
            crate::shutdown::resume(server);
            encode::error(out, b"ERR Errors trying to SHUTDOWN. Check logs.");
        }
        if client.sync {
            // SYNC/PSYNC: from here on this connection is a replica's link.
            if flush(server, outbox, stream, out).await.is_ok() {
                crate::replication::serve_replica(server, client, stream, std::mem::take(input)).await;
            }
            return false;
        }
        if std::mem::take(&mut client.load_aof) {
            let server = server.arc();
            match tokio::task::spawn_blocking(move || crate::persistence::aof::reload(&server)).await {
                Ok(Ok(())) => encode::ok(out),
                Ok(Err(e)) => encode::error(out, format!("ERR Error loading the append only file: {e}").as_bytes()),
                Err(_) => encode::error(out, b"ERR Error loading the append only file"),
            }
        }
        if client.close_after_reply || client.shared.killed.load(Ordering::Acquire) {
            return false;
        }
        if out.len() >= FLUSH_AT && flush(server, outbox, stream, out).await.is_err() {
            return false;
        }
    }
}

/// A blocked client: send what is answered, then wait for a server-side
/// serve, the timeout, or the end of the connection. Later pipelined
/// requests wait in the input buffer, as in Redis.
async fn wait_blocked<S: Wire>(
    server: &Server,
    client: &mut Client,
    blocked: crate::blocking::Blocked,
    input: &mut BytesMut,
    out: &mut BytesMut,
    stream: &mut S,
    outbox: &Outbox,
) -> bool {
    let crate::blocking::Blocked { waiter, mut rx, deadline } = blocked;
    client.shared.set_flag(kind::BLOCKED, true);
    let _ = flush(server, outbox, stream, out).await;
    let mut stop = server.shutdown_signal();
    let deadline_wait = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline_wait);
    let null = |proto| {
        let mut b = BytesMut::new();
        encode::null_array(&mut b, proto);
        b
    };
    let give_up = |client: &Client| {
        // Leaving: give the slot up so nothing is popped for us.
        if waiter.claim().is_some() {
            server.blocking.remove(&waiter);
        }
        client.shared.set_flag(kind::BLOCKED, false);
    };
    let served = loop {
        tokio::select! {
            served = &mut rx => break Some(served),
            _ = &mut deadline_wait => break None,
            _ = stop.changed() => break None,
            _ = client.shared.kill.notified() => {
                give_up(client);
                return false;
            }
            // The peer may close while blocked (then it must not be served),
            // or pipeline more requests, which wait in the input buffer.
            read = stream.read_buf(input) => match read {
                Ok(0) | Err(_) => {
                    give_up(client);
                    return false;
                }
                Ok(_) => continue,
            },
        }
    };
    client.shared.set_flag(kind::BLOCKED, false);
    let reply = match served {
        Some(Ok(bytes)) => bytes,
        // The slot was dropped unanswered: answer as a timeout.
        Some(Err(_)) => null(client.proto),
        None => match waiter.claim() {
            Some(_) => {
                server.blocking.remove(&waiter);
                null(client.proto)
            }
            // Served or unblocked while timing out: that reply is coming.
            None => rx.await.unwrap_or_else(|_| null(client.proto)),
        },
    };
    out.extend_from_slice(&reply);
    true
}

/// CLIENT PAUSE: hold the command (after sending what is already answered)
/// until the pause ends.
async fn wait_while_paused<S: Wire>(server: &Server, client: &Client, args: &[bytes::Bytes], out: &mut BytesMut, stream: &mut S, outbox: &Outbox) {
    let Ok(entry) = crate::dispatch::resolve(server, args) else {
        return;
    };
    let may_write = |e: &crate::command::Entry| e.spec.has(flags::WRITE) || e.spec.has(flags::MAY_REPLICATE);
    // EXEC counts as a write when what it runs may write, as in Redis.
    let is_write = may_write(entry)
        || (entry.spec.name == "exec"
            && client.multi.as_ref().is_some_and(|queued| queued.iter().any(|argv| crate::dispatch::resolve(server, argv).is_ok_and(may_write))));
    if client.shared.has(kind::REPLICA) {
        return;
    }
    while let Some(left) = server.pause.remaining(is_write) {
        let _ = flush(server, outbox, stream, out).await;
        tokio::select! {
            _ = server.pause.lifted.notified() => {}
            _ = tokio::time::sleep(left) => {}
        }
    }
}

/// Writes what is deferred and then the replies in `out`, waiting for the
/// socket.
async fn flush<S: Wire>(server: &Server, outbox: &Outbox, stream: &mut S, out: &mut BytesMut) -> std::io::Result<()> {
    outbox.take_sealed(out, |replies, wire| stream.seal(replies, wire))?;
    if out.is_empty() {
        return Ok(());
    }
    // Counted while the socket makes it wait (CLIENT LIST `omem`).
    outbox.client.unsent.store(out.len(), Ordering::Relaxed);
    let written = stream.socket().write_all(out).await;
    outbox.client.unsent.store(0, Ordering::Relaxed);
    written?;
    server.stats.wrote(out.len());
    out.clear();
    Ok(())
}

pub fn encode_push(client: &Client, push: &Push, out: &mut BytesMut) {
    client.shared.pending_push.fetch_sub(push.size().min(client.shared.pending_push.load(Ordering::Relaxed)), Ordering::Relaxed);
    write_push(client.proto, push, out);
}

pub fn write_push(proto: Protocol, push: &Push, out: &mut BytesMut) {
    match push {
        Push::Message { channel, payload } => {
            encode::push_len(out, 3, proto);
            encode::bulk(out, b"message");
            encode::bulk(out, channel);
            encode::bulk(out, payload);
        }
        Push::SMessage { channel, payload } => {
            encode::push_len(out, 3, proto);
            encode::bulk(out, b"smessage");
            encode::bulk(out, channel);
            encode::bulk(out, payload);
        }
        Push::PMessage { pattern, channel, payload } => {
            encode::push_len(out, 4, proto);
            encode::bulk(out, b"pmessage");
            encode::bulk(out, pattern);
            encode::bulk(out, channel);
            encode::bulk(out, payload);
        }
        Push::Monitor(line) => encode::simple(out, line),
        Push::Raw(bytes) => out.extend_from_slice(bytes),
        // Handled by the connection loop (see `serve`); nothing to encode.
        Push::Stalled => {}
    }
}

/// Undoes everything a client registered elsewhere.
fn cleanup(server: &Server, client: &mut Client) {
    server.tracking.disable(server, &client.shared);
    use crate::pubsub::Kind;
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let id = client.id();
        for name in client.subs_mut(kind).keys() {
            server.pubsub.unsubscribe(kind, name, id);
        }
    }
    crate::admin::multi::unwatch_all(client);
    if let Some(w) = server.blocking.waiter_of(client.id()) {
        w.claim();
        server.blocking.remove(&w);
    }
    if server.monitors.lock().remove(&client.id()).is_some() {
        server.monitor_count.fetch_sub(1, Ordering::Relaxed);
    }
    server.clients.lock().remove(&client.id());
    client.shared.memory.release(&server.clients_memory);
    server.connected.fetch_sub(1, Ordering::Relaxed);
}
