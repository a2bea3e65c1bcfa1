//! The replies of the ACL subcommands that only read the registry, the
//! log or the catalog (GETUSER, LIST, USERS, CAT, GENPASS, LOG, DRYRUN's
//! verdict, HELP): one implementation for the node and the sentinel, which
//! each keep what changes users (their clients go with them).

use bytes::Bytes;
use ferrokv_commands::command::ACL_ORDER;
use ferrokv_commands::ctx::Reply;

use crate::log::Log;
use crate::password::GENPASS_MAX_BITS;
use crate::{Catalog, Denied, Selector, User, Users};

/// Redis's error for a bad subcommand form, for ACL.
fn syntax(sub: &[u8]) -> String {
    ferrokv_commands::errors::subcommand_syntax(sub, "ACL").0.into_owned()
}

const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/* ACL GETUSER username */
pub fn getuser(r: &mut Reply<'_>, user: Option<&User>, catalog: &Catalog) {
    let Some(user) = user else {
        return r.null();
    };
    r.map(6);
    r.bulk(b"flags");
    let flags: Vec<&str> = user.flag_names().collect();
    r.set_len(flags.len());
    for f in flags {
        r.bulk(f.as_bytes());
    }
    r.bulk(b"passwords");
    r.array(user.passwords.len());
    for p in &user.passwords {
        r.bulk(p.as_bytes());
    }
    describe_selector(r, &user.selectors[0], catalog);
    r.bulk(b"selectors");
    r.array(user.selectors.len() - 1);
    for selector in &user.selectors[1..] {
        r.map(3);
        describe_selector(r, selector, catalog);
    }
}

fn describe_selector(r: &mut Reply<'_>, selector: &Selector, catalog: &Catalog) {
    r.bulk(b"commands");
    r.bulk(selector.describe_commands(catalog).as_bytes());
    r.bulk(b"keys");
    r.bulk(&selector.describe_keys());
    r.bulk(b"channels");
    r.bulk(&selector.describe_channels());
}

/// A user as the ACL file and ACL LIST write it.
pub fn user_line(user: &User, catalog: &Catalog) -> Vec<u8> {
    [b"user ".as_slice(), &user.name, b" ", &user.describe(catalog)].concat()
}

/* ACL LIST */
pub fn list(r: &mut Reply<'_>, users: &Users, catalog: &Catalog) {
    r.array(users.len());
    for u in users.iter() {
        r.bulk(&user_line(u, catalog));
    }
}

/* ACL USERS */
pub fn usernames(r: &mut Reply<'_>, users: &Users) {
    r.array(users.len());
    for u in users.iter() {
        r.bulk(&u.name);
    }
}

/* ACL CAT [category] */
pub fn cat(r: &mut Reply<'_>, catalog: &Catalog, args: &[Bytes]) -> Result<(), String> {
    let Some(name) = args.get(2) else {
        r.array(ACL_ORDER.len());
        ACL_ORDER.iter().for_each(|c| r.bulk(c.as_bytes()));
        return Ok(());
    };
    if args.len() > 3 {
        return Err(syntax(&args[1]));
    }
    let category = crate::catalog::category(name).ok_or_else(|| format!("ERR Unknown category '{}'", String::from_utf8_lossy(&name[..name.len().min(128)])))?;
    let names: Vec<&str> = catalog.all().filter(|(_, c)| c.in_category(category)).map(|(_, c)| c.fullname).collect();
    r.array(names.len());
    names.iter().for_each(|n| r.bulk(n.as_bytes()));
    Ok(())
}

/* ACL GENPASS [bits] */
pub fn genpass(r: &mut Reply<'_>, args: &[Bytes]) -> Result<(), String> {
    if args.len() > 3 {
        return Err(syntax(&args[1]));
    }
    let bits = match args.get(2) {
        Some(b) => ferrokv_resp::parse_i64(b).ok_or(NOT_INTEGER)?,
        None => 256,
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(format!("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"));
    }
    r.bulk(ferrokv_util::random_hex(((bits + 3) / 4) as usize).as_bytes());
    Ok(())
}

/* ACL LOG [count | RESET] */
pub fn log(r: &mut Reply<'_>, log: &mut Log, args: &[Bytes], now_ms: i64) -> Result<(), String> {
    if args.len() > 3 {
        return Err(syntax(&args[1]));
    }
    let mut count = 10;
    if let Some(arg) = args.get(2) {
        if arg.eq_ignore_ascii_case(b"reset") {
            log.reset();
            r.ok();
            return Ok(());
        }
        count = ferrokv_resp::parse_i64(arg).ok_or(NOT_INTEGER)?.max(0) as usize;
    }
    let entries: Vec<_> = log.iter().take(count).collect();
    r.array(entries.len());
    for e in entries {
        r.map(7);
        r.bulk(b"count");
        r.int(e.count as i64);
        r.bulk(b"reason");
        r.bulk(e.reason.name().as_bytes());
        r.bulk(b"context");
        r.bulk(e.context.name().as_bytes());
        r.bulk(b"object");
        r.bulk(&e.object);
        r.bulk(b"username");
        r.bulk(&e.username);
        r.bulk(b"age-seconds");
        r.double((now_ms - e.ctime_ms) as f64 / 1000.0);
        r.bulk(b"client-info");
        r.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

/// ACL DRYRUN's answer once the command line resolved to `fullname`:
/// OK, or why the user may not run it.
pub fn dryrun_verdict(r: &mut Reply<'_>, verdict: Result<(), Denied>, fullname: &str, line: &[Bytes]) {
    let text = match verdict {
        Ok(()) => return r.ok(),
        Err(Denied::Command) => format!("This user has no permissions to run the '{fullname}' command"),
        Err(Denied::Key(at)) => format!("This user has no permissions to access the '{}' key", String::from_utf8_lossy(&line[at])),
        Err(Denied::Channel(at)) => format!("This user has no permissions to access the '{}' channel", String::from_utf8_lossy(&line[at])),
    };
    r.bulk(text.as_bytes());
}

/// ACL LOAD and SAVE without an ACL file.
pub const NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ACL DELUSER of `default`.
pub const DEFAULT_UNDELETABLE: &str = "ERR The 'default' user cannot be removed";

/// ACL SETUSER of a name with spaces.
pub const BAD_USERNAME: &str = "ERR Usernames can't contain spaces or null characters";

pub const HELP: &[&str] = &[
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
];
