//! The wall-board's complaints panel: complaints over the last hour per category and per
//! watched keyword (the keywords of the `by = "keyword"` spike rules), each against what this
//! hour of the week usually brings (learned by the spike rule grouping by the same thing, when
//! there is one), and the open complaints of each grade against its deadline.
//!
//! Counts are per minute over the hour, so memory is bounded by the categories (at most
//! `daemon.limits.max_categories`) and keywords. Open complaints are indexed by grade and
//! opening time, and counted per minute of opening: how many are near or past a deadline is a
//! sum over minutes (at most the state horizon's), whatever the number open.

use std::collections::{BTreeMap, BTreeSet};

use floorwatch_protocol::{ComplaintCount, Grade, GradeDeadlines};
use rustc_hash::FxHashMap;

use super::calendar::ms_to_utc;
use super::complaints::HOUR;
use super::{Engine, expected_in, hours_of_week};
use crate::config::Millis;
use crate::rules::RuleKind;
use crate::rules::complaint_spike::GroupBy;

const MINUTE: Millis = 60_000;
const MINUTES: usize = 60;

/// A count per minute over the last hour.
#[derive(Debug, Clone)]
struct Minutes {
    /// Minute number (time / 1 min) of the newest bucket.
    head: i64,
    counts: [u32; MINUTES],
}

impl Default for Minutes {
    fn default() -> Self {
        Minutes {
            head: i64::MIN,
            counts: [0; MINUTES],
        }
    }
}

impl Minutes {
    fn count(&mut self, at: Millis) {
        let m = at.div_euclid(MINUTE);
        if self.head == i64::MIN {
            self.head = m;
        } else if m > self.head {
            let gap = (m - self.head).min(MINUTES as i64);
            for k in 0..gap {
                self.counts[(m - k).rem_euclid(MINUTES as i64) as usize] = 0;
            }
            self.head = m;
        } else if self.head - m >= MINUTES as i64 {
            return;
        }
        self.counts[m.rem_euclid(MINUTES as i64) as usize] += 1;
    }

    /// Complaints in the hour ending at `now`'s minute.
    fn total(&self, now: Millis) -> u32 {
        if self.head == i64::MIN {
            return 0;
        }
        let now_m = now.div_euclid(MINUTE);
        (0..MINUTES as i64)
            .map(|k| self.head - k)
            .filter(|m| *m <= now_m && *m > now_m - MINUTES as i64)
            .map(|m| self.counts[m.rem_euclid(MINUTES as i64) as usize])
            .sum()
    }
}

#[derive(Debug, Default)]
pub struct ComplaintBoard {
    categories: FxHashMap<Box<str>, Minutes>,
    keywords: Vec<(Box<str>, Minutes)>,
    /// Open complaints by grade: (opened at, id), and how many opened in each minute.
    open: [BTreeSet<(Millis, u64)>; 3],
    open_per_minute: [BTreeMap<i64, u32>; 3],
}

/// Open complaints of one grade opened before `t`: whole minutes summed, the last part-minute
/// counted one by one.
fn opened_before(
    open: &BTreeSet<(Millis, u64)>,
    per_minute: &BTreeMap<i64, u32>,
    t: Millis,
) -> u32 {
    let m = t.div_euclid(MINUTE);
    let whole: u32 = per_minute.range(..m).map(|(_, n)| *n).sum();
    let part = open.range((m * MINUTE, 0)..(t, 0)).count() as u32;
    whole + part
}

impl ComplaintBoard {
    /// The watched keywords: those of every keyword spike rule, once each.
    pub fn new(rules: &[crate::config::Rule]) -> Self {
        let mut keywords: Vec<(Box<str>, Minutes)> = Vec::new();
        for r in rules {
            if let RuleKind::ComplaintSpike(s) = &r.kind
                && s.by == GroupBy::Keyword
            {
                for k in &s.keywords {
                    if !keywords.iter().any(|(w, _)| **w == **k) {
                        keywords.push((k.as_str().into(), Minutes::default()));
                    }
                }
            }
        }
        ComplaintBoard {
            keywords,
            ..Default::default()
        }
    }

    /// A complaint opened. Its category is already within the engine's limit of categories.
    pub fn opened(
        &mut self,
        id: u64,
        at: Millis,
        grade: Grade,
        category: Option<&str>,
        text: Option<&str>,
    ) {
        let cat = category.unwrap_or("uncategorised");
        match self.categories.get_mut(cat) {
            Some(m) => m.count(at),
            None => {
                let mut m = Minutes::default();
                m.count(at);
                self.categories.insert(cat.into(), m);
            }
        }
        if let Some(text) = text
            && !self.keywords.is_empty()
        {
            let lower = text.to_lowercase();
            for (k, m) in &mut self.keywords {
                if lower.contains(&**k) {
                    m.count(at);
                }
            }
        }
        if self.open[grade as usize].insert((at, id)) {
            *self.open_per_minute[grade as usize]
                .entry(at.div_euclid(MINUTE))
                .or_default() += 1;
        }
    }

    pub fn handled(&mut self, id: u64, opened: Millis, grade: Grade) {
        if self.open[grade as usize].remove(&(opened, id)) {
            let per_minute = &mut self.open_per_minute[grade as usize];
            let m = opened.div_euclid(MINUTE);
            if let Some(n) = per_minute.get_mut(&m) {
                *n -= 1;
                if *n == 0 {
                    per_minute.remove(&m);
                }
            }
        }
    }
}

impl Engine {
    /// The complaints panel as of now.
    pub fn complaint_board(&self) -> floorwatch_protocol::ComplaintBoard {
        let now = self.now;
        let board = &self.complaint_board;
        let hours = hours_of_week(now - HOUR, now, &self.cfg);
        // The usual for a group key, from the first spike rule grouping by its kind.
        let usual = |by: GroupBy, key: &str| -> Option<f64> {
            self.cfg
                .rules
                .iter()
                .enumerate()
                .find_map(|(i, r)| match &r.kind {
                    RuleKind::ComplaintSpike(s) if s.by == by => {
                        let g = self.group_ix.get(&(i as u16, key.into()))?;
                        let group = &self.groups[i][*g];
                        Some(expected_in(
                            group,
                            now - HOUR,
                            now,
                            s.prior_per_hour,
                            &hours,
                        ))
                    }
                    _ => None,
                })
        };
        let mut categories: Vec<ComplaintCount> = board
            .categories
            .iter()
            .map(|(name, m)| ComplaintCount {
                name: name.to_string(),
                count: m.total(now),
                usual: usual(GroupBy::Category, &format!("category:{name}")),
            })
            .filter(|c| c.count > 0 || c.usual.is_some_and(|u| u >= 0.5))
            .collect();
        categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        let keywords = board
            .keywords
            .iter()
            .map(|(k, m)| ComplaintCount {
                name: k.to_string(),
                count: m.total(now),
                usual: usual(GroupBy::Keyword, &format!("keyword:{k}")),
            })
            .collect();
        let deadlines = Grade::ALL
            .iter()
            .copied()
            .filter_map(|grade| {
                let open = &board.open[grade as usize];
                let per_minute = &board.open_per_minute[grade as usize];
                let (oldest, _) = open.first()?;
                let deadline = self.cfg.complaints.deadline(grade);
                let past = opened_before(open, per_minute, now - deadline);
                let near = opened_before(open, per_minute, now - deadline * 4 / 5 + 1) - past;
                Some(GradeDeadlines {
                    grade,
                    open: open.len() as u32,
                    near,
                    past,
                    oldest_at: ms_to_utc(*oldest),
                    deadline_s: deadline as f64 / 1000.0,
                })
            })
            .collect();
        floorwatch_protocol::ComplaintBoard {
            window_s: (HOUR / 1000) as u32,
            categories,
            keywords,
            deadlines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_of_minutes() {
        let mut m = Minutes::default();
        assert_eq!(m.total(0), 0);
        m.count(0);
        m.count(30 * MINUTE);
        m.count(30 * MINUTE + 5);
        assert_eq!(m.total(30 * MINUTE), 3);
        assert_eq!(m.total(61 * MINUTE), 2, "the first minute left the hour");
        m.count(200 * MINUTE);
        assert_eq!(m.total(200 * MINUTE), 1, "long gaps clear the hour");
        m.count(100 * MINUTE);
        assert_eq!(m.total(200 * MINUTE), 1, "too old to count");
        m.count(201 * MINUTE);
        assert_eq!(m.total(200 * MINUTE), 1, "ahead of the clock: not yet");
    }
}
