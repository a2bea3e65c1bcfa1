//! A script's result as the client's reply (Redis's luaReplyToRedisReply),
//! read straight off the Lua stack: numbers truncated to integers, tables
//! up to their first nil, `{ok=}`, `{err=}`, `{double=}`, `{big_number=}`,
//! `{map=}`, `{set=}`, `{verbatim_string=}`, booleans as RESP2 or (after
//! `redis.setresp(3)`) RESP3 booleans.
//!
//! On the C API rather than mlua values for the same reason as `call.rs`.

use std::ffi::{c_int, CStr};

use bytes::{BufMut, BytesMut};
use ferrokv_resp::{encode as resp, Protocol};
use mlua::ffi;

/// Nesting beyond this is refused rather than recursed into, both ways
/// (a script's result here, a command's reply in `call.rs`).
pub(crate) const MAX_DEPTH: usize = 1000;

struct Encoder<'a> {
    state: *mut ffi::lua_State,
    proto: Protocol,
    script_resp3: bool,
    out: &'a mut BytesMut,
}

/// Encodes the value on top of the stack into `out`; a top-level error
/// table is returned as Err (the command's error reply, without `-`).
pub unsafe fn encode(state: *mut ffi::lua_State, proto: Protocol, script_resp3: bool, out: &mut BytesMut) -> Result<(), String> {
    let top = ffi::lua_gettop(state);
    let mut e = Encoder { state, proto, script_resp3, out };
    let result = e.value(top, 0);
    ffi::lua_settop(state, top);
    result
}

/// A status or error text a script made, on one line: Redis turns CR and
/// LF into spaces so the reply stays one RESP frame.
pub fn one_line(msg: &[u8]) -> Vec<u8> {
    msg.iter().map(|b| if matches!(b, b'\r' | b'\n') { b' ' } else { *b }).collect()
}

impl Encoder<'_> {
    unsafe fn value(&mut self, idx: c_int, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH || ffi::lua_checkstack(self.state, 4) == 0 {
            return Err("ERR reached lua stack limit".into());
        }
        let (state, proto) = (self.state, self.proto);
        match ffi::lua_type(state, idx) {
            ffi::LUA_TBOOLEAN if !self.script_resp3 => {
                if ffi::lua_toboolean(state, idx) != 0 {
                    resp::integer(self.out, 1)
                } else {
                    resp::null(self.out, proto)
                }
            }
            ffi::LUA_TBOOLEAN => resp::boolean(self.out, ffi::lua_toboolean(state, idx) != 0, proto),
            ffi::LUA_TNUMBER => resp::integer(self.out, truncate(ffi::lua_tonumber(state, idx))),
            ffi::LUA_TSTRING => resp::bulk(self.out, string_at(state, idx)),
            ffi::LUA_TTABLE => return self.table(idx, depth),
            _ => resp::null(self.out, proto),
        }
        Ok(())
    }

    /// `t[field]` (raw) pushed on the stack; returns its type.
    unsafe fn field(&self, idx: c_int, field: &CStr) -> c_int {
        ffi::lua_pushstring(self.state, field.as_ptr());
        ffi::lua_rawget(self.state, idx);
        ffi::lua_type(self.state, -1)
    }

    unsafe fn table(&mut self, idx: c_int, depth: usize) -> Result<(), String> {
        let state = self.state;
        let top = ffi::lua_gettop(state);
        let result = self.tagged(idx, depth);
        ffi::lua_settop(state, top);
        match result {
            Some(r) => r,
            None => self.array(idx, depth),
        }
    }

    /// The tables Redis gives a meaning by their field; None for a plain
    /// array.
    unsafe fn tagged(&mut self, idx: c_int, depth: usize) -> Option<Result<(), String>> {
        let state = self.state;
        if self.field(idx, c"err") == ffi::LUA_TSTRING {
            let msg = one_line(strip_dash(string_at(state, -1)));
            if depth == 0 {
                return Some(Err(String::from_utf8_lossy(&msg).into_owned()));
            }
            resp::error(self.out, &msg);
            return Some(Ok(()));
        }
        ffi::lua_pop(state, 1);
        if self.field(idx, c"ok") == ffi::LUA_TSTRING {
            resp::simple(self.out, &one_line(string_at(state, -1)));
            return Some(Ok(()));
        }
        ffi::lua_pop(state, 1);
        if self.field(idx, c"double") == ffi::LUA_TNUMBER {
            resp::double(self.out, ffi::lua_tonumber(state, -1), self.proto);
            return Some(Ok(()));
        }
        ffi::lua_pop(state, 1);
        if self.field(idx, c"big_number") == ffi::LUA_TSTRING {
            let text = one_line(string_at(state, -1));
            match self.proto {
                Protocol::Resp3 => {
                    self.out.put_u8(b'(');
                    self.out.put_slice(&text);
                    self.out.put_slice(b"\r\n");
                }
                Protocol::Resp2 => resp::bulk(self.out, &text),
            }
            return Some(Ok(()));
        }
        ffi::lua_pop(state, 1);
        if self.field(idx, c"map") == ffi::LUA_TTABLE {
            return Some(self.pairs(ffi::lua_gettop(state), depth, true));
        }
        ffi::lua_pop(state, 1);
        if self.field(idx, c"set") == ffi::LUA_TTABLE {
            return Some(self.pairs(ffi::lua_gettop(state), depth, false));
        }
        ffi::lua_pop(state, 1);
        if self.field(idx, c"verbatim_string") == ffi::LUA_TTABLE {
            self.verbatim(ffi::lua_gettop(state));
            return Some(Ok(()));
        }
        None
    }

    /// A `{map=}` (keys and values) or `{set=}` (keys) table's entries.
    unsafe fn pairs(&mut self, t: c_int, depth: usize, with_values: bool) -> Result<(), String> {
        let state = self.state;
        let mut count = 0;
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            ffi::lua_pop(state, 1);
            count += 1;
        }
        if with_values {
            resp::map_len(self.out, count, self.proto);
        } else {
            resp::set_len(self.out, count, self.proto);
        }
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, t) != 0 {
            let (key, value) = (ffi::lua_gettop(state) - 1, ffi::lua_gettop(state));
            let encoded = self.value(key, depth + 1).and_then(|()| if with_values { self.value(value, depth + 1) } else { Ok(()) });
            if let Err(e) = encoded {
                ffi::lua_pop(state, 2);
                return Err(e);
            }
            ffi::lua_pop(state, 1);
        }
        Ok(())
    }

    unsafe fn verbatim(&mut self, t: c_int) {
        let state = self.state;
        let format = if self.field(t, c"format") == ffi::LUA_TSTRING { string_at(state, -1).to_vec() } else { b"txt".to_vec() };
        ffi::lua_pop(state, 1);
        let text = if self.field(t, c"string") == ffi::LUA_TSTRING { string_at(state, -1).to_vec() } else { Vec::new() };
        ffi::lua_pop(state, 1);
        match self.proto {
            Protocol::Resp3 => {
                self.out.put_slice(format!("={}\r\n", text.len() + 4).as_bytes());
                self.out.put_slice(&format);
                self.out.put_u8(b':');
                self.out.put_slice(&text);
                self.out.put_slice(b"\r\n");
            }
            Protocol::Resp2 => resp::bulk(self.out, &text),
        }
    }

    /// An array, up to the first nil, as Lua's length would not guarantee.
    unsafe fn array(&mut self, idx: c_int, depth: usize) -> Result<(), String> {
        let state = self.state;
        let mut len = 0;
        loop {
            ffi::lua_rawgeti(state, idx, (len + 1) as ffi::lua_Integer);
            let nil = ffi::lua_isnil(state, -1) != 0;
            ffi::lua_pop(state, 1);
            if nil {
                break;
            }
            len += 1;
        }
        resp::array_len(self.out, len);
        for i in 1..=len {
            ffi::lua_rawgeti(state, idx, i as ffi::lua_Integer);
            let encoded = self.value(ffi::lua_gettop(state), depth + 1);
            ffi::lua_pop(state, 1);
            encoded?;
        }
        Ok(())
    }
}

/// A number as Redis's `(long long)` cast leaves it on x86-64: NaN and
/// anything out of range become the smallest integer.
fn truncate(n: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_63..TWO_63).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// An error text without the `-` a script may have put first.
pub(crate) fn strip_dash(msg: &[u8]) -> &[u8] {
    msg.strip_prefix(b"-").unwrap_or(msg)
}

/// The string (or number, as Lua writes it) at `idx`, borrowed from the
/// Lua stack: valid while it stays there.
pub(crate) unsafe fn string_at<'a>(state: *mut ffi::lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0;
    let p = ffi::lua_tolstring(state, idx, &mut len);
    std::slice::from_raw_parts(p.cast::<u8>(), len)
}
