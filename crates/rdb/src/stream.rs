//! Streams in RDB files and DUMP payloads: `RDB_TYPE_STREAM_LISTPACKS_2`
//! (what Redis 7.0 writes) and `RDB_TYPE_STREAM_LISTPACKS` (Redis 5/6),
//! both loaded; the first written.
//!
//! A stream is a list of nodes, each its master ID as 16 big-endian bytes
//! and a listpack in Redis's stream node layout (master entry, then
//! delta-encoded entries), followed by the stream's counters and its
//! consumer groups with their PELs. Entries flagged deleted inside a node
//! are dropped on load: only live entries matter to the keyspace.

use crate::cursor::Cursor;
use crate::encoding::{read_length, read_string, write_length, write_string, Length, RdbError};
use crate::listpack;
use ferrokv_util::lpsize;

/// `<ms>-<seq>`.
pub type RawId = (u64, u64);

/// Field/value pairs of one entry.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbStream {
    pub entries: Vec<(RawId, Pairs)>,
    pub length: u64,
    pub last_id: RawId,
    pub first_id: RawId,
    pub max_deleted_id: RawId,
    pub entries_added: u64,
    pub groups: Vec<RdbGroup>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbGroup {
    pub name: Vec<u8>,
    pub last_id: RawId,
    /// None in a Redis 5/6 file: the loader estimates it, as Redis does.
    pub entries_read: Option<i64>,
    /// ID, delivery time (unix ms), delivery count.
    pub pel: Vec<(RawId, i64, u64)>,
    pub consumers: Vec<RdbConsumer>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbConsumer {
    pub name: Vec<u8>,
    pub seen_time: i64,
    pub pel: Vec<RawId>,
}

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// The node limits Redis 7.0 runs with by default; written nodes follow them.
const NODE_MAX_BYTES: usize = 4096;
const NODE_MAX_ENTRIES: usize = 100;

fn bad(at: usize, what: &str) -> RdbError {
    RdbError::Corrupt(at, what.to_string())
}

fn len(data: &[u8], pos: &mut usize) -> Result<u64, RdbError> {
    match read_length(data, pos)? {
        Length::Plain(n) => Ok(n),
        Length::Encoded(_) => Err(bad(*pos, "encoded length in a stream")),
    }
}

/// A count of items of at least one byte each, bounded by what is left.
fn count(data: &[u8], pos: &mut usize) -> Result<usize, RdbError> {
    let n = len(data, pos)?;
    if n > (data.len() - *pos) as u64 {
        return Err(RdbError::Truncated(*pos));
    }
    Ok(n as usize)
}

fn id(data: &[u8], pos: &mut usize) -> Result<RawId, RdbError> {
    Ok((len(data, pos)?, len(data, pos)?))
}

fn raw_id(data: &[u8], pos: &mut usize) -> Result<RawId, RdbError> {
    let b: [u8; 16] = Cursor::new(data, pos).array()?;
    Ok(be_id(&b))
}

fn be_id(b: &[u8]) -> RawId {
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&b[..8]);
    seq.copy_from_slice(&b[8..16]);
    (u64::from_be_bytes(ms), u64::from_be_bytes(seq))
}

fn id_bytes((ms, seq): RawId) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&ms.to_be_bytes());
    out[8..].copy_from_slice(&seq.to_be_bytes());
    out
}

fn ms_time(data: &[u8], pos: &mut usize) -> Result<i64, RdbError> {
    Ok(i64::from_le_bytes(Cursor::new(data, pos).array()?))
}

/// Reads a stream body of type 15 (`v1`) or 19.
pub fn read(data: &[u8], pos: &mut usize, v2: bool) -> Result<RdbStream, RdbError> {
    let mut s = RdbStream::default();
    let nodes = count(data, pos)?;
    for _ in 0..nodes {
        let key = read_string(data, pos)?;
        if key.len() != 16 {
            return Err(bad(*pos, "Stream node key entry is not the size of a stream ID"));
        }
        let blob = read_string(data, pos)?;
        let items = listpack::decode(&blob).map_err(|e| bad(*pos, e))?;
        if items.is_empty() {
            return Err(bad(*pos, "Empty listpack inside stream"));
        }
        let before = s.entries.len();
        read_node(be_id(&key), &items, &mut s.entries).map_err(|e| bad(*pos, e))?;
        if s.entries[..before].last().zip(s.entries.get(before)).is_some_and(|(a, b)| a.0 >= b.0) {
            return Err(bad(*pos, "stream nodes out of order"));
        }
    }
    s.length = len(data, pos)?;
    s.last_id = id(data, pos)?;
    if v2 {
        s.first_id = id(data, pos)?;
        s.max_deleted_id = id(data, pos)?;
        s.entries_added = len(data, pos)?;
    } else {
        s.entries_added = s.length;
        s.first_id = s.entries.first().map_or((0, 0), |e| e.0);
    }
    if s.length != s.entries.len() as u64 {
        return Err(bad(*pos, "Stream length inconsistent with its entries"));
    }
    let groups = count(data, pos)?;
    for _ in 0..groups {
        s.groups.push(read_group(data, pos, v2)?);
    }
    Ok(s)
}

fn read_group(data: &[u8], pos: &mut usize, v2: bool) -> Result<RdbGroup, RdbError> {
    let mut g = RdbGroup { name: read_string(data, pos)?, last_id: id(data, pos)?, ..Default::default() };
    if v2 {
        g.entries_read = Some(len(data, pos)? as i64);
    }
    for _ in 0..count(data, pos)? {
        let id = raw_id(data, pos)?;
        let time = ms_time(data, pos)?;
        g.pel.push((id, time, len(data, pos)?));
    }
    if g.pel.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(bad(*pos, "Duplicated global PEL entry loading stream consumer group"));
    }
    for _ in 0..count(data, pos)? {
        let mut c = RdbConsumer { name: read_string(data, pos)?, seen_time: ms_time(data, pos)?, pel: Vec::new() };
        for _ in 0..count(data, pos)? {
            let id = raw_id(data, pos)?;
            if g.pel.binary_search_by(|p| p.0.cmp(&id)).is_err() {
                return Err(bad(*pos, "Consumer entry not found in group global PEL"));
            }
            c.pel.push(id);
        }
        g.consumers.push(c);
    }
    Ok(g)
}

fn int(item: Option<&Vec<u8>>) -> Result<i64, &'static str> {
    item.and_then(|i| ferrokv_resp::parse_i64(i)).ok_or("stream listpack entry is not an integer")
}

/// Decodes one node's live entries into `out`.
fn read_node(master: RawId, items: &[Vec<u8>], out: &mut Vec<(RawId, Pairs)>) -> Result<(), &'static str> {
    let mut it = items.iter();
    let (live, deleted) = (int(it.next())?, int(it.next())?);
    let nmaster = usize::try_from(int(it.next())?).map_err(|_| "negative master field count")?;
    if nmaster > items.len() {
        return Err("master field count beyond the listpack");
    }
    let fields: Vec<&Vec<u8>> = it.by_ref().take(nmaster).collect();
    if fields.len() != nmaster || int(it.next())? != 0 {
        return Err("stream master entry is malformed");
    }
    let (mut seen_live, mut seen) = (0i64, 0i64);
    while let Some(flags) = it.next() {
        let flags = int(Some(flags))?;
        let ms = master.0.wrapping_add(int(it.next())? as u64);
        let seq = master.1.wrapping_add(int(it.next())? as u64);
        let mut pairs = Vec::new();
        if flags & FLAG_SAMEFIELDS != 0 {
            for f in &fields {
                pairs.push(((*f).clone(), it.next().ok_or("stream entry cut short")?.clone()));
            }
        } else {
            let n = usize::try_from(int(it.next())?).map_err(|_| "negative field count")?;
            if n > items.len() {
                return Err("field count beyond the listpack");
            }
            for _ in 0..n {
                let f = it.next().ok_or("stream entry cut short")?.clone();
                pairs.push((f, it.next().ok_or("stream entry cut short")?.clone()));
            }
        }
        int(it.next())?; // lp-count, for reverse walks only
        seen += 1;
        if flags & FLAG_DELETED == 0 {
            seen_live += 1;
            if out.last().is_some_and(|(last, _)| *last >= (ms, seq)) {
                return Err("stream entries out of order");
            }
            out.push(((ms, seq), pairs));
        }
    }
    if seen_live != live || seen != live + deleted {
        return Err("stream node counters do not match its entries");
    }
    Ok(())
}

/// Writes a stream body (type 19).
pub fn write(out: &mut Vec<u8>, s: &RdbStream, compress: bool) {
    let nodes = split_nodes(&s.entries);
    write_length(out, nodes.len() as u64);
    for node in nodes {
        write_string(out, &id_bytes(node[0].0), compress);
        write_string(out, &node_listpack(node), compress);
    }
    write_length(out, s.length);
    for (ms, seq) in [s.last_id, s.first_id, s.max_deleted_id] {
        write_length(out, ms);
        write_length(out, seq);
    }
    write_length(out, s.entries_added);
    write_length(out, s.groups.len() as u64);
    for g in &s.groups {
        write_string(out, &g.name, compress);
        write_length(out, g.last_id.0);
        write_length(out, g.last_id.1);
        write_length(out, g.entries_read.unwrap_or(-1) as u64);
        write_length(out, g.pel.len() as u64);
        for (id, time, count) in &g.pel {
            out.extend_from_slice(&id_bytes(*id));
            out.extend_from_slice(&time.to_le_bytes());
            write_length(out, *count);
        }
        write_length(out, g.consumers.len() as u64);
        for c in &g.consumers {
            write_string(out, &c.name, compress);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            write_length(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
}

fn item_size(item: &[u8]) -> usize {
    match ferrokv_resp::parse_i64(item) {
        Some(n) => lpsize::int_size(n),
        None => lpsize::str_size(item.len()),
    }
}

/// Splits entries into nodes where Redis's `streamAppendItem` would with
/// its default node limits.
fn split_nodes(entries: &[(RawId, Pairs)]) -> Vec<&[(RawId, Pairs)]> {
    let mut nodes = Vec::new();
    // Listpack bytes of the node so far, less its live counter.
    let (mut start, mut rest) = (0, 0);
    for (i, (id, pairs)) in entries.iter().enumerate() {
        let payload: usize = pairs.iter().map(|(f, v)| f.len() + v.len()).sum();
        let live = i - start;
        if live > 0 && (rest + lpsize::int_size(live as i64) + payload >= NODE_MAX_BYTES || live >= NODE_MAX_ENTRIES) {
            nodes.push(&entries[start..i]);
            start = i;
        }
        if i == start {
            rest = lpsize::FIXED + master_items(pairs).iter().map(|m| item_size(m)).sum::<usize>();
        }
        rest += entry_items(entries[start].0, &entries[start].1, *id, pairs).iter().map(|m| item_size(m)).sum::<usize>();
    }
    if start < entries.len() {
        nodes.push(&entries[start..]);
    }
    nodes
}

fn num(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// The master entry less its live counter: deleted (0), field count,
/// fields, terminator.
fn master_items(pairs: &Pairs) -> Vec<Vec<u8>> {
    let mut items = vec![num(0), num(pairs.len() as i64)];
    items.extend(pairs.iter().map(|(f, _)| f.clone()));
    items.push(num(0));
    items
}

/// One entry's listpack elements, delta-encoded against the master.
fn entry_items(master: RawId, master_pairs: &Pairs, id: RawId, pairs: &Pairs) -> Vec<Vec<u8>> {
    let same = master_pairs.len() == pairs.len() && master_pairs.iter().zip(pairs).all(|(m, p)| m.0 == p.0);
    let mut items = vec![num(if same { FLAG_SAMEFIELDS } else { 0 }), num(id.0.wrapping_sub(master.0) as i64), num(id.1.wrapping_sub(master.1) as i64)];
    if same {
        items.extend(pairs.iter().map(|(_, v)| v.clone()));
        items.push(num(pairs.len() as i64 + 3));
    } else {
        items.push(num(pairs.len() as i64));
        items.extend(pairs.iter().flat_map(|(f, v)| [f.clone(), v.clone()]));
        items.push(num(2 * pairs.len() as i64 + 4));
    }
    items
}

fn node_listpack(node: &[(RawId, Pairs)]) -> Vec<u8> {
    let (master, master_pairs) = (node[0].0, &node[0].1);
    let mut items = vec![num(node.len() as i64)];
    items.extend(master_items(master_pairs));
    for (id, pairs) in node {
        items.extend(entry_items(master, master_pairs, *id, pairs));
    }
    listpack::encode(items.iter().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis 7.0.15's DUMP of `XADD s 1-1 a 1 b 2`, `XADD s 1-2 a 3 b 4`
    /// (payload less its type byte and footer).
    const REDIS_TWO_ENTRIES: &[u8] = b"\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01--\x00\x00\x00\x12\x00\x02\x01\x00\x01\x02\x01\x81a\x02\x81b\x02\x00\x01\x02\x01\x00\x01\x00\x01\x01\x01\x02\x01\x05\x01\x02\x01\x00\x01\x01\x01\x03\x01\x04\x01\x05\x01\xff\x02\x01\x02\x01\x01\x00\x00\x02\x00";

    fn two_entries() -> RdbStream {
        let pairs = |a: &[u8], b: &[u8]| vec![(b"a".to_vec(), a.to_vec()), (b"b".to_vec(), b.to_vec())];
        RdbStream {
            entries: vec![((1, 1), pairs(b"1", b"2")), ((1, 2), pairs(b"3", b"4"))],
            length: 2,
            last_id: (1, 2),
            first_id: (1, 1),
            max_deleted_id: (0, 0),
            entries_added: 2,
            groups: vec![],
        }
    }

    #[test]
    fn reads_and_writes_redis_bytes() {
        let mut pos = 0;
        assert_eq!(read(REDIS_TWO_ENTRIES, &mut pos, true).unwrap(), two_entries());
        assert_eq!(pos, REDIS_TWO_ENTRIES.len());
        let mut out = Vec::new();
        write(&mut out, &two_entries(), false);
        assert_eq!(out, REDIS_TWO_ENTRIES);
    }

    #[test]
    fn groups_roundtrip_and_nodes_split() {
        let mut s = RdbStream { length: 250, last_id: (250, 0), first_id: (1, 0), entries_added: 260, ..Default::default() };
        for i in 1..=250u64 {
            let pairs = if i % 7 == 0 { vec![(b"other".to_vec(), i.to_string().into_bytes())] } else { vec![(b"f".to_vec(), vec![b'x'; 30])] };
            s.entries.push(((i, 0), pairs));
        }
        s.groups.push(RdbGroup {
            name: b"g".to_vec(),
            last_id: (3, 0),
            entries_read: Some(3),
            pel: vec![((1, 0), 1700000000000, 2), ((2, 0), 1700000000001, 1)],
            consumers: vec![RdbConsumer { name: b"c".to_vec(), seen_time: 1700000000002, pel: vec![(1, 0), (2, 0)] }],
        });
        let mut out = Vec::new();
        write(&mut out, &s, true);
        assert_eq!(split_nodes(&s.entries).len(), 3);
        let mut pos = 0;
        assert_eq!(read(&out, &mut pos, true).unwrap(), s);
        for cut in 0..out.len() {
            let mut pos = 0;
            assert!(read(&out[..cut], &mut pos, true).is_err());
        }
    }

    fn stream_strategy() -> impl proptest::strategy::Strategy<Value = RdbStream> {
        use proptest::prelude::*;
        let pairs = proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..8), proptest::collection::vec(any::<u8>(), 0..300)), 1..4);
        (proptest::collection::vec((1u64..5, 0u64..3, pairs), 0..300), any::<u64>(), proptest::collection::vec(any::<u8>(), 1..5)).prop_map(
            |(steps, added, name)| {
                let mut s = RdbStream::default();
                let mut at = (1_700_000_000_000u64, 0u64);
                for (gap, seq, pairs) in steps {
                    at = (at.0 + gap, seq);
                    s.entries.push((at, pairs));
                }
                s.length = s.entries.len() as u64;
                s.last_id = at;
                s.first_id = s.entries.first().map_or((0, 0), |e| e.0);
                s.entries_added = added;
                let pel: Vec<(RawId, i64, u64)> = s.entries.iter().take(3).map(|e| (e.0, 1_700_000_000_000, 2)).collect();
                s.groups.push(RdbGroup {
                    name,
                    last_id: at,
                    entries_read: Some(-1),
                    consumers: vec![RdbConsumer { name: b"c".to_vec(), seen_time: 5, pel: pel.iter().map(|p| p.0).collect() }],
                    pel,
                });
                s
            },
        )
    }

    proptest::proptest! {
        #[test]
        fn streams_roundtrip(s in stream_strategy(), compress in proptest::bool::ANY) {
            let mut out = Vec::new();
            write(&mut out, &s, compress);
            let mut pos = 0;
            proptest::prop_assert_eq!(read(&out, &mut pos, true), Ok(s));
            proptest::prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn corrupt_streams_are_refused_not_panicking(s in stream_strategy(), flip in proptest::prelude::any::<usize>(), cut in proptest::prelude::any::<usize>()) {
            let mut out = Vec::new();
            write(&mut out, &s, false);
            let mut bad = out.clone();
            let i = flip % bad.len();
            bad[i] ^= 0x5a;
            let _ = read(&bad, &mut 0, true);
            let _ = read(&out[..cut % out.len()], &mut 0, true);
        }
    }
}
