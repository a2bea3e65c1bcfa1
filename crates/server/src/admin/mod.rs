//! The node's own command families, one file each: what needs the node or
//! the connection (CONFIG, CLIENT, INFO, DEBUG, replication, pub/sub,
//! persistence, transactions, scripting and functions, MIGRATE). The data families are in
//! `ferrokv-commands`.

pub mod acl;
pub mod client;
pub mod connection;
pub mod debug;
pub mod flush;
pub mod functions;
pub mod lolwut;
pub mod memory;
pub mod migrate;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;

use crate::command::Command;

/// Every admin family's table slice; the node's table is built from these
/// and `ferrokv_commands::FAMILIES`.
pub static FAMILIES: &[&[Command]] = &[
    connection::COMMANDS,
    acl::COMMANDS,
    client::COMMANDS,
    flush::COMMANDS,
    migrate::COMMANDS,
    multi::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    lolwut::COMMANDS,
    memory::COMMANDS,
    persistence::COMMANDS,
    replication::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
];
