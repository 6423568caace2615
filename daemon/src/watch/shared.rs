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

use super::{Inner, Log, Watch, WatchError, restore, warm, with_source};
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
        let (mut engine, applied) = warm_shared(cfg, &self.cluster.journal, now)?;
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
    now: Millis,
) -> Result<(Engine, i64), WatchError> {
    let mut pos = 0;
    let engine = warm(cfg, now, |engine, replay, since| {
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
        let (engine, applied) = warm_shared(cfg, &cluster.journal, now)?;
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
        let mut lines = String::new();
        // Where each line of the row came from in the request.
        let mut origin = Vec::new();
        for item in &items {
            match item.wire.as_ref().map_err(Clone::clone).and_then(|w| {
                let named = w.source();
                validate(w, item.line, item.index).map(|_| named)
            }) {
                Ok(named) => {
                    let raw = match named {
                        Some(_) => std::borrow::Cow::Borrowed(item.raw),
                        None => with_source(item.raw, source),
                    };
                    // One line each, as the local journal writes them.
                    lines.push_str(&raw.replace(['\n', '\r'], " "));
                    lines.push('\n');
                    origin.push((item.line, item.index));
                }
                Err(r) => report.refused.push(r),
            }
        }
        if !origin.is_empty() {
            let id = cluster
                .journal
                .append((self.clock)(), cluster.node(), &lines)?;
            let mut inner = self.inner.lock().unwrap();
            if let Err(e) = self.catch_up_locked(&mut inner, Some(id)) {
                // Stored: it is applied when the database answers again.
                warn!("applying the journal after row {id}: {e}");
            }
            let row = match &mut inner.log {
                Log::Shared(s) => s.reports.remove(&id),
                Log::Local(_) => None,
            };
            drop(inner);
            match row {
                Some(r) => {
                    report.accepted += r.accepted;
                    report.duplicates += r.duplicates;
                    report.refused.extend(r.refused.into_iter().map(|mut x| {
                        if let Some((line, index)) = origin.get(x.index as usize) {
                            (x.line, x.index) = (*line, *index);
                        }
                        x
                    }));
                }
                None => report.accepted += origin.len() as u64,
            }
        }
        report.refused.sort_by_key(|r| r.index);
        self.count(&report);
        Ok(report)
    }

    /// Applies the rows of the shared journal not applied yet.
    pub fn catch_up(&self) -> Result<(), WatchError> {
        let mut inner = self.inner.lock().unwrap();
        self.catch_up_locked(&mut inner, None)
    }

    /// Applies rows after the last one applied, through `until` (all there are if `None`).
    fn catch_up_locked(&self, inner: &mut Inner, until: Option<i64>) -> Result<(), WatchError> {
        let Log::Shared(s) = &inner.log else {
            return Ok(());
        };
        let cluster = s.cluster.clone();
        loop {
            let Log::Shared(s) = &inner.log else {
                return Ok(());
            };
            if until.is_some_and(|u| s.applied >= u) {
                return Ok(());
            }
            let rows = cluster.journal.after(s.applied)?;
            if rows.is_empty() {
                return Ok(());
            }
            inner.engine.set_clock((self.clock)());
            let mut fx = Vec::new();
            for row in rows {
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
                    cluster.set_applied(row.id);
                }
            }
            self.commit(inner, fx);
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
        let mut inner = self.inner.lock().unwrap();
        if let Err(e) = self.catch_up_locked(&mut inner, None) {
            warn!("catching up before leading: {e}");
        }
        let now = (self.clock)();
        let mut fx = Vec::new();
        let restored = restore(&mut inner.engine, &*self.store, None, now, &mut fx)
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
        match warm_shared(cfg, &cluster.journal, (self.clock)()) {
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
