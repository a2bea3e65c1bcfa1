//! Geo commands (Redis's geo.c): a geo set is a sorted set whose scores
//! are 52-bit geohashes, so GEOADD is ZADD with computed scores (and is
//! propagated as that ZADD, as Redis does) and every search reads score
//! ranges. The geohash itself is in `hash`, the search in `search`.

pub mod hash;
pub mod search;

use bytes::Bytes;
use ferrokv_resp::encode;
use ferrokv_storage::ZSet;

use crate::args;
use crate::command::flags::*;
use crate::command::Command;
use crate::ctx::{Ctx, Reply};
use crate::effects::IntoArg;
use crate::errors::{self, CmdResult, RedisError};
use crate::families::zset;
use crate::keyspec::{flags::*, Begin, KeySpec};
use crate::typed::zset_read;
use crate::{argv, cmd};

use search::{Kind, Point, Shape};

const G: &[&str] = &["geo"];

pub static COMMANDS: &[Command] = &[
    cmd!(
        "geoadd",
        "3.2.0",
        -5,
        WRITE | DENYOOM,
        G,
        (1, 1, 1),
        geoadd,
        "geo",
        "Add one or more geospatial items in the geospatial index represented using a sorted set",
        key_specs = &[KeySpec::at(1, RW | UPDATE)]
    ),
    cmd!("geodist", "3.2.0", -4, READONLY, G, (1, 1, 1), geodist, "geo", "Returns the distance between two members of a geospatial index"),
    cmd!("geohash", "3.2.0", -2, READONLY, G, (1, 1, 1), geohash, "geo", "Returns members of a geospatial index as standard geohash strings"),
    cmd!("geopos", "3.2.0", -2, READONLY, G, (1, 1, 1), geopos, "geo", "Returns longitude and latitude of members of a geospatial index"),
    cmd!(
        "georadius",
        "3.2.0",
        -6,
        WRITE | DENYOOM | MOVABLEKEYS,
        G,
        (1, 1, 1),
        georadius,
        "geo",
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
        key_specs = &[KeySpec::at(1, RO | ACCESS), store_spec("STORE", 6), store_spec("STOREDIST", 6)],
        getkeys = georadius_keys
    ),
    cmd!("georadius_ro", "3.2.10", -6, READONLY, G, (1, 1, 1), georadius_ro, "geo", "A read-only variant for GEORADIUS"),
    cmd!(
        "georadiusbymember",
        "3.2.0",
        -5,
        WRITE | DENYOOM | MOVABLEKEYS,
        G,
        (1, 1, 1),
        georadiusbymember,
        "geo",
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
        key_specs = &[KeySpec::at(1, RO | ACCESS), store_spec("STORE", 5), store_spec("STOREDIST", 5)],
        getkeys = georadius_keys
    ),
    cmd!("georadiusbymember_ro", "3.2.10", -5, READONLY, G, (1, 1, 1), georadiusbymember_ro, "geo", "A read-only variant for GEORADIUSBYMEMBER"),
    cmd!(
        "geosearch",
        "6.2.0",
        -7,
        READONLY,
        G,
        (1, 1, 1),
        geosearch,
        "geo",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."
    ),
    cmd!(
        "geosearchstore",
        "6.2.0",
        -8,
        WRITE | DENYOOM,
        G,
        (1, 2, 1),
        geosearchstore,
        "geo",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
        key_specs = &[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS)]
    ),
];

const fn store_spec(keyword: &'static str, startfrom: i32) -> KeySpec {
    KeySpec::at(0, OW | UPDATE).begin(Begin::Keyword { keyword, startfrom })
}

/// GEORADIUS*'s keys: the source, and the last STORE/STOREDIST target
/// (the one the command uses), as `georadiusGetKeys`.
fn georadius_keys(args: &[Bytes]) -> Option<Vec<(usize, u16)>> {
    let mut store = None;
    let mut i = 5;
    while i < args.len() {
        if (args::is(&args[i], "store") || args::is(&args[i], "storedist")) && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    Some([(1, RO | ACCESS)].into_iter().chain(store.map(|at| (at, OW | UPDATE))).collect())
}

/* ---------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------- */

/// A longitude and latitude pair within Redis's limits.
fn lon_lat(args: &[Bytes]) -> Result<(f64, f64), RedisError> {
    let (lon, lat) = (args::float(&args[0])?, args::float(&args[1])?);
    if !(hash::LONG_MIN..=hash::LONG_MAX).contains(&lon) || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&lat) {
        return Err(format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}").into());
    }
    Ok((lon, lat))
}

/// Metres per unit.
fn unit(arg: &[u8]) -> Result<f64, RedisError> {
    match arg.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err("ERR unsupported unit provided. please use M, KM, FT, MI".into()),
    }
}

/// `<radius> <unit>`: the radius and metres per unit.
fn radius(args: &[Bytes]) -> Result<(f64, f64), RedisError> {
    let r = args::parse_float(&args[0]).ok_or("ERR need numeric radius")?;
    if r < 0.0 {
        return Err("ERR radius cannot be negative".into());
    }
    Ok((r, unit(&args[1])?))
}

/// `<width> <height> <unit>`.
fn dimensions(args: &[Bytes]) -> Result<(f64, f64, f64), RedisError> {
    let w = args::parse_float(&args[0]).ok_or("ERR need numeric width")?;
    let h = args::parse_float(&args[1]).ok_or("ERR need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err("ERR height or width cannot be negative".into());
    }
    Ok((w, h, unit(&args[2])?))
}

/// A member's position, or Redis's error for a missing member.
fn member_position(z: &ZSet, member: &[u8]) -> Result<(f64, f64), RedisError> {
    z.score(member).map(hash::position).ok_or_else(|| "ERR could not decode requested zset member".into())
}

/// GEODIST and WITHDIST's text: four decimals, rounded half to even as
/// Redis's `llrint(d * 10000)`, always a bulk string.
fn distance_text(d: f64) -> String {
    let v = (d * 10000.0).round_ties_even() as i64;
    let sign = if v < 0 { "-" } else { "" };
    let v = v.unsigned_abs();
    format!("{sign}{}.{:04}", v / 10000, v % 10000)
}

/* ---------------------------------------------------------------------
 * GEOADD, GEOPOS, GEOHASH, GEODIST
 * ------------------------------------------------------------------- */

/* GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...] */
fn geoadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut first = 2;
    let (mut nx, mut xx) = (false, false);
    while first < args.len() {
        let o = &args[first];
        if args::is(o, "nx") {
            nx = true;
        } else if args::is(o, "xx") {
            xx = true;
        } else if !args::is(o, "ch") {
            break;
        }
        first += 1;
    }
    let triples = &args[first..];
    if !triples.len().is_multiple_of(3) || (nx && xx) {
        return Err(errors::SYNTAX.into());
    }
    let mut zadd = argv!["zadd"];
    zadd.extend(args[1..first].iter().cloned());
    for t in triples.chunks(3) {
        let (lon, lat) = lon_lat(t)?;
        zadd.push((hash::score_of(lon, lat) as i64).into_arg());
        zadd.push(t[2].clone());
    }
    zset::zadd(ctx, &zadd)?;
    ctx.effects.rewrite(zadd);
    Ok(())
}

/* GEOPOS key [member ...] */
fn geopos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let z = zset_read(view, &args[1])?;
    r.array(args.len() - 2);
    for m in &args[2..] {
        match z.as_deref().and_then(|z| z.score(m)) {
            Some(score) => {
                let (lon, lat) = hash::position(score);
                r.array(2);
                encode::human_double(r.out, lon, r.proto);
                encode::human_double(r.out, lat, r.proto);
            }
            None => r.null_array(),
        }
    }
    Ok(())
}

/* GEOHASH key [member ...] */
fn geohash(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (view, mut r) = ctx.parts();
    let z = zset_read(view, &args[1])?;
    r.array(args.len() - 2);
    for m in &args[2..] {
        match z.as_deref().and_then(|z| z.score(m)) {
            Some(score) => r.bulk(&hash::standard(score)),
            None => r.null(),
        }
    }
    Ok(())
}

/* GEODIST key member1 member2 [M|KM|FT|MI] */
fn geodist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(errors::SYNTAX.into()),
    };
    let (view, mut r) = ctx.parts();
    let found = zset_read(view, &args[1])?.and_then(|z| Some((z.score(&args[2])?, z.score(&args[3])?)));
    match found {
        Some((a, b)) => {
            let ((lon1, lat1), (lon2, lat2)) = (hash::position(a), hash::position(b));
            r.bulk(distance_text(hash::distance(lon1, lat1, lon2, lat2) / to_meters).as_bytes());
        }
        None => r.null(),
    }
    Ok(())
}

/* ---------------------------------------------------------------------
 * GEORADIUS, GEORADIUSBYMEMBER, GEOSEARCH, GEOSEARCHSTORE
 * ------------------------------------------------------------------- */

/// Which search command, as Redis's `georadiusGeneric` flags.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS[_RO]: the centre and radius are positional.
    Coords { store: bool },
    /// GEORADIUSBYMEMBER[_RO].
    Member { store: bool },
    /// GEOSEARCH, or GEOSEARCHSTORE (`store`).
    Search { store: bool },
}

impl Form {
    /// Where the options begin.
    fn base(self) -> usize {
        match self {
            Form::Coords { .. } => 6,
            Form::Member { .. } => 5,
            Form::Search { store } => 2 + usize::from(store),
        }
    }
    fn src(self) -> usize {
        match self {
            Form::Search { store: true } => 2,
            _ => 1,
        }
    }
    /// STORE/STOREDIST <key> allowed (GEORADIUS without _RO).
    fn store_keyword(self) -> bool {
        matches!(self, Form::Coords { store: true } | Form::Member { store: true })
    }
    fn is_search(self) -> bool {
        matches!(self, Form::Search { .. })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A parsed search request.
struct Request {
    /// None until the centre and shape are known (or when the source key
    /// is missing, which answers before they are needed).
    center: Option<(f64, f64)>,
    kind: Option<(Kind, f64)>,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    count: usize,
    any: bool,
    store: Option<Bytes>,
    storedist: bool,
}

/// `georadiusGeneric`'s argument handling, in its order, so errors come
/// out the same: the positional centre and radius, then the options.
fn parse_request(z: Option<&ZSet>, args: &[Bytes], form: Form) -> Result<Request, RedisError> {
    let mut q = Request {
        center: None,
        kind: None,
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        count: 0,
        any: false,
        store: matches!(form, Form::Search { store: true }).then(|| args[1].clone()),
        storedist: false,
    };
    match form {
        Form::Coords { .. } => {
            q.center = Some(lon_lat(&args[2..4])?);
            let (r, conv) = radius(&args[4..6])?;
            q.kind = Some((Kind::Radius(r), conv));
        }
        Form::Member { .. } => {
            if let Some(z) = z {
                q.center = Some(member_position(z, &args[2])?);
                let (r, conv) = radius(&args[3..5])?;
                q.kind = Some((Kind::Radius(r), conv));
            }
        }
        Form::Search { .. } => {}
    }
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let base = form.base();
    let mut i = base;
    while i < args.len() {
        let a = &args[i];
        let left = args.len() - i - 1;
        if args::is(a, "withdist") {
            q.withdist = true;
        } else if args::is(a, "withhash") {
            q.withhash = true;
        } else if args::is(a, "withcoord") {
            q.withcoord = true;
        } else if args::is(a, "any") {
            q.any = true;
        } else if args::is(a, "asc") {
            q.sort = Sort::Asc;
        } else if args::is(a, "desc") {
            q.sort = Sort::Desc;
        } else if args::is(a, "count") && left >= 1 {
            let n = args::int(&args[i + 1])?;
            if n <= 0 {
                return Err("ERR COUNT must be > 0".into());
            }
            q.count = n as usize;
            i += 1;
        } else if (args::is(a, "store") || args::is(a, "storedist")) && left >= 1 && form.store_keyword() {
            q.store = Some(args[i + 1].clone());
            q.storedist = args::is(a, "storedist");
            i += 1;
        } else if args::is(a, "storedist") && form == (Form::Search { store: true }) {
            q.storedist = true;
        } else if args::is(a, "frommember") && left >= 1 && form.is_search() && !fromloc {
            if let Some(z) = z {
                q.center = Some(member_position(z, &args[i + 1])?);
            }
            frommember = true;
            i += 1;
        } else if args::is(a, "fromlonlat") && left >= 2 && form.is_search() && !frommember {
            q.center = Some(lon_lat(&args[i + 1..i + 3])?);
            fromloc = true;
            i += 2;
        } else if args::is(a, "byradius") && left >= 2 && form.is_search() && !bybox {
            let (r, conv) = radius(&args[i + 1..i + 3])?;
            q.kind = Some((Kind::Radius(r), conv));
            byradius = true;
            i += 2;
        } else if args::is(a, "bybox") && left >= 3 && form.is_search() && !byradius {
            let (width, height, conv) = dimensions(&args[i + 1..i + 4])?;
            q.kind = Some((Kind::Box { width, height }, conv));
            bybox = true;
            i += 3;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        let what = if form == (Form::Search { store: true }) { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options").into());
    }
    let name = || String::from_utf8_lossy(&args[0]).into_owned();
    if form.is_search() && !(frommember || fromloc) {
        return Err(format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}", name()).into());
    }
    if form.is_search() && !(byradius || bybox) {
        return Err(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {}", name()).into());
    }
    if q.any && q.count == 0 {
        return Err("ERR the ANY argument requires COUNT argument".into());
    }
    // COUNT without an order means the nearest ones.
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    Ok(q)
}

fn georadius_generic(ctx: &mut Ctx<'_>, args: &[Bytes], form: Form) -> CmdResult {
    let src = &args[form.src()];
    let points = {
        let z = zset_read(&mut ctx.view, src)?.map(|z| &*z);
        let q = parse_request(z, args, form)?;
        match (z, q.center, q.kind) {
            (Some(z), Some((longitude, latitude)), Some((kind, conversion))) => {
                let shape = Shape { longitude, latitude, kind, conversion };
                let mut found = search::search(z, &shape, q.any.then_some(q.count));
                sort(&mut found, q.sort, q.count);
                if q.count != 0 {
                    found.truncate(q.count);
                }
                found.iter_mut().for_each(|p| p.dist /= conversion);
                (q, found)
            }
            // No source: nothing to search.
            _ => (q, Vec::new()),
        }
    };
    let (q, found) = points;
    match &q.store {
        Some(dst) => {
            let items: Vec<(Bytes, f64)> = found.into_iter().map(|p| (p.member, if q.storedist { p.dist } else { p.score })).collect();
            let limits = ctx.view.thresholds();
            let event = if form.is_search() { "geosearchstore" } else { "georadiusstore" };
            let n = zset::store_result(ctx, dst, &items, &limits, event);
            ctx.int(n as i64);
        }
        None => {
            let (_, mut r) = ctx.parts();
            reply_points(&mut r, &found, &q);
        }
    }
    Ok(())
}

/// Orders by distance as Redis does: the whole reply with glibc's stable
/// merge sort, only the first `count` with its own `pqsort`, whose
/// placing of equal distances shows in the reply.
fn sort(found: &mut [Point], order: Sort, count: usize) {
    let cmp = match order {
        Sort::None => return,
        Sort::Asc => |a: &Point, b: &Point| a.dist.total_cmp(&b.dist),
        Sort::Desc => |a: &Point, b: &Point| b.dist.total_cmp(&a.dist),
    };
    if count == 0 || count >= found.len() {
        found.sort_by(cmp);
    } else {
        ferrokv_util::pqsort::pqsort(found, &cmp, 0, count - 1);
    }
}

/// Each member alone, or as [member, dist?, hash?, [lon, lat]?].
fn reply_points(r: &mut Reply<'_>, found: &[Point], q: &Request) {
    let extras = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
    r.array(found.len());
    for p in found {
        if extras > 0 {
            r.array(extras + 1);
        }
        r.bulk(&p.member);
        if q.withdist {
            r.bulk(distance_text(p.dist).as_bytes());
        }
        if q.withhash {
            r.int(p.score as i64);
        }
        if q.withcoord {
            r.array(2);
            encode::human_double(r.out, p.longitude, r.proto);
            encode::human_double(r.out, p.latitude, r.proto);
        }
    }
}

/* GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
 *   [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key] */
fn georadius(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, args, Form::Coords { store: true })
}

fn georadius_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, args, Form::Coords { store: false })
}

/* GEORADIUSBYMEMBER key member radius M|KM|FT|MI [options as GEORADIUS] */
fn georadiusbymember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, args, Form::Member { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, args, Form::Member { store: false })
}

/* GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude
 *   BYRADIUS radius unit|BYBOX width height unit [ASC|DESC] [COUNT count [ANY]]
 *   [WITHCOORD] [WITHDIST] [WITHHASH] */
fn geosearch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, args, Form::Search { store: false })
}

/* GEOSEARCHSTORE destination source [GEOSEARCH's options] [STOREDIST] */
fn geosearchstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, args, Form::Search { store: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_print_as_redis() {
        assert_eq!(distance_text(0.0), "0.0000");
        assert_eq!(distance_text(0.00005), "0.0000");
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(distance_text(12.5), "12.5000");
    }
}
