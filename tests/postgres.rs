//! The PostgreSQL store end to end: a real PostgreSQL (started by the test as an unprivileged
//! user in a temporary directory) and the real daemon with `[store] backend = "postgres"`. A page
//! is delivered once and recorded; another daemon on the same database (with a data dir of its
//! own) finds the incident and its timeline, and pages nothing again; while PostgreSQL restarts
//! ingest answers 503 and the daemon is not ready, and both come back by themselves; a missing
//! URL is a clear error, and so, within seconds, is a database that accepts and never answers.

mod common;
#[path = "common/postgres.rs"]
mod postgres;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use common::{Daemon, Start, at, until};
use postgres::Postgres;
use serde_json::Value;

/// A webhook receiver that keeps every body.
async fn receiver() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, got)
}

fn config(hook: SocketAddr) -> String {
    format!(
        r#"
[daemon]
tick = "100ms"
[store]
backend = "postgres"
[delivery]
first_retry = "200ms"
max_backoff = "1s"
[[queue]]
name = "phone-*"
channel = "phone"
[[webhook]]
name = "chat"
url = "http://{hook}/hook"
[[escalation]]
name = "floor"
severities = ["critical"]
[[escalation.level]]
notify = ["webhook:chat"]
wait = "10m"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
"#
    )
}

fn reading(queue: &str, waiting: u32, secs: i64) -> String {
    format!(
        r#"{{"type":"queue","queue":"{queue}","at":"{}","waiting":{waiting}}}"#,
        at(secs)
    )
}

#[tokio::test]
async fn pages_and_timelines_live_in_postgres_across_daemons_and_a_database_restart() {
    let mut pg = Postgres::start();
    let (hook, got) = receiver().await;
    let cfg = config(hook);
    let env = vec![("FLOORWATCH_DATABASE_URL", pg.url.as_str())];

    let first = tempfile::tempdir().unwrap();
    let a = Daemon::start(Start {
        config: &cfg,
        dir: first.path(),
        env: env.clone(),
    });
    let (s, _) = a
        .post("/api/v1/events", reading("phone-a", 30, 0), None)
        .await;
    assert_eq!(s, 200);
    until(10, "the page", || {
        (got.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    let delivered = a
        .wait_for("/api/v1/deliveries?status=delivered", 10, |v| {
            v.as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(delivered[0]["target"], "webhook:chat");
    assert_eq!(delivered[0]["reason"], "opened");
    let id = delivered[0]["incident_id"].as_u64().unwrap();
    let key = delivered[0]["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("fw-{id}-")) && key.ends_with("-0"),
        "{key}"
    );
    a.stop();

    // Another daemon, its own data dir, the same database: the incident and its timeline are
    // there, and the page is not sent again.
    let second = tempfile::tempdir().unwrap();
    let b = Daemon::start(Start {
        config: &cfg,
        dir: second.path(),
        env: env.clone(),
    });
    let (s, inc) = b.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(s, 200, "{inc}");
    assert_eq!(inc["status"], "firing");
    let kinds: Vec<&str> = inc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"opened") && kinds.contains(&"delivered"),
        "{kinds:?}"
    );
    // Alone on the database, it leads (at once: the first one let go on its way out).
    b.wait_for("/api/v1/cluster", 15, |v| v["leading"] == true)
        .await;
    let (s, _) = b
        .post(
            &format!("/api/v1/incidents/{id}/ack"),
            r#"{"by":"li.lei"}"#,
            None,
        )
        .await;
    assert_eq!(s, 200);

    // PostgreSQL restarts: while it is down the daemon takes no event (503: nothing is answered
    // 200 that is not stored) and says it is not ready; it reconnects by itself.
    pg.halt();
    let (s, _) = b
        .post("/api/v1/events", reading("phone-b", 30, 1), None)
        .await;
    assert_eq!(s, 503, "not stored, not taken");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.get_text("/readyz").await.0 != 503 {
        assert!(
            std::time::Instant::now() < deadline,
            "ready without its database"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pg.resume();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while b
        .post("/api/v1/events", reading("phone-b", 30, 1), None)
        .await
        .0
        != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "ingest never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let list = b
        .wait_for("/api/v1/incidents?queue=phone-b", 20, |v| {
            v.as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    // Opening right after the first, it joined its situation: written, and paged through it.
    assert_eq!(list[0]["situation"], id);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.get_text("/readyz").await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "not ready again after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, lead) = b.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(lead["acknowledged_by"], "li.lei");
    assert!(
        lead["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "joined"),
        "{lead}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        1,
        "one cause, one page, sent once"
    );
}

#[tokio::test]
async fn postgres_without_its_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("127.0.0.1:9".parse().unwrap());
    let path = dir.path().join("alerts.toml");
    std::fs::write(&path, cfg).unwrap();
    let out = common::output_within(
        std::process::Command::new(common::BIN)
            .args(["run", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("FLOORWATCH_DATABASE_URL"),
        30,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FLOORWATCH_DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn a_database_that_never_answers_is_an_error_within_seconds() {
    // Takes connections and says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    std::fs::write(&path, config("127.0.0.1:9".parse().unwrap())).unwrap();
    let started = std::time::Instant::now();
    let out = common::output_within(
        std::process::Command::new(common::BIN)
            .args(["run", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env(
                "FLOORWATCH_DATABASE_URL",
                format!("postgres://floorwatch@127.0.0.1:{port}/postgres"),
            ),
        30,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no answer within"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
