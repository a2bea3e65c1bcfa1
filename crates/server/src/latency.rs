//! The latency monitor: events over `latency-monitor-threshold`
//! milliseconds, with the latest 160 samples per event (LATENCY LATEST,
//! HISTORY, RESET, GRAPH).

mod sparkline;

use std::collections::{BTreeMap, VecDeque};

use parking_lot::Mutex;

const HISTORY: usize = 160;

#[derive(Default, Clone)]
pub struct Series {
    /// (unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    pub max: u64,
}

#[derive(Default)]
pub struct Monitor {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

impl Monitor {
    pub fn record(&self, event: &'static str, ms: u64) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut events = self.events.lock();
        let series = events.entry(event).or_default();
        // Samples in the same second merge, keeping the worst.
        match series.samples.back_mut() {
            Some((t, v)) if *t == now => *v = (*v).max(ms),
            _ => series.samples.push_back((now, ms)),
        }
        if series.samples.len() > HISTORY {
            series.samples.pop_front();
        }
        series.max = series.max.max(ms);
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, Series> {
        self.events.lock().clone()
    }

    /// Resets the named events (all when empty); returns how many existed.
    pub fn reset(&self, names: &[String]) -> usize {
        let mut events = self.events.lock();
        if names.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        names.iter().filter(|n| events.remove(n.as_str()).is_some()).count()
    }
}

/// Columns of LATENCY GRAPH.
const GRAPH_COLUMNS: usize = 80;

impl Series {
    /// LATENCY GRAPH's text: a header with the range, then the samples as a
    /// sparkline labelled with how long ago each happened, as Redis's.
    pub fn graph(&self, event: &str, now_secs: u64) -> String {
        let samples: Vec<sparkline::Sample> =
            self.samples.iter().map(|&(at, ms)| sparkline::Sample { value: ms as f64, label: ago(now_secs.saturating_sub(at)) }).collect();
        let low = self.samples.iter().map(|s| s.1).min().unwrap_or(0);
        let high = self.samples.iter().map(|s| s.1).max().unwrap_or(0);
        let mut out = format!("{event} - high {high} ms, low {low} ms (all time high {} ms)\n", self.max);
        out.push_str(&"-".repeat(GRAPH_COLUMNS));
        out.push('\n');
        sparkline::render(&mut out, &samples, GRAPH_COLUMNS, 4);
        out
    }
}

/// `12s`, `3m`, `5h`, `2d`.
fn ago(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
