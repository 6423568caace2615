//! Dead feeds on the virtual clock: a source that stops makes its queue stale and raises its
//! own incident, nothing on the queue resolves while it is silent, and the silence clears when
//! data flows again; a quiet night raises nothing.

use super::*;
use floorwatch_protocol::PageTarget;

const SILENCE: &str = r#"
[[rule]]
name = "feed-silent"
kind = "feed_silence"
severity = "critical"
"#;

impl Floor {
    /// An ACD reading from `source`.
    fn reading_from(&mut self, source: &str, queue: &str, waiting: u32) {
        let at = self.e.now();
        self.e
            .apply_from(
                source,
                &Event::Queue {
                    queue,
                    at,
                    waiting: Some(waiting),
                    longest_wait_ms: None,
                    agents_available: Some(0),
                    agents_busy: Some(30),
                },
            )
            .unwrap();
        self.e.settle(&mut self.fx);
        self.drain();
    }

    /// Readings every 5 s from `from` up to `to` (seconds from T0).
    fn readings(&mut self, source: &str, from: i64, to: i64, waiting: u32) {
        for t in (from..to).step_by(5) {
            self.at(t);
            self.reading_from(source, "phone-a", waiting);
        }
    }
}

#[test]
fn a_dead_feed_is_stale_pages_and_resolves_nothing_until_it_talks_again() {
    let mut f = Floor::new(&format!("{DEPTH}{SILENCE}"));
    // A busy hour from the ACD, ending with 40 waiting: the depth rule opens critical.
    f.readings("acd-1", 0, 3600, 4);
    f.readings("acd-1", 3600, 3660, 40);
    assert_eq!(f.of("depth")[0].severity, Severity::Critical);
    let last = 3655;
    // The feed stops. Under a minute of silence is not stale.
    f.at(last + 55);
    assert!(f.of("feed-silent").is_empty());
    assert!(f.e.queue_metrics()[0].stale.is_none());
    f.at(last + 61);
    let silent = f.of("feed-silent");
    assert_eq!(silent.len(), 1, "{:#?}", f.incidents);
    assert_eq!(silent[0].severity, Severity::Critical);
    assert_eq!(silent[0].scope, "phone-a");
    // Its own cause: not folded into the depth incident's situation on the same queue.
    assert_eq!(silent[0].situation, None);
    assert!(
        silent[0]
            .title
            .starts_with("phone-a: no data from acd-1 since 10:0"),
        "{}",
        silent[0].title
    );
    // Twenty minutes later: the queue is stale and its depth incident still open, although
    // the reading aged out long ago (snapshot_stale_after is 10m here).
    f.at(last + 20 * 60);
    let m = &f.e.queue_metrics()[0];
    let stale = m.stale.as_ref().expect("stale");
    assert_eq!(stale.source, "acd-1");
    assert!(stale.silent_s >= 1195.0, "{stale:?}");
    assert_eq!(f.of("depth")[0].status, IncidentStatus::Firing);
    assert_eq!(f.of("feed-silent")[0].status, IncidentStatus::Firing);
    // The feed comes back with a calm queue: the silence clears at once, the depth incident
    // after its clear hold.
    let back = last + 20 * 60 + 5;
    f.readings("acd-1", back, back + 90, 2);
    assert!(f.e.queue_metrics()[0].stale.is_none());
    assert_eq!(f.of("feed-silent")[0].status, IncidentStatus::Resolved);
    assert_eq!(f.of("depth")[0].status, IncidentStatus::Resolved);
}

#[test]
fn a_quiet_night_and_a_heartbeat_raise_nothing() {
    let mut f = Floor::new(&format!("{DEPTH}{SILENCE}"));
    // Night: a call every six minutes, each answered and done in three.
    for i in 0..40 {
        let t = i * 360;
        f.at(t);
        let id = format!("n-{i}");
        f.contact(&id, ContactStep::Arrived, Some("phone-a"))
            .unwrap();
        f.contact(&id, ContactStep::Answered, None).unwrap();
        f.at(t + 180);
        f.contact(&id, ContactStep::Resolved, None).unwrap();
    }
    // Half an hour without a call at that pace is not a dead feed.
    f.at(40 * 360 + 30 * 60);
    assert!(f.incidents.is_empty(), "{:#?}", f.incidents);
    assert!(f.e.queue_metrics()[0].stale.is_none());

    // A busy source that goes quiet but keeps sending heartbeats stays alive.
    let mut f = Floor::new(&format!("{DEPTH}{SILENCE}"));
    f.readings("acd-1", 0, 3600, 2);
    for t in (3600..3600 + 600).step_by(20) {
        f.at(t);
        let at = f.e.now();
        f.e.apply_from("acd-1", &Event::Heartbeat { at, queue: None })
            .unwrap();
    }
    f.at(3600 + 600);
    assert!(f.incidents.is_empty(), "{:#?}", f.incidents);
}

#[test]
fn one_source_silent_among_two_names_the_silent_one() {
    let mut f = Floor::new(SILENCE);
    for t in (0..3600).step_by(5) {
        f.at(t);
        f.reading_from("acd-1", "phone-a", 1);
        let id = format!("c-{t}");
        let at = f.e.now();
        f.e.apply_from(
            "crm-link",
            &Event::Contact {
                id: &id,
                step: ContactStep::Arrived,
                at,
                queue: Some("phone-a"),
                channel: None,
                priority: None,
            },
        )
        .unwrap();
    }
    // The readings go on; the contact integration stops.
    f.readings("acd-1", 3600, 3600 + 120, 1);
    let stale = f.e.queue_metrics()[0].stale.clone().expect("stale");
    assert_eq!(stale.source, "crm-link");
    assert_eq!(f.of("feed-silent").len(), 1);
}

/// A delivery target failing past `[delivery] unhealthy_after` raises its own incident, paged
/// to the policy's other targets and never to itself; it resolves when the target recovers.
#[test]
fn a_failing_target_raises_its_own_incident_paged_to_the_others() {
    let mut f = Floor::new(ESCALATION);
    f.at(0);
    f.e.links_failing(
        &[(PageTarget::parse("webhook:managers").unwrap(), T0 - 600_000)],
        &mut f.fx,
    );
    f.drain();
    let i = f.only().clone();
    assert_eq!(
        (i.rule.as_str(), i.scope.as_str(), i.severity),
        (DELIVERY_RULE, "webhook:managers", Severity::Critical)
    );
    assert!(
        i.title
            .starts_with("Pages to webhook:managers failing since 08:50"),
        "{}",
        i.title
    );
    // The first level names only the failing target: nobody is paged until the next level,
    // which pages the director but not the managers' webhook.
    assert!(f.dispatched.is_empty(), "{:?}", f.dispatched);
    f.at(5 * 60 + 1);
    f.e.links_failing(
        &[(PageTarget::parse("webhook:managers").unwrap(), T0 - 600_000)],
        &mut f.fx,
    );
    f.drain();
    assert_eq!(
        sent(&f),
        vec![(300, "webhook:director", DispatchReason::Escalated)]
    );
    assert_eq!(f.incidents.len(), 1, "still one incident");
    // It takes deliveries again: resolved.
    f.e.links_failing(&[], &mut f.fx);
    f.drain();
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}
