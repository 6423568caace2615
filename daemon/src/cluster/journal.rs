//! The shared journal: every batch of events a node accepted, one row each (`floorwatch_journal`:
//! the raw lines, the node, when), written before the node answers. Inserts take an advisory
//! lock, so rows are numbered in the order they commit and a reader that has seen row `n` has
//! seen every row before it. Each node applies the rows in that order (the leader deciding, the
//! others only keeping their state warm), and a restarted node rebuilds from them. Rows older
//! than the state horizon are pruned by the leader.

use std::sync::Mutex;

use crate::config::Millis;
use crate::store::Result;
use crate::store::pg::Conn;

/// The channel a new row is announced on.
pub const CHANNEL: &str = "floorwatch_journal";
/// Inserts take this advisory lock (any number that is Floorwatch's).
const LOCK: i64 = 0x466c_6f6f_724a_726e;
/// Rows read at once while catching up.
const PAGE: i64 = 256;

/// One accepted batch.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: i64,
    pub at: Millis,
    pub node: String,
    /// NDJSON: the accepted lines, each with its `source`.
    pub lines: String,
}

pub struct SharedJournal {
    conn: Mutex<Conn>,
}

impl SharedJournal {
    pub fn new(config: postgres::Config) -> Self {
        SharedJournal {
            conn: Mutex::new(Conn::new(config)),
        }
    }

    /// Writes a batch and announces it; its row number.
    pub fn append(&self, at: Millis, node: &str, lines: &str) -> Result<i64> {
        self.conn.lock().unwrap().run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO floorwatch_journal (at_ms, node, lines) VALUES ($1, $2, $3)
                     RETURNING id",
                    &[&at, &node, &lines],
                )?
                .get(0);
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id.to_string()])?;
            tx.commit()?;
            Ok::<_, postgres::Error>(id)
        })
    }

    /// The rows after row `pos`, oldest first, a page at a time.
    pub fn after(&self, pos: i64) -> Result<Vec<Batch>> {
        let rows = self.conn.lock().unwrap().run(|c| {
            c.query(
                "SELECT id, at_ms, node, lines FROM floorwatch_journal WHERE id > $1
                 ORDER BY id LIMIT $2",
                &[&pos, &PAGE],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| Batch {
                id: r.get(0),
                at: r.get(1),
                node: r.get(2),
                lines: r.get(3),
            })
            .collect())
    }

    /// The position just before the first row written at or after `at`.
    pub fn position_at(&self, at: Millis) -> Result<i64> {
        let row = self.conn.lock().unwrap().run(|c| {
            c.query_one(
                "SELECT COALESCE((SELECT MIN(id) FROM floorwatch_journal WHERE at_ms >= $1),
                                 (SELECT COALESCE(MAX(id), 0) + 1 FROM floorwatch_journal)) - 1",
                &[&at],
            )
        })?;
        Ok(row.get(0))
    }

    /// The newest row's number (0 when empty).
    pub fn head(&self) -> Result<i64> {
        let row = self
            .conn
            .lock()
            .unwrap()
            .run(|c| c.query_one("SELECT COALESCE(MAX(id), 0) FROM floorwatch_journal", &[]))?;
        Ok(row.get(0))
    }

    /// Deletes rows written before `before`; how many.
    pub fn prune(&self, before: Millis) -> Result<u64> {
        self.conn.lock().unwrap().run(|c| {
            c.execute(
                "DELETE FROM floorwatch_journal WHERE at_ms < $1",
                &[&before],
            )
        })
    }
}
