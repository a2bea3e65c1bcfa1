//! SLOWLOG: commands slower than `slowlog-log-slower-than` microseconds,
//! newest first, with Redis's clipping of long argument lists and values.

use std::collections::VecDeque;

use bytes::Bytes;
use parking_lot::Mutex;

const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;

pub struct Entry {
    pub id: u64,
    pub time: u64,
    pub duration_us: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

#[derive(Default)]
pub struct SlowLog {
    inner: Mutex<(VecDeque<Entry>, u64)>,
}

impl SlowLog {
    /// Records a command; `hidden` marks the arguments shown as `(redacted)`.
    pub fn push(&self, args: &[Bytes], hidden: &[bool], duration_us: u64, addr: String, name: Bytes, max_len: usize) {
        let shown = args.len().min(MAX_ARGC);
        let mut kept: Vec<Bytes> = Vec::with_capacity(shown);
        for (i, a) in args.iter().take(shown).enumerate() {
            if hidden.get(i) == Some(&true) {
                kept.push(Bytes::from_static(b"(redacted)"));
            } else if i == MAX_ARGC - 1 && args.len() > MAX_ARGC {
                kept.push(Bytes::from(format!("... ({} more arguments)", args.len() - MAX_ARGC + 1)));
            } else if a.len() > MAX_STRING {
                let mut s = a[..MAX_STRING].to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
                kept.push(Bytes::from(s));
            } else {
                kept.push(a.clone());
            }
        }
        let time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut inner = self.inner.lock();
        let id = inner.1;
        inner.1 += 1;
        inner.0.push_front(Entry { id, time, duration_us, args: kept, addr, name });
        inner.0.truncate(max_len);
    }

    pub fn with<R>(&self, f: impl FnOnce(&VecDeque<Entry>) -> R) -> R {
        f(&self.inner.lock().0)
    }

    pub fn reset(&self) {
        self.inner.lock().0.clear();
    }

    pub fn len(&self) -> usize {
        self.inner.lock().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
