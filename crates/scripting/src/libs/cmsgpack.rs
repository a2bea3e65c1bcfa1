//! `cmsgpack`: lua-cmsgpack 0.4.0 as Redis 7.0 embeds it. `pack` encodes
//! its arguments as MessagePack (integral numbers as the smallest integer,
//! others as float when exact, tables as arrays when their keys are 1..n,
//! nesting cut at 16 levels); `unpack`, `unpack_one` and `unpack_limit`
//! decode. `pack` returns an error message (or nil) first, which its C
//! trampoline raises at the script's line; the decoders are C functions
//! themselves.

use std::ffi::{c_int, CStr};

use mlua::{ffi, Lua, MultiValue, Table, Value};

use super::{arg_error, failing as fail, returning};

const MAX_NESTING: usize = 16;
/// Nesting decoded (the recursion's native stack, as well as Lua's).
const MAX_DEPTH: usize = 1000;

pub fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    if args.is_empty() {
        return fail(lua, arg_error(0, "pack", "MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    for v in args.iter() {
        encode(v, 0, &mut out)?;
    }
    returning([Value::String(lua.create_string(&out)?)])
}

// ---------------------------------------------------------------- encoding

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Table(t) if level < MAX_NESTING => encode_table(t, level, out)?,
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => encode_number(*n as f64, out),
        Value::Number(n) => encode_number(*n, out),
        _ => out.push(0xc0),
    }
    Ok(())
}

/// An integral number in int64's range is an integer, anything else a
/// double (a float when that is exact).
fn encode_number(n: f64, out: &mut Vec<u8>) {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if n.trunc() == n && (-TWO_63..TWO_63).contains(&n) {
        encode_int(n as i64, out);
        return;
    }
    let f = n as f32;
    if f64::from(f) == n {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ if n > 0 => {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        -32..=-1 => out.push(n as i8 as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    match len {
        0..=31 => out.push(0xa0 | len as u8),
        32..=0xff => out.extend_from_slice(&[0xd9, len as u8]),
        0x100..=0xffff => {
            out.push(0xda);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s);
}

fn encode_header(out: &mut Vec<u8>, n: usize, fix: u8, (b16, b32): (u8, u8)) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_table(t: &Table, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    if is_array(t)? {
        let len = t.raw_len();
        encode_header(out, len, 0x90, (0xdc, 0xdd));
        for j in 1..=len {
            encode(&t.get::<Value>(j)?, level + 1, out)?;
        }
        return Ok(());
    }
    // Counted, then encoded, one pair at a time: holding every pair would
    // take a reference per key and value.
    let count = t.clone().pairs::<Value, Value>().count();
    encode_header(out, count, 0x80, (0xde, 0xdf));
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair?;
        encode(&k, level + 1, out)?;
        encode(&v, level + 1, out)?;
    }
    Ok(())
}

/// Keys 1..n and nothing else (lua-cmsgpack's table_is_an_array; indexes
/// are C ints).
fn is_array(t: &Table) -> mlua::Result<bool> {
    let (mut count, mut max) = (0i64, 0i64);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match &k {
            Value::Integer(n) => *n as f64,
            Value::Number(n) => *n,
            _ => return Ok(false),
        };
        if n <= 0.0 || n.trunc() != n || n > f64::from(i32::MAX) {
            return Ok(false);
        }
        max = max.max(n as i64);
        count += 1;
    }
    Ok(max == count)
}

// ---------------------------------------------------------------- decoding
//
// On Lua's C API: values are decoded straight onto the Lua stack, as
// lua-cmsgpack does, so hostile input (deep nesting, many values) meets
// Lua's own stack limit instead of holding one mlua reference per value.
// Rust values are dropped before an error is raised.

/// `cmsgpack.unpack(s)`: every value in `s`.
pub unsafe extern "C-unwind" fn unpack(state: *mut ffi::lua_State) -> c_int {
    finish(state, unpack_full(state, "unpack", 0, 0))
}

/// `cmsgpack.unpack_one(s [, offset])`: the next offset (-1 at the end)
/// and one value.
pub unsafe extern "C-unwind" fn unpack_one(state: *mut ffi::lua_State) -> c_int {
    let unpacked = integer_at(state, 2, "unpack_one", Some(0)).and_then(|offset| unpack_full(state, "unpack_one", 1, offset));
    finish(state, unpacked)
}

/// `cmsgpack.unpack_limit(s, limit [, offset])`: the next offset and up to
/// `limit` values.
pub unsafe extern "C-unwind" fn unpack_limit(state: *mut ffi::lua_State) -> c_int {
    let unpacked = integer_at(state, 2, "unpack_limit", None)
        .and_then(|limit| Ok((limit, integer_at(state, 3, "unpack_limit", Some(0))?)))
        .and_then(|(limit, offset)| unpack_full(state, "unpack_limit", limit, offset));
    finish(state, unpacked)
}

/// Returns the values left on the stack, or raises the error at the
/// script's line (luaL_error's form), the message's memory freed first.
unsafe fn finish(state: *mut ffi::lua_State, result: Result<c_int, String>) -> c_int {
    match result {
        Ok(n) => n,
        Err(msg) => {
            ffi::luaL_where(state, 1);
            ffi::lua_pushlstring(state, msg.as_ptr().cast(), msg.len());
            drop(msg);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state)
        }
    }
}

/// luaL_checkinteger / luaL_optinteger (`default`), truncated as C does.
unsafe fn integer_at(state: *mut ffi::lua_State, idx: c_int, func: &str, default: Option<i64>) -> Result<i64, String> {
    let t = ffi::lua_type(state, idx);
    if let (ffi::LUA_TNONE | ffi::LUA_TNIL, Some(d)) = (t, default) {
        return Ok(d);
    }
    if ffi::lua_isnumber(state, idx) != 0 {
        return Ok(ffi::lua_tonumber(state, idx) as i64);
    }
    Err(arg_error(idx as usize, func, &format!("number expected, got {}", type_name_at(state, idx))))
}

unsafe fn type_name_at(state: *mut ffi::lua_State, idx: c_int) -> String {
    let t = ffi::lua_type(state, idx);
    if t == ffi::LUA_TNONE {
        return "no value".into();
    }
    CStr::from_ptr(ffi::lua_typename(state, t)).to_string_lossy().into_owned()
}

enum Fail {
    Eof,
    BadFormat,
    TooDeep,
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.s.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Fail> {
        if self.left() < n {
            return Err(Fail::Eof);
        }
        let bytes = &self.s[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    fn be(&mut self, n: usize) -> Result<u64, Fail> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

/// Decodes one value onto the stack.
unsafe fn decode(state: *mut ffi::lua_State, c: &mut Cursor<'_>, depth: usize) -> Result<(), Fail> {
    if depth > MAX_DEPTH || ffi::lua_checkstack(state, 3) == 0 {
        return Err(Fail::TooDeep);
    }
    let tag = c.take(1)?[0];
    let number = |n: f64| {
        ffi::lua_pushnumber(state, n);
        Ok(())
    };
    match tag {
        0xcc => number(c.be(1)? as f64),
        0xd0 => number(f64::from(c.be(1)? as u8 as i8)),
        0xcd => number(c.be(2)? as f64),
        0xd1 => number(f64::from(c.be(2)? as u16 as i16)),
        0xce => number(c.be(4)? as f64),
        0xd2 => number(f64::from(c.be(4)? as u32 as i32)),
        0xcf => number(c.be(8)? as f64),
        0xd3 => number(c.be(8)? as i64 as f64),
        0xc0 => {
            ffi::lua_pushnil(state);
            Ok(())
        }
        0xc3 | 0xc2 => {
            ffi::lua_pushboolean(state, c_int::from(tag == 0xc3));
            Ok(())
        }
        0xca => number(f64::from(f32::from_bits(c.be(4)? as u32))),
        0xcb => number(f64::from_bits(c.be(8)?)),
        0xd9 => string(state, c, 1),
        0xda => string(state, c, 2),
        0xdb => string(state, c, 4),
        0xdc | 0xdd => {
            let len = c.be(if tag == 0xdc { 2 } else { 4 })? as usize;
            array(state, c, len, depth)
        }
        0xde | 0xdf => {
            let len = c.be(if tag == 0xde { 2 } else { 4 })? as usize;
            map(state, c, len, depth)
        }
        _ if tag & 0x80 == 0 => number(f64::from(tag)),
        _ if tag & 0xe0 == 0xe0 => number(f64::from(tag as i8)),
        _ if tag & 0xe0 == 0xa0 => {
            let bytes = c.take(usize::from(tag & 0x1f))?;
            ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
            Ok(())
        }
        _ if tag & 0xf0 == 0x90 => array(state, c, usize::from(tag & 0xf), depth),
        _ if tag & 0xf0 == 0x80 => map(state, c, usize::from(tag & 0xf), depth),
        _ => Err(Fail::BadFormat),
    }
}

unsafe fn string(state: *mut ffi::lua_State, c: &mut Cursor<'_>, len_bytes: usize) -> Result<(), Fail> {
    let len = c.be(len_bytes)? as usize;
    let bytes = c.take(len)?;
    ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
    Ok(())
}

/// The length is untrusted: the table grows as elements arrive.
unsafe fn array(state: *mut ffi::lua_State, c: &mut Cursor<'_>, len: usize, depth: usize) -> Result<(), Fail> {
    ffi::lua_createtable(state, 0, 0);
    for i in 1..=len {
        decode(state, c, depth + 1)?;
        ffi::lua_rawseti(state, -2, i as ffi::lua_Integer);
    }
    Ok(())
}

unsafe fn map(state: *mut ffi::lua_State, c: &mut Cursor<'_>, len: usize, depth: usize) -> Result<(), Fail> {
    ffi::lua_createtable(state, 0, 0);
    for _ in 0..len {
        decode(state, c, depth + 1)?;
        decode(state, c, depth + 1)?;
        // A nil or NaN key cannot index a table (Lua would raise "table
        // index is nil"): the pair is dropped.
        let bad_key = ffi::lua_isnil(state, -2) != 0 || (ffi::lua_type(state, -2) == ffi::LUA_TNUMBER && ffi::lua_tonumber(state, -2).is_nan());
        if bad_key {
            ffi::lua_pop(state, 2);
        } else {
            ffi::lua_rawset(state, -3);
        }
    }
    Ok(())
}

/// lua-cmsgpack's mp_unpack_full: with no limit and no offset every value
/// is returned; otherwise the next offset (-1 at the end) comes first.
/// Returns how many values it left on the stack.
unsafe fn unpack_full(state: *mut ffi::lua_State, func: &str, limit: i64, offset: i64) -> Result<c_int, String> {
    if !matches!(ffi::lua_type(state, 1), ffi::LUA_TSTRING | ffi::LUA_TNUMBER) {
        return Err(arg_error(1, func, &format!("string expected, got {}", type_name_at(state, 1))));
    }
    // Only the string stays (the C code pops the rest), so the values are
    // the stack above it.
    ffi::lua_settop(state, 1);
    let mut len = 0;
    let p = ffi::lua_tolstring(state, 1, &mut len);
    // The string stays at slot 1 (anchored) while its bytes are read.
    let s = std::slice::from_raw_parts(p.cast::<u8>(), len);
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // Sic: Redis's message reports the input length as the limit.
        return Err(format!("Invalid request to unpack with offset of {} and limit of {}.", offset as i32, len as i32));
    }
    if offset as usize > len {
        return Err(format!("Start offset {} greater than input length {}.", offset as i32, len as i32));
    }
    let limit = if decode_all { i64::from(i32::MAX) } else { limit };
    let mut c = Cursor { s, at: offset as usize };
    let mut count: c_int = 0;
    while c.left() > 0 && i64::from(count) < limit {
        if ffi::lua_checkstack(state, 1) == 0 {
            return Err("too many return values at once; use unpack_one or unpack_limit instead.".into());
        }
        match decode(state, &mut c, 0) {
            Ok(()) => count += 1,
            Err(Fail::Eof) => return Err("Missing bytes in input.".into()),
            Err(Fail::BadFormat) => return Err("Bad data format in input.".into()),
            Err(Fail::TooDeep) => return Err("stack overflow (in function mp_decode_to_lua_array)".into()),
        }
    }
    if !decode_all {
        let next = if c.left() == 0 { -1 } else { c.at as i64 };
        ffi::lua_pushnumber(state, next as f64);
        ffi::lua_insert(state, 2);
        count += 1;
    }
    Ok(count)
}
