//! Client-side caching (Redis's tracking.c). A client with CLIENT TRACKING
//! ON is remembered against every key its read commands touch; when such a
//! key changes (a write, an expiry, an eviction) each client that may cache
//! it gets one invalidation, and the key is forgotten until read again. In
//! BCAST mode a client registers prefixes instead and hears of every
//! modified key under them. A flush invalidates everything with a null.
//!
//! Writers do not call in here: their views record the keys they modified
//! (`View::touched`, only while tracking is on) and dispatch hands them over
//! with the call's other effects, after the reply, so a client's own
//! invalidation follows its reply as in Redis. The cron hands over what
//! active expiry and eviction remove.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use ferrokv_resp::{encode, Protocol};
use parking_lot::Mutex;

use crate::net::client::{kind, ClientShared, Push};
use crate::server::Server;

/// A client's tracking options, where other connections' invalidations
/// read them (`ClientShared::tracking`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// The client id invalidations go to; 0 = the client itself.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// The redirect target went away (CLIENT TRACKINGINFO, flag `R`).
    pub broken_redirect: bool,
    /// BCAST prefixes ("" for every key).
    pub prefixes: BTreeSet<Bytes>,
}

#[derive(Default)]
struct Table {
    /// Key → the clients that may cache it (the default mode).
    keys: HashMap<Bytes, HashSet<u64>>,
    /// Ids summed over `keys` (INFO `tracking_total_items`).
    items: usize,
    /// Prefix → the BCAST clients registered for it.
    prefixes: BTreeMap<Bytes, BTreeSet<u64>>,
}

#[derive(Default)]
pub struct Tracking {
    table: Mutex<Table>,
    /// Clients with tracking on (INFO `tracking_clients`).
    clients: AtomicUsize,
}

/// The client whose command caused the invalidations: its own arrive in
/// its reply buffer, after the reply, and NOLOOP spares it.
pub struct Current<'a> {
    pub id: u64,
    pub out: &'a mut BytesMut,
}

impl Current<'_> {
    pub fn reborrow(&mut self) -> Current<'_> {
        Current { id: self.id, out: self.out }
    }
}

/// What an invalidation says: these keys, or (None) every key.
type Keys<'k> = Option<&'k [Bytes]>;

impl Tracking {
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// INFO's (tracking_total_keys, tracking_total_items, tracking_total_prefixes).
    pub fn totals(&self) -> (usize, usize, usize) {
        let t = self.table.lock();
        (t.keys.len(), t.items, t.prefixes.len())
    }

    /// Views record modified keys while anyone tracks or anything is
    /// remembered.
    fn publish_state(&self, server: &Server, table: &Table) {
        let on = self.clients() > 0 || !table.keys.is_empty();
        server.store.tracking.store(on, Ordering::Relaxed);
    }

    /// CLIENT TRACKING ON: `mode` replaces the client's options (BCAST
    /// prefixes add to those it has).
    pub fn enable(&self, server: &Server, client: &ClientShared, mut mode: Mode) {
        let mut current = client.tracking.lock();
        if current.is_none() {
            self.clients.fetch_add(1, Ordering::Relaxed);
        }
        let mut table = self.table.lock();
        if mode.bcast {
            if mode.prefixes.is_empty() {
                mode.prefixes.insert(Bytes::new());
            }
            if let Some(old) = current.as_ref() {
                mode.prefixes.extend(old.prefixes.iter().cloned());
            }
            for p in &mode.prefixes {
                table.prefixes.entry(p.clone()).or_default().insert(client.id);
            }
        }
        *current = Some(mode);
        self.publish_state(server, &table);
    }

    /// CLIENT TRACKING OFF, RESET, or the connection closing. Its entries
    /// in the key table go lazily, as Redis's do, except that the last
    /// tracking client's going empties the table: otherwise every write
    /// would keep recording its keys for entries nobody reads.
    pub fn disable(&self, server: &Server, client: &ClientShared) {
        let Some(mode) = client.tracking.lock().take() else { return };
        let last = self.clients.fetch_sub(1, Ordering::Relaxed) == 1;
        let mut table = self.table.lock();
        if last {
            table.keys.clear();
            table.items = 0;
        }
        for p in &mode.prefixes {
            if let Some(ids) = table.prefixes.get_mut(p) {
                ids.remove(&client.id);
                if ids.is_empty() {
                    table.prefixes.remove(p);
                }
            }
        }
        self.publish_state(server, &table);
    }

    /// Remembers that client `id` may now cache `keys`.
    pub fn remember<'k>(&self, server: &Server, id: u64, keys: impl Iterator<Item = &'k Bytes>) {
        let mut table = self.table.lock();
        let mut added = 0;
        for key in keys {
            if table.keys.entry(key.clone()).or_default().insert(id) {
                added += 1;
            }
        }
        table.items += added;
        self.publish_state(server, &table);
    }

    /// Invalidates modified keys: for the clients that read them, and for
    /// BCAST clients whose prefixes they fall under (one message per
    /// prefix, its keys in order).
    pub fn invalidate(&self, server: &Server, keys: &[Bytes], current: Option<Current<'_>>) {
        self.invalidate_for(server, keys, current, true);
    }

    /// `trackingInvalidateKey`: each remembered reader of a key hears of it
    /// once and the key is forgotten (NOLOOP spares the writer, BCAST
    /// clients hear through their prefixes, when `bcast`).
    fn invalidate_for(&self, server: &Server, keys: &[Bytes], mut current: Option<Current<'_>>, bcast: bool) {
        let (readers, bcast) = {
            let mut table = self.table.lock();
            let mut readers = Vec::new();
            for key in keys {
                if let Some(ids) = table.keys.remove(key) {
                    table.items -= ids.len();
                    readers.extend(ids.into_iter().map(|id| (id, key.clone())));
                }
            }
            let bcast = if bcast { bcast_keys(&table, keys) } else { Vec::new() };
            self.publish_state(server, &table);
            (readers, bcast)
        };
        let current_id = current.as_ref().map(|c| c.id);
        let spared = |m: &Mode, id: u64| m.noloop && current_id == Some(id);
        for (id, key) in readers {
            let Some(client) = client_by_id(server, id) else { continue };
            let skip = client.tracking.lock().as_ref().is_none_or(|m| m.bcast || spared(m, id));
            if !skip {
                send(server, &client, Some(std::slice::from_ref(&key)), current.as_mut());
            }
        }
        for (id, keys) in bcast {
            let Some(client) = client_by_id(server, id) else { continue };
            if !client.tracking.lock().as_ref().is_some_and(|m| spared(m, id)) {
                send(server, &client, Some(&keys), current.as_mut());
            }
        }
    }

    /// `trackingInvalidateKeysOnFlush`: every tracking client is told all
    /// its keys are invalid, and the table is emptied.
    pub fn flush(&self, server: &Server, mut current: Option<Current<'_>>) {
        if self.clients() > 0 {
            let clients: Vec<Arc<ClientShared>> = server.clients.lock().values().filter(|c| c.tracking.lock().is_some()).cloned().collect();
            for client in clients {
                send(server, &client, None, current.as_mut());
            }
        }
        let mut table = self.table.lock();
        table.keys.clear();
        table.items = 0;
        self.publish_state(server, &table);
    }

    /// `tracking-table-max-keys`: over the limit, forgets keys (invalidating
    /// them for their readers, as Redis does) until under it again.
    pub fn limit(&self, server: &Server, max_keys: usize) {
        if max_keys == 0 {
            return;
        }
        let over: Vec<Bytes> = {
            let table = self.table.lock();
            let n = table.keys.len().saturating_sub(max_keys);
            table.keys.keys().take(n).cloned().collect()
        };
        if !over.is_empty() {
            // The keys did not change: BCAST clients are not told.
            self.invalidate_for(server, &over, None, false);
        }
    }
}

/// Per BCAST client, the modified keys under each of its prefixes, sorted
/// and without repeats, as Redis's radix tree gives them.
fn bcast_keys(table: &Table, keys: &[Bytes]) -> Vec<(u64, Vec<Bytes>)> {
    let mut out = Vec::new();
    for (prefix, ids) in &table.prefixes {
        let under: BTreeSet<&Bytes> = keys.iter().filter(|k| k.starts_with(prefix)).collect();
        if under.is_empty() {
            continue;
        }
        let under: Vec<Bytes> = under.into_iter().cloned().collect();
        out.extend(ids.iter().map(|&id| (id, under.clone())));
    }
    out
}

fn client_by_id(server: &Server, id: u64) -> Option<Arc<ClientShared>> {
    server.clients.lock().get(&id).cloned()
}

fn proto_of(client: &ClientShared) -> Protocol {
    if client.resp.load(Ordering::Relaxed) == 3 {
        Protocol::Resp3
    } else {
        Protocol::Resp2
    }
}

/// `sendTrackingMessage`: to the client, or to its redirect target (a
/// RESP2 target only while subscribed, as a `__redis__:invalidate`
/// message); a vanished target marks the redirect broken and tells a
/// RESP3 client so.
fn send(server: &Server, tracking: &Arc<ClientShared>, keys: Keys<'_>, current: Option<&mut Current<'_>>) {
    let null_proto = proto_of(tracking);
    let redirect = tracking.tracking.lock().as_ref().map_or(0, |m| m.redirect);
    let (dest, redirected) = if redirect == 0 {
        (tracking.clone(), false)
    } else {
        match client_by_id(server, redirect) {
            Some(target) => (target, true),
            None => {
                if let Some(m) = tracking.tracking.lock().as_mut() {
                    m.broken_redirect = true;
                }
                if null_proto == Protocol::Resp3 {
                    let mut msg = BytesMut::new();
                    encode::push_len(&mut msg, 2, Protocol::Resp3);
                    encode::bulk(&mut msg, b"tracking-redir-broken");
                    encode::integer(&mut msg, redirect as i64);
                    deliver(tracking, msg, current);
                }
                return;
            }
        }
    };
    let proto = proto_of(&dest);
    let mut msg = BytesMut::new();
    if proto == Protocol::Resp3 {
        encode::push_len(&mut msg, 2, proto);
        encode::bulk(&mut msg, b"invalidate");
    } else if redirected && dest.has(kind::PUBSUB) {
        encode::array_len(&mut msg, 3);
        encode::bulk(&mut msg, b"message");
        encode::bulk(&mut msg, b"__redis__:invalidate");
    } else {
        // RESP2 has no pushes on a connection that is not subscribed.
        return;
    }
    match keys {
        Some(keys) => {
            encode::array_len(&mut msg, keys.len());
            keys.iter().for_each(|k| encode::bulk(&mut msg, k));
        }
        None => encode::null(&mut msg, null_proto),
    }
    deliver(&dest, msg, current);
}

/// Into the current client's reply buffer (after its reply), or through
/// the other client's push queue.
fn deliver(dest: &Arc<ClientShared>, msg: BytesMut, current: Option<&mut Current<'_>>) {
    match current {
        Some(c) if c.id == dest.id => c.out.put_slice(&msg),
        _ => {
            dest.deliver(Push::Raw(msg.freeze()));
        }
    }
}
