//! The simulated center's clock and plan: the demand curve over the local day and week, what
//! each injection does to demand, staff and complaints, and the shift plan that staffs each
//! queue for the demand expected in each half hour (Erlang C, as a workforce planner would),
//! with the e-mail team on business hours (Mon-Fri 09:00-18:00 local).

use chrono::{DateTime, Datelike, Timelike, Weekday};
use chrono_tz::Tz;
use floorwatch_protocol::Channel;

use super::Scenario;
use super::labels::Kind;
use crate::config::Millis;
use crate::engine::erlang_c_agents;

pub const MINUTE: Millis = 60_000;
pub const HALF_HOUR: Millis = 30 * MINUTE;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

/// Service level the shift plan staffs for: above the 80% standard, so that an ordinary
/// quarter-hour's luck does not breach it.
const PLAN_TARGET: f64 = 0.9;
const CHAT_TARGET: f64 = 0.98;
/// Traffic on Saturdays and Sundays, against a weekday.
const WEEKEND: f64 = 0.5;

/// An injected situation: a crisis or a planned change, from `from` to `to` (absolute times).
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    pub kind: Kind,
    pub from: Millis,
    pub to: Millis,
    /// The queues it acts on (empty: all of them).
    pub queues: Vec<String>,
    /// A complaint wave's category.
    pub category: Option<String>,
    /// Its size: the demand factor (campaign 1.6, shift change 0.6, holiday 0.3), the share of
    /// agents lost (staffing drop), the complaint factor (complaint wave).
    pub factor: f64,
}

impl Injection {
    fn active(&self, t: Millis) -> bool {
        t >= self.from && t < self.to
    }

    fn on(&self, queue: &str) -> bool {
        self.queues.is_empty() || self.queues.iter().any(|q| q == queue)
    }
}

impl Scenario {
    /// The center's local time.
    pub fn local(&self, t: Millis) -> DateTime<Tz> {
        DateTime::from_timestamp_millis(t)
            .unwrap_or_default()
            .with_timezone(&self.tz)
    }

    pub(crate) fn in_outage(&self, t: Millis) -> bool {
        self.outage
            .is_some_and(|(a, b)| t >= self.start + a && t < self.start + b)
            || self
                .injections
                .iter()
                .any(|i| i.kind == Kind::Outage && i.active(t))
    }

    /// Whether queue `q`'s source is cut off at `t` (a feed outage): its events are lost.
    pub(crate) fn feed_down(&self, q: usize, t: Millis) -> bool {
        let name = self.queues[q].name;
        self.injections
            .iter()
            .any(|i| i.kind == Kind::FeedOutage && i.active(t) && i.on(name))
    }

    fn is_holiday(&self, t: Millis) -> bool {
        self.injections
            .iter()
            .any(|i| i.kind == Kind::Holiday && i.active(t))
    }

    /// Demand against the weekday peak, by local time of day and day of week.
    pub(crate) fn curve(&self, t: Millis) -> f64 {
        if !self.daily_curve {
            return 1.0;
        }
        let l = self.local(t);
        let hour = l.hour() as f64 + l.minute() as f64 / 60.0;
        // Quiet at night, ramp from 07:00, peak late morning and mid-afternoon.
        let c = match hour {
            x if x < 7.0 => 0.08,
            x if x < 9.0 => 0.08 + (x - 7.0) * 0.42,
            x if x < 12.0 => 1.0,
            x if x < 13.5 => 0.75,
            x if x < 17.0 => 0.95,
            x if x < 21.0 => 0.95 - (x - 17.0) * 0.2,
            _ => 0.15,
        };
        match l.weekday() {
            Weekday::Sat | Weekday::Sun => c * WEEKEND,
            _ => c,
        }
    }

    /// Planned changes of demand on a queue (campaign, shift change, holiday): the plan staffs
    /// for them.
    fn planned_factor(&self, queue: &str, t: Millis) -> f64 {
        self.injections
            .iter()
            .filter(|i| i.active(t) && i.on(queue))
            .filter(|i| matches!(i.kind, Kind::Campaign | Kind::ShiftChange | Kind::Holiday))
            .map(|i| i.factor)
            .product()
    }

    /// Arrivals per hour on queue `q` at `t`.
    pub fn rate_per_hour(&self, q: usize, t: Millis) -> f64 {
        let sq = &self.queues[q];
        let mut r = sq.per_hour * self.curve(t) * self.planned_factor(sq.name, t);
        if self.in_outage(t) {
            r *= self.arrivals_factor;
        }
        r
    }

    /// An upper bound of `rate_per_hour(q, _)` over the whole scenario, for thinning.
    pub(crate) fn peak_per_hour(&self, q: usize) -> f64 {
        let sq = &self.queues[q];
        let planned: f64 = self
            .injections
            .iter()
            .filter(|i| i.on(sq.name) && matches!(i.kind, Kind::Campaign))
            .map(|i| i.factor.max(1.0))
            .product();
        sq.per_hour * planned * self.arrivals_factor.max(1.0)
    }

    /// Complaints per hour at `t`: (all categories, the extra of a wave and its category).
    pub(crate) fn complaint_rates(&self, t: Millis) -> (f64, Option<(f64, &str)>) {
        let mut base = self.complaints_per_hour * self.curve(t);
        if self.is_holiday(t) {
            base *= self.holiday_factor();
        }
        if self.in_outage(t) {
            base *= self.complaints_factor;
        }
        let wave = self
            .injections
            .iter()
            .find(|i| i.kind == Kind::ComplaintWave && i.active(t))
            .map(|i| {
                // The category's usual share (one in five), times the wave's factor, on top.
                let extra = self.complaints_per_hour * self.curve(t) / 5.0 * (i.factor - 1.0);
                (extra, i.category.as_deref().unwrap_or("billing"))
            });
        (base, wave)
    }

    pub(crate) fn peak_complaints_per_hour(&self) -> f64 {
        let wave = self
            .injections
            .iter()
            .filter(|i| i.kind == Kind::ComplaintWave)
            .map(|i| i.factor / 5.0)
            .fold(0.0, f64::max);
        self.complaints_per_hour * (self.complaints_factor.max(1.0) + wave)
    }

    fn holiday_factor(&self) -> f64 {
        self.injections
            .iter()
            .find(|i| i.kind == Kind::Holiday)
            .map_or(1.0, |i| i.factor)
    }

    /// Agents on queue `q` at `t`: the shift plan for the half hour, less unplanned absence.
    pub fn staffed(&self, q: usize, t: Millis) -> u32 {
        let sq = &self.queues[q];
        let planned = if !self.daily_curve {
            (f64::from(sq.agents) * self.planned_factor(sq.name, t)).round() as u32
        } else if sq.channel == Channel::Email {
            self.email_plan(q, t)
        } else {
            // Staff for the busiest moment of the half hour, as planned.
            let slot = t - t.rem_euclid(HALF_HOUR);
            let rate = [slot, slot + 15 * MINUTE, slot + HALF_HOUR - 1]
                .into_iter()
                .map(|x| sq.per_hour * self.curve(x) * self.planned_factor(sq.name, t))
                .fold(0.0, f64::max);
            // Chat's first-response clock pages on a handful of breaches: nearly all answered.
            let (within, target) = match sq.channel {
                Channel::Chat => (30.0, CHAT_TARGET),
                _ => (20.0, PLAN_TARGET),
            };
            let servers = erlang_c_agents(rate / 3600.0, sq.handle_s, within, target).unwrap_or(0);
            // Shrinkage: breaks and the unexpected.
            let servers = servers + (servers / 20).max(1);
            servers.div_ceil(sq.concurrency).max(2)
        };
        let lost: f64 = self
            .injections
            .iter()
            .filter(|i| i.active(t) && i.on(sq.name))
            .map(|i| match i.kind {
                Kind::StaffingDrop => 1.0 - i.factor,
                Kind::EmailBacklog => 0.0,
                _ => 1.0,
            })
            .product();
        (f64::from(planned) * lost).round() as u32
    }

    /// The e-mail team works Mon-Fri 09:00-18:00 local; the morning clears the night's mail
    /// (Monday's: the weekend's, so more agents), the afternoon keeps up with arrivals.
    fn email_plan(&self, q: usize, t: Millis) -> u32 {
        let l = self.local(t);
        let weekend = matches!(l.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend || !(9..18).contains(&l.hour()) {
            return 0;
        }
        let base = self.queues[q].agents;
        let agents = match (l.weekday(), l.hour()) {
            (Weekday::Mon, 9..13) => base * 3,
            (_, 9..12) => base * 3 / 2,
            _ => base,
        };
        if self.is_holiday(t) {
            (agents / 2).max(2)
        } else {
            agents
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23 00:00 in Shanghai, a Monday.
    const MONDAY: Millis = 1_795_363_200_000;

    #[test]
    fn the_shift_plan_follows_demand() {
        let s = Scenario::mid_size_center(MONDAY, 7 * DAY, 1);
        assert_eq!(s.local(MONDAY).weekday(), Weekday::Mon);
        assert_eq!(s.local(MONDAY).hour(), 0);
        let phone = |h: i64| s.staffed(0, MONDAY + h * HOUR);
        assert!(phone(3) < 12, "night: {}", phone(3));
        assert!(phone(10) >= 48, "peak: {}", phone(10));
        assert!(phone(12) < phone(10), "lunch");
        // Saturday is quieter.
        assert!(s.staffed(0, MONDAY + 5 * DAY + 10 * HOUR) < phone(10));
        // The plan changes on the half hour only.
        let slot = MONDAY + 8 * HOUR;
        assert_eq!(s.staffed(0, slot), s.staffed(0, slot + 29 * MINUTE));
        // E-mail: business hours only.
        let email = s
            .queues
            .iter()
            .position(|q| q.name == "email-support")
            .unwrap();
        assert_eq!(s.staffed(email, MONDAY + 8 * HOUR), 0);
        assert!(s.staffed(email, MONDAY + 9 * HOUR) > 0);
        assert_eq!(s.staffed(email, MONDAY + 5 * DAY + 10 * HOUR), 0);
    }
}
