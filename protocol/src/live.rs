//! The live stream (`GET /api/v1/live`): the frames the daemon sends, and [`LiveState`], the
//! picture a client keeps by applying them. The wall-board, `floorwatch tail` and the tests all
//! use the same `LiveState`, so they cannot disagree on what a delta means.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::{ComplaintBoard, Incident, OutwardHealth, QueueMetrics, Timestamp};
use chrono::{DateTime, Utc};

/// One frame of the live stream, sent as a JSON text message tagged by `type`.
///
/// Every frame carries `seq`, one more than the frame before it on the same connection. A
/// snapshot may come at any time (the first frame, or after the client fell behind); it replaces
/// everything. A delta whose `seq` does not follow means frames were lost: reconnect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveFrame {
    Snapshot(LiveSnapshot),
    Delta(LiveDelta),
    /// Sent when nothing changed for a while, so a client can tell "quiet" from "cut off".
    Heartbeat {
        seq: u64,
        at: DateTime<Utc>,
    },
}

impl LiveFrame {
    pub fn seq(&self) -> u64 {
        match self {
            LiveFrame::Snapshot(s) => s.seq,
            LiveFrame::Delta(d) => d.seq,
            LiveFrame::Heartbeat { seq, .. } => *seq,
        }
    }

    pub fn at(&self) -> Timestamp {
        match self {
            LiveFrame::Snapshot(s) => s.at,
            LiveFrame::Delta(d) => d.at,
            LiveFrame::Heartbeat { at, .. } => *at,
        }
    }
}

/// Everything a board needs to draw itself from nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveSnapshot {
    pub seq: u64,
    /// The daemon's clock when the frame was made.
    pub at: DateTime<Utc>,
    pub queues: Vec<QueueMetrics>,
    /// The open incidents (not yet resolved), worst first.
    pub incidents: Vec<Incident>,
    /// Recent history per queue, oldest point first, one point per `trend_step_s`.
    pub trends: Vec<Trend>,
    pub trend_step_s: u32,
    /// How many points a trend keeps (the trend window divided by the step).
    pub trend_len: u32,
    /// The daemon's own outward links (heartbeats, delivery targets), for the status line.
    #[serde(default)]
    pub health: OutwardHealth,
    /// The complaints panel.
    #[serde(default)]
    pub complaints: ComplaintBoard,
}

/// What changed since the previous frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveDelta {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Queues whose figures changed (whole rows), or that appeared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueMetrics>,
    /// Queues no longer watched (removed by a reload).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues_removed: Vec<String>,
    /// Incidents that opened or changed (whole records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// Incidents that are no longer open (resolved), by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<u64>,
    /// New trend points, one per queue, when a trend step has passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<QueuePoint>,
    /// The outward links, whole, when any changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<OutwardHealth>,
    /// The complaints panel, whole, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaints: Option<ComplaintBoard>,
}

impl LiveDelta {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
            && self.queues_removed.is_empty()
            && self.incidents.is_empty()
            && self.closed.is_empty()
            && self.health.is_none()
            && self.complaints.is_none()
            && self.trend.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trend {
    pub queue: String,
    pub points: Vec<TrendPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuePoint {
    pub queue: String,
    pub point: TrendPoint,
}

/// The figures a wall-board draws as trend lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    pub at: DateTime<Utc>,
    pub waiting: u32,
    pub longest_wait_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asa_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandonment_rate: Option<f64>,
}

impl TrendPoint {
    pub fn of(at: DateTime<Utc>, m: &QueueMetrics) -> Self {
        TrendPoint {
            at,
            waiting: m.waiting,
            longest_wait_s: m.longest_wait_s,
            service_level: m.service_level,
            asa_s: m.asa_s,
            abandonment_rate: m.abandonment_rate,
        }
    }
}

/// A delta that does not follow the frame before it: the client missed frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceGap {
    pub expected: u64,
    pub got: u64,
}

impl std::fmt::Display for SequenceGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "live stream frame {} arrived where {} was expected",
            self.got, self.expected
        )
    }
}

impl std::error::Error for SequenceGap {}

/// The live picture a client keeps: the last snapshot with every delta since applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// `None` until the first snapshot.
    pub seq: Option<u64>,
    /// The daemon's clock at the last frame (heartbeats included).
    pub at: Option<DateTime<Utc>>,
    /// Sorted by queue name.
    pub queues: Vec<QueueMetrics>,
    /// Open incidents, worst first, then oldest first.
    pub incidents: Vec<Incident>,
    pub trends: BTreeMap<String, VecDeque<TrendPoint>>,
    pub trend_step_s: u32,
    pub trend_len: u32,
    pub health: OutwardHealth,
    pub complaints: ComplaintBoard,
    /// How many snapshots this state has taken (1 on a healthy connection; more after the
    /// daemon cut a slow client back to a snapshot).
    pub snapshots: u64,
}

impl LiveState {
    /// Applies one frame. On a gap the state is left as it was; the client should reconnect.
    pub fn apply(&mut self, frame: LiveFrame) -> Result<(), SequenceGap> {
        match frame {
            LiveFrame::Snapshot(s) => {
                self.seq = Some(s.seq);
                self.at = Some(s.at);
                self.queues = s.queues;
                self.queues.sort_by(|a, b| a.queue.cmp(&b.queue));
                self.incidents = s.incidents;
                sort_worst_first(&mut self.incidents);
                self.trends = s
                    .trends
                    .into_iter()
                    .map(|t| (t.queue, t.points.into_iter().collect()))
                    .collect();
                self.trend_step_s = s.trend_step_s;
                self.trend_len = s.trend_len;
                self.health = s.health;
                self.complaints = s.complaints;
                self.snapshots += 1;
            }
            LiveFrame::Delta(d) => {
                self.follow(d.seq)?;
                self.at = Some(d.at);
                for q in d.queues {
                    match self.queues.binary_search_by(|x| x.queue.cmp(&q.queue)) {
                        Ok(i) => self.queues[i] = q,
                        Err(i) => self.queues.insert(i, q),
                    }
                }
                for name in &d.queues_removed {
                    self.queues.retain(|q| &q.queue != name);
                    self.trends.remove(name);
                }
                self.incidents.retain(|i| !d.closed.contains(&i.id));
                for inc in d.incidents {
                    match self.incidents.iter_mut().find(|i| i.id == inc.id) {
                        Some(slot) => *slot = inc,
                        None => self.incidents.push(inc),
                    }
                }
                sort_worst_first(&mut self.incidents);
                if let Some(h) = d.health {
                    self.health = h;
                }
                if let Some(c) = d.complaints {
                    self.complaints = c;
                }
                for p in d.trend {
                    let points = self.trends.entry(p.queue).or_default();
                    points.push_back(p.point);
                    while points.len() > self.trend_len.max(1) as usize {
                        points.pop_front();
                    }
                }
            }
            LiveFrame::Heartbeat { seq, at } => {
                self.follow(seq)?;
                self.at = Some(at);
            }
        }
        Ok(())
    }

    fn follow(&mut self, seq: u64) -> Result<(), SequenceGap> {
        let expected = self.seq.map_or(0, |s| s + 1);
        if self.seq.is_none() || seq != expected {
            return Err(SequenceGap { expected, got: seq });
        }
        self.seq = Some(seq);
        Ok(())
    }

    pub fn queue(&self, name: &str) -> Option<&QueueMetrics> {
        self.queues.iter().find(|q| q.queue == name)
    }

    /// The open incidents on a queue, worst first.
    pub fn incidents_on<'a>(&'a self, queue: &'a str) -> impl Iterator<Item = &'a Incident> + 'a {
        self.incidents.iter().filter(move |i| i.scope == queue)
    }
}

/// The order every view of open incidents uses: worst first, then oldest first.
pub fn sort_worst_first(v: &mut [Incident]) {
    v.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.opened_at.cmp(&b.opened_at))
            .then(a.id.cmp(&b.id))
    });
}

/// One situation of the open incidents: its lead and the members that joined it.
pub struct Situation<'a> {
    pub lead: &'a Incident,
    pub members: Vec<&'a Incident>,
}

/// Open incidents folded by situation, in the order of the leads in `incidents` (worst first
/// when sorted so). A member whose lead is not among them stands on its own.
pub fn situations(incidents: &[Incident]) -> Vec<Situation<'_>> {
    let present = |id: u64| incidents.iter().any(|i| i.id == id);
    let mut out: Vec<Situation> = incidents
        .iter()
        .filter(|i| i.situation.is_none_or(|l| !present(l)))
        .map(|lead| Situation {
            lead,
            members: Vec::new(),
        })
        .collect();
    for m in incidents {
        if let Some(l) = m.situation
            && let Some(s) = out.iter_mut().find(|s| s.lead.id == l)
        {
            s.members.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Severity, Values};

    fn at(s: u32) -> Timestamp {
        chrono::DateTime::from_timestamp(1_790_000_000 + i64::from(s), 0).unwrap()
    }

    fn queue(name: &str, waiting: u32) -> QueueMetrics {
        QueueMetrics {
            queue: name.into(),
            waiting,
            ..Default::default()
        }
    }

    fn incident(id: u64, severity: Severity, opened: u32) -> Incident {
        Incident::new(
            id,
            "depth".into(),
            "queue_depth".into(),
            "phone".into(),
            severity,
            format!("incident {id}"),
            at(opened),
            Values::new(),
        )
    }

    #[test]
    fn situations_fold_members_under_their_lead() {
        let lead = incident(1, Severity::Crisis, 0);
        let mut member = incident(2, Severity::Warning, 1);
        member.situation = Some(1);
        let mut orphan = incident(3, Severity::Critical, 2);
        orphan.situation = Some(99);
        let alone = incident(4, Severity::Info, 3);
        let all = [lead, member, orphan, alone];
        let s = situations(&all);
        let shape: Vec<(u64, Vec<u64>)> = s
            .iter()
            .map(|s| (s.lead.id, s.members.iter().map(|m| m.id).collect()))
            .collect();
        assert_eq!(shape, vec![(1, vec![2]), (3, vec![]), (4, vec![])]);
    }

    #[test]
    fn snapshot_then_deltas_make_the_picture() {
        let mut s = LiveState::default();
        let gap = s.apply(LiveFrame::Heartbeat { seq: 0, at: at(0) });
        assert!(gap.is_err(), "a heartbeat before any snapshot is a gap");
        s.apply(LiveFrame::Snapshot(LiveSnapshot {
            seq: 5,
            at: at(0),
            queues: vec![queue("phone", 1), queue("chat", 0)],
            incidents: vec![incident(1, Severity::Warning, 0)],
            trends: vec![Trend {
                queue: "phone".into(),
                points: vec![TrendPoint::of(at(0), &queue("phone", 1))],
            }],
            trend_step_s: 30,
            trend_len: 2,
            health: Default::default(),
            complaints: Default::default(),
        }))
        .unwrap();
        assert_eq!(s.queues[0].queue, "chat", "queues are kept sorted by name");
        s.apply(LiveFrame::Delta(LiveDelta {
            seq: 6,
            at: at(1),
            queues: vec![queue("phone", 9), queue("email", 3)],
            incidents: vec![incident(2, Severity::Critical, 1)],
            trend: vec![
                QueuePoint {
                    queue: "phone".into(),
                    point: TrendPoint::of(at(30), &queue("phone", 9)),
                },
                QueuePoint {
                    queue: "phone".into(),
                    point: TrendPoint::of(at(60), &queue("phone", 9)),
                },
            ],
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(s.queue("phone").unwrap().waiting, 9);
        assert_eq!(s.queues.len(), 3);
        assert_eq!(
            s.incidents.iter().map(|i| i.id).collect::<Vec<_>>(),
            [2, 1],
            "worst first"
        );
        let trend = &s.trends["phone"];
        assert_eq!(trend.len(), 2, "trends keep trend_len points");
        assert_eq!(trend[0].at, at(30));
        s.apply(LiveFrame::Delta(LiveDelta {
            seq: 7,
            at: at(2),
            closed: vec![2],
            queues_removed: vec!["email".into()],
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(s.incidents.len(), 1);
        assert!(s.queue("email").is_none());
        let before = s.clone();
        let gap = s
            .apply(LiveFrame::Heartbeat { seq: 9, at: at(3) })
            .unwrap_err();
        assert_eq!(
            gap,
            SequenceGap {
                expected: 8,
                got: 9
            }
        );
        assert_eq!(s, before, "a gap leaves the state alone");
    }

    #[test]
    fn frames_are_tagged_json() {
        let f = LiveFrame::Heartbeat { seq: 3, at: at(0) };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["type"], "heartbeat");
        assert_eq!(serde_json::from_value::<LiveFrame>(v).unwrap(), f);
        let d = serde_json::to_string(&LiveFrame::Delta(LiveDelta {
            seq: 1,
            at: at(0),
            ..Default::default()
        }))
        .unwrap();
        assert!(!d.contains("queues"), "empty parts are left out: {d}");
    }
}
