//! MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP (Redis's
//! object.c memory commands). Sizes come from the counting allocator and
//! `ferrokv_storage::memory` (docs/memory.md).

use bytes::Bytes;
use ferrokv_commands::keyspec::{flags::*, KeySpec};
use ferrokv_commands::{cmd, container};

use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::CmdResult;
use crate::info::{allocator_stats, rss, used_memory};
use crate::server::Server;
use ferrokv_storage::memory::TableOverhead;

const DIAGNOSTICS: &[&str] = &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"];

pub static COMMANDS: &[Command] = &[container!("memory", "4.0.0", -2, MEMORY, "server", "A container for memory diagnostics commands")];

static MEMORY: &[Command] = &[
    cmd!("doctor", "4.0.0", 2, 0, &[], (0, 0, 0), doctor, "server", "Outputs memory problems report", tips = DIAGNOSTICS),
    cmd!("help", "4.0.0", 2, LOADING | STALE, &[], (0, 0, 0), help, "server", "Show helpful text about the different subcommands"),
    cmd!("malloc-stats", "4.0.0", 2, 0, &[], (0, 0, 0), malloc_stats, "server", "Show allocator internal stats", tips = DIAGNOSTICS),
    cmd!(
        "purge",
        "4.0.0",
        2,
        0,
        &[],
        (0, 0, 0),
        purge,
        "server",
        "Ask the allocator to release memory",
        tips = &["request_policy:all_shards", "response_policy:all_succeeded"]
    ),
    cmd!("stats", "4.0.0", 2, WHOLE, &[], (0, 0, 0), stats, "server", "Show memory usage details", tips = DIAGNOSTICS),
    cmd!(
        "usage",
        "4.0.0",
        -3,
        READONLY,
        &["read"],
        (2, 2, 1),
        usage,
        "server",
        "Estimate the memory usage of a key",
        key_specs = &[KeySpec::range(2, 0, 1, RO)]
    ),
];

/// OBJ_COMPUTE_SIZE_DEF_SAMPLES.
const DEFAULT_SAMPLES: usize = 5;

/* MEMORY USAGE key [SAMPLES count] */
fn usage(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut rest = args[3..].iter();
    while let Some(opt) = rest.next() {
        match rest.next() {
            Some(n) if crate::args::is(opt, "samples") => {
                let n = crate::args::int(n)?;
                samples = usize::try_from(n).map_err(|_| crate::errors::RedisError::from(crate::errors::SYNTAX))?;
            }
            _ => return Err(crate::errors::SYNTAX.into()),
        }
    }
    match ctx.view.memory_usage(&args[2], samples) {
        Some(bytes) => ctx.int(bytes as i64),
        None => ctx.null(),
    }
    Ok(())
}

/// What MEMORY STATS and INFO memory report, as Redis's
/// `getMemoryOverheadData`.
pub(crate) struct Overhead {
    pub peak: u64,
    pub total: u64,
    pub startup: u64,
    pub backlog: u64,
    pub lua_caches: u64,
    pub functions_caches: u64,
    /// Every normal and pub/sub client's buffers and structures.
    pub clients_normal: u64,
    /// Per database with keys: (index, main table, expiry table).
    pub dbs: Vec<(usize, u64, u64)>,
    pub keys: u64,
}

impl Overhead {
    /// `tables`: each database's (`Keyspace::table_overheads`).
    pub(crate) fn collect(server: &Server, tables: &[TableOverhead]) -> Overhead {
        let total = used_memory();
        let peak = server.memory_peak.fetch_max(total, std::sync::atomic::Ordering::Relaxed).max(total);
        let backlog = server.repl.log.lock().backlog.as_ref().map_or(0, |b| b.histlen());
        let lua_caches = server.scripts.lock().as_ref().map_or(0, |e| e.source_bytes() as u64);
        let functions_caches = server.functions.lock().as_ref().map_or(0, |f| f.overhead() as u64);
        let dbs: Vec<_> = tables.iter().enumerate().filter(|(_, t)| t.keys > 0).map(|(i, t)| (i, t.main as u64, t.expires as u64)).collect();
        let keys = tables.iter().map(|t| t.keys as u64).sum();
        let clients_normal = server.clients_memory.load(std::sync::atomic::Ordering::Relaxed) as u64;
        Overhead { peak, total, startup: server.memory_at_startup, backlog, lua_caches, functions_caches, clients_normal, dbs, keys }
    }

    pub(crate) fn overhead(&self) -> u64 {
        self.startup + self.backlog + self.lua_caches + self.functions_caches + self.clients_normal + self.dbs.iter().map(|(_, m, e)| m + e).sum::<u64>()
    }

    /// The dataset: everything allocated beyond the overhead.
    pub(crate) fn dataset(&self) -> u64 {
        self.total.saturating_sub(self.overhead())
    }

    /// The dataset's share of what was allocated since start-up.
    pub(crate) fn dataset_percentage(&self) -> f64 {
        ratio(self.dataset() * 100, self.total.saturating_sub(self.startup))
    }
}

pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/* MEMORY STATS */
fn stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let tables = ctx.view.keyspace_for_reading().map(|ks| ks.table_overheads()).unwrap_or_default();
    let o = Overhead::collect(ctx.server, &tables);
    let overhead = o.overhead();
    let net = o.total.saturating_sub(o.startup);
    let dataset = o.dataset();
    let (allocated, active, resident) = allocator_stats();
    let rss = rss();
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    ctx.map(27 + o.dbs.len());
    for (name, n) in [
        ("peak.allocated", o.peak),
        ("total.allocated", o.total),
        ("startup.allocated", o.startup),
        ("replication.backlog", o.backlog),
        ("clients.slaves", 0),
        ("clients.normal", o.clients_normal),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", o.lua_caches),
        ("functions.caches", o.functions_caches),
    ] {
        ctx.bulk(name.as_bytes());
        ctx.int(n as i64);
    }
    for &(db, main, expires) in &o.dbs {
        ctx.bulk(format!("db.{db}").as_bytes());
        ctx.map(2);
        ctx.bulk(b"overhead.hashtable.main");
        ctx.int(main as i64);
        ctx.bulk(b"overhead.hashtable.expires");
        ctx.int(expires as i64);
    }
    let ints = [
        ("overhead.total", overhead as i64),
        ("keys.count", o.keys as i64),
        ("keys.bytes-per-key", net.checked_div(o.keys).unwrap_or(0) as i64),
        ("dataset.bytes", dataset as i64),
    ];
    for (name, n) in ints {
        ctx.bulk(name.as_bytes());
        ctx.int(n);
    }
    for (name, d) in [("dataset.percentage", o.dataset_percentage()), ("peak.percentage", ratio(o.total * 100, o.peak))] {
        ctx.bulk(name.as_bytes());
        ctx.double(d);
    }
    for (name, n) in [("allocator.allocated", allocated), ("allocator.active", active), ("allocator.resident", resident)] {
        ctx.bulk(name.as_bytes());
        ctx.int(n as i64);
    }
    let pairs = [
        ("allocator-fragmentation", ratio(active, allocated), diff(active, allocated)),
        ("allocator-rss", ratio(resident, active), diff(resident, active)),
        ("rss-overhead", ratio(rss, resident), diff(rss, resident)),
    ];
    for (name, r, bytes) in pairs {
        ctx.bulk(format!("{name}.ratio").as_bytes());
        ctx.double(r);
        ctx.bulk(format!("{name}.bytes").as_bytes());
        ctx.int(bytes);
    }
    ctx.bulk(b"fragmentation");
    ctx.double(ratio(rss, o.total));
    ctx.bulk(b"fragmentation.bytes");
    ctx.int(diff(rss, o.total));
    Ok(())
}

/// Below this Redis's doctor declines to judge.
const DOCTOR_MIN_USED: u64 = 5 << 20;

/* MEMORY DOCTOR */
fn doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let text = doctor_report(ctx.server);
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/// Redis's getMemoryDoctorReport, for the conditions this node can see.
fn doctor_report(server: &Server) -> String {
    let used = used_memory();
    if used < DOCTOR_MIN_USED {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    let peak = server.memory_peak.load(std::sync::atomic::Ordering::Relaxed).max(used);
    let rss = rss();
    let (allocated, active, resident) = allocator_stats();
    let scripts = server.scripts.lock().as_ref().map_or(0, |e| e.len());
    let mut reports = Vec::new();
    if peak as f64 / used as f64 > 1.5 {
        reports.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.".to_string());
    }
    if rss as f64 / used as f64 > 1.4 && rss.saturating_sub(used) > 10 << 20 {
        reports.push(format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"{}\".", crate::info::allocator_name()));
    }
    if allocated > 0 && active as f64 / allocated as f64 > 1.1 && active - allocated > 10 << 20 {
        reports.push(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.".into());
    }
    if active > 0 && resident as f64 / active as f64 > 1.1 && resident - active > 10 << 20 {
        reports.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.".into());
    }
    if resident > 0 && rss as f64 / resident as f64 > 1.1 && rss.saturating_sub(resident) > 10 << 20 {
        reports.push(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.".into());
    }
    if scripts > 1000 {
        reports.push(" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.".into());
    }
    if reports.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
    }
    let mut text = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    for r in reports {
        text.push_str(&r);
        text.push_str("\n\n");
    }
    text.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    text
}

/* MEMORY MALLOC-STATS */
fn malloc_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let text = crate::info::allocator_report();
    ctx.verbatim(text.as_bytes());
    Ok(())
}

/* MEMORY PURGE */
fn purge(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    crate::info::purge_allocator();
    ctx.ok()
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.help(&[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ])
}
