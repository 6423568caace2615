//! The wall-board end to end: the real daemon (with the board built into it) fed by a trace, and
//! the board in Debian's headless Chromium. A tile per queue; a breach turns its tile red and
//! lists the incident within a second; acknowledging from the board lands in the timeline;
//! cutting the daemon off shows the stale notice, and a restart brings the board back by itself.
//! A screenshot of the board is saved to target/test-artifacts/.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::time::Instant;

use browser::Browser;
use common::{Daemon, Start, at};
use serde_json::Value;

const CONFIG: &str = r#"
[daemon]
tick = "100ms"
[[queue]]
name = "phone-*"
channel = "phone"
[[queue]]
name = "chat-*"
channel = "chat"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 20
clear = 5
[live]
frame_interval = "100ms"
heartbeat = "1s"
"#;

const ENV: [(&str, &str); 4] = [
    ("FLOORWATCH_INGEST_TOKENS", "acd:ingest-secret-0001"),
    ("FLOORWATCH_ADMIN_TOKENS", "ops:admin-secret-00001"),
    ("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001"),
    ("FLOORWATCH_LEAD_TOKENS", "alice:lead-secret-000001"),
];

fn readings(waiting: &[(&str, u32)]) -> String {
    waiting
        .iter()
        .map(|(q, w)| {
            format!(
                r#"{{"type":"queue","queue":"{q}","at":"{}","waiting":{w},"agents_available":4}}"#,
                at(0)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const TILES: &str =
    "return [...document.querySelectorAll('.tile')].map(t => [t.dataset.queue, t.dataset.state]);";

fn tiles(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t[0].as_str().unwrap_or("").to_string(),
                t[1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn stale_shown() -> &'static str {
    "const n = document.getElementById('stale-notice'); \
     return n !== null && n.offsetParent !== null ? n.textContent : null;"
}

#[tokio::test]
async fn the_wall_board_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let start = || Start {
        config: CONFIG,
        dir: dir.path(),
        env: ENV.to_vec(),
    };
    let d = Daemon::start(start()).with_token("admin-secret-00001");
    let (_, page) = d.get_text("/").await;
    assert!(
        page.contains("/board/board.") && page.contains(".wasm"),
        "this binary has no wall-board: run scripts/build-board.sh, then build again\n{page}"
    );
    d.post(
        "/api/v1/events",
        readings(&[("phone-a", 2), ("phone-b", 1), ("chat-x", 0)]),
        None,
    )
    .await;

    let b = Browser::start().await;
    b.client
        .goto(&format!("{}/?token=lead-secret-000001", d.url))
        .await
        .unwrap();

    // A tile per queue, all green.
    let t = b
        .wait_until(20.0, "a tile per queue", TILES, |v| tiles(v).len() == 3)
        .await;
    let mut t = tiles(&t);
    t.sort();
    assert_eq!(
        t,
        [
            ("chat-x".to_string(), "green".to_string()),
            ("phone-a".into(), "green".into()),
            ("phone-b".into(), "green".into())
        ]
    );

    // A breach: red tile and the incident listed within a second of the POST.
    let posted = Instant::now();
    d.post("/api/v1/events", readings(&[("phone-a", 30)]), None)
        .await;
    let shown = b
        .wait_until(
            1.0,
            "phone-a red and its incident listed",
            "const t = document.querySelector('.tile[data-queue=\"phone-a\"]'); \
             const i = document.querySelector('.incident[data-incident-id]'); \
             return t && t.dataset.state === 'red' && i ? i.dataset.incidentId : null;",
            |v| v.is_string(),
        )
        .await;
    let took = posted.elapsed();
    let id: u64 = shown.as_str().unwrap().parse().unwrap();
    let (_, inc) = d.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["scope"], "phone-a");
    assert_eq!(inc["severity"], "critical");
    // The colour is not the only cue: the tile says it in words too.
    let text = b
        .eval("return document.querySelector('.tile[data-queue=\"phone-a\"]').innerText;")
        .await;
    assert!(text.as_str().unwrap().contains("30"), "{text}");
    eprintln!("breach to red tile in the browser: {took:?}");

    let shot = b.screenshot("wall-board").await;
    assert!(
        std::fs::metadata(shot).unwrap().len() > 10_000,
        "a screenshot of a drawn board"
    );

    // Acknowledge from the board: it lands in the incident's timeline, by the token's name.
    b.click(&format!(".incident[data-incident-id=\"{id}\"] .ack-button"))
        .await;
    let detail = d
        .wait_for(&format!("/api/v1/incidents/{id}"), 10, |v| {
            v["status"] == "acknowledged"
        })
        .await;
    let entry = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "acknowledged")
        .expect("an acknowledged entry")
        .clone();
    assert_eq!(entry["actor"], "alice");

    // The incident page shows the timeline, and a note added there joins it.
    b.client
        .goto(&format!(
            "{}/?token=lead-secret-000001#/incidents/{id}",
            d.url
        ))
        .await
        .unwrap();
    b.wait_until(
        10.0,
        "the acknowledgement on the incident page",
        "return document.querySelectorAll('#timeline .timeline-entry[data-kind=\"acknowledged\"]').length;",
        |v| v.as_u64() == Some(1),
    )
    .await;
    let note = b
        .client
        .find(fantoccini::Locator::Id("note-text"))
        .await
        .unwrap();
    note.send_keys("carrier confirms the outage").await.unwrap();
    b.click("#note-button").await;
    b.wait_until(
        10.0,
        "the note in the timeline",
        "return [...document.querySelectorAll('#timeline .timeline-entry[data-kind=\"note\"]')].map(e => e.textContent).join('|');",
        |v| v.as_str().is_some_and(|s| s.contains("carrier confirms the outage")),
    )
    .await;
    let links = b
        .eval("return [...document.querySelectorAll('a')].map(a => a.getAttribute('href')).filter(h => h && h.includes('/export'));")
        .await;
    let md = links
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|h| h.contains("format=md"))
        .expect("a Markdown export link")
        .to_string();
    let (status, review) = reqwest::get(format!("{}{md}", d.url))
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(
        status, 200,
        "the export link works as it is (token in the link)"
    );
    assert!(
        review
            .text()
            .await
            .unwrap()
            .contains("carrier confirms the outage")
    );

    // Back to the board; cut the daemon off: the board says since when its data is stale.
    b.client
        .goto(&format!("{}/?token=lead-secret-000001#/", d.url))
        .await
        .unwrap();
    b.wait_until(20.0, "the board again", TILES, |v| tiles(v).len() == 3)
        .await;
    let port = d.url.rsplit(':').next().unwrap().to_string();
    d.kill_hard();
    let notice = b
        .wait_until(15.0, "the stale notice", stale_shown(), Value::is_string)
        .await;
    assert!(
        notice.as_str().unwrap().chars().any(|c| c.is_ascii_digit()),
        "the notice says since when: {notice}"
    );
    let dimmed = b
        .eval("return document.querySelectorAll('.stale').length;")
        .await;
    assert!(dimmed.as_u64().unwrap() > 0, "old figures are dimmed");

    // Restart on the same port: the board comes back by itself, no reload.
    let d =
        Daemon::start_at(start(), &format!("127.0.0.1:{port}")).with_token("admin-secret-00001");
    b.wait_until(30.0, "the notice to go", stale_shown(), Value::is_null)
        .await;
    d.post("/api/v1/events", readings(&[("phone-b", 3)]), None)
        .await;
    b.wait_until(
        10.0,
        "fresh figures after the restart",
        "const t = document.querySelector('.tile[data-queue=\"phone-b\"]'); return t ? t.innerText : '';",
        |v| v.as_str().is_some_and(|s| s.contains('3')),
    )
    .await;
    assert_eq!(
        b.eval("return document.querySelectorAll('.stale').length;")
            .await
            .as_u64(),
        Some(0)
    );

    // Kiosk options: a queue filter and Simplified Chinese.
    b.client
        .goto(&format!(
            "{}/?token=viewer-secret-0001&lang=zh&queues=phone-*#/",
            d.url
        ))
        .await
        .unwrap();
    let t = b
        .wait_until(20.0, "the filtered board", TILES, |v| tiles(v).len() == 2)
        .await;
    assert!(tiles(&t).iter().all(|(q, _)| q.starts_with("phone-")));
    let lang = b.eval("return document.body.innerText;").await;
    assert!(
        lang.as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "Chinese labels: {lang}"
    );
    b.close().await;
}
