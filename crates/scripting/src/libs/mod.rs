//! The libraries Redis adds to Lua: `cjson` (in Lua, `cjson.lua`, raised
//! through C trampolines), `bit` (LuaBitOp, here in Rust), `cmsgpack` and
//! `struct` (in Rust, raised through C trampolines).

mod cmsgpack;
mod structs;

use std::ffi::CStr;

use mlua::{ffi, Lua, MultiValue, Table, Value, Variadic};

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
    let t = raising_table(
        lua,
        &[
            ("pack", CMSGPACK_PACK, cmsgpack::pack, cmsgpack_pack),
            ("unpack", CMSGPACK_UNPACK, cmsgpack::unpack, cmsgpack_unpack),
            ("unpack_one", CMSGPACK_UNPACK_ONE, cmsgpack::unpack_one, cmsgpack_unpack_one),
            ("unpack_limit", CMSGPACK_UNPACK_LIMIT, cmsgpack::unpack_limit, cmsgpack_unpack_limit),
        ],
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
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

/// LuaBitOp's argument normalisation: the number rounded to an integer and
/// wrapped to 32 bits.
fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    n.round_ties_even().rem_euclid(4294967296.0) as u64 as u32 as i32
}

fn arg(v: &Value) -> mlua::Result<i32> {
    match v {
        Value::Integer(n) => Ok(tobit(*n as f64)),
        Value::Number(n) => Ok(tobit(*n)),
        Value::String(s) => {
            s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()).map(tobit).ok_or_else(|| mlua::Error::runtime("bad argument (number expected)"))
        }
        _ => Err(mlua::Error::runtime("bad argument (number expected)")),
    }
}

fn fold(args: Variadic<Value>, f: fn(i32, i32) -> i32) -> mlua::Result<f64> {
    let mut it = args.iter();
    let first = arg(it.next().ok_or_else(|| mlua::Error::runtime("bad argument #1 (number expected, got no value)"))?)?;
    it.try_fold(first, |acc, v| Ok(f(acc, arg(v)?))).map(f64::from)
}

pub fn bit(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("tobit", lua.create_function(|_, v: Value| Ok(f64::from(arg(&v)?)))?)?;
    t.raw_set("bnot", lua.create_function(|_, v: Value| Ok(f64::from(!arg(&v)?)))?)?;
    t.raw_set("band", lua.create_function(|_, a: Variadic<Value>| fold(a, |x, y| x & y))?)?;
    t.raw_set("bor", lua.create_function(|_, a: Variadic<Value>| fold(a, |x, y| x | y))?)?;
    t.raw_set("bxor", lua.create_function(|_, a: Variadic<Value>| fold(a, |x, y| x ^ y))?)?;
    let shift = |f: fn(u32, u32) -> u32| move |_: &Lua, (x, n): (Value, Value)| Ok(f64::from(f(arg(&x)? as u32, arg(&n)? as u32 & 31) as i32));
    t.raw_set("lshift", lua.create_function(shift(|x, n| x << n))?)?;
    t.raw_set("rshift", lua.create_function(shift(|x, n| x >> n))?)?;
    t.raw_set("arshift", lua.create_function(shift(|x, n| ((x as i32) >> n) as u32))?)?;
    t.raw_set("rol", lua.create_function(shift(|x, n| x.rotate_left(n)))?)?;
    t.raw_set("ror", lua.create_function(shift(|x, n| x.rotate_right(n)))?)?;
    t.raw_set("bswap", lua.create_function(|_, v: Value| Ok(f64::from(arg(&v)?.swap_bytes())))?)?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (v, n): (Value, Option<Value>)| {
            let x = arg(&v)? as u32;
            let n = match n {
                Some(n) => arg(&n)?,
                None => 8,
            };
            let (upper, digits) = (n < 0, n.unsigned_abs().min(8) as usize);
            let hex = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
            Ok(hex[8 - digits..].to_string())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_to_32_bits_as_luabitop() {
        assert_eq!(tobit(4294967297.0), 1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(3.5), 4);
    }
}
