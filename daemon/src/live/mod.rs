//! The live stream's producer. It watches the engine's state and, when it changed, makes one
//! delta (figures are coalesced to at most one frame a `frame_interval`; a change to an incident
//! goes out at once, so a breach reaches the boards in milliseconds), serializes it once and
//! hands the same bytes to every connected client through a bounded broadcast ring. A client
//! that falls more than `buffer` frames behind is cut back to a fresh snapshot (see `client`), so
//! no client ever has an ever-growing queue, and a slow one never holds up the others.

pub mod client;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use floorwatch_protocol::{
    Incident, LiveDelta, LiveFrame, LiveSnapshot, QueueMetrics, QueuePoint, StateSnapshot, Trend,
    TrendPoint,
};
use tokio::sync::{Notify, broadcast, watch as signal};
use tokio::time::Instant;

use crate::config::LiveSettings;
use crate::config::Millis;
use crate::engine::calendar::ms_to_utc;
use crate::watch::Watch;

/// A frame, serialized once for every client.
#[derive(Clone, Debug)]
pub struct Frame {
    pub seq: u64,
    pub text: Utf8Bytes,
}

pub struct Hub {
    settings: LiveSettings,
    tx: broadcast::Sender<Frame>,
    /// The picture after the last frame: what a new (or cut back) client starts from.
    latest: Mutex<Picture>,
    stopping: signal::Sender<bool>,
    clients: AtomicUsize,
    all_gone: Notify,
}

impl Hub {
    pub fn new(settings: LiveSettings) -> Arc<Self> {
        let (tx, _) = broadcast::channel(settings.buffer as usize);
        let (stopping, _) = signal::channel(false);
        Arc::new(Hub {
            latest: Mutex::new(Picture::new(&settings)),
            settings,
            tx,
            stopping,
            clients: AtomicUsize::new(0),
            all_gone: Notify::new(),
        })
    }

    pub fn settings(&self) -> &LiveSettings {
        &self.settings
    }

    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// The current snapshot (serialized) and a receiver for every frame after it. Taken under
    /// the producer's lock, so the first frame received follows the snapshot exactly.
    pub fn subscribe(&self) -> (Utf8Bytes, broadcast::Receiver<Frame>) {
        let mut latest = self.latest.lock().unwrap();
        let rx = self.tx.subscribe();
        (latest.snapshot_text(), rx)
    }

    /// Tells every client the daemon is going away (close code 1001), and waits a little for
    /// them to be told.
    pub async fn stop(&self, wait: Duration) {
        self.stopping.send_replace(true);
        let gone = self.all_gone.notified();
        if self.clients() > 0 {
            let _ = tokio::time::timeout(wait, gone).await;
        }
    }

    fn stop_signal(&self) -> signal::Receiver<bool> {
        self.stopping.subscribe()
    }

    fn enter(self: &Arc<Self>) -> ClientGuard {
        self.clients.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("floorwatch_live_clients").increment(1);
        ClientGuard(self.clone())
    }

    /// Makes frames until the hub is stopped: woken by every change of the watch, and by the
    /// heartbeat timer when nothing changed.
    pub async fn run(self: Arc<Self>, watch: Arc<Watch>) {
        let wake = watch.live_wake();
        let mut stopping = self.stop_signal();
        let interval = Duration::from_millis(self.settings.frame_interval as u64);
        let heartbeat = Duration::from_millis(self.settings.heartbeat as u64);
        let mut last_frame = Instant::now();
        // Trend lines start from the engine's history, which a restart rebuilt from the journal.
        let w = watch.clone();
        let from = self.settings.trend_window;
        if let Ok(trends) =
            tokio::task::spawn_blocking(move || w.read_engine(|e| e.queue_trends(e.now() - from)))
                .await
        {
            self.latest.lock().unwrap().seed(trends);
        }
        loop {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep_until(last_frame + heartbeat) => {}
                _ = stopping.changed() => return,
            }
            // Coalesce figures: whatever changes until the interval is up goes into the same
            // frame. A change to an incident (a breach, an acknowledgement) goes out at once.
            let coalesce_until = last_frame + interval;
            while !watch.take_incident_change() {
                tokio::select! {
                    _ = tokio::time::sleep_until(coalesce_until) => break,
                    _ = wake.notified() => {}
                }
            }
            let w = watch.clone();
            let Ok(state) = tokio::task::spawn_blocking(move || (w.now(), w.snapshot())).await
            else {
                continue;
            };
            let beat = last_frame.elapsed() >= heartbeat;
            if self.publish(state.0, state.1, beat) {
                last_frame = Instant::now();
            }
        }
    }

    /// Turns a new state into the next frame, if there is anything to say. Returns whether a
    /// frame was sent.
    fn publish(&self, now: Millis, state: StateSnapshot, heartbeat_due: bool) -> bool {
        let mut latest = self.latest.lock().unwrap();
        let Some(frame) = latest.advance(now, state, heartbeat_due) else {
            return false;
        };
        let text = match serde_json::to_string(&frame) {
            Ok(t) => Utf8Bytes::from(t),
            Err(e) => {
                tracing::error!("live frame not serializable: {e}");
                return false;
            }
        };
        metrics::counter!("floorwatch_live_frames_total").increment(1);
        // Sent under the lock: a client subscribing now gets either this frame or a snapshot
        // that includes it, never both, never neither.
        let _ = self.tx.send(Frame {
            seq: frame.seq(),
            text,
        });
        true
    }
}

struct ClientGuard(Arc<Hub>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        metrics::gauge!("floorwatch_live_clients").decrement(1);
        if self.0.clients.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.0.all_gone.notify_waiters();
        }
    }
}

/// The live picture as of frame `seq`, and the trend history.
struct Picture {
    seq: u64,
    at: Millis,
    queues: BTreeMap<String, QueueMetrics>,
    incidents: HashMap<u64, Incident>,
    trends: BTreeMap<String, VecDeque<TrendPoint>>,
    trend_step: Millis,
    trend_len: usize,
    next_trend_at: Millis,
    /// The snapshot of `seq`, serialized on first demand.
    snapshot_text: Option<(u64, Utf8Bytes)>,
    health: floorwatch_protocol::OutwardHealth,
    complaints: floorwatch_protocol::ComplaintBoard,
}

impl Picture {
    fn new(s: &LiveSettings) -> Self {
        Picture {
            seq: 0,
            at: 0,
            queues: BTreeMap::new(),
            incidents: HashMap::new(),
            trends: BTreeMap::new(),
            trend_step: s.trend_step,
            trend_len: (s.trend_window / s.trend_step.max(1)).max(1) as usize,
            next_trend_at: 0,
            snapshot_text: None,
            health: Default::default(),
            complaints: Default::default(),
        }
    }

    /// Starts the trend lines from earlier samples (oldest first).
    fn seed(&mut self, trends: Vec<(String, Vec<TrendPoint>)>) {
        for (queue, points) in trends {
            let skip = points.len().saturating_sub(self.trend_len);
            self.trends
                .insert(queue, points.into_iter().skip(skip).collect());
        }
        self.snapshot_text = None;
    }

    /// Moves the picture to `state` and says what changed, as the next frame: a delta, a
    /// heartbeat when nothing changed but one is due, or nothing.
    fn advance(
        &mut self,
        now: Millis,
        state: StateSnapshot,
        heartbeat_due: bool,
    ) -> Option<LiveFrame> {
        let mut delta = LiveDelta::default();
        let mut seen = HashSet::with_capacity(state.queues.len());
        for q in state.queues {
            seen.insert(q.queue.clone());
            if self.queues.get(&q.queue) != Some(&q) {
                delta.queues.push(q.clone());
                self.queues.insert(q.queue.clone(), q);
            }
        }
        self.queues.retain(|name, _| {
            let keep = seen.contains(name);
            if !keep {
                delta.queues_removed.push(name.clone());
            }
            keep
        });
        for name in &delta.queues_removed {
            self.trends.remove(name);
        }
        let open: HashSet<u64> = state.incidents.iter().map(|i| i.id).collect();
        for inc in state.incidents {
            if self.incidents.get(&inc.id) != Some(&inc) {
                delta.incidents.push(inc.clone());
                self.incidents.insert(inc.id, inc);
            }
        }
        self.incidents.retain(|id, _| {
            let keep = open.contains(id);
            if !keep {
                delta.closed.push(*id);
            }
            keep
        });
        delta.closed.sort_unstable();
        if state.health != self.health {
            self.health = state.health.clone();
            delta.health = Some(state.health);
        }
        if state.complaints != self.complaints {
            self.complaints = state.complaints.clone();
            delta.complaints = Some(state.complaints);
        }
        if now >= self.next_trend_at {
            let at = ms_to_utc(now);
            for (name, q) in &self.queues {
                let point = TrendPoint::of(at, q);
                let points = self.trends.entry(name.clone()).or_default();
                points.push_back(point);
                while points.len() > self.trend_len {
                    points.pop_front();
                }
                delta.trend.push(QueuePoint {
                    queue: name.clone(),
                    point,
                });
            }
            self.next_trend_at = (now / self.trend_step + 1) * self.trend_step;
        }
        self.at = now;
        if delta.is_empty() && !heartbeat_due {
            return None;
        }
        self.seq += 1;
        self.snapshot_text = None;
        let at = ms_to_utc(now);
        Some(if delta.is_empty() {
            LiveFrame::Heartbeat { seq: self.seq, at }
        } else {
            delta.seq = self.seq;
            delta.at = at;
            LiveFrame::Delta(delta)
        })
    }

    fn snapshot(&self) -> LiveSnapshot {
        let mut incidents: Vec<Incident> = self.incidents.values().cloned().collect();
        floorwatch_protocol::sort_worst_first(&mut incidents);
        LiveSnapshot {
            seq: self.seq,
            at: ms_to_utc(self.at),
            queues: self.queues.values().cloned().collect(),
            incidents,
            trends: self
                .trends
                .iter()
                .map(|(q, p)| Trend {
                    queue: q.clone(),
                    points: p.iter().copied().collect(),
                })
                .collect(),
            trend_step_s: (self.trend_step / 1000) as u32,
            trend_len: self.trend_len as u32,
            health: self.health.clone(),
            complaints: self.complaints.clone(),
        }
    }

    fn snapshot_text(&mut self) -> Utf8Bytes {
        if let Some((seq, text)) = &self.snapshot_text
            && *seq == self.seq
        {
            return text.clone();
        }
        let text = Utf8Bytes::from(
            serde_json::to_string(&LiveFrame::Snapshot(self.snapshot()))
                .expect("a snapshot serializes"),
        );
        self.snapshot_text = Some((self.seq, text.clone()));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::{LiveState, Severity, Values};

    fn state(queues: &[(&str, u32)], incidents: &[u64]) -> StateSnapshot {
        StateSnapshot {
            at: None,
            queues: queues
                .iter()
                .map(|(q, w)| QueueMetrics {
                    queue: q.to_string(),
                    waiting: *w,
                    ..Default::default()
                })
                .collect(),
            incidents: incidents
                .iter()
                .map(|id| {
                    Incident::new(
                        *id,
                        "depth".into(),
                        "queue_depth".into(),
                        "a".into(),
                        Severity::Critical,
                        "t".into(),
                        ms_to_utc(0),
                        Values::new(),
                    )
                })
                .collect(),
            health: Default::default(),
            complaints: Default::default(),
        }
    }

    #[test]
    fn deltas_say_only_what_changed_and_a_client_following_them_sees_the_same_picture() {
        let settings = LiveSettings {
            trend_step: 30_000,
            trend_window: 60_000,
            ..Default::default()
        };
        let mut p = Picture::new(&settings);
        let mut client = LiveState::default();
        let snapshot = |p: &Picture| LiveFrame::Snapshot(p.snapshot());
        client.apply(snapshot(&p)).unwrap();

        let f = p
            .advance(1_000, state(&[("a", 1), ("b", 0)], &[]), false)
            .unwrap();
        let LiveFrame::Delta(d) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(d.queues.len(), 2);
        assert_eq!(d.trend.len(), 2, "the first frame starts the trends");
        client.apply(f).unwrap();

        // Nothing changed, within the trend step: no frame, unless a heartbeat is due.
        assert!(
            p.advance(2_000, state(&[("a", 1), ("b", 0)], &[]), false)
                .is_none()
        );
        let beat = p
            .advance(3_000, state(&[("a", 1), ("b", 0)], &[]), true)
            .unwrap();
        assert!(matches!(beat, LiveFrame::Heartbeat { seq: 2, .. }));
        client.apply(beat).unwrap();

        let f = p
            .advance(4_000, state(&[("a", 30), ("b", 0)], &[7]), false)
            .unwrap();
        let LiveFrame::Delta(d) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(
            (d.queues.len(), d.incidents.len()),
            (1, 1),
            "only a, and the incident"
        );
        client.apply(f).unwrap();

        // Past the trend step, b removed by a reload, the incident resolved.
        let f = p.advance(31_000, state(&[("a", 2)], &[]), false).unwrap();
        let LiveFrame::Delta(d) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(d.queues_removed, ["b"]);
        assert_eq!(d.closed, [7]);
        assert_eq!(d.trend.len(), 1);
        client.apply(f).unwrap();
        for t in [61_000, 91_000] {
            let f = p.advance(t, state(&[("a", 2)], &[]), false).unwrap();
            client.apply(f).unwrap();
        }
        assert_eq!(
            client.trends["a"].len(),
            2,
            "trend_window / trend_step points"
        );

        // A client starting now from the snapshot has what the follower has.
        let mut fresh = LiveState::default();
        fresh.apply(snapshot(&p)).unwrap();
        assert_eq!(fresh.queues, client.queues);
        assert_eq!(fresh.incidents, client.incidents);
        assert_eq!(fresh.trends, client.trends);
        assert_eq!(fresh.seq, client.seq);
    }
}
