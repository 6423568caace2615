//! Incidents about the daemon's own links: a delivery target that has failed every attempt for
//! longer than `[delivery] unhealthy_after` opens one (scope: the target), paged through the
//! policy for its severity to every target but itself; it resolves when the target takes a
//! delivery again. The health records (`crate::health`) say which targets fail.

use floorwatch_protocol::{PageTarget, Severity, TimelineKind, Values};

use super::incidents::{Book, Record};
use super::{ENGINE_ACTOR, Effect, Engine, NotifyReason, ms_to_utc};
use crate::config::Millis;

/// The rule name of these incidents (they have no `[[rule]]`).
pub const DELIVERY_RULE: &str = "delivery-failing";
const KIND: &str = "delivery";

impl Engine {
    /// `failing`: the targets failing without a break since before the threshold, with since
    /// when. Opens an incident for each that has none, resolves those whose target recovered.
    pub fn links_failing(&mut self, failing: &[(PageTarget, Millis)], fx: &mut Vec<Effect>) {
        let now = self.now;
        let recovered: Vec<u64> = self
            .book
            .open
            .values()
            .filter(|r| {
                r.unreachable
                    .as_ref()
                    .is_some_and(|t| !failing.iter().any(|(f, _)| f == t))
            })
            .map(|r| r.incident.id)
            .collect();
        for id in recovered {
            self.book.resolve(id, now, ENGINE_ACTOR, None, fx);
        }
        for (target, since) in failing {
            let open = self
                .book
                .open
                .values()
                .any(|r| r.unreachable.as_ref() == Some(target));
            if !open {
                self.open_link_incident(target, *since, fx);
            }
        }
    }

    fn open_link_incident(&mut self, target: &PageTarget, since: Millis, fx: &mut Vec<Effect>) {
        let from = fx.len();
        let scope = self.scope(&target.to_string());
        let now = self.now;
        self.book.next_id += 1;
        let id = self.book.next_id;
        let local = ms_to_utc(since).with_timezone(&self.cfg.daemon.timezone);
        let title = format!(
            "Pages to {target} failing since {}: they may not reach anyone",
            local.format("%H:%M")
        );
        let title_zh = format!(
            "发往 {target} 的通知自 {} 起一直失败：可能没人收到",
            local.format("%H:%M")
        );
        let mut incident = floorwatch_protocol::Incident::new(
            id,
            DELIVERY_RULE.into(),
            KIND.into(),
            target.to_string(),
            Severity::Critical,
            title.clone(),
            ms_to_utc(now),
            Values::new(),
        );
        incident.title_zh = Some(title_zh);
        let mut rec = Record {
            unreachable: Some(target.clone()),
            ..Record::unruled(incident, scope, now)
        };
        Book::entry(
            &mut rec,
            now,
            ENGINE_ACTOR,
            TimelineKind::Opened,
            format!(
                "critical: {title} (every attempt failed for {}); paged to the policy's other targets",
                crate::config::format_duration(now - since)
            ),
            Values::new(),
            fx,
        );
        Book::notify(&mut rec, NotifyReason::Opened, fx);
        fx.push(Effect::Incident(Box::new(rec.incident.clone())));
        self.book.open.insert(id, rec);
        self.escalate(fx, from);
    }
}
