//! The watch engine: where every rule is decided.
//!
//! A synchronous state machine with no IO and no clock of its own. `apply` takes one validated
//! event (its figures are stamped with the event's time); `settle` evaluates the rules of whatever
//! the applied events touched; `tick(now)` moves the clock, fires timers (response clocks,
//! complaint deadlines, holds) and re-evaluates everything. Decisions come out as `Effect`s that
//! the daemon persists and acts on. Replaying the same events with the same ticks gives the same
//! incidents, so tests and `floorwatch replay` need no sleeping.
//!
//! Here: the state and deciding (`settle`, `tick`); `judge.rs` feeds each rule kind its
//! figures. `events.rs` applies events; `feeds.rs` keeps who sends what;
//! `incidents.rs` and `escalation.rs` open, climb and page; `links.rs` raises failing targets;
//! `history.rs` samples each scope's figures for trend lines and charts, and
//! `complaint_board.rs` keeps the board's complaints panel (both only read, never decide);
//! `people.rs` takes people's commands, `restart.rs` takes back what the store kept, and
//! `reading.rs` reads the state out for the live stream and the API.

mod alerts;
mod budget;
pub mod calendar;
mod closed_ids;
mod complaint_board;
mod complaints;
mod contacts;
mod escalation;
mod events;
mod feeds;
mod history;
mod incidents;
mod judge;
mod links;
mod people;
mod queue;
mod reading;
mod restart;
mod weekly;

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{Datelike, TimeZone, Timelike};
use floorwatch_protocol::{
    Channel, ComplaintStep, ContactStep, Grade, Incident, IncidentStatus, Priority, QueueMetrics,
    Severity, Silence, StateSnapshot, TimelineEntry, TimelineKind, Values,
};
use rustc_hash::FxHashMap;

use crate::config::{Clock, Config, Millis, Rule, format_duration};
use crate::rules::burn_rate::{self, Counts};
use crate::rules::complaint_spike::{GroupBy, group_keys};
use crate::rules::predicted::Forecast;
use crate::rules::threshold::{self, TREND_SAMPLE, TREND_SPAN};
use crate::rules::{RuleKind, Thresholds, Verdict};
pub use alerts::{Alert, AlertIn, MAX_ALERTS, Pairs};
use calendar::{Schedule, ms_to_utc};
use complaints::{Complaints, DeadlineTimer, Group, HOUR, OpenComplaint};
use contacts::{Contact, Contacts, SEEN_ANSWERED, Timer, TimerKind, id_hash};
use feeds::Feeds;
pub use feeds::UNNAMED;
use incidents::{Book, Instance, Observation, Phase, Record, RuleView};
pub(crate) use incidents::{Detail, Figures};
pub use incidents::{ENGINE_ACTOR, OUTBOX_ACTOR, SCHEDULE_ACTOR, is_machine};
pub use links::DELIVERY_RULE;
pub use queue::erlang_c_agents;
use queue::{Outcome, QueueState, Reading};

/// One validated event, borrowing its strings from the request body.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    Contact {
        id: &'a str,
        step: ContactStep,
        at: Millis,
        queue: Option<&'a str>,
        channel: Option<Channel>,
        priority: Option<Priority>,
    },
    Queue {
        queue: &'a str,
        at: Millis,
        waiting: Option<u32>,
        longest_wait_ms: Option<Millis>,
        agents_available: Option<u32>,
        agents_busy: Option<u32>,
    },
    Complaint {
        id: &'a str,
        step: ComplaintStep,
        at: Millis,
        channel: Option<Channel>,
        category: Option<&'a str>,
        grade: Option<Grade>,
        text: Option<&'a str>,
    },
    /// A source saying it is alive while it has nothing to report: about one queue, or (no
    /// queue) about every queue it has talked about.
    Heartbeat { at: Millis, queue: Option<&'a str> },
    /// An alert from Prometheus, Grafana or Alertmanager, for the `[[route]]`s.
    Alert(AlertIn<'a>),
}

impl Event<'_> {
    pub fn at(&self) -> Millis {
        match self {
            Event::Contact { at, .. }
            | Event::Queue { at, .. }
            | Event::Complaint { at, .. }
            | Event::Heartbeat { at, .. } => *at,
            Event::Alert(a) => a.at,
        }
    }
}

/// How an event was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    New,
    /// Same identity as an event already applied: harmless, ignored.
    Duplicate,
}

/// Why an event was refused, and which field is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: Option<&'static str>,
    pub reason: String,
}

fn refuse(field: Option<&'static str>, reason: impl Into<String>) -> Refused {
    Refused {
        field,
        reason: reason.into(),
    }
}

/// What the engine decided, for the edges to persist and carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The incident's new state (insert or update).
    Incident(Box<Incident>),
    Timeline(TimelineEntry),
    /// Someone must be told (the log says so; pages go through `Dispatch` and the outbox).
    Notify(Notification),
    /// A learned hour-of-week complaint baseline, to persist.
    Baseline(BaselineRow),
    /// A notification for one target, to write to the outbox and deliver.
    Dispatch(Dispatch),
    /// A silence added or expired, to persist.
    Silence(Silence),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    /// Idempotency key (the receiver's `webhook-id`).
    pub key: floorwatch_protocol::DeliveryKey,
    /// The incident as it was when the notification was decided.
    pub incident: Box<Incident>,
    pub target: floorwatch_protocol::PageTarget,
    pub reason: DispatchReason,
}

/// Why a page was sent (the engine never sends `Test`).
pub use floorwatch_protocol::PageReason as DispatchReason;

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub incident_id: u64,
    pub reason: NotifyReason,
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyReason {
    Opened,
    Raised,
    Resolved,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRow {
    pub rule: String,
    pub group: String,
    pub hour_of_week: u16,
    pub mean: f64,
    pub samples: u32,
}

/// A command from a person that the engine refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no incident #{0}")]
    NotFound(u64),
    #[error("incident #{0} is already resolved")]
    Resolved(u64),
    #[error("incident #{0} is already acknowledged by {1}")]
    AlreadyAcknowledged(u64, String),
    #[error("incident #{0} is not acknowledged")]
    NotAcknowledged(u64),
    #[error("no drill \"{0}\" in the configuration")]
    UnknownDrill(String),
}

/// One rule's state on one queue: a response-time rule's recent breaches and contacts near
/// breach; a predicted service level's latest forecast and when it was made; a trend's samples
/// of its figure.
#[derive(Debug, Default, Clone)]
struct RuleState {
    breaches: VecDeque<Millis>,
    approaching: u32,
    forecast: Option<(Millis, Option<Forecast>)>,
    samples: VecDeque<(Millis, f64)>,
}

/// A forecast is worked out again at most this often: Erlang A is the costly figure.
const FORECAST_EVERY: Millis = 60_000;

struct QueueRt {
    state: QueueState,
    /// Rules watching this queue, by index.
    rules: Vec<u16>,
    /// Per entry of `rules`: its state (response times, forecasts).
    response: Vec<RuleState>,
    scope: u32,
    dirty: bool,
    /// A rule of this queue reads `agents_required` (Erlang C, the costly figure).
    needs_erlang: bool,
    /// A rule of this queue is judged only while a schedule is open.
    seasonal: bool,
    /// The source of the latest reading (an id in `feeds`).
    reading_source: Option<u16>,
}

pub struct Engine {
    cfg: Arc<Config>,
    now: Millis,
    warming: bool,
    schedules: Vec<Schedule>,
    queues: Vec<QueueRt>,
    queue_ix: FxHashMap<Box<str>, u16>,
    dirty: Vec<u16>,
    contacts: Contacts,
    complaints: Complaints,
    /// Per rule index: complaint groups of a spike rule.
    groups: Vec<Vec<Group>>,
    group_ix: FxHashMap<(u16, Box<str>), usize>,
    /// Per rule index: complaints overdue for a deadline rule.
    overdue: Vec<u32>,
    complaints_dirty: bool,
    instances: FxHashMap<(u16, u32), Instance>,
    scopes: Vec<Box<str>>,
    scope_ix: FxHashMap<Box<str>, u32>,
    book: Book,
    /// Who sends what, and how often: dead feeds make their queues stale.
    feeds: Feeds,
    /// Ad hoc silences, active and ended.
    silences: Vec<Silence>,
    /// Each silence's label matchers, compiled.
    silence_matchers: Vec<Vec<crate::matchers::Compiled>>,
    /// Per drill: when its cron next starts it.
    drill_due: Vec<Option<Millis>>,
    /// Hour number (time / 1 h) the baselines are counting, and its hour of the week.
    hour: i64,
    how: usize,
    longest_window: Millis,
    horizon: Millis,
    max_cooldown: Millis,
    /// Each scope's figures over time (trend lines, incident charts).
    history: history::History,
    /// Alerts from elsewhere, for the `[[route]]`s.
    alerts: alerts::Alerts,
    /// The board's complaints panel.
    complaint_board: complaint_board::ComplaintBoard,
}

impl Engine {
    /// A fresh engine whose clock starts at `now`.
    pub fn new(cfg: Arc<Config>, now: Millis) -> Self {
        let n = cfg.rules.len();
        let cfg_group_window = cfg.daemon.group_window;
        let cfg_trend_step = cfg.live.trend_step;
        let board = complaint_board::ComplaintBoard::new(&cfg.rules);
        let mut e = Engine {
            schedules: cfg.schedules.iter().cloned().map(Schedule::new).collect(),
            longest_window: cfg.longest_window(),
            horizon: cfg.state_horizon(),
            max_cooldown: cfg.rules.iter().map(|r| r.cooldown).max().unwrap_or(0),
            cfg,
            now,
            warming: false,
            queues: Vec::new(),
            queue_ix: FxHashMap::default(),
            dirty: Vec::new(),
            contacts: Contacts::default(),
            complaints: Complaints::default(),
            groups: vec![Vec::new(); n],
            group_ix: FxHashMap::default(),
            overdue: vec![0; n],
            complaints_dirty: false,
            instances: FxHashMap::default(),
            scopes: Vec::new(),
            scope_ix: FxHashMap::default(),
            book: Book {
                group_window: cfg_group_window,
                ..Book::default()
            },
            feeds: Feeds::default(),
            silences: Vec::new(),
            silence_matchers: Vec::new(),
            drill_due: Vec::new(),
            hour: now.div_euclid(HOUR),
            how: 0,
            history: history::History::new(cfg_trend_step),
            alerts: alerts::Alerts::default(),
            complaint_board: board,
        };
        e.how = hour_of_week(now, &e.cfg);
        for (i, r) in e.cfg.clone().rules.iter().enumerate() {
            if let RuleKind::ComplaintSpike(s) = &r.kind
                && s.by == GroupBy::All
            {
                e.group(i as u16, "complaints");
            }
        }
        e
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    pub fn now(&self) -> Millis {
        self.now
    }

    /// While warming (replaying the journal after a restart) the engine rebuilds its windows and
    /// clocks but decides nothing: the incidents are restored from the store instead.
    pub fn set_warming(&mut self, warming: bool) {
        if self.warming && !warming {
            // The daemon was away, not the sources: their silence is counted from now.
            self.feeds.restarted(self.now);
        }
        self.warming = warming;
    }

    pub fn open_contacts(&self) -> usize {
        self.contacts.len()
    }

    /// Nothing is open and no rule is part way through a hold: with no events, ticking changes
    /// nothing once `quiet_span` has passed since the last one (windows empty, holds settled).
    /// A replay uses it to skip idle time instead of ticking through it.
    pub fn is_idle(&self) -> bool {
        self.contacts.len() == 0
            && self.complaints.open.is_empty()
            && self.book.open.is_empty()
            && self.alerts.is_empty()
            && self
                .instances
                .values()
                .all(|i| matches!(i.phase, incidents::Phase::Idle))
    }

    /// How long after the last event an idle engine may still change: the longest window and
    /// hold of any rule.
    pub fn quiet_span(&self) -> Millis {
        let holds = self
            .cfg
            .rules
            .iter()
            .map(|r| r.hold.max(r.clear_hold))
            .max()
            .unwrap_or(0);
        let silence = if self
            .cfg
            .rules
            .iter()
            .any(|r| matches!(r.kind, RuleKind::FeedSilence(_)))
        {
            self.cfg.feeds.max_silence
        } else {
            0
        };
        self.longest_window.max(silence) + holds + 60_000
    }

    /// Moves the clock forward without evaluating (time never goes back).
    pub fn set_clock(&mut self, now: Millis) {
        self.now = self.now.max(now);
    }

    fn scope(&mut self, name: &str) -> u32 {
        if let Some(s) = self.scope_ix.get(name) {
            return *s;
        }
        let s = self.scopes.len() as u32;
        self.scopes.push(name.into());
        self.scope_ix.insert(name.into(), s);
        s
    }

    fn group(&mut self, rule: u16, key: &str) -> usize {
        if let Some(g) = self.group_ix.get(&(rule, key.into())) {
            return *g;
        }
        let scope = self.scope(key);
        let list = &mut self.groups[rule as usize];
        list.push(Group::new(key, scope));
        let g = list.len() - 1;
        self.group_ix.insert((rule, key.into()), g);
        g
    }

    /// The queue's index, creating its state on first sight.
    fn queue(&mut self, name: &str) -> Result<u16, Refused> {
        if let Some(q) = self.queue_ix.get(name) {
            return Ok(*q);
        }
        let Some(profile) = self.cfg.queue_profile(name) else {
            return Err(refuse(
                Some("queue"),
                format!("queue \"{name}\" matches no [[queue]] in the configuration"),
            ));
        };
        if self.queues.len() >= self.cfg.daemon.limits.max_queues {
            return Err(refuse(
                Some("queue"),
                format!(
                    "new queue \"{name}\" refused: the limit of {} queues is reached (daemon.limits.max_queues)",
                    self.cfg.daemon.limits.max_queues
                ),
            ));
        }
        let cfg = self.cfg.clone();
        let p = &cfg.queues[profile];
        let rules: Vec<u16> = cfg
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches_queue(name, p.channel))
            .map(|(i, _)| i as u16)
            .collect();
        let scope = self.scope(name);
        let q = self.queues.len() as u16;
        let mut state = QueueState::new(name, profile, p);
        state.advance(self.now);
        let ledger_span = rules
            .iter()
            .filter_map(|r| match &cfg.rules[*r as usize].kind {
                RuleKind::BurnRate(b) => Some(b.span()),
                _ => None,
            })
            .max();
        state.ledger = ledger_span.map(budget::Ledger::new);
        if rules
            .iter()
            .any(|r| matches!(cfg.rules[*r as usize].kind, RuleKind::Predicted(_)))
        {
            state.arrivals = Some(weekly::HourOfWeek::default());
        }
        let needs_erlang = rules.iter().any(|r| {
            cfg.rules[*r as usize]
                .kind
                .metric()
                .is_some_and(|m| m.needs_erlang())
        });
        let seasonal = rules
            .iter()
            .any(|r| cfg.rules[*r as usize].active.is_some());
        self.queues.push(QueueRt {
            needs_erlang,
            seasonal,
            state,
            response: vec![RuleState::default(); rules.len()],
            rules,
            scope,
            dirty: false,
            reading_source: None,
        });
        self.queue_ix.insert(name.into(), q);
        Ok(q)
    }

    fn mark(&mut self, q: u16) {
        let rt = &mut self.queues[q as usize];
        if !rt.dirty {
            rt.dirty = true;
            self.dirty.push(q);
        }
    }

    // ---- deciding ----

    /// Evaluates the rules of everything touched since the last settle.
    pub fn settle(&mut self, fx: &mut Vec<Effect>) {
        let from = fx.len();
        self.settle_rules(fx);
        self.escalate(fx, from);
    }

    fn settle_rules(&mut self, fx: &mut Vec<Effect>) {
        let dirty = std::mem::take(&mut self.dirty);
        for q in &dirty {
            self.queues[*q as usize].dirty = false;
            if !self.warming {
                self.evaluate_queue(*q, fx);
            }
        }
        self.dirty = dirty;
        self.dirty.clear();
        if self.complaints_dirty {
            self.complaints_dirty = false;
            if !self.warming {
                self.evaluate_complaints(fx);
            }
        }
        if !self.warming {
            self.evaluate_alerts(fx);
        }
    }

    /// Moves the clock to `now`, fires what came due, and re-evaluates every rule.
    pub fn tick(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let from = fx.len();
        let since = self.now;
        self.tick_rules(now, fx);
        if !self.warming {
            self.run_drills(since, fx);
            self.advance_escalations(fx);
        }
        self.escalate(fx, from);
    }

    fn tick_rules(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        let now = self.now;
        while let Some(t) = self.contacts.pop_due(now) {
            match t.kind {
                TimerKind::Approaching(k) => {
                    let clock = Clock::ALL[k as usize];
                    self.contacts.get_mut(t.slot).approaching |= 1 << k;
                    self.count_response(t.slot, clock, |r| r.approaching += 1);
                }
                TimerKind::Breach(k) => {
                    let clock = Clock::ALL[k as usize];
                    if clock == Clock::First {
                        self.contacts.get_mut(t.slot).first_breached(t.due);
                    }
                    self.stop_clock(t.slot, clock);
                    let due = t.due;
                    let q = self.contacts.get(t.slot).queue;
                    self.queues[q as usize]
                        .state
                        .record_clock(due, clock, false);
                    self.count_response(t.slot, clock, |r| r.breaches.push_back(due));
                }
                TimerKind::Expire => {
                    for clock in Clock::ALL {
                        self.stop_clock(t.slot, clock);
                    }
                    self.close(t.slot, now, true);
                }
            }
        }
        while let Some(t) = self.complaints.pop_due(now) {
            if let Some(c) = self.complaints.open.get_mut(&t.id) {
                c.overdue_for.push(t.rule);
                self.overdue[t.rule as usize] += 1;
            }
        }
        self.roll_hours(now, fx);
        let cfg = self.cfg.clone();
        for rt in &mut self.queues {
            rt.state.advance(now);
            for (i, r) in rt.rules.iter().enumerate() {
                if let RuleKind::ResponseTime(rr) = &cfg.rules[*r as usize].kind {
                    let b = &mut rt.response[i].breaches;
                    while b.front().is_some_and(|t| *t < now - rr.window) {
                        b.pop_front();
                    }
                }
            }
        }
        for (i, groups) in self.groups.iter_mut().enumerate() {
            if let RuleKind::ComplaintSpike(s) = &cfg.rules[i].kind {
                for g in groups {
                    g.evict(now - s.window);
                }
            }
        }
        self.contacts
            .forget_closed_before(now - self.longest_window);
        self.complaints.forget_closed_before(now - self.horizon);
        self.book.prune_recent(now - self.max_cooldown);
        self.dirty.clear();
        for q in 0..self.queues.len() {
            self.queues[q].dirty = false;
            if !self.warming {
                self.evaluate_queue(q as u16, fx);
            }
        }
        self.complaints_dirty = false;
        if self.warming {
            self.expire_alerts();
        } else {
            self.evaluate_complaints(fx);
            self.evaluate_alerts(fx);
        }
        if let Some(at) = self.history.due(now) {
            self.sample_history(at);
        }
    }

    /// At each new hour, folds the finished hours' complaint counts into the baselines.
    fn roll_hours(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let hour = now.div_euclid(HOUR);
        if hour <= self.hour {
            return;
        }
        let from = self.hour.max(hour - complaints::HOURS_PER_WEEK as i64);
        self.hour = hour;
        self.how = hour_of_week(hour * HOUR, &self.cfg);
        let cfg = self.cfg.clone();
        // Arrival histories and the feeds' paces are learned on a warm-up replay too: the
        // journal is all they have.
        for h in from..hour {
            let how = hour_of_week(h * HOUR, &cfg);
            for q in &mut self.queues {
                if let Some(a) = &mut q.state.arrivals {
                    a.fold(h, how);
                }
            }
            self.feeds.fold(h, how);
        }
        if self.warming {
            return;
        }
        for h in from..hour {
            let how = hour_of_week(h * HOUR, &cfg);
            for (i, groups) in self.groups.iter_mut().enumerate() {
                for g in groups {
                    g.week.fold(h, how);
                    fx.push(Effect::Baseline(BaselineRow {
                        rule: cfg.rules[i].name.clone(),
                        group: g.key.to_string(),
                        hour_of_week: how as u16,
                        mean: g.week.baseline[how],
                        samples: g.week.samples[how],
                    }));
                }
            }
        }
    }
}

/// What a queue rule read, kept for wording it.
enum QueueReading {
    /// The thresholds in force, and the figure's trend (per ms) for rules with one.
    Threshold(Thresholds, Option<f64>),
    /// Breaches in the window, contacts approaching breach.
    Response(u32, u32),
    Burn(burn_rate::Reading),
    Forecast(Option<Forecast>),
    /// Whether a feed is silent is in the queue's figures (`stale`).
    Silence,
}

/// The peak figure of a restored incident, in the rule's direction of worse.
fn badness_of(rule: &Rule, values: &Values) -> f64 {
    match values.get(rule.kind.peak_figure()) {
        Some(v) if rule.kind.fires_below() => -v,
        Some(v) => *v,
        None => f64::NEG_INFINITY,
    }
}

/// Complaints a group usually gets between `from` and `to`: each hour-of-week's rate, weighted
/// by how much of the span falls in that hour (a window often straddles two hours).
fn expected_in(group: &Group, from: Millis, to: Millis, prior: f64, hours: &[(i64, usize)]) -> f64 {
    let mut t = from;
    let mut total = 0.0;
    while t < to {
        let hour = t.div_euclid(HOUR);
        let end = ((hour + 1) * HOUR).min(to);
        let how = hours
            .iter()
            .find(|(h, _)| *h == hour)
            .map(|(_, how)| *how)
            .unwrap_or(0);
        let rate = group.week.rate(hour, how, prior);
        total += rate * (end - t) as f64 / HOUR as f64;
        t = end;
    }
    total
}

/// The hour of the week of each hour number from `from` to `to` (time-zone conversion is the
/// costly part, so it is done once per evaluation, not per group).
fn hours_of_week(from: Millis, to: Millis, cfg: &Config) -> Vec<(i64, usize)> {
    (from.div_euclid(HOUR)..=to.div_euclid(HOUR))
        .map(|h| (h, hour_of_week(h * HOUR, cfg)))
        .collect()
}

/// Hour of the week (Monday 00:00 = 0) in the daemon's time zone.
fn hour_of_week(t: Millis, cfg: &Config) -> usize {
    let local = cfg
        .daemon
        .timezone
        .from_utc_datetime(&ms_to_utc(t).naive_utc());
    local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize
}

/// Three decimals: figures as they are stored and shown.
pub(crate) fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn fmt_time(t: Millis) -> String {
    ms_to_utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests;
