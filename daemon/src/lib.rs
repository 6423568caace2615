//! Floorwatch: a crisis and SLA alerting daemon for contact centers.
//!
//! Where things are:
//! - an event enters through `http` (`POST /api/v1/events`), is decoded and validated in
//!   `ingest`, and handed to the `watch`, which journals it and applies it to the `engine`;
//! - a rule is decided in `engine` (a pure state machine with an injected clock), which feeds
//!   each rule kind of `rules` its figures: a kind's keys, parsing, judging and wording live in
//!   its own module there;
//! - what was decided is kept by `store` (SQLite, or PostgreSQL for several daemons); pages
//!   leave through its outbox, delivered by `notify` (webhooks, e-mail) behind a narrow trait,
//!   with the retry policy a pure function; it writes each page in its reader's language from
//!   `words` (English and Chinese side by side) and signs its links;
//! - `config` reads alerts.toml, `check` runs the tests it carries, `sim` plays a contact center,
//!   `backtest` counts the pages a trace would send (against the sim's labels), `export` writes
//!   the post-crisis review, `server` runs it all;
//! - `limits` holds the bounds of names, texts and request times that every input is held to;
//! - `live` streams the state to wall-boards (the `dashboard/` crate, served by `http::board`
//!   precompressed under content-hashed names) and `floorwatch tail`; the engine keeps each
//!   scope's figures over time (`engine/history.rs`) and the complaints panel
//!   (`engine/complaint_board.rs`), and `chart` makes an incident's chart from them;
//! - `cluster` makes several daemons one on a PostgreSQL database: the shared journal, the
//!   leader's lease and the fence every write checks (the watch's side is `watch/shared.rs`);
//! - `health` keeps the daemon's own outward links: the heartbeat it pings out to a dead man's
//!   switch, and every delivery target's recent record.

pub mod backtest;
pub mod chart;
pub mod check;
pub mod cluster;
pub mod config;
pub mod engine;
pub mod export;
#[cfg(test)]
mod fuzz;
pub mod health;
pub mod http;
pub mod ingest;
pub mod limits;
pub mod live;
pub mod matchers;
pub mod notify;
pub mod rules;
pub mod server;
pub mod silence;
pub mod sim;
pub mod store;
pub mod tail;
pub mod telemetry;
pub mod watch;
pub mod words;
