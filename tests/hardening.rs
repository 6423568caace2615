//! End-to-end regressions of what an attacker or a long night found: a token with an empty
//! secret, durations that overflow a date, names without a cap, a byte that is not UTF-8 in one
//! line of a batch, a key given twice. Each is refused with what, where and the limit, and the
//! daemon keeps serving.

mod common;

use std::process::Command;

use common::{BIN, Daemon, Start, at, output_within, reading, repo_config};

#[test]
fn a_token_with_an_empty_or_short_secret_stops_the_daemon_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alerts.toml");
    std::fs::write(&config, repo_config()).unwrap();
    let out = output_within(
        Command::new(BIN)
            .args(["run", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("FLOORWATCH_VIEWER_TOKENS", "wall:,wallboard:s3cret"),
        30,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FLOORWATCH_VIEWER_TOKENS: entry 1 (token \"wall\") has a secret of 0 bytes; the least is 16"),
        "{err}"
    );
    assert!(err.contains("entry 2 (token \"wallboard\")"), "{err}");
}

fn start(dir: &std::path::Path, config: &str) -> Daemon {
    Daemon::start(Start {
        config,
        dir,
        env: vec![],
    })
}

#[tokio::test]
async fn durations_and_times_past_their_limits_are_refused_with_422() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &repo_config());
    for (body, field) in [
        (r#"{"comment":"x","duration":"9999999999d"}"#, "`duration`"),
        (r#"{"comment":"x","duration":"400d"}"#, "the limit is 366d"),
        (
            r#"{"comment":"x","ends_at":"9999-12-31T00:00:00Z"}"#,
            "`ends_at`",
        ),
    ] {
        let (s, v) = d.post("/api/v1/silences", body, None).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(field), "{v}");
    }
    let (s, v) = d
        .post(
            "/api/v1/oncall/duty-managers/overrides",
            r#"{"person":"Li Lei","duration":"9999999999d"}"#,
            None,
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = d
        .post(
            "/api/v1/oncall/duty-managers/overrides",
            r#"{"person":"Li Lei","from":"2300-01-01T00:00:00Z","duration":"1h"}"#,
            None,
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("`from`"), "{v}");
    // Still serving, and a sane silence is taken.
    let (s, v) = d
        .post(
            "/api/v1/silences",
            r#"{"comment":"carrier works","duration":"2h"}"#,
            None,
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = d
        .post(
            "/api/v1/silences",
            format!(r#"{{"comment":"{}","duration":"2h"}}"#, "c".repeat(20_000)),
            None,
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("`comment` is 20000 bytes long; the limit is 16384 bytes"),
        "{v}"
    );
}

#[tokio::test]
async fn each_line_of_a_batch_is_judged_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &repo_config());
    let mut body = reading("phone-general", 3, 0).into_bytes();
    body.extend_from_slice(b"\n{\"type\":\"queue\",\"queue\":\"phone-\xffgeneral\"}\n");
    body.extend_from_slice(
        format!(
            r#"{{"type":"queue","queue":"{}","at":"{}","waiting":1}}"#,
            "q".repeat(1 << 20),
            at(0)
        )
        .as_bytes(),
    );
    body.push(b'\n');
    body.extend_from_slice(
        format!(
            r#"{{"type":"queue","queue":"chat-support","queue":"phone-vip","at":"{}","waiting":1}}"#,
            at(0)
        )
        .as_bytes(),
    );
    body.push(b'\n');
    body.extend_from_slice(reading("chat-support", 2, 0).as_bytes());
    let (s, v) = d.post("/api/v1/events", body, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["accepted"], 2, "{v}");
    let refused = v["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 3, "{v}");
    assert_eq!(refused[0]["line"], 2);
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap()
            .contains("not UTF-8: byte 0xFF"),
        "{v}"
    );
    assert_eq!(refused[1]["line"], 3);
    assert_eq!(refused[1]["field"], "queue");
    assert!(
        refused[1]["error"]
            .as_str()
            .unwrap()
            .contains("the limit is 128 bytes"),
        "{v}"
    );
    assert_eq!(refused[2]["line"], 4);
    assert_eq!(refused[2]["field"], "queue");
    assert!(
        refused[2]["error"]
            .as_str()
            .unwrap()
            .contains("given twice"),
        "{v}"
    );
    let (_, state) = d.get("/api/v1/state").await;
    let queues = state["queues"].to_string();
    assert!(!queues.contains("qqqq"), "the long name was not taken");
}

#[tokio::test]
async fn a_fresh_daemon_states_its_own_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &repo_config());
    let (_, state) = d.get("/api/v1/state").await;
    let t = chrono::DateTime::parse_from_rfc3339(state["at"].as_str().unwrap()).unwrap();
    let off = (chrono::Utc::now() - t.to_utc()).num_seconds().abs();
    assert!(off < 600, "state at {t}, not the daemon's time");
}
