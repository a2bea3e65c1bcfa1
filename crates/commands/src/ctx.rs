//! What a data command works with: a view of the keyspace, the reply
//! buffer (with helpers that know the client's protocol), the effects it
//! propagates, a request to block, and the few configuration values it
//! reads. Nothing here names a node, a socket or a client, so a handler
//! runs the same against a bare keyspace in a unit test, from a client,
//! inside EXEC or (later) from a script.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{encode, Protocol};
use ferrokv_storage::View;

use crate::blocking::{Block, Unblock};
use crate::effects::Effects;
use crate::errors::{CmdResult, RedisError};

/// The configuration data commands read, as atomics the node updates on
/// CONFIG SET, so a handler reads them without a lock.
#[derive(Debug)]
pub struct Limits {
    pub proto_max_bulk_len: AtomicI64,
    pub rdbcompression: AtomicBool,
    pub rdbchecksum: AtomicBool,
    pub hll_sparse_max_bytes: AtomicUsize,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE and RDB loads take
    /// payloads without checking their CRC.
    pub skip_checksum: AtomicBool,
}

impl Default for Limits {
    /// Redis's defaults.
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: AtomicI64::new(512 * 1024 * 1024),
            rdbcompression: AtomicBool::new(true),
            rdbchecksum: AtomicBool::new(true),
            hll_sparse_max_bytes: AtomicUsize::new(3000),
            skip_checksum: AtomicBool::new(false),
        }
    }
}

impl Limits {
    pub fn proto_max_bulk_len(&self) -> i64 {
        self.proto_max_bulk_len.load(Ordering::Relaxed)
    }
    pub fn rdbcompression(&self) -> bool {
        self.rdbcompression.load(Ordering::Relaxed)
    }
    pub fn rdbchecksum(&self) -> bool {
        self.rdbchecksum.load(Ordering::Relaxed)
    }
    /// Whether RESTORE checks a payload's CRC: always, as Redis, unless
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION turned it off.
    pub fn verify_checksums(&self) -> bool {
        !self.skip_checksum.load(Ordering::Relaxed)
    }
    pub fn hll_sparse_max_bytes(&self) -> usize {
        self.hll_sparse_max_bytes.load(Ordering::Relaxed)
    }
}

/// Reply helpers over just the output buffer, so a handler can hold a value
/// borrowed from the view while it replies (see [`Ctx::parts`]).
pub struct Reply<'o> {
    pub out: &'o mut BytesMut,
    pub proto: Protocol,
}

impl Reply<'_> {
    pub fn bulk(&mut self, b: &[u8]) {
        encode::bulk(self.out, b);
    }
    pub fn int(&mut self, n: i64) {
        encode::integer(self.out, n);
    }
    pub fn null(&mut self) {
        encode::null(self.out, self.proto);
    }
    pub fn null_array(&mut self) {
        encode::null_array(self.out, self.proto);
    }
    pub fn array(&mut self, n: usize) {
        encode::array_len(self.out, n);
    }
    pub fn map(&mut self, n: usize) {
        encode::map_len(self.out, n, self.proto);
    }
    pub fn set_len(&mut self, n: usize) {
        encode::set_len(self.out, n, self.proto);
    }
    pub fn double(&mut self, d: f64) {
        encode::double(self.out, d, self.proto);
    }
    pub fn ok(&mut self) {
        encode::ok(self.out);
    }
    pub fn error(&mut self, msg: &str) {
        encode::error(self.out, msg.as_bytes());
    }
}

pub struct Ctx<'a> {
    pub view: View<'a>,
    pub out: &'a mut BytesMut,
    pub proto: Protocol,
    /// `get`, or `object|freq` for a subcommand: what error texts name.
    pub name: &'static str,
    /// What this call propagates to replicas and the AOF.
    pub effects: Effects,
    pub limits: &'a Limits,
    /// False inside EXEC, where a blocking command answers as on timeout.
    pub may_block: bool,
    /// Set by a blocking command that found nothing to serve; the node
    /// registers the waiter after the handler returns, still holding the
    /// keys, so no push slips between the look and the registration.
    pub block: Option<Block>,
    /// The call comes from the primary or the AOF (Redis's
    /// `mustObeyClient`): what it asks was already accepted once, so
    /// limits that only protect a live server (XADD's LIMIT) are waived.
    pub obey: bool,
    /// The call comes from a script (Redis's CLIENT_SCRIPT): it may not
    /// block, and XREAD's BLOCK is an error there.
    pub in_script: bool,
}

impl<'a> Ctx<'a> {
    /// A context over `view` replying into `out`, for a call that may block.
    pub fn new(view: View<'a>, out: &'a mut BytesMut, proto: Protocol, limits: &'a Limits, effects: Effects) -> Self {
        Ctx { view, out, proto, name: "", effects, limits, may_block: true, block: None, obey: false, in_script: false }
    }

    /// Raises keyspace event `name` of `class` on `key` (see
    /// `ferrokv_storage::events`), in order with the storage's own.
    pub fn notify(&mut self, class: u32, name: &'static str, key: &[u8]) {
        self.view.notify(class, name, key);
    }

    /// The view and a reply writer, borrowed separately.
    pub fn parts(&mut self) -> (&mut View<'a>, Reply<'_>) {
        (&mut self.view, Reply { out: self.out, proto: self.proto })
    }

    /// Asks to block on `keys` (after the handler found nothing); false when
    /// it may not block (inside EXEC), and the caller answers as on timeout.
    pub fn block(&mut self, args: &[Bytes], keys: &[Bytes], timeout_ms: i64, unblock: &'static Unblock) -> bool {
        if !self.may_block {
            return false;
        }
        self.block = Some(Block { args: args.to_vec(), keys: keys.to_vec(), timeout_ms, unblock });
        true
    }

    /// Serves from the first key `serve` accepts (the *MPOP / B*POP shape)
    /// and propagates what `unblock` says; false if none did and nothing
    /// was replied.
    pub fn serve_first(
        &mut self,
        args: &[Bytes],
        keys: &[Bytes],
        replicate_as: crate::blocking::ReplicateFn,
        mut serve: impl FnMut(&mut View<'a>, &mut Reply<'_>, &Bytes) -> Result<bool, RedisError>,
    ) -> Result<bool, RedisError> {
        for key in keys {
            let (view, mut r) = self.parts();
            if serve(view, &mut r, key)? {
                if self.effects.on {
                    self.effects.rewrite(replicate_as(args, key));
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The shape of every blocking pop: serve from the first key that can,
    /// else block on all of them (inside EXEC, answer a null array).
    pub fn pop_or_block(&mut self, args: &[Bytes], keys: &[Bytes], timeout_ms: i64, unblock: &'static Unblock) -> CmdResult {
        let Some(replicate_as) = unblock.replicate_as else { return Err("ERR blocking pop without a propagation form".into()) };
        if self.serve_first(args, keys, replicate_as, |view, r, key| (unblock.serve)(view, r, args, key, &mut Vec::new()))? {
            return Ok(());
        }
        if !self.block(args, keys, timeout_ms, unblock) {
            self.null_array();
        }
        Ok(())
    }

    pub fn proto(&self) -> Protocol {
        self.proto
    }

    pub fn ok(&mut self) -> CmdResult {
        encode::ok(self.out);
        Ok(())
    }

    pub fn simple(&mut self, s: &[u8]) {
        encode::simple(self.out, s);
    }

    pub fn bulk(&mut self, b: &[u8]) {
        encode::bulk(self.out, b);
    }

    pub fn int(&mut self, n: i64) {
        encode::integer(self.out, n);
    }

    pub fn null(&mut self) {
        encode::null(self.out, self.proto);
    }

    pub fn null_array(&mut self) {
        encode::null_array(self.out, self.proto);
    }

    pub fn array(&mut self, n: usize) {
        encode::array_len(self.out, n);
    }

    pub fn map(&mut self, n: usize) {
        encode::map_len(self.out, n, self.proto);
    }

    pub fn set_len(&mut self, n: usize) {
        encode::set_len(self.out, n, self.proto);
    }

    pub fn double(&mut self, d: f64) {
        encode::double(self.out, d, self.proto);
    }

    pub fn boolean(&mut self, b: bool) {
        encode::boolean(self.out, b, self.proto);
    }

    pub fn verbatim(&mut self, text: &[u8]) {
        encode::verbatim(self.out, text, self.proto);
    }

    /// An error inside an aggregate reply (EXEC), not the command's result.
    pub fn error_item(&mut self, msg: &str) {
        encode::error(self.out, msg.as_bytes());
    }

    pub fn bulks<'b>(&mut self, items: impl ExactSizeIterator<Item = &'b [u8]>) {
        self.array(items.len());
        for i in items {
            self.bulk(i);
        }
    }

    /// A help reply: each line a status string, as Redis's `addReplyHelp`.
    pub fn help(&mut self, lines: &[&str]) -> CmdResult {
        self.array(lines.len());
        for l in lines {
            self.simple(l.as_bytes());
        }
        Ok(())
    }
}
