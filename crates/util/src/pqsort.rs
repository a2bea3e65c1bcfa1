//! Redis's `pqsort`: Bentley and McIlroy's quicksort ("Engineering a Sort
//! Function", as in NetBSD's qsort) that only descends into partitions
//! overlapping the wanted ranks. GEORADIUS … COUNT n uses it, and the order
//! it leaves equal elements in is visible in the reply, so this follows
//! the same steps: the same pivots, the same swaps, the same recursion.

use std::cmp::Ordering;

/// Puts the elements of ranks `lrange..=rrange` of `v` in place (the rest
/// partially ordered), exactly as Redis's `pqsort` permutes them.
pub fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lrange: usize, rrange: usize) {
    sort(v, 0, v.len(), cmp, lrange, rrange);
}

/// The median of three positions, with Redis's comparisons in its order.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let lt = |x: usize, y: usize| cmp(&v[x], &v[y]).is_lt();
    let gt = |x: usize, y: usize| cmp(&v[x], &v[y]).is_gt();
    if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if gt(b, c) {
        b
    } else if lt(a, c) {
        a
    } else {
        c
    }
}

/// Swaps `n` elements from `a` with `n` from `b`, pairwise.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Whether [start, start+len) holds none of the wanted ranks.
fn outside(start: usize, len: usize, lrange: usize, rrange: usize) -> bool {
    (lrange < start && rrange < start) || (lrange >= start + len && rrange >= start + len)
}

/// Sorts `v[a..a+n]` as far as the ranks need.
fn sort<T>(v: &mut [T], mut a: usize, mut n: usize, cmp: &impl Fn(&T, &T) -> Ordering, lrange: usize, rrange: usize) {
    loop {
        if n < 7 {
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && cmp(&v[l - 1], &v[l]).is_gt() {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let (mut pl, mut pn) = (a, a + n - 1);
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        // Elements equal to the pivot gather at both ends, then move to
        // the middle: [ = | < | > | = ] becomes [ < | = | > ].
        let (mut pa, mut pb) = (a + 1, a + 1);
        // `pc` may step below `pb` by one, as C's pointer does: kept signed.
        let (mut pc, mut pd) = ((a + n - 1) as isize, a + n - 1);
        loop {
            while pb as isize <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c.is_gt() {
                    break;
                }
                if c.is_eq() {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let c = cmp(&v[pc as usize], &v[a]);
                if c.is_lt() {
                    break;
                }
                if c.is_eq() {
                    v.swap(pc as usize, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd as isize - pc) as usize;
        let r = r.min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let left = pb - pa;
        if left > 1 && !outside(a, left, lrange, rrange) {
            sort(v, a, left, cmp, lrange, rrange);
        }
        let right = (pd as isize - pc) as usize;
        if right <= 1 {
            return;
        }
        a = pn - right;
        n = right;
        if outside(a, n, lrange, rrange) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The wanted ranks hold what a full sort puts there.
        #[test]
        fn the_wanted_ranks_are_sorted(mut v in prop::collection::vec(0u8..20, 0..200), l in 0usize..200, span in 0usize..50) {
            let mut full = v.clone();
            full.sort();
            if !v.is_empty() {
                let l = l % v.len();
                let r = (l + span).min(v.len() - 1);
                pqsort(&mut v, &|a: &u8, b: &u8| a.cmp(b), l, r);
                prop_assert_eq!(&v[l..=r], &full[l..=r]);
            }
        }
    }

    /// Ties keep the order Redis 7.0 gives them: GEORADIUS t 1 1 10 km
    /// COUNT 3 over eight members at one point (found after z, before x
    /// and y, all three farther away) answers g a b.
    #[test]
    fn ties_land_where_redis_puts_them() {
        let mut v: Vec<(u8, char)> = [(2, 'z')].into_iter().chain("abcdefgh".chars().map(|c| (0, c))).chain([(2, 'x'), (2, 'y')]).collect();
        pqsort(&mut v, &|a: &(u8, char), b: &(u8, char)| a.0.cmp(&b.0), 0, 2);
        let names: String = v[..3].iter().map(|e| e.1).collect();
        assert_eq!(names, "gab");
    }
}
