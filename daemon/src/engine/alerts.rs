//! Alerts from Prometheus, Grafana and Alertmanager (`POST /api/v2/alerts`, the Alertmanager
//! webhook, or an `alert` event). Each is kept by its fingerprint until its end passes, so a
//! re-send changes nothing but the end; the first `[[route]]` that takes it decides its
//! severity, scope and title (`rules::alert_route`). A route's alerts on one scope are one
//! incident, judged again whenever one of them comes, changes or ends.
//!
//! Bounded: at most `MAX_ALERTS` alerts at a time; a new one past that is refused.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use floorwatch_protocol::Severity;
use rustc_hash::FxHashMap;

use super::*;
use crate::rules::alert_route::{Labels, label};
use crate::words::Said;

/// The most alerts kept at a time (firing, not yet ended).
pub const MAX_ALERTS: usize = 20_000;
/// The most scopes alerts may name (they are kept for the life of the daemon).
pub const MAX_ALERT_SCOPES: usize = 20_000;

/// Label (or annotation) pairs as they arrived, sorted by name, names unique.
pub type Pairs<'a> = [(Cow<'a, str>, Cow<'a, str>)];

/// An alert as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct AlertIn<'a> {
    pub at: Millis,
    pub labels: &'a Pairs<'a>,
    pub annotations: &'a Pairs<'a>,
    pub starts_at: Millis,
    /// `None`: until it is resolved.
    pub ends_at: Option<Millis>,
    pub generator_url: Option<&'a str>,
}

/// An alert the engine keeps.
#[derive(Debug, Clone)]
pub struct Alert {
    pub fingerprint: u64,
    pub rule: u16,
    pub scope: u32,
    pub labels: Box<Labels>,
    pub annotations: Box<Labels>,
    pub severity: Severity,
    pub title: Said,
    pub starts_at: Millis,
    pub ends_at: Option<Millis>,
    pub updated_at: Millis,
    pub generator_url: Option<Box<str>>,
}

impl Alert {
    pub fn label(&self, name: &str) -> Option<&str> {
        label(&self.labels, name)
    }
}

/// Every alert firing now.
#[derive(Debug, Default)]
pub struct Alerts {
    pub by_fingerprint: FxHashMap<u64, Alert>,
    /// Per route and scope: its alerts' fingerprints.
    groups: BTreeMap<(u16, u32), BTreeSet<u64>>,
    /// Groups to judge again.
    dirty: BTreeSet<(u16, u32)>,
    /// The soonest an alert ends.
    next_end: Option<Millis>,
}

fn boxed(pairs: &Pairs) -> Box<Labels> {
    pairs
        .iter()
        .map(|(k, v)| ((**k).into(), (**v).into()))
        .collect()
}

fn same(kept: &Labels, pairs: &Pairs) -> bool {
    kept.len() == pairs.len()
        && kept
            .iter()
            .zip(pairs)
            .all(|((k, v), (k2, v2))| **k == **k2 && **v == **v2)
}

impl Alerts {
    fn note_end(&mut self, end: Option<Millis>) {
        if let Some(end) = end {
            self.next_end = Some(self.next_end.map_or(end, |n| n.min(end)));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}

impl Engine {
    /// Takes an alert: by its fingerprint if it is known (a re-send), else through the first
    /// route that takes it. The configuration is fixed for an engine's life (a reload makes a
    /// new engine), so a known alert keeps its route.
    pub(super) fn alert(&mut self, a: &AlertIn) -> Result<Applied, Refused> {
        let fingerprint = crate::matchers::fingerprint(a.labels.iter().map(|(k, v)| (&**k, &**v)));
        if let Some(old) = self.alerts.by_fingerprint.get_mut(&fingerprint) {
            // A re-send: its end (and perhaps its words) move; unchanged, it is a duplicate.
            old.updated_at = a.at;
            let reworded = !same(&old.annotations, a.annotations);
            if old.ends_at == a.ends_at && !reworded {
                return Ok(Applied::Duplicate);
            }
            old.ends_at = a.ends_at;
            let group = (old.rule, old.scope);
            // A moved end changes nothing now: `expire_alerts` watches the ends (an end in the
            // past is acted on at this same settle). New words may change the title.
            if reworded {
                old.annotations = boxed(a.annotations);
                if let RuleKind::Alert(route) = &self.cfg.rules[old.rule as usize].kind {
                    old.title = route.title_of(
                        &old.labels,
                        &old.annotations,
                        &self.scopes[old.scope as usize],
                    );
                }
                self.alerts.dirty.insert(group);
            }
            self.alerts.note_end(a.ends_at);
            return Ok(Applied::New);
        }
        let cfg = self.cfg.clone();
        let kept = boxed(a.labels);
        let route = cfg
            .rules
            .iter()
            .enumerate()
            .find_map(|(i, r)| match &r.kind {
                RuleKind::Alert(route) if route.takes(&kept) => Some((i as u16, &r.name, route)),
                _ => None,
            });
        let Some((rule, name, route)) = route else {
            let routes: Vec<&str> = cfg
                .rules
                .iter()
                .filter(|r| matches!(r.kind, RuleKind::Alert(_)))
                .map(|r| r.name.as_str())
                .collect();
            let why = if routes.is_empty() {
                "alerts.toml has no [[route]] to take alerts".to_string()
            } else {
                format!("no [[route]] takes it (routes: {})", routes.join(", "))
            };
            return Err(refuse(Some("labels"), why));
        };
        let ended = a.ends_at.is_some_and(|e| e <= self.now.max(a.at));
        if ended {
            // The end of an alert never seen (or already gone): nothing to keep.
            return Ok(Applied::New);
        }
        if self.alerts.by_fingerprint.len() >= MAX_ALERTS {
            return Err(refuse(
                Some("labels"),
                format!(
                    "new alert refused: {MAX_ALERTS} alerts fire already, the most kept at a time"
                ),
            ));
        }
        let scope_name = route.scope_of(name, &kept).to_string();
        crate::limits::check_len("scope", &scope_name, crate::limits::MAX_NAME_BYTES)
            .map_err(|e| refuse(Some("labels"), format!("the route's scope label: {e}")))?;
        if !self.scope_ix.contains_key(scope_name.as_str()) && self.scopes.len() >= MAX_ALERT_SCOPES
        {
            return Err(refuse(
                Some("labels"),
                format!(
                    "new scope \"{scope_name}\" refused: {MAX_ALERT_SCOPES} scopes are known, the most kept"
                ),
            ));
        }
        let scope = self.scope(&scope_name);
        let annotations = boxed(a.annotations);
        let alert = Alert {
            fingerprint,
            rule,
            scope,
            severity: route.severity_of(&kept),
            title: route.title_of(&kept, &annotations, &scope_name),
            labels: kept,
            annotations,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            updated_at: a.at,
            generator_url: a.generator_url.map(Into::into),
        };
        let alerts = &mut self.alerts;
        alerts.note_end(a.ends_at);
        alerts.by_fingerprint.insert(fingerprint, alert);
        alerts
            .groups
            .entry((rule, scope))
            .or_default()
            .insert(fingerprint);
        alerts.dirty.insert((rule, scope));
        Ok(Applied::New)
    }

    fn drop_alert(&mut self, fingerprint: u64, rule: u16, scope: u32) {
        self.alerts.by_fingerprint.remove(&fingerprint);
        if let Some(g) = self.alerts.groups.get_mut(&(rule, scope)) {
            g.remove(&fingerprint);
        }
        self.alerts.dirty.insert((rule, scope));
    }

    /// Ends the alerts whose end has passed.
    pub(super) fn expire_alerts(&mut self) {
        let now = self.now;
        if self.alerts.next_end.is_none_or(|n| n > now) {
            return;
        }
        let ended: Vec<(u64, u16, u32)> = self
            .alerts
            .by_fingerprint
            .values()
            .filter(|a| a.ends_at.is_some_and(|e| e <= now))
            .map(|a| (a.fingerprint, a.rule, a.scope))
            .collect();
        for (fp, rule, scope) in ended {
            self.drop_alert(fp, rule, scope);
        }
        self.alerts.next_end = self
            .alerts
            .by_fingerprint
            .values()
            .filter_map(|a| a.ends_at)
            .min();
    }

    /// Judges the routes' scopes whose alerts changed.
    pub(super) fn evaluate_alerts(&mut self, fx: &mut Vec<Effect>) {
        self.expire_alerts();
        let cfg = self.cfg.clone();
        for (rule, scope) in std::mem::take(&mut self.alerts.dirty) {
            let RuleKind::Alert(route) = &cfg.rules[rule as usize].kind else {
                continue;
            };
            let (worst, severities) = {
                let firing: Vec<&Alert> = self
                    .alerts
                    .groups
                    .get(&(rule, scope))
                    .into_iter()
                    .flatten()
                    .filter_map(|fp| self.alerts.by_fingerprint.get(fp))
                    .collect();
                // The worst first; among equals, the earliest.
                let worst = firing
                    .iter()
                    .max_by_key(|a| (a.severity, std::cmp::Reverse(a.starts_at)))
                    .map(|a| (a.title.clone(), a.labels.clone()));
                let severities: Vec<Severity> = firing.iter().map(|a| a.severity).collect();
                (worst, severities)
            };
            let n = severities.len();
            if n == 0 {
                self.alerts.groups.remove(&(rule, scope));
                if !self.busy(rule, scope) {
                    continue;
                }
            }
            let v = if self.in_season(&cfg.rules[rule as usize]) {
                route.judge(&severities)
            } else {
                crate::rules::Verdict::quiet()
            };
            let scope_name = self.scopes[scope as usize].clone();
            let describe = || route.describe(worst.as_ref().map(|w| &w.0), n, &scope_name);
            let mut obs = Observation::new(v, &describe);
            obs.labels = worst.as_ref().map(|w| &*w.1);
            self.step(rule, scope, &scope_name, Some(&obs), fx);
        }
    }

    /// The alerts firing now, for the Alertmanager API.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.by_fingerprint.values()
    }

    /// The open incident of a route on a scope, if any.
    pub fn alert_incident(&self, rule: u16, scope: u32) -> Option<u64> {
        match self.instances.get(&(rule, scope))?.phase {
            incidents::Phase::Firing { id, .. } => Some(id),
            _ => None,
        }
    }

    /// A scope's name.
    pub fn scope_name(&self, scope: u32) -> &str {
        &self.scopes[scope as usize]
    }
}
