//! SORT and SORT_RO (Redis's sort.c).

use std::cmp::Ordering;

use bytes::Bytes;
use ferrokv_storage::events::{GENERIC, LIST};
use ferrokv_storage::{List, Value, View};

use crate::args;
use crate::cmd;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult, RedisError};
use crate::keyspec::{flags::*, KeySpec};

pub static COMMANDS: &[Command] = &[
    cmd!(
        "sort",
        "1.0.0",
        -2,
        WRITE | DENYOOM | MOVABLEKEYS,
        &["set", "sortedset", "list", "dangerous"],
        (1, 1, 1),
        sort,
        "generic",
        "Sort the elements in a list, set or sorted set",
        key_specs = &[
            KeySpec::at(1, RO | ACCESS),
            KeySpec::unknown(RO | ACCESS)
                .notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
            KeySpec::unknown(OW | UPDATE)
                .notes("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"),
        ],
        getkeys = sort_keys
    ),
    cmd!(
        "sort_ro",
        "7.0.0",
        -2,
        READONLY | MOVABLEKEYS,
        &["set", "sortedset", "list", "dangerous"],
        (1, 1, 1),
        sort_ro,
        "generic",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        key_specs = &[
            KeySpec::at(1, RO | ACCESS),
            KeySpec::unknown(RO | ACCESS)
                .notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
        ],
        getkeys = sort_ro_keys
    ),
];

struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a Bytes>,
    /// BY a pattern without `*`: keep the natural order.
    nosort: bool,
    gets: Vec<&'a Bytes>,
    store: Option<&'a Bytes>,
}

fn parse(args: &[Bytes], readonly: bool) -> Result<Options<'_>, RedisError> {
    let mut o = Options { desc: false, alpha: false, limit: None, by: None, nosort: false, gets: Vec::new(), store: None };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if args::is(a, "asc") {
            o.desc = false;
        } else if args::is(a, "desc") {
            o.desc = true;
        } else if args::is(a, "alpha") {
            o.alpha = true;
        } else if args::is(a, "limit") && left >= 2 {
            o.limit = Some((args::int(&args[j + 1])?, args::int(&args[j + 2])?));
            j += 2;
        } else if !readonly && args::is(a, "store") && left >= 1 {
            o.store = Some(&args[j + 1]);
            j += 1;
        } else if args::is(a, "by") && left >= 1 {
            o.by = Some(&args[j + 1]);
            // A pattern without '*' cannot name a key per element.
            o.nosort = !args[j + 1].contains(&b'*');
            j += 1;
        } else if args::is(a, "get") && left >= 1 {
            o.gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    Ok(o)
}

/// `lookupKeyByPattern`: `#` is the element itself; the first `*` is
/// replaced by the element; `->field` reads a hash field.
fn lookup(view: &mut View<'_>, pattern: &[u8], elem: &[u8]) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(Bytes::copy_from_slice(elem));
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let arrow = pattern[star + 1..].windows(2).position(|w| w == b"->").map(|p| p + star + 1);
    let (key_part, field) = match arrow {
        Some(a) if a + 2 < pattern.len() => (&pattern[..a], Some(&pattern[a + 2..])),
        _ => (pattern, None),
    };
    let mut key = Vec::with_capacity(key_part.len() + elem.len());
    key.extend_from_slice(&key_part[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&key_part[star + 1..]);
    let entry = view.get(&key)?;
    match (field, &entry.value) {
        (Some(f), Value::Hash(h)) => h.get(f).map(Bytes::copy_from_slice),
        (None, Value::Str(s)) => Some(s.to_bytes()),
        _ => None,
    }
}

struct Item {
    elem: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[Bytes], readonly: bool) -> CmdResult {
    let mut o = parse(args, readonly)?;
    // Redis's SORT converts a compact sorted set to skiplist first, and the
    // conversion is visible in OBJECT ENCODING afterwards.
    if let Some(Value::ZSet(z)) = ctx.view.get_mut(&args[1]).map(|e| &mut e.value) {
        z.convert_to_skiplist();
    }
    // The elements, in the container's natural order.
    let (elems, is_set, is_zset): (Vec<Bytes>, bool, bool) = match ctx.view.get(&args[1]).map(|e| &e.value) {
        None => (Vec::new(), false, false),
        Some(Value::List(l)) => (l.to_vec(), false, false),
        Some(Value::Set(s)) => (s.members(), true, false),
        Some(Value::ZSet(z)) => (z.range(0, usize::MAX).into_iter().map(|(m, _)| m).collect(), false, true),
        Some(_) => return Err(errors::WRONGTYPE.into()),
    };
    let is_list = matches!(ctx.view.get(&args[1]).map(|e| &e.value), Some(Value::List(_)));
    let mut nosort = o.nosort;
    // A set sorted "by nothing" is sorted anyway (ALPHA, by the elements)
    // when stored, so the result does not depend on hash-table order.
    if nosort && is_set && o.store.is_some() {
        nosort = false;
        o.alpha = true;
        o.by = None;
    }
    let mut items: Vec<Item> = elems.into_iter().map(|elem| Item { elem, score: 0.0, cmp: None }).collect();
    if !nosort {
        let mut bad = false;
        for it in items.iter_mut() {
            let weight = match o.by {
                Some(p) => lookup(&mut ctx.view, p, &it.elem),
                None => Some(it.elem.clone()),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = weight;
                }
            } else if let Some(w) = weight {
                match args::strtod(&w)
                    .filter(|v| v.is_finite() || w.eq_ignore_ascii_case(b"inf") || w.eq_ignore_ascii_case(b"-inf") || w.eq_ignore_ascii_case(b"+inf"))
                {
                    Some(v) => it.score = v,
                    None => bad = true,
                }
            }
        }
        if bad {
            return Err("ERR One or more scores can't be converted into double".into());
        }
        let by_pattern = o.by.is_some();
        items.sort_by(|a, b| {
            let ord = if !o.alpha {
                a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.elem.cmp(&b.elem))
            } else if by_pattern {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.elem.cmp(&b.elem)
            };
            if o.desc {
                ord.reverse()
            } else {
                ord
            }
        });
    } else if (is_zset || is_list) && o.desc {
        // A list or sorted set "by nothing" keeps its order, reversed by DESC.
        items.reverse();
    }
    // LIMIT, with Redis's clamping; offset + count wraps as Redis's C
    // arithmetic does (a huge LIMIT selects nothing, as there).
    let len = items.len() as i64;
    let (mut start, mut end) = match o.limit {
        Some((off, count)) => (off.max(0), if count < 0 { len - 1 } else { off.max(0).wrapping_add(count).wrapping_sub(1) }),
        None => (0, len - 1),
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let chosen: &[Item] = if start <= end && len > 0 { &items[start as usize..=end as usize] } else { &[] };
    // Output: the elements, or what the GET patterns find for each.
    let mut out: Vec<Option<Bytes>> = Vec::new();
    for it in chosen {
        if o.gets.is_empty() {
            out.push(Some(it.elem.clone()));
        }
        for g in &o.gets {
            out.push(lookup(&mut ctx.view, g, &it.elem));
        }
    }
    match o.store {
        Some(dst) => {
            let n = out.len();
            if n == 0 {
                if ctx.view.delete(dst) {
                    ctx.notify(GENERIC, "del", dst);
                }
            } else {
                let shape = ctx.view.thresholds().list;
                let list = List::from_items(shape, out.into_iter().map(|v| v.unwrap_or_default()));
                ctx.view.set(dst, Value::List(Box::new(list)), false);
                ctx.notify(LIST, "sortstore", dst);
            }
            ctx.int(n as i64);
        }
        None => {
            ctx.array(out.len());
            for v in out {
                match v {
                    Some(v) => ctx.bulk(&v),
                    None => ctx.null(),
                }
            }
        }
    }
    Ok(())
}

/// SORT's keys: the sorted key and the last STORE destination (BY and GET
/// take name patterns, not keys).
fn sort_keys(args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if args::is(a, "limit") {
            i += 2;
        } else if args::is(a, "get") || args::is(a, "by") {
            i += 1;
        } else if args::is(a, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    Some([(1, RO | ACCESS)].into_iter().chain(store.map(|at| (at, OW | UPDATE))).collect())
}

fn sort_ro_keys(_args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    Some(vec![(1, RO | ACCESS)])
}

/* SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE destination] */
fn sort(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, false)
}

/* SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] */
fn sort_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use crate::testing::Keyspace;

    #[test]
    fn sort_numeric_and_alpha() {
        let ks = Keyspace::new();
        ks.run(&["RPUSH", "l", "3", "1", "2"]);
        assert_eq!(ks.reply(&["SORT", "l"]), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(ks.reply(&["SORT", "l", "DESC", "LIMIT", "0", "1"]), "*1\r\n$1\r\n3\r\n");
        ks.run(&["RPUSH", "w", "b", "a"]);
        assert_eq!(ks.reply(&["SORT", "w", "ALPHA"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }
}
