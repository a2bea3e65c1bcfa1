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

#[derive(Default)]
struct Inner {
    channels: HashMap<Bytes, Subscribers>,
    patterns: HashMap<Bytes, Subscribers>,
}

#[derive(Default)]
pub struct PubSub {
    inner: Mutex<Inner>,
}

impl PubSub {
    pub fn subscribe(&self, channel: &Bytes, client: &Arc<ClientShared>) {
        self.inner.lock().channels.entry(channel.clone()).or_default().insert(client.id, client.clone());
    }

    pub fn unsubscribe(&self, channel: &[u8], id: u64) {
        let mut inner = self.inner.lock();
        if let Some(subs) = inner.channels.get_mut(channel) {
            subs.remove(&id);
            if subs.is_empty() {
                inner.channels.remove(channel);
            }
        }
    }

    pub fn psubscribe(&self, pattern: &Bytes, client: &Arc<ClientShared>) {
        self.inner.lock().patterns.entry(pattern.clone()).or_default().insert(client.id, client.clone());
    }

    pub fn punsubscribe(&self, pattern: &[u8], id: u64) {
        let mut inner = self.inner.lock();
        if let Some(subs) = inner.patterns.get_mut(pattern) {
            subs.remove(&id);
            if subs.is_empty() {
                inner.patterns.remove(pattern);
            }
        }
    }

    /// Sends `payload` to every subscriber of `channel` and of a matching
    /// pattern; returns how many received it. `to_self` gets the messages
    /// meant for the publishing client `self_id`.
    pub fn publish(&self, channel: &Bytes, payload: &Bytes, self_id: u64, mut to_self: impl FnMut(Push)) -> usize {
        let inner = self.inner.lock();
        let mut receivers = 0;
        let mut send = |client: &Arc<ClientShared>, push: Push| {
            if client.id == self_id {
                to_self(push);
            } else {
                client.deliver(push);
            }
        };
        if let Some(subs) = inner.channels.get(channel) {
            for client in subs.values() {
                send(client, Push::Message { channel: channel.clone(), payload: payload.clone() });
                receivers += 1;
            }
        }
        for (pattern, subs) in &inner.patterns {
            if glob_match(pattern, channel, false) {
                for client in subs.values() {
                    send(client, Push::PMessage { pattern: pattern.clone(), channel: channel.clone(), payload: payload.clone() });
                    receivers += 1;
                }
            }
        }
        receivers
    }

    /// Active channels, optionally filtered by a glob (PUBSUB CHANNELS).
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let inner = self.inner.lock();
        inner.channels.keys().filter(|c| pattern.is_none_or(|p| glob_match(p, c, false))).cloned().collect()
    }

    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.inner.lock().channels.get(channel).map_or(0, |s| s.len())
    }

    pub fn numpat(&self) -> usize {
        self.inner.lock().patterns.len()
    }

    pub fn channel_count(&self) -> usize {
        self.inner.lock().channels.len()
    }
}
