//! Values as Redis types them. Strings keep Redis's three encodings because
//! `OBJECT ENCODING` reports them and clients (and tests) look.

use std::sync::Arc;

use bytes::Bytes;

use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::stream::Stream;
use crate::types::zset::ZSet;

/// Longest string Redis stores as `embstr` (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_LIMIT: usize = 44;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Str),
    List(Box<List>),
    /// Inline (16 bytes): a small hash is its listpack's allocation only.
    Hash(Hash),
    Set(Box<Set>),
    /// Inline, as `Hash`.
    ZSet(ZSet),
    Stream(Box<Stream>),
}

/// A string value. Small values live inside the entry itself (no
/// allocation: most of what a million small keys cost in Redis is
/// allocations), the rest on the heap.
#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    /// A value that reads as a 64-bit integer in canonical form.
    Int(i64),
    /// An `embstr` short enough to sit in the entry.
    Inline(Inline),
    /// Created whole and never modified in place (SET, MSET…): `embstr`.
    Emb(Box<[u8]>),
    /// Built or modified in place (APPEND, SETRANGE, SETBIT…), or long.
    /// Shared, so a snapshot's copy of the value costs a reference.
    Raw(Arc<[u8]>),
}

/// Bytes stored inline; `data` past `len` is always zero, so equality is
/// equality of contents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Inline {
    len: u8,
    data: [u8; INLINE_MAX],
}

/// Longest value kept inside the entry (what fits beside the enum's tag in
/// 24 bytes, the size of a `Value`).
pub const INLINE_MAX: usize = 22;

const _: () = assert!(std::mem::size_of::<Value>() == 24);

impl Inline {
    /// None past [`INLINE_MAX`] bytes.
    pub(crate) fn new(data: &[u8]) -> Option<Inline> {
        let mut inline = Inline { len: u8::try_from(data.len()).ok()?, data: [0; INLINE_MAX] };
        inline.data.get_mut(..data.len())?.copy_from_slice(data);
        Some(inline)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Bytes::copy_from_slice(self.bytes()).fmt(f)
    }
}

/// Lets a `Bytes` borrow a raw value without copying it.
struct RawOwner(Arc<[u8]>);

impl AsRef<[u8]> for RawOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Str {
    /// What `tryObjectEncoding` makes of a value written whole.
    pub fn from_arg(data: &[u8]) -> Str {
        if data.len() <= 20 {
            if let Some(n) = ferrokv_resp::parse_i64(data) {
                return Str::Int(n);
            }
        }
        Str::unencoded(data)
    }

    /// A new string object without the integer attempt (`createStringObject`).
    pub fn unencoded(data: &[u8]) -> Str {
        if let Some(inline) = Inline::new(data) {
            Str::Inline(inline)
        } else if data.len() <= EMBSTR_LIMIT {
            Str::Emb(data.into())
        } else {
            Str::Raw(Arc::from(data))
        }
    }

    /// A value built in place (encoding `raw` whatever its length). One
    /// allocation holds the count and the bytes (a 1000-byte value fits
    /// jemalloc's 1 KB class, as Redis's sds does).
    pub fn raw(data: Vec<u8>) -> Str {
        Str::Raw(data.into())
    }

    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => itoa::Buffer::new().format(*n).len(),
            _ => self.with_bytes(<[u8]>::len),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of the value; raw values are shared, not copied.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Str::Raw(v) => Bytes::from_owner(RawOwner(v.clone())),
            _ => self.with_bytes(Bytes::copy_from_slice),
        }
    }

    /// Calls `f` with the bytes without allocating for stored bytes.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Str::Inline(b) => f(b.bytes()),
            Str::Emb(b) => f(b),
            Str::Raw(b) => f(b),
        }
    }

    /// The stored bytes, unless the value is an integer.
    pub fn as_stored(&self) -> Option<&[u8]> {
        match self {
            Str::Int(_) => None,
            Str::Inline(b) => Some(b.bytes()),
            Str::Emb(b) => Some(b),
            Str::Raw(b) => Some(b),
        }
    }

    /// A mutable copy for in-place edits (APPEND, SETRANGE…), which makes the
    /// value `raw` as Redis's `dbUnshareStringValue` does.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Inline(_) | Str::Emb(_) => "embstr",
            Str::Raw(_) => "raw",
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    pub fn as_str(&self) -> Option<&Str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Str::from_arg(b"123").encoding(), "int");
        assert_eq!(Str::from_arg(b"0123").encoding(), "embstr");
        assert_eq!(Str::from_arg(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Str::from_arg(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(Str::from_arg(b"-9223372036854775808"), Str::Int(i64::MIN));
        assert_eq!(Str::from_arg(b"9223372036854775808").encoding(), "embstr");
        assert_eq!(Str::Int(-42).to_bytes(), Bytes::from_static(b"-42"));
        assert_eq!(Str::from_arg(&[b'a'; 22]), Str::unencoded(&[b'a'; 22]));
        assert!(matches!(Str::from_arg(&[b'a'; 22]), Str::Inline(_)));
        assert!(matches!(Str::from_arg(&[b'a'; 23]), Str::Emb(_)));
        for n in [0, 1, 22, 23, 44, 45, 1000] {
            let v = vec![b'x'; n];
            assert_eq!(Str::from_arg(&v).to_bytes(), v);
            assert_eq!(Str::from_arg(&v).len(), n);
        }
    }
}
