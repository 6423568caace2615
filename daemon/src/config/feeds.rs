//! `[feeds]`: when a silent event source counts as a dead feed. A source is judged against its
//! own pace for the queue (the hour before its last event, or what this hour of the week usually
//! brings if that is less): silent long enough that its usual pace would almost surely have sent
//! something (chance below `p_value`), and never sooner than `min_silence`. A feed too quiet to
//! tell a dead source from a calm one within `max_silence` is not judged.

use super::Millis;
use super::parse::{Cx, Tab};

#[derive(Debug, Clone, PartialEq)]
pub struct FeedSettings {
    pub min_silence: Millis,
    pub max_silence: Millis,
    pub p_value: f64,
    /// Distinct event sources; an event from one more is refused.
    pub max_sources: usize,
    /// Distinct (source, queue) pairs tracked; an event that would start one more is refused.
    pub max_feeds: usize,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            min_silence: 60_000,
            max_silence: 20 * 60_000,
            p_value: 1e-4,
            max_sources: 64,
            max_feeds: 4_096,
        }
    }
}

impl FeedSettings {
    /// How long a feed may be silent at `per_ms` events per millisecond before it is stale;
    /// `None`: too quiet to judge.
    pub fn silence_allowed(&self, per_ms: f64) -> Option<Millis> {
        if per_ms <= 0.0 {
            return None;
        }
        let after = ((1.0 / self.p_value).ln() / per_ms) as Millis;
        (after <= self.max_silence).then_some(after.max(self.min_silence))
    }
}

impl Cx<'_> {
    pub(crate) fn feeds(&mut self, root: &Tab) -> FeedSettings {
        let mut f = FeedSettings::default();
        let Some(t) = self.sub_table(
            root,
            "feeds",
            &[
                "min_silence",
                "max_silence",
                "p_value",
                "max_sources",
                "max_feeds",
            ],
        ) else {
            return f;
        };
        let t = t.named("[feeds]");
        if let Some(v) = self.duration(&t, "min_silence") {
            f.min_silence = v.max(1_000);
        }
        if let Some(v) = self.duration(&t, "max_silence") {
            f.max_silence = v;
        }
        if let Some((p, span)) = self.number(&t, "p_value") {
            if p > 0.0 && p < 1.0 {
                f.p_value = p;
            } else {
                self.err(
                    &span,
                    format!("[feeds]: `p_value` must be between 0 and 1 (exclusive), found {p}"),
                );
            }
        }
        if let Some(n) = self.count(&t, "max_sources") {
            f.max_sources = (n as usize).clamp(1, 10_000);
        }
        if let Some(n) = self.count(&t, "max_feeds") {
            f.max_feeds = (n as usize).clamp(1, 100_000);
        }
        if f.max_silence < f.min_silence {
            self.err(
                &t.span,
                format!(
                    "[feeds]: `max_silence` ({}) must be at least `min_silence` ({})",
                    super::format_duration(f.max_silence),
                    super::format_duration(f.min_silence)
                ),
            );
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_allowed_scales_with_the_pace() {
        let f = FeedSettings::default();
        // A reading every 5 s: 46 s would do, but never under a minute.
        assert_eq!(f.silence_allowed(1.0 / 5_000.0), Some(60_000));
        // 300 an hour: ln(10^4) / 300 h = 110 s.
        let busy = f.silence_allowed(300.0 / 3_600_000.0).unwrap();
        assert!((109_000..112_000).contains(&busy), "{busy}");
        // 20 an hour at night: 28 minutes, past max_silence: not judged.
        assert_eq!(f.silence_allowed(20.0 / 3_600_000.0), None);
        assert_eq!(f.silence_allowed(0.0), None);
    }
}
