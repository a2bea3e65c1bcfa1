//! Whole RDB files: `REDIS0010`, AUX fields, per-database sections of keys
//! with their expiry and LRU/LFU hints, `EOF` and the CRC-64 footer.
//!
//! The writer streams to any `Write` with a running checksum, so a snapshot
//! never needs a second in-memory copy; the reader walks a byte slice and
//! hands each record to a visitor, stopping at the first error with its
//! offset (a corrupt file must never load partially: the caller discards
//! everything on error).

use crate::cursor::Cursor;
use std::io::{self, Write};

use crate::crc64::crc64;
use crate::encoding::{read_length, read_string, write_length, write_string, Length, RdbError};
use crate::value::{object_kind, read_object, write_body, Layout, RdbValue, RDB_VERSION};

/// Opcodes, as numbered in Redis's rdb.h.
pub mod op {
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// Streams an RDB file.
pub struct Writer<W: Write> {
    out: W,
    crc: u64,
    compress: bool,
    checksum: bool,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Writes the magic and the AUX fields (Redis writes `redis-ver`,
    /// `redis-bits`, `ctime`, `used-mem`, the replication fields and `aof-base`).
    pub fn new(out: W, aux: &[(&str, &[u8])], compress: bool, checksum: bool) -> io::Result<Self> {
        let mut w = Writer { out, crc: 0, compress, checksum, buf: Vec::with_capacity(64 * 1024) };
        w.buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        for (key, value) in aux {
            w.buf.push(op::AUX);
            write_string(&mut w.buf, key.as_bytes(), false);
            write_string(&mut w.buf, value, false);
        }
        w.flush_if_full()?;
        Ok(w)
    }

    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= 64 * 1024 {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// A function library's code (Redis 7.0's `RDB_OPCODE_FUNCTION2`),
    /// written after the AUX fields, before the databases.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(op::FUNCTION2);
        write_string(&mut self.buf, code, self.compress);
        self.flush_if_full()
    }

    /// Starts a database section; the sizes are hints for the loader's tables.
    pub fn select_db(&mut self, db: u32, keys: u64, expires: u64) -> io::Result<()> {
        self.buf.push(op::SELECTDB);
        write_length(&mut self.buf, db as u64);
        self.buf.push(op::RESIZEDB);
        write_length(&mut self.buf, keys);
        write_length(&mut self.buf, expires);
        self.flush_if_full()
    }

    pub fn key(&mut self, key: &[u8], value: &RdbValue, layout: Layout, expire_ms: Option<i64>) -> io::Result<()> {
        encode_key(&mut self.buf, key, value, layout, expire_ms, self.compress);
        self.flush_if_full()
    }

    /// Appends records already encoded with [`encode_select_db`] and
    /// [`encode_key`] (a background snapshot's captured shards).
    pub fn raw(&mut self, records: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(records);
        self.flush_if_full()
    }

    /// Writes EOF and the footer (zero when checksums are off, as Redis does);
    /// returns the sink so the caller can fsync it.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(op::EOF);
        self.flush_buf()?;
        let crc = if self.checksum { self.crc } else { 0 };
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A SELECTDB record (without RESIZEDB: the sizes are only hints).
pub fn encode_select_db(buf: &mut Vec<u8>, db: u32) {
    buf.push(op::SELECTDB);
    write_length(buf, db as u64);
}

/// One key record, as [`Writer::key`] writes it.
pub fn encode_key(buf: &mut Vec<u8>, key: &[u8], value: &RdbValue, layout: Layout, expire_ms: Option<i64>, compress: bool) {
    if let Some(at) = expire_ms {
        buf.push(op::EXPIRETIME_MS);
        buf.extend_from_slice(&at.to_le_bytes());
    }
    buf.push(object_kind(value, layout));
    write_string(buf, key, compress);
    write_body(buf, value, layout, compress);
}

/// One key as loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub db: u64,
    pub key: Vec<u8>,
    pub value: RdbValue,
    pub expire_ms: Option<i64>,
    pub idle_seconds: Option<u64>,
    pub lfu_freq: Option<u8>,
}

/// What a file holds besides its keys.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Loaded {
    pub version: u16,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub keys: u64,
    /// Function libraries' code, in file order.
    pub functions: Vec<Vec<u8>>,
}

fn corrupt(at: usize, what: impl Into<String>) -> RdbError {
    RdbError::Corrupt(at, what.into())
}

fn plain_length(data: &[u8], pos: &mut usize) -> Result<u64, RdbError> {
    let at = *pos;
    match read_length(data, pos)? {
        Length::Plain(n) => Ok(n),
        Length::Encoded(_) => Err(corrupt(at, "encoded length where a number was expected")),
    }
}

fn header(data: &[u8]) -> Result<u16, RdbError> {
    let magic = data.get(..9).ok_or(RdbError::Truncated(data.len()))?;
    if &magic[..5] != b"REDIS" {
        return Err(corrupt(0, "wrong signature trying to load DB from file"));
    }
    let version = std::str::from_utf8(&magic[5..]).ok().and_then(|v| v.parse::<u16>().ok()).ok_or_else(|| corrupt(5, "unreadable RDB version"))?;
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(corrupt(5, format!("can't handle RDB format version {version}")));
    }
    Ok(version)
}

/// Checks the footer: Redis writes a zero CRC when `rdbchecksum` is off.
fn verify_footer(data: &[u8], eof_at: usize, version: u16, check: bool) -> Result<(), RdbError> {
    if version < 5 {
        return Ok(());
    }
    let mut pos = eof_at + 1;
    let stored = u64::from_le_bytes(Cursor::new(data, &mut pos).array::<8>()?);
    if check && stored != 0 && stored != crc64(0, &data[..eof_at + 1]) {
        return Err(corrupt(eof_at + 1, "wrong RDB checksum"));
    }
    if pos != data.len() {
        return Err(corrupt(pos, "bytes after the RDB checksum"));
    }
    Ok(())
}

/// Walks a whole file, calling `visit` for every key. Expired keys are
/// passed on too: whether to keep them (a replica does) is the caller's call.
/// A visitor's refusal (a duplicate key, say) becomes an error at the
/// key's offset.
pub fn read(data: &[u8], check_crc: bool, mut visit: impl FnMut(Record) -> Result<(), String>) -> Result<Loaded, RdbError> {
    let mut loaded = Loaded { version: header(data)?, ..Default::default() };
    let mut pos = 9;
    let mut db = 0;
    let (mut expire_ms, mut idle, mut freq) = (None, None, None);
    loop {
        let at = pos;
        let kind = Cursor::new(data, &mut pos).byte()?;
        match kind {
            op::EOF => {
                verify_footer(data, at, loaded.version, check_crc)?;
                return Ok(loaded);
            }
            op::SELECTDB => db = plain_length(data, &mut pos)?,
            op::RESIZEDB => {
                plain_length(data, &mut pos)?;
                plain_length(data, &mut pos)?;
            }
            op::AUX => {
                let key = read_string(data, &mut pos)?;
                let value = read_string(data, &mut pos)?;
                loaded.aux.push((key, value));
            }
            op::EXPIRETIME_MS => expire_ms = Some(i64::from_le_bytes(Cursor::new(data, &mut pos).array::<8>()?)),
            op::EXPIRETIME => expire_ms = Some(i32::from_le_bytes(Cursor::new(data, &mut pos).array::<4>()?) as i64 * 1000),
            op::IDLE => idle = Some(plain_length(data, &mut pos)?),
            op::FREQ => freq = Some(Cursor::new(data, &mut pos).byte()?),
            op::MODULE_AUX => return Err(RdbError::Unsupported(at, "module data (no modules are loaded)".into())),
            op::FUNCTION2 => loaded.functions.push(read_string(data, &mut pos)?),
            op::FUNCTION_PRE_GA => return Err(RdbError::Unsupported(at, "pre-release functions format".into())),
            _ => {
                let key = read_string(data, &mut pos)?;
                let value = read_object(kind, data, &mut pos)?;
                loaded.keys += 1;
                visit(Record { db, key, value, expire_ms: expire_ms.take(), idle_seconds: idle.take(), lfu_freq: freq.take() })
                    .map_err(|why| corrupt(at, why))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Record> {
        vec![
            Record { db: 0, key: b"s".to_vec(), value: RdbValue::String(b"12345".to_vec()), expire_ms: None, idle_seconds: None, lfu_freq: None },
            Record {
                db: 0,
                key: b"l".to_vec(),
                value: RdbValue::List(vec![b"a".to_vec(), b"b".repeat(300)]),
                expire_ms: Some(4_000_000_000_000),
                idle_seconds: None,
                lfu_freq: None,
            },
            Record { db: 3, key: b"z".to_vec(), value: RdbValue::ZSet(vec![(b"m".to_vec(), -1.5)]), expire_ms: None, idle_seconds: None, lfu_freq: None },
        ]
    }

    fn write(records: &[Record], checksum: bool) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), &[("redis-ver", b"7.0.15")], true, checksum).unwrap();
        let mut current = None;
        for r in records {
            if current != Some(r.db) {
                w.select_db(r.db as u32, 1, 0).unwrap();
                current = Some(r.db);
            }
            w.key(&r.key, &r.value, Layout::Compact, r.expire_ms).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn roundtrip_and_aux() {
        let file = write(&sample(), true);
        let mut got = Vec::new();
        let loaded = read(&file, true, |r| {
            got.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, sample());
        assert_eq!(loaded.aux, vec![(b"redis-ver".to_vec(), b"7.0.15".to_vec())]);
        assert_eq!(loaded.keys, 3);
    }

    #[test]
    fn checksum_zero_means_unchecked_and_corruption_is_caught() {
        let file = write(&sample(), false);
        assert!(read(&file, true, |_| Ok(())).is_ok());
        let mut file = write(&sample(), true);
        let n = file.len();
        file[n - 12] ^= 1;
        assert!(read(&file, true, |_| Ok(())).is_err());
        for cut in 0..file.len() {
            assert!(read(&file[..cut], true, |_| Ok(())).is_err(), "truncated at {cut} must fail");
        }
    }
}
