//! A queue's tile: its state (colour, shape, word and border), the figures its channel is held
//! to, and trend lines over the last half hour. The decisions (tile state, the channel's standard,
//! trend geometry) are plain functions, unit-tested on the host, and so is the tile's inside,
//! written as HTML (`tile_html`). Sizes come from the tile's own box (CSS container units), so a
//! tile reads the same from across the room whether the wall shows 4 queues or 24.

use floorwatch_protocol::{Channel, Incident, QueueMetrics, Severity, TrendPoint};
use leptos::prelude::*;

use std::fmt::Write;

use crate::i18n::{K, Lang, t, tf};
use crate::incidents::esc;
use crate::{Ctx, format};

/// The span of the trend lines.
pub const TREND_WINDOW_MS: f64 = 30.0 * 60.0 * 1000.0;
const TREND_W: f64 = 300.0;
const TREND_H: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileState {
    Red,
    Amber,
    Green,
    /// A source that feeds the queue has gone silent: its figures are the last it gave, and
    /// say neither that all is well nor that it is not.
    Stale,
}

impl TileState {
    pub fn as_str(self) -> &'static str {
        match self {
            TileState::Red => "red",
            TileState::Amber => "amber",
            TileState::Green => "green",
            TileState::Stale => "stale",
        }
    }

    /// The shape that says the same as the colour.
    pub fn shape(self) -> &'static str {
        match self {
            TileState::Red => "■",
            TileState::Amber => "▲",
            TileState::Green => "●",
            TileState::Stale => "◌",
        }
    }

    pub fn word(self, lang: Lang) -> &'static str {
        t(
            lang,
            match self {
                TileState::Red => K::StateAlert,
                TileState::Amber => K::StateWarn,
                TileState::Green => K::StateOk,
                TileState::Stale => K::StateStale,
            },
        )
    }
}

/// Stale while a source feeding the queue is silent; else red with a critical or crisis
/// incident open on the queue; amber with a lesser one, or with the service level under its
/// target before any rule has fired; green otherwise.
pub fn tile_state<'a>(
    m: &QueueMetrics,
    incidents: impl Iterator<Item = &'a Incident>,
) -> TileState {
    if m.stale.is_some() {
        return TileState::Stale;
    }
    let mut state = TileState::Green;
    for i in incidents.filter(|i| i.status.is_open()) {
        if i.severity >= Severity::Critical {
            return TileState::Red;
        }
        state = TileState::Amber;
    }
    if m.service_level
        .is_some_and(|sl| sl < m.service_level_target)
    {
        state = TileState::Amber;
    }
    state
}

/// The `points` of the polylines of one trend: x by time over `[t0, t1]`, y scaled from `[lo, hi]`
/// to the box (SVG y grows downwards). A point without a value breaks the line rather than
/// inventing one, so there may be several polylines; a lone point is doubled so it shows as a dot.
pub fn trend_lines(
    points: &[(f64, Option<f64>)],
    t0: f64,
    t1: f64,
    lo: f64,
    hi: f64,
    w: f64,
    h: f64,
) -> Vec<String> {
    let span_t = (t1 - t0).max(1.0);
    let span_v = if hi > lo { hi - lo } else { 1.0 };
    let mut lines = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut flush = |current: &mut Vec<String>| {
        if current.len() == 1 {
            let p = current[0].clone();
            current.push(p);
        }
        if !current.is_empty() {
            lines.push(current.join(" "));
        }
        current.clear();
    };
    for (at, v) in points {
        if *at < t0 || *at > t1 {
            continue;
        }
        match v {
            Some(v) if v.is_finite() => {
                let x = (at - t0) / span_t * w;
                let y = h - ((v - lo) / span_v).clamp(0.0, 1.0) * h;
                current.push(format!("{},{}", format::fixed(x, 1), format::fixed(y, 1)));
            }
            _ => flush(&mut current),
        }
    }
    flush(&mut current);
    lines
}

/// The top of the waiting chart: a little above the highest point, and never under 5 so that one
/// or two waiting contacts do not look like a mountain.
pub fn waiting_scale(points: &[TrendPoint]) -> f64 {
    let max = points.iter().map(|p| p.waiting).max().unwrap_or(0) as f64;
    (max * 1.15).max(5.0).ceil()
}

/// The range of the service-level chart: up to 100%, down to a tenth under the lowest of the
/// values and the target, so the target line and the dips are both in view.
pub fn sl_range(points: &[TrendPoint], target: f64) -> (f64, f64) {
    let low = points
        .iter()
        .filter_map(|p| p.service_level)
        .fold(target, f64::min);
    (((low - 0.05) * 10.0).floor().max(0.0) / 10.0, 1.0)
}

/// A channel's own standard: the figure the floor is held to on this tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Standard {
    pub label: K,
    pub value: String,
    /// Missed now (shown as such, not only by colour).
    pub missed: bool,
}

/// Phone: the service level against its target. Chat: first replies in time, against the same
/// target. E-mail: when the oldest unanswered one is due (on business hours), or how late it is.
pub fn standard(m: &QueueMetrics, now_ms: f64) -> Standard {
    let target = m.service_level_target;
    match (&m.first_response, m.channel) {
        (Some(fr), Some(Channel::Email)) => {
            let due = fr.oldest_due.as_ref().map(|t| format::ms(t) - now_ms);
            let (value, missed) = match due {
                Some(d) if d < 0.0 => (format::age((-d / 1000.0) as i64), true),
                Some(d) => (format::age((d / 1000.0) as i64), false),
                None => (format::NONE.to_string(), false),
            };
            Standard {
                label: if missed { K::Overdue } else { K::DueIn },
                value,
                missed,
            }
        }
        (Some(fr), _) => Standard {
            label: K::FirstReplyInTime,
            value: format::pct(fr.compliance),
            missed: fr.compliance.is_some_and(|c| c < target),
        },
        (None, _) => Standard {
            label: K::ServiceLevel,
            value: format!(
                "{} / {}",
                format::pct(m.service_level),
                format::pct(Some(target))
            ),
            missed: m.service_level.is_some_and(|v| v < target),
        },
    }
}

/// "→ 65% in 15 min": what the forecast expects, beside the actual service level.
pub fn predicted(m: &QueueMetrics, lang: Lang) -> Option<String> {
    let p = m.predicted?;
    Some(tf(
        lang,
        K::PredictedIn,
        &[
            &format::pct(Some(p.service_level)),
            &format::fixed(p.horizon_s / 60.0, 0),
        ],
    ))
}

/// Everything a tile shows, computed in one pass per frame. One memo per tile rather than one
/// per figure: each distinct reactive type costs bundle size, and a tile redraws only the texts
/// that changed anyway.
#[derive(Debug, Clone, PartialEq)]
struct TileData {
    state: TileState,
    drill: bool,
    waiting: String,
    /// The second large figure: the longest wait, or for chat and e-mail the oldest unanswered.
    second: (K, String),
    standard: Standard,
    predicted: Option<String>,
    /// Three smaller figures: (label, value).
    figures: [(K, String); 3],
    waiting_lines: Vec<String>,
    waiting_max: String,
    sl_lines: Vec<String>,
    target_y: String,
    /// The silent source and its last event's time (browser local), while stale.
    stale: Option<(String, String)>,
}

fn tile_data(s: &floorwatch_protocol::LiveState, queue: &str, lang: Lang) -> Option<TileData> {
    let m = s.queue(queue)?;
    let end = s.at.as_ref().map(format::ms).unwrap_or(0.0);
    let start = end - TREND_WINDOW_MS;
    let pts: Vec<TrendPoint> = s
        .trends
        .get(queue)
        .map(|d| d.iter().copied().collect())
        .unwrap_or_default();
    let hi = waiting_scale(&pts);
    let waiting: Vec<_> = pts
        .iter()
        .map(|p| (format::ms(&p.at), Some(f64::from(p.waiting))))
        .collect();
    let target = m.service_level_target;
    let (lo, top) = sl_range(&pts, target);
    let sl: Vec<_> = pts
        .iter()
        .map(|p| (format::ms(&p.at), p.service_level))
        .collect();
    let agents = (K::AgentsAvailable, format::count(m.agents_available));
    let (second, figures) = match (&m.first_response, m.channel) {
        (Some(fr), Some(Channel::Email)) => (
            (
                K::OldestUnanswered,
                format::age(fr.oldest_s.unwrap_or(0.0) as i64),
            ),
            [
                (K::FirstReplyInTime, format::pct(fr.compliance)),
                (K::Answered, m.answered.to_string()),
                agents,
            ],
        ),
        (Some(fr), _) => (
            (K::OldestUnanswered, format::mss(fr.oldest_s.unwrap_or(0.0))),
            [
                (K::ServiceLevel, format::pct(m.service_level)),
                (K::Asa, format::secs(m.asa_s)),
                agents,
            ],
        ),
        (None, _) => (
            (K::LongestWait, format::mss(m.longest_wait_s)),
            [
                (K::Asa, format::secs(m.asa_s)),
                (K::Abandonment, format::pct1(m.abandonment_rate)),
                agents,
            ],
        ),
    };
    Some(TileData {
        state: tile_state(m, s.incidents_on(queue)),
        drill: s.incidents_on(queue).any(|i| i.drill),
        waiting: m.waiting.to_string(),
        second,
        standard: standard(m, end),
        predicted: predicted(m, lang),
        figures,
        waiting_lines: trend_lines(&waiting, start, end, 0.0, hi, TREND_W, TREND_H),
        waiting_max: format::fixed(hi, 0),
        sl_lines: trend_lines(&sl, start, end, lo, top, TREND_W, TREND_H),
        target_y: format::fixed(TREND_H - (target - lo) / (top - lo) * TREND_H, 1),
        stale: m.stale.as_ref().map(|f| {
            (
                f.source.clone(),
                format::local_clock(format::ms(&f.last_seen)),
            )
        }),
    })
}

/// The inside of a tile, as HTML: it changes at most once a frame, all at once, so it is
/// written whole rather than as a Leptos view of some twenty reactive parts (each of which is
/// code in the bundle). Every text from the daemon goes through `esc`.
fn tile_html(queue: &str, d: &TileData, lang: Lang) -> String {
    let mut h = String::with_capacity(2048);
    let _ = write!(
        h,
        "<header class=\"tile-head\"><h2 class=\"queue-name\">{}</h2>",
        esc(queue)
    );
    if d.drill {
        let _ = write!(h, "<span class=\"drill-tag\">{}</span>", t(lang, K::Drill));
    }
    let _ = write!(
        h,
        "<span class=\"tile-badge\">{} {}</span></header>",
        d.state.shape(),
        d.state.word(lang)
    );
    if let Some((source, since)) = &d.stale {
        let _ = write!(
            h,
            "<p class=\"stale-note\">{}</p>",
            esc(&tf(lang, K::NoDataFrom, &[source, since]))
        );
    }
    let _ = write!(
        h,
        "<div class=\"tile-main\"><div class=\"main-fig\"><span class=\"big waiting\">{}</span>\
         <span class=\"unit\">{}</span></div><div class=\"main-fig\"><span class=\"mid second\">{}</span>\
         <span class=\"unit\">{}</span></div></div>",
        d.waiting,
        t(lang, K::Waiting),
        d.second.1,
        t(lang, d.second.0)
    );
    let _ = write!(
        h,
        "<p class=\"standard{}\"><span class=\"std-label\">{}</span> <span class=\"std-value\">{}</span> \
         <span class=\"predicted\">{}</span></p><dl class=\"figures\">",
        if d.standard.missed { " missed" } else { "" },
        t(lang, d.standard.label),
        d.standard.value,
        d.predicted.as_deref().unwrap_or_default()
    );
    for (k, v) in &d.figures {
        let _ = write!(
            h,
            "<div class=\"fig\"><dt>{}</dt><dd>{v}</dd></div>",
            t(lang, *k)
        );
    }
    h.push_str("</dl><div class=\"trends\">");
    let view_box = format!(
        "0 0 {} {}",
        format::fixed(TREND_W, 0),
        format::fixed(TREND_H, 0)
    );
    let lines = |h: &mut String, lines: &[String]| {
        for p in lines {
            let _ = write!(h, "<polyline class=\"line\" points=\"{p}\"/>");
        }
    };
    let _ = write!(
        h,
        "<figure class=\"trend\"><svg class=\"trend-waiting\" viewBox=\"{view_box}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{0}\">",
        t(lang, K::TrendWaiting)
    );
    lines(&mut h, &d.waiting_lines);
    let _ = write!(
        h,
        "</svg><figcaption>{} <span class=\"scale\">· max {}</span></figcaption></figure>",
        t(lang, K::TrendWaiting),
        d.waiting_max
    );
    let _ = write!(
        h,
        "<figure class=\"trend\"><svg class=\"trend-sl\" viewBox=\"{view_box}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{0}\">\
         <line class=\"target\" x1=\"0\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>",
        t(lang, K::TrendSl),
        format::fixed(TREND_W, 0),
        d.target_y
    );
    lines(&mut h, &d.sl_lines);
    let _ = write!(
        h,
        "</svg><figcaption>{}</figcaption></figure></div>",
        t(lang, K::TrendSl)
    );
    h
}

#[component]
pub fn Tile(queue: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let lang = ctx.lang;
    let q = queue.clone();
    let data = Memo::new(move |_| live.state.with(|s| tile_data(s, &q, lang)));
    let state = move || data.with(|d| d.as_ref().map_or(TileState::Green, |d| d.state));
    let q = queue.clone();
    let body = move || {
        data.with(|d| {
            d.as_ref()
                .map(|d| tile_html(&q, d, lang))
                .unwrap_or_default()
        })
    };
    view! {
        <section
            class=move || format!("tile tile-{}", state().as_str())
            data-queue=queue
            data-state=move || state().as_str()
        >
            <div class="tile-body" inner_html=body></div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::IncidentStatus;

    fn metrics(sl: Option<f64>) -> QueueMetrics {
        QueueMetrics {
            queue: "phone".into(),
            service_level: sl,
            service_level_target: 0.8,
            ..Default::default()
        }
    }

    fn inc(sev: Severity) -> Incident {
        crate::fixtures::incident(1, sev)
    }

    #[test]
    fn a_silent_feed_is_stale_whatever_is_open() {
        let mut m = metrics(Some(0.9));
        m.stale = Some(floorwatch_protocol::StaleFeed {
            source: "acd-1".into(),
            last_seen: "2026-11-23T09:42:00Z".parse().unwrap(),
            silent_s: 120.0,
            after_s: 60.0,
        });
        assert_eq!(tile_state(&m, [].iter()), TileState::Stale);
        assert_eq!(
            tile_state(&m, [inc(Severity::Crisis)].iter()),
            TileState::Stale
        );
        assert_eq!(TileState::Stale.word(Lang::Zh), "无数据");
    }

    #[test]
    fn tile_states() {
        let m = metrics(Some(0.9));
        assert_eq!(tile_state(&m, [].iter()), TileState::Green);
        assert_eq!(tile_state(&metrics(None), [].iter()), TileState::Green);
        assert_eq!(
            tile_state(&metrics(Some(0.79)), [].iter()),
            TileState::Amber
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Info)].iter()),
            TileState::Amber
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Warning)].iter()),
            TileState::Amber
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Warning), inc(Severity::Critical)].iter()),
            TileState::Red
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Crisis)].iter()),
            TileState::Red
        );
        let mut resolved = inc(Severity::Crisis);
        resolved.status = IncidentStatus::Resolved;
        assert_eq!(tile_state(&m, [resolved].iter()), TileState::Green);
        for s in [TileState::Red, TileState::Amber, TileState::Green] {
            assert_ne!(s.word(Lang::En), s.word(Lang::Zh));
        }
    }

    #[test]
    fn trend_geometry() {
        // 0..100 s on a 100 x 10 box, values 0..10.
        let pts = [
            (-5.0, Some(1.0)),
            (0.0, Some(0.0)),
            (50.0, Some(5.0)),
            (100.0, Some(20.0)),
        ];
        assert_eq!(
            trend_lines(&pts, 0.0, 100.0, 0.0, 10.0, 100.0, 10.0),
            ["0.0,10.0 50.0,5.0 100.0,0.0"],
            "out-of-window points dropped, values clamped into the box"
        );
        let gappy = [
            (0.0, Some(1.0)),
            (10.0, None),
            (20.0, Some(1.0)),
            (30.0, Some(0.0)),
        ];
        assert_eq!(
            trend_lines(&gappy, 0.0, 100.0, 0.0, 1.0, 100.0, 10.0),
            ["0.0,0.0 0.0,0.0", "20.0,0.0 30.0,10.0"],
            "a gap splits the line; a lone point is a dot"
        );
        assert!(trend_lines(&[], 0.0, 1.0, 0.0, 1.0, 1.0, 1.0).is_empty());
    }

    fn point(waiting: u32, sl: Option<f64>) -> TrendPoint {
        TrendPoint {
            at: "2026-11-23T09:00:00Z".parse().unwrap(),
            waiting,
            longest_wait_s: 0.0,
            service_level: sl,
            asa_s: None,
            abandonment_rate: None,
        }
    }

    #[test]
    fn trend_scales() {
        assert_eq!(waiting_scale(&[]), 5.0);
        assert_eq!(waiting_scale(&[point(2, None)]), 5.0);
        assert_eq!(waiting_scale(&[point(20, None), point(3, None)]), 23.0);
        assert_eq!(sl_range(&[], 0.8), (0.7, 1.0));
        assert_eq!(
            sl_range(&[point(0, Some(0.42)), point(0, None)], 0.8),
            (0.3, 1.0)
        );
        assert_eq!(sl_range(&[point(0, Some(0.01))], 0.8), (0.0, 1.0));
    }

    #[test]
    fn each_channel_is_held_to_its_own_standard() {
        let now = 1_795_424_400_000.0;
        let at =
            |ms: f64| floorwatch_protocol::Timestamp::from_timestamp_millis(ms as i64).unwrap();
        let phone = QueueMetrics {
            channel: Some(Channel::Phone),
            service_level: Some(0.72),
            service_level_target: 0.8,
            predicted: Some(floorwatch_protocol::PredictedLevel {
                service_level: 0.6,
                horizon_s: 900.0,
            }),
            ..Default::default()
        };
        let s = standard(&phone, now);
        assert_eq!(
            (s.label, s.value.as_str(), s.missed),
            (K::ServiceLevel, "72% / 80%", true)
        );
        assert_eq!(
            predicted(&phone, Lang::En).as_deref(),
            Some("→ 60% in 15 min")
        );
        assert_eq!(
            predicted(&phone, Lang::Zh).as_deref(),
            Some("→ 60%（15 分钟后）")
        );
        let chat = QueueMetrics {
            channel: Some(Channel::Chat),
            service_level_target: 0.8,
            first_response: Some(floorwatch_protocol::FirstResponse {
                compliance: Some(0.91),
                oldest_s: Some(75.0),
                oldest_due: None,
            }),
            ..Default::default()
        };
        let s = standard(&chat, now);
        assert_eq!(
            (s.label, s.value.as_str(), s.missed),
            (K::FirstReplyInTime, "91%", false)
        );
        let mut email = QueueMetrics {
            channel: Some(Channel::Email),
            first_response: Some(floorwatch_protocol::FirstResponse {
                compliance: Some(0.5),
                oldest_s: Some(3.0 * 3600.0),
                oldest_due: Some(at(now + 40.0 * 60_000.0)),
            }),
            ..Default::default()
        };
        let s = standard(&email, now);
        assert_eq!(
            (s.label, s.value.as_str(), s.missed),
            (K::DueIn, "40m 00s", false)
        );
        email.first_response.as_mut().unwrap().oldest_due = Some(at(now - 65.0 * 60_000.0));
        let s = standard(&email, now);
        assert_eq!(
            (s.label, s.value.as_str(), s.missed),
            (K::Overdue, "1h 05m", true)
        );
    }

    #[test]
    fn a_tile_is_written_whole_and_escaped() {
        let d = TileData {
            state: TileState::Red,
            drill: true,
            waiting: "30".into(),
            second: (K::LongestWait, "1:20".into()),
            standard: Standard {
                label: K::ServiceLevel,
                value: "53% / 80%".into(),
                missed: true,
            },
            predicted: None,
            figures: [
                (K::Asa, "22 s".into()),
                (K::Abandonment, "12%".into()),
                (K::AgentsAvailable, "0".into()),
            ],
            waiting_lines: vec!["0.0,60.0 300.0,0.0".into()],
            waiting_max: "35".into(),
            sl_lines: vec![],
            target_y: "12.0".into(),
            stale: Some(("acd<1>".into(), "09:42:00".into())),
        };
        let h = tile_html("phone<&>", &d, Lang::En);
        assert!(
            h.contains("phone&lt;&amp;&gt;") && !h.contains("phone<&>"),
            "{h}"
        );
        assert!(h.contains("acd&lt;1&gt;"), "{h}");
        assert!(h.contains("<span class=\"big waiting\">30</span>"), "{h}");
        assert!(h.contains("class=\"standard missed\""), "{h}");
        assert!(h.contains("DRILL") && h.contains("■ ALERT"), "{h}");
        assert!(h.contains("points=\"0.0,60.0 300.0,0.0\""), "{h}");
        assert_eq!(h.matches("<div class=\"fig\">").count(), 3);
    }
}
