//! An incident's chart (`GET /api/v1/incidents/{id}/chart` and `chart.svg`): its scope's
//! figures from `MARGIN` before it opened to `MARGIN` after it resolved (or now), read from the
//! engine's history (`engine/history.rs`, rebuilt from the journal on a restart), with the
//! timeline's events marked. The board draws the JSON; the Markdown review links the SVG, drawn
//! by the same `floorwatch_protocol::plot` in the daemon's time zone.

use chrono::TimeZone;
use floorwatch_protocol::plot::{self, PlotWords};
use floorwatch_protocol::{ChartMark, IncidentChart, IncidentDetail, Language, TimelineKind};

use crate::config::{Config, Millis};
use crate::engine::Engine;
use crate::engine::calendar::ms_to_utc;

/// Shown before the incident opened and after it resolved, for what led up to it and after.
pub const MARGIN: Millis = 15 * 60_000;
/// A chart has at most this many points (a long incident's samples are thinned).
pub const MAX_POINTS: usize = 720;

/// The chart of `d` as of `now`.
pub fn of(d: &IncidentDetail, engine: &Engine, now: Millis) -> IncidentChart {
    let i = &d.incident;
    let opened = i.opened_at.timestamp_millis();
    let end = i.resolved_at.map_or(now, |t| t.timestamp_millis());
    let from = opened - MARGIN;
    let to = (end + MARGIN).min(now.max(end));
    IncidentChart {
        incident_id: i.id,
        scope: i.scope.clone(),
        from: ms_to_utc(from),
        to: ms_to_utc(to),
        step_s: engine.history_step_s(),
        series: engine.chart_series(&i.rule, &i.scope, from, to, MAX_POINTS),
        marks: d
            .timeline
            .iter()
            .filter(|e| ChartMark::marks(e.kind))
            .map(|e| ChartMark {
                at: e.at,
                kind: e.kind,
            })
            .collect(),
    }
}

/// The chart drawn as SVG, its words in `lang` (`words::chart`) and its times in the daemon's
/// zone.
pub fn svg(chart: &IncidentChart, cfg: &Config, lang: Language) -> String {
    let tz = cfg.daemon.timezone;
    let mark = move |k: TimelineKind| crate::words::event(k, lang).to_string();
    let clock = move |t: floorwatch_protocol::Timestamp| {
        tz.from_utc_datetime(&t.naive_utc())
            .format("%H:%M")
            .to_string()
    };
    let words = PlotWords {
        labels: crate::words::chart(lang),
        mark: &mark,
        clock: &clock,
    };
    plot::svg(chart, &words)
}
