//! End-to-end tests of the command line: check, simulate and replay.

mod common;

use std::process::Command;

use common::BIN;

#[test]
fn check_reports_every_error_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[queue]]\nname = \"phone-*\"\nchannel = \"phone\"\n[[rule]]\nname = \"d\"\nkind = \"queue_depth\"\nqueues = [\"chat-*\"]\nwarning = 30\ncritical = 10\nhold = \"soon\"\n",
    )
    .unwrap();
    let out = Command::new(BIN).arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    for line in [
        format!("{name}:7:11: [[rule]] \"d\": queue \"chat-*\" matches no [[queue]]"),
        format!("{name}:9:12: [[rule]] \"d\": `critical` (10) and `warning` (30) are reversed"),
        format!("{name}:10:8: `hold` in [[rule]] \"d\": bad duration \"soon\""),
    ] {
        assert!(err.contains(&line), "missing {line:?} in:\n{err}");
    }
    assert!(err.contains("3 errors in the configuration"), "{err}");
}

/// A CI job checks a configuration without production secrets: `check` warns about an unset
/// `secret_env` and passes; `run` refuses to start, naming it and where it is asked for.
#[test]
fn check_warns_about_an_unset_secret_and_run_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    std::fs::write(
        &path,
        "[[queue]]\nname = \"phone-*\"\nchannel = \"phone\"\n[[webhook]]\nname = \"chat\"\nurl = \"http://127.0.0.1:9/x\"\nsecret_env = \"FW_SECRET_NOBODY_SET\"\n",
    )
    .unwrap();
    let name = path.display().to_string();
    let want = format!(
        "{name}:7:14: [[webhook]] \"chat\": the environment variable FW_SECRET_NOBODY_SET (`secret_env`) is not set"
    );
    let out = common::output_within(
        Command::new(BIN)
            .arg("check")
            .arg(&path)
            .env_remove("FW_SECRET_NOBODY_SET"),
        60,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("warning: {want}")), "{err}");
    let out = common::output_within(
        Command::new(BIN)
            .args(["run", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("FW_SECRET_NOBODY_SET"),
        60,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(&want), "{err}");
}

#[test]
fn check_runs_the_tests_a_config_carries() {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../alerts.toml");
    let out = Command::new(BIN).args(["check", repo]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");

    // A test whose expectation is wrong fails the check.
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(repo).unwrap().replace(
        "severity = \"critical\"\nstatus = \"resolved\"",
        "severity = \"crisis\"\nstatus = \"resolved\"",
    );
    let path = dir.path().join("alerts.toml");
    std::fs::write(&path, cfg).unwrap();
    let out = Command::new(BIN).arg("check").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("expected severity crisis, got critical"),
        "{stdout}"
    );
}

#[test]
fn simulate_is_reproducible_and_replay_finds_the_outage() {
    let dir = tempfile::tempdir().unwrap();
    let trace = |name: &str, seed: &str| {
        let p = dir.path().join(name);
        let ok = Command::new(BIN)
            .args(["simulate", "--out"])
            .arg(&p)
            .args([
                "--start",
                "2026-11-23T09:00:00Z",
                "--duration",
                "1h",
                "--seed",
                seed,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        std::fs::read_to_string(p).unwrap()
    };
    let a = trace("a.ndjson", "9");
    assert_eq!(a, trace("b.ndjson", "9"), "same seed, same trace");
    assert_ne!(a, trace("c.ndjson", "10"));

    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../alerts.toml");
    let replay = || {
        let out = Command::new(BIN)
            .arg("replay")
            .arg(dir.path().join("a.ndjson"))
            .args(["--config", repo])
            .output()
            .unwrap();
        assert!(out.status.success());
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (first, summary) = replay();
    let (second, _) = replay();
    assert_eq!(first, second, "a replay is deterministic");
    // The outage (20 to 30 minutes in) opens a crisis-level complaint spike and queue incidents.
    assert!(first.contains("opened          crisis:"), "{first}");
    assert!(first.contains("phone-general"), "{first}");
    assert!(first.contains("resolved"), "{first}");
    assert!(summary.contains("0 refused"), "{summary}");
}

#[test]
fn check_names_the_first_byte_of_a_file_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, b"[daemon]\ntick = \"1s\"\n# caf\xe9\n").unwrap();
    let out = Command::new(BIN).arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("{}:3:6: the file is not UTF-8: byte 0xE9", bad.display());
    assert!(err.contains(&want), "missing {want:?} in:\n{err}");
}

/// Extreme values found by mutating alerts.toml: each is a located error, at once (no hang, no
/// abort).
#[test]
fn check_refuses_durations_and_test_spans_past_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        concat!(
            "[[queue]]\nname = \"phone-*\"\nchannel = \"phone\"\n",
            "[[rule]]\nname = \"spike\"\nkind = \"complaint_spike\"\nwindow = \"52w\"\n",
            "[[rule]]\nname = \"spike2\"\nkind = \"complaint_spike\"\nwindow = \"9223372036854775807ms\"\n",
            "[[test]]\nname = \"years\"\n",
            "events = '''\n",
            "{\"type\":\"queue\",\"queue\":\"phone-a\",\"at\":\"2026-11-23T09:00:00Z\",\"waiting\":1}\n",
            "{\"type\":\"queue\",\"queue\":\"phone-a\",\"at\":\"2036-11-23T09:00:00Z\",\"waiting\":1}\n",
            "'''\n",
        ),
    )
    .unwrap();
    let out = common::output_within(Command::new(BIN).arg("check").arg(&bad), 60);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    for line in [
        format!(
            "{name}:7:10: `window` in [[rule]] \"spike\": 364d is out of range: `window` must be from 1s to 1d"
        ),
        format!("{name}:11:10: `window` in [[rule]] \"spike2\""),
        "the event on line 2 of its events is 3653d after its first event; a test spans at most 7d"
            .to_string(),
    ] {
        assert!(err.contains(&line), "missing {line:?} in:\n{err}");
    }
}

#[test]
fn backtest_catches_a_simulated_outage_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("o.ndjson");
    let ok = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            "outage",
            "--duration",
            "2h",
            "--out",
        ])
        .arg(&trace)
        .status()
        .unwrap();
    assert!(ok.success());
    // The labels sit beside the trace, and backtest finds them there.
    let labels: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("o.labels.json")).unwrap())
            .unwrap();
    assert_eq!(labels["labels"][0]["kind"], "outage", "{labels}");
    assert_eq!(
        labels["labels"][0]["from"], "2026-11-23T08:20:00Z",
        "{labels}"
    );

    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../alerts.toml");
    let out = Command::new(BIN)
        .arg("backtest")
        .arg(&trace)
        .args(["--config", repo, "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["refused"], 0, "{stdout}");
    assert!(r["page_decisions"].as_u64().unwrap() > 0, "{stdout}");
    assert!(r["pages"].as_u64() >= r["page_decisions"].as_u64());
    assert!(r["pages_per_queue_week"].is_f64());
    for list in ["by_rule", "by_scope", "by_day", "by_target", "decisions"] {
        assert!(r[list].as_array().is_some_and(|a| !a.is_empty()), "{list}");
    }
    let outage = &r["labels"]["outcomes"][0];
    assert_eq!(outage["name"], "outage-1");
    assert_eq!(outage["caught"], true, "{outage}");
    assert!(outage["delay_s"].as_f64().unwrap() < 600.0, "{outage}");
    assert_eq!(r["labels"]["recall"], 1.0);

    // The Markdown report names the headline figure and the label.
    let out = Command::new(BIN)
        .arg("backtest")
        .arg(&trace)
        .args(["--config", repo])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("page decisions**"), "{md}");
    assert!(md.contains("| outage-1 ("), "{md}");
}
