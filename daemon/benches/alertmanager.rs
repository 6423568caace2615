//! Intake of Alertmanager-format alerts, measured (not asserted): `POST /api/v2/alerts` on the
//! real daemon on 127.0.0.1, batches of 256 alerts shaped as Prometheus sends them (five
//! labels, a summary, startsAt, endsAt, generatorURL), from four concurrent clients on the same
//! 2 cores as the daemon.
//!
//!   cargo bench -p floorwatch --bench alertmanager
//!
//! 10,000 distinct alerts (a large estate) are sent again and again with their end moved on,
//! as Prometheus re-sends firing alerts: every alert is judged and journaled. Bounded: 2,000
//! batches.

#[path = "common/daemon.rs"]
mod daemon;

use std::sync::Arc;
use std::time::Instant;

const CONFIG: &str = r#"
[daemon]
tick = "1s"
[daemon.limits]
max_body_bytes = 4194304
[[route]]
name = "estate"
scope = "service"
"#;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(intake());
}

async fn intake() {
    let d = daemon::start(CONFIG, &[]);
    let url = format!("{}/api/v2/alerts", d.url);
    let (batches, per, distinct) = (2_000usize, 256usize, 10_000usize);
    let now = chrono::Utc::now();
    let bodies: Vec<String> = (0..batches)
        .map(|b| {
            let ends = (now + chrono::Duration::seconds(240 + b as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let starts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let alerts: Vec<String> = (0..per)
                .map(|i| {
                    let n = (b * per + i) % distinct;
                    format!(
                        r#"{{"labels":{{"alertname":"HighLatency","instance":"host-{n}:9100","job":"crm","service":"svc-{}","severity":"warning"}},"annotations":{{"summary":"Latency above 500ms on host-{n}"}},"startsAt":"{starts}","endsAt":"{ends}","generatorURL":"http://prometheus:9090/graph?g0.expr=latency"}}"#,
                        n % 50
                    )
                })
                .collect();
            format!("[{}]", alerts.join(","))
        })
        .collect();
    let bytes: usize = bodies.iter().map(String::len).sum();
    let http = reqwest::Client::new();
    // Warm up: the first sight of each alert.
    for body in bodies.iter().take(distinct / per + 1) {
        let r = http.post(&url).body(body.clone()).send().await.unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }
    let bodies = Arc::new(tokio::sync::Mutex::new(bodies));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, bodies, url) = (http.clone(), bodies.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0usize;
            loop {
                let Some(body) = bodies.lock().await.pop() else {
                    break;
                };
                let r = http.post(&url).body(body).send().await.unwrap();
                assert!(r.status().is_success(), "{:?}", r.text().await);
                sent += per;
            }
            sent
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    let secs = began.elapsed().as_secs_f64();
    println!(
        "alertmanager intake: {sent} alerts ({} MB) in batches of {per} in {secs:.2} s: {:.0} alerts/s (daemon and four clients on the same 2 cores)",
        bytes / 1_000_000,
        sent as f64 / secs
    );
    let alerts: serde_json::Value = http
        .get(format!("{}/api/v2/alerts", d.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    println!(
        "alerts kept: {} (of {distinct} distinct)",
        alerts.as_array().map_or(0, Vec::len)
    );
}
