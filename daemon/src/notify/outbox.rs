//! The delivery worker: takes due notifications from the outbox, delivers them concurrently,
//! and reports every attempt back to the watch. It wakes when the watch writes new
//! notifications, when a retry comes due (of the rows not already in flight), when an attempt
//! ends, and at least once a second.
//!
//! Every attempt runs in its own task with an overall limit (the target's `timeout`, and a
//! guard around the whole attempt), so a target that hangs costs its own attempts only: the
//! others' pages go out on time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use floorwatch_protocol::{Incident, PageTarget, TargetKind};
use tokio::task::JoinSet;

use super::Attempt;
use super::ack_link::LinkKey;
use super::deliver::Senders;
use super::page::Page;
use crate::config::{Config, Millis, Person};
use crate::store::OutboxItem;

/// What the worker needs of the daemon, and nothing more: the due rows, a place to report
/// attempts, and what writing a page needs. The watch is the one implementation.
pub trait Outbox: Send + Sync + 'static {
    fn now(&self) -> Millis;
    fn config(&self) -> Arc<Config>;
    /// Notified when new rows are written.
    fn wake(&self) -> Arc<tokio::sync::Notify>;
    /// Up to `limit` pending rows due at `now` and not in `busy` (in flight), oldest first
    /// (none if the store cannot be read: the worker tries again).
    fn due(&self, now: Millis, limit: u32, busy: &HashSet<u64>) -> Vec<OutboxItem>;
    /// When the next pending row not in `busy` is due.
    fn next_due(&self, busy: &HashSet<u64>) -> Option<Millis>;
    /// Who held rota `schedule` at `at`, overrides included.
    fn on_duty(&self, schedule: &str, at: Millis) -> Option<Person>;
    /// Records finished attempts: their rows, their incidents' timelines, the targets' health.
    fn record(&self, attempts: Vec<(OutboxItem, Attempt)>);
    /// Whether this daemon may deliver now (in a cluster: it surely holds the lease), checked
    /// again right before each attempt.
    fn may_deliver(&self) -> bool;
}

/// Deliveries in flight at once.
const IN_FLIGHT: usize = 512;

/// Runs until aborted. `mail_folder`: write e-mail as .eml files there instead of sending it
/// (the demo).
pub async fn run<O: Outbox>(
    watch: Arc<O>,
    links: LinkKey,
    mail_folder: Option<std::path::PathBuf>,
) {
    let wake = watch.wake();
    let senders = Arc::new(Senders::new(mail_folder));
    let mut in_flight: HashSet<u64> = HashSet::new();
    let mut tasks: JoinSet<(OutboxItem, Attempt)> = JoinSet::new();
    loop {
        let room = IN_FLIGHT.saturating_sub(in_flight.len());
        let w = watch.clone();
        // Rows in flight are due already: they are not read again; waking for them would spin,
        // waiting on them would stall every row behind them.
        let busy = in_flight.clone();
        let (due, next) = tokio::task::spawn_blocking(move || {
            let now = w.now();
            let due = if room > 0 {
                w.due(now, room as u32, &busy)
            } else {
                Vec::new()
            };
            let busy: HashSet<u64> = busy
                .into_iter()
                .chain(due.iter().map(|i| i.delivery.id))
                .collect();
            (due, w.next_due(&busy))
        })
        .await
        .unwrap_or_default();
        for item in due {
            if in_flight.len() >= IN_FLIGHT || !in_flight.insert(item.delivery.id) {
                continue;
            }
            let (w, links, senders) = (watch.clone(), links.clone(), senders.clone());
            tasks.spawn(async move {
                let guard = attempt_guard(&w.config(), &item.delivery.target);
                let attempt = match tokio::time::timeout(
                    guard,
                    deliver(&*w, &senders, &links, &item),
                )
                .await
                {
                    Ok(a) => a,
                    Err(_) => Attempt::Retry {
                        error: format!("the attempt did not end within {} ms", guard.as_millis()),
                        after: None,
                    },
                };
                (item, attempt)
            });
        }
        // With every slot taken, only an attempt ending makes room.
        let wait = match next {
            Some(t) if in_flight.len() < IN_FLIGHT => (t - watch.now()).clamp(1, 1_000),
            _ => 1_000,
        };
        tokio::select! {
            _ = wake.notified() => {}
            Some(first) = tasks.join_next(), if !tasks.is_empty() => {
                // Record every attempt that has finished in one go: one transaction for many.
                let mut done: Vec<_> = first.into_iter().collect();
                while let Some(r) = tasks.try_join_next() {
                    done.extend(r);
                }
                for (item, _) in &done {
                    in_flight.remove(&item.delivery.id);
                }
                let w = watch.clone();
                let _ = tokio::task::spawn_blocking(move || w.record(done)).await;
            }
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

/// The most one attempt to `target` may take, all included: a safety net around the limits
/// each kind of target sets itself (the webhook's and the mail server's `timeout`).
fn attempt_guard(cfg: &crate::config::Config, target: &PageTarget) -> Duration {
    let own = match target.kind {
        TargetKind::Webhook => cfg
            .webhooks
            .iter()
            .find(|w| w.name == target.name)
            .map(|w| w.timeout),
        // Waiting for a pooled connection, then the exchange: each within the timeout.
        _ => cfg.smtp.as_ref().map(|s| s.timeout),
    };
    Duration::from_millis(own.unwrap_or(10_000) as u64 + 1_000)
}

async fn deliver<O: Outbox>(
    watch: &O,
    senders: &Senders,
    links: &LinkKey,
    item: &OutboxItem,
) -> Attempt {
    // A leader that lost its lease (paused, cut off) pages nobody: the next leader does.
    if !watch.may_deliver() {
        return Attempt::Retry {
            error: "this node no longer leads: the page is left to the leader".into(),
            after: None,
        };
    }
    let cfg = watch.config();
    let d = &item.delivery;
    let incident: Incident = match serde_json::from_str(&item.payload) {
        Ok(i) => i,
        Err(e) => {
            return Attempt::Final {
                error: format!("stored notification unreadable: {e}"),
            };
        }
    };
    let public_url = &cfg.daemon.public_url;
    // Signed links stay valid as long as e-mailed acknowledge links do.
    let valid = cfg
        .smtp
        .as_ref()
        .map(|s| s.ack_link_valid)
        .unwrap_or(86_400_000);
    let exp = (watch.now() + valid) / 1000;
    let page = |list: &str, lang| Page {
        incident: &incident,
        reason: d.reason,
        lang,
        links: links.page_links(public_url, &incident, d.reason, list, exp, lang),
    };
    // A rota's holder when the page was decided (overrides included).
    let on_duty = |name: &str| watch.on_duty(name, d.created_at.timestamp_millis());
    super::deliver::deliver(&cfg, senders, &d.target, &d.key.to_string(), on_duty, page).await
}
