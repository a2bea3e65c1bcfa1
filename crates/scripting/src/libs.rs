//! The libraries Redis adds to Lua: `cjson` (in Lua, `cjson.lua`, raised
//! through C trampolines) and `bit` (LuaBitOp, here in Rust). `struct` and
//! `cmsgpack` are not built yet.

use mlua::{Lua, Table, Value, Variadic};

use crate::trampoline;

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
