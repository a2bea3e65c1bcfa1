//! Every error reply the server sends, in one place, with Redis 7.0's text.
//!
//! A [`RedisError`] is the whole reply line without the leading `-`; its
//! first word is the error code that INFO errorstats counts.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RedisError(pub Cow<'static, str>);

impl From<&'static str> for RedisError {
    fn from(s: &'static str) -> Self {
        RedisError(Cow::Borrowed(s))
    }
}

impl From<String> for RedisError {
    fn from(s: String) -> Self {
        RedisError(Cow::Owned(s))
    }
}

impl RedisError {
    /// The code INFO errorstats groups by: the first word.
    pub fn code(&self) -> &str {
        self.0.split(' ').next().unwrap_or("ERR")
    }
}

pub type CmdResult = Result<(), RedisError>;

pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OUT_OF_RANGE: &str = "ERR value is out of range";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const DB_RANGE: &str = "ERR DB index is out of range";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const NO_PASSWORD_SET: &str =
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const LRU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const DEBUG_DISABLED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

pub fn wrong_arity(fullname: &str) -> RedisError {
    format!("ERR wrong number of arguments for '{fullname}' command").into()
}

pub fn invalid_expire(fullname: &str) -> RedisError {
    format!("ERR invalid expire time in '{fullname}' command").into()
}

/// Redis quotes at most 128 bytes of a name it echoes back.
pub fn clip(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned()
}

pub fn unknown_subcommand(sub: &[u8], container: &str) -> RedisError {
    format!("ERR unknown subcommand '{}'. Try {} HELP.", clip(sub), container.to_ascii_uppercase()).into()
}

/// `addReplySubcommandSyntaxError`: a known subcommand with bad arguments.
pub fn subcommand_syntax(sub: &[u8], container: &str) -> RedisError {
    format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.", clip(sub), container.to_ascii_uppercase()).into()
}

pub fn unknown_command(args: &[bytes::Bytes]) -> RedisError {
    let mut listed = String::new();
    for a in &args[1..] {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push('\'');
        listed.push_str(&String::from_utf8_lossy(&a[..a.len().min(room)]));
        listed.push_str("' ");
    }
    format!("ERR unknown command '{}', with args beginning with: {}", clip(&args[0]), listed).into()
}

/// Writes refused after a failed background save (`stop-writes-on-bgsave-error`).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
