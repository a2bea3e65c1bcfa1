//! ACL: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG,
//! DRYRUN, LOAD, SAVE, HELP (Redis's `aclCommand`). Rules and checks are
//! in `ferrokv_acl`; what a change does to clients is in `crate::acl`.

use bytes::Bytes;
use ferrokv_acl::password::GENPASS_MAX_BITS;
use ferrokv_acl::selector::has_spaces;
use ferrokv_acl::{Denied, Selector, User};
use ferrokv_commands::command::ACL_ORDER;
use ferrokv_commands::{cmd, container};

use crate::args;
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
        return Err("ERR Usernames can't contain spaces or null characters".into());
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
        return Err("ERR The 'default' user cannot be removed".into());
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
    let Some(user) = ctx.server.acl.users().get(&args[2]).cloned() else {
        ctx.null();
        return Ok(());
    };
    let catalog = &ctx.server.commands.catalog;
    ctx.map(6);
    ctx.bulk(b"flags");
    let flags: Vec<&str> = user.flag_names().collect();
    ctx.set_len(flags.len());
    for f in flags {
        ctx.bulk(f.as_bytes());
    }
    ctx.bulk(b"passwords");
    ctx.array(user.passwords.len());
    for p in &user.passwords {
        ctx.bulk(p.as_bytes());
    }
    describe_selector(ctx, &user.selectors[0], catalog);
    ctx.bulk(b"selectors");
    ctx.array(user.selectors.len() - 1);
    for selector in &user.selectors[1..] {
        ctx.map(3);
        describe_selector(ctx, selector, catalog);
    }
    Ok(())
}

fn describe_selector(ctx: &mut Ctx<'_>, selector: &Selector, catalog: &ferrokv_acl::Catalog) {
    ctx.bulk(b"commands");
    ctx.bulk(selector.describe_commands(catalog).as_bytes());
    ctx.bulk(b"keys");
    ctx.bulk(&selector.describe_keys());
    ctx.bulk(b"channels");
    ctx.bulk(&selector.describe_channels());
}

/* ACL LIST */
fn list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let lines: Vec<Vec<u8>> = {
        let users = ctx.server.acl.users();
        users.iter().map(|u| user_line(u, &ctx.server.commands.catalog)).collect()
    };
    ctx.bulks(lines.iter().map(|l| l.as_slice()));
    Ok(())
}

fn user_line(user: &User, catalog: &ferrokv_acl::Catalog) -> Vec<u8> {
    [b"user ".as_slice(), &user.name, b" ", &user.describe(catalog)].concat()
}

/* ACL USERS */
fn users(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let names: Vec<Bytes> = ctx.server.acl.users().iter().map(|u| u.name.clone()).collect();
    ctx.bulks(names.iter().map(|n| n.as_ref()));
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
    let Some(name) = args.get(2) else {
        ctx.bulks(ACL_ORDER.iter().map(|c| c.as_bytes()));
        return Ok(());
    };
    if args.len() > 3 {
        return Err(crate::errors::subcommand_syntax(&args[1], "ACL"));
    }
    let category = ferrokv_acl::catalog::category(name)
        .ok_or_else(|| RedisError::from(format!("ERR Unknown category '{}'", String::from_utf8_lossy(&name[..name.len().min(128)]))))?;
    let names: Vec<&str> = ctx.server.commands.catalog.all().filter(|(_, c)| c.in_category(category)).map(|(_, c)| c.fullname).collect();
    ctx.bulks(names.iter().map(|n| n.as_bytes()));
    Ok(())
}

/* ACL GENPASS [bits] */
fn genpass(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::errors::subcommand_syntax(&args[1], "ACL"));
    }
    let bits = match args.get(2) {
        Some(b) => args::int(b)?,
        None => 256,
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(format!("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}").into());
    }
    ctx.bulk(ferrokv_util::random_hex(((bits + 3) / 4) as usize).as_bytes());
    Ok(())
}

/* ACL LOG [count | RESET] */
fn log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::errors::subcommand_syntax(&args[1], "ACL"));
    }
    let mut count = 10;
    if let Some(arg) = args.get(2) {
        if args::is(arg, "reset") {
            ctx.server.acl.log.lock().reset();
            return ctx.ok();
        }
        count = args::int(arg)?.max(0) as usize;
    }
    let entries: Vec<_> = ctx.server.acl.log.lock().iter().take(count).cloned().collect();
    let now = ferrokv_storage::now_ms();
    ctx.array(entries.len());
    for e in entries {
        ctx.map(7);
        ctx.bulk(b"count");
        ctx.int(e.count as i64);
        ctx.bulk(b"reason");
        ctx.bulk(e.reason.name().as_bytes());
        ctx.bulk(b"context");
        ctx.bulk(e.context.name().as_bytes());
        ctx.bulk(b"object");
        ctx.bulk(&e.object);
        ctx.bulk(b"username");
        ctx.bulk(&e.username);
        ctx.bulk(b"age-seconds");
        ctx.double((now - e.ctime_ms) as f64 / 1000.0);
        ctx.bulk(b"client-info");
        ctx.bulk(e.client_info.as_bytes());
    }
    Ok(())
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
    match user.check(&server.commands.catalog, entry.acl_id, line) {
        Ok(()) => ctx.ok(),
        Err(denied) => {
            let text = match denied {
                Denied::Command => format!("This user has no permissions to run the '{}' command", entry.fullname),
                Denied::Key(at) => format!("This user has no permissions to access the '{}' key", String::from_utf8_lossy(&line[at])),
                Denied::Channel(at) => format!("This user has no permissions to access the '{}' channel", String::from_utf8_lossy(&line[at])),
            };
            ctx.bulk(text.as_bytes());
            Ok(())
        }
    }
}

const NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/* ACL LOAD */
fn load(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let path = server.config.read().aclfile.clone();
    if path.is_empty() {
        return Err(NO_FILE.into());
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
        return Err(NO_FILE.into());
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
    ctx.help(&[
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ])
}
