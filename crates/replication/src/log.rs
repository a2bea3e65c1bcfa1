//! This node's replication history and command log: the replication ID it
//! follows (and the previous one, for PSYNC2 after a failover), its offset,
//! the backlog, and how far each attached replica has been sent.
//!
//! Everything here changes together under one lock, taken by every write
//! that propagates. Writers append while still holding their keys' shards,
//! so the log's order is an order the keyspace really went through.

use std::collections::HashMap;

use bytes::Bytes;
use ferrokv_resp::encode;

use crate::backlog::{Backlog, Missing};

/// `client-output-buffer-limit replica <hard> <soft> <seconds>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl Default for OutputLimit {
    /// Redis's default: 256mb 64mb 60.
    fn default() -> Self {
        OutputLimit { hard: 256 << 20, soft: 64 << 20, soft_seconds: 60 }
    }
}

/// Where an attached replica stands in the log.
struct Position {
    /// The next byte it is to be sent.
    next: u64,
    /// Since when it has been over the soft limit.
    over_soft_since: Option<std::time::Instant>,
}

/// Why a replica's stream ended on the primary's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Cut {
    #[error("replica fell behind by more than client-output-buffer-limit replica")]
    OutputLimit,
    #[error("replication history changed (failover or new sync)")]
    HistoryChanged,
    #[error(transparent)]
    Missing(#[from] Missing),
}

pub struct ReplLog {
    pub replid: String,
    /// The history this one continues (after a promotion), and the offset
    /// where the two part: replicas of the old primary may continue up to it.
    pub replid2: String,
    pub replid2_end: Option<u64>,
    /// `master_repl_offset` while no backlog exists.
    offset: u64,
    pub backlog: Option<Backlog>,
    backlog_size: usize,
    /// Database of the last propagated command (None: emit SELECT first).
    stream_db: Option<usize>,
    positions: HashMap<u64, Position>,
    cut: HashMap<u64, Cut>,
    pub limit: OutputLimit,
    /// On a replica: the offset (and selected database) of the last of the
    /// primary's commands that has taken effect. The log itself may run
    /// ahead by a transaction still being queued, so snapshots record
    /// this point, which matches the dataset.
    pub applied: Option<(u64, usize)>,
    /// Where the last REPLCONF GETACK fed ends.
    getack_end: Option<u64>,
}

pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

impl ReplLog {
    pub fn new(backlog_size: usize) -> Self {
        ReplLog {
            replid: ferrokv_util::random_hex_id(),
            replid2: NO_REPLID.into(),
            replid2_end: None,
            offset: 0,
            backlog: None,
            backlog_size,
            stream_db: None,
            positions: HashMap::new(),
            cut: HashMap::new(),
            limit: OutputLimit::default(),
            applied: None,
            getack_end: None,
        }
    }

    /// `master_repl_offset`.
    pub fn offset(&self) -> u64 {
        self.backlog.as_ref().map_or(self.offset, |b| b.end())
    }

    /// Creates the backlog (on the first replica, or after a sync): from
    /// then on every write is logged.
    pub fn ensure_backlog(&mut self) {
        if self.backlog.is_none() {
            self.backlog = Some(Backlog::new(self.offset, self.backlog_size));
            self.stream_db = None;
        }
    }

    pub fn set_backlog_size(&mut self, size: usize) {
        self.backlog_size = size;
        if let Some(b) = &mut self.backlog {
            b.set_size(size);
        }
    }

    /// Appends one unit of propagation: a single command, or several that
    /// must apply atomically (wrapped in MULTI/EXEC), each in its database.
    pub fn feed<'a>(&mut self, cmds: impl ExactSizeIterator<Item = (usize, &'a [Bytes])>) {
        let Some(backlog) = &mut self.backlog else {
            return;
        };
        encode_unit(backlog.tail(), &mut self.stream_db, cmds);
        backlog.seal();
        self.after_append();
    }

    /// Appends a command of the replication protocol itself (PING, REPLCONF
    /// GETACK). Redis feeds them into the backlog like any write, so every
    /// replica counts their bytes and offsets agree across transports; they
    /// belong to no database, so no SELECT precedes them.
    pub fn feed_control(&mut self, argv: &[&[u8]]) {
        let Some(backlog) = &mut self.backlog else {
            return;
        };
        encode::command(backlog.tail(), argv);
        backlog.seal();
        self.after_append();
    }

    /// REPLCONF GETACK, unless the log already ends with one (several WAITs
    /// in a row need one ack each replica, as Redis asks once per loop).
    pub fn feed_getack(&mut self) -> bool {
        if self.backlog.is_none() || self.getack_end == Some(self.offset()) {
            return false;
        }
        self.feed_control(&[b"REPLCONF", b"GETACK", b"*"]);
        self.getack_end = Some(self.offset());
        true
    }

    /// Appends bytes of the primary's log verbatim (a replica keeps the very
    /// same log, so its own replicas and a promotion see the same offsets).
    pub fn append_raw(&mut self, data: &[u8]) {
        self.ensure_backlog();
        if let Some(b) = &mut self.backlog {
            b.append(data);
        }
        self.after_append();
    }

    /// Applies the output limit to lagging replicas and trims the backlog.
    fn after_append(&mut self) {
        let Some(backlog) = &mut self.backlog else {
            return;
        };
        let end = backlog.end();
        let limit = self.limit;
        let now = std::time::Instant::now();
        let mut over = Vec::new();
        for (id, p) in self.positions.iter_mut() {
            let pending = end.saturating_sub(p.next);
            if limit.hard > 0 && pending > limit.hard {
                over.push(*id);
            } else if limit.soft > 0 && pending > limit.soft {
                let since = *p.over_soft_since.get_or_insert(now);
                if now.duration_since(since).as_secs() >= limit.soft_seconds {
                    over.push(*id);
                }
            } else {
                p.over_soft_since = None;
            }
        }
        for id in over {
            self.positions.remove(&id);
            self.cut.insert(id, Cut::OutputLimit);
        }
        let keep = self.positions.values().map(|p| p.next).min().unwrap_or(u64::MAX);
        backlog.trim(keep);
    }

    /// PSYNC: whether a replica holding `offset` bytes of history `replid`
    /// can continue from our backlog. If so it is attached at `offset`.
    pub fn try_continue(&mut self, id: u64, replid: &str, offset: u64) -> bool {
        let Some(backlog) = &self.backlog else {
            return false;
        };
        let same = replid == self.replid;
        let previous = replid == self.replid2 && self.replid2_end.is_some_and(|end| offset <= end);
        if !(same || previous) || !backlog.contains(offset) {
            return false;
        }
        self.attach(id, offset);
        true
    }

    /// Attaches a replica that will be sent the log from `next`.
    pub fn attach(&mut self, id: u64, next: u64) {
        self.ensure_backlog();
        self.cut.remove(&id);
        self.positions.insert(id, Position { next, over_soft_since: None });
    }

    /// Attaches a replica at the end of the log before its snapshot is
    /// taken, so nothing after that is trimmed away meanwhile; it moves to
    /// the snapshot's offset once that is known.
    pub fn hold_for_snapshot(&mut self, id: u64) {
        let at = self.offset();
        self.attach(id, at);
    }

    pub fn detach(&mut self, id: u64) {
        self.positions.remove(&id);
        self.cut.remove(&id);
    }

    /// The next piece of log for replica `id`, which advances its position.
    /// Empty when it has everything.
    pub fn next_for(&mut self, id: u64, max: usize) -> Result<(u64, Bytes), Cut> {
        if let Some(c) = self.cut.remove(&id) {
            return Err(c);
        }
        let backlog = self.backlog.as_ref().ok_or(Cut::HistoryChanged)?;
        let p = self.positions.get_mut(&id).ok_or(Cut::HistoryChanged)?;
        let from = p.next;
        let data = backlog.read(from, max)?;
        p.next += data.len() as u64;
        Ok((from, data))
    }

    /// Ends every attached replica's stream (they must learn of a new
    /// history, and will reconnect).
    pub fn cut_all(&mut self) {
        for id in self.positions.keys() {
            self.cut.insert(*id, Cut::HistoryChanged);
        }
        self.positions.clear();
    }

    /// `REPLICAOF NO ONE`: start a new history that continues this one, so
    /// replicas of the old primary can continue partially with us.
    pub fn shift_replid(&mut self) {
        self.ensure_backlog();
        self.applied = None;
        self.replid2 = std::mem::replace(&mut self.replid, ferrokv_util::random_hex_id());
        self.replid2_end = Some(self.offset());
        self.stream_db = None;
        self.cut_all();
    }

    /// `repl-backlog-ttl` passed without replicas: the backlog goes, and
    /// with it the history replicas could continue (a new ID, none
    /// before it), as Redis's replicationCron does.
    pub fn free_backlog(&mut self) {
        self.offset = self.offset();
        self.backlog = None;
        self.change_replid();
    }

    /// DEBUG CHANGE-REPL-ID: a new ID and no previous one (no replica can
    /// continue partially).
    pub fn change_replid(&mut self) {
        self.replid = ferrokv_util::random_hex_id();
        self.replid2 = NO_REPLID.into();
        self.replid2_end = None;
    }

    /// A partial resync told us the primary's history goes on under a new
    /// ID (it was promoted): adopt it, keeping ours as the previous one.
    pub fn adopt_replid(&mut self, replid: &str) {
        if replid != self.replid {
            self.replid2 = std::mem::replace(&mut self.replid, replid.to_string());
            self.replid2_end = Some(self.offset());
            self.cut_all();
        }
    }

    /// After loading a full sync: the primary's history from `offset`, with
    /// the primary's commands running in database `db`.
    pub fn reset_to(&mut self, replid: &str, offset: u64, db: usize) {
        self.applied = Some((offset, db));
        self.replid = replid.to_string();
        self.replid2 = NO_REPLID.into();
        self.replid2_end = None;
        self.offset = offset;
        self.backlog = Some(Backlog::new(offset, self.backlog_size));
        self.stream_db = None;
        self.cut_all();
    }

    /// Takes up a history saved in a snapshot (a restarted replica), or a
    /// fresh one. `applied` as in [`ReplLog::applied`].
    pub fn restore(&mut self, replid: &str, offset: u64, applied: Option<usize>) {
        self.replid = replid.to_string();
        self.offset = offset;
        self.backlog = None;
        self.applied = applied.map(|db| (offset, db));
    }

    /// The offset and stream database a snapshot taken now stands for
    /// (called with the keyspace held still): a loader's primary client
    /// starts in that database (`repl-stream-db`), so the log goes on
    /// without a SELECT, as Redis's does; with none yet, the next command
    /// brings one.
    pub fn snapshot_point(&self) -> (u64, usize) {
        if let Some(point) = self.applied {
            return point;
        }
        (self.offset(), self.stream_db.unwrap_or(0))
    }

    /// Redis's `second_repl_offset` (-1 when there is no previous history).
    pub fn second_repl_offset(&self) -> i64 {
        self.replid2_end.map_or(-1, |e| e as i64 + 1)
    }
}

/// One unit of propagation as a command stream carries it (the replication
/// log and the AOF alike): `SELECT` when the database differs from
/// `stream_db`, and `MULTI … EXEC` around more than one command.
pub fn encode_unit<'a>(out: &mut bytes::BytesMut, stream_db: &mut Option<usize>, cmds: impl ExactSizeIterator<Item = (usize, &'a [Bytes])>) {
    let wrap = cmds.len() > 1;
    if wrap {
        encode::command(out, &[b"MULTI"]);
    }
    for (db, argv) in cmds {
        if *stream_db != Some(db) {
            encode::select(out, db);
            *stream_db = Some(db);
        }
        encode::command(out, argv);
    }
    if wrap {
        encode::command(out, &[b"EXEC"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    #[test]
    fn feed_selects_and_wraps() {
        let mut log = ReplLog::new(1 << 20);
        log.feed(std::iter::once((0, &cmd(&["SET", "a", "1"])[..])));
        assert_eq!(log.offset(), 0, "nothing is logged without a backlog");
        log.ensure_backlog();
        log.attach(1, 0);
        let a = cmd(&["SET", "a", "1"]);
        let b = cmd(&["DEL", "b"]);
        log.feed([(0, &a[..])].into_iter());
        log.feed([(0, &a[..]), (3, &b[..])].into_iter());
        let (from, data) = log.next_for(1, 1 << 20).unwrap();
        assert_eq!(from, 0);
        let text = String::from_utf8(data.to_vec()).unwrap();
        assert_eq!(
            text,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        assert_eq!(log.offset(), text.len() as u64);
    }

    #[test]
    fn psync_rules() {
        let mut log = ReplLog::new(1 << 20);
        log.ensure_backlog();
        log.append_raw(b"0123456789");
        let old = log.replid.clone();
        assert!(log.try_continue(1, &old, 4));
        assert!(!log.try_continue(2, "nope", 4));
        assert!(!log.try_continue(2, &old, 11), "beyond what we have");
        log.shift_replid();
        assert_eq!(log.next_for(1, 100), Err(Cut::HistoryChanged));
        log.append_raw(b"abc");
        assert!(log.try_continue(3, &old, 10), "the old history up to the promotion");
        assert!(!log.try_continue(4, &old, 11), "the old history never had byte 11");
        let new = log.replid.clone();
        assert!(log.try_continue(5, &new, 13));
        assert_eq!(log.second_repl_offset(), 11);
    }

    #[test]
    fn lagging_replica_is_cut_at_the_hard_limit() {
        let mut log = ReplLog::new(100);
        log.limit = OutputLimit { hard: 1000, soft: 0, soft_seconds: 0 };
        log.ensure_backlog();
        log.attach(1, 0);
        log.append_raw(&[b'x'; 900]);
        assert!(log.next_for(1, 10).is_ok());
        log.append_raw(&[b'x'; 200]);
        assert_eq!(log.next_for(1, 10), Err(Cut::OutputLimit));
    }
}
