//! Open contacts and their response clocks.
//!
//! Contacts live in a slab (a `Vec` with a free list) addressed by slot; the id map points into it.
//! Ids are kept as 64-bit SipHash digests, not strings: a contact costs the same whatever its id's
//! length, and a collision between two live ids is vanishingly unlikely (about 1 in 3*10^7 with a
//! million open contacts).
//! Clock deadlines go into one min-heap of timers. A timer is not removed when its clock stops:
//! it is checked against the contact when it comes due and dropped if stale (generation or
//! deadline no longer match). That keeps every stop O(1). Stale timers of closed contacts would
//! pile up for days (a contact's expiry timer runs the whole state horizon), so the heap is
//! rebuilt with only the live timers whenever it has doubled since the last rebuild: memory
//! follows what is open (at most about twice its timers), at O(1) amortised per timer.
//!
//! Closed ids are remembered so that a re-sent event of a closed contact is a duplicate, for the
//! longest window (older events are refused anyway) and at most `CLOSED_KEPT` of them (about
//! 6.5 MiB; at 10 closures a second, five and a half hours). Past that cap the oldest are
//! forgotten early, and an `arrived` event no later than the last closure forgotten early is
//! refused: it could not be told from a re-send.
//!
//! A contact still open at the state horizon (an e-mail nobody has answered in days, or one its
//! source never closed) leaves the open set but is remembered as expired, at most `CLOSED_KEPT`
//! of them: a late reply to it is real data, taken and counted, not refused as unknown.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use floorwatch_protocol::{Channel, Priority};
use rustc_hash::FxHashMap;

use super::closed_ids::ClosedIds;

use crate::config::Millis;

pub const SEEN_ANSWERED: u8 = 1;

pub use super::closed_ids::CLOSED_KEPT;

/// The heap is not compacted below this many timers.
const TIMERS_FLOOR: usize = 4096;

/// One open contact. Kept small: there may be a million of them.
#[derive(Debug, Clone)]
pub struct Contact {
    /// `id_hash` of the contact's id.
    pub id: u64,
    pub arrived: Millis,
    /// When it was first answered (with `SEEN_ANSWERED`). Until then: when its first reply was
    /// due, once that clock breached (the clock's own `due` is cleared then), else 0.
    pub answered_at: Millis,
    /// Deadline of each clock, 0 when the clock is not running.
    pub due: [Millis; 3],
    pub last_agent: Millis,
    pub last_customer: Millis,
    pub generation: u16,
    pub queue: u16,
    pub channel: Channel,
    pub priority: Priority,
    pub flags: u8,
    /// Bit per clock: the clock passed its approaching-breach point and still runs.
    pub approaching: u8,
    pub live: bool,
}

impl Contact {
    /// When its first reply is (or was) due, while it waits for one: the running clock's
    /// deadline, or the breached one's.
    pub fn first_due(&self) -> Option<Millis> {
        if self.flags & SEEN_ANSWERED != 0 {
            return None;
        }
        [self.due[0], self.answered_at]
            .into_iter()
            .find(|d| *d != 0)
    }

    /// Its first reply's clock breached at `due`: kept for `first_due`.
    pub fn first_breached(&mut self, due: Millis) {
        if self.flags & SEEN_ANSWERED == 0 {
            self.answered_at = due;
        }
    }
}

/// A contact that was still open at the state horizon: what its late events need.
#[derive(Debug, Clone, Copy)]
pub struct Expired {
    pub queue: u16,
    pub arrived: Millis,
    /// When it was answered; 0 if it was not.
    pub answered_at: Millis,
}

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    Approaching(u8),
    Breach(u8),
    /// Drop a contact never closed by its source, once it is older than the state horizon.
    Expire,
}

/// 16 bytes: a chat contact has up to five of these pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    pub due: Millis,
    pub slot: u32,
    pub generation: u16,
    pub kind: TimerKind,
}

#[derive(Debug, Default)]
pub struct Contacts {
    slots: Vec<Contact>,
    free: Vec<u32>,
    by_id: FxHashMap<u64, u32>,
    timers: BinaryHeap<Reverse<Timer>>,
    /// Hashes of recently closed ids, so a re-sent event of a closed contact is a duplicate.
    closed: ClosedIds,
    /// Timers that applied at the last compaction of the heap.
    timers_live: usize,
    /// Contacts expired at the state horizon, oldest first in `expired_order`.
    expired: FxHashMap<u64, Expired>,
    expired_order: VecDeque<u64>,
}

/// The digest an id is known by. `DefaultHasher::new()` has fixed keys, so this is stable
/// across runs (the journal replays to the same state).
pub fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl Contacts {
    pub fn len(&self) -> usize {
        const _: () = assert!(std::mem::size_of::<Timer>() == 16);
        self.by_id.len()
    }

    pub fn slot_of(&self, id: u64) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    pub fn was_closed(&self, id: u64) -> bool {
        self.closed.contains(id)
    }

    /// Closed contacts remembered now.
    #[cfg(test)]
    pub fn closed_len(&self) -> usize {
        self.closed.len()
    }

    /// Timers in the heap, stale ones included.
    #[cfg(test)]
    pub fn timers_len(&self) -> usize {
        self.timers.len()
    }

    /// An arrival at `at` may be a re-send of a contact whose id was forgotten early: the time
    /// of the latest closure forgotten early, if `at` is not after it.
    pub fn maybe_forgotten(&self, at: Millis) -> Option<Millis> {
        self.closed.maybe_forgotten(at)
    }

    pub fn get(&self, slot: u32) -> &Contact {
        &self.slots[slot as usize]
    }

    pub fn get_mut(&mut self, slot: u32) -> &mut Contact {
        &mut self.slots[slot as usize]
    }

    pub fn insert(&mut self, mut c: Contact) -> u32 {
        let id = c.id;
        let slot = match self.free.pop() {
            Some(s) => {
                c.generation = self.slots[s as usize].generation.wrapping_add(1);
                self.slots[s as usize] = c;
                s
            }
            None => {
                self.slots.push(c);
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        slot
    }

    /// Closes a contact: frees its slot and remembers its id until `forget_before` passes it.
    pub fn remove(&mut self, slot: u32, at: Millis) {
        let id = self.free_slot(slot);
        self.closed.insert(id, at);
    }

    /// Expires a contact still open at the state horizon: frees its slot and remembers what its
    /// late events need.
    pub fn expire(&mut self, slot: u32) {
        let c = self.slots[slot as usize].clone();
        self.free_slot(slot);
        let answered_at = if c.flags & SEEN_ANSWERED != 0 {
            c.answered_at
        } else {
            0
        };
        let e = Expired {
            queue: c.queue,
            arrived: c.arrived,
            answered_at,
        };
        if self.expired.insert(c.id, e).is_none() {
            self.expired_order.push_back(c.id);
        }
        while self.expired_order.len() > CLOSED_KEPT {
            let old = self.expired_order.pop_front().expect("over the cap");
            self.expired.remove(&old);
        }
    }

    pub fn expired_mut(&mut self, id: u64) -> Option<&mut Expired> {
        self.expired.get_mut(&id)
    }

    /// An expired contact's last event came: it is closed now.
    pub fn close_expired(&mut self, id: u64, at: Millis) {
        if self.expired.remove(&id).is_some() {
            self.closed.insert(id, at);
        }
    }

    fn free_slot(&mut self, slot: u32) -> u64 {
        let id = self.slots[slot as usize].id;
        self.by_id.remove(&id);
        self.slots[slot as usize].live = false;
        self.slots[slot as usize].due = [0; 3];
        self.free.push(slot);
        id
    }

    /// Forgets closed ids older than `before` (events that old are refused anyway).
    pub fn forget_closed_before(&mut self, before: Millis) {
        self.closed.forget_before(before);
    }

    pub fn schedule(&mut self, t: Timer) {
        if self.timers.len() >= 2 * self.timers_live + TIMERS_FLOOR {
            self.compact_timers();
        }
        self.timers.push(Reverse(t));
    }

    /// Drops every timer that no longer applies to its contact.
    fn compact_timers(&mut self) {
        let timers = std::mem::take(&mut self.timers).into_vec();
        let mut live: Vec<_> = timers
            .into_iter()
            .filter(|Reverse(t)| self.applies(t))
            .collect();
        self.timers_live = live.len();
        live.shrink_to(2 * live.len() + TIMERS_FLOOR);
        self.timers = BinaryHeap::from(live);
    }

    /// The timer still stands for its contact's clock (or expiry).
    fn applies(&self, t: &Timer) -> bool {
        let c = &self.slots[t.slot as usize];
        if !c.live || c.generation != t.generation {
            return false;
        }
        match t.kind {
            TimerKind::Expire => true,
            // The clock restarted (next response) with another deadline: a timer of the old
            // one no longer applies.
            TimerKind::Breach(k) => c.due[k as usize] != 0 && c.due[k as usize] == t.due,
            TimerKind::Approaching(k) => c.due[k as usize] != 0 && t.due < c.due[k as usize],
        }
    }

    /// The next timer due at or before `now` that still applies to its contact.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.due > now {
                return None;
            }
            self.timers.pop();
            let still = self.applies(&t);
            if still {
                return Some(t);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: u64) -> Contact {
        Contact {
            id,
            arrived: 0,
            answered_at: 0,
            due: [0; 3],
            last_agent: 0,
            last_customer: 0,
            generation: 0,
            queue: 0,
            channel: Channel::Chat,
            priority: Priority::Normal,
            flags: 0,
            approaching: 0,
            live: true,
        }
    }

    /// Many contacts opened and closed with long timers: the heap and the closed ids stay
    /// bounded by what is open, not by what was ever seen.
    #[test]
    fn memory_follows_what_is_open() {
        let mut cs = Contacts::default();
        let day = 86_400_000;
        for n in 0..1_000_000u64 {
            let at = n as Millis;
            let slot = cs.insert(contact(n));
            let generation = cs.get(slot).generation;
            cs.get_mut(slot).due[0] = at + day;
            for kind in [
                TimerKind::Expire,
                TimerKind::Breach(0),
                TimerKind::Approaching(0),
            ] {
                cs.schedule(Timer {
                    due: at + 4 * day,
                    slot,
                    generation,
                    kind,
                });
            }
            // Ten stay open at any time.
            if n >= 10 {
                let old = cs.slot_of(n - 10).unwrap();
                cs.remove(old, at);
            }
        }
        assert_eq!(cs.len(), 10);
        assert!(
            cs.timers_len() <= 2 * 10 + TIMERS_FLOOR,
            "{}",
            cs.timers_len()
        );
        assert_eq!(cs.closed_len(), CLOSED_KEPT);
        // The latest closures are remembered; an arrival before the ones forgotten early is
        // reported as possibly re-sent.
        assert!(cs.was_closed(1_000_000 - 11));
        assert!(!cs.was_closed(5));
        assert!(cs.maybe_forgotten(100).is_some());
        assert!(cs.maybe_forgotten(1_000_000).is_none());
    }
}
