//! `[[route]]`: alerts from Prometheus, Grafana or Alertmanager become incidents. A route's label
//! matchers choose which alerts it takes (the first route that matches, in file order); a label
//! gives the severity (mapped to info..crisis) and the scope (a queue, a service); an annotation
//! gives the title. Its alerts on one scope are one incident, at the worst severity among them,
//! which resolves when the last of them ends. Everything else (escalation, silences,
//! maintenance, grouping into situations) is as for `[[rule]]`s.
//!
//! ```toml
//! [[route]]
//! name = "telephony"
//! matchers = ['service=~"sip|pbx"', 'severity!="none"']
//! escalation = "it-oncall"
//! scope = "queue"          # the label naming the scope; the route's name when absent
//! severity_label = "severity"
//! severities = { page = "crisis" }
//! title = "summary"        # the annotation holding the title
//! ```

use floorwatch_protocol::Severity;

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::parse::{Cx, Tab};
use crate::engine::{Detail, Figures};
use crate::matchers::{self, Compiled};
use crate::words::Said;

/// The keys a `[[route]]` has beyond a rule's `name`, `description`, `escalation`, `cooldown`,
/// `active` and `runbook`.
pub(crate) const SPEC: KindSpec = KindSpec {
    name: "alert",
    keys: &[&[
        "matchers",
        "scope",
        "severity_label",
        "severities",
        "severity",
        "title",
    ]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "alerts";

/// How a route reads the alerts it takes.
#[derive(Debug, Clone)]
pub struct AlertRoute {
    /// All must hold for the route to take an alert; none: it takes every alert.
    pub matchers: Vec<Compiled>,
    /// The label naming the incident's scope; the route's name when absent or unset.
    pub scope_label: Option<String>,
    /// The label giving the severity.
    pub severity_label: String,
    /// Label values mapped to severities, beyond the built-in ones.
    pub severities: Vec<(String, Severity)>,
    /// The severity when the label is missing or maps to nothing.
    pub severity: Severity,
    /// The annotation holding the title (`<name>_zh` holds it in Chinese, if given).
    pub title: String,
}

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    let mut ms = Vec::new();
    let texts = cx.strings(tab, "matchers");
    if texts.len() > matchers::MAX_MATCHERS {
        cx.err(
            &tab.span,
            format!(
                "{}: {} matchers; the limit is {}",
                tab.what,
                texts.len(),
                matchers::MAX_MATCHERS
            ),
        );
    }
    for (text, span) in texts {
        match matchers::parse(&text).and_then(|m| Compiled::new(&m)) {
            Ok(m) => ms.push(m),
            Err(e) => cx.err(&span, format!("`matchers` in {}: {e}", tab.what)),
        }
    }
    let label = |cx: &mut Cx, key: &str| {
        let (s, span) = cx.string(tab, key)?;
        match matchers::check_name(&s) {
            Ok(()) => Some(s),
            Err(e) => {
                cx.err(&span, format!("`{key}` in {}: {e}", tab.what));
                None
            }
        }
    };
    let scope_label = label(cx, "scope");
    let severity_label = label(cx, "severity_label").unwrap_or_else(|| "severity".into());
    let title = label(cx, "title").unwrap_or_else(|| "summary".into());
    let words = Severity::ALL.map(|s| s.as_str()).join(", ");
    let mut severities = Vec::new();
    for (value, word, span) in cx.string_map(tab, "severities") {
        match Severity::parse(&word) {
            Some(s) => severities.push((value, s)),
            None => cx.err(
                &span,
                format!(
                    "`severities` in {}: \"{value}\" maps to unknown severity \"{word}\"; expected one of: {words}",
                    tab.what
                ),
            ),
        }
    }
    Some(RuleKind::Alert(AlertRoute {
        matchers: ms,
        scope_label,
        severity_label,
        severities,
        severity: super::severity(cx, tab, Severity::Warning),
        title,
    }))
}

/// A label set as the engine keeps an alert's: sorted by name.
pub type Labels = [(Box<str>, Box<str>)];

/// The value of `name` in sorted `labels`.
pub fn label<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
    labels
        .binary_search_by(|(k, _)| (**k).cmp(name))
        .ok()
        .map(|i| &*labels[i].1)
}

impl AlertRoute {
    /// Whether the route takes an alert with these labels.
    pub fn takes(&self, labels: &Labels) -> bool {
        matchers::all_match(&self.matchers, |n| label(labels, n))
    }

    /// The alert's severity: its label mapped by `severities`, then Floorwatch's own words and
    /// Prometheus's usual ones (`page` and `error` are critical, `none` info).
    pub fn severity_of(&self, labels: &Labels) -> Severity {
        let Some(v) = label(labels, &self.severity_label) else {
            return self.severity;
        };
        if let Some((_, s)) = self.severities.iter().find(|(k, _)| k == v) {
            return *s;
        }
        let v = v.to_ascii_lowercase();
        Severity::parse(&v)
            .or(match v.as_str() {
                "page" | "error" | "high" => Some(Severity::Critical),
                "none" | "low" => Some(Severity::Info),
                "medium" => Some(Severity::Warning),
                _ => None,
            })
            .unwrap_or(self.severity)
    }

    /// The incident's scope for an alert: its scope label's value, or the route's name.
    pub fn scope_of<'a>(&self, route: &'a str, labels: &'a Labels) -> &'a str {
        self.scope_label
            .as_deref()
            .and_then(|l| label(labels, l))
            .filter(|v| !v.trim().is_empty())
            .unwrap_or(route)
    }

    /// The alert's title: its title annotation (and `<title>_zh`), else its name and scope.
    pub fn title_of(&self, labels: &Labels, annotations: &Labels, scope: &str) -> Said {
        let en = label(annotations, &self.title)
            .or_else(|| label(annotations, "description"))
            .map(str::to_string)
            .unwrap_or_else(|| {
                let name = label(labels, "alertname").unwrap_or("alert");
                format!("{scope}: {name}")
            });
        let zh = label(annotations, &format!("{}_zh", self.title))
            .map(str::to_string)
            .unwrap_or_else(|| en.clone());
        Said::new(en, zh)
    }

    /// The scope's alerts judged: firing at the worst severity among those still firing.
    pub fn judge(&self, firing: &[Severity]) -> Verdict {
        match firing.iter().max() {
            Some(worst) => Verdict {
                level: Some(*worst),
                clear: false,
                badness: firing.len() as f64,
            },
            None => Verdict::quiet(),
        }
    }

    /// Worded: the worst alert's title, and how many more fire with it.
    pub fn describe(&self, worst: Option<&Said>, firing: usize, scope: &str) -> Detail {
        let figures = Figures(vec![(PEAK, firing as f64)]);
        let Some(title) = worst else {
            return Detail {
                figures,
                title: Said::new(
                    format!("{scope}: every alert has ended"),
                    format!("{scope}：告警均已结束"),
                ),
                summary: format!("{scope}: no alert of this route fires any more"),
            };
        };
        let (en, zh) = match firing {
            0 | 1 => (title.en.clone(), title.zh.clone()),
            n => (
                format!("{} (+{} more)", title.en, n - 1),
                format!("{}（另有 {} 条）", title.zh, n - 1),
            ),
        };
        Detail {
            figures,
            summary: format!("{firing} alert(s) firing on {scope}: {en}"),
            title: Said::new(en, zh),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(Box<str>, Box<str>)> {
        let mut v: Vec<_> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        v.sort();
        v
    }

    fn route() -> AlertRoute {
        AlertRoute {
            matchers: vec![
                Compiled::new(&matchers::parse(r#"service=~"sip|pbx""#).unwrap()).unwrap(),
            ],
            scope_label: Some("queue".into()),
            severity_label: "severity".into(),
            severities: vec![("P1".into(), Severity::Crisis)],
            severity: Severity::Warning,
            title: "summary".into(),
        }
    }

    #[test]
    fn a_route_reads_its_alerts_labels() {
        let r = route();
        let l = labels(&[
            ("alertname", "SipDown"),
            ("service", "sip"),
            ("queue", "phone-a"),
            ("severity", "P1"),
        ]);
        assert!(r.takes(&l));
        assert!(!r.takes(&labels(&[("service", "crm")])));
        assert_eq!(r.severity_of(&l), Severity::Crisis);
        assert_eq!(
            r.severity_of(&labels(&[("severity", "page")])),
            Severity::Critical
        );
        assert_eq!(
            r.severity_of(&labels(&[("severity", "odd")])),
            Severity::Warning
        );
        assert_eq!(r.scope_of("telephony", &l), "phone-a");
        assert_eq!(r.scope_of("telephony", &labels(&[])), "telephony");
        let t = r.title_of(
            &l,
            &labels(&[("summary", "SIP trunk down"), ("summary_zh", "中继中断")]),
            "phone-a",
        );
        assert_eq!(
            (t.en.as_str(), t.zh.as_str()),
            ("SIP trunk down", "中继中断")
        );
        assert_eq!(
            r.title_of(&l, &labels(&[]), "phone-a").en,
            "phone-a: SipDown"
        );
    }

    #[test]
    fn the_worst_firing_alert_sets_the_level() {
        let r = route();
        let v = r.judge(&[Severity::Warning, Severity::Crisis]);
        assert_eq!(v.level, Some(Severity::Crisis));
        assert!(r.judge(&[]).clear);
        let d = r.describe(Some(&Said::both("SIP down")), 3, "phone-a");
        assert_eq!(d.title.en, "SIP down (+2 more)");
    }
}
