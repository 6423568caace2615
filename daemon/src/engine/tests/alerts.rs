//! Alerts from Prometheus, Grafana and Alertmanager through `[[route]]`s, on the virtual clock:
//! an alert opens its route's incident at once, a re-send changes nothing, the incident follows
//! the worst alert on its scope and resolves when the last one ends, label matchers silence it,
//! and a restart's replay keeps it open without a second page.

use std::borrow::Cow;

use super::*;

const ROUTES: &str = r#"
[[route]]
name = "telephony"
matchers = ['service=~"sip|pbx"']
escalation = "standard"
scope = "queue"
severities = { page = "critical" }
[[route]]
name = "anything"
"#;

type Pairs = Vec<(Cow<'static, str>, Cow<'static, str>)>;

fn pairs(p: &[(&'static str, &'static str)]) -> Pairs {
    let mut v: Pairs = p
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v)))
        .collect();
    v.sort();
    v
}

impl Floor {
    /// An alert with `labels`, ending `ends_s` seconds from now (`None`: until resolved).
    fn alert(
        &mut self,
        labels: &Pairs,
        annotations: &Pairs,
        ends_s: Option<i64>,
    ) -> Result<Applied, Refused> {
        let at = self.e.now();
        self.apply(Event::Alert(AlertIn {
            at,
            labels,
            annotations,
            starts_at: at,
            ends_at: ends_s.map(|s| at + s * 1000),
            generator_url: None,
        }))
    }
}

fn trunk() -> Pairs {
    pairs(&[
        ("alertname", "TrunkDown"),
        ("service", "sip"),
        ("queue", "phone-a"),
        ("severity", "warning"),
    ])
}

#[test]
fn an_alert_opens_its_routes_incident_and_a_resend_changes_nothing() {
    let mut f = Floor::new(&format!("{ESCALATION}{ROUTES}"));
    let words = pairs(&[("summary", "SIP trunk down")]);
    assert_eq!(f.at(0).alert(&trunk(), &words, Some(60)), Ok(Applied::New));
    let i = f.only();
    assert_eq!(
        (i.rule.as_str(), i.scope.as_str(), i.severity),
        ("telephony", "phone-a", Severity::Warning)
    );
    assert_eq!(i.title, "SIP trunk down");
    assert_eq!(i.labels["alertname"], "TrunkDown");
    assert_eq!(
        sent(&f),
        vec![(0, "webhook:managers", DispatchReason::Opened)]
    );
    // Prometheus sends it again every minute, its end moved on: still one incident, one page.
    for t in [20, 40, 60, 80] {
        assert_eq!(f.at(t).alert(&trunk(), &words, Some(60)), Ok(Applied::New));
    }
    // The very same again (a retried request): a duplicate.
    assert_eq!(f.alert(&trunk(), &words, Some(60)), Ok(Applied::Duplicate));
    assert_eq!(f.incidents.len(), 1);
    assert_eq!(f.dispatched.len(), 1);
    // A worse alert on the same queue raises it; when the worse one ends it stays at its worst
    // until the last alert ends, then resolves.
    let worse = pairs(&[
        ("alertname", "PbxDown"),
        ("service", "pbx"),
        ("queue", "phone-a"),
        ("severity", "page"),
    ]);
    f.at(90).alert(&worse, &pairs(&[]), Some(10)).unwrap();
    assert_eq!(f.only().severity, Severity::Critical);
    assert!(f.only().title.ends_with("(+1 more)"), "{}", f.only().title);
    f.at(139);
    assert_eq!(f.only().status, IncidentStatus::Firing);
    f.at(141);
    assert_eq!(
        f.only().status,
        IncidentStatus::Resolved,
        "its end passed: resolved"
    );
}

#[test]
fn an_alert_sent_resolved_resolves_and_one_never_seen_is_ignored() {
    let mut f = Floor::new(&format!("{ESCALATION}{ROUTES}"));
    f.at(0).alert(&trunk(), &pairs(&[]), None).unwrap();
    assert_eq!(f.only().status, IncidentStatus::Firing);
    f.at(3600);
    assert_eq!(
        f.only().status,
        IncidentStatus::Firing,
        "no end: until resolved"
    );
    f.alert(&trunk(), &pairs(&[]), Some(0)).unwrap();
    f.at(3601);
    assert_eq!(f.only().status, IncidentStatus::Resolved);
    let other = pairs(&[("alertname", "Gone")]);
    assert_eq!(f.alert(&other, &pairs(&[]), Some(-5)), Ok(Applied::New));
    assert_eq!(
        f.incidents.len(),
        1,
        "an end of an alert never seen opens nothing"
    );
}

#[test]
fn routes_are_tried_in_order_and_an_alert_no_route_takes_is_refused() {
    let mut f = Floor::new(&format!("{ESCALATION}{ROUTES}"));
    let crm = pairs(&[("alertname", "CrmSlow"), ("service", "crm")]);
    f.at(0).alert(&crm, &pairs(&[]), Some(60)).unwrap();
    let i = f.only();
    assert_eq!(
        (i.rule.as_str(), i.scope.as_str()),
        ("anything", "anything")
    );
    assert_eq!(
        i.title, "anything: CrmSlow",
        "no summary: its name and scope"
    );
    let mut g = Floor::new(
        r#"
[[route]]
name = "only-sip"
matchers = ['service="sip"']
"#,
    );
    let e = g.at(0).alert(&crm, &pairs(&[]), Some(60)).unwrap_err();
    assert_eq!(e.field, Some("labels"));
    assert_eq!(e.reason, "no [[route]] takes it (routes: only-sip)");
}

#[test]
fn a_silence_by_labels_holds_over_an_alerts_incident() {
    let mut f = Floor::new(&format!("{ESCALATION}{ROUTES}"));
    let mut s = silence("*", 3600);
    s.matchers = vec![crate::matchers::parse(r#"service="sip""#).unwrap()];
    f.e.add_silence(s, &mut f.fx);
    f.drain();
    f.at(0).alert(&trunk(), &pairs(&[]), Some(600)).unwrap();
    assert!(f.only().silenced_by.is_some(), "{:?}", f.only());
    assert!(f.dispatched.is_empty());
    // A silence over other labels leaves an incident alone, a rule's incident too.
    let mut g = Floor::new(&format!("{ESCALATION}{ROUTES}{DEPTH}"));
    let mut s = silence("*", 3600);
    s.matchers = vec![crate::matchers::parse(r#"service="crm""#).unwrap()];
    g.e.add_silence(s, &mut g.fx);
    g.at(0).alert(&trunk(), &pairs(&[]), Some(600)).unwrap();
    g.reading("phone-b", 25);
    g.at(30);
    assert!(g.incidents.values().all(|i| i.silenced_by.is_none()));
    // Over Floorwatch's own rules, `alertname` is the rule and `queue` the scope.
    let mut h = Floor::new(&format!("{ESCALATION}{DEPTH}"));
    let mut s = silence("*", 3600);
    s.matchers = vec![
        crate::matchers::parse(r#"alertname="depth""#).unwrap(),
        crate::matchers::parse(r#"queue=~"phone-.*""#).unwrap(),
    ];
    h.e.add_silence(s, &mut h.fx);
    h.at(0).reading("phone-a", 25);
    h.at(30);
    assert!(h.only().silenced_by.is_some());
}

#[test]
fn a_restart_replays_the_alerts_and_keeps_the_incident_without_a_second_page() {
    let mut f = Floor::new(&format!("{ESCALATION}{ROUTES}"));
    f.at(0).alert(&trunk(), &pairs(&[]), Some(120)).unwrap();
    let open = f.e.open_incidents();
    let max = f.e.max_incident_id();
    // The new engine warms on the journal (the alert), then takes the incident back.
    let mut g = Floor::new(&format!("{ESCALATION}{ROUTES}"));
    g.e.set_warming(true);
    g.alert(&trunk(), &pairs(&[]), Some(120)).unwrap();
    g.e.set_warming(false);
    g.e.restore(open, max, &mut g.fx);
    g.at(60);
    assert!(
        g.incidents
            .values()
            .all(|i| i.status != IncidentStatus::Resolved)
    );
    assert!(g.dispatched.is_empty(), "no second page");
    g.at(121);
    let i = g.only();
    assert_eq!((i.id, i.status), (1, IncidentStatus::Resolved));
}

#[test]
fn routes_and_their_errors_in_alerts_toml_are_located() {
    let bad = r#"
[[route]]
name = "r"
matchers = ['service=~"("', "9=x"]
scope = "no such label"
severities = { page = "loud" }
hold = "1m"
"#;
    let e = parse_config(bad, "alerts.toml", None)
        .unwrap_err()
        .to_string();
    for needle in [
        "alerts.toml:4:13: `matchers` in [[route]] \"r\": service=~\"(\": not a valid regex (unclosed group)\n",
        "alerts.toml:4:29: `matchers` in [[route]] \"r\": \"9\" is not a label name",
        "alerts.toml:5:9: `scope` in [[route]] \"r\": \"no such label\" is not a label name",
        "alerts.toml:6:23: `severities` in [[route]] \"r\": \"page\" maps to unknown severity \"loud\"",
        "alerts.toml:7:1: unknown key `hold` in [[route]]",
    ] {
        assert!(e.contains(needle), "{needle}\nin:\n{e}");
    }
}
