//! One event as Redis prints it, or as JSON.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::Level;

/// An event's parts, gathered once and printed in either format.
pub struct Record {
    pub pid: u32,
    pub role: u8,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    pub level: Level,
    pub message: String,
    /// Structured fields beyond the message, in the order given.
    pub fields: Vec<(&'static str, String)>,
}

impl Record {
    pub fn of(event: &tracing::Event<'_>, role: u8) -> Record {
        let mut record = Record {
            pid: std::process::id(),
            role,
            time_ms: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0),
            level: *event.metadata().level(),
            message: String::new(),
            fields: Vec::new(),
        };
        event.record(&mut record);
        record
    }

    /// The message with its fields after it (`key=value`), as one text.
    pub fn text(&self) -> String {
        let mut out = self.message.clone();
        for (k, v) in &self.fields {
            let _ = write!(out, " {k}={v}");
        }
        out
    }

    /// Redis's level character: `.` debug, `-` verbose, `*` notice, `#` warning.
    pub fn level_char(&self) -> char {
        match self.level {
            Level::TRACE => '.',
            Level::DEBUG => '-',
            Level::INFO => '*',
            Level::WARN | Level::ERROR => '#',
        }
    }

    fn level_name(&self) -> &'static str {
        match self.level {
            Level::TRACE => "debug",
            Level::DEBUG => "verbose",
            Level::INFO => "notice",
            Level::WARN | Level::ERROR => "warning",
        }
    }

    /// One JSON object per line: time (RFC 3339, local), pid, role, level
    /// (Redis's names), message, then the fields.
    pub fn json(&self) -> String {
        let t = local(self.time_ms);
        let offset = t.gmtoff / 60;
        let sign = if offset < 0 { '-' } else { '+' };
        let mut out = format!(
            "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{sign}{:02}:{:02}\",\"pid\":{},\"role\":\"{}\",\"level\":\"{}\",\"message\":",
            t.year,
            t.month + 1,
            t.day,
            t.hour,
            t.min,
            t.sec,
            t.ms,
            offset.abs() / 60,
            offset.abs() % 60,
            self.pid,
            self.role as char,
            self.level_name()
        );
        json_string(&mut out, &self.message);
        for (k, v) in &self.fields {
            out.push(',');
            json_string(&mut out, k);
            out.push(':');
            json_string(&mut out, v);
        }
        out.push_str("}\n");
        out
    }
}

impl Visit for Record {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `1234:M 05 Dec 2026 19:41:44.668 * message\n`, as Redis's serverLogRaw.
pub fn redis_line(r: &Record) -> String {
    let t = local(r.time_ms);
    format!(
        "{}:{} {:02} {} {} {:02}:{:02}:{:02}.{:03} {} {}\n",
        r.pid,
        r.role as char,
        t.day,
        MONTHS[t.month as usize % 12],
        t.year,
        t.hour,
        t.min,
        t.sec,
        t.ms,
        r.level_char(),
        r.text()
    )
}

struct LocalTime {
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    min: i32,
    sec: i32,
    ms: i64,
    gmtoff: i64,
}

/// Local time as Redis prints it (localtime_r honours TZ).
fn local(time_ms: i64) -> LocalTime {
    let secs = time_ms.div_euclid(1000) as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    LocalTime {
        year: tm.tm_year + 1900,
        month: tm.tm_mon,
        day: tm.tm_mday,
        hour: tm.tm_hour,
        min: tm.tm_min,
        sec: tm.tm_sec,
        ms: time_ms.rem_euclid(1000),
        gmtoff: tm.tm_gmtoff,
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(level: Level, message: &str) -> Record {
        Record { pid: 42, role: b'M', time_ms: 1_765_000_000_123, level, message: message.into(), fields: vec![("port", "6379".into())] }
    }

    #[test]
    fn redis_shape() {
        std::env::set_var("TZ", "UTC");
        let line = redis_line(&record(Level::INFO, "Ready"));
        assert_eq!(line, "42:M 06 Dec 2025 05:46:40.123 * Ready port=6379\n");
        assert!(redis_line(&record(Level::WARN, "x")).contains(" # x"));
        assert!(redis_line(&record(Level::DEBUG, "x")).contains(" - x"));
        assert!(redis_line(&record(Level::TRACE, "x")).contains(" . x"));
    }

    #[test]
    fn json_escapes() {
        std::env::set_var("TZ", "UTC");
        let j = record(Level::WARN, "say \"hi\"\n").json();
        assert_eq!(j, "{\"time\":\"2025-12-06T05:46:40.123+00:00\",\"pid\":42,\"role\":\"M\",\"level\":\"warning\",\"message\":\"say \\\"hi\\\"\\n\",\"port\":\"6379\"}\n");
    }
}
