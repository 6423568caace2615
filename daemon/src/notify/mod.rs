//! Where a page leaves: the durable outbox and its delivery.
//!
//! The engine decides whom to tell (`Effect::Dispatch`: a typed target, reason and key); the
//! watch writes each notification to the outbox in the same transaction as the timeline entry
//! that decided it. Then:
//! - `outbox`: the worker, behind the narrow `outbox::Outbox` trait (the watch implements it),
//!   takes due rows and runs each attempt in its own task with an overall deadline;
//! - `deliver`: one page to one target (used by the worker and by `send-test`); `page` writes
//!   what the page says in its reader's language; `webhook` and `email` send it; `ack_link`
//!   signs its links; `oncall` says who holds a rota;
//! - `policy`: what an attempt's outcome does to its row (delivered, retried with backoff or
//!   the receiver's Retry-After, or a dead letter), a pure function.

pub mod ack_link;
pub mod deliver;
pub mod email;
pub mod oncall;
pub mod outbox;
pub mod page;
pub mod policy;
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
