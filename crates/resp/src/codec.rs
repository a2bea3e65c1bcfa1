//! tokio-util codecs: [`RespCodec`] for clients of a RESP server (the
//! sentinel, tests), [`RequestCodec`] for the server side.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{Frame, FrameError};
use crate::request::{ProtocolError, RequestLimits, RequestParser};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads replies as [`Frame`]s and writes commands.
#[derive(Debug, Default)]
pub struct RespCodec;

impl Decoder for RespCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match Frame::parse(src)? {
            Some((frame, used)) => {
                let _ = src.split_to(used);
                Ok(Some(frame))
            }
            None => Ok(None),
        }
    }
}

impl Encoder<Frame> for RespCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut out = Vec::new();
        item.encode(&mut out);
        dst.extend_from_slice(&out);
        Ok(())
    }
}

/// Reads client requests as argument vectors.
#[derive(Debug, Default)]
pub struct RequestCodec {
    parser: RequestParser,
    pub limits: RequestLimits,
}

impl Decoder for RequestCodec {
    type Item = Vec<Bytes>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Bytes>>, CodecError> {
        Ok(self.parser.parse(src, &self.limits)?)
    }
}
