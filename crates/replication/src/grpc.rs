//! The gRPC transport (proto/ferrokv/replication/v1/replication.proto):
//! maps [`Event`]s and acks onto the `Sync` stream, and nothing else. The
//! node hands it TCP connections that opened with the HTTP/2 preface, so
//! replication shares the client port.

use std::sync::Arc;
use std::time::Duration;

use ferrokv_tls::Io;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::primary::{Session, SessionError};
use crate::replica::Stream;
use crate::{Event, Hello, Host, Replication};

#[allow(clippy::all)]
pub mod pb {
    tonic::include_proto!("ferrokv.replication.v1");
}

use pb::primary_message::Msg as PMsg;
use pb::replica_message::Msg as RMsg;
use pb::replication_client::ReplicationClient;
use pb::replication_server::{Replication as ReplicationRpc, ReplicationServer};

/// The first bytes of every HTTP/2 connection (RFC 9113 §3.4); RESP never
/// starts this way, so a node tells the two protocols apart on one port.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

struct Service {
    repl: Arc<Replication>,
    host: Arc<dyn Host>,
}

#[tonic::async_trait]
impl ReplicationRpc for Service {
    type SyncStream = ReceiverStream<Result<pb::PrimaryMessage, Status>>;

    async fn sync(&self, request: Request<Streaming<pb::ReplicaMessage>>) -> Result<Response<Self::SyncStream>, Status> {
        let peer_ip = request.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        let mut inbound = request.into_inner();
        let hello = match inbound.message().await? {
            Some(pb::ReplicaMessage { msg: Some(RMsg::Hello(h)) }) => from_pb_hello(h),
            _ => return Err(Status::invalid_argument("a replica link must open with Hello")),
        };
        if hello.failover {
            if !self.host.authorized(&hello.username, &hello.password) {
                return Err(Status::unauthenticated(SessionError::Unauthorized.to_string()));
            }
            self.host.take_over(&hello.replid, &format!("the gRPC replica link from {peer_ip}")).map_err(Status::failed_precondition)?;
        }
        let session = Session::open(&self.repl, &*self.host, hello, peer_ip).map_err(|e| match e {
            SessionError::Unauthorized => Status::unauthenticated(e.to_string()),
            e => Status::internal(e.to_string()),
        })?;
        let (out_tx, out_rx) = mpsc::channel(16);
        let (event_tx, mut event_rx) = mpsc::channel::<Event>(16);
        let info = session.info.clone();
        let repl = self.repl.clone();
        // Acks from the replica.
        tokio::spawn(async move {
            while let Ok(Some(m)) = inbound.message().await {
                if let Some(RMsg::Ack(a)) = m.msg {
                    info.ack(&repl, a.offset);
                }
            }
        });
        let host = self.host.clone();
        let (end_tx, mut end_rx) = mpsc::channel::<Status>(1);
        tokio::spawn(async move {
            if let Err(e) = session.run(host, event_tx).await {
                let status = match e {
                    SessionError::Closed => return,
                    e => Status::aborted(e.to_string()),
                };
                tracing::info!("Replica session ended: {}", status.message());
                let _ = end_tx.send(status).await;
            }
        });
        tokio::spawn(async move {
            loop {
                let item = tokio::select! {
                    e = event_rx.recv() => match e {
                        Some(e) => match to_pb(e) {
                            Some(m) => Ok(m),
                            None => continue,
                        },
                        None => match end_rx.recv().await {
                            Some(status) => Err(status),
                            None => return,
                        },
                    },
                };
                let last = item.is_err();
                if out_tx.send(item).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(out_rx)))
    }
}

/// Starts the gRPC server; connections sent to the returned channel are
/// served by it.
pub fn serve(repl: Arc<Replication>, host: Arc<dyn Host>) -> mpsc::UnboundedSender<Io> {
    let (tx, rx) = mpsc::unbounded_channel::<Io>();
    let incoming = UnboundedReceiverStream::new(rx).map(Ok::<_, std::io::Error>);
    let service = ReplicationServer::new(Service { repl, host }).max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20);
    tokio::spawn(async move {
        let result = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(10)))
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
        if let Err(e) = result {
            tracing::warn!("replication server stopped: {e}");
        }
    });
    tx
}

/// The replica's side: opens `Sync` on the primary's client port (after
/// `resp::replica` found a ferrokv node there).
pub(crate) async fn open(host: String, port: u16, hello: Hello, tls: Option<Arc<rustls::ClientConfig>>) -> Result<Stream, String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}:{port}", bracket(&host)))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10));
    let addr = format!("{}:{port}", bracket(&host));
    // Our own connector, so the same TLS settings as the RESP link apply
    // (chain checked against the CA, not the host name, as Redis).
    let connector = tower::service_fn(move |_: tonic::transport::Uri| {
        let (addr, tls) = (addr.clone(), tls.clone());
        async move { ferrokv_tls::connect(&addr, tls.as_ref(), true).await.map(hyper_util::rt::TokioIo::new) }
    });
    let channel = endpoint.connect_with_connector(connector).await.map_err(|e| format!("Error condition on socket for SYNC: {}", root_cause(&e)))?;
    let mut client = ReplicationClient::new(channel).max_decoding_message_size(64 << 20);
    let (ack_tx, ack_rx) = mpsc::channel::<u64>(16);
    let first = pb::ReplicaMessage { msg: Some(RMsg::Hello(to_pb_hello(hello))) };
    let acks = ReceiverStream::new(ack_rx).map(|offset| pb::ReplicaMessage { msg: Some(RMsg::Ack(pb::Ack { offset })) });
    let outbound = tokio_stream::once(first).chain(acks);
    let response = client.sync(outbound).await.map_err(refused)?;
    let mut inbound = response.into_inner();
    let (ev_tx, ev_rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let item = match inbound.message().await {
                Ok(Some(m)) => match from_pb(m) {
                    Some(e) => Ok(e),
                    None => Err("unknown message from the primary".to_string()),
                },
                Ok(None) => return,
                Err(s) => {
                    tracing::debug!("replication stream ended: {s}");
                    Err("Connection with master lost.".to_string())
                }
            };
            let last = item.is_err();
            if ev_tx.send(item).await.is_err() || last {
                return;
            }
        }
    });
    Ok(Stream { events: ev_rx, acks: ack_tx })
}

/// The innermost error (the OS's "Connection refused"), not the
/// transport's wrapping of it.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    // "Connection refused (os error 111)" reads as Redis's strerror().
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The primary's refusal in the words Redis logs for PSYNC.
fn refused(s: tonic::Status) -> String {
    match s.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => format!("Unable to AUTH to MASTER: {}", s.message()),
        // What HTTP/2 says when the peer is not a ferrokv (a Redis, say).
        _ if s.message().contains("h2 protocol error") || s.message().contains("transport error") => {
            tracing::debug!("replication handshake failed: {s}");
            "Error condition on socket for SYNC: the primary does not answer ferrokv's replication protocol".into()
        }
        _ => format!("Error reply to PSYNC from master: {}", s.message()),
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn to_pb_hello(h: Hello) -> pb::Hello {
    pb::Hello {
        replid: h.replid,
        offset: h.offset,
        username: h.username,
        password: h.password,
        announce_ip: h.announce_ip,
        listening_port: h.listening_port as u32,
        failover: h.failover,
    }
}

fn from_pb_hello(h: pb::Hello) -> Hello {
    Hello {
        replid: h.replid,
        offset: h.offset,
        username: h.username,
        password: h.password,
        announce_ip: h.announce_ip,
        listening_port: h.listening_port.min(u16::MAX as u32) as u16,
        failover: h.failover,
    }
}

/// None for what gRPC needs no message for (its own keepalives).
fn to_pb(e: Event) -> Option<pb::PrimaryMessage> {
    let msg = match e {
        Event::FullSync { replid, offset, size } => PMsg::FullSync(pb::FullSync { replid, offset, size }),
        Event::SnapshotChunk(data) => PMsg::SnapshotChunk(pb::SnapshotChunk { data }),
        Event::SnapshotEnd => PMsg::SnapshotEnd(pb::SnapshotEnd {}),
        Event::Continue { replid } => PMsg::Continue(pb::Continue { replid }),
        Event::Log { offset, data } => PMsg::Log(pb::Log { offset, data }),
        Event::Alive => return None,
    };
    Some(pb::PrimaryMessage { msg: Some(msg) })
}

fn from_pb(m: pb::PrimaryMessage) -> Option<Event> {
    Some(match m.msg? {
        PMsg::FullSync(f) => Event::FullSync { replid: f.replid, offset: f.offset, size: f.size },
        PMsg::SnapshotChunk(c) => Event::SnapshotChunk(c.data),
        PMsg::SnapshotEnd(_) => Event::SnapshotEnd,
        PMsg::Continue(c) => Event::Continue { replid: c.replid },
        PMsg::Log(l) => Event::Log { offset: l.offset, data: l.data },
    })
}
