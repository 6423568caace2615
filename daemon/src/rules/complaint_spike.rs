//! `complaint_spike` rules: complaints in a recent window against the usual for this hour of
//! the week, overall or per category, channel or keyword (投诉激增, 舆情监控). A spike needs a
//! least count, a least ratio to the baseline and a Poisson tail probability at most `p_value`;
//! it clears below `clear_ratio`.

use floorwatch_protocol::{Channel, Language, Severity};

use super::{Context, KindSpec, RuleKind, Verdict};
use crate::config::parse::{Cx, Tab};
use crate::config::{Millis, format_duration};
use crate::engine::{Detail, Figures, round};
use crate::words::{self, Said};

/// How complaints are grouped for a spike rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    All,
    Category,
    Channel,
    Keyword,
}

impl GroupBy {
    pub const NAMES: &'static [&'static str] = &["all", "category", "channel", "keyword"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "all" => Self::All,
            "category" => Self::Category,
            "channel" => Self::Channel,
            "keyword" => Self::Keyword,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SpikeRule {
    pub window: Millis,
    pub by: GroupBy,
    /// Lower-cased keywords, for `by = "keyword"`.
    pub keywords: Vec<String>,
    pub min_count: u32,
    pub min_ratio: f64,
    /// Fire when the Poisson tail probability of the observed count is at most this.
    pub p_value: f64,
    /// Complaints per hour assumed for an hour of the week with no history yet.
    pub prior_per_hour: f64,
    /// Clears once observed / expected falls below this (hysteresis).
    pub clear_ratio: f64,
    pub severity: Severity,
}

pub(crate) const SPEC: KindSpec = KindSpec {
    name: "complaint_spike",
    keys: &[&[
        "window",
        "by",
        "keywords",
        "min_count",
        "min_ratio",
        "p_value",
        "prior_per_hour",
        "clear_ratio",
        "severity",
    ]],
    parse,
};

/// The figure a restored incident's peak is read from.
pub const PEAK: &str = "ratio";

fn parse(cx: &mut Cx, tab: &Tab, _: &Context) -> Option<RuleKind> {
    let by = cx
        .word(tab, "by", GroupBy::parse, &GroupBy::NAMES.join(", "))
        .unwrap_or(GroupBy::All);
    let keywords: Vec<String> = cx
        .strings(tab, "keywords")
        .into_iter()
        .map(|(k, _)| k.to_lowercase())
        .collect();
    if by == GroupBy::Keyword && keywords.is_empty() {
        cx.err(
            &tab.span,
            format!("{}: `by = \"keyword\"` needs `keywords = [...]`", tab.what),
        );
    }
    let p_value = cx.ratio(tab, "p_value").unwrap_or(0.001);
    let min_ratio = cx.number(tab, "min_ratio").map(|n| n.0).unwrap_or(3.0);
    let clear_ratio = cx.number(tab, "clear_ratio").map(|n| n.0).unwrap_or(1.5);
    if clear_ratio > min_ratio {
        let span = tab
            .get("clear_ratio")
            .map(|v| v.span())
            .unwrap_or(tab.span.clone());
        cx.err(
            &span,
            format!(
                "{}: `clear_ratio` ({clear_ratio}) must not exceed `min_ratio` ({min_ratio})",
                tab.what
            ),
        );
    }
    Some(RuleKind::ComplaintSpike(SpikeRule {
        window: cx.duration(tab, "window").unwrap_or(15 * 60_000),
        by,
        keywords,
        min_count: cx.count(tab, "min_count").unwrap_or(5) as u32,
        min_ratio,
        p_value,
        prior_per_hour: cx.number(tab, "prior_per_hour").map(|n| n.0).unwrap_or(2.0),
        clear_ratio,
        severity: super::severity(cx, tab, Severity::Crisis),
    }))
}

/// A group's count judged against what it usually gets in the window.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub observed: u32,
    pub expected: f64,
    pub ratio: f64,
    /// The Poisson tail probability of `observed` (1 while count or ratio are too low to ask).
    pub p: f64,
}

impl SpikeRule {
    pub fn read(&self, observed: u32, expected: f64) -> Reading {
        let ratio = f64::from(observed) / expected.max(0.01);
        // The tail probability only matters once count and ratio are high enough.
        let p = if observed >= self.min_count && ratio >= self.min_ratio {
            poisson_tail(observed, expected.max(0.01))
        } else {
            1.0
        };
        Reading {
            observed,
            expected,
            ratio,
            p,
        }
    }

    pub fn judge(&self, r: &Reading) -> Verdict {
        let spiking =
            r.observed >= self.min_count && r.ratio >= self.min_ratio && r.p <= self.p_value;
        Verdict {
            level: spiking.then_some(self.severity),
            clear: !spiking && (r.ratio < self.clear_ratio || r.observed < self.min_count),
            badness: r.ratio,
        }
    }

    pub fn describe(&self, key: &str, r: &Reading) -> Detail {
        let about = match self.by {
            GroupBy::All => "Complaints".to_string(),
            GroupBy::Category => format!("Complaints about {}", label(key)),
            GroupBy::Channel => format!("Complaints via {}", label(key)),
            GroupBy::Keyword => format!("Complaints mentioning \"{}\"", label(key)),
        };
        let about_zh = match self.by {
            GroupBy::All => "投诉".to_string(),
            GroupBy::Category => format!("{} 类投诉", label(key)),
            GroupBy::Channel => match Channel::parse(label(key)) {
                Some(c) => format!("{}投诉", words::channel_zh(c)),
                None => format!("{} 渠道投诉", label(key)),
            },
            GroupBy::Keyword => format!("提到“{}”的投诉", label(key)),
        };
        Detail {
            title: Said::new(
                format!(
                    "{about}: {:.0}x usual ({} in {})",
                    r.ratio,
                    r.observed,
                    format_duration(self.window)
                ),
                format!(
                    "{about_zh}：平常的 {:.0} 倍（{}内 {} 件）",
                    r.ratio,
                    words::duration(self.window, Language::Chinese),
                    r.observed
                ),
            ),
            figures: Figures(vec![
                (PEAK, round(r.ratio)),
                ("observed", f64::from(r.observed)),
                ("expected", round(r.expected)),
                ("p_value", r.p),
            ]),
            summary: format!(
                "{} complaints in {} on {key}: {:.1}x the usual {:.1} for this hour of the week (p={:.2e})",
                r.observed,
                format_duration(self.window),
                r.ratio,
                r.expected,
                r.p,
            ),
        }
    }
}

/// The groups a complaint counts in for a spike rule.
pub fn group_keys(
    rule: &SpikeRule,
    channel: Option<Channel>,
    category: Option<&str>,
    text: Option<&str>,
) -> Vec<String> {
    match rule.by {
        GroupBy::All => vec!["complaints".into()],
        GroupBy::Category => vec![format!("category:{}", category.unwrap_or("uncategorised"))],
        GroupBy::Channel => vec![format!(
            "channel:{}",
            channel.map(|c| c.as_str()).unwrap_or("other")
        )],
        GroupBy::Keyword => {
            let Some(text) = text else { return Vec::new() };
            let lower = text.to_lowercase();
            rule.keywords
                .iter()
                .filter(|k| lower.contains(k.as_str()))
                .map(|k| format!("keyword:{k}"))
                .collect()
        }
    }
}

/// What a group key of `group_keys` names (the category, channel or keyword).
fn label(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, v)| v)
}

/// P(X >= k) for X ~ Poisson(lambda): how surprising `k` complaints are when `lambda` were
/// expected.
pub fn poisson_tail(k: u32, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    let kf = f64::from(k);
    if kf <= lambda {
        // The tail holds most of the mass: 1 - P(X < k), summing the k lower terms.
        let mut term = (-lambda).exp();
        let mut cdf = term;
        for i in 1..k {
            term *= lambda / f64::from(i);
            cdf += term;
        }
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    // Sum upward from the k-th term (computed in log space) until the terms vanish.
    let mut term = (-lambda + kf * lambda.ln() - ln_factorial(k)).exp();
    let mut sum = 0.0;
    let mut i = kf;
    while term > sum * 1e-12 && i < kf + 10_000.0 {
        sum += term;
        i += 1.0;
        term *= lambda / i;
    }
    sum.clamp(0.0, 1.0)
}

fn ln_factorial(n: u32) -> f64 {
    if n < 256 {
        (2..=n).map(|i| f64::from(i).ln()).sum()
    } else {
        // Stirling's series: exact to ~1e-10 at this size.
        let x = f64::from(n) + 1.0;
        (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * x)
            - 1.0 / (360.0 * x.powi(3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_say_what_and_how_much_details_keep_the_statistics() {
        let rule = SpikeRule {
            window: 600_000,
            by: GroupBy::Category,
            keywords: Vec::new(),
            min_count: 4,
            min_ratio: 3.0,
            p_value: 0.01,
            prior_per_hour: 2.5,
            clear_ratio: 1.5,
            severity: Severity::Critical,
        };
        let r = rule.read(20, 2.0);
        assert_eq!(rule.judge(&r).level, Some(Severity::Critical));
        let d = rule.describe("category:network", &r);
        assert_eq!(
            d.title.en,
            "Complaints about network: 10x usual (20 in 10m)"
        );
        assert!(!d.title.en.contains("p="));
        assert_eq!(d.title.zh, "network 类投诉：平常的 10 倍（10分钟内 20 件）");
        assert!(
            d.summary.contains("p=") && d.summary.contains("usual 2.0"),
            "{}",
            d.summary
        );
        let all = SpikeRule {
            by: GroupBy::All,
            ..rule.clone()
        };
        assert_eq!(
            all.describe("complaints", &r).title.en,
            "Complaints: 10x usual (20 in 10m)"
        );
    }

    #[test]
    fn poisson_tail_known_values() {
        // P(X >= 1 | 1) = 1 - e^-1
        assert!((poisson_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // P(X >= 10 | 2) = 4.65e-5 (tables)
        let p = poisson_tail(10, 2.0);
        assert!((p - 4.6498e-5).abs() < 1e-8, "{p}");
        assert_eq!(poisson_tail(0, 3.0), 1.0);
        assert!(poisson_tail(3, 10.0) > 0.99);
        // Large counts go through Stirling without overflow.
        assert!(poisson_tail(400, 300.0) < 1e-6);
    }
}
