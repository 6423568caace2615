//! The store: incidents, their timelines, the learned complaint baselines, silences, on-call
//! overrides and the outbox. A trait with two implementations: SQLite (one machine, the
//! default) and PostgreSQL (several daemons on one database); queries are built at run time (no
//! database is needed to compile).

pub(crate) mod pg;
mod postgres;
mod sqlite;

use floorwatch_protocol::{
    Delivery, DeliveryStatus, Incident, IncidentDetail, IncidentStatus, OnCallOverride, Severity,
    Silence, TimelineEntry, Timestamp,
};

use crate::engine::{BaselineRow, Effect};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("node \"{node}\" no longer holds the lease (epoch {epoch}): a newer leader writes now")]
    Fenced { epoch: i64, node: String },
    #[error("PostgreSQL: {0}")]
    Unreachable(String),
    #[error("PostgreSQL: {}", postgres_message(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A PostgreSQL error with what the server said, or the cause below the client's words.
fn postgres_message(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out = format!("{out}: {c}");
        cause = c.source();
    }
    out
}

/// Which incidents `incidents` lists.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    /// Only open ones (firing or acknowledged).
    pub open: bool,
    pub min_severity: Option<Severity>,
    pub queue: Option<String>,
    pub rule: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: Option<u32>,
}

pub trait Store: Send + Sync {
    /// Persists a batch of the engine's effects in one transaction (notifications are the
    /// outbox's rows, written from `Effect::Dispatch`).
    fn save(&self, effects: &[Effect]) -> Result<()>;
    /// Open incidents with the number of timeline entries each has.
    fn open_incidents(&self) -> Result<Vec<(Incident, u32)>>;
    fn max_incident_id(&self) -> Result<u64>;
    fn baselines(&self) -> Result<Vec<BaselineRow>>;
    /// Newest first.
    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;
    fn incident(&self, id: u64) -> Result<Option<IncidentDetail>>;
    /// Appends an entry to an incident's timeline, numbering it after the last one. For
    /// incidents the engine no longer holds (notes on old incidents).
    fn append_entry(&self, entry: TimelineEntry) -> Result<Option<TimelineEntry>>;

    // ---- the outbox (rows are written by `save` from `Effect::Dispatch`) ----

    /// Up to `limit` pending notifications due at `now`, oldest first, leaving out `busy` (being
    /// delivered now).
    fn due_deliveries(
        &self,
        now: i64,
        limit: u32,
        busy: &std::collections::HashSet<u64>,
    ) -> Result<Vec<OutboxItem>>;
    /// When the next pending notification not in `busy` (being delivered now) is due.
    fn next_due(&self, busy: &std::collections::HashSet<u64>) -> Result<Option<i64>>;
    /// Keeps an on-call override, giving it its id.
    fn add_override(&self, o: OnCallOverride) -> Result<OnCallOverride>;
    /// Every on-call override, oldest first.
    fn overrides(&self) -> Result<Vec<OnCallOverride>>;

    /// Every silence, oldest first.
    fn silences(&self) -> Result<Vec<Silence>>;

    /// Records delivery attempts and what the engine made of them (the timeline entries that
    /// tell them), all in one transaction: a row is never marked delivered without its entry.
    fn update_deliveries(&self, updates: &[DeliveryUpdate], effects: &[Effect]) -> Result<()>;
    /// Newest first, by status and incident.
    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        incident: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
}

/// The outcome of one delivery attempt, for its outbox row.
#[derive(Debug, Clone)]
pub struct DeliveryUpdate {
    pub id: u64,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When to try again (for a pending row).
    pub next_ms: i64,
    pub error: Option<String>,
}

/// An outbox row with the incident as it was when the notification was decided.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub delivery: Delivery,
    /// The incident, as JSON.
    pub payload: String,
}
