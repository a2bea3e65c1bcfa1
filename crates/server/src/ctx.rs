//! What a handler works with: the server, its client, the keyspace view and
//! the reply buffer, with reply helpers that know the client's protocol.

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{encode, Protocol};
use ferrokv_storage::View;

use crate::client::Client;
use crate::command::Entry;
use crate::errors::{unknown_subcommand, CmdResult, RedisError};
use crate::server::Server;

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
    pub server: &'a Server,
    pub client: &'a mut Client,
    pub out: &'a mut BytesMut,
    pub view: View<'a>,
    pub entry: &'a Entry,
    /// What this call propagates to replicas (see `propagate`).
    pub effects: crate::propagate::Effects,
}

impl<'a> Ctx<'a> {
    /// The view and a reply writer, borrowed separately.
    pub fn parts(&mut self) -> (&mut View<'a>, Reply<'_>) {
        let proto = self.client.proto;
        (&mut self.view, Reply { out: self.out, proto })
    }

    /// Blocks the client on `keys` (after the handler found nothing), or
    /// returns false when it may not block (inside EXEC), in which case the
    /// caller answers as on timeout.
    pub fn block(&mut self, args: &[Bytes], keys: &[Bytes], timeout_ms: i64, serve: crate::blocking::ServeFn) -> bool {
        if self.client.in_exec {
            return false;
        }
        let (waiter, rx) = crate::blocking::Waiter::new(self.client.shared.clone(), self.client.db, self.client.proto, args, keys, serve);
        self.client.blocked = Some(self.server.blocking.block(waiter, rx, timeout_ms));
        true
    }

    /// The shape of every blocking pop: serve from the first key that can,
    /// else block on all of them (inside EXEC, answer a null array).
    /// Serves from the first key `serve` accepts (the *MPOP / B*POP shape);
    /// false if none did and nothing was replied.
    pub fn serve_first(
        &mut self,
        args: &[Bytes],
        keys: &[Bytes],
        mut serve: impl FnMut(&mut View<'a>, &mut Reply<'_>, &Bytes) -> Result<bool, RedisError>,
    ) -> Result<bool, RedisError> {
        for key in keys {
            let (view, mut r) = self.parts();
            if serve(view, &mut r, key)? {
                let argv = crate::blocking::unblocked_form(args, key);
                self.effects.rewrite(argv);
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn pop_or_block(&mut self, args: &[Bytes], keys: &[Bytes], timeout_ms: i64, serve: crate::blocking::ServeFn) -> CmdResult {
        if self.serve_first(args, keys, |view, r, key| serve(view, r, args, key))? {
            return Ok(());
        }
        if !self.block(args, keys, timeout_ms, serve) {
            self.null_array();
        }
        Ok(())
    }

    pub fn proto(&self) -> Protocol {
        self.client.proto
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
        encode::null(self.out, self.client.proto);
    }

    pub fn null_array(&mut self) {
        encode::null_array(self.out, self.client.proto);
    }

    pub fn array(&mut self, n: usize) {
        encode::array_len(self.out, n);
    }

    pub fn map(&mut self, n: usize) {
        encode::map_len(self.out, n, self.client.proto);
    }

    pub fn set_len(&mut self, n: usize) {
        encode::set_len(self.out, n, self.client.proto);
    }

    pub fn double(&mut self, d: f64) {
        encode::double(self.out, d, self.client.proto);
    }

    pub fn boolean(&mut self, b: bool) {
        encode::boolean(self.out, b, self.client.proto);
    }

    pub fn verbatim(&mut self, text: &[u8]) {
        encode::verbatim(self.out, text, self.client.proto);
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

/// The handler of a container called with a subcommand it lacks; dispatch
/// answers those itself, so reaching this means a table entry is wrong.
pub fn container_without_subcommand(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Err(unknown_subcommand(args.get(1).map(|a| &a[..]).unwrap_or(b""), ctx.entry.spec.name))
}
