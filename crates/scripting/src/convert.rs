//! Lua values the engine reads through mlua (not on the hot path): error
//! values into Redis's error replies, and the arguments of `redis.setresp`
//! and `redis.set_repl`. (A command's reply into Lua is in `call.rs`, a
//! script's result into RESP in `reply.rs`.)

use ferrokv_resp::encode;
use mlua::{Lua, Value};

pub fn error_value(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    error_table(lua, msg)
}

/// A Lua number that is an integer.
pub fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(n) => Some(*n),
        Value::Number(n) if n.fract() == 0.0 => Some(*n as i64),
        _ => None,
    }
}

fn error_table(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok(Value::Table(t))
}

/// A Lua value as a command argument (strings and numbers only).
pub(crate) fn text(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        Value::Number(n) => Some(encode::format_g(*n, 14).into_bytes()),
        _ => None,
    }
}

/// An error value's message: the `err` field of an error table, or "ERR "
/// and the text of a plain error (Redis's luaExtractErrorInformation).
pub fn error_message(err: &Value) -> String {
    if let Value::Table(t) = err {
        if let Some(msg) = t.raw_get::<Value>("err").ok().as_ref().and_then(text) {
            return String::from_utf8_lossy(&crate::reply::one_line(&msg)).into_owned();
        }
    }
    let msg = text(err).map(|m| String::from_utf8_lossy(&crate::reply::one_line(&m)).into_owned()).unwrap_or_else(|| "execution failure".into());
    format!("ERR {msg}")
}

/// The reply to a script that raised `err`: Redis's
/// `<msg> script: <sha>, on <source>:<line>.` when the error says where.
pub fn script_error(err: &Value, sha: &str) -> String {
    let Value::Table(t) = err else {
        let msg = text(err).map(|m| String::from_utf8_lossy(&crate::reply::one_line(&m)).into_owned()).unwrap_or_else(|| "execution failure".into());
        return format!("ERR Error running script {sha}, {msg}");
    };
    let field = |name: &str| t.raw_get::<Value>(name).ok().as_ref().and_then(text).map(|m| String::from_utf8_lossy(&crate::reply::one_line(&m)).into_owned());
    let Some(msg) = field("err") else { return "ERR execution failure".into() };
    let msg = String::from_utf8_lossy(crate::reply::strip_dash(msg.as_bytes())).into_owned();
    match (field("source"), field("line")) {
        (Some(source), Some(line)) => format!("{msg} script: {sha}, on {source}:{line}."),
        _ => msg,
    }
}
