//! A restarted engine taking back what the store kept: open incidents, learned baselines; and
//! what it hands over to the next one.

use super::*;

impl Engine {
    /// Takes back the incidents that were open when the daemon stopped (with the number of
    /// timeline entries each has) and the highest incident id ever given. An incident whose rule
    /// is gone from the configuration is resolved.
    pub fn restore(&mut self, open: Vec<(Incident, u32)>, max_id: u64, fx: &mut Vec<Effect>) {
        self.book.next_id = self.book.next_id.max(max_id);
        for (incident, seq) in open {
            let rule = self.cfg.rules.iter().position(|r| r.name == incident.rule);
            let scope = self.scope(&incident.scope);
            let id = incident.id;
            let peak = rule
                .map(|r| badness_of(&self.cfg.rules[r], &incident.values_at_peak))
                .unwrap_or(f64::NEG_INFINITY);
            self.book.open.insert(
                id,
                Record {
                    rule: rule.unwrap_or(u16::MAX as usize) as u16,
                    scope,
                    seq,
                    notified: true,
                    last_joined: incident.opened_at.timestamp_millis(),
                    unreachable: None,
                    alone: incident.drill
                        || rule.is_some_and(|r| {
                            matches!(self.cfg.rules[r].kind, RuleKind::FeedSilence(_))
                        }),
                    incident,
                },
            );
            let drill = self.book.open.get(&id).is_some_and(|r| r.incident.drill);
            match rule {
                // A drill has no rule: it runs until it resolves by itself or by hand.
                None if drill => {}
                Some(r) => {
                    let inst = self.instances.entry((r as u16, scope)).or_default();
                    inst.phase = Phase::Firing {
                        id,
                        clearing_since: None,
                    };
                    inst.peak = peak;
                }
                None => {
                    let now = self.now;
                    if let Some(rec) = self.book.open.get_mut(&id) {
                        Book::entry(
                            rec,
                            now,
                            "config",
                            TimelineKind::Note,
                            format!(
                                "rule \"{}\" is no longer in the configuration",
                                rec.incident.rule
                            ),
                            Values::new(),
                            fx,
                        );
                    }
                    self.book.resolve(id, now, "config", None, fx);
                }
            }
        }
    }

    /// Takes back learned complaint baselines.
    pub fn restore_baselines(&mut self, rows: Vec<BaselineRow>) {
        for row in rows {
            let Some(r) = self.cfg.rules.iter().position(|r| r.name == row.rule) else {
                continue;
            };
            if !matches!(self.cfg.rules[r].kind, RuleKind::ComplaintSpike(_)) {
                continue;
            }
            let how = row.hour_of_week as usize;
            if how >= complaints::HOURS_PER_WEEK {
                continue;
            }
            let g = self.group(r as u16, &row.group);
            let group = &mut self.groups[r][g];
            group.week.baseline[how] = row.mean;
            group.week.samples[how] = row.samples;
        }
    }

    /// The open incidents, as records a restarted engine can take back.
    pub fn open_incidents(&self) -> Vec<(Incident, u32)> {
        self.book
            .open
            .values()
            .map(|r| (r.incident.clone(), r.seq))
            .collect()
    }

    /// The open incidents.
    pub fn open_incidents_iter(&self) -> impl Iterator<Item = &Incident> {
        self.book.open.values().map(|r| &r.incident)
    }

    pub fn max_incident_id(&self) -> u64 {
        self.book.next_id
    }

    pub fn incident(&self, id: u64) -> Option<&Incident> {
        self.book
            .open
            .get(&id)
            .or_else(|| self.book.recent.get(&id))
            .map(|r| &r.incident)
    }
}
