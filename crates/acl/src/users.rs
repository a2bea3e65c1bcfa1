//! The registry of users, and the ways they are defined: ACL SETUSER,
//! `user` lines in the configuration, and the ACL file.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::catalog::Catalog;
use crate::error::RuleError;
use crate::selector::has_spaces;
use crate::user::User;

/// Users by name, in byte order (as Redis's radix tree lists them). The
/// `default` user is always there.
#[derive(Clone)]
pub struct Users {
    map: BTreeMap<Bytes, Arc<User>>,
}

impl Users {
    pub fn new(catalog: &Catalog) -> Users {
        let mut map = BTreeMap::new();
        let default = User::default_user(catalog);
        map.insert(default.name.clone(), Arc::new(default));
        Users { map }
    }

    pub fn get(&self, name: &[u8]) -> Option<&Arc<User>> {
        self.map.get(name)
    }

    pub fn default_user(&self) -> &Arc<User> {
        self.map.get(b"default".as_slice()).expect("the default user always exists")
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<User>> {
        self.map.values()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn insert(&mut self, user: User) -> Arc<User> {
        let user = Arc::new(user);
        self.map.insert(user.name.clone(), user.clone());
        user
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Arc<User>> {
        self.map.remove(name)
    }

    /// ACL SETUSER: every rule is applied to a copy first, so an error
    /// changes nothing. Returns the user before (if any) and after.
    pub fn set_user(&mut self, catalog: &Catalog, name: &[u8], ops: &[Bytes], pubsub_default_all: bool) -> Result<(Option<Arc<User>>, Arc<User>), String> {
        let ops = merge_selectors(ops).map_err(|at| format!("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(&ops[at])))?;
        let old = self.get(name).cloned();
        let mut user = old.as_deref().cloned().unwrap_or_else(|| User::new(name, pubsub_default_all));
        for op in &ops {
            user.apply(catalog, op, pubsub_default_all).map_err(|e| format!("Error in ACL SETUSER modifier '{}': {e}", String::from_utf8_lossy(op)))?;
        }
        let new = self.insert(user);
        Ok((old, new))
    }

    /// The ACL file's text, as ACL SAVE writes it.
    pub fn to_file(&self, catalog: &Catalog) -> Vec<u8> {
        let mut out = Vec::new();
        for user in self.iter() {
            out.extend_from_slice(b"user ");
            out.extend_from_slice(&user.name);
            out.push(b' ');
            out.extend_from_slice(&user.describe(catalog));
            out.push(b'\n');
        }
        out
    }

    /// A `user <name> <rules…>` line of the config file (Redis's
    /// `ACLAppendUserForLoading`): `default` is reset and rebuilt, any
    /// other name starts from a new user. On error, the rule at fault.
    pub fn load_directive(&mut self, catalog: &Catalog, name: &[u8], rules: &[Bytes], pubsub_default_all: bool) -> Result<Arc<User>, (Bytes, RuleError)> {
        let mut user = match self.get(name) {
            Some(default) if name == b"default" => {
                let mut user = (**default).clone();
                let _ = user.apply(catalog, b"reset", pubsub_default_all);
                user
            }
            _ => User::new(name, pubsub_default_all),
        };
        for rule in merge_selectors(rules).unwrap_or_else(|_| rules.to_vec()) {
            user.apply(catalog, &rule, pubsub_default_all).map_err(|e| (rule.clone(), e))?;
        }
        Ok(self.insert(user))
    }

    /// `requirepass`: the default user's one password, or none (`nopass`).
    pub fn set_default_password(&mut self, catalog: &Catalog, password: &[u8]) {
        let mut default = (**self.default_user()).clone();
        let _ = default.apply(catalog, b"resetpass", false);
        let rule = if password.is_empty() { b"nopass".to_vec() } else { [b">".as_slice(), password].concat() };
        let _ = default.apply(catalog, &rule, false);
        self.insert(default);
    }

    /// Parses an ACL file (Redis's `ACLLoadFromFile`): every line is
    /// checked, and any error leaves the caller's users as they were. The
    /// error lists every problem found, as Redis words them.
    pub fn from_file(catalog: &Catalog, text: &[u8], filename: &str, pubsub_default_all: bool) -> Result<Users, String> {
        let mut users = Users { map: BTreeMap::new() };
        let mut errors = String::new();
        for (i, line) in text.split(|&c| c == b'\n').enumerate() {
            let linenum = i + 1;
            let line = trim(line, b" \t\r\n");
            if line.is_empty() {
                continue;
            }
            let argv: Vec<Bytes> = line.split(|&c| c == b' ').map(Bytes::copy_from_slice).collect();
            if argv[0].as_ref() != b"user" || argv.len() < 2 {
                errors.push_str(&format!("{filename}:{linenum} should start with user keyword followed by the username. "));
                continue;
            }
            let name = &argv[1];
            if has_spaces(name) {
                errors.push_str(&format!("'{filename}:{linenum}: username '{}' contains invalid characters. ", lossy(name)));
                continue;
            }
            if users.get(name).is_some() {
                errors.push_str(&format!("WARNING: Duplicate user '{}' found on line {linenum}. ", lossy(name)));
                continue;
            }
            let mut user = User::new(name, pubsub_default_all);
            let ops = match merge_selectors(&argv[2..]) {
                Ok(ops) => ops,
                Err(_) => {
                    errors.push_str(&format!("{filename}:{linenum}: Unmatched parenthesis in selector definition."));
                    Vec::new()
                }
            };
            let mut syntax_error = false;
            for op in &ops {
                let op = trim(op, b"\t\r\n");
                match user.apply(catalog, op, pubsub_default_all) {
                    Ok(()) => {}
                    Err(e @ RuleError::Unknown) => errors.push_str(&format!("{filename}:{linenum}: Error in applying operation '{}': {e}. ", lossy(op))),
                    Err(e) if !syntax_error => {
                        errors.push_str(&format!("{filename}:{linenum}: {e}. "));
                        syntax_error = true;
                    }
                    Err(_) => {}
                }
            }
            users.insert(user);
        }
        if !errors.is_empty() {
            errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
            return Err(errors);
        }
        if users.get(b"default").is_none() {
            users.insert(User::default_user(catalog));
        }
        Ok(users)
    }
}

/// Checks a `user <name> <rules…>` directive (Redis's
/// `ACLAppendUserForLoading`): unknown commands wait for the load (a
/// module could bring them); other errors name the argument at fault
/// (its index in `argv`, counted as Redis counts it).
pub fn check_directive(catalog: &Catalog, argv: &[Bytes], seen: &[Bytes]) -> Result<(), (usize, RuleError)> {
    if argv.len() < 2 || !argv[0].eq_ignore_ascii_case(b"user") {
        return Err((0, RuleError::Syntax));
    }
    if seen.contains(&argv[1]) {
        return Err((1, RuleError::Duplicate));
    }
    let ops = merge_selectors(&argv[2..]).map_err(|at| (at, RuleError::Unmatched))?;
    let mut user = User::new(&argv[1], false);
    for (j, op) in ops.iter().enumerate() {
        match user.apply(catalog, op, false) {
            Ok(()) | Err(RuleError::Unknown) => {}
            Err(e) => return Err((j, e)),
        }
    }
    Ok(())
}

/// Joins a selector written over several arguments (`(~key`, `+get)`)
/// into one; Err(index) where a `(` is never closed.
pub fn merge_selectors(ops: &[Bytes]) -> Result<Vec<Bytes>, usize> {
    let mut merged = Vec::with_capacity(ops.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in ops.iter().enumerate() {
        if let Some((_, selector)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(op);
            if op.last() == Some(&b')') {
                let (_, done) = open.take().unwrap_or_default();
                merged.push(Bytes::from(done));
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        merged.push(op.clone());
    }
    match open {
        Some((at, _)) => Err(at),
        None => Ok(merged),
    }
}

fn trim<'a>(mut s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    while let Some((first, rest)) = s.split_first() {
        if !chars.contains(first) {
            break;
        }
        s = rest;
    }
    while let Some((last, rest)) = s.split_last() {
        if !chars.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}
