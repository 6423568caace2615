//! Silences: Floorwatch's own API (`/api/v1/silences`: a rule, a scope, severities and label
//! matchers) and Alertmanager's (`/api/v2/silences`, as amtool's `silence add / query / expire /
//! update` use it). Both are one list in the engine; a request is checked once, by
//! `silence::SilenceRequest`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use floorwatch_protocol::{Matcher, Severity, Silence};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::alertmanager::{AmErr, AmResult, silence_id, silence_uuid};
use super::auth::{Lead, Viewer};
use super::{ApiErr, ApiResult, AppState, bad_request, blocking, time_param, unprocessable};
use crate::silence::{Refused, SilenceRequest};

/// `GET /api/v1/silences`: every silence, active and ended.
#[utoipa::path(get, path = "/api/v1/silences", tag = "silences",
    responses((status = 200, body = Vec<Silence>)), security(("bearer" = ["viewer"])))]
pub async fn list(State(s): State<AppState>, _: Viewer) -> ApiResult<Response> {
    let watch = s.watch.clone();
    Ok(Json(blocking(move || watch.silences()).await?).into_response())
}

/// The body of `POST /api/v1/silences`.
#[derive(Deserialize, ToSchema)]
pub struct SilenceBody {
    /// A rule's name, a glob.
    #[serde(default)]
    pub rule: Option<String>,
    /// A scope (a queue, a complaint group, a route's scope), a glob.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub severities: Vec<Severity>,
    /// Label matchers, as `queue="phone-a"` or as objects.
    #[serde(default)]
    pub matchers: Vec<MatcherBody>,
    pub comment: Option<String>,
    pub by: Option<String>,
    /// RFC 3339; or `duration` from now ("2h").
    pub ends_at: Option<String>,
    pub duration: Option<String>,
}

/// A matcher as text (`queue=~"phone-.*"`) or as an object.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MatcherBody {
    Text(String),
    Object(Matcher),
}

/// `POST /api/v1/silences`: incidents it matches are recorded but page nobody until it ends.
#[utoipa::path(post, path = "/api/v1/silences", tag = "silences",
    request_body = SilenceBody,
    responses((status = 201, body = Silence), (status = 400), (status = 422)),
    security(("bearer" = ["lead"])))]
pub async fn add(
    State(s): State<AppState>,
    Lead(caller): Lead,
    body: Bytes,
) -> ApiResult<Response> {
    let b: SilenceBody =
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("body: {e}")))?;
    let mut matchers = Vec::with_capacity(b.matchers.len());
    for m in b.matchers {
        matchers.push(match m {
            MatcherBody::Text(t) => {
                crate::matchers::parse(&t).map_err(|e| unprocessable(format!("`matchers`: {e}")))?
            }
            MatcherBody::Object(m) => m,
        });
    }
    let now = DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    let silence = SilenceRequest {
        rule: b.rule,
        scope: b.scope,
        severities: b.severities,
        matchers,
        comment: b.comment,
        author: caller.or(b.by),
        starts_at: None,
        ends_at: time_param("ends_at", b.ends_at)?,
        duration: b.duration,
    }
    .check(now)
    .map_err(|e| match e {
        Refused::Missing(m) => bad_request(m),
        Refused::Invalid(m) => unprocessable(m),
    })?;
    let watch = s.watch.clone();
    let silence = blocking(move || watch.add_silence(silence)).await?;
    Ok((StatusCode::CREATED, Json(silence)).into_response())
}

/// `POST /api/v1/silences/{id}/expire`: ends a silence now.
#[utoipa::path(post, path = "/api/v1/silences/{id}/expire", tag = "silences",
    params(("id" = u64, Path)),
    responses((status = 200, body = Silence), (status = 404)),
    security(("bearer" = ["lead"])))]
pub async fn expire(
    State(s): State<AppState>,
    _: Lead,
    Path(id): Path<u64>,
) -> ApiResult<Response> {
    let watch = s.watch.clone();
    match blocking(move || watch.expire_silence(id)).await? {
        Some(silence) => Ok(Json(silence).into_response()),
        None => Err(ApiErr(StatusCode::NOT_FOUND, format!("no silence #{id}"))),
    }
}

// ---- Alertmanager's form ----

/// A matcher as Alertmanager writes it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AmMatcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl From<&Matcher> for AmMatcher {
    fn from(m: &Matcher) -> Self {
        AmMatcher {
            name: m.name.clone(),
            value: m.value.clone(),
            is_regex: m.is_regex,
            is_equal: m.is_equal,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PostableSilence {
    /// Given: changes that silence (amtool's `silence update`).
    #[serde(default)]
    pub id: Option<String>,
    pub matchers: Vec<AmMatcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt")]
    pub ends_at: DateTime<Utc>,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
}

#[derive(Serialize, ToSchema)]
pub struct SilenceStatus {
    /// `pending`, `active` or `expired`.
    pub state: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct GettableSilence {
    pub id: String,
    pub status: SilenceStatus,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    pub matchers: Vec<AmMatcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt")]
    pub ends_at: DateTime<Utc>,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
}

#[derive(Serialize, ToSchema)]
pub struct SilenceCreated {
    #[serde(rename = "silenceID")]
    pub silence_id: String,
}

/// A glob (`*`, `?`) as an anchored regex.
fn glob_regex(g: &str) -> String {
    let mut out = String::new();
    for c in g.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

/// A Floorwatch silence's rule, scope and severities as matchers, then its own.
fn matchers_of(s: &Silence) -> Vec<AmMatcher> {
    let mut out = Vec::new();
    for (name, glob) in [("rule", &s.rule), ("scope", &s.scope)] {
        if glob == "*" {
            continue;
        }
        let is_regex = glob.contains(['*', '?']);
        out.push(AmMatcher {
            name: name.into(),
            value: if is_regex {
                glob_regex(glob)
            } else {
                glob.clone()
            },
            is_regex,
            is_equal: true,
        });
    }
    if !s.severities.is_empty() {
        let list: Vec<&str> = s.severities.iter().map(|v| v.as_str()).collect();
        out.push(AmMatcher {
            name: "severity".into(),
            value: list.join("|"),
            is_regex: true,
            is_equal: true,
        });
    }
    out.extend(s.matchers.iter().map(AmMatcher::from));
    out
}

fn gettable(s: &Silence, now: DateTime<Utc>) -> GettableSilence {
    let state = if s.ends_at <= now {
        "expired"
    } else if s.starts_at > now {
        "pending"
    } else {
        "active"
    };
    GettableSilence {
        id: silence_uuid(s.id),
        status: SilenceStatus { state },
        updated_at: s.starts_at.min(now),
        matchers: matchers_of(s),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        created_by: s.author.clone(),
        comment: s.comment.clone(),
    }
}

/// `GET /api/v2/silences`: every silence; `filter` (repeated) keeps those with a matcher of
/// the same name, operator and value, as Alertmanager does.
#[utoipa::path(get, path = "/api/v2/silences", tag = "alertmanager",
    params(("filter" = Option<Vec<String>>, Query, description = "A matcher; repeated")),
    responses((status = 200, body = Vec<GettableSilence>), (status = 400, body = String)),
    security(("bearer" = ["viewer"])))]
pub async fn am_list(
    State(s): State<AppState>,
    _: Viewer,
    RawQuery(q): RawQuery,
) -> AmResult<Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| AmErr(StatusCode::BAD_REQUEST, format!("query: {e}")))?;
    let mut filter = Vec::new();
    for (k, v) in pairs {
        if k != "filter" {
            return Err(AmErr(
                StatusCode::BAD_REQUEST,
                format!("unknown query parameter `{k}`"),
            ));
        }
        filter.push(
            crate::matchers::parse(&v)
                .map_err(|e| AmErr(StatusCode::BAD_REQUEST, format!("`filter`: {e}")))?,
        );
    }
    let now = DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    let watch = s.watch.clone();
    let list: Vec<GettableSilence> = blocking(move || watch.silences())
        .await?
        .iter()
        .map(|x| gettable(x, now))
        .filter(|g| {
            filter.iter().all(|f| {
                g.matchers.iter().any(|m| {
                    m.name == f.name
                        && m.value == f.value
                        && m.is_regex == f.is_regex
                        && m.is_equal == f.is_equal
                })
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

/// `GET /api/v2/silence/{id}`.
#[utoipa::path(get, path = "/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path, description = "The silence's UUID (or its number)")),
    responses((status = 200, body = GettableSilence), (status = 404, body = String)),
    security(("bearer" = ["viewer"])))]
pub async fn am_get(
    State(s): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> AmResult<Response> {
    let now = DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    let n = silence_id(&id).ok_or_else(|| not_found(&id))?;
    let watch = s.watch.clone();
    let list = blocking(move || watch.silences()).await?;
    let x = list
        .iter()
        .find(|x| x.id == n)
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(gettable(x, now)).into_response())
}

fn not_found(id: &str) -> AmErr {
    AmErr(StatusCode::NOT_FOUND, format!("silence {id} not found"))
}

/// `POST /api/v2/silences`: a new silence, or (with `id`) a change to one that has not
/// ended.
#[utoipa::path(post, path = "/api/v2/silences", tag = "alertmanager",
    request_body = PostableSilence,
    responses((status = 200, body = SilenceCreated), (status = 400, body = String),
        (status = 404, body = String)),
    security(("bearer" = ["lead"])))]
pub async fn am_post(
    State(s): State<AppState>,
    Lead(caller): Lead,
    body: Bytes,
) -> AmResult<Response> {
    let bad = |m: String| AmErr(StatusCode::BAD_REQUEST, m);
    let b: PostableSilence =
        serde_json::from_slice(&body).map_err(|e| bad(format!("body: {e}")))?;
    if b.matchers.is_empty() {
        return Err(bad("a silence needs at least one matcher".into()));
    }
    let now = DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    let silence = SilenceRequest {
        matchers: b
            .matchers
            .into_iter()
            .map(|m| Matcher {
                name: m.name,
                value: m.value,
                is_regex: m.is_regex,
                is_equal: m.is_equal,
            })
            .collect(),
        comment: Some(b.comment),
        author: caller
            .or(Some(b.created_by))
            .filter(|a| !a.trim().is_empty()),
        starts_at: Some(b.starts_at),
        ends_at: Some(b.ends_at),
        ..Default::default()
    }
    .check(now)
    .map_err(|e| bad(e.to_string()))?;
    let watch = s.watch.clone();
    let id = match b.id.filter(|i| !i.is_empty()) {
        None => blocking(move || watch.add_silence(silence)).await?.id,
        Some(id) => {
            let n = silence_id(&id).ok_or_else(|| not_found(&id))?;
            let changed =
                blocking(move || watch.update_silence(Silence { id: n, ..silence })).await?;
            changed.ok_or_else(|| not_found(&id))?.id
        }
    };
    Ok(Json(SilenceCreated {
        silence_id: silence_uuid(id),
    })
    .into_response())
}

/// `DELETE /api/v2/silence/{id}`: ends it now.
#[utoipa::path(delete, path = "/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path)),
    responses((status = 200), (status = 404, body = String)),
    security(("bearer" = ["lead"])))]
pub async fn am_delete(
    State(s): State<AppState>,
    _: Lead,
    Path(id): Path<String>,
) -> AmResult<Response> {
    let n = silence_id(&id).ok_or_else(|| not_found(&id))?;
    let watch = s.watch.clone();
    match blocking(move || watch.expire_silence(n)).await? {
        Some(_) => Ok(StatusCode::OK.into_response()),
        None => Err(not_found(&id)),
    }
}
