//! People's commands to the engine: acknowledging, resolving and noting an incident.

use super::*;

impl Engine {
    pub fn acknowledge(
        &mut self,
        id: u64,
        actor: &str,
        note: Option<&str>,
        fx: &mut Vec<Effect>,
    ) -> Result<Incident, CommandError> {
        let now = self.now;
        let Some(rec) = self.book.open.get_mut(&id) else {
            return Err(self.missing(id));
        };
        if let (IncidentStatus::Acknowledged, Some(by)) =
            (rec.incident.status, &rec.incident.acknowledged_by)
        {
            return Err(CommandError::AlreadyAcknowledged(id, by.clone()));
        }
        rec.incident.status = IncidentStatus::Acknowledged;
        Engine::stop_escalation(rec);
        rec.incident.acknowledged_at = Some(ms_to_utc(now));
        rec.incident.acknowledged_by = Some(actor.to_string());
        let message = match note {
            Some(n) if !n.is_empty() => format!("acknowledged by {actor}: {n}"),
            _ => format!("acknowledged by {actor}"),
        };
        Book::entry(
            rec,
            now,
            actor,
            TimelineKind::Acknowledged,
            message,
            Values::new(),
            fx,
        );
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        Ok(rec.incident.clone())
    }

    pub fn resolve(
        &mut self,
        id: u64,
        actor: &str,
        note: Option<&str>,
        fx: &mut Vec<Effect>,
    ) -> Result<Incident, CommandError> {
        let now = self.now;
        let Some(rec) = self.book.open.get(&id) else {
            return Err(self.missing(id));
        };
        let key = (rec.rule, rec.scope);
        if let Some(n) = note.filter(|n| !n.is_empty()) {
            self.record(id, actor, TimelineKind::Note, n, fx);
        }
        let from = fx.len();
        self.book.resolve(id, now, actor, None, fx);
        self.escalate(fx, from);
        if let Some(inst) = self.instances.get_mut(&key)
            && matches!(inst.phase, Phase::Firing { id: f, .. } if f == id)
        {
            inst.phase = Phase::Idle;
            inst.last_closed = Some((id, now));
        }
        Ok(self.book.recent[&id].incident.clone())
    }

    /// Adds a timeline entry (a note, a delivery attempt) to an incident the engine still
    /// holds; `None` when it holds it no longer (an older resolved incident: the store adds the
    /// entry itself).
    pub fn record(
        &mut self,
        id: u64,
        actor: &str,
        kind: TimelineKind,
        text: &str,
        fx: &mut Vec<Effect>,
    ) -> Option<()> {
        let now = self.now;
        let rec = match self.book.open.get_mut(&id) {
            Some(r) => r,
            None => self.book.recent.get_mut(&id)?,
        };
        Book::entry(rec, now, actor, kind, text.to_string(), Values::new(), fx);
        Some(())
    }

    pub(super) fn missing(&self, id: u64) -> CommandError {
        if self.book.recent.contains_key(&id) || (1..=self.book.next_id).contains(&id) {
            CommandError::Resolved(id)
        } else {
            CommandError::NotFound(id)
        }
    }
}
