//! Reading the engine's state for the live stream and the API: each queue's figures (with its
//! channel's standards and forecast), whether its feed is stale, and the whole snapshot.

use super::*;

impl Engine {
    pub fn queue_metrics(&self) -> Vec<QueueMetrics> {
        self.queues
            .iter()
            .enumerate()
            .map(|(q, rt)| {
                let mut m = rt.state.metrics(
                    self.now,
                    &self.cfg.queues[rt.state.profile],
                    self.cfg.daemon.snapshot_stale_after,
                    true,
                );
                m.stale = self.stale(q as u16);
                if let Some(f) = &mut m.first_response
                    && let Some((arrived, slot)) = rt.state.waiting.first()
                {
                    f.oldest_s = Some((self.now - arrived).max(0) as f64 / 1000.0);
                    f.oldest_due = self.contacts.get(*slot).first_due().map(ms_to_utc);
                }
                m.predicted = self.predicted(rt);
                m
            })
            .collect()
    }

    /// The latest forecast of a `predicted_service_level` rule on the queue, while fresh.
    fn predicted(&self, rt: &QueueRt) -> Option<floorwatch_protocol::PredictedLevel> {
        rt.rules.iter().zip(&rt.response).find_map(|(r, st)| {
            let RuleKind::Predicted(p) = &self.cfg.rules[*r as usize].kind else {
                return None;
            };
            match st.forecast {
                Some((at, Some(ref f))) if self.now - at <= 2 * FORECAST_EVERY => {
                    Some(floorwatch_protocol::PredictedLevel {
                        service_level: round(f.service_level),
                        horizon_s: p.horizon as f64 / 1000.0,
                    })
                }
                _ => None,
            }
        })
    }

    /// The queue's silent feed, if one is silent past what its pace allows, or if the source of
    /// its last reading went silent when the reading aged out (the figures would otherwise fall
    /// back to contact events that no longer come).
    pub(super) fn stale(&self, q: u16) -> Option<floorwatch_protocol::StaleFeed> {
        if let Some(f) = self.feeds.stale(q, self.now, self.how, &self.cfg.feeds) {
            return Some(f);
        }
        let rt = &self.queues[q as usize];
        let r = rt.state.reading.as_ref()?;
        if self.now - r.at <= self.cfg.daemon.snapshot_stale_after {
            return None;
        }
        self.feeds.overdue(
            q,
            rt.reading_source?,
            r.at,
            self.now,
            self.how,
            &self.cfg.feeds,
        )
    }

    pub fn snapshot(&self) -> StateSnapshot {
        let mut incidents: Vec<Incident> = self
            .book
            .open
            .values()
            .map(|r| r.incident.clone())
            .collect();
        floorwatch_protocol::sort_worst_first(&mut incidents);
        StateSnapshot {
            at: Some(ms_to_utc(self.now)),
            queues: self.queue_metrics(),
            incidents,
            health: Default::default(),
            complaints: self.complaint_board(),
        }
    }
}
