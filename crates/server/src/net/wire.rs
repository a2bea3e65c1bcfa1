//! What a connection's replies become on its socket: the same bytes on a
//! plain socket, TLS records on the TLS port.
//!
//! Why a TLS connection seals its replies itself instead of writing them
//! through its session: the records can then wait in the outbox for the
//! end of the worker's round and leave with every other connection's
//! replies (see `outbox`), exactly as plain bytes do. Written through the
//! session, each batch woke its client at once: at pipeline 1 that cost a
//! client such as redis-benchmark a wake-up per connection per round.
//! Every record the session produces (replies, and anything it queued
//! while reading, such as a KeyUpdate answer) is taken in order, so what
//! reaches the socket is the session's own stream.

use std::io::{self, Write};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::server::TlsStream;

/// A connection's stream: it reads requests, and turns replies into the
/// bytes written to the raw socket. Writing through the stream itself is
/// for a connection handed over elsewhere (a RESP replica after SYNC), once
/// everything sealed before has been written.
pub trait Wire: AsyncRead + AsyncWrite + Unpin {
    type Socket: AsyncWrite + Unpin + Send;

    /// Appends what `replies` must become on the socket to `wire`, and
    /// leaves `replies` empty. An error means the session can send nothing
    /// more: the connection closes.
    fn seal(&mut self, replies: &mut BytesMut, wire: &mut BytesMut) -> io::Result<()>;

    /// Where sealed bytes are written.
    fn socket(&mut self) -> &mut Self::Socket;
}

/// Plain bytes move over unchanged (a swap where nothing waits, so no copy).
fn pass(replies: &mut BytesMut, wire: &mut BytesMut) {
    if wire.is_empty() {
        std::mem::swap(replies, wire);
    } else {
        wire.extend_from_slice(replies);
        replies.clear();
    }
}

/// A plain socket is its own wire.
macro_rules! plain_wire {
    ($stream:ty) => {
        impl Wire for $stream {
            type Socket = $stream;

            fn seal(&mut self, replies: &mut BytesMut, wire: &mut BytesMut) -> io::Result<()> {
                pass(replies, wire);
                Ok(())
            }

            fn socket(&mut self) -> &mut $stream {
                self
            }
        }
    };
}

plain_wire!(TcpStream);
plain_wire!(UnixStream);

impl Wire for TlsStream<TcpStream> {
    type Socket = TcpStream;

    fn seal(&mut self, replies: &mut BytesMut, wire: &mut BytesMut) -> io::Result<()> {
        let session = self.get_mut().1;
        let mut rest = &replies[..];
        loop {
            // The session encrypts at most its buffer limit per call; taking
            // its records after each call keeps it under the limit.
            let n = if rest.is_empty() { 0 } else { session.writer().write(rest)? };
            rest = &rest[n..];
            let mut sink = (&mut *wire).writer();
            while session.wants_write() {
                session.write_tls(&mut sink)?;
            }
            if rest.is_empty() {
                break;
            }
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        replies.clear();
        Ok(())
    }

    fn socket(&mut self) -> &mut TcpStream {
        self.get_mut().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bytes_pass_in_order() {
        let (mut wire, mut replies) = (BytesMut::new(), BytesMut::from(&b"+OK\r\n"[..]));
        pass(&mut replies, &mut wire);
        replies.extend_from_slice(b":1\r\n");
        pass(&mut replies, &mut wire);
        assert_eq!(&wire[..], b"+OK\r\n:1\r\n");
        assert!(replies.is_empty());
    }
}
