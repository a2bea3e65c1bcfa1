//! Access control lists as Redis 7.0 has them: users with passwords and
//! selectors, rules (`ACL SETUSER`), the check of a command line against
//! them, the ACL file, and the log of refusals.
//!
//! The check reads the command table's categories, key specs and channel
//! specs through a [`Catalog`] the node builds once, so what a rule like
//! `+@read` or `%W~cache:*` allows is decided by the same table that
//! drives dispatch and COMMAND output.

pub mod catalog;
pub mod command;
pub mod error;
pub mod log;
pub mod password;
pub mod selector;
pub mod user;
pub mod users;

pub use catalog::{Catalog, CmdId};
pub use error::RuleError;
pub use selector::{Denied, Selector};
pub use user::User;
pub use users::Users;

#[cfg(test)]
mod tests;
