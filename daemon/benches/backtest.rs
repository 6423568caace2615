//! The precision figures of the repository's alerts.toml, measured (not asserted):
//!
//!   cargo bench -p floorwatch --bench backtest
//!
//! - normal weeks (seeds 1-3, 7 days each) of the simulated center: every page is a false page;
//! - labelled weeks (seeds 1-3): one of each crisis and each hard negative; recall, median delay
//!   per class, false pages, pages during hard negatives;
//! - the Anonymous Bank's January 1999 (`../shared/real-data/anonymous-bank-1999/january.txt`
//!   from the workspace root), converted in memory, when present: its pages in 31 days.
//!
//! `FLOORWATCH_BENCH_CONFIG=path/to/alerts.toml` measures a candidate config instead.
//!
//! Each run replays as fast as it goes through `floorwatch::backtest::backtest`, the library
//! behind `floorwatch backtest`. Columns: `pages` = page decisions, `incidents` = incidents paged,
//! `/q-week` = page decisions per queue-week, `crisis` = crisis-severity page decisions, `recall`
//! = crises caught / crises, then the median delay per class (queue / complaints / email), false
//! page decisions per queue-week, and page decisions during hard negatives.

use std::path::Path;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime};
use floorwatch::backtest::{Report, backtest};
use floorwatch::config::{self, Config};
use floorwatch::sim::{self, Class, Scenario};
use floorwatch_protocol::{Channel, ContactEvent, ContactStep, Event};

/// 2026-11-23 00:00 in Shanghai (the center's time zone), a Monday.
const MONDAY: i64 = 1_795_363_200_000;
const WEEK: i64 = 7 * 86_400_000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var_os("FLOORWATCH_BENCH_CONFIG")
        .map_or_else(|| root.join("alerts.toml"), std::path::PathBuf::from);
    let cfg = Arc::new(config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    println!(
        "{:<18} {:>8} {:>7} {:>9} {:>6} {:>9} {:>8} {:>6} {:>7} {:>30} {:>10} {:>8}",
        "run",
        "events",
        "refused",
        "events/s",
        "pages",
        "incidents",
        "/q-week",
        "crisis",
        "recall",
        "median delay q/c/e/f",
        "false/q-wk",
        "hard-neg"
    );
    let mut normal = Vec::new();
    for seed in 1..=3 {
        let s = Scenario::mid_size_center(MONDAY, WEEK, seed);
        normal.push(run(&cfg, &format!("normal seed {seed}"), &s));
    }
    total("normal total", &normal);
    let mut labelled = Vec::new();
    for seed in 1..=3 {
        let s = Scenario::labelled(MONDAY, WEEK, seed);
        labelled.push(run(&cfg, &format!("labelled seed {seed}"), &s));
    }
    total("labelled total", &labelled);
    println!("\nlabelled weeks, per crisis:");
    for r in &labelled {
        for o in r.labels.iter().flat_map(|l| &l.outcomes) {
            if o.label.expect == sim::Expect::Page || o.page_decisions > 0 {
                println!(
                    "  {:<18} {:<16} {:<8} {:>5} pages  delay {:>8}  first: {}",
                    r.source,
                    o.label.name,
                    if o.label.expect == sim::Expect::Quiet {
                        "QUIET?"
                    } else if o.caught {
                        "caught"
                    } else {
                        "MISSED"
                    },
                    o.page_decisions,
                    o.delay_s.map_or("-".into(), |d| format!("{:.0}s", d)),
                    o.first_page.as_deref().unwrap_or("-")
                );
            }
        }
    }
    lead_times(&labelled);
    println!("\nnoisiest rules (all six weeks):");
    let mut rules: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in normal.iter().chain(&labelled) {
        for c in &r.by_rule {
            *rules.entry(&c.name).or_default() += c.pages;
        }
    }
    let mut rules: Vec<_> = rules.into_iter().collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (rule, n) in rules {
        println!("  {rule:<28} {n:>5}");
    }
    real_data(&cfg, &root);
}

fn run(cfg: &Arc<Config>, name: &str, s: &Scenario) -> Report {
    let text = sim::to_ndjson(&sim::simulate(s));
    let labels = s.labels();
    // A public holiday is in the center's calendar: the business-hours schedules (those that
    // list holidays) get the simulated one, as the floor would have written it in alerts.toml.
    let mut with_holidays = (**cfg).clone();
    for l in labels
        .labels
        .iter()
        .filter(|l| l.kind == sim::Kind::Holiday)
    {
        for sched in with_holidays.schedules.iter_mut() {
            if !sched.holidays.is_empty() {
                let day = l.from.with_timezone(&sched.timezone).date_naive();
                sched.holidays.push(day);
            }
        }
    }
    let cfg = &Arc::new(with_holidays);
    let r = backtest(cfg, &[text], Some(&labels), name).expect("the trace has events");
    line(name, &[&r]);
    r
}

fn total(name: &str, runs: &[Report]) {
    let refs: Vec<&Report> = runs.iter().collect();
    line(name, &refs);
}

/// One line of figures over one or more runs (pooled).
fn line(name: &str, runs: &[&Report]) {
    let sum = |f: &dyn Fn(&Report) -> f64| runs.iter().map(|r| f(r)).sum::<f64>();
    let queue_weeks = sum(&|r| r.queue_weeks());
    let per_qw = |n: f64| {
        if queue_weeks > 0.0 {
            format!("{:.2}", n / queue_weeks)
        } else {
            "-".into()
        }
    };
    let decisions = sum(&|r| r.page_decisions as f64);
    let labels: Vec<_> = runs.iter().filter_map(|r| r.labels.as_ref()).collect();
    let crises: usize = labels.iter().map(|l| l.crises).sum();
    let caught: usize = labels.iter().map(|l| l.caught).sum();
    let recall = if crises > 0 {
        format!("{caught}/{crises}")
    } else {
        "-".into()
    };
    let delays: Vec<String> = Class::ALL
        .into_iter()
        .map(|c| {
            let mut d: Vec<f64> = labels
                .iter()
                .flat_map(|l| &l.outcomes)
                .filter(|o| o.label.class == c && o.label.expect == sim::Expect::Page)
                .filter_map(|o| o.delay_s)
                .collect();
            d.sort_by(f64::total_cmp);
            match d.len() {
                0 => "-".into(),
                n if n % 2 == 1 => format!("{:.0}s", d[n / 2]),
                n => format!("{:.0}s", (d[n / 2 - 1] + d[n / 2]) / 2.0),
            }
        })
        .collect();
    let false_pages: usize = labels.iter().map(|l| l.false_pages).sum();
    let hard_neg: usize = labels.iter().map(|l| l.hard_negative_pages).sum();
    println!(
        "{:<18} {:>8} {:>7} {:>9.0} {:>6} {:>9} {:>8} {:>6} {:>7} {:>30} {:>10} {:>8}",
        name,
        sum(&|r| r.events as f64),
        sum(&|r| r.refused as f64),
        sum(&|r| r.events as f64) / sum(&|r| r.replay_secs),
        decisions,
        sum(&|r| r.incidents_paged as f64),
        per_qw(decisions),
        sum(&|r| r.crisis_pages as f64),
        recall,
        delays.join(" / "),
        per_qw(false_pages as f64),
        hard_neg
    );
}

/// The Anonymous Bank's January 1999, as Floorwatch events (see ../shared/real-data/README.md):
/// arrived at q_start (ser_start when it never queued), answered at ser_start, abandoned at
/// q_exit, resolved at ser_exit; queue `phone-<type>`; PHANTOM calls and calls that hung up in
/// the voice menu are left out. Local time (Israel, UTC+2 in January).
fn bank_events(text: &str) -> (Vec<Event>, usize) {
    let mut out: Vec<Event> = Vec::new();
    let mut skipped = 0;
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if f.len() < 17 {
            skipped += 1;
            continue;
        }
        let (Ok(date), outcome) = (NaiveDate::parse_from_str(f[5], "%y%m%d"), f[12]) else {
            skipped += 1;
            continue;
        };
        let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M:%S").ok();
        let midnight = NaiveTime::MIN;
        let at = |t: NaiveTime, after: Option<chrono::DateTime<chrono::Utc>>| {
            let mut dt = date.and_time(t).and_utc() - chrono::Duration::hours(2);
            if let Some(a) = after
                && dt < a
            {
                dt += chrono::Duration::days(1);
            }
            dt
        };
        let (Some(q_start), Some(q_exit), Some(s_start), Some(s_exit)) =
            (time(f[9]), time(f[10]), time(f[13]), time(f[14]))
        else {
            skipped += 1;
            continue;
        };
        let queued = q_start != midnight;
        if outcome == "PHANTOM" || (outcome == "HANG" && !queued) {
            continue;
        }
        let id = format!("bank-{}-{n}", f[1]);
        let queue = format!("phone-{}", f[4].trim().to_lowercase());
        let ev = |step, at, first: bool| {
            Event::Contact(ContactEvent {
                id: id.clone(),
                event: step,
                at,
                queue: first.then(|| queue.clone()),
                channel: first.then_some(Channel::Phone),
                priority: None,
                source: Some("bank-acd".into()),
            })
        };
        let arrived = at(if queued { q_start } else { s_start }, None);
        out.push(ev(ContactStep::Arrived, arrived, true));
        match outcome {
            "AGENT" => {
                let answered = at(s_start, Some(arrived));
                out.push(ev(ContactStep::Answered, answered, false));
                out.push(ev(ContactStep::Resolved, at(s_exit, Some(answered)), false));
            }
            _ => out.push(ev(ContactStep::Abandoned, at(q_exit, Some(arrived)), false)),
        }
    }
    out.sort_by_key(|e| e.at());
    (out, skipped)
}

fn real_data(cfg: &Arc<Config>, root: &Path) {
    let path = root.join("../shared/real-data/anonymous-bank-1999/january.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("\nreal data: {} is absent: skipped", path.display());
        return;
    };
    let (events, skipped) = bank_events(&text);
    let ndjson = sim::to_ndjson(&events);
    let Some(r) = backtest(cfg, &[ndjson], None, "anonymous bank, January 1999") else {
        println!("\nreal data: no valid event");
        return;
    };
    println!(
        "\nreal data: Anonymous Bank, January 1999 ({} events from {} rows, {} rows unreadable), {:.1} days, {} queues",
        r.events,
        text.lines().count() - 1,
        skipped,
        r.days,
        r.queues
    );
    println!(
        "  {} page decisions ({:.2} per queue-week, {} crisis) for {} incidents paged of {} opened; {} drill pages apart; {} refused, {:.0} events/s",
        r.page_decisions,
        r.pages_per_queue_week,
        r.crisis_pages,
        r.incidents_paged,
        r.incidents_opened,
        r.drill_pages,
        r.refused,
        r.events_per_s
    );
    for x in &r.refusals {
        println!("  refused: {x}");
    }
    let top = |rows: &[floorwatch::backtest::Count]| {
        rows.iter()
            .take(6)
            .map(|c| format!("{} {}", c.name, c.pages))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("  by rule: {}", top(&r.by_rule));
    println!("  by queue: {}", top(&r.by_scope));
    // Dead feeds in real data: when each silence opened (the file lacks 11-12 January).
    let silences: Vec<String> = r
        .openings
        .iter()
        .filter(|o| o.kind == "feed_silence")
        .map(|o| format!("{} {}", o.scope, o.at.format("%d %H:%M")))
        .collect();
    println!(
        "  feed silences opened ({}): {}",
        silences.len(),
        silences.join(", ")
    );
}

/// For each staffing drop: how long before the service level's own rule (`burn_rate`) opened
/// did the predicted service level (`predicted_service_level`) warn, on the same queue.
fn lead_times(runs: &[Report]) {
    println!("\npredicted service level, staffing drops: warning before the breach");
    let mut leads = Vec::new();
    for r in runs {
        for l in r.labels.iter().flat_map(|l| &l.outcomes) {
            if l.label.kind != sim::Kind::StaffingDrop {
                continue;
            }
            let first = |kind: &str| {
                r.openings
                    .iter()
                    .find(|o| {
                        o.kind == kind
                            && l.label.scopes.contains(&o.scope)
                            && o.at >= l.label.from
                            && o.at <= l.label.to + chrono::Duration::minutes(30)
                    })
                    .map(|o| o.at)
            };
            let (warned, breached) = (first("predicted_service_level"), first("burn_rate"));
            let lead = match (warned, breached) {
                (Some(w), Some(b)) => Some((b - w).num_seconds()),
                _ => None,
            };
            leads.extend(lead);
            println!(
                "  {:<18} {:<16} warned {:>6}  breached {:>6}  lead {}",
                r.source,
                l.label.name,
                warned.map_or("-".into(), |w| format!(
                    "+{}s",
                    (w - l.label.from).num_seconds()
                )),
                breached.map_or("-".into(), |b| format!(
                    "+{}s",
                    (b - l.label.from).num_seconds()
                )),
                lead.map_or("-".into(), |s| format!("{s}s"))
            );
        }
    }
    leads.sort();
    match leads.get(leads.len() / 2) {
        Some(m) if !leads.is_empty() => println!("  median lead {m}s over {} drops", leads.len()),
        _ => println!("  no drop had both a warning and a breach"),
    }
}
