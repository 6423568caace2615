//! What the wall-board and the incident charts read from the engine, on the virtual clock: the
//! complaints panel (counts against the usual, keyword hits, grade deadlines), the first reply's
//! standard of a chat queue, and each scope's history, which a restart rebuilds.

use super::*;
use floorwatch_protocol::ChartSeries;

const KEYWORDS: &str = r#"
[[rule]]
name = "by-category"
kind = "complaint_spike"
by = "category"
window = "15m"
min_count = 5
min_ratio = 3.0
prior_per_hour = 2.0
severity = "critical"
[[rule]]
name = "opinion"
kind = "complaint_spike"
by = "keyword"
keywords = ["media", "lawyer"]
window = "30m"
min_count = 3
min_ratio = 3.0
prior_per_hour = 0.5
severity = "critical"
"#;

#[test]
fn the_complaints_panel_counts_the_hour_keywords_and_deadlines() {
    let mut f = Floor::new(KEYWORDS);
    f.at(0);
    f.complaint_saying(
        "k-1",
        Grade::Urgent,
        "network",
        "No signal, I will call the MEDIA",
    );
    f.at(600);
    f.complaint_saying("k-2", Grade::General, "network", "no signal");
    f.complaint_saying("k-3", Grade::Key, "billing", "my lawyer will hear of it");
    f.at(1800);
    let b = f.e.complaint_board();
    assert_eq!(b.window_s, 3600);
    let cats: Vec<_> = b
        .categories
        .iter()
        .map(|c| (c.name.as_str(), c.count))
        .collect();
    assert_eq!(cats, [("network", 2), ("billing", 1)], "most first");
    assert!(
        b.categories.iter().all(|c| c.usual.is_some()),
        "the category spike rule's baseline: {:?}",
        b.categories
    );
    let kw: Vec<_> = b
        .keywords
        .iter()
        .map(|c| (c.name.as_str(), c.count))
        .collect();
    assert_eq!(kw, [("media", 1), ("lawyer", 1)], "matched without case");
    // Urgent complaints are due within the hour: k-1 is half-way at 30 min, near at 50.
    let urgent = |f: &Floor| {
        f.e.complaint_board()
            .deadlines
            .into_iter()
            .find(|d| d.grade == Grade::Urgent)
            .unwrap()
    };
    let u = urgent(&f);
    assert_eq!((u.open, u.near, u.past), (1, 0, 0));
    assert_eq!(u.oldest_at.timestamp_millis(), T0);
    assert_eq!(u.deadline_s, 3600.0);
    f.at(3000);
    assert_eq!((urgent(&f).near, urgent(&f).past), (1, 0));
    f.at(3700);
    assert_eq!((urgent(&f).near, urgent(&f).past), (0, 1));
    // An hour later the counts have left the window; the open ones are still owed.
    f.at(2 * 3600 + 700);
    let b = f.e.complaint_board();
    assert!(b.categories.is_empty() || b.categories.iter().all(|c| c.count == 0));
    assert_eq!(b.deadlines.len(), 3, "{:?}", b.deadlines);
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
    assert!(
        f.e.complaint_board()
            .deadlines
            .iter()
            .all(|d| d.grade != Grade::Urgent),
        "handled: no longer owed"
    );
}

#[test]
fn a_chat_queue_shows_its_first_reply_standard() {
    let mut f = Floor::new("");
    f.at(0);
    f.contact("c-1", ContactStep::Arrived, Some("chat-a"))
        .unwrap();
    f.contact("c-2", ContactStep::Arrived, Some("chat-a"))
        .unwrap();
    f.at(10);
    f.contact("c-1", ContactStep::Answered, None).unwrap();
    f.contact("c-3", ContactStep::Arrived, Some("chat-a"))
        .unwrap();
    f.at(25);
    let m =
        f.e.queue_metrics()
            .into_iter()
            .find(|m| m.queue == "chat-a")
            .unwrap();
    let fr = m.first_response.unwrap();
    assert_eq!(fr.compliance, Some(1.0));
    assert_eq!(fr.oldest_s, Some(25.0), "c-2 waits longest");
    assert_eq!(
        fr.oldest_due.map(|t| t.timestamp_millis()),
        Some(T0 + 30_000),
        "its first reply is due 30 s after it came"
    );
    f.at(45);
    let fr = f.e.queue_metrics()[0].first_response.unwrap();
    assert_eq!(
        fr.oldest_due.map(|t| t.timestamp_millis()),
        Some(T0 + 30_000),
        "past its deadline, c-2 still shows when it was due"
    );
    assert_eq!(
        fr.compliance,
        Some(1.0 / 3.0),
        "c-2 and c-3 breached, c-1 was in time"
    );
    f.reading("phone-a", 1);
    let phone =
        f.e.queue_metrics()
            .into_iter()
            .find(|m| m.queue == "phone-a")
            .unwrap();
    assert_eq!(phone.first_response, None, "no first-reply limit on phone");
}

#[test]
fn history_is_sampled_on_the_engines_clock_and_a_rebuilt_engine_has_the_same() {
    let rules = format!("{DEPTH}\n{KEYWORDS}");
    let mut events: Vec<(i64, u32)> = Vec::new();
    let mut f = Floor::new(&rules);
    for s in (0..1800).step_by(15) {
        let waiting = if (600..1200).contains(&s) { 30 } else { 2 };
        events.push((s, waiting));
        f.at(s);
        f.reading("phone-a", waiting);
    }
    f.at(1800);
    let chart = |e: &Engine| e.chart_series("depth", "phone-a", T0, T0 + 1_800_000, 1000);
    let ChartSeries::Queue {
        points,
        service_level_target,
    } = chart(&f.e)
    else {
        panic!("a queue's chart")
    };
    assert_eq!(service_level_target, 0.8);
    assert_eq!(points.len(), 61, "one every 30 s");
    let peak = points.iter().map(|p| p.waiting).max().unwrap();
    assert_eq!(peak, 30);
    // The same events into a fresh engine, as a restart's warm-up replays them.
    let mut again = Floor::new(&rules);
    again.e.set_warming(true);
    for (s, waiting) in &events {
        again.at(*s);
        again.reading("phone-a", *waiting);
    }
    again.at(1800);
    assert_eq!(chart(&again.e), chart(&f.e));
    // A spike rule charts its group's count against the usual.
    f.complaint_saying("k-1", Grade::General, "network", "x");
    f.at(1900);
    let ChartSeries::Complaints { points, window_s } =
        f.e.chart_series("by-category", "category:network", T0, T0 + 2_000_000, 100)
    else {
        panic!("a complaint chart")
    };
    assert_eq!(window_s, 900);
    assert_eq!(points.last().map(|p| p.count), Some(1));
    assert!(points.last().unwrap().usual.is_some());
    assert_eq!(
        f.e.chart_series("nothing", "email", T0, T0 + 1, 10),
        ChartSeries::None
    );
}
