//! INFO: Redis 7.0's sections and field names, with the values this node
//! actually has. Fields for subsystems not built yet report their idle
//! state (no persistence, no replicas) rather than being left out, so tools
//! that parse INFO keep working.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use ferrokv_storage::lru_clock;
use ferrokv_storage::memory::TableOverhead;

use crate::command::Table;
use crate::pubsub::Kind;
use crate::server::Server;

/// Sections in Redis's order, and whether plain `INFO` includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Builds the reply for `INFO [section ...]`; `dbs` are each database's
/// keys and tables (`Keyspace::table_overheads`).
pub fn render(server: &Server, requested: &[String], dbs: &[TableOverhead]) -> String {
    let wanted: Vec<&str> = SECTIONS
        .iter()
        .filter(|(name, default)| {
            if requested.is_empty() || requested.iter().any(|r| r == "default") {
                *default || requested.iter().any(|r| r == name)
            } else {
                requested.iter().any(|r| r == "all" || r == "everything" || r == name)
            }
        })
        .map(|(n, _)| *n)
        .collect();
    let mut out = String::new();
    for (i, name) in wanted.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        section(server, name, dbs, &mut out);
    }
    out
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Bytes allocated (Redis's `zmalloc_used_memory`), as the counting
/// allocator keeps them (see `ferrokv_util::alloc`).
pub fn used_memory() -> u64 {
    ferrokv_util::alloc::used_memory() as u64
}

/// Returns freed pages to the OS now, as Redis does after a synchronous
/// FLUSHALL/FLUSHDB (jemalloc would otherwise keep them until decay).
pub fn purge_allocator() {
    #[cfg(feature = "jemalloc")]
    // SAFETY: "arena.<MALLCTL_ARENAS_ALL>.purge" takes no input or output.
    unsafe {
        tikv_jemalloc_sys::mallctl(c"arena.4096.purge".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0);
    }
}

/// jemalloc's (allocated, active, resident) bytes, read fresh (MEMORY
/// STATS, DOCTOR): slow, so never on a command's path.
pub fn allocator_stats() -> (u64, u64, u64) {
    #[cfg(feature = "jemalloc")]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        let _ = epoch::advance();
        let read = |r: tikv_jemalloc_ctl::Result<usize>| r.unwrap_or(0) as u64;
        (read(stats::allocated::read()), read(stats::active::read()), read(stats::resident::read()))
    }
    #[cfg(not(feature = "jemalloc"))]
    {
        let used = used_memory();
        (used, used, rss())
    }
}

/// MEMORY MALLOC-STATS: jemalloc's own report.
pub fn allocator_report() -> String {
    #[cfg(feature = "jemalloc")]
    {
        extern "C" fn write(out: *mut libc::c_void, text: *const libc::c_char) {
            // SAFETY: `out` is the String passed below; jemalloc hands a
            // NUL-terminated string valid for this call.
            unsafe { (*(out as *mut String)).push_str(&std::ffi::CStr::from_ptr(text).to_string_lossy()) }
        }
        let mut text = String::new();
        // SAFETY: the callback only appends to `text`, which outlives the call.
        unsafe { tikv_jemalloc_sys::malloc_stats_print(Some(write), &mut text as *mut String as *mut libc::c_void, std::ptr::null()) };
        text
    }
    #[cfg(not(feature = "jemalloc"))]
    {
        "Stats not supported for the current allocator".into()
    }
}

pub fn allocator_name() -> &'static str {
    if cfg!(feature = "jemalloc") {
        "jemalloc"
    } else {
        "libc"
    }
}

pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

fn total_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) as u64 * libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

fn cpu(who: i32) -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn uname() -> String {
    // SAFETY: uname writes into the struct we own.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let f = |s: &[libc::c_char]| unsafe { std::ffi::CStr::from_ptr(s.as_ptr()) }.to_string_lossy().into_owned();
    format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
}

fn section(server: &Server, name: &str, dbs: &[TableOverhead], out: &mut String) {
    let c = server.config.read().clone();
    let s = &server.stats;
    let ks = &server.store.stats;
    let l = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed);
    macro_rules! w {
        ($($arg:tt)*) => { let _ = write!(out, $($arg)*); };
    }
    match name {
        "server" => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            w!("# Server\r\nredis_version:{}\r\nferrokv_version:{}\r\nferrokv_tls_port:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                crate::REDIS_VERSION, env!("CARGO_PKG_VERSION"), server.tls_port.load(Ordering::Relaxed), uname(), std::process::id(), server.run_id, server.tcp_port.load(Ordering::Relaxed),
                now.as_micros(), server.uptime().as_secs(), server.uptime().as_secs() / 86400, c.hz, c.hz, lru_clock(),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                server.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
        }
        "clients" => {
            w!("# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:0\r\n",
                server.connected.load(Ordering::Relaxed), c.maxclients, server.blocking.count(), server.tracking.clients());
        }
        "memory" => memory(server, &c, dbs, out),
        "persistence" => {
            w!("# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                ks.dirty.get(), crate::persistence::bgsave::in_progress(server) as u8, l(&server.persistence.last_save),
                if server.persistence.last_bgsave_failed.load(Ordering::Relaxed) { "err" } else { "ok" },
                if server.persistence.saves.load(Ordering::Relaxed) > 0 || server.persistence.last_bgsave_failed.load(Ordering::Relaxed) { server.persistence.last_bgsave_secs.load(Ordering::Relaxed) } else { -1 },
                server.persistence.bgsave_started.lock().map_or(-1, |t| t.elapsed().as_secs() as i64),
                l(&server.persistence.saves), l(&server.persistence.last_load_keys_expired), l(&server.persistence.last_load_keys_loaded),
                server.aof.enabled() as u8, server.aof.rewrite_running.load(Ordering::Relaxed) as u8, l(&server.aof.rewrites),
                if server.aof.failing() { "err" } else { "ok" });
        }
        "stats" => {
            let tracked = server.tracking.totals();
            w!("# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{}\r\nevicted_clients:{}\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                l(&s.connections_received), s.commands_processed.get(), server.ops_per_sec.load(Ordering::Relaxed), l(&s.net_input_bytes), l(&s.net_output_bytes),
                l(&s.rejected_connections), l(&server.repl.sync_full), l(&server.repl.sync_partial_ok), l(&server.repl.sync_partial_err), l(&ks.expired_keys), l(&ks.evicted_keys), l(&s.evicted_clients), ks.keyspace_hits.get(), ks.keyspace_misses.get(),
                server.pubsub.count(Kind::Channel), server.pubsub.count(Kind::Pattern), server.pubsub.count(Kind::Shard), tracked.0, tracked.1, tracked.2, l(&s.error_replies), l(&s.reads_processed), l(&s.writes_processed));
        }
        "replication" => crate::replication::info(server, out),
        "cpu" => {
            let (sys, user) = cpu(libc::RUSAGE_SELF);
            let (csys, cuser) = cpu(libc::RUSAGE_CHILDREN);
            w!("# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\nused_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n");
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            commandstats(&server.commands, out);
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            let errors = s.errors.lock();
            let mut codes: Vec<_> = errors.iter().collect();
            codes.sort();
            for (code, n) in codes {
                w!("errorstat_{code}:count={n}\r\n");
            }
        }
        "latencystats" => {
            out.push_str("# Latencystats\r\n");
            latencystats(server, out);
        }
        "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (i, TableOverhead { keys, volatile: expires, .. }) in dbs.iter().enumerate() {
                if *keys > 0 {
                    w!("db{i}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}

/// INFO memory, every Redis 7.0 field in Redis's order.
fn memory(server: &Server, c: &crate::config::Config, dbs: &[TableOverhead], out: &mut String) {
    use crate::admin::memory::{ratio, Overhead};
    let o = Overhead::collect(server, dbs);
    let (used, peak) = (o.total, o.peak);
    let rss = rss();
    let (allocated, active, resident) = allocator_stats();
    let total = total_memory();
    // Redis reports an idle VM's ~30 KB before any script ran.
    let (lua, scripts_bytes, scripts) = server.scripts.lock().as_ref().map_or((31744, 0, 0), |e| (e.vm_memory(), e.source_bytes(), e.len()));
    let (vm_functions, functions_bytes) = server.functions.lock().as_ref().map_or((31744, 0), |f| (f.vm_memory(), f.overhead()));
    let counts = &server.function_counts;
    let (vm_total, scripts_total) = ((lua + vm_functions) as u64, (scripts_bytes + functions_bytes) as u64);
    let lazy = server.store.lazyfree.counts();
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    let policy = crate::config::table::find("maxmemory-policy").map(|d| d.get(c)).unwrap_or_default();
    let fields: [(&str, String); 51] = [
        ("used_memory", used.to_string()),
        ("used_memory_human", human(used)),
        ("used_memory_rss", rss.to_string()),
        ("used_memory_rss_human", human(rss)),
        ("used_memory_peak", peak.to_string()),
        ("used_memory_peak_human", human(peak)),
        ("used_memory_peak_perc", format!("{:.2}%", ratio(used * 100, peak))),
        ("used_memory_overhead", o.overhead().to_string()),
        ("used_memory_startup", o.startup.to_string()),
        ("used_memory_dataset", o.dataset().to_string()),
        ("used_memory_dataset_perc", format!("{:.2}%", o.dataset_percentage())),
        ("allocator_allocated", allocated.to_string()),
        ("allocator_active", active.to_string()),
        ("allocator_resident", resident.to_string()),
        ("total_system_memory", total.to_string()),
        ("total_system_memory_human", human(total)),
        ("used_memory_lua", lua.to_string()),
        ("used_memory_vm_eval", lua.to_string()),
        ("used_memory_lua_human", human(lua as u64)),
        ("used_memory_scripts_eval", scripts_bytes.to_string()),
        ("number_of_cached_scripts", scripts.to_string()),
        ("number_of_functions", counts.functions.load(Ordering::Relaxed).to_string()),
        ("number_of_libraries", counts.libraries.load(Ordering::Relaxed).to_string()),
        ("used_memory_vm_functions", vm_functions.to_string()),
        ("used_memory_vm_total", vm_total.to_string()),
        ("used_memory_vm_total_human", human(vm_total)),
        ("used_memory_functions", functions_bytes.to_string()),
        ("used_memory_scripts", scripts_total.to_string()),
        ("used_memory_scripts_human", human(scripts_total)),
        ("maxmemory", c.maxmemory.to_string()),
        ("maxmemory_human", human(c.maxmemory)),
        ("maxmemory_policy", policy),
        ("allocator_frag_ratio", format!("{:.2}", ratio(active, allocated))),
        ("allocator_frag_bytes", diff(active, allocated).to_string()),
        ("allocator_rss_ratio", format!("{:.2}", ratio(resident, active))),
        ("allocator_rss_bytes", diff(resident, active).to_string()),
        ("rss_overhead_ratio", format!("{:.2}", ratio(rss, resident))),
        ("rss_overhead_bytes", diff(rss, resident).to_string()),
        ("mem_fragmentation_ratio", format!("{:.2}", ratio(rss, used))),
        ("mem_fragmentation_bytes", diff(rss, used).to_string()),
        ("mem_not_counted_for_evict", "0".into()),
        ("mem_replication_backlog", o.backlog.to_string()),
        ("mem_total_replication_buffers", o.backlog.to_string()),
        ("mem_clients_slaves", "0".into()),
        ("mem_clients_normal", o.clients_normal.to_string()),
        ("mem_cluster_links", "0".into()),
        ("mem_aof_buffer", "0".into()),
        ("mem_allocator", allocator_name().into()),
        ("active_defrag_running", "0".into()),
        ("lazyfree_pending_objects", lazy.pending.load(Ordering::Relaxed).to_string()),
        ("lazyfreed_objects", lazy.freed.load(Ordering::Relaxed).to_string()),
    ];
    out.push_str("# Memory\r\n");
    for (name, value) in fields {
        let _ = write!(out, "{name}:{value}\r\n");
    }
}

/// `latency_percentiles_usec_<cmd>:p50=…,p99=…` for every command that
/// ran, at the `latency-tracking-info-percentiles`, as Redis prints them.
fn latencystats(server: &Server, out: &mut String) {
    let percentiles: Vec<f64> = server.config.read().value("latency-tracking-info-percentiles").split_whitespace().filter_map(|p| p.parse().ok()).collect();
    let mut entries: Vec<_> = server.commands.all_entries().collect();
    entries.sort_by_key(|e| e.fullname);
    for e in entries {
        let Some(counts) = e.stats.latency.counts() else { continue };
        let values: Vec<String> =
            percentiles.iter().map(|&p| format!("p{p}={:.3}", crate::histogram::value_at_percentile(&counts, p) as f64 / 1000.0)).collect();
        let _ = write!(out, "latency_percentiles_usec_{}:{}\r\n", e.fullname, values.join(","));
    }
}

fn commandstats(table: &Table, out: &mut String) {
    let mut entries: Vec<_> = table.all_entries().collect();
    entries.sort_by_key(|e| e.fullname);
    for e in entries {
        let calls = e.stats.calls.get();
        let usec = e.stats.usec.get();
        let rejected = e.stats.rejected.load(Ordering::Relaxed);
        let failed = e.stats.failed.load(Ordering::Relaxed);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let per = if calls > 0 { usec as f64 / calls as f64 } else { 0.0 };
        let _ = write!(out, "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n", e.fullname);
    }
}
