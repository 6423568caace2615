//! The leader's lease: one row (`floorwatch_lease`) with the holder, its URL and an epoch that
//! grows with every new leader. A node takes the lease when it has expired (by the database's
//! clock, so the nodes' clocks do not matter), renews it every `RENEW` while it leads, and gives
//! it up on a clean stop with a `NOTIFY`, so another takes over at once.
//!
//! `Fence` is this node's view of its lease. Every write the store makes checks it in the same
//! transaction (`check`): the row must still name this node and epoch, unexpired. The check
//! takes the row `FOR SHARE`, so a takeover waits for writes in flight, and writes after it are
//! refused. Locally, `may_act` says whether the lease is surely still held, by the monotonic
//! clock: a leader that was paused past its lease pages nothing when it wakes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use postgres::{Client, Transaction};

use crate::store::StoreError;

/// How long a lease lasts unless renewed.
pub const TTL: Duration = Duration::from_secs(10);
/// How often a leader renews it (and a follower looks for an expired one).
pub const RENEW: Duration = Duration::from_millis(2_500);
/// The channel a leader that lets go notifies.
pub const CHANNEL: &str = "floorwatch_lease";

/// This node's lease, as far as it knows.
#[derive(Debug)]
pub struct Fence {
    node: String,
    /// The epoch this node leads in; 0 while it follows.
    epoch: AtomicI64,
    /// Until when the lease is surely held: renewed at `t` means until `t + TTL - RENEW`.
    valid_until: Mutex<Option<Instant>>,
}

impl Fence {
    pub fn new(node: impl Into<String>) -> Self {
        Fence {
            node: node.into(),
            epoch: AtomicI64::new(0),
            valid_until: Mutex::new(None),
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The epoch this node leads in, if it does.
    pub fn epoch(&self) -> Option<i64> {
        Some(self.epoch.load(Ordering::Acquire)).filter(|e| *e > 0)
    }

    /// Whether this node leads and its lease is surely still its own now.
    pub fn may_act(&self) -> bool {
        self.epoch().is_some()
            && self
                .valid_until
                .lock()
                .unwrap()
                .is_some_and(|t| Instant::now() < t)
    }

    /// The lease is held in `epoch`, renewed by a request sent at `asked`.
    pub(crate) fn hold(&self, epoch: i64, asked: Instant) {
        *self.valid_until.lock().unwrap() = Some(asked + TTL - RENEW);
        self.epoch.store(epoch, Ordering::Release);
    }

    pub(crate) fn drop_lease(&self) {
        self.epoch.store(0, Ordering::Release);
        *self.valid_until.lock().unwrap() = None;
    }

    /// In a write transaction: refuses it unless this node still holds its lease.
    pub fn check(&self, tx: &mut Transaction) -> Result<(), StoreError> {
        let Some(epoch) = self.epoch() else {
            return Err(StoreError::Fenced {
                epoch: 0,
                node: self.node.clone(),
            });
        };
        let held = tx
            .query_opt(
                "SELECT 1 FROM floorwatch_lease
                 WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > now() FOR SHARE",
                &[&self.node, &epoch],
            )?
            .is_some();
        if held {
            Ok(())
        } else {
            Err(StoreError::Fenced {
                epoch,
                node: self.node.clone(),
            })
        }
    }
}

/// Takes the lease if it has expired; the new epoch if taken.
pub fn acquire(c: &mut Client, node: &str, url: &str) -> Result<Option<i64>, postgres::Error> {
    Ok(c.query_opt(
        "UPDATE floorwatch_lease SET holder = $1, url = $2, epoch = epoch + 1,
            expires_at = now() + make_interval(secs => $3)
         WHERE id = 1 AND expires_at < now()
         RETURNING epoch",
        &[&node, &url, &TTL.as_secs_f64()],
    )?
    .map(|r| r.get(0)))
}

/// Renews the lease held in `epoch`; whether it was still this node's.
pub fn renew(c: &mut Client, node: &str, epoch: i64) -> Result<bool, postgres::Error> {
    Ok(c.execute(
        "UPDATE floorwatch_lease SET expires_at = now() + make_interval(secs => $3)
         WHERE id = 1 AND holder = $1 AND epoch = $2",
        &[&node, &epoch, &TTL.as_secs_f64()],
    )? == 1)
}

/// Lets the lease go at once and tells the others.
pub fn release(c: &mut Client, node: &str, epoch: i64) -> Result<(), postgres::Error> {
    let mut tx = c.transaction()?;
    tx.execute(
        "UPDATE floorwatch_lease SET expires_at = '-infinity'
         WHERE id = 1 AND holder = $1 AND epoch = $2",
        &[&node, &epoch],
    )?;
    tx.batch_execute(&format!("NOTIFY {CHANNEL}"))?;
    tx.commit()
}

/// The lease as the database has it: holder, its URL, epoch, and whether it is in force.
pub fn current(
    c: &mut Client,
) -> Result<(Option<String>, Option<String>, i64, bool), postgres::Error> {
    let r = c.query_one(
        "SELECT holder, url, epoch, expires_at > now() FROM floorwatch_lease WHERE id = 1",
        &[],
    )?;
    Ok((r.get(0), r.get(1), r.get(2), r.get(3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_acts_only_while_its_lease_is_surely_held() {
        let f = Fence::new("a");
        assert!(!f.may_act(), "a follower");
        f.hold(3, Instant::now());
        assert_eq!(f.epoch(), Some(3));
        assert!(f.may_act());
        // Renewed long ago (a pause past the lease): not any more.
        f.hold(3, Instant::now() - TTL);
        assert!(!f.may_act());
        f.drop_lease();
        assert_eq!(f.epoch(), None);
    }
}
