//! `alerts.toml`: the validated configuration the rest of the daemon runs on.
//!
//! `load` turns the file into these types or into every error it has at once, each with
//! file:line:column (see `parse.rs`). Everything downstream may assume a `Config` is consistent:
//! names resolve, thresholds are ordered, cron expressions parse.

mod duration;
mod feeds;
mod heartbeat;
mod pages;
pub(crate) mod parse;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono_tz::Tz;
use floorwatch_protocol::{Channel, Grade, Priority, Severity};

pub use crate::rules::RuleKind;
pub use duration::{format_duration, parse_duration};
pub use feeds::FeedSettings;
pub use heartbeat::OutwardHeartbeat;
pub use parse::{ConfigError, ConfigErrors, check_cron, parse_config};
pub use store::{DATABASE_URL_ENV, StoreBackend};

/// The configuration the repository ships, built into the binary for `floorwatch demo`.
pub const EMBEDDED: &str = include_str!("../../../alerts.toml");

/// Reads and validates a configuration file.
pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let fail = |line: usize, column: usize, message: String| {
        ConfigErrors(vec![ConfigError {
            file: name.clone(),
            line,
            column,
            message,
        }])
    };
    let bytes =
        std::fs::read(path).map_err(|e| fail(0, 0, format!("cannot read the file: {e}")))?;
    let src = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        let (line, column) = line_column(bytes, bad);
        fail(
            line,
            column,
            format!(
                "the file is not UTF-8: byte 0x{:02X} cannot start or continue a character",
                bytes[bad]
            ),
        )
    })?;
    parse_config(&src, &name, path.parent())
}

/// Line and column (1-based, the column in bytes) of byte `offset` of `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// Milliseconds: the engine's unit of time and duration.
pub type Millis = i64;

#[derive(Debug, Clone)]
pub struct Config {
    pub daemon: DaemonSettings,
    pub complaints: ComplaintSettings,
    pub schedules: Vec<ScheduleSpec>,
    pub queues: Vec<QueueProfile>,
    pub webhooks: Vec<Webhook>,
    pub smtp: Option<Smtp>,
    pub emails: Vec<EmailList>,
    pub oncall: Vec<OnCallSchedule>,
    pub escalations: Vec<EscalationPolicy>,
    pub maintenance: Vec<Maintenance>,
    pub drills: Vec<Drill>,
    pub delivery: DeliverySettings,
    pub live: LiveSettings,
    pub feeds: FeedSettings,
    pub heartbeats: Vec<OutwardHeartbeat>,
    pub store: StoreBackend,
    pub rules: Vec<Rule>,
    pub tests: Vec<ConfigTest>,
    /// `secret_env` variables that are not set, located: `check` warns, `run` refuses to start
    /// (see `require_secrets`), so a CI job can check a configuration without the secrets.
    pub unset_secrets: Vec<ConfigError>,
}

impl Config {
    /// The configuration as a running daemon needs it: every secret set.
    pub fn require_secrets(self) -> Result<Config, ConfigErrors> {
        if self.unset_secrets.is_empty() {
            Ok(self)
        } else {
            Err(ConfigErrors(self.unset_secrets))
        }
    }
}

/// A webhook receiver: a chat room or any HTTP endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    pub format: WebhookFormat,
    /// The language people read its messages in.
    pub language: Language,
    /// The HMAC-SHA256 signing secret, read from the environment variable `secret_env` names.
    pub secret: Option<String>,
    pub timeout: Millis,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Floorwatch's own JSON (documented in the README).
    Generic,
    Slack,
    /// Teams Workflows: an Adaptive Card.
    Teams,
    /// The retired Office 365 connectors: a MessageCard.
    TeamsConnector,
    DingTalk,
    WeCom,
    Feishu,
}

impl WebhookFormat {
    pub const NAMES: &'static [&'static str] = &[
        "generic",
        "slack",
        "teams",
        "teams-connector",
        "dingtalk",
        "wecom",
        "feishu",
    ];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "generic" => Self::Generic,
            "slack" => Self::Slack,
            "teams" => Self::Teams,
            "teams-connector" => Self::TeamsConnector,
            "dingtalk" => Self::DingTalk,
            "wecom" => Self::WeCom,
            "feishu" => Self::Feishu,
            _ => return None,
        })
    }
}

/// The mail server pages are sent through.
#[derive(Debug, Clone, PartialEq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub from: String,
    /// Credentials, read from the environment variables `username_env` and `password_env` name.
    pub credentials: Option<(String, String)>,
    /// Connections to the server open at once, pooled between pages.
    pub max_connections: usize,
    /// The limit of one attempt, from connecting to the server's answer to the message.
    pub timeout: Millis,
    /// How long the acknowledge link in a page stays valid.
    pub ack_link_valid: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Plain, upgraded with STARTTLS (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Recipients of e-mail pages, in one language.
#[derive(Debug, Clone)]
pub struct EmailList {
    pub name: String,
    pub to: Vec<String>,
    pub language: Language,
}

/// The language of a page.
pub use floorwatch_protocol::Language;

/// A rotation: each `handover` (cron) passes duty to the next person; `people[0]` was on
/// duty at `start`.
#[derive(Debug, Clone)]
pub struct OnCallSchedule {
    pub name: String,
    pub timezone: chrono_tz::Tz,
    pub handover: cron::Schedule,
    pub start: Millis,
    pub people: Vec<Person>,
    pub language: Language,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// Something to notify: `webhook:NAME`, `email:NAME` or `oncall:NAME` (whoever holds the
/// schedule when the page is decided, by e-mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Webhook(usize),
    Email(usize),
    OnCall(usize),
}

impl Target {
    /// The target by name, as pages, the outbox and timelines know it.
    pub fn name(self, cfg: &Config) -> floorwatch_protocol::PageTarget {
        use floorwatch_protocol::{PageTarget, TargetKind};
        match self {
            Target::Webhook(i) => PageTarget::new(TargetKind::Webhook, &cfg.webhooks[i].name),
            Target::Email(i) => PageTarget::new(TargetKind::Email, &cfg.emails[i].name),
            Target::OnCall(i) => PageTarget::new(TargetKind::OnCall, &cfg.oncall[i].name),
        }
    }
}

/// Ordered levels of people to notify while nobody acknowledges.
#[derive(Debug, Clone)]
pub struct EscalationPolicy {
    pub name: String,
    /// Incidents of these severities follow this policy unless their rule names another.
    pub severities: Vec<Severity>,
    pub levels: Vec<EscalationLevel>,
    /// After the last level, start again from the first while still unacknowledged.
    pub repeat: bool,
}

#[derive(Debug, Clone)]
pub struct EscalationLevel {
    pub notify: Vec<Target>,
    /// How long an unacknowledged incident waits at this level before the next.
    pub wait: Millis,
}

/// A recurring maintenance window: while its schedule is open, incidents of matching rules
/// and scopes page nobody.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub name: String,
    /// Index into `Config::schedules`.
    pub schedule: usize,
    /// Scope globs (queues or complaint groups); empty for all.
    pub scopes: Vec<String>,
    /// Rule globs; empty for all.
    pub rules: Vec<String>,
}

/// A rehearsal of a crisis: an incident marked as a drill, paged through the real escalation
/// path, on demand (`floorwatch drill NAME`) or on a cron schedule.
#[derive(Debug, Clone)]
pub struct Drill {
    pub name: String,
    pub title: String,
    pub scope: String,
    pub severity: Severity,
    /// Index into `Config::escalations` (default: by severity).
    pub escalation: Option<usize>,
    /// When to run it by itself (in the daemon's time zone).
    pub cron: Option<cron::Schedule>,
    /// It resolves by itself this long after it opened.
    pub length: Millis,
    /// In `floorwatch demo`, the simulator cuts the feed of the drill's scope (a queue) while
    /// the drill runs: the floor rehearses a blind board.
    pub stop_feed: bool,
}

/// How the outbox retries.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// A notification not delivered this long after it was written becomes a dead letter.
    pub deadline: Millis,
    pub first_retry: Millis,
    pub max_backoff: Millis,
    /// A target whose every attempt failed for this long raises its own incident.
    pub unhealthy_after: Millis,
}

/// The live stream to wall-boards and `floorwatch tail` (`GET /api/v1/live`).
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// At most one frame per client this often; changes in between are coalesced into one delta.
    pub frame_interval: Millis,
    /// A frame at least this often, so a board can tell a quiet floor from a dead link.
    pub heartbeat: Millis,
    /// Trend lines: one point per step, kept over the window.
    pub trend_step: Millis,
    pub trend_window: Millis,
    /// Frames a client may fall behind before it is cut back to a fresh snapshot.
    pub buffer: u64,
    /// A client whose connection has not taken one frame in this long is disconnected.
    pub send_timeout: Millis,
    /// Viewers on this machine (127.0.0.1, ::1) need no token.
    pub open_on_loopback: bool,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            frame_interval: 250,
            heartbeat: 2_000,
            trend_step: 30_000,
            trend_window: 30 * 60_000,
            buffer: 32,
            send_timeout: 30_000,
            open_on_loopback: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DaemonSettings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: String,
    pub timezone: Tz,
    /// How often the engine re-evaluates rules without new events (timeouts, holds, ageing waits).
    pub tick: Millis,
    /// A queue reading from the ACD older than this gives way to figures derived from contacts.
    pub snapshot_stale_after: Millis,
    /// Events stamped further ahead of the daemon's clock than this are refused.
    pub max_future_skew: Millis,
    /// Incidents opening within this of a situation's latest opening join it (one page).
    pub group_window: Millis,
    pub limits: Limits,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_queues: usize,
    pub max_categories: usize,
    pub max_open_contacts: usize,
}

#[derive(Debug, Clone)]
pub struct ComplaintSettings {
    /// Handling deadline per grade, indexed by `Grade as usize` (general, key, urgent).
    pub deadlines: [Millis; 3],
}

impl ComplaintSettings {
    pub fn deadline(&self, grade: Grade) -> Millis {
        self.deadlines[grade as usize]
    }
}

/// A named set of recurring time windows (cron start + length) in a time zone, less holidays.
/// Business hours, threshold schedules and maintenance windows are all schedules.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub name: String,
    pub timezone: Tz,
    pub windows: Vec<CronWindow>,
    pub holidays: Vec<chrono::NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct CronWindow {
    pub cron: cron::Schedule,
    pub length: Millis,
}

/// Settings for the queues whose names match `pattern` (a name or a glob with `*` and `?`).
/// The first matching `[[queue]]` wins.
#[derive(Debug, Clone)]
pub struct QueueProfile {
    pub pattern: String,
    pub channel: Channel,
    pub service_level_target: f64,
    pub service_level_threshold: Millis,
    pub service_level_formula: SlFormula,
    /// Length of the sliding window for service level, ASA, abandonment and AHT.
    pub window: Millis,
    /// Contacts abandoned sooner than this are not counted against the service level.
    pub short_abandon: Millis,
    pub response: ResponseStandards,
}

/// How the service level is computed from the window's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlFormula {
    /// answered within T / (answered + abandoned after the short-abandon grace). The default.
    ExcludeShortAbandons,
    /// answered within T / (answered + abandoned after T).
    AbandonsAfterThreshold,
    /// answered within T / (answered + all abandoned).
    AllAbandons,
    /// answered within T / answered.
    AnsweredOnly,
}

impl SlFormula {
    pub const NAMES: &'static [&'static str] = &[
        "exclude_short_abandons",
        "abandons_after_threshold",
        "all_abandons",
        "answered_only",
    ];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "exclude_short_abandons" => Self::ExcludeShortAbandons,
            "abandons_after_threshold" => Self::AbandonsAfterThreshold,
            "all_abandons" => Self::AllAbandons,
            "answered_only" => Self::AnsweredOnly,
            _ => return None,
        })
    }
}

/// The three per-contact clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clock {
    /// From arrival to the first agent reply.
    First = 0,
    /// From a customer's reply to the agent's next reply.
    Next = 1,
    /// From arrival to resolution (unresolved issues followed up within 24 h).
    FollowUp = 2,
}

impl Clock {
    pub const ALL: [Clock; 3] = [Clock::First, Clock::Next, Clock::FollowUp];
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::First => "first",
            Clock::Next => "next",
            Clock::FollowUp => "follow_up",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn describe(self) -> &'static str {
        match self {
            Clock::First => "first response",
            Clock::Next => "next response",
            Clock::FollowUp => "follow-up",
        }
    }
}

/// Response standards of a queue: a limit per clock, optionally per priority, measured on a
/// business-hours schedule when one is named.
#[derive(Debug, Clone, Default)]
pub struct ResponseStandards {
    /// `[clock][priority]`: the limit, if the queue has one.
    pub limits: [[Option<Millis>; 4]; 3],
    /// Fraction of a limit after which a contact counts as approaching breach.
    pub approaching: f64,
    /// Index into `Config::schedules`.
    pub calendar: Option<usize>,
}

impl ResponseStandards {
    pub fn limit(&self, clock: Clock, priority: Priority) -> Option<Millis> {
        self.limits[clock as usize][priority as usize]
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub description: Option<String>,
    pub kind: RuleKind,
    /// Queue names or globs; empty means every queue.
    pub queues: Vec<String>,
    pub channels: Vec<Channel>,
    pub hold: Millis,
    pub clear_hold: Millis,
    pub cooldown: Millis,
    /// Index into `Config::escalations`: the policy this rule's incidents follow.
    pub escalation: Option<usize>,
    /// Index into `Config::schedules`: the rule is judged only while this schedule is open
    /// (outside it, it is quiet and what it had open clears).
    pub active: Option<usize>,
    /// What to do first, shown in its pages, on the incident page and in the review.
    pub runbook: Option<floorwatch_protocol::Said>,
}

impl Rule {
    pub fn matches_queue(&self, name: &str, channel: Channel) -> bool {
        self.kind.watches_queues()
            && (self.queues.is_empty() || self.queues.iter().any(|p| glob_match(p, name)))
            && (self.channels.is_empty() || self.channels.contains(&channel))
    }

    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

/// A test carried in the config: given these events, expect these incidents.
#[derive(Debug, Clone)]
pub struct ConfigTest {
    pub name: String,
    /// NDJSON, inline or read from a file next to alerts.toml.
    pub events: String,
    /// Where the events came from (for error messages): `file:line`.
    pub origin: String,
    /// Evaluate at this time (default: a tick after the last event).
    pub at: Option<Millis>,
    pub expect: Vec<Expectation>,
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub rule: String,
    pub scope: String,
    pub severity: Option<Severity>,
    /// `Some(true)`: still open at the end; `Some(false)`: resolved by then; `None`: either.
    pub open: Option<bool>,
}

impl Config {
    pub fn queue_profile(&self, queue: &str) -> Option<usize> {
        self.queues
            .iter()
            .position(|q| glob_match(&q.pattern, queue))
    }

    /// The escalation policy of an incident of `rule` at `severity`: the rule's own, else the
    /// first whose severities include it.
    pub fn escalation_for(&self, rule: usize, severity: Severity) -> Option<usize> {
        self.rules.get(rule).and_then(|r| r.escalation).or_else(|| {
            self.escalations
                .iter()
                .position(|e| e.severities.contains(&severity))
        })
    }

    pub fn schedule(&self, name: &str) -> Option<usize> {
        self.schedules.iter().position(|s| s.name == name)
    }

    /// The longest window any figure looks back over: older events are refused.
    pub fn longest_window(&self) -> Millis {
        let queues = self.queues.iter().map(|q| q.window);
        let rules = self.rules.iter().map(|r| r.kind.window().unwrap_or(0));
        queues.chain(rules).max().unwrap_or(0).max(60_000)
    }

    /// How far back state reaches: open contacts' clocks and complaint deadlines as well as
    /// windows. The ingest journal is replayed over this span after a restart.
    pub fn state_horizon(&self) -> Millis {
        let clocks = self
            .queues
            .iter()
            .flat_map(|q| q.response.limits.iter().flatten().flatten().copied());
        let deadlines = self.complaints.deadlines.iter().copied();
        let rule_deadlines = self.rules.iter().filter_map(|r| match &r.kind {
            RuleKind::ComplaintDeadline(d) => d.deadline,
            _ => None,
        });
        // Clocks on business hours can span nights and weekends.
        let calendar_slack = 3 * 24 * 3_600_000;
        clocks
            .chain(deadlines)
            .chain(rule_deadlines)
            .max()
            .unwrap_or(0)
            .saturating_add(calendar_slack)
            .max(self.longest_window())
    }
}

pub use floorwatch_protocol::glob_match;

#[cfg(test)]
mod config_errors;
