//! The directive table. Each entry knows how to parse, validate, print and
//! (for REWRITE) compare its value with the default.

use super::{Config, DebugCommand, DisklessLoad, LogLevel, MaxmemoryPolicy, MemoryOrPercent, PropagationError};

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
    /// What the directive does here, for the start-up notice and refusals.
    pub note: Note,
}

/// What a directive does in ferrokv. Every Redis 7.0 directive is accepted
/// and reported; those that change nothing here say so when set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Behaves as in Redis.
    Used,
    /// Has no meaning in ferrokv (no fork, no jemalloc tuning, no
    /// process title…): accepted, reported, noticed at start-up.
    NoEffect,
    /// Belongs to a feature ferrokv does not have yet: accepted and
    /// reported, with a warning at start-up when it is not the default.
    Later(&'static str),
    /// Turning it on would silently weaken what the operator asked for (an
    /// ACL file, a TLS port, cluster mode): only the default is accepted.
    Refused(&'static str),
}

/// The type, limits and default of a directive kept as text in
/// [`Config::stored`] (one that no code reads as a typed field).
pub enum Kind {
    Bool(bool),
    Int {
        default: i64,
        min: i64,
        max: i64,
        memory: bool,
    },
    Enum(&'static [&'static str], &'static str),
    Str(&'static str),
    /// Several words on one line, checked by the function.
    Words(&'static str, fn(&[&str]) -> Result<String, String>),
}

impl Kind {
    pub fn default_text(&self) -> String {
        match self {
            Kind::Bool(b) => yes_no(*b).into(),
            Kind::Int { default, .. } => default.to_string(),
            Kind::Enum(_, d) | Kind::Str(d) | Kind::Words(d, _) => d.to_string(),
        }
    }

    /// The value as CONFIG GET prints it, or Redis's reason to refuse it.
    fn canonical(&self, args: &[String]) -> Result<String, String> {
        if let Kind::Words(_, check) = self {
            let words: Vec<&str> = args.iter().flat_map(|s| s.split_whitespace()).collect();
            return check(&words);
        }
        let v = one(args)?;
        match self {
            Kind::Bool(_) => parse_bool(v).map(|b| yes_no(b).into()),
            Kind::Int { min, max, memory, .. } => int_in(v, *min, *max, *memory).map(|n| n.to_string()),
            Kind::Enum(names, _) => {
                let pairs: Vec<(&str, &str)> = names.iter().map(|n| (*n, *n)).collect();
                enum_of(v, &pairs).map(String::from)
            }
            Kind::Str(_) => Ok(v.to_string()),
            Kind::Words(..) => unreachable!("handled above"),
        }
    }

    fn rewrite(&self, v: &str) -> String {
        match self {
            Kind::Str(_) => repr(v.as_bytes()),
            Kind::Int { memory: true, .. } => v.parse().map(memory_to_string).unwrap_or_else(|_| v.to_string()),
            Kind::Words(..) if v.is_empty() => "\"\"".into(),
            _ => v.to_string(),
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
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

/// Redis's `memtoull`: digits with an optional unit (k, kb, m, mb, g, gb);
/// no sign, and an empty number is 0, as Redis reads it.
pub fn parse_memory(v: &str) -> Option<i64> {
    let lower = v.to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
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
    let n: i64 = if num.is_empty() { 0 } else { num.parse().ok()? };
    n.checked_mul(mul)
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
    &[("everysec", crate::persistence::aof::fsync::EVERYSEC), ("always", crate::persistence::aof::fsync::ALWAYS), ("no", crate::persistence::aof::fsync::NO)];
const DISKLESS_LOAD: &[(&str, DisklessLoad)] =
    &[("disabled", DisklessLoad::Disabled), ("on-empty-db", DisklessLoad::OnEmptyDb), ("swapdb", DisklessLoad::Swapdb)];
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

const AUTH_CLIENTS: &[(&str, ferrokv_tls::AuthClients)] =
    &[("no", ferrokv_tls::AuthClients::No), ("yes", ferrokv_tls::AuthClients::Yes), ("optional", ferrokv_tls::AuthClients::Optional)];
const PUBSUB_DEFAULTS: &[(&str, bool)] = &[("allchannels", true), ("resetchannels", false)];
const PROPAGATION_ERRORS: &[(&str, PropagationError)] =
    &[("ignore", PropagationError::Ignore), ("panic", PropagationError::Panic), ("panic-on-replicas", PropagationError::PanicOnReplicas)];

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
            note: Note::Used,
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
            note: Note::Used,
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
            note: Note::Used,
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
            note: Note::Used,
        }
    };
}

/// A directive kept as text in [`Config::stored`], validated by its kind.
macro_rules! stored {
    ($name:expr, $kind:expr, $note:expr) => {
        stored!($name, &[], $kind, $note, false)
    };
    ($name:expr, $kind:expr, $note:expr, immutable) => {
        stored!($name, &[], $kind, $note, true)
    };
    ($name:expr, $aliases:expr, $kind:expr, $note:expr, $immutable:expr) => {
        Directive {
            name: $name,
            aliases: $aliases,
            immutable: $immutable,
            protected: false,
            multi_arg: matches!($kind, Kind::Words(..)),
            get: |c| c.stored.get($name).cloned().unwrap_or_else(|| ($kind).default_text()),
            set: |c, a| {
                let v = ($kind).canonical(a)?;
                c.stored.insert($name, v);
                Ok(())
            },
            rewrite: Some(|c| ($kind).rewrite(&c.stored.get($name).cloned().unwrap_or_else(|| ($kind).default_text()))),
            note: $note,
        }
    };
}

const INT: i64 = i32::MAX as i64;
const LONG: i64 = i64::MAX;
const CLUSTER: Note = Note::Later("cluster mode");

const fn int(default: i64, min: i64, max: i64) -> Kind {
    Kind::Int { default, min, max, memory: false }
}

const fn mem(default: i64, min: i64, max: i64) -> Kind {
    Kind::Int { default, min, max, memory: true }
}

/// `oom-score-adj-values`: three scores for primary, replica, background child.
fn oom_scores(words: &[&str]) -> Result<String, String> {
    let scores: Option<Vec<i64>> = words.iter().map(|w| ferrokv_resp::parse_i64(w.as_bytes()).filter(|n| (-2000..=2000).contains(n))).collect();
    match scores {
        Some(s) if s.len() == 3 => Ok(words.join(" ")),
        _ if words.len() != 3 => Err("wrong number of arguments".into()),
        _ => Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into()),
    }
}

/// `latency-tracking-info-percentiles`: doubles in 0..=100, "" for none.
fn percentiles(words: &[&str]) -> Result<String, String> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        match w.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => out.push(p.to_string()),
            Ok(_) => return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into()),
            Err(_) => return Err("Invalid latency-tracking-info-percentiles parameters".into()),
        }
    }
    Ok(out.join(" "))
}

/// `shutdown-on-sigint|sigterm`: `default`, or `save`/`nosave` with
/// `now` and `force`, printed in Redis's order.
fn shutdown_flags(words: &[&str]) -> Result<String, String> {
    crate::shutdown::Request::parse_flags(words).map(|r| r.flags_text())
}

/// `proc-title-template`: Redis's variables in braces, `{{`/`}}` for
/// braces, and something left once `{title}` is empty.
fn proc_title(words: &[&str]) -> Result<String, String> {
    const VARS: [&str; 7] = ["{title}", "{listen-addr}", "{server-mode}", "{port}", "{tls-port}", "{unixsocket}", "{config-file}"];
    let invalid = || "template format is invalid or contains unknown variables".to_string();
    let template = words.join(" ");
    let mut rest = template.as_str();
    let mut shows_something = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{{").or_else(|| rest.strip_prefix("}}")) {
            shows_something = true;
            rest = r;
        } else if rest.starts_with('{') {
            let end = rest.find('}').ok_or_else(invalid)?;
            let var = &rest[..=end];
            if !VARS.contains(&var) {
                return Err(invalid());
            }
            shows_something |= !["{title}", "{unixsocket}", "{config-file}"].contains(&var);
            rest = &rest[end + 1..];
        } else if rest.starts_with('}') {
            return Err(invalid());
        } else {
            shows_something = true;
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
        }
    }
    if shows_something {
        Ok(template)
    } else {
        Err(invalid())
    }
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
        note: Note::Used,
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
        note: Note::Used,
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
        note: Note::Used,
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
        note: Note::Used,
    },
    string_directive!("logfile", logfile, true),
    string_directive!("pidfile", pidfile, true),
    Directive {
        get: |c| if c.loglevel == LogLevel::Nothing { "nothing".into() } else { name_of(c.loglevel, LOGLEVELS) },
        set: |c, a| {
            // Redis 7.2's `nothing` is accepted; errors list 7.0's levels.
            let v = one(a)?;
            c.loglevel = if v.eq_ignore_ascii_case("nothing") { LogLevel::Nothing } else { enum_of(v, LOGLEVELS)? };
            Ok(())
        },
        ..enum_directive!("loglevel", loglevel, LOGLEVELS, false)
    },
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
        note: Note::Used,
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
        note: Note::Used,
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
        note: Note::Used,
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
        note: Note::Used,
    },
    int_directive!("io-threads", io_threads, u64, 1, 128, false, true),
    Directive { aliases: &["lua-time-limit"], ..int_directive!("busy-reply-threshold", busy_reply_threshold, u64, 0, i64::MAX, false, false) },
    Directive {
        aliases: &["hash-max-ziplist-entries"],
        ..int_directive!("hash-max-listpack-entries", hash_max_listpack_entries, u64, 0, i64::MAX, false, false)
    },
    Directive { aliases: &["hash-max-ziplist-value"], ..int_directive!("hash-max-listpack-value", hash_max_listpack_value, u64, 0, i64::MAX, true, false) },
    Directive {
        aliases: &["list-max-ziplist-size"],
        ..int_directive!("list-max-listpack-size", list_max_listpack_size, i64, i32::MIN as i64, i32::MAX as i64, false, false)
    },
    int_directive!("list-compress-depth", list_compress_depth, u64, 0, i32::MAX as i64, false, false),
    int_directive!("hll-sparse-max-bytes", hll_sparse_max_bytes, u64, 0, i64::MAX, true, false),
    int_directive!("set-max-intset-entries", set_max_intset_entries, u64, 0, i64::MAX, false, false),
    Directive {
        aliases: &["zset-max-ziplist-entries"],
        ..int_directive!("zset-max-listpack-entries", zset_max_listpack_entries, u64, 0, i64::MAX, false, false)
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
        note: Note::Used,
    },
    string_directive!("masterauth", masterauth, false),
    string_directive!("masteruser", masteruser, false),
    Directive { aliases: &["slave-read-only"], ..bool_directive!("replica-read-only", replica_read_only) },
    Directive { aliases: &["slave-serve-stale-data"], ..bool_directive!("replica-serve-stale-data", replica_serve_stale_data) },
    Directive { aliases: &["slave-priority"], ..int_directive!("replica-priority", replica_priority, u64, 0, i32::MAX as i64, false, false) },
    Directive { aliases: &["slave-announce-ip"], ..string_directive!("replica-announce-ip", replica_announce_ip, false) },
    Directive { aliases: &["slave-announce-port"], ..int_directive!("replica-announce-port", replica_announce_port, u16, 0, 65535, false, false) },
    bool_directive!("replica-announced", replica_announced),
    Directive {
        set: |c, a| {
            // Redis keeps at least 16 KiB of backlog whatever is asked.
            c.repl_backlog_size = int_in(one(a)?, 1, i64::MAX, true)?.max(16 * 1024);
            Ok(())
        },
        ..int_directive!("repl-backlog-size", repl_backlog_size, i64, 1, i64::MAX, true, false)
    },
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
            if !words.len().is_multiple_of(4) {
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
        note: Note::Used,
    },
    // Redis 7.0's remaining directives: each accepted with Redis's type,
    // limits and default, and reported by CONFIG GET.
    stored!("daemonize", Kind::Bool(false), Note::Used, immutable),
    stored!("supervised", Kind::Enum(&["upstart", "systemd", "auto", "no"], "no"), Note::Used, immutable),
    stored!("syslog-enabled", Kind::Bool(false), Note::Used, immutable),
    stored!("syslog-ident", Kind::Str("redis"), Note::Used, immutable),
    stored!("syslog-facility", Kind::Enum(&ferrokv_log::SYSLOG_FACILITIES, "local0"), Note::Used, immutable),
    stored!("always-show-logo", Kind::Bool(false), Note::Used, immutable),
    int_directive!("shutdown-timeout", shutdown_timeout, u64, 0, INT, false, false),
    stored!("shutdown-on-sigint", Kind::Words("default", shutdown_flags), Note::Used),
    stored!("shutdown-on-sigterm", Kind::Words("default", shutdown_flags), Note::Used),
    stored!("lazyfree-lazy-expire", Kind::Bool(false), Note::Used),
    stored!("lazyfree-lazy-server-del", Kind::Bool(false), Note::Used),
    stored!("lazyfree-lazy-user-del", Kind::Bool(false), Note::Used),
    stored!("lazyfree-lazy-user-flush", Kind::Bool(false), Note::Used),
    Directive { aliases: &["slave-lazy-flush"], ..bool_directive!("replica-lazy-flush", replica_lazy_flush) },
    stored!("active-expire-effort", int(1, 1, 10), Note::Used),
    Directive { aliases: &["repl-ping-slave-period"], ..int_directive!("repl-ping-replica-period", repl_ping_replica_period, u64, 1, INT, false, false) },
    int_directive!("repl-backlog-ttl", repl_backlog_ttl, u64, 0, LONG, false, false),
    bool_directive!("repl-diskless-sync", repl_diskless_sync),
    int_directive!("repl-diskless-sync-delay", repl_diskless_sync_delay, u64, 0, INT, false, false),
    int_directive!("repl-diskless-sync-max-replicas", repl_diskless_sync_max_replicas, u64, 0, INT, false, false),
    enum_directive!("repl-diskless-load", repl_diskless_load, DISKLESS_LOAD, false),
    // ferrokv always does what `yes` asks: snapshots in transit are
    // deleted once used, and DUMP payloads are checked in full.
    stored!("rdb-del-sync-files", Kind::Bool(false), Note::NoEffect),
    stored!("sanitize-dump-payload", Kind::Enum(&["no", "yes", "clients"], "no"), Note::NoEffect),
    enum_directive!("propagation-error-behavior", propagation_error, PROPAGATION_ERRORS, false),
    bool_directive!("replica-ignore-disk-write-errors", replica_ignore_disk_write_errors),
    // Nothing to tune here: no fork, no jemalloc, no process title, no
    // incremental rehashing to pace.
    stored!("activerehashing", Kind::Bool(true), Note::NoEffect),
    stored!("dynamic-hz", Kind::Bool(true), Note::NoEffect),
    stored!("activedefrag", Kind::Bool(false), Note::NoEffect),
    stored!("active-defrag-cycle-min", int(1, 1, 99), Note::NoEffect),
    stored!("active-defrag-cycle-max", int(25, 1, 99), Note::NoEffect),
    stored!("active-defrag-threshold-lower", int(10, 0, 1000), Note::NoEffect),
    stored!("active-defrag-threshold-upper", int(100, 0, 1000), Note::NoEffect),
    stored!("active-defrag-ignore-bytes", mem(100 << 20, 1, LONG), Note::NoEffect),
    stored!("active-defrag-max-scan-fields", int(1000, 1, LONG), Note::NoEffect),
    stored!("jemalloc-bg-thread", Kind::Bool(true), Note::NoEffect),
    stored!("disable-thp", Kind::Bool(true), Note::NoEffect, immutable),
    stored!("set-proc-title", Kind::Bool(true), Note::NoEffect, immutable),
    stored!("proc-title-template", Kind::Words("{title} {listen-addr} {server-mode}", proc_title), Note::NoEffect),
    stored!("oom-score-adj", Kind::Enum(&["no", "yes", "relative", "absolute"], "no"), Note::NoEffect),
    stored!("oom-score-adj-values", Kind::Words("0 200 800", oom_scores), Note::NoEffect),
    stored!("server_cpulist", Kind::Str(""), Note::NoEffect, immutable),
    stored!("bio_cpulist", Kind::Str(""), Note::NoEffect, immutable),
    stored!("aof_rewrite_cpulist", Kind::Str(""), Note::NoEffect, immutable),
    stored!("bgsave_cpulist", Kind::Str(""), Note::NoEffect, immutable),
    stored!("io-threads-do-reads", Kind::Bool(false), Note::NoEffect, immutable),
    stored!("crash-log-enabled", Kind::Bool(true), Note::NoEffect),
    stored!("crash-memcheck-enabled", Kind::Bool(true), Note::NoEffect),
    stored!("ignore-warnings", Kind::Str(""), Note::NoEffect),
    stored!("enable-module-command", Kind::Enum(&["no", "yes", "local"], "no"), Note::NoEffect, immutable),
    stored!("socket-mark-id", int(0, 0, u32::MAX as i64), Note::NoEffect, immutable),
    stored!("bind-source-addr", Kind::Str(""), Note::NoEffect),
    stored!("repl-disable-tcp-nodelay", Kind::Bool(false), Note::NoEffect),
    stored!("aof-rewrite-incremental-fsync", Kind::Bool(true), Note::NoEffect),
    stored!("rdb-save-incremental-fsync", Kind::Bool(true), Note::NoEffect),
    stored!("no-appendfsync-on-rewrite", Kind::Bool(false), Note::NoEffect),
    stored!("aof-disable-auto-gc", Kind::Bool(false), Note::NoEffect),
    stored!("aof-timestamp-enabled", Kind::Bool(false), Note::Later("AOF timestamp annotations")),
    stored!("latency-tracking", Kind::Bool(true), Note::Used),
    stored!("latency-tracking-info-percentiles", Kind::Words("50 99 99.9", percentiles), Note::Used),
    int_directive!("tracking-table-max-keys", tracking_table_max_keys, u64, 0, LONG, false, false),
    int_directive!("stream-node-max-bytes", stream_node_max_bytes, u64, 0, LONG, true, false),
    int_directive!("stream-node-max-entries", stream_node_max_entries, u64, 0, LONG, false, false),
    string_directive!("aclfile", aclfile, true),
    int_directive!("acllog-max-len", acllog_max_len, u64, 0, LONG, false, false),
    enum_directive!("acl-pubsub-default", acl_pubsub_allchannels, PUBSUB_DEFAULTS, false),
    stored!("cluster-enabled", Kind::Bool(false), Note::Refused("cluster mode"), immutable),
    stored!("cluster-config-file", Kind::Str("nodes.conf"), CLUSTER, immutable),
    stored!("cluster-node-timeout", int(15000, 0, LONG), CLUSTER),
    stored!("cluster-port", int(0, 0, 65535), CLUSTER, immutable),
    stored!("cluster-announce-ip", Kind::Str(""), CLUSTER),
    stored!("cluster-announce-hostname", Kind::Str(""), CLUSTER),
    stored!("cluster-announce-port", int(0, 0, 65535), CLUSTER),
    stored!("cluster-announce-bus-port", int(0, 0, 65535), CLUSTER),
    stored!("cluster-announce-tls-port", int(0, 0, 65535), CLUSTER),
    stored!("cluster-preferred-endpoint-type", Kind::Enum(&["ip", "hostname", "unknown-endpoint"], "ip"), CLUSTER),
    stored!("cluster-require-full-coverage", Kind::Bool(true), CLUSTER),
    stored!("cluster-allow-reads-when-down", Kind::Bool(false), CLUSTER),
    stored!("cluster-allow-pubsubshard-when-down", Kind::Bool(true), CLUSTER),
    stored!("cluster-replica-validity-factor", &["cluster-slave-validity-factor"], int(10, 0, INT), CLUSTER, false),
    stored!("cluster-migration-barrier", int(1, 0, INT), CLUSTER),
    stored!("cluster-allow-replica-migration", Kind::Bool(true), CLUSTER),
    stored!("cluster-replica-no-failover", &["cluster-slave-no-failover"], Kind::Bool(false), CLUSTER, false),
    stored!("cluster-link-sendbuf-limit", mem(0, 0, LONG), CLUSTER),
    int_directive!("tls-port", tls_port, u16, 0, 65535, false, false),
    bool_directive!("tls-replication", tls_replication),
    stored!("tls-cluster", Kind::Bool(false), Note::Refused("TLS for the cluster bus")),
    enum_directive!("tls-auth-clients", tls_auth_clients, AUTH_CLIENTS, false),
    stored!("tls-prefer-server-ciphers", Kind::Bool(false), Note::NoEffect),
    stored!("tls-session-caching", Kind::Bool(true), Note::NoEffect),
    stored!("tls-session-cache-size", int(20 * 1024, 0, INT), Note::NoEffect),
    stored!("tls-session-cache-timeout", int(300, 0, INT), Note::NoEffect),
    string_directive!("tls-cert-file", tls_cert_file, false),
    string_directive!("tls-key-file", tls_key_file, false),
    string_directive!("tls-key-file-pass", tls_key_file_pass, false),
    string_directive!("tls-client-cert-file", tls_client_cert_file, false),
    string_directive!("tls-client-key-file", tls_client_key_file, false),
    string_directive!("tls-client-key-file-pass", tls_client_key_file_pass, false),
    stored!("tls-dh-params-file", Kind::Str(""), Note::NoEffect),
    string_directive!("tls-ca-cert-file", tls_ca_cert_file, false),
    string_directive!("tls-ca-cert-dir", tls_ca_cert_dir, false),
    string_directive!("tls-protocols", tls_protocols, false),
    string_directive!("tls-ciphers", tls_ciphers, false),
    string_directive!("tls-ciphersuites", tls_ciphersuites, false),
];

pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

impl Directive {
    pub fn get(&self, c: &Config) -> String {
        (self.get)(c)
    }

    /// Sets the value from a file line's or CONFIG SET's words, refusing
    /// what ferrokv cannot honour.
    pub fn set(&self, c: &mut Config, args: &[String]) -> Result<(), String> {
        let before = (self.get)(c);
        (self.set)(c, args)?;
        if let Note::Refused(feature) = self.note {
            if (self.get)(c) != (self.get)(&Config::default()) {
                (self.set)(c, &[before]).ok();
                return Err(format!("ferrokv does not support {feature} yet"));
            }
        }
        Ok(())
    }

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
