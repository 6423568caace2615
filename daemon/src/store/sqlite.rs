//! SQLite in WAL mode: one connection writes, another reads, so API reads never wait behind a
//! write transaction.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use chrono::SecondsFormat;
use floorwatch_protocol::{
    Delivery, DeliveryKey, DeliveryStatus, Incident, IncidentDetail, OnCallOverride, PageReason,
    PageTarget, Silence, TargetKind, TimelineEntry, TimelineKind,
};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use super::{DeliveryUpdate, IncidentFilter, OutboxItem, Result, Store, StoreError};
use crate::engine::{BaselineRow, Effect};

/// Schema changes, applied in order; the database remembers how many it has.
const MIGRATIONS: &[&str] = &[
    // 1: incidents, timelines, baselines.
    "CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        scope TEXT NOT NULL,
        severity_rank INTEGER NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        body TEXT NOT NULL
     );
     CREATE INDEX incidents_status ON incidents(status);
     CREATE INDEX incidents_opened ON incidents(opened_at);
     CREATE TABLE timeline (
        incident_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
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
        hour_of_week INTEGER NOT NULL,
        mean REAL NOT NULL,
        samples INTEGER NOT NULL,
        PRIMARY KEY (rule, grp, hour_of_week)
     );",
    // 2: the durable outbox of notifications.
    "CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL,
        target TEXT NOT NULL,
        reason TEXT NOT NULL,
        idem_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        next_ms INTEGER NOT NULL,
        deadline_ms INTEGER NOT NULL,
        last_error TEXT
     );
     CREATE INDEX outbox_due ON outbox(status, next_ms);",
    // 3: silences.
    "CREATE TABLE silences (
        id INTEGER PRIMARY KEY,
        ends_at TEXT NOT NULL,
        body TEXT NOT NULL
     );",
    // 4: on-call overrides.
    "CREATE TABLE oncall_overrides (
        id INTEGER PRIMARY KEY,
        body TEXT NOT NULL
     );",
    // 5: a delivery's target and key as their parts (rows written before: split once, here).
    // `idem_key` stays, written for its uniqueness and never read back.
    "ALTER TABLE outbox ADD COLUMN target_kind TEXT NOT NULL DEFAULT '';
     ALTER TABLE outbox ADD COLUMN target_name TEXT NOT NULL DEFAULT '';
     ALTER TABLE outbox ADD COLUMN key_seq INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE outbox ADD COLUMN key_index INTEGER NOT NULL DEFAULT 0;
     UPDATE outbox SET
        target_kind = substr(target, 1, instr(target, ':') - 1),
        target_name = substr(target, instr(target, ':') + 1),
        key_seq = CAST(substr(substr(idem_key, instr(substr(idem_key, 4), '-') + 4), 1,
            instr(substr(idem_key, instr(substr(idem_key, 4), '-') + 4), '-') - 1) AS INTEGER),
        key_index = CAST(substr(substr(idem_key, instr(substr(idem_key, 4), '-') + 4),
            instr(substr(idem_key, instr(substr(idem_key, 4), '-') + 4), '-') + 1) AS INTEGER);
     ALTER TABLE outbox DROP COLUMN target;",
];

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// How long a notification may keep being retried.
    delivery_deadline: i64,
}

fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    // Fixed width, so text order is time order.
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl SqliteStore {
    /// Delivery updates and the engine's effects, in one transaction.
    fn write(&self, updates: &[DeliveryUpdate], effects: &[Effect]) -> Result<()> {
        let mut c = self.writer.lock().unwrap();
        let tx = c.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET status = ?2, attempts = ?3, next_ms = ?4, last_error = ?5 WHERE id = ?1",
            )?;
            for u in updates {
                update.execute(params![
                    u.id as i64,
                    u.status.as_str(),
                    i64::from(u.attempts),
                    u.next_ms,
                    u.error
                ])?;
            }

            let mut upsert = tx.prepare_cached(
                "INSERT INTO incidents (id, rule, scope, severity_rank, status, opened_at, updated_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET severity_rank = excluded.severity_rank,
                    status = excluded.status, updated_at = excluded.updated_at, body = excluded.body",
            )?;
            let mut entry = tx.prepare_cached(
                "INSERT INTO timeline (incident_id, seq, at, actor, kind, message, figures)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (incident_id, seq) DO NOTHING",
            )?;
            let mut baseline = tx.prepare_cached(
                "INSERT INTO baselines (rule, grp, hour_of_week, mean, samples) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (rule, grp, hour_of_week) DO UPDATE SET mean = excluded.mean, samples = excluded.samples",
            )?;
            let mut outbox = tx.prepare_cached(
                "INSERT INTO outbox (incident_id, target_kind, target_name, reason, key_seq, key_index, idem_key, payload, status, attempts, created_ms, next_ms, deadline_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?9, ?10)
                 ON CONFLICT (idem_key) DO NOTHING",
            )?;
            for fx in effects {
                match fx {
                    Effect::Incident(i) => {
                        upsert.execute(params![
                            i.id as i64,
                            i.rule,
                            i.scope,
                            i.severity as i64,
                            i.status.as_str(),
                            ts(&i.opened_at),
                            ts(&i.updated_at),
                            serde_json::to_string(i).expect("incident serialises"),
                        ])?;
                    }
                    Effect::Timeline(e) => {
                        entry.execute(params![
                            e.incident_id as i64,
                            e.seq as i64,
                            ts(&e.at),
                            e.actor,
                            e.kind.as_str(),
                            e.message,
                            serde_json::to_string(&e.values).expect("figures serialise"),
                        ])?;
                    }
                    Effect::Baseline(b) => {
                        baseline.execute(params![
                            b.rule,
                            b.group,
                            b.hour_of_week as i64,
                            b.mean,
                            b.samples as i64
                        ])?;
                    }
                    Effect::Dispatch(d) => {
                        let created = d.incident.updated_at.timestamp_millis();
                        outbox.execute(params![
                            d.incident.id as i64,
                            d.target.kind.as_str(),
                            d.target.name,
                            d.reason.as_str(),
                            i64::from(d.key.seq),
                            i64::from(d.key.index),
                            d.key.to_string(),
                            serde_json::to_string(&d.incident).expect("incident serialises"),
                            created,
                            created + self.delivery_deadline,
                        ])?;
                    }
                    Effect::Silence(s) => {
                        tx.execute(
                            "INSERT INTO silences (id, ends_at, body) VALUES (?1, ?2, ?3)
                             ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at, body = excluded.body",
                            params![s.id as i64, ts(&s.ends_at), serde_json::to_string(s).expect("silence serialises")],
                        )?;
                    }
                    Effect::Notify(_) => {}
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets how long new notifications are retried before they become dead letters.
    pub fn with_delivery_deadline(mut self, ms: i64) -> Self {
        self.delivery_deadline = ms;
        self
    }

    /// Opens (creating if needed) `floorwatch.db` in `dir` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::DataDir(dir.display().to_string(), e))?;
        let path = dir.join("floorwatch.db");
        let writer = Connection::open(&path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode survives a killed process (not a power cut) without an fsync
        // per commit.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "busy_timeout", 5000)?;
        migrate(&writer)?;
        let reader = Connection::open(&path)?;
        reader.pragma_update(None, "busy_timeout", 5000)?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            delivery_deadline: 3_600_000,
        })
    }
}

fn migrate(c: &Connection) -> Result<()> {
    c.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let have: i64 = c.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        let tx = c.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            params![i as i64 + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}

fn incident_from_row(body: String) -> Result<Incident> {
    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("incident body: {e}")))
}

fn entry_from_row(r: &rusqlite::Row) -> rusqlite::Result<(TimelineEntry, String, String)> {
    let at: String = r.get(2)?;
    let kind: String = r.get(4)?;
    let figures: String = r.get(6)?;
    Ok((
        TimelineEntry {
            incident_id: r.get::<_, i64>(0)? as u64,
            seq: r.get::<_, i64>(1)? as u32,
            at: chrono::DateTime::parse_from_rfc3339(&at)
                .map(|t| t.to_utc())
                .unwrap_or_default(),
            actor: r.get(3)?,
            kind: TimelineKind::parse(&kind).unwrap_or(TimelineKind::Note),
            message: r.get(5)?,
            values: Default::default(),
        },
        kind,
        figures,
    ))
}

impl Store for SqliteStore {
    fn save(&self, effects: &[Effect]) -> Result<()> {
        self.write(&[], effects)
    }

    fn open_incidents(&self) -> Result<Vec<(Incident, u32)>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare(
            "SELECT i.body, (SELECT COALESCE(MAX(seq), 0) FROM timeline t WHERE t.incident_id = i.id)
             FROM incidents i WHERE i.status <> 'resolved' ORDER BY i.id",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, seq) = row?;
            out.push((incident_from_row(body)?, seq as u32));
        }
        Ok(out)
    }

    fn max_incident_id(&self) -> Result<u64> {
        let c = self.reader.lock().unwrap();
        let n: i64 = c.query_row("SELECT COALESCE(MAX(id), 0) FROM incidents", [], |r| {
            r.get(0)
        })?;
        Ok(n as u64)
    }

    fn baselines(&self) -> Result<Vec<BaselineRow>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare("SELECT rule, grp, hour_of_week, mean, samples FROM baselines")?;
        let rows = st.query_map([], |r| {
            Ok(BaselineRow {
                rule: r.get(0)?,
                group: r.get(1)?,
                hour_of_week: r.get::<_, i64>(2)? as u16,
                mean: r.get(3)?,
                samples: r.get::<_, i64>(4)? as u32,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut sql = String::from("SELECT body FROM incidents WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(s) = f.status {
            sql.push_str(" AND status = ?");
            args.push(Value::Text(s.as_str().into()));
        }
        if f.open {
            sql.push_str(" AND status <> 'resolved'");
        }
        if let Some(s) = f.min_severity {
            sql.push_str(" AND severity_rank >= ?");
            args.push(Value::Integer(s as i64));
        }
        if let Some(q) = &f.queue {
            sql.push_str(" AND scope = ?");
            args.push(Value::Text(q.clone()));
        }
        if let Some(r) = &f.rule {
            sql.push_str(" AND rule = ?");
            args.push(Value::Text(r.clone()));
        }
        if let Some(t) = &f.since {
            sql.push_str(" AND opened_at >= ?");
            args.push(Value::Text(ts(t)));
        }
        if let Some(t) = &f.until {
            sql.push_str(" AND opened_at < ?");
            args.push(Value::Text(ts(t)));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Value::Integer(i64::from(
            f.limit.unwrap_or(500).min(10_000),
        )));
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map(params_from_iter(args), |r| r.get::<_, String>(0))?;
        rows.map(|b| incident_from_row(b?)).collect()
    }

    fn incident(&self, id: u64) -> Result<Option<IncidentDetail>> {
        let c = self.reader.lock().unwrap();
        let body: Option<String> = c
            .query_row(
                "SELECT body FROM incidents WHERE id = ?1",
                params![id as i64],
                |r| r.get(0),
            )
            .optional()?;
        let Some(body) = body else { return Ok(None) };
        let incident = incident_from_row(body)?;
        let mut st = c.prepare(
            "SELECT incident_id, seq, at, actor, kind, message, figures FROM timeline
             WHERE incident_id = ?1 ORDER BY seq",
        )?;
        let mut timeline = Vec::new();
        for row in st.query_map(params![id as i64], entry_from_row)? {
            let (mut e, _, figures) = row?;
            e.values = serde_json::from_str(&figures)
                .map_err(|err| StoreError::Corrupt(format!("timeline figures: {err}")))?;
            timeline.push(e);
        }
        Ok(Some(IncidentDetail { incident, timeline }))
    }

    fn append_entry(&self, mut e: TimelineEntry) -> Result<Option<TimelineEntry>> {
        let mut c = self.writer.lock().unwrap();
        let tx = c.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT id FROM incidents WHERE id = ?1",
                params![e.incident_id as i64],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let seq: i64 = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM timeline WHERE incident_id = ?1",
            params![e.incident_id as i64],
            |r| r.get(0),
        )?;
        e.seq = seq as u32 + 1;
        tx.execute(
            "INSERT INTO timeline (incident_id, seq, at, actor, kind, message, figures) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                e.incident_id as i64,
                e.seq as i64,
                ts(&e.at),
                e.actor,
                e.kind.as_str(),
                e.message,
                serde_json::to_string(&e.values).expect("figures serialise"),
            ],
        )?;
        tx.commit()?;
        Ok(Some(e))
    }

    fn due_deliveries(&self, now: i64, limit: u32, busy: &HashSet<u64>) -> Result<Vec<OutboxItem>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare_cached(
            "SELECT id, incident_id, target_kind, target_name, reason, key_seq, key_index, payload, status, attempts, created_ms, next_ms, deadline_ms, last_error
             FROM outbox WHERE status = 'pending' AND next_ms <= ?1 ORDER BY next_ms, id LIMIT ?2",
        )?;
        // The busy rows are among the first `limit + busy.len()`: read past them.
        let fetch = i64::from(limit) + busy.len() as i64;
        let rows = st.query_map(params![now, fetch], outbox_row)?;
        let mut out = Vec::new();
        for row in rows {
            let item = row?;
            if !busy.contains(&item.delivery.id) {
                out.push(item);
            }
            if out.len() == limit as usize {
                break;
            }
        }
        Ok(out)
    }

    fn next_due(&self, busy: &HashSet<u64>) -> Result<Option<i64>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare_cached(
            "SELECT id, next_ms FROM outbox WHERE status = 'pending' ORDER BY next_ms, id LIMIT ?1",
        )?;
        // The first row not in `busy` is among the first `busy.len() + 1`.
        let rows = st.query_map(params![busy.len() as i64 + 1], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (id, next) = row?;
            if !busy.contains(&id) {
                return Ok(Some(next));
            }
        }
        Ok(None)
    }

    fn add_override(&self, mut o: OnCallOverride) -> Result<OnCallOverride> {
        let mut c = self.writer.lock().unwrap();
        let tx = c.transaction()?;
        let id: i64 = tx.query_row(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM oncall_overrides",
            [],
            |r| r.get(0),
        )?;
        o.id = id as u64;
        tx.execute(
            "INSERT INTO oncall_overrides (id, body) VALUES (?1, ?2)",
            params![id, serde_json::to_string(&o).expect("override serialises")],
        )?;
        tx.commit()?;
        Ok(o)
    }

    fn overrides(&self) -> Result<Vec<OnCallOverride>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare("SELECT body FROM oncall_overrides ORDER BY id")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|b| {
            serde_json::from_str(&b?).map_err(|e| StoreError::Corrupt(format!("override: {e}")))
        })
        .collect()
    }

    fn silences(&self) -> Result<Vec<Silence>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare("SELECT body FROM silences ORDER BY id")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|b| {
            serde_json::from_str(&b?).map_err(|e| StoreError::Corrupt(format!("silence: {e}")))
        })
        .collect()
    }

    fn update_deliveries(&self, updates: &[DeliveryUpdate], effects: &[Effect]) -> Result<()> {
        self.write(updates, effects)
    }

    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        incident: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let c = self.reader.lock().unwrap();
        let mut st = c.prepare(
            "SELECT id, incident_id, target_kind, target_name, reason, key_seq, key_index, payload, status, attempts, created_ms, next_ms, deadline_ms, last_error
             FROM outbox WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR incident_id = ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = st.query_map(
            params![
                status.map(|s| s.as_str()),
                incident.map(|i| i as i64),
                i64::from(limit)
            ],
            outbox_row,
        )?;
        Ok(rows
            .map(|r| r.map(|o| o.delivery))
            .collect::<rusqlite::Result<_>>()?)
    }
}

fn outbox_row(r: &rusqlite::Row) -> rusqlite::Result<OutboxItem> {
    let ms = |i: usize| -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
        Ok(chrono::DateTime::from_timestamp_millis(r.get(i)?).unwrap_or_default())
    };
    // A word this version does not know is a corrupt row: refused, not guessed.
    let corrupt = |i: usize, what: &str, s: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("outbox {what} \"{s}\"").into(),
        )
    };
    let incident_id = r.get::<_, i64>(1)? as u64;
    let kind: String = r.get(2)?;
    let reason: String = r.get(4)?;
    let status: String = r.get(8)?;
    Ok(OutboxItem {
        delivery: Delivery {
            id: r.get::<_, i64>(0)? as u64,
            incident_id,
            target: PageTarget::new(
                TargetKind::parse(&kind).ok_or_else(|| corrupt(2, "target kind", &kind))?,
                r.get::<_, String>(3)?,
            ),
            reason: PageReason::parse(&reason).ok_or_else(|| corrupt(4, "reason", &reason))?,
            key: DeliveryKey {
                incident: incident_id,
                seq: r.get::<_, i64>(5)? as u32,
                index: r.get::<_, i64>(6)? as u32,
            },
            status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending),
            attempts: r.get::<_, i64>(9)? as u32,
            created_at: ms(10)?,
            next_attempt_at: ms(11)?,
            deadline: ms(12)?,
            last_error: r.get(13)?,
        },
        payload: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_rows_of_an_older_schema_get_their_parts() {
        let dir = tempfile::tempdir().unwrap();
        {
            // A database as version 4 left it, with a pending page in its outbox.
            let c = Connection::open(dir.path().join("floorwatch.db")).unwrap();
            c.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                .unwrap();
            for (i, sql) in MIGRATIONS[..4].iter().enumerate() {
                c.execute_batch(sql).unwrap();
                c.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    params![i as i64 + 1],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO outbox (incident_id, target, reason, idem_key, payload, status, attempts, created_ms, next_ms, deadline_ms)
                 VALUES (12, 'oncall:duty-managers', 'escalated', 'fw-12-34-5', '{}', 'pending', 1, 0, 0, 9)",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let rows = store.due_deliveries(1, 10, &HashSet::new()).unwrap();
        let d = &rows[0].delivery;
        assert_eq!(
            d.target,
            PageTarget::new(TargetKind::OnCall, "duty-managers")
        );
        assert_eq!(d.reason, PageReason::Escalated);
        assert_eq!(
            d.key,
            DeliveryKey {
                incident: 12,
                seq: 34,
                index: 5
            }
        );
        assert_eq!(d.key.to_string(), "fw-12-34-5");
    }
}
