//! `cmsgpack`: lua-cmsgpack 0.4.0 as Redis 7.0 embeds it. `pack` encodes
//! its arguments as MessagePack (integral numbers as the smallest integer,
//! others as float when exact, tables as arrays when their keys are 1..n,
//! nesting cut at 16 levels); `unpack`, `unpack_one` and `unpack_limit`
//! decode. The implementations return an error message (or nil) first,
//! which their C trampolines raise at the script's line.

use mlua::{Lua, MultiValue, Table, Value};

use super::{arg_error, failing as fail, integer_arg, returning, string_arg};

const MAX_NESTING: usize = 16;
/// Results returned at once. Every table or string among them is held as a
/// reference on mlua's auxiliary stack (about 8000 slots for everything)
/// until it is returned, so this stays well below Lua's own C stack limit.
const MAX_RESULTS: usize = 4000;
/// Nesting decoded (each level holds its table the same way).
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

pub fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unpack_full(lua, &args, "unpack", 0, 0)
}

pub fn unpack_one(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let offset = match integer_arg(lua, args.get(1), 2, "unpack_one", Some(0)) {
        Ok(n) => n,
        Err(msg) => return fail(lua, msg),
    };
    unpack_full(lua, &args, "unpack_one", 1, offset)
}

pub fn unpack_limit(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let limits =
        integer_arg(lua, args.get(1), 2, "unpack_limit", None).and_then(|limit| Ok((limit, integer_arg(lua, args.get(2), 3, "unpack_limit", Some(0))?)));
    match limits {
        Ok((limit, offset)) => unpack_full(lua, &args, "unpack_limit", limit, offset),
        Err(msg) => fail(lua, msg),
    }
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

enum Fail {
    Eof,
    BadFormat,
    TooDeep,
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
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

fn decode(lua: &Lua, c: &mut Cursor<'_>, depth: usize) -> Result<Value, Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::TooDeep);
    }
    let tag = c.take(1)?[0];
    let number = |n: f64| Ok(Value::Number(n));
    match tag {
        0xcc => number(c.be(1)? as f64),
        0xd0 => number(f64::from(c.be(1)? as u8 as i8)),
        0xcd => number(c.be(2)? as f64),
        0xd1 => number(f64::from(c.be(2)? as u16 as i16)),
        0xce => number(c.be(4)? as f64),
        0xd2 => number(f64::from(c.be(4)? as u32 as i32)),
        0xcf => number(c.be(8)? as f64),
        0xd3 => number(c.be(8)? as i64 as f64),
        0xc0 => Ok(Value::Nil),
        0xc3 => Ok(Value::Boolean(true)),
        0xc2 => Ok(Value::Boolean(false)),
        0xca => number(f64::from(f32::from_bits(c.be(4)? as u32))),
        0xcb => number(f64::from_bits(c.be(8)?)),
        0xd9 => string(lua, c, 1),
        0xda => string(lua, c, 2),
        0xdb => string(lua, c, 4),
        0xdc => array(lua, c, 2, depth),
        0xdd => array(lua, c, 4, depth),
        0xde => map(lua, c, 2, depth),
        0xdf => map(lua, c, 4, depth),
        _ if tag & 0x80 == 0 => number(f64::from(tag)),
        _ if tag & 0xe0 == 0xe0 => number(f64::from(tag as i8)),
        _ if tag & 0xe0 == 0xa0 => {
            let bytes = c.take(usize::from(tag & 0x1f))?;
            Ok(Value::String(lua.create_string(bytes)?))
        }
        _ if tag & 0xf0 == 0x90 => decode_array(lua, c, usize::from(tag & 0xf), depth),
        _ if tag & 0xf0 == 0x80 => decode_map(lua, c, usize::from(tag & 0xf), depth),
        _ => Err(Fail::BadFormat),
    }
}

fn string(lua: &Lua, c: &mut Cursor<'_>, len_bytes: usize) -> Result<Value, Fail> {
    let len = c.be(len_bytes)? as usize;
    let bytes = c.take(len)?;
    Ok(Value::String(lua.create_string(bytes)?))
}

fn array(lua: &Lua, c: &mut Cursor<'_>, len_bytes: usize, depth: usize) -> Result<Value, Fail> {
    let len = c.be(len_bytes)? as usize;
    decode_array(lua, c, len, depth)
}

fn map(lua: &Lua, c: &mut Cursor<'_>, len_bytes: usize, depth: usize) -> Result<Value, Fail> {
    let len = c.be(len_bytes)? as usize;
    decode_map(lua, c, len, depth)
}

fn decode_array(lua: &Lua, c: &mut Cursor<'_>, len: usize, depth: usize) -> Result<Value, Fail> {
    // The length is untrusted: the table grows as elements arrive.
    let t = lua.create_table()?;
    for i in 1..=len {
        t.raw_set(i, decode(lua, c, depth + 1)?)?;
    }
    Ok(Value::Table(t))
}

fn decode_map(lua: &Lua, c: &mut Cursor<'_>, len: usize, depth: usize) -> Result<Value, Fail> {
    let t = lua.create_table()?;
    for _ in 0..len {
        let k = decode(lua, c, depth + 1)?;
        let v = decode(lua, c, depth + 1)?;
        t.raw_set(k, v)?;
    }
    Ok(Value::Table(t))
}

/// lua-cmsgpack's mp_unpack_full: with no limit and no offset every value
/// is returned; otherwise the next offset (-1 at the end) comes first.
fn unpack_full(lua: &Lua, args: &MultiValue, func: &str, limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    let s = match string_arg(lua, args.front(), 1, func) {
        Ok(s) => s,
        Err(msg) => return fail(lua, msg),
    };
    let len = s.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // Sic: Redis's message reports the input length as the limit.
        return fail(lua, format!("Invalid request to unpack with offset of {} and limit of {}.", offset as i32, len as i32));
    }
    if offset as usize > len {
        return fail(lua, format!("Start offset {} greater than input length {}.", offset as i32, len as i32));
    }
    let limit = if decode_all { i64::from(i32::MAX) } else { limit };
    let mut c = Cursor { s: &s, at: offset as usize };
    let mut values = Vec::new();
    while c.left() > 0 && (values.len() as i64) < limit {
        if values.len() >= MAX_RESULTS {
            return fail(lua, "too many return values at once; use unpack_one or unpack_limit instead.".into());
        }
        match decode(lua, &mut c, 0) {
            Ok(v) => values.push(v),
            Err(Fail::Eof) => return fail(lua, "Missing bytes in input.".into()),
            Err(Fail::BadFormat) => return fail(lua, "Bad data format in input.".into()),
            Err(Fail::TooDeep) => return fail(lua, "stack overflow (in function mp_decode_to_lua_array)".into()),
            Err(Fail::Lua(e)) => return Err(e),
        }
    }
    if !decode_all {
        let next = if c.left() == 0 { -1 } else { c.at as i64 };
        values.insert(0, Value::Number(next as f64));
    }
    returning(values)
}
