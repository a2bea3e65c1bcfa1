//! RDB value objects: the type byte and body that follow a key in a
//! snapshot, and that form a DUMP payload. Independent of the keyspace: the
//! server converts its own collections to and from [`RdbValue`].

use crate::cursor::Cursor;
use crate::encoding::{read_length, read_string, write_length, write_string, Length, RdbError};
use crate::{crc64::crc64, listpack};

/// Object type bytes, as numbered in Redis's rdb.h.
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// The RDB version Redis 7.0 writes and the newest it loads.
pub const RDB_VERSION: u16 = 10;

/// Field/value pairs of a hash.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A value in the shape every encoding decodes to.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Pairs),
    ZSet(Vec<(Vec<u8>, f64)>),
    Stream(Box<crate::stream::RdbStream>),
}

fn bad(at: usize, what: &str) -> RdbError {
    RdbError::Corrupt(at, what.to_string())
}

fn read_count(data: &[u8], pos: &mut usize) -> Result<usize, RdbError> {
    match read_length(data, pos)? {
        // Each element takes at least one byte, so a count beyond the input is corrupt
        // (and must not drive a huge allocation).
        Length::Plain(n) if n <= (data.len() - *pos) as u64 => Ok(n as usize),
        Length::Plain(_) => Err(RdbError::Truncated(*pos)),
        Length::Encoded(_) => Err(bad(*pos, "encoded length where a count was expected")),
    }
}

/// RDB_TYPE_ZSET stores scores as short strings with three special lengths.
fn read_old_score(data: &[u8], pos: &mut usize) -> Result<f64, RdbError> {
    let len = Cursor::new(data, pos).byte()?;
    match len {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => {
            let text = Cursor::new(data, pos).take(n as usize)?;
            std::str::from_utf8(text).ok().and_then(|s| s.parse().ok()).ok_or_else(|| bad(*pos, "unparsable zset score"))
        }
    }
}

fn read_binary_score(data: &[u8], pos: &mut usize) -> Result<f64, RdbError> {
    Ok(f64::from_le_bytes(Cursor::new(data, pos).array()?))
}

fn parse_score(text: &[u8], at: usize) -> Result<f64, RdbError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| match s {
            "inf" | "+inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => s.parse().ok(),
        })
        .filter(|f: &f64| !f.is_nan())
        .ok_or_else(|| bad(at, "unparsable zset score"))
}

fn pairs(items: Vec<Vec<u8>>, what: &str, at: usize) -> Result<Pairs, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(bad(at, &format!("odd number of {what} listpack entries")));
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn read_intset(blob: &[u8], at: usize) -> Result<Vec<Vec<u8>>, RdbError> {
    if blob.len() < 8 {
        return Err(bad(at, "intset header"));
    }
    let width = u32::from_le_bytes(blob[0..4].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(blob[4..8].try_into().unwrap()) as usize;
    if !matches!(width, 2 | 4 | 8) || blob.len() != 8 + width * count {
        return Err(bad(at, "intset encoding or size"));
    }
    Ok(blob[8..]
        .chunks(width)
        .map(|c| {
            let n = match width {
                2 => i16::from_le_bytes(c.try_into().unwrap()) as i64,
                4 => i32::from_le_bytes(c.try_into().unwrap()) as i64,
                _ => i64::from_le_bytes(c.try_into().unwrap()),
            };
            n.to_string().into_bytes()
        })
        .collect())
}

fn read_listpack(data: &[u8], pos: &mut usize) -> Result<Vec<Vec<u8>>, RdbError> {
    let blob = read_string(data, pos)?;
    listpack::decode(&blob).map_err(|e| bad(*pos, e))
}

fn read_ziplist(data: &[u8], pos: &mut usize) -> Result<Vec<Vec<u8>>, RdbError> {
    let blob = read_string(data, pos)?;
    crate::ziplist::decode_ziplist(&blob).map_err(|e| bad(*pos, e))
}

fn read_quicklist2(data: &[u8], pos: &mut usize) -> Result<Vec<Vec<u8>>, RdbError> {
    let nodes = read_count(data, pos)?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = read_count(data, pos)?;
        let blob = read_string(data, pos)?;
        match container {
            1 => items.push(blob),
            2 => {
                let node = listpack::decode(&blob).map_err(|e| bad(*pos, e))?;
                if node.is_empty() {
                    return Err(bad(*pos, "empty quicklist node"));
                }
                items.extend(node);
            }
            _ => return Err(bad(*pos, "quicklist container")),
        }
    }
    Ok(items)
}

/// Reads one object of type `kind` at `pos`. Empty collections are refused, as
/// Redis refuses them: a key never holds an empty collection.
pub fn read_object(kind: u8, data: &[u8], pos: &mut usize) -> Result<RdbValue, RdbError> {
    let value = match kind {
        kind::STRING => RdbValue::String(read_string(data, pos)?),
        kind::LIST | kind::SET => {
            let n = read_count(data, pos)?;
            let items = (0..n).map(|_| read_string(data, pos)).collect::<Result<Vec<_>, _>>()?;
            if kind == kind::LIST {
                RdbValue::List(items)
            } else {
                RdbValue::Set(items)
            }
        }
        kind::ZSET | kind::ZSET_2 => {
            let n = read_count(data, pos)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let member = read_string(data, pos)?;
                let score = if kind == kind::ZSET { read_old_score(data, pos)? } else { read_binary_score(data, pos)? };
                if score.is_nan() {
                    return Err(bad(*pos, "NaN zset score"));
                }
                items.push((member, score));
            }
            RdbValue::ZSet(items)
        }
        kind::HASH => {
            let n = read_count(data, pos)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push((read_string(data, pos)?, read_string(data, pos)?));
            }
            RdbValue::Hash(items)
        }
        kind::SET_INTSET => RdbValue::Set(read_intset(&read_string(data, pos)?, *pos)?),
        kind::HASH_LISTPACK => RdbValue::Hash(pairs(read_listpack(data, pos)?, "hash", *pos)?),
        kind::ZSET_LISTPACK => {
            let flat = pairs(read_listpack(data, pos)?, "zset", *pos)?;
            RdbValue::ZSet(flat.into_iter().map(|(m, s)| Ok((m, parse_score(&s, *pos)?))).collect::<Result<_, RdbError>>()?)
        }
        kind::LIST_QUICKLIST_2 => RdbValue::List(read_quicklist2(data, pos)?),
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 => RdbValue::Stream(Box::new(crate::stream::read(data, pos, kind == kind::STREAM_LISTPACKS_2)?)),
        // The encodings of RDB 9 and older, which Redis 7.0 still loads.
        kind::HASH_ZIPMAP => RdbValue::Hash(crate::ziplist::decode_zipmap(&read_string(data, pos)?).map_err(|e| bad(*pos, e))?),
        kind::LIST_ZIPLIST => RdbValue::List(read_ziplist(data, pos)?),
        kind::HASH_ZIPLIST => RdbValue::Hash(pairs(read_ziplist(data, pos)?, "hash", *pos)?),
        kind::ZSET_ZIPLIST => {
            let flat = pairs(read_ziplist(data, pos)?, "zset", *pos)?;
            RdbValue::ZSet(flat.into_iter().map(|(m, s)| Ok((m, parse_score(&s, *pos)?))).collect::<Result<_, RdbError>>()?)
        }
        kind::LIST_QUICKLIST => {
            let nodes = read_count(data, pos)?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                items.extend(read_ziplist(data, pos)?);
            }
            RdbValue::List(items)
        }
        other => return Err(RdbError::Unsupported(*pos, format!("object type {other}"))),
    };
    let empty = match &value {
        // A stream may be empty (XADD then XDEL, or a group's MKSTREAM).
        RdbValue::String(_) | RdbValue::Stream(_) => false,
        RdbValue::List(v) | RdbValue::Set(v) => v.is_empty(),
        RdbValue::Hash(v) => v.is_empty(),
        RdbValue::ZSet(v) => v.is_empty(),
    };
    if empty {
        return Err(bad(*pos, "empty collection"));
    }
    Ok(value)
}

/// How a value is laid out in the file. Redis 7.0 writes an object in the
/// encoding it has in memory: small hashes and sorted sets as listpacks,
/// integer sets as intsets, larger ones in the plain forms; lists always as
/// quicklist-2. Every Redis loads either layout (and re-encodes on load).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    Plain,
    Compact,
}

/// Bytes of listpack per quicklist node (`list-max-listpack-size -2`).
const QUICKLIST_NODE_BYTES: usize = 8 * 1024;

/// The type byte `write_body` pairs with.
pub fn object_kind(value: &RdbValue, layout: Layout) -> u8 {
    let compact = layout == Layout::Compact;
    match value {
        RdbValue::String(_) => kind::STRING,
        RdbValue::List(_) => kind::LIST_QUICKLIST_2,
        RdbValue::Set(members) if compact && members.iter().all(|m| ferrokv_resp::parse_i64(m).is_some()) => kind::SET_INTSET,
        RdbValue::Set(_) => kind::SET,
        RdbValue::Hash(_) if compact => kind::HASH_LISTPACK,
        RdbValue::Hash(_) => kind::HASH,
        RdbValue::ZSet(_) if compact => kind::ZSET_LISTPACK,
        RdbValue::ZSet(_) => kind::ZSET_2,
        RdbValue::Stream(_) => kind::STREAM_LISTPACKS_2,
    }
}

/// Writes an object's body (in a file, the key sits between type and body).
pub fn write_body(out: &mut Vec<u8>, value: &RdbValue, layout: Layout, compress: bool) {
    match (object_kind(value, layout), value) {
        (_, RdbValue::String(s)) => write_string(out, s, compress),
        (_, RdbValue::List(items)) => write_quicklist2(out, items, compress),
        (kind::SET_INTSET, RdbValue::Set(members)) => write_string(out, &intset(members).expect("checked by object_kind"), compress),
        (_, RdbValue::Set(items)) => {
            write_length(out, items.len() as u64);
            for item in items {
                write_string(out, item, compress);
            }
        }
        (kind::HASH_LISTPACK, RdbValue::Hash(pairs)) => {
            let blob = listpack::encode(pairs.iter().flat_map(|(f, v)| [&f[..], &v[..]]));
            write_string(out, &blob, compress);
        }
        (_, RdbValue::Hash(pairs)) => {
            write_length(out, pairs.len() as u64);
            for (field, value) in pairs {
                write_string(out, field, compress);
                write_string(out, value, compress);
            }
        }
        (kind::ZSET_LISTPACK, RdbValue::ZSet(items)) => {
            let scores: Vec<Vec<u8>> = items.iter().map(|(_, score)| score_text(*score).into_bytes()).collect();
            let blob = listpack::encode(items.iter().zip(&scores).flat_map(|((m, _), s)| [&m[..], &s[..]]));
            write_string(out, &blob, compress);
        }
        (_, RdbValue::ZSet(items)) => {
            write_length(out, items.len() as u64);
            for (member, score) in items {
                write_string(out, member, compress);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
        (_, RdbValue::Stream(s)) => crate::stream::write(out, s, compress),
    }
}

/// Nodes of listpacks of at most [`QUICKLIST_NODE_BYTES`] (a larger element
/// gets a node of its own), each a packed container.
fn write_quicklist2(out: &mut Vec<u8>, items: &[Vec<u8>], compress: bool) {
    let mut nodes: Vec<&[Vec<u8>]> = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        // An entry's size in the listpack, near enough for splitting.
        let size = item.len() + 11;
        if i > start && bytes + size > QUICKLIST_NODE_BYTES {
            nodes.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < items.len() {
        nodes.push(&items[start..]);
    }
    write_length(out, nodes.len() as u64);
    for node in nodes {
        write_length(out, 2); // QUICKLIST_NODE_CONTAINER_PACKED
        write_string(out, &listpack::encode(node.iter().map(Vec::as_slice)), compress);
    }
}

/// An intset blob (sorted, in the narrowest width that holds every member),
/// or None if a member is not an integer.
fn intset(members: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut values: Vec<i64> = members.iter().map(|m| ferrokv_resp::parse_i64(m)).collect::<Option<_>>()?;
    values.sort_unstable();
    let width = values
        .iter()
        .map(|&v| {
            if i16::try_from(v).is_ok() {
                2
            } else if i32::try_from(v).is_ok() {
                4
            } else {
                8
            }
        })
        .max()
        .unwrap_or(2);
    let mut blob = Vec::with_capacity(8 + width * values.len());
    blob.extend_from_slice(&(width as u32).to_le_bytes());
    blob.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        blob.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    Some(blob)
}

/// A score as a sorted-set listpack stores it (Redis's `d2string`): the
/// integer form when the double is integral and exact, else `%.17g`.
fn score_text(score: f64) -> String {
    // Zero goes to `format_double`, which keeps the sign of -0 as Redis does.
    if score != 0.0 && score > -4503599627370495.0 && score < 4503599627370496.0 && score == score.trunc() {
        return (score as i64).to_string();
    }
    ferrokv_resp::encode::format_double(score)
}

/// A DUMP payload: the object, the RDB version, and a CRC-64 of both.
pub fn dump_payload(value: &RdbValue, layout: Layout, compress: bool) -> Vec<u8> {
    let mut out = vec![object_kind(value, layout)];
    write_body(&mut out, value, layout, compress);
    seal(out)
}

/// A FUNCTION DUMP payload: each library's code as the function record
/// Redis 7.0 writes in an RDB file, then the version and CRC-64.
pub fn dump_functions<'a>(codes: impl IntoIterator<Item = &'a [u8]>, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(crate::file::op::FUNCTION2);
        write_string(&mut out, code, compress);
    }
    seal(out)
}

fn seal(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// Why a RESTORE payload was refused; the two cases get different Redis errors.
#[derive(Debug, PartialEq)]
pub enum PayloadError {
    /// Footer missing, version newer than ours, or checksum mismatch.
    VersionOrChecksum,
    /// The footer checks out but the object does not decode.
    BadFormat(RdbError),
}

/// Checks the footer as Redis's verifyDumpPayload does; returns the body.
fn unseal(payload: &[u8], check_crc: bool) -> Result<&[u8], PayloadError> {
    let Some(body_end) = payload.len().checked_sub(10) else {
        return Err(PayloadError::VersionOrChecksum);
    };
    let version = u16::from_le_bytes([payload[body_end], payload[body_end + 1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[body_end + 2..]);
    if check_crc && crc64(0, &payload[..body_end + 2]) != u64::from_le_bytes(crc) {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(&payload[..body_end])
}

/// Decodes a DUMP payload's object.
pub fn restore_payload(payload: &[u8], check_crc: bool) -> Result<RdbValue, PayloadError> {
    let body = unseal(payload, check_crc)?;
    let mut pos = 0;
    let kind = Cursor::new(body, &mut pos).byte().map_err(PayloadError::BadFormat)?;
    let value = read_object(kind, body, &mut pos).map_err(PayloadError::BadFormat)?;
    if pos != body.len() {
        return Err(PayloadError::BadFormat(bad(pos, "trailing bytes after the object")));
    }
    Ok(value)
}

/// Why a FUNCTION RESTORE payload was refused.
#[derive(Debug, PartialEq)]
pub enum FunctionPayloadError {
    Payload(PayloadError),
    /// A record that is not a function (Redis: "given type is not a function").
    NotAFunction,
}

/// The library codes of a FUNCTION DUMP payload.
pub fn restore_functions(payload: &[u8], check_crc: bool) -> Result<Vec<Vec<u8>>, FunctionPayloadError> {
    let body = unseal(payload, check_crc).map_err(FunctionPayloadError::Payload)?;
    let mut pos = 0;
    let mut codes = Vec::new();
    while pos < body.len() {
        if body[pos] != crate::file::op::FUNCTION2 {
            return Err(FunctionPayloadError::NotAFunction);
        }
        pos += 1;
        codes.push(read_string(body, &mut pos).map_err(|e| FunctionPayloadError::Payload(PayloadError::BadFormat(e)))?);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn function_payloads_roundtrip_and_read_redis_bytes() {
        let codes: [&[u8]; 2] = [b"#!lua name=a\nredis.register_function('a', function() return 1 end)", &[b'x'; 300]];
        let payload = dump_functions(codes, true);
        assert_eq!(restore_functions(&payload, true).unwrap(), codes.iter().map(|c| c.to_vec()).collect::<Vec<_>>());
        let mut bad = payload.clone();
        bad[1] ^= 1;
        assert_eq!(restore_functions(&bad, true), Err(FunctionPayloadError::Payload(PayloadError::VersionOrChecksum)));
        assert_eq!(restore_functions(&dump_payload(&RdbValue::String(b"v".to_vec()), Layout::Compact, false), true), Err(FunctionPayloadError::NotAFunction));
        // Redis 7.0.15's FUNCTION DUMP of one small library.
        let redis = b"\xf5@D#!LUA name=up\nredis.register_function('zu', function() return 1 end)\n\x00";
        let body = &redis[..redis.len() - 2];
        let sealed = seal(body.to_vec());
        assert_eq!(restore_functions(&sealed, true).unwrap(), vec![b"#!LUA name=up\nredis.register_function('zu', function() return 1 end)".to_vec()]);
    }

    fn value_strategy() -> impl Strategy<Value = RdbValue> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
        prop_oneof![
            bytes().prop_map(RdbValue::String),
            proptest::collection::vec(bytes(), 1..20).prop_map(RdbValue::List),
            proptest::collection::vec(bytes(), 1..20).prop_map(RdbValue::Set),
            proptest::collection::vec((bytes(), bytes()), 1..20).prop_map(RdbValue::Hash),
            proptest::collection::vec((bytes(), -1e300f64..1e300), 1..20).prop_map(RdbValue::ZSet),
        ]
    }

    proptest! {
        #[test]
        fn dump_payload_roundtrips(v in value_strategy(), compact in any::<bool>(), compress in any::<bool>()) {
            let layout = if compact { Layout::Compact } else { Layout::Plain };
            let payload = dump_payload(&v, layout, compress);
            prop_assert_eq!(restore_payload(&payload, true), Ok(v));
        }

        #[test]
        fn integer_sets_roundtrip_as_intsets(members in proptest::collection::btree_set(any::<i64>(), 1..50)) {
            let v = RdbValue::Set(members.iter().map(|m| m.to_string().into_bytes()).collect());
            let payload = dump_payload(&v, Layout::Compact, false);
            prop_assert_eq!(payload[0], kind::SET_INTSET);
            prop_assert_eq!(restore_payload(&payload, true), Ok(v));
        }

        #[test]
        fn any_corruption_is_refused_not_panicking(v in value_strategy(), flip in any::<usize>()) {
            let mut payload = dump_payload(&v, Layout::Compact, false);
            let i = flip % payload.len();
            payload[i] ^= 0x5a;
            prop_assert!(restore_payload(&payload, true).is_err());
            let _ = restore_payload(&payload, false);
        }
    }

    #[test]
    fn intset_widths() {
        let mut blob = vec![2, 0, 0, 0, 2, 0, 0, 0];
        blob.extend_from_slice(&(-5i16).to_le_bytes());
        blob.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(read_intset(&blob, 0).unwrap(), vec![b"-5".to_vec(), b"7".to_vec()]);
        assert!(read_intset(&blob[..10], 0).is_err());
    }
}
