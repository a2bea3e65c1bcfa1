//! Bit operations on strings (Redis's bitops.c).

use bytes::Bytes;
use ferrokv_storage::events::{GENERIC, STRING};
use ferrokv_storage::{Str, Value};

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::families::string::{read_str, write_str};
use crate::keyspec::{flags::*, KeySpec};

const BM: &[&str] = &["bitmap"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "setbit",
        "2.2.0",
        4,
        WRITE | DENYOOM,
        BM,
        (1, 1, 1),
        setbit,
        "bitmap",
        "Sets or clears the bit at offset in the string value stored at key",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE)]
    ),
    cmd!("getbit", "2.2.0", 3, READONLY | FAST, BM, (1, 1, 1), getbit, "bitmap", "Returns the bit value at offset in the string value stored at key"),
    cmd!("bitcount", "2.6.0", -2, READONLY, BM, (1, 1, 1), bitcount, "bitmap", "Count set bits in a string"),
    cmd!("bitpos", "2.8.7", -3, READONLY, BM, (1, 1, 1), bitpos, "bitmap", "Find first bit set or clear in a string"),
    cmd!(
        "bitop",
        "2.6.0",
        -4,
        WRITE | DENYOOM,
        BM,
        (2, -1, 1),
        bitop,
        "bitmap",
        "Perform bitwise operations between strings",
        key_specs = &[KeySpec::at(2, OW | UPDATE), KeySpec::range(3, -1, 1, RO | ACCESS)]
    ),
    cmd!(
        "bitfield",
        "3.2.0",
        -2,
        WRITE | DENYOOM,
        BM,
        (1, 1, 1),
        bitfield,
        "bitmap",
        "Perform arbitrary bitfield integer operations on strings",
        key_specs = &[KeySpec::at(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS).notes("This command allows both access and modification of the key")],
        getkeys = bitfield_keys
    ),
    cmd!(
        "bitfield_ro",
        "6.0.0",
        -2,
        READONLY | FAST,
        BM,
        (1, 1, 1),
        bitfield_ro,
        "bitmap",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"
    ),
];

/// BITFIELD's key: only read when every operation is a GET (a malformed
/// line counts as a write, the safer guess).
fn bitfield_keys(args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    let mut i = 2;
    let mut reads_only = true;
    while i < args.len() {
        let rest = args.len() - i - 1;
        match &args[i] {
            a if args::is(a, "get") && rest >= 2 => i += 3,
            a if args::is(a, "overflow") && rest >= 1 => i += 2,
            _ => {
                reads_only = false;
                break;
            }
        }
    }
    Some(vec![(1, if reads_only { RO | ACCESS } else { RW | ACCESS | UPDATE })])
}

/* ---------------------------------------------------------------------
 * Bit API
 * ------------------------------------------------------------------- */

/// `getBitOffsetFromArgument`: a bit offset below proto-max-bulk-len bytes;
/// with `bits`, `#N` means the N-th field of that width.
fn bit_offset(ctx: &Ctx<'_>, arg: &[u8], hash_bits: Option<u32>) -> Result<u64, RedisError> {
    let err = || RedisError::from(errors::BIT_OFFSET);
    let hashed = hash_bits.filter(|b| *b > 0 && arg.first() == Some(&b'#'));
    let digits = if hashed.is_some() { &arg[1..] } else { arg };
    let mut n = ferrokv_resp::parse_i64(digits).ok_or_else(err)?;
    if let Some(bits) = hashed {
        n = n.wrapping_mul(bits as i64);
    }
    let max = ctx.limits.proto_max_bulk_len();
    if n < 0 || (n >> 3) >= max {
        return Err(err());
    }
    Ok(n as u64)
}

/// `lookupStringForBitCommand`: the string grown to hold bit `max_bit`, and
/// whether it was created or grown.
fn string_for_bits(ctx: &mut Ctx<'_>, key: &[u8], max_bit: u64) -> Result<(Vec<u8>, bool), RedisError> {
    let need = (max_bit >> 3) as usize + 1;
    match write_str(ctx, key)? {
        None => Ok((vec![0; need], true)),
        Some(s) => {
            let mut v = s.to_vec();
            let grew = v.len() < need;
            if grew {
                v.resize(need, 0);
            }
            Ok((v, grew))
        }
    }
}

fn popcount(b: &[u8]) -> i64 {
    b.iter().map(|x| x.count_ones() as i64).sum()
}

/// `redisBitpos`: first bit equal to `bit`; looking for a 0 in all-ones
/// finds the bit just past the end, looking for a 1 in zeros finds -1.
fn first_bit(s: &[u8], bit: bool) -> i64 {
    for (i, &byte) in s.iter().enumerate() {
        let b = if bit { byte } else { !byte };
        if b != 0 {
            return i as i64 * 8 + b.leading_zeros() as i64;
        }
    }
    if bit {
        -1
    } else {
        s.len() as i64 * 8
    }
}

/// Normalizes a `start end [BYTE|BIT]` range as BITCOUNT and BITPOS do;
/// returns byte bounds and the masks of bits outside a BIT range.
struct Range {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

fn normalize(mut start: i64, mut end: i64, len: i64, isbit: bool) -> Range {
    let total = if isbit { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if isbit && start <= end {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range { start, end, first_mask, last_mask }
}

fn unit_is_bit(arg: &[u8]) -> Result<bool, RedisError> {
    if args::is(arg, "bit") {
        Ok(true)
    } else if args::is(arg, "byte") {
        Ok(false)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/* ---------------------------------------------------------------------
 * Bit commands
 * ------------------------------------------------------------------- */

/* SETBIT key offset value */
fn setbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &args[2], None)?;
    let on = args::int_or(&args[3], errors::BIT_VALUE)?;
    if on & !1 != 0 {
        return Err(errors::BIT_VALUE.into());
    }
    let (mut data, dirty) = string_for_bits(ctx, &args[1], offset)?;
    let byte = (offset >> 3) as usize;
    let bit = 7 - (offset & 7) as u8;
    let old = data[byte] & (1 << bit) != 0;
    if dirty || old != (on == 1) {
        data[byte] = (data[byte] & !(1 << bit)) | ((on as u8) << bit);
    }
    // Redis unshares (makes raw) the value even when no bit changes.
    ctx.view.replace(&args[1], Value::Str(Str::raw(data)));
    ctx.notify(STRING, "setbit", &args[1]);
    ctx.int(old as i64);
    Ok(())
}

/* GETBIT key offset */
fn getbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &args[2], None)?;
    let Some(s) = read_str(ctx, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let byte = (offset >> 3) as usize;
    let bit = 7 - (offset & 7) as u8;
    let v = s.with_bytes(|b| b.get(byte).is_some_and(|x| x & (1 << bit) != 0));
    ctx.int(v as i64);
    Ok(())
}

/* BITCOUNT key [start end [BYTE|BIT]] */
fn bitcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(s) = read_str(ctx, &args[1])? else {
        ctx.int(0);
        return Ok(());
    };
    let data = s.to_vec();
    let len = data.len() as i64;
    let range = match args.len() {
        4 | 5 => {
            let start = args::int(&args[2])?;
            let end = args::int(&args[3])?;
            if start < 0 && end < 0 && start > end {
                ctx.int(0);
                return Ok(());
            }
            let isbit = if args.len() == 5 { unit_is_bit(&args[4])? } else { false };
            normalize(start, end, len, isbit)
        }
        2 => Range { start: 0, end: len - 1, first_mask: 0, last_mask: 0 },
        _ => return Err(errors::SYNTAX.into()),
    };
    if range.start > range.end {
        ctx.int(0);
        return Ok(());
    }
    let (st, en) = (range.start as usize, range.end as usize);
    let mut count = popcount(&data[st..=en]);
    if range.first_mask != 0 {
        count -= popcount(&[data[st] & range.first_mask]);
    }
    if range.last_mask != 0 {
        count -= popcount(&[data[en] & range.last_mask]);
    }
    ctx.int(count);
    Ok(())
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
fn bitpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let bit = args::int(&args[2])?;
    if bit != 0 && bit != 1 {
        return Err("ERR The bit argument must be 1 or 0.".into());
    }
    let bit = bit == 1;
    let Some(s) = read_str(ctx, &args[1])? else {
        ctx.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let data = s.to_vec();
    let len = data.len() as i64;
    let mut end_given = false;
    let range = match args.len() {
        4..=6 => {
            let start = args::int(&args[3])?;
            let isbit = if args.len() == 6 { unit_is_bit(&args[5])? } else { false };
            let end = if args.len() >= 5 {
                end_given = true;
                args::int(&args[4])?
            } else if isbit {
                (len << 3) + 7
            } else {
                len - 1
            };
            normalize(start, end, len, isbit)
        }
        3 => Range { start: 0, end: len - 1, first_mask: 0, last_mask: 0 },
        _ => return Err(errors::SYNTAX.into()),
    };
    if range.start > range.end {
        ctx.int(-1);
        return Ok(());
    }
    let pos = scan_range(&data, &range, bit);
    let (start, bytes, pos) = pos;
    if end_given && !bit && pos == bytes << 3 {
        ctx.int(-1);
        return Ok(());
    }
    ctx.int(if pos != -1 { pos + (start << 3) } else { pos });
    Ok(())
}

/// The edge-masked search of Redis's `bitposCommand`; returns the start byte
/// and byte count at the point the answer was found, and the position.
fn scan_range(p: &[u8], r: &Range, bit: bool) -> (i64, i64, i64) {
    let (mut start, end) = (r.start, r.end);
    let mut bytes = end - start + 1;
    let apply = |byte: u8, mask: u8| if bit { byte & !mask } else { byte | mask };
    if r.first_mask != 0 {
        let mut tmp = apply(p[start as usize], r.first_mask);
        if r.last_mask != 0 && bytes == 1 {
            tmp = apply(tmp, r.last_mask);
        }
        let pos = first_bit(&[tmp], bit);
        if bytes == 1 || (pos != -1 && pos != 8) {
            return (start, bytes, pos);
        }
        start += 1;
        bytes -= 1;
    }
    let cur = bytes - (r.last_mask != 0) as i64;
    if cur > 0 {
        let pos = first_bit(&p[start as usize..(start + cur) as usize], bit);
        if bytes == cur || (pos != -1 && pos != cur << 3) {
            return (start, bytes, pos);
        }
        start += cur;
        bytes -= cur;
    }
    let tmp = apply(p[end as usize], r.last_mask);
    (start, bytes, first_bit(&[tmp], bit))
}

/* BITOP <AND|OR|XOR|NOT> destkey key [key ...] */
fn bitop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let op = args[1].to_ascii_lowercase();
    if !matches!(&op[..], b"and" | b"or" | b"xor" | b"not") {
        return Err(errors::SYNTAX.into());
    }
    if op == b"not" && args.len() != 4 {
        return Err("ERR BITOP NOT must be called with a single source key.".into());
    }
    let mut sources = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        sources.push(read_str(ctx, key)?.map(|s| s.to_vec()).unwrap_or_default());
    }
    let maxlen = sources.iter().map(Vec::len).max().unwrap_or(0);
    let dest = &args[2];
    if maxlen == 0 {
        if ctx.view.delete(dest) {
            ctx.notify(GENERIC, "del", dest);
        }
        ctx.int(0);
        return Ok(());
    }
    let byte_at = |s: &Vec<u8>, i: usize| s.get(i).copied().unwrap_or(0);
    let result: Vec<u8> = (0..maxlen)
        .map(|i| {
            let first = byte_at(&sources[0], i);
            match &op[..] {
                b"not" => !first,
                b"and" => sources[1..].iter().fold(first, |acc, s| acc & byte_at(s, i)),
                b"or" => sources[1..].iter().fold(first, |acc, s| acc | byte_at(s, i)),
                _ => sources[1..].iter().fold(first, |acc, s| acc ^ byte_at(s, i)),
            }
        })
        .collect();
    ctx.view.set(dest, Value::Str(Str::raw(result)), false);
    ctx.notify(STRING, "set", dest);
    ctx.int(maxlen as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

enum FieldOp {
    Get,
    Set(i64),
    Incr(i64),
}

struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

const BAD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

fn field_type(arg: &[u8]) -> Result<(bool, u32), RedisError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BAD_TYPE.into()),
    };
    let bits = ferrokv_resp::parse_i64(&arg[1..]).ok_or(BAD_TYPE)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(BAD_TYPE.into());
    }
    Ok((signed, bits as u32))
}

fn parse_fields(ctx: &Ctx<'_>, args: &[Bytes]) -> Result<Vec<Field>, RedisError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j];
        let op_kind = if args::is(sub, "get") && rem >= 2 {
            0
        } else if args::is(sub, "set") && rem >= 3 {
            1
        } else if args::is(sub, "incrby") && rem >= 3 {
            2
        } else if args::is(sub, "overflow") && rem >= 1 {
            let t = &args[j + 1];
            overflow = if args::is(t, "wrap") {
                Overflow::Wrap
            } else if args::is(t, "sat") {
                Overflow::Sat
            } else if args::is(t, "fail") {
                Overflow::Fail
            } else {
                return Err("ERR Invalid OVERFLOW type specified".into());
            };
            j += 2;
            continue;
        } else {
            return Err(errors::SYNTAX.into());
        };
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = bit_offset(ctx, &args[j + 2], Some(bits))?;
        let op = match op_kind {
            0 => FieldOp::Get,
            1 => FieldOp::Set(args::int(&args[j + 3])?),
            _ => FieldOp::Incr(args::int(&args[j + 3])?),
        };
        ops.push(Field { op, signed, bits, offset, overflow });
        j += if op_kind == 0 { 3 } else { 4 };
    }
    Ok(ops)
}

fn get_unsigned(p: &[u8], mut offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for _ in 0..bits {
        let byte = p.get((offset >> 3) as usize).copied().unwrap_or(0) as u64;
        let bit = 7 - (offset & 7);
        v = (v << 1) | ((byte >> bit) & 1);
        offset += 1;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

fn set_unsigned(p: &mut [u8], mut offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let bitval = ((value >> (bits - 1 - j)) & 1) as u8;
        let byte = (offset >> 3) as usize;
        let bit = 7 - (offset & 7) as u8;
        p[byte] = (p[byte] & !(1 << bit)) | (bitval << bit);
        offset += 1;
    }
}

/// `checkUnsignedBitfieldOverflow`: Some(limit) when overflowing (the value
/// to store for WRAP/SAT).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if incr < 0 && incr < minincr {
        Some(if ow == Overflow::Sat { 0 } else { wrap() })
    } else {
        None
    }
}

/// `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        Some(if ow == Overflow::Sat { min } else { wrap() })
    } else {
        None
    }
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &[Bytes], readonly_cmd: bool) -> CmdResult {
    let ops = parse_fields(ctx, args)?;
    let key = &args[1];
    let writes = ops.iter().any(|o| !matches!(o.op, FieldOp::Get));
    let mut data = if !writes {
        read_str(ctx, key)?.map(|s| s.to_vec())
    } else {
        if readonly_cmd {
            return Err("ERR BITFIELD_RO only supports the GET subcommand".into());
        }
        let highest = ops.iter().filter(|o| !matches!(o.op, FieldOp::Get)).map(|o| o.offset + o.bits as u64 - 1).max().unwrap_or(0);
        Some(string_for_bits(ctx, key, highest)?.0)
    };
    ctx.array(ops.len());
    for f in &ops {
        match f.op {
            FieldOp::Get => {
                let p = data.as_deref().unwrap_or(&[]);
                if f.signed {
                    ctx.int(get_signed(p, f.offset, f.bits));
                } else {
                    ctx.int(get_unsigned(p, f.offset, f.bits) as i64);
                }
            }
            FieldOp::Set(v) | FieldOp::Incr(v) => {
                let p = data.as_mut().expect("created for writes");
                let is_incr = matches!(f.op, FieldOp::Incr(_));
                let (store, reply, overflow) = if f.signed {
                    let old = get_signed(p, f.offset, f.bits);
                    if is_incr {
                        let o = signed_overflow(old, v, f.bits, f.overflow);
                        let new = o.unwrap_or(old.wrapping_add(v));
                        (new as u64, new, o.is_some())
                    } else {
                        let o = signed_overflow(v, 0, f.bits, f.overflow);
                        (o.unwrap_or(v) as u64, old, o.is_some())
                    }
                } else {
                    let old = get_unsigned(p, f.offset, f.bits);
                    if is_incr {
                        let o = unsigned_overflow(old, v, f.bits, f.overflow);
                        let new = o.unwrap_or(old.wrapping_add(v as u64));
                        (new, new as i64, o.is_some())
                    } else {
                        let o = unsigned_overflow(v as u64, 0, f.bits, f.overflow);
                        (o.unwrap_or(v as u64), old as i64, o.is_some())
                    }
                };
                if overflow && f.overflow == Overflow::Fail {
                    ctx.null();
                } else {
                    ctx.int(reply);
                    set_unsigned(p, f.offset, f.bits, store);
                }
            }
        }
    }
    if writes {
        let data = data.expect("created for writes");
        ctx.view.replace(key, Value::Str(Str::raw(data)));
        ctx.notify(STRING, "setbit", key);
    }
    Ok(())
}

/* BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] */
fn bitfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/* BITFIELD_RO key [GET type offset ...] */
fn bitfield_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitpos_primitive() {
        assert_eq!(first_bit(&[0x00, 0x10], true), 11);
        assert_eq!(first_bit(&[0xff], false), 8);
        assert_eq!(first_bit(&[0x00], true), -1);
    }

    #[test]
    fn bitfield_overflow_rules() {
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Wrap), Some(0));
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Sat), Some(0));
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_overflow(5, 1, 8, Overflow::Wrap), None);
        let mut p = vec![0u8; 2];
        set_unsigned(&mut p, 4, 8, 0xab);
        assert_eq!(get_unsigned(&p, 4, 8), 0xab);
        assert_eq!(get_signed(&p, 4, 8), 0xab_u8 as i8 as i64);
    }

    use crate::testing::Keyspace;

    #[test]
    fn setbit_getbit_bitcount() {
        let ks = Keyspace::new();
        assert_eq!(ks.reply(&["SETBIT", "b", "7", "1"]), ":0\r\n");
        assert_eq!(ks.reply(&["GETBIT", "b", "7"]), ":1\r\n");
        assert_eq!(ks.reply(&["BITCOUNT", "b"]), ":1\r\n");
        assert_eq!(ks.reply(&["SETBIT", "b", "-1", "1"]), "-ERR bit offset is not an integer or out of range\r\n");
    }
}
