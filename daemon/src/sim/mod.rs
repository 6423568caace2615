//! A simulated mid-size contact center, for the demo, for recorded traces and for benchmarks.
//!
//! A discrete-event simulation: contacts arrive (Poisson, following a daily curve), wait in FIFO
//! queues for a free agent, give up after their patience runs out, and are handled for an
//! exponential handle time. Chats trade messages; e-mails are answered hours later; complaints
//! arrive with categories and grades. A scenario can play an outage: arrivals x3 and complaints
//! x8 for a while, then recovery. Seeded, so a trace is reproducible.

pub mod receiver;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, Timelike, Utc};
use floorwatch_protocol::{
    Channel, ComplaintEvent, ComplaintStep, ContactEvent, ContactStep, Event, Grade, Priority,
    QueueEvent,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Millis;

/// One queue of the simulated center.
#[derive(Debug, Clone)]
pub struct SimQueue {
    pub name: &'static str,
    pub channel: Channel,
    /// Arrivals per hour at the daily peak.
    pub per_hour: f64,
    pub agents: u32,
    /// Contacts an agent handles at once (chat: several).
    pub concurrency: u32,
    pub handle_s: f64,
    pub patience_s: f64,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub start: Millis,
    pub duration: Millis,
    pub seed: u64,
    /// Follow the time of day (quiet nights, busy late mornings); off for the demo.
    pub daily_curve: bool,
    /// `(from, to)` offsets from `start` of an outage.
    pub outage: Option<(Millis, Millis)>,
    pub arrivals_factor: f64,
    pub complaints_factor: f64,
    pub complaints_per_hour: f64,
    /// Prefix of contact and complaint ids, so traces can follow each other.
    pub id_prefix: String,
    pub queues: Vec<SimQueue>,
}

impl Scenario {
    /// The center the repository's alerts.toml describes.
    pub fn mid_size_center(start: Millis, duration: Millis, seed: u64) -> Self {
        Scenario {
            start,
            duration,
            seed,
            daily_curve: true,
            outage: None,
            arrivals_factor: 3.0,
            complaints_factor: 8.0,
            complaints_per_hour: 12.0,
            id_prefix: String::new(),
            queues: vec![
                SimQueue {
                    name: "phone-general",
                    channel: Channel::Phone,
                    per_hour: 900.0,
                    agents: 52,
                    concurrency: 1,
                    handle_s: 180.0,
                    patience_s: 150.0,
                },
                SimQueue {
                    name: "phone-billing",
                    channel: Channel::Phone,
                    per_hour: 300.0,
                    agents: 24,
                    concurrency: 1,
                    handle_s: 240.0,
                    patience_s: 180.0,
                },
                SimQueue {
                    name: "chat-support",
                    channel: Channel::Chat,
                    per_hour: 360.0,
                    agents: 18,
                    concurrency: 2,
                    handle_s: 420.0,
                    patience_s: 240.0,
                },
                SimQueue {
                    name: "email-support",
                    channel: Channel::Email,
                    per_hour: 60.0,
                    agents: 6,
                    concurrency: 1,
                    handle_s: 3600.0,
                    patience_s: f64::INFINITY,
                },
            ],
        }
    }

    /// The demo's crisis: 5 quiet minutes, an 8-minute outage, then recovery.
    pub fn outage_demo(start: Millis, seed: u64) -> Self {
        let mut s = Self::mid_size_center(start, 30 * 60_000, seed);
        s.daily_curve = false;
        s.outage = Some((5 * 60_000, 13 * 60_000));
        s
    }

    fn in_outage(&self, t: Millis) -> bool {
        self.outage
            .is_some_and(|(a, b)| t >= self.start + a && t < self.start + b)
    }

    fn curve(&self, t: Millis) -> f64 {
        if !self.daily_curve {
            return 1.0;
        }
        let h = DateTime::<Utc>::from_timestamp_millis(t).unwrap_or_default();
        let hour = h.hour() as f64 + h.minute() as f64 / 60.0;
        // Quiet at night, ramp from 07:00, peak late morning and mid-afternoon.
        match hour {
            x if x < 7.0 => 0.08,
            x if x < 9.0 => 0.08 + (x - 7.0) * 0.42,
            x if x < 12.0 => 1.0,
            x if x < 13.5 => 0.75,
            x if x < 17.0 => 0.95,
            x if x < 21.0 => 0.95 - (x - 17.0) * 0.2,
            _ => 0.15,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Arrival(usize),
    Patience(usize, u64),
    Done(usize, u64),
    Reading(usize),
    CustomerReply(usize, u64),
    AgentReply(usize, u64),
    Complaint,
    ComplaintHandled(u64),
}

struct QueueSim {
    waiting: VecDeque<(u64, Millis)>,
    busy: u32,
    /// Chats: messages left before resolution.
    exchanges: HashMap<u64, u32>,
}

struct Sim<'a> {
    s: &'a Scenario,
    rng: StdRng,
    heap: BinaryHeap<Reverse<(Millis, u64, Step)>>,
    seq: u64,
    next_id: u64,
    queues: Vec<QueueSim>,
    out: Vec<Event>,
}

fn ts(t: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

const CATEGORIES: [&str; 5] = ["billing", "network", "service", "delivery", "other"];

impl Sim<'_> {
    fn at(&mut self, t: Millis, step: Step) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, step)));
    }

    fn exp(&mut self, mean_s: f64) -> Millis {
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        (-u.ln() * mean_s * 1000.0) as Millis
    }

    fn contact(&mut self, id: u64, step: ContactStep, t: Millis, q: Option<usize>) {
        let queue = q.map(|q| self.s.queues[q].name.to_string());
        let channel = q.map(|q| self.s.queues[q].channel);
        let priority = q.map(|_| {
            if self.rng.random_bool(0.03) {
                Priority::Urgent
            } else {
                Priority::Normal
            }
        });
        self.out.push(Event::Contact(ContactEvent {
            id: format!("{}c-{id}", self.s.id_prefix),
            event: step,
            at: ts(t),
            queue,
            channel,
            priority,
        }));
    }

    fn rate_per_ms(&self, q: usize, t: Millis) -> f64 {
        let mut r = self.s.queues[q].per_hour * self.s.curve(t);
        if self.s.in_outage(t) {
            r *= self.s.arrivals_factor;
        }
        r / 3_600_000.0
    }

    /// Starts handling waiting contacts while agents are free.
    fn dispatch(&mut self, q: usize, t: Millis) {
        let cap = self.s.queues[q].agents * self.s.queues[q].concurrency;
        while self.queues[q].busy < cap {
            let Some((id, _)) = self.queues[q].waiting.pop_front() else {
                break;
            };
            self.queues[q].busy += 1;
            let channel = self.s.queues[q].channel;
            match channel {
                Channel::Chat => {
                    self.contact(id, ContactStep::AgentReplied, t, None);
                    let n = self.rng.random_range(1..=3);
                    self.queues[q].exchanges.insert(id, n);
                    let d = self.exp(60.0);
                    self.at(t + d, Step::CustomerReply(q, id));
                }
                Channel::Email => {
                    let d = self.exp(self.s.queues[q].handle_s);
                    self.at(t + d, Step::AgentReply(q, id));
                }
                _ => {
                    self.contact(id, ContactStep::Answered, t, None);
                    let d = self.exp(self.s.queues[q].handle_s);
                    self.at(t + d, Step::Done(q, id));
                }
            }
        }
    }

    fn run(mut self) -> Vec<Event> {
        let (start, end) = (self.s.start, self.s.start + self.s.duration);
        for q in 0..self.s.queues.len() {
            self.at(start, Step::Arrival(q));
            if self.s.queues[q].channel == Channel::Phone {
                self.at(start, Step::Reading(q));
            }
        }
        self.at(start, Step::Complaint);
        while let Some(Reverse((t, _, step))) = self.heap.pop() {
            if t >= end {
                break;
            }
            match step {
                Step::Arrival(q) => {
                    // Thinning: draw at the peak rate, keep in proportion to the current rate.
                    let peak = self.s.queues[q].per_hour * self.s.arrivals_factor / 3_600_000.0;
                    let keep = self.rate_per_ms(q, t) / peak;
                    if self.rng.random_bool(keep.clamp(0.0, 1.0)) {
                        self.next_id += 1;
                        let id = self.next_id;
                        self.contact(id, ContactStep::Arrived, t, Some(q));
                        self.queues[q].waiting.push_back((id, t));
                        let patience = self.s.queues[q].patience_s;
                        if patience.is_finite() {
                            let d = self.exp(patience);
                            self.at(t + d, Step::Patience(q, id));
                        }
                        self.dispatch(q, t);
                    }
                    let d = ((-self.rng.random_range(f64::EPSILON..1.0f64).ln()) / peak) as Millis;
                    self.at(t + d.max(1), Step::Arrival(q));
                }
                Step::Patience(q, id) => {
                    if let Some(p) = self.queues[q].waiting.iter().position(|(w, _)| *w == id) {
                        self.queues[q].waiting.remove(p);
                        self.contact(id, ContactStep::Abandoned, t, None);
                    }
                }
                Step::Done(q, id) => {
                    self.contact(id, ContactStep::Resolved, t, None);
                    self.queues[q].busy -= 1;
                    self.dispatch(q, t);
                }
                Step::CustomerReply(q, id) => {
                    self.contact(id, ContactStep::CustomerReplied, t, None);
                    let d = 5_000 + self.exp(40.0);
                    self.at(t + d, Step::AgentReply(q, id));
                }
                Step::AgentReply(q, id) => {
                    self.contact(id, ContactStep::AgentReplied, t, None);
                    let left = self.queues[q].exchanges.get(&id).copied().unwrap_or(0);
                    if left > 1 {
                        self.queues[q].exchanges.insert(id, left - 1);
                        let d = self.exp(60.0);
                        self.at(t + d, Step::CustomerReply(q, id));
                    } else {
                        self.queues[q].exchanges.remove(&id);
                        let d = self.exp(30.0);
                        self.at(t + d, Step::Done(q, id));
                    }
                }
                Step::Reading(q) => {
                    let sq = &self.s.queues[q];
                    let w = &self.queues[q];
                    self.out.push(Event::Queue(QueueEvent {
                        queue: sq.name.to_string(),
                        at: ts(t),
                        waiting: Some(w.waiting.len() as u32),
                        longest_wait_s: Some(
                            w.waiting
                                .front()
                                .map(|(_, a)| (t - a) as f64 / 1000.0)
                                .unwrap_or(0.0),
                        ),
                        agents_available: Some(sq.agents.saturating_sub(w.busy)),
                        agents_busy: Some(w.busy.min(sq.agents)),
                    }));
                    self.at(t + 5_000, Step::Reading(q));
                }
                Step::Complaint => {
                    let outage = self.s.in_outage(t);
                    let factor = if outage {
                        self.s.complaints_factor
                    } else {
                        1.0
                    };
                    let peak = self.s.complaints_per_hour * self.s.complaints_factor / 3_600_000.0;
                    let rate = self.s.complaints_per_hour * self.s.curve(t) * factor / 3_600_000.0;
                    if self.rng.random_bool((rate / peak).clamp(0.0, 1.0)) {
                        self.next_id += 1;
                        let id = self.next_id;
                        let category = if outage && self.rng.random_bool(0.7) {
                            "network"
                        } else {
                            CATEGORIES[self.rng.random_range(0..CATEGORIES.len())]
                        };
                        let grade = match self.rng.random_range(0..100) {
                            0..80 => Grade::General,
                            80..95 => Grade::Key,
                            _ => Grade::Urgent,
                        };
                        let text = if category == "network" && outage {
                            "Outage: cannot connect since this morning, nobody answers the phone"
                        } else {
                            "Not satisfied with how my request was handled"
                        };
                        let channels = [
                            Channel::Phone,
                            Channel::Chat,
                            Channel::Email,
                            Channel::Social,
                        ];
                        let channel = channels[self.rng.random_range(0..channels.len())];
                        self.out.push(Event::Complaint(ComplaintEvent {
                            id: format!("{}k-{id}", self.s.id_prefix),
                            at: ts(t),
                            event: None,
                            channel: Some(channel),
                            category: Some(category.into()),
                            grade: Some(grade),
                            text: Some(text.into()),
                        }));
                        let handle = match grade {
                            Grade::Urgent => 1_800.0,
                            Grade::Key => 3_600.0,
                            Grade::General => 4.0 * 3_600.0,
                        };
                        let d = self.exp(handle);
                        self.at(t + d, Step::ComplaintHandled(id));
                    }
                    let d = ((-self.rng.random_range(f64::EPSILON..1.0f64).ln()) / peak) as Millis;
                    self.at(t + d.max(1), Step::Complaint);
                }
                Step::ComplaintHandled(id) => {
                    self.out.push(Event::Complaint(ComplaintEvent {
                        id: format!("{}k-{id}", self.s.id_prefix),
                        at: ts(t),
                        event: Some(ComplaintStep::Handled),
                        channel: None,
                        category: None,
                        grade: None,
                        text: None,
                    }));
                }
            }
        }
        self.out
    }
}

/// Runs a scenario and returns its events in time order.
pub fn simulate(s: &Scenario) -> Vec<Event> {
    let sim = Sim {
        s,
        rng: StdRng::seed_from_u64(s.seed),
        heap: BinaryHeap::new(),
        seq: 0,
        next_id: 0,
        queues: s
            .queues
            .iter()
            .map(|_| QueueSim {
                waiting: VecDeque::new(),
                busy: 0,
                exchanges: HashMap::new(),
            })
            .collect(),
        out: Vec::new(),
    };
    sim.run()
}

/// Events as NDJSON, one a line.
pub fn to_ndjson(events: &[Event]) -> String {
    let mut out = String::with_capacity(events.len() * 140);
    for e in events {
        out.push_str(&serde_json::to_string(e).expect("events serialise"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_ordered() {
        let s = Scenario::outage_demo(1_795_000_000_000, 7);
        let a = simulate(&s);
        let b = simulate(&s);
        assert_eq!(a, b, "same seed, same trace");
        assert!(a.windows(2).all(|w| w[0].at() <= w[1].at()), "time order");
        let complaints_in = |from: Millis, to: Millis| {
            a.iter()
                .filter(|e| matches!(e, Event::Complaint(c) if c.event.is_none()))
                .filter(|e| (from..to).contains(&(e.at().timestamp_millis() - s.start)))
                .count()
        };
        // The outage (8 min at x8) brings far more complaints than the 5 quiet minutes.
        assert!(complaints_in(5 * 60_000, 13 * 60_000) > 3 * complaints_in(0, 5 * 60_000).max(1));
    }
}
