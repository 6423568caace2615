//! End-to-end: the real daemon on an ephemeral port, fed over HTTP, asserted through its API,
//! killed with SIGKILL and restarted.

mod common;

use std::process::Command;

use common::{BIN, Daemon, Start, at, reading, repo_config};
use serde_json::Value;

/// A small configuration whose rules fire at once, for API tests.
const QUICK: &str = r#"
[daemon]
tick = "100ms"
[daemon.limits]
max_body_bytes = 65536
max_queues = 3
[[queue]]
name = "phone-*"
channel = "phone"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 20
clear = 5
"#;

fn queue_of(state: &Value, name: &str) -> Value {
    let queues = state["queues"].as_array().expect("queues in the state");
    queues
        .iter()
        .find(|q| q["queue"] == name)
        .expect("the queue")
        .clone()
}

fn incidents(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_simulated_outage_over_http_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // 30 minutes of a mid-size center at its daily peak (whatever the hour of the test) ending now, the last 12 minutes an outage still going on.
    let trace = dir.path().join("trace.ndjson");
    let start = at(-30 * 60);
    let ok = Command::new(BIN)
        .args(["simulate", "--out"])
        .arg(&trace)
        .args([
            "--start",
            &start,
            "--duration",
            "30m",
            "--outage-at",
            "18m",
            "--outage-for",
            "30m",
            "--seed",
            "5",
            "--flat",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 1000, "a real trace: {} events", lines.len());

    let config = repo_config();
    let d = Daemon::start(Start {
        config: &config,
        dir: dir.path(),
        env: vec![],
    });
    let mut accepted = 0;
    for chunk in lines.chunks(700) {
        let (status, report) = d.post("/api/v1/events", chunk.join("\n"), None).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["refused"], Value::Array(vec![]), "{report}");
        accepted += report["accepted"].as_u64().unwrap();
    }
    assert_eq!(accepted, lines.len() as u64);

    // Rules without a hold fire at once; the queue-depth rule after its 20 s hold.
    let open = d
        .wait_for("/api/v1/incidents?status=open", 60, |v| {
            let list = incidents(v);
            let rules: Vec<&str> = list.iter().filter_map(|i| i["rule"].as_str()).collect();
            [
                "complaint-spike",
                "phone-queue-depth",
                "chat-first-response",
            ]
            .iter()
            .all(|r| rules.contains(r))
        })
        .await;
    let spike = incidents(&open)
        .into_iter()
        .find(|i| i["rule"] == "complaint-spike")
        .unwrap();
    assert_eq!(spike["severity"], "crisis");
    let (_, state) = d.get("/api/v1/state").await;
    let general = queue_of(&state, "phone-general");
    assert!(general["waiting"].as_u64().unwrap() >= 25, "{general}");

    // A lead acknowledges the crisis with a note; the timeline shows who and when.
    let id = spike["id"].as_u64().unwrap();
    let (s, _) = d
        .post(
            &format!("/api/v1/incidents/{id}/ack"),
            r#"{"by":"wang.fang","note":"carrier outage confirmed"}"#,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (_, before) = d.get(&format!("/api/v1/incidents/{id}")).await;
    let kinds: Vec<&str> = before["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "opened");
    assert!(kinds.contains(&"acknowledged"), "{kinds:?}");
    let (_, all_before) = d.get("/api/v1/incidents").await;

    // kill -9, then start again on the same data dir.
    d.kill_hard();
    let d = Daemon::start(Start {
        config: &config,
        dir: dir.path(),
        env: vec![],
    });
    let (_, after) = d.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(after["status"], "acknowledged");
    assert_eq!(after["acknowledged_by"], "wang.fang");
    let n = before["timeline"].as_array().unwrap().len();
    assert_eq!(
        after["timeline"].as_array().unwrap()[..n],
        before["timeline"].as_array().unwrap()[..],
        "timeline intact"
    );
    let (_, all_after) = d.get("/api/v1/incidents").await;
    for i in incidents(&all_before) {
        assert!(
            incidents(&all_after)
                .iter()
                .any(|j| j["id"] == i["id"] && j["opened_at"] == i["opened_at"]),
            "incident {} lost in the restart",
            i["id"]
        );
    }
    // The journal rebuilt the engine: re-sending the whole trace changes nothing.
    let mut duplicates = 0;
    for chunk in lines.chunks(700) {
        let (status, report) = d.post("/api/v1/events", chunk.join("\n"), None).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["accepted"], 0, "{report}");
        duplicates += report["duplicates"].as_u64().unwrap();
    }
    assert_eq!(duplicates, lines.len() as u64);
    let (_, state) = d.get("/api/v1/state").await;
    let general_after = queue_of(&state, "phone-general");
    assert_eq!(
        general_after["offered"], general["offered"],
        "windows rebuilt from the journal"
    );
    // No second incident for the same rule and queue.
    let (_, open_after) = d
        .get("/api/v1/incidents?status=open&rule=complaint-spike")
        .await;
    assert_eq!(incidents(&open_after).len(), 1, "{open_after:#}");
    assert!(d.stop().success());
}

#[tokio::test]
async fn ingest_contract_partial_batches_auth_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: QUICK,
        dir: dir.path(),
        env: vec![
            ("FLOORWATCH_INGEST_TOKENS", "acd:ingest-secret-0001"),
            ("FLOORWATCH_LEAD_TOKENS", "alice:lead-secret-000001"),
            ("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001"),
        ],
    });
    let ingest = Some("ingest-secret-0001");
    let (s, _) = d
        .post("/api/v1/events", reading("phone-a", 1, 0), None)
        .await;
    assert_eq!(s, 401, "no token");
    let (s, _) = d
        .post(
            "/api/v1/events",
            reading("phone-a", 1, 0),
            Some("viewer-secret-0001"),
        )
        .await;
    assert_eq!(s, 403, "a viewer cannot ingest");

    // NDJSON with bad lines: the good ones are taken, the bad ones named by line and field.
    let body = [
        reading("phone-a", 3, -2),
        r#"{"type":"queue","queue":"phone-a","at":"not a time","waiting":2}"#.to_string(),
        String::new(),
        r#"{"type":"contact","id":"c-1","event":"arrived","at":"2026-01-01T00:00:00Z","queue":"phone-a"}"#.to_string(),
        format!(r#"{{"type":"contact","id":"c-2","event":"teleported","at":"{}","queue":"phone-a"}}"#, at(0)),
        format!(r#"{{"type":"contact","id":"c-3","event":"arrived","at":"{}","queue":"phone-a"}}"#, at(0)),
        format!(r#"{{"type":"contact","id":"c-4","event":"arrived","at":"{}","queue":"fax-1"}}"#, at(0)),
        format!(r#"{{"type":"contact","id":"c-5","event":"arrived","at":"{}","queue":"phone-a"}}"#, at(3600)),
        r#"{"type":"queue","queue":"phone-a","#.to_string(),
    ]
    .join("\n");
    let (s, r) = d.post("/api/v1/events", body, ingest).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["accepted"], 2, "{r:#}");
    let refused: Vec<(u64, Option<&str>)> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["line"].as_u64().unwrap(), x["field"].as_str()))
        .collect();
    assert_eq!(
        refused,
        vec![
            (2, Some("at")),
            (4, Some("at")),
            (5, Some("event")),
            (7, Some("queue")),
            (8, Some("at")),
            (9, None)
        ]
    );
    let texts: Vec<&str> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["error"].as_str().unwrap())
        .collect();
    assert!(
        texts[1].contains("older than the longest window"),
        "{}",
        texts[1]
    );
    assert!(
        texts[4].contains("ahead of the daemon's clock"),
        "{}",
        texts[4]
    );
    // Idempotent: the same contact again is a duplicate.
    let again = format!(
        r#"[{{"type":"contact","id":"c-3","event":"arrived","at":"{}","queue":"phone-a"}}]"#,
        at(0)
    );
    let (s, r) = d.post("/api/v1/events", again, ingest).await;
    assert_eq!(
        (s, r["accepted"].as_u64(), r["duplicates"].as_u64()),
        (200, Some(0), Some(1))
    );
    // All refused: 422.
    let (s, _) = d
        .post("/api/v1/events", r#"{"type":"nonsense","at":"x"}"#, ingest)
        .await;
    assert_eq!(s, 422);
    // Too large: 413.
    let big = reading("phone-a", 1, 0).repeat(1000);
    let (s, _) = d.post("/api/v1/events", big, ingest).await;
    assert_eq!(s, 413);
    // The queue cap (3): a fourth queue is refused with the limit named.
    let body = ["phone-b", "phone-c", "phone-d"]
        .iter()
        .map(|q| reading(q, 1, 0))
        .collect::<Vec<_>>()
        .join("\n");
    let (_, r) = d.post("/api/v1/events", body, ingest).await;
    assert!(
        r["refused"][0]["error"]
            .as_str()
            .unwrap()
            .contains("max_queues"),
        "{r}"
    );

    // The daemon kept running through all of it.
    let (s, _) = d.get_text("/healthz").await;
    assert_eq!(s, 200);
    let (s, _) = d.get("/api/v1/state").await;
    assert_eq!(s, 401, "state needs a viewer token");
    let d = d.with_token("viewer-secret-0001");
    let (s, state) = d.get("/api/v1/state").await;
    assert_eq!(s, 200);
    assert_eq!(state["queues"][0]["queue"], "phone-a");
    assert_eq!(state["queues"][0]["open_contacts"], 1);
}

#[tokio::test]
async fn incidents_through_the_api_ack_resolve_note_export_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: QUICK,
        dir: dir.path(),
        env: vec![],
    });
    let (s, r) = d
        .post("/api/v1/events", reading("phone-a", 25, 0), None)
        .await;
    assert_eq!(s, 200, "{r}");
    // The breach is decided inside the POST: visible at once.
    let (_, list) = d
        .get("/api/v1/incidents?status=firing&severity=critical&queue=phone-a")
        .await;
    let list = incidents(&list);
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_u64().unwrap();
    assert_eq!(list[0]["values_at_open"]["waiting"], 25.0);
    let (_, none) = d.get("/api/v1/incidents?queue=phone-b").await;
    assert!(incidents(&none).is_empty());
    let (s, _) = d.get("/api/v1/incidents?severity=apocalyptic").await;
    assert_eq!(s, 400);

    let (s, inc) = d
        .post(
            &format!("/api/v1/incidents/{id}/ack"),
            r#"{"by":"li.lei"}"#,
            None,
        )
        .await;
    assert_eq!((s, inc["status"].as_str()), (200, Some("acknowledged")));
    let (s, e) = d
        .post(&format!("/api/v1/incidents/{id}/ack"), "", None)
        .await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = d
        .post(
            &format!("/api/v1/incidents/{id}/notes"),
            r#"{"by":"li.lei","text":"two agents back from lunch"}"#,
            None,
        )
        .await;
    assert_eq!((s, e["seq"].as_u64()), (201, Some(3)));
    let (s, inc) = d
        .post(
            &format!("/api/v1/incidents/{id}/resolve"),
            r#"{"by":"li.lei"}"#,
            None,
        )
        .await;
    assert_eq!((s, inc["status"].as_str()), (200, Some("resolved")));
    let (s, _) = d.post("/api/v1/incidents/9999/ack", "", None).await;
    assert_eq!(s, 404);
    // A note on a resolved incident still goes on its timeline (post-crisis review).
    let (s, _) = d
        .post(
            &format!("/api/v1/incidents/{id}/notes"),
            r#"{"text":"review on Friday"}"#,
            None,
        )
        .await;
    assert_eq!(s, 201);

    let (s, md) = d
        .get_text(&format!("/api/v1/incidents/{id}/export?format=md"))
        .await;
    assert_eq!(s, 200);
    assert!(
        md.starts_with(&format!("# Incident #{id}: phone-a: 25 callers waiting")),
        "{md}"
    );
    for part in [
        "| Acknowledged |",
        "by li.lei",
        "## Timeline",
        "two agents back from lunch",
        "review on Friday",
        "| waiting | 25 |",
    ] {
        assert!(md.contains(part), "missing {part:?} in\n{md}");
    }
    let (_, json) = d
        .get(&format!("/api/v1/incidents/{id}/export?format=json"))
        .await;
    assert_eq!(json["incident"]["id"], id);
    assert_eq!(json["summary"]["notes"], 2);
    assert_eq!(json["timeline"].as_array().unwrap().len(), 5);
    assert_eq!(json["figures"]["at_open"]["waiting"], 25.0);

    let (s, text) = d.get_text("/metrics").await;
    assert_eq!(s, 200);
    for line in [
        "floorwatch_queue_waiting{queue=\"phone-a\"} 25",
        "floorwatch_events_total{outcome=\"accepted\"} 1",
        "floorwatch_healthy 1",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    let (s, _) = d.get_text("/readyz").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn reload_keeps_the_old_config_when_the_new_one_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: QUICK,
        dir: dir.path(),
        env: vec![],
    });
    d.post("/api/v1/events", reading("phone-a", 12, 0), None)
        .await;
    let (_, list) = d.get("/api/v1/incidents").await;
    assert_eq!(incidents(&list)[0]["severity"], "warning");

    // A broken file is refused with its errors; the daemon keeps its configuration.
    std::fs::write(
        dir.path().join("alerts.toml"),
        QUICK.replace("warning = 10", "warning = \"ten\""),
    )
    .unwrap();
    let (s, e) = d.post("/-/reload", "", None).await;
    assert_eq!(s, 422);
    assert!(
        e["error"].as_str().unwrap().contains("alerts.toml:13:11"),
        "{e}"
    );
    // A good one takes over (through SIGHUP this time), keeping the open incident.
    std::fs::write(
        dir.path().join("alerts.toml"),
        QUICK.replace("critical = 20", "critical = 11"),
    )
    .unwrap();
    d.signal("HUP");
    let list = d
        .wait_for("/api/v1/incidents", 10, |v| {
            incidents(v)
                .first()
                .is_some_and(|i| i["severity"] == "critical")
        })
        .await;
    assert_eq!(
        incidents(&list).len(),
        1,
        "the same incident, raised: {list:#}"
    );
    d.wait_for_log("configuration reloaded", 5).await;
    assert!(d.stop().success(), "SIGTERM exits cleanly");
}
