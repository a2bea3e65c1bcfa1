//! The data command families of ferrokv, as Redis's t_string.c, t_list.c…
//! define them: each family exports its slice of the command table, and
//! its handlers see only a narrow [`Ctx`] (a keyspace view, the reply, the
//! effects to propagate, a blocking request, read-only limits).
//!
//! Invariant: this crate depends on no node type. Connections, clients,
//! replication, persistence and the admin commands live in
//! `ferrokv-server`, which builds its one command table from [`FAMILIES`]
//! and its own admin families.

pub mod args;
pub mod blocking;
pub mod command;
pub mod ctx;
pub mod effects;
pub mod errors;
pub mod families;
pub mod fuzzing;
pub mod keyspec;
mod longdouble;
pub mod shared;
pub mod typed;

pub use command::{flags, Command, Handler, Spec};
pub use ctx::{Ctx, Limits, Reply};
pub use effects::Effects;
pub use errors::{CmdResult, RedisError};
pub use families::FAMILIES;
pub use keyspec::KeySpec;

#[cfg(test)]
mod testing;
