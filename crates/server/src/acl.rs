//! The node's side of ACLs: the registry of users, the check at admission
//! (and again in EXEC and scripts), logins, the ACL log, and what a change
//! of users does to connected clients. Rules and checks themselves are in
//! `ferrokv_acl`.
//!
//! Clients hold their user as an `Arc<User>` and a generation: every
//! change bumps the generation, and a client whose copy is older looks its
//! user up again before its next command, so a change applies at once
//! without a lock on the hot path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ferrokv_acl::log::{Context, Entry as LogEntry, Log, Reason};
use ferrokv_acl::{Denied, User, Users};
use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use crate::command::{Entry, Table};
use crate::errors::RedisError;
use crate::net::client::Client;
use crate::server::Server;

pub struct Acl {
    users: RwLock<Users>,
    pub log: Mutex<Log>,
    generation: AtomicU64,
    /// The default user needs no password: new connections start logged
    /// in, and no one needs AUTH (Redis's `authRequired`).
    default_open: AtomicBool,
}

impl Acl {
    pub fn new(table: &Table) -> Acl {
        Acl { users: RwLock::new(Users::new(&table.catalog)), log: Mutex::default(), generation: AtomicU64::new(1), default_open: AtomicBool::new(true) }
    }

    pub fn users(&self) -> RwLockReadGuard<'_, Users> {
        self.users.read()
    }

    /// Changes the users; clients see the change before their next command.
    pub fn update<R>(&self, change: impl FnOnce(&mut Users) -> R) -> R {
        let mut users = self.users.write();
        let result = change(&mut users);
        let default = users.default_user();
        self.default_open.store(default.nopass() && default.enabled(), Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
        result
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn default_user(&self) -> Arc<User> {
        self.users.read().default_user().clone()
    }

    pub fn auth_required(&self) -> bool {
        !self.default_open.load(Ordering::Acquire)
    }
}

/// The default user as it is now, for a connection (RESET too): logged
/// in when that user needs no password.
pub struct Login {
    user: Arc<User>,
    generation: u64,
}

impl Login {
    pub fn default_user(server: &Server) -> Login {
        let generation = server.acl.generation();
        Login { user: server.acl.default_user(), generation }
    }

    pub fn apply(self, client: &mut Client) {
        client.authenticated = self.user.nopass() && self.user.enabled();
        set_user(client, self.user, self.generation);
    }
}

pub fn login_default(server: &Server, client: &mut Client) {
    Login::default_user(server).apply(client);
}

fn set_user(client: &mut Client, user: Arc<User>, generation: u64) {
    *client.shared.user.lock() = user.name.clone();
    client.user = Some(user);
    client.acl_gen = generation;
}

/// Brings the client's copy of its user up to date; false when the user
/// was deleted: its clients are being closed, and until then they may run
/// nothing (they keep the generation they had, so every command asks again).
fn refresh(server: &Server, client: &mut Client) -> bool {
    let generation = server.acl.generation();
    let Some(current) = client.user.as_ref() else { return true };
    match server.acl.users().get(&current.name).cloned() {
        Some(user) => {
            client.user = Some(user);
            client.acl_gen = generation;
            true
        }
        None => {
            client.authenticated = false;
            client.close_after_reply = true;
            false
        }
    }
}

/// Whether the client's user may run this command line; None for the
/// primary's stream and the AOF, which are obeyed whatever the rules.
pub fn check(server: &Server, client: &mut Client, entry: &Entry, args: &[Bytes]) -> Result<(), Denied> {
    if client.user.is_none() {
        return Ok(());
    }
    if client.acl_gen != server.acl.generation() && !refresh(server, client) {
        return Err(Denied::Command);
    }
    let Some(user) = client.user.as_ref() else { return Ok(()) };
    if user.unrestricted() {
        return Ok(());
    }
    user.check(&server.commands.catalog, entry.acl_id, args)
}

/// The refusal at admission, logged (Redis's `processCommand` wording).
pub fn admission_error(server: &Server, client: &Client, entry: &Entry, args: &[Bytes], denied: Denied) -> RedisError {
    let context = if client.multi.is_some() { Context::Multi } else { Context::Toplevel };
    log_denied(server, client, entry, args, denied, context);
    match denied {
        Denied::Command => format!("NOPERM this user has no permissions to run the '{}' command", entry.fullname).into(),
        Denied::Key(_) => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
        Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
    }
}

/// The refusal of a queued command at EXEC time (the rules changed).
pub fn exec_error(server: &Server, client: &Client, entry: &Entry, args: &[Bytes], denied: Denied) -> RedisError {
    log_denied(server, client, entry, args, denied, Context::Multi);
    let reason = match denied {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key(_) => "no permission to touch the specified keys",
        Denied::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}").into()
}

/// The refusal of a command a script calls (Redis's `getAclErrorMessage`).
pub fn script_error(server: &Server, client: &Client, entry: &Entry, args: &[Bytes], denied: Denied) -> String {
    log_denied(server, client, entry, args, denied, Context::Lua);
    format!("The user executing the script {}", denied_message(denied))
}

pub fn denied_message(denied: Denied) -> &'static str {
    match denied {
        Denied::Command => "can't run this command or subcommand",
        Denied::Key(_) => "can't access at least one of the keys mentioned in the command arguments",
        Denied::Channel(_) => "can't publish to the channel mentioned in the command",
    }
}

fn log_denied(server: &Server, client: &Client, entry: &Entry, args: &[Bytes], denied: Denied, context: Context) {
    let (reason, object) = match denied {
        Denied::Command => (Reason::Command, Bytes::from_static(entry.fullname.as_bytes())),
        Denied::Key(at) => (Reason::Key, args[at].clone()),
        Denied::Channel(at) => (Reason::Channel, args[at].clone()),
    };
    client.shared.last_cmd.set(entry.fullname_ref);
    let username = client.user.as_ref().map_or_else(|| Bytes::from_static(b"default"), |u| u.name.clone());
    add_log(server, client, reason, context, object, username);
}

fn add_log(server: &Server, client: &Client, reason: Reason, context: Context, object: Bytes, username: Bytes) {
    let max_len = server.config.read().acllog_max_len as usize;
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object,
        username,
        ctime_ms: ferrokv_storage::now_ms(),
        client_info: crate::admin::client::describe(&client.shared),
    };
    server.acl.log.lock().add(entry, max_len);
}

/// AUTH and HELLO AUTH: logs the client in as `username`, or logs the
/// failure (object: the command as the client typed it).
pub fn authenticate(server: &Server, client: &mut Client, username: &[u8], password: &[u8], command: &Bytes) -> bool {
    let generation = server.acl.generation();
    let user = server.acl.users().get(username).cloned();
    match user.filter(|u| u.accepts(password)) {
        Some(user) => {
            client.authenticated = true;
            set_user(client, user, generation);
            true
        }
        None => {
            let context = if client.multi.is_some() { Context::Multi } else { Context::Toplevel };
            add_log(server, client, Reason::Auth, context, command.clone(), Bytes::copy_from_slice(username));
            false
        }
    }
}

/// `requirepass`: the default user's one password, or none (`nopass`).
pub fn set_requirepass(server: &Server, password: &str) {
    server.acl.update(|users| users.set_default_password(&server.commands.catalog, password.as_bytes()));
}

/// Closes the connections logged in as `name` (its user was deleted or
/// replaced by ACL LOAD), the caller's after its reply.
pub fn kill_clients_of(server: &Server, name: &[u8], caller: &mut Client) {
    let victims: Vec<_> = server.clients.lock().values().filter(|c| c.user.lock().as_ref() == name).cloned().collect();
    for c in victims {
        crate::admin::client::close(server, caller, &c);
    }
}

/// After SETUSER narrowed a user's channels, closes its subscribers whose
/// subscriptions the new rules no longer allow (Redis's
/// `ACLKillPubsubClientsIfNeeded`).
pub fn kill_pubsub_clients_if_needed(server: &Server, old: &User, new: &User, caller: &mut Client) {
    if new.all_channels() || narrows_nothing(old, new) {
        return;
    }
    let clients: Vec<_> = server.clients.lock().values().filter(|c| c.user.lock().as_ref() == old.name.as_ref()).cloned().collect();
    for c in clients {
        let subscriptions = server.pubsub.subscriptions_of(c.id);
        let allowed = subscriptions.iter().all(|(kind, name)| new.channel_allowed(name, *kind == crate::pubsub::Kind::Pattern));
        if !allowed {
            crate::admin::client::close(server, caller, &c);
        }
    }
}

/// Every channel rule of `old` is still one of `new`'s.
fn narrows_nothing(old: &User, new: &User) -> bool {
    let upcoming: Vec<&Bytes> = new.selectors.iter().flat_map(|s| s.channel_rules()).collect();
    old.selectors.iter().all(|s| s.flags & ferrokv_acl::selector::flag::ALLCHANNELS == 0 && s.channel_rules().all(|c| upcoming.contains(&c)))
}

/// Loads the users of the configuration's `user` lines or of `aclfile`
/// (not both), as Redis's `ACLLoadUsersAtStartup`; the error is what
/// start-up logs before exiting.
pub fn load_at_startup(server: &Server, config: &crate::config::Config) -> Result<(), String> {
    if !config.aclfile.is_empty() && !config.users.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    let catalog = &server.commands.catalog;
    let pubsub_all = config.acl_pubsub_allchannels;
    let mut users = server.acl.users().clone();
    for line in &config.users {
        let Some((name, rules)) = line.split_first() else { continue };
        let rules: Vec<Bytes> = rules.iter().map(|r| Bytes::copy_from_slice(r.as_bytes())).collect();
        match users.load_directive(catalog, name.as_bytes(), &rules, pubsub_all) {
            Ok(user) if !user.enabled() => {
                tracing::info!(
                    "The user '{name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error."
                );
            }
            Ok(_) => {}
            Err((rule, e)) => {
                tracing::warn!("Error loading ACL rule '{}' for the user named '{name}': {e}", String::from_utf8_lossy(&rule));
                return Err("Critical error while loading ACLs. Exiting.".into());
            }
        }
    }
    if !config.aclfile.is_empty() {
        users = read_file(server, &config.aclfile).map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
    }
    server.acl.update(|current| *current = users);
    Ok(())
}

/// The users of the ACL file (ACL LOAD, start-up).
pub fn read_file(server: &Server, path: &str) -> Result<Users, String> {
    let text = std::fs::read(path).map_err(|e| format!("Error loading ACLs, opening file '{path}': {}", ferrokv_util::strerror(&e)))?;
    let pubsub_all = server.config.read().acl_pubsub_allchannels;
    Users::from_file(&server.commands.catalog, &text, path, pubsub_all)
}

/// The configuration as CONFIG REWRITE writes it: with a `user` line per
/// user, unless they live in an ACL file (Redis's `rewriteConfigUserOption`).
pub fn config_to_rewrite(server: &Server) -> crate::config::Config {
    let mut config = server.config.read().clone();
    config.users = if config.aclfile.is_empty() {
        let users = server.acl.users();
        users
            .iter()
            .map(|u| vec![String::from_utf8_lossy(&u.name).into_owned(), String::from_utf8_lossy(&u.describe(&server.commands.catalog)).into_owned()])
            .collect()
    } else {
        Vec::new()
    };
    config
}

/// Whether a gRPC replica logging in as `username` (empty: `default`) may
/// follow this node: the credentials must log in, as AUTH would, and the
/// user must be allowed PSYNC, as a Redis replica's PSYNC is checked.
pub fn may_replicate(server: &Server, username: &str, password: &str) -> bool {
    let name = if username.is_empty() { "default" } else { username };
    let Some(user) = server.acl.users().get(name.as_bytes()).cloned() else {
        return false;
    };
    let logs_in = if name == "default" && user.nopass() { user.enabled() } else { user.accepts(password.as_bytes()) };
    let psync = [Bytes::from_static(b"psync"), Bytes::from_static(b"?"), Bytes::from_static(b"-1")];
    let allowed = server.commands.get(b"psync").is_some_and(|e| user.check(&server.commands.catalog, e.acl_id, &psync).is_ok());
    logs_in && allowed
}
