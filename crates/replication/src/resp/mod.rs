//! Redis's own replication protocol (SYNC/PSYNC over RESP), as a second
//! transport over the same engine: [`primary`] serves real Redis replicas
//! and redis-cli's `--rdb`/`--replica` from a ferrokv primary; [`replica`]
//! follows a real Redis primary (and picks gRPC when the primary turns out
//! to be a ferrokv node). Both only translate between Redis's wire and the
//! engine's [`Event`](crate::Event)s and acks.

pub mod primary;
pub mod replica;

pub use primary::{serve, Request};
