//! Escalation: an incident that nobody acknowledges climbs its policy's levels on time.
//!
//! Driven by the engine's own notifications (opened, raised, resolved) and by the clock. Each
//! step is a timeline entry and one `Dispatch` effect per target, which the daemon writes to the
//! durable outbox in the same transaction as the entry.

use floorwatch_protocol::{EscalationState, IncidentStatus, Silence, TimelineKind, Values};

use super::calendar::ms_to_utc;
use super::incidents::{Book, ENGINE_ACTOR, Record};
use floorwatch_protocol::{DeliveryKey, PageTarget};

use super::{Dispatch, DispatchReason, Effect, Engine, NotifyReason};
use crate::config::{Config, format_duration, glob_match};

impl Engine {
    /// Carries out the notifications pushed onto `fx` since `from`.
    pub(super) fn escalate(&mut self, fx: &mut Vec<Effect>, from: usize) {
        let notes: Vec<_> = fx[from..]
            .iter()
            .filter_map(|f| match f {
                Effect::Notify(n) => Some((n.incident_id, n.reason)),
                _ => None,
            })
            .collect();
        for (id, reason) in notes {
            let cfg = self.cfg.clone();
            let now = self.now;
            if self.incident(id).is_none() {
                continue;
            }
            let muted = self.muted_by(id);
            let (rec, open) = match self.book.open.get_mut(&id) {
                Some(r) => (r, true),
                None => match self.book.recent.get_mut(&id) {
                    Some(r) => (r, false),
                    None => continue,
                },
            };
            if muted.is_some() && reason != NotifyReason::Resolved {
                if rec.incident.silenced_by.is_none() {
                    let m = muted.clone().unwrap_or_default();
                    rec.incident.silenced_by = muted;
                    Book::entry(
                        rec,
                        now,
                        ENGINE_ACTOR,
                        TimelineKind::Note,
                        format!("silenced by {m}: recorded, nobody paged"),
                        Values::new(),
                        fx,
                    );
                    fx.push(Effect::Incident(Box::new(rec.incident.clone())));
                }
                continue;
            }
            match (reason, rec.incident.escalation.is_some()) {
                (NotifyReason::Opened, false) | (NotifyReason::Raised, false) if open => {
                    climb(rec, &cfg, now, 0, DispatchReason::Opened, fx)
                }
                (NotifyReason::Raised, true) => {
                    tell_all(rec, now, DispatchReason::Raised, fx);
                    // Raised into another policy (a crisis team): its first level now, not when
                    // the old policy's wait runs out.
                    let climbing = rec.incident.escalation.as_ref().map(|e| e.policy.as_str());
                    if open
                        && let Some(p) = policy(&cfg, rec)
                        && climbing != Some(cfg.escalations[p].name.as_str())
                    {
                        climb(rec, &cfg, now, 0, DispatchReason::Raised, fx);
                    }
                }
                (NotifyReason::Resolved, true) => tell_all(rec, now, DispatchReason::Resolved, fx),
                _ => {}
            }
        }
    }

    /// Moves every unacknowledged incident whose level has waited long enough up one level.
    pub(super) fn advance_escalations(&mut self, fx: &mut Vec<Effect>) {
        self.review_silences(fx);
        let cfg = self.cfg.clone();
        let now = self.now;
        for rec in self.book.open.values_mut() {
            let Some(esc) = &rec.incident.escalation else {
                continue;
            };
            if rec.incident.status != IncidentStatus::Firing
                || rec.incident.silenced_by.is_some()
                || esc.next_at.is_none_or(|t| t.timestamp_millis() > now)
            {
                continue;
            }
            let level = esc.level as usize;
            climb(rec, &cfg, now, level, DispatchReason::Escalated, fx);
        }
    }

    /// Takes an acknowledgement back: the incident fires again and its climb resumes, the
    /// current level's wait starting over.
    pub fn unacknowledge(
        &mut self,
        id: u64,
        actor: &str,
        fx: &mut Vec<Effect>,
    ) -> Result<floorwatch_protocol::Incident, super::CommandError> {
        let cfg = self.cfg.clone();
        let now = self.now;
        let Some(rec) = self.book.open.get_mut(&id) else {
            return Err(self.missing(id));
        };
        if rec.incident.status != IncidentStatus::Acknowledged {
            return Err(super::CommandError::NotAcknowledged(id));
        }
        rec.incident.status = IncidentStatus::Firing;
        rec.incident.acknowledged_at = None;
        rec.incident.acknowledged_by = None;
        let policy = policy(&cfg, rec);
        let resumes = match (&mut rec.incident.escalation, policy) {
            (Some(esc), Some(p)) => {
                let level = &cfg.escalations[p].levels[(esc.level as usize).saturating_sub(1)];
                esc.next_at = Some(ms_to_utc(now + level.wait));
                format!(
                    ": the climb resumes, next level in {}",
                    format_duration(level.wait)
                )
            }
            _ => String::new(),
        };
        Book::entry(
            rec,
            now,
            actor,
            TimelineKind::Unacknowledged,
            format!("un-acknowledged by {actor}{resumes}"),
            Values::new(),
            fx,
        );
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        Ok(rec.incident.clone())
    }

    /// Acknowledging stops the climb.
    pub(super) fn stop_escalation(rec: &mut Record) {
        if let Some(esc) = &mut rec.incident.escalation {
            esc.next_at = None;
        }
    }
}

/// Notifies level `index` (from 0) of the incident's policy and schedules the next one.
fn climb(
    rec: &mut Record,
    cfg: &Config,
    now: i64,
    index: usize,
    reason: DispatchReason,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = policy(cfg, rec) else {
        return;
    };
    let policy = &cfg.escalations[p];
    let index = if index >= policy.levels.len() {
        if !policy.repeat {
            if let Some(esc) = &mut rec.incident.escalation {
                esc.next_at = None;
            }
            return;
        }
        0
    } else {
        index
    };
    let level = &policy.levels[index];
    let more = index + 1 < policy.levels.len() || policy.repeat;
    let mut told = rec
        .incident
        .escalation
        .take()
        .map(|e| e.told)
        .unwrap_or_default();
    // Raised into a new policy: those told already heard of the raise.
    let targets: Vec<PageTarget> = level
        .notify
        .iter()
        .map(|t| t.name(cfg))
        .filter(|t| reason != DispatchReason::Raised || !told.contains(t))
        .collect();
    for t in &targets {
        if !told.contains(t) {
            told.push(t.clone());
        }
    }
    rec.incident.escalation = Some(EscalationState {
        policy: policy.name.clone(),
        level: index as u32 + 1,
        next_at: more.then(|| ms_to_utc(now + level.wait)),
        told,
    });
    let next = if more {
        format!(
            "; next level in {} unless acknowledged",
            format_duration(level.wait)
        )
    } else {
        String::new()
    };
    Book::entry(
        rec,
        now,
        ENGINE_ACTOR,
        TimelineKind::Escalated,
        format!(
            "{} level {} of \"{}\": notifying {}{next}",
            match reason {
                DispatchReason::Opened => "starting at",
                DispatchReason::Raised => "raised into",
                _ => "escalated to",
            },
            index + 1,
            policy.name,
            if targets.is_empty() {
                "nobody".to_string()
            } else {
                names(&targets)
            }
        ),
        Values::new(),
        fx,
    );
    dispatch(rec, &targets, reason, fx);
}

/// Tells everyone told so far (of a worse severity, or of the resolution).
fn tell_all(rec: &mut Record, now: i64, reason: DispatchReason, fx: &mut Vec<Effect>) {
    let told = rec
        .incident
        .escalation
        .as_ref()
        .map(|e| e.told.clone())
        .unwrap_or_default();
    if told.is_empty() {
        return;
    }
    if reason == DispatchReason::Resolved
        && let Some(esc) = &mut rec.incident.escalation
    {
        esc.next_at = None;
    }
    Book::entry(
        rec,
        now,
        ENGINE_ACTOR,
        TimelineKind::Escalated,
        format!(
            "telling everyone notified that it is {}: {}",
            reason.as_str(),
            names(&told)
        ),
        Values::new(),
        fx,
    );
    dispatch(rec, &told, reason, fx);
}

/// Targets as a timeline writes them: `webhook:floor, email:leads`.
fn names(targets: &[PageTarget]) -> String {
    targets
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn dispatch(
    rec: &mut Record,
    targets: &[PageTarget],
    reason: DispatchReason,
    fx: &mut Vec<Effect>,
) {
    fx.push(Effect::Incident(Box::new(rec.incident.clone())));
    for (i, t) in targets.iter().enumerate() {
        if rec.unreachable.as_ref() == Some(t) {
            continue;
        }
        fx.push(Effect::Dispatch(Dispatch {
            // Unique per timeline entry and target: stable across retries and restarts.
            key: DeliveryKey {
                incident: rec.incident.id,
                seq: rec.seq,
                index: i as u32,
            },
            incident: Box::new(rec.incident.clone()),
            target: t.clone(),
            reason,
        }));
    }
}

impl Engine {
    /// The silence in force over an incident, if one is.
    pub fn silence_over(&self, inc: &floorwatch_protocol::Incident) -> Option<&Silence> {
        let now = self.now;
        self.silences
            .iter()
            .zip(&self.silence_matchers)
            .find(|(s, ms)| {
                s.starts_at.timestamp_millis() <= now
                    && now < s.ends_at.timestamp_millis()
                    && glob_match(&s.rule, &inc.rule)
                    && glob_match(&s.scope, &inc.scope)
                    && (s.severities.is_empty() || s.severities.contains(&inc.severity))
                    && crate::matchers::all_match(ms, |n| inc.label(n))
            })
            .map(|(s, _)| s)
    }

    /// What keeps incident `id` from paging now: an active silence or an open maintenance
    /// window.
    pub(super) fn muted_by(&mut self, id: u64) -> Option<String> {
        let now = self.now;
        let inc = self.incident(id)?;
        if let Some(s) = self.silence_over(inc) {
            return Some(format!("silence #{} by {} ({})", s.id, s.author, s.comment));
        }
        let (rule, scope) = (inc.rule.clone(), inc.scope.clone());
        let cfg = self.cfg.clone();
        for m in &cfg.maintenance {
            let matches = (m.rules.is_empty() || m.rules.iter().any(|g| glob_match(g, &rule)))
                && (m.scopes.is_empty() || m.scopes.iter().any(|g| glob_match(g, &scope)));
            if matches && self.schedules[m.schedule].contains(now) {
                return Some(format!("maintenance window \"{}\"", m.name));
            }
        }
        None
    }

    /// Marks incidents silenced or no longer silenced; an incident whose silence ended while it
    /// is still firing starts (or resumes) its climb.
    pub(super) fn review_silences(&mut self, fx: &mut Vec<Effect>) {
        let ids: Vec<u64> = self.book.open.keys().copied().collect();
        let cfg = self.cfg.clone();
        for id in ids {
            let muted = self.muted_by(id);
            let now = self.now;
            let rec = self.book.open.get_mut(&id).unwrap();
            if rec.incident.silenced_by == muted {
                continue;
            }
            let message = match &muted {
                Some(m) => format!("silenced by {m}: recorded, nobody paged"),
                None => "no longer silenced".to_string(),
            };
            rec.incident.silenced_by = muted.clone();
            Book::entry(
                rec,
                now,
                ENGINE_ACTOR,
                TimelineKind::Note,
                message,
                Values::new(),
                fx,
            );
            fx.push(Effect::Incident(Box::new(rec.incident.clone())));
            let paging = muted.is_none()
                && rec.incident.status == IncidentStatus::Firing
                && rec.incident.situation.is_none();
            if paging {
                match &mut rec.incident.escalation {
                    None => climb(rec, &cfg, now, 0, DispatchReason::Opened, fx),
                    Some(e) => e.next_at = Some(ms_to_utc(now)),
                }
            }
        }
    }

    /// Adds a silence (its matchers checked by `silence::SilenceRequest`); it takes effect at
    /// once.
    pub fn add_silence(&mut self, mut s: Silence, fx: &mut Vec<Effect>) -> Silence {
        s.id = self.silences.iter().map(|x| x.id).max().unwrap_or(0) + 1;
        self.silence_matchers.push(compiled(&s));
        self.silences.push(s.clone());
        fx.push(Effect::Silence(s.clone()));
        self.review_silences(fx);
        s
    }

    /// Changes a silence that has not ended (amtool's `silence update`): it keeps its id and
    /// its start if that has passed. `None` if there is no such silence or it has ended.
    pub fn update_silence(&mut self, mut s: Silence, fx: &mut Vec<Effect>) -> Option<Silence> {
        let now = ms_to_utc(self.now);
        let i = self.silences.iter().position(|x| x.id == s.id)?;
        let old = &self.silences[i];
        if old.ends_at <= now {
            return None;
        }
        if old.starts_at <= now {
            s.starts_at = old.starts_at;
        }
        self.silence_matchers[i] = compiled(&s);
        self.silences[i] = s.clone();
        fx.push(Effect::Silence(s.clone()));
        self.review_silences(fx);
        Some(s)
    }

    /// Ends a silence now; `None` if there is no such silence.
    pub fn expire_silence(&mut self, id: u64, fx: &mut Vec<Effect>) -> Option<Silence> {
        let now = ms_to_utc(self.now);
        let s = self.silences.iter_mut().find(|s| s.id == id)?;
        if s.ends_at > now {
            s.ends_at = now;
        }
        let s = s.clone();
        fx.push(Effect::Silence(s.clone()));
        self.review_silences(fx);
        Some(s)
    }

    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }

    /// Takes back the silences kept in the store.
    pub fn restore_silences(&mut self, silences: Vec<Silence>) {
        self.silence_matchers = silences.iter().map(compiled).collect();
        self.silences = silences;
    }
}

/// A silence's matchers, compiled. They were checked when it was made; one that no longer
/// compiles (a store written by hand) matches nothing rather than everything.
fn compiled(s: &Silence) -> Vec<crate::matchers::Compiled> {
    match crate::matchers::compile(&s.matchers) {
        Ok(ms) => ms,
        Err(e) => {
            tracing::warn!("silence #{}: {e}; it silences nothing", s.id);
            vec![
                crate::matchers::Compiled::new(&floorwatch_protocol::Matcher {
                    name: "__never__".into(),
                    value: "x".into(),
                    is_regex: false,
                    is_equal: true,
                })
                .expect("a plain matcher compiles"),
            ]
        }
    }
}

/// The escalation policy of an incident: a drill's own, its rule's, or the first by severity.
fn policy(cfg: &Config, rec: &Record) -> Option<usize> {
    if rec.incident.drill {
        let name = rec.incident.rule.strip_prefix("drill:");
        let own = cfg.drills.iter().find(|d| Some(d.name.as_str()) == name);
        return own
            .and_then(|d| d.escalation)
            .or_else(|| cfg.escalation_for(usize::MAX, rec.incident.severity));
    }
    cfg.escalation_for(rec.rule as usize, rec.incident.severity)
}

impl Engine {
    /// Opens a drill incident: marked as a drill everywhere, paged through the real escalation.
    pub fn start_drill(
        &mut self,
        name: &str,
        actor: &str,
        fx: &mut Vec<Effect>,
    ) -> Result<floorwatch_protocol::Incident, super::CommandError> {
        let cfg = self.cfg.clone();
        let Some(drill) = cfg.drills.iter().find(|d| d.name == name) else {
            return Err(super::CommandError::UnknownDrill(name.to_string()));
        };
        let from = fx.len();
        let scope = self.scope(&drill.scope);
        let now = self.now;
        self.book.next_id += 1;
        let id = self.book.next_id;
        let at = ms_to_utc(now);
        let incident = floorwatch_protocol::Incident {
            drill: true,
            title_zh: Some(format!("[演练] {}", drill.title)),
            ..floorwatch_protocol::Incident::new(
                id,
                format!("drill:{}", drill.name),
                "drill".into(),
                drill.scope.clone(),
                drill.severity,
                format!("[DRILL] {}", drill.title),
                at,
                Values::new(),
            )
        };
        let mut rec = Record::unruled(incident, scope, now);
        Book::entry(
            &mut rec,
            now,
            actor,
            TimelineKind::Opened,
            format!(
                "[DRILL] {} started by {actor}: the real escalation path, marked as a drill; resolves by itself after {}",
                drill.name,
                format_duration(drill.length)
            ),
            Values::new(),
            fx,
        );
        Book::notify(&mut rec, super::NotifyReason::Opened, fx);
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        let incident = rec.incident.clone();
        self.book.open.insert(id, rec);
        self.escalate(fx, from);
        Ok(incident)
    }

    /// Starts drills whose cron fired since `since`, and ends drills that ran their length.
    pub(super) fn run_drills(&mut self, since: i64, fx: &mut Vec<Effect>) {
        let cfg = self.cfg.clone();
        let now = self.now;
        if self.drill_due.len() != cfg.drills.len() {
            self.drill_due = vec![None; cfg.drills.len()];
        }
        for (i, d) in cfg.drills.iter().enumerate() {
            let Some(cron) = &d.cron else { continue };
            // The next start is worked out once per start, not on every tick.
            let next_after = |t: i64| {
                let from = chrono::TimeZone::from_utc_datetime(
                    &cfg.daemon.timezone,
                    &ms_to_utc(t).naive_utc(),
                );
                cron.after(&from)
                    .next()
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(i64::MAX)
            };
            let due = *self.drill_due[i].get_or_insert_with(|| next_after(since));
            if due <= now {
                let _ = self.start_drill(&d.name, super::SCHEDULE_ACTOR, fx);
                self.drill_due[i] = Some(next_after(now));
            }
        }
        let over: Vec<u64> = self
            .book
            .open
            .values()
            .filter(|r| r.incident.drill)
            .filter(|r| {
                let name = r.incident.rule.strip_prefix("drill:").unwrap_or("");
                let length = cfg
                    .drills
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| d.length)
                    .unwrap_or(0);
                r.incident.opened_at.timestamp_millis() + length <= now
            })
            .map(|r| r.incident.id)
            .collect();
        for id in over {
            self.book.resolve(id, now, "drill", None, fx);
        }
    }
}
