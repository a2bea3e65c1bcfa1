//! The Redis serialization protocol, both versions.
//!
//! Architecture invariant: this crate depends on no other crate of ours. The
//! server uses [`RequestParser`] for what clients send and the `encode`
//! functions for what it answers; clients of ours (the sentinel, tests) use
//! [`Frame`] and [`codec::RespCodec`].

pub mod codec;
pub mod encode;
mod frame;
mod request;

pub use encode::Protocol;
pub use frame::parse_i64;
pub use frame::{Frame, FrameError};

#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;
pub use request::{split_args, ProtocolError, RequestLimits, RequestParser};
