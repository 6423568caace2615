//! Who is talking: per event source and queue, when it last sent anything and how fast it
//! usually does (its pace over the hour before, and what this hour of the week usually brings).
//! A feed silent for longer than its pace allows (`[feeds]`) makes its queue stale: the board
//! greys the tile, `feed_silence` rules fire, and the queue's other rules wait for data.

use floorwatch_protocol::StaleFeed;
use rustc_hash::FxHashMap;

use super::calendar::ms_to_utc;
use super::weekly::{HOUR, HourOfWeek};
use super::{Refused, refuse};
use crate::config::{FeedSettings, Millis};

/// A queue reading is periodic, not chance: a source that has missed this many of its usual
/// events since the reading it last sent is dead, even before its pace's p-value says so.
const OVERDUE_EVENTS: f64 = 3.0;

/// The source of events that name none, with no ingest token to name them after (an open API,
/// a recorded trace).
pub const UNNAMED: &str = "unnamed";

struct Feed {
    source: u16,
    first_at: Millis,
    /// Its last event.
    last_at: Millis,
    /// Its silence counts from here: its last event, or the daemon's restart if later.
    heard: Millis,
    /// Counted events per hour, learned into a pace per hour of the week.
    pace: HourOfWeek,
    /// Counted events per minute over the last quarter-hour (ring by minute number).
    recent: [(i64, u16); RECENT_MINUTES],
}

/// The short span of a feed's pace: traffic falling through the evening shows here first.
const RECENT_MINUTES: usize = 15;
const MINUTE: Millis = 60_000;

impl Feed {
    fn new(source: u16, at: Millis) -> Self {
        Feed {
            source,
            first_at: at,
            last_at: at,
            heard: at,
            pace: HourOfWeek::default(),
            recent: [(i64::MIN, 0); RECENT_MINUTES],
        }
    }

    fn seen(&mut self, at: Millis, counts: bool) {
        self.first_at = self.first_at.min(at);
        self.last_at = self.last_at.max(at);
        self.heard = self.heard.max(at);
        if counts {
            self.pace.count(at);
            let m = at.div_euclid(MINUTE);
            let slot = &mut self.recent[m.rem_euclid(RECENT_MINUTES as i64) as usize];
            if slot.0 == m {
                slot.1 = slot.1.saturating_add(1);
            } else if slot.0 < m {
                *slot = (m, 1);
            }
        }
    }

    /// Events per millisecond it usually sends: the lesser of its pace over the hour and over
    /// the quarter-hour before its last event, and of what this hour of the week usually
    /// brings (once learned). The lesser, so falling traffic or a lull never reads as a dead
    /// source. A span is never taken as shorter than a quarter-hour, so a source just heard
    /// from is not judged on a handful of events.
    fn pace(&self, hour: i64, how: usize) -> f64 {
        let at = self.last_at;
        let per_ms = |n: u32, span: Millis| {
            let span = span
                .min(at - self.first_at)
                .max(RECENT_MINUTES as i64 * MINUTE);
            f64::from(n) / span as f64
        };
        let h = at.div_euclid(HOUR);
        let hourly = per_ms(
            self.pace.count_in_hour(h) + self.pace.count_in_hour(h - 1),
            HOUR + at - h * HOUR,
        );
        let m = at.div_euclid(MINUTE);
        let first = m + 1 - RECENT_MINUTES as i64;
        let quarter: u32 = self
            .recent
            .iter()
            .filter(|(minute, _)| (first..=m).contains(minute))
            .map(|(_, n)| u32::from(*n))
            .sum();
        let quarter = per_ms(quarter, at - first * MINUTE);
        let hourly = hourly.min(quarter);
        match self.pace.learned(hour, how) {
            Some(n) => hourly.min(n / HOUR as f64),
            None => hourly,
        }
    }
}

/// Where a feed is kept, to count an event on it without looking it up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedRef {
    q: u16,
    i: u32,
    pub source: u16,
}

#[derive(Default)]
pub struct Feeds {
    names: Vec<Box<str>>,
    name_ix: FxHashMap<Box<str>, u16>,
    /// Per queue index: the sources that have talked about it.
    by_queue: Vec<Vec<Feed>>,
    count: usize,
}

impl Feeds {
    fn source(&mut self, name: &str, limits: &FeedSettings) -> Result<u16, Refused> {
        if let Some(s) = self.name_ix.get(name) {
            return Ok(*s);
        }
        self.room_for_source(name, limits)?;
        let s = self.names.len() as u16;
        self.names.push(name.into());
        self.name_ix.insert(name.into(), s);
        Ok(s)
    }

    /// Whether an event from `source` about queue `q` (`None`: a queue not seen yet) would be
    /// taken: checked before the event is applied, so nothing is half taken.
    pub fn admits(
        &self,
        source: &str,
        q: Option<u16>,
        limits: &FeedSettings,
    ) -> Result<(), Refused> {
        let Some(s) = self.name_ix.get(source) else {
            self.room_for_source(source, limits)?;
            return self.room(limits);
        };
        let known = q
            .and_then(|q| self.by_queue.get(q as usize))
            .is_some_and(|f| f.iter().any(|f| f.source == *s));
        if known { Ok(()) } else { self.room(limits) }
    }

    fn room_for_source(&self, name: &str, limits: &FeedSettings) -> Result<(), Refused> {
        if self.names.len() >= limits.max_sources {
            return Err(refuse(
                Some("source"),
                format!(
                    "new source \"{name}\" refused: the limit of {} sources is reached (feeds.max_sources)",
                    limits.max_sources
                ),
            ));
        }
        Ok(())
    }

    fn room(&self, limits: &FeedSettings) -> Result<(), Refused> {
        if self.count >= limits.max_feeds {
            return Err(refuse(
                Some("source"),
                format!(
                    "a new source for this queue is refused: the limit of {} (source, queue) feeds is reached (feeds.max_feeds)",
                    limits.max_feeds
                ),
            ));
        }
        Ok(())
    }

    /// `source` sent something about queue `q` at `at`. `counts`: it adds to the source's pace,
    /// which counts independent events only (a contact's arrival, a queue reading, a
    /// heartbeat): a contact's later steps come in bursts, and a duplicate proves the source
    /// alive but is not news.
    pub fn touch(
        &mut self,
        source: &str,
        q: u16,
        at: Millis,
        counts: bool,
        limits: &FeedSettings,
    ) -> Result<FeedRef, Refused> {
        let s = match self.name_ix.get(source) {
            Some(s) => *s,
            None => self.source(source, limits)?,
        };
        if self.by_queue.len() <= q as usize {
            self.by_queue.resize_with(q as usize + 1, Vec::new);
        }
        let feeds = &mut self.by_queue[q as usize];
        let i = match feeds.iter().position(|f| f.source == s) {
            Some(i) => i,
            None => {
                self.room(limits)?;
                self.by_queue[q as usize].push(Feed::new(s, at));
                self.count += 1;
                self.by_queue[q as usize].len() - 1
            }
        };
        self.by_queue[q as usize][i].seen(at, counts);
        Ok(FeedRef {
            q,
            i: i as u32,
            source: s,
        })
    }

    /// Counts an event at `at` towards the pace of a feed `touch` gave.
    pub fn count(&mut self, r: FeedRef, at: Millis) {
        if let Some(f) = self
            .by_queue
            .get_mut(r.q as usize)
            .and_then(|f| f.get_mut(r.i as usize))
        {
            f.seen(at, true);
        }
    }

    /// The id of a source already seen.
    #[cfg(test)]
    pub fn source_id(&self, name: &str) -> Option<u16> {
        self.name_ix.get(name).copied()
    }

    /// Queue `q`'s reading from `source` at `reading_at` has aged out: stale if the source has
    /// sent nothing since and its pace would have sent `OVERDUE_EVENTS` by now. The reading gives
    /// way to figures derived from contact events then, and those would speak for a dead source.
    /// A source too quiet to be judged at all (`settings`) is not overdue either.
    pub fn overdue(
        &self,
        q: u16,
        source: u16,
        reading_at: Millis,
        now: Millis,
        how: usize,
        settings: &FeedSettings,
    ) -> Option<StaleFeed> {
        let f = self
            .by_queue
            .get(q as usize)?
            .iter()
            .find(|f| f.source == source && f.last_at <= reading_at)?;
        let silent = now - f.heard;
        let pace = f.pace(now.div_euclid(HOUR), how);
        settings.silence_allowed(pace)?;
        (pace * silent as f64 >= OVERDUE_EVENTS).then(|| StaleFeed {
            source: self.names[source as usize].to_string(),
            last_seen: ms_to_utc(f.last_at),
            silent_s: silent as f64 / 1000.0,
            after_s: silent as f64 / 1000.0,
        })
    }

    /// A heartbeat from `source` with no queue named: every queue it has talked about.
    pub fn beat_all(&mut self, source: &str, at: Millis) -> bool {
        let Some(s) = self.name_ix.get(source).copied() else {
            return false;
        };
        let mut any = false;
        for f in self.by_queue.iter_mut().flatten().filter(|f| f.source == s) {
            f.seen(at, true);
            any = true;
        }
        any
    }

    /// After a restart: every source's silence counts from `now`, since the events it sent
    /// while the daemon was down are not lost on it but on the daemon. A source that stays
    /// silent is stale again after its usual allowance.
    pub fn restarted(&mut self, now: Millis) {
        for f in self.by_queue.iter_mut().flatten() {
            f.heard = f.heard.max(now);
        }
    }

    /// Folds the finished hour `hour` (hour of the week `how`) into every feed's usual pace.
    pub fn fold(&mut self, hour: i64, how: usize) {
        for f in self.by_queue.iter_mut().flatten() {
            f.pace.fold(hour, how);
        }
    }

    /// The longest-silent feed of queue `q` that is silent past what its pace allows, if any.
    /// `how`: the hour of the week of `now`.
    pub fn stale(
        &self,
        q: u16,
        now: Millis,
        how: usize,
        settings: &FeedSettings,
    ) -> Option<StaleFeed> {
        let hour = now.div_euclid(HOUR);
        self.by_queue
            .get(q as usize)?
            .iter()
            .filter_map(|f| {
                let silent = now - f.heard;
                if silent < settings.min_silence {
                    return None;
                }
                let after = settings.silence_allowed(f.pace(hour, how))?;
                (silent >= after).then_some((f, silent, after))
            })
            .max_by_key(|(_, silent, _)| *silent)
            .map(|(f, silent, after)| StaleFeed {
                source: self.names[f.source as usize].to_string(),
                last_seen: ms_to_utc(f.last_at),
                silent_s: silent as f64 / 1000.0,
                after_s: after as f64 / 1000.0,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    /// A reading every 5 s for an hour from `acd-1` on queue 0.
    fn busy() -> Feeds {
        let mut f = Feeds::default();
        let limits = FeedSettings::default();
        for i in 0..720 {
            f.touch("acd-1", 0, 10 * HOUR + i * 5_000, true, &limits)
                .unwrap();
        }
        f
    }

    #[test]
    fn a_busy_feed_is_stale_after_a_minute_of_silence() {
        let f = busy();
        let s = FeedSettings::default();
        let last = 11 * HOUR - 5_000;
        assert_eq!(f.stale(0, last + 59_000, 0, &s), None);
        let stale = f.stale(0, last + 61_000, 0, &s).unwrap();
        assert_eq!(stale.source, "acd-1");
        assert_eq!(stale.after_s, 60.0);
        assert_eq!(stale.silent_s, 61.0);
    }

    #[test]
    fn a_quiet_feed_is_not_judged_and_a_heartbeat_keeps_one_alive() {
        let mut f = Feeds::default();
        let s = FeedSettings::default();
        // Ten events an hour: a dead source cannot be told from a calm one within 20 minutes.
        for i in 0..10 {
            f.touch("crm", 0, i * 6 * MIN, true, &s).unwrap();
        }
        assert_eq!(f.stale(0, 2 * HOUR, 0, &s), None);
        let mut f = busy();
        assert!(f.beat_all("acd-1", 11 * HOUR + 50_000));
        assert_eq!(f.stale(0, 11 * HOUR + 100_000, 0, &s), None);
        assert!(!f.beat_all("nobody", 11 * HOUR));
    }

    #[test]
    fn the_usual_pace_of_the_hour_lowers_the_bar_never_raises_it() {
        let mut f = busy();
        let s = FeedSettings::default();
        // This hour of the week usually brings 30 events: at that pace silence is not judged.
        f.by_queue[0][0].pace.learn(11 - 168, 11, 30);
        let last = 11 * HOUR - 5_000;
        assert_eq!(f.stale(0, last + 5 * MIN, 11, &s), None);
    }

    #[test]
    fn an_aged_reading_from_a_silent_source_is_overdue() {
        let f = busy();
        let d = FeedSettings::default();
        let s = f.source_id("acd-1").unwrap();
        let last = 11 * HOUR - 5_000;
        // A reading every 5 s: three missed take 15 s.
        assert_eq!(f.overdue(0, s, last, last + 14_000, 0, &d), None);
        let o = f.overdue(0, s, last, last + 15_000, 0, &d).unwrap();
        assert_eq!((o.source.as_str(), o.silent_s), ("acd-1", 15.0));
        // A lone reading an hour ago: too little to judge.
        let mut lone = Feeds::default();
        lone.touch("acd-2", 0, 0, true, &d).unwrap();
        let s2 = lone.source_id("acd-2").unwrap();
        assert_eq!(lone.overdue(0, s2, 0, HOUR, 0, &d), None);
        // It spoke after that reading (a contact event): not overdue.
        assert_eq!(f.overdue(0, s, last - 5_000, last + 60_000, 0, &d), None);
    }

    #[test]
    fn a_restart_counts_silence_from_now() {
        let mut f = busy();
        let s = FeedSettings::default();
        let back = 12 * HOUR;
        assert!(f.stale(0, back, 0, &s).is_some(), "down an hour: silent");
        f.restarted(back);
        assert_eq!(f.stale(0, back + 30_000, 0, &s), None);
        assert!(
            f.stale(0, back + 61_000, 0, &s).is_some(),
            "still silent after"
        );
    }

    #[test]
    fn sources_and_feeds_are_capped() {
        let mut f = Feeds::default();
        let s = FeedSettings {
            max_sources: 2,
            max_feeds: 3,
            ..FeedSettings::default()
        };
        f.touch("a", 0, 0, true, &s).unwrap();
        f.touch("b", 0, 0, true, &s).unwrap();
        let e = f.touch("c", 0, 0, true, &s).unwrap_err();
        assert!(e.reason.contains("feeds.max_sources"), "{}", e.reason);
        f.touch("a", 1, 0, true, &s).unwrap();
        let e = f.touch("b", 1, 0, true, &s).unwrap_err();
        assert!(e.reason.contains("feeds.max_feeds"), "{}", e.reason);
        // Known feeds still take events.
        f.touch("b", 0, 1, true, &s).unwrap();
    }
}
