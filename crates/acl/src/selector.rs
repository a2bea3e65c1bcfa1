//! A selector: one set of permissions (commands, keys, channels). A user
//! has a root selector and any number of others; a command runs when one
//! of them allows all of it (Redis 7.0's `aclSelector`).

use std::collections::BTreeMap;

use bytes::Bytes;
use ferrokv_commands::command::channel;
use ferrokv_commands::keyspec::flags as key;
use ferrokv_util::glob::glob_match;

use crate::catalog::{category, Catalog, CmdId, Command, BITS};
use crate::error::RuleError;

/// Selector flags.
pub mod flag {
    /// The user's own permissions (outside parentheses).
    pub const ROOT: u8 = 1 << 0;
    pub const ALLKEYS: u8 = 1 << 1;
    pub const ALLCOMMANDS: u8 = 1 << 2;
    pub const ALLCHANNELS: u8 = 1 << 3;
}

/// What a key pattern allows.
pub mod access {
    pub const READ: u8 = 1 << 0;
    pub const WRITE: u8 = 1 << 1;
    pub const ALL: u8 = READ | WRITE;
}

/// The bit set only by `+@all`: rules describe from `+@all` when it is on.
const FUTURE: usize = BITS - 1;

#[derive(Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Bytes,
    pub access: u8,
    /// `prefix*` with no other wildcard or escape (the usual `~app:*`):
    /// the prefix's length, matched without the glob engine on every key.
    prefix: Option<usize>,
}

impl KeyPattern {
    fn new(pattern: &[u8], access: u8) -> KeyPattern {
        let prefix = match pattern.split_last() {
            Some((b'*', head)) if !head.iter().any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\')) => Some(head.len()),
            _ => None,
        };
        KeyPattern { pattern: Bytes::copy_from_slice(pattern), access, prefix }
    }

    pub fn matches(&self, name: &[u8]) -> bool {
        match self.prefix {
            // Redis's glob never matches an empty name with a leading `*`.
            Some(n) => !name.is_empty() && name.starts_with(&self.pattern[..n]),
            None => glob_match(&self.pattern, name, false),
        }
    }
}

/// Why a selector (or a user) refuses a command line; the position is
/// the argument naming the key or channel. Ordered as Redis picks the one
/// to report among several selectors: a channel over a key over the
/// command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }

    /// Keeps the error Redis would report of `self` and `other`.
    pub fn most_relevant(self, other: Denied) -> Denied {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

#[derive(Clone)]
pub struct Selector {
    pub flags: u8,
    commands: [u64; BITS / 64],
    /// First arguments allowed of an otherwise denied command (`+select|0`).
    first_args: BTreeMap<CmdId, Vec<Bytes>>,
    keys: Vec<KeyPattern>,
    channels: Vec<Bytes>,
}

/// C's `isspace` or NUL: not allowed in patterns and user names.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c == 0 || c == b' ' || (b'\t'..=b'\r').contains(&c))
}

impl Selector {
    /// No permissions; `allchannels` when `acl-pubsub-default` says so.
    pub fn new(flags: u8, pubsub_default_all: bool) -> Selector {
        let flags = if pubsub_default_all { flags | flag::ALLCHANNELS } else { flags };
        Selector { flags, commands: [0; BITS / 64], first_args: BTreeMap::new(), keys: Vec::new(), channels: Vec::new() }
    }

    pub fn is_root(&self) -> bool {
        self.flags & flag::ROOT != 0
    }

    /// Every command, key and channel: nothing to check.
    pub fn unrestricted(&self) -> bool {
        let all = flag::ALLCOMMANDS | flag::ALLKEYS | flag::ALLCHANNELS;
        self.flags & all == all
    }

    pub fn bit(&self, id: usize) -> bool {
        id < BITS && self.commands[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if id >= BITS {
            return;
        }
        if on {
            self.commands[id / 64] |= 1 << (id % 64);
        } else {
            self.commands[id / 64] &= !(1 << (id % 64));
            self.flags &= !flag::ALLCOMMANDS;
        }
    }

    /// Allows or denies a command, and with a container all its
    /// subcommands (Redis's `ACLChangeSelectorPerm`).
    fn change(&mut self, catalog: &Catalog, id: CmdId, allow: bool) {
        self.set_bit(usize::from(id), allow);
        self.first_args.remove(&id);
        for &sub in &catalog.get(id).subcommands {
            self.set_bit(usize::from(sub), allow);
        }
    }

    fn change_category(&mut self, catalog: &Catalog, category: usize, allow: bool) {
        for (id, cmd) in catalog.all() {
            if cmd.in_category(category) {
                self.change(catalog, id, allow);
            }
        }
    }

    fn all_commands(&mut self, allow: bool) {
        self.commands = [if allow { u64::MAX } else { 0 }; BITS / 64];
        if allow {
            self.flags |= flag::ALLCOMMANDS;
        } else {
            self.flags &= !flag::ALLCOMMANDS;
        }
        self.first_args.clear();
    }

    /// Applies one rule (Redis's `ACLSetSelector`).
    pub fn apply(&mut self, catalog: &Catalog, op: &[u8]) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || is("~*") {
            self.flags |= flag::ALLKEYS;
            self.keys.clear();
        } else if is("resetkeys") {
            self.flags &= !flag::ALLKEYS;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.flags |= flag::ALLCHANNELS;
            self.channels.clear();
        } else if is("resetchannels") {
            self.flags &= !flag::ALLCHANNELS;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op.first() == Some(&b'~') || op.first() == Some(&b'%') {
            self.add_key_pattern(op)?;
        } else if op.first() == Some(&b'&') {
            self.add_channel(&op[1..])?;
        } else if op.len() >= 2 && (op[0] == b'+' || op[0] == b'-') && op[1] == b'@' {
            let category = category(&op[2..]).ok_or(RuleError::Unknown)?;
            self.change_category(catalog, category, op[0] == b'+');
        } else if op.first() == Some(&b'+') {
            self.allow_command(catalog, &op[1..])?;
        } else if op.first() == Some(&b'-') {
            let id = catalog.lookup(&op[1..]).ok_or(RuleError::Unknown)?;
            self.change(catalog, id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.flags & flag::ALLKEYS != 0 {
            return Err(RuleError::KeyAfterAll);
        }
        let (access, pattern) = if op[0] == b'%' {
            let mut access = 0;
            let mut offset = 1;
            while offset < op.len() {
                match op[offset].to_ascii_uppercase() {
                    b'R' if access & access::READ == 0 => access |= access::READ,
                    b'W' if access & access::WRITE == 0 => access |= access::WRITE,
                    b'~' => {
                        offset += 1;
                        break;
                    }
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
            // Redis 7.0 accepts `%~p` and then cannot describe it (it
            // aborts); a pattern that allows nothing is refused instead.
            if access == 0 {
                return Err(RuleError::Syntax);
            }
            (access, &op[offset.min(op.len())..])
        } else {
            (access::ALL, &op[1..])
        };
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(existing) => existing.access |= access,
            None => self.keys.push(KeyPattern::new(pattern, access)),
        }
        self.flags &= !flag::ALLKEYS;
        Ok(())
    }

    fn add_channel(&mut self, pattern: &[u8]) -> Result<(), RuleError> {
        if self.flags & flag::ALLCHANNELS != 0 {
            return Err(RuleError::ChannelAfterAll);
        }
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(Bytes::copy_from_slice(pattern));
        }
        self.flags &= !flag::ALLCHANNELS;
        Ok(())
    }

    /// `+cmd`, `+container|sub`, or `+cmd|first-arg` for a command without
    /// subcommands (deprecated in Redis, still honoured).
    fn allow_command(&mut self, catalog: &Catalog, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&c| c == b'|') else {
            let id = catalog.lookup(name).ok_or(RuleError::Unknown)?;
            self.change(catalog, id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = catalog.lookup(base).ok_or(RuleError::Unknown)?;
        if catalog.get(id).parent.is_some() {
            return Err(RuleError::SubcommandFirstArg);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !catalog.get(id).subcommands.is_empty() {
            let sub_id = catalog.lookup(name).ok_or(RuleError::Unknown)?;
            self.change(catalog, sub_id, true);
        } else {
            let allowed = self.first_args.entry(id).or_default();
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                allowed.push(Bytes::copy_from_slice(sub));
            }
        }
        Ok(())
    }

    pub fn keys(&self) -> &[KeyPattern] {
        &self.keys
    }

    pub fn channels(&self) -> &[Bytes] {
        &self.channels
    }

    /// Checks a command line (the command's name first) against this
    /// selector. `keys` caches the key positions between selectors.
    pub fn check(&self, command: &Command, id: CmdId, args: &[Bytes], keys: &mut Option<Vec<(usize, u16)>>) -> Result<(), Denied> {
        if self.flags & flag::ALLCOMMANDS == 0 && !command.always_allowed() && !self.bit(usize::from(id)) {
            let at = if command.parent.is_some() { 2 } else { 1 };
            let first = args.get(at).filter(|_| args.len() >= 2);
            let allowed = self.first_args.get(&id).zip(first).is_some_and(|(list, arg)| list.iter().any(|a| a.eq_ignore_ascii_case(arg)));
            if !allowed {
                return Err(Denied::Command);
            }
        }
        if self.flags & flag::ALLKEYS == 0 {
            let mut refused = None;
            // Patterns that all allow reads and writes make the key-spec
            // flags moot: the keys' positions are enough.
            let flags_matter = self.keys.iter().any(|k| k.access != access::ALL);
            command.each_key(args, keys, flags_matter, |pos, flags| {
                let allowed = self.key_allowed(&args[pos], flags);
                if !allowed {
                    refused = Some(pos);
                }
                allowed
            });
            if let Some(pos) = refused {
                return Err(Denied::Key(pos));
            }
        }
        if let Some(spec) = command.spec.channels.filter(|s| s.flags & (channel::PUBLISH | channel::SUBSCRIBE) != 0) {
            if self.flags & flag::ALLCHANNELS == 0 {
                let pattern = spec.flags & channel::PATTERN != 0;
                for pos in spec.positions(args.len()) {
                    if !self.channel_allowed(&args[pos], pattern) {
                        return Err(Denied::Channel(pos));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a key with these key-spec flags may be touched.
    pub fn key_allowed(&self, name: &[u8], spec_flags: u16) -> bool {
        if self.flags & flag::ALLKEYS != 0 {
            return true;
        }
        let mut needs = 0;
        if spec_flags & key::ACCESS != 0 {
            needs |= access::READ;
        }
        if spec_flags & (key::INSERT | key::DELETE | key::UPDATE) != 0 {
            needs |= access::WRITE;
        }
        self.keys.iter().any(|k| k.access & needs == needs && k.matches(name))
    }

    /// A channel (or, with `pattern`, a PSUBSCRIBE pattern, which must
    /// equal a rule literally).
    pub fn channel_allowed(&self, name: &[u8], pattern: bool) -> bool {
        self.flags & flag::ALLCHANNELS != 0 || self.channels.iter().any(|c| if pattern { c == name } else { glob_match(c, name, false) })
    }

    /// Keys, channels and command rules as ACL LIST shows them.
    pub fn describe(&self, catalog: &Catalog) -> Vec<u8> {
        let mut out = Vec::new();
        if self.flags & flag::ALLKEYS != 0 {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                out.extend_from_slice(&pattern_rule(k));
                out.push(b' ');
            }
        }
        if self.flags & flag::ALLCHANNELS != 0 {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands(catalog).as_bytes());
        out
    }

    /// The key patterns as ACL GETUSER's `keys` field shows them.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.flags & flag::ALLKEYS != 0 {
            return b"~*".to_vec();
        }
        join(self.keys.iter().map(pattern_rule))
    }

    pub fn describe_channels(&self) -> Vec<u8> {
        if self.flags & flag::ALLCHANNELS != 0 {
            return b"&*".to_vec();
        }
        join(self.channels.iter().map(|c| [b"&".as_slice(), c].concat()))
    }

    /// The command rules that rebuild this bitmap: `+@all` or `-@all`,
    /// the categories that fit best, then single commands (Redis's
    /// `ACLDescribeSelectorCommandRules`, whose greedy choice this follows
    /// so the same bitmap reads the same).
    pub fn describe_commands(&self, catalog: &Catalog) -> String {
        let additive = !self.bit(FUTURE);
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        let mut fake = Selector::new(0, false);
        fake.all_commands(!additive);
        let mut temp = Selector::new(0, false);
        temp.commands = self.commands;
        let mut applied = [false; 32];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (usize::MAX, 0);
            for (cat, done) in applied.iter().enumerate().take(ferrokv_commands::command::ACL_ORDER.len()) {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(catalog, cat);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(cat);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(cat) = best else { break };
            fake.change_category(catalog, cat, additive);
            temp.change_category(catalog, cat, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(ferrokv_commands::command::ACL_ORDER[cat]);
            rules.push(' ');
            applied[cat] = true;
        }
        for &id in catalog.top_level() {
            self.describe_single(catalog, &mut fake, id, &mut rules);
        }
        rules.pop();
        rules
    }

    fn describe_single(&self, catalog: &Catalog, fake: &mut Selector, id: CmdId, rules: &mut String) {
        let command = catalog.get(id);
        let (mine, theirs) = (self.bit(usize::from(id)), fake.bit(usize::from(id)));
        if mine != theirs {
            rules.push(if mine { '+' } else { '-' });
            rules.push_str(command.fullname);
            rules.push(' ');
            fake.change(catalog, id, mine);
        }
        for &sub in &command.subcommands {
            self.describe_single(catalog, fake, sub, rules);
        }
        if !mine {
            for arg in self.first_args.get(&id).into_iter().flatten() {
                rules.push('+');
                rules.push_str(command.fullname);
                rules.push('|');
                rules.push_str(&String::from_utf8_lossy(arg));
                rules.push(' ');
            }
        }
    }

    fn count_category(&self, catalog: &Catalog, category: usize) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, cmd) in catalog.all() {
            if cmd.in_category(category) {
                if self.bit(usize::from(id)) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// Every channel rule, for the pub/sub clients check on SETUSER.
    pub fn channel_rules(&self) -> impl Iterator<Item = &Bytes> {
        self.channels.iter()
    }
}

fn pattern_rule(k: &KeyPattern) -> Vec<u8> {
    let prefix: &[u8] = match k.access {
        access::READ => b"%R~",
        access::WRITE => b"%W~",
        _ => b"~",
    };
    [prefix, &k.pattern].concat()
}

fn join(items: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(&item);
    }
    out
}
