//! Rule kinds. Each kind has a module of its own holding everything about it: its keys in
//! alerts.toml, its parsing (errors located by the shared reader in `config::parse`), how it
//! judges what the engine hands it (a `Verdict`) and how it words that (a `Detail`).
//!
//! Adding a kind: a module here, a variant of `RuleKind`, its entry in `KINDS`, and the one
//! place in the engine that feeds it its figures.

pub mod alert_route;
pub mod burn_rate;
pub mod complaint_deadline;
pub mod complaint_spike;
pub mod feed_silence;
pub mod predicted;
pub mod response_time;
pub mod threshold;

use floorwatch_protocol::{Metric, Severity};

use crate::config::parse::{Cx, Tab};
use crate::config::{Millis, ScheduleSpec};
pub use alert_route::AlertRoute;
pub use burn_rate::BurnRule;
pub use complaint_deadline::DeadlineRule;
pub use complaint_spike::{GroupBy, SpikeRule};
pub use feed_silence::SilenceRule;
pub use predicted::ForecastRule;
pub use response_time::ResponseRule;
pub use threshold::{ThresholdRule, Thresholds};

/// What a rule watches and how it decides, by kind.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// `queue_depth`, `longest_wait`, `service_level`, `metric`.
    Threshold(ThresholdRule),
    ResponseTime(ResponseRule),
    BurnRate(BurnRule),
    Predicted(ForecastRule),
    FeedSilence(SilenceRule),
    ComplaintSpike(SpikeRule),
    ComplaintDeadline(DeadlineRule),
    /// A `[[route]]`: alerts from Prometheus, Grafana or Alertmanager.
    Alert(AlertRoute),
}

/// One reading judged: how bad it is and whether it counts towards clearing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The worst severity the reading reaches; `None` when not breaching.
    pub level: Option<Severity>,
    /// Back past the clear level (hysteresis): counts towards clearing.
    pub clear: bool,
    /// How bad it is, in a direction where larger is worse (for tracking the peak).
    pub badness: f64,
}

impl Verdict {
    /// Not breaching, and clear.
    pub fn quiet() -> Self {
        Verdict {
            level: None,
            clear: true,
            badness: f64::NEG_INFINITY,
        }
    }
}

/// What parsing a kind may look up in the rest of the file.
pub(crate) struct Context<'a> {
    pub schedules: &'a [ScheduleSpec],
}

/// A kind as written in alerts.toml: its name, the keys it adds to the common ones (in groups,
/// so kinds can share one), and its parser.
pub(crate) struct KindSpec {
    pub name: &'static str,
    pub keys: &'static [&'static [&'static str]],
    pub parse: fn(&mut Cx, &Tab, &Context) -> Option<RuleKind>,
}

/// Every kind a `[[rule]]` may have, in the order `check` lists them (`[[route]]`s are of kind
/// `alert_route`, read by `config::parse` from their own tables).
pub(crate) const KINDS: &[KindSpec] = &[
    threshold::QUEUE_DEPTH,
    threshold::LONGEST_WAIT,
    threshold::SERVICE_LEVEL,
    threshold::METRIC,
    response_time::SPEC,
    burn_rate::SPEC,
    predicted::SPEC,
    feed_silence::SPEC,
    complaint_spike::SPEC,
    complaint_deadline::SPEC,
];

pub(crate) fn kind_spec(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name == name)
}

pub fn kind_names() -> String {
    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

impl RuleKind {
    /// The kind's name as written in alerts.toml.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Threshold(t) => t.named.as_str(),
            RuleKind::ResponseTime(_) => response_time::SPEC.name,
            RuleKind::BurnRate(_) => burn_rate::SPEC.name,
            RuleKind::Predicted(_) => predicted::SPEC.name,
            RuleKind::FeedSilence(_) => feed_silence::SPEC.name,
            RuleKind::ComplaintSpike(_) => complaint_spike::SPEC.name,
            RuleKind::ComplaintDeadline(_) => complaint_deadline::SPEC.name,
            RuleKind::Alert(_) => alert_route::SPEC.name,
        }
    }

    /// Whether the rule judges queues (else complaints).
    pub fn watches_queues(&self) -> bool {
        matches!(
            self,
            RuleKind::Threshold(_)
                | RuleKind::ResponseTime(_)
                | RuleKind::BurnRate(_)
                | RuleKind::Predicted(_)
                | RuleKind::FeedSilence(_)
        )
    }

    /// Whether the rule fires when its figure goes *below* its thresholds.
    pub fn fires_below(&self) -> bool {
        matches!(self, RuleKind::Threshold(t) if t.below) || matches!(self, RuleKind::Predicted(_))
    }

    /// The queue figure the rule watches, if it watches one.
    pub fn metric(&self) -> Option<Metric> {
        match self {
            RuleKind::Threshold(t) => Some(t.metric),
            _ => None,
        }
    }

    /// The figure of an incident's values its peak is read from.
    pub fn peak_figure(&self) -> &'static str {
        match self {
            RuleKind::Threshold(t) => t.metric.as_str(),
            RuleKind::ResponseTime(_) => response_time::PEAK,
            RuleKind::BurnRate(_) => burn_rate::PEAK,
            RuleKind::Predicted(_) => predicted::PEAK,
            RuleKind::FeedSilence(_) => feed_silence::PEAK,
            RuleKind::ComplaintSpike(_) => complaint_spike::PEAK,
            RuleKind::ComplaintDeadline(_) => complaint_deadline::PEAK,
            RuleKind::Alert(_) => alert_route::PEAK,
        }
    }

    /// The window the rule counts over, beyond the queue's own.
    pub fn window(&self) -> Option<Millis> {
        match self {
            RuleKind::ResponseTime(r) => Some(r.window),
            RuleKind::ComplaintSpike(s) => Some(s.window),
            RuleKind::BurnRate(b) => Some(b.span()),
            _ => None,
        }
    }
}

/// The `severity` key of the kinds that fire at one fixed severity.
pub(crate) fn severity(cx: &mut Cx, tab: &Tab, default: Severity) -> Severity {
    let words = Severity::ALL.map(|s| s.as_str()).join(", ");
    cx.word(tab, "severity", Severity::parse, &words)
        .unwrap_or(default)
}
