//! Rules, descriptions and checks over the data families' real table
//! (the node adds its own commands; these need none of them).

use bytes::Bytes;

use crate::catalog::Catalog;
use crate::selector::Denied;
use crate::user::User;
use crate::users::{merge_selectors, Users};
use crate::RuleError;

fn catalog() -> Catalog {
    let mut catalog = Catalog::new();
    let mut commands: Vec<_> = ferrokv_commands::FAMILIES.iter().flat_map(|f| f.iter()).collect();
    commands.sort_by_key(|c| c.name);
    for c in commands {
        let spec: &'static _ = Box::leak(Box::new(c.spec()));
        let id = catalog.add(c.name, spec, None).unwrap();
        for s in c.subcommands {
            let full: &'static str = Box::leak(format!("{}|{}", c.name, s.name).into_boxed_str());
            catalog.add(full, Box::leak(Box::new(s.spec())), Some(id)).unwrap();
        }
    }
    catalog
}

fn user(catalog: &Catalog, rules: &str) -> Result<User, RuleError> {
    let mut u = User::new(b"u", false);
    for r in merge_selectors(&args(rules)).map_err(|_| RuleError::Unmatched)? {
        u.apply(catalog, &r, false)?;
    }
    Ok(u)
}

fn args(line: &str) -> Vec<Bytes> {
    line.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
}

fn check(catalog: &Catalog, u: &User, line: &str) -> Result<(), Denied> {
    let argv = args(line);
    let id = catalog.resolve(&argv).expect("known command");
    u.check(catalog, id, &argv)
}

#[test]
fn new_and_default_users_describe_as_redis() {
    let c = catalog();
    assert_eq!(String::from_utf8(User::new(b"u", false).describe(&c)).unwrap(), "off resetchannels -@all");
    assert_eq!(String::from_utf8(User::default_user(&c).describe(&c)).unwrap(), "on nopass ~* &* +@all");
    let u = user(&c, "reset").unwrap();
    assert_eq!(String::from_utf8(u.describe(&c)).unwrap(), "off sanitize-payload resetchannels -@all");
}

#[test]
fn categories_and_commands_describe_back_to_the_same_bitmap() {
    let c = catalog();
    for rules in ["+@all -@write +set", "-@all +@read -get", "+@hash +@string -hset +get", "+@all -@dangerous", "-@all +get +set"] {
        let u = user(&c, rules).unwrap();
        let text = String::from_utf8(u.describe(&c)).unwrap();
        let again = user(&c, &text).unwrap();
        assert_eq!(String::from_utf8(again.describe(&c)).unwrap(), text, "{rules}");
        for line in ["get k", "set k v", "hset h f v", "del k", "lpush l x"] {
            assert_eq!(check(&c, &u, line).is_ok(), check(&c, &again, line).is_ok(), "{rules}: {line}");
        }
    }
    let u = user(&c, "+@all -@write +set ~*").unwrap();
    assert!(String::from_utf8(u.describe(&c)).unwrap().ends_with("+@all -@write +set"));
}

#[test]
fn key_patterns_follow_read_and_write_access() {
    let c = catalog();
    let u = user(&c, "+@all %R~r:* %W~w:* ~rw:*").unwrap();
    assert_eq!(check(&c, &u, "get r:1"), Ok(()));
    assert_eq!(check(&c, &u, "set r:1 v"), Err(Denied::Key(1)));
    assert_eq!(check(&c, &u, "set w:1 v"), Ok(()));
    assert_eq!(check(&c, &u, "get w:1"), Err(Denied::Key(1)));
    assert_eq!(check(&c, &u, "copy rw:1 w:2"), Ok(()));
    assert_eq!(check(&c, &u, "mset rw:1 v other v"), Err(Denied::Key(3)));
    assert_eq!(String::from_utf8(u.selectors[0].describe_keys()).unwrap(), "%R~r:* %W~w:* ~rw:*");
    // The same pattern twice merges its access.
    let u = user(&c, "%R~k %W~k").unwrap();
    assert_eq!(String::from_utf8(u.selectors[0].describe_keys()).unwrap(), "~k");
}

#[test]
fn selectors_allow_what_any_of_them_allows() {
    let c = catalog();
    let u = user(&c, "+get ~a (+set ~b)").unwrap();
    assert_eq!(check(&c, &u, "get a"), Ok(()));
    assert_eq!(check(&c, &u, "set b v"), Ok(()));
    assert_eq!(check(&c, &u, "get b"), Err(Denied::Key(1)));
    assert_eq!(check(&c, &u, "set a v"), Err(Denied::Key(1)));
    assert_eq!(check(&c, &u, "del a"), Err(Denied::Command));
    assert!(String::from_utf8(u.describe(&c)).unwrap().ends_with(" (~b resetchannels -@all +set)"));
}

#[test]
fn first_args_and_subcommands() {
    let c = catalog();
    let u = user(&c, "~* +object|encoding").unwrap();
    assert_eq!(check(&c, &u, "object encoding k"), Ok(()));
    assert_eq!(check(&c, &u, "object freq k"), Err(Denied::Command));
    assert_eq!(user(&c, "+object|encoding|x").err(), Some(RuleError::SubcommandFirstArg));
    assert_eq!(user(&c, "+object|").err(), Some(RuleError::Syntax));
    assert_eq!(user(&c, "+object|nope").err(), Some(RuleError::Unknown));
    assert_eq!(user(&c, "-get|x").err(), Some(RuleError::Unknown));
    let u = user(&c, "~* +get|x").unwrap();
    assert_eq!(check(&c, &u, "get x"), Ok(()));
    assert_eq!(check(&c, &u, "get X"), Ok(()));
    assert_eq!(check(&c, &u, "get y"), Err(Denied::Command));
    assert!(String::from_utf8(u.describe(&c)).unwrap().ends_with("-@all +get|x"));
}

#[test]
fn malformed_rules_answer_redis_errors() {
    let c = catalog();
    assert_eq!(user(&c, "~* ~a").err(), Some(RuleError::KeyAfterAll));
    assert_eq!(user(&c, "&* &a").err(), Some(RuleError::ChannelAfterAll));
    assert_eq!(user(&c, "#abc").err(), Some(RuleError::BadHash));
    assert_eq!(user(&c, "<nope").err(), Some(RuleError::NoSuchPassword));
    assert_eq!(user(&c, "+@nope").err(), Some(RuleError::Unknown));
    assert_eq!(user(&c, "%X~a").err(), Some(RuleError::Syntax));
    assert_eq!(user(&c, "bogus").err(), Some(RuleError::Syntax));
    let mut users = Users::new(&c);
    let err = users.set_user(&c, b"u", &args("on >p ~a +nope"), false).err().unwrap();
    assert_eq!(err, "Error in ACL SETUSER modifier '+nope': Unknown command or category name in ACL");
    assert!(users.get(b"u").is_none(), "an error changes nothing");
    let joined = vec![Bytes::from("a"), Bytes::from("(~x +get)"), Bytes::from("b")];
    assert_eq!(merge_selectors(&args("a (~x +get) b")).unwrap(), joined);
    assert_eq!(merge_selectors(&joined).unwrap(), joined);
    assert_eq!(merge_selectors(&args("on (~x")), Err(1));
}

#[test]
fn passwords_log_in_only_when_on() {
    let c = catalog();
    let u = user(&c, ">secret").unwrap();
    assert!(!u.accepts(b"secret"), "off");
    let u = user(&c, "on >secret >other <other").unwrap();
    assert!(u.accepts(b"secret") && !u.accepts(b"other"));
    let u = user(&c, "on nopass").unwrap();
    assert!(u.accepts(b"anything"));
}

#[test]
fn acl_file_round_trips_and_reports_every_error() {
    let c = catalog();
    let mut users = Users::new(&c);
    users.set_user(&c, b"app", &args("on >p ~app:* &news +@read +@write -unlink"), false).unwrap();
    let text = users.to_file(&c);
    let back = Users::from_file(&c, &text, "users.acl", false).unwrap();
    assert_eq!(back.to_file(&c), text);
    let bad = b"user a on +nope\nnot a user line\nuser a on\nuser b on ~* ~x\n";
    let err = Users::from_file(&c, bad, "f.acl", false).err().unwrap();
    assert_eq!(
        err,
        "f.acl:1: Error in applying operation '+nope': Unknown command or category name in ACL. f.acl:2 should start with user keyword followed by the username. WARNING: Duplicate user 'a' found on line 3. f.acl:4: Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The key walk the check uses finds what the table's finder finds.
        #[test]
        fn key_walk_equals_the_tables_finder(argc in 1usize..9, words in proptest::collection::vec("[a-z0-9]{1,3}", 9)) {
            let c = catalog();
            for (id, cmd) in c.all() {
                let mut args: Vec<Bytes> = vec![Bytes::copy_from_slice(cmd.fullname.split('|').next().unwrap().as_bytes())];
                if let Some(sub) = cmd.fullname.split('|').nth(1) {
                    args.push(Bytes::copy_from_slice(sub.as_bytes()));
                }
                args.extend(words.iter().take(argc).map(|w| Bytes::copy_from_slice(w.as_bytes())));
                let mut walked = Vec::new();
                let mut cache = None;
                c.get(id).each_key(&args, &mut cache, true, |i, f| { walked.push((i, f)); true });
                let found = cmd.spec.keys_in(&args);
                prop_assert_eq!(&walked, &found, "{}", cmd.fullname);
                // Without the flags, the same positions.
                let mut positions = Vec::new();
                c.get(id).each_key(&args, &mut None, false, |i, _| { positions.push(i); true });
                prop_assert_eq!(positions, found.iter().map(|&(i, _)| i).collect::<Vec<_>>(), "{} (positions)", cmd.fullname);
            }
        }

        /// A key pattern matches what Redis's glob matches, through the
        /// prefix shortcut or not.
        #[test]
        fn key_patterns_match_as_the_glob(pattern in "[ab:*?\\\\\\[\\]]{0,6}", name in "[ab:*?\\\\]{0,6}") {
            let c = catalog();
            // `%RW~` keeps `*` a pattern (`~*` is `allkeys`).
            let u = user(&c, &format!("on nopass +@all %RW~{pattern}")).unwrap();
            let key = Bytes::from(name.clone());
            let allowed = u.check(&c, c.lookup(b"get").unwrap(), &[Bytes::from_static(b"get"), key]).is_ok();
            prop_assert_eq!(allowed, ferrokv_util::glob_match(pattern.as_bytes(), name.as_bytes(), false), "~{} on {}", pattern, name);
        }
    }

    const RULES: &[&str] = &[
        "+@all",
        "-@all",
        "+@read",
        "-@write",
        "+@string",
        "-@hash",
        "+@dangerous",
        "-@slow",
        "+get",
        "-get",
        "+set",
        "-del",
        "+object|encoding",
        "-object",
        "+object",
        "+get|x",
        "allcommands",
        "nocommands",
        "+@keyspace",
        "-@fast",
    ];

    proptest! {
        /// Whatever the rules, the description rebuilds the same permissions.
        #[test]
        fn description_rebuilds_the_bitmap(picks in proptest::collection::vec(0..RULES.len(), 0..12)) {
            let c = catalog();
            let rules: Vec<&str> = picks.iter().map(|&i| RULES[i]).collect();
            let u = user(&c, &rules.join(" ")).unwrap();
            let text = u.selectors[0].describe_commands(&c);
            let again = user(&c, &text).unwrap();
            for (id, _) in c.all() {
                prop_assert_eq!(u.selectors[0].bit(usize::from(id)), again.selectors[0].bit(usize::from(id)), "{} -> {}", rules.join(" "), text);
            }
            prop_assert_eq!(again.selectors[0].describe_commands(&c), text);
        }
    }
}
