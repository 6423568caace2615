//! `[store]`: where incidents, timelines and the outbox are kept. `backend = "sqlite"` (the
//! default: a file in the data dir, one machine) or `"postgres"` (several daemons on one
//! database). The database's URL, which holds its password, is never in the file: it comes from
//! `FLOORWATCH_DATABASE_URL`.

use super::parse::{Cx, Tab};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StoreBackend {
    #[default]
    Sqlite,
    Postgres,
}

/// The variable that holds the PostgreSQL URL.
pub const DATABASE_URL_ENV: &str = "FLOORWATCH_DATABASE_URL";

impl Cx<'_> {
    pub(crate) fn store(&mut self, root: &Tab) -> StoreBackend {
        let Some(t) = self.sub_table(root, "store", &["backend"]) else {
            return StoreBackend::default();
        };
        let t = t.named("[store]");
        self.word(
            &t,
            "backend",
            |s| match s {
                "sqlite" => Some(StoreBackend::Sqlite),
                "postgres" | "postgresql" => Some(StoreBackend::Postgres),
                _ => None,
            },
            "sqlite, postgres",
        )
        .unwrap_or_default()
    }
}
