//! The geohash Redis stores as a sorted-set score (Redis's geohash.c):
//! longitude and latitude, each scaled to 26 bits over Redis's ranges
//! (latitude only to ±85.05112878, the Web Mercator limit), interleaved
//! into 52 bits with latitude on the even bits. Every step here must give
//! the bits and doubles Redis gives, so a set written by either server
//! answers the same in the other.

/// 26 bits per coordinate: 52 bits, exact in a double's mantissa.
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// Redis's WGS-84 quadratic mean radius, which every distance uses.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A cell: `step` bits per coordinate, interleaved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// What a cell covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

pub const LONG_RANGE: Range = Range { min: LONG_MIN, max: LONG_MAX };
pub const LAT_RANGE: Range = Range { min: LAT_MIN, max: LAT_MAX };

pub fn deg_rad(deg: f64) -> f64 {
    deg * D_R
}

pub fn rad_deg(rad: f64) -> f64 {
    rad / D_R
}

/// Spreads the low 32 bits of `v` onto the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` into a u32.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0xFFFF_FFFF) as u32
}

/// The cell of `step` bits holding (longitude, latitude) over the given
/// ranges; None outside them (or outside Redis's limits at all).
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    let outside = |v: f64, r: Range| v < r.min || v > r.max;
    if step == 0 || step > 32 || outside(longitude, LONG_RANGE) || outside(latitude, LAT_RANGE) {
        return None;
    }
    if outside(latitude, lat_range) || outside(longitude, long_range) {
        return None;
    }
    let scale = (1u64 << step) as f64;
    // C converts these doubles to uint32_t by truncation, as `as` does.
    let lat = ((latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale) as u32;
    let lon = ((longitude - long_range.min) / (long_range.max - long_range.min) * scale) as u32;
    Some(Bits { bits: spread(lat) | (spread(lon) << 1), step })
}

pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// The area a cell covers over the given ranges.
pub fn decode(long_range: Range, lat_range: Range, hash: Bits) -> Area {
    let (lat, lon) = (squash(hash.bits), squash(hash.bits >> 1));
    let cells = (1u64 << hash.step) as f64;
    let at = |i: u32, r: Range| r.min + (f64::from(i) / cells) * (r.max - r.min);
    // C adds 1 to a uint32_t, which wraps for scores no GEOADD wrote.
    let next = |i: u32, r: Range| r.min + (f64::from(i.wrapping_add(1)) / cells) * (r.max - r.min);
    Area { latitude: Range { min: at(lat, lat_range), max: next(lat, lat_range) }, longitude: Range { min: at(lon, long_range), max: next(lon, long_range) } }
}

pub fn decode_wgs84(hash: Bits) -> Area {
    decode(LONG_RANGE, LAT_RANGE, hash)
}

impl Area {
    /// The cell's centre, kept within Redis's limits: (longitude, latitude).
    pub fn center(&self) -> (f64, f64) {
        let lon = ((self.longitude.min + self.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
        let lat = ((self.latitude.min + self.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
        (lon, lat)
    }
}

/// A 52-bit cell shifted into a score's place (`geohashAlign52Bits`).
pub fn align52(hash: Bits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

/// The score GEOADD stores for a position already checked to be valid.
pub fn score_of(longitude: f64, latitude: f64) -> u64 {
    encode_wgs84(longitude, latitude, STEP_MAX).map_or(0, align52)
}

/// C's `(uint64_t)score` as gcc compiles it on x86-64, so scores that no
/// GEOADD wrote (negative, huge) decode to the position Redis shows.
fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // cvttsd2si truncates, giving 1 << 63 out of range (`as` saturates to
    // the same for negatives); at and above 2^63 gcc subtracts 2^63 first
    // and flips the top bit back, so 2^64 and beyond come out as 0.
    if score < TWO_63 {
        score as i64 as u64
    } else if score - TWO_63 < TWO_63 {
        ((score - TWO_63) as i64 as u64) ^ (1 << 63)
    } else {
        0
    }
}

/// The position a score stands for: its cell's centre (`decodeGeohash`).
pub fn position(score: f64) -> (f64, f64) {
    decode_wgs84(Bits { bits: score_bits(score), step: STEP_MAX }).center()
}

/// Moves a cell one step east (1) or west (-1): longitude is on the odd
/// bits, so the even ones are filled to carry the increment across.
fn move_x(hash: &mut Bits, d: i8) {
    move_bits(hash, d, 0xaaaa_aaaa_aaaa_aaaa);
}

/// Moves a cell one step north (1) or south (-1).
fn move_y(hash: &mut Bits, d: i8) {
    move_bits(hash, d, 0x5555_5555_5555_5555);
}

fn move_bits(hash: &mut Bits, d: i8, mine: u64) {
    if d == 0 {
        return;
    }
    let width = 64 - u32::from(hash.step) * 2;
    let others = !mine;
    let (mut v, kept) = (hash.bits & mine, hash.bits & others);
    let filler = others >> width;
    v = if d > 0 { v.wrapping_add(filler + 1) } else { (v | filler).wrapping_sub(filler + 1) };
    hash.bits = (v & (mine >> width)) | kept;
}

/// A cell's eight neighbours, wrapping around at the edges as Redis's do.
#[derive(Clone, Copy, Debug)]
pub struct Neighbors {
    pub north: Bits,
    pub south: Bits,
    pub east: Bits,
    pub west: Bits,
    pub north_east: Bits,
    pub north_west: Bits,
    pub south_east: Bits,
    pub south_west: Bits,
}

pub fn neighbors(hash: Bits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// Distance along a meridian (the haversine when longitudes agree).
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in metres by the haversine formula, computed in
/// Redis's order of operations so the last digit agrees.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The standard 11-character geohash (latitude over ±90) of a stored
/// score, as GEOHASH prints it: 52 bits give ten characters, the eleventh
/// is always '0'.
pub fn standard(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = position(score);
    let bits = encode(LONG_RANGE, Range { min: -90.0, max: 90.0 }, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values Redis 7.0 answers for Palermo (GEOADD Sicily 13.361389
    /// 38.115556 Palermo; ZSCORE, GEOPOS, GEOHASH).
    #[test]
    fn palermo_as_redis_stores_it() {
        let score = score_of(13.361389, 38.115556);
        assert_eq!(score, 3479099956230698);
        let (lon, lat) = position(score as f64);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&standard(score as f64), b"sqc8b49rny0");
    }

    #[test]
    fn interleaving_round_trips() {
        for v in [0u32, 1, 0x3ff_ffff, 0xdead_beef, u32::MAX] {
            assert_eq!(squash(spread(v)), v);
        }
    }

    /// Moving east then west (and north then south) returns to the cell,
    /// and a cell at the eastern edge wraps to the western one.
    #[test]
    fn neighbours_move_and_wrap() {
        let h = encode_wgs84(13.361389, 38.115556, 10).unwrap();
        let mut e = neighbors(h).east;
        move_x(&mut e, -1);
        assert_eq!(e, h);
        let mut n = neighbors(h).north;
        move_y(&mut n, -1);
        assert_eq!(n, h);
        let edge = encode_wgs84(179.99, 0.0, 4).unwrap();
        let wrapped = decode_wgs84(neighbors(edge).east);
        assert_eq!(wrapped.longitude.min, -180.0);
    }

    #[test]
    fn distance_as_redis() {
        // GEODIST Sicily Palermo Catania: "166274.1516" in Redis 7.0.
        let (a, b) = (position(3479099956230698.0), position(3479447370796909.0));
        let d = distance(a.0, a.1, b.0, b.1);
        assert_eq!(format!("{d:.4}"), "166274.1516");
    }
}
