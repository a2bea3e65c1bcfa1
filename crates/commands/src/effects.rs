//! What a command sends to replicas and the AOF: by default the command
//! itself when it changed the keyspace (Redis's `server.dirty` rule, driven by
//! the view's change count and the table, never by a list of names); a
//! handler whose effect depends on time or chance replaces that with
//! commands that reproduce its effect exactly (SET … PXAT, SREM for SPOP,
//! LPOP for a served BLPOP), and keys found expired go out as DEL first.
//!
//! The node logs one call's effects as one unit (see its `propagate`).

use bytes::Bytes;

#[derive(Default)]
pub struct Effects {
    /// Collect anything at all: only while a replication log or AOF exists.
    pub on: bool,
    pub cmds: Vec<(usize, Vec<Bytes>)>,
    /// What the running command propagates instead of itself.
    rewrite: Option<Vec<Vec<Bytes>>>,
    /// Keyspace events raised, in order: published with the unit.
    pub events: Vec<ferrokv_storage::events::Event>,
    /// Keys modified (client-side caching invalidates them with the unit),
    /// and whether a flush invalidated every key.
    pub invalidated: Vec<Bytes>,
    pub flushed: bool,
    /// Indexes in `cmds` that go to replicas only, never to the AOF
    /// (PUBLISH: Redis's `forceCommandPropagation(PROPAGATE_REPL)`).
    repl_only: Vec<usize>,
}

impl Effects {
    pub fn new(on: bool) -> Self {
        Effects { on, ..Default::default() }
    }

    /// Replaces what the running command propagates (called by handlers;
    /// several calls add several commands).
    pub fn rewrite(&mut self, argv: Vec<Bytes>) {
        if self.on {
            self.rewrite.get_or_insert_with(Vec::new).push(argv);
        }
    }

    /// The running command propagates nothing of itself (XREADGROUP,
    /// XCLAIM: only the effects they add with `rewrite`).
    pub fn suppress(&mut self) {
        if self.on {
            self.rewrite.get_or_insert_with(Vec::new);
        }
    }

    pub fn take_rewrite(&mut self) -> Option<Vec<Vec<Bytes>>> {
        self.rewrite.take()
    }

    pub fn push(&mut self, db: usize, argv: Vec<Bytes>) {
        self.cmds.push((db, argv));
    }

    /// A command replicas must run though it changed no data (PUBLISH, so
    /// a replica's subscribers hear it); the AOF does not record it.
    pub fn push_repl_only(&mut self, db: usize, argv: Vec<Bytes>) {
        if self.on {
            self.repl_only.push(self.cmds.len());
            self.cmds.push((db, argv));
        }
    }

    /// What the AOF records when it is not everything (None: all of
    /// `iter()`, the common case, without a copy).
    pub fn durable(&self) -> Option<Vec<(usize, &[Bytes])>> {
        if self.repl_only.is_empty() {
            return None;
        }
        Some(self.iter().enumerate().filter(|(i, _)| !self.repl_only.contains(i)).map(|(_, c)| c).collect())
    }

    /// A lazily expired key, propagated as Redis 7.0 does.
    pub fn expired(&mut self, db: usize, key: Bytes) {
        self.cmds.push((db, vec![Bytes::from_static(b"DEL"), key]));
    }

    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Raises an event outside any view (active expiry, eviction), if
    /// `classes` (the configured ones) include `class`.
    pub fn event(&mut self, classes: u32, class: u32, db: usize, name: &'static str, key: &Bytes) {
        if classes & class != 0 {
            self.events.push(ferrokv_storage::events::Event { db, name, key: key.clone() });
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (usize, &[Bytes])> {
        self.cmds.iter().map(|(db, argv)| (*db, &argv[..]))
    }
}

/// An argv from static words and owned pieces.
#[macro_export]
macro_rules! argv {
    ($($a:expr),* $(,)?) => {
        vec![$($crate::effects::IntoArg::into_arg($a)),*]
    };
}

pub trait IntoArg {
    fn into_arg(self) -> Bytes;
}

impl IntoArg for &'static str {
    fn into_arg(self) -> Bytes {
        Bytes::from_static(self.as_bytes())
    }
}

impl IntoArg for Bytes {
    fn into_arg(self) -> Bytes {
        self
    }
}

impl IntoArg for &Bytes {
    fn into_arg(self) -> Bytes {
        self.clone()
    }
}

impl IntoArg for String {
    fn into_arg(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoArg for i64 {
    fn into_arg(self) -> Bytes {
        Bytes::copy_from_slice(itoa::Buffer::new().format(self).as_bytes())
    }
}

impl IntoArg for Vec<u8> {
    fn into_arg(self) -> Bytes {
        Bytes::from(self)
    }
}
