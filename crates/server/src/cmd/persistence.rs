//! Persistence commands (Redis's rdb.c): SAVE and LASTSAVE. The snapshot
//! itself is in `crate::snapshot`.

use bytes::Bytes;

use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;

const DANGER: &[&str] = &["dangerous"];
const ADMIN_DANGER: &[&str] = &["admin", "dangerous"];

pub static COMMANDS: &[Command] = &[
    cmd!("save", 1, NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI | WHOLE, DANGER, (0, 0, 0), save, "server", "Synchronously save the dataset to disk"),
    cmd!("lastsave", 1, LOADING | STALE | FAST, ADMIN_DANGER, (0, 0, 0), lastsave, "server", "Get the UNIX time stamp of the last successful save to disk"),
];

/* SAVE: a foreground snapshot, holding the whole keyspace like Redis's. */
fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let Some(ks) = ctx.view.keyspace() else {
        return Err("ERR SAVE needs exclusive access to the keyspace".into());
    };
    match crate::snapshot::save_now(server, ks) {
        Ok(_) => ctx.ok(),
        Err(_) => Err("ERR".into()),
    }
}

/* LASTSAVE */
fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.int(ctx.server.persistence.last_save.load(std::sync::atomic::Ordering::Relaxed) as i64);
    Ok(())
}
