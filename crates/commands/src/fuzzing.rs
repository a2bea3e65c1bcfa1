//! The command-level fuzz body, shared by the `commands` cargo-fuzz target
//! and the smoke test CI runs: bytes become a few commands drawn from the
//! table (arity always right, as dispatch guarantees), their arguments
//! from the words that steer handlers (keys, options, edge integers and
//! floats), run against an in-process keyspace. A handler must not panic,
//! and every reply must be exactly one well-formed RESP frame.

use bytes::{Bytes, BytesMut};
use ferrokv_resp::{Frame, Protocol};
use ferrokv_storage::{Store, View};

use crate::command::Command;
use crate::{Ctx, Effects, Limits, FAMILIES};

/// Arguments that make handlers take their less travelled paths.
const WORDS: &[&str] = &[
    "k0",
    "k1",
    "k2",
    "{k}3",
    "",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "10",
    "100",
    "-100",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "-9223372036854775807",
    "4611686018427387904",
    "-4611686018427387904",
    "4294967295",
    "4294967296",
    "2147483648",
    "-2147483649",
    "536870911",
    "536870912",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "0.5",
    "-0.0",
    "1.7976931348623157e309",
    "(1",
    "[a",
    "(a",
    "-",
    "+",
    "*",
    "$",
    "a",
    "b",
    "abc",
    "\x00\u{ff}",
    "withscores",
    "withvalues",
    "limit",
    "count",
    "by",
    "get",
    "set",
    "store",
    "rev",
    "byscore",
    "bylex",
    "nx",
    "xx",
    "gt",
    "lt",
    "ch",
    "incr",
    "incrby",
    "ex",
    "px",
    "exat",
    "pxat",
    "keepttl",
    "persist",
    "left",
    "right",
    "before",
    "after",
    "weights",
    "aggregate",
    "sum",
    "min",
    "max",
    "rank",
    "maxlen",
    "match",
    "type",
    "string",
    "list",
    "replace",
    "absttl",
    "idletime",
    "freq",
    "overflow",
    "wrap",
    "sat",
    "fail",
    "u8",
    "i64",
    "u63",
    "i8",
    "#1",
    "and",
    "or",
    "xor",
    "not",
    "alpha",
    "asc",
    "desc",
    "bit",
    "byte",
    "idx",
    "len",
    "minmatchlen",
    "withmatchlen",
    "db",
    "encoding",
    "help",
    "nosort",
    "h*",
    "?",
    "streams",
    "group",
    "noack",
    "block",
    "mkstream",
    "nomkstream",
    "entriesread",
    "entriesadded",
    "maxdeletedid",
    "justid",
    "force",
    "lastid",
    "retrycount",
    "idle",
    "time",
    "minid",
    "full",
    "~",
    "=",
    ">",
    "1-1",
    "0-1",
    "5-*",
    "18446744073709551615-18446744073709551615",
];

/// Every data command and subcommand (with its container's name), in
/// table order.
fn commands() -> Vec<(Option<&'static str>, &'static Command)> {
    let mut all = Vec::new();
    for cmd in FAMILIES.iter().flat_map(|f| f.iter()) {
        if cmd.subcommands.is_empty() {
            all.push((None, cmd));
        }
        all.extend(cmd.subcommands.iter().map(|sub| (Some(cmd.name), sub)));
    }
    all
}

/// Reads bytes as choices; zeros once they run out.
struct Choices<'d>(&'d [u8]);

impl Choices<'_> {
    fn next(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }

    fn word(&mut self) -> Bytes {
        match self.next() {
            // A raw byte string now and then, for what no word spells.
            255 => {
                let len = usize::from(self.next() % 16);
                let raw: Vec<u8> = (0..len).map(|_| self.next()).collect();
                Bytes::from(raw)
            }
            n => Bytes::from_static(WORDS[usize::from(n) % WORDS.len()].as_bytes()),
        }
    }
}

/// Runs the commands `data` spells; panics (the finding) when a handler
/// does, or replies with anything but one complete frame.
pub fn run(data: &[u8]) {
    let table = commands();
    let store = Store::new(2);
    // Strings stay small, so edge offsets fail fast instead of allocating.
    let limits = Limits::default();
    limits.proto_max_bulk_len.store(1 << 20, std::sync::atomic::Ordering::Relaxed);
    let mut choices = Choices(data);
    for _ in 0..8 {
        if choices.0.is_empty() {
            break;
        }
        let (container, cmd) = table[usize::from(choices.next()) % table.len()];
        let proto = if choices.next() % 4 == 0 { Protocol::Resp3 } else { Protocol::Resp2 };
        let argv = arguments(container, cmd, &mut choices);
        let reply = call(&store, &limits, cmd, &argv, proto);
        check(&reply, cmd, &argv);
    }
}

/// The name (the container's, then the subcommand's), then arguments up
/// to a count the arity allows.
fn arguments(container: Option<&'static str>, cmd: &Command, choices: &mut Choices<'_>) -> Vec<Bytes> {
    let mut argv: Vec<Bytes> = container.into_iter().chain([cmd.name]).map(|n| Bytes::from_static(n.as_bytes())).collect();
    let want = if cmd.arity >= 0 { cmd.arity as usize } else { cmd.arity.unsigned_abs() as usize + usize::from(choices.next() % 6) };
    while argv.len() < want {
        argv.push(choices.word());
    }
    argv
}

fn call(store: &Store, limits: &Limits, cmd: &Command, argv: &[Bytes], proto: Protocol) -> BytesMut {
    let mut ks = store.exclusive();
    let view = View::exclusive(store, &mut ks, 0, 1_700_000_000_000);
    let mut out = BytesMut::new();
    let mut ctx = Ctx::new(view, &mut out, proto, limits, Effects::new(true));
    ctx.name = cmd.name;
    // As inside EXEC: blocking commands answer at once.
    ctx.may_block = false;
    if let Some(handler) = cmd.handler {
        if let Err(e) = handler(&mut ctx, argv) {
            ferrokv_resp::encode::error(ctx.out, e.0.as_bytes());
        }
    }
    drop(ctx);
    out
}

fn check(reply: &[u8], cmd: &Command, argv: &[Bytes]) {
    let shown = || argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ");
    match Frame::parse(reply) {
        Ok(Some((_, used))) if used == reply.len() => {}
        other => panic!("{}: `{}` replied {:?} ({:?})", cmd.name, shown(), String::from_utf8_lossy(reply), other.map(|o| o.map(|(_, used)| used))),
    }
}
