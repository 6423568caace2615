//! High availability end to end: a real PostgreSQL (started by the test as an unprivileged user in
//! a temporary directory), two real daemons on it, and a real webhook receiver.
//! - `kill -9` of the leader while 1,000 incidents page (the receiver failing every other
//!   request): the other node leads within the lease and a few seconds, every page is delivered,
//!   repeats only under the same key, no incident is opened twice, every timeline is whole;
//! - a leader stopped (SIGSTOP) past its lease: the other leads and pages; woken (SIGCONT), the
//!   old leader pages nothing and follows;
//! - PostgreSQL restarted under load: ingest answers 503 meanwhile, never 200 for an event not
//!   stored, and every event answered 200 is in the shared journal;
//! - a wall-board in Chromium on a follower shows a breach ingested on the leader.

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/postgres.rs"]
mod postgres;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::{Daemon, Start, at, until};
use postgres::Postgres;
use serde_json::Value;

/// A webhook receiver: every request's key and the status it was answered with; with `flaky`,
/// every other request is answered 500.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, u16)>>>,
    count: Arc<AtomicU64>,
    flaky: Arc<AtomicBool>,
}

impl Receiver {
    async fn serve(&self) -> SocketAddr {
        let r = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, _body: Bytes| {
                let r = r.clone();
                async move {
                    let n = r.count.fetch_add(1, Ordering::Relaxed);
                    let status = if r.flaky.load(Ordering::Relaxed) && n % 2 == 1 {
                        500
                    } else {
                        200
                    };
                    let key = headers
                        .get("webhook-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    r.got.lock().unwrap().push((key, status));
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    /// Keys answered 200.
    fn delivered(&self) -> BTreeSet<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| *s == 200)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn requests(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

fn config(hook: SocketAddr) -> String {
    format!(
        r#"
[daemon]
tick = "200ms"
group_window = "0s"
snapshot_stale_after = "1h"
[store]
backend = "postgres"
[delivery]
first_retry = "200ms"
max_backoff = "1s"
[[queue]]
name = "q-*"
channel = "phone"
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
[[rule]]
name = "depth"
kind = "queue_depth"
critical = 20
clear = 5
"#
    )
}

/// A node of the cluster on `pg`, named `name`, with a data dir of its own.
fn node(pg: &Postgres, cfg: &str, name: &str, dir: &tempfile::TempDir) -> Daemon {
    Daemon::start(Start {
        config: cfg,
        dir: dir.path(),
        env: vec![
            ("FLOORWATCH_DATABASE_URL", pg.url.as_str()),
            ("FLOORWATCH_NODE", name),
        ],
    })
}

/// Waits until `d` says it leads (or, with `false`, that it follows another node).
async fn wait_leading(d: &Daemon, leading: bool, secs: u64) -> Value {
    d.wait_for("/api/v1/cluster", secs, |v| {
        v["leading"] == leading && v["leader"].is_string() && (v["leader"] == v["node"]) == leading
    })
    .await
}

/// PostgreSQL, a receiver, and two nodes: `a` leading, `b` following.
struct Pair {
    pg: Postgres,
    receiver: Receiver,
    a: Daemon,
    b: Daemon,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Pair {
    /// `extra`: more alerts.toml; `flaky`: the receiver fails every other request.
    async fn start(extra: &str, flaky: bool) -> Pair {
        let pg = Postgres::start();
        let receiver = Receiver::default();
        receiver.flaky.store(flaky, Ordering::Relaxed);
        let hook = receiver.serve().await;
        let cfg = config(hook) + extra;
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = node(&pg, &cfg, "a", &dirs.0);
        wait_leading(&a, true, 20).await;
        let b = node(&pg, &cfg, "b", &dirs.1);
        wait_leading(&b, false, 20).await;
        Pair {
            pg,
            receiver,
            a,
            b,
            _dirs: dirs,
        }
    }
}

fn breaches(queues: std::ops::Range<u32>, secs: i64) -> String {
    queues
        .map(|q| {
            format!(
                r#"{{"type":"queue","queue":"q-{q}","at":"{}","waiting":30}}"#,
                at(secs)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn killing_the_leader_mid_outage_loses_and_doubles_no_page() {
    let Pair {
        pg: _pg,
        receiver,
        a,
        b,
        _dirs,
    } = Pair::start("", true).await;

    // 1,000 queues break at once, ingested on the follower.
    let (s, report) = b.post("/api/v1/events", breaches(0..1000, 0), None).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["accepted"], 1000, "{report}");
    until(30, "a hundred pages delivered", || {
        (receiver.delivered().len() >= 100).then_some(())
    })
    .await;

    // The leader dies mid-outage.
    let killed = Instant::now();
    a.kill_hard();
    let status = wait_leading(&b, true, 25).await;
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(20), "took over after {took:?}");
    assert_eq!(status["leader"], "b");

    // Every incident's page is delivered; repeats only under the same key.
    let (_, list) = b.get("/api/v1/incidents?limit=5000").await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1000, "no incident opened twice");
    let scopes: BTreeSet<&str> = list.iter().map(|i| i["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes.len(), 1000);
    let ids: Vec<u64> = list.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    let undelivered = || {
        let delivered = receiver.delivered();
        ids.iter()
            .filter(|id| {
                let prefix = format!("fw-{id}-");
                !delivered.iter().any(|k| k.starts_with(&prefix))
            })
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while undelivered() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if undelivered() > 0 {
        let delivered = receiver.delivered();
        let first = ids
            .iter()
            .find(|id| {
                let prefix = format!("fw-{id}-");
                !delivered.iter().any(|k| k.starts_with(&prefix))
            })
            .unwrap();
        let (_, rows) = b.get(&format!("/api/v1/deliveries?incident={first}")).await;
        let (_, cluster) = b.get("/api/v1/cluster").await;
        panic!(
            "{} incidents without a delivered page, #{first} among them: {rows}\ncluster: {cluster}\nlogs of b:\n{}",
            undelivered(),
            b.logs()
                .lines()
                .filter(|l| !l.contains(" INFO "))
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let mut per_incident: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for (k, _) in receiver.got.lock().unwrap().iter() {
        let id: u64 = k.split('-').nth(1).unwrap().parse().unwrap();
        per_incident.entry(id).or_default().insert(k.clone());
    }
    assert!(
        per_incident.values().all(|keys| keys.len() == 1),
        "one page per incident, retried under its one key: {:?}",
        per_incident.iter().find(|(_, k)| k.len() > 1)
    );

    // Every timeline is whole: opened, and its page delivered.
    for i in list.iter().step_by(10) {
        let (_, d) = b.get(&format!("/api/v1/incidents/{}", i["id"])).await;
        let kinds: Vec<&str> = d["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds[0], "opened", "{kinds:?}");
        assert!(kinds.contains(&"delivered"), "{}: {kinds:?}", i["id"]);
    }
    eprintln!("failover: the follower led {took:?} after the kill");
}

#[tokio::test]
async fn a_paused_leader_pages_nothing_when_it_wakes_and_follows() {
    let Pair {
        pg: _pg,
        receiver,
        a,
        b,
        _dirs,
    } = Pair::start("", false).await;

    a.signal("STOP");
    wait_leading(&b, true, 25).await;
    let (s, _) = b.post("/api/v1/events", breaches(0..3, 0), None).await;
    assert_eq!(s, 200);
    until(10, "the new leader's pages", || {
        (receiver.delivered().len() == 3).then_some(())
    })
    .await;
    let before = receiver.requests();

    a.signal("CONT");
    let status = wait_leading(&a, false, 20).await;
    assert_eq!(status["leader"], "b", "{status}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.requests(),
        before,
        "the old leader woke up and paged: {:?}",
        receiver.got.lock().unwrap()
    );
    // It follows: the leader's incidents are on its state, its journal position keeps up.
    let state = a
        .wait_for("/api/v1/state", 10, |v| {
            v["incidents"].as_array().is_some_and(|i| i.len() == 3)
        })
        .await;
    assert_eq!(state["incidents"][0]["status"], "firing");
}

#[tokio::test]
async fn a_database_restart_under_load_loses_nothing_answered() {
    let Pair {
        mut pg,
        receiver: _receiver,
        a,
        b,
        _dirs,
    } = Pair::start("", false).await;

    let taken = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (url, http) = (b.url.clone(), b.http.clone());
        let (taken, refused, stop) = (taken.clone(), refused.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = format!(
                    r#"{{"type":"contact","id":"c-{n}","queue":"q-1","channel":"phone","event":"arrived","at":"{}"}}"#,
                    at(0)
                );
                let r = http
                    .post(format!("{url}/api/v1/events"))
                    .body(body)
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await;
                match r.map(|r| r.status().as_u16()) {
                    Ok(200) => taken.fetch_add(1, Ordering::Relaxed),
                    Ok(503) => refused.fetch_add(1, Ordering::Relaxed),
                    other => panic!("ingest answered {other:?}"),
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    until(10, "load going", || {
        (taken.load(Ordering::Relaxed) > 50).then_some(())
    })
    .await;
    pg.halt();
    until(15, "a 503 while the database is down", || {
        (refused.load(Ordering::Relaxed) > 0).then_some(())
    })
    .await;
    let (ready, _) = b.get_text("/readyz").await;
    assert_eq!(ready, 503);
    pg.resume();
    let before = taken.load(Ordering::Relaxed);
    until(20, "ingest taken again", || {
        (taken.load(Ordering::Relaxed) > before + 50).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();

    // Every event answered 200 is in the shared journal.
    let url = pg.url.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let journal = floorwatch::cluster::SharedJournal::new(url.parse().unwrap());
        let (mut pos, mut contacts) = (0, 0u64);
        loop {
            let rows = journal.after(pos).unwrap();
            let Some(last) = rows.last() else { break };
            pos = last.id;
            contacts += rows
                .iter()
                .flat_map(|r| r.lines.lines())
                .filter(|l| l.contains("\"type\":\"contact\""))
                .count() as u64;
        }
        contacts
    })
    .await
    .unwrap();
    assert_eq!(stored, taken.load(Ordering::Relaxed));
    // Both nodes are back.
    wait_leading(&b, false, 20).await;
    wait_leading(&a, true, 20).await;
}

#[tokio::test]
async fn a_board_on_a_follower_shows_a_breach_taken_by_the_leader() {
    let Pair {
        pg: _pg,
        receiver: _receiver,
        a,
        b,
        _dirs,
    } = Pair::start(
        "[live]\nframe_interval = \"100ms\"\nheartbeat = \"1s\"\n",
        false,
    )
    .await;

    let browser = browser::Browser::start().await;
    browser.client.goto(&b.url).await.unwrap();
    let (s, _) = a.post("/api/v1/events", breaches(7..8, 0), None).await;
    assert_eq!(s, 200);
    let started = Instant::now();
    browser
        .wait_until(
            10.0,
            "the breach on the follower's board",
            "const t = document.querySelector('.tile[data-queue=\"q-7\"]'); \
             const i = document.querySelectorAll('.incident').length; \
             return t ? [t.dataset.state, i] : null;",
            |v| v[0] == "red" && v[1].as_u64() >= Some(1),
        )
        .await;
    eprintln!(
        "breach on the leader to the follower's board: {:?}",
        started.elapsed()
    );
    browser.close().await;
}

#[tokio::test]
async fn a_leader_that_stops_hands_over_at_once() {
    let Pair {
        pg: _pg,
        receiver: _receiver,
        a,
        b,
        _dirs,
    } = Pair::start("", false).await;
    let stopped = Instant::now();
    let logs = a.log.clone();
    let status = a.stop();
    assert!(
        status.success(),
        "{status}: {}",
        logs.lock().unwrap().join("\n")
    );
    wait_leading(&b, true, 8).await;
    let took = stopped.elapsed();
    // Well inside the lease's 10 s: the leader let go and said so.
    assert!(took < Duration::from_secs(8), "{took:?}");
    eprintln!("graceful hand-over: {took:?}");
}
