//! GEO commands, compared byte for byte with Redis 7.0 in RESP2 and RESP3
//! and in both sorted-set encodings: the stored scores, positions,
//! distances, and every search's members in Redis's order.

mod common;
use common::*;
use rand::{Rng, SeedableRng};

const BASICS: &str = r#"
geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
zrange Sicily 0 -1 withscores
geoadd Sicily 13.361389 38.115556 Palermo
geoadd Sicily ch 13.5 38.1 Palermo 14 37 Syracuse
geoadd Sicily nx 1 1 Palermo 2 2 Agrigento
geoadd Sicily xx 13.361389 38.115556 Palermo 2 2 Nowhere
geoadd Sicily xx ch 13.361389 38.115556 Palermo
geoadd Sicily nx xx 1 1 a
geoadd Sicily ch ch nx 1 1 b
geoadd Sicily 1 1
geoadd Sicily 1 1 a 2
geoadd Sicily 200 10 a
geoadd Sicily 10 86 a
geoadd Sicily -180 -85.05112878 southwest 180 85.05112878 northeast
geoadd Sicily abc 10 a
geoadd Sicily 1e400 10 a
geoadd Sicily inf 10 a
geoadd Sicily gt 1 1 a
geoadd nokey xx 1 1 a
exists nokey
zrange Sicily 0 -1 withscores
geopos Sicily Palermo Catania nosuch southwest northeast
geopos Sicily
geopos nokey a b
geohash Sicily Palermo Catania nosuch southwest northeast
geohash nokey a
geohash Sicily
geodist Sicily Palermo Catania
geodist Sicily Palermo Catania km
geodist Sicily Palermo Catania MI
geodist Sicily Palermo Catania ft
geodist Sicily Palermo Catania m
geodist Sicily Palermo Catania yards
geodist Sicily Palermo Catania km extra
geodist Sicily Palermo nosuch
geodist nokey a b
geodist nokey a b furlongs
geodist Sicily Palermo Palermo
zadd odd -5 neg 1e20 huge 9007199254740993 big 0 zero
geopos odd neg huge big zero
geohash odd neg huge big zero
geodist odd neg huge
set str x
geoadd str 1 1 a
geopos str a
geohash str a
geodist str a b
georadius str 0 0 1 km
geosearch str fromlonlat 0 0 byradius 1 km
type Sicily
object encoding Sicily
"#;

const SEARCHES: &str = r#"
geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 13.583333 37.316667 Agrigento 12.758489 38.788135 edge1 17.241510 38.788135 edge2
georadius Sicily 15 37 200 km
georadius Sicily 15 37 200 km asc
georadius Sicily 15 37 200 km desc
georadius Sicily 15 37 200 km withdist
georadius Sicily 15 37 200 km withcoord
georadius Sicily 15 37 200 km withhash
georadius Sicily 15 37 200 km withdist withcoord withhash asc
georadius Sicily 15 37 200 km withcoord withdist count 1
georadius Sicily 15 37 200 km count 2 desc
georadius Sicily 15 37 200 km count 1 any
georadius Sicily 15 37 200 km count 2 any asc
georadius Sicily 15 37 200 km any
georadius Sicily 15 37 200 km count 0
georadius Sicily 15 37 200 km count -3
georadius Sicily 15 37 200 km count abc
georadius Sicily 15 37 200 km count
georadius Sicily 15 37 200 km bogus
georadius Sicily 15 37 200 furlongs
georadius Sicily 15 37 -1 km
georadius Sicily 15 37 abc km
georadius Sicily 200 37 1 km
georadius Sicily 15 37 100 mi
georadius Sicily 15 37 300000 ft withdist
georadius Sicily 15 37 0 m
georadius Sicily 13.361389 38.115556 0 m withdist
georadius Sicily 15 37 5000 km
georadius Sicily 15 37 20000 km withdist
georadius Sicily 15 37 200 km store dst
zrange dst 0 -1 withscores
georadius Sicily 15 37 200 km storedist dst
zrange dst 0 -1 withscores
georadius Sicily 15 37 200 km count 2 storedist dst store dst2
zrange dst2 0 -1 withscores
georadius Sicily 15 37 200 km store dst withdist
georadius Sicily 15 37 1 m store dst
exists dst
georadius nokey 15 37 200 km
georadius nokey 15 37 200 km store dst2
exists dst2
georadius_ro Sicily 15 37 200 km withdist asc
georadius_ro Sicily 15 37 200 km store dst
georadiusbymember Sicily Agrigento 100 km
georadiusbymember Sicily Agrigento 100 km withdist withcoord desc
georadiusbymember Sicily nosuch 100 km
georadiusbymember nokey nosuch 100 km
georadiusbymember nokey nosuch 100 km store x
georadiusbymember Sicily Agrigento 100 km storedist d3
zrange d3 0 -1 withscores
georadiusbymember_ro Sicily Agrigento 100 km count 1
georadiusbymember_ro Sicily Agrigento 100 km storedist d3
geosearch Sicily frommember Agrigento byradius 100 km
geosearch Sicily fromlonlat 15 37 byradius 200 km asc withdist withcoord withhash
geosearch Sicily fromlonlat 15 37 bybox 400 400 km asc withdist
geosearch Sicily fromlonlat 15 37 bybox 400 400 km
geosearch Sicily fromlonlat 15 37 bybox 100 600 km desc
geosearch Sicily fromlonlat 15 37 bybox 600 100 mi count 2 any
geosearch Sicily fromlonlat 15 37 bybox 1 1 m
geosearch Sicily fromlonlat 15 37 bybox -1 1 m
geosearch Sicily fromlonlat 15 37 bybox a 1 m
geosearch Sicily fromlonlat 15 37 bybox 1 b m
geosearch Sicily fromlonlat 15 37 bybox 1 1 parsecs
geosearch Sicily frommember Agrigento fromlonlat 15 37 byradius 1 km
geosearch Sicily fromlonlat 15 37 frommember Agrigento byradius 1 km
geosearch Sicily fromlonlat 15 37 byradius 1 km bybox 1 1 km
geosearch Sicily fromlonlat 15 37 withdist
geosearch Sicily byradius 1 km withdist asc
geosearch Sicily frommember nosuch byradius 1 km
geosearch nokey frommember nosuch byradius 1 km
geosearch nokey fromlonlat 15 37 byradius 1 km
geosearch nokey byradius 1 km
geosearch Sicily fromlonlat 15 37 byradius 200 km store x
geosearch Sicily fromlonlat 15 37 byradius 200 km storedist
geosearch Sicily fromlonlat 15 37 byradius 200 km any
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km
zrange dst 0 -1 withscores
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km storedist count 2 desc
zrange dst 0 -1 withscores
geosearchstore dst Sicily fromlonlat 15 37 bybox 400 400 km storedist
zrange dst 0 -1 withscores
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km withdist
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km store y
geosearchstore dst nokey fromlonlat 15 37 byradius 200 km
exists dst
geosearchstore dst Sicily fromlonlat 0 0 byradius 1 km
exists dst
"#;

#[test]
fn basics_resp2() {
    run_script(&Pair::new(&[]), BASICS);
}

#[test]
fn basics_resp3() {
    run_script(&Pair::new(&[]), &format!("?hello 3\n{BASICS}"));
}

#[test]
fn searches() {
    run_script(&Pair::new(&[]), SEARCHES);
    run_script(&Pair::new(&[]), &format!("?hello 3\n{SEARCHES}"));
}

#[test]
fn searches_in_the_skiplist_encoding() {
    run_script(&Pair::new(&["--zset-max-listpack-entries", "2"]), &format!("{SEARCHES}object encoding Sicily\nobject encoding dst\n"));
}

/// Thousands of random points near the equator, the poles and the date
/// line; random circles and boxes of every size and unit: the unsorted
/// replies (cell order) and COUNT ANY picks must be Redis's exactly.
#[test]
fn random_searches_match_redis() {
    let pair = Pair::new(&[]);
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.redis.conn());
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6e0);
    let regions: [(f64, f64, f64, f64); 4] = [(-10.0, 10.0, -10.0, 10.0), (170.0, 180.0, -5.0, 5.0), (-180.0, -170.0, 60.0, 85.0), (0.0, 0.5, 45.0, 45.5)];
    let mut add = vec!["geoadd".to_string(), "pts".to_string()];
    for i in 0..3000 {
        let (x0, x1, y0, y1) = regions[i % regions.len()];
        if i % 10 == 9 {
            // Some points share a position: ties under COUNT.
            let (lon, lat) = (add[add.len() - 12].clone(), add[add.len() - 11].clone());
            add.extend([lon, lat]);
        } else {
            add.push(format!("{:.6}", rng.random_range(x0..x1)));
            add.push(format!("{:.6}", rng.random_range(y0..y1)));
        }
        add.push(format!("p{i}"));
    }
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    assert_eq!(ours.cmd(&add), theirs.cmd(&add));
    let units = ["m", "km", "mi", "ft"];
    for case in 0..400 {
        let (x0, x1, y0, y1) = regions[case % regions.len()];
        let lon = format!("{:.5}", rng.random_range(x0..x1));
        let lat = format!("{:.5}", rng.random_range(y0..y1));
        let unit = units[rng.random_range(0..units.len())];
        let scale = match unit {
            "m" => 1000.0,
            "ft" => 3000.0,
            _ => 1.0,
        };
        let size = format!("{:.3}", rng.random_range(0.0..400.0f64).powf(rng.random_range(0.5..1.5)) * scale);
        let size2 = format!("{:.3}", rng.random_range(0.0..400.0) * scale);
        let shape: Vec<&str> = if case % 2 == 0 { vec!["byradius", &size, unit] } else { vec!["bybox", &size, &size2, unit] };
        let mut cmd = vec!["geosearch", "pts", "fromlonlat", &lon, &lat];
        cmd.extend(&shape);
        match case % 5 {
            0 => cmd.extend(["withdist", "withhash"]),
            1 => cmd.extend(["count", "7", "any", "withcoord"]),
            2 => cmd.extend(["count", "5", "withdist"]),
            3 => cmd.extend(["desc", "withdist", "withcoord"]),
            _ => {}
        }
        let (a, b) =
            (ours.cmd_raw(&cmd.iter().map(|s| s.as_bytes()).collect::<Vec<_>>()), theirs.cmd_raw(&cmd.iter().map(|s| s.as_bytes()).collect::<Vec<_>>()));
        assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b), "case {case}: {cmd:?}");
    }
}

/// Equal distances under COUNT land where Redis's partial quicksort puts
/// them; without COUNT, in the order found.
#[test]
fn ties_order_as_redis() {
    run_script(
        &Pair::new(&[]),
        r#"
geoadd t 1 1 a 1 1 b 1 1 c 1 1 d 1 1 e 1 1 f 1 1 g 1 1 h 1.001 1 x 1.001 1 y 0.999 1 z
georadius t 1 1 10 km count 3
georadius t 1 1 10 km count 9 desc
georadius t 1 1 10 km asc
georadius t 1 1 10 km desc
geosearch t fromlonlat 1 1 byradius 10 km count 2 desc
geoadd many 0 0 m1 0 0 m2 0 0 m3 0 0 m4 0 0 m5 0 0 m6 0 0 m7 0 0 m8 0 0 m9 0 0 m10 0 0 m11 0 0 m12 0 0 m13 0 0 m14 0 0 m15 0 0 m16 0 0 m17 0 0 m18 0 0 m19 0 0 m20 0 0 m21 0 0 m22 0 0 m23 0 0 m24 0 0 m25 0 0 m26 0 0 m27 0 0 m28 0 0 m29 0 0 m30 0 0 m31 0 0 m32 0 0 m33 0 0 m34 0 0 m35 0 0 m36 0 0 m37 0 0 m38 0 0 m39 0 0 m40 0 0 m41 0 0 m42 0.01 0 n1 0.02 0 n2 0.01 0.01 n3
georadius many 0 0 10 km count 5
georadius many 0 0 10 km count 44 desc
georadius many 0 0 10 km count 1
"#,
    );
}

/// Geo data survives replication (GEOADD arrives as ZADD), an AOF reload
/// and an RDB written by Redis, with equal digests and equal answers.
#[test]
fn replication_aof_and_rdb_keep_geo_sets() {
    let args = ["--enable-debug-command", "yes", "--appendonly", "yes", "--save", ""];
    let mut p = Node::ferrokv(&args);
    let port = p.port.to_string();
    let r = Node::ferrokv(&["--enable-debug-command", "yes", "--save", "", "--replicaof", "127.0.0.1", &port]);
    let mut c = p.conn();
    c.cmd(&["geoadd", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    c.cmd(&["georadius", "Sicily", "15", "37", "200", "km", "storedist", "near"]);
    let digest = |n: &Node| match n.conn().cmd(&["debug", "digest"]) {
        ferrokv_resp::Frame::Simple(s) => String::from_utf8_lossy(&s).into_owned(),
        other => panic!("DEBUG DIGEST: {other:?}"),
    };
    let expected = digest(&p);
    assert!(eventually(WAIT, || digest(&r) == expected), "the replica converges");
    let search = ["geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "200", "km", "withdist", "withcoord", "asc"];
    let answer = c.cmd(&search);
    assert_eq!(r.conn().cmd(&search), answer);
    p.restart(&args);
    assert_eq!(digest(&p), expected, "the AOF reloads the same sets");
    assert_eq!(p.conn().cmd(&search), answer);
    // Redis loads ferrokv's dump of them, and answers the same.
    let payload = dump(&mut p.conn(), "Sicily");
    let redis = Node::redis(&[]);
    let mut rc = redis.conn();
    assert_eq!(rc.cmd_raw(&[b"restore", b"Sicily", b"0", &payload]), b"+OK\r\n");
    assert_eq!(rc.cmd(&search), answer);
}
