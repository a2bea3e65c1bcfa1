//! `struct`: Roberto Ierusalimschy's struct library as Redis 7.0 embeds it
//! (with Redis's bounds checks): `pack(fmt, ...)`, `unpack(fmt, s [, i])`
//! and `size(fmt)`, for the layouts of an x86-64 C compiler (little endian
//! by default, 2-byte short, 8-byte long and size_t, 4-byte int). As in
//! `cmsgpack`, the implementations return an error message (or nil) first.

use mlua::{Lua, MultiValue, Value};

use super::{arg_error, failing, integer_arg, returning, string_arg};

const MAXINTSIZE: usize = 32;
/// The strictest alignment `!` defaults to (a double's).
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

const DEFAULT: Header = Header { little: true, align: 1 };

/// A format string as C reads it: up to its first NUL.
struct Format<'a> {
    fmt: &'a [u8],
    at: usize,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.fmt.get(self.at).filter(|c| **c != 0)?;
        self.at += 1;
        Some(c)
    }

    /// A decimal number at the cursor, or `default`.
    fn number(&mut self, default: usize) -> Result<usize, String> {
        if !self.fmt.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(d) = self.fmt.get(self.at).filter(|c| c.is_ascii_digit()) {
            let digit = usize::from(d - b'0');
            if a > (i32::MAX as usize) / 10 || a * 10 > i32::MAX as usize - digit {
                return Err("integral size overflow".into());
            }
            a = a * 10 + digit;
            self.at += 1;
        }
        Ok(a)
    }

    /// optsize: the option's size in bytes (zero for control options).
    fn size(&mut self, opt: u8) -> Result<usize, String> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAXINTSIZE {
                    return Err(format!("integral size {size} is larger than limit of {MAXINTSIZE}"));
                }
                size
            }
            _ => 0,
        })
    }

    /// controloptions: endianness, alignment, spaces; anything else is an
    /// invalid option.
    fn control(&mut self, opt: u8, h: &mut Header, func: &str) -> Result<(), String> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.number(MAXALIGN)?;
                if !a.is_power_of_two() {
                    return Err(format!("alignment {a} is not a power of 2"));
                }
                h.align = a;
            }
            _ => return Err(arg_error(1, func, &format!("invalid format option '{}'", opt as char))),
        }
        Ok(())
    }
}

fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// luaL_checknumber. (pack's C code pushes a nil after its arguments, so
/// a missing one is reported as nil.)
fn number_arg(lua: &Lua, args: &MultiValue, n: usize, func: &str) -> Result<f64, String> {
    match args.get(n - 1).or(Some(&Value::Nil)) {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Number(f)) => Ok(*f),
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone()).ok().flatten().ok_or_else(|| arg_error(n, func, "number expected, got string")),
        other => Err(arg_error(n, func, &format!("number expected, got {}", super::type_name(other)))),
    }
}

fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let mut value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes = vec![0u8; size];
    for i in 0..size {
        let at = if little { i } else { size - 1 - i };
        bytes[at] = (value & 0xff) as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    out.extend_from_slice(&bytes);
}

fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let size = bytes.len();
    let mut l: u64 = 0;
    for i in 0..size {
        let b = if little { bytes[size - 1 - i] } else { bytes[i] };
        l = (l << 8) | u64::from(b);
    }
    if !signed || size == 0 {
        return l as f64;
    }
    // As the C code on x86-64: the shift count wraps at 64.
    let mask = u64::MAX << ((size * 8 - 1) & 63);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn result(lua: &Lua, r: Result<Vec<Value>, String>) -> mlua::Result<MultiValue> {
    match r {
        Ok(values) => returning(values),
        Err(msg) => failing(lua, msg),
    }
}

/// Results returned at once (each string among them holds an mlua
/// reference until it is returned; see `cmsgpack`).
const MAX_RESULTS: usize = 4000;

pub fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let packed = pack_values(lua, &args).and_then(|out| Ok(vec![Value::String(lua.create_string(&out).map_err(|e| e.to_string())?)]));
    result(lua, packed)
}

fn pack_values(lua: &Lua, args: &MultiValue) -> Result<Vec<u8>, String> {
    let fmt = string_arg(lua, args.front(), 1, "pack")?;
    let mut f = Format { fmt: &fmt, at: 0 };
    let mut h = DEFAULT;
    let mut arg = 2;
    let mut out = Vec::new();
    while let Some(opt) = f.next() {
        let mut size = f.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                put_integer(&mut out, number_arg(lua, args, arg, "pack")?, h.little, size);
                arg += 1;
            }
            b'x' => out.push(0),
            b'f' => {
                let v = number_arg(lua, args, arg, "pack")? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'd' => {
                let v = number_arg(lua, args, arg, "pack")?;
                arg += 1;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = string_arg(lua, args.get(arg - 1).or(Some(&Value::Nil)), arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // Sic: the C code names the argument after this one.
                    return Err(arg_error(arg, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(opt, &mut h, "pack")?,
        }
    }
    Ok(out)
}

pub fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let unpacked = unpack_values(lua, &args);
    result(lua, unpacked)
}

fn unpack_values(lua: &Lua, args: &MultiValue) -> Result<Vec<Value>, String> {
    let fmt = string_arg(lua, args.front(), 1, "unpack")?;
    let data = string_arg(lua, args.get(1), 2, "unpack")?;
    // A size_t in C: a negative offset wraps around and fails later.
    let start = integer_arg(lua, args.get(2), 3, "unpack", Some(1))? as u64;
    if start == 0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = start.wrapping_sub(1);
    let ld = data.len() as u64;
    let short = || arg_error(2, "unpack", "data string too short");
    let mut f = Format { fmt: &fmt, at: 0 };
    let mut h = DEFAULT;
    let mut values: Vec<Value> = Vec::new();
    while let Some(opt) = f.next() {
        if values.len() >= MAX_RESULTS {
            return Err("stack overflow (too many results)".into());
        }
        let mut size = f.size(opt)? as u64;
        pos = pos.wrapping_add(to_align(pos as usize, &h, opt, size as usize) as u64);
        if size > ld || pos > ld - size {
            return Err(short());
        }
        let at = pos as usize;
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = get_integer(&data[at..at + size as usize], h.little, opt.is_ascii_lowercase());
                values.push(Value::Number(n));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[at..at + 4]);
                values.push(Value::Number(f64::from(if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) })));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                values.push(Value::Number(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
            }
            b'c' => {
                if size == 0 {
                    let previous = values.last().and_then(|v| lua.coerce_number(v.clone()).ok().flatten());
                    let Some(n) = previous else { return Err("format 'c0' needs a previous size".into()) };
                    values.pop();
                    size = n as u64;
                    if size > ld || pos > ld - size {
                        return Err(short());
                    }
                }
                values.push(Value::String(lua.create_string(&data[at..at + size as usize]).map_err(|e| e.to_string())?));
            }
            b's' => {
                let Some(end) = data[at..].iter().position(|b| *b == 0) else { return Err("unfinished string in data".into()) };
                values.push(Value::String(lua.create_string(&data[at..at + end]).map_err(|e| e.to_string())?));
                size = end as u64 + 1;
            }
            _ => f.control(opt, &mut h, "unpack")?,
        }
        pos = pos.wrapping_add(size);
    }
    values.push(Value::Number(pos.wrapping_add(1) as f64));
    Ok(values)
}

pub fn size(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let sized = size_of(lua, &args).map(|n| vec![Value::Number(n as f64)]);
    result(lua, sized)
}

fn size_of(lua: &Lua, args: &MultiValue) -> Result<usize, String> {
    let fmt = string_arg(lua, args.front(), 1, "size")?;
    let mut f = Format { fmt: &fmt, at: 0 };
    let mut h = DEFAULT;
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = f.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        if opt == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, &mut h, "size")?;
        }
        pos += size;
    }
    Ok(pos)
}
