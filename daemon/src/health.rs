//! The daemon's own outward health: the heartbeat it sends to outside dead man's switches
//! (`[[heartbeat]]`), and every delivery target's recent record as the outbox reports it. Both
//! show on `/metrics`, in `/api/v1/state` and on the board's status line, so a dead receiver or
//! a dead daemon is seen by someone other than itself.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floorwatch_protocol::{LinkHealth, OutwardHealth, PageTarget};
use tracing::{info, warn};

use crate::config::{Millis, OutwardHeartbeat};
use crate::engine::calendar::ms_to_utc;
use crate::watch::Watch;

const HOUR: Millis = 3_600_000;
/// Attempts remembered per link, at most (an hour's worth at one a second).
const MAX_ATTEMPTS: usize = 3_600;

#[derive(Debug, Default)]
struct Record {
    last_ok: Option<Millis>,
    failing_since: Option<Millis>,
    last_error: Option<String>,
    /// (when, went through) over the last hour.
    attempts: VecDeque<(Millis, bool)>,
    /// Since start, for counters.
    total: u64,
    failures: u64,
}

impl Record {
    fn note(&mut self, at: Millis, result: Result<(), String>) {
        self.total += 1;
        match result {
            Ok(()) => {
                self.last_ok = Some(at);
                self.failing_since = None;
                self.last_error = None;
            }
            Err(e) => {
                self.failures += 1;
                self.failing_since.get_or_insert(at);
                self.last_error = Some(e);
            }
        }
        self.attempts.push_back((at, self.failing_since.is_none()));
        while self.attempts.len() > MAX_ATTEMPTS
            || self.attempts.front().is_some_and(|(t, _)| *t < at - HOUR)
        {
            self.attempts.pop_front();
        }
    }

    fn view(&self, name: &str, now: Millis) -> LinkHealth {
        let recent = self.attempts.iter().filter(|(t, _)| *t >= now - HOUR);
        let (mut attempts, mut failures) = (0, 0);
        for (_, ok) in recent {
            attempts += 1;
            failures += u32::from(!ok);
        }
        LinkHealth {
            name: name.to_string(),
            last_ok: self.last_ok.map(ms_to_utc),
            failing_since: self.failing_since.map(ms_to_utc),
            last_error: self.last_error.clone(),
            attempts_1h: attempts,
            failures_1h: failures,
        }
    }
}

/// Counters for `/metrics`: per link, attempts and failures since start, and the last success.
pub struct LinkCounters {
    pub name: String,
    pub total: u64,
    pub failures: u64,
    pub last_ok: Option<Millis>,
    pub failing: bool,
}

#[derive(Default)]
pub struct Health {
    heartbeats: Mutex<BTreeMap<String, Record>>,
    targets: Mutex<BTreeMap<PageTarget, Record>>,
}

impl Health {
    /// A ping went through or failed; whether the heartbeat was failing before it.
    pub fn heartbeat(&self, name: &str, at: Millis, result: Result<(), String>) -> bool {
        let mut h = self.heartbeats.lock().unwrap();
        let r = h.entry(name.to_string()).or_default();
        let was_failing = r.failing_since.is_some();
        r.note(at, result);
        was_failing
    }

    /// A delivery attempt to `target` (as policies name it) went through or failed.
    pub fn delivery(&self, target: &PageTarget, at: Millis, result: Result<(), String>) {
        let mut t = self.targets.lock().unwrap();
        t.entry(target.clone()).or_default().note(at, result);
    }

    /// Forgets heartbeats no longer configured (after a reload).
    pub fn keep_heartbeats(&self, names: &[&str]) {
        self.heartbeats
            .lock()
            .unwrap()
            .retain(|n, _| names.contains(&n.as_str()));
    }

    pub fn view(&self, now: Millis) -> OutwardHealth {
        fn list<K: std::fmt::Display>(
            m: &Mutex<BTreeMap<K, Record>>,
            now: Millis,
        ) -> Vec<LinkHealth> {
            m.lock()
                .unwrap()
                .iter()
                .map(|(n, r)| r.view(&n.to_string(), now))
                .collect()
        }
        OutwardHealth {
            heartbeats: list(&self.heartbeats, now),
            targets: list(&self.targets, now),
        }
    }

    /// Targets failing without a break since before `before`.
    pub fn failing_targets(&self, before: Millis) -> Vec<(PageTarget, Millis)> {
        self.targets
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(n, r)| {
                r.failing_since
                    .filter(|s| *s <= before)
                    .map(|s| (n.clone(), s))
            })
            .collect()
    }

    pub fn counters(&self) -> (Vec<LinkCounters>, Vec<LinkCounters>) {
        fn list<K: std::fmt::Display>(m: &Mutex<BTreeMap<K, Record>>) -> Vec<LinkCounters> {
            m.lock()
                .unwrap()
                .iter()
                .map(|(n, r)| LinkCounters {
                    name: n.to_string(),
                    total: r.total,
                    failures: r.failures,
                    last_ok: r.last_ok,
                    failing: r.failing_since.is_some(),
                })
                .collect()
        }
        (list(&self.heartbeats), list(&self.targets))
    }
}

/// Pings every `[[heartbeat]]` of the running configuration on its interval (the first at
/// once), each ping within its timeout, until the task is dropped. Reloads are picked up.
pub async fn run(watch: Arc<Watch>) {
    let client = reqwest::Client::builder()
        .user_agent("floorwatch")
        .build()
        .expect("an HTTP client");
    let mut due: BTreeMap<String, tokio::time::Instant> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let cfg = watch.config();
        let names: Vec<&str> = cfg.heartbeats.iter().map(|h| h.name.as_str()).collect();
        due.retain(|n, _| names.contains(&n.as_str()));
        watch.health.keep_heartbeats(&names);
        let now = tokio::time::Instant::now();
        for hb in &cfg.heartbeats {
            let next = due.entry(hb.name.clone()).or_insert(now);
            if *next > now {
                continue;
            }
            *next = now + Duration::from_millis(hb.interval as u64);
            let (client, hb, watch) = (client.clone(), hb.clone(), watch.clone());
            // Each ping on its own: a receiver that hangs holds up nothing but itself.
            tokio::spawn(async move {
                let result = ping(&client, &hb, &watch).await;
                if let Err(e) = &result {
                    warn!(heartbeat = %hb.name, "heartbeat failed: {e}");
                }
                let ok = result.is_ok();
                if watch.health.heartbeat(&hb.name, watch.now(), result) && ok {
                    info!(heartbeat = %hb.name, "heartbeat goes through again");
                }
            });
        }
    }
}

async fn ping(
    client: &reqwest::Client,
    hb: &OutwardHeartbeat,
    watch: &Watch,
) -> Result<(), String> {
    let req = if hb.post {
        let snap_open = watch.snapshot().incidents.len();
        let body = serde_json::json!({
            "source": "floorwatch",
            "status": if watch.is_healthy() { "ok" } else { "degraded" },
            "at": chrono::Utc::now().to_rfc3339(),
            "open_incidents": snap_open,
        });
        client.post(&hb.url).json(&body)
    } else {
        client.get(&hb.url)
    };
    let timeout = Duration::from_millis(hb.timeout as u64);
    match tokio::time::timeout(timeout, req.timeout(timeout).send()).await {
        Err(_) => Err(format!(
            "no answer within {}",
            crate::config::format_duration(hb.timeout)
        )),
        Ok(Err(e)) if e.is_timeout() => Err(format!(
            "no answer within {}",
            crate::config::format_duration(hb.timeout)
        )),
        Ok(Err(e)) => Err(format!("cannot reach {}: {e}", hb.url)),
        Ok(Ok(r)) if r.status().is_success() => Ok(()),
        Ok(Ok(r)) => Err(format!("{} answered {}", hb.url, r.status())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_fails_since_its_first_failure_and_counts_the_last_hour() {
        let h = Health::default();
        let t0 = 1_795_424_400_000;
        let hook = PageTarget::new(floorwatch_protocol::TargetKind::Webhook, "a");
        h.delivery(&hook, t0, Ok(()));
        h.delivery(&hook, t0 + 60_000, Err("503".into()));
        h.delivery(&hook, t0 + 120_000, Err("503".into()));
        let v = h.view(t0 + 120_000);
        let a = &v.targets[0];
        assert_eq!(a.failing_since, Some(ms_to_utc(t0 + 60_000)));
        assert_eq!((a.attempts_1h, a.failures_1h), (3, 2));
        assert_eq!(a.last_error.as_deref(), Some("503"));
        assert_eq!(h.failing_targets(t0 + 60_000).len(), 1);
        assert!(h.failing_targets(t0 + 59_999).is_empty());
        // An hour on, the first two have left the hour.
        let v = h.view(t0 + HOUR + 90_000);
        assert_eq!((v.targets[0].attempts_1h, v.targets[0].failures_1h), (1, 1));
        h.delivery(&hook, t0 + HOUR + 100_000, Ok(()));
        assert_eq!(h.view(t0 + HOUR + 100_000).targets[0].failing_since, None);
    }
}
