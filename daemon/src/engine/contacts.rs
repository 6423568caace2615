//! Open contacts and their response clocks.
//!
//! Contacts live in a slab (a `Vec` with a free list) addressed by slot; the id map points into it.
//! Ids are kept as 64-bit SipHash digests, not strings: a contact costs the same whatever its id's
//! length, and a collision between two live ids is vanishingly unlikely (about 1 in 3*10^7 with a
//! million open contacts).
//! Clock deadlines go into one min-heap of timers. A timer is never removed when its clock stops:
//! it is checked against the contact when it comes due and dropped if stale (generation or
//! deadline no longer match). That keeps every stop O(1).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use floorwatch_protocol::{Channel, Priority};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::config::Millis;

pub const SEEN_ANSWERED: u8 = 1;

/// One open contact. Kept small: there may be a million of them.
#[derive(Debug, Clone)]
pub struct Contact {
    /// `id_hash` of the contact's id.
    pub id: u64,
    pub arrived: Millis,
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
    closed: FxHashSet<u64>,
    closed_order: VecDeque<(Millis, u64)>,
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
        self.closed.contains(&id)
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
        let id = self.slots[slot as usize].id;
        self.by_id.remove(&id);
        self.slots[slot as usize].live = false;
        self.slots[slot as usize].due = [0; 3];
        self.free.push(slot);
        if self.closed.insert(id) {
            self.closed_order.push_back((at, id));
        }
    }

    /// Forgets closed ids older than `before` (events that old are refused anyway).
    pub fn forget_closed_before(&mut self, before: Millis) {
        while let Some(&(at, h)) = self.closed_order.front() {
            if at >= before {
                break;
            }
            self.closed.remove(&h);
            self.closed_order.pop_front();
        }
    }

    pub fn schedule(&mut self, t: Timer) {
        self.timers.push(Reverse(t));
    }

    /// The next timer due at or before `now` that still applies to its contact.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.due > now {
                return None;
            }
            self.timers.pop();
            let c = &self.slots[t.slot as usize];
            if !c.live || c.generation != t.generation {
                continue;
            }
            let still = match t.kind {
                TimerKind::Expire => true,
                TimerKind::Approaching(k) | TimerKind::Breach(k) => {
                    c.due[k as usize] != 0 && {
                        // The clock restarted (next response) with another deadline: this timer
                        // belongs to the old one.
                        match t.kind {
                            TimerKind::Breach(_) => c.due[k as usize] == t.due,
                            _ => t.due < c.due[k as usize],
                        }
                    }
                }
            };
            if still {
                return Some(t);
            }
        }
        None
    }
}
