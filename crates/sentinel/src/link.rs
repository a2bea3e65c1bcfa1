//! An outgoing RESP connection to a node or a peer sentinel: one request at
//! a time, every wait bounded.

use std::time::Duration;

use bytes::BytesMut;
use ferrokv_resp::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad reply: {0}")]
    Protocol(#[from] ferrokv_resp::FrameError),
    #[error("connection closed")]
    Closed,
}

pub struct Link {
    stream: TcpStream,
    buf: BytesMut,
}

impl Link {
    pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<Link, LinkError> {
        let addr = format!("{host}:{port}");
        let stream =
            tokio::time::timeout(timeout, TcpStream::connect((host, port))).await.map_err(|_| LinkError::Timeout)?.map_err(|e| LinkError::Connect(addr, e))?;
        let _ = stream.set_nodelay(true);
        Ok(Link { stream, buf: BytesMut::with_capacity(4096) })
    }

    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), LinkError> {
        self.stream.write_all(&Frame::command(args.iter().copied()).to_bytes()).await?;
        Ok(())
    }

    /// The next frame, waiting at most `timeout`.
    pub async fn read(&mut self, timeout: Duration) -> Result<Frame, LinkError> {
        tokio::time::timeout(timeout, self.read_frame()).await.map_err(|_| LinkError::Timeout)?
    }

    /// The next frame, however long it takes (a subscription).
    pub async fn read_frame(&mut self) -> Result<Frame, LinkError> {
        loop {
            if let Some((frame, used)) = Frame::parse(&self.buf)? {
                let _ = self.buf.split_to(used);
                return Ok(frame);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(LinkError::Closed);
            }
        }
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
