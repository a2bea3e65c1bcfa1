//! A stream to and from its RDB form (files, DUMP/RESTORE, full sync).

use bytes::Bytes;
use ferrokv_rdb::stream::{RdbConsumer, RdbGroup, RdbStream};
use ferrokv_storage::types::stream::{Group, Nack, NodeLimits, Stream, StreamId};

fn raw(id: StreamId) -> (u64, u64) {
    (id.ms, id.seq)
}

fn id((ms, seq): (u64, u64)) -> StreamId {
    StreamId::new(ms, seq)
}

pub fn to_rdb(s: &Stream) -> RdbStream {
    RdbStream {
        entries: s.iter().map(|e| (raw(e.id), e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())).collect(),
        length: s.len(),
        last_id: raw(s.last_id),
        first_id: raw(s.first_id),
        max_deleted_id: raw(s.max_deleted_entry_id),
        entries_added: s.entries_added,
        groups: s
            .groups
            .iter()
            .map(|(name, g)| RdbGroup {
                name: name.to_vec(),
                last_id: raw(g.last_id),
                entries_read: Some(g.entries_read),
                pel: g.pel.iter().map(|(id, n)| (raw(*id), n.delivery_time, n.delivery_count)).collect(),
                consumers: g
                    .consumers
                    .iter()
                    .map(|(cname, c)| RdbConsumer { name: cname.to_vec(), seen_time: c.seen_time, pel: c.pel.iter().map(|id| raw(*id)).collect() })
                    .collect(),
            })
            .collect(),
    }
}

/// None for what Redis refuses as corrupt: a last ID below an entry,
/// duplicate groups or consumers, a pending entry no consumer owns.
pub fn from_rdb(r: RdbStream, limits: NodeLimits) -> Option<Stream> {
    let mut s = Stream::new();
    for (entry_id, pairs) in &r.entries {
        let flat: Vec<&[u8]> = pairs.iter().flat_map(|(f, v)| [&f[..], &v[..]]).collect();
        s.append(id(*entry_id), &flat, limits);
    }
    if r.entries.last().is_some_and(|(last, _)| id(*last) > id(r.last_id)) {
        return None;
    }
    s.last_id = id(r.last_id);
    s.first_id = id(r.first_id);
    s.max_deleted_entry_id = id(r.max_deleted_id);
    s.entries_added = r.entries_added;
    let counters = s.counters();
    for g in r.groups {
        let last = id(g.last_id);
        let read = g.entries_read.unwrap_or_else(|| counters.estimate_distance(last).map_or(-1, |n| n as i64));
        let mut group = Group::new(last, read);
        for c in &g.consumers {
            let (consumer, created) = group.consumer(&c.name, c.seen_time);
            if !created {
                return None;
            }
            consumer.seen_time = c.seen_time;
        }
        let mut owners = std::collections::BTreeMap::new();
        for c in &g.consumers {
            let name = group.consumer_name(&c.name)?;
            for pid in &c.pel {
                if owners.insert(id(*pid), name.clone()).is_some() {
                    return None;
                }
            }
        }
        for (pid, time, count) in g.pel {
            let owner: Bytes = owners.remove(&id(pid))?;
            group.assign(id(pid), &owner, Nack { delivery_time: time, delivery_count: count, consumer: owner.clone() });
        }
        if !owners.is_empty() || s.groups.insert(Bytes::from(g.name), group).is_some() {
            return None;
        }
    }
    Some(s)
}
