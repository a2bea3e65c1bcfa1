//! The keyspace: databases, values, expiry, WATCH bookkeeping, the keys
//! eviction takes, what a key costs in memory, and the keyspace events it
//! raises.
//!
//! Architecture invariant: storage knows nothing of connections or
//! commands; it answers questions about keys and records what changed. It
//! uses `ferrokv-resp` only for Redis's integer format (`string2ll`), which
//! decides when a string value is stored as an integer.

pub mod counter;

pub mod events;
pub mod evict;
mod expires;
pub mod hll;
mod keyspace;
pub mod lazyfree;
pub mod lfu;
pub mod memory;
mod record;
mod shard;
pub mod snapshot;
mod table;
pub mod types;
pub mod value;
mod watch;

pub use counter::Counter;
pub use evict::MaxmemoryPolicy;
pub use keyspace::{idle_seconds, lru_clock, now_ms, refresh_lru_clock, shard_of, Db, Expiry, Keyspace, Stats, Store, View, SHARDS};
pub use shard::{Entry, Key, Shard};
pub use types::hash::Hash;
pub use types::list::List;
pub use types::set::Set;
pub use types::stream::{Stream, StreamId};
pub use types::zset::ZSet;
pub use types::{Limits, Thresholds};
pub use value::{Str, Value};
pub use watch::{WatchFlag, Watches};
