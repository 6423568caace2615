//! The labels of a simulated trace: what was injected when, whether a good alerting
//! configuration should page for it, and on which scopes. `floorwatch simulate` writes them
//! beside the trace (`w.ndjson` -> `w.labels.json`); `floorwatch backtest` reads them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Millis;

/// What a label (and the injection behind it) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Arrivals x3 and complaints x8 (mostly about the network).
    Outage,
    /// A queue loses 35-50% of its agents, unplanned; demand unchanged.
    StaffingDrop,
    /// One complaint category x20 for 40 minutes; contact traffic normal.
    ComplaintWave,
    /// The e-mail agents are gone for hours.
    EmailBacklog,
    /// The ACD's feed for one phone queue stops (no readings, no contact events) while the
    /// floor works on as usual.
    FeedOutage,
    /// A planned shift change: agents drop 40% while arrivals fall as much.
    ShiftChange,
    /// A planned campaign: arrivals +60% with staff added to match.
    Campaign,
    /// A public holiday: a weekday with little traffic and few agents.
    Holiday,
    /// The normal night.
    QuietNight,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Outage,
        Kind::StaffingDrop,
        Kind::ComplaintWave,
        Kind::EmailBacklog,
        Kind::FeedOutage,
        Kind::ShiftChange,
        Kind::Campaign,
        Kind::Holiday,
        Kind::QuietNight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Outage => "outage",
            Kind::StaffingDrop => "staffing-drop",
            Kind::ComplaintWave => "complaint-wave",
            Kind::EmailBacklog => "email-backlog",
            Kind::FeedOutage => "feed-outage",
            Kind::ShiftChange => "shift-change",
            Kind::Campaign => "campaign",
            Kind::Holiday => "holiday",
            Kind::QuietNight => "quiet-night",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A crisis a good configuration pages for, or a hard negative it must stay quiet through.
    pub fn expect(self) -> Expect {
        match self {
            Kind::Outage
            | Kind::StaffingDrop
            | Kind::ComplaintWave
            | Kind::EmailBacklog
            | Kind::FeedOutage => Expect::Page,
            _ => Expect::Quiet,
        }
    }

    pub fn class(self) -> Class {
        match self {
            Kind::ComplaintWave => Class::Complaints,
            Kind::EmailBacklog => Class::Email,
            Kind::FeedOutage => Class::Feed,
            _ => Class::Queue,
        }
    }
}

/// Which standard a label is about: its delay target differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    Queue,
    Complaints,
    Email,
    /// A source gone silent: from its last event to the page.
    Feed,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Queue, Class::Complaints, Class::Email, Class::Feed];

    /// How soon after the cause a page should come.
    pub fn delay_target(self) -> Millis {
        match self {
            Class::Queue => 2 * 60_000,
            Class::Complaints => 5 * 60_000,
            Class::Email => 30 * 60_000,
            Class::Feed => 3 * 60_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Queue => "queue",
            Class::Complaints => "complaints",
            Class::Email => "email",
            Class::Feed => "feed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    Page,
    Quiet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    pub kind: Kind,
    pub class: Class,
    pub expect: Expect,
    /// When the injected cause starts.
    pub from: DateTime<Utc>,
    /// When its effects are over (for an e-mail backlog: the cause's end plus the 4-hour reply
    /// standard, when its late replies breach).
    pub to: DateTime<Utc>,
    /// Queue names, or complaint categories and keywords; empty: any scope.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Label {
    pub fn from_ms(&self) -> Millis {
        self.from.timestamp_millis()
    }

    pub fn to_ms(&self) -> Millis {
        self.to.timestamp_millis()
    }

    /// Whether an incident's scope is one of the label's: equal to a label scope, or a complaint
    /// group of it (`category:billing`, `keyword:outage` for `billing`, `outage`); any scope
    /// when the label names none.
    pub fn covers_scope(&self, scope: &str) -> bool {
        self.scopes.is_empty()
            || self
                .scopes
                .iter()
                .any(|s| scope == s || scope.split_once(':').is_some_and(|(_, rest)| rest == s))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub labels: Vec<Label>,
}

impl Labels {
    pub fn read(path: &Path) -> anyhow::Result<Labels> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the labels {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a labels file", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("labels serialise");
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the labels {}", path.display()))
    }
}

/// Where the labels of a trace live: `w.ndjson` -> `w.labels.json`, beside it.
pub fn labels_path(trace: &Path) -> PathBuf {
    let stem = trace
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    trace.with_file_name(format!("{stem}.labels.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_path_sits_beside_the_trace() {
        assert_eq!(
            labels_path(Path::new("/tmp/w.ndjson")),
            Path::new("/tmp/w.labels.json")
        );
        assert_eq!(labels_path(Path::new("w")), Path::new("w.labels.json"));
    }

    #[test]
    fn scopes_match_queues_and_complaint_groups() {
        let l = Label {
            name: "wave-1".into(),
            kind: Kind::ComplaintWave,
            class: Class::Complaints,
            expect: Expect::Page,
            from: DateTime::from_timestamp_millis(0).unwrap(),
            to: DateTime::from_timestamp_millis(1).unwrap(),
            scopes: vec!["billing".into(), "phone-general".into()],
        };
        assert!(l.covers_scope("category:billing"));
        assert!(l.covers_scope("phone-general"));
        assert!(!l.covers_scope("category:network"));
        assert!(!l.covers_scope("phone-billing"));
        let json = serde_json::to_string(&Labels { labels: vec![l] }).unwrap();
        assert!(json.contains(r#""kind":"complaint-wave","class":"complaints","expect":"page""#));
    }
}
