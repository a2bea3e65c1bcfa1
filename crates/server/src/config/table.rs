//! The directive table. Each entry knows how to parse, validate, print and
//! (for REWRITE) compare its value with the default.

use super::{Config, DebugCommand, LogLevel, MaxmemoryPolicy, MemoryOrPercent};

type Get = fn(&Config) -> String;
type Set = fn(&mut Config, &[String]) -> Result<(), String>;

pub struct Directive {
    pub name: &'static str,
    /// Old names Redis still accepts (e.g. `slaveof` for `replicaof`).
    pub aliases: &'static [&'static str],
    /// Cannot change while running (CONFIG SET refuses it).
    pub immutable: bool,
    /// Settable by CONFIG SET only as `enable-protected-configs` allows.
    pub protected: bool,
    /// Takes several arguments on one line (`bind a b`); others take one.
    pub multi_arg: bool,
    pub get: Get,
    pub set: Set,
    /// The value as a config file line would write it (memory units…).
    pub rewrite: Option<Get>,
}

fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [v] => Ok(v),
        _ => Err("wrong number of arguments".into()),
    }
}

pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// Redis's `memtoll`: an integer with an optional unit (k, kb, m, mb, g, gb).
pub fn parse_memory(v: &str) -> Option<i64> {
    let lower = v.to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    ferrokv_resp::parse_i64(num.as_bytes())?.checked_mul(mul)
}

fn int_in(v: &str, min: i64, max: i64, memory: bool) -> Result<i64, String> {
    let n = if memory {
        parse_memory(v).ok_or("argument must be a memory value")?
    } else {
        ferrokv_resp::parse_i64(v.as_bytes()).ok_or("argument couldn't be parsed into an integer")?
    };
    if n < min || n > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(n)
}

fn enum_of<T: Copy>(v: &str, names: &[(&str, T)]) -> Result<T, String> {
    names
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(v))
        .map(|(_, t)| *t)
        .ok_or_else(|| format!("argument(s) must be one of the following: {}", names.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")))
}

fn name_of<T: PartialEq>(v: T, names: &[(&'static str, T)]) -> String {
    names.iter().find(|(_, t)| *t == v).map(|(n, _)| n.to_string()).unwrap_or_default()
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes, as config
/// files and MONITOR lines show values.
pub fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Memory values are written back with the largest exact unit, as Redis does.
pub fn memory_to_string(n: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    if n != 0 && n % GB == 0 {
        format!("{}gb", n / GB)
    } else if n != 0 && n % MB == 0 {
        format!("{}mb", n / MB)
    } else if n != 0 && n % 1024 == 0 {
        format!("{}kb", n / 1024)
    } else {
        n.to_string()
    }
}

const LOGLEVELS: &[(&str, LogLevel)] =
    &[("debug", LogLevel::Debug), ("verbose", LogLevel::Verbose), ("notice", LogLevel::Notice), ("warning", LogLevel::Warning)];
const FSYNC: &[(&str, u8)] =
    &[("always", crate::persistence::aof::fsync::ALWAYS), ("everysec", crate::persistence::aof::fsync::EVERYSEC), ("no", crate::persistence::aof::fsync::NO)];
const DEBUG_CMD: &[(&str, DebugCommand)] = &[("no", DebugCommand::No), ("yes", DebugCommand::Yes), ("local", DebugCommand::Local)];
const POLICIES: &[(&str, MaxmemoryPolicy)] = &[
    ("volatile-lru", MaxmemoryPolicy::VolatileLru),
    ("volatile-lfu", MaxmemoryPolicy::VolatileLfu),
    ("volatile-random", MaxmemoryPolicy::VolatileRandom),
    ("volatile-ttl", MaxmemoryPolicy::VolatileTtl),
    ("allkeys-lru", MaxmemoryPolicy::AllkeysLru),
    ("allkeys-lfu", MaxmemoryPolicy::AllkeysLfu),
    ("allkeys-random", MaxmemoryPolicy::AllkeysRandom),
    ("noeviction", MaxmemoryPolicy::NoEviction),
];

macro_rules! int_directive {
    ($name:expr, $field:ident, $ty:ty, $min:expr, $max:expr, $memory:expr, $immutable:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            immutable: $immutable,
            protected: false,
            multi_arg: false,
            get: |c| c.$field.to_string(),
            set: |c, a| {
                c.$field = int_in(one(a)?, $min, $max, $memory)? as $ty;
                Ok(())
            },
            rewrite: if $memory { Some(|c| memory_to_string(c.$field as i64)) } else { None },
        }
    };
}

macro_rules! bool_directive {
    ($name:expr, $field:ident) => {
        bool_directive!($name, $field, false)
    };
    ($name:expr, $field:ident, $immutable:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            immutable: $immutable,
            protected: false,
            multi_arg: false,
            get: |c| if c.$field { "yes".into() } else { "no".into() },
            set: |c, a| {
                c.$field = parse_bool(one(a)?)?;
                Ok(())
            },
            rewrite: None,
        }
    };
}

macro_rules! enum_directive {
    ($name:expr, $field:ident, $names:expr, $immutable:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            immutable: $immutable,
            protected: false,
            multi_arg: false,
            get: |c| name_of(c.$field, $names),
            set: |c, a| {
                c.$field = enum_of(one(a)?, $names)?;
                Ok(())
            },
            rewrite: None,
        }
    };
}

macro_rules! string_directive {
    ($name:expr, $field:ident, $immutable:expr) => {
        Directive {
            name: $name,
            aliases: &[],
            immutable: $immutable,
            protected: false,
            multi_arg: false,
            get: |c| c.$field.to_string(),
            set: |c, a| {
                c.$field = one(a)?.to_string();
                Ok(())
            },
            rewrite: Some(|c| repr(c.$field.as_bytes())),
        }
    };
}

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "bind",
        aliases: &[],
        immutable: false,
        protected: false,
        multi_arg: true,
        get: |c| c.bind.join(" "),
        set: |c, a| {
            if a.is_empty() {
                return Err("wrong number of arguments".into());
            }
            // CONFIG SET passes one space-separated string; a file line many.
            c.bind = a.iter().flat_map(|s| s.split_whitespace()).map(String::from).collect();
            Ok(())
        },
        rewrite: None,
    },
    Directive {
        name: "save",
        aliases: &[],
        immutable: false,
        protected: false,
        multi_arg: true,
        get: |c| c.save.iter().map(|(secs, changes)| format!("{secs} {changes}")).collect::<Vec<_>>().join(" "),
        set: |c, a| {
            // CONFIG SET passes "3600 1 300 100"; a file or argv may split it; "" disables.
            let words: Vec<&str> = a.iter().flat_map(|s| s.split_whitespace()).collect();
            if !words.len().is_multiple_of(2) {
                return Err("Invalid save parameters".into());
            }
            let mut points = Vec::new();
            for pair in words.chunks(2) {
                match (pair[0].parse::<u64>(), pair[1].parse::<u64>()) {
                    (Ok(secs), Ok(changes)) if secs <= i32::MAX as u64 && changes <= i32::MAX as u64 => points.push((secs, changes)),
                    _ => return Err("Invalid save parameters".into()),
                }
            }
            c.save = points;
            Ok(())
        },
        // No save points is written `save ""`, as Redis does (an absent
        // line would mean the defaults on the next start).
        rewrite: Some(|c| {
            if c.save.is_empty() {
                "\"\"".into()
            } else {
                c.save.iter().map(|(secs, changes)| format!("{secs} {changes}")).collect::<Vec<_>>().join(" ")
            }
        }),
    },
    int_directive!("port", port, u16, 0, 65535, false, false),
    string_directive!("unixsocket", unixsocket, true),
    Directive {
        name: "unixsocketperm",
        aliases: &[],
        immutable: true,
        protected: false,
        multi_arg: false,
        get: |c| format!("{:o}", c.unixsocketperm),
        set: |c, a| {
            let v = one(a)?;
            c.unixsocketperm = u32::from_str_radix(v, 8).ok().filter(|p| *p <= 0o777).ok_or("argument couldn't be parsed into an integer")?;
            Ok(())
        },
        rewrite: None,
    },
    int_directive!("maxclients", maxclients, u64, 1, u32::MAX as i64, false, false),
    int_directive!("timeout", timeout, u64, 0, i32::MAX as i64, false, false),
    int_directive!("tcp-keepalive", tcp_keepalive, u64, 0, i32::MAX as i64, false, false),
    int_directive!("tcp-backlog", tcp_backlog, u64, 0, i32::MAX as i64, false, true),
    string_directive!("requirepass", requirepass, false),
    int_directive!("databases", databases, usize, 1, i32::MAX as i64, false, true),
    Directive {
        name: "dir",
        aliases: &[],
        immutable: false,
        protected: true,
        multi_arg: false,
        get: |c| c.dir.display().to_string(),
        set: |c, a| {
            let dir = std::path::PathBuf::from(one(a)?);
            // Redis refuses a missing directory; we create it, so a fresh
            // checkout can run with `--dir ./data`.
            std::fs::create_dir_all(&dir).map_err(|e| format!("Can't chdir to '{}': {e}", dir.display()))?;
            c.dir = std::fs::canonicalize(&dir).map_err(|e| format!("Can't chdir to '{}': {e}", dir.display()))?;
            Ok(())
        },
        rewrite: Some(|c| repr(c.dir.display().to_string().as_bytes())),
    },
    string_directive!("logfile", logfile, true),
    string_directive!("pidfile", pidfile, true),
    enum_directive!("loglevel", loglevel, LOGLEVELS, false),
    bool_directive!("protected-mode", protected_mode),
    bool_directive!("rdbcompression", rdbcompression),
    Directive {
        name: "dbfilename",
        aliases: &[],
        immutable: false,
        protected: true,
        multi_arg: false,
        get: |c| c.dbfilename.clone(),
        set: |c, a| {
            let name = one(a)?;
            if name.contains('/') || name.is_empty() || name == "." || name == ".." {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = name.to_string();
            Ok(())
        },
        rewrite: Some(|c| repr(c.dbfilename.as_bytes())),
    },
    bool_directive!("rdbchecksum", rdbchecksum, true),
    bool_directive!("stop-writes-on-bgsave-error", stop_writes_on_bgsave_error),
    bool_directive!("appendonly", appendonly),
    enum_directive!("appendfsync", appendfsync, FSYNC, false),
    Directive { protected: true, ..string_directive!("appenddirname", appenddirname, true) },
    Directive { protected: true, ..string_directive!("appendfilename", appendfilename, true) },
    bool_directive!("aof-use-rdb-preamble", aof_use_rdb_preamble),
    bool_directive!("aof-load-truncated", aof_load_truncated),
    int_directive!("auto-aof-rewrite-percentage", auto_aof_rewrite_percentage, u64, 0, i32::MAX as i64, false, false),
    int_directive!("auto-aof-rewrite-min-size", auto_aof_rewrite_min_size, i64, 0, i64::MAX, true, false),
    Directive {
        name: "hz",
        aliases: &[],
        immutable: false,
        protected: false,
        multi_arg: false,
        get: |c| c.hz.to_string(),
        set: |c, a| {
            // Redis clamps rather than refuses: 1..=500.
            c.hz = int_in(one(a)?, 0, i32::MAX as i64, false)?.clamp(1, 500) as u64;
            Ok(())
        },
        rewrite: None,
    },
    enum_directive!("enable-debug-command", enable_debug_command, DEBUG_CMD, true),
    enum_directive!("enable-protected-configs", enable_protected_configs, DEBUG_CMD, true),
    int_directive!("proto-max-bulk-len", proto_max_bulk_len, i64, 1024 * 1024, i64::MAX, true, false),
    int_directive!("client-query-buffer-limit", client_query_buffer_limit, i64, 1024 * 1024, i64::MAX, true, false),
    int_directive!("slowlog-log-slower-than", slowlog_log_slower_than, i64, -1, i64::MAX, false, false),
    int_directive!("slowlog-max-len", slowlog_max_len, u64, 0, i64::MAX, false, false),
    int_directive!("latency-monitor-threshold", latency_monitor_threshold, u64, 0, i64::MAX, false, false),
    int_directive!("maxmemory", maxmemory, u64, 0, i64::MAX, true, false),
    enum_directive!("maxmemory-policy", maxmemory_policy, POLICIES, false),
    int_directive!("maxmemory-samples", maxmemory_samples, u64, 1, i32::MAX as i64, false, false),
    int_directive!("maxmemory-eviction-tenacity", maxmemory_eviction_tenacity, u64, 0, 100, false, false),
    int_directive!("lfu-log-factor", lfu_log_factor, u64, 0, i32::MAX as i64, false, false),
    int_directive!("lfu-decay-time", lfu_decay_time, u64, 0, i32::MAX as i64, false, false),
    bool_directive!("lazyfree-lazy-eviction", lazyfree_lazy_eviction),
    Directive { aliases: &["slave-ignore-maxmemory"], ..bool_directive!("replica-ignore-maxmemory", replica_ignore_maxmemory) },
    Directive {
        name: "maxmemory-clients",
        aliases: &[],
        immutable: false,
        protected: false,
        multi_arg: false,
        get: |c| match c.maxmemory_clients {
            MemoryOrPercent::Bytes(b) => b.to_string(),
            MemoryOrPercent::Percent(p) => format!("{p}%"),
        },
        set: |c, a| {
            let v = one(a)?;
            c.maxmemory_clients = match v.strip_suffix('%') {
                Some(p) => match ferrokv_resp::parse_i64(p.as_bytes()) {
                    Some(p) if p > 100 => return Err("percentage argument must be less or equal to 100".into()),
                    Some(p) if p >= 0 => MemoryOrPercent::Percent(p as u64),
                    _ => return Err("argument must be a memory or percent value".into()),
                },
                None => MemoryOrPercent::Bytes(parse_memory(v).filter(|n| *n >= 0).ok_or("argument must be a memory or percent value")? as u64),
            };
            Ok(())
        },
        rewrite: Some(|c| match c.maxmemory_clients {
            MemoryOrPercent::Bytes(b) => memory_to_string(b as i64),
            MemoryOrPercent::Percent(p) => format!("{p}%"),
        }),
    },
    Directive {
        name: "notify-keyspace-events",
        aliases: &[],
        immutable: false,
        protected: false,
        multi_arg: false,
        get: |c| ferrokv_storage::events::to_string(c.notify_keyspace_events),
        set: |c, a| {
            c.notify_keyspace_events = ferrokv_storage::events::parse(one(a)?).ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            Ok(())
        },
        rewrite: Some(|c| repr(ferrokv_storage::events::to_string(c.notify_keyspace_events).as_bytes())),
    },
    int_directive!("io-threads", io_threads, u64, 1, 128, false, true),
    Directive { aliases: &["lua-time-limit"], ..int_directive!("busy-reply-threshold", busy_reply_threshold, u64, 0, i64::MAX, false, false) },
    Directive {
        aliases: &["hash-max-ziplist-entries"],
        ..int_directive!("hash-max-listpack-entries", hash_max_listpack_entries, u64, 0, i64::MAX, true, false)
    },
    Directive { aliases: &["hash-max-ziplist-value"], ..int_directive!("hash-max-listpack-value", hash_max_listpack_value, u64, 0, i64::MAX, true, false) },
    Directive {
        aliases: &["list-max-ziplist-size"],
        ..int_directive!("list-max-listpack-size", list_max_listpack_size, i64, i32::MIN as i64, i32::MAX as i64, false, false)
    },
    int_directive!("list-compress-depth", list_compress_depth, u64, 0, i32::MAX as i64, false, false),
    int_directive!("hll-sparse-max-bytes", hll_sparse_max_bytes, u64, 0, i64::MAX, true, false),
    int_directive!("set-max-intset-entries", set_max_intset_entries, u64, 0, i64::MAX, true, false),
    Directive {
        aliases: &["zset-max-ziplist-entries"],
        ..int_directive!("zset-max-listpack-entries", zset_max_listpack_entries, u64, 0, i64::MAX, true, false)
    },
    Directive { aliases: &["zset-max-ziplist-value"], ..int_directive!("zset-max-listpack-value", zset_max_listpack_value, u64, 0, i64::MAX, true, false) },
    Directive {
        name: "replicaof",
        aliases: &["slaveof"],
        // Changed with REPLICAOF, not CONFIG SET (as Redis).
        immutable: true,
        protected: false,
        multi_arg: true,
        get: |c| c.replicaof.as_ref().map(|(h, p)| format!("{h} {p}")).unwrap_or_default(),
        set: |c, a| {
            let words: Vec<&str> = a.iter().flat_map(|s| s.split_whitespace()).collect();
            c.replicaof = match words[..] {
                [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => None,
                [host, port] => Some((host.to_string(), port.parse::<u16>().map_err(|_| "Invalid master port")?)),
                _ => return Err("wrong number of arguments".into()),
            };
            Ok(())
        },
        rewrite: None,
    },
    string_directive!("masterauth", masterauth, false),
    string_directive!("masteruser", masteruser, false),
    Directive { aliases: &["slave-read-only"], ..bool_directive!("replica-read-only", replica_read_only) },
    Directive { aliases: &["slave-serve-stale-data"], ..bool_directive!("replica-serve-stale-data", replica_serve_stale_data) },
    Directive { aliases: &["slave-priority"], ..int_directive!("replica-priority", replica_priority, u64, 0, i32::MAX as i64, false, false) },
    Directive { aliases: &["slave-announce-ip"], ..string_directive!("replica-announce-ip", replica_announce_ip, false) },
    Directive { aliases: &["slave-announce-port"], ..int_directive!("replica-announce-port", replica_announce_port, u16, 0, 65535, false, false) },
    bool_directive!("replica-announced", replica_announced),
    int_directive!("repl-backlog-size", repl_backlog_size, i64, 1, i64::MAX, true, false),
    int_directive!("repl-timeout", repl_timeout, u64, 1, i32::MAX as i64, false, false),
    Directive { aliases: &["min-slaves-to-write"], ..int_directive!("min-replicas-to-write", min_replicas_to_write, u64, 0, i32::MAX as i64, false, false) },
    Directive { aliases: &["min-slaves-max-lag"], ..int_directive!("min-replicas-max-lag", min_replicas_max_lag, u64, 0, i32::MAX as i64, false, false) },
    Directive {
        name: "client-output-buffer-limit",
        aliases: &[],
        immutable: false,
        protected: false,
        multi_arg: true,
        get: |c| {
            let l = &c.output_limits;
            let f = |(h, s, t): (u64, u64, u64)| format!("{h} {s} {t}");
            format!("normal {} slave {} pubsub {}", f(l.normal), f(l.replica), f(l.pubsub))
        },
        set: |c, a| {
            let words: Vec<&str> = a.iter().flat_map(|s| s.split_whitespace()).collect();
            if words.is_empty() || !words.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut limits = c.output_limits;
            for w in words.chunks(4) {
                let mem = |v: &str| parse_memory(v).filter(|n| *n >= 0).map(|n| n as u64);
                let (Some(hard), Some(soft), Ok(secs)) = (mem(w[1]), mem(w[2]), w[3].parse::<u64>()) else {
                    return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
                };
                let slot = match w[0].to_ascii_lowercase().as_str() {
                    "normal" => &mut limits.normal,
                    "replica" | "slave" => &mut limits.replica,
                    "pubsub" => &mut limits.pubsub,
                    _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
                };
                *slot = (hard, soft, secs);
            }
            c.output_limits = limits;
            Ok(())
        },
        rewrite: None,
    },
];

pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

impl Directive {
    /// The value as a config-file line writes it.
    pub fn rewrite_value(&self, c: &Config) -> String {
        match self.rewrite {
            Some(f) => f(c),
            None => (self.get)(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("1g"), Some(1_000_000_000));
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("1.5gb"), None);
        assert_eq!(memory_to_string(512 << 20), "512mb");
    }

    #[test]
    fn errors_word_like_redis() {
        let mut c = Config::default();
        assert_eq!((find("maxclients").unwrap().set)(&mut c, &["0".into()]).unwrap_err(), "argument must be between 1 and 4294967295 inclusive");
        assert_eq!((find("port").unwrap().set)(&mut c, &["abc".into()]).unwrap_err(), "argument couldn't be parsed into an integer");
        assert_eq!((find("protected-mode").unwrap().set)(&mut c, &["maybe".into()]).unwrap_err(), "argument must be 'yes' or 'no'");
        assert!((find("loglevel").unwrap().set)(&mut c, &["foo".into()]).unwrap_err().starts_with("argument(s) must be one of the following: debug, verbose"));
    }
}
