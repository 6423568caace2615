//! Incidents and the life of a rule on one scope: idle -> pending (breaching, not yet for the hold
//! time) -> firing (an incident is open) -> clearing (back past the clear level, for the clear
//! hold) -> resolved. A rule that breaches again inside its cool-down reopens the same incident
//! instead of paging again.
//!
//! One cause, one page: an incident opening on a scope that already has an open incident, or
//! within `daemon.group_window` of a situation's latest opening, joins that situation. Its lead
//! pages; members are written on the lead's timeline and page only by raising the lead's
//! severity. When the lead clears first, the worst open member takes over its escalation.

use std::collections::BTreeMap;

use floorwatch_protocol::{
    Incident, IncidentStatus, Severity, TimelineEntry, TimelineKind, Values,
};

use super::{Effect, Notification, NotifyReason};
use crate::config::Millis;
use crate::engine::calendar::ms_to_utc;

pub const ENGINE_ACTOR: &str = "engine";
/// Who writes delivery results on timelines.
pub const OUTBOX_ACTOR: &str = "outbox";
/// Who starts a drill on its cron.
pub const SCHEDULE_ACTOR: &str = "schedule";

/// Whether a timeline's actor is Floorwatch itself rather than a person or a token.
pub fn is_machine(actor: &str) -> bool {
    [ENGINE_ACTOR, OUTBOX_ACTOR, SCHEDULE_ACTOR].contains(&actor)
}

/// A rule's latest reading of its scope. Cheap to make: the text and figures for the timeline
/// are only worked out (`detail`) when the state machine writes something.
pub struct Observation<'a> {
    /// The worst severity whose threshold the reading reaches; `None` when not breaching.
    pub level: Option<Severity>,
    /// Back past the clear level (hysteresis): counts towards clearing.
    pub clear: bool,
    /// How bad it is, in a direction where larger is worse (for tracking the peak).
    pub badness: f64,
    pub describe: &'a dyn Fn() -> Detail,
    /// The labels of the alert behind it (a `[[route]]`'s), copied onto an incident it opens.
    pub labels: Option<&'a crate::rules::alert_route::Labels>,
}

impl<'a> Observation<'a> {
    pub fn new(v: crate::rules::Verdict, describe: &'a dyn Fn() -> Detail) -> Self {
        Observation {
            level: v.level,
            clear: v.clear,
            badness: v.badness,
            describe,
            labels: None,
        }
    }

    pub fn detail(&self) -> Detail {
        (self.describe)()
    }
}

/// What an observation says, for titles and timeline entries.
#[derive(Default)]
pub struct Detail {
    pub figures: Figures,
    /// What is wrong in the floor's words, short enough to read across the room, in both
    /// languages: the incident's title on the board and in pages.
    pub title: crate::words::Said,
    /// The same with the figures behind it (thresholds, baselines, p-values): the timeline's.
    pub summary: String,
}

/// A few named figures without allocating a map on every evaluation.
#[derive(Debug, Clone, Default)]
pub struct Figures(pub Vec<(&'static str, f64)>);

impl Figures {
    pub fn to_values(&self) -> Values {
        self.0.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Idle,
    Pending {
        since: Millis,
        level: Severity,
    },
    Firing {
        id: u64,
        clearing_since: Option<Millis>,
    },
}

/// One rule on one scope.
#[derive(Debug, Clone)]
pub struct Instance {
    pub phase: Phase,
    /// The last incident this instance closed, and when: for the flap cool-down.
    pub last_closed: Option<(u64, Millis)>,
    /// The worst badness seen while firing.
    pub peak: f64,
}

impl Default for Instance {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            last_closed: None,
            peak: f64::NEG_INFINITY,
        }
    }
}

/// What the rule is, as far as the state machine needs to know.
pub struct RuleView<'a> {
    pub index: u16,
    pub name: &'a str,
    pub kind: &'static str,
    pub hold: Millis,
    pub clear_hold: Millis,
    pub cooldown: Millis,
    /// Its incidents are their own cause (a dead feed): never folded into a situation.
    pub alone: bool,
    pub runbook: Option<&'a crate::words::Said>,
}

/// What a member of a situation did, as its lead's timeline tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Joined,
    /// Reopened inside its cool-down.
    Back,
    /// Its own severity went up.
    Worse,
}

/// Open incidents, and those resolved recently enough to be reopened by a flapping rule.
#[derive(Debug, Default)]
pub struct Book {
    pub open: BTreeMap<u64, Record>,
    pub recent: BTreeMap<u64, Record>,
    pub next_id: u64,
    /// An incident opening this soon after the latest opening of a situation joins it, whatever
    /// its scope (`daemon.group_window`); one on a scope with an open incident always does.
    pub group_window: Millis,
}

/// An incident as the engine keeps it.
#[derive(Debug, Clone)]
pub struct Record {
    pub incident: Incident,
    pub rule: u16,
    pub scope: u32,
    /// Entries written so far (the next entry's seq is this + 1).
    pub seq: u32,
    /// Paged at least once (a situation hands this on to its next lead).
    pub notified: bool,
    /// A situation's lead: when an incident last opened in it (itself or a member).
    pub last_joined: Millis,
    /// The delivery target this incident is about (a target failing to take pages): it is not
    /// paged about itself.
    pub unreachable: Option<floorwatch_protocol::PageTarget>,
    /// Its own cause (a drill, a dead feed, a failing target): it neither joins a situation nor
    /// gathers one.
    pub alone: bool,
}

impl Record {
    /// A record of an incident no `[[rule]]` decides (a drill, a failing delivery target),
    /// opened now.
    pub fn unruled(incident: Incident, scope: u32, now: Millis) -> Self {
        Record {
            incident,
            rule: u16::MAX,
            scope,
            seq: 0,
            notified: false,
            last_joined: now,
            unreachable: None,
            alone: true,
        }
    }
}

impl Book {
    pub fn entry(
        rec: &mut Record,
        at: Millis,
        actor: &str,
        kind: TimelineKind,
        message: String,
        values: Values,
        fx: &mut Vec<Effect>,
    ) {
        rec.seq += 1;
        rec.incident.updated_at = ms_to_utc(at);
        fx.push(Effect::Timeline(TimelineEntry {
            incident_id: rec.incident.id,
            seq: rec.seq,
            at: ms_to_utc(at),
            actor: actor.to_string(),
            kind,
            message,
            values,
        }));
    }

    pub fn notify(rec: &mut Record, reason: NotifyReason, fx: &mut Vec<Effect>) {
        // A member of a situation is paged through its lead.
        if rec.incident.situation.is_some() {
            return;
        }
        rec.notified = true;
        fx.push(Effect::Notify(Notification {
            incident_id: rec.incident.id,
            reason,
            severity: rec.incident.severity,
        }));
    }

    /// Advances one instance with a new observation.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        inst: &mut Instance,
        rule: &RuleView,
        scope: u32,
        scope_name: &str,
        obs: Option<&Observation>,
        now: Millis,
        fx: &mut Vec<Effect>,
    ) {
        match inst.phase {
            Phase::Idle => {
                if let Some(o) = obs.filter(|o| o.level.is_some()) {
                    let level = o.level.unwrap();
                    if rule.hold == 0 {
                        self.fire(inst, rule, scope, scope_name, o, level, now, fx);
                    } else {
                        inst.phase = Phase::Pending { since: now, level };
                    }
                }
            }
            Phase::Pending { since, level } => match obs {
                None => {}
                Some(o) => match o.level {
                    None => inst.phase = Phase::Idle,
                    Some(l) => {
                        let level = level.max(l);
                        if now - since >= rule.hold {
                            self.fire(inst, rule, scope, scope_name, o, l, now, fx);
                        } else {
                            inst.phase = Phase::Pending { since, level };
                        }
                    }
                },
            },
            Phase::Firing { id, clearing_since } => {
                let Some(o) = obs else { return };
                let Some(rec) = self.open.get_mut(&id) else {
                    // Resolved by a person meanwhile.
                    inst.phase = Phase::Idle;
                    return;
                };
                // A new peak is kept once it is 2% past the old one: a figure creeping up every
                // tick (the oldest wait) would otherwise rewrite the incident on every tick.
                if o.badness > inst.peak + (inst.peak.abs() * 0.02).max(1e-9) {
                    inst.peak = o.badness;
                    rec.incident.values_at_peak = o.detail().figures.to_values();
                    rec.incident.peak_at = Some(ms_to_utc(now));
                    fx.push(Effect::Incident(Box::new(rec.incident.clone())));
                }
                if let Some(level) = o.level {
                    inst.phase = Phase::Firing {
                        id,
                        clearing_since: None,
                    };
                    if level > rec.incident.severity {
                        let d = o.detail();
                        Book::raise(rec, level, &d, None, now, fx);
                        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
                        // A member pages by raising its situation.
                        if let Some(lead) = rec.incident.situation {
                            self.raise_lead(lead, id, level, &d, Change::Worse, now, fx);
                        }
                    }
                } else if o.clear {
                    let since = clearing_since.unwrap_or(now);
                    if now - since >= rule.clear_hold {
                        self.resolve(id, now, ENGINE_ACTOR, Some(o), fx);
                        inst.phase = Phase::Idle;
                        inst.last_closed = Some((id, now));
                    } else {
                        inst.phase = Phase::Firing {
                            id,
                            clearing_since: Some(since),
                        };
                    }
                } else {
                    inst.phase = Phase::Firing {
                        id,
                        clearing_since: None,
                    };
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fire(
        &mut self,
        inst: &mut Instance,
        rule: &RuleView,
        scope: u32,
        scope_name: &str,
        o: &Observation,
        level: Severity,
        now: Millis,
        fx: &mut Vec<Effect>,
    ) {
        inst.peak = o.badness;
        let d = o.detail();
        let values = d.figures.to_values();
        // Flapping: the same incident comes back inside the cool-down, without a new page.
        if let Some((old, closed_at)) = inst.last_closed
            && now - closed_at < rule.cooldown
            && let Some(mut rec) = self.recent.remove(&old)
        {
            let inc = &mut rec.incident;
            inc.status = IncidentStatus::Firing;
            inc.resolved_at = None;
            inc.resolved_by = None;
            inc.values_at_close = None;
            inc.reopened += 1;
            let was = inc.severity;
            Book::entry(
                &mut rec,
                now,
                ENGINE_ACTOR,
                TimelineKind::Reopened,
                format!(
                    "breached again {} after clearing, inside the {} cool-down: reopened, not paged again at the same severity. {}",
                    crate::config::format_duration(now - closed_at),
                    crate::config::format_duration(rule.cooldown),
                    d.summary
                ),
                values.clone(),
                fx,
            );
            let lead = rec.incident.situation.filter(|l| self.open.contains_key(l));
            rec.incident.situation = lead;
            if let Some(lead) = lead {
                self.raise_lead(lead, old, level, &d, Change::Back, now, fx);
            }
            // Back worse than it was: those its new severity pages were never told.
            if level > was {
                Book::raise(&mut rec, level, &d, None, now, fx);
            }
            fx.push(Effect::Incident(Box::new(rec.incident.clone())));
            self.open.insert(old, rec);
            inst.phase = Phase::Firing {
                id: old,
                clearing_since: None,
            };
            return;
        }
        self.next_id += 1;
        let id = self.next_id;
        let at = ms_to_utc(now);
        let mut incident = Incident::new(
            id,
            rule.name.to_string(),
            rule.kind.to_string(),
            scope_name.to_string(),
            level,
            d.title.en.clone(),
            at,
            values.clone(),
        );
        incident.set_title(&d.title);
        incident.runbook = rule.runbook.cloned();
        if let Some(labels) = o.labels {
            incident.labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        let mut rec = Record {
            incident,
            rule: rule.index,
            scope,
            seq: 0,
            notified: false,
            last_joined: now,
            unreachable: None,
            alone: rule.alone,
        };
        let held = if rule.hold > 0 {
            format!(" (held {})", crate::config::format_duration(rule.hold))
        } else {
            String::new()
        };
        Book::entry(
            &mut rec,
            now,
            ENGINE_ACTOR,
            TimelineKind::Opened,
            format!("{level}: {}{held}", d.summary),
            values.clone(),
            fx,
        );
        // One cause, one page: an incident on a scope already in trouble, or opening right
        // after another, joins that situation instead of paging on its own.
        if let Some(lead) = self.situation_for(scope, now).filter(|_| !rule.alone) {
            rec.incident.situation = Some(lead);
            Book::entry(
                &mut rec,
                now,
                ENGINE_ACTOR,
                TimelineKind::Joined,
                format!("part of situation #{lead}: recorded on its timeline, paged through it"),
                Values::new(),
                fx,
            );
            fx.push(Effect::Incident(Box::new(rec.incident.clone())));
            self.open.insert(id, rec);
            inst.phase = Phase::Firing {
                id,
                clearing_since: None,
            };
            self.raise_lead(lead, id, level, &d, Change::Joined, now, fx);
            return;
        }
        Book::notify(&mut rec, NotifyReason::Opened, fx);
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        self.open.insert(id, rec);
        inst.phase = Phase::Firing {
            id,
            clearing_since: None,
        };
    }

    /// Raises an incident to `level` in `d`'s words (`by`: the member of its situation that got
    /// worse), and pages the raise.
    fn raise(
        rec: &mut Record,
        level: Severity,
        d: &Detail,
        by: Option<u64>,
        now: Millis,
        fx: &mut Vec<Effect>,
    ) {
        let from = rec.incident.severity;
        rec.incident.severity = level;
        rec.incident.set_title(&d.title);
        let by = by.map(|id| format!(" by #{id}")).unwrap_or_default();
        Book::entry(
            rec,
            now,
            ENGINE_ACTOR,
            TimelineKind::SeverityRaised,
            format!("{from} -> {level}{by}: {}", d.summary),
            d.figures.to_values(),
            fx,
        );
        Book::notify(rec, NotifyReason::Raised, fx);
    }

    /// The situation an incident opening now on `scope` joins: the one with an incident open
    /// on the same scope, else the one whose latest opening is within the group window.
    fn situation_for(&self, scope: u32, now: Millis) -> Option<u64> {
        let lead_of = |r: &Record| r.incident.situation.unwrap_or(r.incident.id);
        let same_scope = self
            .open
            .values()
            .find(|r| r.scope == scope && !r.alone)
            .map(lead_of);
        same_scope.or_else(|| {
            self.open
                .values()
                .filter(|r| {
                    r.incident.situation.is_none()
                        && !r.alone
                        && self.group_window > 0
                        && now - r.last_joined <= self.group_window
                })
                .max_by_key(|r| r.last_joined)
                .map(|r| r.incident.id)
        })
    }

    /// Writes what member `id` did on its lead's timeline, and raises the situation when the
    /// member is worse than it: that raise is what pages.
    #[allow(clippy::too_many_arguments)]
    fn raise_lead(
        &mut self,
        lead: u64,
        id: u64,
        level: Severity,
        d: &Detail,
        change: Change,
        now: Millis,
        fx: &mut Vec<Effect>,
    ) {
        let Some(rec) = self.open.get_mut(&lead) else {
            return;
        };
        if change != Change::Worse {
            rec.last_joined = now;
        }
        let what = match change {
            Change::Joined => "joined the situation",
            Change::Back => "is back in the situation",
            Change::Worse => "got worse",
        };
        Book::entry(
            rec,
            now,
            ENGINE_ACTOR,
            TimelineKind::Joined,
            format!("#{id} {what}: {level}: {}", d.summary),
            d.figures.to_values(),
            fx,
        );
        if level > rec.incident.severity {
            Book::raise(rec, level, d, Some(id), now, fx);
        }
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
    }

    /// A resolved lead hands its situation to the worst member still open, which carries on
    /// where it stood (paged or not, acknowledged or not, its escalation): nobody is paged
    /// again and nobody is told "resolved" while part of the situation goes on. `None` when no
    /// member is open.
    fn hand_over(&mut self, old: &mut Record, now: Millis, fx: &mut Vec<Effect>) -> Option<u64> {
        let old_id = old.incident.id;
        let members: Vec<u64> = self
            .open
            .values()
            .filter(|r| r.incident.situation == Some(old_id))
            .map(|r| r.incident.id)
            .collect();
        let next = *members.iter().max_by_key(|m| {
            let i = &self.open[m].incident;
            (i.severity, std::cmp::Reverse(i.id))
        })?;
        let worst = members
            .iter()
            .map(|m| self.open[m].incident.severity)
            .max()
            .unwrap_or(Severity::Info);
        for m in members.iter().filter(|m| **m != next) {
            let member = &mut self.open.get_mut(m).unwrap().incident;
            member.situation = Some(next);
            fx.push(Effect::Incident(Box::new(member.clone())));
        }
        let rec = self.open.get_mut(&next).unwrap();
        let inc = &mut rec.incident;
        inc.situation = None;
        inc.severity = inc.severity.max(worst);
        inc.escalation = old.incident.escalation.take();
        if old.incident.status == IncidentStatus::Acknowledged {
            inc.status = IncidentStatus::Acknowledged;
            inc.acknowledged_at = old.incident.acknowledged_at;
            inc.acknowledged_by = old.incident.acknowledged_by.clone();
        }
        rec.notified = old.notified;
        rec.last_joined = old.last_joined;
        Book::entry(
            rec,
            now,
            ENGINE_ACTOR,
            TimelineKind::Joined,
            format!(
                "leads the situation now: #{old_id} cleared, {} incident{} still open",
                members.len(),
                if members.len() == 1 { "" } else { "s" }
            ),
            Values::new(),
            fx,
        );
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        Book::entry(
            old,
            now,
            ENGINE_ACTOR,
            TimelineKind::Note,
            format!("the situation goes on under #{next}"),
            Values::new(),
            fx,
        );
        Some(next)
    }

    /// Closes an incident (by the engine or a person); a situation's lead hands it over.
    pub fn resolve(
        &mut self,
        id: u64,
        now: Millis,
        actor: &str,
        o: Option<&Observation>,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let Some(mut rec) = self.open.remove(&id) else {
            return false;
        };
        let inc = &mut rec.incident;
        inc.status = IncidentStatus::Resolved;
        inc.resolved_at = Some(ms_to_utc(now));
        inc.resolved_by = Some(actor.to_string());
        let d = o.map(|o| o.detail());
        inc.values_at_close = d.as_ref().map(|d| d.figures.to_values());
        let message = match &d {
            Some(d) => format!("cleared: {}", d.summary),
            None => format!("resolved by {actor}"),
        };
        let values = inc.values_at_close.clone().unwrap_or_default();
        Book::entry(
            &mut rec,
            now,
            actor,
            TimelineKind::Resolved,
            message,
            values,
            fx,
        );
        let handed_over = match rec.incident.situation {
            Some(lead) => {
                if let Some(l) = self.open.get_mut(&lead) {
                    Book::entry(
                        l,
                        now,
                        actor,
                        TimelineKind::Note,
                        format!("#{id} of the situation cleared"),
                        Values::new(),
                        fx,
                    );
                }
                true
            }
            None => self.hand_over(&mut rec, now, fx).is_some(),
        };
        if rec.notified && !handed_over {
            Book::notify(&mut rec, NotifyReason::Resolved, fx);
        }
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        self.recent.insert(id, rec);
        true
    }

    /// Forgets resolved incidents whose cool-down is over.
    pub fn prune_recent(&mut self, before: Millis) {
        self.recent.retain(|_, r| {
            r.incident
                .resolved_at
                .map(|t| t.timestamp_millis())
                .unwrap_or(0)
                >= before
        });
    }
}
