//! Ids of closed contacts or handled complaints, remembered so that a re-sent event of one is a
//! duplicate: for a span of time (`forget_before`) and at most `CLOSED_KEPT` of them, so memory
//! stays bounded whatever the throughput. Past the cap the oldest are forgotten early; an event
//! that would open one again at or before the latest closure forgotten early could be a re-send,
//! which `maybe_forgotten` tells.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use crate::config::Millis;

/// Closed ids remembered at most (about 6.5 MiB). Under the load limit of a 2^18-slot table, so
/// the set (and the queue of their order) stop growing there.
pub const CLOSED_KEPT: usize = 200_000;

#[derive(Debug, Default)]
pub struct ClosedIds {
    set: FxHashSet<u64>,
    /// (closing time, id), oldest first.
    order: VecDeque<(Millis, u64)>,
    /// Closing time of the latest id forgotten early (past `CLOSED_KEPT`).
    forgotten_until: Option<Millis>,
}

impl ClosedIds {
    pub fn contains(&self, id: u64) -> bool {
        self.set.contains(&id)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Remembers `id`, closed at `at`, forgetting the oldest past the cap.
    pub fn insert(&mut self, id: u64, at: Millis) {
        if self.set.insert(id) {
            self.order.push_back((at, id));
        }
        while self.order.len() > CLOSED_KEPT {
            let (at, h) = self.order.pop_front().expect("over the cap");
            self.set.remove(&h);
            self.forgotten_until = Some(self.forgotten_until.map_or(at, |f| f.max(at)));
        }
    }

    /// Forgets ids closed before `before` (events that old are refused anyway).
    pub fn forget_before(&mut self, before: Millis) {
        while let Some(&(at, h)) = self.order.front() {
            if at >= before {
                break;
            }
            self.set.remove(&h);
            self.order.pop_front();
        }
    }

    /// Something opened at `at` may be a re-send of one whose id was forgotten early: the time
    /// of the latest closure forgotten early, if `at` is not after it.
    pub fn maybe_forgotten(&self, at: Millis) -> Option<Millis> {
        self.forgotten_until.filter(|f| at <= *f)
    }
}
