//! Runs data handlers against a bare keyspace, as their unit tests do: no
//! node, no sockets, no client. Replies come back as RESP text.

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use ferrokv_storage::{Store, View};

use crate::blocking::Block;
use crate::command::Command;
use crate::{Ctx, Effects, Limits, FAMILIES};

pub struct Keyspace {
    pub store: Store,
    pub limits: Limits,
    pub now_ms: i64,
    pub proto: Protocol,
}

/// What one call left behind.
pub struct Outcome {
    pub reply: String,
    /// What the handler asked to propagate instead of itself.
    pub rewrite: Option<Vec<Vec<Bytes>>>,
    pub block: Option<Block>,
}

fn find(name: &str) -> &'static Command {
    FAMILIES.iter().flat_map(|f| f.iter()).find(|c| c.name == name).unwrap_or_else(|| panic!("no data command {name}"))
}

impl Keyspace {
    pub fn new() -> Self {
        Keyspace { store: Store::new(16), limits: Limits::default(), now_ms: 1_700_000_000_000, proto: Protocol::Resp2 }
    }

    /// Runs `args` (a data command, or a container's subcommand) in db 0.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with(args, true)
    }

    /// As [`run`](Self::run), with `may_block` false as inside EXEC.
    pub fn run_in_exec(&self, args: &[&str]) -> Outcome {
        self.run_with(args, false)
    }

    fn run_with(&self, args: &[&str], may_block: bool) -> Outcome {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
        let mut cmd = find(&args[0].to_ascii_lowercase());
        if !cmd.subcommands.is_empty() {
            let sub = args[1].to_ascii_lowercase();
            cmd = cmd.subcommands.iter().find(|c| c.name == sub).unwrap_or_else(|| panic!("no subcommand {sub}"));
        }
        assert!(cmd.spec().arity_ok(argv.len()), "arity of {}", args[0]);
        let mut ks = self.store.exclusive();
        let view = View::exclusive(&self.store, &mut ks, 0, self.now_ms);
        let mut out = BytesMut::new();
        let mut ctx = Ctx::new(view, &mut out, self.proto, &self.limits, Effects::new(true));
        ctx.name = cmd.name;
        ctx.may_block = may_block;
        let handler = cmd.handler.expect("a runnable command");
        if let Err(e) = handler(&mut ctx, &argv) {
            ferrokv_resp::encode::error(ctx.out, e.0.as_bytes());
        }
        let rewrite = ctx.effects.take_rewrite();
        let block = ctx.block.take();
        drop(ctx);
        Outcome { reply: String::from_utf8_lossy(&out).into_owned(), rewrite, block }
    }

    /// The reply to `args`, for the common case.
    pub fn reply(&self, args: &[&str]) -> String {
        self.run(args).reply
    }
}

/// An argv as text, to compare propagated commands.
pub fn words(argv: &[Bytes]) -> Vec<String> {
    argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}
