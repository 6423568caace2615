//! The tests a configuration carries (`[[test]]` in alerts.toml), in the spirit of
//! `promtool test rules`: these events, fed through the engine on a virtual clock, must open
//! exactly these incidents.

use std::collections::BTreeMap;
use std::sync::Arc;

use floorwatch_protocol::{Incident, IncidentStatus};

use crate::config::{Config, ConfigTest};
use crate::engine::{Effect, Engine};
use crate::ingest::replay::{Replay, first_time};

pub struct TestOutcome {
    pub name: String,
    pub origin: String,
    pub failures: Vec<String>,
}

pub fn run_tests(cfg: &Arc<Config>) -> Vec<TestOutcome> {
    cfg.tests.iter().map(|t| run_test(cfg, t)).collect()
}

/// Feeds a trace through a fresh engine and returns every incident it opened, in its final state.
pub fn incidents_of(
    cfg: &Arc<Config>,
    events: &str,
    until: Option<i64>,
) -> (Vec<Incident>, Replay) {
    let start = first_time(events).unwrap_or(0);
    let mut engine = Engine::new(cfg.clone(), start);
    let mut replay = Replay::new(cfg.daemon.tick);
    let mut fx = Vec::new();
    let mut incidents: BTreeMap<u64, Incident> = BTreeMap::new();
    let mut collect = |fx: &mut Vec<Effect>| {
        for f in fx.drain(..) {
            if let Effect::Incident(i) = f {
                incidents.insert(i.id, *i);
            }
        }
    };
    replay.feed_text(&mut engine, events, &mut fx, &mut collect);
    let end = until.unwrap_or(engine.now() + cfg.daemon.tick);
    replay.run_until(&mut engine, end, &mut fx);
    replay.finish(&mut engine, &mut fx);
    collect(&mut fx);
    (incidents.into_values().collect(), replay)
}

fn run_test(cfg: &Arc<Config>, t: &ConfigTest) -> TestOutcome {
    let (incidents, replay) = incidents_of(cfg, &t.events, t.at);
    let mut failures: Vec<String> = replay
        .report
        .refused
        .iter()
        .map(|r| {
            let field = r
                .field
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            format!("event on line {} refused{field}: {}", r.line, r.error)
        })
        .collect();
    let mut matched = vec![false; incidents.len()];
    for e in &t.expect {
        let found = incidents
            .iter()
            .position(|i| i.rule == e.rule && i.scope == e.scope);
        let Some(k) = found else {
            failures.push(format!(
                "expected an incident of rule \"{}\" on \"{}\"; none opened",
                e.rule, e.scope
            ));
            continue;
        };
        matched[k] = true;
        let i = &incidents[k];
        if let Some(s) = e.severity
            && i.severity != s
        {
            failures.push(format!(
                "incident of \"{}\" on \"{}\": expected severity {s}, got {}",
                e.rule, e.scope, i.severity
            ));
        }
        if let Some(open) = e.open
            && open != (i.status != IncidentStatus::Resolved)
        {
            failures.push(format!(
                "incident of \"{}\" on \"{}\": expected {}, got {}",
                e.rule,
                e.scope,
                if open { "open" } else { "resolved" },
                i.status
            ));
        }
    }
    for (i, m) in incidents.iter().zip(matched) {
        if !m {
            failures.push(format!(
                "unexpected incident of rule \"{}\" on \"{}\" ({}): {}",
                i.rule, i.scope, i.severity, i.title
            ));
        }
    }
    TestOutcome {
        name: t.name.clone(),
        origin: t.origin.clone(),
        failures,
    }
}
