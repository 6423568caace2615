//! Values the unit tests of several modules build their cases from.

use floorwatch_protocol::{Incident, Severity, Values};

/// A firing incident on the queue `phone`, opened at 2026-11-23 09:00 UTC.
pub fn incident(id: u64, severity: Severity) -> Incident {
    Incident::new(
        id,
        "r".into(),
        "queue_depth".into(),
        "phone".into(),
        severity,
        "t".into(),
        "2026-11-23T09:00:00Z".parse().unwrap(),
        Values::new(),
    )
}
