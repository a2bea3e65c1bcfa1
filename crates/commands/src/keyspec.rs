//! Key specifications (Redis 7.0's `keySpec`): where a command's keys are
//! and what it does to them. COMMAND INFO shows them, and they are what
//! ACL key permissions and cluster slot checks will read; the legacy
//! (first, last, step) triple stays beside them for dispatch.
//!
//! Most commands need no explicit spec: one is derived from the triple and
//! the command's flags (see [`derived`]). Those whose keys are read and
//! written differently (`LMOVE`'s source and destination), whose keys are
//! counted by an argument (`ZUNION numkeys`), or whose flags are finer than
//! RW/update and RO/access declare theirs in the table.

use bytes::Bytes;

/// A command's own key finder, for keys its specs cannot place or flag
/// exactly (SORT's STORE, SET's GET, MIGRATE's KEYS): positions in the
/// full command line with their flags, or None when the arguments are
/// not a valid form of the command.
pub type KeyFinder = fn(&[Bytes]) -> Option<Vec<(usize, u16)>>;

/// A key spec's flags, in the order COMMAND INFO prints them.
pub mod flags {
    /// Read-only access to the key's value.
    pub const RO: u16 = 1 << 0;
    /// Read and write.
    pub const RW: u16 = 1 << 1;
    /// Overwrites the value without reading it.
    pub const OW: u16 = 1 << 2;
    /// Removes the key.
    pub const RM: u16 = 1 << 3;
    /// Returns, copies or uses the user data of the key.
    pub const ACCESS: u16 = 1 << 4;
    /// Updates the value in place.
    pub const UPDATE: u16 = 1 << 5;
    /// Adds data; existing data is untouched.
    pub const INSERT: u16 = 1 << 6;
    /// Deletes data from the value.
    pub const DELETE: u16 = 1 << 7;
    /// Not a key name, but hashed like one (cluster routing).
    pub const NOT_KEY: u16 = 1 << 8;
    /// The spec may miss keys (MIGRATE's KEYS needs the arguments).
    pub const INCOMPLETE: u16 = 1 << 9;
    /// Some arguments change the flags (SET … GET).
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for keys starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After the first `keyword` found from argument `startfrom` (negative:
    /// searching backwards from the end).
    Keyword { keyword: &'static str, startfrom: i32 },
    /// Only the command knows (SORT's BY/GET patterns).
    Unknown,
}

/// Which arguments, from where the search began, are keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Find {
    /// Up to `lastkey` (relative to the start; negative counts from the
    /// end), every `keystep`-th; `limit` > 1 takes only 1/limit of the rest.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` counts the keys, which begin at
    /// `firstkey`, every `keystep`-th (both relative to the start).
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Redis's note on why the flags are what they are (empty: none).
    pub notes: &'static str,
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

impl KeySpec {
    /// One key at argument `index`, the commonest spec.
    pub const fn at(index: i32, flags: u16) -> KeySpec {
        KeySpec { notes: "", flags, begin: Begin::Index(index), find: Find::Range { lastkey: 0, keystep: 1, limit: 0 } }
    }

    /// `numkeys` at argument `index`, the keys right after it (ZUNION).
    pub const fn counted(index: i32, flags: u16) -> KeySpec {
        KeySpec { notes: "", flags, begin: Begin::Index(index), find: Find::Keynum { keynumidx: 0, firstkey: 1, keystep: 1 } }
    }

    /// Keys from argument `index` to `lastkey` (relative; negative counts
    /// from the end), every `keystep`-th.
    pub const fn range(index: i32, lastkey: i32, keystep: i32, flags: u16) -> KeySpec {
        KeySpec { notes: "", flags, begin: Begin::Index(index), find: Find::Range { lastkey, keystep, limit: 0 } }
    }

    /// Keys only the command can find.
    pub const fn unknown(flags: u16) -> KeySpec {
        KeySpec { notes: "", flags, begin: Begin::Unknown, find: Find::Unknown }
    }

    pub const fn notes(self, notes: &'static str) -> KeySpec {
        KeySpec { notes, ..self }
    }

    pub const fn begin(self, begin: Begin) -> KeySpec {
        KeySpec { begin, ..self }
    }
}

/// The names of key-spec `bits`, in Redis's order.
pub fn flag_names(bits: u16) -> impl Iterator<Item = &'static str> + Clone {
    flags::NAMES.iter().filter(move |(f, _)| bits & f != 0).map(|(_, n)| *n)
}

/// The keys `specs` find in `args` (the command's name first), with each
/// spec's flags, in spec order; None when a spec does not fit the
/// arguments (a count past the end, an unknown spec). Redis's
/// `getKeysUsingKeySpecs`.
pub fn find(specs: &[KeySpec], args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for spec in specs.iter().filter(|s| s.flags & flags::NOT_KEY == 0) {
        let start = match spec.begin {
            Begin::Index(i) => i64::from(i),
            Begin::Keyword { keyword, startfrom } => match keyword_at(args, keyword, startfrom) {
                Some(i) => i + 1,
                None => continue,
            },
            Begin::Unknown => return None,
        };
        let (first, last, step) = match spec.find {
            Find::Range { lastkey, keystep, limit } => {
                let last = match (lastkey, limit) {
                    (l, _) if l >= 0 => start + i64::from(l),
                    (l, 0) => argc + i64::from(l),
                    (l, limit) => start + (argc - start) / i64::from(limit) + i64::from(l),
                };
                (start, last, i64::from(keystep))
            }
            Find::Keynum { keynumidx, firstkey, keystep } => {
                let count = args.get(usize::try_from(start + i64::from(keynumidx)).ok()?)?;
                let numkeys: i64 = std::str::from_utf8(count).ok()?.parse().ok().filter(|n| *n >= 0)?;
                let first = start + i64::from(firstkey);
                (first, first.checked_add(numkeys)? - 1, i64::from(keystep))
            }
            Find::Unknown => return None,
        };
        if first < 1 || last >= argc || last < first || first >= argc || step < 1 {
            return None;
        }
        keys.extend((first..=last).step_by(step as usize).map(|i| (i as usize, spec.flags)));
    }
    Some(keys)
}

/// The position of `keyword` (any case), searched forwards from
/// `startfrom`, or backwards from the end when it is negative. As Redis,
/// a forward search stops before the last argument (a keyword there has
/// no keys after it) and a backward one before the name.
fn keyword_at(args: &[Bytes], keyword: &str, startfrom: i32) -> Option<i64> {
    let argc = args.len() as i64;
    let is = |i: &i64| args[*i as usize].eq_ignore_ascii_case(keyword.as_bytes());
    if startfrom > 0 {
        (i64::from(startfrom)..argc - 1).find(is)
    } else {
        let from = argc + i64::from(startfrom);
        (from < argc).then(|| (1..=from).rev().find(is)).flatten()
    }
}

/// The spec of a command that declares none: its (first, last, step)
/// range, read and written as a whole (`RW update`) by a write command,
/// read (`RO access`) otherwise.
pub fn derived((first, last, step): (i32, i32, i32), write: bool) -> Option<KeySpec> {
    if first <= 0 {
        return None;
    }
    let access = if write { flags::RW | flags::UPDATE } else { flags::RO | flags::ACCESS };
    Some(KeySpec::range(first, if last < 0 { last } else { last - first }, step, access))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn derived_specs_count_the_last_key_from_the_first() {
        assert_eq!(derived((0, 0, 0), false), None);
        assert_eq!(derived((1, 1, 1), false), Some(KeySpec::at(1, flags::RO | flags::ACCESS)));
        let mset = derived((1, -1, 2), true).unwrap();
        assert_eq!(mset.find, Find::Range { lastkey: -1, keystep: 2, limit: 0 });
        assert_eq!(derived((2, 3, 1), true).unwrap().find, Find::Range { lastkey: 1, keystep: 1, limit: 0 });
    }

    fn line(words: &str) -> Vec<Bytes> {
        words.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
    }

    #[test]
    fn finds_counted_ranged_and_keyword_keys() {
        let zunionstore = [KeySpec::at(1, flags::OW), KeySpec::counted(2, flags::RO)];
        assert_eq!(find(&zunionstore, &line("zunionstore d 2 a b")), Some(vec![(1, flags::OW), (3, flags::RO), (4, flags::RO)]));
        assert_eq!(find(&zunionstore, &line("zunionstore d 3 a b")), None);
        assert_eq!(find(&zunionstore, &line("zunionstore d 0 a")), None);
        assert_eq!(find(&zunionstore, &line("zunionstore d -1 a")), None);
        assert_eq!(find(&zunionstore, &line("zunionstore d 99999999999999999999 a")), None);
        let mset = [KeySpec::range(1, -1, 2, flags::OW)];
        assert_eq!(find(&mset, &line("mset a 1 b")).unwrap().len(), 2);
        let keys = [KeySpec::range(0, -1, 1, flags::RW).begin(Begin::Keyword { keyword: "KEYS", startfrom: -2 })];
        assert_eq!(find(&keys, &line("migrate h p x 0 0 keys a b")), Some(vec![(7, flags::RW), (8, flags::RW)]));
        assert_eq!(find(&keys, &line("migrate h p x 0 0")), Some(vec![]));
        assert_eq!(find(&[KeySpec::unknown(flags::RO)], &line("sort a")), None);
    }

    fn any_spec() -> impl Strategy<Value = KeySpec> {
        let begin = prop_oneof![
            (-3i32..6).prop_map(Begin::Index),
            (-4i32..4).prop_map(|startfrom| Begin::Keyword { keyword: "KEYS", startfrom }),
            Just(Begin::Unknown),
        ];
        let find = prop_oneof![
            (-3i32..4, 0i32..3, 0i32..3).prop_map(|(lastkey, keystep, limit)| Find::Range { lastkey, keystep, limit }),
            (-2i32..3, -2i32..3, 0i32..3).prop_map(|(keynumidx, firstkey, keystep)| Find::Keynum { keynumidx, firstkey, keystep }),
            Just(Find::Unknown),
        ];
        (begin, find).prop_map(|(begin, find)| KeySpec { notes: "", flags: flags::RO, begin, find })
    }

    proptest! {
        /// Whatever the specs and the arguments (counts included), the
        /// keys found are arguments of the line, and nothing panics.
        #[test]
        fn found_keys_are_arguments(specs in proptest::collection::vec(any_spec(), 0..3),
                                    words in proptest::collection::vec(prop_oneof![Just("KEYS"), Just("2"), Just("-1"), Just("x"), Just("9223372036854775807")], 1..8)) {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect();
            if let Some(keys) = find(&specs, &args) {
                prop_assert!(keys.iter().all(|(at, _)| *at > 0 && *at < args.len()), "{keys:?}");
            }
        }
    }

    #[test]
    fn flags_print_in_redis_order() {
        let s = KeySpec::at(1, flags::UPDATE | flags::RW | flags::ACCESS);
        assert_eq!(flag_names(s.flags).collect::<Vec<_>>(), ["RW", "access", "update"]);
    }
}
