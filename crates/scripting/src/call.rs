//! `redis.call` and `redis.pcall` on Lua's C API: the arguments are read
//! straight off the Lua stack and the reply is pushed straight onto it.
//!
//! Why not mlua values: every argument and reply element as an mlua value
//! is a registry reference made and dropped, and that bookkeeping was a
//! quarter of a script's CPU. (It also turns numbers below 2.2e-16 into 0;
//! read here, they keep their value.)
//!
//! Rust values must all be dropped before `lua_error` unwinds past these
//! frames, so the work that owns them returns first and only pushes and
//! the raise follow.

use std::ffi::{c_int, CStr};
use std::panic::AssertUnwindSafe;

use bytes::Bytes;
use ferrokv_resp::{encode, Frame, Protocol};
use mlua::ffi;

use crate::current;
use crate::reply::{string_at, MAX_DEPTH};

/// What a call leaves for the script.
enum Outcome {
    Reply(Frame),
    /// An error raised before the command ran, or the command's error.
    Error(Vec<u8>),
}

/// `redis.call` (`protected` false: a failure is raised) and `redis.pcall`
/// (it is returned).
pub unsafe fn redis_call(state: *mut ffi::lua_State, protected: bool) -> c_int {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(state))).unwrap_or_else(|_| Outcome::Error(b"ERR the command failed unexpectedly".to_vec()));
    let failed = push_outcome(state, outcome);
    if failed && !protected {
        ffi::lua_error(state);
    }
    1
}

/// Reads the arguments and runs the command through the lent caller.
unsafe fn run(state: *mut ffi::lua_State) -> Outcome {
    let argv = match arguments(state) {
        Ok(argv) => argv,
        Err(msg) => return Outcome::Error(msg.as_bytes().to_vec()),
    };
    let called = current::with(|caller, flags| {
        let resp = if flags.resp() == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
        caller.call(argv, resp, flags.repl())
    });
    match called {
        None => Outcome::Error(b"ERR redis.call is only available while a script runs".to_vec()),
        Some(Err(msg)) => Outcome::Error(msg.into_bytes()),
        Some(Ok(Frame::Error(e))) => Outcome::Error(e.to_vec()),
        Some(Ok(frame)) if depth(&frame) > MAX_DEPTH => Outcome::Error(b"ERR reached lua stack limit".to_vec()),
        Some(Ok(frame)) => Outcome::Reply(frame),
    }
}

/// Strings as they are; numbers as `%.17g`, as Redis writes them (Lua's
/// own `tostring` would lose precision).
unsafe fn arguments(state: *mut ffi::lua_State) -> Result<Vec<Bytes>, &'static str> {
    let n = ffi::lua_gettop(state);
    if n == 0 {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(n as usize);
    for i in 1..=n {
        match ffi::lua_type(state, i) {
            ffi::LUA_TSTRING => argv.push(Bytes::copy_from_slice(string_at(state, i))),
            ffi::LUA_TNUMBER => argv.push(Bytes::from(encode::format_g(ffi::lua_tonumber(state, i), 17))),
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        }
    }
    Ok(argv)
}

fn depth(frame: &Frame) -> usize {
    match frame {
        Frame::Array(items) | Frame::Push(items) | Frame::Set(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Frame::Map(pairs) => 1 + pairs.iter().map(|(k, v)| depth(k).max(depth(v))).max().unwrap_or(0),
        _ => 0,
    }
}

/// Pushes the reply, or the error table; returns whether it failed.
unsafe fn push_outcome(state: *mut ffi::lua_State, outcome: Outcome) -> bool {
    // A reply nests at most MAX_DEPTH levels of two slots each.
    if ffi::lua_checkstack(state, (2 * MAX_DEPTH + 8) as c_int) == 0 {
        push_field_table(state, c"err", b"ERR reached lua stack limit");
        return true;
    }
    match outcome {
        Outcome::Reply(frame) => {
            push_frame(state, &frame);
            false
        }
        Outcome::Error(msg) => {
            push_field_table(state, c"err", &msg);
            true
        }
    }
}

unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
}

/// `{<field> = value}`.
unsafe fn push_field_table(state: *mut ffi::lua_State, field: &CStr, value: &[u8]) {
    ffi::lua_createtable(state, 0, 1);
    push_bytes(state, value);
    ffi::lua_setfield(state, -2, field.as_ptr());
}

/// A command's reply as the script sees it (Redis's
/// redisProtocolToLuaType).
unsafe fn push_frame(state: *mut ffi::lua_State, frame: &Frame) {
    match frame {
        Frame::Simple(s) => push_field_table(state, c"ok", s),
        Frame::Error(e) => push_field_table(state, c"err", e),
        Frame::Integer(n) => ffi::lua_pushnumber(state, *n as f64),
        Frame::Bulk(b) => push_bytes(state, b),
        Frame::NullBulk | Frame::NullArray => ffi::lua_pushboolean(state, 0),
        Frame::Null => ffi::lua_pushnil(state),
        Frame::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(*b)),
        Frame::Double(d) => {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_pushnumber(state, *d);
            ffi::lua_setfield(state, -2, c"double".as_ptr());
        }
        Frame::BigNumber(s) => push_field_table(state, c"big_number", s),
        Frame::Verbatim { format, text } => {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_createtable(state, 0, 2);
            push_bytes(state, format);
            ffi::lua_setfield(state, -2, c"format".as_ptr());
            push_bytes(state, text);
            ffi::lua_setfield(state, -2, c"string".as_ptr());
            ffi::lua_setfield(state, -2, c"verbatim_string".as_ptr());
        }
        Frame::Array(items) | Frame::Push(items) => {
            ffi::lua_createtable(state, items.len().min(i32::MAX as usize) as c_int, 0);
            for (i, item) in items.iter().enumerate() {
                push_frame(state, item);
                ffi::lua_rawseti(state, -2, (i + 1) as ffi::lua_Integer);
            }
        }
        Frame::Map(pairs) => {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_createtable(state, 0, pairs.len().min(i32::MAX as usize) as c_int);
            for (k, v) in pairs {
                push_frame(state, k);
                push_frame(state, v);
                set_unless_nil_key(state);
            }
            ffi::lua_setfield(state, -2, c"map".as_ptr());
        }
        Frame::Set(items) => {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_createtable(state, 0, items.len().min(i32::MAX as usize) as c_int);
            for item in items {
                push_frame(state, item);
                ffi::lua_pushboolean(state, 1);
                set_unless_nil_key(state);
            }
            ffi::lua_setfield(state, -2, c"set".as_ptr());
        }
    }
}

/// `t[k] = v` for the key and value on top of the table; a nil key (a
/// RESP3 null) cannot index a table and is dropped with its value.
unsafe fn set_unless_nil_key(state: *mut ffi::lua_State) {
    if ffi::lua_isnil(state, -2) != 0 {
        ffi::lua_pop(state, 2);
    } else {
        ffi::lua_rawset(state, -3);
    }
}
