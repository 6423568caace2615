//! PostgreSQL, for more than one daemon on one database (`[store] backend = "postgres"`, the URL
//! in `FLOORWATCH_DATABASE_URL`). The same tables as SQLite; queries are plain SQL built at run
//! time (no database is needed to compile). Migrations run on start under an advisory lock, so
//! nodes starting together apply each once.
//!
//! The client is the `postgres` crate (the blocking face of tokio-postgres): the `Store` trait is
//! synchronous and called off the async workers, as SQLite's is. Every call has a deadline: the
//! connection (`connect_timeout`), each statement (`statement_timeout`) and a dead peer
//! (`tcp_user_timeout`, keepalives). A call that finds the connection broken fails, and the next
//! one connects again, so a database restart costs the calls made while it was down.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::SecondsFormat;
use floorwatch_protocol::{
    Delivery, DeliveryKey, DeliveryStatus, Incident, IncidentDetail, OnCallOverride, PageReason,
    PageTarget, Silence, TargetKind, TimelineEntry, TimelineKind,
};
use postgres::types::ToSql;
use postgres::{Client, Row, Transaction};

use super::pg::{self, Conn};
use super::{DeliveryUpdate, IncidentFilter, OutboxItem, Result, Store, StoreError};
use crate::cluster::Fence;
use crate::engine::{BaselineRow, Effect};

/// Schema changes, applied in order; the database remembers how many it has.
const MIGRATIONS: &[&str] = &[
    // 1: what the SQLite store keeps.
    "CREATE TABLE incidents (
        id BIGINT PRIMARY KEY,
        rule TEXT NOT NULL,
        scope TEXT NOT NULL,
        severity_rank BIGINT NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        body TEXT NOT NULL
     );
     CREATE INDEX incidents_status ON incidents(status);
     CREATE INDEX incidents_opened ON incidents(opened_at);
     CREATE TABLE timeline (
        incident_id BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        figures TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
     );
     CREATE TABLE baselines (
        rule TEXT NOT NULL,
        grp TEXT NOT NULL,
        hour_of_week BIGINT NOT NULL,
        mean DOUBLE PRECISION NOT NULL,
        samples BIGINT NOT NULL,
        PRIMARY KEY (rule, grp, hour_of_week)
     );
     CREATE TABLE outbox (
        id BIGSERIAL PRIMARY KEY,
        incident_id BIGINT NOT NULL,
        target_kind TEXT NOT NULL,
        target_name TEXT NOT NULL,
        reason TEXT NOT NULL,
        key_seq BIGINT NOT NULL,
        key_index BIGINT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        created_ms BIGINT NOT NULL,
        next_ms BIGINT NOT NULL,
        deadline_ms BIGINT NOT NULL,
        last_error TEXT,
        UNIQUE (incident_id, key_seq, key_index)
     );
     CREATE INDEX outbox_due ON outbox(status, next_ms);
     CREATE TABLE silences (
        id BIGINT PRIMARY KEY,
        ends_at TEXT NOT NULL,
        body TEXT NOT NULL
     );
     CREATE TABLE oncall_overrides (
        id BIGSERIAL PRIMARY KEY,
        body TEXT NOT NULL
     );",
    // 2: several daemons on one database (`crate::cluster`): the shared journal (one row per
    // accepted batch), the leader's lease, the nodes, and the outbox's claims.
    "CREATE TABLE floorwatch_journal (
        id BIGSERIAL PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        node TEXT NOT NULL,
        lz4 BYTEA NOT NULL
     );
     CREATE INDEX floorwatch_journal_at ON floorwatch_journal(at_ms);
     -- Compressed already (LZ4, by the node that wrote it).
     ALTER TABLE floorwatch_journal ALTER COLUMN lz4 SET STORAGE EXTERNAL;
     CREATE TABLE floorwatch_lease (
        id INT PRIMARY KEY,
        holder TEXT,
        url TEXT,
        epoch BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
     );
     INSERT INTO floorwatch_lease (id, holder, url, epoch, expires_at)
        VALUES (1, NULL, NULL, 0, '-infinity');
     CREATE TABLE floorwatch_nodes (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL,
        applied BIGINT NOT NULL,
        leader BOOLEAN NOT NULL
     );
     ALTER TABLE outbox ADD COLUMN claimed_epoch BIGINT;",
];

/// The advisory lock migrations run under (any number that is Floorwatch's).
const MIGRATION_LOCK: i64 = 0x466c_6f6f_7277_6174;

pub struct PostgresStore {
    writer: Mutex<Conn>,
    reader: Mutex<Conn>,
    fence: Option<Arc<Fence>>,
    /// How long a notification may keep being retried.
    delivery_deadline: i64,
}

fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    // Fixed width, so text order is time order.
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl PostgresStore {
    /// Sets how long new notifications are retried before they become dead letters.
    pub fn with_delivery_deadline(mut self, ms: i64) -> Self {
        self.delivery_deadline = ms;
        self
    }

    /// Connects to `url` (a `postgres://` URL or a key=value string) and brings the schema up to
    /// date.
    pub fn open(url: &str) -> Result<Self> {
        let config = pg::config(url, "floorwatch")?;
        let store = PostgresStore {
            writer: Mutex::new(Conn::new(config.clone())),
            reader: Mutex::new(Conn::new(config)),
            fence: None,
            delivery_deadline: 3_600_000,
        };
        store.writer.lock().unwrap().run(migrate)?;
        Ok(store)
    }

    /// Runs `f` in a transaction on the writing connection. A fenced store (a cluster's) first
    /// checks, in the same transaction, that this node still holds the lease it had: a leader
    /// that was paused or cut off and lost it writes nothing.
    fn write<T: Send>(
        &self,
        f: impl FnOnce(&mut Transaction) -> std::result::Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        let fence = self.fence.clone();
        self.writer.lock().unwrap().run(|c| -> Result<T> {
            let mut tx = c.transaction()?;
            if let Some(fence) = &fence {
                fence.check(&mut tx)?;
            }
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Fences every write with this node's lease (see `write`).
    pub fn with_fence(mut self, fence: Arc<Fence>) -> Self {
        self.fence = Some(fence);
        self
    }

    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        self.reader.lock().unwrap().run(f)
    }
}

fn migrate(c: &mut Client) -> std::result::Result<(), postgres::Error> {
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS floorwatch_schema (version BIGINT NOT NULL)")?;
    let have: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM floorwatch_schema",
            &[],
        )?
        .get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO floorwatch_schema (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )?;
    }
    tx.commit()
}

/// A timeline entry; one already there (the same incident and number) is kept.
fn insert_entry(
    tx: &mut postgres::Transaction,
    e: &TimelineEntry,
) -> std::result::Result<u64, postgres::Error> {
    tx.execute(
        "INSERT INTO timeline (incident_id, seq, at, actor, kind, message, figures)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (incident_id, seq) DO NOTHING",
        &[
            &(e.incident_id as i64),
            &i64::from(e.seq),
            &ts(&e.at),
            &e.actor,
            &e.kind.as_str(),
            &e.message,
            &serde_json::to_string(&e.values).expect("figures serialise"),
        ],
    )
}

/// The engine's effects, in the caller's transaction.
fn write_effects(
    tx: &mut Transaction,
    effects: &[Effect],
    deadline: i64,
) -> std::result::Result<(), postgres::Error> {
    for fx in effects {
        match fx {
            Effect::Incident(i) => {
                tx.execute(
                    "INSERT INTO incidents (id, rule, scope, severity_rank, status, opened_at, updated_at, body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (id) DO UPDATE SET severity_rank = excluded.severity_rank,
                        status = excluded.status, updated_at = excluded.updated_at, body = excluded.body",
                    &[
                        &(i.id as i64),
                        &i.rule,
                        &i.scope,
                        &(i.severity as i64),
                        &i.status.as_str(),
                        &ts(&i.opened_at),
                        &ts(&i.updated_at),
                        &serde_json::to_string(i).expect("incident serialises"),
                    ],
                )?;
            }
            Effect::Timeline(e) => {
                insert_entry(tx, e)?;
            }
            Effect::Baseline(b) => {
                tx.execute(
                    "INSERT INTO baselines (rule, grp, hour_of_week, mean, samples) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (rule, grp, hour_of_week) DO UPDATE SET mean = excluded.mean, samples = excluded.samples",
                    &[
                        &b.rule,
                        &b.group,
                        &i64::from(b.hour_of_week),
                        &b.mean,
                        &i64::from(b.samples),
                    ],
                )?;
            }
            Effect::Dispatch(d) => {
                let created = d.incident.updated_at.timestamp_millis();
                tx.execute(
                    "INSERT INTO outbox (incident_id, target_kind, target_name, reason, key_seq, key_index, payload, status, attempts, created_ms, next_ms, deadline_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $9)
                     ON CONFLICT (incident_id, key_seq, key_index) DO NOTHING",
                    &[
                        &(d.incident.id as i64),
                        &d.target.kind.as_str(),
                        &d.target.name,
                        &d.reason.as_str(),
                        &i64::from(d.key.seq),
                        &i64::from(d.key.index),
                        &serde_json::to_string(&d.incident).expect("incident serialises"),
                        &created,
                        &(created + deadline),
                    ],
                )?;
            }
            Effect::Silence(s) => {
                tx.execute(
                    "INSERT INTO silences (id, ends_at, body) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at, body = excluded.body",
                    &[
                        &(s.id as i64),
                        &ts(&s.ends_at),
                        &serde_json::to_string(s).expect("silence serialises"),
                    ],
                )?;
            }
            Effect::Notify(_) => {}
        }
    }
    // The other nodes of a cluster show the leader's incidents: tell them.
    if effects.iter().any(|f| matches!(f, Effect::Incident(_))) {
        tx.execute(
            "SELECT pg_notify($1, '')",
            &[&crate::cluster::INCIDENTS_CHANNEL],
        )?;
    }
    Ok(())
}

fn incident_from_body(body: &str) -> Result<Incident> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("incident body: {e}")))
}

const OUTBOX_COLUMNS: &str = "id, incident_id, target_kind, target_name, reason, key_seq, key_index, payload, status, attempts, created_ms, next_ms, deadline_ms, last_error";

fn outbox_item(r: &Row) -> Result<OutboxItem> {
    let ms = |i: usize| chrono::DateTime::from_timestamp_millis(r.get(i)).unwrap_or_default();
    let (kind, reason, status): (String, String, String) = (r.get(2), r.get(4), r.get(8));
    let corrupt = |what: &str, s: &str| StoreError::Corrupt(format!("outbox {what} \"{s}\""));
    let incident_id = r.get::<_, i64>(1) as u64;
    Ok(OutboxItem {
        delivery: Delivery {
            id: r.get::<_, i64>(0) as u64,
            incident_id,
            target: PageTarget::new(
                TargetKind::parse(&kind).ok_or_else(|| corrupt("target kind", &kind))?,
                r.get::<_, String>(3),
            ),
            reason: PageReason::parse(&reason).ok_or_else(|| corrupt("reason", &reason))?,
            key: DeliveryKey {
                incident: incident_id,
                seq: r.get::<_, i64>(5) as u32,
                index: r.get::<_, i64>(6) as u32,
            },
            status: DeliveryStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            attempts: r.get::<_, i64>(9) as u32,
            created_at: ms(10),
            next_attempt_at: ms(11),
            deadline: ms(12),
            last_error: r.get(13),
        },
        payload: r.get(7),
    })
}

impl Store for PostgresStore {
    fn save(&self, effects: &[Effect]) -> Result<()> {
        if effects.is_empty() {
            return Ok(());
        }
        let deadline = self.delivery_deadline;
        self.write(|tx| write_effects(tx, effects, deadline))
    }

    fn open_incidents(&self) -> Result<Vec<(Incident, u32)>> {
        let rows = self.read(|c| {
            c.query(
                "SELECT i.body, (SELECT COALESCE(MAX(seq), 0) FROM timeline t WHERE t.incident_id = i.id)
                 FROM incidents i WHERE i.status <> 'resolved' ORDER BY i.id",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| Ok((incident_from_body(r.get(0))?, r.get::<_, i64>(1) as u32)))
            .collect()
    }

    fn max_incident_id(&self) -> Result<u64> {
        let row = self.read(|c| c.query_one("SELECT COALESCE(MAX(id), 0) FROM incidents", &[]))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn baselines(&self) -> Result<Vec<BaselineRow>> {
        let rows = self.read(|c| {
            c.query(
                "SELECT rule, grp, hour_of_week, mean, samples FROM baselines",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| BaselineRow {
                rule: r.get(0),
                group: r.get(1),
                hour_of_week: r.get::<_, i64>(2) as u16,
                mean: r.get(3),
                samples: r.get::<_, i64>(4) as u32,
            })
            .collect())
    }

    fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut sql = String::from("SELECT body FROM incidents WHERE 1 = 1");
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync>| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(s) = f.status {
            arg(&mut sql, " AND status = ?", Box::new(s.as_str()));
        }
        if f.open {
            sql.push_str(" AND status <> 'resolved'");
        }
        if let Some(s) = f.min_severity {
            arg(&mut sql, " AND severity_rank >= ?", Box::new(s as i64));
        }
        if let Some(q) = &f.queue {
            arg(&mut sql, " AND scope = ?", Box::new(q.clone()));
        }
        if let Some(r) = &f.rule {
            arg(&mut sql, " AND rule = ?", Box::new(r.clone()));
        }
        if let Some(t) = &f.since {
            arg(&mut sql, " AND opened_at >= ?", Box::new(ts(t)));
        }
        if let Some(t) = &f.until {
            arg(&mut sql, " AND opened_at < ?", Box::new(ts(t)));
        }
        let limit = i64::from(f.limit.unwrap_or(500).min(10_000));
        arg(&mut sql, " ORDER BY id DESC LIMIT ?", Box::new(limit));
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.read(|c| c.query(sql.as_str(), &params))?;
        rows.iter().map(|r| incident_from_body(r.get(0))).collect()
    }

    fn incident(&self, id: u64) -> Result<Option<IncidentDetail>> {
        let (body, entries) = self.read(|c| {
            let body = c.query_opt("SELECT body FROM incidents WHERE id = $1", &[&(id as i64)])?;
            let entries = c.query(
                "SELECT incident_id, seq, at, actor, kind, message, figures FROM timeline
                 WHERE incident_id = $1 ORDER BY seq",
                &[&(id as i64)],
            )?;
            Ok((body, entries))
        })?;
        let Some(body) = body else { return Ok(None) };
        let incident = incident_from_body(body.get(0))?;
        let timeline = entries
            .iter()
            .map(|r| {
                let at: String = r.get(2);
                let kind: String = r.get(4);
                Ok(TimelineEntry {
                    incident_id: r.get::<_, i64>(0) as u64,
                    seq: r.get::<_, i64>(1) as u32,
                    at: chrono::DateTime::parse_from_rfc3339(&at)
                        .map(|t| t.to_utc())
                        .unwrap_or_default(),
                    actor: r.get(3),
                    kind: TimelineKind::parse(&kind).unwrap_or(TimelineKind::Note),
                    message: r.get(5),
                    values: serde_json::from_str(r.get(6))
                        .map_err(|e| StoreError::Corrupt(format!("timeline figures: {e}")))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(IncidentDetail { incident, timeline }))
    }

    fn append_entry(&self, mut e: TimelineEntry) -> Result<Option<TimelineEntry>> {
        self.write(|tx| {
            // The incident's row, locked: appends to one timeline take their turns.
            let id = e.incident_id as i64;
            if tx
                .query_opt("SELECT id FROM incidents WHERE id = $1 FOR UPDATE", &[&id])?
                .is_none()
            {
                return Ok(None);
            }
            let seq: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(seq), 0) FROM timeline WHERE incident_id = $1",
                    &[&id],
                )?
                .get(0);
            e.seq = seq as u32 + 1;
            insert_entry(tx, &e)?;
            Ok(Some(e.clone()))
        })
    }

    fn due_deliveries(&self, now: i64, limit: u32, busy: &HashSet<u64>) -> Result<Vec<OutboxItem>> {
        let busy: Vec<i64> = busy.iter().map(|id| *id as i64).collect();
        let Some(epoch) = self.fence.as_ref().map(|f| f.epoch().unwrap_or(0)) else {
            let sql = format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' AND next_ms <= $1
                    AND NOT (id = ANY($3))
                 ORDER BY next_ms, id LIMIT $2"
            );
            let rows = self.read(|c| c.query(sql.as_str(), &[&now, &i64::from(limit), &busy]))?;
            return rows.iter().map(outbox_item).collect();
        };
        // A cluster's leader claims the rows under its epoch (skipping rows another node's
        // transaction holds); rows an earlier leader claimed (in flight when it died) are taken
        // over, and retried under the same key.
        let sql = format!(
            "UPDATE outbox SET claimed_epoch = $3 WHERE id IN (
                SELECT id FROM outbox WHERE status = 'pending' AND next_ms <= $1
                    AND NOT (id = ANY($4))
                ORDER BY next_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING {OUTBOX_COLUMNS}"
        );
        let rows =
            self.write(|tx| tx.query(sql.as_str(), &[&now, &i64::from(limit), &epoch, &busy]))?;
        let mut items = rows.iter().map(outbox_item).collect::<Result<Vec<_>>>()?;
        items.sort_by_key(|i| (i.delivery.next_attempt_at, i.delivery.id));
        Ok(items)
    }

    fn next_due(&self, busy: &HashSet<u64>) -> Result<Option<i64>> {
        // The first row not in `busy` is among the first `busy.len() + 1`.
        let rows = self.read(|c| {
            c.query(
                "SELECT id, next_ms FROM outbox WHERE status = 'pending' ORDER BY next_ms, id LIMIT $1",
                &[&(busy.len() as i64 + 1)],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1)))
            .find(|(id, _)| !busy.contains(id))
            .map(|(_, next)| next))
    }

    fn add_override(&self, mut o: OnCallOverride) -> Result<OnCallOverride> {
        self.write(|tx| {
            let id: i64 = tx
                .query_one(
                    "SELECT nextval(pg_get_serial_sequence('oncall_overrides', 'id'))",
                    &[],
                )?
                .get(0);
            o.id = id as u64;
            tx.execute(
                "INSERT INTO oncall_overrides (id, body) VALUES ($1, $2)",
                &[
                    &id,
                    &serde_json::to_string(&o).expect("override serialises"),
                ],
            )?;
            Ok(o.clone())
        })
    }

    fn overrides(&self) -> Result<Vec<OnCallOverride>> {
        let rows = self.read(|c| c.query("SELECT body FROM oncall_overrides ORDER BY id", &[]))?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get(0))
                    .map_err(|e| StoreError::Corrupt(format!("override: {e}")))
            })
            .collect()
    }

    fn silences(&self) -> Result<Vec<Silence>> {
        let rows = self.read(|c| c.query("SELECT body FROM silences ORDER BY id", &[]))?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get(0))
                    .map_err(|e| StoreError::Corrupt(format!("silence: {e}")))
            })
            .collect()
    }

    fn update_deliveries(&self, updates: &[DeliveryUpdate], effects: &[Effect]) -> Result<()> {
        let deadline = self.delivery_deadline;
        self.write(|tx| {
            let st = tx.prepare(
                "UPDATE outbox SET status = $2, attempts = $3, next_ms = $4, last_error = $5,
                    claimed_epoch = NULL WHERE id = $1",
            )?;
            for u in updates {
                tx.execute(
                    &st,
                    &[
                        &(u.id as i64),
                        &u.status.as_str(),
                        &i64::from(u.attempts),
                        &u.next_ms,
                        &u.error,
                    ],
                )?;
            }
            write_effects(tx, effects, deadline)
        })
    }

    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        incident: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox
             WHERE ($1::TEXT IS NULL OR status = $1) AND ($2::BIGINT IS NULL OR incident_id = $2)
             ORDER BY id DESC LIMIT $3"
        );
        let status = status.map(|s| s.as_str());
        let incident = incident.map(|i| i as i64);
        let rows =
            self.read(|c| c.query(sql.as_str(), &[&status, &incident, &i64::from(limit)]))?;
        rows.iter()
            .map(|r| outbox_item(r).map(|o| o.delivery))
            .collect()
    }
}
