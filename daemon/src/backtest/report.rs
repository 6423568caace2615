//! The backtest report as Markdown, for a floor manager: the headline first, then where the
//! pages came from, then (with labels) the crises caught and the hard negatives kept quiet.

use std::fmt::Write;

use super::{Count, Report};
use crate::sim::Expect;

fn secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn table(out: &mut String, title: &str, what: &str, rows: &[Count], limit: usize) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### {title}\n\n| {what} | page decisions |\n| --- | ---: |"
    );
    for c in rows.iter().take(limit) {
        let _ = writeln!(out, "| {} | {} |", c.name, c.pages);
    }
    if rows.len() > limit {
        let _ = writeln!(out, "| ... {} more | |", rows.len() - limit);
    }
}

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Backtest: {}\n", r.source);
    let _ = writeln!(
        o,
        "{} to {} ({:.1} days, {} queues).\n",
        r.from.format("%Y-%m-%d %H:%M UTC"),
        r.to.format("%Y-%m-%d %H:%M UTC"),
        r.days,
        r.queues
    );
    let _ = writeln!(
        o,
        "**{} page decisions** ({:.2} per queue-week; {} at crisis severity) for {} incidents paged of {} opened; {} pages counted per target. Nobody acknowledges in a backtest: a lasting incident pages again at each escalation.\n",
        r.page_decisions,
        r.pages_per_queue_week,
        r.crisis_pages,
        r.incidents_paged,
        r.incidents_opened,
        r.pages
    );
    if r.drill_pages > 0 {
        let _ = writeln!(
            o,
            "Drills paged {} times (not counted above).\n",
            r.drill_pages
        );
    }
    let _ = writeln!(
        o,
        "Events: {} read, {} accepted, {} duplicates, {} refused; replayed in {:.2} s ({:.0} events/s).",
        r.events, r.accepted, r.duplicates, r.refused, r.replay_secs, r.events_per_s
    );
    for x in &r.refusals {
        let _ = writeln!(o, "- refused: {x}");
    }
    if let Some(l) = &r.labels {
        let _ = writeln!(o, "\n## Against the labels\n");
        match l.recall {
            Some(rc) => {
                let _ = writeln!(
                    o,
                    "- **Crises caught: {} of {}** (recall {:.0}%)",
                    l.caught,
                    l.crises,
                    rc * 100.0
                );
            }
            None => {
                let _ = writeln!(o, "- No crisis in the labels.");
            }
        }
        for d in &l.delays {
            let _ = writeln!(
                o,
                "- {} crises: {} of {} caught, median delay {} (target {})",
                d.class.as_str(),
                d.caught,
                d.crises,
                d.median_delay_s.map_or("-".into(), secs),
                secs(d.target_s)
            );
        }
        let _ = writeln!(
            o,
            "- **False pages: {}** ({:.2} per queue-week): pages that match no crisis",
            l.false_pages, l.false_pages_per_queue_week
        );
        let _ = writeln!(
            o,
            "- Pages during hard negatives (should be 0): {}",
            l.hard_negative_pages
        );
        let _ = writeln!(
            o,
            "\n| label | expected | result | delay | first page | pages by target |\n| --- | --- | --- | ---: | --- | --- |"
        );
        for x in &l.outcomes {
            let result = match (x.label.expect, x.caught, x.page_decisions) {
                (Expect::Page, true, _) => "caught".to_string(),
                (Expect::Page, false, _) => "**missed**".to_string(),
                (Expect::Quiet, _, 0) => "quiet".to_string(),
                (Expect::Quiet, _, n) => format!("**{n} pages**"),
            };
            let targets: Vec<String> = x
                .by_target
                .iter()
                .map(|c| format!("{} {}", c.name, c.pages))
                .collect();
            let _ = writeln!(
                o,
                "| {} ({}, {}) | {} | {} | {} | {} | {} |",
                x.label.name,
                x.label.from.format("%a %d %H:%M UTC"),
                secs((x.label.to - x.label.from).num_milliseconds() as f64 / 1000.0),
                match x.label.expect {
                    Expect::Page => "page",
                    Expect::Quiet => "quiet",
                },
                result,
                x.delay_s.map_or("-".into(), secs),
                x.first_page.as_deref().unwrap_or("-"),
                targets.join(", ")
            );
        }
        table(&mut o, "False pages by rule", "rule", &l.false_by_rule, 20);
    }
    let _ = writeln!(o, "\n## Where the pages came from");
    table(&mut o, "By rule", "rule", &r.by_rule, 20);
    table(
        &mut o,
        "By scope",
        "queue or complaint group",
        &r.by_scope,
        20,
    );
    table(&mut o, "By day", "day", &r.by_day, 62);
    let _ = writeln!(o, "\n### By target\n\n| target | pages |\n| --- | ---: |");
    for c in &r.by_target {
        let _ = writeln!(o, "| {} | {} |", c.name, c.pages);
    }
    o
}
