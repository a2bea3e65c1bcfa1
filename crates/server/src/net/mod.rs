//! Connections: the TCP and Unix listeners, one task per connection that
//! parses requests and runs them in batches, the per-client state, and the
//! outbox that writes replies and pushes.

pub mod client;
pub mod conn;
pub(crate) mod listener;
pub mod outbox;
pub mod tls;
pub mod wire;
pub mod workers;
