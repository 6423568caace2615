//! Feeding recorded events through an engine on a virtual clock: the clock follows the events'
//! own times and ticks every `step` of event time, exactly as the live daemon would have ticked;
//! idle stretches (nothing open, the windows empty) are skipped instead of ticked through, so a
//! trace with a gap of years replays as fast as one without.

use std::sync::Arc;
use std::time::{Duration, Instant};

use floorwatch_protocol::{IngestReport, Refusal};

use super::decode::{decode, validate};
use crate::config::{Config, Millis};
use crate::engine::{Applied, Effect, Engine, Event, UNNAMED};

/// Events applied between two evaluations when the clock does not tick (a batch, as over HTTP).
const SETTLE_EVERY: u32 = 256;

pub struct Replay {
    step: Millis,
    next_tick: Option<Millis>,
    /// Time of the latest event pushed.
    last_event: Millis,
    unsettled: u32,
    /// Ticks run so far (idle stretches skipped are not counted).
    pub ticks: u64,
    pub report: IngestReport,
}

impl Replay {
    pub fn new(step: Millis) -> Self {
        Self {
            step: step.max(1),
            next_tick: None,
            last_event: Millis::MIN,
            unsettled: 0,
            ticks: 0,
            report: IngestReport::default(),
        }
    }

    /// Runs the clock up to `at` (ticking on the way), then applies the event from `source`.
    pub fn push(
        &mut self,
        engine: &mut Engine,
        source: &str,
        ev: &Event,
        fx: &mut Vec<Effect>,
    ) -> Result<Applied, crate::engine::Refused> {
        let at = ev.at();
        self.run_until(engine, at, fx);
        engine.set_clock(at);
        self.last_event = self.last_event.max(at);
        let r = engine.apply_from(source, ev);
        match &r {
            Ok(Applied::New) => self.report.accepted += 1,
            Ok(Applied::Duplicate) => self.report.duplicates += 1,
            Err(_) => {}
        }
        self.unsettled += 1;
        if self.unsettled >= SETTLE_EVERY {
            engine.settle(fx);
            self.unsettled = 0;
        }
        r
    }

    /// Ticks every step up to and including `until`, skipping whole steps while the engine is
    /// idle and the last event is more than its quiet span behind.
    pub fn run_until(&mut self, engine: &mut Engine, until: Millis, fx: &mut Vec<Effect>) {
        let step = self.step;
        let quiet = engine.quiet_span();
        // Idleness is checked from the end of the quiet span on, then once per quiet span.
        let mut check_at = self.last_event.saturating_add(quiet);
        let next = self.next_tick.get_or_insert(until);
        while *next <= until {
            if *next >= check_at && until - *next > step {
                check_at = next.saturating_add(quiet);
                if engine.is_idle() {
                    *next += (until - *next) / step * step;
                }
            }
            engine.settle(fx);
            engine.tick(*next, fx);
            self.ticks += 1;
            *next += step;
        }
    }

    pub fn finish(&mut self, engine: &mut Engine, fx: &mut Vec<Effect>) {
        engine.settle(fx);
        self.unsettled = 0;
    }

    /// Feeds an NDJSON (or JSON) text; bad events are counted as refused with their line.
    pub fn feed_text(
        &mut self,
        engine: &mut Engine,
        text: &str,
        fx: &mut Vec<Effect>,
        mut after: impl FnMut(&mut Vec<Effect>),
    ) {
        self.feed_paced(engine, text, fx, None, |_, fx| after(fx));
    }

    /// Like `feed_text`, optionally paced (see `Pace`); `after` is also told the engine's time.
    pub fn feed_paced(
        &mut self,
        engine: &mut Engine,
        text: &str,
        fx: &mut Vec<Effect>,
        pace: Option<&Pace>,
        mut after: impl FnMut(Millis, &mut Vec<Effect>),
    ) {
        for item in decode(text) {
            let ev = item.wire.as_ref().map_err(Clone::clone).and_then(|w| {
                let source = w.source().unwrap_or(UNNAMED);
                validate(w, item.line, item.index).map(|ev| (source, ev))
            });
            match ev {
                Ok((source, ev)) => {
                    if let Some(p) = pace {
                        p.wait_for(ev.at());
                    }
                    if let Err(r) = self.push(engine, source, &ev, fx) {
                        self.report.refused.push(Refusal {
                            line: item.line,
                            index: item.index,
                            field: r.field.map(str::to_string),
                            error: r.reason,
                        });
                    }
                }
                Err(r) => self.report.refused.push(r),
            }
            after(engine.now(), fx);
        }
    }
}

/// Plays events at `speed` times real time: each waits until its time, counted from the first
/// event, has come on the wall clock.
pub struct Pace {
    pub speed: f64,
    pub start: Millis,
    pub began: Instant,
}

impl Pace {
    fn wait_for(&self, at: Millis) {
        let due =
            Duration::from_secs_f64(((at - self.start) as f64 / 1000.0 / self.speed).max(0.0));
        if let Some(wait) = due.checked_sub(self.began.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

/// A whole replay, done.
pub struct Replayed {
    pub engine: Engine,
    pub replay: Replay,
    /// Events read (accepted, duplicates and refused).
    pub events: usize,
    /// Time of the first valid event, and the engine's time at the end.
    pub from: Millis,
    pub to: Millis,
    /// Wall time it took.
    pub secs: f64,
}

/// Replays NDJSON texts, in order, through a fresh engine started at the first valid event's
/// time, as `floorwatch replay` and `floorwatch backtest` do: decode, validate and push each
/// event on the virtual clock, then tick one step past the last and settle. `after` is handed
/// the engine's time and its effects after every event and at the end. `None` when the texts
/// hold no valid event.
pub fn replay_texts<S: AsRef<str>>(
    cfg: &Arc<Config>,
    texts: &[S],
    speed: Option<f64>,
    mut after: impl FnMut(Millis, &mut Vec<Effect>),
) -> Option<Replayed> {
    let from = texts.iter().find_map(|t| first_time(t.as_ref()))?;
    let mut engine = Engine::new(cfg.clone(), from);
    let mut replay = Replay::new(cfg.daemon.tick);
    let mut fx = Vec::new();
    let began = Instant::now();
    let pace = speed.map(|speed| Pace {
        speed,
        start: from,
        began,
    });
    for text in texts {
        replay.feed_paced(
            &mut engine,
            text.as_ref(),
            &mut fx,
            pace.as_ref(),
            &mut after,
        );
    }
    let end = engine.now() + cfg.daemon.tick;
    replay.run_until(&mut engine, end, &mut fx);
    replay.finish(&mut engine, &mut fx);
    after(engine.now(), &mut fx);
    let r = &replay.report;
    let events = (r.accepted + r.duplicates) as usize + r.refused.len();
    Some(Replayed {
        to: engine.now(),
        engine,
        replay,
        events,
        from,
        secs: began.elapsed().as_secs_f64(),
    })
}

/// The time of the first event in a text, to start an engine's clock at.
pub fn first_time(text: &str) -> Option<Millis> {
    decode(text).iter().find_map(|i| {
        let w = i.wire.as_ref().ok()?;
        validate(w, i.line, i.index).ok().map(|e| e.at())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{EMBEDDED, parse_config};

    #[test]
    fn idle_stretches_are_skipped_and_busy_ones_ticked() {
        let cfg = Arc::new(parse_config(EMBEDDED, "alerts.toml", None).unwrap());
        let trace = concat!(
            r#"{"type":"queue","queue":"phone-general","at":"2026-11-23T09:00:00Z","waiting":2}"#,
            "\n",
            r#"{"type":"queue","queue":"phone-general","at":"2026-11-29T09:00:00Z","waiting":2}"#,
            "\n",
        );
        let mut engine = Engine::new(cfg.clone(), first_time(trace).unwrap());
        let mut replay = Replay::new(cfg.daemon.tick);
        let mut fx = Vec::new();
        replay.feed_text(&mut engine, trace, &mut fx, |fx| fx.clear());
        assert_eq!(replay.report.accepted, 2);
        // Six days at 250 ms would be 2 M ticks; only the quiet span after the first event is
        // ticked.
        let quiet_ticks = (engine.quiet_span() / cfg.daemon.tick) as u64;
        assert!(replay.ticks <= quiet_ticks + 10, "{} ticks", replay.ticks);
        assert!(replay.ticks >= quiet_ticks / 2, "{} ticks", replay.ticks);

        // A contact left open keeps the engine busy: it is ticked through.
        let open = concat!(
            r#"{"type":"contact","id":"c-1","queue":"phone-general","event":"arrived","at":"2026-11-23T09:00:00Z"}"#,
            "\n",
            r#"{"type":"queue","queue":"phone-general","at":"2026-11-23T12:00:00Z","waiting":2}"#,
            "\n",
        );
        let mut engine = Engine::new(cfg.clone(), first_time(open).unwrap());
        let mut replay = Replay::new(cfg.daemon.tick);
        replay.feed_text(&mut engine, open, &mut fx, |fx| fx.clear());
        assert!(replay.ticks >= 3 * 3600 * 4, "{} ticks", replay.ticks);
    }
}
