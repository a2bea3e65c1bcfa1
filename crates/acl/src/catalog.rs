//! The commands ACL rules name, numbered: Redis gives every command and
//! subcommand an id that indexes a user's permission bitmap. The node
//! builds the catalog once from its command table, so the categories,
//! key specs and channel specs are the table's own (no second list).

use std::collections::HashMap;

use bytes::Bytes;
use ferrokv_commands::command::{flags, Spec, ACL_ORDER};
use ferrokv_commands::keyspec::{self, Begin, Find};

/// Index of a command in a user's bitmap.
pub type CmdId = u16;

/// Bits in a selector's bitmap; the last one is never a command's: it says
/// the rules started from `+@all` (Redis's "future commands" bit).
pub const BITS: usize = 1024;

/// One command (or subcommand) as ACLs see it.
pub struct Command {
    /// `get`, or `config|get`.
    pub fullname: &'static str,
    pub spec: &'static Spec,
    /// Bit `i` set: in category `ACL_ORDER[i]`.
    pub categories: u32,
    pub parent: Option<CmdId>,
    pub subcommands: Vec<CmdId>,
    /// How its keys are found, decided once (the check runs per command).
    keys: KeyPlan,
}

/// Where a command's keys are: most commands name one range of arguments
/// with fixed flags, which the check walks without allocating.
enum KeyPlan {
    None,
    Range {
        span: Span,
        flags: u16,
    },
    /// Specs that are not exact: the command's own finder, as the table's
    /// `keys_in` would call it. Where only the flags vary (SET's depend on
    /// GET), `span` still says where the keys are, enough for a user whose
    /// patterns allow reads and writes alike.
    Finder {
        finder: ferrokv_commands::keyspec::KeyFinder,
        span: Option<Span>,
    },
    /// Several specs, keywords or counts: the table's general finder.
    General,
}

/// Arguments `first` to `lastkey` (relative; negative from the end), every
/// `step`-th.
#[derive(Clone, Copy)]
struct Span {
    first: usize,
    lastkey: i32,
    step: usize,
}

impl Span {
    fn of(spec: &keyspec::KeySpec) -> Option<Span> {
        match (spec.begin, spec.find) {
            (Begin::Index(first), Find::Range { lastkey, keystep, limit: 0 }) if first > 0 && keystep > 0 => {
                Some(Span { first: first as usize, lastkey, step: keystep as usize })
            }
            _ => None,
        }
    }

    /// As `keyspec::find`: a range that does not fit names no key.
    fn each(self, argc: usize, mut f: impl FnMut(usize) -> bool) -> bool {
        let argc = argc as i64;
        let last = if self.lastkey >= 0 { self.first as i64 + i64::from(self.lastkey) } else { argc + i64::from(self.lastkey) };
        if last >= argc || last < self.first as i64 {
            return true;
        }
        (self.first..=last as usize).step_by(self.step).all(&mut f)
    }
}

impl KeyPlan {
    fn of(spec: &Spec) -> KeyPlan {
        use keyspec::flags::{INCOMPLETE, NOT_KEY, VARIABLE_FLAGS};
        if !spec.takes_keys() {
            return KeyPlan::None;
        }
        let specs = spec.key_specs();
        if let Some(finder) = spec.getkeys.filter(|_| specs.iter().any(|s| s.flags & (INCOMPLETE | VARIABLE_FLAGS) != 0)) {
            let span = match specs.as_slice() {
                [only] if only.flags & (INCOMPLETE | NOT_KEY) == 0 => Span::of(only),
                _ => None,
            };
            return KeyPlan::Finder { finder, span };
        }
        match specs.as_slice() {
            [only] if only.flags & (INCOMPLETE | VARIABLE_FLAGS | NOT_KEY) == 0 => match Span::of(only) {
                Some(span) => KeyPlan::Range { span, flags: only.flags },
                None => KeyPlan::General,
            },
            [] if spec.getkeys.is_none() => KeyPlan::None,
            _ => KeyPlan::General,
        }
    }
}

impl Command {
    /// Calls `f` with each key's position and key-spec flags until it
    /// returns false; false if it did. Without `flags_matter` the flags
    /// passed may be 0 where finding the real ones would cost more.
    pub fn each_key(&self, args: &[Bytes], cache: &mut Option<Vec<(usize, u16)>>, flags_matter: bool, mut f: impl FnMut(usize, u16) -> bool) -> bool {
        match self.keys {
            KeyPlan::None => true,
            KeyPlan::Range { span, flags } => span.each(args.len(), |i| f(i, flags)),
            KeyPlan::Finder { span: Some(span), .. } if !flags_matter => span.each(args.len(), |i| f(i, 0)),
            KeyPlan::Finder { finder, .. } => cache.get_or_insert_with(|| finder(args).unwrap_or_default()).iter().all(|&(i, flags)| f(i, flags)),
            KeyPlan::General => cache.get_or_insert_with(|| self.spec.keys_in(args)).iter().all(|&(i, flags)| f(i, flags)),
        }
    }

    pub fn in_category(&self, category: usize) -> bool {
        self.categories & (1 << category) != 0
    }

    /// Checked whatever the user's rules (AUTH, HELLO: Redis's `no_auth`).
    pub fn always_allowed(&self) -> bool {
        self.spec.has(flags::NO_AUTH)
    }
}

#[derive(Default)]
pub struct Catalog {
    commands: Vec<Command>,
    by_name: HashMap<String, CmdId>,
    /// Top-level commands in the order descriptions list them.
    top: Vec<CmdId>,
}

/// The catalog holds more commands than a bitmap can number.
#[derive(Debug, thiserror::Error)]
#[error("more than {} commands for the ACL bitmap", BITS - 1)]
pub struct TooManyCommands;

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Numbers a command; a subcommand names its container's id.
    pub fn add(&mut self, fullname: &'static str, spec: &'static Spec, parent: Option<CmdId>) -> Result<CmdId, TooManyCommands> {
        if self.commands.len() >= BITS - 1 {
            return Err(TooManyCommands);
        }
        let id = self.commands.len() as CmdId;
        let categories = spec.acl_categories().iter().filter_map(|c| category(c.as_bytes())).fold(0, |bits, i| bits | 1 << i);
        self.commands.push(Command { fullname, spec, categories, parent, subcommands: Vec::new(), keys: KeyPlan::of(spec) });
        self.by_name.insert(fullname.to_ascii_lowercase(), id);
        match parent {
            Some(p) => self.commands[usize::from(p)].subcommands.push(id),
            None => self.top.push(id),
        }
        Ok(id)
    }

    pub fn get(&self, id: CmdId) -> &Command {
        &self.commands[usize::from(id)]
    }

    /// Every command, containers before their subcommands.
    pub fn all(&self) -> impl Iterator<Item = (CmdId, &Command)> {
        self.top.iter().flat_map(move |&id| std::iter::once(id).chain(self.get(id).subcommands.iter().copied())).map(move |id| (id, self.get(id)))
    }

    pub fn top_level(&self) -> &[CmdId] {
        &self.top
    }

    /// `get` or `config|get`, any case (Redis's `ACLLookupCommand`): a
    /// second `|` or a subcommand of a command without any names nothing.
    pub fn lookup(&self, name: &[u8]) -> Option<CmdId> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        let mut parts = name.split('|');
        let base = *self.by_name.get(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(_), None) if !self.get(base).subcommands.is_empty() => self.by_name.get(&name).copied(),
            _ => None,
        }
    }

    /// Containers reached without a subcommand resolve to themselves, as
    /// in Redis; otherwise the subcommand's id. None: not a command.
    pub fn resolve(&self, args: &[bytes::Bytes]) -> Option<CmdId> {
        let base = self.lookup_exact(args.first()?)?;
        let Some(sub) = args.get(1) else {
            return Some(base);
        };
        if self.get(base).subcommands.is_empty() {
            return Some(base);
        }
        let mut full = self.get(base).fullname.to_string();
        full.push('|');
        full.push_str(&String::from_utf8_lossy(sub).to_ascii_lowercase());
        self.by_name.get(&full).copied()
    }

    fn lookup_exact(&self, name: &[u8]) -> Option<CmdId> {
        let name = std::str::from_utf8(name).ok()?;
        if name.contains('|') {
            return None;
        }
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

/// A category's index in [`ACL_ORDER`], any case.
pub fn category(name: &[u8]) -> Option<usize> {
    ACL_ORDER.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(name))
}
