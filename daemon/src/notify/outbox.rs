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

use floorwatch_protocol::Incident;
use tokio::task::JoinSet;
use tracing::warn;

use super::ack_link::LinkKey;
use super::email::{self, Mailers};
use super::page::{Page, Reason};
use super::{Attempt, webhook};
use crate::store::OutboxItem;
use crate::watch::Watch;

/// Deliveries in flight at once.
const IN_FLIGHT: usize = 512;

/// Runs until aborted. `mail_folder`: write e-mail as .eml files there instead of sending it
/// (the demo).
pub async fn run(watch: Arc<Watch>, links: LinkKey, mail_folder: Option<std::path::PathBuf>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client");
    let wake = watch.outbox_wake();
    let mailers = Arc::new(Mailers::new(mail_folder));
    let mut in_flight: HashSet<u64> = HashSet::new();
    let mut tasks: JoinSet<(OutboxItem, Attempt)> = JoinSet::new();
    loop {
        let room = IN_FLIGHT.saturating_sub(in_flight.len());
        // The rows in flight are among the due ones read: read past them.
        let fetch = (room + in_flight.len()).max(1) as u32;
        let w = watch.clone();
        // Rows in flight are due already; waking for them would spin, waiting on them would
        // stall every row behind them.
        let busy: Vec<u64> = in_flight.iter().copied().collect();
        let (due, next) = tokio::task::spawn_blocking(move || {
            let now = w.now();
            let due = w.due_deliveries(now, fetch);
            let busy: HashSet<u64> = busy
                .into_iter()
                .chain(due.iter().map(|i| i.delivery.id))
                .collect();
            (due, w.next_delivery(&busy))
        })
        .await
        .unwrap_or_default();
        for item in due {
            if in_flight.len() >= IN_FLIGHT || !in_flight.insert(item.delivery.id) {
                continue;
            }
            let (w, client, links, mailers) = (
                watch.clone(),
                client.clone(),
                links.clone(),
                mailers.clone(),
            );
            tasks.spawn(async move {
                let guard = attempt_guard(&w.config(), &item.delivery.target);
                let attempt = match tokio::time::timeout(
                    guard,
                    deliver(&w, &client, &links, &mailers, &item),
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
                let at = watch.now();
                for (item, attempt) in &done {
                    in_flight.remove(&item.delivery.id);
                    let result = match attempt {
                        Attempt::Delivered { .. } => Ok(()),
                        Attempt::Retry { error, .. } | Attempt::Final { error } => Err(error.clone()),
                    };
                    watch.health.delivery(&item.delivery.target, at, result);
                }
                let w = watch.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = w.record_attempts(done) {
                        warn!("recording delivery attempts: {e}");
                    }
                })
                .await;
            }
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

/// The most one attempt to `target` may take, all included: a safety net around the limits
/// each kind of target sets itself (the webhook's and the mail server's `timeout`).
fn attempt_guard(cfg: &crate::config::Config, target: &str) -> Duration {
    let own = match target.split_once(':') {
        Some(("webhook", name)) => cfg
            .webhooks
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.timeout),
        // Waiting for a pooled connection, then the exchange: each within the timeout.
        _ => cfg.smtp.as_ref().map(|s| s.timeout),
    };
    Duration::from_millis(own.unwrap_or(10_000) as u64 + 1_000)
}

async fn deliver(
    watch: &Watch,
    client: &reqwest::Client,
    links: &LinkKey,
    mailers: &Mailers,
    item: &OutboxItem,
) -> Attempt {
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
    let reason = Reason::from_stored(&d.reason);
    // Signed links stay valid as long as e-mailed acknowledge links do.
    let valid = cfg
        .smtp
        .as_ref()
        .map(|s| s.ack_link_valid)
        .unwrap_or(86_400_000);
    let exp = (watch.now() + valid) / 1000;
    let page = |list: &str, lang| Page {
        incident: &incident,
        reason,
        lang,
        links: links.page_links(public_url, &incident, reason, list, exp, lang),
    };
    match d.target.split_once(':') {
        Some(("webhook", name)) => match cfg.webhooks.iter().find(|w| w.name == name) {
            Some(hook) => {
                let api_url = format!("{public_url}/api/v1/incidents/{}", incident.id);
                webhook::send(
                    client,
                    hook,
                    &d.key,
                    &page(&d.target, hook.language),
                    &api_url,
                )
                .await
            }
            None => Attempt::Final {
                error: format!("webhook \"{name}\" is no longer in the configuration"),
            },
        },
        Some(("email", name)) => {
            let Some(list) = cfg.emails.iter().find(|e| e.name == name) else {
                return Attempt::Final {
                    error: format!("email list \"{name}\" is no longer in the configuration"),
                };
            };
            let mailer = match mailers.get(cfg.smtp.as_ref()) {
                Ok(m) => m,
                Err(error) => return Attempt::Final { error },
            };
            let from = cfg
                .smtp
                .as_ref()
                .map(|s| s.from.as_str())
                .unwrap_or("Floorwatch <floorwatch@localhost>");
            // Lists sign their plain name (links sent before rotas and webhooks had them).
            email::send(
                &mailer,
                from,
                &list.to,
                &d.key,
                &page(&list.name, list.language),
            )
            .await
        }
        Some(("oncall", name)) => {
            let (Some(schedule), Some(person)) = (
                cfg.oncall.iter().find(|s| s.name == name),
                watch.on_duty(name, d.created_at.timestamp_millis()),
            ) else {
                return Attempt::Final {
                    error: format!("on-call schedule \"{name}\" is no longer in the configuration"),
                };
            };
            let Some(smtp) = &cfg.smtp else {
                return Attempt::Final {
                    error: "no [smtp] section to send through".into(),
                };
            };
            let mailer = match mailers.get(Some(smtp)) {
                Ok(m) => m,
                Err(error) => return Attempt::Final { error },
            };
            let to = [person.email.clone()];
            match email::send(
                &mailer,
                &smtp.from,
                &to,
                &d.key,
                &page(&d.target, schedule.language),
            )
            .await
            {
                Attempt::Delivered { detail } => Attempt::Delivered {
                    detail: format!("to {}, {detail}", person.name),
                },
                other => other,
            }
        }
        _ => Attempt::Final {
            error: format!("unknown target \"{}\"", d.target),
        },
    }
}
