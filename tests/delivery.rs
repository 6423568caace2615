//! End-to-end delivery: the real daemon paging real HTTP receivers on 127.0.0.1 that fail in
//! the ways receivers fail (500, 429 with Retry-After, 400, down), with the signature checked by
//! an independent implementation (Python's standard library).

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use common::{Daemon, Start, at, until};
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Debug)]
struct Received {
    path: String,
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// Per path: the status to answer next, and a Retry-After to send with it.
type Script = Arc<Mutex<Vec<(String, u16, Option<&'static str>)>>>;

/// A receiver that answers each path with a scripted series of statuses (then 200).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Script,
}

impl Receiver {
    fn on(&self, path: &str, status: u16, retry_after: Option<&'static str>) {
        self.script
            .lock()
            .unwrap()
            .push((path.to_string(), status, retry_after));
    }

    fn got(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    async fn serve(self, addr: SocketAddr) -> SocketAddr {
        let app = axum::Router::new()
            .route("/{path}", axum::routing::post(receive))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }
}

async fn receive(
    State(r): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    r.got.lock().unwrap().push(Received {
        path: path.clone(),
        at: Instant::now(),
        headers,
        body,
    });
    let mut script = r.script.lock().unwrap();
    let (status, retry_after) = match script.iter().position(|(p, _, _)| *p == path) {
        Some(i) => {
            let (_, s, ra) = script.remove(i);
            (s, ra)
        }
        None => (200, None),
    };
    let mut h = HeaderMap::new();
    if let Some(ra) = retry_after {
        h.insert("retry-after", ra.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), h, "")
}

fn config(receiver: SocketAddr) -> String {
    format!(
        r#"
[daemon]
tick = "100ms"
[delivery]
first_retry = "200ms"
max_backoff = "1s"
[[queue]]
name = "phone-*"
channel = "phone"
[[webhook]]
name = "chat"
url = "http://{receiver}/chat"
secret_env = "FW_TEST_WEBHOOK_SECRET"
[[webhook]]
name = "slow"
url = "http://{receiver}/slow"
format = "slack"
[[webhook]]
name = "bad"
url = "http://{receiver}/bad"
format = "feishu"
[[escalation]]
name = "floor"
severities = ["critical"]
[[escalation.level]]
notify = ["webhook:chat", "webhook:slow", "webhook:bad"]
wait = "10m"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
"#
    )
}

fn breach() -> String {
    format!(
        r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
        at(0)
    )
}

/// Python's hmac/hashlib/base64 compute the Standard Webhooks signature of a request.
fn python_signature(id: &str, ts: &str, body: &[u8]) -> String {
    let script = "import base64,hashlib,hmac,sys\n\
        secret, msg_id, ts = sys.argv[1:4]\n\
        key = base64.b64decode(secret.split('_', 1)[1])\n\
        body = sys.stdin.buffer.read()\n\
        mac = hmac.new(key, msg_id.encode() + b'.' + ts.encode() + b'.' + body, hashlib.sha256)\n\
        print('v1,' + base64.b64encode(mac.digest()).decode())";
    let mut child = Command::new("python3")
        .args(["-c", script, SECRET, id, ts])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn pages_are_signed_retried_and_dead_lettered_as_receivers_answer() {
    let receiver = Receiver::default();
    receiver.on("chat", 500, None);
    receiver.on("slow", 429, Some("2"));
    receiver.on("bad", 400, None);
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(addr);
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FW_TEST_WEBHOOK_SECRET", SECRET)],
    });
    let (s, _) = d.post("/api/v1/events", breach(), None).await;
    assert_eq!(s, 200);

    // 500, then delivered on the retry: the same idempotency key both times, signed.
    let chat = until(10, "the chat retry", || {
        Some(receiver.got("chat")).filter(|g| g.len() >= 2)
    })
    .await;
    let id = chat[0].headers["webhook-id"].to_str().unwrap().to_string();
    assert_eq!(chat[1].headers["webhook-id"], id.as_str());
    let ts = chat[1].headers["webhook-timestamp"].to_str().unwrap();
    let sig = chat[1].headers["webhook-signature"].to_str().unwrap();
    assert_eq!(
        sig,
        python_signature(&id, ts, &chat[1].body),
        "an independent implementation agrees"
    );
    let generic: Value = serde_json::from_slice(&chat[1].body).unwrap();
    assert_eq!(generic["reason"], "opened");
    assert_eq!(generic["incident"]["severity"], "critical");
    assert!(
        generic["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/incidents/{}", generic["incident"]["id"]))
    );

    // 429 with Retry-After: 2 s: the second try waits at least that long.
    let slow = until(10, "the slow retry", || {
        Some(receiver.got("slow")).filter(|g| g.len() >= 2)
    })
    .await;
    let waited = slow[1].at - slow[0].at;
    assert!(
        waited >= Duration::from_millis(1900),
        "Retry-After honoured: waited {waited:?}"
    );
    let slack: Value = serde_json::from_slice(&slow[1].body).unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .starts_with("*[CRITICAL] phone-a: 30 callers waiting (opened)*"),
        "{slack}"
    );
    assert!(
        slow[0].headers.get("webhook-signature").is_none(),
        "no secret, no signature"
    );

    // 400: failed at once, not retried, visible as a dead letter.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.got("bad").len(), 1, "a 400 is not retried");
    let (_, dead) = d.get("/api/v1/deliveries?status=dead").await;
    let dead = dead.as_array().unwrap().clone();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["target"], "webhook:bad");
    assert!(dead[0]["last_error"].as_str().unwrap().contains("HTTP 400"));

    // The timeline tells the whole story.
    let incident = generic["incident"]["id"].as_u64().unwrap();
    let (_, detail) = d.get(&format!("/api/v1/incidents/{incident}")).await;
    let entries: Vec<(String, String)> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |kind: &str, text: &str| entries.iter().any(|(k, m)| k == kind && m.contains(text));
    assert!(
        has("escalated", "starting at level 1 of \"floor\""),
        "{entries:#?}"
    );
    assert!(
        has(
            "delivery_retry",
            "attempt 1 to webhook:chat failed (HTTP 500)"
        ),
        "{entries:#?}"
    );
    assert!(
        has("delivered", "delivered to webhook:chat"),
        "{entries:#?}"
    );
    assert!(
        has("delivery_retry", "retrying in 2s as the receiver asked"),
        "{entries:#?}"
    );
    assert!(
        has("delivery_failed", "webhook:bad failed: HTTP 400"),
        "{entries:#?}"
    );
}

#[tokio::test]
async fn nothing_is_lost_when_the_receiver_is_down_and_the_daemon_is_killed() {
    // Reserve a port, then leave it closed: the receiver is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(port);
    let env = vec![("FW_TEST_WEBHOOK_SECRET", SECRET)];
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: env.clone(),
    });
    d.post("/api/v1/events", breach(), None).await;
    d.wait_for("/api/v1/deliveries?status=pending", 10, |v| {
        v.as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|x| x["attempts"].as_u64() >= Some(1)))
    })
    .await;
    d.kill_hard();

    // The receiver comes back; so does the daemon, and the pending pages go out.
    let receiver = Receiver::default();
    receiver.clone().serve(port).await;
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env,
    });
    for path in ["chat", "slow", "bad"] {
        let got = until(15, path, || {
            Some(receiver.got(path)).filter(|g| !g.is_empty())
        })
        .await;
        assert_eq!(got.len(), 1, "{path}: delivered once");
    }
    let (_, delivered) = d.get("/api/v1/deliveries?status=delivered").await;
    assert_eq!(delivered.as_array().unwrap().len(), 3, "{delivered:#}");
    let (_, open) = d.get("/api/v1/incidents?status=open").await;
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "the same incident, not a second one"
    );
}

#[tokio::test]
async fn silences_through_the_api_hold_pages_until_they_expire() {
    let receiver = Receiver::default();
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(addr);
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FW_TEST_WEBHOOK_SECRET", SECRET)],
    });
    let (s, e) = d
        .post(
            "/api/v1/silences",
            r#"{"scope":"phone-*","duration":"1h"}"#,
            None,
        )
        .await;
    assert_eq!(s, 400, "a silence needs a comment: {e}");
    let (s, silence) = d
        .post(
            "/api/v1/silences",
            r#"{"scope":"phone-*","duration":"1h","comment":"switch upgrade","by":"ops"}"#,
            None,
        )
        .await;
    assert_eq!(s, 201, "{silence}");
    d.post("/api/v1/events", breach(), None).await;
    let (_, open) = d.get("/api/v1/incidents?status=open").await;
    assert!(
        open[0]["silenced_by"]
            .as_str()
            .unwrap()
            .contains("switch upgrade"),
        "{open:#}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(receiver.got("chat").is_empty(), "silenced: nobody paged");
    let (s, _) = d
        .post(
            &format!("/api/v1/silences/{}/expire", silence["id"]),
            "",
            None,
        )
        .await;
    assert_eq!(s, 200);
    until(10, "the page after the silence", || {
        Some(receiver.got("chat")).filter(|g| !g.is_empty())
    })
    .await;
    let (_, list) = d.get("/api/v1/silences").await;
    assert_eq!(list[0]["comment"], "switch upgrade");
}

#[tokio::test]
async fn send_test_reaches_one_webhook_and_reports_failure_clearly() {
    let receiver = Receiver::default();
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    std::fs::write(&path, config(addr)).unwrap();
    let run = move |target: &str| {
        Command::new(common::BIN)
            .args(["send-test", target, "--config"])
            .arg(&path)
            .env("FW_TEST_WEBHOOK_SECRET", SECRET)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
    };
    let out = tokio::task::spawn_blocking(move || (run("webhook:chat"), run("webhook:nope")))
        .await
        .unwrap();
    assert!(
        out.0.status.success(),
        "{}",
        String::from_utf8_lossy(&out.0.stderr)
    );
    assert!(String::from_utf8_lossy(&out.0.stdout).contains("webhook:chat: delivered (HTTP 200"));
    let got = receiver.got("chat");
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["reason"], "test");
    assert!(got[0].headers.contains_key("webhook-signature"));
    assert_eq!(out.1.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.1.stderr).contains("no webhook \"nope\""));
}

#[tokio::test]
async fn a_drill_pages_through_the_real_path_marked_as_a_drill() {
    let receiver = Receiver::default();
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(addr)
        + "[[drill]]\nname = \"carrier-down\"\ntitle = \"Carrier outage\"\nscope = \"phone-general\"\n";
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FW_TEST_WEBHOOK_SECRET", SECRET)],
    });
    let url = d.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(common::BIN)
            .args(["drill", "carrier-down", "--url", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("drill started: incident #1"));
    let got = until(10, "the drill page", || {
        Some(receiver.got("chat")).filter(|g| !g.is_empty())
    })
    .await;
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["incident"]["drill"], true);
    assert_eq!(body["incident"]["title"], "[DRILL] Carrier outage");
    let (_, text) = d.get_text("/metrics").await;
    assert!(
        text.contains("floorwatch_open_incidents{severity=\"critical\"} 0"),
        "drills stay out of the figures:\n{text}"
    );
    let (s, _) = d.post("/api/v1/drills/nonsense", "", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_step_that_reaches_nobody_is_recorded_and_surfaced() {
    let receiver = Receiver::default();
    receiver.on("bad", 400, None);
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(addr).replace(
        r#"notify = ["webhook:chat", "webhook:slow", "webhook:bad"]"#,
        r#"notify = ["webhook:bad"]"#,
    );
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FW_TEST_WEBHOOK_SECRET", SECRET)],
    });
    d.post("/api/v1/events", breach(), None).await;
    let detail = d
        .wait_for("/api/v1/incidents/1", 10, |v| {
            v["timeline"].as_array().is_some_and(|t| {
                t.iter().any(|e| {
                    e["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("nobody was reached")
                })
            })
        })
        .await;
    assert_eq!(detail["status"], "firing");
    let (_, text) = d.get_text("/metrics").await;
    assert!(text.contains("floorwatch_dead_letters 1"), "{text}");
    d.wait_for_log("nobody was reached", 5).await;
}

/// A mail server that accepts connections and never says a word; it counts the connections
/// and keeps them open.
fn silent_smtp() -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().map_while(Result::ok) {
            *count.lock().unwrap() += 1;
            held.push(conn);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn a_mail_server_that_never_greets_delays_no_other_page() {
    let receiver = Receiver::default();
    receiver.on("chat", 500, None);
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let (smtp, accepted) = silent_smtp();
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"
[daemon]
tick = "100ms"
[delivery]
first_retry = "200ms"
max_backoff = "1s"
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Floorwatch <floorwatch@example.com>"
timeout = "3s"
max_connections = 2
[[email]]
name = "leads"
to = ["lead@example.com"]
[[queue]]
name = "phone-*"
channel = "phone"
[[webhook]]
name = "chat"
url = "http://{addr}/chat"
[[escalation]]
name = "floor"
severities = ["critical"]
[[escalation.level]]
notify = ["email:leads", "webhook:chat"]
wait = "10m"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
"#,
        port = smtp.port()
    );
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![],
    });
    let (s, _) = d.post("/api/v1/events", breach(), None).await;
    assert_eq!(s, 200);

    // The webhook's retry (due 0.2 s after its 500) goes out while the e-mail's first attempt
    // is still hanging on the silent server (3 s).
    let chat = until(10, "the chat retry", || {
        Some(receiver.got("chat")).filter(|g| g.len() >= 2)
    })
    .await;
    let (_, mail) = d.get("/api/v1/deliveries?status=pending").await;
    let mail = mail.as_array().unwrap().clone();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["target"], "email:leads");
    assert_eq!(
        mail[0]["attempts"], 0,
        "the webhook retry went out before the e-mail's attempt ended: {mail:?}"
    );
    assert!(chat[1].at - chat[0].at < Duration::from_secs(3));

    // The hanging attempt ends at its limit: recorded, and retried.
    let v = d
        .wait_for("/api/v1/deliveries?status=pending", 20, |v| {
            v[0]["attempts"].as_u64().unwrap_or(0) >= 2
        })
        .await;
    let error = v[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("no answer within 3s"), "{v:#}");
    let id = v[0]["incident_id"].as_u64().unwrap();
    let (_, detail) = d.get(&format!("/api/v1/incidents/{id}")).await;
    let timeline = detail["timeline"].to_string();
    assert!(
        timeline.contains("attempt 1 to email:leads failed"),
        "{timeline}"
    );
    assert!(
        *accepted.lock().unwrap() >= 1,
        "the e-mail did reach the silent server"
    );
}

#[tokio::test]
async fn every_chat_format_lands_in_its_services_shape_and_its_language() {
    let receiver = Receiver::default();
    let addr = receiver.clone().serve("127.0.0.1:0".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let hooks = [
        ("teams", "teams", "en"),
        ("connector", "teams-connector", "en"),
        ("slack", "slack", "en"),
        ("ding", "dingtalk", "zh"),
        ("wecom", "wecom", "zh"),
        ("feishu", "feishu", "zh"),
    ];
    let mut cfg = String::from(
        r#"
[daemon]
tick = "100ms"
public_url = "http://floorwatch.example"
[[queue]]
name = "phone-*"
channel = "phone"
[[escalation]]
name = "floor"
severities = ["critical"]
[[escalation.level]]
notify = ["webhook:teams", "webhook:connector", "webhook:slack", "webhook:ding", "webhook:wecom", "webhook:feishu"]
wait = "10m"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
runbook = { en = "Open the overflow queue", zh = "开启溢出队列" }
"#,
    );
    for (name, format, lang) in hooks {
        cfg += &format!(
            "[[webhook]]\nname = \"{name}\"\nurl = \"http://{addr}/{name}\"\nformat = \"{format}\"\nlanguage = \"{lang}\"\n"
        );
    }
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FLOORWATCH_LINK_SECRET", "a test secret for signed links")],
    });
    d.post("/api/v1/events", breach(), None).await;
    let body =
        |name: &str| -> Value { serde_json::from_slice(&receiver.got(name)[0].body).unwrap() };
    until(10, "every chat", || {
        hooks
            .iter()
            .all(|(n, ..)| !receiver.got(n).is_empty())
            .then_some(())
    })
    .await;

    // Teams Workflows: an Adaptive Card in a message's attachments, with an Open action.
    let teams = body("teams");
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(
        card["content"]["body"][0]["text"],
        "[CRITICAL] phone-a: 30 callers waiting (opened)"
    );
    let open = card["content"]["actions"][0]["url"].as_str().unwrap();
    assert!(
        open.starts_with("http://floorwatch.example/?list=webhook%3Ateams&")
            && open.ends_with("#/incidents/1"),
        "{open}"
    );
    assert!(
        card["content"]
            .to_string()
            .contains("Open the overflow queue")
    );
    assert_eq!(body("connector")["@type"], "MessageCard");
    assert!(body("slack")["text"].as_str().unwrap().contains("|Open>"));

    // The Chinese services, in the language their webhooks asked for.
    let ding = body("ding");
    assert_eq!(ding["msgtype"], "markdown");
    assert_eq!(
        ding["markdown"]["title"],
        "[严重] phone-a：30 个来电排队中（新告警）"
    );
    let md = ding["markdown"]["text"].as_str().unwrap();
    assert!(
        md.contains("处置步骤: 开启溢出队列") && md.contains("[确认]("),
        "{md}"
    );
    let wecom = body("wecom");
    assert_eq!(wecom["msgtype"], "markdown");
    assert!(
        wecom["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("排队数: 30")
    );
    let feishu = body("feishu");
    assert_eq!(feishu["msg_type"], "text");
    let text = feishu["content"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("[严重] phone-a：30 个来电排队中（新告警）"),
        "{text}"
    );

    // The chat's acknowledge link works, in the name of the chat it went to.
    let ack = md
        .split("[确认](")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .replace("http://floorwatch.example", &d.url);
    let (path, query) = ack.split_once('?').unwrap();
    let r = d
        .http
        .post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, inc) = d.get("/api/v1/incidents/1").await;
    assert_eq!(inc["acknowledged_by"], "chat link (webhook:ding)");
}
