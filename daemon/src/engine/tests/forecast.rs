//! The predicted service level on the virtual clock: an unplanned staffing drop warns before
//! the service level breaks; a planned shift change that demand matches stays quiet.

use super::*;

const PREDICTED: &str = r#"
[[rule]]
name = "heading-for-breach"
kind = "predicted_service_level"
queues = ["phone-*"]
horizon = "15m"
margin = 0.05
"#;

/// Plays `seconds` of a phone queue from `from`: a call every `every` seconds, answered at
/// once and handled in 3 minutes, and an ACD reading every 5 s with `staffed` agents of whom
/// `busy` are on calls and `waiting` callers queued.
fn floor(
    f: &mut Floor,
    from: i64,
    seconds: i64,
    every: i64,
    staffed: u32,
    busy: u32,
    waiting: u32,
) {
    let mut t = from;
    while t < from + seconds {
        f.at(t);
        if (t - from) % every == 0 {
            let id = format!("c-{t}");
            f.contact(&id, ContactStep::Arrived, Some("phone-a"))
                .unwrap();
            f.contact(&id, ContactStep::Answered, None).unwrap();
            let done = format!("c-{}", t - 180);
            if t - 180 >= 0 && f.e.contacts.slot_of(id_hash(&done)).is_some() {
                f.contact(&done, ContactStep::Resolved, None).unwrap();
            }
        }
        if t % 5 == 0 {
            let at = f.e.now();
            f.apply(Event::Queue {
                queue: "phone-a",
                at,
                waiting: Some(waiting),
                longest_wait_ms: None,
                agents_available: Some(staffed.saturating_sub(busy)),
                agents_busy: Some(busy.min(staffed)),
            })
            .unwrap();
        }
        t += 1;
    }
}

#[test]
fn an_unplanned_staffing_drop_warns_before_the_breach() {
    let mut f = Floor::new(PREDICTED);
    // Half an hour at 900 calls/h with 52 agents: nothing to say.
    floor(&mut f, 0, 1800, 4, 52, 45, 0);
    assert!(f.incidents.is_empty(), "{:#?}", f.incidents);
    // A third of the agents gone, demand unchanged: a warning while calls are still answered.
    floor(&mut f, 1800, 60, 4, 34, 34, 4);
    let i = f.only();
    assert_eq!(i.rule, "heading-for-breach");
    assert_eq!(i.severity, Severity::Warning);
    assert!(i.values_at_open["predicted_service_level"] < 0.75);
    assert_eq!(i.values_at_open["agents"], 34.0);
}

#[test]
fn a_planned_shift_change_that_demand_matches_stays_quiet() {
    let mut f = Floor::new(PREDICTED);
    floor(&mut f, 0, 1800, 4, 52, 45, 0);
    // 40% fewer agents as demand falls 40%: 540 calls/h for 32 agents.
    floor(&mut f, 1800, 1200, 7, 32, 26, 0);
    assert!(f.incidents.is_empty(), "{:#?}", f.incidents);
}

#[test]
fn a_trend_warns_before_the_threshold_and_a_steady_figure_does_not() {
    let rules = r#"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 20
critical = 40
trend = "10m"
"#;
    let mut f = Floor::new(rules);
    // Steady at 12 for five minutes: below the threshold and going nowhere.
    for s in 0..20 {
        f.at(s * 15).reading("phone-a", 12);
    }
    assert!(f.incidents.is_empty(), "{:#?}", f.incidents);
    // Rising by one every 30 s (2 a minute): in 10 minutes it would be past 20.
    for k in 0..6 {
        f.at(300 + k * 30).reading("phone-a", 12 + k as u32);
    }
    let i = f.only().clone();
    assert_eq!(i.severity, Severity::Warning, "a trend only ever warns");
    assert_eq!(i.title, "phone-a: waiting will reach 20 within 10m");
    assert!(
        i.values_at_open["per_minute"] > 0.5,
        "{:?}",
        i.values_at_open
    );
    // At the threshold for real it is the threshold that speaks, and climbs as usual.
    f.at(500).reading("phone-a", 45);
    assert_eq!(f.only().severity, Severity::Critical);
}

#[test]
fn a_rule_active_on_a_schedule_is_quiet_outside_it_and_clears() {
    // The office schedule is Mon-Fri 09:00-18:00 UTC; T0 is Monday 09:00.
    let rules = r#"
[[rule]]
name = "office-depth"
kind = "queue_depth"
active = "office"
warning = 10
"#;
    let mut f = Floor::new(rules);
    f.at(0).reading("phone-a", 12);
    assert_eq!(f.only().status, IncidentStatus::Firing);
    // 18:00: the office closes; the same reading no longer counts and the incident clears.
    f.at(9 * 3600).reading("phone-a", 12);
    f.at(9 * 3600 + 1);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
    f.at(10 * 3600).reading("phone-a", 30);
    assert_eq!(f.incidents.len(), 1, "quiet outside office hours");
}
