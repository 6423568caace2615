//! The figures of high availability on PostgreSQL, measured (not asserted), with a real
//! PostgreSQL (Debian's, started here as an unprivileged user in a temporary directory) and two
//! real daemons on 127.0.0.1:
//!
//!   cargo bench -p floorwatch --bench cluster                 # all three
//!   cargo bench -p floorwatch --bench cluster -- failover     # one: ingest, webhook, failover
//!
//! - ingest: events/s through the shared journal, batches posted to both nodes at once
//!   (`CLUSTER_ONE_NODE=1`: to one node alone, for comparison);
//! - webhook: from a breach POSTed to the follower to the page at a webhook on loopback, p50/p99;
//! - failover: from `kill -9` of the leader to the first page sent by the new leader, p50 and
//!   max over 20 kills (a breach is posted to the survivor right after each kill).
//!
//! Every loop is bounded in count and time.

#[path = "common/daemon.rs"]
mod daemon;
#[path = "../../tests/common/postgres.rs"]
mod postgres;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::Postgres;

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if wants("ingest") {
        rt.block_on(ingest());
    }
    if wants("webhook") {
        rt.block_on(webhook());
    }
    if wants("failover") {
        rt.block_on(failover());
    }
}

/// A daemon of the cluster.
struct Node {
    proc: daemon::Proc,
    url: String,
    name: String,
}

impl Node {
    fn start(pg: &Postgres, config: &str, name: &str) -> Node {
        let proc = daemon::start(
            config,
            &[
                ("FLOORWATCH_DATABASE_URL", &pg.url),
                ("FLOORWATCH_NODE", name),
            ],
        );
        Node {
            url: proc.url.clone(),
            proc,
            name: name.to_string(),
        }
    }

    fn kill(self) {
        drop(self.proc);
    }

    /// Waits until this node says it leads.
    async fn wait_leading(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v: serde_json::Value = match http
                .get(format!("{}/api/v1/cluster", self.url))
                .send()
                .await
            {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            if v["leading"] == true && v["leader"] == self.name.as_str() {
                return;
            }
            assert!(Instant::now() < deadline, "{} never led", self.name);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn config(hook: Option<std::net::SocketAddr>) -> String {
    let mut c = String::from(
        r#"
[daemon]
tick = "250ms"
group_window = "0s"
snapshot_stale_after = "1h"
[daemon.limits]
max_body_bytes = 67108864
max_open_contacts = 4000000
[store]
backend = "postgres"
[delivery]
first_retry = "100ms"
max_backoff = "1s"
[[queue]]
name = "q-*"
channel = "phone"
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
"#,
    );
    if let Some(hook) = hook {
        c += &format!(
            r#"
[[webhook]]
name = "floor"
url = "http://{hook}/hook"
timeout = "2s"
[[escalation]]
name = "floor"
severities = ["critical"]
[[escalation.level]]
notify = ["webhook:floor"]
wait = "1h"
"#
        );
    }
    c
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A webhook receiver that notes when each request came.
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<Instant>>>) {
    let got: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(Instant::now());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, got)
}

fn breach(queue: &str) -> String {
    format!(
        r#"{{"type":"queue","queue":"{queue}","at":"{}","waiting":30}}"#,
        now_rfc3339()
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn ingest() {
    let pg = Postgres::start();
    let http = reqwest::Client::new();
    let cfg = config(None);
    let a = Node::start(&pg, &cfg, "a");
    a.wait_leading(&http).await;
    let one = std::env::var("CLUSTER_ONE_NODE").is_ok();
    let b = if one {
        None
    } else {
        Some(Node::start(&pg, &cfg, "b"))
    };
    let urls: Vec<String> = match &b {
        Some(b) => vec![a.url.clone(), b.url.clone(), a.url.clone(), b.url.clone()],
        None => vec![a.url.clone(); 4],
    };
    let (batches, per) = (120usize, 10_002usize);
    let at = now_rfc3339();
    let bodies: Vec<String> = (0..batches)
        .map(|n| {
            let mut out = String::with_capacity(per * 110);
            for i in 0..per / 3 {
                let id = format!("c{n}-{i}");
                let q = format!("q-{}", i % 8);
                out += &format!("{{\"type\":\"contact\",\"id\":\"{id}\",\"queue\":\"{q}\",\"event\":\"arrived\",\"at\":\"{at}\"}}\n");
                out += &format!("{{\"type\":\"contact\",\"id\":\"{id}\",\"event\":\"answered\",\"at\":\"{at}\"}}\n");
                out += &format!("{{\"type\":\"contact\",\"id\":\"{id}\",\"event\":\"resolved\",\"at\":\"{at}\"}}\n");
            }
            out
        })
        .collect();
    let bodies = Arc::new(tokio::sync::Mutex::new(bodies));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for url in urls {
        let (http, bodies, url) = (http.clone(), bodies.clone(), format!("{url}/api/v1/events"));
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0u64;
            loop {
                // Taken, and the lock let go, before the request.
                let Some(body) = bodies.lock().await.pop() else {
                    break;
                };
                let r: serde_json::Value = http
                    .post(&url)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                accepted += r["accepted"].as_u64().unwrap_or(0);
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    let secs = began.elapsed().as_secs_f64();
    let nodes = if one { 1 } else { 2 };
    println!(
        "cluster ingest: {accepted} events in {batches} batches of {per} in {secs:.2} s: {:.0} events/s ({nodes} node(s), PostgreSQL, the client, all on the same 2 cores)",
        accepted as f64 / secs
    );
}

async fn webhook() {
    let pg = Postgres::start();
    let http = reqwest::Client::new();
    let (hook, got) = receiver().await;
    let cfg = config(Some(hook));
    let a = Node::start(&pg, &cfg, "a");
    a.wait_leading(&http).await;
    let b = Node::start(&pg, &cfg, "b");
    let samples = 200;
    let mut took = Vec::with_capacity(samples);
    for i in 0..samples {
        let before = got.lock().unwrap().len();
        let sent = Instant::now();
        let r = http
            .post(format!("{}/api/v1/events", b.url))
            .body(breach(&format!("q-{i}")))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let deadline = sent + Duration::from_secs(10);
        loop {
            if let Some(at) = got.lock().unwrap().get(before) {
                took.push(*at - sent);
                break;
            }
            assert!(Instant::now() < deadline, "no page for q-{i}");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    took.sort();
    println!(
        "breach POSTed to the follower -> webhook received from the leader: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {samples}",
        percentile(&took, 0.5).as_secs_f64() * 1e3,
        percentile(&took, 0.99).as_secs_f64() * 1e3,
        took.last().unwrap().as_secs_f64() * 1e3,
    );
    drop(a);
}

async fn failover() {
    let pg = Postgres::start();
    let http = reqwest::Client::new();
    let (hook, got) = receiver().await;
    let cfg = config(Some(hook));
    let mut leader = Node::start(&pg, &cfg, "n0");
    leader.wait_leading(&http).await;
    let mut follower = Node::start(&pg, &cfg, "n1");
    let kills = 20;
    let mut took = Vec::with_capacity(kills);
    for k in 0..kills {
        // Let the follower catch up and report in before the kill.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = got.lock().unwrap().len();
        let killed = Instant::now();
        let name = leader.name.clone();
        leader.kill();
        // The breach reaches the survivor at once; only a leader pages it.
        let r = http
            .post(format!("{}/api/v1/events", follower.url))
            .body(breach(&format!("q-{k}")))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let deadline = killed + Duration::from_secs(60);
        loop {
            if let Some(at) = got.lock().unwrap().get(before) {
                took.push(*at - killed);
                break;
            }
            assert!(Instant::now() < deadline, "no page after kill {k}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The killed node comes back as the follower.
        leader = follower;
        follower = Node::start(&pg, &cfg, &name);
    }
    took.sort();
    println!(
        "failover, kill -9 of the leader -> first page by the new leader: p50 {:.2} s, max {:.2} s over {kills} kills (lease {} s, renewed every {} s)",
        percentile(&took, 0.5).as_secs_f64(),
        took.last().unwrap().as_secs_f64(),
        10,
        2.5
    );
}
