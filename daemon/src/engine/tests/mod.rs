//! Engine tests on a virtual clock: every rule kind fires, holds and clears; business hours pause
//! clocks; spikes are judged against the hour-of-week baseline; crises hold back lesser incidents;
//! flapping reopens instead of re-paging.

use std::sync::Arc;

use floorwatch_protocol::{
    Channel, ComplaintStep, ContactStep, Grade, Incident, IncidentStatus, Priority, Severity,
    TimelineKind,
};

use super::*;
use crate::config::parse_config;

const T0: Millis = 1_795_424_400_000; // 2026-11-23T09:00:00Z, a Monday

const BASE: &str = r#"
[daemon]
timezone = "UTC"
tick = "1s"
snapshot_stale_after = "10m"
[[schedule]]
name = "office"
timezone = "UTC"
cron = "0 0 9 * * Mon-Fri"
length = "9h"
[[schedule]]
name = "night"
timezone = "UTC"
cron = "0 0 20 * * *"
length = "12h"
[[queue]]
name = "phone-*"
channel = "phone"
window = "15m"
service_level = { target = 0.8, within = "20s" }
[[queue]]
name = "chat-*"
channel = "chat"
[queue.response]
first = "30s"
next = "2m"
approaching = 0.5
[[queue]]
name = "email-*"
channel = "email"
[queue.response]
first = "4h"
calendar = "office"
"#;

fn engine(rules: &str) -> Engine {
    let src = format!("{BASE}\n{rules}");
    let cfg = parse_config(&src, "test.toml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(Arc::new(cfg), T0)
}

/// Drives an engine on a virtual clock and keeps what it decided.
struct Floor {
    e: Engine,
    fx: Vec<Effect>,
    incidents: std::collections::BTreeMap<u64, Incident>,
    notified: Vec<(u64, NotifyReason)>,
    /// (when, target, why) of every notification sent to the outbox.
    dispatched: Vec<(Millis, String, DispatchReason)>,
    timeline: Vec<floorwatch_protocol::TimelineEntry>,
}

impl Floor {
    fn new(rules: &str) -> Self {
        Floor {
            e: engine(rules),
            fx: Vec::new(),
            incidents: Default::default(),
            notified: Vec::new(),
            dispatched: Vec::new(),
            timeline: Vec::new(),
        }
    }

    fn drain(&mut self) {
        for f in self.fx.drain(..) {
            match f {
                Effect::Dispatch(d) => {
                    self.dispatched
                        .push((self.e.now(), d.target.to_string(), d.reason))
                }
                Effect::Incident(i) => {
                    self.incidents.insert(i.id, *i);
                }
                Effect::Notify(n) => self.notified.push((n.incident_id, n.reason)),
                Effect::Timeline(e) => self.timeline.push(e),
                _ => {}
            }
        }
    }

    /// Ticks second by second up to `t` (seconds after T0).
    fn at(&mut self, t: i64) -> &mut Self {
        let target = T0 + t * 1000;
        let mut now = self.e.now();
        while now < target {
            now = (now + 1000).min(target);
            self.e.tick(now, &mut self.fx);
            self.drain();
        }
        self.drain();
        self
    }

    fn apply(&mut self, ev: Event) -> Result<Applied, Refused> {
        let r = self.e.apply(&ev);
        self.e.settle(&mut self.fx);
        self.drain();
        r
    }

    fn reading(&mut self, queue: &str, waiting: u32) -> &mut Self {
        let at = self.e.now();
        self.apply(Event::Queue {
            queue,
            at,
            waiting: Some(waiting),
            longest_wait_ms: None,
            agents_available: None,
            agents_busy: None,
        })
        .unwrap();
        self
    }

    fn contact(
        &mut self,
        id: &str,
        step: ContactStep,
        queue: Option<&str>,
    ) -> Result<Applied, Refused> {
        let at = self.e.now();
        self.apply(Event::Contact {
            id,
            step,
            at,
            queue,
            channel: None,
            priority: None,
        })
    }

    fn complaint(&mut self, id: &str, grade: Grade, category: &str) {
        self.complaint_saying(id, grade, category, "the line was dead");
    }

    fn complaint_saying(&mut self, id: &str, grade: Grade, category: &str, text: &str) {
        let at = self.e.now();
        self.apply(Event::Complaint {
            id,
            step: ComplaintStep::Opened,
            at,
            channel: Some(Channel::Phone),
            category: Some(category),
            grade: Some(grade),
            text: Some(text),
        })
        .unwrap();
    }

    fn only(&self) -> &Incident {
        assert_eq!(self.incidents.len(), 1, "{:#?}", self.incidents);
        self.incidents.values().next().unwrap()
    }

    fn of(&self, rule: &str) -> Vec<&Incident> {
        self.incidents.values().filter(|i| i.rule == rule).collect()
    }
}

const DEPTH: &str = r#"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 20
crisis = 50
clear = 5
hold = "30s"
clear_hold = "60s"
cooldown = "10m"
"#;

#[test]
fn queue_depth_holds_fires_climbs_and_clears_with_hysteresis() {
    let mut f = Floor::new(DEPTH);
    f.at(0).reading("phone-a", 12);
    f.at(29);
    assert!(f.incidents.is_empty(), "still inside the hold time");
    f.at(30);
    let i = f.only().clone();
    assert_eq!(
        (i.severity, i.status),
        (Severity::Warning, IncidentStatus::Firing)
    );
    assert_eq!(i.values_at_open["waiting"], 12.0);
    f.at(40).reading("phone-a", 25);
    assert_eq!(f.only().severity, Severity::Critical);
    // Between the clear level (5) and the threshold (10): still firing.
    f.at(50).reading("phone-a", 7);
    f.at(200);
    assert_eq!(f.only().status, IncidentStatus::Firing);
    // Below the clear level: resolves after the clear hold.
    f.at(210).reading("phone-a", 4);
    f.at(269);
    assert_eq!(f.only().status, IncidentStatus::Firing);
    f.at(270);
    let i = f.only();
    assert_eq!(i.status, IncidentStatus::Resolved);
    assert_eq!(i.values_at_peak["waiting"], 25.0);
    assert_eq!(i.values_at_close.as_ref().unwrap()["waiting"], 4.0);
    assert_eq!(
        f.notified,
        vec![
            (i.id, NotifyReason::Opened),
            (i.id, NotifyReason::Raised),
            (i.id, NotifyReason::Resolved)
        ]
    );
}

#[test]
fn an_incident_reads_in_both_languages_and_carries_its_rules_runbook() {
    let rules = format!("{DEPTH}runbook = {{ en = \"Call the vendor\", zh = \"联系厂商\" }}\n");
    let mut f = Floor::new(&rules);
    f.at(0).reading("phone-a", 12);
    f.at(30);
    let i = f.only();
    assert_eq!(i.title, "phone-a: 12 callers waiting");
    assert_eq!(i.title_zh.as_deref(), Some("phone-a：12 个来电排队中"));
    let r = i.runbook.as_ref().unwrap();
    assert_eq!(
        (r.en.as_str(), r.zh.as_str()),
        ("Call the vendor", "联系厂商")
    );
    // A raise rewrites the title in both.
    f.at(40).reading("phone-a", 25);
    assert_eq!(
        f.only().title_zh.as_deref(),
        Some("phone-a：25 个来电排队中")
    );
}

#[test]
fn a_blip_shorter_than_the_hold_stays_quiet() {
    let mut f = Floor::new(DEPTH);
    f.at(0).reading("phone-a", 15);
    f.at(20).reading("phone-a", 3);
    f.at(120);
    assert!(f.incidents.is_empty());
}

#[test]
fn flapping_reopens_the_same_incident_without_paging_again() {
    let mut f = Floor::new(DEPTH);
    f.at(0).reading("phone-a", 12);
    f.at(30).reading("phone-a", 2);
    f.at(100);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
    f.reading("phone-a", 12);
    f.at(140);
    let i = f.only();
    assert_eq!((i.status, i.reopened), (IncidentStatus::Firing, 1));
    let opened = f
        .notified
        .iter()
        .filter(|n| n.1 == NotifyReason::Opened)
        .count();
    assert_eq!(opened, 1, "reopening inside the cool-down does not page");
    // After the cool-down a new breach is a new incident.
    f.reading("phone-a", 1);
    f.at(300);
    f.at(1000).reading("phone-a", 12);
    f.at(1040);
    assert_eq!(f.of("depth").len(), 2);
}

#[test]
fn thresholds_follow_schedules() {
    let rules =
        format!("{DEPTH}\n[[rule.when]]\nschedule = \"night\"\nwarning = 3\ncritical = 6\n");
    let mut f = Floor::new(&rules);
    f.at(0).reading("phone-a", 4);
    f.at(100);
    assert!(f.incidents.is_empty(), "4 waiting is fine by day");
    // 20:00 is 11 hours after T0.
    f.at(11 * 3600 + 1).reading("phone-a", 4);
    f.at(11 * 3600 + 40);
    assert_eq!(f.only().severity, Severity::Warning);
}

#[test]
fn longest_wait_is_derived_from_waiting_contacts() {
    let mut f = Floor::new(
        "[[rule]]\nname = \"wait\"\nkind = \"longest_wait\"\nwarning = \"90s\"\ncritical = \"3m\"\n",
    );
    f.at(0);
    f.contact("c-1", ContactStep::Arrived, Some("phone-a"))
        .unwrap();
    f.at(10);
    f.contact("c-2", ContactStep::Arrived, Some("phone-a"))
        .unwrap();
    f.at(89);
    assert!(f.incidents.is_empty());
    f.at(90);
    assert_eq!(f.only().severity, Severity::Warning);
    // c-1 is answered: the oldest is now c-2 (waiting 85 s), under the warning: clears.
    f.at(95);
    f.contact("c-1", ContactStep::Answered, None).unwrap();
    f.at(96);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}

const SL: &str = r#"
[[rule]]
name = "sl"
kind = "service_level"
warning = 0.8
critical = 0.6
clear = 0.85
min_volume = 10
"#;

#[test]
fn service_level_fires_below_target_once_volume_allows() {
    let mut f = Floor::new(SL);
    f.at(0);
    // 5 slow answers: below target, but under the minimum volume.
    for i in 0..5 {
        f.contact(&format!("s-{i}"), ContactStep::Arrived, Some("phone-a"))
            .unwrap();
    }
    f.at(30);
    for i in 0..5 {
        f.contact(&format!("s-{i}"), ContactStep::Answered, None)
            .unwrap();
    }
    f.at(31);
    assert!(f.incidents.is_empty(), "too few contacts to judge");
    // 7 fast answers and 2 short abandons (excluded): 7 / 12 = 58% -> critical.
    for i in 0..9 {
        f.contact(&format!("f-{i}"), ContactStep::Arrived, Some("phone-a"))
            .unwrap();
    }
    f.at(33);
    for i in 0..7 {
        f.contact(&format!("f-{i}"), ContactStep::Answered, None)
            .unwrap();
    }
    f.contact("f-7", ContactStep::Abandoned, None).unwrap();
    f.contact("f-8", ContactStep::Abandoned, None).unwrap();
    let m = &f.e.queue_metrics()[0];
    assert_eq!((m.answered, m.abandoned), (12, 2));
    assert!((m.service_level.unwrap() - 7.0 / 12.0).abs() < 1e-9);
    let i = f.only();
    assert_eq!(i.severity, Severity::Critical);
    // The slow answers leave the 15-minute window: recovered. (The source says it is alive:
    // after a burst and a quarter-hour of silence its figures would be stale, and stale
    // figures clear nothing.)
    for t in (60..=15 * 60 + 40).step_by(60).chain([15 * 60 + 40]) {
        f.at(t);
        let at = f.e.now();
        f.apply(Event::Heartbeat {
            at,
            queue: Some("phone-a"),
        })
        .unwrap();
    }
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}

#[test]
fn duplicates_are_harmless_and_unknown_contacts_refused() {
    let mut f = Floor::new(SL);
    f.at(0);
    assert_eq!(
        f.contact("c-1", ContactStep::Arrived, Some("phone-a")),
        Ok(Applied::New)
    );
    assert_eq!(
        f.contact("c-1", ContactStep::Arrived, Some("phone-a")),
        Ok(Applied::Duplicate)
    );
    assert_eq!(
        f.contact("c-1", ContactStep::Answered, None),
        Ok(Applied::New)
    );
    assert_eq!(
        f.contact("c-1", ContactStep::Answered, None),
        Ok(Applied::Duplicate)
    );
    assert_eq!(
        f.contact("c-1", ContactStep::Resolved, None),
        Ok(Applied::New)
    );
    assert_eq!(
        f.contact("c-1", ContactStep::Resolved, None),
        Ok(Applied::Duplicate)
    );
    assert_eq!(
        f.contact("c-1", ContactStep::Arrived, Some("phone-a")),
        Ok(Applied::Duplicate)
    );
    assert_eq!(f.e.queue_metrics()[0].answered, 1);
    let r = f.contact("ghost", ContactStep::Answered, None).unwrap_err();
    assert_eq!(r.field, Some("id"));
    let r = f
        .contact("c-9", ContactStep::Arrived, Some("fax-1"))
        .unwrap_err();
    assert_eq!(r.field, Some("queue"));
    assert!(r.reason.contains("matches no [[queue]]"));
    let r = f.contact("c-9", ContactStep::Arrived, None).unwrap_err();
    assert_eq!(r.field, Some("queue"));
}

#[test]
fn events_too_old_or_too_far_ahead_are_refused() {
    let mut f = Floor::new(SL);
    f.at(3600);
    let old = f.e.now() - 16 * 60_000;
    let r = f
        .apply(Event::Contact {
            id: "o",
            step: ContactStep::Arrived,
            at: old,
            queue: Some("phone-a"),
            channel: None,
            priority: None,
        })
        .unwrap_err();
    assert!(
        r.reason.contains("older than the longest window"),
        "{}",
        r.reason
    );
    let ahead = f.e.now() + 3_600_000;
    let r = f
        .apply(Event::Contact {
            id: "a",
            step: ContactStep::Arrived,
            at: ahead,
            queue: Some("phone-a"),
            channel: None,
            priority: None,
        })
        .unwrap_err();
    assert!(
        r.reason.contains("ahead of the daemon's clock"),
        "{}",
        r.reason
    );
}

#[test]
fn caps_refuse_new_queues_and_contacts_clearly() {
    let rules = "[[rule]]\nname = \"d\"\nkind = \"queue_depth\"\nwarning = 1\n";
    let src = format!("{BASE}\n{rules}").replace(
        "tick = \"1s\"\nsnapshot_stale_after = \"10m\"",
        "tick = \"1s\"\nsnapshot_stale_after = \"10m\"\n[daemon.limits]\nmax_queues = 1\nmax_open_contacts = 2",
    );
    let cfg = parse_config(&src, "t.toml", None).unwrap();
    let mut e = Engine::new(Arc::new(cfg), T0);
    let arrive = |id, q| Event::Contact {
        id,
        step: ContactStep::Arrived,
        at: T0,
        queue: Some(q),
        channel: None,
        priority: None,
    };
    assert!(e.apply(&arrive("1", "phone-a")).is_ok());
    assert!(e.apply(&arrive("2", "phone-a")).is_ok());
    let r = e.apply(&arrive("3", "phone-a")).unwrap_err();
    assert!(r.reason.contains("max_open_contacts"), "{}", r.reason);
    let r = e.apply(&arrive("4", "phone-b")).unwrap_err();
    assert!(r.reason.contains("max_queues"), "{}", r.reason);
}

const CHAT_FIRST: &str = r#"
[[rule]]
name = "chat-first"
kind = "response_time"
queues = ["chat-*"]
clock = "first"
window = "15m"
breaches = 2
approaching = 1
severity = "critical"
clear_hold = "0s"
"#;

#[test]
fn response_clocks_warn_near_breach_then_fire_on_breaches() {
    let mut f = Floor::new(CHAT_FIRST);
    f.at(0);
    f.contact("a", ContactStep::Arrived, Some("chat-1"))
        .unwrap();
    f.contact("b", ContactStep::Arrived, Some("chat-1"))
        .unwrap();
    f.at(14);
    assert!(f.incidents.is_empty());
    f.at(15); // half of 30 s: approaching
    assert_eq!(f.only().severity, Severity::Warning);
    f.at(29);
    f.contact("a", ContactStep::AgentReplied, None).unwrap(); // in time
    f.at(31); // b breaches: one breach, one needed more
    assert_eq!(f.only().severity, Severity::Warning);
    f.contact("c", ContactStep::Arrived, Some("chat-1"))
        .unwrap();
    f.at(62);
    let i = f.only();
    assert_eq!(i.severity, Severity::Critical);
    assert_eq!(i.values_at_peak["breaches"], 2.0);
    // The next-response clock starts when the customer writes.
    f.contact("b", ContactStep::AgentReplied, None).unwrap();
    f.contact("b", ContactStep::CustomerReplied, None).unwrap();
    assert_eq!(
        f.e.contacts
            .get(f.e.contacts.slot_of(id_hash("b")).unwrap())
            .due[Clock::Next as usize],
        f.e.now() + 120_000
    );
    // Breaches leave the window: clears.
    f.contact("b", ContactStep::AgentReplied, None).unwrap();
    f.contact("c", ContactStep::Resolved, None).unwrap();
    f.at(62 + 15 * 60);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}

#[test]
fn business_hours_pause_response_clocks() {
    let mut f = Floor::new(
        "[[rule]]\nname = \"email\"\nkind = \"response_time\"\nqueues = [\"email-*\"]\nclock = \"first\"\nbreaches = 1\nwindow = \"1h\"\nseverity = \"warning\"\n",
    );
    // Monday 16:00 UTC: 2 office hours left today, 2 more from 09:00 Tuesday.
    f.at(7 * 3600);
    f.contact("m-1", ContactStep::Arrived, Some("email-1"))
        .unwrap();
    let slot = f.e.contacts.slot_of(id_hash("m-1")).unwrap();
    let due = f.e.contacts.get(slot).due[Clock::First as usize];
    assert_eq!(due, T0 + 26 * 3600 * 1000, "Tuesday 11:00");
    f.at(25 * 3600);
    assert!(f.incidents.is_empty(), "overnight does not count");
    f.at(26 * 3600);
    assert_eq!(f.only().severity, Severity::Warning);
}

#[test]
fn urgent_priority_has_its_own_standard() {
    let src = BASE.replace(
        "approaching = 0.5",
        "approaching = 0.5\n[queue.response.urgent]\nfirst = \"10s\"",
    );
    let rules = "[[rule]]\nname = \"u\"\nkind = \"response_time\"\nclock = \"first\"\npriorities = [\"urgent\"]\nbreaches = 1\nseverity = \"critical\"\n";
    let cfg =
        parse_config(&format!("{src}\n{rules}"), "t.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let mut e = Engine::new(Arc::new(cfg), T0);
    let mut fx = Vec::new();
    for (id, p) in [("n", Priority::Normal), ("u", Priority::Urgent)] {
        e.apply(&Event::Contact {
            id,
            step: ContactStep::Arrived,
            at: T0,
            queue: Some("chat-1"),
            channel: None,
            priority: Some(p),
        })
        .unwrap();
    }
    e.tick(T0 + 10_000, &mut fx);
    let opened: Vec<_> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Incident(i) => Some(i.severity),
            _ => None,
        })
        .collect();
    assert_eq!(
        opened,
        vec![Severity::Critical],
        "only the urgent contact breached"
    );
}

const SPIKE: &str = r#"
[[rule]]
name = "spike"
kind = "complaint_spike"
by = "all"
window = "15m"
min_count = 5
min_ratio = 3.0
p_value = 0.01
prior_per_hour = 2.0
severity = "crisis"
"#;

/// Trains four weeks of baseline: 40 complaints in Monday 09:00-10:00, 2 an hour otherwise.
fn trained(rules: &str) -> Floor {
    let mut f = Floor::new(rules);
    let week = 7 * 24 * 3600;
    let mut n = 0;
    for w in 0..4 {
        if w == 1 {
            // The first week has no history: spikes against the prior are expected there.
            f.incidents.clear();
        }
        for h in 0..(7 * 24) {
            let hour_start = w * week + h * 3600;
            let per_hour = if h == 0 { 40 } else { 2 };
            for k in 0..per_hour {
                f.at(hour_start + k * 3600 / per_hour);
                n += 1;
                f.complaint(&format!("t-{n}"), Grade::General, "billing");
            }
        }
    }
    f.at(4 * week);
    assert!(
        f.incidents.is_empty(),
        "a learned week is quiet: {:#?}",
        f.incidents
    );
    f
}

#[test]
fn a_busy_monday_morning_is_normal_but_the_same_at_night_is_a_spike() {
    let mut f = trained(SPIKE);
    // Monday 09:00-09:15, fifth week: 10 complaints, as usual for that hour.
    for k in 0..10 {
        f.at(4 * 7 * 24 * 3600 + k * 90);
        f.complaint(&format!("m-{k}"), Grade::General, "billing");
    }
    f.at(4 * 7 * 24 * 3600 + 15 * 60);
    assert!(
        f.incidents.is_empty(),
        "a normal Monday morning: {:#?}",
        f.incidents
    );
    // Tuesday 03:00: the same 10 complaints in 15 minutes is far above the usual 0.5.
    let tue3 = 4 * 7 * 24 * 3600 + 24 * 3600 + 18 * 3600;
    for k in 0..10 {
        f.at(tue3 + k * 90);
        f.complaint(&format!("n-{k}"), Grade::General, "billing");
    }
    let i = f.only();
    assert_eq!(
        (i.severity, i.rule.as_str(), i.scope.as_str()),
        (Severity::Crisis, "spike", "complaints")
    );
    assert!(i.values_at_open["p_value"] <= 0.01);
}

#[test]
fn spikes_per_category_keep_groups_apart() {
    let rules = SPIKE.replace("by = \"all\"", "by = \"category\"");
    let mut f = Floor::new(&rules);
    for k in 0..6 {
        f.at(k * 60);
        f.complaint(&format!("b-{k}"), Grade::General, "billing");
        f.complaint(
            &format!("n-{k}"),
            Grade::General,
            if k < 2 { "network" } else { "other" },
        );
    }
    let scopes: Vec<_> = f.incidents.values().map(|i| i.scope.as_str()).collect();
    assert_eq!(scopes, vec!["category:billing"]);
}

#[test]
fn complaints_past_their_grade_deadline_fire() {
    let mut f = Floor::new(
        "[[rule]]\nname = \"urgent-late\"\nkind = \"complaint_deadline\"\ngrades = [\"urgent\"]\nseverity = \"crisis\"\n",
    );
    f.at(0);
    f.complaint("k-1", Grade::Urgent, "billing");
    f.complaint("k-2", Grade::General, "billing");
    f.at(3599);
    assert!(f.incidents.is_empty());
    f.at(3600);
    assert_eq!(f.only().severity, Severity::Crisis);
    f.apply(Event::Complaint {
        id: "k-1",
        step: ComplaintStep::Handled,
        at: f.e.now(),
        channel: None,
        category: None,
        grade: None,
        text: None,
    })
    .unwrap();
    f.at(3601);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}

#[test]
fn one_cause_one_page_incidents_opening_together_form_one_situation() {
    let rules = r#"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
[[rule]]
name = "meltdown"
kind = "queue_depth"
crisis = 30
clear = 20
"#;
    let mut f = Floor::new(rules);
    f.at(0).reading("phone-a", 40);
    let depth = f.of("depth")[0].clone();
    let crisis = f.of("meltdown")[0].clone();
    // The worst is judged first and leads; the lesser one on the same queue joins it.
    assert_eq!(crisis.situation, None);
    assert_eq!(depth.situation, Some(crisis.id));
    assert!(
        !f.notified.iter().any(|n| n.0 == depth.id),
        "a member is paged through its lead only"
    );
    assert_eq!(f.notified, vec![(crisis.id, NotifyReason::Opened)]);
    // Another queue in trouble within the group window joins the same situation.
    f.at(60).reading("phone-b", 12);
    let other = f
        .incidents
        .values()
        .find(|i| i.scope == "phone-b")
        .unwrap()
        .clone();
    assert_eq!(other.situation, Some(crisis.id));
    assert_eq!(f.notified.len(), 1, "{:?}", f.notified);
    // The crisis clears first: the worst member still open leads now, nobody is paged again
    // and nobody is told "resolved" while the situation goes on.
    f.at(70).reading("phone-a", 15);
    f.at(71);
    assert_eq!(f.incidents[&crisis.id].status, IncidentStatus::Resolved);
    let lead = &f.incidents[&depth.id];
    assert_eq!(
        lead.situation, None,
        "the oldest of the worst members leads"
    );
    assert_eq!(f.incidents[&other.id].situation, Some(depth.id));
    assert_eq!(f.notified.len(), 1, "{:?}", f.notified);
    // Everything clears: phone-a's lead hands over to phone-b's incident, whose clearing
    // tells that the situation is over: one "resolved" after one page.
    f.at(80).reading("phone-a", 2).reading("phone-b", 2);
    f.at(81);
    assert!(
        f.incidents
            .values()
            .all(|i| i.status == IncidentStatus::Resolved)
    );
    assert_eq!(
        f.notified,
        vec![
            (crisis.id, NotifyReason::Opened),
            (other.id, NotifyReason::Resolved)
        ]
    );
    // Past the group window, trouble on another queue is a situation of its own: it pages.
    f.at(81 + 11 * 60).reading("phone-c", 12);
    let c = f.incidents.values().find(|i| i.scope == "phone-c").unwrap();
    assert_eq!(c.situation, None);
    assert_eq!(f.notified.last(), Some(&(c.id, NotifyReason::Opened)));
}

#[test]
fn a_member_that_gets_worse_raises_its_situation() {
    let rules = r#"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 25
"#;
    let mut f = Floor::new(rules);
    f.at(0).reading("phone-a", 12);
    f.at(30).reading("phone-b", 12);
    let lead = f
        .incidents
        .values()
        .find(|i| i.scope == "phone-a")
        .unwrap()
        .id;
    assert_eq!(f.notified, vec![(lead, NotifyReason::Opened)]);
    // phone-b, a member at warning, goes critical: the situation is raised and pages.
    f.at(60).reading("phone-b", 30);
    assert_eq!(f.incidents[&lead].severity, Severity::Critical);
    assert_eq!(
        f.notified,
        vec![(lead, NotifyReason::Opened), (lead, NotifyReason::Raised)]
    );
    assert!(
        f.timeline
            .iter()
            .any(|e| e.incident_id == lead && e.message.contains("got worse")),
        "{:#?}",
        f.timeline
    );
}

#[test]
fn a_worse_member_raises_its_situation_and_that_raise_pages() {
    let rules = r#"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 25
"#;
    let mut f = Floor::new(rules);
    f.at(0).reading("phone-a", 12);
    let lead = f.only().clone();
    f.at(30).reading("phone-b", 30);
    let member = f.incidents.values().find(|i| i.scope == "phone-b").unwrap();
    assert_eq!(member.situation, Some(lead.id));
    let lead = &f.incidents[&lead.id];
    assert_eq!(lead.severity, Severity::Critical);
    assert!(lead.title.starts_with("phone-b"), "{}", lead.title);
    assert_eq!(
        f.notified,
        vec![
            (lead.id, NotifyReason::Opened),
            (lead.id, NotifyReason::Raised)
        ]
    );
}

#[test]
fn people_acknowledge_resolve_and_note() {
    let mut f = Floor::new(DEPTH);
    f.at(0).reading("phone-a", 12);
    f.at(30);
    let id = f.only().id;
    let mut fx = Vec::new();
    let i =
        f.e.acknowledge(id, "alice", Some("on it"), &mut fx)
            .unwrap();
    assert_eq!(
        (i.status, i.acknowledged_by.as_deref()),
        (IncidentStatus::Acknowledged, Some("alice"))
    );
    assert_eq!(
        f.e.acknowledge(id, "bob", None, &mut fx),
        Err(CommandError::AlreadyAcknowledged(id, "alice".into()))
    );
    f.e.record(id, "bob", TimelineKind::Note, "called the carrier", &mut fx)
        .unwrap();
    let i = f.e.resolve(id, "alice", None, &mut fx).unwrap();
    assert_eq!(
        (i.status, i.resolved_by.as_deref()),
        (IncidentStatus::Resolved, Some("alice"))
    );
    assert_eq!(
        f.e.resolve(id, "alice", None, &mut fx),
        Err(CommandError::Resolved(id))
    );
    assert_eq!(
        f.e.acknowledge(999, "alice", None, &mut fx),
        Err(CommandError::NotFound(999))
    );
    let kinds: Vec<_> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Timeline(e) => Some((e.seq, e.kind, e.actor.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (2, TimelineKind::Acknowledged, "alice".to_string()),
            (3, TimelineKind::Note, "bob".into()),
            (4, TimelineKind::Resolved, "alice".into())
        ]
    );
}

#[test]
fn a_restarted_engine_resumes_open_incidents() {
    let mut f = Floor::new(DEPTH);
    f.at(0).reading("phone-a", 25);
    f.at(30);
    let open = f.e.open_incidents();
    let max = f.e.max_incident_id();
    let mut g = Floor::new(DEPTH);
    g.e.restore(open, max, &mut g.fx);
    g.at(40).reading("phone-a", 26);
    assert!(
        g.incidents.values().all(|i| i.id == 1),
        "no second incident: {:#?}",
        g.incidents
    );
    g.at(41).reading("phone-a", 2);
    g.at(120);
    let i = g.only();
    assert_eq!((i.id, i.status), (1, IncidentStatus::Resolved));
    assert_eq!(
        i.values_at_peak["waiting"], 26.0,
        "the peak continues from the restored one"
    );
}

#[test]
fn replaying_the_same_events_gives_the_same_incidents() {
    let cfg = Arc::new(
        crate::config::parse_config(crate::config::EMBEDDED, "alerts.toml", None).unwrap(),
    );
    let s = crate::sim::Scenario::outage_demo(T0, 3);
    let text = crate::sim::to_ndjson(&crate::sim::simulate(&s));
    let (a, _) = crate::check::incidents_of(&cfg, &text, None);
    let (b, _) = crate::check::incidents_of(&cfg, &text, None);
    assert!(!a.is_empty(), "the outage opens incidents");
    assert_eq!(a, b);
    let rules: std::collections::BTreeSet<_> = a.iter().map(|i| i.rule.as_str()).collect();
    for r in ["phone-queue-depth", "service-level", "complaint-spike"] {
        assert!(rules.contains(r), "{r} fired in the outage: {rules:?}");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Arrive,
        Answer(usize),
        Abandon(usize),
        Wait(u16),
        Reading(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Arrive),
            3 => (0usize..64).prop_map(Op::Answer),
            1 => (0usize..64).prop_map(Op::Abandon),
            2 => (1u16..120).prop_map(Op::Wait),
            1 => (0u32..40).prop_map(Op::Reading),
        ]
    }

    const RULES: &str = r#"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 8
critical = 15
clear = 4
hold = "10s"
[[rule]]
name = "sl"
kind = "service_level"
warning = 0.8
critical = 0.5
min_volume = 5
[[rule]]
name = "wait"
kind = "longest_wait"
warning = "60s"
"#;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn service_level_stays_a_ratio_and_incidents_need_a_breach(ops in proptest::collection::vec(op(), 1..300)) {
            let mut f = Floor::new(RULES);
            let mut next = 0usize;
            f.at(0);
            let mut t = 0i64;
            for o in ops {
                match o {
                    Op::Arrive => { next += 1; let _ = f.contact(&format!("c{next}"), ContactStep::Arrived, Some("phone-a")); }
                    Op::Answer(k) => { let _ = f.contact(&format!("c{}", k % (next + 1)), ContactStep::Answered, None); }
                    Op::Abandon(k) => { let _ = f.contact(&format!("c{}", k % (next + 1)), ContactStep::Abandoned, None); }
                    Op::Wait(s) => { t += i64::from(s); f.at(t); }
                    Op::Reading(w) => { f.reading("phone-a", w); }
                }
                for m in f.e.queue_metrics() {
                    if let Some(sl) = m.service_level {
                        prop_assert!((0.0..=1.0).contains(&sl), "service level {sl}");
                    }
                    if let Some(a) = m.abandonment_rate {
                        prop_assert!((0.0..=1.0).contains(&a));
                    }
                }
            }
            // Every incident opened on a figure past its rule's first threshold.
            for i in f.incidents.values() {
                let v = &i.values_at_open;
                match i.rule.as_str() {
                    "depth" => prop_assert!(v["waiting"] >= 8.0, "{v:?}"),
                    "sl" => prop_assert!(v["service_level"] <= 0.8, "{v:?}"),
                    "wait" => prop_assert!(v["longest_wait_s"] >= 60.0, "{v:?}"),
                    other => prop_assert!(false, "unknown rule {other}"),
                }
            }
        }
    }
}

const ESCALATION: &str = r#"
[[webhook]]
name = "managers"
url = "http://127.0.0.1:9/managers"
[[webhook]]
name = "director"
url = "http://127.0.0.1:9/director"
[[escalation]]
name = "standard"
severities = ["warning", "critical"]
[[escalation.level]]
notify = ["webhook:managers"]
wait = "5m"
[[escalation.level]]
notify = ["webhook:director", "webhook:managers"]
wait = "10m"
"#;

fn sent(f: &Floor) -> Vec<(i64, &str, DispatchReason)> {
    f.dispatched
        .iter()
        .map(|(t, target, r)| ((t - T0) / 1000, target.as_str(), *r))
        .collect()
}

#[test]
fn an_unacknowledged_incident_climbs_each_level_on_time() {
    let mut f = Floor::new(&format!("{ESCALATION}{DEPTH}"));
    f.at(0).reading("phone-a", 12);
    f.at(30);
    assert_eq!(
        sent(&f),
        vec![(30, "webhook:managers", DispatchReason::Opened)]
    );
    f.at(329);
    assert_eq!(f.dispatched.len(), 1, "level 2 waits 5 minutes");
    f.at(330);
    assert_eq!(
        sent(&f)[1..],
        [
            (330, "webhook:director", DispatchReason::Escalated),
            (330, "webhook:managers", DispatchReason::Escalated)
        ]
    );
    let esc = f.only().escalation.clone().unwrap();
    assert_eq!(
        (esc.level, esc.next_at),
        (2, None),
        "the last level, no repeat"
    );
    f.at(650);
    assert_eq!(f.dispatched.len(), 3);
    // The reading goes stale at 600 s: the queue clears and resolving tells everyone told.
    f.at(700);
    let resolved: Vec<_> = sent(&f)
        .into_iter()
        .filter(|d| d.2 == DispatchReason::Resolved)
        .map(|d| d.1)
        .collect();
    assert_eq!(resolved, vec!["webhook:managers", "webhook:director"]);
    assert!(
        f.incidents
            .values()
            .next()
            .unwrap()
            .escalation
            .as_ref()
            .unwrap()
            .told
            .len()
            == 2
    );
}

#[test]
fn acknowledging_stops_the_climb_and_repeat_starts_over() {
    let rules = format!("{ESCALATION}{DEPTH}").replace(
        "severities = [\"warning\", \"critical\"]",
        "severities = [\"warning\", \"critical\"]\nrepeat = true",
    );
    let mut f = Floor::new(&rules);
    f.at(0).reading("phone-a", 12);
    f.at(30);
    f.at(540).reading("phone-a", 12); // keep the reading fresh
    f.at(330 + 600);
    let levels: Vec<_> = sent(&f).iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(
        levels,
        vec![
            (30, "webhook:managers"),
            (330, "webhook:director"),
            (330, "webhook:managers"),
            (930, "webhook:managers")
        ],
        "after the last level, the first again"
    );
    let id = f.only().id;
    let mut fx = Vec::new();
    f.e.acknowledge(id, "alice", None, &mut fx).unwrap();
    f.fx.extend(fx);
    f.drain();
    f.at(1100).reading("phone-a", 12);
    f.at(1500);
    assert_eq!(f.dispatched.len(), 4, "acknowledged: no more levels");
    assert_eq!(f.only().escalation.as_ref().unwrap().next_at, None);
}

#[test]
fn worse_severity_tells_those_already_told_and_crisis_without_policy_is_quiet() {
    let mut f = Floor::new(&format!("{ESCALATION}{DEPTH}"));
    f.at(0).reading("phone-a", 12);
    f.at(30);
    f.at(40).reading("phone-a", 25);
    assert_eq!(
        sent(&f)[1],
        (40, "webhook:managers", DispatchReason::Raised)
    );
    // A crisis has no policy here (severities warning and critical only): nobody is paged.
    let mut g = Floor::new(&format!("{ESCALATION}{DEPTH}"));
    g.at(0).reading("phone-a", 70);
    g.at(30);
    assert_eq!(g.only().severity, Severity::Crisis);
    assert!(g.dispatched.is_empty());
}

/// A warning with no policy clears and comes back at critical inside its cool-down: reopened,
/// and paged, since nobody was ever told of it.
#[test]
fn a_warning_never_paged_that_comes_back_critical_is_paged() {
    let rules = format!("{ESCALATION}{DEPTH}").replace(
        "severities = [\"warning\", \"critical\"]",
        "severities = [\"critical\"]",
    );
    let mut f = Floor::new(&rules);
    f.at(0).reading("phone-a", 12);
    f.at(30);
    assert_eq!(f.only().severity, Severity::Warning);
    assert!(f.dispatched.is_empty(), "a warning pages nobody here");
    f.reading("phone-a", 2);
    f.at(100);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
    f.reading("phone-a", 25);
    f.at(140);
    let i = f.only();
    assert_eq!(
        (i.status, i.severity, i.reopened),
        (IncidentStatus::Firing, Severity::Critical, 1)
    );
    assert_eq!(
        sent(&f),
        vec![(130, "webhook:managers", DispatchReason::Opened)],
        "paged the moment it came back critical"
    );
}

/// Raised to crisis, an incident pages the crisis policy's first level at once (and tells those
/// already told), instead of when the current level's wait runs out.
#[test]
fn a_raise_into_the_crisis_policy_pages_its_people_at_once() {
    let rules = format!(
        "{ESCALATION}{DEPTH}[[escalation]]\nname = \"crisis\"\nseverities = [\"crisis\"]\n[[escalation.level]]\nnotify = [\"webhook:director\"]\nwait = \"5m\"\n"
    );
    let mut f = Floor::new(&rules);
    f.at(0).reading("phone-a", 25);
    f.at(30);
    assert_eq!(
        sent(&f),
        vec![(30, "webhook:managers", DispatchReason::Opened)]
    );
    f.at(40).reading("phone-a", 70);
    assert_eq!(
        sent(&f)[1..],
        [
            (40, "webhook:managers", DispatchReason::Raised),
            (40, "webhook:director", DispatchReason::Raised)
        ]
    );
    let esc = f.only().escalation.clone().unwrap();
    assert_eq!((esc.policy.as_str(), esc.level), ("crisis", 1));
    // Raised again within the same policy: no second start.
    f.at(50).reading("phone-a", 90);
    assert_eq!(f.dispatched.len(), 3);
}

/// An e-mail nobody answered before the state horizon leaves the open contacts, but a reply
/// days later is taken and counted, not refused as an unknown contact.
#[test]
fn a_late_reply_to_an_expired_email_is_taken() {
    let mut f = Floor::new("");
    f.at(0);
    f.contact("e-1", ContactStep::Arrived, Some("email-a"))
        .unwrap();
    assert_eq!(f.e.open_contacts(), 1);
    let horizon = f.e.cfg.state_horizon() / 1000;
    f.at(horizon + 2 * 3600);
    assert_eq!(f.e.open_contacts(), 0, "expired at the horizon");
    assert_eq!(
        f.contact("e-1", ContactStep::AgentReplied, None),
        Ok(Applied::New)
    );
    let m = f.e.queue_metrics();
    assert_eq!(m[0].answered, 1, "the late answer counts: {m:?}");
    assert_eq!(
        f.contact("e-1", ContactStep::Answered, None),
        Ok(Applied::Duplicate)
    );
    assert_eq!(
        f.contact("e-1", ContactStep::Resolved, None),
        Ok(Applied::New)
    );
    assert_eq!(
        f.contact("e-1", ContactStep::Resolved, None),
        Ok(Applied::Duplicate)
    );
    // A contact never seen is still refused.
    assert!(f.contact("e-2", ContactStep::AgentReplied, None).is_err());
}

const UNDERSTAFFED: &str = r#"
[[rule]]
name = "understaffed"
kind = "metric"
metric = "agents_short"
warning = 3
critical = 10
clear = 0
hold = "1m"
clear_hold = "2m"
"#;

/// A phone queue whose contacts take 3 minutes each: one arrives every `gap` seconds from
/// `from` to `to`, and is answered at once; `staff(t)` gives (busy, available, waiting) for the
/// ACD's reading each minute.
fn staffed_floor(
    f: &mut Floor,
    from: i64,
    to: i64,
    gap: impl Fn(i64) -> i64,
    staff: impl Fn(i64) -> (u32, u32, u32),
) {
    let mut next = from;
    let mut open: std::collections::VecDeque<(i64, String)> = Default::default();
    for t in from..to {
        f.at(t);
        while open.front().is_some_and(|(end, _)| *end <= t) {
            let (_, id) = open.pop_front().unwrap();
            f.contact(&id, ContactStep::Resolved, None).unwrap();
        }
        if t == next {
            let id = format!("s-{t}");
            f.contact(&id, ContactStep::Arrived, Some("phone-a"))
                .unwrap();
            f.contact(&id, ContactStep::Answered, None).unwrap();
            open.push_back((t + 180, id));
            next += gap(t);
        }
        if t % 60 == 0 {
            let (busy, available, waiting) = staff(t);
            let at = f.e.now();
            f.apply(Event::Queue {
                queue: "phone-a",
                at,
                waiting: Some(waiting),
                longest_wait_ms: None,
                agents_available: Some(available),
                agents_busy: Some(busy),
            })
            .unwrap();
        }
    }
}

/// A planned shift change with demand falling to match pages nobody; the same drop in staff
/// with demand unchanged and callers waiting does.
#[test]
fn understaffing_follows_demand_across_a_planned_shift_change() {
    let mut f = Floor::new(UNDERSTAFFED);
    // 20 minutes busy: a call every 6 s (30 erlangs), 36 staffed; then the late shift: a call
    // every 18 s (10 erlangs) and 14 staffed, some free, nobody waiting.
    staffed_floor(
        &mut f,
        0,
        50 * 60,
        |t| if t < 20 * 60 { 6 } else { 18 },
        |t| if t < 20 * 60 { (30, 6, 0) } else { (10, 4, 0) },
    );
    assert!(f.incidents.is_empty(), "{:#?}", f.incidents);
    // Demand back to busy, staff still 14 and all busy, callers queueing.
    staffed_floor(&mut f, 50 * 60, 60 * 60, |_| 6, |_| (14, 0, 15));
    let i = f.only();
    assert_eq!(
        (i.rule.as_str(), i.severity),
        ("understaffed", Severity::Critical)
    );
    // Staff back to 36 with agents free: nobody is short (0, the clear level) and it clears.
    staffed_floor(&mut f, 60 * 60, 70 * 60, |_| 6, |_| (30, 6, 0));
    assert_eq!(f.only().status, IncidentStatus::Resolved);
}

/// A burst of two minutes with every agent busy and callers waiting is not a staff shortage:
/// the demand Erlang C staffs for is the lesser of the last 2 and the last 15 minutes' rate.
#[test]
fn a_burst_of_a_few_minutes_is_not_understaffing() {
    let mut f = Floor::new(UNDERSTAFFED);
    // A call every 6 s (30 erlangs), 36 staffed.
    staffed_floor(&mut f, 0, 20 * 60, |_| 6, |_| (30, 6, 0));
    // Two minutes at a call every 3 s: all 36 busy, callers waiting; then the usual pace with
    // the queue still working off the burst.
    staffed_floor(&mut f, 20 * 60, 22 * 60, |_| 3, |_| (36, 0, 12));
    staffed_floor(&mut f, 22 * 60, 27 * 60, |_| 6, |_| (36, 0, 5));
    // A few agents short, on the board at most; nobody paged.
    assert!(
        f.incidents
            .values()
            .all(|i| i.severity < Severity::Critical),
        "{:#?}",
        f.incidents
    );
    assert!(f.dispatched.is_empty(), "{:?}", f.dispatched);
}

fn silence(scope: &str, until_s: i64) -> floorwatch_protocol::Silence {
    floorwatch_protocol::Silence {
        id: 0,
        rule: "*".into(),
        scope: scope.into(),
        severities: vec![],
        matchers: vec![],
        author: "li.lei".into(),
        comment: "carrier maintenance".into(),
        starts_at: calendar::ms_to_utc(T0),
        ends_at: calendar::ms_to_utc(T0 + until_s * 1000),
    }
}

#[test]
fn a_silenced_incident_is_recorded_but_pages_nobody_until_the_silence_ends() {
    let mut f = Floor::new(&format!("{ESCALATION}{DEPTH}"));
    let s = f.e.add_silence(silence("phone-*", 3600), &mut f.fx);
    f.drain();
    f.at(0).reading("phone-a", 12);
    f.reading("phone-b", 0);
    f.at(30);
    let i = f.only();
    assert!(
        i.silenced_by
            .as_deref()
            .unwrap()
            .starts_with("silence #1 by li.lei"),
        "{i:?}"
    );
    assert!(f.dispatched.is_empty(), "silenced: nobody paged");
    f.at(400).reading("phone-a", 12);
    assert!(f.dispatched.is_empty(), "no climb while silenced");
    // Ending the silence early: the climb starts now.
    f.e.expire_silence(s.id, &mut f.fx).unwrap();
    f.drain();
    assert_eq!(
        sent(&f),
        vec![(400, "webhook:managers", DispatchReason::Opened)]
    );
    assert_eq!(f.only().silenced_by, None);
}

#[test]
fn maintenance_windows_silence_by_schedule() {
    let rules = format!(
        "{ESCALATION}{DEPTH}[[maintenance]]\nname = \"nightly\"\nschedule = \"night\"\nqueues = [\"phone-*\"]\n"
    );
    let mut f = Floor::new(&rules);
    // 20:00 UTC is 11 h after T0: inside the nightly window.
    let night = 11 * 3600;
    f.at(night + 10).reading("phone-a", 12);
    f.at(night + 60);
    assert!(
        f.only()
            .silenced_by
            .as_deref()
            .unwrap()
            .contains("maintenance window \"nightly\"")
    );
    assert!(f.dispatched.is_empty());
    // Still breaching when the window closes at 08:00: pages then.
    for k in 1..=150 {
        f.at(night + k * 300).reading("phone-a", 12);
    }
    assert_eq!(
        sent(&f).first().map(|d| (d.0, d.1)),
        Some((night + 12 * 3600, "webhook:managers"))
    );
}

#[test]
fn un_acknowledging_resumes_the_climb() {
    let mut f = Floor::new(&format!("{ESCALATION}{DEPTH}"));
    f.at(0).reading("phone-a", 12);
    f.at(30);
    let id = f.only().id;
    let mut fx = Vec::new();
    f.e.acknowledge(id, "alice", None, &mut fx).unwrap();
    assert_eq!(
        f.e.unacknowledge(id, "bob", &mut fx).unwrap().status,
        IncidentStatus::Firing
    );
    assert_eq!(
        f.e.unacknowledge(id, "bob", &mut fx),
        Err(CommandError::NotAcknowledged(id))
    );
    f.fx.extend(fx);
    f.drain();
    f.at(329).reading("phone-a", 12);
    assert_eq!(f.dispatched.len(), 1);
    f.at(330);
    assert_eq!(
        sent(&f)[1],
        (330, "webhook:director", DispatchReason::Escalated),
        "level 2 after a fresh wait"
    );
}

#[test]
fn drills_run_the_real_escalation_marked_and_end_by_themselves() {
    let drill = "[[drill]]\nname = \"outage\"\ntitle = \"Carrier outage rehearsal\"\nscope = \"phone-general\"\nseverity = \"critical\"\nlength = \"20m\"\ncron = \"0 0 10 * * Mon\"\n";
    let mut f = Floor::new(&format!("{ESCALATION}{DEPTH}{drill}"));
    f.at(0);
    assert_eq!(
        f.e.start_drill("fire", "me", &mut f.fx),
        Err(CommandError::UnknownDrill("fire".into()))
    );
    let i = f.e.start_drill("outage", "wang.fang", &mut f.fx).unwrap();
    f.drain();
    assert!(i.drill && i.title.starts_with("[DRILL] "), "{i:?}");
    assert_eq!(
        sent(&f),
        vec![(0, "webhook:managers", DispatchReason::Opened)],
        "the real path"
    );
    f.at(300);
    assert_eq!(f.dispatched.len(), 3, "it climbs like a real incident");
    f.at(1199);
    assert_eq!(f.incidents[&i.id].status, IncidentStatus::Firing);
    f.at(1200);
    assert_eq!(
        f.incidents[&i.id].status,
        IncidentStatus::Resolved,
        "ends after its length"
    );
    // The cron starts it by itself: Monday 10:00 UTC is an hour after T0.
    f.at(3600);
    let scheduled: Vec<_> = f
        .incidents
        .values()
        .filter(|x| x.drill && x.id != i.id)
        .collect();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].opened_at, calendar::ms_to_utc(T0 + 3_600_000));
}

mod alerts;
mod board;
mod burn;
mod feeds;
mod forecast;
