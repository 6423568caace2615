//! Silence is a signal, end to end with the real daemon: a queue's source stops in a busy hour
//! and the silence incident opens within its threshold, the tile goes stale in real Chromium,
//! nothing on that queue resolves while it is silent, and the silence clears when the feed comes
//! back; a quiet queue raises nothing. Floorwatch's own heartbeat: a real HTTP receiver sees
//! the pings, and sees them stop when the daemon is killed; one that hangs costs each ping its
//! timeout and is shown failing. A delivery target that keeps failing
//! raises its own incident, paged to the others, and shows on the board's status line. And
//! `floorwatch demo` plays a dead feed each cycle, and a `stop_feed` drill cuts one.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use browser::Browser;
use common::{Daemon, Start, at};
use serde_json::Value;

/// Depth pages at 20 waiting; a source is stale after 5 s at the least (at one reading a
/// second: ln(10^4) s, about 9 s); the floor's readings age out after 5 s, as in the issue.
fn config(heartbeat_url: &str) -> String {
    format!(
        r#"
[daemon]
tick = "100ms"
snapshot_stale_after = "5s"
[[queue]]
name = "phone-*"
channel = "phone"
[[queue]]
name = "chat-*"
channel = "chat"
[feeds]
min_silence = "5s"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 20
clear = 5
hold = "1s"
clear_hold = "2s"
[[rule]]
name = "feed-silent"
kind = "feed_silence"
[[heartbeat]]
name = "dead-mans-switch"
url = "{heartbeat_url}"
interval = "1s"
timeout = "1s"
[live]
frame_interval = "100ms"
heartbeat = "1s"
"#
    )
}

const ENV: [(&str, &str); 3] = [
    ("FLOORWATCH_INGEST_TOKENS", "acd-1:ingest-secret-0001"),
    ("FLOORWATCH_ADMIN_TOKENS", "ops:admin-secret-00001"),
    ("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001"),
];
const INGEST: &str = "ingest-secret-0001";

/// A reading of `queue` stamped `secs` from now, from the token's source (no `source` field).
fn reading(queue: &str, waiting: u32, secs: f64) -> String {
    let at = (chrono::Utc::now() + chrono::Duration::milliseconds((secs * 1000.0) as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!(
        r#"{{"type":"queue","queue":"{queue}","at":"{at}","waiting":{waiting},"agents_available":0,"agents_busy":30}}"#
    )
}

/// The last 13 minutes (inside the longest window) of a busy ACD: a reading a second for each
/// queue, sent at once.
fn busy_history(queues: &[&str]) -> String {
    let mut out = Vec::new();
    for s in (1..=780).rev() {
        for q in queues {
            out.push(reading(q, 3, -(s as f64)));
        }
    }
    out.join("\n")
}

/// A heartbeat receiver: counts the pings it gets.
async fn ping_receiver() -> (String, Arc<Mutex<Vec<Instant>>>) {
    let pings = Arc::new(Mutex::new(Vec::new()));
    let got = pings.clone();
    let app = axum::Router::new().route(
        "/ping",
        axum::routing::get(move || {
            let got = got.clone();
            async move {
                got.lock().unwrap().push(Instant::now());
                "OK"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/ping"), pings)
}

fn queue<'a>(state: &'a Value, name: &str) -> Option<&'a Value> {
    state["queues"]
        .as_array()?
        .iter()
        .find(|q| q["queue"] == name)
}

fn incidents<'a>(list: &'a Value, rule: &str, scope: &str) -> Vec<&'a Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["rule"] == rule && i["scope"] == scope)
        .collect()
}

#[tokio::test]
async fn a_dead_feed_is_raised_shown_stale_and_resolves_nothing_and_the_heartbeat_stops_with_the_daemon()
 {
    let (hb_url, pings) = ping_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&hb_url);
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: ENV.to_vec(),
    })
    .with_token("admin-secret-00001");

    // A busy hour from acd-1 (the token's name) on two phone queues; a chat queue with a
    // contact every few minutes from the chat platform (it names itself).
    let (s, r) = d
        .post(
            "/api/v1/events",
            busy_history(&["phone-a", "phone-b"]),
            Some(INGEST),
        )
        .await;
    assert_eq!(
        (s, r["accepted"].as_u64()),
        (200, Some(1560)),
        "{:.500}",
        r.to_string()
    );
    let chat: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"type":"contact","id":"chat-{i}","queue":"chat-x","event":"arrived","source":"chat-platform","at":"{}"}}"#,
                at(-780 + i * 120)
            )
        })
        .collect();
    d.post("/api/v1/events", chat.join("\n"), Some(INGEST))
        .await;

    // Live now: phone-a climbs to 40 waiting and pages; phone-b stays calm.
    let feed = |d: &Daemon, waiting_a: Option<u32>| {
        let mut lines = vec![reading("phone-b", 3, 0.0)];
        if let Some(w) = waiting_a {
            lines.push(reading("phone-a", w, 0.0));
        }
        let body = lines.join("\n");
        let (http, url) = (d.http.clone(), format!("{}/api/v1/events", d.url));
        async move {
            let r = http
                .post(url)
                .bearer_auth(INGEST)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    let mut opened = None;
    for _ in 0..60 {
        feed(&d, Some(40)).await;
        let (_, list) = d.get("/api/v1/incidents?status=open").await;
        if let Some(i) = incidents(&list, "depth", "phone-a").first() {
            opened = Some(i["id"].as_u64().unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let depth_id = opened.expect("the depth incident on phone-a opens");

    // phone-a's feed stops; phone-b's goes on. The silence incident opens within its
    // threshold (about 9 s at a reading a second), naming the source.
    let stopped = Instant::now();
    let mut silent = None;
    while stopped.elapsed() < Duration::from_secs(30) {
        feed(&d, None).await;
        let (_, list) = d.get("/api/v1/incidents?status=open").await;
        if let Some(i) = incidents(&list, "feed-silent", "phone-a").first() {
            silent = Some((*i).clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let silent = silent.unwrap_or_else(|| panic!("no silence incident; logs:\n{}", d.logs()));
    let took = stopped.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "the silence incident took {took:?}"
    );
    assert_eq!(silent["severity"], "critical");
    assert!(
        silent["title"]
            .as_str()
            .unwrap()
            .starts_with("phone-a: no data from acd-1 since"),
        "{silent}"
    );
    let (_, state) = d.get("/api/v1/state").await;
    let a = queue(&state, "phone-a").unwrap();
    assert_eq!(a["stale"]["source"], "acd-1", "{a}");
    assert!(queue(&state, "phone-b").unwrap().get("stale").is_none());

    // The tile says so in a real browser: stale, not green, with the source named.
    let b = Browser::start().await;
    b.client
        .goto(&format!("{}/?token=viewer-secret-0001", d.url))
        .await
        .unwrap();
    let tile = b
        .wait_until(
            20.0,
            "phone-a's tile stale",
            "const t = document.querySelector('.tile[data-queue=\"phone-a\"]'); \
             const n = t && t.querySelector('.stale-note'); \
             return t && t.dataset.state === 'stale' && n ? n.textContent : null;",
            Value::is_string,
        )
        .await;
    assert!(
        tile.as_str()
            .unwrap()
            .starts_with("No data from acd-1 since"),
        "{tile}"
    );
    let b_state = b
        .eval("return document.querySelector('.tile[data-queue=\"phone-b\"]').dataset.state;")
        .await;
    assert_ne!(b_state, "stale");
    b.close().await;

    // Well past snapshot_stale_after and the depth rule's clear hold: the reading has aged out
    // (derived figures say 0 waiting), yet nothing on phone-a resolved.
    for _ in 0..40 {
        feed(&d, None).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, inc) = d.get(&format!("/api/v1/incidents/{depth_id}")).await;
    assert_eq!(inc["status"], "firing", "{inc}");
    let (_, list) = d.get("/api/v1/incidents?status=open").await;
    assert_eq!(incidents(&list, "feed-silent", "phone-a").len(), 1);
    // The quiet chat queue (a contact every few minutes) raised nothing.
    let (_, all) = d.get("/api/v1/incidents").await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|i| i["scope"] != "chat-x"),
        "{all:#}"
    );

    // The feed comes back with a calm queue: the silence clears, then the depth incident.
    for _ in 0..60 {
        feed(&d, Some(2)).await;
        let (_, inc) = d.get(&format!("/api/v1/incidents/{depth_id}")).await;
        if inc["status"] == "resolved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, inc) = d.get(&format!("/api/v1/incidents/{depth_id}")).await;
    assert_eq!(inc["status"], "resolved", "{inc}");
    let (_, sil) = d.get(&format!("/api/v1/incidents/{}", silent["id"])).await;
    assert_eq!(sil["status"], "resolved", "{sil}");
    let (_, state) = d.get("/api/v1/state").await;
    assert!(queue(&state, "phone-a").unwrap().get("stale").is_none());

    // The heartbeat: pinged every second while the daemon runs, counted on /metrics ...
    let seen = pings.lock().unwrap().len();
    assert!(seen >= 5, "{seen} pings");
    let (_, metrics) = d.get_text("/metrics").await;
    assert!(
        metrics.contains(
            r#"floorwatch_link_attempts_total{kind="heartbeat",name="dead-mans-switch"}"#
        ),
        "{metrics}"
    );
    // ... and no more once the daemon is killed.
    d.kill_hard();
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = pings.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = pings.lock().unwrap().len();
    assert_eq!(
        after,
        at_kill,
        "pings after the daemon died ({:?} after the kill)",
        killed.elapsed()
    );
}

/// A receiver that answers `/broken` with 503 and anything else with 200, keeping the bodies.
async fn hooks() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/{path}",
        axum::routing::post(
            move |axum::extract::Path(path): axum::extract::Path<String>, body: String| {
                let sink = sink.clone();
                async move {
                    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    sink.lock().unwrap().push((path.clone(), v));
                    if path == "broken" {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), got)
}

#[tokio::test]
async fn a_target_that_keeps_failing_raises_its_own_incident_paged_to_the_others() {
    let (base, got) = hooks().await;
    let cfg = format!(
        r#"
[daemon]
tick = "100ms"
[[queue]]
name = "phone-*"
channel = "phone"
[[webhook]]
name = "floor-chat"
url = "{base}/broken"
timeout = "1s"
[[webhook]]
name = "directors"
url = "{base}/directors"
timeout = "1s"
[[escalation]]
name = "sla"
severities = ["critical"]
[[escalation.level]]
notify = ["webhook:floor-chat", "webhook:directors"]
wait = "10m"
[delivery]
first_retry = "100ms"
max_backoff = "500ms"
unhealthy_after = "2s"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![],
    });
    d.post("/api/v1/events", common::reading("phone-a", 30, 0), None)
        .await;
    // The floor chat keeps answering 503: after 2 s of nothing but failures it has its own
    // incident, paged to the directors and not to itself.
    let list = d
        .wait_for("/api/v1/incidents?status=open", 30, |v| {
            v.as_array()
                .is_some_and(|l| l.iter().any(|i| i["rule"] == "delivery-failing"))
        })
        .await;
    let inc = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == "delivery-failing")
        .unwrap()
        .clone();
    assert_eq!(inc["scope"], "webhook:floor-chat");
    assert_eq!(inc["severity"], "critical");
    let id = inc["id"].as_u64().unwrap();
    common::until(10, "the directors paged about the failing target", || {
        got.lock()
            .unwrap()
            .iter()
            .any(|(p, b)| p == "directors" && b["incident"]["id"].as_u64() == Some(id))
            .then_some(())
    })
    .await;
    assert!(
        !got.lock()
            .unwrap()
            .iter()
            .any(|(p, b)| p == "broken" && b["incident"]["id"].as_u64() == Some(id)),
        "the failing target was paged about itself"
    );
    // Its record: on the health endpoint and on /metrics.
    let (_, health) = d.get("/api/v1/deliveries/health").await;
    let t = health["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "webhook:floor-chat")
        .unwrap_or_else(|| panic!("{health}"));
    assert!(t["failing_since"].is_string(), "{t}");
    assert!(t["failures_1h"].as_u64().unwrap() >= 2, "{t}");
    assert!(t["last_error"].as_str().unwrap().contains("503"), "{t}");
    let ok = health["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "webhook:directors")
        .unwrap();
    assert!(
        ok["failing_since"].is_null() && ok["last_ok"].is_string(),
        "{ok}"
    );
    let (_, metrics) = d.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"floorwatch_link_failing{kind="target",name="webhook:floor-chat"} 1"#),
        "{metrics}"
    );
    // And on the board's status line, in a real browser.
    let b = Browser::start().await;
    b.client.goto(&format!("{}/", d.url)).await.unwrap();
    let line = b
        .wait_until(
            20.0,
            "the failing target on the status line",
            "const n = document.getElementById('link-notice'); return n ? n.textContent : null;",
            Value::is_string,
        )
        .await;
    assert!(
        line.as_str()
            .unwrap()
            .contains("Pages to webhook:floor-chat failing since"),
        "{line}"
    );
    b.close().await;
}

/// `floorwatch demo` on the built-in configuration at 100x: each cycle's dead feed on
/// phone-billing raises and clears its silence incident, and the `acd-link-down` drill (with
/// `stop_feed`) cuts phone-general's feed while it runs.
#[tokio::test]
async fn the_demo_plays_a_dead_feed_and_a_drill_cuts_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.args([
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--speed",
        "100",
        "--data-dir",
    ])
    .arg(dir.path().join("data"));
    let d = Daemon::spawn(cmd, dir.path());
    let url = d.url.clone();
    let http = reqwest::Client::new();
    let open = |scope: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let list: Value = http
                .get(format!("{url}/api/v1/incidents"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            list.as_array()
                .unwrap()
                .iter()
                .filter(|i| i["rule"] == "feed-silent" && i["scope"] == scope)
                .cloned()
                .collect::<Vec<_>>()
        }
    };
    // The cycle's feed outage (18-22 simulated minutes: 11-13 s here) is raised, then cleared.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = open("phone-billing").await;
        if found.iter().any(|i| i["status"] == "resolved") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no resolved silence on phone-billing"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The drill cuts phone-general's feed (never silent till now): its silence opens while the
    // drill runs.
    assert!(open("phone-general").await.is_empty());
    let r = http
        .post(format!("{url}/api/v1/drills/acd-link-down"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while open("phone-general").await.is_empty() {
        assert!(Instant::now() < deadline, "no silence on phone-general");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A dead man's switch that accepts the connection and never answers costs each ping its
/// timeout, no more: the heartbeat is shown failing, and the next pings still go out on time.
#[tokio::test]
async fn a_heartbeat_receiver_that_hangs_is_shown_failing_and_stalls_nothing() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            keep.lock().unwrap().push(sock);
        }
    });
    let cfg = format!(
        "[daemon]\ntick = \"100ms\"\n[[queue]]\nname = \"phone-*\"\nchannel = \"phone\"\n\
         [[heartbeat]]\nname = \"dms\"\nurl = \"http://{addr}/ping\"\ninterval = \"1s\"\ntimeout = \"300ms\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![],
    });
    let health = d
        .wait_for("/api/v1/deliveries/health", 15, |v| {
            v["heartbeats"][0]["attempts_1h"].as_u64() >= Some(3)
        })
        .await;
    let hb = &health["heartbeats"][0];
    assert_eq!(hb["name"], "dms");
    assert!(hb["failing_since"].is_string(), "{hb}");
    assert!(
        hb["last_error"]
            .as_str()
            .unwrap()
            .contains("no answer within 300ms"),
        "{hb}"
    );
    assert!(
        held.lock().unwrap().len() >= 3,
        "each ping a connection of its own"
    );
}
