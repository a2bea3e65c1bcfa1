//! Server administration: INFO, CONFIG, COMMAND, TIME, SLOWLOG, MONITOR,
//! DEBUG, LATENCY, SHUTDOWN.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokv_commands::keyspec::{Begin, Find, KeySpec};

use crate::args;
use crate::command::flags::*;
use crate::command::{Command, Entry};
use crate::config::{self, DebugCommand};
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::net::client::kind;
use ferrokv_commands::{cmd, container};

const ADMIN_BASE: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    cmd!(
        "info",
        "1.0.0",
        -1,
        LOADING | STALE | WHOLE,
        &["dangerous"],
        (0, 0, 0),
        info,
        "server",
        "Get information and statistics about the server",
        tips = &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]
    ),
    container!("config", "2.0.0", -2, CONFIG, "server", "A container for server configuration commands"),
    Command {
        handler: Some(command_all),
        flags: LOADING | STALE,
        acl: CONN,
        tips: &["nondeterministic_output_order"],
        ..container!("command", "2.8.13", -1, COMMAND, "server", "Get array of Redis command details")
    },
    cmd!("time", "2.6.0", 1, LOADING | STALE | FAST, &[], (0, 0, 0), time, "server", "Return the current server time", tips = &["nondeterministic_output"]),
    container!("slowlog", "2.2.12", -2, SLOWLOG, "server", "A container for slow log commands"),
    cmd!("monitor", "1.0.0", 1, ADMIN_BASE, &[], (0, 0, 0), monitor, "server", "Listen for all requests received by the server in real time"),
    cmd!("debug", "1.0.0", -2, ADMIN_BASE | WHOLE, &[], (0, 0, 0), crate::admin::debug::debug, "server", "A container for debugging commands"),
    container!("latency", "2.8.13", -2, LATENCY, "server", "A container for latency diagnostics commands"),
    cmd!(
        "shutdown",
        "1.0.0",
        -1,
        ADMIN_BASE | NO_MULTI | ALLOW_BUSY | WHOLE,
        &[],
        (0, 0, 0),
        shutdown,
        "server",
        "Synchronously save the dataset to disk and then shut down the server"
    ),
];

static CONFIG: &[Command] = &[
    cmd!("get", "2.0.0", -3, ADMIN_BASE, &[], (0, 0, 0), config_get, "server", "Get the values of configuration parameters"),
    cmd!(
        "set",
        "2.0.0",
        -4,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        config_set,
        "server",
        "Set configuration parameters to the given values",
        tips = &["request_policy:all_nodes", "response_policy:all_succeeded"]
    ),
    cmd!("resetstat", "2.0.0", 2, ADMIN_BASE, &[], (0, 0, 0), config_resetstat, "server", "Reset the stats returned by INFO"),
    cmd!("rewrite", "2.8.0", 2, ADMIN_BASE, &[], (0, 0, 0), config_rewrite, "server", "Rewrite the configuration file with the in memory configuration"),
    cmd!("help", "5.0.0", 2, LOADING | STALE, &[], (0, 0, 0), config_help, "server", "Show helpful text about the different subcommands"),
];

const CONN: &[&str] = &["connection"];
static COMMAND: &[Command] = &[
    cmd!("count", "2.8.13", 2, LOADING | STALE, CONN, (0, 0, 0), command_count, "server", "Get total number of Redis commands"),
    cmd!(
        "info",
        "2.8.13",
        -2,
        LOADING | STALE,
        CONN,
        (0, 0, 0),
        command_info,
        "server",
        "Get array of specific Redis command details, or all when no argument is given.",
        tips = &["nondeterministic_output_order"]
    ),
    cmd!(
        "docs",
        "7.0.0",
        -2,
        LOADING | STALE,
        CONN,
        (0, 0, 0),
        command_docs,
        "server",
        "Get array of specific Redis command documentation",
        tips = &["nondeterministic_output_order"]
    ),
    cmd!(
        "list",
        "7.0.0",
        -2,
        LOADING | STALE,
        CONN,
        (0, 0, 0),
        command_list,
        "server",
        "Get an array of Redis command names",
        tips = &["nondeterministic_output_order"]
    ),
    cmd!("getkeys", "2.8.13", -4, LOADING | STALE, CONN, (0, 0, 0), command_getkeys, "server", "Extract keys given a full Redis command"),
    cmd!(
        "getkeysandflags",
        "7.0.0",
        -4,
        LOADING | STALE,
        CONN,
        (0, 0, 0),
        command_getkeysandflags,
        "server",
        "Extract keys and access flags given a full Redis command"
    ),
    cmd!("help", "5.0.0", 2, LOADING | STALE, CONN, (0, 0, 0), command_help, "server", "Show helpful text about the different subcommands"),
];

static SLOWLOG: &[Command] = &[
    cmd!(
        "get",
        "2.2.12",
        -2,
        ADMIN | LOADING | STALE,
        &[],
        (0, 0, 0),
        slowlog_get,
        "server",
        "Get the slow log's entries",
        tips = &["request_policy:all_nodes", "nondeterministic_output"]
    ),
    cmd!(
        "len",
        "2.2.12",
        2,
        ADMIN | LOADING | STALE,
        &[],
        (0, 0, 0),
        slowlog_len,
        "server",
        "Get the slow log's length",
        tips = &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output",]
    ),
    cmd!(
        "reset",
        "2.2.12",
        2,
        ADMIN | LOADING | STALE,
        &[],
        (0, 0, 0),
        slowlog_reset,
        "server",
        "Clear all entries from the slow log",
        tips = &["request_policy:all_nodes", "response_policy:all_succeeded"]
    ),
    cmd!("help", "6.2.0", 2, LOADING | STALE, &[], (0, 0, 0), slowlog_help, "server", "Show helpful text about the different subcommands"),
];

static LATENCY: &[Command] = &[
    cmd!(
        "histogram",
        "7.0.0",
        -2,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        latency_histogram,
        "server",
        "Return the cumulative distribution of latencies of a subset of commands or all.",
        tips = &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special",]
    ),
    cmd!(
        "latest",
        "2.8.13",
        2,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        latency_latest,
        "server",
        "Return the latest latency samples for all events.",
        tips = &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special",]
    ),
    cmd!(
        "history",
        "2.8.13",
        3,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        latency_history,
        "server",
        "Return timestamp-latency samples for the event.",
        tips = &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special",]
    ),
    cmd!(
        "reset",
        "2.8.13",
        -2,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        latency_reset,
        "server",
        "Reset latency data for one or more events.",
        tips = &["request_policy:all_nodes", "response_policy:all_succeeded"]
    ),
    cmd!(
        "doctor",
        "2.8.13",
        2,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        latency_doctor,
        "server",
        "Return a human readable latency analysis report.",
        tips = &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special",]
    ),
    cmd!(
        "graph",
        "2.8.13",
        3,
        ADMIN_BASE,
        &[],
        (0, 0, 0),
        latency_graph,
        "server",
        "Return a latency graph for the event.",
        tips = &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special",]
    ),
    cmd!("help", "2.8.13", 2, LOADING | STALE, &[], (0, 0, 0), latency_help, "server", "Show helpful text about the different subcommands"),
];

/* INFO [section [section ...]] */
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let requested: Vec<String> = args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let dbs = ctx.view.keyspace_for_reading().map(|ks| ks.table_overheads()).unwrap_or_default();
    let text = crate::info::render(ctx.server, &requested, &dbs);
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/* CONFIG GET parameter [parameter ...] */
fn config_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let c = ctx.server.config.read().clone();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for d in config::table::DIRECTIVES {
        let names = std::iter::once(&d.name).chain(d.aliases.iter());
        for name in names {
            let hit = args[2..].iter().any(|p| ferrokv_util::glob_match(p, name.as_bytes(), true));
            if hit && !pairs.iter().any(|(n, _)| n == name) {
                pairs.push((name, d.get(&c)));
            }
        }
    }
    ctx.map(pairs.len());
    for (name, value) in pairs {
        ctx.bulk(name.as_bytes());
        ctx.bulk(value.as_bytes());
    }
    Ok(())
}

/* CONFIG SET parameter value [parameter value ...]: all or nothing. */
fn config_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    let mut next = ctx.server.config.read().clone();
    let mut seen = HashSet::new();
    let fail = |name: &str, why: &str| RedisError::from(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
    for pair in args[2..].chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        let Some(d) = config::table::find(&name) else {
            return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'").into());
        };
        if !seen.insert(d.name) {
            return Err(fail(&name, "duplicate parameter"));
        }
        if d.immutable {
            return Err(fail(&name, "can't set immutable config"));
        }
        if d.protected && !allowed_by(next.enable_protected_configs, ctx.client.is_local) {
            return Err(fail(&name, "can't set protected config"));
        }
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        d.set(&mut next, &[value]).map_err(|why| fail(&name, &why))?;
    }
    let old = std::mem::replace(&mut *ctx.server.config.write(), next.clone());
    ctx.server.hot.load_all(&next, &ctx.server.store);
    ferrokv_log::set_verbosity(crate::logging::verbosity(next.loglevel));
    let used = crate::evict::used();
    if next.maxmemory != old.maxmemory && next.maxmemory > 0 && used > next.maxmemory {
        // As Redis's updateMaxmemory: the cron evicts from here on.
        tracing::warn!("WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", next.maxmemory);
    }
    ctx.server.apply_repl_config();
    crate::persistence::aof::apply_config(&ctx.server.arc());
    if seen.contains("requirepass") {
        crate::acl::set_requirepass(ctx.server, &next.requirepass);
    }
    // New certificates (rotation) apply to the next connections.
    if let Some(name) = seen.iter().find(|n| n.starts_with("tls-")) {
        if let Err(e) = ctx.server.tls.reload(&next) {
            tracing::warn!("Failed to update TLS configuration: {e}");
            *ctx.server.config.write() = old.clone();
            ctx.server.hot.load_all(&old, &ctx.server.store);
            return Err(fail(name, "Unable to update TLS configuration. Check server logs."));
        }
    }
    if next.tls_port != old.tls_port || next.bind != old.bind {
        if let Err(e) = ctx.server.arc().listen_tls(&next.bind, next.tls_port) {
            tracing::warn!("CONFIG SET could not listen: {e}");
            *ctx.server.config.write() = old.clone();
            ctx.server.hot.load_all(&old, &ctx.server.store);
            let _ = ctx.server.tls.reload(&old);
            return Err(fail("tls-port", "Unable to listen on this port"));
        }
    }
    if next.port != old.port || next.bind != old.bind {
        if let Err(e) = ctx.server.arc().listen_tcp(&next.bind, next.port) {
            tracing::warn!("CONFIG SET could not listen: {e}");
            *ctx.server.config.write() = old.clone();
            ctx.server.hot.load_all(&old, &ctx.server.store);
            return Err(if next.port != old.port {
                fail("port", "Unable to listen on this port")
            } else {
                fail("bind", "Failed to bind to specified addresses.")
            });
        }
    }
    ctx.ok()
}

/* CONFIG RESETSTAT */
fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let s = ctx.server;
    s.stats.reset();
    s.store.stats.keyspace_hits.reset();
    s.store.stats.keyspace_misses.reset();
    s.store.stats.expired_keys.store(0, Ordering::Relaxed);
    s.store.stats.evicted_keys.store(0, Ordering::Relaxed);
    s.commands.all_entries().for_each(|e| e.stats.reset());
    ctx.ok()
}

/* CONFIG REWRITE */
fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    rewrite_config(ctx, false)
}

/// CONFIG REWRITE, and with `all` DEBUG CONFIG-REWRITE-FORCE-ALL (every
/// directive written, defaults too).
pub(crate) fn rewrite_config(ctx: &mut Ctx<'_>, all: bool) -> CmdResult {
    let Some(path) = ctx.server.config_file.clone() else {
        return Err("ERR The server is running without a config file".into());
    };
    let c = crate::acl::config_to_rewrite(ctx.server);
    let written = if all { config::rewrite_all(&path, &c) } else { config::rewrite(&path, &c) };
    written.map_err(|e| RedisError::from(format!("ERR Rewriting config file: {e}")))?;
    ctx.ok()
}

fn config_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ])
}

/// One COMMAND INFO entry: name, arity, flags, key positions, ACL
/// categories, tips, key specs, subcommands.
fn reply_command_info(ctx: &mut Ctx<'_>, e: &Entry) {
    let spec = e.spec;
    ctx.array(10);
    ctx.bulk(e.fullname.as_bytes());
    ctx.int(spec.arity as i64);
    let flag_names: Vec<&str> = crate::command::flags::NAMES.iter().filter(|(f, _)| spec.has(*f)).map(|(_, n)| *n).collect();
    ctx.set_len(flag_names.len());
    for f in flag_names {
        ctx.simple(f.as_bytes());
    }
    let (first, last, step) = spec.keys;
    ctx.int(first as i64);
    ctx.int(last as i64);
    ctx.int(step as i64);
    let cats = spec.acl_categories();
    ctx.set_len(cats.len());
    for c in cats {
        ctx.simple(format!("@{c}").as_bytes());
    }
    // Tips and key specs are sets in RESP3, as are no subcommands at all
    // (Redis's addReplyCommandTips/KeySpecs/SubCommands).
    ctx.set_len(spec.tips.len());
    for tip in spec.tips {
        ctx.bulk(tip.as_bytes());
    }
    let key_specs = spec.key_specs();
    ctx.set_len(key_specs.len());
    for ks in &key_specs {
        key_spec(ctx, ks);
    }
    let mut subs: Vec<&Entry> = e.subcommands.values().collect();
    subs.sort_by_key(|s| s.fullname);
    if subs.is_empty() {
        ctx.set_len(0);
    } else {
        ctx.array(subs.len());
    }
    for s in subs {
        reply_command_info(ctx, s);
    }
}

/// One key spec, as Redis 7.0's `addReplyCommandKeySpecs`.
fn key_spec(ctx: &mut Ctx<'_>, ks: &KeySpec) {
    ctx.map(3 + usize::from(!ks.notes.is_empty()));
    if !ks.notes.is_empty() {
        ctx.bulk(b"notes");
        ctx.bulk(ks.notes.as_bytes());
    }
    ctx.bulk(b"flags");
    let names = ferrokv_commands::keyspec::flag_names(ks.flags);
    ctx.set_len(names.clone().count());
    for f in names {
        ctx.simple(f.as_bytes());
    }
    ctx.bulk(b"begin_search");
    match ks.begin {
        Begin::Index(index) => typed_spec(ctx, "index", None, &[("index", index)]),
        Begin::Keyword { keyword, startfrom } => typed_spec(ctx, "keyword", Some(keyword), &[("startfrom", startfrom)]),
        Begin::Unknown => typed_spec(ctx, "unknown", None, &[]),
    }
    ctx.bulk(b"find_keys");
    match ks.find {
        Find::Range { lastkey, keystep, limit } => typed_spec(ctx, "range", None, &[("lastkey", lastkey), ("keystep", keystep), ("limit", limit)]),
        Find::Keynum { keynumidx, firstkey, keystep } => {
            typed_spec(ctx, "keynum", None, &[("keynumidx", keynumidx), ("firstkey", firstkey), ("keystep", keystep)])
        }
        Find::Unknown => typed_spec(ctx, "unknown", None, &[]),
    }
}

/// `{type: kind, spec: {[keyword,] name: value…}}`, a begin_search or
/// find_keys.
fn typed_spec(ctx: &mut Ctx<'_>, kind: &str, keyword: Option<&str>, fields: &[(&str, i32)]) {
    ctx.map(2);
    ctx.bulk(b"type");
    ctx.bulk(kind.as_bytes());
    ctx.bulk(b"spec");
    ctx.map(fields.len() + usize::from(keyword.is_some()));
    if let Some(keyword) = keyword {
        ctx.bulk(b"keyword");
        ctx.bulk(keyword.as_bytes());
    }
    for (name, value) in fields {
        ctx.bulk(name.as_bytes());
        ctx.int(*value as i64);
    }
}

fn sorted_entries<'a>(ctx: &Ctx<'a>) -> Vec<&'a Entry> {
    let server: &'a crate::server::Server = ctx.server;
    let mut v: Vec<&Entry> = server.commands.iter().collect();
    v.sort_by_key(|e| e.fullname);
    v
}

/* COMMAND */
fn command_all(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let all = sorted_entries(ctx);
    ctx.array(all.len());
    for e in all {
        reply_command_info(ctx, e);
    }
    Ok(())
}

/// Looks up `name` or `container|sub`.
fn lookup<'a>(ctx: &Ctx<'a>, name: &[u8]) -> Option<&'a Entry> {
    let server: &'a crate::server::Server = ctx.server;
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = server.commands.get(parts.next()?)?;
    match parts.next() {
        Some(sub) => top.subcommand(sub),
        None => Some(top),
    }
}

/* COMMAND COUNT */
fn command_count(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.server.commands.len();
    ctx.int(n as i64);
    Ok(())
}

/* COMMAND INFO [command-name ...] */
fn command_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.array(args.len() - 2);
    for name in &args[2..] {
        match lookup(ctx, name) {
            Some(e) => reply_command_info(ctx, e),
            None => ctx.null(),
        }
    }
    Ok(())
}

fn reply_docs(ctx: &mut Ctx<'_>, e: &Entry) {
    let spec = e.spec;
    let subs: Vec<&Entry> = {
        let mut v: Vec<&Entry> = e.subcommands.values().collect();
        v.sort_by_key(|s| s.fullname);
        v
    };
    ctx.bulk(e.fullname.as_bytes());
    ctx.map(3 + !subs.is_empty() as usize);
    ctx.bulk(b"summary");
    ctx.bulk(spec.summary.as_bytes());
    ctx.bulk(b"since");
    ctx.bulk(spec.since.as_bytes());
    ctx.bulk(b"group");
    ctx.bulk(spec.group.as_bytes());
    if !subs.is_empty() {
        ctx.bulk(b"subcommands");
        ctx.map(subs.len());
        for s in subs {
            reply_docs(ctx, s);
        }
    }
}

/* COMMAND DOCS [command-name ...] */
fn command_docs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let entries: Vec<&Entry> = if args.len() == 2 { sorted_entries(ctx) } else { args[2..].iter().filter_map(|n| lookup(ctx, n)).collect() };
    ctx.map(entries.len());
    for e in entries {
        reply_docs(ctx, e);
    }
    Ok(())
}

/* COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern] */
fn command_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let filter = match args.len() {
        2 => None,
        5 if args::is(&args[2], "filterby") => Some((args[3].to_ascii_lowercase(), args[4].clone())),
        _ => return Err(errors::SYNTAX.into()),
    };
    let mut names = Vec::new();
    for e in ctx.server.commands.all_entries() {
        let keep = match &filter {
            None => true,
            Some((kind, value)) => match kind.as_slice() {
                b"module" => false,
                b"aclcat" => e.spec.acl_categories().iter().any(|c| c.as_bytes().eq_ignore_ascii_case(value)),
                b"pattern" => ferrokv_util::glob_match(value, e.fullname.as_bytes(), true),
                _ => return Err(errors::SYNTAX.into()),
            },
        };
        if keep {
            names.push(e.fullname);
        }
    }
    names.sort();
    ctx.bulks(names.iter().map(|n| n.as_bytes()));
    Ok(())
}

/// The keys of a full command line and their flags, by the table's key
/// specs, with Redis's errors in Redis's order.
fn keys_of(ctx: &Ctx<'_>, args: &[Bytes]) -> Result<Vec<(usize, u16)>, RedisError> {
    let line = &args[2..];
    let (entry, arity_ok) = match crate::dispatch::resolve(ctx.server, line) {
        Ok(entry) => (entry, true),
        Err((Some(entry), _)) => (entry, false),
        Err((None, _)) => return Err("ERR Invalid command specified".into()),
    };
    if !entry.spec.takes_keys() {
        return Err("ERR The command has no key arguments".into());
    }
    if !arity_ok {
        return Err("ERR Invalid number of arguments specified for command".into());
    }
    let keys = entry.spec.keys_in(line);
    if keys.is_empty() && !entry.spec.has(NO_MANDATORY_KEYS) {
        return Err("ERR Invalid arguments specified for command".into());
    }
    Ok(keys)
}

/* COMMAND GETKEYS command [arg ...] */
fn command_getkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = keys_of(ctx, args)?;
    ctx.array(keys.len());
    for (at, _) in keys {
        ctx.bulk(&args[2 + at]);
    }
    Ok(())
}

/* COMMAND GETKEYSANDFLAGS command [arg ...] */
fn command_getkeysandflags(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = keys_of(ctx, args)?;
    ctx.array(keys.len());
    for (at, flags) in keys {
        ctx.array(2);
        ctx.bulk(&args[2 + at]);
        let names = ferrokv_commands::keyspec::flag_names(flags);
        ctx.set_len(names.clone().count());
        for f in names {
            ctx.simple(f.as_bytes());
        }
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    ])
}

/* TIME */
fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ctx.array(2);
    ctx.bulk(now.as_secs().to_string().as_bytes());
    ctx.bulk(now.subsec_micros().to_string().as_bytes());
    Ok(())
}

/* SLOWLOG GET [count] */
fn slowlog_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = match args.get(2) {
        None => 10,
        Some(a) => {
            let n = args::int_or(a, "ERR count should be greater than or equal to -1")?;
            if n < -1 {
                return Err("ERR count should be greater than or equal to -1".into());
            }
            if n == -1 {
                usize::MAX
            } else {
                n as usize
            }
        }
    };
    let mut out = bytes::BytesMut::new();
    let shown = ctx.server.slowlog.with(|entries| {
        let shown = entries.len().min(count);
        for e in entries.iter().take(shown) {
            ferrokv_resp::encode::array_len(&mut out, 6);
            ferrokv_resp::encode::integer(&mut out, e.id as i64);
            ferrokv_resp::encode::integer(&mut out, e.time as i64);
            ferrokv_resp::encode::integer(&mut out, e.duration_us as i64);
            ferrokv_resp::encode::array_len(&mut out, e.args.len());
            for a in &e.args {
                ferrokv_resp::encode::bulk(&mut out, a);
            }
            ferrokv_resp::encode::bulk(&mut out, e.addr.as_bytes());
            ferrokv_resp::encode::bulk(&mut out, &e.name);
        }
        shown
    });
    ctx.array(shown);
    ctx.out.extend_from_slice(&out);
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.server.slowlog.len();
    ctx.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.slowlog.reset();
    ctx.ok()
}

fn slowlog_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ])
}

/* MONITOR */
fn monitor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.shared.has(kind::MONITOR) {
        return Ok(());
    }
    ctx.client.shared.set_flag(kind::MONITOR, true);
    ctx.server.monitors.lock().insert(ctx.client.id(), ctx.client.shared.clone());
    ctx.server.monitor_count.fetch_add(1, Ordering::Relaxed);
    ctx.ok()
}

/// `enable-debug-command` / `enable-protected-configs`: yes, no, or local clients only.
pub(crate) fn allowed_by(setting: DebugCommand, is_local: bool) -> bool {
    match setting {
        DebugCommand::Yes => true,
        DebugCommand::Local => is_local,
        DebugCommand::No => false,
    }
}

/* LATENCY LATEST */
fn latency_latest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let events = ctx.server.latency.snapshot();
    ctx.array(events.len());
    for (name, series) in events {
        let (ts, latest) = series.samples.back().copied().unwrap_or((0, 0));
        ctx.array(4);
        ctx.bulk(name.as_bytes());
        ctx.int(ts as i64);
        ctx.int(latest as i64);
        ctx.int(series.max as i64);
    }
    Ok(())
}

/* LATENCY HISTORY event */
fn latency_history(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let events = ctx.server.latency.snapshot();
    let name = String::from_utf8_lossy(&args[2]).to_string();
    let samples = events.get(name.as_str()).map(|s| s.samples.clone()).unwrap_or_default();
    ctx.array(samples.len());
    for (ts, ms) in samples {
        ctx.array(2);
        ctx.int(ts as i64);
        ctx.int(ms as i64);
    }
    Ok(())
}

/* LATENCY GRAPH event */
fn latency_graph(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let events = ctx.server.latency.snapshot();
    let name = String::from_utf8_lossy(&args[2]).to_string();
    let Some(series) = events.get(name.as_str()) else {
        return Err(format!("ERR No samples available for event '{name}'").into());
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    ctx.verbatim(series.graph(&name, now).as_bytes());
    Ok(())
}

/* LATENCY RESET [event ...] */
fn latency_reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let names: Vec<String> = args[2..].iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let n = ctx.server.latency.reset(&names);
    ctx.int(n as i64);
    Ok(())
}

/* LATENCY DOCTOR */
fn latency_doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let events = ctx.server.latency.snapshot();
    let threshold = ctx.server.config.read().latency_monitor_threshold;
    let text = if threshold == 0 {
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string()
    } else if events.is_empty() {
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n".to_string()
    } else {
        let mut t = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        for (i, (name, s)) in events.iter().enumerate() {
            let avg = s.samples.iter().map(|(_, v)| v).sum::<u64>() / s.samples.len().max(1) as u64;
            t.push_str(&format!("{}. {}: {} latency spikes (average {}ms, worst {}ms).\n", i + 1, name, s.samples.len(), avg, s.max));
        }
        t
    };
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/* LATENCY HISTOGRAM [command ...]: each named command (with its
subcommands), or every command that has run. */
fn latency_histogram(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let table = &ctx.server.commands;
    let mut found: Vec<(&str, Vec<u64>)> = Vec::new();
    let mut add = |e: &Entry| {
        if let Some(counts) = e.stats.latency.counts() {
            found.push((e.fullname, counts));
        }
    };
    if args.len() == 2 {
        let mut all: Vec<&Entry> = table.all_entries().collect();
        all.sort_by_key(|e| e.fullname);
        all.into_iter().for_each(&mut add);
    } else {
        for name in &args[2..] {
            let entry = match name.iter().position(|&b| b == b'|') {
                Some(bar) => table.get(&name[..bar]).and_then(|e| e.subcommand(&name[bar + 1..])),
                None => table.get(name),
            };
            if let Some(e) = entry {
                add(e);
                let mut subs: Vec<&Entry> = e.subcommands.values().collect();
                subs.sort_by_key(|s| s.fullname);
                subs.into_iter().for_each(&mut add);
            }
        }
    }
    ctx.map(found.len());
    for (name, counts) in found {
        ctx.bulk(name.as_bytes());
        ctx.map(2);
        ctx.bulk(b"calls");
        ctx.int(counts.iter().sum::<u64>() as i64);
        ctx.bulk(b"histogram_usec");
        let buckets = crate::histogram::cumulative_usec(&counts);
        ctx.map(buckets.len());
        for (usec, n) in buckets {
            ctx.int(usec as i64);
            ctx.int(n as i64);
        }
    }
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ])
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] */
fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut save, mut nosave, mut abort, mut force, mut now) = (false, false, false, false, false);
    for a in &args[1..] {
        if args::is(a, "nosave") {
            nosave = true;
        } else if args::is(a, "save") {
            save = true;
        } else if args::is(a, "now") {
            now = true;
        } else if args::is(a, "force") {
            force = true;
        } else if args::is(a, "abort") {
            abort = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    if (save && nosave) || (abort && args.len() > 2) {
        return Err(errors::SYNTAX.into());
    }
    if abort {
        return Err("ERR No shutdown in progress.".into());
    }
    tracing::warn!("User requested shutdown...");
    let server = ctx.server;
    let req = crate::shutdown::Request { save: (save || nosave).then_some(save), now, force };
    if crate::shutdown::must_wait(server, req) {
        // Finished by the connection once the replicas caught up.
        ctx.client.shutdown = Some(req);
        return Ok(());
    }
    let Some(ks) = ctx.view.keyspace_for_reading() else {
        return Err("ERR SHUTDOWN needs exclusive access to the keyspace".into());
    };
    if !crate::persistence::snapshot::final_save(server, ks, req.saves(server), force) {
        return Err("ERR Errors trying to SHUTDOWN. Check logs.".into());
    }
    ctx.client.close_after_reply = true;
    server.shutdown();
    Ok(())
}
