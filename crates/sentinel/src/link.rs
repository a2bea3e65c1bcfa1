//! An outgoing RESP connection to a node or a peer sentinel: one request at
//! a time, every wait bounded.

use std::time::Duration;

use ferrokv_resp::codec::{CodecError, RespCodec};
use ferrokv_resp::Frame;
use ferrokv_tls::Io;
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::Framed;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Codec(#[from] CodecError),
    #[error("connection closed")]
    Closed,
}

/// Replies are read with the RESP codec every client of ours uses.
pub struct Link {
    framed: Framed<Io, RespCodec>,
}

impl Link {
    /// Connects, over TLS when `tls` is given.
    pub async fn connect(host: &str, port: u16, timeout: Duration, tls: Option<&std::sync::Arc<rustls::ClientConfig>>) -> Result<Link, LinkError> {
        let addr = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let stream = tokio::time::timeout(timeout, ferrokv_tls::connect(&addr, tls, false))
            .await
            .map_err(|_| LinkError::Timeout)?
            .map_err(|e| LinkError::Connect(addr, e))?;
        Ok(Link { framed: Framed::new(stream, RespCodec) })
    }

    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), LinkError> {
        Ok(self.framed.send(Frame::command(args.iter().copied())).await?)
    }

    /// The next frame, waiting at most `timeout`.
    pub async fn read(&mut self, timeout: Duration) -> Result<Frame, LinkError> {
        tokio::time::timeout(timeout, self.read_frame()).await.map_err(|_| LinkError::Timeout)?
    }

    /// The next frame, however long it takes (a subscription).
    pub async fn read_frame(&mut self) -> Result<Frame, LinkError> {
        Ok(self.framed.next().await.ok_or(LinkError::Closed)??)
    }

    pub async fn call(&mut self, args: &[&[u8]], timeout: Duration) -> Result<Frame, LinkError> {
        self.send(args).await?;
        self.read(timeout).await
    }
}

/// The text of a simple, bulk or error reply.
pub fn text(f: &Frame) -> String {
    match f {
        Frame::Simple(b) | Frame::Bulk(b) | Frame::Error(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Integer(n) => n.to_string(),
        _ => String::new(),
    }
}
