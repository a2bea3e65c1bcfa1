//! Channels and patterns, and who is subscribed to them.
//!
//! PUBLISH runs on the publisher's connection: it looks up subscribers under
//! one lock and hands each a [`Push`] through its connection's queue; a
//! subscriber that is the publisher itself (RESP3) gets the message in its
//! own reply buffer, before the PUBLISH reply, as Redis orders it.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use ferrokv_util::glob_match;
use parking_lot::Mutex;

use crate::net::client::{ClientShared, Push};

type Subscribers = HashMap<u64, Arc<ClientShared>>;

/// The three namespaces: channels (SUBSCRIBE), patterns (PSUBSCRIBE) and
/// shard channels (SSUBSCRIBE), which only SPUBLISH reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

#[derive(Default)]
struct Inner {
    channels: HashMap<Bytes, Subscribers>,
    patterns: HashMap<Bytes, Subscribers>,
    shard: HashMap<Bytes, Subscribers>,
}

impl Inner {
    fn table(&mut self, kind: Kind) -> &mut HashMap<Bytes, Subscribers> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

#[derive(Default)]
pub struct PubSub {
    inner: Mutex<Inner>,
}

impl PubSub {
    pub fn subscribe(&self, kind: Kind, name: &Bytes, client: &Arc<ClientShared>) {
        self.inner.lock().table(kind).entry(name.clone()).or_default().insert(client.id, client.clone());
    }

    /// Every subscription of one client (ACL changes check them).
    pub fn subscriptions_of(&self, id: u64) -> Vec<(Kind, Bytes)> {
        let mut inner = self.inner.lock();
        let mut found = Vec::new();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            found.extend(inner.table(kind).iter().filter(|(_, subs)| subs.contains_key(&id)).map(|(name, _)| (kind, name.clone())));
        }
        found
    }

    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        let mut inner = self.inner.lock();
        let table = inner.table(kind);
        if let Some(subs) = table.get_mut(name) {
            subs.remove(&id);
            if subs.is_empty() {
                table.remove(name);
            }
        }
    }

    /// Sends `payload` to every subscriber of `channel` (for `Kind::Channel`,
    /// also of a matching pattern; `Kind::Shard` is SPUBLISH, which reaches
    /// only the shard channel's own subscribers); returns how many received
    /// it. `to_self` gets the messages meant for the publishing client `self_id`.
    pub fn publish(&self, kind: Kind, channel: &Bytes, payload: &Bytes, self_id: u64, mut to_self: impl FnMut(Push)) -> usize {
        let inner = self.inner.lock();
        let mut receivers = 0;
        let mut send = |client: &Arc<ClientShared>, push: Push| {
            receivers += 1;
            if client.id == self_id {
                to_self(push);
            } else {
                client.deliver(push);
            }
        };
        if kind == Kind::Shard {
            for client in inner.shard.get(channel).into_iter().flat_map(|subs| subs.values()) {
                send(client, Push::SMessage { channel: channel.clone(), payload: payload.clone() });
            }
            return receivers;
        }
        if let Some(subs) = inner.channels.get(channel) {
            for client in subs.values() {
                send(client, Push::Message { channel: channel.clone(), payload: payload.clone() });
            }
        }
        for (pattern, subs) in &inner.patterns {
            if glob_match(pattern, channel, false) {
                for client in subs.values() {
                    send(client, Push::PMessage { pattern: pattern.clone(), channel: channel.clone(), payload: payload.clone() });
                }
            }
        }
        receivers
    }

    /// Active channels or shard channels, optionally filtered by a glob
    /// (PUBSUB CHANNELS / SHARDCHANNELS).
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let mut inner = self.inner.lock();
        inner.table(kind).keys().filter(|c| pattern.is_none_or(|p| glob_match(p, c, false))).cloned().collect()
    }

    pub fn numsub(&self, kind: Kind, name: &[u8]) -> usize {
        self.inner.lock().table(kind).get(name).map_or(0, |s| s.len())
    }

    /// How many distinct channels, patterns or shard channels have subscribers.
    pub fn count(&self, kind: Kind) -> usize {
        self.inner.lock().table(kind).len()
    }
}
