//! Command families, one file each (as Redis's t_string.c, t_list.c…).
//! Each exports its slice of the command table.

pub mod bitops;
pub mod client;
pub mod connection;
pub mod dump;
pub mod expire;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod lcs;
pub mod list;
pub mod migrate;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod set;
pub mod shared;
pub mod sort;
pub mod string;
pub mod typed;
pub mod zset;

use crate::command::Command;

/// Every family's table slice; the server's table is built from these.
pub static FAMILIES: &[&[Command]] = &[
    connection::COMMANDS,
    client::COMMANDS,
    keys::COMMANDS,
    dump::COMMANDS,
    migrate::COMMANDS,
    expire::COMMANDS,
    string::COMMANDS,
    bitops::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    list::COMMANDS,
    zset::COMMANDS,
    sort::COMMANDS,
    hyperloglog::COMMANDS,
    multi::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    persistence::COMMANDS,
    replication::COMMANDS,
];
