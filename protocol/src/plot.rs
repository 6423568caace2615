//! An incident's chart as SVG text: one drawing, used by the board's incident page (inserted as
//! markup) and by the daemon for the Markdown review (`chart.svg`), so both show the same.
//!
//! A queue's chart has two bands over the same time axis, waiting contacts and the service
//! level (its target dashed); a complaint group's has its count against the usual (dashed).
//! The timeline's events are vertical marks across both, each with a class per kind
//! (`mark mark-acknowledged`) and its words in a `<title>`. The drawing scales to its box
//! (`viewBox`, no fixed size) and prints in black on white as well as it shows on the board.

use std::fmt::Write;

use crate::{ChartSeries, IncidentChart, TimelineKind, Timestamp, escape_html as escape};

/// The labels a chart needs, in the reader's language.
pub struct Labels<'a> {
    pub waiting: &'a str,
    pub service_level: &'a str,
    pub target: &'a str,
    pub complaints: &'a str,
    pub usual: &'a str,
    pub no_figures: &'a str,
    /// For an incident whose scope has no figures over time (a delivery target, overdue
    /// complaints): only its events are drawn.
    pub no_series: &'a str,
}

/// The words a chart needs: its labels, a timeline event's name ("acknowledged") and a time on
/// the axis ("09:42", in the reader's zone).
pub struct PlotWords<'a> {
    pub labels: Labels<'a>,
    pub mark: &'a dyn Fn(TimelineKind) -> String,
    pub clock: &'a dyn Fn(Timestamp) -> String,
}

const W: f64 = 960.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
/// Room above the bands for the marks' names, in up to three rows.
const TOP: f64 = 52.0;
const LABEL_ROWS: [f64; 3] = [14.0, 28.0, 42.0];
const BAND: f64 = 120.0;
const GAP: f64 = 36.0;
const AXIS: f64 = 28.0;

fn ms(t: &Timestamp) -> f64 {
    t.timestamp_millis() as f64
}

/// Maps time to x and a value to y within a band.
struct Frame {
    t0: f64,
    t1: f64,
    top: f64,
    lo: f64,
    hi: f64,
}

impl Frame {
    fn x(&self, t: f64) -> f64 {
        LEFT + (t - self.t0) / (self.t1 - self.t0).max(1.0) * (W - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        let span = if self.hi > self.lo {
            self.hi - self.lo
        } else {
            1.0
        };
        self.top + BAND - ((v - self.lo) / span).clamp(0.0, 1.0) * BAND
    }
}

/// A polyline per unbroken run of values (a missing value breaks the line); `dashed` for a
/// reference line.
fn lines(
    f: &Frame,
    points: impl Iterator<Item = (f64, Option<f64>)>,
    class: &str,
    dashed: bool,
) -> String {
    let dash = if dashed {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    let mut out = String::new();
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut String| {
        if run.len() == 1 {
            run.push(run[0].clone());
        }
        if !run.is_empty() {
            let _ = write!(
                out,
                r#"<polyline class="{class}" fill="none" stroke="currentColor" stroke-width="2"{dash} points="{}"/>"#,
                run.join(" ")
            );
        }
        run.clear();
    };
    for (t, v) in points {
        match v {
            Some(v) if v.is_finite() => run.push(format!("{:.1},{:.1}", f.x(t), f.y(v))),
            _ => flush(&mut run, &mut out),
        }
    }
    flush(&mut run, &mut out);
    out
}

fn band_frame(out: &mut String, f: &Frame, title: &str, top_label: &str, bottom_label: &str) {
    let _ = write!(
        out,
        r#"<rect class="band" x="{LEFT}" y="{top}" width="{w:.1}" height="{BAND}" fill="none" stroke="currentColor" stroke-opacity="0.25"/><text class="band-title" x="{LEFT}" y="{ty:.1}" font-size="14" fill="currentColor">{title}</text><text class="scale" x="{sx:.1}" y="{y1:.1}" font-size="12" text-anchor="end" fill="currentColor">{top_label}</text><text class="scale" x="{sx:.1}" y="{y2:.1}" font-size="12" text-anchor="end" fill="currentColor">{bottom_label}</text>"#,
        top = f.top,
        w = W - LEFT - RIGHT,
        ty = f.top - 8.0,
        sx = LEFT - 6.0,
        y1 = f.top + 12.0,
        y2 = f.top + BAND,
        title = escape(title),
        top_label = escape(top_label),
        bottom_label = escape(bottom_label),
    );
}

/// The chart of an incident, as a standalone `<svg>` element.
pub fn svg(chart: &IncidentChart, words: &PlotWords) -> String {
    let labels = &words.labels;
    let t0 = ms(&chart.from);
    let t1 = ms(&chart.to);
    let bands = match &chart.series {
        ChartSeries::Queue { .. } => 2,
        _ => 1,
    };
    let h = TOP + bands as f64 * BAND + (bands - 1) as f64 * GAP + AXIS;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="incident-chart" viewBox="0 0 {W} {h}" role="img" aria-label="{}" font-family="system-ui, sans-serif" style="color:inherit">"#,
        escape(&chart.scope)
    );
    let frame = |band: usize, lo: f64, hi: f64| Frame {
        t0,
        t1,
        top: TOP + band as f64 * (BAND + GAP),
        lo,
        hi,
    };
    match &chart.series {
        ChartSeries::Queue {
            service_level_target,
            points,
        } => {
            let max = points.iter().map(|p| p.waiting).max().unwrap_or(0) as f64;
            let hi = (max * 1.15).max(5.0).ceil();
            let f = frame(0, 0.0, hi);
            band_frame(&mut out, &f, labels.waiting, &format!("{hi}"), "0");
            out += &lines(
                &f,
                points
                    .iter()
                    .map(|p| (ms(&p.at), Some(f64::from(p.waiting)))),
                "line waiting",
                false,
            );
            let low = points
                .iter()
                .filter_map(|p| p.service_level)
                .fold(*service_level_target, f64::min);
            let lo = ((low - 0.05) * 10.0).floor().max(0.0) / 10.0;
            let f = frame(1, lo, 1.0);
            band_frame(
                &mut out,
                &f,
                &format!(
                    "{} ({} {:.0}%)",
                    labels.service_level,
                    labels.target,
                    service_level_target * 100.0
                ),
                "100%",
                &format!("{:.0}%", lo * 100.0),
            );
            let ty = f.y(*service_level_target);
            let _ = write!(
                out,
                r#"<line class="target" x1="{LEFT}" x2="{x2:.1}" y1="{ty:.1}" y2="{ty:.1}" stroke="currentColor" stroke-dasharray="6 4" stroke-opacity="0.6"/>"#,
                x2 = W - RIGHT
            );
            out += &lines(
                &f,
                points.iter().map(|p| (ms(&p.at), p.service_level)),
                "line service-level",
                false,
            );
        }
        ChartSeries::Complaints { points, .. } => {
            let max = points
                .iter()
                .map(|p| f64::from(p.count).max(p.usual.unwrap_or(0.0)))
                .fold(0.0, f64::max);
            let hi = (max * 1.15).max(5.0).ceil();
            let f = frame(0, 0.0, hi);
            band_frame(
                &mut out,
                &f,
                &format!("{} · {} (- -)", labels.complaints, labels.usual),
                &format!("{hi}"),
                "0",
            );
            out += &lines(
                &f,
                points.iter().map(|p| (ms(&p.at), p.usual)),
                "line usual",
                true,
            );
            out += &lines(
                &f,
                points.iter().map(|p| (ms(&p.at), Some(f64::from(p.count)))),
                "line count",
                false,
            );
        }
        ChartSeries::None => {
            let f = frame(0, 0.0, 1.0);
            band_frame(&mut out, &f, labels.no_series, "", "");
        }
    }
    let has_points = match &chart.series {
        ChartSeries::Queue { points, .. } => !points.is_empty(),
        ChartSeries::Complaints { points, .. } => !points.is_empty(),
        ChartSeries::None => true,
    };
    if !has_points {
        let _ = write!(
            out,
            r#"<text class="no-figures" x="{x:.1}" y="{y:.1}" font-size="16" text-anchor="middle" fill="currentColor">{}</text>"#,
            escape(labels.no_figures),
            x = W / 2.0,
            y = TOP + BAND / 2.0
        );
    }
    // The time axis: about six ticks on round minutes.
    let f = frame(0, 0.0, 1.0);
    let axis_y = h - AXIS + 4.0;
    let span_min = ((t1 - t0) / 60_000.0).max(1.0);
    let step_min = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 180.0, 360.0, 720.0, 1440.0,
    ]
    .into_iter()
    .find(|s| span_min / s <= 7.0)
    .unwrap_or(1440.0);
    let step = step_min * 60_000.0;
    let mut tick = (t0 / step).ceil() * step;
    while tick <= t1 {
        let x = f.x(tick);
        let at = Timestamp::from_timestamp_millis(tick as i64).unwrap_or_default();
        let _ = write!(
            out,
            r#"<text class="tick" x="{x:.1}" y="{y:.1}" font-size="12" text-anchor="middle" fill="currentColor">{}</text>"#,
            escape(&(words.clock)(at)),
            y = axis_y + 12.0
        );
        tick += step;
    }
    // The timeline's events, across every band; their names staggered over three rows so that
    // events close together stay readable.
    let bottom = h - AXIS;
    let mut row_free = [f64::NEG_INFINITY; 3];
    for m in &chart.marks {
        let x = f.x(ms(&m.at));
        let name = (words.mark)(m.kind);
        let width = name.chars().count() as f64 * 7.5 + 8.0;
        let row = (0..LABEL_ROWS.len())
            .find(|r| row_free[*r] <= x)
            .unwrap_or(0);
        row_free[row] = x + width;
        let _ = write!(
            out,
            r#"<g class="mark mark-{kind}" data-kind="{kind}"><title>{name} {time}</title><line x1="{x:.1}" x2="{x:.1}" y1="{y1:.1}" y2="{bottom:.1}" stroke="currentColor" stroke-width="2" stroke-dasharray="{dash}"/><text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="currentColor">{name}</text></g>"#,
            kind = m.kind.as_str(),
            name = escape(&name),
            time = escape(&(words.clock)(m.at)),
            y1 = LABEL_ROWS[row] + 2.0,
            dash = if m.kind == TimelineKind::Escalated {
                "2 3"
            } else {
                "none"
            },
            tx = x + 3.0,
            ty = LABEL_ROWS[row],
        );
    }
    out += "</svg>";
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChartMark, CountPoint, TrendPoint};

    fn at(s: i64) -> Timestamp {
        Timestamp::from_timestamp(1_795_000_000 + s, 0).unwrap()
    }

    fn words() -> PlotWords<'static> {
        PlotWords {
            labels: Labels {
                waiting: "Waiting",
                service_level: "Service level",
                target: "target",
                complaints: "Complaints",
                usual: "usual",
                no_figures: "No figures kept for this time",
                no_series: "Only its events",
            },
            mark: &|k| k.as_str().to_string(),
            clock: &|t| t.format("%H:%M").to_string(),
        }
    }

    #[test]
    fn a_queue_chart_has_both_bands_the_target_and_every_mark() {
        let points = (0..10)
            .map(|i| TrendPoint {
                at: at(i * 60),
                waiting: (i * 3) as u32,
                longest_wait_s: 0.0,
                service_level: (i != 4).then_some(0.9 - i as f64 * 0.05),
                asa_s: None,
                abandonment_rate: None,
            })
            .collect();
        let chart = IncidentChart {
            incident_id: 7,
            scope: "phone-<a>".into(),
            from: at(0),
            to: at(540),
            step_s: 60,
            series: ChartSeries::Queue {
                service_level_target: 0.8,
                points,
            },
            marks: vec![
                ChartMark {
                    at: at(120),
                    kind: TimelineKind::Opened,
                },
                ChartMark {
                    at: at(300),
                    kind: TimelineKind::Acknowledged,
                },
            ],
        };
        let s = svg(&chart, &words());
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("phone-&lt;a&gt;"), "names are escaped");
        assert_eq!(s.matches("class=\"line waiting\"").count(), 1);
        assert_eq!(
            s.matches("class=\"line service-level\"").count(),
            2,
            "a missing service level breaks its line"
        );
        assert!(s.contains("class=\"target\""));
        assert!(s.contains(r#"data-kind="opened""#) && s.contains(r#"data-kind="acknowledged""#));
        assert!(s.contains(">Waiting<") && s.contains("target 80%"));
        assert!(s.matches("class=\"tick\"").count() >= 3);
    }

    #[test]
    fn a_complaint_chart_and_an_empty_one() {
        let chart = IncidentChart {
            incident_id: 1,
            scope: "category:network".into(),
            from: at(0),
            to: at(600),
            step_s: 30,
            series: ChartSeries::Complaints {
                window_s: 600,
                points: vec![CountPoint {
                    at: at(60),
                    count: 12,
                    usual: Some(1.5),
                }],
            },
            marks: vec![],
        };
        let s = svg(&chart, &words());
        assert!(s.contains("line count") && s.contains("line usual"));
        assert!(!s.contains("No figures"));
        let empty = IncidentChart {
            series: ChartSeries::Complaints {
                window_s: 600,
                points: vec![],
            },
            ..chart
        };
        assert!(svg(&empty, &words()).contains("No figures kept for this time"));
        let none = IncidentChart {
            series: ChartSeries::None,
            marks: vec![ChartMark {
                at: at(60),
                kind: TimelineKind::Opened,
            }],
            ..empty
        };
        let s = svg(&none, &words());
        assert!(s.contains("Only its events") && !s.contains("No figures kept"));
        assert!(s.contains(r#"data-kind="opened""#), "{s}");
    }
}
