//! A simulated mid-size contact center, for the demo, for recorded traces and for benchmarks.
//!
//! A discrete-event simulation: contacts arrive (Poisson, following the local day's demand
//! curve), wait in queues for a free agent (urgent contacts first, then in arrival order), give
//! up after their patience runs out, and are handled for an exponential handle time. The agents
//! on each queue follow a shift plan (`plan`); e-mail is answered in business hours. Chats trade
//! messages; complaints arrive with categories and grades. A scenario can inject crises and
//! planned changes (`scenarios`), each described by a label (`labels`). Seeded, so a trace is
//! reproducible.

pub mod labels;
pub mod plan;
pub mod receiver;
pub mod scenarios;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use floorwatch_protocol::{
    Channel, ComplaintEvent, ComplaintStep, ContactEvent, ContactStep, Event, Grade, Priority,
    QueueEvent,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Millis;
pub use labels::{Class, Expect, Kind, Label, Labels, labels_path};
pub use plan::Injection;

/// One queue of the simulated center.
#[derive(Debug, Clone)]
pub struct SimQueue {
    pub name: &'static str,
    pub channel: Channel,
    /// Arrivals per hour at the daily peak.
    pub per_hour: f64,
    /// Agents all day without a daily curve; e-mail: the afternoon's team (the morning has
    /// more). With the curve, the shift plan staffs phone and chat from demand.
    pub agents: u32,
    /// Contacts an agent handles at once (chat: several).
    pub concurrency: u32,
    /// Mean time a contact holds an agent (chat: its exchanges, about 4 minutes).
    pub handle_s: f64,
    pub patience_s: f64,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub start: Millis,
    pub duration: Millis,
    pub seed: u64,
    /// The center's time zone: the demand curve, the shift plan and business hours are local.
    pub tz: Tz,
    /// Follow the time of day and week with a shift plan (quiet nights, busy late mornings,
    /// quieter weekends); off for the demo (flat: peak demand, `agents` on each queue).
    pub daily_curve: bool,
    /// `(from, to)` offsets from `start` of an outage.
    pub outage: Option<(Millis, Millis)>,
    /// Crises and planned changes injected (absolute times).
    pub injections: Vec<Injection>,
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
            tz: chrono_tz::Asia::Shanghai,
            daily_curve: true,
            outage: None,
            injections: Vec::new(),
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
                    handle_s: 240.0,
                    patience_s: 240.0,
                },
                SimQueue {
                    name: "email-support",
                    channel: Channel::Email,
                    per_hour: 30.0,
                    agents: 6,
                    concurrency: 1,
                    handle_s: 360.0,
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
        // And a dead feed: the ACD's link for phone-billing drops for four minutes.
        let mut rng = StdRng::seed_from_u64(seed);
        let mut cut = Injection::new(
            Kind::FeedOutage,
            start + 18 * 60_000,
            start + 22 * 60_000,
            &mut rng,
        );
        cut.queues = vec!["phone-billing".into()];
        s.injections.push(cut);
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Arrival(usize),
    Patience(usize, u64),
    Done(usize, u64),
    Reading(usize),
    /// The shift plan (or an absence) changes the agents on duty.
    Staff(usize),
    CustomerReply(usize, u64),
    AgentReply(usize, u64),
    Complaint,
    ComplaintHandled(u64),
}

struct QueueSim {
    /// Waiting contacts and their arrival times: urgent ones are taken first.
    urgent: VecDeque<(u64, Millis)>,
    waiting: VecDeque<(u64, Millis)>,
    /// Contacts being handled (a chat agent holds several).
    busy: u32,
    agents: u32,
    /// Chats: messages left before resolution.
    exchanges: HashMap<u64, u32>,
}

impl QueueSim {
    fn waiting(&self) -> usize {
        self.urgent.len() + self.waiting.len()
    }

    fn oldest(&self) -> Option<Millis> {
        let (a, b) = (self.urgent.front(), self.waiting.front());
        a.into_iter().chain(b).map(|(_, t)| *t).min()
    }

    fn take(&mut self) -> Option<u64> {
        self.urgent
            .pop_front()
            .or_else(|| self.waiting.pop_front())
            .map(|(id, _)| id)
    }

    fn give_up(&mut self, id: u64) -> bool {
        for w in [&mut self.urgent, &mut self.waiting] {
            if let Some(p) = w.iter().position(|(c, _)| *c == id) {
                w.remove(p);
                return true;
            }
        }
        false
    }
}

struct Sim<'a> {
    s: &'a Scenario,
    rng: StdRng,
    heap: BinaryHeap<Reverse<(Millis, u64, Step)>>,
    seq: u64,
    next_id: u64,
    queues: Vec<QueueSim>,
    out: Vec<Event>,
    /// Contacts that arrived while their source was cut off: none of their events reach the
    /// daemon.
    lost: std::collections::HashSet<u64>,
}

/// The source of a channel's events: the ACD (phone contacts and queue readings), the chat
/// platform, the mailbox, the CRM (complaints).
pub fn source_of(channel: Channel) -> &'static str {
    match channel {
        Channel::Phone => "acd-1",
        Channel::Chat => "chat-platform",
        Channel::Email => "mailbox",
        _ => "crm",
    }
}

fn ts(t: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

const CATEGORIES: [&str; 5] = ["billing", "network", "service", "delivery", "other"];

/// How often the agents on duty are looked at: the plan changes on the half hour, an absence
/// on any minute.
const STAFF_EVERY: Millis = 60_000;

impl Sim<'_> {
    fn at(&mut self, t: Millis, step: Step) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, step)));
    }

    fn exp(&mut self, mean_s: f64) -> Millis {
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        (-u.ln() * mean_s * 1000.0) as Millis
    }

    /// A contact's step on queue `q`; `arrival`: its first, with the contact's priority.
    fn contact(
        &mut self,
        id: u64,
        step: ContactStep,
        t: Millis,
        q: usize,
        arrival: Option<Priority>,
    ) {
        if self.s.feed_down(q, t) {
            if arrival.is_some() {
                self.lost.insert(id);
            }
            return;
        }
        if self.lost.contains(&id) {
            return;
        }
        let sq = &self.s.queues[q];
        self.out.push(Event::Contact(ContactEvent {
            id: format!("{}c-{id}", self.s.id_prefix),
            event: step,
            at: ts(t),
            queue: arrival.map(|_| sq.name.to_string()),
            channel: arrival.map(|_| sq.channel),
            priority: arrival,
            source: Some(source_of(sq.channel).into()),
        }));
    }

    /// Starts handling waiting contacts while agents are free.
    fn dispatch(&mut self, q: usize, t: Millis) {
        let cap = self.queues[q].agents * self.s.queues[q].concurrency;
        while self.queues[q].busy < cap {
            let Some(id) = self.queues[q].take() else {
                break;
            };
            self.queues[q].busy += 1;
            let channel = self.s.queues[q].channel;
            match channel {
                Channel::Chat => {
                    self.contact(id, ContactStep::AgentReplied, t, q, None);
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
                    self.contact(id, ContactStep::Answered, t, q, None);
                    let d = self.exp(self.s.queues[q].handle_s);
                    self.at(t + d, Step::Done(q, id));
                }
            }
        }
    }

    fn run(mut self) -> Vec<Event> {
        let (start, end) = (self.s.start, self.s.start + self.s.duration);
        for q in 0..self.s.queues.len() {
            self.queues[q].agents = self.s.staffed(q, start);
            self.at(start, Step::Arrival(q));
            self.at(
                start - start.rem_euclid(STAFF_EVERY) + STAFF_EVERY,
                Step::Staff(q),
            );
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
                    let peak = self.s.peak_per_hour(q) / 3_600_000.0;
                    let keep = self.s.rate_per_hour(q, t) / 3_600_000.0 / peak;
                    if self.rng.random_bool(keep.clamp(0.0, 1.0)) {
                        self.next_id += 1;
                        let id = self.next_id;
                        let urgent = self.rng.random_bool(0.03);
                        let priority = if urgent {
                            Priority::Urgent
                        } else {
                            Priority::Normal
                        };
                        self.contact(id, ContactStep::Arrived, t, q, Some(priority));
                        let w = &mut self.queues[q];
                        if urgent {
                            &mut w.urgent
                        } else {
                            &mut w.waiting
                        }
                        .push_back((id, t));
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
                    if self.queues[q].give_up(id) {
                        self.contact(id, ContactStep::Abandoned, t, q, None);
                    }
                }
                Step::Done(q, id) => {
                    self.contact(id, ContactStep::Resolved, t, q, None);
                    self.queues[q].busy -= 1;
                    self.dispatch(q, t);
                }
                Step::Staff(q) => {
                    self.queues[q].agents = self.s.staffed(q, t);
                    self.dispatch(q, t);
                    self.at(t + STAFF_EVERY, Step::Staff(q));
                }
                Step::CustomerReply(q, id) => {
                    self.contact(id, ContactStep::CustomerReplied, t, q, None);
                    let d = 5_000 + self.exp(40.0);
                    self.at(t + d, Step::AgentReply(q, id));
                }
                Step::AgentReply(q, id) => {
                    self.contact(id, ContactStep::AgentReplied, t, q, None);
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
                Step::Reading(q) if self.s.feed_down(q, t) => {
                    self.at(t + 5_000, Step::Reading(q));
                }
                Step::Reading(q) => {
                    let w = &self.queues[q];
                    // Agents finishing a call after their shift ended still count as busy.
                    self.out.push(Event::Queue(QueueEvent {
                        queue: self.s.queues[q].name.to_string(),
                        at: ts(t),
                        waiting: Some(w.waiting() as u32),
                        longest_wait_s: Some(
                            w.oldest().map(|a| (t - a) as f64 / 1000.0).unwrap_or(0.0),
                        ),
                        agents_available: Some(w.agents.saturating_sub(w.busy)),
                        agents_busy: Some(w.busy),
                        source: Some(source_of(Channel::Phone).into()),
                    }));
                    self.at(t + 5_000, Step::Reading(q));
                }
                Step::Complaint => self.complaint(t),
                Step::ComplaintHandled(id) => {
                    self.out.push(Event::Complaint(ComplaintEvent {
                        id: format!("{}k-{id}", self.s.id_prefix),
                        at: ts(t),
                        event: Some(ComplaintStep::Handled),
                        channel: None,
                        category: None,
                        grade: None,
                        text: None,
                        source: Some(source_of(Channel::Other).into()),
                    }));
                }
            }
        }
        self.out
    }

    fn complaint(&mut self, t: Millis) {
        let outage = self.s.in_outage(t);
        let peak = self.s.peak_complaints_per_hour() / 3_600_000.0;
        let (base, wave) = self.s.complaint_rates(t);
        let extra = wave.map_or(0.0, |(r, _)| r);
        let rate = (base + extra) / 3_600_000.0;
        if self.rng.random_bool((rate / peak).clamp(0.0, 1.0)) {
            self.next_id += 1;
            let id = self.next_id;
            let in_wave = wave.filter(|_| self.rng.random_bool(extra / (base + extra)));
            let category = match in_wave {
                Some((_, c)) => c,
                None if outage && self.rng.random_bool(0.7) => "network",
                None => CATEGORIES[self.rng.random_range(0..CATEGORIES.len())],
            };
            let grade = match self.rng.random_range(0..100) {
                0..80 => Grade::General,
                80..95 => Grade::Key,
                _ => Grade::Urgent,
            };
            let text = if category == "network" && outage {
                "Outage: cannot connect since this morning, nobody answers the phone"
            } else if in_wave.is_some() {
                "Charged twice this month and nobody explains why"
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
                source: Some(source_of(Channel::Other).into()),
            }));
            // Handled within the grade's deadline (1 h, 4 h, 24 h), as a well-run floor does.
            let (mean, deadline) = match grade {
                Grade::Urgent => (900.0, 3_600_000),
                Grade::Key => (3_600.0, 4 * 3_600_000),
                Grade::General => (4.0 * 3_600.0, 24 * 3_600_000),
            };
            let d = self.exp(mean).min(deadline * 9 / 10);
            self.at(t + d, Step::ComplaintHandled(id));
        }
        let d = ((-self.rng.random_range(f64::EPSILON..1.0f64).ln()) / peak) as Millis;
        self.at(t + d.max(1), Step::Complaint);
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
                urgent: VecDeque::new(),
                waiting: VecDeque::new(),
                busy: 0,
                agents: 0,
                exchanges: HashMap::new(),
            })
            .collect(),
        out: Vec::new(),
        lost: Default::default(),
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

    #[test]
    fn readings_show_the_agents_on_duty_and_every_event_is_accepted() {
        use std::collections::HashSet;

        use plan::{HOUR, MINUTE};
        // 08:00-11:00 in Shanghai on a Monday: the morning ramp, with every kind injected.
        let start = 1_795_363_200_000 + 8 * HOUR;
        let mut s = Scenario::mid_size_center(start, 3 * HOUR, 5);
        let mut rng = StdRng::seed_from_u64(1);
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            let from = start + 10 * MINUTE + i as Millis * 20 * MINUTE;
            s.injections
                .push(Injection::new(k, from, from + 20 * MINUTE, &mut rng));
        }
        let events = simulate(&s);
        let mut readings = 0;
        for e in &events {
            if let Event::Queue(r) = e {
                let q = s.queues.iter().position(|q| q.name == r.queue).unwrap();
                let t = r.at.timestamp_millis();
                // Readings come every 5 s; the roster is looked at every minute.
                let on_duty = s.staffed(q, t - t.rem_euclid(STAFF_EVERY));
                let (free, busy) = (r.agents_available.unwrap(), r.agents_busy.unwrap());
                assert!(free + busy >= on_duty, "{r:?}: {on_duty} on duty");
                assert!(
                    free == 0 || free + busy == on_duty,
                    "{r:?}: {on_duty} on duty"
                );
                readings += 1;
            }
        }
        assert!(readings > 4000);
        let arrivals: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Contact(c) if c.event == ContactStep::Arrived => Some(c.id.as_str()),
                Event::Complaint(c) if c.event.is_none() => Some(c.id.as_str()),
                _ => None,
            })
            .collect();
        let unique: HashSet<&&str> = arrivals.iter().collect();
        assert_eq!(unique.len(), arrivals.len(), "ids are unique");

        let cfg = std::sync::Arc::new(
            crate::config::parse_config(crate::config::EMBEDDED, "alerts.toml", None).unwrap(),
        );
        let text = to_ndjson(&events);
        let r = crate::backtest::backtest(&cfg, &[text], None, "test").unwrap();
        assert_eq!(r.refused, 0, "{:?}", r.refusals);
        assert_eq!(r.accepted as usize, events.len());
    }
}
