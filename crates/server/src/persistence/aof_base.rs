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
        Value::Stream(s) => stream(out, key, s),
    }
    if let Some(at) = expire {
        command(out, &[b"PEXPIREAT", key, itoa::Buffer::new().format(at).as_bytes()]);
    }
}

/// A stream as `rewriteStreamObject` writes it: its entries as XADDs (an
/// empty stream as an XADD trimmed to nothing), its counters as XSETID,
/// each group as XGROUP CREATE and its pending entries as XCLAIMs, and a
/// consumer owning none as XGROUP CREATECONSUMER.
fn stream(out: &mut Vec<u8>, key: &[u8], s: &ferrokv_storage::Stream) {
    use ferrokv_storage::types::stream::IdBuf;
    let (mut a, mut b) = (IdBuf::default(), IdBuf::default());
    let mut num = itoa::Buffer::new();
    if s.is_empty() {
        command(out, &[&b"XADD"[..], key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
    }
    for e in s.iter() {
        let mut args: Vec<&[u8]> = vec![b"XADD", key, e.id.format(&mut a)];
        args.extend(e.fields().flat_map(|(f, v)| [f, v]));
        command(out, &args);
    }
    let added = num.format(s.entries_added).as_bytes().to_vec();
    command(out, &[&b"XSETID"[..], key, s.last_id.format(&mut a), b"ENTRIESADDED", &added, b"MAXDELETEDID", s.max_deleted_entry_id.format(&mut b)]);
    for (name, g) in &s.groups {
        command(out, &[&b"XGROUP"[..], b"CREATE", key, name, g.last_id.format(&mut a), b"ENTRIESREAD", num.format(g.entries_read).as_bytes()]);
        for (consumer, c) in &g.consumers {
            if c.pel.is_empty() {
                command(out, &[&b"XGROUP"[..], b"CREATECONSUMER", key, name, consumer]);
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                let (time, count) = (nack.delivery_time.to_string(), nack.delivery_count.to_string());
                command(
                    out,
                    &[
                        &b"XCLAIM"[..],
                        key,
                        name,
                        consumer,
                        b"0",
                        id.format(&mut a),
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
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
