//! Where a page leaves: the durable outbox and its delivery. `page` writes what a page says
//! (in the receiver's language), `email` and `webhook` send it, `ack_link` signs its links.
//!
//! The engine decides whom to tell (`Effect::Dispatch`); the watch writes each notification to
//! the outbox in the same transaction as the timeline entry that decided it. The worker here
//! (`outbox::run`) delivers what is due, and reports each attempt back to the watch, which
//! keeps the outbox row and the incident's timeline in step: delivered, retried with backoff,
//! or failed for good (a dead letter).

pub mod ack_link;
pub mod email;
pub mod oncall;
pub mod outbox;
pub mod page;
pub mod webhook;

use crate::config::Millis;

/// How one delivery attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered {
        detail: String,
    },
    /// Worth trying again (timeout, connection refused, 5xx, 429); `after` is the receiver's
    /// own Retry-After, if it gave one.
    Retry {
        error: String,
        after: Option<Millis>,
    },
    /// Trying again would not help (other 4xx, a target no longer configured).
    Final {
        error: String,
    },
}
