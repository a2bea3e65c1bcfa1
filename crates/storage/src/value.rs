//! Values as Redis types them. Strings keep Redis's three encodings because
//! `OBJECT ENCODING` reports them and clients (and tests) look.

use bytes::Bytes;

use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::zset::ZSet;

/// Longest string Redis stores as `embstr` (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_LIMIT: usize = 44;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Str),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    /// A value that reads as a 64-bit integer in canonical form.
    Int(i64),
    /// Created whole and never modified in place (SET, MSET…).
    Emb(Bytes),
    /// Built or modified in place (APPEND, SETRANGE, SETBIT…), or long.
    Raw(Bytes),
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
        if data.len() <= EMBSTR_LIMIT {
            Str::Emb(Bytes::copy_from_slice(data))
        } else {
            Str::Raw(Bytes::copy_from_slice(data))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => itoa::Buffer::new().format(*n).len(),
            Str::Emb(b) | Str::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of the value; integers are formatted on the fly.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Str::Int(n) => Bytes::copy_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Str::Emb(b) | Str::Raw(b) => b.clone(),
        }
    }

    /// Calls `f` with the bytes without allocating for stored bytes.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Str::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Str::Emb(b) | Str::Raw(b) => f(b),
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
            Str::Emb(_) => "embstr",
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
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
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
    }
}
