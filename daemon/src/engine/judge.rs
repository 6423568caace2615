//! Judging: each rule kind fed its figures. A queue's rules read its window, response clocks,
//! burn rates, forecasts and trends (`evaluate_queue`); complaint rules read their groups against
//! the hour-of-week baseline, and the overdue complaints (`evaluate_complaints`); each verdict
//! steps its rule's instance on the scope (`step`), which opens, raises and clears incidents.

use super::*;

impl Engine {
    pub(super) fn evaluate_queue(&mut self, q: u16, fx: &mut Vec<Effect>) {
        let cfg = self.cfg.clone();
        // Rules judged only while a schedule is open (`active`); none: no work here.
        let season: Vec<bool> = if self.queues[q as usize].seasonal {
            self.queues[q as usize]
                .rules
                .clone()
                .iter()
                .map(|r| self.in_season(&cfg.rules[*r as usize]))
                .collect()
        } else {
            Vec::new()
        };
        let rt = &self.queues[q as usize];
        let profile = &cfg.queues[rt.state.profile];
        let mut metrics = rt.state.metrics(
            self.now,
            profile,
            cfg.daemon.snapshot_stale_after,
            rt.needs_erlang,
        );
        metrics.stale = self.stale(q);
        let scope = rt.scope;
        // Judge every rule first (cheap), then step them worst first, so a crisis opening in
        // this same pass holds back the lesser incidents.
        let mut judged = Vec::with_capacity(rt.rules.len());
        let mut forecasts = Vec::new();
        let mut samples = Vec::new();
        for (i, &r) in rt.rules.iter().enumerate() {
            let (reading, v) = match &cfg.rules[r as usize].kind {
                RuleKind::FeedSilence(f) => {
                    (QueueReading::Silence, f.judge(metrics.stale.as_ref()))
                }
                // Stale figures judge nothing: what is open stays open, nothing new opens.
                _ if metrics.stale.is_some() => continue,
                RuleKind::Threshold(t) => {
                    let now = self.now;
                    let schedules = &mut self.schedules;
                    let th = t.thresholds_now(|s| schedules[s].contains(now));
                    let slope = match (t.trend, t.value(&metrics)) {
                        (Some(_), Some(v)) => {
                            let past = &rt.response[i].samples;
                            if past.back().is_none_or(|(at, _)| now - at >= TREND_SAMPLE) {
                                samples.push((i, (now, v)));
                            }
                            let span = past.iter().copied().chain([(now, v)]);
                            threshold::slope(span.filter(|(at, _)| now - at <= TREND_SPAN))
                        }
                        _ => None,
                    };
                    (
                        QueueReading::Threshold(th, slope),
                        t.judge(&th, &metrics, slope),
                    )
                }
                RuleKind::ResponseTime(rr) => {
                    let resp = &rt.response[i];
                    let (n, a) = (resp.breaches.len() as u32, resp.approaching);
                    (QueueReading::Response(n, a), rr.judge(n, a))
                }
                // Nothing to predict while agents sit free and nobody waits (the rule cannot
                // fire), unless it has something open to clear: the model is the costly part.
                RuleKind::Predicted(_)
                    if metrics.waiting == 0
                        && metrics.agents_available.is_some_and(|a| a > 0)
                        && !self.busy(r, rt.scope) =>
                {
                    (QueueReading::Forecast(None), Verdict::quiet())
                }
                RuleKind::Predicted(p) => {
                    let now = self.now;
                    let fresh = rt.response[i]
                        .forecast
                        .filter(|(at, _)| now - at < FORECAST_EVERY && *at <= now);
                    let forecast = match fresh {
                        Some((_, f)) => f,
                        None => {
                            let usual = rt.state.arrivals.as_ref().and_then(|a| {
                                let hour = now.div_euclid(HOUR);
                                a.learned(hour, hour_of_week(now, &cfg))
                            });
                            let f = rt
                                .state
                                .forecast_inputs(&metrics, usual)
                                .and_then(|x| p.forecast(x));
                            forecasts.push((i, (now, f)));
                            f
                        }
                    };
                    (QueueReading::Forecast(forecast), p.judge(forecast.as_ref()))
                }
                RuleKind::BurnRate(b) => {
                    let Some(ledger) = &rt.state.ledger else {
                        continue;
                    };
                    let now = self.now;
                    let reading = b.read(profile.service_level_target, |w| {
                        let (met, missed) = ledger.counts(now, w, b.standard);
                        Counts { met, missed }
                    });
                    let v = b.judge(&reading);
                    (QueueReading::Burn(reading), v)
                }
                _ => continue,
            };
            let v = if season.get(i).copied().unwrap_or(true) {
                v
            } else {
                Verdict::quiet()
            };
            judged.push((r, reading, v));
        }
        for (i, f) in forecasts {
            self.queues[q as usize].response[i].forecast = Some(f);
        }
        for (i, sample) in samples {
            let past = &mut self.queues[q as usize].response[i].samples;
            past.push_back(sample);
            while past
                .front()
                .is_some_and(|(at, _)| sample.0 - at > TREND_SPAN)
            {
                past.pop_front();
            }
        }
        judged.sort_by_key(|(_, _, v)| std::cmp::Reverse(v.level));
        for (r, reading, v) in judged {
            let rule = &cfg.rules[r as usize];
            let describe = || match (&rule.kind, &reading) {
                (RuleKind::Threshold(t), QueueReading::Threshold(th, slope)) => {
                    t.describe(th, &metrics, *slope)
                }
                (RuleKind::ResponseTime(rr), QueueReading::Response(n, a)) => {
                    rr.describe(&metrics.queue, *n, *a)
                }
                (RuleKind::BurnRate(b), QueueReading::Burn(reading)) => {
                    b.describe(&metrics.queue, reading)
                }
                (RuleKind::Predicted(p), QueueReading::Forecast(f)) => {
                    p.describe(&metrics.queue, f.as_ref())
                }
                (RuleKind::FeedSilence(f), QueueReading::Silence) => {
                    f.describe(&metrics.queue, metrics.stale.as_ref(), cfg.daemon.timezone)
                }
                _ => unreachable!("a reading is made by its own rule's kind"),
            };
            self.step(
                r,
                scope,
                &metrics.queue,
                Some(&Observation::new(v, &describe)),
                fx,
            );
        }
    }

    /// Whether the rule's `active` schedule (if any) is open now.
    pub(super) fn in_season(&mut self, rule: &Rule) -> bool {
        let now = self.now;
        rule.active.is_none_or(|s| self.schedules[s].contains(now))
    }

    /// Whether a rule is doing anything on a scope (pending or firing): only then does an
    /// observation need its text and figures, which are the costly part of evaluating.
    pub(super) fn busy(&self, rule: u16, scope: u32) -> bool {
        self.instances
            .get(&(rule, scope))
            .is_some_and(|i| i.phase != Phase::Idle)
    }

    pub(super) fn evaluate_complaints(&mut self, fx: &mut Vec<Effect>) {
        let cfg = self.cfg.clone();
        let longest = longest_spike_window(&cfg).unwrap_or(0);
        let hours = hours_of_week(self.now - longest, self.now, &cfg);
        for (i, rule) in cfg.rules.iter().enumerate() {
            match &rule.kind {
                RuleKind::ComplaintSpike(s) => {
                    let season = self.in_season(rule);
                    for g in 0..self.groups[i].len() {
                        let group = &self.groups[i][g];
                        let expected = expected_in(
                            group,
                            self.now - s.window,
                            self.now,
                            s.prior_per_hour,
                            &hours,
                        );
                        let reading = s.read(group.observed(self.now), expected);
                        let v = s.judge(&reading);
                        let v = if season { v } else { Verdict::quiet() };
                        if v.level.is_none() && !self.busy(i as u16, group.scope) {
                            continue;
                        }
                        let (scope, key) = (group.scope, group.key.clone());
                        let describe = || s.describe(&key, &reading);
                        self.step(
                            i as u16,
                            scope,
                            &key,
                            Some(&Observation::new(v, &describe)),
                            fx,
                        );
                    }
                }
                RuleKind::ComplaintDeadline(d) => {
                    let n = self.overdue[i];
                    let scope = self.scope("complaints");
                    if n == 0 && !self.busy(i as u16, scope) {
                        continue;
                    }
                    let describe = || d.describe(n);
                    let v = if self.in_season(rule) {
                        d.judge(n)
                    } else {
                        Verdict::quiet()
                    };
                    let obs = Observation::new(v, &describe);
                    self.step(i as u16, scope, "complaints", Some(&obs), fx);
                }
                _ => {}
            }
        }
    }

    pub(super) fn step(
        &mut self,
        rule: u16,
        scope: u32,
        scope_name: &str,
        obs: Option<&Observation>,
        fx: &mut Vec<Effect>,
    ) {
        let r = &self.cfg.rules[rule as usize];
        let view = RuleView {
            index: rule,
            name: &r.name,
            kind: r.kind_name(),
            hold: r.hold,
            clear_hold: r.clear_hold,
            cooldown: r.cooldown,
            alone: matches!(r.kind, RuleKind::FeedSilence(_)),
            runbook: r.runbook.as_ref(),
        };
        let inst = self.instances.entry((rule, scope)).or_default();
        self.book
            .step(inst, &view, scope, scope_name, obs, self.now, fx);
    }
}

/// The longest window of the complaint spike rules, if there are any.
pub(super) fn longest_spike_window(cfg: &Config) -> Option<Millis> {
    cfg.rules
        .iter()
        .filter_map(|r| match &r.kind {
            RuleKind::ComplaintSpike(s) => Some(s.window),
            _ => None,
        })
        .max()
}
