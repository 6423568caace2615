//! Prometheus metrics: the daemon's own health and every queue's contact-center figures, so
//! Grafana can chart the floor next to the daemon.

use std::sync::atomic::Ordering;

use floorwatch_protocol::Severity;
use metrics::{counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::watch::Watch;

/// Installs the global Prometheus recorder (once per process).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    Ok(PrometheusBuilder::new().install_recorder()?)
}

/// Sets the gauges from the current state; called on each scrape so figures are never stale.
pub fn record_state(watch: &Watch) {
    let snap = watch.snapshot();
    for q in &snap.queues {
        let name = q.queue.clone();
        let set = |metric: &'static str, v: Option<f64>| {
            if let Some(v) = v {
                gauge!(metric, "queue" => name.clone()).set(v);
            }
        };
        set("floorwatch_queue_waiting", Some(f64::from(q.waiting)));
        set(
            "floorwatch_queue_longest_wait_seconds",
            Some(q.longest_wait_s),
        );
        set("floorwatch_queue_service_level_ratio", q.service_level);
        set(
            "floorwatch_queue_service_level_target_ratio",
            Some(q.service_level_target),
        );
        set("floorwatch_queue_asa_seconds", q.asa_s);
        set("floorwatch_queue_abandonment_ratio", q.abandonment_rate);
        set("floorwatch_queue_aht_seconds", q.aht_s);
        set(
            "floorwatch_queue_agents_available",
            q.agents_available.map(f64::from),
        );
        set("floorwatch_queue_agents_busy", q.agents_busy.map(f64::from));
        set(
            "floorwatch_queue_agents_required",
            q.agents_required.map(f64::from),
        );
        set("floorwatch_queue_offered", Some(f64::from(q.offered)));
        set(
            "floorwatch_queue_open_contacts",
            Some(f64::from(q.open_contacts)),
        );
    }
    for s in Severity::ALL {
        // Drills are rehearsals: kept out of the figures.
        let n = snap
            .incidents
            .iter()
            .filter(|i| i.severity == s && !i.drill)
            .count();
        gauge!("floorwatch_open_incidents", "severity" => s.as_str()).set(n as f64);
    }
    let st = &watch.stats;
    counter!("floorwatch_events_total", "outcome" => "accepted")
        .absolute(st.accepted.load(Ordering::Relaxed));
    counter!("floorwatch_events_total", "outcome" => "duplicate")
        .absolute(st.duplicates.load(Ordering::Relaxed));
    counter!("floorwatch_events_total", "outcome" => "refused")
        .absolute(st.refused.load(Ordering::Relaxed));
    if let Ok(dead) = watch.deliveries(
        Some(floorwatch_protocol::DeliveryStatus::Dead),
        None,
        100_000,
    ) {
        gauge!("floorwatch_dead_letters").set(dead.len() as f64);
    }
    let (beats, targets) = watch.health.counters();
    for (kind, links) in [("heartbeat", beats), ("target", targets)] {
        for l in links {
            let name = l.name;
            counter!("floorwatch_link_attempts_total", "kind" => kind, "name" => name.clone())
                .absolute(l.total);
            counter!("floorwatch_link_failures_total", "kind" => kind, "name" => name.clone())
                .absolute(l.failures);
            gauge!("floorwatch_link_failing", "kind" => kind, "name" => name.clone())
                .set(if l.failing { 1.0 } else { 0.0 });
            if let Some(t) = l.last_ok {
                gauge!("floorwatch_link_last_success_timestamp_seconds", "kind" => kind, "name" => name)
                    .set(t as f64 / 1000.0);
            }
        }
    }
    gauge!("floorwatch_healthy").set(if watch.is_healthy() { 1.0 } else { 0.0 });
    gauge!("floorwatch_open_contacts").set(watch.open_contacts() as f64);
}
