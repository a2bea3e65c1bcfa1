//! Lua ↔ RESP, as Redis 7.0's script_lua.c converts: command replies into
//! Lua values for redis.call/pcall, and a script's return value into the
//! client's reply.

use bytes::{BufMut, Bytes, BytesMut};
use ferrokv_resp::{encode, Frame, Protocol};
use mlua::{Lua, MultiValue, Table, Value};

use crate::Caller;

/// Nesting beyond this is refused rather than recursed into.
const MAX_DEPTH: usize = 1000;

pub fn strings(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, b) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(&b[..])?)?;
    }
    Ok(t)
}

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

/// A Lua number as a command argument: `%.17g`, as Redis formats it (Lua's
/// own `tostring` would lose precision).
fn number_arg(n: f64) -> Bytes {
    Bytes::from(encode::format_g(n, 17))
}

/// redis.call / redis.pcall: returns (reply, failed).
pub fn call(lua: &Lua, caller: &mut dyn Caller, args: MultiValue, resp: Protocol, repl: u8) -> mlua::Result<(Value, bool)> {
    if args.is_empty() {
        return Ok((error_table(lua, "ERR Please specify at least one argument for this redis lib call")?, true));
    }
    let mut argv = Vec::with_capacity(args.len());
    for v in args.iter() {
        match v {
            Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(i) => argv.push(Bytes::from(i.to_string())),
            Value::Number(n) => argv.push(number_arg(*n)),
            _ => return Ok((error_table(lua, "ERR Lua redis lib command arguments must be strings or integers")?, true)),
        }
    }
    match caller.call(argv, resp, repl) {
        Err(msg) => Ok((error_table(lua, &msg)?, true)),
        Ok(Frame::Error(e)) => Ok((error_table(lua, &String::from_utf8_lossy(&e))?, true)),
        Ok(frame) => Ok((to_lua(lua, frame, 0)?, false)),
    }
}

fn field_table(lua: &Lua, field: &str, value: impl mlua::IntoLua) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, value)?;
    Ok(Value::Table(t))
}

/// A command's reply as the script sees it.
pub fn to_lua(lua: &Lua, frame: Frame, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime("reached lua stack limit"));
    }
    Ok(match frame {
        Frame::Simple(s) => field_table(lua, "ok", lua.create_string(&s[..])?)?,
        Frame::Error(e) => error_table(lua, &String::from_utf8_lossy(&e))?,
        Frame::Integer(n) => Value::Integer(n),
        Frame::Bulk(b) => Value::String(lua.create_string(&b[..])?),
        Frame::NullBulk | Frame::NullArray => Value::Boolean(false),
        Frame::Null => Value::Nil,
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::Double(d) => field_table(lua, "double", d)?,
        Frame::BigNumber(s) => field_table(lua, "big_number", lua.create_string(&s[..])?)?,
        Frame::Verbatim { format, text } => {
            let v = lua.create_table()?;
            v.raw_set("format", lua.create_string(format)?)?;
            v.raw_set("string", lua.create_string(&text[..])?)?;
            field_table(lua, "verbatim_string", v)?
        }
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(t)
        }
        Frame::Map(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(to_lua(lua, k, depth + 1)?, to_lua(lua, v, depth + 1)?)?;
            }
            field_table(lua, "map", t)?
        }
        Frame::Set(items) => {
            let t = lua.create_table()?;
            for item in items {
                t.raw_set(to_lua(lua, item, depth + 1)?, true)?;
            }
            field_table(lua, "set", t)?
        }
    })
}

fn text(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        Value::Number(n) => Some(encode::format_g(*n, 14).into_bytes()),
        _ => None,
    }
}

fn strip_dash(msg: &[u8]) -> &[u8] {
    msg.strip_prefix(b"-").unwrap_or(msg)
}

/// A status or error text a script made, on one line: Redis turns CR and
/// LF into spaces so the reply stays one RESP frame.
fn one_line(msg: &[u8]) -> Vec<u8> {
    msg.iter().map(|b| if matches!(b, b'\r' | b'\n') { b' ' } else { *b }).collect()
}

/// An error value's message: the `err` field of an error table, or "ERR "
/// and the text of a plain error (Redis's luaExtractErrorInformation).
pub fn error_message(err: &Value) -> String {
    if let Value::Table(t) = err {
        if let Some(msg) = t.raw_get::<Value>("err").ok().as_ref().and_then(text) {
            return String::from_utf8_lossy(&one_line(&msg)).into_owned();
        }
    }
    let msg = text(err).map(|m| String::from_utf8_lossy(&one_line(&m)).into_owned()).unwrap_or_else(|| "execution failure".into());
    format!("ERR {msg}")
}

/// The reply to a script that raised `err`: Redis's
/// `<msg> script: <sha>, on <source>:<line>.` when the error says where.
pub fn script_error(err: &Value, sha: &str) -> String {
    let Value::Table(t) = err else {
        let msg = text(err).map(|m| String::from_utf8_lossy(&one_line(&m)).into_owned()).unwrap_or_else(|| "execution failure".into());
        return format!("ERR Error running script {sha}, {msg}");
    };
    let field = |name: &str| t.raw_get::<Value>(name).ok().as_ref().and_then(text).map(|m| String::from_utf8_lossy(&one_line(&m)).into_owned());
    let Some(msg) = field("err") else { return "ERR execution failure".into() };
    let msg = String::from_utf8_lossy(strip_dash(msg.as_bytes())).into_owned();
    match (field("source"), field("line")) {
        (Some(source), Some(line)) => format!("{msg} script: {sha}, on {source}:{line}."),
        _ => msg,
    }
}

/// Encodes a script's return value for a client speaking `proto`. A top
/// level error table is returned as Err (the command's error reply); one
/// nested in an array is an error item. `script_resp3`: the script called
/// `redis.setresp(3)`, which makes booleans RESP3 booleans.
pub fn reply(value: &Value, proto: Protocol, script_resp3: bool, out: &mut BytesMut, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("ERR reached lua stack limit".into());
    }
    match value {
        Value::Boolean(b) if !script_resp3 => {
            if *b {
                encode::integer(out, 1)
            } else {
                encode::null(out, proto)
            }
        }
        Value::Boolean(b) => encode::boolean(out, *b, proto),
        Value::Integer(n) => encode::integer(out, *n),
        Value::Number(n) => encode::integer(out, if n.is_nan() { 0 } else { *n as i64 }),
        Value::String(s) => encode::bulk(out, &s.as_bytes()),
        Value::Table(t) => table_reply(t, proto, script_resp3, out, depth)?,
        _ => encode::null(out, proto),
    }
    Ok(())
}

fn table_reply(t: &Table, proto: Protocol, script_resp3: bool, out: &mut BytesMut, depth: usize) -> Result<(), String> {
    let get = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(e) = get("err") {
        let msg = String::from_utf8_lossy(&one_line(strip_dash(&e.as_bytes()))).into_owned();
        if depth == 0 {
            return Err(msg);
        }
        encode::error(out, msg.as_bytes());
        return Ok(());
    }
    if let Value::String(s) = get("ok") {
        encode::simple(out, &one_line(&s.as_bytes()));
        return Ok(());
    }
    if let Some(d) = match get("double") {
        Value::Number(d) => Some(d),
        Value::Integer(n) => Some(n as f64),
        _ => None,
    } {
        encode::double(out, d, proto);
        return Ok(());
    }
    if let Value::String(s) = get("big_number") {
        let s = one_line(&s.as_bytes());
        match proto {
            Protocol::Resp3 => {
                out.put_u8(b'(');
                out.put_slice(&s);
                out.put_slice(b"\r\n");
            }
            Protocol::Resp2 => encode::bulk(out, &s),
        }
        return Ok(());
    }
    if let Value::Table(m) = get("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        encode::map_len(out, pairs.len(), proto);
        for (k, v) in &pairs {
            reply(k, proto, script_resp3, out, depth + 1)?;
            reply(v, proto, script_resp3, out, depth + 1)?;
        }
        return Ok(());
    }
    if let Value::Table(m) = get("set") {
        let items: Vec<Value> = m.pairs::<Value, Value>().filter_map(Result::ok).map(|(k, _)| k).collect();
        encode::set_len(out, items.len(), proto);
        for k in &items {
            reply(k, proto, script_resp3, out, depth + 1)?;
        }
        return Ok(());
    }
    if let Value::Table(v) = get("verbatim_string") {
        let format = v.raw_get::<mlua::String>("format").map(|s| s.as_bytes().to_vec()).unwrap_or_else(|_| b"txt".to_vec());
        let text = v.raw_get::<mlua::String>("string").map(|s| s.as_bytes().to_vec()).unwrap_or_default();
        match proto {
            Protocol::Resp3 => {
                out.put_slice(format!("={}\r\n", text.len() + 4).as_bytes());
                out.put_slice(&format);
                out.put_u8(b':');
                out.put_slice(&text);
                out.put_slice(b"\r\n");
            }
            Protocol::Resp2 => encode::bulk(out, &text),
        }
        return Ok(());
    }
    // An array, up to the first nil, as Lua's length would not guarantee.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    encode::array_len(out, items.len());
    for v in &items {
        reply(v, proto, script_resp3, out, depth + 1)?;
    }
    Ok(())
}
