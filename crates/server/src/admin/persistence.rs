//! Persistence commands (Redis's rdb.c): SAVE, BGSAVE and LASTSAVE. The
//! snapshots themselves are in `crate::persistence::snapshot` and `crate::persistence::bgsave`.

use bytes::Bytes;

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;
use ferrokv_commands::cmd;

const DANGER: &[&str] = &["dangerous"];
const ADMIN_DANGER: &[&str] = &["admin", "dangerous"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "save",
        "1.0.0",
        1,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI | WHOLE,
        DANGER,
        (0, 0, 0),
        save,
        "server",
        "Synchronously save the dataset to disk"
    ),
    cmd!("bgsave", "1.0.0", -1, NO_ASYNC_LOADING | ADMIN | NOSCRIPT | WHOLE, DANGER, (0, 0, 0), bgsave, "server", "Asynchronously save the dataset to disk"),
    cmd!(
        "bgrewriteaof",
        "1.0.0",
        1,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT,
        DANGER,
        (0, 0, 0),
        bgrewriteaof,
        "server",
        "Asynchronously rewrite the append-only file"
    ),
    cmd!(
        "lastsave",
        "1.0.0",
        1,
        LOADING | STALE | FAST,
        ADMIN_DANGER,
        (0, 0, 0),
        lastsave,
        "server",
        "Get the UNIX time stamp of the last successful save to disk",
        tips = &["nondeterministic_output"]
    ),
];

/* SAVE: a foreground snapshot, holding the whole keyspace like Redis's. */
fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    if crate::persistence::bgsave::in_progress(server) {
        return Err("ERR Background save already in progress".into());
    }
    let Some(ks) = ctx.view.keyspace() else {
        return Err("ERR SAVE needs exclusive access to the keyspace".into());
    };
    match crate::persistence::snapshot::save_now(server, ks) {
        Ok(_) => ctx.ok(),
        Err(_) => Err("ERR".into()),
    }
}

/* LASTSAVE */
fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let last_save = ctx.server.persistence.last_save.load(std::sync::atomic::Ordering::Relaxed) as i64;
    ctx.int(last_save);
    Ok(())
}

/* BGSAVE [SCHEDULE]: a point-in-time snapshot written while clients keep
 * being served (no fork: see crate::persistence::bgsave). */
fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let schedule = match args.get(1) {
        None => false,
        Some(a) if crate::args::is(a, "schedule") && args.len() == 2 => true,
        Some(_) => return Err(crate::errors::SYNTAX.into()),
    };
    let server = ctx.server;
    let running = crate::persistence::bgsave::in_progress(server);
    let Some(ks) = ctx.view.keyspace_for_reading().filter(|_| !running) else {
        return already_running(ctx, schedule);
    };
    if crate::persistence::bgsave::start_bgsave(&server.arc(), ks) {
        // Later commands of the same EXEC must capture what they change.
        ctx.view.refresh_snapshot(&server.store);
        ctx.simple(b"Background saving started");
        return Ok(());
    }
    already_running(ctx, schedule)
}

fn already_running(ctx: &mut Ctx<'_>, schedule: bool) -> CmdResult {
    if schedule {
        ctx.server.persistence.bgsave_scheduled.store(true, std::sync::atomic::Ordering::Relaxed);
        ctx.simple(b"Background saving scheduled");
        return Ok(());
    }
    Err("ERR Background save already in progress".into())
}

/* BGREWRITEAOF: a new base (a point-in-time snapshot) and a new incremental
 * file, switched in the manifest once the base is complete (crate::persistence::aof). */
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if crate::persistence::aof::spawn_rewrite(&ctx.server.arc()) {
        ctx.simple(b"Background append only file rewriting started");
        Ok(())
    } else {
        Err("ERR Background append only file rewriting already in progress".into())
    }
}
