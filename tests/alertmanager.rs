//! Floorwatch in the monitoring stack the floor's IT already runs, every part real: Prometheus
//! (Debian's package) fires an alerting rule at Floorwatch as at an Alertmanager, and the
//! incident opens, pages a real webhook receiver, survives a Prometheus restart without a second
//! incident and resolves when the rule stops firing; amtool queries alerts and adds, lists,
//! updates and expires silences, which Floorwatch's own API and board show; a real Alertmanager
//! delivers its webhook to Floorwatch; and the OpenAPI document lists every route.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use common::{Daemon, Start, free_port, output_within, until};
use serde_json::{Value, json};

const INGEST: &str = "prometheus:ingest-0123456789abcdef";
const LEAD: &str = "lee:lead-0123456789abcdef";
const VIEWER: &str = "wall:viewer-0123456789abcdef";

fn secret(token: &str) -> &str {
    token.split_once(':').unwrap().1
}

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("FLOORWATCH_INGEST_TOKENS", INGEST),
        ("FLOORWATCH_LEAD_TOKENS", LEAD),
        ("FLOORWATCH_VIEWER_TOKENS", VIEWER),
    ]
}

/// Alerts about the phone system route to IT's on-call webhook, scoped by their `queue` label;
/// CRM alerts by their `service`.
fn config(receiver: SocketAddr) -> String {
    format!(
        r#"
[daemon]
tick = "100ms"
[delivery]
first_retry = "100ms"
[[webhook]]
name = "it"
url = "http://{receiver}/it"
[[escalation]]
name = "it-oncall"
[[escalation.level]]
notify = ["webhook:it"]
wait = "10m"
[[route]]
name = "telephony"
matchers = ['service=~"sip|pbx"']
escalation = "it-oncall"
scope = "queue"
severities = {{ page = "crisis" }}
[[route]]
name = "crm"
matchers = ['service="crm"']
escalation = "it-oncall"
scope = "service"
"#
    )
}

/// A webhook receiver that keeps what it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Value>>>);

impl Receiver {
    async fn serve(self) -> SocketAddr {
        async fn take(State(r): State<Receiver>, body: Bytes) -> &'static str {
            let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
            r.0.lock().unwrap().push(v);
            ""
        }
        let app = axum::Router::new()
            .route("/it", axum::routing::post(take))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    fn pages(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

/// A process of the stack (Prometheus, Alertmanager), stopped when dropped.
struct Proc(Child);

impl Proc {
    fn start(cmd: &mut Command, log: &Path) -> Proc {
        let out = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e} (scripts/test.sh installs it)"));
        Proc(child)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn open_incidents(fw: &Daemon) -> Vec<Value> {
    let (status, v) = fw.get("/api/v1/incidents?status=open").await;
    assert_eq!(status, 200, "{v}");
    v.as_array().unwrap().clone()
}

fn prometheus(dir: &Path, port: u16, floorwatch: &str, firing: bool) -> Proc {
    let expr = if firing {
        "vector(1)"
    } else {
        "vector(1) unless vector(1)"
    };
    std::fs::write(
        dir.join("rules.yml"),
        format!(
            r#"groups:
- name: telephony
  rules:
  - alert: TrunkDown
    expr: {expr}
    labels: {{service: sip, queue: phone-a, severity: page}}
    annotations: {{summary: "SIP trunk to the carrier is down"}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            r#"global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
  - api_version: v2
    authorization: {{credentials: "{}"}}
    static_configs: [{{targets: ["{}"]}}]
"#,
            secret(INGEST),
            floorwatch.trim_start_matches("http://")
        ),
    )
    .unwrap();
    Proc::start(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // A firing alert is sent again every 3 s and holds for 12 s without a re-send.
            .arg("--rules.alert.resend-delay=3s"),
        &dir.join("prometheus.log"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_alert_opens_pages_and_resolves_once() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::default();
    let addr = receiver.clone().serve().await;
    let fw = Daemon::start(Start {
        config: &config(addr),
        dir: dir.path(),
        env: env(),
    })
    .with_token(secret(VIEWER));
    let port = free_port();
    let prom = prometheus(dir.path(), port, &fw.url, true);

    // The rule fires: one incident at crisis (`severity="page"` mapped), scoped to the queue,
    // titled by the annotation, with the alert's labels; IT's webhook is paged.
    let v = fw
        .wait_for("/api/v1/incidents?status=open", 60, |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let inc = &v[0];
    assert_eq!(inc["rule"], "telephony");
    assert_eq!(inc["scope"], "phone-a");
    assert_eq!(inc["severity"], "crisis");
    assert_eq!(inc["title"], "SIP trunk to the carrier is down");
    assert_eq!(inc["labels"]["alertname"], "TrunkDown");
    let id = inc["id"].as_u64().unwrap();
    until(20, "IT's page", || {
        (receiver.pages().len() == 1).then_some(())
    })
    .await;
    assert!(
        receiver.pages()[0].to_string().contains("SIP trunk"),
        "{:?}",
        receiver.pages()
    );

    // Prometheus restarts: it sends the same alert again, which is the same incident.
    drop(prom);
    let prom = prometheus(dir.path(), port, &fw.url, true);
    let (_, alerts) = fw.get("/api/v2/alerts").await;
    let before = alerts[0]["updatedAt"].clone();
    fw.wait_for("/api/v2/alerts", 40, |v| v[0]["updatedAt"] != before)
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let open = open_incidents(&fw).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"].as_u64(), Some(id));
    assert_eq!(open[0]["reopened"], 0, "{open:?}");
    assert_eq!(receiver.pages().len(), 1, "no second page");

    // The rule stops firing (edited, reloaded): Prometheus sends the alert resolved.
    drop(prom);
    let _prom = prometheus(dir.path(), port, &fw.url, false);
    let detail = fw
        .wait_for(&format!("/api/v1/incidents/{id}"), 60, |v| {
            v["status"] == "resolved"
        })
        .await;
    assert_eq!(detail["resolved_by"], "engine");
    let (_, all) = fw.get("/api/v1/incidents").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "one incident in all: {all}"
    );
}

/// amtool with a lead's token, against the daemon.
fn amtool(fw: &Daemon, dir: &Path, args: &[&str]) -> String {
    let http = dir.join("amtool-http.yml");
    std::fs::write(
        &http,
        format!("authorization:\n  credentials: \"{}\"\n", secret(LEAD)),
    )
    .unwrap();
    let out = output_within(
        Command::new("amtool")
            .arg(format!("--alertmanager.url={}", fw.url))
            .arg(format!("--http.config.file={}", http.display()))
            .args(args),
        20,
    );
    assert!(
        out.status.success(),
        "amtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_queries_alerts_and_keeps_silences_in_floorwatch() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::default();
    let addr = receiver.clone().serve().await;
    let fw = Daemon::start(Start {
        config: &config(addr),
        dir: dir.path(),
        env: env(),
    })
    .with_token(secret(VIEWER));
    // A silence from amtool, made before the alerts come: it will hold over the phone queue.
    let id = amtool(
        &fw,
        dir.path(),
        &[
            "silence",
            "add",
            "queue=phone-a",
            "--comment=carrier is on it",
            "--duration=1h",
            "--author=someone",
        ],
    );
    let id = id.trim().to_string();
    assert!(id.len() == 36, "a UUID: {id}");
    let out = amtool(&fw, dir.path(), &["silence", "query"]);
    assert!(
        out.contains(&id) && out.contains(r#"queue="phone-a""#) && out.contains("carrier is on it"),
        "{out}"
    );
    // Its author is the token's holder, as everywhere in Floorwatch.
    assert!(out.contains("lee"), "{out}");

    let alerts = json!([
        {"labels": {"alertname": "TrunkDown", "service": "sip", "queue": "phone-a", "severity": "critical"},
         "annotations": {"summary": "SIP trunk down"}},
        {"labels": {"alertname": "CrmSlow", "service": "crm", "severity": "warning"},
         "annotations": {"summary": "CRM answers slowly"}},
    ]);
    let (status, body) = fw
        .post("/api/v2/alerts", alerts.to_string(), Some(secret(INGEST)))
        .await;
    assert_eq!(status, 200, "{body}");

    let out = amtool(&fw, dir.path(), &["alert", "query"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Alertname") && lines[0].contains("Summary"),
        "{out}"
    );
    // Silenced alerts are left out unless asked for, as Alertmanager does.
    assert!(
        out.contains("CrmSlow") && out.contains("CRM answers slowly"),
        "{out}"
    );
    assert!(!out.contains("TrunkDown"), "{out}");
    let out = amtool(&fw, dir.path(), &["alert", "query", "service=crm"]);
    assert!(out.contains("CrmSlow") && out.contains("active"), "{out}");
    let out = amtool(&fw, dir.path(), &["alert", "query", "--silenced"]);
    assert!(
        out.contains("TrunkDown") && out.contains("suppressed"),
        "{out}"
    );
    assert!(!out.contains("CrmSlow"), "{out}");
    let out = amtool(
        &fw,
        dir.path(),
        &["alert", "query", "-o", "extended", "--silenced"],
    );
    assert!(
        out.contains(r#"queue="phone-a""#) && out.contains(r#"summary="SIP trunk down""#),
        "{out}"
    );

    // Floorwatch's own API and the board's state show it.
    let (_, silences) = fw.get("/api/v1/silences").await;
    let s = &silences[0];
    assert_eq!(s["matchers"][0]["name"], "queue");
    assert_eq!(s["author"], "lee");
    let state = fw
        .wait_for("/api/v1/state", 10, |v| {
            v["incidents"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|i| i["scope"] == "phone-a" && i["silenced_by"].is_string())
            })
        })
        .await;
    let silenced = state["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["scope"] == "phone-a")
        .unwrap();
    assert!(
        silenced["silenced_by"]
            .as_str()
            .unwrap()
            .contains("carrier is on it"),
        "{silenced}"
    );

    // Update it (longer), then expire it: the incident pages again.
    let out = amtool(
        &fw,
        dir.path(),
        &["silence", "update", &id, "--duration=3h"],
    );
    assert!(out.contains(&id), "{out}");
    let (_, silences) = fw.get("/api/v1/silences").await;
    let (start, end) = (
        silences[0]["starts_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        silences[0]["ends_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
    );
    assert_eq!((end - start).num_minutes(), 180, "{silences}");
    let phone_pages = || {
        receiver
            .pages()
            .iter()
            .filter(|p| p.to_string().contains("SIP trunk down"))
            .count()
    };
    assert_eq!(phone_pages(), 0, "silenced: nobody paged");
    amtool(&fw, dir.path(), &["silence", "expire", &id]);
    let out = amtool(&fw, dir.path(), &["silence", "query"]);
    assert!(!out.contains(&id), "{out}");
    until(20, "the page once the silence ended", || {
        (phone_pages() == 1).then_some(())
    })
    .await;

    // The status amtool reads first, and the routes it draws from it.
    let out = amtool(&fw, dir.path(), &["config", "routes"]);
    assert!(
        out.contains(r#"{service=~"sip|pbx"}  receiver: it-oncall"#),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_delivers_its_webhook_to_floorwatch() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::default();
    let addr = receiver.clone().serve().await;
    let fw = Daemon::start(Start {
        config: &config(addr),
        dir: dir.path(),
        env: env(),
    })
    .with_token(secret(VIEWER));
    let port = free_port();
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        format!(
            r#"route:
  receiver: floorwatch
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: floorwatch
  webhook_configs:
  - url: "{}/api/v1/alertmanager"
    send_resolved: true
    http_config:
      authorization: {{credentials: "{}"}}
"#,
            fw.url,
            secret(INGEST)
        ),
    )
    .unwrap();
    let _am = Proc::start(
        Command::new("prometheus-alertmanager")
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address="),
        &dir.path().join("alertmanager.log"),
    );
    let am = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let alert = |ends: Option<String>| {
        let mut a = json!({"labels": {"alertname": "CrmDown", "service": "crm", "severity": "critical"},
            "annotations": {"summary": "The CRM does not answer"}});
        if let Some(e) = ends {
            a["endsAt"] = json!(e);
        }
        json!([a])
    };
    until(30, "Alertmanager up", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;
    let r = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert(None))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let v = fw
        .wait_for("/api/v1/incidents?status=open", 30, |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(v[0]["rule"], "crm");
    assert_eq!(v[0]["scope"], "crm");
    assert_eq!(v[0]["severity"], "critical");
    assert_eq!(v[0]["title"], "The CRM does not answer");
    let id = v[0]["id"].as_u64().unwrap();
    until(20, "IT's page", || {
        (!receiver.pages().is_empty()).then_some(())
    })
    .await;

    // Resolved at Alertmanager: it sends the resolution, and the incident resolves.
    let r = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert(Some(common::at(0))))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    fw.wait_for(&format!("/api/v1/incidents/{id}"), 30, |v| {
        v["status"] == "resolved"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_taken_idempotently_and_bad_ones_named() {
    let dir = tempfile::tempdir().unwrap();
    let fw = Daemon::start(Start {
        config: &config("127.0.0.1:9".parse().unwrap()),
        dir: dir.path(),
        env: env(),
    })
    .with_token(secret(VIEWER));
    let good = json!({"labels": {"alertname": "PbxDown", "service": "pbx", "queue": "phone-b"},
        "endsAt": common::at(600)});
    let body = json!([good, {"labels": {"alertname": "X", "service": "mail"}}, {"labels": {"9x": "y"}}, good]);
    let (status, err) = fw
        .post("/api/v2/alerts", body.to_string(), Some(secret(INGEST)))
        .await;
    // Partly refused: a 400 naming each refused alert by its place, as a JSON string.
    assert_eq!(status, 400);
    let err = err.as_str().unwrap();
    assert!(
        err.contains("alert 1: no [[route]] takes it (routes: telephony, crm)"),
        "{err}"
    );
    assert!(
        err.contains("alert 2: `labels`: \"9x\" is not a label name"),
        "{err}"
    );
    // The valid one was taken, once, whatever Prometheus sends again.
    for _ in 0..3 {
        let (status, _) = fw
            .post(
                "/api/v2/alerts",
                json!([good]).to_string(),
                Some(secret(INGEST)),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, alerts) = fw.get("/api/v2/alerts").await;
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    // Prometheus's fingerprint of the labels.
    let (_, incidents) = fw.get("/api/v1/incidents").await;
    assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents}");
    // Without the ingest role: refused.
    let (status, _) = fw
        .post(
            "/api/v2/alerts",
            json!([good]).to_string(),
            Some(secret(VIEWER)),
        )
        .await;
    assert_eq!(status, 403);
    // Not JSON at all.
    let (status, err) = fw
        .post("/api/v2/alerts", "nope", Some(secret(INGEST)))
        .await;
    assert_eq!(status, 400);
    assert!(err.as_str().unwrap().contains("not a JSON array"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_the_reference_page_draws_it() {
    let dir = tempfile::tempdir().unwrap();
    let fw = Daemon::start(Start {
        config: &config("127.0.0.1:9".parse().unwrap()),
        dir: dir.path(),
        env: vec![],
    });
    let (status, doc) = fw.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    // Every route the daemon serves is in the document: each path answers something other
    // than "no such route" (axum's 404 with an empty body, or 405) for each method listed.
    let mut n = 0;
    for (path, item) in paths {
        for method in ["get", "post", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            n += 1;
            let concrete = path
                .replace("{id}", "1")
                .replace("{name}", "x")
                .replace("{schedule}", "x")
                .replace("{file}", "x.js");
            let r = fw
                .http
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{concrete}", fw.url),
                )
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert!(
                status != 405 && !(status == 404 && body.is_empty()),
                "{} {path}: {status} {body:?}",
                method.to_uppercase()
            );
        }
    }
    // And nothing is served that the document does not list: a path it leaves out is unknown.
    let r = fw
        .http
        .get(format!("{}/api/v1/nothing-here", fw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(n >= 40, "{n} operations");
    for p in [
        "/api/v2/alerts",
        "/api/v2/silences",
        "/api/v1/incidents/{id}/ack",
        "/api/docs",
    ] {
        assert!(paths.contains_key(p), "{p} is missing");
    }
    let (status, page) = fw.get_text("/api/docs").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<code>/api/v2/silences</code>"),
        "the page lists the routes"
    );
    assert!(page.contains("id=\"schema-Incident\""), "and the schemas");
    assert!(
        !page.contains("<script"),
        "no script: nothing to fetch from elsewhere"
    );
}
