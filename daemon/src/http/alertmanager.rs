//! The Alertmanager API (v2), as Prometheus, Grafana and amtool use it, over Floorwatch's own
//! state: alerts in (`POST /api/v2/alerts`, and Alertmanager's own webhook at
//! `POST /api/v1/alertmanager`), the firing alerts and open incidents out as alerts and groups,
//! receivers and status. Silences are in `http::silences`. Shapes as in Alertmanager 0.25's
//! api/v2/openapi.yaml; errors are JSON strings, as its clients decode them.
//!
//! Alerts in become `alert` events on the ordinary ingest path (`Watch::ingest`), so they are
//! journaled, shared across a cluster and replayed after a restart like any event.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use floorwatch_protocol::Incident;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::auth::{Ingester, Viewer};
use super::{AppState, blocking};
use crate::engine::{Alert, Engine};
use crate::ingest::decode::Text;
use crate::matchers::{self, Compiled};

/// How long an alert posted without an end holds without a re-send (Alertmanager's
/// `resolve_timeout`).
pub const RESOLVE_TIMEOUT_MS: i64 = 5 * 60_000;
/// The version this API answers as, so amtool and Grafana take it for the Alertmanager whose
/// API it follows.
const API_VERSION: &str = "0.25.0";
/// Go's zero time: Alertmanager's "no end".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// An error as Alertmanager's clients read one: a JSON string.
pub struct AmErr(pub StatusCode, pub String);

impl IntoResponse for AmErr {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<super::ApiErr> for AmErr {
    fn from(e: super::ApiErr) -> Self {
        AmErr(e.0, e.1)
    }
}

pub type AmResult<T> = Result<T, AmErr>;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn ms(t: i64) -> String {
    rfc3339(DateTime::from_timestamp_millis(t).unwrap_or_default())
}

/// A time as a client sent it: `None` when absent, empty or Go's zero time (no time given).
fn given_time(field: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        None => Ok(None),
        Some(s) if s.is_empty() || s.starts_with("0001-01-01") => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.to_utc()))
            .map_err(|e| format!("`{field}` is not an RFC 3339 time: \"{s}\" ({e})")),
    }
}

/// Label or annotation pairs, borrowed from the body where they can be.
type Pairs<'a> = BTreeMap<Text<'a>, Text<'a>>;

/// An alert's `startsAt` and `endsAt` as given (see `given_time`).
type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn given_span(starts_at: Option<&str>, ends_at: Option<&str>) -> Result<Span, String> {
    Ok((
        given_time("startsAt", starts_at)?,
        given_time("endsAt", ends_at)?,
    ))
}

/// An alert as Prometheus and Grafana post it.
#[derive(Deserialize, ToSchema)]
pub struct PostableAlert<'a> {
    #[serde(borrow)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub labels: Pairs<'a>,
    #[serde(borrow, default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub annotations: Pairs<'a>,
    #[serde(rename = "startsAt", borrow, default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Cow<'a, str>>,
    #[serde(rename = "endsAt", borrow, default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Cow<'a, str>>,
    #[serde(rename = "generatorURL", borrow, default)]
    #[schema(value_type = Option<String>)]
    pub generator_url: Option<Cow<'a, str>>,
}

/// An alert as the ingest path takes it (`type = "alert"`).
#[derive(Serialize)]
struct AlertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    at: &'a str,
    labels: &'a Pairs<'a>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a Pairs<'a>,
    starts_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generator_url: Option<&'a str>,
    source: &'a str,
}

/// Alerts turned into ingest lines: the body, and for each line the alert's place in the
/// request; with what was wrong with the others. Every line names its source and the time it
/// came, so the journal keeps it as it is.
struct Lines {
    source: String,
    at: String,
    body: Vec<u8>,
    origin: Vec<usize>,
    refused: Vec<String>,
}

impl Lines {
    fn new(source: String, now: DateTime<Utc>) -> Self {
        Lines {
            source,
            at: rfc3339(now),
            body: Vec::new(),
            origin: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// Adds alert `i`, its times as RFC 3339 text. `ends_at` of `None` holds it until it is
    /// resolved.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        i: usize,
        mut labels: Pairs,
        annotations: &Pairs,
        starts_at: &str,
        ends_at: Option<&str>,
        generator_url: Option<&str>,
    ) {
        // As Alertmanager: a label with no value is no label.
        labels.retain(|_, v| !v.0.is_empty());
        let line = AlertLine {
            kind: "alert",
            at: &self.at,
            labels: &labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
            source: &self.source,
        };
        serde_json::to_writer(&mut self.body, &line).expect("an alert line serialises");
        self.body.push(b'\n');
        self.origin.push(i);
    }

    /// Takes the lines in; 200 when every alert was taken, else 400 naming each one refused
    /// (the valid ones are taken all the same).
    async fn ingest(self, s: &AppState) -> AmResult<Response> {
        let Lines {
            source,
            body,
            origin,
            mut refused,
            ..
        } = self;
        if !body.is_empty() {
            let watch = s.watch.clone();
            let report = blocking(move || watch.ingest(&source, &body))
                .await?
                .map_err(|e| AmErr::from(super::ApiErr::from(e)))?;
            for r in report.refused {
                let i = origin.get(r.index as usize).copied().unwrap_or(0);
                refused.push(format!("alert {i}: {}", r.error));
            }
        }
        if refused.is_empty() {
            Ok(StatusCode::OK.into_response())
        } else {
            refused.sort();
            Err(AmErr(StatusCode::BAD_REQUEST, refused.join("; ")))
        }
    }
}

/// `POST /api/v2/alerts`: Prometheus's and Grafana's alerts. Taking the same alert again
/// changes nothing but its end; an alert whose end passes without a re-send resolves.
#[utoipa::path(post, path = "/api/v2/alerts", tag = "alertmanager",
    request_body = Vec<PostableAlert>,
    responses((status = 200, description = "Every alert taken"),
        (status = 400, description = "Some alerts refused, each named; the others were taken", body = String)),
    security(("bearer" = ["ingest"])))]
pub async fn post_alerts(
    State(s): State<AppState>,
    Ingester(caller): Ingester,
    body: Bytes,
) -> AmResult<Response> {
    let elems: Vec<&RawValue> = serde_json::from_slice(&body).map_err(|e| {
        AmErr(
            StatusCode::BAD_REQUEST,
            format!("the body is not a JSON array of alerts: {e}"),
        )
    })?;
    let now = DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    let timeout = rfc3339(now + chrono::TimeDelta::milliseconds(RESOLVE_TIMEOUT_MS));
    // Alerts that name no source come from the token that sent them.
    let source = caller.unwrap_or_else(|| "alertmanager-api".to_string());
    let mut lines = Lines::new(source, now);
    for (i, raw) in elems.into_iter().enumerate() {
        let a: PostableAlert = match serde_json::from_str(raw.get()) {
            Ok(a) => a,
            Err(e) => {
                lines.refused.push(format!("alert {i}: {e}"));
                continue;
            }
        };
        let times = given_span(a.starts_at.as_deref(), a.ends_at.as_deref());
        let (starts_at, ends_at) = match times {
            Ok(t) => t,
            Err(e) => {
                lines.refused.push(format!("alert {i}: {e}"));
                continue;
            }
        };
        // Times given are passed on as written (they parse); a start not given is now, an end
        // not given the resolve timeout from now.
        let start_now;
        let starts_at = match starts_at {
            Some(_) => a.starts_at.as_deref().unwrap_or_default(),
            None => {
                start_now = lines.at.clone();
                &start_now
            }
        };
        let ends_at = match ends_at {
            Some(_) => a.ends_at.as_deref().unwrap_or_default(),
            None => &timeout,
        };
        lines.push(
            i,
            a.labels,
            &a.annotations,
            starts_at,
            Some(ends_at),
            a.generator_url.as_deref(),
        );
    }
    lines.ingest(&s).await
}

/// Alertmanager's webhook payload (version 4).
#[derive(Deserialize, ToSchema)]
pub struct WebhookMessage<'a> {
    pub version: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub status: String,
    #[serde(borrow)]
    pub alerts: Vec<WebhookAlert<'a>>,
    #[serde(default, rename = "groupKey")]
    pub group_key: String,
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookAlert<'a> {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(borrow)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub labels: Pairs<'a>,
    #[serde(borrow, default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub annotations: Pairs<'a>,
    #[serde(rename = "startsAt", default)]
    pub starts_at: Option<String>,
    #[serde(rename = "endsAt", default)]
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL", default)]
    pub generator_url: Option<String>,
}

/// `POST /api/v1/alertmanager`: an Alertmanager's webhook (version 4), for floors that keep
/// their Alertmanager and want Floorwatch's escalation and board. A firing alert holds until
/// Alertmanager says it is resolved (its receiver needs `send_resolved: true`).
#[utoipa::path(post, path = "/api/v1/alertmanager", tag = "alertmanager",
    request_body = WebhookMessage,
    responses((status = 200, description = "Every alert taken"),
        (status = 400, description = "The payload or some alerts refused, each named", body = String)),
    security(("bearer" = ["ingest"])))]
pub async fn webhook(
    State(s): State<AppState>,
    Ingester(caller): Ingester,
    body: Bytes,
) -> AmResult<Response> {
    let msg: WebhookMessage = serde_json::from_slice(&body).map_err(|e| {
        AmErr(
            StatusCode::BAD_REQUEST,
            format!("not an Alertmanager webhook message: {e}"),
        )
    })?;
    if msg.version != "4" {
        return Err(AmErr(
            StatusCode::BAD_REQUEST,
            format!(
                "webhook message version \"{}\"; this takes version \"4\"",
                msg.version
            ),
        ));
    }
    let now = DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    // Named by the token, else by the Alertmanager receiver that sent it (if that fits a name).
    let source = caller.unwrap_or_else(|| match msg.receiver.len() {
        1..=100 => format!("alertmanager:{}", msg.receiver),
        _ => "alertmanager".to_string(),
    });
    let mut lines = Lines::new(source, now);
    for (i, a) in msg.alerts.into_iter().enumerate() {
        let times = given_span(a.starts_at.as_deref(), a.ends_at.as_deref());
        let (starts_at, ends_at) = match times {
            Ok(t) => t,
            Err(e) => {
                lines.refused.push(format!("alert {i}: {e}"));
                continue;
            }
        };
        let ends_at = match a.status.as_str() {
            "firing" => None,
            // Resolved: it ended when Alertmanager says, and no later than now.
            "resolved" => Some(rfc3339(ends_at.unwrap_or(now).min(now))),
            other => {
                lines.refused.push(format!(
                    "alert {i}: status \"{other}\"; expected firing or resolved"
                ));
                continue;
            }
        };
        let starts_at = rfc3339(starts_at.unwrap_or(now));
        lines.push(
            i,
            a.labels,
            &a.annotations,
            &starts_at,
            ends_at.as_deref(),
            a.generator_url.as_deref(),
        );
    }
    lines.ingest(&s).await
}

// ---- what fires, as Alertmanager shows it ----

#[derive(Serialize, ToSchema)]
pub struct Receiver {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AlertStatus {
    /// `active`, or `suppressed` by a silence or a maintenance window.
    pub state: &'static str,
    #[serde(rename = "silencedBy")]
    pub silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy")]
    pub inhibited_by: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GettableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub receivers: Vec<Receiver>,
    /// The labels' FNV-1a fingerprint, as 16 hex digits.
    pub fingerprint: String,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
    pub status: AlertStatus,
    /// The Floorwatch incident it is part of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertGroup {
    pub labels: BTreeMap<String, String>,
    pub receiver: Receiver,
    pub alerts: Vec<GettableAlert>,
}

/// The silence id as the Alertmanager API shows it: a UUID holding Floorwatch's number.
pub fn silence_uuid(id: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", id & 0xffff_ffff_ffff)
}

/// A silence id from the Alertmanager API: the UUID form, or the plain number.
pub fn silence_id(s: &str) -> Option<u64> {
    match s.strip_prefix("00000000-0000-4000-8000-") {
        Some(hex) if hex.len() == 12 => u64::from_str_radix(hex, 16).ok(),
        _ => s.parse().ok(),
    }
}

/// What keeps an incident quiet, as `silencedBy`.
fn silenced_by(e: &Engine, inc: &Incident) -> Vec<String> {
    match e.silence_over(inc) {
        Some(s) => vec![silence_uuid(s.id)],
        None => inc.silenced_by.iter().cloned().collect(),
    }
}

fn receiver_of(inc: Option<&Incident>) -> Receiver {
    Receiver {
        name: inc
            .and_then(|i| i.escalation.as_ref().map(|e| e.policy.clone()))
            .unwrap_or_else(|| "floorwatch".into()),
    }
}

fn status_of(silenced: Vec<String>) -> AlertStatus {
    AlertStatus {
        state: if silenced.is_empty() {
            "active"
        } else {
            "suppressed"
        },
        silenced_by: silenced,
        inhibited_by: Vec::new(),
    }
}

/// An alert that came in, as Alertmanager shows it.
fn from_alert(e: &Engine, a: &Alert) -> GettableAlert {
    let incident = e.alert_incident(a.rule, a.scope);
    let inc = incident.and_then(|id| e.incident(id));
    let pairs = |l: &crate::rules::alert_route::Labels| {
        l.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    GettableAlert {
        labels: pairs(&a.labels),
        annotations: pairs(&a.annotations),
        receivers: vec![receiver_of(inc)],
        fingerprint: format!("{:016x}", a.fingerprint),
        starts_at: ms(a.starts_at),
        updated_at: ms(a.updated_at),
        ends_at: a.ends_at.map(ms).unwrap_or_else(|| ZERO_TIME.into()),
        generator_url: a.generator_url.as_deref().map(str::to_string),
        status: status_of(inc.map(|i| silenced_by(e, i)).unwrap_or_default()),
        incident,
    }
}

/// The labels of one of Floorwatch's own incidents, as an alert's.
pub fn incident_labels(inc: &Incident) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    for name in ["alertname", "rule", "scope", "severity", "kind"] {
        if let Some(v) = inc.label(name) {
            l.insert(name.to_string(), v.to_string());
        }
    }
    l
}

/// One of Floorwatch's own incidents, as an alert.
fn from_incident(e: &Engine, inc: &Incident) -> GettableAlert {
    let labels = incident_labels(inc);
    let fingerprint = matchers::fingerprint(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), inc.title.clone());
    if let Some(zh) = &inc.title_zh {
        annotations.insert("summary_zh".to_string(), zh.clone());
    }
    if let Some(r) = &inc.runbook {
        annotations.insert("runbook".to_string(), r.en.clone());
    }
    GettableAlert {
        labels,
        annotations,
        receivers: vec![receiver_of(Some(inc))],
        fingerprint: format!("{fingerprint:016x}"),
        starts_at: rfc3339(inc.opened_at),
        updated_at: rfc3339(inc.updated_at),
        ends_at: ZERO_TIME.into(),
        generator_url: None,
        status: status_of(silenced_by(e, inc)),
        incident: Some(inc.id),
    }
}

/// Every alert firing: those that came in, and Floorwatch's own open incidents.
fn all_alerts(e: &Engine) -> Vec<GettableAlert> {
    let mut out: Vec<GettableAlert> = e.alerts().map(|a| from_alert(e, a)).collect();
    for inc in e.open_incidents_iter() {
        // A route's incident is shown through its alerts, above.
        if inc.kind != crate::rules::alert_route::SPEC.name {
            out.push(from_incident(e, inc));
        }
    }
    out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    out
}

/// The query of `GET /api/v2/alerts` and `/alerts/groups`: `filter` (repeated, one matcher
/// each), `active`, `silenced`, `inhibited`, `unprocessed` (all true unless said), `receiver`
/// (a regex).
struct AlertQuery {
    filter: Vec<Compiled>,
    active: bool,
    silenced: bool,
    inhibited: bool,
    receiver: Option<regex::Regex>,
}

fn alert_query(q: Option<String>) -> AmResult<AlertQuery> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| AmErr(StatusCode::BAD_REQUEST, format!("query: {e}")))?;
    let mut out = AlertQuery {
        filter: Vec::new(),
        active: true,
        silenced: true,
        inhibited: true,
        receiver: None,
    };
    let bad = |m: String| AmErr(StatusCode::BAD_REQUEST, m);
    let flag = |k: &str, v: &str| match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!("`{k}` must be true or false, found \"{v}\""))),
    };
    for (k, v) in pairs {
        match k.as_str() {
            "filter" => {
                let m = matchers::parse(&v).map_err(|e| bad(format!("`filter`: {e}")))?;
                out.filter
                    .push(Compiled::new(&m).map_err(|e| bad(format!("`filter`: {e}")))?);
                if out.filter.len() > matchers::MAX_MATCHERS {
                    return Err(bad(format!(
                        "more than {} filters; that is the limit",
                        matchers::MAX_MATCHERS
                    )));
                }
            }
            "active" => out.active = flag(&k, &v)?,
            "silenced" => out.silenced = flag(&k, &v)?,
            "inhibited" => out.inhibited = flag(&k, &v)?,
            "unprocessed" => {
                flag(&k, &v)?;
            }
            "receiver" => {
                let re = regex::RegexBuilder::new(&format!("^(?:{v})$"))
                    .size_limit(256 * 1024)
                    .build()
                    .map_err(|e| bad(format!("`receiver` is not a valid regex: {e}")))?;
                out.receiver = Some(re);
            }
            other => return Err(bad(format!("unknown query parameter `{other}`"))),
        }
    }
    Ok(out)
}

impl AlertQuery {
    fn keeps(&self, a: &GettableAlert) -> bool {
        let suppressed = !a.status.silenced_by.is_empty();
        (if suppressed {
            self.silenced
        } else {
            self.active
        }) && matchers::all_match(&self.filter, |n| a.labels.get(n).map(String::as_str))
            && self
                .receiver
                .as_ref()
                .is_none_or(|re| a.receivers.iter().any(|r| re.is_match(&r.name)))
    }
}

/// `GET /api/v2/alerts`: what fires, filtered as amtool asks.
#[utoipa::path(get, path = "/api/v2/alerts", tag = "alertmanager",
    params(("filter" = Option<Vec<String>>, Query, description = "A matcher such as queue=\"phone-a\"; repeated"),
        ("active" = Option<bool>, Query), ("silenced" = Option<bool>, Query),
        ("inhibited" = Option<bool>, Query), ("unprocessed" = Option<bool>, Query),
        ("receiver" = Option<String>, Query, description = "A regex over the receiver's name")),
    responses((status = 200, body = Vec<GettableAlert>), (status = 400, body = String)),
    security(("bearer" = ["viewer"])))]
pub async fn get_alerts(
    State(s): State<AppState>,
    _: Viewer,
    RawQuery(q): RawQuery,
) -> AmResult<Response> {
    let q = alert_query(q)?;
    let watch = s.watch.clone();
    let list = blocking(move || watch.read_engine(all_alerts)).await?;
    let list: Vec<GettableAlert> = list.into_iter().filter(|a| q.keeps(a)).collect();
    Ok(Json(list).into_response())
}

/// `GET /api/v2/alerts/groups`: the alerts by incident.
#[utoipa::path(get, path = "/api/v2/alerts/groups", tag = "alertmanager",
    params(("filter" = Option<Vec<String>>, Query), ("active" = Option<bool>, Query),
        ("silenced" = Option<bool>, Query), ("inhibited" = Option<bool>, Query),
        ("receiver" = Option<String>, Query)),
    responses((status = 200, body = Vec<AlertGroup>), (status = 400, body = String)),
    security(("bearer" = ["viewer"])))]
pub async fn get_groups(
    State(s): State<AppState>,
    _: Viewer,
    RawQuery(q): RawQuery,
) -> AmResult<Response> {
    let q = alert_query(q)?;
    let watch = s.watch.clone();
    let groups = blocking(move || {
        watch.read_engine(|e| {
            let mut groups: BTreeMap<Option<u64>, AlertGroup> = BTreeMap::new();
            for a in all_alerts(e).into_iter().filter(|a| q.keeps(a)) {
                let g = groups.entry(a.incident).or_insert_with(|| {
                    let mut labels = BTreeMap::new();
                    if let Some(i) = a.incident.and_then(|id| e.incident(id)) {
                        labels.insert("rule".to_string(), i.rule.clone());
                        labels.insert("scope".to_string(), i.scope.clone());
                    }
                    AlertGroup {
                        labels,
                        receiver: Receiver {
                            name: a.receivers[0].name.clone(),
                        },
                        alerts: Vec::new(),
                    }
                });
                g.alerts.push(a);
            }
            groups
        })
    })
    .await?;
    Ok(Json(groups.into_values().collect::<Vec<_>>()).into_response())
}

/// `GET /api/v2/receivers`: the escalation policies alerts may follow.
#[utoipa::path(get, path = "/api/v2/receivers", tag = "alertmanager",
    responses((status = 200, body = Vec<Receiver>)), security(("bearer" = ["viewer"])))]
pub async fn receivers(State(s): State<AppState>, _: Viewer) -> Response {
    let cfg = s.watch.config();
    let mut list = vec![Receiver {
        name: "floorwatch".into(),
    }];
    list.extend(cfg.escalations.iter().map(|e| Receiver {
        name: e.name.clone(),
    }));
    Json(list).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct ClusterStatus {
    /// `ready` (a cluster on PostgreSQL, reachable), `settling`, or `disabled` (one daemon).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub peers: Vec<PeerStatus>,
}

#[derive(Serialize, ToSchema)]
pub struct PeerStatus {
    pub name: String,
    pub address: String,
}

#[derive(Serialize, ToSchema)]
pub struct VersionInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    #[serde(rename = "buildUser")]
    pub build_user: String,
    #[serde(rename = "buildDate")]
    pub build_date: String,
    #[serde(rename = "goVersion")]
    pub go_version: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigText {
    /// The `[[route]]`s as Alertmanager YAML (a route per `[[route]]`, its escalation policy
    /// as the receiver), so `amtool config routes` draws them.
    pub original: String,
}

#[derive(Serialize, ToSchema)]
pub struct AlertmanagerStatus {
    pub cluster: ClusterStatus,
    #[serde(rename = "versionInfo")]
    pub version_info: VersionInfo,
    pub config: ConfigText,
    /// When the daemon started.
    pub uptime: String,
}

/// A YAML single-quoted string.
fn yaml(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The routes as an Alertmanager configuration.
pub fn routes_yaml(cfg: &crate::config::Config) -> String {
    let mut out = String::from(
        "# Floorwatch's [[route]]s of alerts.toml, as Alertmanager would route them.\nroute:\n  receiver: floorwatch\n",
    );
    let mut receivers = vec!["floorwatch".to_string()];
    let routes: Vec<_> = cfg
        .rules
        .iter()
        .filter_map(|r| match &r.kind {
            crate::rules::RuleKind::Alert(a) => Some((r, a)),
            _ => None,
        })
        .collect();
    if !routes.is_empty() {
        out.push_str("  routes:\n");
    }
    for (r, a) in routes {
        let receiver = r
            .escalation
            .map(|e| cfg.escalations[e].name.clone())
            .unwrap_or_else(|| "floorwatch".into());
        out.push_str(&format!("  - receiver: {}\n", yaml(&receiver)));
        let ms: Vec<String> = a
            .matchers
            .iter()
            .map(|m| yaml(&m.matcher.to_string()))
            .collect();
        out.push_str(&format!("    matchers: [{}]\n", ms.join(", ")));
        if !receivers.contains(&receiver) {
            receivers.push(receiver);
        }
    }
    out.push_str("receivers:\n");
    for r in receivers {
        out.push_str(&format!("- name: {}\n", yaml(&r)));
    }
    out
}

/// `GET /api/v2/status`: what amtool checks first and Grafana's health check asks.
#[utoipa::path(get, path = "/api/v2/status", tag = "alertmanager",
    responses((status = 200, body = AlertmanagerStatus)), security(("bearer" = ["viewer"])))]
pub async fn status(State(s): State<AppState>, _: Viewer) -> Response {
    let cfg = s.watch.config();
    let cluster = match s.watch.cluster() {
        None => ClusterStatus {
            status: "disabled",
            name: None,
            peers: Vec::new(),
        },
        Some(c) => {
            let st = c.status();
            ClusterStatus {
                status: if c.db_ok() { "ready" } else { "settling" },
                name: Some(st.node.clone()),
                peers: st
                    .nodes
                    .iter()
                    .map(|n| PeerStatus {
                        name: n.name.clone(),
                        address: n.url.clone(),
                    })
                    .collect(),
            }
        }
    };
    Json(AlertmanagerStatus {
        cluster,
        version_info: VersionInfo {
            version: API_VERSION.into(),
            revision: format!("floorwatch-{}", env!("CARGO_PKG_VERSION")),
            branch: "floorwatch".into(),
            build_user: "floorwatch".into(),
            build_date: String::new(),
            go_version: "none (Rust)".into(),
        },
        config: ConfigText {
            original: routes_yaml(&cfg),
        },
        uptime: rfc3339(s.started),
    })
    .into_response()
}
