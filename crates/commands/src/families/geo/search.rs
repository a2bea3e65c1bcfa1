//! Searching a geo set (Redis's geohash_helper.c and the search half of
//! geo.c): the shape's bounding box picks a cell size, the cell holding
//! the centre and its neighbours become score ranges, and every member in
//! them is checked against the exact shape. The cells, their order and
//! the walk inside each are Redis's, so unsorted replies and COUNT ANY
//! pick the same members in the same order.

use bytes::Bytes;
use ferrokv_storage::ZSet;

use super::hash::{self, Bits, EARTH_RADIUS_IN_METERS};

/// Above this many metres a cell of one step is already too small.
const MERCATOR_MAX: f64 = 20037726.37;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// BYRADIUS (and GEORADIUS*): a circle of this radius, in the unit.
    Radius(f64),
    /// BYBOX: width and height in the unit, centred on the point.
    Box { width: f64, height: f64 },
}

/// Where and what to search: the centre, the shape in the request's unit,
/// and `conversion`, metres per unit.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub longitude: f64,
    pub latitude: f64,
    pub kind: Kind,
    pub conversion: f64,
}

/// A member found, with its decoded position and distance in metres.
#[derive(Debug)]
pub struct Point {
    pub member: Bytes,
    pub longitude: f64,
    pub latitude: f64,
    pub dist: f64,
    pub score: f64,
}

/// The cell size (bits per coordinate) whose 3×3 block covers a search of
/// this radius, coarser towards the poles (`geohashEstimateStepsByRadius`).
fn estimate_steps(range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let (mut range, mut step) = (range_meters, 1i32);
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Shape {
    /// Half the height and half the width, in metres.
    fn half_extents(&self) -> (f64, f64) {
        match self.kind {
            Kind::Radius(r) => (self.conversion * r, self.conversion * r),
            Kind::Box { width, height } => (self.conversion * (height / 2.0), self.conversion * (width / 2.0)),
        }
    }

    /// (min longitude, min latitude, max longitude, max latitude), the
    /// longitudes taken at the edge nearer the pole, where they spread most.
    fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = self.half_extents();
        let lat_delta = hash::rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta = |lat: f64| hash::rad_deg(width / EARTH_RADIUS_IN_METERS / hash::deg_rad(lat).cos());
        let long_delta = if self.latitude < 0.0 { long_delta(self.latitude - lat_delta) } else { long_delta(self.latitude + lat_delta) };
        [self.longitude - long_delta, self.latitude - lat_delta, self.longitude + long_delta, self.latitude + lat_delta]
    }

    /// The radius of the circle around the shape, in metres.
    fn radius_meters(&self) -> f64 {
        let r = match self.kind {
            Kind::Radius(r) => r,
            Kind::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
        };
        r * self.conversion
    }

    /// The cells to read, in Redis's order (centre, N, S, E, W, NE, NW, SE,
    /// SW); None for a neighbour the search cannot reach.
    pub fn cells(&self) -> [Option<Bits>; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let mut steps = estimate_steps(self.radius_meters(), self.latitude);
        let around = |steps: u8| {
            let cell = hash::encode_wgs84(self.longitude, self.latitude, steps).unwrap_or(Bits { bits: 0, step: steps });
            (cell, hash::neighbors(cell), hash::decode_wgs84(cell))
        };
        let (mut cell, mut n, mut area) = around(steps);
        // A neighbour that ends inside the box leaves part of it uncovered:
        // one step coarser, then.
        let short = hash::decode_wgs84(n.north).latitude.max < max_lat
            || hash::decode_wgs84(n.south).latitude.min > min_lat
            || hash::decode_wgs84(n.east).longitude.max < max_lon
            || hash::decode_wgs84(n.west).longitude.min > min_lon;
        if steps > 1 && short {
            steps -= 1;
            (cell, n, area) = around(steps);
        }
        let mut cells = [
            Some(cell),
            Some(n.north),
            Some(n.south),
            Some(n.east),
            Some(n.west),
            Some(n.north_east),
            Some(n.north_west),
            Some(n.south_east),
            Some(n.south_west),
        ];
        if steps >= 2 {
            let mut drop = |which: [usize; 3]| which.into_iter().for_each(|i| cells[i] = None);
            if area.latitude.min < min_lat {
                drop([2, 8, 7]);
            }
            if area.latitude.max > max_lat {
                drop([1, 5, 6]);
            }
            if area.longitude.min < min_lon {
                drop([4, 8, 6]);
            }
            if area.longitude.max > max_lon {
                drop([3, 7, 5]);
            }
        }
        cells
    }

    /// The position a score stands for and its distance from the centre in
    /// metres, if it lies within the shape.
    pub fn contains(&self, score: f64) -> Option<((f64, f64), f64)> {
        let (x, y) = hash::position(score);
        let dist = match self.kind {
            Kind::Radius(r) => {
                let d = hash::distance(self.longitude, self.latitude, x, y);
                (d <= r * self.conversion).then_some(d)?
            }
            Kind::Box { width, height } => {
                if hash::lat_distance(y, self.latitude) > height * self.conversion / 2.0 {
                    return None;
                }
                if hash::distance(x, y, self.longitude, y) > width * self.conversion / 2.0 {
                    return None;
                }
                hash::distance(self.longitude, self.latitude, x, y)
            }
        };
        Some(((x, y), dist))
    }
}

/// Every member within `shape`, cell by cell; with `limit` (COUNT ANY),
/// stops once that many are found.
pub fn search(z: &ZSet, shape: &Shape, limit: Option<usize>) -> Vec<Point> {
    let full = |found: &Vec<Point>| limit.is_some_and(|l| !found.is_empty() && found.len() >= l);
    let mut found = Vec::new();
    // Huge radii make neighbours repeat; a cell equal to the one read
    // before it is skipped (never compared with the centre, as in Redis).
    let mut last: Option<Bits> = None;
    for (i, cell) in shape.cells().into_iter().enumerate() {
        let Some(cell) = cell else { continue };
        if last == Some(cell) {
            continue;
        }
        if full(&found) {
            break;
        }
        let min = hash::align52(cell) as f64;
        let max = hash::align52(Bits { bits: cell.bits + 1, step: cell.step }) as f64;
        let start = z.rank_where(|s, _| s >= min);
        z.visit_from(start, |member, score| {
            if score >= max {
                return false;
            }
            if let Some(((longitude, latitude), dist)) = shape.contains(score) {
                found.push(Point { member: Bytes::copy_from_slice(member), longitude, latitude, dist, score });
            }
            !full(&found)
        });
        last = (i > 0).then_some(cell);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_shrink_with_the_radius_and_near_the_poles() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert!(estimate_steps(100.0, 0.0) > estimate_steps(100_000.0, 0.0));
        assert_eq!(estimate_steps(100.0, 70.0), estimate_steps(100.0, 0.0) - 1);
        assert_eq!(estimate_steps(100.0, -85.0), estimate_steps(100.0, 0.0) - 2);
        assert_eq!(estimate_steps(1e9, 0.0), 1);
    }

    #[test]
    fn a_radius_finds_what_is_within_it() {
        let limits = ferrokv_storage::Thresholds::default();
        let mut z = ZSet::new_for(0, &limits);
        z.set(b"palermo", hash::score_of(13.361389, 38.115556) as f64, &limits);
        z.set(b"catania", hash::score_of(15.087269, 37.502669) as f64, &limits);
        let shape = Shape { longitude: 15.0, latitude: 37.0, kind: Kind::Radius(200.0), conversion: 1000.0 };
        let names: Vec<_> = search(&z, &shape, None).into_iter().map(|p| p.member).collect();
        assert_eq!(names, vec![Bytes::from("palermo"), Bytes::from("catania")]);
        let near = Shape { kind: Kind::Radius(100.0), ..shape };
        assert_eq!(search(&z, &near, None).len(), 1);
        assert_eq!(search(&z, &shape, Some(1)).len(), 1);
    }
}
