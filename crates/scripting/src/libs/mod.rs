//! The libraries Redis adds to Lua: `cjson` (in Lua, `cjson.lua`), `bit`
//! (LuaBitOp), `cmsgpack` and `struct` (in Rust), all raising their errors
//! at the script's line through C trampolines, as Redis's C libraries do.

mod bit;
mod cmsgpack;
mod structs;

use std::ffi::CStr;

use mlua::{ffi, Lua, MultiValue, Table, Value};

use crate::trampoline;

type Impl = fn(&Lua, MultiValue) -> mlua::Result<MultiValue>;

/// A library table whose functions are C trampolines raising what their
/// Rust implementation returns.
fn raising_table(lua: &Lua, functions: &[(&str, &'static CStr, Impl, ffi::lua_CFunction)]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (name, key, implementation, trampoline) in functions {
        lua.set_named_registry_value(trampoline::key(key), lua.create_function(*implementation)?)?;
        // SAFETY: plain lua_CFunctions that only use the Lua API.
        t.raw_set(*name, unsafe { lua.create_c_function(*trampoline)? })?;
    }
    Ok(t)
}

pub fn cmsgpack(lua: &Lua) -> mlua::Result<Table> {
    use trampoline::*;
    let t = raising_table(lua, &[("pack", CMSGPACK_PACK, cmsgpack::pack, cmsgpack_pack)])?;
    // SAFETY: plain lua_CFunctions that only use the Lua API.
    unsafe {
        t.raw_set("unpack", lua.create_c_function(cmsgpack::unpack)?)?;
        t.raw_set("unpack_one", lua.create_c_function(cmsgpack::unpack_one)?)?;
        t.raw_set("unpack_limit", lua.create_c_function(cmsgpack::unpack_limit)?)?;
    }
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

pub fn bit(lua: &Lua) -> mlua::Result<Table> {
    use trampoline::*;
    raising_table(
        lua,
        &[
            ("tobit", BIT_TOBIT, bit::tobit, bit_tobit),
            ("bnot", BIT_BNOT, bit::bnot, bit_bnot),
            ("band", BIT_BAND, bit::band, bit_band),
            ("bor", BIT_BOR, bit::bor, bit_bor),
            ("bxor", BIT_BXOR, bit::bxor, bit_bxor),
            ("lshift", BIT_LSHIFT, bit::lshift, bit_lshift),
            ("rshift", BIT_RSHIFT, bit::rshift, bit_rshift),
            ("arshift", BIT_ARSHIFT, bit::arshift, bit_arshift),
            ("rol", BIT_ROL, bit::rol, bit_rol),
            ("ror", BIT_ROR, bit::ror, bit_ror),
            ("bswap", BIT_BSWAP, bit::bswap, bit_bswap),
            ("tohex", BIT_TOHEX, bit::tohex, bit_tohex),
        ],
    )
}

pub fn structs(lua: &Lua) -> mlua::Result<Table> {
    use trampoline::*;
    raising_table(
        lua,
        &[
            ("pack", STRUCT_PACK, structs::pack, struct_pack),
            ("unpack", STRUCT_UNPACK, structs::unpack, struct_unpack),
            ("size", STRUCT_SIZE, structs::size, struct_size),
        ],
    )
}

/// An implementation's result: no error (nil) then its values.
fn returning(values: impl IntoIterator<Item = Value>) -> mlua::Result<MultiValue> {
    Ok(std::iter::once(Value::Nil).chain(values).collect())
}

/// An implementation's error: the message its trampoline raises.
fn failing(lua: &Lua, msg: String) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([Value::String(lua.create_string(msg)?)]))
}

/// luaL_argerror's wording.
fn arg_error(n: usize, func: &str, msg: &str) -> String {
    format!("bad argument #{n} to '{func}' ({msg})")
}

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// luaL_checklstring: a string, or a number as Lua writes it.
fn string_arg(lua: &Lua, v: Option<&Value>, n: usize, func: &str) -> Result<Vec<u8>, String> {
    let expected = || arg_error(n, func, &format!("string expected, got {}", type_name(v)));
    match v {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua.coerce_string(v.clone()).ok().flatten().map(|s| s.as_bytes().to_vec()).ok_or_else(expected),
        _ => Err(expected()),
    }
}

/// luaL_checkinteger, or luaL_optinteger with `default`: a number or a
/// numeric string, truncated.
fn integer_arg(lua: &Lua, v: Option<&Value>, n: usize, func: &str, default: Option<i64>) -> Result<i64, String> {
    match (v, default) {
        (None | Some(Value::Nil), Some(d)) => Ok(d),
        (Some(Value::Integer(i)), _) => Ok(*i),
        (Some(Value::Number(f)), _) => Ok(*f as i64),
        (Some(s @ Value::String(_)), _) => match lua.coerce_number(s.clone()) {
            Ok(Some(f)) => Ok(f as i64),
            _ => Err(arg_error(n, func, "number expected, got string")),
        },
        _ => Err(arg_error(n, func, &format!("number expected, got {}", type_name(v)))),
    }
}

pub fn cjson(lua: &Lua) -> mlua::Result<Table> {
    let null: Value = lua.load("return newproxy(false)").set_name("=ferrokv").eval()?;
    let chunk = lua.load(include_str!("cjson.lua")).set_name("=ferrokv").into_function()?;
    let (encode, decode): (mlua::Function, mlua::Function) = chunk.call(null.clone())?;
    lua.set_named_registry_value(trampoline::key(trampoline::CJSON_ENCODE), encode)?;
    lua.set_named_registry_value(trampoline::key(trampoline::CJSON_DECODE), decode)?;
    let t = lua.create_table()?;
    // SAFETY: plain lua_CFunctions that only use the Lua API.
    unsafe {
        t.raw_set("encode", lua.create_c_function(trampoline::cjson_encode)?)?;
        t.raw_set("decode", lua.create_c_function(trampoline::cjson_decode)?)?;
    }
    t.raw_set("null", null)?;
    Ok(t)
}
