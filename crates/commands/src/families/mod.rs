//! Data command families, one file each (as Redis's t_string.c, t_list.c…).

pub mod bitops;
pub mod dump;
pub mod expire;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod lcs;
pub mod list;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

use crate::command::Command;

/// Every data family's table slice; the node's table is built from these
/// and its own admin families.
pub static FAMILIES: &[&[Command]] = &[
    keys::COMMANDS,
    dump::COMMANDS,
    expire::COMMANDS,
    string::COMMANDS,
    bitops::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    list::COMMANDS,
    zset::COMMANDS,
    sort::COMMANDS,
    hyperloglog::COMMANDS,
    geo::COMMANDS,
    stream::COMMANDS,
];
