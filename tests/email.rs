//! End-to-end e-mail: the real daemon paging through a real SMTP server (aiosmtpd, started by
//! the test) that is down for a while first; the acknowledge link in the mail; a Chinese list's
//! mail with no English left; the mail's link opened on a phone (Debian's headless Chromium at
//! 390x844) and acknowledged there without a token.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Daemon, Start, at, until};
use serde_json::Value;

const LINK_SECRET: &str = "a test secret for acknowledge links";

/// The SMTP server: a child process that saves each message as JSON in `folder`.
struct SmtpSink {
    child: Child,
    folder: PathBuf,
}

impl SmtpSink {
    fn start(port: u16, folder: &Path) -> SmtpSink {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpSink {
            child,
            folder: folder.to_path_buf(),
        }
    }

    fn mails(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(&self.folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The words of Latin letters in `s`, leaving out links and the `names` given.
fn english_words(s: &str, names: &[&str]) -> Vec<String> {
    let mut rest: String = s
        .split_whitespace()
        .filter(|w| !w.contains("http://") && !w.contains("https://"))
        .collect::<Vec<_>>()
        .join(" ");
    for n in names {
        rest = rest.replace(n, " ");
    }
    rest.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .map(String::from)
        .collect()
}

fn config(smtp_port: u16) -> String {
    format!(
        r#"
[daemon]
tick = "100ms"
public_url = "http://127.0.0.1:1"
[delivery]
first_retry = "200ms"
max_backoff = "500ms"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "Floorwatch <floorwatch@example.com>"
timeout = "2s"
[[email]]
name = "leads"
to = ["wang.fang@example.com", "li.lei@example.com"]
language = "zh"
[[queue]]
name = "phone-*"
channel = "phone"
[[escalation]]
name = "floor"
severities = ["critical"]
[[escalation.level]]
notify = ["email:leads"]
wait = "10m"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
runbook = {{ en = "Call the telephony vendor on 400-800-1234 and switch on the emergency menu", zh = "致电话务平台厂商 400-800-1234，并启用应急语音菜单" }}
"#
    )
}

#[tokio::test]
async fn mail_waits_out_a_down_server_and_its_link_acknowledges_only_on_post() {
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(port);
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FLOORWATCH_LINK_SECRET", LINK_SECRET)],
    });
    let breach = format!(
        r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
        at(0)
    );
    d.post("/api/v1/events", breach, None).await;

    // The mail server is down: the page is retried, and the timeline says so.
    let pending = d
        .wait_for("/api/v1/deliveries?status=pending", 10, |v| {
            v[0]["attempts"].as_u64() >= Some(2)
        })
        .await;
    assert!(
        pending[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("mail server 127.0.0.1"),
        "{pending}"
    );

    // It comes back: the mail arrives, once.
    let sink = SmtpSink::start(port, &dir.path().join("mail"));
    let mail = until(15, "the mail", || sink.mails().into_iter().next()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails().len(), 1, "delivered once");
    let subject = mail["subject"].as_str().unwrap();
    assert_eq!(subject, "[严重] phone-a：30 个来电排队中（新告警）");
    assert_eq!(
        mail["to"],
        serde_json::json!(["wang.fang@example.com", "li.lei@example.com"])
    );
    assert!(
        mail["message_id"]
            .as_str()
            .unwrap()
            .ends_with("@floorwatch>")
    );
    assert!(
        mail["html"].as_str().unwrap().contains("确认"),
        "an HTML body too"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("处置步骤: 致电话务平台厂商 400-800-1234，并启用应急语音菜单"),
        "{text}"
    );
    assert!(
        text.contains("排队数: 30"),
        "the figures, in Chinese: {text}"
    );
    // A list that reads Chinese gets no English: only the names from alerts.toml (the queue,
    // the rule) and the links' addresses are left as they are.
    let english = english_words(&format!("{subject}\n{text}"), &["phone-a", "depth"]);
    assert!(
        english.is_empty(),
        "English left: {english:?} in\n{subject}\n{text}"
    );
    let link = text
        .lines()
        .find_map(|l| l.strip_prefix("确认: "))
        .expect("an acknowledge link")
        .to_string();
    let path = link.strip_prefix("http://127.0.0.1:1").unwrap();

    // GET shows a confirm page and acknowledges nothing.
    let (s, page) = d.get_text(path).await;
    assert_eq!(s, 200);
    assert!(page.contains("<form method=\"post\">"), "{page}");
    let id = path
        .split('/')
        .nth(2)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let (_, inc) = d.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        inc["status"], "firing",
        "a GET (a mail scanner) does not acknowledge"
    );

    // A tampered link is refused; so is an expired one.
    let tampered = path.replace("list=leads", "list=others");
    let (s, page) = d.get_text(&tampered).await;
    assert_eq!(s, 403, "{page}");
    let expired = floorwatch::notify::ack_link::LinkKey::new(LINK_SECRET.as_bytes().to_vec()).link(
        "",
        id.parse().unwrap(),
        "leads",
        chrono::Utc::now().timestamp() - 60,
    );
    let (s, page) = d.get_text(&expired).await;
    assert_eq!(s, 403);
    assert!(page.contains("expired"), "{page}");

    // The confirming POST acknowledges, in the name of the list.
    let query = path.split_once('?').unwrap().1.to_string();
    let r = d
        .http
        .post(format!("{}/ack/{id}", d.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, inc) = d.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "acknowledged");
    assert_eq!(inc["acknowledged_by"], "e-mail link (email:leads)");
    let kinds: Vec<&str> = inc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"delivery_retry") && kinds.contains(&"delivered"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn on_call_pages_go_to_whoever_holds_the_rota_including_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let sink = SmtpSink::start(port, &dir.path().join("mail"));
    let cfg = config(port).replace(r#"notify = ["email:leads"]"#, r#"notify = ["oncall:duty"]"#)
        + &format!(
            r#"
[[oncall]]
name = "duty"
timezone = "UTC"
handover = "0 0 9 * * *"
start = "{}"
people = [{{ name = "Wang Fang", email = "wang.fang@example.com" }}, {{ name = "Li Lei", email = "li.lei@example.com" }}]
"#,
            at(-3600)
        );
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![("FLOORWATCH_LINK_SECRET", LINK_SECRET)],
    });
    // send-test reaches a list through the real server.
    let path = dir.path().join("alerts.toml");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(common::BIN)
            .args(["send-test", "email:leads", "--config"])
            .arg(&path)
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
    let test_mail = until(10, "the test mail", || sink.mails().into_iter().next()).await;
    assert!(
        test_mail["subject"].as_str().unwrap().ends_with("（测试）"),
        "{test_mail}"
    );
    std::fs::remove_dir_all(dir.path().join("mail")).unwrap();
    std::fs::create_dir_all(dir.path().join("mail")).unwrap();

    let (_, rota) = d.get("/api/v1/oncall").await;
    assert_eq!(rota[0]["schedule"], "duty");
    let first = rota[0]["now"].as_str().unwrap().to_string();
    let other = if first == "Wang Fang" {
        "Li Lei"
    } else {
        "Wang Fang"
    };
    let (s, e) = d
        .post(
            "/api/v1/oncall/duty/overrides",
            r#"{"person":"Nobody","duration":"1h"}"#,
            None,
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, o) = d
        .post(
            "/api/v1/oncall/duty/overrides",
            format!(r#"{{"person":"{other}","duration":"2h","by":"boss"}}"#),
            None,
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let (_, rota) = d.get("/api/v1/oncall").await;
    assert_eq!(rota[0]["now"], other);
    assert_eq!(rota[0]["override_id"], o["id"]);

    let breach = format!(
        r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
        at(0)
    );
    d.post("/api/v1/events", breach, None).await;
    let mail = until(15, "the on-call mail", || sink.mails().into_iter().next()).await;
    let expected = if other == "Li Lei" {
        "li.lei@example.com"
    } else {
        "wang.fang@example.com"
    };
    assert_eq!(
        mail["to"],
        serde_json::json!([expected]),
        "the override's person is paged"
    );
    let delivered = d
        .wait_for("/api/v1/deliveries?status=delivered", 10, |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(delivered[0]["target"], "oncall:duty");
}

#[tokio::test]
async fn a_phone_opens_the_mails_link_and_acknowledges_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let sink = SmtpSink::start(port, &dir.path().join("mail"));
    let cfg = config(port);
    // Tokens are required: the phone has none, only the mail's signed link.
    let d = Daemon::start(Start {
        config: &cfg,
        dir: dir.path(),
        env: vec![
            ("FLOORWATCH_LINK_SECRET", LINK_SECRET),
            ("FLOORWATCH_ADMIN_TOKENS", "ops:admin-secret-00001"),
            ("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001"),
            ("FLOORWATCH_LEAD_TOKENS", "alice:lead-secret-000001"),
        ],
    })
    .with_token("admin-secret-00001");
    let breach = format!(
        r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
        at(0)
    );
    let (s, _) = d.post("/api/v1/events", breach, None).await;
    assert_eq!(s, 200);
    let mail = until(15, "the mail", || sink.mails().into_iter().next()).await;
    let text = mail["text"].as_str().unwrap();
    let open = text
        .lines()
        .find_map(|l| l.strip_prefix("打开: "))
        .expect("a link to the incident's page")
        .replace("http://127.0.0.1:1", &d.url);
    assert!(
        open.contains("#/incidents/"),
        "the board's page, not the JSON API: {open}"
    );
    let id: u64 = open.rsplit('/').next().unwrap().parse().unwrap();

    // Without the link, or with a forged one, the API says no.
    let api = format!("{}/api/v1/incidents/{id}", d.url);
    let anonymous = d.http.get(&api).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let query = open.split_once('?').unwrap().1.split('#').next().unwrap();
    let forged = query.replace("sig=", "sig=A");
    let r = d.http.get(format!("{api}?{forged}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = d
        .http
        .get(format!("{}/api/v1/incidents/{}?{query}", d.url, id + 1))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.status().as_u16(),
        200,
        "a link opens its own incident only"
    );

    let b = browser::Browser::start_phone().await;
    b.client.goto(&open).await.unwrap();
    b.wait_until(
        20.0,
        "the incident page in Chinese with its acknowledge button",
        "const h = document.querySelector('.incident-head h1'); \
         return h && document.getElementById('ack-button') ? h.textContent : null;",
        |v| v.as_str().is_some_and(|t| t.contains("30 个来电排队中")),
    )
    .await;
    let layout = b
        .eval(
            "const a = document.getElementById('ack-button').getBoundingClientRect(); \
             return { width: window.innerWidth, scroll: document.documentElement.scrollWidth, \
                      ack_width: a.width, ack_bottom: a.bottom, height: window.innerHeight, \
                      resolve: document.getElementById('resolve-button') !== null, \
                      runbook: document.getElementById('runbook').innerText };",
        )
        .await;
    assert_eq!(layout["width"], 390, "{layout}");
    assert!(
        layout["scroll"].as_f64() <= layout["width"].as_f64(),
        "nothing wider than the phone: {layout}"
    );
    assert!(
        layout["ack_width"].as_f64().unwrap() >= 300.0,
        "a button for a thumb: {layout}"
    );
    assert!(
        layout["ack_bottom"].as_f64() <= layout["height"].as_f64(),
        "the button on the first screen: {layout}"
    );
    assert_eq!(
        layout["resolve"], false,
        "the link acknowledges, nothing more: {layout}"
    );
    assert!(
        layout["runbook"]
            .as_str()
            .unwrap()
            .contains("致电话务平台厂商"),
        "{layout}"
    );
    let shot = b.screenshot("incident-page-phone").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 10_000);

    b.click("#ack-button").await;
    let inc = d
        .wait_for(&format!("/api/v1/incidents/{id}"), 10, |v| {
            v["status"] == "acknowledged"
        })
        .await;
    assert_eq!(inc["acknowledged_by"], "e-mail link (email:leads)");
    b.wait_until(
        10.0,
        "the page to show it acknowledged",
        "return document.getElementById('ack-button') === null;",
        |v| v == &Value::Bool(true),
    )
    .await;
    b.close().await;
}
