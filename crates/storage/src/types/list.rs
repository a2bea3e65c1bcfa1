//! Lists. Redis 7.0 reports every list as `quicklist`; the representation
//! here is a ring buffer of values, O(1) at both ends.

use std::collections::VecDeque;

use bytes::Bytes;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct List {
    pub items: VecDeque<Bytes>,
}

impl List {
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Resolves a Redis index (negative counts from the end).
    pub fn index(&self, i: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if i < 0 { len + i } else { i };
        (0..len).contains(&i).then_some(i as usize)
    }
}
