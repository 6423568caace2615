//! The performance figures of Floorwatch, measured (not asserted):
//!
//!   cargo bench -p floorwatch --bench figures            # all of them
//!   cargo bench -p floorwatch --bench figures -- engine  # one: engine, ingest, latency, memory
//!
//! - engine: replay throughput of the engine on one core, events/s (decoded beforehand);
//! - ingest: HTTP ingest of NDJSON batches into the real daemon binary on 127.0.0.1, events/s;
//! - latency: from the POST that causes a breach to the incident visible in the API, p50/p99;
//! - memory: idle RSS of the daemon, and RSS per open contact (phone, and chat with its clocks);
//! - webhook: from the POST that causes a breach to the page received by a webhook on loopback;
//! - outbox: notifications delivered per second to a fast receiver;
//! - fanout: 1,000 live-stream clients, from the POST that causes a breach to the frame at each;
//! - clients: daemon RSS per connected live-stream client, with 10,000 of them;
//! - board: the wall-board's bundle size gzipped, and its time to first full paint in headless
//!   Chromium (needs scripts/build-board.sh and Debian's chromium + chromium-driver).
//!
//! Every loop is bounded in count and time; servers bind to 127.0.0.1 only.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floorwatch::config::parse_config;
use floorwatch::engine::Engine;
use floorwatch::ingest::{decode, replay::Replay, validate};
use floorwatch::sim::{self, Scenario};

#[path = "common/daemon.rs"]
mod daemon;
use daemon::Proc;

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("engine") {
        engine();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    if wants("ingest") {
        rt.block_on(ingest());
    }
    if wants("latency") {
        rt.block_on(latency());
    }
    if wants("memory") {
        rt.block_on(memory());
    }
    // Ten minutes: only when asked for by name.
    if which.iter().any(|w| w == "soak") {
        rt.block_on(soak());
    }
    if wants("webhook") {
        rt.block_on(webhook_latency());
    }
    if wants("outbox") {
        rt.block_on(outbox_throughput());
    }
    if wants("fanout") {
        rt.block_on(fanout());
    }
    if wants("clients") {
        rt.block_on(clients_memory());
    }
    if wants("board") {
        board_bundle();
        rt.block_on(board_first_paint());
    }
}

/// A center 40 times the size of the demo's, so a trace holds a few hundred thousand events.
fn big_center(start: i64, duration: i64) -> Scenario {
    let mut s = Scenario::mid_size_center(start, duration, 42);
    s.daily_curve = false;
    s.outage = Some((duration / 3, duration / 2));
    for q in &mut s.queues {
        q.per_hour *= 40.0;
        q.agents *= 40;
    }
    s.complaints_per_hour *= 40.0;
    s
}

fn engine() {
    let cfg = Arc::new(parse_config(floorwatch::config::EMBEDDED, "alerts.toml", None).unwrap());
    let start = 1_795_424_400_000;
    let text = sim::to_ndjson(&sim::simulate(&big_center(start, 2 * 3_600_000)));
    let items = decode(&text);
    let events: Vec<_> = items
        .iter()
        .map(|i| validate(i.wire.as_ref().unwrap(), i.line, i.index).unwrap())
        .collect();
    // Best of five: the events through a fresh engine, the clock ticking every `step` of
    // event time. Returns events/s and the incidents opened.
    let run = |step: i64| {
        let mut best = f64::MAX;
        let mut incidents = 0;
        for _ in 0..5 {
            let began = Instant::now();
            let mut e = Engine::new(cfg.clone(), start);
            let mut r = Replay::new(step);
            let mut fx = Vec::new();
            for ev in &events {
                let _ = r.push(&mut e, floorwatch::engine::UNNAMED, ev, &mut fx);
                if fx.len() > 4096 {
                    fx.clear();
                }
            }
            r.finish(&mut e, &mut fx);
            best = best.min(began.elapsed().as_secs_f64());
            incidents = e.max_incident_id();
        }
        (events.len() as f64 / best, incidents)
    };
    let (rate, incidents) = run(cfg.daemon.tick);
    println!(
        "engine replay: {} events (2 h of a center 40x the demo's, {incidents} incidents), ticking every {} ms: {:.2} M events/s on one core",
        events.len(),
        cfg.daemon.tick,
        rate / 1e6
    );
    // Ticking once a minute of event time: what applying events costs, apart from
    // re-evaluating every rule on each tick.
    let (rate, _) = run(60_000);
    println!(
        "engine apply (ticking once a minute): {:.2} M events/s on one core",
        rate / 1e6
    );
    // With decoding, as `floorwatch replay` runs it.
    let began = Instant::now();
    let mut e = Engine::new(cfg.clone(), start);
    let mut r = Replay::new(cfg.daemon.tick);
    let mut fx = Vec::new();
    r.feed_text(&mut e, &text, &mut fx, |fx| fx.clear());
    let secs = began.elapsed().as_secs_f64();
    println!(
        "decode + replay: {:.2} M events/s on one core",
        events.len() as f64 / secs / 1e6
    );
}

fn start_daemon(config: &str) -> Proc {
    daemon::start(config, &[])
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn now_rfc3339(offset_ms: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::milliseconds(offset_ms))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn big_limits(config: &str) -> String {
    config
        .replace("max_open_contacts = 2000000", "max_open_contacts = 4000000")
        .replace("max_body_bytes = 16777216", "max_body_bytes = 67108864")
}

/// Batches of contacts arriving, answered and resolved, stamped now, across the phone queues.
fn contact_batches(batches: usize, per_batch: usize, prefix: &str) -> Vec<String> {
    let at = now_rfc3339(0);
    let queues = ["phone-general", "phone-billing", "phone-sales", "phone-vip"];
    (0..batches)
        .map(|b| {
            let mut out = String::with_capacity(per_batch * 110);
            for i in 0..per_batch / 3 {
                let id = format!("{prefix}{b}-{i}");
                let q = queues[i % queues.len()];
                out += &format!("{{\"type\":\"contact\",\"id\":\"{id}\",\"queue\":\"{q}\",\"event\":\"arrived\",\"at\":\"{at}\"}}\n");
                out += &format!("{{\"type\":\"contact\",\"id\":\"{id}\",\"event\":\"answered\",\"at\":\"{at}\"}}\n");
                out += &format!("{{\"type\":\"contact\",\"id\":\"{id}\",\"event\":\"resolved\",\"at\":\"{at}\"}}\n");
            }
            out
        })
        .collect()
}

async fn post_all(url: &str, bodies: Vec<String>, concurrency: usize) -> u64 {
    let client = reqwest::Client::new();
    let bodies = Arc::new(tokio::sync::Mutex::new(bodies));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, bodies, url) = (
            client.clone(),
            bodies.clone(),
            format!("{url}/api/v1/events"),
        );
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0;
            loop {
                let Some(body) = bodies.lock().await.pop() else {
                    break;
                };
                let r: serde_json::Value = client
                    .post(&url)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                accepted += r["accepted"].as_u64().unwrap();
            }
            accepted
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

async fn ingest() {
    let d = start_daemon(&big_limits(floorwatch::config::EMBEDDED));
    let (batches, per) = (200, 10_002);
    let bodies = contact_batches(batches, per, "i");
    let bytes: usize = bodies.iter().map(String::len).sum();
    let began = Instant::now();
    let accepted = post_all(&d.url, bodies, 4).await;
    let secs = began.elapsed().as_secs_f64();
    println!(
        "HTTP ingest: {accepted} events in {} NDJSON batches of {per} ({:.0} MB) in {secs:.2} s: {:.2} M events/s (client and daemon on the same 2 cores)",
        batches,
        bytes as f64 / 1e6,
        accepted as f64 / secs / 1e6
    );
}

/// One queue family and a depth rule that pages at 20 waiting: the breach the latency and
/// live-stream figures time.
const DEPTH_CONFIG: &str = r#"
[daemon]
tick = "250ms"
[[queue]]
name = "phone-*"
channel = "phone"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
cooldown = "0s"
"#;

async fn latency() {
    let d = start_daemon(DEPTH_CONFIG);
    let client = reqwest::Client::new();
    let events = format!("{}/api/v1/events", d.url);
    let list = format!("{}/api/v1/incidents?status=open&limit=1", d.url);
    let mut samples = Vec::new();
    let mut last_id = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..2000i64 {
        if Instant::now() > deadline {
            break;
        }
        // Two readings a millisecond apart: breach, then clear (stamped with distinct times).
        let breach = format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
            now_rfc3339(2 * i)
        );
        let began = Instant::now();
        client
            .post(&events)
            .body(breach)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let id = loop {
            let v: serde_json::Value = client
                .get(&list)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match v[0]["id"].as_u64() {
                Some(id) if id > last_id => break id,
                _ => assert!(
                    began.elapsed() < Duration::from_secs(5),
                    "incident never appeared"
                ),
            }
        };
        samples.push(began.elapsed());
        last_id = id;
        let clear = format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":0}}"#,
            now_rfc3339(2 * i + 1)
        );
        client
            .post(&events)
            .body(clear)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    samples.sort();
    let p = |q: f64| {
        samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "breach POST -> incident in the API: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
}

async fn memory() {
    let d = start_daemon(&big_limits(floorwatch::config::EMBEDDED));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = d.child.id();
    let idle = rss_kib(pid);
    println!(
        "idle RSS (repository alerts.toml, empty store): {:.1} MiB",
        idle as f64 / 1024.0
    );
    for (label, queue, n) in [
        ("phone", "phone-general", 1_000_000usize),
        ("chat (3 clocks)", "chat-support", 500_000),
    ] {
        let at = now_rfc3339(0);
        let bodies: Vec<String> = (0..n / 10_000)
            .map(|b| {
                (0..10_000)
                    .map(|i| format!("{{\"type\":\"contact\",\"id\":\"{label}-{b}-{i}\",\"queue\":\"{queue}\",\"event\":\"arrived\",\"at\":\"{at}\"}}\n"))
                    .collect()
            })
            .collect();
        let before = rss_kib(pid);
        let accepted = post_all(&d.url, bodies, 1).await;
        assert_eq!(accepted as usize, n);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_kib(pid);
        println!(
            "open contacts, {label}: {n} more raise RSS by {:.1} MiB: {:.0} bytes per open contact",
            (after - before) as f64 / 1024.0,
            (after - before) as f64 * 1024.0 / n as f64
        );
    }
    let _ = Path::new("");
}

/// Steady contact traffic at about 20,000 events/s for `SOAK_SECS` (600): each second 6,667
/// contacts arrive, those of 8 s ago are answered and those of 17 s ago resolved, so about
/// 113,000 stay open. Memory must follow what is open: RSS after the first minute may drift by
/// less than 5%.
async fn soak() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let d = start_daemon(&big_limits(floorwatch::config::EMBEDDED));
    let pid = d.child.id();
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/events", d.url);
    let per_sec = 6_667;
    let queues = ["phone-general", "phone-billing", "phone-sales", "phone-vip"];
    let began = Instant::now();
    let (mut sent, mut accepted) = (0u64, 0u64);
    let mut samples: Vec<(u64, u64)> = Vec::new();
    for s in 0..secs {
        let at = now_rfc3339(0);
        let mut body = String::with_capacity(per_sec * 3 * 100);
        for i in 0..per_sec {
            let q = queues[i % queues.len()];
            body += &format!(
                "{{\"type\":\"contact\",\"id\":\"s{s}-{i}\",\"queue\":\"{q}\",\"event\":\"arrived\",\"at\":\"{at}\"}}\n"
            );
            if s >= 8 {
                body += &format!(
                    "{{\"type\":\"contact\",\"id\":\"s{}-{i}\",\"event\":\"answered\",\"at\":\"{at}\"}}\n",
                    s - 8
                );
            }
            if s >= 17 {
                body += &format!(
                    "{{\"type\":\"contact\",\"id\":\"s{}-{i}\",\"event\":\"resolved\",\"at\":\"{at}\"}}\n",
                    s - 17
                );
            }
        }
        sent += body.lines().count() as u64;
        let r: serde_json::Value = client
            .post(&url)
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        accepted += r["accepted"].as_u64().unwrap_or(0);
        if s % 10 == 9 {
            samples.push((s + 1, rss_kib(pid)));
        }
        let next = Duration::from_secs(s + 1);
        if let Some(wait) = next.checked_sub(began.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let rate = sent as f64 / began.elapsed().as_secs_f64();
    // Drift: the last minute's mean RSS against the second minute's; and the range after the
    // first minute.
    let mean = |from: u64, to: u64| {
        let v: Vec<u64> = samples
            .iter()
            .filter(|(t, _)| *t > from && *t <= to)
            .map(|(_, r)| *r)
            .collect();
        v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
    };
    let (second, last) = (mean(60, 120), mean(secs.saturating_sub(60), secs));
    let after: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t > 60)
        .map(|(_, r)| *r)
        .collect();
    let (lo, hi) = (
        *after.iter().min().unwrap_or(&0),
        *after.iter().max().unwrap_or(&0),
    );
    println!(
        "soak: {sent} events ({accepted} accepted) in {secs} s, {rate:.0} events/s; mean RSS in the second minute {:.1} MiB, in the last minute {:.1} MiB: drift {:+.1}%; after the first minute between {:.1} and {:.1} MiB",
        second / 1024.0,
        last / 1024.0,
        (last / second - 1.0) * 100.0,
        lo as f64 / 1024.0,
        hi as f64 / 1024.0,
    );
    for (t, r) in &samples {
        println!("  {t:>4} s  {:.1} MiB", *r as f64 / 1024.0);
    }
}

/// A webhook receiver on 127.0.0.1 that counts what it gets and remembers the last body.
struct Sink {
    count: Arc<std::sync::atomic::AtomicU64>,
    last: Arc<std::sync::Mutex<String>>,
    addr: std::net::SocketAddr,
}

async fn sink() -> Sink {
    use std::sync::atomic::{AtomicU64, Ordering};
    let count = Arc::new(AtomicU64::new(0));
    let last = Arc::new(std::sync::Mutex::new(String::new()));
    let (c, l) = (count.clone(), last.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let (c, l) = (c.clone(), l.clone());
            async move {
                *l.lock().unwrap() = body;
                c.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Sink { count, last, addr }
}

fn paging_config(addr: std::net::SocketAddr, hooks: usize, max_queues: usize) -> String {
    let mut cfg = format!(
        "[daemon]\ntick = \"250ms\"\n[daemon.limits]\nmax_queues = {max_queues}\n[[queue]]\nname = \"phone-*\"\nchannel = \"phone\"\n"
    );
    for h in 0..hooks {
        cfg += &format!("[[webhook]]\nname = \"h{h}\"\nurl = \"http://{addr}/hook\"\n");
    }
    let targets: Vec<String> = (0..hooks).map(|h| format!("\"webhook:h{h}\"")).collect();
    cfg += &format!(
        "[[escalation]]\nname = \"e\"\nseverities = [\"critical\"]\n[[escalation.level]]\nnotify = [{}]\nwait = \"1h\"\n",
        targets.join(", ")
    );
    cfg += "[[rule]]\nname = \"depth\"\nkind = \"queue_depth\"\ncritical = 20\nclear = 5\ncooldown = \"0s\"\n";
    cfg
}

async fn webhook_latency() {
    use std::sync::atomic::Ordering;
    let s = sink().await;
    let d = start_daemon(&paging_config(s.addr, 1, 10));
    let client = reqwest::Client::new();
    let events = format!("{}/api/v1/events", d.url);
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..1000i64 {
        if Instant::now() > deadline {
            break;
        }
        let before = s.count.load(Ordering::SeqCst);
        let breach = format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
            now_rfc3339(2 * i)
        );
        let began = Instant::now();
        client
            .post(&events)
            .body(breach)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        while s.count.load(Ordering::SeqCst) == before {
            assert!(began.elapsed() < Duration::from_secs(5), "no page");
            tokio::task::yield_now().await;
        }
        samples.push(began.elapsed());
        assert!(s.last.lock().unwrap().contains("\"reason\":\"opened\""));
        // Clear it, and let the "resolved" page arrive before the next breach.
        let before = s.count.load(Ordering::SeqCst);
        let clear = format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":0}}"#,
            now_rfc3339(2 * i + 1)
        );
        client
            .post(&events)
            .body(clear)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        while s.count.load(Ordering::SeqCst) == before {
            tokio::task::yield_now().await;
        }
    }
    samples.sort();
    let p = |q: f64| {
        samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "breach POST -> webhook received on loopback: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
}

async fn outbox_throughput() {
    use std::sync::atomic::Ordering;
    let s = sink().await;
    let (queues, hooks) = (2000usize, 5usize);
    let d = start_daemon(&paging_config(s.addr, hooks, queues));
    let client = reqwest::Client::new();
    let at = now_rfc3339(0);
    let body: String = (0..queues)
        .map(|q| {
            format!(
                "{{\"type\":\"queue\",\"queue\":\"phone-{q}\",\"at\":\"{at}\",\"waiting\":30}}\n"
            )
        })
        .collect();
    let expected = (queues * hooks) as u64;
    let began = Instant::now();
    client
        .post(format!("{}/api/v1/events", d.url))
        .body(body)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    while s.count.load(Ordering::SeqCst) < expected {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "only {} of {expected} delivered",
            s.count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = began.elapsed().as_secs_f64();
    println!(
        "outbox: {expected} notifications ({queues} incidents x {hooks} webhooks) delivered in {secs:.2} s: {:.0} notifications/s",
        expected as f64 / secs
    );
}

#[path = "../../tests/common/browser.rs"]
mod browser;

/// Connects a live-stream client that reports, for every incident it sees open for the first
/// time, the incident's id and when the frame arrived.
async fn live_client(
    url: &str,
    seen: tokio::sync::mpsc::UnboundedSender<(u64, Instant)>,
) -> tokio::task::JoinHandle<()> {
    use futures_util::StreamExt;
    let ws = url.replace("http://", "ws://") + "/api/v1/live";
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    tokio::spawn(async move {
        let mut last = 0u64;
        while let Some(Ok(msg)) = socket.next().await {
            let tokio_tungstenite::tungstenite::Message::Text(text) = msg else {
                continue;
            };
            // Cheap on purpose: a thousand clients share the bench's two cores with the daemon.
            if let Some(i) = text.find("\"incidents\":[{\"id\":") {
                let digits: String = text[i + 19..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(id) = digits.parse::<u64>()
                    && id > last
                {
                    last = id;
                    let _ = seen.send((id, Instant::now()));
                }
            }
        }
    })
}

async fn fanout() {
    let d = start_daemon(DEPTH_CONFIG);
    let clients = 1_000usize;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(live_client(&d.url, tx.clone()).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let http = reqwest::Client::new();
    let events = format!("{}/api/v1/events", d.url);
    let mut each = Vec::new();
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for round in 0..100i64 {
        if Instant::now() > deadline {
            break;
        }
        let breach = format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":30}}"#,
            now_rfc3339(2 * round)
        );
        let began = Instant::now();
        http.post(&events).body(breach).send().await.unwrap();
        let mut got = 0;
        let mut id = None;
        while got < clients {
            let (seen, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("every client sees the breach within 10 s")
                .unwrap();
            // Ids only grow; every client reports each one once.
            if id.is_none_or(|i| seen > i) && got == 0 {
                id = Some(seen);
            }
            if Some(seen) == id {
                got += 1;
                each.push(at - began);
            }
        }
        all.push(began.elapsed());
        let clear = format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":0}}"#,
            now_rfc3339(2 * round + 1)
        );
        http.post(&events).body(clear).send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let q = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "live fan-out to {clients} clients, {} breaches: breach POST -> frame at a client p50 {:.1} ms, p99 {:.1} ms; -> frame at every client p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        q(&mut each, 0.5),
        q(&mut each, 0.99),
        q(&mut all, 0.5),
        q(&mut all, 0.99),
        q(&mut all, 1.0)
    );
    for t in tasks {
        t.abort();
    }
}

async fn clients_memory() {
    let d = start_daemon(DEPTH_CONFIG);
    // Something on the board: a queue with figures, as a wall-board would see.
    reqwest::Client::new()
        .post(format!("{}/api/v1/events", d.url))
        .body(format!(
            r#"{{"type":"queue","queue":"phone-a","at":"{}","waiting":3,"agents_available":5}}"#,
            now_rfc3339(0)
        ))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = d.child.id();
    let before = rss_kib(pid);
    let n = 10_000usize;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(120);
    for _ in 0..n {
        if Instant::now() > deadline {
            break;
        }
        tasks.push(live_client(&d.url, tx.clone()).await);
    }
    // Let every client take its snapshot and a few heartbeats.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_kib(pid);
    println!(
        "live clients: {} connected raise the daemon's RSS by {:.1} MiB: {:.1} KiB per client",
        tasks.len(),
        (after - before) as f64 / 1024.0,
        (after - before) as f64 / tasks.len() as f64
    );
    for t in tasks {
        t.abort();
    }
}

fn board_bundle() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboard/dist");
    let gz = |f: &str| -> u64 {
        let out = Command::new("gzip")
            .args(["-9c"])
            .arg(dist.join(f))
            .output()
            .expect("gzip");
        assert!(
            out.status.success(),
            "{f} missing: run scripts/build-board.sh"
        );
        out.stdout.len() as u64
    };
    let size = |f: &str| {
        std::fs::metadata(dist.join(f))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    // The brotli bytes the daemon serves: embedded by build.rs under content-hashed names.
    let br = |stem: &str, ext: &str| -> u64 {
        floorwatch::http::board::ASSETS
            .iter()
            .find(|a| a.name.starts_with(stem) && a.name.ends_with(ext))
            .map(|a| a.brotli.len() as u64)
            .expect("a daemon built with the board: run scripts/build-board.sh, then bench again")
    };
    let (wasm, js) = (gz("board_bg.wasm"), gz("board.js"));
    println!(
        "wall-board bundle: wasm {:.1} KiB + js {:.1} KiB = {:.1} KiB gzipped, {:.1} KiB brotli as served ({:.1} KiB raw)",
        wasm as f64 / 1024.0,
        js as f64 / 1024.0,
        (wasm + js) as f64 / 1024.0,
        (br("board_bg.", ".wasm") + br("board.", ".js")) as f64 / 1024.0,
        (size("board_bg.wasm") + size("board.js")) as f64 / 1024.0
    );
}

async fn board_first_paint() {
    let d = start_daemon(DEPTH_CONFIG);
    reqwest::Client::new()
        .post(format!("{}/api/v1/events", d.url))
        .body(
            ["phone-a", "phone-b", "phone-c", "phone-d"]
                .map(|q| {
                    format!(
                        r#"{{"type":"queue","queue":"{q}","at":"{}","waiting":3,"agents_available":5}}"#,
                        now_rfc3339(0)
                    )
                })
                .join("\n"),
        )
        .send()
        .await
        .unwrap();
    let b = browser::Browser::start().await;
    let mut ready = Vec::new();
    let mut fcp = Vec::new();
    for _ in 0..10 {
        b.client.goto("about:blank").await.unwrap();
        b.client.goto(&format!("{}/", d.url)).await.unwrap();
        let v = b
            .wait_until(
                20.0,
                "the board's first full paint",
                "const r = performance.getEntriesByName('board-ready')[0]; \
                 const f = performance.getEntriesByName('first-contentful-paint')[0]; \
                 return r ? [r.startTime, f ? f.startTime : null] : null;",
                |v| v.is_array(),
            )
            .await;
        ready.push(v[0].as_f64().unwrap());
        if let Some(f) = v[1].as_f64() {
            fcp.push(f);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "wall-board in headless Chromium on loopback, {} loads: first contentful paint median {:.0} ms; tiles drawn from the live snapshot (board-ready) median {:.0} ms, max {:.0} ms",
        ready.len(),
        median(&mut fcp),
        median(&mut ready),
        ready.iter().copied().fold(0.0, f64::max)
    );
    b.close().await;

    // What a wall PC downloads: a cold load (a fresh profile, nothing cached), then a reload.
    let b = browser::Browser::start().await;
    let transferred = "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')) \
        .filter(e => e.entryType === 'navigation' || e.name.includes('/board/')) \
        .reduce((n, e) => n + e.transferSize, 0);";
    let ready = "return performance.getEntriesByName('board-ready').length > 0 && \
        performance.getEntriesByType('resource').some(e => e.name.endsWith('.wasm'));";
    b.client.goto(&format!("{}/", d.url)).await.unwrap();
    b.wait_until(20.0, "the board", ready, |v| v == true).await;
    let cold = b.eval(transferred).await.as_f64().unwrap();
    b.eval("location.reload(); return true;").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    b.wait_until(20.0, "the board again", ready, |v| v == true)
        .await;
    let reload = b.eval(transferred).await.as_f64().unwrap();
    println!(
        "wall-board transfer (page, script, wasm, style; headers included): cold load {:.1} KiB, reload {:.0} bytes",
        cold / 1024.0,
        reload
    );
    b.close().await;
}
