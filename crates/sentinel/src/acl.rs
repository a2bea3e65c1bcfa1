//! The sentinel's own users: Redis Sentinel runs Redis's ACLs over its own
//! command table, so a deployment can give its operators and tools least
//! privilege there too (`user` lines in sentinel.conf, ACL SETUSER, AUTH
//! with a username). `requirepass` is the default user's password, one
//! mechanism as on the node.
//!
//! The table below is the sentinel's command table as ACLs see it: names,
//! arities, flags and categories as Redis Sentinel 7.0's COMMAND INFO
//! reports them, from which `ferrokv_acl` derives the categories.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ferrokv_acl::log::{Context, Entry, Log, Reason};
use ferrokv_acl::{Catalog, CmdId, Denied, User, Users};
use ferrokv_commands::command::flags::*;
use ferrokv_commands::command::{channel, ChannelSpec, Spec};
use parking_lot::{Mutex, RwLock};

const fn spec(name: &'static str, arity: i32, flags: u32, acl: &'static [&'static str]) -> Spec {
    Spec { name, arity, flags, acl, keys: (0, 0, 0), group: "sentinel", summary: "", since: "", key_specs: &[], getkeys: None, tips: &[], channels: None }
}

const fn pubsub(name: &'static str, arity: i32, flags: u32, channels: ChannelSpec) -> Spec {
    Spec { channels: Some(channels), ..spec(name, arity, flags, &[]) }
}

const ADMIN_SUB: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const PLAIN_SUB: u32 = NOSCRIPT | LOADING | STALE;
const CONN: &[&str] = &["connection"];

static ACL: &[Spec] = &[
    spec("cat", -2, PLAIN_SUB, &[]),
    spec("deluser", -3, ADMIN_SUB, &[]),
    spec("dryrun", -4, ADMIN_SUB, &[]),
    spec("genpass", -2, PLAIN_SUB, &[]),
    spec("getuser", 3, ADMIN_SUB, &[]),
    spec("help", 2, LOADING | STALE, &[]),
    spec("list", 2, ADMIN_SUB, &[]),
    spec("load", 2, ADMIN_SUB, &[]),
    spec("log", -2, ADMIN_SUB, &[]),
    spec("save", 2, ADMIN_SUB, &[]),
    spec("setuser", -3, ADMIN_SUB, &[]),
    spec("users", 2, ADMIN_SUB, &[]),
    spec("whoami", 2, PLAIN_SUB, &[]),
];

static CLIENT: &[Spec] = &[
    spec("caching", 3, PLAIN_SUB, CONN),
    spec("getname", 2, PLAIN_SUB, CONN),
    spec("getredir", 2, PLAIN_SUB, CONN),
    spec("help", 2, LOADING | STALE, CONN),
    spec("id", 2, PLAIN_SUB, CONN),
    spec("info", 2, PLAIN_SUB, CONN),
    spec("kill", -3, ADMIN_SUB, CONN),
    spec("list", -2, ADMIN_SUB, CONN),
    spec("no-evict", 3, ADMIN_SUB, CONN),
    spec("pause", -3, ADMIN_SUB, CONN),
    spec("reply", 3, PLAIN_SUB, CONN),
    spec("setname", 3, PLAIN_SUB, CONN),
    spec("tracking", -3, PLAIN_SUB, CONN),
    spec("trackinginfo", 2, PLAIN_SUB, CONN),
    spec("unblock", -3, ADMIN_SUB, CONN),
    spec("unpause", 2, ADMIN_SUB, CONN),
];

static COMMAND: &[Spec] = &[
    spec("count", 2, LOADING | STALE, CONN),
    spec("docs", -2, LOADING | STALE, CONN),
    spec("getkeys", -4, LOADING | STALE, CONN),
    spec("getkeysandflags", -4, LOADING | STALE, CONN),
    spec("help", 2, LOADING | STALE, CONN),
    spec("info", -2, LOADING | STALE, CONN),
    spec("list", -2, LOADING | STALE, CONN),
];

static SENTINEL: &[Spec] = &[
    spec("ckquorum", 3, ADMIN, &[]),
    spec("config", -3, ADMIN, &[]),
    spec("debug", -2, ADMIN, &[]),
    spec("failover", 3, ADMIN, &[]),
    spec("flushconfig", 2, ADMIN, &[]),
    spec("get-master-addr-by-name", 3, ADMIN, &[]),
    spec("help", 2, LOADING | STALE, &[]),
    spec("info-cache", -3, ADMIN, &[]),
    spec("is-master-down-by-addr", 6, ADMIN, &[]),
    spec("master", 3, ADMIN, &[]),
    spec("masters", 2, ADMIN, &[]),
    spec("monitor", 6, ADMIN, &[]),
    spec("myid", 2, ADMIN, &[]),
    spec("pending-scripts", 2, ADMIN, &[]),
    spec("remove", 3, ADMIN, &[]),
    spec("replicas", 3, ADMIN, &[]),
    spec("reset", 3, ADMIN, &[]),
    spec("sentinels", 3, ADMIN, &[]),
    spec("set", -5, ADMIN, &[]),
    spec("simulate-failure", -3, ADMIN, &[]),
    spec("slaves", 3, ADMIN, &[]),
];

/// Top-level commands with their subcommands.
static TABLE: &[(Spec, &[Spec])] = &[
    (spec("acl", -2, 0, &[]), ACL),
    (spec("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, CONN), &[]),
    (spec("client", -2, 0, &[]), CLIENT),
    (spec("command", -1, LOADING | STALE, CONN), COMMAND),
    (spec("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, CONN), &[]),
    (spec("info", -1, LOADING | STALE, &["dangerous"]), &[]),
    (spec("ping", -1, FAST, CONN), &[]),
    (pubsub("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, ChannelSpec::rest(channel::SUBSCRIBE | channel::PATTERN)), &[]),
    (pubsub("publish", 3, PUBSUB | LOADING | STALE | FAST, ChannelSpec::one(channel::PUBLISH)), &[]),
    (pubsub("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, ChannelSpec::rest(channel::UNSUBSCRIBE | channel::PATTERN)), &[]),
    (spec("role", 1, NOSCRIPT | LOADING | STALE | FAST, &["admin", "dangerous"]), &[]),
    (spec("sentinel", -2, ADMIN, &[]), SENTINEL),
    (spec("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, &[]), &[]),
    (pubsub("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, ChannelSpec::rest(channel::SUBSCRIBE)), &[]),
    (pubsub("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, ChannelSpec::rest(channel::UNSUBSCRIBE)), &[]),
];

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    for (top, subs) in TABLE {
        // The table is far below the bitmap's size.
        let Ok(id) = c.add(top.name, top, None) else { continue };
        for sub in subs.iter() {
            let fullname: &'static str = Box::leak(format!("{}|{}", top.name, sub.name).into_boxed_str());
            let _ = c.add(fullname, sub, Some(id));
        }
    }
    c
}

/// Users, the log, and what ACL rules name.
pub struct Access {
    pub catalog: Catalog,
    users: RwLock<Users>,
    pub log: Mutex<Log>,
    /// Bumped by every change: connections re-read their user.
    generation: AtomicU64,
    pub log_max_len: usize,
    pub pubsub_all: bool,
}

/// Why a command was refused, for the reply and the log.
pub struct Refusal {
    pub denied: Denied,
    pub fullname: &'static str,
}

impl Access {
    /// The users of `user` lines, then `requirepass` as the default user's
    /// password. An error names the line (Redis stops at start-up).
    pub fn new(user_lines: &[Vec<String>], requirepass: &str, log_max_len: usize, pubsub_all: bool) -> Result<Access, String> {
        let catalog = catalog();
        let mut users = Users::new(&catalog);
        for line in user_lines {
            let (name, rules) = line.split_first().ok_or("Bad directive or wrong number of arguments")?;
            let rules: Vec<Bytes> = rules.iter().map(|r| Bytes::from(r.clone())).collect();
            users
                .load_directive(&catalog, name.as_bytes(), &rules, pubsub_all)
                .map_err(|(rule, e)| format!("Error loading ACL rule '{}' for the user named '{name}': {e}", String::from_utf8_lossy(&rule)))?;
        }
        if !requirepass.is_empty() {
            users.set_default_password(&catalog, requirepass.as_bytes());
        }
        Ok(Access { catalog, users: RwLock::new(users), log: Mutex::new(Log::default()), generation: AtomicU64::new(0), log_max_len, pubsub_all })
    }

    pub fn users(&self) -> parking_lot::RwLockReadGuard<'_, Users> {
        self.users.read()
    }

    /// Changes the users; connections see it before their next command.
    pub fn update<R>(&self, f: impl FnOnce(&mut Users) -> R) -> R {
        let r = f(&mut self.users.write());
        self.generation.fetch_add(1, Ordering::Release);
        r
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Who a connection is when it connects: the default user, and
    /// whether that already logs it in (no password needed).
    pub fn at_connect(&self) -> (Arc<User>, bool) {
        let default = self.users.read().default_user().clone();
        let open = default.nopass() && default.enabled();
        (default, open)
    }

    /// AUTH's and HELLO AUTH's check.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).filter(|u| u.enabled() && u.accepts(pass)).cloned()
    }

    /// Whether `user` may run `args` (a resolved command line).
    pub fn check(&self, user: &User, id: CmdId, args: &[Bytes]) -> Result<(), Refusal> {
        user.check(&self.catalog, id, args).map_err(|denied| Refusal { denied, fullname: self.catalog.get(id).fullname })
    }

    /// Logs a refusal or a failed login as Redis's ACL LOG shows it.
    pub fn record(&self, reason: Reason, object: Bytes, username: Bytes, client_info: String) {
        let entry = Entry { count: 1, reason, context: Context::Toplevel, object, username, ctime_ms: now_ms(), client_info };
        self.log.lock().add(entry, self.log_max_len);
    }

    /// The users as the words of `user` lines, for the config file.
    pub fn user_lines(&self) -> Vec<Vec<String>> {
        let users = self.users.read();
        users
            .iter()
            .map(|u| {
                let rules = String::from_utf8_lossy(&u.describe(&self.catalog)).into_owned();
                std::iter::once(String::from_utf8_lossy(&u.name).into_owned()).chain(rules.split(' ').filter(|w| !w.is_empty()).map(String::from)).collect()
            })
            .collect()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_come_from_the_table() {
        let c = catalog();
        let admin = ferrokv_acl::catalog::category(b"admin").unwrap();
        let id = c.lookup(b"sentinel|myid").unwrap();
        assert!(c.get(id).in_category(admin));
        let id = c.lookup(b"acl|whoami").unwrap();
        assert!(!c.get(id).in_category(admin));
    }

    #[test]
    fn requirepass_is_the_default_users_password() {
        let a = Access::new(&[vec!["app".into(), "on".into(), ">pw".into(), "+ping".into()]], "secret", 128, false).unwrap();
        assert!(!a.at_connect().1);
        assert!(a.authenticate(b"default", b"secret").is_some());
        assert!(a.authenticate(b"app", b"pw").is_some());
        assert!(a.authenticate(b"app", b"nope").is_none());
        let app = a.authenticate(b"app", b"pw").unwrap();
        let ping = a.catalog.lookup(b"ping").unwrap();
        let info = a.catalog.lookup(b"info").unwrap();
        assert!(a.check(&app, ping, &[Bytes::from_static(b"ping")]).is_ok());
        assert!(a.check(&app, info, &[Bytes::from_static(b"info")]).is_err());
    }
}
