//! The LCS dynamic programme, and the backward walk that yields the common
//! string and the matching ranges in exactly the order Redis emits them.

pub struct Table {
    cells: Vec<u32>,
    width: usize,
}

pub struct Range {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

pub struct Walk {
    pub string: Vec<u8>,
    pub ranges: Vec<Range>,
}

impl Table {
    pub fn build(a: &[u8], b: &[u8]) -> Table {
        let width = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] =
                    if a[i - 1] == b[j - 1] { cells[(i - 1) * width + j - 1] + 1 } else { cells[(i - 1) * width + j].max(cells[i * width + j - 1]) };
            }
        }
        Table { cells, width }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Length of the longest common subsequence.
    pub fn len(&self) -> u32 {
        *self.cells.last().unwrap_or(&0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Walks back from the end as Redis's `lcsCommand` does, emitting a
    /// range each time a contiguous run of matches ends.
    pub fn walk(&self, a: &[u8], b: &[u8], minmatchlen: u32) -> Walk {
        let alen = a.len() as u32;
        let mut idx = self.len() as usize;
        let mut string = vec![0u8; idx];
        let mut ranges = Vec::new();
        let (mut i, mut j) = (a.len(), b.len());
        let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0u32, 0u32, 0u32);
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                string[idx - 1] = a[i - 1];
                if a_start == alen {
                    a_start = (i - 1) as u32;
                    a_end = (i - 1) as u32;
                    b_start = (j - 1) as u32;
                    b_end = (j - 1) as u32;
                } else if a_start == i as u32 && b_start == j as u32 {
                    a_start -= 1;
                    b_start -= 1;
                } else {
                    emit = true;
                }
                if a_start == 0 || b_start == 0 {
                    emit = true;
                }
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                if a_start != alen {
                    emit = true;
                }
            }
            let match_len = a_end.wrapping_sub(a_start).wrapping_add(1);
            if emit {
                if minmatchlen == 0 || match_len >= minmatchlen {
                    ranges.push(Range { a: (a_start, a_end), b: (b_start, b_end), len: match_len });
                }
                a_start = alen;
            }
        }
        Walk { string, ranges }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_doc_example() {
        let (a, b) = (b"ohmytext", b"mynewtext");
        let t = Table::build(a, b);
        assert_eq!(t.len(), 6);
        let w = t.walk(a, b, 0);
        assert_eq!(w.string, b"mytext");
        let got: Vec<_> = w.ranges.iter().map(|r| (r.a, r.b, r.len)).collect();
        assert_eq!(got, vec![((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
    }
}
