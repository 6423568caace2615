//! The shared journal: every batch of events a node accepted, one row each (`floorwatch_journal`:
//! the raw lines, LZ4-compressed, the node, when), written before the node answers. Inserts take an advisory
//! lock, so rows are numbered in the order they commit and a reader that has seen row `n` has
//! seen every row before it. Each node applies the rows in that order (the leader deciding, the
//! others only keeping their state warm), and a restarted node rebuilds from them. Rows older
//! than the state horizon are pruned by the leader.

use std::sync::Mutex;

use crate::config::Millis;
use crate::store::pg::Conn;
use crate::store::{Result, StoreError};

/// The channel a new row is announced on.
pub const CHANNEL: &str = "floorwatch_journal";
/// Inserts take this advisory lock (any number that is Floorwatch's).
const LOCK: i64 = 0x466c_6f6f_724a_726e;
/// The largest batch a row may unpack to: a request's body is at most `[daemon.limits]
/// max_body_bytes` (a gigabyte at the very most).
const MAX_UNPACKED: usize = 1 << 30;

/// A row's lines, unpacked.
fn unpack(id: i64, packed: &[u8]) -> Result<String> {
    let corrupt = |why: String| StoreError::Corrupt(format!("journal row {id}: {why}"));
    let size = packed
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| corrupt("shorter than its size".into()))?;
    if size > MAX_UNPACKED {
        return Err(corrupt(format!("claims {size} bytes unpacked")));
    }
    let bytes = lz4_flex::decompress_size_prepended(packed).map_err(|e| corrupt(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| corrupt(e.to_string()))
}

/// Rows read at once while catching up, and the most text that is (at least one row): memory
/// stays bounded by what a page holds, however far behind a node is.
const PAGE: i64 = 256;
const PAGE_BYTES: i64 = 8 << 20;

/// One accepted batch.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: i64,
    pub at: Millis,
    pub node: String,
    /// NDJSON: the accepted lines, each with its `source`.
    pub lines: String,
}

/// One connection writes, another reads: a node catching up never holds up a request writing.
pub struct SharedJournal {
    writer: Mutex<Conn>,
    reader: Mutex<Conn>,
}

impl SharedJournal {
    pub fn new(config: postgres::Config) -> Self {
        SharedJournal {
            writer: Mutex::new(Conn::new(config.clone())),
            reader: Mutex::new(Conn::new(config)),
        }
    }

    /// Writes a batch and announces it; its row number.
    pub fn append(&self, at: Millis, node: &str, lines: &str) -> Result<i64> {
        let packed = lz4_flex::compress_prepend_size(lines.as_bytes());
        self.writer.lock().unwrap().run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO floorwatch_journal (at_ms, node, lz4) VALUES ($1, $2, $3)
                     RETURNING id",
                    &[&at, &node, &packed],
                )?
                .get(0);
            // Announced with the writer's name: it applies its own rows itself.
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &node])?;
            tx.commit()?;
            Ok::<_, postgres::Error>(id)
        })
    }

    /// The rows after row `pos`, oldest first, a page at a time.
    pub fn after(&self, pos: i64) -> Result<Vec<Batch>> {
        let rows = self.reader.lock().unwrap().run(|c| {
            c.query(
                "SELECT id, at_ms, node, lz4 FROM (
                    SELECT id, at_ms, node, lz4,
                           (SUM(octet_length(lz4)) OVER (ORDER BY id)
                                - octet_length(lz4))::BIGINT AS before
                    FROM floorwatch_journal WHERE id > $1 ORDER BY id LIMIT $2) page
                 WHERE before < $3::BIGINT ORDER BY id",
                &[&pos, &PAGE, &PAGE_BYTES],
            )
        })?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                Ok(Batch {
                    id,
                    at: r.get(1),
                    node: r.get(2),
                    lines: unpack(id, r.get(3))?,
                })
            })
            .collect()
    }

    /// The position just before the first row written at or after `at`.
    pub fn position_at(&self, at: Millis) -> Result<i64> {
        let row = self.reader.lock().unwrap().run(|c| {
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
            .reader
            .lock()
            .unwrap()
            .run(|c| c.query_one("SELECT COALESCE(MAX(id), 0) FROM floorwatch_journal", &[]))?;
        Ok(row.get(0))
    }

    /// Deletes rows written before `before`; how many.
    pub fn prune(&self, before: Millis) -> Result<u64> {
        self.writer.lock().unwrap().run(|c| {
            c.execute(
                "DELETE FROM floorwatch_journal WHERE at_ms < $1",
                &[&before],
            )
        })
    }
}
