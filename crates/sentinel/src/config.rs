//! sentinel.conf as Redis Sentinel reads and rewrites it: the monitored
//! masters with their options, and the state a restarted sentinel resumes
//! from (`myid`, epochs, known replicas and sentinels).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct MasterConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub config_epoch: u64,
    pub leader_epoch: u64,
    pub known_replicas: Vec<(String, u16)>,
    pub known_sentinels: Vec<(String, u16, String)>,
}

impl MasterConfig {
    pub fn new(name: &str, host: &str, port: u16, quorum: u32) -> Self {
        MasterConfig {
            name: name.into(),
            host: host.into(),
            port,
            quorum,
            down_after_ms: 30_000,
            failover_timeout_ms: 180_000,
            parallel_syncs: 1,
            auth_pass: None,
            auth_user: None,
            config_epoch: 0,
            leader_epoch: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: Option<PathBuf>,
    pub myid: Option<String>,
    pub current_epoch: u64,
    pub announce_ip: Option<String>,
    pub announce_port: Option<u16>,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    pub masters: Vec<MasterConfig>,
    /// The password of the sentinel's own port (`requirepass`): the
    /// default user's.
    pub requirepass: String,
    /// `user` lines (the words after `user`), as read; written back from
    /// the users in memory.
    pub users: Vec<Vec<String>>,
    pub acllog_max_len: usize,
    /// `acl-pubsub-default allchannels`.
    pub acl_pubsub_all: bool,
    /// What this sentinel logs in to its peers with (`sentinel
    /// sentinel-user`/`sentinel-pass`).
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
    /// The TLS port and settings; with `tls-replication yes` the links to
    /// nodes and peers use TLS too, as Redis's sentinel.
    pub tls_port: u16,
    pub tls_replication: bool,
    pub tls: ferrokv_tls::Settings,
    /// Lines kept verbatim on rewrite (comments, directives we only accept).
    pub other_lines: Vec<String>,
    /// Per-master `sentinel …` options accepted but not acted on, written
    /// back after the masters (they need their `monitor` line first).
    pub kept_sentinel_lines: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 26379,
            bind: Vec::new(),
            dir: None,
            myid: None,
            current_epoch: 0,
            announce_ip: None,
            announce_port: None,
            resolve_hostnames: false,
            announce_hostnames: false,
            masters: Vec::new(),
            requirepass: String::new(),
            users: Vec::new(),
            acllog_max_len: 128,
            acl_pubsub_all: false,
            sentinel_user: None,
            sentinel_pass: None,
            tls_port: 0,
            tls_replication: false,
            tls: ferrokv_tls::Settings::default(),
            other_lines: Vec::new(),
            kept_sentinel_lines: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
    Line { line: usize, text: String, reason: String },
}

fn yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("'{v}' is not a valid number"))
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        Config::parse(&text)
    }

    /// Redis applies `sentinel monitor` lines before the options of a
    /// master, so a file may name a master's options first: those lines
    /// are applied after every other one (errors still name their line).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let mut deferred = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                if !is_generated_marker(line) {
                    c.other_lines.push(raw.to_string());
                }
                continue;
            }
            let words: Vec<String> = ferrokv_resp::split_args(line.as_bytes())
                .ok_or_else(|| ConfigError::Line { line: i + 1, text: raw.into(), reason: "Unbalanced quotes in configuration line".into() })?
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect();
            if words.len() >= 3 && words[0].eq_ignore_ascii_case("sentinel") && names_a_master(&words[1]) {
                deferred.push((i, raw, words));
                continue;
            }
            c.apply(&words, raw).map_err(|reason| ConfigError::Line { line: i + 1, text: raw.into(), reason })?;
        }
        for (i, raw, words) in deferred {
            c.apply(&words, raw).map_err(|reason| ConfigError::Line { line: i + 1, text: raw.into(), reason })?;
        }
        Ok(c)
    }

    fn apply(&mut self, w: &[String], raw: &str) -> Result<(), String> {
        let key = w[0].to_ascii_lowercase();
        match (key.as_str(), w.len()) {
            ("port", 2) => self.port = num(&w[1])?,
            ("bind", n) if n >= 2 => self.bind = w[1..].to_vec(),
            ("dir", 2) => self.dir = Some(PathBuf::from(&w[1])),
            ("sentinel", n) if n >= 2 => return self.apply_sentinel(&w[1..]),
            // Server directives the sentinel acts on; kept as written too.
            ("requirepass" | "tls-port" | "tls-replication" | "tls-auth-clients", 2) | ("tls-cert-file" | "tls-key-file" | "tls-key-file-pass", 2) => {
                self.apply_security(&key, &w[1])?;
                self.other_lines.push(raw.to_string());
            }
            ("tls-client-cert-file" | "tls-client-key-file" | "tls-client-key-file-pass" | "tls-ca-cert-file" | "tls-ca-cert-dir", 2)
            | ("tls-protocols" | "tls-ciphers" | "tls-ciphersuites", 2) => {
                self.apply_security(&key, &w[1])?;
                self.other_lines.push(raw.to_string());
            }
            ("user", n) if n >= 2 => self.users.push(w[1..].to_vec()),
            ("acllog-max-len", 2) => {
                self.acllog_max_len = num(&w[1])?;
                self.other_lines.push(raw.to_string());
            }
            ("acl-pubsub-default", 2) => {
                self.acl_pubsub_all = match w[1].to_ascii_lowercase().as_str() {
                    "allchannels" => true,
                    "resetchannels" => false,
                    _ => return Err("argument(s) must be one of the following: allchannels, resetchannels".into()),
                };
                self.other_lines.push(raw.to_string());
            }
            // Redis's sentinel mode runs the server's config loader, so any
            // server directive loads; they are kept, not acted on.
            (k, n) if n >= 2 && is_server_directive(k) => self.other_lines.push(raw.to_string()),
            _ => return Err("Bad directive or wrong number of arguments".into()),
        }
        Ok(())
    }

    fn apply_security(&mut self, key: &str, v: &str) -> Result<(), String> {
        let t = &mut self.tls;
        match key {
            "requirepass" => self.requirepass = v.to_string(),
            "tls-port" => self.tls_port = num(v)?,
            "tls-replication" => self.tls_replication = yes_no(v)?,
            "tls-auth-clients" => {
                t.auth_clients = match v.to_ascii_lowercase().as_str() {
                    "yes" => ferrokv_tls::AuthClients::Yes,
                    "no" => ferrokv_tls::AuthClients::No,
                    "optional" => ferrokv_tls::AuthClients::Optional,
                    _ => return Err("argument(s) must be one of the following: no, yes, optional".into()),
                }
            }
            "tls-cert-file" => t.cert_file = v.into(),
            "tls-key-file" => t.key_file = v.into(),
            "tls-key-file-pass" => t.key_file_pass = v.into(),
            "tls-client-cert-file" => t.client_cert_file = v.into(),
            "tls-client-key-file" => t.client_key_file = v.into(),
            "tls-client-key-file-pass" => t.client_key_file_pass = v.into(),
            "tls-ca-cert-file" => t.ca_cert_file = v.into(),
            "tls-ca-cert-dir" => t.ca_cert_dir = v.into(),
            "tls-protocols" => t.protocols = v.into(),
            "tls-ciphers" => t.ciphers = v.into(),
            "tls-ciphersuites" => t.ciphersuites = v.into(),
            _ => {}
        }
        Ok(())
    }

    fn master(&mut self, name: &str) -> Result<&mut MasterConfig, String> {
        self.masters.iter_mut().find(|m| m.name == name).ok_or_else(|| "No such master with specified name.".to_string())
    }

    fn apply_sentinel(&mut self, w: &[String]) -> Result<(), String> {
        let opt = w[0].to_ascii_lowercase();
        match (opt.as_str(), w.len()) {
            ("monitor", 5) => {
                let quorum: u32 = num(&w[4])?;
                if quorum == 0 {
                    return Err("Quorum must be 1 or greater.".into());
                }
                if self.masters.iter().any(|m| m.name == w[1]) {
                    return Err("Duplicated master name.".into());
                }
                self.masters.push(MasterConfig::new(&w[1], &w[2], num(&w[3])?, quorum));
            }
            ("down-after-milliseconds", 3) => self.master(&w[1])?.down_after_ms = num(&w[2])?,
            ("failover-timeout", 3) => self.master(&w[1])?.failover_timeout_ms = num(&w[2])?,
            ("parallel-syncs", 3) => self.master(&w[1])?.parallel_syncs = num(&w[2])?,
            ("auth-pass", 3) => self.master(&w[1])?.auth_pass = Some(w[2].clone()),
            ("auth-user", 3) => self.master(&w[1])?.auth_user = Some(w[2].clone()),
            ("config-epoch", 3) => self.master(&w[1])?.config_epoch = num(&w[2])?,
            ("leader-epoch", 3) => self.master(&w[1])?.leader_epoch = num(&w[2])?,
            ("known-replica" | "known-slave", 4) => {
                let port = num(&w[3])?;
                self.master(&w[1])?.known_replicas.push((w[2].clone(), port));
            }
            ("known-sentinel", 5) => {
                let port = num(&w[3])?;
                self.master(&w[1])?.known_sentinels.push((w[2].clone(), port, w[4].clone()));
            }
            ("myid", 2) => {
                if w[1].len() != 40 {
                    return Err("Malformed Sentinel id in myid option.".into());
                }
                self.myid = Some(w[1].clone());
            }
            ("current-epoch", 2) => self.current_epoch = num(&w[1])?,
            ("sentinel-user", 2) => self.sentinel_user = Some(w[1].clone()).filter(|s| !s.is_empty()),
            ("sentinel-pass", 2) => self.sentinel_pass = Some(w[1].clone()).filter(|s| !s.is_empty()),
            ("announce-ip", 2) => self.announce_ip = Some(w[1].clone()).filter(|s| !s.is_empty()),
            ("announce-port", 2) => self.announce_port = Some(num(&w[1])?).filter(|p| *p != 0),
            ("resolve-hostnames", 2) => self.resolve_hostnames = yes_no(&w[1])?,
            ("announce-hostnames", 2) => self.announce_hostnames = yes_no(&w[1])?,
            ("deny-scripts-reconfig", 2) => {}
            // Accepted as Redis's sentinel accepts them and kept in the file;
            // not acted on (see docs/sentinel.md).
            ("master-reboot-down-after-period" | "notification-script" | "client-reconfig-script", 3) | ("rename-command", 4) => {
                if opt == "master-reboot-down-after-period" {
                    num::<u64>(&w[2])?;
                }
                self.master(&w[1])?;
                self.kept_sentinel_lines.push(format!("sentinel {}", w.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")));
            }
            _ => return Err("Unrecognized sentinel configuration statement.".into()),
        }
        Ok(())
    }

    /// The file's text: kept lines, then the settings and state, as Redis
    /// writes them after `# Generated by CONFIG REWRITE`.
    pub fn render(&self) -> String {
        let mut out: Vec<String> = self.other_lines.clone();
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        out.push("# Generated by CONFIG REWRITE".into());
        out.push(format!("port {}", self.port));
        if !self.bind.is_empty() {
            out.push(format!("bind {}", self.bind.join(" ")));
        }
        if let Some(d) = &self.dir {
            out.push(format!("dir {}", quote(&d.display().to_string())));
        }
        for words in &self.users {
            out.push(format!("user {}", words.join(" ")));
        }
        if let Some(id) = &self.myid {
            out.push(format!("sentinel myid {id}"));
        }
        if let Some(ip) = &self.announce_ip {
            out.push(format!("sentinel announce-ip {}", quote(ip)));
        }
        if let Some(p) = self.announce_port {
            out.push(format!("sentinel announce-port {p}"));
        }
        if let Some(u) = &self.sentinel_user {
            out.push(format!("sentinel sentinel-user {}", quote(u)));
        }
        if let Some(p) = &self.sentinel_pass {
            out.push(format!("sentinel sentinel-pass {}", quote(p)));
        }
        out.push(format!("sentinel resolve-hostnames {}", if self.resolve_hostnames { "yes" } else { "no" }));
        out.push(format!("sentinel announce-hostnames {}", if self.announce_hostnames { "yes" } else { "no" }));
        for m in &self.masters {
            out.push(format!("sentinel monitor {} {} {} {}", m.name, m.host, m.port, m.quorum));
            out.push(format!("sentinel down-after-milliseconds {} {}", m.name, m.down_after_ms));
            out.push(format!("sentinel failover-timeout {} {}", m.name, m.failover_timeout_ms));
            out.push(format!("sentinel parallel-syncs {} {}", m.name, m.parallel_syncs));
            if let Some(p) = &m.auth_pass {
                out.push(format!("sentinel auth-pass {} {}", m.name, quote(p)));
            }
            if let Some(u) = &m.auth_user {
                out.push(format!("sentinel auth-user {} {}", m.name, quote(u)));
            }
            out.push(format!("sentinel config-epoch {} {}", m.name, m.config_epoch));
            out.push(format!("sentinel leader-epoch {} {}", m.name, m.leader_epoch));
            for (h, p) in &m.known_replicas {
                out.push(format!("sentinel known-replica {} {h} {p}", m.name));
            }
            for (h, p, id) in &m.known_sentinels {
                out.push(format!("sentinel known-sentinel {} {h} {p} {id}", m.name));
            }
        }
        out.extend(self.kept_sentinel_lines.iter().cloned());
        out.push(format!("sentinel current-epoch {}", self.current_epoch));
        out.join("\n") + "\n"
    }

    /// Writes the file atomically (temp file, fsync, rename). A file that
    /// cannot be replaced (a bind mount) is overwritten in place instead.
    pub fn rewrite(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let text = self.render();
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let attempt = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if attempt.is_err() {
            let _ = std::fs::remove_file(&tmp);
            let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        Ok(())
    }
}

/// `sentinel <option> <master> ...` lines, which need the master's
/// `monitor` line first.
fn names_a_master(option: &str) -> bool {
    const OPTIONS: &[&str] = &[
        "down-after-milliseconds",
        "failover-timeout",
        "parallel-syncs",
        "auth-pass",
        "auth-user",
        "config-epoch",
        "leader-epoch",
        "known-replica",
        "known-slave",
        "known-sentinel",
        "notification-script",
        "client-reconfig-script",
        "rename-command",
        "master-reboot-down-after-period",
    ];
    OPTIONS.iter().any(|o| o.eq_ignore_ascii_case(option))
}

/// Redis 7.0's server directives (redis.conf), which a sentinel config may
/// carry.
fn is_server_directive(key: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "tls-",
        "cluster-",
        "active-defrag-",
        "hash-max-",
        "list-max-",
        "zset-max-",
        "set-max-",
        "stream-node-max-",
        "lazyfree-",
        "syslog-",
        "repl-",
        "replica-",
        "slave-",
        "min-replicas-",
        "min-slaves-",
        "auto-aof-",
        "aof-",
        "latency-",
        "maxmemory",
        "lfu-",
        "oom-score-",
        "shutdown-",
    ];
    const NAMES: &[&str] = &[
        "include",
        "loadmodule",
        "protected-mode",
        "enable-protected-configs",
        "enable-debug-command",
        "enable-module-command",
        "tcp-backlog",
        "unixsocket",
        "unixsocketperm",
        "timeout",
        "tcp-keepalive",
        "socket-mark-id",
        "daemonize",
        "supervised",
        "pidfile",
        "loglevel",
        "logfile",
        "crash-log-enabled",
        "crash-memcheck-enabled",
        "databases",
        "always-show-logo",
        "set-proc-title",
        "proc-title-template",
        "save",
        "stop-writes-on-bgsave-error",
        "rdbcompression",
        "rdbchecksum",
        "sanitize-dump-payload",
        "dbfilename",
        "rdb-del-sync-files",
        "replicaof",
        "slaveof",
        "masterauth",
        "masteruser",
        "propagation-error-behavior",
        "tracking-table-max-keys",
        "acllog-max-len",
        "aclfile",
        "requirepass",
        "rename-command",
        "maxclients",
        "active-expire-effort",
        "io-threads",
        "io-threads-do-reads",
        "disable-thp",
        "appendonly",
        "appendfilename",
        "appenddirname",
        "appendfsync",
        "no-appendfsync-on-rewrite",
        "lua-time-limit",
        "busy-reply-threshold",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "notify-keyspace-events",
        "hll-sparse-max-bytes",
        "activerehashing",
        "client-output-buffer-limit",
        "client-query-buffer-limit",
        "proto-max-bulk-len",
        "hz",
        "dynamic-hz",
        "rdb-save-incremental-fsync",
        "activedefrag",
        "jemalloc-bg-thread",
        "server-cpulist",
        "bio-cpulist",
        "bgsave-cpulist",
        "ignore-warnings",
        "user",
        "list-compress-depth",
        "locale-collate",
        "bind-source-addr",
        "max-new-connections",
        "max-new-tls-connections",
    ];
    NAMES.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

fn is_generated_marker(line: &str) -> bool {
    line == "# Generated by CONFIG REWRITE"
}

fn quote(s: &str) -> String {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_sample_and_round_trips() {
        let text = "# Sentinel\nport 26380\nsentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\nsentinel parallel-syncs mymaster 1\nsentinel auth-pass mymaster \"se cret\"\n";
        let c = Config::parse(text).unwrap();
        assert_eq!(c.port, 26380);
        let m = &c.masters[0];
        assert_eq!(
            (m.name.as_str(), m.host.as_str(), m.port, m.quorum, m.down_after_ms, m.failover_timeout_ms),
            ("mymaster", "127.0.0.1", 6379, 2, 1000, 5000)
        );
        assert_eq!(m.auth_pass.as_deref(), Some("se cret"));
        let mut c2 = Config::parse(&c.render()).unwrap();
        c2.other_lines = c.other_lines.clone();
        assert_eq!(c2, c);
        let err = Config::parse("sentinel monitor m h 1 0\n").unwrap_err().to_string();
        assert!(err.contains("at line 1") && err.contains("Quorum must be 1 or greater."), "{err}");
        assert!(Config::parse("sentinel bogus x\n").is_err());
    }

    #[test]
    fn master_options_may_come_before_their_monitor_line() {
        let text = "sentinel down-after-milliseconds m 1500\nsentinel auth-pass m pw\nsentinel monitor m 10.0.0.1 6379 2\nsentinel failover-timeout m 7000\n";
        let c = Config::parse(text).unwrap();
        let m = &c.masters[0];
        assert_eq!((m.down_after_ms, m.failover_timeout_ms, m.auth_pass.as_deref()), (1500, 7000, Some("pw")));
        let text = "sentinel master-reboot-down-after-period m 5000\nsentinel monitor m h 1 2\nsentinel client-reconfig-script m /bin/true\n";
        let c = Config::parse(text).unwrap();
        let again = Config::parse(&c.render()).unwrap();
        assert_eq!(again.kept_sentinel_lines, c.kept_sentinel_lines);
        assert!(c.render().contains("sentinel master-reboot-down-after-period m 5000"));
        let err = Config::parse("sentinel monitor m h 1 2\nsentinel down-after-milliseconds other 10\n").unwrap_err().to_string();
        assert!(err.contains("at line 2") && err.contains("No such master"), "{err}");
    }

    #[test]
    fn server_directives_a_redis_sentinel_accepts_load_and_are_kept() {
        let text = "logfile \"\"\nloglevel notice\nprotected-mode no\nenable-debug-command yes\nrepl-diskless-sync-delay 0\ndaemonize no\npidfile /tmp/s.pid\nport 26379\nsentinel monitor m h 1 2\n";
        let c = Config::parse(text).unwrap();
        assert!(c.render().contains("repl-diskless-sync-delay 0"));
        assert!(Config::parse("no-such-directive 1\n").is_err());
    }
}
