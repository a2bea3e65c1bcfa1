//! A user: whether it may log in, its password digests, and its selectors
//! (the root one first). Users are values: a change builds a new one and
//! the registry swaps it in, so a check never sees half a change.

use bytes::Bytes;

use crate::catalog::{Catalog, CmdId};
use crate::error::RuleError;
use crate::password;
use crate::selector::{flag, Denied, Selector};

/// User flags, in the order ACL LIST prints them.
pub mod uflag {
    pub const ON: u8 = 1 << 0;
    pub const OFF: u8 = 1 << 1;
    pub const NOPASS: u8 = 1 << 2;
    pub const SKIP_SANITIZE_PAYLOAD: u8 = 1 << 3;
    pub const SANITIZE_PAYLOAD: u8 = 1 << 4;

    pub const NAMES: &[(u8, &str)] =
        &[(ON, "on"), (OFF, "off"), (NOPASS, "nopass"), (SKIP_SANITIZE_PAYLOAD, "skip-sanitize-payload"), (SANITIZE_PAYLOAD, "sanitize-payload")];
}

#[derive(Clone)]
pub struct User {
    pub name: Bytes,
    pub flags: u8,
    /// SHA-256 hex digests.
    pub passwords: Vec<String>,
    /// The root selector first, then those made with `(…)`.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no password, no permissions (channels as
    /// `acl-pubsub-default` says).
    pub fn new(name: &[u8], pubsub_default_all: bool) -> User {
        User { name: Bytes::copy_from_slice(name), flags: uflag::OFF, passwords: Vec::new(), selectors: vec![Selector::new(flag::ROOT, pubsub_default_all)] }
    }

    /// The `default` user as Redis creates it: everything, no password.
    pub fn default_user(catalog: &Catalog) -> User {
        let mut user = User::new(b"default", false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // Fixed rules that always apply.
            let _ = user.apply(catalog, op.as_bytes(), false);
        }
        user
    }

    pub fn enabled(&self) -> bool {
        self.flags & uflag::OFF == 0
    }

    pub fn nopass(&self) -> bool {
        self.flags & uflag::NOPASS != 0
    }

    /// Applies one rule (Redis's `ACLSetUser`); an empty rule does nothing.
    pub fn apply(&mut self, catalog: &Catalog, op: &[u8], pubsub_default_all: bool) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if op.is_empty() {
            return Ok(());
        }
        if is("on") {
            self.flags = (self.flags | uflag::ON) & !uflag::OFF;
        } else if is("off") {
            self.flags = (self.flags | uflag::OFF) & !uflag::ON;
        } else if is("skip-sanitize-payload") {
            self.flags = (self.flags | uflag::SKIP_SANITIZE_PAYLOAD) & !uflag::SANITIZE_PAYLOAD;
        } else if is("sanitize-payload") {
            self.flags = (self.flags | uflag::SANITIZE_PAYLOAD) & !uflag::SKIP_SANITIZE_PAYLOAD;
        } else if is("nopass") {
            self.flags |= uflag::NOPASS;
            self.passwords.clear();
        } else if is("resetpass") {
            self.flags &= !uflag::NOPASS;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let digest = digest_of(op)?;
            if !self.passwords.contains(&digest) {
                self.passwords.push(digest);
            }
            self.flags &= !uflag::NOPASS;
        } else if op[0] == b'<' || op[0] == b'!' {
            let digest = digest_of(op)?;
            let at = self.passwords.iter().position(|p| *p == digest).ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new(0, pubsub_default_all);
            let inner = &op[1..op.len() - 1];
            for rule in ferrokv_resp::split_args(inner).unwrap_or_default() {
                selector.apply(catalog, &rule)?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for op in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply(catalog, op.as_bytes(), pubsub_default_all)?;
            }
            if pubsub_default_all {
                self.apply(catalog, b"allchannels", pubsub_default_all)?;
            }
            for op in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply(catalog, op.as_bytes(), pubsub_default_all)?;
            }
        } else {
            self.selectors[0].apply(catalog, op)?;
        }
        Ok(())
    }

    /// Whether these credentials log in (Redis's `ACLCheckUserCredentials`,
    /// less the lookup).
    pub fn accepts(&self, password: &[u8]) -> bool {
        if !self.enabled() {
            return false;
        }
        if self.nopass() {
            return true;
        }
        let digest = password::hash(password);
        self.passwords.iter().any(|p| password::same(p, &digest))
    }

    /// Nothing to check for any command.
    pub fn unrestricted(&self) -> bool {
        self.selectors[0].unrestricted()
    }

    /// Checks a command line against every selector: the first that allows
    /// it wins; otherwise the most relevant refusal, as Redis reports it.
    pub fn check(&self, catalog: &Catalog, id: CmdId, args: &[Bytes]) -> Result<(), Denied> {
        if self.unrestricted() {
            return Ok(());
        }
        let command = catalog.get(id);
        let mut keys = None;
        let mut refusal = Denied::Command;
        for selector in &self.selectors {
            match selector.check(command, id, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(denied) => refusal = refusal.most_relevant(denied),
            }
        }
        Err(refusal)
    }

    /// A channel (or literal pattern) the user may use, in any selector.
    pub fn channel_allowed(&self, name: &[u8], pattern: bool) -> bool {
        self.selectors.iter().any(|s| s.channel_allowed(name, pattern))
    }

    pub fn all_channels(&self) -> bool {
        self.selectors.iter().any(|s| s.flags & flag::ALLCHANNELS != 0)
    }

    /// The rules that rebuild the user, as ACL LIST and ACL SAVE write
    /// them after `user <name> `.
    pub fn describe(&self, catalog: &Catalog) -> Vec<u8> {
        let mut out = Vec::new();
        for (f, name) in uflag::NAMES {
            if self.flags & f != 0 {
                out.extend_from_slice(name.as_bytes());
                out.push(b' ');
            }
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for selector in &self.selectors {
            if selector.is_root() {
                out.extend_from_slice(&selector.describe(catalog));
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&selector.describe(catalog));
                out.push(b')');
            }
        }
        out
    }

    /// Flag names, for ACL GETUSER.
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        uflag::NAMES.iter().filter(|(f, _)| self.flags & f != 0).map(|(_, n)| *n)
    }
}

/// The digest a `>pass`, `<pass`, `#hash` or `!hash` rule names.
fn digest_of(op: &[u8]) -> Result<String, RuleError> {
    match op[0] {
        b'>' | b'<' => Ok(password::hash(&op[1..])),
        _ if password::is_valid_hash(&op[1..]) => Ok(String::from_utf8_lossy(&op[1..]).into_owned()),
        _ => Err(RuleError::BadHash),
    }
}
