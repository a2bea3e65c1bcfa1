//! The command form of an AOF base file, written when
//! `aof-use-rdb-preamble no`: each key as the commands that rebuild it, as
//! Redis's `rewriteAppendOnlyFileRio` writes them — `SET`, `RPUSH`, `SADD`,
//! `ZADD`, `HMSET` with at most 64 items per command, then `PEXPIREAT` for
//! a key with an expiry; `SELECT` whenever the database changes comes from
//! the snapshot writer (`bgsave::Format`).
//!
//! Loading needs nothing of its own: a base that does not start with
//! `REDIS` is replayed like an incremental file.

use bytes::Bytes;
use ferrokv_resp::encode::command;
use ferrokv_storage::Value;

/// AOF_REWRITE_ITEMS_PER_CMD: elements per command for collections.
const ITEMS_PER_CMD: usize = 64;

/// The commands that rebuild `key` holding `value`, expiring at `expire`.
pub fn key(out: &mut Vec<u8>, key: &[u8], value: &Value, expire: Option<i64>) {
    match value {
        Value::Str(s) => s.with_bytes(|v| command(out, &[b"SET", key, v])),
        Value::List(l) => batches(out, b"RPUSH", key, l.iter().map(|e| vec![e.to_vec()])),
        Value::Set(s) => batches(out, b"SADD", key, s.members().into_iter().map(|m: Bytes| vec![m.to_vec()])),
        Value::ZSet(z) => {
            let items = z.range(0, z.len()).into_iter().map(|(m, score)| vec![ferrokv_resp::encode::format_double(score).into_bytes(), m.to_vec()]);
            batches(out, b"ZADD", key, items)
        }
        Value::Hash(h) => batches(out, b"HMSET", key, h.pairs().into_iter().map(|(f, v)| vec![f.to_vec(), v.to_vec()])),
    }
    if let Some(at) = expire {
        command(out, &[b"PEXPIREAT", key, itoa::Buffer::new().format(at).as_bytes()]);
    }
}

/// `name key item…` commands of at most [`ITEMS_PER_CMD`] items each; an
/// item is one or more arguments (a score and a member, a field and a value).
fn batches(out: &mut Vec<u8>, name: &[u8], key: &[u8], items: impl Iterator<Item = Vec<Vec<u8>>>) {
    let mut items = items.peekable();
    while items.peek().is_some() {
        let batch: Vec<Vec<Vec<u8>>> = items.by_ref().take(ITEMS_PER_CMD).collect();
        let mut args: Vec<&[u8]> = vec![name, key];
        args.extend(batch.iter().flatten().map(Vec::as_slice));
        command(out, &args);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokv_storage::{List, Str, Thresholds};

    #[test]
    fn strings_lists_and_expiry_as_redis_writes_them() {
        let mut out = Vec::new();
        ferrokv_resp::encode::select(&mut out, 3);
        key(&mut out, b"k", &Value::Str(Str::Int(42)), Some(1700000000000));
        assert_eq!(
            out,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$13\r\n1700000000000\r\n"
        );
        let items: Vec<Vec<u8>> = (0..130).map(|i| i.to_string().into_bytes()).collect();
        let list = Value::List(Box::new(List::from_items(Thresholds::default().list, items)));
        let mut out = Vec::new();
        key(&mut out, b"l", &list, None);
        let text = String::from_utf8(out).unwrap();
        // 130 elements: 64 + 64 + 2.
        assert_eq!(text.matches("RPUSH").count(), 3);
        assert!(text.starts_with("*66\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\n0\r\n"));
        assert!(text.ends_with("*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$3\r\n128\r\n$3\r\n129\r\n"));
    }
}
