//! Feeding recorded events through an engine on a virtual clock: the clock follows the events'
//! own times and ticks every `step` of event time, exactly as the live daemon would have ticked.

use floorwatch_protocol::{IngestReport, Refusal};

use super::decode::{decode, validate};
use crate::config::Millis;
use crate::engine::{Applied, Effect, Engine, Event};

/// Events applied between two evaluations when the clock does not tick (a batch, as over HTTP).
const SETTLE_EVERY: u32 = 256;

pub struct Replay {
    step: Millis,
    next_tick: Option<Millis>,
    unsettled: u32,
    pub report: IngestReport,
}

impl Replay {
    pub fn new(step: Millis) -> Self {
        Self {
            step: step.max(1),
            next_tick: None,
            unsettled: 0,
            report: IngestReport::default(),
        }
    }

    /// Runs the clock up to `at` (ticking on the way), then applies the event.
    pub fn push(
        &mut self,
        engine: &mut Engine,
        ev: &Event,
        fx: &mut Vec<Effect>,
    ) -> Result<Applied, crate::engine::Refused> {
        let at = ev.at();
        self.run_until(engine, at, fx);
        engine.set_clock(at);
        let r = engine.apply(ev);
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

    /// Ticks every step up to and including `until`.
    pub fn run_until(&mut self, engine: &mut Engine, until: Millis, fx: &mut Vec<Effect>) {
        let next = self.next_tick.get_or_insert(until);
        while *next <= until {
            engine.settle(fx);
            engine.tick(*next, fx);
            *next += self.step;
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
        for item in decode(text) {
            let ev = item
                .wire
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|w| validate(w, item.line, item.index));
            match ev {
                Ok(ev) => {
                    if let Err(r) = self.push(engine, &ev, fx) {
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
            after(fx);
        }
    }
}

/// The time of the first event in a text, to start an engine's clock at.
pub fn first_time(text: &str) -> Option<Millis> {
    decode(text).iter().find_map(|i| {
        let w = i.wire.as_ref().ok()?;
        validate(w, i.line, i.index).ok().map(|e| e.at())
    })
}
