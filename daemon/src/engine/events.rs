//! Events into the engine: each contact step, queue reading, complaint and heartbeat checked
//! against the clock, applied to the contact, queue and complaint state, and told to its
//! source's feed. Deciding what the new state means is `mod.rs`'s `settle` and `tick`.

use super::*;

impl Engine {
    /// Applies one event from a source that gave no name. Its effects come out of the next
    /// `settle` or `tick`.
    pub fn apply(&mut self, ev: &Event) -> Result<Applied, Refused> {
        self.apply_from(UNNAMED, ev)
    }

    /// Applies one event from `source` (the event's own `source`, or the ingest token's name):
    /// the event, then what it says about its source being alive.
    pub fn apply_from(&mut self, source: &str, ev: &Event) -> Result<Applied, Refused> {
        self.check_time(ev.at())?;
        if let Event::Heartbeat { at, queue } = *ev {
            match queue {
                Some(name) => {
                    let q = self.queue(name)?;
                    self.feeds.touch(source, q, at, true, &self.cfg.feeds)?;
                }
                None => {
                    self.feeds.beat_all(source, at);
                }
            }
            return Ok(Applied::New);
        }
        // The source is alive whatever becomes of the event; a new feed past its cap refuses
        // the event before anything is taken.
        let at = ev.at();
        let limits = &self.cfg.feeds;
        let feed = match self.feed_queue(ev) {
            Some(q) => Some(self.feeds.touch(source, q, at, false, limits)?),
            // An event naming a queue not seen yet starts a feed: is there room for it?
            None if matches!(
                ev,
                Event::Contact { queue: Some(_), .. } | Event::Queue { .. }
            ) =>
            {
                self.feeds.admits(source, None, limits)?;
                None
            }
            None => None,
        };
        let applied = self.apply_event(ev)?;
        // A new queue's first event: its feed starts now (admitted above).
        let feed = feed.or_else(|| {
            let q = self.feed_queue(ev)?;
            self.feeds.touch(source, q, at, false, &self.cfg.feeds).ok()
        });
        if let (Some(f), Applied::New) = (feed, applied) {
            match ev {
                Event::Queue { queue, .. } => {
                    self.feeds.count(f, at);
                    if let Some(q) = self.queue_ix.get(*queue) {
                        self.queues[*q as usize].reading_source = Some(f.source);
                    }
                }
                Event::Contact {
                    step: ContactStep::Arrived,
                    ..
                } => self.feeds.count(f, at),
                _ => {}
            }
        }
        Ok(applied)
    }

    /// The queue an event is about, if it is about one the engine knows.
    fn feed_queue(&self, ev: &Event) -> Option<u16> {
        match *ev {
            Event::Contact {
                queue: Some(name), ..
            }
            | Event::Queue { queue: name, .. } => self.queue_ix.get(name).copied(),
            Event::Contact { id, .. } => self
                .contacts
                .slot_of(id_hash(id))
                .map(|s| self.contacts.get(s).queue),
            _ => None,
        }
    }

    /// Refuses a time too far behind or ahead of the engine's clock.
    fn check_time(&self, at: Millis) -> Result<(), Refused> {
        if at < self.now - self.longest_window {
            return Err(refuse(
                Some("at"),
                format!(
                    "{} is older than the longest window ({}) behind the daemon's clock ({})",
                    fmt_time(at),
                    format_duration(self.longest_window),
                    fmt_time(self.now)
                ),
            ));
        }
        if at > self.now + self.cfg.daemon.max_future_skew {
            return Err(refuse(
                Some("at"),
                format!(
                    "{} is {} ahead of the daemon's clock ({}); the limit is daemon.max_future_skew = {}",
                    fmt_time(at),
                    format_duration(at - self.now),
                    fmt_time(self.now),
                    format_duration(self.cfg.daemon.max_future_skew)
                ),
            ));
        }
        Ok(())
    }

    fn apply_event(&mut self, ev: &Event) -> Result<Applied, Refused> {
        match *ev {
            Event::Alert(ref a) => self.alert(a),
            Event::Contact {
                id,
                step,
                at,
                queue,
                channel,
                priority,
            } => self.contact(id, step, at, queue, channel, priority),
            Event::Queue {
                queue,
                at,
                waiting,
                longest_wait_ms,
                agents_available,
                agents_busy,
            } => {
                let q = self.queue(queue)?;
                let state = &mut self.queues[q as usize].state;
                if state.reading.is_some_and(|r| r.at >= at) {
                    return Ok(Applied::Duplicate);
                }
                state.reading = Some(Reading {
                    at,
                    waiting,
                    longest_wait_ms,
                    agents_available,
                    agents_busy,
                });
                self.mark(q);
                Ok(Applied::New)
            }
            Event::Complaint {
                id,
                step,
                at,
                channel,
                category,
                grade,
                text,
            } => self.complaint(id, step, at, channel, category, grade, text),
            Event::Heartbeat { .. } => Ok(Applied::New),
        }
    }

    fn contact(
        &mut self,
        id: &str,
        step: ContactStep,
        at: Millis,
        queue: Option<&str>,
        channel: Option<Channel>,
        priority: Option<Priority>,
    ) -> Result<Applied, Refused> {
        let key = id_hash(id);
        let Some(slot) = self.contacts.slot_of(key) else {
            if self.contacts.was_closed(key) {
                return Ok(Applied::Duplicate);
            }
            if let Some(x) = self.contacts.expired_mut(key).copied() {
                return self.late(id, key, x, step, at);
            }
            if step != ContactStep::Arrived {
                return Err(refuse(
                    Some("id"),
                    format!("unknown contact \"{id}\": no \"arrived\" event was taken for it"),
                ));
            }
            if let Some(until) = self.contacts.maybe_forgotten(at) {
                return Err(refuse(
                    Some("at"),
                    format!(
                        "contact \"{id}\" arrived at {}, no later than closed contacts already forgotten (the latest closed at {}; the last {} closed contacts are kept): it cannot be told from a re-send",
                        fmt_time(at),
                        fmt_time(until),
                        contacts::CLOSED_KEPT
                    ),
                ));
            }
            return self.arrive(key, at, queue, channel, priority);
        };
        let c = self.contacts.get(slot).clone();
        let q = c.queue;
        match step {
            ContactStep::Arrived => return Ok(Applied::Duplicate),
            ContactStep::Answered => {
                if c.flags & SEEN_ANSWERED != 0 {
                    return Ok(Applied::Duplicate);
                }
                self.answer(slot, at);
            }
            ContactStep::AgentReplied => {
                if at <= c.last_agent {
                    return Ok(Applied::Duplicate);
                }
                self.contacts.get_mut(slot).last_agent = at;
                if c.flags & SEEN_ANSWERED == 0 {
                    self.answer(slot, at);
                }
                self.meet_clock(slot, Clock::First, at);
                self.meet_clock(slot, Clock::Next, at);
            }
            ContactStep::CustomerReplied => {
                if at <= c.last_customer {
                    return Ok(Applied::Duplicate);
                }
                self.contacts.get_mut(slot).last_customer = at;
                self.stop_clock(slot, Clock::Next);
                self.start_clock(slot, Clock::Next, at);
            }
            ContactStep::Abandoned => {
                if c.flags & SEEN_ANSWERED != 0 {
                    return Err(refuse(
                        Some("event"),
                        format!("contact \"{id}\" was already answered and cannot be abandoned"),
                    ));
                }
                let cfg = self.cfg();
                let st = &mut self.queues[q as usize].state;
                let wait = at - c.arrived;
                st.record(at, Outcome::Abandoned { wait }, &cfg.queues[st.profile]);
                self.close(slot, at, false);
            }
            ContactStep::Resolved => {
                if c.flags & SEEN_ANSWERED != 0 {
                    let cfg = self.cfg();
                    let st = &mut self.queues[q as usize].state;
                    let handle = at - c.answered_at;
                    st.record(at, Outcome::Handled { handle }, &cfg.queues[st.profile]);
                }
                self.close(slot, at, false);
            }
        }
        self.mark(q);
        Ok(Applied::New)
    }

    /// The configuration, cheaply shared, so a profile can be borrowed while state changes.
    fn cfg(&self) -> Arc<Config> {
        self.cfg.clone()
    }

    fn arrive(
        &mut self,
        key: u64,
        at: Millis,
        queue: Option<&str>,
        channel: Option<Channel>,
        priority: Option<Priority>,
    ) -> Result<Applied, Refused> {
        let Some(queue) = queue else {
            return Err(refuse(Some("queue"), "an \"arrived\" event needs a queue"));
        };
        let q = self.queue(queue)?;
        let limit = self.cfg.daemon.limits.max_open_contacts;
        if self.contacts.len() >= limit {
            return Err(refuse(
                None,
                format!(
                    "contact refused: {limit} contacts are open, the limit (daemon.limits.max_open_contacts); close contacts with \"resolved\" or \"abandoned\" events"
                ),
            ));
        }
        let cfg = self.cfg.clone();
        let profile = &cfg.queues[self.queues[q as usize].state.profile];
        let slot = self.contacts.insert(Contact {
            id: key,
            arrived: at,
            answered_at: 0,
            due: [0; 3],
            last_agent: i64::MIN,
            last_customer: i64::MIN,
            generation: 0,
            queue: q,
            channel: channel.unwrap_or(profile.channel),
            priority: priority.unwrap_or(Priority::Normal),
            flags: 0,
            approaching: 0,
            live: true,
        });
        let rt = &mut self.queues[q as usize];
        rt.state.waiting.insert((at, slot));
        rt.state.open_contacts += 1;
        rt.state.record(at, Outcome::Arrived, profile);
        self.start_clock(slot, Clock::First, at);
        self.start_clock(slot, Clock::FollowUp, at);
        let generation = self.contacts.get(slot).generation;
        self.contacts.schedule(Timer {
            due: at + self.horizon,
            slot,
            generation,
            kind: TimerKind::Expire,
        });
        self.mark(q);
        Ok(Applied::New)
    }

    fn answer(&mut self, slot: u32, at: Millis) {
        let c = self.contacts.get_mut(slot);
        c.flags |= SEEN_ANSWERED;
        c.answered_at = at;
        let (q, arrived) = (c.queue, c.arrived);
        let cfg = self.cfg();
        let st = &mut self.queues[q as usize].state;
        st.waiting.remove(&(arrived, slot));
        let wait = at - arrived;
        st.record(at, Outcome::Answered { wait }, &cfg.queues[st.profile]);
        self.meet_clock(slot, Clock::First, at);
    }

    /// Closes a contact; `expired`: at the state horizon, its source never having closed it.
    pub(super) fn close(&mut self, slot: u32, at: Millis, expired: bool) {
        for clock in Clock::ALL {
            if expired {
                self.stop_clock(slot, clock);
            } else {
                self.meet_clock(slot, clock, at);
            }
        }
        let c = self.contacts.get(slot);
        let (q, arrived) = (c.queue, c.arrived);
        let st = &mut self.queues[q as usize].state;
        st.waiting.remove(&(arrived, slot));
        st.open_contacts = st.open_contacts.saturating_sub(1);
        if expired {
            self.contacts.expire(slot);
        } else {
            self.contacts.remove(slot, at);
        }
        self.mark(q);
    }

    /// A late event of a contact expired at the state horizon: taken, and its outcome counted
    /// (an answer days later is a late answer, not an unknown contact).
    fn late(
        &mut self,
        id: &str,
        key: u64,
        x: contacts::Expired,
        step: ContactStep,
        at: Millis,
    ) -> Result<Applied, Refused> {
        let cfg = self.cfg();
        let st = &mut self.queues[x.queue as usize].state;
        let profile = &cfg.queues[st.profile];
        match step {
            ContactStep::Arrived => return Ok(Applied::Duplicate),
            ContactStep::Answered | ContactStep::AgentReplied => {
                if x.answered_at != 0 {
                    return Ok(if step == ContactStep::Answered {
                        Applied::Duplicate
                    } else {
                        Applied::New
                    });
                }
                st.record(
                    at,
                    Outcome::Answered {
                        wait: at - x.arrived,
                    },
                    profile,
                );
                if let Some(e) = self.contacts.expired_mut(key) {
                    e.answered_at = at;
                }
            }
            ContactStep::CustomerReplied => {}
            ContactStep::Abandoned => {
                if x.answered_at != 0 {
                    return Err(refuse(
                        Some("event"),
                        format!("contact \"{id}\" was already answered and cannot be abandoned"),
                    ));
                }
                st.record(
                    at,
                    Outcome::Abandoned {
                        wait: at - x.arrived,
                    },
                    profile,
                );
                self.contacts.close_expired(key, at);
            }
            ContactStep::Resolved => {
                if x.answered_at != 0 {
                    let handle = at - x.answered_at;
                    st.record(at, Outcome::Handled { handle }, profile);
                }
                self.contacts.close_expired(key, at);
            }
        }
        self.mark(x.queue);
        Ok(Applied::New)
    }

    fn start_clock(&mut self, slot: u32, clock: Clock, from: Millis) {
        let c = self.contacts.get(slot);
        let profile = &self.cfg.queues[self.queues[c.queue as usize].state.profile];
        let Some(limit) = profile.response.limit(clock, c.priority) else {
            return;
        };
        let approaching = (limit as f64 * profile.response.approaching) as Millis;
        let (due, warn) = match profile.response.calendar {
            Some(cal) => {
                let s = &mut self.schedules[cal];
                (
                    s.add_open_time(from, limit),
                    s.add_open_time(from, approaching),
                )
            }
            None => (from + limit, from + approaching),
        };
        let c = self.contacts.get_mut(slot);
        c.due[clock as usize] = due;
        let generation = c.generation;
        let k = clock as u8;
        if warn < due {
            self.contacts.schedule(Timer {
                due: warn,
                slot,
                generation,
                kind: TimerKind::Approaching(k),
            });
        }
        self.contacts.schedule(Timer {
            due,
            slot,
            generation,
            kind: TimerKind::Breach(k),
        });
    }

    /// Stops a clock that the contact's step answers: met when within its limit, else a breach
    /// (one the clock's timer had not yet counted, as ticks come at intervals).
    fn meet_clock(&mut self, slot: u32, clock: Clock, at: Millis) {
        let c = self.contacts.get(slot);
        let (due, q) = (c.due[clock as usize], c.queue);
        if due == 0 {
            return;
        }
        let met = at <= due;
        if !met {
            self.count_response(slot, clock, |r| r.breaches.push_back(due));
        }
        self.queues[q as usize]
            .state
            .record_clock(at.min(due), clock, met);
        self.stop_clock(slot, clock);
    }

    pub(super) fn stop_clock(&mut self, slot: u32, clock: Clock) {
        let c = self.contacts.get_mut(slot);
        if c.due[clock as usize] == 0 {
            return;
        }
        c.due[clock as usize] = 0;
        let bit = 1u8 << clock as u8;
        if c.approaching & bit != 0 {
            c.approaching &= !bit;
            self.count_response(slot, clock, |r| {
                r.approaching = r.approaching.saturating_sub(1)
            });
        }
    }

    /// Applies `f` to the response state of each response-time rule that watches this contact's
    /// clock, and marks the queue for evaluation.
    pub(super) fn count_response(&mut self, slot: u32, clock: Clock, f: impl Fn(&mut RuleState)) {
        let c = self.contacts.get(slot);
        let (q, channel, priority) = (c.queue, c.channel, c.priority);
        let cfg = self.cfg.clone();
        let rt = &mut self.queues[q as usize];
        for (i, r) in rt.rules.iter().enumerate() {
            let rule = &cfg.rules[*r as usize];
            if let RuleKind::ResponseTime(rr) = &rule.kind
                && rr.watches(clock, priority)
                && (rule.channels.is_empty() || rule.channels.contains(&channel))
            {
                f(&mut rt.response[i]);
            }
        }
        self.mark(q);
    }

    #[allow(clippy::too_many_arguments)]
    fn complaint(
        &mut self,
        id: &str,
        step: ComplaintStep,
        at: Millis,
        channel: Option<Channel>,
        category: Option<&str>,
        grade: Option<Grade>,
        text: Option<&str>,
    ) -> Result<Applied, Refused> {
        let key = id_hash(id);
        match step {
            ComplaintStep::Handled => {
                let Some(c) = self.complaints.close(key, at) else {
                    if self.complaints.was_closed(key) {
                        return Ok(Applied::Duplicate);
                    }
                    return Err(refuse(
                        Some("id"),
                        format!("unknown complaint \"{id}\": no open complaint has this id"),
                    ));
                };
                self.complaint_board.handled(key, c.opened, c.grade);
                for r in c.overdue_for {
                    self.overdue[r as usize] = self.overdue[r as usize].saturating_sub(1);
                }
                self.complaints_dirty = true;
                Ok(Applied::New)
            }
            ComplaintStep::Opened => {
                if self.complaints.open.contains_key(&key) || self.complaints.was_closed(key) {
                    return Ok(Applied::Duplicate);
                }
                if let Some(until) = self.complaints.maybe_forgotten(at) {
                    return Err(refuse(
                        Some("at"),
                        format!(
                            "complaint \"{id}\" opened at {}, no later than handled complaints already forgotten (the latest handled at {}; the last {} are kept): it cannot be told from a re-send",
                            fmt_time(at),
                            fmt_time(until),
                            contacts::CLOSED_KEPT
                        ),
                    ));
                }
                // Open complaints are held to the same cap as open contacts.
                let limit = self.cfg.daemon.limits.max_open_contacts;
                if self.complaints.open.len() >= limit {
                    return Err(refuse(
                        None,
                        format!(
                            "complaint refused: {limit} complaints are open, the limit (daemon.limits.max_open_contacts); close complaints with \"handled\" events"
                        ),
                    ));
                }
                if let Some(cat) = category {
                    let n = self.complaints.categories.len();
                    if !self.complaints.categories.contains_key(cat) {
                        let max = self.cfg.daemon.limits.max_categories;
                        if n >= max {
                            return Err(refuse(
                                Some("category"),
                                format!(
                                    "new category \"{cat}\" refused: the limit of {max} categories is reached (daemon.limits.max_categories)"
                                ),
                            ));
                        }
                        self.complaints.categories.insert(cat.into(), n as u16);
                    }
                }
                let grade = grade.unwrap_or(Grade::General);
                let cfg = self.cfg.clone();
                for (i, rule) in cfg.rules.iter().enumerate() {
                    match &rule.kind {
                        RuleKind::ComplaintDeadline(d) if d.watches(grade) => {
                            let due = at + d.deadline.unwrap_or(cfg.complaints.deadline(grade));
                            self.complaints.schedule(
                                DeadlineTimer {
                                    due,
                                    id: key,
                                    rule: i as u16,
                                },
                                cfg.rules.len(),
                            );
                        }
                        RuleKind::ComplaintSpike(s)
                            if rule.channels.is_empty()
                                || channel.is_some_and(|c| rule.channels.contains(&c)) =>
                        {
                            for k in group_keys(s, channel, category, text) {
                                let g = self.group(i as u16, &k);
                                self.groups[i][g].count(at);
                            }
                        }
                        _ => {}
                    }
                }
                self.complaint_board.opened(key, at, grade, category, text);
                self.complaints.open.insert(
                    key,
                    OpenComplaint {
                        overdue_for: Vec::new(),
                        opened: at,
                        grade,
                    },
                );
                self.complaints_dirty = true;
                Ok(Applied::New)
            }
        }
    }
}
