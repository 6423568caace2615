//! The watch on a cluster's shared journal (several daemons on one PostgreSQL database).
//!
//! Every node applies the journal's rows in their order: ingest writes a row and then applies
//! through it; the follow thread (`cluster::run_follow`) applies the rows other nodes wrote. The
//! leader applies with decisions on (incidents and pages, every write fenced by its lease); a
//! follower with decisions off, so its windows and clocks are warm when it takes over, and it
//! shows the leader's open incidents, read from the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use floorwatch_protocol::{Incident, IngestReport, Refusal};
use tracing::{error, info, warn};

use super::{Inner, Log, Watch, WatchError, restore, warm};
use crate::cluster::{Cluster, SharedJournal};
use crate::config::{Config, Millis};
use crate::engine::{Applied, Effect, Engine};
use crate::ingest::{decode, decode_bytes, validate};
use crate::store::Store;

/// At most this many reports of this node's rows wait for their ingest call.
const MAX_REPORTS: usize = 4_096;

pub(super) struct Shared {
    pub cluster: Arc<Cluster>,
    /// The last row applied.
    pub applied: i64,
    /// Whether this node's engine decides (it holds the lease).
    pub leading: bool,
    /// The leader's open incidents, worst first (a follower's boards show them).
    pub open: Vec<Incident>,
    /// What applying this node's own rows gave, until its ingest call collects it.
    reports: HashMap<i64, IngestReport>,
}

impl Shared {
    /// A new engine for `now` from the shared journal, for a reload: a leader keeps the open
    /// incidents it had (`carry`).
    pub fn rebuild(
        &mut self,
        cfg: Arc<Config>,
        store: &dyn Store,
        carry: (Vec<(Incident, u32)>, u64),
        now: Millis,
        fx: &mut Vec<Effect>,
    ) -> Result<Engine, WatchError> {
        let (mut engine, applied) = warm_shared(cfg, &self.cluster.journal, store, now)?;
        self.applied = applied;
        if self.leading {
            restore(&mut engine, store, Some(carry), now, fx)?;
        }
        Ok(engine)
    }
}

/// A follower's engine for `now`, warmed from the shared journal, and the row it reached.
fn warm_shared(
    cfg: Arc<Config>,
    journal: &SharedJournal,
    store: &dyn Store,
    now: Millis,
) -> Result<(Engine, i64), WatchError> {
    let mut pos = 0;
    let engine = warm(cfg, now, store.baselines()?, |engine, replay, since| {
        pos = journal.position_at(since)?;
        let mut lines = 0u64;
        let mut warm_fx = Vec::new();
        loop {
            let rows = journal.after(pos)?;
            let Some(last) = rows.last() else { break };
            pos = last.id;
            for row in &rows {
                replay.feed_text(engine, &row.lines, &mut warm_fx, |fx| fx.clear());
                lines += row.lines.lines().count() as u64;
            }
        }
        Ok(lines)
    })?;
    Ok((engine, pos))
}

/// A valid event of a request this node journals, ready to apply without decoding it again.
struct Own<'a> {
    source: &'a str,
    event: crate::engine::Event<'a>,
    line: u64,
    index: u64,
}

/// Applies a request's own valid events; what happened to each (numbered as in the request).
fn apply_events(engine: &mut Engine, own: &[Own]) -> IngestReport {
    let mut report = IngestReport::default();
    for o in own {
        match engine.apply_from(o.source, &o.event) {
            Ok(Applied::New) => report.accepted += 1,
            Ok(Applied::Duplicate) => report.duplicates += 1,
            Err(r) => report.refused.push(Refusal {
                line: o.line,
                index: o.index,
                field: r.field.map(str::to_string),
                error: r.reason,
            }),
        }
    }
    report
}

/// Applies one row's lines; what happened to each (lines numbered within the row).
fn apply_row(engine: &mut Engine, lines: &str) -> IngestReport {
    let mut report = IngestReport::default();
    for item in decode(lines) {
        let applied = item.wire.as_ref().map_err(Clone::clone).and_then(|w| {
            let named = w.source();
            validate(w, item.line, item.index).and_then(|ev| {
                engine
                    .apply_from(named.unwrap_or("unnamed"), &ev)
                    .map_err(|r| Refusal {
                        line: item.line,
                        index: item.index,
                        field: r.field.map(str::to_string),
                        error: r.reason,
                    })
            })
        });
        match applied {
            Ok(Applied::New) => report.accepted += 1,
            Ok(Applied::Duplicate) => report.duplicates += 1,
            Err(r) => report.refused.push(r),
        }
    }
    report
}

impl Watch {
    /// Opens the watch of one node of a cluster: a follower, warmed from the shared journal,
    /// until its lease thread takes the lease (`promote`).
    pub fn open_shared(
        cfg: Arc<Config>,
        store: Arc<dyn Store>,
        cluster: Arc<Cluster>,
        clock: super::Clock,
        data_dir: &std::path::Path,
    ) -> Result<Self, WatchError> {
        let now = clock();
        let (engine, applied) = warm_shared(cfg, &cluster.journal, &*store, now)?;
        cluster.set_applied(applied);
        let log = Log::Shared(Shared {
            cluster: cluster.clone(),
            applied,
            leading: false,
            open: Vec::new(),
            reports: HashMap::new(),
        });
        let mut watch = Self::with(engine, log, store, clock, data_dir, Vec::new())?;
        watch.cluster = Some(cluster);
        Ok(watch)
    }

    /// The cluster this watch is a node of, if any.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Whether this node may deliver pages now: always alone, only while it surely holds the
    /// lease in a cluster.
    pub fn may_deliver(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.fence.may_act())
    }

    /// Journals a request's valid events as one row of the shared journal (the answer waits
    /// for it: a database that is down is a 503, never a 200 for an event not stored), then
    /// applies the journal through that row and says what happened to each event.
    pub(super) fn ingest_shared(
        &self,
        source: &str,
        body: &[u8],
    ) -> Result<IngestReport, WatchError> {
        let cluster = self.cluster.clone().expect("a cluster's watch");
        let items = decode_bytes(body);
        let mut report = IngestReport::default();
        let mut lines = String::with_capacity(body.len() + body.len() / 8);
        // The valid events, from whom, and where each came from in the request.
        let mut valid = Vec::with_capacity(items.len());
        // `"source":NAME,` for the events that name none, written once.
        let named_by_token = format!(
            "{{\"source\":{},",
            serde_json::to_string(source).unwrap_or_else(|_| "\"unnamed\"".into())
        );
        for item in &items {
            match item.wire.as_ref().map_err(Clone::clone).and_then(|w| {
                let named = w.source();
                validate(w, item.line, item.index).map(|ev| (named, ev))
            }) {
                Ok((named, ev)) => {
                    // With its `source` first (see `with_source`), one line each, as the local
                    // journal writes them.
                    let body = item.raw.trim_start();
                    let raw = match (named, body.strip_prefix('{')) {
                        (None, Some(rest)) => {
                            lines.push_str(&named_by_token);
                            rest
                        }
                        _ => item.raw,
                    };
                    if raw.contains(['\n', '\r']) {
                        lines.push_str(&raw.replace(['\n', '\r'], " "));
                    } else {
                        lines.push_str(raw);
                    }
                    lines.push('\n');
                    valid.push(Own {
                        source: named.unwrap_or(source),
                        event: ev,
                        line: item.line,
                        index: item.index,
                    });
                }
                Err(r) => report.refused.push(r),
            }
        }
        if !valid.is_empty() {
            let id = cluster
                .journal
                .append((self.clock)(), cluster.node(), &lines)?;
            let row = match self.apply_own(id, &valid) {
                Ok(r) => r,
                Err(e) => {
                    // Stored: it is applied when the database answers again.
                    warn!("applying the journal through row {id}: {e}");
                    None
                }
            };
            match row {
                Some((r, numbered_in_row)) => {
                    report.accepted += r.accepted;
                    report.duplicates += r.duplicates;
                    report.refused.extend(r.refused.into_iter().map(|mut x| {
                        // Applied from the journal: lines numbered within the row.
                        if numbered_in_row && let Some(own) = valid.get(x.index as usize) {
                            (x.line, x.index) = (own.line, own.index);
                        }
                        x
                    }));
                }
                None => report.accepted += valid.len() as u64,
            }
        }
        report.refused.sort_by_key(|r| r.index);
        self.count(&report);
        Ok(report)
    }

    /// Applies the journal through row `id`, which this node just wrote with `lines`: the rows
    /// before it are read (without holding the engine) and applied first, then it is applied
    /// from memory. What applying it gave, unless the follow thread got there first and its
    /// report was dropped.
    fn apply_own(&self, id: i64, own: &[Own]) -> Result<Option<(IngestReport, bool)>, WatchError> {
        let cluster = self.cluster.clone().expect("a cluster's watch");
        loop {
            let applied = self.applied();
            if applied < id - 1 {
                // Rows by others in between: read them without holding the engine. Rows are
                // numbered in commit order, so every row before ours is there to read.
                let before: Vec<_> = cluster
                    .journal
                    .after(applied)?
                    .into_iter()
                    .filter(|r| r.id < id)
                    .collect();
                let mut inner = self.inner.lock().unwrap();
                if before.is_empty() {
                    // None: the numbers in between were taken by inserts that rolled back.
                    if let Log::Shared(s) = &mut inner.log
                        && s.applied == applied
                    {
                        s.applied = id - 1;
                    }
                } else {
                    self.apply_rows(&mut inner, before.into_iter());
                }
                continue;
            }
            let mut inner = self.inner.lock().unwrap();
            let Log::Shared(s) = &mut inner.log else {
                return Ok(None);
            };
            if s.applied >= id {
                return Ok(s.reports.remove(&id).map(|r| (r, true)));
            }
            if s.applied < id - 1 {
                continue;
            }
            inner.engine.set_clock((self.clock)());
            let report = apply_events(&mut inner.engine, own);
            let mut fx = Vec::new();
            inner.engine.settle(&mut fx);
            if let Log::Shared(s) = &mut inner.log {
                s.applied = id;
            }
            cluster.set_applied(id);
            self.commit(&mut inner, fx);
            return Ok(Some((report, false)));
        }
    }

    /// The last row applied.
    fn applied(&self) -> i64 {
        self.applied_in(&self.inner.lock().unwrap())
    }

    fn applied_in(&self, inner: &Inner) -> i64 {
        match &inner.log {
            Log::Shared(s) => s.applied,
            Log::Local(_) => 0,
        }
    }

    /// Applies `rows` (in order) that are after the last one applied.
    fn apply_rows(
        &self,
        inner: &mut Inner,
        rows: impl Iterator<Item = crate::cluster::journal::Batch>,
    ) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        inner.engine.set_clock((self.clock)());
        let mut fx = Vec::new();
        for row in rows {
            let Log::Shared(s) = &mut inner.log else {
                return;
            };
            if row.id <= s.applied {
                continue;
            }
            let report = apply_row(&mut inner.engine, &row.lines);
            inner.engine.settle(&mut fx);
            if let Log::Shared(s) = &mut inner.log {
                s.applied = row.id;
                if row.node == cluster.node() {
                    if s.reports.len() >= MAX_REPORTS {
                        s.reports.clear();
                    }
                    s.reports.insert(row.id, report);
                }
            }
            cluster.set_applied(row.id);
        }
        self.commit(inner, fx);
    }

    /// Applies the rows of the shared journal not applied yet, reading them without holding
    /// the engine.
    pub fn catch_up(&self) -> Result<(), WatchError> {
        let Some(cluster) = self.cluster.clone() else {
            return Ok(());
        };
        loop {
            let rows = cluster.journal.after(self.applied())?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut inner = self.inner.lock().unwrap();
            self.apply_rows(&mut inner, rows.into_iter());
        }
    }

    /// This node took the lease in `epoch` (asked at `asked`): it applies what is left of the
    /// journal, takes back the open incidents, baselines and silences from the store, and
    /// decides from now on.
    pub fn promote(&self, epoch: i64, asked: Instant) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        cluster.fence.hold(epoch, asked);
        // Rows applied between this and the restore below warm the engine like every row before
        // them; a breach they show is decided from the next event or tick on.
        if let Err(e) = self.catch_up() {
            warn!("catching up before leading: {e}");
        }
        let mut inner = self.inner.lock().unwrap();
        let now = (self.clock)();
        let mut fx = Vec::new();
        // Warmed long ago: the baselines the old leader learned since come back first.
        let restored = self
            .store
            .baselines()
            .map_err(WatchError::from)
            .and_then(|b| {
                inner.engine.restore_baselines(b);
                restore(&mut inner.engine, &*self.store, None, now, &mut fx)
            })
            .and_then(|()| Ok(self.store.overrides()?));
        match restored {
            Ok(overrides) => {
                *self.overrides.lock().unwrap() = overrides;
                if let Log::Shared(s) = &mut inner.log {
                    s.leading = true;
                    s.open.clear();
                }
                self.incident_changed.store(true, Ordering::Release);
                self.commit(&mut inner, fx);
                self.outbox_wake.notify_one();
                info!(epoch, "leading: deciding incidents and delivering pages");
            }
            Err(e) => {
                error!("could not take over (following again): {e}");
                drop(inner);
                self.demote();
            }
        }
    }

    /// This node lost the lease: it drops what it decided but did not write, and follows again
    /// with an engine rebuilt from the shared journal.
    pub fn demote(&self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        cluster.fence.drop_lease();
        let mut inner = self.inner.lock().unwrap();
        inner.unsaved.clear();
        let cfg = inner.engine.config().clone();
        match warm_shared(cfg, &cluster.journal, &*self.store, (self.clock)()) {
            Ok((engine, applied)) => {
                inner.engine = engine;
                if let Log::Shared(s) = &mut inner.log {
                    s.applied = applied;
                }
            }
            // Decisions off on the engine there is; the next rebuild (a reload, a promotion)
            // starts afresh.
            Err(e) => {
                error!("rebuilding from the shared journal: {e}");
                inner.engine.set_warming(true);
            }
        }
        if let Log::Shared(s) = &mut inner.log {
            s.leading = false;
        }
        self.incident_changed.store(true, Ordering::Release);
        self.live_wake.notify_one();
    }

    /// A follower: reads the leader's open incidents from the store, for its boards.
    pub fn refresh_shared_incidents(&self) -> Result<(), WatchError> {
        let mut open: Vec<Incident> = self
            .store
            .open_incidents()?
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        floorwatch_protocol::sort_worst_first(&mut open);
        let mut inner = self.inner.lock().unwrap();
        if let Log::Shared(s) = &mut inner.log
            && !s.leading
            && s.open != open
        {
            s.open = open;
            self.incident_changed.store(true, Ordering::Release);
            self.live_wake.notify_one();
        }
        Ok(())
    }
}
