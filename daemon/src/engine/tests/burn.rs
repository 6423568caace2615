//! Burn-rate rules on the virtual clock: a momentary dip stays quiet, a lasting breach pages,
//! recovery clears within minutes; response clocks feed their own budgets.

use super::*;

const BURN: &str = r#"
[[rule]]
name = "phone-budget"
kind = "burn_rate"
queues = ["phone-*"]
standard = "service_level"
budget_period = "8h"
min_volume = 20
critical = { long = "1h", short = "5m", burn = 2.0 }
warning = { long = "30m", short = "5m", burn = 1.5 }
clear_hold = "2m"
"#;

/// Calls arriving every 30 s from `from` to `to` (seconds after T0), each answered after
/// `wait` seconds, as (second, id, step) in time order.
fn calls(from: i64, to: i64, wait: i64, out: &mut Vec<(i64, String, ContactStep)>) {
    for t in (from..to).step_by(30) {
        let id = format!("c-{t}");
        out.push((t, id.clone(), ContactStep::Arrived));
        out.push((t + wait, id, ContactStep::Answered));
    }
}

fn play(f: &mut Floor, mut steps: Vec<(i64, String, ContactStep)>, until: i64) {
    steps.sort_by_key(|(t, _, step)| (*t, *step != ContactStep::Arrived));
    for (t, id, step) in steps {
        f.at(t);
        let queue = (step == ContactStep::Arrived).then_some("phone-a");
        f.contact(&id, step, queue).unwrap();
    }
    f.at(until);
}

#[test]
fn a_dip_stays_quiet_a_lasting_breach_pages_and_recovery_clears() {
    let mut f = Floor::new(BURN);
    let mut steps = Vec::new();
    // An hour of good service, then a 5-minute dip (every call waits a minute).
    calls(0, 3600, 5, &mut steps);
    calls(3600, 3900, 60, &mut steps);
    calls(3900, 4800, 5, &mut steps);
    play(&mut f, steps, 4800);
    assert!(
        f.incidents.is_empty(),
        "a five-minute dip in a good hour is for the board, not a page: {:#?}",
        f.incidents
    );
    // Then a lasting breach: every call waits a minute for half an hour.
    let mut steps = Vec::new();
    calls(4800, 6600, 60, &mut steps);
    play(&mut f, steps, 6600);
    let i = f.only().clone();
    assert_eq!(i.severity, Severity::Critical, "{i:#?}");
    assert_eq!(i.status, IncidentStatus::Firing);
    assert!(i.values_at_peak["burn_rate"] >= 2.0);
    assert_eq!(i.title, "phone-a: service level 60% over 1h (target 80%)");
    // The figures behind it are in the timeline, not the title.
    let opened = f
        .timeline
        .iter()
        .find(|e| e.incident_id == i.id && e.kind == TimelineKind::Opened)
        .unwrap();
    assert!(
        opened.message.contains("over 5m") && opened.message.contains("budget is spent in"),
        "{}",
        opened.message
    );
    // Recovery: within the short window plus the clear hold, it resolves.
    let mut steps = Vec::new();
    calls(6600, 7200, 5, &mut steps);
    play(&mut f, steps, 7200);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}

#[test]
fn response_clocks_burn_their_own_budget() {
    let mut f = Floor::new(
        r#"
[[rule]]
name = "chat-first-budget"
kind = "burn_rate"
queues = ["chat-*"]
standard = "first"
target = 0.9
min_volume = 10
critical = { long = "30m", short = "5m", burn = 3.0 }
"#,
    );
    // Twenty chats answered in time, then twenty that breach the 30 s first response.
    for k in 0..20 {
        f.at(k * 60);
        let id = format!("ok-{k}");
        f.contact(&id, ContactStep::Arrived, Some("chat-1"))
            .unwrap();
        f.at(k * 60 + 10);
        f.contact(&id, ContactStep::AgentReplied, None).unwrap();
    }
    assert!(f.incidents.is_empty());
    for k in 20..40 {
        f.at(k * 60);
        let id = format!("late-{k}");
        f.contact(&id, ContactStep::Arrived, Some("chat-1"))
            .unwrap();
        f.at(k * 60 + 45);
        f.contact(&id, ContactStep::AgentReplied, None).unwrap();
    }
    let i = f.only();
    assert_eq!(i.severity, Severity::Critical);
    assert!(i.title.contains("first response"), "{}", i.title);
}
