//! Several daemons on one PostgreSQL database (`[store] backend = "postgres"`): any node takes
//! events and serves the API and the live stream; one at a time leads, deciding incidents and
//! delivering pages.
//!
//! - `journal`: the shared journal, one row per accepted batch, in commit order;
//! - `lease`: the leader's lease (an epoch that grows with each leader) and `Fence`, which every
//!   store write checks, so a leader that lost its lease (paused, cut off) writes and pages
//!   nothing.
//!
//! Two threads per node (`run_lease`, `run_follow`), blocking on their own connections: the
//! lease is taken, renewed and given up; the journal is followed (LISTEN/NOTIFY, and a poll)
//! and applied in order, with decisions on at the leader and off elsewhere, so a follower is warm
//! when it takes over. Followers show the leader's open incidents, read from the store.

pub mod journal;
pub mod lease;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floorwatch_protocol::{ClusterNode, ClusterStatus};
use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;
use tracing::{info, warn};

pub use journal::SharedJournal;
pub use lease::Fence;

use crate::store::{Result, pg};
use crate::watch::Watch;

/// A follower looks at the journal at least this often, announcements or not.
const POLL: Duration = Duration::from_millis(250);
/// The channel the leader announces changed incidents on.
pub const INCIDENTS_CHANNEL: &str = "floorwatch_incidents";

/// The lease as last seen.
#[derive(Debug, Clone, Default)]
struct Seen {
    holder: Option<String>,
    url: Option<String>,
    epoch: i64,
    in_force: bool,
    nodes: Vec<ClusterNode>,
    head: i64,
}

pub struct Cluster {
    pub fence: Arc<Fence>,
    pub journal: SharedJournal,
    config: postgres::Config,
    /// Where the other nodes reach this one (its API).
    url: Mutex<String>,
    seen: Mutex<Seen>,
    db_ok: AtomicBool,
    stop: AtomicBool,
    /// The journal row this node has applied up to (for the nodes table).
    applied: AtomicI64,
}

impl Cluster {
    /// `node`: this daemon's name among the nodes (unique on the database).
    pub fn new(url: &str, node: &str) -> Result<Arc<Self>> {
        let config = pg::config(url, &format!("floorwatch {node}"))?;
        Ok(Arc::new(Cluster {
            fence: Arc::new(Fence::new(node)),
            journal: SharedJournal::new(config.clone()),
            config,
            url: Mutex::new(String::new()),
            seen: Mutex::new(Seen::default()),
            db_ok: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            applied: AtomicI64::new(0),
        }))
    }

    pub fn node(&self) -> &str {
        self.fence.node()
    }

    pub fn set_url(&self, url: &str) {
        *self.url.lock().unwrap() = url.to_string();
    }

    /// The leader's URL, when another node leads.
    pub fn leader_url(&self) -> Option<String> {
        let seen = self.seen.lock().unwrap();
        match (&seen.holder, &seen.url) {
            (Some(h), Some(u)) if seen.in_force && h != self.node() => Some(u.clone()),
            _ => None,
        }
    }

    /// Whether the database answered the lease's last round.
    pub fn db_ok(&self) -> bool {
        self.db_ok.load(Ordering::Relaxed)
    }

    pub fn set_applied(&self, pos: i64) {
        self.applied.store(pos, Ordering::Relaxed);
    }

    /// For `GET /api/v1/cluster`.
    pub fn status(&self) -> ClusterStatus {
        let seen = self.seen.lock().unwrap().clone();
        let mut nodes = seen.nodes;
        for n in &mut nodes {
            n.lag = (seen.head - n.applied).max(0);
        }
        ClusterStatus {
            node: self.node().to_string(),
            leading: self.fence.may_act(),
            leader: seen.holder.filter(|_| seen.in_force),
            epoch: seen.epoch,
            journal_head: seen.head,
            applied: self.applied.load(Ordering::Relaxed),
            database: self.db_ok(),
            nodes,
        }
    }

    /// Asks both threads to end; the lease is given up by `run_lease` on its way out.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// A connection listening on `channels`, or why not.
    fn listener(&self, channels: &[&str]) -> Result<Client> {
        let mut c = pg::connect(&self.config)?;
        for channel in channels {
            c.batch_execute(&format!("LISTEN {channel}"))?;
        }
        Ok(c)
    }

    /// One round of the lease: renew it or take it, then note who leads and which nodes live.
    fn lease_round(
        &self,
        c: &mut Client,
        watch: &Watch,
    ) -> std::result::Result<(), postgres::Error> {
        let node = self.node().to_string();
        let asked = Instant::now();
        match self.fence.epoch() {
            Some(epoch) => {
                if lease::renew(c, &node, epoch)? {
                    self.fence.hold(epoch, asked);
                } else {
                    warn!(epoch, "the lease went to another node: following again");
                    watch.demote();
                }
            }
            None => {
                let url = self.url.lock().unwrap().clone();
                if let Some(epoch) = lease::acquire(c, &node, &url)? {
                    info!(epoch, "took the lease: leading");
                    watch.promote(epoch, asked);
                }
            }
        }
        let (holder, url, epoch, in_force) = lease::current(c)?;
        let leading = self.fence.epoch().is_some();
        c.execute(
            "INSERT INTO floorwatch_nodes (name, url, seen_at, applied, leader)
             VALUES ($1, $2, now(), $3, $4)
             ON CONFLICT (name) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at,
                applied = excluded.applied, leader = excluded.leader",
            &[
                &node,
                &*self.url.lock().unwrap(),
                &self.applied.load(Ordering::Relaxed),
                &leading,
            ],
        )?;
        let nodes = c
            .query(
                "SELECT name, url, seen_at, applied, leader,
                        seen_at > now() - make_interval(secs => $1)
                 FROM floorwatch_nodes ORDER BY name",
                &[&lease::TTL.as_secs_f64()],
            )?
            .iter()
            .map(|r| ClusterNode {
                name: r.get(0),
                url: r.get(1),
                seen_at: r.get(2),
                applied: r.get(3),
                leader: r.get(4),
                alive: r.get(5),
                lag: 0,
            })
            .collect();
        let head: i64 = c
            .query_one("SELECT COALESCE(MAX(id), 0) FROM floorwatch_journal", &[])?
            .get(0);
        metrics::gauge!("floorwatch_cluster_leader").set(f64::from(u8::from(leading)));
        metrics::gauge!("floorwatch_cluster_epoch").set(epoch as f64);
        metrics::gauge!("floorwatch_cluster_journal_lag")
            .set((head - self.applied.load(Ordering::Relaxed)).max(0) as f64);
        *self.seen.lock().unwrap() = Seen {
            holder,
            url,
            epoch,
            in_force,
            nodes,
            head,
        };
        Ok(())
    }
}

/// Runs the lease until the cluster stops: takes it when free, renews it every `lease::RENEW`
/// while leading, and gives it up (with a NOTIFY, so another node takes over at once) on the
/// way out. Blocking: run it on a thread of its own.
pub fn run_lease(cluster: Arc<Cluster>, watch: Arc<Watch>) {
    let mut conn: Option<Client> = None;
    while !cluster.stopping() {
        let round: Result<()> = match conn.as_mut() {
            Some(c) => cluster.lease_round(c, &watch).map_err(Into::into),
            None => cluster.listener(&[lease::CHANNEL]).and_then(|mut c| {
                let r = cluster.lease_round(&mut c, &watch);
                conn = Some(c);
                Ok(r?)
            }),
        };
        match round {
            Ok(()) => {
                if !cluster.db_ok.swap(true, Ordering::Relaxed) {
                    info!("the database answers again");
                }
            }
            Err(e) => {
                if cluster.db_ok.swap(false, Ordering::Relaxed) {
                    warn!("the database does not answer: {e}");
                }
                conn = None;
            }
        }
        // Until the next round, or until a leader lets go.
        match conn.as_mut() {
            Some(c) => {
                if c.notifications().timeout_iter(lease::RENEW).next().is_err() {
                    conn = None;
                }
            }
            None => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    if let Some(epoch) = cluster.fence.epoch() {
        let released = cluster
            .listener(&[])
            .and_then(|mut c| Ok(lease::release(&mut c, cluster.node(), epoch)?));
        match released {
            Ok(()) => info!(epoch, "gave up the lease"),
            Err(e) => warn!("could not give up the lease (it expires by itself): {e}"),
        }
        cluster.fence.drop_lease();
    }
}

/// Follows the journal until the cluster stops: applies rows as they are announced (and at
/// least every `POLL`), and on a follower keeps the leader's open incidents fresh for its boards.
/// Blocking: run it on a thread of its own.
pub fn run_follow(cluster: Arc<Cluster>, watch: Arc<Watch>) {
    let mut conn: Option<Client> = None;
    // The leader's incidents are read when it announces a change, and at least every `POLL`,
    // however busy the journal keeps this loop.
    let mut incidents_changed = true;
    let mut last_read = Instant::now();
    while !cluster.stopping() {
        if let Err(e) = watch.catch_up() {
            warn!("following the journal: {e}");
        }
        if cluster.fence.epoch().is_none() && (incidents_changed || last_read.elapsed() >= POLL) {
            incidents_changed = false;
            last_read = Instant::now();
            if let Err(e) = watch.refresh_shared_incidents() {
                warn!("reading the leader's incidents: {e}");
            }
        }
        if conn.is_none() {
            conn = cluster
                .listener(&[journal::CHANNEL, INCIDENTS_CHANNEL])
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            std::thread::sleep(POLL);
            continue;
        };
        // Until something is announced that is not this node's own row (which it applies
        // itself), or the poll is due.
        let deadline = Instant::now() + POLL;
        let broken = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = c.notifications().timeout_iter(left).next();
            match next {
                Ok(Some(n)) if n.channel() == journal::CHANNEL && n.payload() == cluster.node() => {
                    continue;
                }
                Ok(Some(n)) => {
                    incidents_changed |= n.channel() == INCIDENTS_CHANNEL;
                    break false;
                }
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        if broken {
            conn = None;
        }
    }
}
