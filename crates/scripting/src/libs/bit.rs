//! `bit`: LuaBitOp 1.0.2 as Redis embeds it. Arguments are numbers (or
//! numeric strings) rounded and wrapped to 32 bits; results are signed
//! 32-bit numbers.

use mlua::{Lua, MultiValue, Value};

use super::{arg_error, failing, returning, type_name};

/// LuaBitOp's argument normalisation: the number rounded to an integer and
/// wrapped to 32 bits.
fn normalise(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    n.round_ties_even().rem_euclid(4294967296.0) as u64 as u32 as i32
}

/// Argument `n` (1-based) of `func`, as LuaBitOp's barg reads it.
fn arg(lua: &Lua, args: &MultiValue, n: usize, func: &str) -> Result<i32, String> {
    let v = args.get(n - 1);
    let number = match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(f)) => Some(*f),
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone()).ok().flatten(),
        _ => None,
    };
    number.map(normalise).ok_or_else(|| arg_error(n, func, &format!("number expected, got {}", type_name(v))))
}

fn number(lua: &Lua, r: Result<i32, String>) -> mlua::Result<MultiValue> {
    match r {
        Ok(n) => returning([Value::Number(f64::from(n))]),
        Err(msg) => failing(lua, msg),
    }
}

fn unary(lua: &Lua, args: &MultiValue, func: &str, f: fn(i32) -> i32) -> mlua::Result<MultiValue> {
    number(lua, arg(lua, args, 1, func).map(f))
}

fn fold(lua: &Lua, args: &MultiValue, func: &str, f: fn(i32, i32) -> i32) -> mlua::Result<MultiValue> {
    let folded = (2..=args.len().max(1)).try_fold(arg(lua, args, 1, func), |acc, i| Ok::<_, String>(Ok(f(acc?, arg(lua, args, i, func)?))));
    number(lua, folded.and_then(|r| r))
}

fn shift(lua: &Lua, args: &MultiValue, func: &str, f: fn(u32, u32) -> u32) -> mlua::Result<MultiValue> {
    let shifted = arg(lua, args, 1, func).and_then(|x| Ok(f(x as u32, arg(lua, args, 2, func)? as u32 & 31) as i32));
    number(lua, shifted)
}

pub fn tobit(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unary(lua, &args, "tobit", |x| x)
}

pub fn bnot(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unary(lua, &args, "bnot", |x| !x)
}

pub fn bswap(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unary(lua, &args, "bswap", i32::swap_bytes)
}

pub fn band(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    fold(lua, &args, "band", |x, y| x & y)
}

pub fn bor(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    fold(lua, &args, "bor", |x, y| x | y)
}

pub fn bxor(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    fold(lua, &args, "bxor", |x, y| x ^ y)
}

pub fn lshift(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    shift(lua, &args, "lshift", |x, n| x << n)
}

pub fn rshift(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    shift(lua, &args, "rshift", |x, n| x >> n)
}

pub fn arshift(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    shift(lua, &args, "arshift", |x, n| ((x as i32) >> n) as u32)
}

pub fn rol(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    shift(lua, &args, "rol", u32::rotate_left)
}

pub fn ror(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    shift(lua, &args, "ror", u32::rotate_right)
}

/// `tohex(x [, n])`: n hex digits (8 by default), upper case when n < 0.
pub fn tohex(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let hex = arg(lua, &args, 1, "tohex").and_then(|x| {
        let n = if args.len() < 2 { 8 } else { arg(lua, &args, 2, "tohex")? };
        let (upper, digits) = (n < 0, n.unsigned_abs().min(8) as usize);
        let hex = if upper { format!("{:08X}", x as u32) } else { format!("{:08x}", x as u32) };
        Ok(hex[8 - digits..].to_string())
    });
    match hex {
        Ok(s) => returning([Value::String(lua.create_string(s)?)]),
        Err(msg) => failing(lua, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn normalise_wraps_to_32_bits_as_luabitop() {
        assert_eq!(normalise(4294967297.0), 1);
        assert_eq!(normalise(2147483648.0), i32::MIN);
        assert_eq!(normalise(-1.0), -1);
        assert_eq!(normalise(2.5), 2);
        assert_eq!(normalise(3.5), 4);
    }
}
