//! ASCII sparklines as Redis draws them for LATENCY GRAPH (Redis's
//! sparkline.c): each sample a column, its height over `rows` rows of three
//! steps each (`_`, `o`, `#`, with `|` filling below), then its label
//! written downwards under it, one character per line.

/// One column: the value and the label printed under it.
pub struct Sample {
    pub value: f64,
    pub label: String,
}

const FILL: [u8; 3] = *b"_o#";
/// Blank lines between the graph and the labels.
const LABEL_MARGIN_TOP: usize = 1;

/// Renders `samples` `columns` at a time, each block `rows` high, filled.
pub fn render(out: &mut String, samples: &[Sample], columns: usize, rows: usize) {
    let (min, max) = samples.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| (lo.min(s.value), hi.max(s.value)));
    for (i, block) in samples.chunks(columns.max(1)).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_range(out, block, (min, max), rows);
    }
}

fn render_range(out: &mut String, samples: &[Sample], (min, max): (f64, f64), rows: usize) {
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let has_labels = samples.iter().any(|s| !s.label.is_empty());
    let mut line = vec![b' '; samples.len()];
    let mut row = 0;
    loop {
        let mut more = false;
        line.fill(b' ');
        for (j, s) in samples.iter().enumerate() {
            if row < rows {
                more = true;
                // Truncated twice, as Redis's `(int)(relval*steps)/relmax`.
                let step = ((((s.value - min) * steps as f64) as i64) as f64 / relmax) as i64;
                let step = step.clamp(0, steps - 1);
                let idx = step - ((rows - row - 1) * FILL.len()) as i64;
                if (0..FILL.len() as i64).contains(&idx) {
                    line[j] = FILL[idx as usize];
                } else if idx >= FILL.len() as i64 {
                    line[j] = b'|';
                }
            } else if has_labels && row - rows < LABEL_MARGIN_TOP {
                more = true;
                break;
            } else if let Some(c) = s.label.as_bytes().get(row - rows - LABEL_MARGIN_TOP) {
                more = true;
                line[j] = *c;
            }
        }
        if !more {
            return;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[(f64, &str)]) -> Vec<Sample> {
        values.iter().map(|(v, l)| Sample { value: *v, label: l.to_string() }).collect()
    }

    #[test]
    fn one_sample_is_a_floor_and_its_label() {
        let mut out = String::new();
        render(&mut out, &samples(&[(100.0, "0s")]), 80, 4);
        assert_eq!(out, " \n \n \n_\n \n0\ns\n");
    }

    #[test]
    fn heights_fill_below() {
        let mut out = String::new();
        render(&mut out, &samples(&[(100.0, "9s"), (300.0, "2s"), (200.0, "1s")]), 80, 4);
        assert_eq!(out, " # \n |_\n ||\n_||\n   \n921\nsss\n");
    }
}
