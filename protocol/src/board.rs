//! What the wall-board shows beyond a queue's window figures, and what an incident's chart is
//! drawn from: each channel's own standard (the first reply's clock of chats and e-mails, the
//! predicted service level), the complaints panel (counts against the usual, keyword hits,
//! deadlines by grade), and the figures of an incident's scope across its life.

use serde::{Deserialize, Serialize};

use crate::{Grade, TimelineKind, TrendPoint};
use chrono::{DateTime, Utc};

/// A queue's first-reply standard (chat and e-mail queues with a `first` response limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FirstResponse {
    /// First replies given within their limit, of those due over the window, 0..=1; `None`
    /// while none was due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<f64>,
    /// How long the contact waiting longest for its first reply has waited; `None` when none waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_s: Option<f64>,
    /// When that contact's first reply is due (on the queue's business hours, for e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_due: Option<DateTime<Utc>>,
}

/// The service level a `predicted_service_level` rule expects `horizon_s` from now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictedLevel {
    pub service_level: f64,
    pub horizon_s: f64,
}

/// The board's complaints panel: what the floor's crisis practice watches first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplaintBoard {
    /// The span the counts cover, in seconds (the last hour).
    pub window_s: u32,
    /// Complaints per category over the window, most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<ComplaintCount>,
    /// Complaints whose text names a watched keyword (the public-opinion early warning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<ComplaintCount>,
    /// Open complaints against their grade's deadline, one row per grade with any open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<GradeDeadlines>,
}

/// A count over the window and what this hour of the week usually brings, when learned (to a
/// tenth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplaintCount {
    pub name: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usual: Option<f64>,
}

/// Open complaints of one grade against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GradeDeadlines {
    pub grade: Grade,
    pub open: u32,
    /// Past four fifths of the deadline, not yet past it.
    pub near: u32,
    pub past: u32,
    /// When the oldest open complaint was opened (its age changes by the second; this does not,
    /// so the panel goes out on the live stream only when its counts change).
    pub oldest_at: DateTime<Utc>,
    pub deadline_s: f64,
}

/// Complaints counted over a spike rule's window at one moment, against the usual for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountPoint {
    pub at: DateTime<Utc>,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usual: Option<f64>,
}

/// What an incident's chart plots: its queue's figures, or its complaint group's count.
/// Externally tagged (`{"queue": {...}}`): the board reads it without buffering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChartSeries {
    Queue {
        /// The queue's service-level target, drawn as a line.
        service_level_target: f64,
        points: Vec<TrendPoint>,
    },
    Complaints {
        /// The spike rule's window the counts cover, in seconds.
        window_s: u32,
        points: Vec<CountPoint>,
    },
    /// The scope has no figures over time (a delivery target, say).
    None,
}

/// An event of the incident's timeline, marked on its chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartMark {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
}

/// `GET /api/v1/incidents/{id}/chart`: the scope's figures from a little before the incident
/// opened to a little after it resolved (or now), with its timeline's events marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentChart {
    pub incident_id: u64,
    pub scope: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Seconds between points.
    pub step_s: u32,
    pub series: ChartSeries,
    pub marks: Vec<ChartMark>,
}

impl ChartMark {
    /// The timeline events a chart marks: opened, raised, paged, acknowledged, resolved.
    pub fn marks(kind: TimelineKind) -> bool {
        matches!(
            kind,
            TimelineKind::Opened
                | TimelineKind::Reopened
                | TimelineKind::SeverityRaised
                | TimelineKind::Escalated
                | TimelineKind::Acknowledged
                | TimelineKind::Resolved
        )
    }
}
