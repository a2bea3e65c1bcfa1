//! ACL: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG,
//! DRYRUN, LOAD, SAVE, HELP (Redis's `aclCommand`). Rules and checks are
//! in `ferrokv_acl`; what a change does to clients is in `crate::acl`.

use bytes::Bytes;
use ferrokv_acl::command as shared;
use ferrokv_acl::selector::has_spaces;
use ferrokv_commands::{cmd, container};

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{CmdResult, RedisError};

pub static COMMANDS: &[Command] = &[container!("acl", "6.0.0", -2, ACL, "server", "A container for Access List Control commands")];

const ADMIN_SUB: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const PLAIN_SUB: u32 = NOSCRIPT | LOADING | STALE;

static ACL: &[Command] = &[
    cmd!("cat", "6.0.0", -2, PLAIN_SUB, &[], (0, 0, 0), cat, "server", "List the ACL categories or the commands inside a category"),
    cmd!("deluser", "6.0.0", -3, ADMIN_SUB, &[], (0, 0, 0), deluser, "server", "Remove the specified ACL users and the associated rules"),
    cmd!(
        "dryrun",
        "7.0.0",
        -4,
        ADMIN_SUB,
        &[],
        (0, 0, 0),
        dryrun,
        "server",
        "Returns whether the user can execute the given command without executing the command."
    ),
    cmd!("genpass", "6.0.0", -2, PLAIN_SUB, &[], (0, 0, 0), genpass, "server", "Generate a pseudorandom secure password to use for ACL users"),
    cmd!("getuser", "6.0.0", 3, ADMIN_SUB, &[], (0, 0, 0), getuser, "server", "Get the rules for a specific ACL user"),
    cmd!("help", "6.0.0", 2, LOADING | STALE, &[], (0, 0, 0), help, "server", "Show helpful text about the different subcommands"),
    cmd!("list", "6.0.0", 2, ADMIN_SUB, &[], (0, 0, 0), list, "server", "List the current ACL rules in ACL config file format"),
    cmd!("load", "6.0.0", 2, ADMIN_SUB, &[], (0, 0, 0), load, "server", "Reload the ACLs from the configured ACL file"),
    cmd!("log", "6.0.0", -2, ADMIN_SUB, &[], (0, 0, 0), log, "server", "List latest events denied because of ACLs in place"),
    cmd!("save", "6.0.0", 2, ADMIN_SUB, &[], (0, 0, 0), save, "server", "Save the current ACL rules in the configured ACL file"),
    cmd!("setuser", "6.0.0", -3, ADMIN_SUB, &[], (0, 0, 0), setuser, "server", "Modify or create the rules for a specific ACL user"),
    cmd!("users", "6.0.0", 2, ADMIN_SUB, &[], (0, 0, 0), users, "server", "List the username of all the configured ACL rules"),
    cmd!("whoami", "6.0.0", 2, PLAIN_SUB, &[], (0, 0, 0), whoami, "server", "Return the name of the user associated to the current connection"),
];

/* ACL SETUSER username [rule [rule ...]] */
fn setuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = &args[2];
    if has_spaces(name) {
        return Err(shared::BAD_USERNAME.into());
    }
    let server = ctx.server;
    let pubsub_all = server.config.read().acl_pubsub_allchannels;
    let changed = server.acl.update(|users| users.set_user(&server.commands.catalog, name, &args[3..], pubsub_all));
    let (old, new) = changed.map_err(|e| RedisError::from(format!("ERR {e}")))?;
    if let Some(old) = old {
        crate::acl::kill_pubsub_clients_if_needed(server, &old, &new, ctx.client);
    }
    ctx.ok()
}

/* ACL DELUSER username [username ...] */
fn deluser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args[2..].iter().any(|n| n.as_ref() == b"default") {
        return Err(shared::DEFAULT_UNDELETABLE.into());
    }
    let server = ctx.server;
    let removed: Vec<Bytes> = server.acl.update(|users| args[2..].iter().filter(|n| users.remove(n).is_some()).cloned().collect());
    for name in &removed {
        crate::acl::kill_clients_of(server, name, ctx.client);
    }
    ctx.int(removed.len() as i64);
    Ok(())
}

/* ACL GETUSER username */
fn getuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let user = ctx.server.acl.users().get(&args[2]).cloned();
    let catalog = &ctx.server.commands.catalog;
    shared::getuser(&mut ctx.parts().1, user.as_deref(), catalog);
    Ok(())
}

/* ACL LIST */
fn list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    shared::list(&mut ctx.parts().1, &server.acl.users(), &server.commands.catalog);
    Ok(())
}

/* ACL USERS */
fn users(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    shared::usernames(&mut ctx.parts().1, &server.acl.users());
    Ok(())
}

/* ACL WHOAMI */
fn whoami(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let name = ctx.client.user.as_ref().map(|u| u.name.clone());
    match name {
        Some(name) => ctx.bulk(&name),
        None => ctx.null(),
    }
    Ok(())
}

/* ACL CAT [category] */
fn cat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    Ok(shared::cat(&mut ctx.parts().1, &server.commands.catalog, args)?)
}

/* ACL GENPASS [bits] */
fn genpass(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Ok(shared::genpass(&mut ctx.parts().1, args)?)
}

/* ACL LOG [count | RESET] */
fn log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    Ok(shared::log(&mut ctx.parts().1, &mut server.acl.log.lock(), args, ferrokv_storage::now_ms())?)
}

/* ACL DRYRUN username command [arg [arg ...]] */
fn dryrun(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let Some(user) = server.acl.users().get(&args[2]).cloned() else {
        return Err(format!("ERR User '{}' not found", String::from_utf8_lossy(&args[2])).into());
    };
    let line = &args[3..];
    let entry = match crate::dispatch::resolve(server, line) {
        Ok(entry) => entry,
        Err((Some(entry), _)) => return Err(format!("ERR wrong number of arguments for '{}' command", entry.fullname).into()),
        Err((None, _)) => return Err(format!("ERR Command '{}' not found", String::from_utf8_lossy(&args[3])).into()),
    };
    let verdict = user.check(&server.commands.catalog, entry.acl_id, line);
    shared::dryrun_verdict(&mut ctx.parts().1, verdict, entry.fullname, line);
    Ok(())
}

/* ACL LOAD */
fn load(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let path = server.config.read().aclfile.clone();
    if path.is_empty() {
        return Err(shared::NO_FILE.into());
    }
    let loaded = crate::acl::read_file(server, &path).map_err(|e| RedisError::from(format!("ERR {e}")))?;
    let old = server.acl.update(|users| std::mem::replace(users, loaded));
    // Clients of users that are gone, or whose rules were replaced, are
    // closed, as Redis frees the old users and their clients with them.
    for user in old.iter().filter(|u| u.name.as_ref() != b"default") {
        crate::acl::kill_clients_of(server, &user.name, ctx.client);
    }
    ctx.ok()
}

/* ACL SAVE */
fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let path = server.config.read().aclfile.clone();
    if path.is_empty() {
        return Err(shared::NO_FILE.into());
    }
    let text = server.acl.users().to_file(&server.commands.catalog);
    if let Err(e) = crate::config::write_atomically(std::path::Path::new(&path), &text) {
        tracing::warn!("Writing ACL file for ACL SAVE: {e}");
        return Err("ERR There was an error trying to save the ACLs. Please check the server logs for more information".into());
    }
    ctx.ok()
}

/* ACL HELP */
fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(shared::HELP)
}
