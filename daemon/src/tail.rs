//! `floorwatch tail`: the live stream in a terminal. It keeps a `LiveState` exactly as the
//! wall-board does, redraws a table of queues and open incidents on every frame, reconnects by
//! itself with backoff, and says since when its figures are stale when the daemon goes quiet.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};
use floorwatch_protocol::{LiveFrame, LiveState, Severity, Timestamp};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

pub struct TailOptions {
    /// The daemon's address, `http://host:port`.
    pub url: String,
    pub token: Option<String>,
    /// Print the first full picture and stop.
    pub once: bool,
    /// Print each picture below the last instead of redrawing the screen.
    pub plain: bool,
}

/// No frame for this long (heartbeats come every 2 s by default) and the figures are stale.
const STALE_AFTER: Duration = Duration::from_secs(5);

pub async fn run(opts: TailOptions) -> anyhow::Result<()> {
    let ws_url = live_url(&opts.url, opts.token.as_deref())?;
    let mut backoff = Duration::from_millis(500);
    let mut state = LiveState::default();
    // Since when the figures on screen are old: the daemon's time of the last frame.
    let stale_since = |s: &LiveState| Some(s.at.unwrap_or_else(chrono::Utc::now));
    loop {
        match tokio_tungstenite::connect_async(ws_url.as_str()).await {
            Ok((mut socket, _)) => loop {
                let next = tokio::time::timeout(STALE_AFTER, socket.next()).await;
                let text = match next {
                    Err(_) => {
                        draw(&opts, &render(&state, stale_since(&state)));
                        continue;
                    }
                    Ok(Some(Ok(Message::Text(t)))) => t,
                    Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break,
                    Ok(Some(Ok(_))) => continue,
                };
                let frame: LiveFrame = serde_json::from_str(&text)
                    .with_context(|| format!("a live frame the daemon sent: {text:.200}"))?;
                if matches!(frame, LiveFrame::Snapshot(_)) {
                    backoff = Duration::from_millis(500);
                }
                if state.apply(frame).is_err() {
                    break; // missed frames: start over from a snapshot
                }
                draw(&opts, &render(&state, None));
                if opts.once {
                    return Ok(());
                }
            },
            Err(e) if state.seq.is_none() && opts.once => {
                bail!("reaching the live stream at {ws_url}: {e}")
            }
            Err(_) => {}
        }
        // Cut off: the figures on screen are now stale.
        draw(&opts, &render(&state, stale_since(&state)));
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// `http://host:port` to `ws://host:port/api/v1/live?token=...`.
pub fn live_url(base: &str, token: Option<&str>) -> anyhow::Result<String> {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_string()
    } else {
        bail!("the daemon's URL must start with http:// or https://, got \"{base}\"");
    };
    Ok(match token {
        Some(t) => format!("{ws}/api/v1/live?token={t}"),
        None => format!("{ws}/api/v1/live"),
    })
}

fn draw(opts: &TailOptions, text: &str) {
    let mut out = std::io::stdout().lock();
    if !opts.plain {
        // Home and clear: redraw in place.
        let _ = write!(out, "\x1b[H\x1b[2J");
    }
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// The picture as text: a header, a row per queue, a row per open incident. `stale_since` is set
/// when no frame has come for a while.
pub fn render(state: &LiveState, stale_since: Option<Timestamp>) -> String {
    let mut s = String::new();
    let at = state
        .at
        .map_or("--:--:--".to_string(), |t| t.format("%H:%M:%S").to_string());
    let _ = writeln!(s, "Floorwatch live  {at}");
    if let Some(since) = stale_since {
        let _ = writeln!(
            s,
            "!! STALE: no data since {} (reconnecting); the figures below are old",
            since.format("%H:%M:%S")
        );
    }
    if state.seq.is_none() {
        let _ = writeln!(s, "waiting for the first snapshot...");
        return s;
    }
    let _ = writeln!(
        s,
        "\n{:<4} {:<22} {:>7} {:>9} {:>12} {:>7} {:>7} {:>6}",
        "", "QUEUE", "WAITING", "LONGEST", "SL / TARGET", "ASA", "ABAND", "AGENTS"
    );
    for q in &state.queues {
        let worst = state.incidents_on(&q.queue).map(|i| i.severity).max();
        let flag = match worst {
            _ if q.stale.is_some() => "[--]",
            Some(Severity::Critical | Severity::Crisis) => "[!!]",
            Some(_) => "[! ]",
            None if q
                .service_level
                .is_some_and(|sl| sl < q.service_level_target) =>
            {
                "[! ]"
            }
            None => "[ok]",
        };
        let sl = q
            .service_level
            .map_or("-".into(), |v| format!("{:.0}%", v * 100.0));
        let _ = writeln!(
            s,
            "{flag:<4} {:<22} {:>7} {:>9} {:>12} {:>7} {:>7} {:>6}",
            q.queue,
            q.waiting,
            mmss(q.longest_wait_s),
            format!("{sl} / {:.0}%", q.service_level_target * 100.0),
            q.asa_s.map_or("-".into(), |v| format!("{v:.0}s")),
            q.abandonment_rate
                .map_or("-".into(), |v| format!("{:.1}%", v * 100.0)),
            q.agents_available.map_or("-".into(), |v| v.to_string()),
        );
        if let Some(f) = &q.stale {
            let _ = writeln!(
                s,
                "     no data from {} since {} ({} silent): figures stale",
                f.source,
                f.last_seen.format("%H:%M:%S UTC"),
                mmss(f.silent_s)
            );
        }
    }
    for l in state.health.failing() {
        let _ = writeln!(
            s,
            "LINK FAILING: {} since {} ({} of {} in the last hour failed){}",
            l.name,
            l.failing_since
                .map(|t| t.format("%H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            l.failures_1h,
            l.attempts_1h,
            l.last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    let folded = floorwatch_protocol::situations(&state.incidents);
    let _ = writeln!(
        s,
        "\nOPEN SITUATIONS ({}; {} incidents)",
        folded.len(),
        state.incidents.len()
    );
    for sit in &folded {
        let i = sit.lead;
        let ack = match &i.acknowledged_by {
            Some(by) => format!("ack by {by}"),
            None => "NOT ACKED".into(),
        };
        let level = i
            .escalation
            .as_ref()
            .map_or(String::new(), |e| format!(" L{}", e.level));
        let age = state
            .at
            .map_or(0.0, |now| (now - i.opened_at).num_seconds().max(0) as f64);
        let _ = writeln!(
            s,
            "#{:<5} {:<8} {:>6}{level:<4} {:<11} {}{}",
            i.id,
            i.severity.as_str().to_uppercase(),
            mmss(age),
            ack,
            if i.drill { "[DRILL] " } else { "" },
            i.title
        );
        if !sit.members.is_empty() {
            let also: Vec<String> = sit
                .members
                .iter()
                .map(|m| format!("#{} {} {}", m.id, m.severity.as_str(), m.scope))
                .collect();
            let _ = writeln!(s, "       + {}", also.join(", "));
        }
    }
    s
}

fn mmss(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::{Incident, LiveSnapshot, QueueMetrics, Values};

    #[test]
    fn urls_and_the_picture() {
        assert_eq!(
            live_url("http://127.0.0.1:8070/", Some("t1")).unwrap(),
            "ws://127.0.0.1:8070/api/v1/live?token=t1"
        );
        assert!(live_url("127.0.0.1:8070", None).is_err());
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let mut state = LiveState::default();
        assert!(render(&state, None).contains("waiting for the first snapshot"));
        let mut inc = Incident::new(
            7,
            "depth".into(),
            "queue_depth".into(),
            "phone".into(),
            Severity::Critical,
            "Queue phone: 40 waiting".into(),
            at - chrono::Duration::seconds(95),
            Values::new(),
        );
        inc.acknowledged_by = Some("alice".into());
        let mut member = Incident::new(
            8,
            "wait".into(),
            "longest_wait".into(),
            "phone-b".into(),
            Severity::Warning,
            "phone-b: oldest waiting 2m".into(),
            at,
            Values::new(),
        );
        member.situation = Some(7);
        state
            .apply(LiveFrame::Snapshot(LiveSnapshot {
                seq: 1,
                at,
                queues: vec![
                    QueueMetrics {
                        queue: "phone".into(),
                        waiting: 40,
                        longest_wait_s: 125.0,
                        service_level: Some(0.5),
                        service_level_target: 0.8,
                        ..Default::default()
                    },
                    QueueMetrics {
                        queue: "chat".into(),
                        ..Default::default()
                    },
                    QueueMetrics {
                        queue: "email".into(),
                        stale: Some(floorwatch_protocol::StaleFeed {
                            source: "mailbox".into(),
                            last_seen: "2026-11-23T09:42:00Z".parse().unwrap(),
                            silent_s: 300.0,
                            after_s: 60.0,
                        }),
                        ..Default::default()
                    },
                ],
                incidents: vec![inc, member],
                trends: vec![],
                trend_step_s: 30,
                trend_len: 60,
                health: Default::default(),
                complaints: Default::default(),
            }))
            .unwrap();
        let text = render(&state, None);
        let phone = text.lines().find(|l| l.contains("phone ")).unwrap();
        assert!(
            phone.starts_with("[!!]") && phone.contains("2:05"),
            "{phone}"
        );
        assert!(phone.contains("50% / 80%"), "{phone}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("[ok]") && l.contains("chat"))
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("[--]") && l.contains("email")),
            "{text}"
        );
        assert!(
            text.contains("no data from mailbox since 09:42:00 UTC (5:00 silent)"),
            "{text}"
        );
        assert!(text.contains("#7") && text.contains("1:35") && text.contains("ack by alice"));
        // The member is folded under its situation's lead, not listed on its own.
        assert!(text.contains("OPEN SITUATIONS (1; 2 incidents)"), "{text}");
        assert!(text.contains("+ #8 warning phone-b"), "{text}");
        assert!(!text.contains("oldest waiting 2m"), "{text}");
        assert!(!text.contains("STALE"));
        assert!(render(&state, Some(at)).contains("STALE: no data since"));
    }
}
