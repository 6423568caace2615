//! On-call rotations: who holds a schedule at a given time. Each cron hand-over passes duty to
//! the next person in the list (`people[0]` had it at `start`); an override in force wins.

use chrono::TimeZone;
use floorwatch_protocol::{OnCallOverride, OnCallStatus};

use crate::config::{Millis, OnCallSchedule};
use crate::engine::calendar::ms_to_utc;

/// Who is on duty at `t`: the person's index, the override that put them there (if any), and
/// when their duty ends.
pub fn on_duty(
    s: &OnCallSchedule,
    overrides: &[OnCallOverride],
    t: Millis,
) -> (usize, Option<u64>, Option<Millis>) {
    let in_force = overrides.iter().rev().find(|o| {
        o.schedule == s.name && o.from.timestamp_millis() <= t && t < o.until.timestamp_millis()
    });
    if let Some(o) = in_force
        && let Some(i) = s.people.iter().position(|p| p.name == o.person)
    {
        return (i, Some(o.id), Some(o.until.timestamp_millis()));
    }
    let start = s
        .timezone
        .from_utc_datetime(&ms_to_utc(s.start).naive_utc());
    let mut handovers = 0usize;
    let mut next = None;
    for h in s.handover.after(&start) {
        let at = h.timestamp_millis();
        if at > t {
            next = Some(at);
            break;
        }
        handovers += 1;
    }
    let n = s.people.len().max(1);
    (if t < s.start { 0 } else { handovers % n }, None, next)
}

/// The schedule's state now: who, until when, who next.
pub fn status(s: &OnCallSchedule, overrides: &[OnCallOverride], now: Millis) -> OnCallStatus {
    let (i, override_id, until) = on_duty(s, overrides, now);
    let next = until.map(|u| on_duty(s, overrides, u).0).unwrap_or(i);
    OnCallStatus {
        schedule: s.name.clone(),
        now: s.people[i].name.clone(),
        until: until.map(ms_to_utc),
        next: s.people[next].name.clone(),
        override_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Language, Person};

    fn rota() -> OnCallSchedule {
        OnCallSchedule {
            name: "duty".into(),
            timezone: chrono_tz::Asia::Shanghai,
            handover: "0 0 9 * * *".parse().unwrap(),
            start: t("2026-11-23T09:00:00+08:00"),
            people: ["Wang Fang", "Li Lei", "Zhao Min"]
                .iter()
                .map(|n| Person {
                    name: n.to_string(),
                    email: "x@example.com".into(),
                })
                .collect(),
            language: Language::Chinese,
        }
    }

    fn t(s: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn hand_overs_rotate_and_overrides_win() {
        let s = rota();
        assert_eq!(on_duty(&s, &[], t("2026-11-23T12:00:00+08:00")).0, 0);
        assert_eq!(on_duty(&s, &[], t("2026-11-24T08:59:59+08:00")).0, 0);
        assert_eq!(on_duty(&s, &[], t("2026-11-24T09:00:00+08:00")).0, 1);
        assert_eq!(
            on_duty(&s, &[], t("2026-11-26T10:00:00+08:00")).0,
            0,
            "three people, three days"
        );
        let st = status(&s, &[], t("2026-11-24T10:00:00+08:00"));
        assert_eq!((st.now.as_str(), st.next.as_str()), ("Li Lei", "Zhao Min"));
        assert_eq!(st.until, Some(ms_to_utc(t("2026-11-25T09:00:00+08:00"))));
        let o = OnCallOverride {
            id: 4,
            schedule: "duty".into(),
            person: "Zhao Min".into(),
            from: ms_to_utc(t("2026-11-24T12:00:00+08:00")),
            until: ms_to_utc(t("2026-11-24T18:00:00+08:00")),
            author: "boss".into(),
        };
        let st = status(&s, std::slice::from_ref(&o), t("2026-11-24T13:00:00+08:00"));
        assert_eq!(
            (st.now.as_str(), st.override_id, st.next.as_str()),
            ("Zhao Min", Some(4), "Li Lei")
        );
    }
}
