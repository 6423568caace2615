//! Threshold rules: one queue figure against a level per severity, with hysteresis (`clear`), a
//! minimum volume for figures that are shares or averages, and thresholds that differ while a
//! schedule is open (`[[rule.when]]`). Written as `queue_depth`, `longest_wait`, `service_level`,
//! or `metric` with any figure of `GET /api/v1/state`. With `trend = "10m"` a rule also warns when
//! the figure's straight-line trend over the last `TREND_SPAN` reaches its first threshold within
//! that time (as Prometheus' `predict_linear`): "waiting will reach 25 within 10m".

use floorwatch_protocol::{Language, Metric, QueueMetrics, Severity};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::parse::{Cx, Span, Tab};
use crate::config::{Millis, format_duration};
use crate::engine::{Detail, Figures, round};
use crate::words::{self, Said};

/// Thresholds by severity, in the rule's unit. For rules that fire below a level (service level)
/// the order is reversed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Thresholds {
    pub levels: [Option<f64>; 4],
}

impl Thresholds {
    pub fn get(&self, s: Severity) -> Option<f64> {
        self.levels[s as usize]
    }
    pub fn is_empty(&self) -> bool {
        self.levels.iter().all(Option::is_none)
    }
    /// The worst severity whose threshold `value` reaches.
    pub fn level_of(&self, value: f64, below: bool) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .rev()
            .find(|s| match self.get(*s) {
                Some(t) if below => value <= t,
                Some(t) => value >= t,
                None => false,
            })
    }
    /// The least severe threshold: the level at which the rule starts to breach.
    pub fn first(&self) -> Option<f64> {
        self.levels.iter().flatten().copied().next()
    }
}

/// The kind as written: it sets the figure, its direction and how levels are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    QueueDepth,
    LongestWait,
    ServiceLevel,
    Metric,
}

impl Named {
    pub fn as_str(self) -> &'static str {
        match self {
            Named::QueueDepth => "queue_depth",
            Named::LongestWait => "longest_wait",
            Named::ServiceLevel => "service_level",
            Named::Metric => "metric",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ThresholdRule {
    pub named: Named,
    pub metric: Metric,
    /// Fires when the figure goes below the thresholds (service level).
    pub below: bool,
    pub thresholds: Thresholds,
    /// Thresholds that replace `thresholds` while a schedule is open (first match wins).
    pub overrides: Vec<(usize, Thresholds)>,
    /// Hysteresis: the level the figure must get back past to clear (default: the first threshold).
    pub clear: Option<f64>,
    /// Fewer contacts than this in the window and shares or averages are not judged.
    pub min_volume: u32,
    /// Warn when the trend reaches the first threshold within this.
    pub trend: Option<Millis>,
}

const KEYS: &[&str] = &[
    "info",
    "warning",
    "critical",
    "crisis",
    "clear",
    "when",
    "min_volume",
    "trend",
];

/// A trend is fitted over this much of the figure's recent history ...
pub const TREND_SPAN: Millis = 5 * 60_000;
/// ... sampled this often.
pub const TREND_SAMPLE: Millis = 15_000;

pub(crate) const QUEUE_DEPTH: KindSpec = KindSpec {
    name: "queue_depth",
    keys: &[KEYS],
    parse: |cx, tab, ctx| parse(cx, tab, ctx, Named::QueueDepth),
};
pub(crate) const LONGEST_WAIT: KindSpec = KindSpec {
    name: "longest_wait",
    keys: &[KEYS],
    parse: |cx, tab, ctx| parse(cx, tab, ctx, Named::LongestWait),
};
pub(crate) const SERVICE_LEVEL: KindSpec = KindSpec {
    name: "service_level",
    keys: &[KEYS],
    parse: |cx, tab, ctx| parse(cx, tab, ctx, Named::ServiceLevel),
};
pub(crate) const METRIC: KindSpec = KindSpec {
    name: "metric",
    keys: &[KEYS, &["metric", "direction"]],
    parse: |cx, tab, ctx| parse(cx, tab, ctx, Named::Metric),
};

fn parse(cx: &mut Cx, tab: &Tab, ctx: &Context, named: Named) -> Option<RuleKind> {
    let (metric, below) = match named {
        Named::QueueDepth => (Metric::Waiting, false),
        Named::LongestWait => (Metric::LongestWaitS, false),
        Named::ServiceLevel => (Metric::ServiceLevel, true),
        Named::Metric => {
            let metric = cx.required_string(tab, "metric").and_then(|(m, span)| {
                let parsed = Metric::parse(&m);
                if parsed.is_none() {
                    cx.err(
                        &span,
                        format!(
                            "{}: unknown metric \"{m}\"; expected one of: {}",
                            tab.what,
                            Metric::expected()
                        ),
                    );
                }
                parsed
            });
            let below = cx
                .word(
                    tab,
                    "direction",
                    |s| match s {
                        "above" => Some(false),
                        "below" => Some(true),
                        _ => None,
                    },
                    "above, below",
                )
                .unwrap_or(false);
            (metric?, below)
        }
    };
    // `longest_wait` levels are durations; every other kind's are numbers.
    let is_duration = named == Named::LongestWait;
    let mut rule = ThresholdRule {
        named,
        metric,
        below,
        thresholds: thresholds(cx, tab, is_duration, below, true),
        overrides: Vec::new(),
        clear: None,
        min_volume: 0,
        trend: cx.duration(tab, "trend"),
    };
    if metric.is_ratio() {
        for s in Severity::ALL.iter().map(|s| s.as_str()).chain(["clear"]) {
            if let Some((v, span)) = level(cx, tab, s, false)
                && !(0.0..=1.0).contains(&v)
            {
                cx.err(
                    &span,
                    format!(
                        "{}: `{s}` must be a ratio between 0 and 1 (0.8 for 80%), found {v}",
                        tab.what
                    ),
                );
            }
        }
    }
    if let Some((c, span)) = level(cx, tab, "clear", is_duration) {
        if let Some(first) = rule.thresholds.first() {
            let wrong_side = if below { c < first } else { c > first };
            if wrong_side {
                cx.err(
                    &span,
                    format!(
                        "{}: `clear` ({c}) must be {} the first threshold ({first}) so the rule can clear",
                        tab.what,
                        if below { "at or above" } else { "at or below" }
                    ),
                );
            }
        }
        rule.clear = Some(c);
    }
    let default_volume = if named == Named::ServiceLevel { 10 } else { 0 };
    rule.min_volume = cx.count(tab, "min_volume").unwrap_or(default_volume) as u32;
    for w in cx.table_array(tab, "when") {
        let mut allowed = vec!["schedule"];
        allowed.extend(Severity::ALL.map(|s| s.as_str()));
        let Some(wt) = cx.table(w, format!("[[rule.when]] of {}", tab.what), &allowed) else {
            continue;
        };
        let sched = cx.required_string(&wt, "schedule");
        let th = thresholds(cx, &wt, is_duration, below, false);
        if let Some((s, span)) = sched {
            match ctx.schedules.iter().position(|x| x.name == s) {
                Some(i) => rule.overrides.push((i, th)),
                None => cx.err(
                    &span,
                    format!(
                        "{}: unknown schedule \"{s}\" (defined: {})",
                        wt.what,
                        crate::config::parse::names(ctx.schedules.iter().map(|s| &s.name))
                    ),
                ),
            }
        }
    }
    Some(RuleKind::Threshold(rule))
}

/// A threshold value: a number, or a duration string in seconds for `longest_wait`.
fn level(cx: &mut Cx, tab: &Tab, key: &str, is_duration: bool) -> Option<(f64, Span)> {
    let v = tab.get(key)?;
    if is_duration {
        let ms = cx.duration(tab, key)?;
        Some((ms as f64 / 1000.0, v.span()))
    } else {
        cx.number(tab, key)
    }
}

fn thresholds(
    cx: &mut Cx,
    tab: &Tab,
    is_duration: bool,
    below: bool,
    required: bool,
) -> Thresholds {
    let mut th = Thresholds::default();
    let mut prev: Option<(Severity, f64)> = None;
    for s in Severity::ALL {
        let Some((v, span)) = level(cx, tab, s.as_str(), is_duration) else {
            continue;
        };
        if let Some((ps, pv)) = prev {
            let reversed = if below { v > pv } else { v < pv };
            if reversed {
                cx.err(
                    &span,
                    format!(
                        "{}: `{s}` ({v}) and `{ps}` ({pv}) are reversed: a worse severity needs a {} value",
                        tab.what,
                        if below { "lower" } else { "higher" }
                    ),
                );
            }
        }
        prev = Some((s, v));
        th.levels[s as usize] = Some(v);
    }
    if required && th.is_empty() {
        cx.err(
            &tab.span,
            format!(
                "{} has no thresholds: set at least one of info, warning, critical, crisis",
                tab.what
            ),
        );
    }
    th
}

impl ThresholdRule {
    /// The thresholds in force: those of the first open schedule's `[[rule.when]]`, else the
    /// rule's own.
    pub fn thresholds_now(&self, mut open: impl FnMut(usize) -> bool) -> Thresholds {
        self.overrides
            .iter()
            .find(|(sched, _)| open(*sched))
            .map_or(self.thresholds, |(_, th)| *th)
    }

    /// The figure, if it can be judged now (shares and averages need `min_volume` contacts).
    pub fn value(&self, m: &QueueMetrics) -> Option<f64> {
        if self.metric.needs_volume() && volume(m) < self.min_volume {
            return None;
        }
        m.get(self.metric)
    }

    /// `slope`: the figure's change per millisecond over `TREND_SPAN`, for rules with a trend.
    pub fn judge(&self, th: &Thresholds, m: &QueueMetrics, slope: Option<f64>) -> Verdict {
        // Too few contacts to judge (or no reading of this figure): not a breach, and a firing
        // incident clears rather than staying open through a quiet night.
        let Some(value) = self.value(m) else {
            return Verdict {
                level: None,
                clear: true,
                badness: f64::NEG_INFINITY,
            };
        };
        let below = self.below;
        let first = th.first().unwrap_or(value);
        let clear_at = match self.clear {
            Some(c) if below => c.max(first),
            Some(c) => c.min(first),
            None => first,
        };
        let level = th.level_of(value, below);
        let heading = self
            .projected(value, slope)
            .and_then(|p| th.level_of(p, below))
            .map(|l| l.min(Severity::Warning));
        Verdict {
            level: level.or(heading),
            // Back at the clear level counts: `clear = 0` on a figure that cannot go below 0
            // must be able to clear.
            clear: heading.is_none()
                && if below {
                    value >= clear_at
                } else {
                    value <= clear_at
                },
            badness: if below { -value } else { value },
        }
    }

    /// Where the trend takes the figure within `trend`.
    fn projected(&self, value: f64, slope: Option<f64>) -> Option<f64> {
        Some(value + slope? * self.trend? as f64)
    }

    /// A value of the figure as a person reads it.
    fn shown(&self, v: f64, lang: Language) -> String {
        match self.metric {
            Metric::LongestWaitS | Metric::AsaS | Metric::AhtS | Metric::UnansweredForS => {
                words::duration((v.round() * 1000.0) as i64, lang)
            }
            m if m.is_ratio() => format!("{:.0}%", v * 100.0),
            _ => format!("{}", round(v)),
        }
    }

    pub fn describe(&self, th: &Thresholds, m: &QueueMetrics, slope: Option<f64>) -> Detail {
        let Some(value) = self.value(m) else {
            return Detail {
                figures: Figures(vec![("volume", f64::from(volume(m)))]),
                title: Said::new(
                    format!("{}: too few contacts to judge", m.queue),
                    format!("{}：联系量太少，无法判断", m.queue),
                ),
                summary: format!(
                    "{}: too few contacts to judge ({} in the window, {} needed)",
                    m.queue,
                    volume(m),
                    self.min_volume
                ),
            };
        };
        let level = th.level_of(value, self.below);
        if level.is_none()
            && let (Some(p), Some(within)) = (self.projected(value, slope), self.trend)
            && let Some(l) = th.level_of(p, self.below)
            && let Some(at) = th.get(l)
        {
            let per_min = slope.unwrap_or(0.0) * 60_000.0;
            return Detail {
                figures: Figures(vec![
                    (self.metric.as_str(), round(value)),
                    ("projected", round(p)),
                    ("per_minute", round(per_min)),
                ]),
                title: Said::new(
                    format!(
                        "{}: {} will reach {} within {}",
                        m.queue,
                        self.metric,
                        self.shown(at, Language::English),
                        format_duration(within)
                    ),
                    format!(
                        "{}：{}将在{}内达到 {}",
                        m.queue,
                        words::metric_zh(self.metric),
                        words::duration(within, Language::Chinese),
                        self.shown(at, Language::Chinese),
                    ),
                ),
                summary: format!(
                    "{}: {} is {} and moving {:+.2} a minute over the last {}: {} in {} ({l} at {})",
                    m.queue,
                    self.metric,
                    self.shown(value, Language::English),
                    per_min,
                    format_duration(TREND_SPAN),
                    self.shown(p, Language::English),
                    format_duration(within),
                    self.shown(at, Language::English)
                ),
            };
        }
        let bound = level
            .and_then(|l| th.get(l).map(|t| (l, t)))
            .map(|(l, t)| format!(" ({l} at {})", self.shown(t, Language::English)))
            .unwrap_or_default();
        let summary = match self.metric {
            Metric::Waiting => format!("{}: {} contacts waiting{bound}", m.queue, m.waiting),
            Metric::LongestWaitS => format!(
                "{}: oldest contact waiting {}{bound}",
                m.queue,
                self.shown(value, Language::English)
            ),
            Metric::ServiceLevel => format!(
                "{}: service level {} over {}, target {:.0}% within {}s{bound}",
                m.queue,
                self.shown(value, Language::English),
                format_duration((m.window_s * 1000.0) as i64),
                m.service_level_target * 100.0,
                m.service_level_threshold_s
            ),
            other => format!(
                "{}: {other} = {}{bound}",
                m.queue,
                self.shown(value, Language::English)
            ),
        };
        let name = self.metric.as_str();
        let mut figures = vec![(name, round(value))];
        for k in [
            Metric::Waiting,
            Metric::LongestWaitS,
            Metric::ServiceLevel,
            Metric::AbandonmentRate,
            Metric::AgentsAvailable,
        ] {
            if k != self.metric
                && let Some(v) = m.get(k)
            {
                figures.push((k.as_str(), round(v)));
            }
        }
        Detail {
            figures: Figures(figures),
            title: self.title(m, value),
            summary,
        }
    }

    /// The reading in the floor's words.
    fn title(&self, m: &QueueMetrics, value: f64) -> Said {
        Said::new(self.title_en(m, value), self.title_zh(m, value))
    }

    fn title_zh(&self, m: &QueueMetrics, value: f64) -> String {
        let q = &m.queue;
        let zh = Language::Chinese;
        match self.metric {
            Metric::Waiting => format!("{q}：{}排队中", words::contacts_zh(m.channel, m.waiting)),
            Metric::LongestWaitS => format!("{q}：最长已等待 {}", self.shown(value, zh)),
            Metric::ServiceLevel => format!(
                "{q}：{} 在 {} 秒内接通（目标 {:.0}%）",
                self.shown(value, zh),
                m.service_level_threshold_s,
                m.service_level_target * 100.0
            ),
            Metric::AbandonmentRate => format!("{q}：放弃率 {}", self.shown(value, zh)),
            Metric::AgentsShort => format!("{q}：缺 {} 名坐席", round(value)),
            Metric::StaffingRatio => format!("{q}：人力只够需求的 {:.0}%", value * 100.0),
            Metric::AsaS => format!("{q}：平均 {} 才接通", self.shown(value, zh)),
            Metric::UnansweredForS => format!(
                "{q}：已 {} 无人接听，{}在等",
                self.shown(value, zh),
                words::contacts_zh(m.channel, m.waiting)
            ),
            other => format!("{q}：{} {}", words::metric_zh(other), self.shown(value, zh)),
        }
    }

    fn title_en(&self, m: &QueueMetrics, value: f64) -> String {
        let q = &m.queue;
        let who = words::who_waits(m.channel);
        match self.metric {
            Metric::Waiting => format!("{q}: {} {who} waiting", m.waiting),
            Metric::LongestWaitS => {
                format!(
                    "{q}: oldest of the {who} waiting {}",
                    self.shown(value, Language::English)
                )
            }
            Metric::ServiceLevel => format!(
                "{q}: {} answered within {}s (target {:.0}%)",
                self.shown(value, Language::English),
                m.service_level_threshold_s,
                m.service_level_target * 100.0
            ),
            Metric::AbandonmentRate => format!(
                "{q}: {} of {who} give up",
                self.shown(value, Language::English)
            ),
            Metric::AgentsShort => format!("{q}: {} agents short", round(value)),
            Metric::StaffingRatio => format!("{q}: staffed for {:.0}% of demand", value * 100.0),
            Metric::AsaS => format!(
                "{q}: answered in {} on average",
                self.shown(value, Language::English)
            ),
            Metric::UnansweredForS => format!(
                "{q}: nobody answered for {} while {} {who} wait",
                self.shown(value, Language::English),
                m.waiting
            ),
            other => format!("{q}: {other} {}", self.shown(value, Language::English)),
        }
    }
}

/// The least-squares slope of `(time, value)` samples, per millisecond; `None` with fewer
/// than three or no spread in time.
pub fn slope(samples: impl Iterator<Item = (Millis, f64)> + Clone) -> Option<f64> {
    let n = samples.clone().count();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let t0 = samples.clone().next()?.0;
    let (st, sv) = samples
        .clone()
        .fold((0.0, 0.0), |(a, b), (t, v)| (a + (t - t0) as f64, b + v));
    let (mt, mv) = (st / nf, sv / nf);
    let (num, den) = samples.fold((0.0, 0.0), |(n, d), (t, v)| {
        let dt = (t - t0) as f64 - mt;
        (n + dt * (v - mv), d + dt * dt)
    });
    (den > 0.0).then(|| num / den)
}

/// Contacts that count towards a share or average: those that left the queue in the window.
fn volume(m: &QueueMetrics) -> u32 {
    m.answered + m.abandoned
}
