//! Persistence: RDB snapshots (SAVE, BGSAVE without fork, the save points,
//! loading at start-up), the append-only file (its base, the incremental
//! files, rewrites) and the state both report in INFO persistence.

pub mod aof;
pub mod aof_base;
pub mod bgsave;
pub mod snapshot;
mod state;

pub use state::Persistence;
