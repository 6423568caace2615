//! Types shared by the Floorwatch daemon and everything that talks to it: the ingest events, the
//! HTTP API's answers, and (later) the live stream. Plain serde types only, so this crate also builds
//! for `wasm32-unknown-unknown` for the wall-board.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod board;
pub mod live;
pub mod plot;
pub use board::{
    ChartMark, ChartSeries, ComplaintBoard, ComplaintCount, CountPoint, FirstResponse,
    GradeDeadlines, IncidentChart, PredictedLevel,
};
pub use live::{
    LiveDelta, LiveFrame, LiveSnapshot, LiveState, QueuePoint, SequenceGap, Situation, Trend,
    TrendPoint, situations, sort_worst_first,
};

pub type Timestamp = DateTime<Utc>;

/// Matches `name` against a pattern with `*` (any run) and `?` (any one character).
/// Used for queue names everywhere: alerts.toml, silences, the wall-board's queue filter.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Text made safe to place in HTML or SVG, as element content or as a quoted attribute value.
/// Used by every page built as text: the board's views, its charts, e-mails, the acknowledge page.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A language a person reads pages and incidents in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Language {
    #[serde(rename = "en")]
    English,
    /// Simplified Chinese.
    #[serde(rename = "zh")]
    Chinese,
}

/// Something said in both languages: titles written for the floor, a rule's runbook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Said {
    pub en: String,
    pub zh: String,
}

impl Said {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Said {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The same words in both languages (a URL, a name).
    pub fn both(s: impl Into<String>) -> Self {
        let s = s.into();
        Said {
            zh: s.clone(),
            en: s,
        }
    }

    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::English => &self.en,
            Language::Chinese => &self.zh,
        }
    }
}

/// How bad an incident is. Ordered: `Info < Warning < Critical < Crisis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
    Crisis,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Critical,
        Severity::Crisis,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Crisis => "crisis",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an incident is in its life. (A rule that breaches but has not held long enough is
/// "pending" inside the engine; no incident exists for it yet.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Firing,
    Acknowledged,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Firing => "firing",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Firing, Self::Acknowledged, Self::Resolved]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        self != IncidentStatus::Resolved
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            /// The accepted words, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// The medium a contact or complaint came through.
    Channel { Phone = "phone", Chat = "chat", Email = "email", Social = "social", Other = "other" }
);
word_enum!(
    /// A contact's priority, which selects its response standard.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);
word_enum!(
    /// Complaint grades (一般 / 重点 / 紧急), each with its own handling deadline.
    Grade { General = "general", Key = "key", Urgent = "urgent" }
);
word_enum!(
    /// What happened to a contact.
    ContactStep {
        Arrived = "arrived",
        Answered = "answered",
        Abandoned = "abandoned",
        AgentReplied = "agent_replied",
        CustomerReplied = "customer_replied",
        Resolved = "resolved",
    }
);
word_enum!(
    /// The kinds of page targets.
    TargetKind { Webhook = "webhook", Email = "email", OnCall = "oncall" }
);
word_enum!(
    /// Why a page was sent: opened; escalated (the next level of the policy, nobody having
    /// acknowledged); raised (worse than when it was paged); resolved; test (`send-test`).
    PageReason {
        Opened = "opened",
        Escalated = "escalated",
        Raised = "raised",
        Resolved = "resolved",
        Test = "test",
    }
);
word_enum!(
    /// What happened to a complaint. `opened` is the default when an event omits it.
    ComplaintStep { Opened = "opened", Handled = "handled" }
);

/// One ingest event, as a client writes it (`POST /api/v1/events`). The daemon decodes the wire
/// form itself (for speed and for per-field errors); this type is for clients that produce events:
/// the simulator, tests, load generators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Contact(ContactEvent),
    Queue(QueueEvent),
    Complaint(ComplaintEvent),
    Heartbeat(HeartbeatEvent),
}

impl Event {
    pub fn at(&self) -> Timestamp {
        match self {
            Event::Contact(e) => e.at,
            Event::Queue(e) => e.at,
            Event::Complaint(e) => e.at,
            Event::Heartbeat(e) => e.at,
        }
    }

    /// The source the event names, if any.
    pub fn source(&self) -> Option<&str> {
        match self {
            Event::Contact(e) => e.source.as_deref(),
            Event::Queue(e) => e.source.as_deref(),
            Event::Complaint(e) => e.source.as_deref(),
            Event::Heartbeat(e) => e.source.as_deref(),
        }
    }
}

/// A source saying it is alive while it has nothing to report: about one queue, or (no queue)
/// every queue it has sent events about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatEvent {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactEvent {
    pub id: String,
    pub event: ContactStep,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Where the event came from (an ACD, a chat platform, a CRM); the ingest token's name if
    /// absent. A source that stops talking makes its queues stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A point-in-time reading of a queue from the ACD: it overrides what the daemon derives from
/// contact events while it is fresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueEvent {
    pub queue: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_wait_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_available: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_busy: Option<u32>,
    /// Where the event came from (an ACD, a chat platform, a CRM); the ingest token's name if
    /// absent. A source that stops talking makes its queues stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplaintEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ComplaintStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where the event came from (an ACD, a chat platform, a CRM); the ingest token's name if
    /// absent. A source that stops talking makes its queues stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The answer to an ingest request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    /// Events taken and applied.
    pub accepted: u64,
    /// Events already seen (same identity): harmless, not applied twice.
    pub duplicates: u64,
    /// Events refused, each with where and why.
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    /// 1-based line of the body where the event starts.
    pub line: u64,
    /// 0-based position of the event in the batch.
    pub index: u64,
    /// The offending field, where one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub error: String,
}

/// Named metric values: the figures that made a rule fire, peak or clear.
pub type Values = BTreeMap<String, f64>;

/// An incident: one per rule and scope (a queue, or a complaint group) at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: u64,
    pub rule: String,
    /// The rule's kind (queue_depth, service_level, ...).
    pub kind: String,
    /// A queue name, or a complaint group such as `category:billing`.
    pub scope: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    /// What is wrong, in English; `title_zh` says it in Chinese (absent on incidents stored by
    /// older versions and on the simulator's).
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_zh: Option<String>,
    /// The first steps from the floor's emergency plan, from the rule's `runbook` when the
    /// incident opened: a URL or a short text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<Said>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// Part of the situation led by this incident (one cause, one page): recorded on the lead's
    /// timeline and paged through it, never on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub situation: Option<u64>,
    /// How often a flapping rule reopened this incident inside its cool-down.
    #[serde(default)]
    pub reopened: u32,
    /// The metric values when it opened, at its worst, and when it cleared.
    pub values_at_open: Values,
    pub values_at_peak: Values,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_at_close: Option<Values>,
    /// A rehearsal (演练): it runs the real escalation path, and is marked as a drill everywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
    /// What keeps it from paging (a silence or a maintenance window), while one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced_by: Option<String>,
    /// Where the incident stands in its escalation policy, if one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationState>,
    /// The labels of the alert that opened it, for an incident an `[[route]]` opened from
    /// Prometheus, Grafana or Alertmanager; empty for Floorwatch's own rules.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Incident {
    /// A label as silences and the Alertmanager API read it: the alert's own labels first, then
    /// `alertname` and `rule` (the rule or route), `scope` and `queue` (the scope), `severity`
    /// and `kind`.
    pub fn label(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.labels.get(name) {
            return Some(v);
        }
        match name {
            "alertname" | "rule" => Some(&self.rule),
            "scope" | "queue" => Some(&self.scope),
            "severity" => Some(self.severity.as_str()),
            "kind" => Some(&self.kind),
            _ => None,
        }
    }

    /// The title in `lang` (English when it was not written in `lang`).
    pub fn title_in(&self, lang: Language) -> &str {
        match lang {
            Language::Chinese => self.title_zh.as_deref().unwrap_or(&self.title),
            Language::English => &self.title,
        }
    }

    /// Sets the title in both languages.
    pub fn set_title(&mut self, title: &Said) {
        self.title.clone_from(&title.en);
        self.title_zh = Some(title.zh.clone());
    }

    /// A new, firing incident with nothing happened to it yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        rule: String,
        kind: String,
        scope: String,
        severity: Severity,
        title: String,
        at: DateTime<Utc>,
        values: Values,
    ) -> Self {
        Incident {
            id,
            rule,
            kind,
            scope,
            severity,
            status: IncidentStatus::Firing,
            title,
            title_zh: None,
            runbook: None,
            opened_at: at,
            updated_at: at,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            situation: None,
            reopened: 0,
            values_at_peak: values.clone(),
            peak_at: (!values.is_empty()).then_some(at),
            values_at_open: values,
            values_at_close: None,
            escalation: None,
            silenced_by: None,
            drill: false,
            labels: BTreeMap::new(),
        }
    }
}

/// An incident's climb through its escalation policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscalationState {
    pub policy: String,
    /// The level reached, from 1.
    pub level: u32,
    /// When the next level is notified if nobody acknowledges; `None` once the climb stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<DateTime<Utc>>,
    /// Every target told so far: they hear of the resolution too.
    #[serde(default)]
    pub told: Vec<PageTarget>,
}

/// A silence: incidents it matches are recorded and shown, marked silenced, but page nobody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Silence {
    pub id: u64,
    /// Rule name, a glob (`*` for any).
    pub rule: String,
    /// Scope (queue or complaint group), a glob.
    pub scope: String,
    /// Only these severities (all when empty).
    #[serde(default)]
    pub severities: Vec<Severity>,
    /// Label matchers, all of which must hold (Alertmanager's and amtool's form of a silence):
    /// over an alert's own labels, and `rule`, `alertname`, `scope`, `queue` and `severity`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<Matcher>,
    pub author: String,
    pub comment: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// One label matcher: `name="value"` (`is_equal`, not `is_regex`), `name!="value"`,
/// `name=~"regex"` or `name!~"regex"`. A regex matches the whole value; a missing label reads as
/// the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// The operator as written: `=`, `!=`, `=~` or `!~`.
    pub fn op(&self) -> &'static str {
        match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op(), self.value)
    }
}

/// A temporary change of who is on call: `person` holds `schedule` from `from` until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnCallOverride {
    pub id: u64,
    pub schedule: String,
    pub person: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub author: String,
}

/// Who holds an on-call schedule now, until when, and who is next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnCallStatus {
    pub schedule: String,
    pub now: String,
    /// The next hand-over (or the end of the override in force).
    pub until: Option<DateTime<Utc>>,
    pub next: String,
    /// Set when `now` holds the schedule through an override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_id: Option<u64>,
}

/// Where a notification is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Failed for good (a final error, or retried past its deadline): a dead letter.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One notification in the durable outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: u64,
    pub incident_id: u64,
    pub target: PageTarget,
    pub reason: PageReason,
    /// Idempotency key: the `webhook-id` header, so a receiver can drop a repeat.
    pub key: DeliveryKey,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Where a page goes: a webhook, an e-mail list or an on-call rota, by name. Written
/// `webhook:NAME` in alerts.toml and in JSON; the store keeps kind and name as columns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageTarget {
    pub kind: TargetKind,
    pub name: String,
}

impl PageTarget {
    pub fn new(kind: TargetKind, name: impl Into<String>) -> Self {
        PageTarget {
            kind,
            name: name.into(),
        }
    }

    /// `webhook:NAME` as written in alerts.toml and JSON.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, name) = s.split_once(':')?;
        Some(PageTarget::new(TargetKind::parse(kind)?, name)).filter(|t| !t.name.is_empty())
    }
}

impl fmt::Display for PageTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// Written as a string in the API's document.
#[cfg(feature = "openapi")]
macro_rules! string_schema {
    ($($t:ty),*) => {$(
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }
        impl utoipa::ToSchema for $t {}
    )*};
}
#[cfg(feature = "openapi")]
string_schema!(PageTarget, DeliveryKey);

impl Serialize for PageTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PageTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PageTarget::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "\"{s}\" is not a target (webhook:NAME, email:NAME or oncall:NAME)"
            ))
        })
    }
}

/// A page's idempotency key: one per timeline entry that decided it and target of that
/// decision, stable across retries and restarts. Sent as `fw-{incident}-{seq}-{index}` (the
/// `webhook-id` header, the e-mail's Message-ID); stored as its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryKey {
    pub incident: u64,
    /// The timeline entry that decided the page.
    pub seq: u32,
    /// The target's place among that decision's targets.
    pub index: u32,
}

impl DeliveryKey {
    /// The decision this page belongs to (the same for all its targets).
    pub fn decision(self) -> (u64, u32) {
        (self.incident, self.seq)
    }
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fw-{}-{}-{}", self.incident, self.seq, self.index)
    }
}

impl Serialize for DeliveryKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// For clients reading the API; the daemon keeps the parts and never reads a key back.
impl<'de> Deserialize<'de> for DeliveryKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("\"{s}\" is not a delivery key"));
        let mut parts = s.strip_prefix("fw-").ok_or_else(bad)?.split('-');
        let mut next = || {
            parts
                .next()
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or_else(bad)
        };
        let (incident, seq, index) = (next()?, next()?, next()?);
        Ok(DeliveryKey {
            incident,
            seq: u32::try_from(seq).map_err(|_| bad())?,
            index: u32::try_from(index).map_err(|_| bad())?,
        })
    }
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Opened,
    SeverityRaised,
    SeverityLowered,
    Clearing,
    Resolved,
    Reopened,
    Acknowledged,
    Unacknowledged,
    Note,
    /// Held back by a crisis, and released: written by earlier versions (situations replace
    /// them), kept so their timelines still read.
    Inhibited,
    Released,
    /// An incident joined a situation (on the member: whose; on the lead: who joined), or took
    /// over as its lead.
    Joined,
    /// The escalation policy notified a level (or told everyone of a change).
    Escalated,
    Delivered,
    DeliveryRetry,
    DeliveryFailed,
}

impl TimelineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Opened => "opened",
            TimelineKind::SeverityRaised => "severity_raised",
            TimelineKind::SeverityLowered => "severity_lowered",
            TimelineKind::Clearing => "clearing",
            TimelineKind::Resolved => "resolved",
            TimelineKind::Reopened => "reopened",
            TimelineKind::Acknowledged => "acknowledged",
            TimelineKind::Unacknowledged => "unacknowledged",
            TimelineKind::Note => "note",
            TimelineKind::Inhibited => "inhibited",
            TimelineKind::Released => "released",
            TimelineKind::Joined => "joined",
            TimelineKind::Escalated => "escalated",
            TimelineKind::Delivered => "delivered",
            TimelineKind::DeliveryRetry => "delivery_retry",
            TimelineKind::DeliveryFailed => "delivery_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use TimelineKind::*;
        [
            Opened,
            SeverityRaised,
            SeverityLowered,
            Clearing,
            Resolved,
            Reopened,
            Acknowledged,
            Unacknowledged,
            Note,
            Inhibited,
            Released,
            Joined,
            Escalated,
            Delivered,
            DeliveryRetry,
            DeliveryFailed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of an incident's timeline: what happened, when, who did it, and the figures behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub incident_id: u64,
    /// Position in the incident's timeline, from 1.
    pub seq: u32,
    pub at: DateTime<Utc>,
    /// `engine` for decisions of the rules, otherwise the person or token that acted.
    pub actor: String,
    pub kind: TimelineKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: Values,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
}

/// The live figures of one queue, over its sliding window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueMetrics {
    pub queue: String,
    pub channel: Option<Channel>,
    pub waiting: u32,
    pub longest_wait_s: f64,
    /// Answered within the threshold over the window, 0..=1; `None` below the minimum volume.
    pub service_level: Option<f64>,
    pub service_level_target: f64,
    pub service_level_threshold_s: f64,
    pub asa_s: Option<f64>,
    pub abandonment_rate: Option<f64>,
    pub aht_s: Option<f64>,
    pub agents_available: Option<u32>,
    pub agents_busy: Option<u32>,
    /// Agents needed to meet the service-level target at the current arrival rate (Erlang C).
    pub agents_required: Option<u32>,
    pub offered: u32,
    pub answered: u32,
    pub abandoned: u32,
    pub open_contacts: u32,
    /// The window these figures cover, in seconds.
    pub window_s: f64,
    /// How long contacts have waited with nobody answered (since the last answer, or since the
    /// oldest waiting contact arrived if later); 0 when nobody waits. A stalled queue.
    #[serde(default)]
    pub unanswered_for_s: f64,
    /// Set while a source that feeds this queue has gone silent: the figures are the last ones
    /// it gave and nothing is judged on them (neither green nor red).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<StaleFeed>,
    /// The first reply's standard, on a queue with a `first` response limit (chat, e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<FirstResponse>,
    /// What a `predicted_service_level` rule on this queue expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<PredictedLevel>,
}

/// The daemon's own outward links: its heartbeats to outside dead man's switches and the
/// targets it delivers pages to. A silent failure of either is what a crisis review finds too late.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutwardHealth {
    pub heartbeats: Vec<LinkHealth>,
    pub targets: Vec<LinkHealth>,
}

impl OutwardHealth {
    /// The links failing now.
    pub fn failing(&self) -> impl Iterator<Item = &LinkHealth> {
        self.heartbeats
            .iter()
            .chain(&self.targets)
            .filter(|l| l.failing_since.is_some())
    }
}

/// One outward link's recent record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkHealth {
    /// The heartbeat's name, or the target as written in escalation policies
    /// (`webhook:floor-chat`, `email:directors`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok: Option<DateTime<Utc>>,
    /// Since when every attempt failed (`None`: the last one went through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Attempts and failures over the last hour.
    pub attempts_1h: u32,
    pub failures_1h: u32,
}

/// A source that usually talks about a queue and has been silent longer than its pace allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaleFeed {
    /// The event source (`source` field, or the ingest token's name).
    pub source: String,
    /// Its last event or heartbeat for the queue.
    pub last_seen: DateTime<Utc>,
    /// Silent this long, in seconds (since its last event, or since the daemon restarted if
    /// that is later).
    pub silent_s: f64,
    /// The silence it was judged stale after, in seconds (from its usual pace).
    pub after_s: f64,
}

/// A figure of a queue that a rule can watch, by its name in alerts.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Waiting,
    LongestWaitS,
    ServiceLevel,
    AsaS,
    AbandonmentRate,
    AhtS,
    AgentsAvailable,
    AgentsBusy,
    AgentsRequired,
    AgentsShort,
    /// Agents staffed over agents required (1 while agents are free and nobody waits).
    StaffingRatio,
    UnansweredForS,
    Offered,
    Answered,
    Abandoned,
    OpenContacts,
}

impl Metric {
    pub const ALL: [Metric; 16] = [
        Metric::Waiting,
        Metric::LongestWaitS,
        Metric::ServiceLevel,
        Metric::AsaS,
        Metric::AbandonmentRate,
        Metric::AhtS,
        Metric::AgentsAvailable,
        Metric::AgentsBusy,
        Metric::AgentsRequired,
        Metric::AgentsShort,
        Metric::StaffingRatio,
        Metric::UnansweredForS,
        Metric::Offered,
        Metric::Answered,
        Metric::Abandoned,
        Metric::OpenContacts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Waiting => "waiting",
            Metric::LongestWaitS => "longest_wait_s",
            Metric::ServiceLevel => "service_level",
            Metric::AsaS => "asa_s",
            Metric::AbandonmentRate => "abandonment_rate",
            Metric::AhtS => "aht_s",
            Metric::AgentsAvailable => "agents_available",
            Metric::AgentsBusy => "agents_busy",
            Metric::AgentsRequired => "agents_required",
            Metric::AgentsShort => "agents_short",
            Metric::StaffingRatio => "staffing_ratio",
            Metric::UnansweredForS => "unanswered_for_s",
            Metric::Offered => "offered",
            Metric::Answered => "answered",
            Metric::Abandoned => "abandoned",
            Metric::OpenContacts => "open_contacts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Every name, for error messages.
    pub fn expected() -> String {
        Self::ALL.map(Metric::as_str).join(", ")
    }

    /// A share between 0 and 1.
    pub fn is_ratio(self) -> bool {
        matches!(self, Metric::ServiceLevel | Metric::AbandonmentRate)
    }

    /// An average or share over the window (or a model fed by one), meaningless with too few
    /// contacts in it.
    pub fn needs_volume(self) -> bool {
        matches!(
            self,
            Metric::ServiceLevel
                | Metric::AbandonmentRate
                | Metric::AsaS
                | Metric::AhtS
                | Metric::AgentsRequired
                | Metric::AgentsShort
                | Metric::StaffingRatio
        )
    }

    /// Derived from the Erlang C staffing model.
    pub fn needs_erlang(self) -> bool {
        matches!(
            self,
            Metric::AgentsRequired | Metric::AgentsShort | Metric::StaffingRatio
        )
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl QueueMetrics {
    /// One figure, if the queue has it now.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        Some(match metric {
            Metric::Waiting => self.waiting as f64,
            Metric::LongestWaitS => self.longest_wait_s,
            Metric::ServiceLevel => self.service_level?,
            Metric::AsaS => self.asa_s?,
            Metric::AbandonmentRate => self.abandonment_rate?,
            Metric::AhtS => self.aht_s?,
            Metric::AgentsAvailable => self.agents_available? as f64,
            Metric::AgentsBusy => self.agents_busy? as f64,
            Metric::AgentsRequired => self.agents_required? as f64,
            // Nobody is short while agents sit free and nobody waits, whatever the model says.
            Metric::AgentsShort => {
                let staffed = self.agents_available? + self.agents_busy?;
                if self.agents_available? > 0 && self.waiting == 0 {
                    0.0
                } else {
                    self.agents_required? as f64 - staffed as f64
                }
            }
            Metric::StaffingRatio => {
                let staffed = self.agents_available? + self.agents_busy?;
                if self.agents_available? > 0 && self.waiting == 0 {
                    1.0
                } else {
                    f64::from(staffed) / f64::from(self.agents_required?.max(1))
                }
            }
            Metric::UnansweredForS => self.unanswered_for_s,
            Metric::Offered => self.offered as f64,
            Metric::Answered => self.answered as f64,
            Metric::Abandoned => self.abandoned as f64,
            Metric::OpenContacts => self.open_contacts as f64,
        })
    }
}

/// The whole live state: what `GET /api/v1/state` answers and what the wall-board starts from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateSnapshot {
    pub at: Option<DateTime<Utc>>,
    pub queues: Vec<QueueMetrics>,
    pub incidents: Vec<Incident>,
    /// The daemon's outward links: heartbeats and delivery targets.
    #[serde(default)]
    pub health: OutwardHealth,
    /// The complaints panel.
    #[serde(default)]
    pub complaints: ComplaintBoard,
}

/// `GET /api/v1/cluster`: the nodes on one PostgreSQL database and who leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterStatus {
    /// The node that answered.
    pub node: String,
    /// Whether it leads now (decides incidents, delivers pages).
    pub leading: bool,
    /// The node whose lease is in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Grows with every new leader.
    pub epoch: i64,
    /// The newest row of the shared journal.
    pub journal_head: i64,
    /// The row the answering node has applied up to.
    pub applied: i64,
    /// Whether the answering node reaches the database.
    pub database: bool,
    pub nodes: Vec<ClusterNode>,
}

/// One node of a cluster, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterNode {
    pub name: String,
    pub url: String,
    pub seen_at: DateTime<Utc>,
    /// Reported within the lease's time.
    pub alive: bool,
    pub leader: bool,
    /// The journal row it has applied up to, and how far behind the head that is.
    pub applied: i64,
    pub lag: i64,
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_ingest_contract_shape() {
        let line = r#"{"type":"contact","id":"c-1","queue":"phone-general","channel":"phone","event":"arrived","at":"2026-11-23T09:00:00Z","priority":"normal"}"#;
        let e: Event = serde_json::from_str(line).unwrap();
        let Event::Contact(c) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (c.event, c.channel, c.priority),
            (
                ContactStep::Arrived,
                Some(Channel::Phone),
                Some(Priority::Normal)
            )
        );
        let back: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(back["type"], "contact");
        assert_eq!(back["event"], "arrived");
        let k: Event = serde_json::from_str(
            r#"{"type":"complaint","id":"k-1","at":"2026-11-23T09:00:00Z","grade":"urgent"}"#,
        )
        .unwrap();
        assert!(matches!(
            k,
            Event::Complaint(ComplaintEvent {
                grade: Some(Grade::Urgent),
                event: None,
                ..
            })
        ));
    }

    #[test]
    fn severities_order_and_metrics_by_name() {
        assert!(Severity::Info < Severity::Warning && Severity::Critical < Severity::Crisis);
        assert_eq!(Severity::parse("crisis"), Some(Severity::Crisis));
        let m = QueueMetrics {
            waiting: 7,
            agents_available: Some(2),
            agents_busy: Some(10),
            agents_required: Some(15),
            ..Default::default()
        };
        assert_eq!(m.get(Metric::Waiting), Some(7.0));
        assert_eq!(m.get(Metric::AgentsShort), Some(3.0));
        assert_eq!(m.get(Metric::StaffingRatio), Some(0.8));
        let idle = QueueMetrics {
            waiting: 0,
            ..m.clone()
        };
        assert_eq!(
            idle.get(Metric::AgentsShort),
            Some(0.0),
            "free agents, nobody waiting"
        );
        assert_eq!(m.get(Metric::ServiceLevel), None);
        assert!(
            Metric::ALL
                .into_iter()
                .all(|n| n.needs_volume() || m.get(n).is_some())
        );
        assert!(
            Metric::ALL
                .into_iter()
                .all(|n| Metric::parse(n.as_str()) == Some(n))
        );
    }
}

#[cfg(test)]
mod glob_tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("phone-*", "phone-general"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("chat-?", "chat-1"));
        assert!(!glob_match("chat-?", "chat-12"));
        assert!(!glob_match("phone-*", "chat-general"));
        assert!(glob_match("phone-general", "phone-general"));
        assert!(glob_match("*-vip-*", "phone-vip-cn"));
    }
}
