//! Consumer groups (Redis's `streamCG`): the group's last delivered ID and
//! read counter, its pending entries list (PEL) and its consumers, each
//! with the IDs it owns.
//!
//! Invariant: an ID is in a consumer's `pel` exactly when the group's PEL
//! holds it with that consumer as owner.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::id::StreamId;
use crate::memory::block;

/// `entries-read` when it is not known (SCG_INVALID_ENTRIES_READ).
pub const INVALID_ENTRIES_READ: i64 = -1;

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    /// By name, in byte order (Redis's rax order).
    pub consumers: BTreeMap<Bytes, Consumer>,
}

/// A delivered, not yet acknowledged entry (`streamNACK`).
#[derive(Debug, Clone, PartialEq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer {
    /// Unix ms of the consumer's last attempted interaction.
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// The consumer called `name`, created (seen now) if missing; true
    /// when it was created.
    pub fn consumer(&mut self, name: &[u8], now_ms: i64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        if created {
            self.consumers.insert(Bytes::copy_from_slice(name), Consumer { seen_time: now_ms, pel: BTreeSet::new() });
        }
        let Some(c) = self.consumers.get_mut(name) else { unreachable!("inserted above") };
        (c, created)
    }

    /// The consumer's own name handle (shared by its NACKs).
    pub fn consumer_name(&self, name: &[u8]) -> Option<Bytes> {
        self.consumers.get_key_value(name).map(|(k, _)| k.clone())
    }

    /// Gives the pending `id` to `consumer` (creating the NACK if missing),
    /// moving it from its previous owner.
    pub fn assign(&mut self, id: StreamId, consumer: &Bytes, nack: Nack) {
        if let Some(old) = self.pel.insert(id, Nack { consumer: consumer.clone(), ..nack }) {
            if old.consumer != *consumer {
                if let Some(c) = self.consumers.get_mut(&old.consumer) {
                    c.pel.remove(&id);
                }
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Acknowledges `id`: out of the PEL and its owner's list.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(nack) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&nack.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let nack = std::mem::size_of::<StreamId>() + std::mem::size_of::<Nack>();
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(name, c)| {
                block(name.len()) + std::mem::size_of::<Bytes>() + std::mem::size_of::<Consumer>() + c.pel.len() * std::mem::size_of::<StreamId>() * 3 / 2
            })
            .sum();
        block(std::mem::size_of::<Group>()) + self.pel.len() * nack * 3 / 2 + consumers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_entries_follow_their_owner() {
        let mut g = Group::new(StreamId::MIN, 0);
        g.consumer(b"alice", 1);
        g.consumer(b"bob", 1);
        let (alice, bob) = (g.consumer_name(b"alice").unwrap(), g.consumer_name(b"bob").unwrap());
        let id = StreamId::new(1, 0);
        let nack = Nack { delivery_time: 5, delivery_count: 1, consumer: alice.clone() };
        g.assign(id, &alice, nack.clone());
        g.assign(id, &bob, nack);
        assert!(g.consumers[&alice].pel.is_empty());
        assert!(g.consumers[&bob].pel.contains(&id));
        assert_eq!(g.delete_consumer(b"bob"), Some(1));
        assert!(g.pel.is_empty());
        assert!(!g.ack(id));
    }
}
