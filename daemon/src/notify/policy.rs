//! What an attempt's outcome does to its outbox row: delivered, retried after a backoff (or the
//! receiver's Retry-After), or dead (refused for good, or past its deadline). A pure function
//! of the attempt, the row and the `[delivery]` settings, so it is tested without a database;
//! the jitter comes in as a factor.

use floorwatch_protocol::{Delivery, DeliveryStatus, TimelineKind};

use super::Attempt;
use crate::config::{DeliverySettings, Millis, format_duration};

/// The row's next state, and the timeline entry that tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: DeliveryStatus,
    /// When to try again (a pending row), else now.
    pub next_ms: Millis,
    pub kind: TimelineKind,
    pub message: String,
    pub error: Option<String>,
}

/// The outcome of `attempt` on `d` at `now`. `jitter` (0.8 to 1.2) spreads retries so that
/// receivers coming back are not hit by every sender at once.
pub fn after(
    attempt: Attempt,
    d: &Delivery,
    now: Millis,
    settings: &DeliverySettings,
    jitter: f64,
) -> Outcome {
    let tries = d.attempts + 1;
    let target = &d.target;
    match attempt {
        Attempt::Delivered { detail } => Outcome {
            status: DeliveryStatus::Delivered,
            next_ms: now,
            kind: TimelineKind::Delivered,
            message: format!("delivered to {target} ({detail}, attempt {tries})"),
            error: None,
        },
        Attempt::Final { error } => Outcome {
            status: DeliveryStatus::Dead,
            next_ms: now,
            kind: TimelineKind::DeliveryFailed,
            message: format!("delivery to {target} failed: {error}"),
            error: Some(error),
        },
        Attempt::Retry { error, after } => {
            let wait = after.unwrap_or_else(|| backoff(settings, tries, jitter));
            if now + wait > d.deadline.timestamp_millis() {
                Outcome {
                    status: DeliveryStatus::Dead,
                    next_ms: now,
                    kind: TimelineKind::DeliveryFailed,
                    message: format!(
                        "gave up on {target} after {tries} attempts ({error}): its delivery deadline passed"
                    ),
                    error: Some(error),
                }
            } else {
                let honoured = if after.is_some() {
                    " as the receiver asked"
                } else {
                    ""
                };
                Outcome {
                    status: DeliveryStatus::Pending,
                    next_ms: now + wait,
                    kind: TimelineKind::DeliveryRetry,
                    message: format!(
                        "attempt {tries} to {target} failed ({error}); retrying in {}{honoured}",
                        format_duration(wait)
                    ),
                    error: Some(error),
                }
            }
        }
    }
}

/// Exponential backoff: `first_retry` doubled per attempt, at most `max_backoff`, times
/// `jitter`.
pub fn backoff(d: &DeliverySettings, attempts: u32, jitter: f64) -> Millis {
    let base = d
        .first_retry
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(30))
        .min(d.max_backoff);
    (base as f64 * jitter) as Millis
}

/// A jitter factor for `after`.
pub fn jitter() -> f64 {
    rand::random_range(0.8..1.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::{DeliveryKey, PageReason, PageTarget, TargetKind};

    const NOW: Millis = 1_795_424_400_000;

    fn settings() -> DeliverySettings {
        DeliverySettings {
            first_retry: 1_000,
            max_backoff: 60_000,
            deadline: 600_000,
            unhealthy_after: 600_000,
        }
    }

    fn row(attempts: u32, deadline_in: Millis) -> Delivery {
        let at = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap();
        Delivery {
            id: 1,
            incident_id: 5,
            target: PageTarget::new(TargetKind::Webhook, "floor"),
            reason: PageReason::Opened,
            key: DeliveryKey {
                incident: 5,
                seq: 2,
                index: 0,
            },
            status: DeliveryStatus::Pending,
            attempts,
            created_at: at(NOW),
            next_attempt_at: at(NOW),
            deadline: at(NOW + deadline_in),
            last_error: None,
        }
    }

    fn retry(after: Option<Millis>) -> Attempt {
        Attempt::Retry {
            error: "HTTP 503".into(),
            after,
        }
    }

    #[test]
    fn retries_back_off_doubling_up_to_the_ceiling() {
        let s = settings();
        let waits: Vec<Millis> = [0, 1, 2, 3, 9]
            .map(|n| after(retry(None), &row(n, 3_600_000), NOW, &s, 1.0).next_ms - NOW)
            .to_vec();
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 60_000]);
        let o = after(retry(None), &row(0, 3_600_000), NOW, &s, 1.2);
        assert_eq!(o.next_ms - NOW, 1_200, "jitter spreads it");
        assert_eq!(o.status, DeliveryStatus::Pending);
        assert_eq!(o.kind, TimelineKind::DeliveryRetry);
        assert_eq!(
            o.message,
            "attempt 1 to webhook:floor failed (HTTP 503); retrying in 1s200ms"
        );
    }

    #[test]
    fn the_receivers_retry_after_is_honoured() {
        let o = after(
            retry(Some(30_000)),
            &row(0, 3_600_000),
            NOW,
            &settings(),
            1.0,
        );
        assert_eq!(o.next_ms, NOW + 30_000);
        assert!(
            o.message.ends_with("as the receiver asked"),
            "{}",
            o.message
        );
    }

    #[test]
    fn past_the_deadline_a_retry_is_a_dead_letter() {
        let o = after(retry(Some(30_000)), &row(4, 20_000), NOW, &settings(), 1.0);
        assert_eq!(o.status, DeliveryStatus::Dead);
        assert_eq!(o.kind, TimelineKind::DeliveryFailed);
        assert!(o.message.contains("after 5 attempts"), "{}", o.message);
    }

    #[test]
    fn delivered_and_refused_end_the_row() {
        let s = settings();
        let d = after(
            Attempt::Delivered {
                detail: "HTTP 200 in 3 ms".into(),
            },
            &row(1, 1),
            NOW,
            &s,
            1.0,
        );
        assert_eq!((d.status, d.error), (DeliveryStatus::Delivered, None));
        assert_eq!(
            d.message,
            "delivered to webhook:floor (HTTP 200 in 3 ms, attempt 2)"
        );
        let f = after(
            Attempt::Final {
                error: "HTTP 400".into(),
            },
            &row(0, 3_600_000),
            NOW,
            &s,
            1.0,
        );
        assert_eq!(f.status, DeliveryStatus::Dead);
    }
}
