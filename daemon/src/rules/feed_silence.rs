//! `feed_silence` rules: a source that usually talks about a queue has gone silent (a dead
//! ACD link, a stopped integration). When a source counts as silent is the daemon's `[feeds]`
//! setting, shared with the board's stale tiles; the rule says how loud the page is. While a
//! queue is stale no other rule is judged on it, so nothing clears as if the queue recovered.

use floorwatch_protocol::{Severity, StaleFeed};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::format_duration;
use crate::config::parse::{Cx, Tab};
use crate::engine::{Detail, Figures};
use crate::words::Said;

#[derive(Debug, Clone)]
pub struct SilenceRule {
    pub severity: Severity,
}

pub(crate) const SPEC: KindSpec = KindSpec {
    name: "feed_silence",
    keys: &[&["severity"]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "silent_s";

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    Some(RuleKind::FeedSilence(SilenceRule {
        severity: super::severity(cx, tab, Severity::Critical),
    }))
}

impl SilenceRule {
    pub fn judge(&self, stale: Option<&StaleFeed>) -> Verdict {
        match stale {
            Some(s) => Verdict {
                level: Some(self.severity),
                clear: false,
                badness: s.silent_s,
            },
            None => Verdict::quiet(),
        }
    }

    /// Worded with clock times in `tz`, the floor's time zone.
    pub fn describe(&self, queue: &str, stale: Option<&StaleFeed>, tz: chrono_tz::Tz) -> Detail {
        let Some(s) = stale else {
            return Detail {
                figures: Figures(vec![(PEAK, 0.0)]),
                title: Said::new(
                    format!("{queue}: data flowing again"),
                    format!("{queue}：数据已恢复"),
                ),
                summary: format!("{queue}: every source is sending again"),
            };
        };
        let since = s.last_seen.with_timezone(&tz).format("%H:%M");
        let silent = format_duration((s.silent_s * 1000.0) as i64 / 1000 * 1000);
        let allowed = format_duration((s.after_s * 1000.0) as i64 / 1000 * 1000);
        Detail {
            figures: Figures(vec![(PEAK, s.silent_s), ("stale_after_s", s.after_s)]),
            title: Said::new(
                format!("{queue}: no data from {} since {since}", s.source),
                format!("{queue}：{since} 起没有收到 {} 的数据", s.source),
            ),
            summary: format!(
                "{queue}: no data from {} for {silent} (last at {since}); at its usual pace it would have sent something within {allowed}. The queue's figures are stale and its other rules wait for data.",
                s.source
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stale() -> StaleFeed {
        StaleFeed {
            source: "acd-1".into(),
            last_seen: "2026-11-23T01:42:10Z".parse().unwrap(),
            silent_s: 95.4,
            after_s: 60.0,
        }
    }

    #[test]
    fn fires_while_stale_and_names_the_source() {
        let r = SilenceRule {
            severity: Severity::Critical,
        };
        assert_eq!(r.judge(Some(&stale())).level, Some(Severity::Critical));
        assert!(r.judge(None).clear);
        let d = r.describe("phone-general", Some(&stale()), chrono_tz::Asia::Shanghai);
        assert_eq!(d.title.en, "phone-general: no data from acd-1 since 09:42");
        assert_eq!(d.title.zh, "phone-general：09:42 起没有收到 acd-1 的数据");
        assert!(d.summary.contains("for 1m35s"), "{}", d.summary);
        assert!(d.summary.contains("within 1m"), "{}", d.summary);
    }
}
