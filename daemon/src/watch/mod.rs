//! The running watch: the engine, the journal and the store behind one lock, and the only path
//! by which anything changes them. Ingest, ticks, people's commands and reloads all come through
//! here, so the order in which the engine saw things is the order they were journaled and stored.
//!
//! Blocking by design (a mutex, SQLite, file writes): the HTTP layer calls it from
//! `spawn_blocking`.
//!
//! Events are journaled locally (`ingest::journal`, one daemon) or in the shared journal of a
//! cluster (`shared.rs`: several daemons on one PostgreSQL database, one of them leading).

mod shared;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use floorwatch_protocol::{
    Delivery, DeliveryStatus, Incident, IncidentDetail, IngestReport, OnCallOverride, OnCallStatus,
    Refusal, Silence, StateSnapshot, TimelineEntry, TimelineKind,
};
use tracing::{error, info, warn};

use crate::config::{Config, Millis};
use crate::engine::{Applied, CommandError, Effect, Engine};
use crate::ingest::journal::Journal;
use crate::ingest::replay::Replay;
use crate::ingest::{decode_bytes, validate};
use crate::notify::Attempt;
use crate::store::{DeliveryUpdate, IncidentFilter, OutboxItem, Store, StoreError};

/// Where time comes from: the wall clock in the daemon, anything in tests.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

pub fn wall_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().timestamp_millis())
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("journal: {0}")]
    Journal(#[from] std::io::Error),
}

struct Inner {
    engine: Engine,
    log: Log,
    /// Effects the store refused (disk full, ...): kept and retried, never dropped.
    unsaved: Vec<Effect>,
}

/// Where accepted events are journaled.
enum Log {
    /// Hourly files in the data dir: one daemon.
    Local(Journal),
    /// The cluster's shared journal.
    Shared(shared::Shared),
}

pub struct Watch {
    inner: Mutex<Inner>,
    store: Arc<dyn Store>,
    clock: Clock,
    data_dir: PathBuf,
    healthy: AtomicBool,
    /// On-call overrides (kept in the store; read on every on-call page).
    overrides: Mutex<Vec<OnCallOverride>>,
    /// Woken when notifications are written to the outbox.
    outbox_wake: Arc<tokio::sync::Notify>,
    /// Woken on every change the live stream may want to show.
    live_wake: Arc<tokio::sync::Notify>,
    /// Set when an incident changed since the live stream last looked: that goes out at once,
    /// while figures alone are coalesced.
    incident_changed: AtomicBool,
    pub stats: Stats,
    /// Heartbeats out and delivery targets: the daemon's own links.
    pub health: crate::health::Health,
    /// The cluster this daemon is a node of (`[store] backend = "postgres"`).
    cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub refused: AtomicU64,
}

impl Watch {
    /// Opens the watch on a data dir: replays the journal to rebuild the engine's state, then
    /// takes back the open incidents and baselines from the store.
    pub fn open(
        cfg: Arc<Config>,
        store: Arc<dyn Store>,
        clock: Clock,
        data_dir: &Path,
    ) -> Result<Self, WatchError> {
        let journal = Journal::open(&data_dir.join("journal"))?;
        let now = clock();
        let mut fx = Vec::new();
        let engine = rebuild(cfg, &journal, &*store, None, now, &mut fx)?;
        Self::with(engine, Log::Local(journal), store, clock, data_dir, fx)
    }

    fn with(
        engine: Engine,
        log: Log,
        store: Arc<dyn Store>,
        clock: Clock,
        data_dir: &Path,
        fx: Vec<Effect>,
    ) -> Result<Self, WatchError> {
        let watch = Watch {
            inner: Mutex::new(Inner {
                engine,
                log,
                unsaved: Vec::new(),
            }),
            store,
            clock,
            data_dir: data_dir.to_path_buf(),
            healthy: AtomicBool::new(true),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            live_wake: Arc::new(tokio::sync::Notify::new()),
            incident_changed: AtomicBool::new(false),
            overrides: Mutex::new(Vec::new()),
            stats: Stats::default(),
            health: Default::default(),
            cluster: None,
        };
        *watch.overrides.lock().unwrap() = watch.store.overrides()?;
        let mut inner = watch.inner.lock().unwrap();
        watch.commit(&mut inner, fx);
        drop(inner);
        Ok(watch)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn config(&self) -> Arc<Config> {
        self.inner.lock().unwrap().engine.config().clone()
    }

    /// Takes a request body: decodes outside the lock, applies under it, journals what was
    /// accepted, persists the decisions, and says what happened to each event. Events that name
    /// no `source` come from `source` (the ingest token's name), and are journaled with it.
    pub fn ingest(&self, source: &str, body: &[u8]) -> Result<IngestReport, WatchError> {
        if self.cluster.is_some() {
            return self.ingest_shared(source, body);
        }
        let items = decode_bytes(body);
        let mut report = IngestReport::default();
        let mut events = Vec::with_capacity(items.len());
        for item in &items {
            match item.wire.as_ref().map_err(Clone::clone).and_then(|w| {
                let named = w.source();
                validate(w, item.line, item.index).map(|ev| (named, ev))
            }) {
                Ok((named, ev)) => events.push((item, named, ev)),
                Err(r) => report.refused.push(r),
            }
        }
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        let now = (self.clock)();
        inner.engine.set_clock(now);
        let mut journal_error = None;
        for (item, named, ev) in &events {
            match inner.engine.apply_from(named.unwrap_or(source), ev) {
                Ok(Applied::New) => {
                    report.accepted += 1;
                    let raw = match named {
                        Some(_) => std::borrow::Cow::Borrowed(item.raw),
                        None => with_source(item.raw, source),
                    };
                    if let Log::Local(j) = &mut inner.log
                        && let Err(e) = j.append(now, &raw)
                    {
                        journal_error = Some(e);
                    }
                }
                Ok(Applied::Duplicate) => report.duplicates += 1,
                Err(r) => report.refused.push(Refusal {
                    line: item.line,
                    index: item.index,
                    field: r.field.map(str::to_string),
                    error: r.reason,
                }),
            }
        }
        if let Log::Local(j) = &mut inner.log
            && let Err(e) = j.flush()
        {
            journal_error = Some(e);
        }
        if let Some(e) = journal_error {
            // The events are applied; only a restart could lose them. Say so loudly.
            error!("journal write failed: {e}; events accepted since may not survive a restart");
            self.healthy.store(false, Ordering::Relaxed);
        }
        inner.engine.settle(&mut fx);
        self.commit(&mut inner, fx);
        drop(inner);
        report.refused.sort_by_key(|r| r.index);
        self.count(&report);
        Ok(report)
    }

    fn count(&self, report: &IngestReport) {
        self.stats
            .accepted
            .fetch_add(report.accepted, Ordering::Relaxed);
        self.stats
            .duplicates
            .fetch_add(report.duplicates, Ordering::Relaxed);
        self.stats
            .refused
            .fetch_add(report.refused.len() as u64, Ordering::Relaxed);
    }

    /// Moves the engine's clock to now: timers, holds, ageing waits.
    pub fn tick(&self) {
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        let now = (self.clock)();
        inner.engine.tick(now, &mut fx);
        let after = inner.engine.config().delivery.unhealthy_after;
        let failing = self.health.failing_targets(now - after);
        inner.engine.links_failing(&failing, &mut fx);
        self.commit(&mut inner, fx);
    }

    /// Deletes journal segments (or, at a cluster's leader, shared rows) older than the
    /// engine's horizon.
    pub fn prune_journal(&self) {
        let mut inner = self.inner.lock().unwrap();
        let before = inner.engine.now() - inner.engine.config().state_horizon() - 3_600_000;
        let pruned = match &mut inner.log {
            Log::Local(j) => j.prune(before).map(|_| ()).map_err(|e| e.to_string()),
            Log::Shared(s) if s.leading => s
                .cluster
                .journal
                .prune(before)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Log::Shared(_) => Ok(()),
        };
        if let Err(e) = pruned {
            warn!("pruning the journal: {e}");
        }
    }

    /// Persists effects (and any left over from a failed save), then hands out notifications.
    fn commit(&self, inner: &mut Inner, fx: Vec<Effect>) {
        // Every change passes here (events, ticks, commands): the live stream looks again.
        if fx.iter().any(|f| matches!(f, Effect::Incident(_))) {
            self.incident_changed.store(true, Ordering::Release);
        }
        self.live_wake.notify_one();
        if fx.is_empty() && inner.unsaved.is_empty() {
            return;
        }
        // A follower decides nothing: the leader writes what it decided.
        if matches!(&inner.log, Log::Shared(s) if !s.leading) {
            return;
        }
        let mut batch = std::mem::take(&mut inner.unsaved);
        batch.extend(fx);
        match self.store.save(&batch) {
            Ok(()) => {
                if !self.healthy.load(Ordering::Relaxed) && !batch.is_empty() {
                    info!("store writes succeed again");
                }
                self.healthy.store(true, Ordering::Relaxed);
            }
            Err(e) => {
                error!("store write failed, will retry: {e}");
                self.healthy.store(false, Ordering::Relaxed);
                inner.unsaved = batch;
                return;
            }
        }
        for f in &batch {
            match f {
                // The decision, in the log; the pages themselves are the outbox's.
                Effect::Notify(n) => {
                    if let Some(incident) = inner.engine.incident(n.incident_id) {
                        info!(
                            incident = incident.id,
                            reason = ?n.reason,
                            severity = %n.severity,
                            "notify: {}",
                            incident.title
                        );
                    }
                }
                Effect::Dispatch(_) => self.outbox_wake.notify_one(),
                _ => {}
            }
        }
    }

    /// Every queue's figures and the open incidents, as of the daemon's clock (also before the
    /// first event).
    pub fn snapshot(&self) -> StateSnapshot {
        let now = (self.clock)();
        let mut snap = {
            let mut inner = self.inner.lock().unwrap();
            inner.engine.set_clock(now);
            let mut snap = inner.engine.snapshot();
            // A follower shows the leader's incidents.
            if let Log::Shared(s) = &inner.log
                && !s.leading
            {
                snap.incidents = s.open.clone();
            }
            snap
        };
        snap.health = self.health.view(now);
        snap
    }

    /// Reads the engine as of the daemon's clock (its history, for charts and trend lines).
    pub fn read_engine<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        let now = (self.clock)();
        let mut inner = self.inner.lock().unwrap();
        inner.engine.set_clock(now);
        f(&inner.engine)
    }

    pub fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, WatchError> {
        Ok(self.store.incidents(filter)?)
    }

    pub fn incident(&self, id: u64) -> Result<Option<IncidentDetail>, WatchError> {
        Ok(self.store.incident(id)?)
    }

    pub fn acknowledge(
        &self,
        id: u64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<Incident, WatchError> {
        self.command(|e, fx| e.acknowledge(id, actor, note, fx))
    }

    pub fn start_drill(&self, name: &str, actor: &str) -> Result<Incident, WatchError> {
        self.command(|e, fx| e.start_drill(name, actor, fx))
    }

    pub fn unacknowledge(&self, id: u64, actor: &str) -> Result<Incident, WatchError> {
        self.command(|e, fx| e.unacknowledge(id, actor, fx))
    }

    pub fn resolve(
        &self,
        id: u64,
        actor: &str,
        note: Option<&str>,
    ) -> Result<Incident, WatchError> {
        self.command(|e, fx| e.resolve(id, actor, note, fx))
    }

    /// Adds a note; `Ok(None)` if there is no such incident.
    pub fn note(
        &self,
        id: u64,
        actor: &str,
        text: &str,
    ) -> Result<Option<TimelineEntry>, WatchError> {
        let mut inner = self.inner.lock().unwrap();
        inner.engine.set_clock((self.clock)());
        self.entry(&mut inner, id, actor, TimelineKind::Note, text)
    }

    fn command(
        &self,
        f: impl FnOnce(&mut Engine, &mut Vec<Effect>) -> Result<Incident, CommandError>,
    ) -> Result<Incident, WatchError> {
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        inner.engine.set_clock((self.clock)());
        let incident = f(&mut inner.engine, &mut fx)?;
        self.commit(&mut inner, fx);
        Ok(incident)
    }

    /// Swaps in a new configuration: a new engine warmed from the journal takes over the open
    /// incidents of the old one.
    pub fn reload(&self, cfg: Arc<Config>) -> Result<(), WatchError> {
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        let now = (self.clock)();
        let old = (
            inner.engine.open_incidents(),
            inner.engine.max_incident_id(),
        );
        let engine = match &mut inner.log {
            Log::Local(journal) => {
                journal.flush()?;
                rebuild(cfg, journal, &*self.store, Some(old), now, &mut fx)?
            }
            Log::Shared(s) => s.rebuild(cfg, &*self.store, old, now, &mut fx)?,
        };
        inner.engine = engine;
        self.commit(&mut inner, fx);
        Ok(())
    }

    pub fn now(&self) -> Millis {
        (self.clock)()
    }

    pub fn live_wake(&self) -> Arc<tokio::sync::Notify> {
        self.live_wake.clone()
    }

    /// Whether an incident changed since the last call.
    pub fn take_incident_change(&self) -> bool {
        self.incident_changed.swap(false, Ordering::AcqRel)
    }

    pub fn outbox_wake(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wake.clone()
    }

    pub fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        incident: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Delivery>, WatchError> {
        Ok(self.store.deliveries(status, incident, limit)?)
    }

    /// Keeps the outbox rows and the incidents' timelines in step with delivery attempts:
    /// delivered, retried later (backoff with jitter, or the receiver's Retry-After), or dead.
    pub fn record_attempts(&self, attempts: Vec<(OutboxItem, Attempt)>) -> Result<(), WatchError> {
        let mut inner = self.inner.lock().unwrap();
        let now = (self.clock)();
        inner.engine.set_clock(now);
        let delivery = inner.engine.config().delivery.clone();
        let mut updates = Vec::with_capacity(attempts.len());
        let mut entries = Vec::with_capacity(attempts.len());
        let mut items = Vec::with_capacity(attempts.len());
        for (item, attempt) in attempts {
            let d = &item.delivery;
            let o = crate::notify::policy::after(
                attempt,
                d,
                now,
                &delivery,
                crate::notify::policy::jitter(),
            );
            updates.push(DeliveryUpdate {
                id: d.id,
                status: o.status,
                attempts: d.attempts + 1,
                next_ms: o.next_ms,
                error: o.error,
            });
            entries.push((d.incident_id, o.kind, o.message));
            items.push(item);
        }
        // A step of the escalation that reached nobody at all is itself worth a line, and an
        // error in the log: someone must look at the targets.
        let mut steps: Vec<(u64, u32)> = Vec::new();
        for (u, item) in updates.iter().zip(&items) {
            let step = item.delivery.key.decision();
            if u.status == DeliveryStatus::Dead && !steps.contains(&step) {
                steps.push(step);
            }
        }
        for (incident, seq) in steps {
            let all = self.store.deliveries(None, Some(incident), 10_000)?;
            // As they will be once these attempts are written.
            let status = |d: &Delivery| {
                updates
                    .iter()
                    .find(|u| u.id == d.id)
                    .map_or(d.status, |u| u.status)
            };
            let members: Vec<_> = all.iter().filter(|d| d.key.seq == seq).collect();
            if members.iter().all(|d| status(d) == DeliveryStatus::Dead) {
                let targets: Vec<String> = members.iter().map(|d| d.target.to_string()).collect();
                let message = format!(
                    "nobody was reached: every target of this step failed ({})",
                    targets.join(", ")
                );
                error!(incident, "{message}");
                entries.push((incident, TimelineKind::DeliveryFailed, message));
            }
        }
        let mut fx = Vec::new();
        let mut elsewhere = Vec::new();
        for (id, kind, message) in entries {
            if inner
                .engine
                .record(id, crate::engine::OUTBOX_ACTOR, kind, &message, &mut fx)
                .is_none()
            {
                elsewhere.push(TimelineEntry {
                    incident_id: id,
                    seq: 0,
                    at: crate::engine::calendar::ms_to_utc(now),
                    actor: crate::engine::OUTBOX_ACTOR.into(),
                    kind,
                    message,
                    values: Default::default(),
                });
            }
        }
        // The rows and the entries that tell them, in one transaction (with anything left
        // unsaved before). If it fails, the entries wait with the unsaved effects and the rows
        // stay as they were: the attempt is made again, under the same key.
        let mut batch = std::mem::take(&mut inner.unsaved);
        batch.extend(fx);
        if let Err(e) = self.store.update_deliveries(&updates, &batch) {
            inner.unsaved = batch;
            self.healthy.store(false, Ordering::Relaxed);
            return Err(e.into());
        }
        self.commit(&mut inner, Vec::new());
        if batch.iter().any(|f| matches!(f, Effect::Incident(_))) {
            self.incident_changed.store(true, Ordering::Release);
        }
        // Incidents the engine no longer holds (resolved long ago): their own numbering.
        for e in elsewhere {
            self.store.append_entry(e)?;
        }
        Ok(())
    }

    /// Appends a timeline entry, through the engine while it holds the incident (it numbers
    /// the entries), else straight to the store.
    fn entry(
        &self,
        inner: &mut Inner,
        id: u64,
        actor: &str,
        kind: TimelineKind,
        text: &str,
    ) -> Result<Option<TimelineEntry>, WatchError> {
        let mut fx = Vec::new();
        if inner
            .engine
            .record(id, actor, kind, text, &mut fx)
            .is_some()
        {
            let entry = fx.iter().find_map(|f| match f {
                Effect::Timeline(e) => Some(e.clone()),
                _ => None,
            });
            self.commit(inner, fx);
            return Ok(entry);
        }
        let entry = TimelineEntry {
            incident_id: id,
            seq: 0,
            at: crate::engine::calendar::ms_to_utc(inner.engine.now()),
            actor: actor.to_string(),
            kind,
            message: text.to_string(),
            values: Default::default(),
        };
        Ok(self.store.append_entry(entry)?)
    }

    /// Who holds each on-call schedule now, and who is next.
    pub fn oncall(&self) -> Vec<OnCallStatus> {
        let cfg = self.config();
        let overrides = self.overrides.lock().unwrap().clone();
        let now = self.now();
        cfg.oncall
            .iter()
            .map(|s| crate::notify::oncall::status(s, &overrides, now))
            .collect()
    }

    /// The person holding schedule `name` at `t`.
    pub fn on_duty(&self, name: &str, t: Millis) -> Option<crate::config::Person> {
        let cfg = self.config();
        let s = cfg.oncall.iter().find(|s| s.name == name)?;
        let overrides = self.overrides.lock().unwrap();
        let (i, _, _) = crate::notify::oncall::on_duty(s, &overrides, t);
        s.people.get(i).cloned()
    }

    pub fn add_override(&self, o: OnCallOverride) -> Result<OnCallOverride, WatchError> {
        let o = self.store.add_override(o)?;
        self.overrides.lock().unwrap().push(o.clone());
        Ok(o)
    }

    pub fn add_silence(&self, s: Silence) -> Silence {
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        inner.engine.set_clock((self.clock)());
        let s = inner.engine.add_silence(s, &mut fx);
        self.commit(&mut inner, fx);
        s
    }

    /// Changes a silence that has not ended; `None` if there is none such.
    pub fn update_silence(&self, s: Silence) -> Option<Silence> {
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        inner.engine.set_clock((self.clock)());
        let s = inner.engine.update_silence(s, &mut fx);
        self.commit(&mut inner, fx);
        s
    }

    pub fn expire_silence(&self, id: u64) -> Option<Silence> {
        let mut fx = Vec::new();
        let mut inner = self.inner.lock().unwrap();
        inner.engine.set_clock((self.clock)());
        let s = inner.engine.expire_silence(id, &mut fx);
        self.commit(&mut inner, fx);
        s
    }

    pub fn silences(&self) -> Vec<Silence> {
        self.inner.lock().unwrap().engine.silences().to_vec()
    }

    /// Open contacts (for the memory benchmark and `/metrics`).
    pub fn open_contacts(&self) -> usize {
        self.inner.lock().unwrap().engine.open_contacts()
    }
}

/// An accepted event's text with `"source"` added first, so a restart knows who sent it. The
/// text is one JSON object with at least its `type`, so a key can lead the others.
fn with_source<'a>(raw: &'a str, source: &str) -> std::borrow::Cow<'a, str> {
    let body = raw.trim_start();
    let Some(rest) = body.strip_prefix('{') else {
        return std::borrow::Cow::Borrowed(raw);
    };
    let name = serde_json::to_string(source).unwrap_or_else(|_| "\"unnamed\"".into());
    std::borrow::Cow::Owned(format!("{{\"source\":{name},{rest}"))
}

/// Builds an engine for `now`: replays the journal over the state horizon with decisions off,
/// then restores open incidents (from `carry`, or the store) and baselines.
fn rebuild(
    cfg: Arc<Config>,
    journal: &Journal,
    store: &dyn Store,
    carry: Option<(Vec<(Incident, u32)>, u64)>,
    now: Millis,
    fx: &mut Vec<Effect>,
) -> Result<Engine, WatchError> {
    let mut engine = warm(cfg, now, store.baselines()?, |engine, replay, since| {
        let mut lines = 0u64;
        let mut warm_fx = Vec::new();
        for path in journal.segments_since(since)? {
            let text = std::fs::read_to_string(&path)?;
            replay.feed_text(engine, &text, &mut warm_fx, |fx| fx.clear());
            lines += text.lines().count() as u64;
        }
        Ok(lines)
    })?;
    restore(&mut engine, store, carry, now, fx)?;
    Ok(engine)
}

/// An engine for `now` with decisions off, its windows and clocks rebuilt from what `feed`
/// replays (the events since the state horizon, handed in `since`). The learned complaint
/// baselines come back first, so what the replay records against them (the history's usual
/// counts) is what the running engine recorded.
fn warm(
    cfg: Arc<Config>,
    now: Millis,
    baselines: Vec<crate::engine::BaselineRow>,
    feed: impl FnOnce(&mut Engine, &mut Replay, Millis) -> Result<u64, WatchError>,
) -> Result<Engine, WatchError> {
    let since = now - cfg.state_horizon();
    let tick = cfg.daemon.tick.max(1_000);
    let mut engine = Engine::new(cfg, since);
    engine.restore_baselines(baselines);
    engine.set_warming(true);
    let mut replay = Replay::new(tick);
    let lines = feed(&mut engine, &mut replay, since)?;
    let mut warm_fx = Vec::new();
    replay.run_until(&mut engine, now, &mut warm_fx);
    replay.finish(&mut engine, &mut warm_fx);
    if lines > 0 {
        info!(
            events = replay.report.accepted,
            open_contacts = engine.open_contacts(),
            "rebuilt state from the journal"
        );
    }
    Ok(engine)
}

/// Turns decisions on for a warmed engine: the open incidents (from `carry`, or the store) and
/// silences come back, and the clock moves to `now` (the baselines came back with `warm`).
fn restore(
    engine: &mut Engine,
    store: &dyn Store,
    carry: Option<(Vec<(Incident, u32)>, u64)>,
    now: Millis,
    fx: &mut Vec<Effect>,
) -> Result<(), WatchError> {
    engine.set_warming(false);
    let (open, max_id) = match carry {
        Some(c) => c,
        None => (store.open_incidents()?, store.max_incident_id()?),
    };
    if !open.is_empty() {
        info!(open = open.len(), "resuming open incidents");
    }
    engine.restore(open, max_id, fx);
    engine.restore_silences(store.silences()?);
    engine.tick(now, fx);
    Ok(())
}

/// The outbox worker's view of the watch.
impl crate::notify::outbox::Outbox for Watch {
    fn now(&self) -> Millis {
        Watch::now(self)
    }

    fn config(&self) -> Arc<Config> {
        Watch::config(self)
    }

    fn wake(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wake()
    }

    fn may_deliver(&self) -> bool {
        Watch::may_deliver(self)
    }

    fn due(
        &self,
        now: Millis,
        limit: u32,
        busy: &std::collections::HashSet<u64>,
    ) -> Vec<OutboxItem> {
        // In a cluster, only the leader delivers.
        if !Watch::may_deliver(self) {
            return Vec::new();
        }
        self.store
            .due_deliveries(now, limit, busy)
            .unwrap_or_else(|e| {
                error!("reading the outbox: {e}");
                Vec::new()
            })
    }

    fn next_due(&self, busy: &std::collections::HashSet<u64>) -> Option<Millis> {
        self.store.next_due(busy).ok().flatten()
    }

    fn on_duty(&self, schedule: &str, at: Millis) -> Option<crate::config::Person> {
        Watch::on_duty(self, schedule, at)
    }

    fn record(&self, attempts: Vec<(OutboxItem, Attempt)>) {
        let at = Watch::now(self);
        for (item, attempt) in &attempts {
            let result = match attempt {
                Attempt::Delivered { .. } => Ok(()),
                Attempt::Retry { error, .. } | Attempt::Final { error } => Err(error.clone()),
            };
            self.health.delivery(&item.delivery.target, at, result);
        }
        if let Err(e) = self.record_attempts(attempts) {
            error!("recording delivery attempts: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_source;

    #[test]
    fn the_journal_keeps_the_token_as_source() {
        let raw = r#"{"type":"queue","queue":"q","at":"2026-11-23T09:00:00Z"}"#;
        let out = with_source(raw, "acd \"1\"");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["source"], "acd \"1\"");
        assert_eq!(v["queue"], "q");
    }
}
