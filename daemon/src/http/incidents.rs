//! Incidents: the list and one incident's detail, its chart (JSON and SVG), the review export,
//! and people's commands on it (acknowledge, unacknowledge, resolve, note). A page's signed link
//! stands in for a token on its own incident's page and acknowledgement.

use floorwatch_protocol::{
    ApiError, Incident, IncidentChart, IncidentDetail, IncidentStatus, Severity, TimelineEntry,
};
use utoipa::{IntoParams, ToSchema};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{self, Caller, Lead, Role, Viewer};
use super::{ApiErr, ApiResult, AppState, bad_request, blocking, time_param, unprocessable};
use crate::export;
use crate::limits;
use crate::notify::ack_link::Grant;
use crate::store::IncidentFilter;
use crate::watch::{Watch, WatchError};

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// firing, acknowledged, resolved, or open (firing or acknowledged).
    status: Option<String>,
    /// The least severity to list.
    severity: Option<String>,
    queue: Option<String>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
}

/// Incidents, newest first, filtered by status, least severity, queue, rule and time.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = Vec<Incident>), (status = 400, body = ApiError)),
    security(("bearer" = ["viewer"])))]
pub async fn list_incidents(
    State(s): State<AppState>,
    _: Viewer,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let mut f = IncidentFilter {
        queue: q.queue,
        rule: q.rule,
        limit: q.limit,
        since: time_param("since", q.since)?,
        until: time_param("until", q.until)?,
        ..Default::default()
    };
    match q.status.as_deref() {
        None => {}
        Some("open") => f.open = true,
        Some(st) => {
            f.status = Some(IncidentStatus::parse(st).ok_or_else(|| {
                bad_request(format!(
                    "unknown status \"{st}\"; expected firing, acknowledged, resolved or open"
                ))
            })?)
        }
    }
    if let Some(sev) = q.severity {
        f.min_severity = Some(Severity::parse(&sev).ok_or_else(|| {
            bad_request(format!(
                "unknown severity \"{sev}\"; expected info, warning, critical or crisis"
            ))
        })?);
    }
    let watch = s.watch.clone();
    Ok(Json(blocking(move || watch.incidents(&f)).await??).into_response())
}

/// One incident with its timeline. A page's signed link (`list`, `exp`, `sig`) stands in for
/// a token.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = u64, Path), LinkQuery),
    responses((status = 200, body = IncidentDetail), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["viewer"]), ("link" = [])))]
pub async fn get_incident(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(link): Query<LinkQuery>,
) -> ApiResult<Response> {
    token_or_link(&s, &headers, Role::Viewer, id, link)?;
    let watch = s.watch.clone();
    match blocking(move || watch.incident(id)).await?? {
        Some(d) => Ok(Json(d).into_response()),
        None => Err(ApiErr(StatusCode::NOT_FOUND, format!("no incident #{id}"))),
    }
}

/// The incident's chart: its scope's figures across its life, its events marked.
async fn chart_of(
    s: &AppState,
    headers: &HeaderMap,
    id: u64,
    link: LinkQuery,
) -> ApiResult<floorwatch_protocol::IncidentChart> {
    token_or_link(s, headers, Role::Viewer, id, link)?;
    let watch = s.watch.clone();
    blocking(move || {
        let detail = watch.incident(id)?;
        Ok::<_, WatchError>(detail.map(|d| watch.read_engine(|e| crate::chart::of(&d, e, e.now()))))
    })
    .await??
    .ok_or_else(|| ApiErr(StatusCode::NOT_FOUND, format!("no incident #{id}")))
}

/// The incident's chart: its scope's figures from before it opened to after it resolved, its
/// timeline's events marked.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/chart", tag = "incidents",
    params(("id" = u64, Path), LinkQuery),
    responses((status = 200, body = IncidentChart), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["viewer"]), ("link" = [])))]
pub async fn incident_chart(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(link): Query<LinkQuery>,
) -> ApiResult<Response> {
    Ok(Json(chart_of(&s, &headers, id, link).await?).into_response())
}

/// The chart's query: its language, a token (for a plain link) or a page's grant. The grant's
/// fields are listed, not flattened: a flattened query reads every value as a string.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SvgQuery {
    lang: Option<String>,
    token: Option<String>,
    list: Option<String>,
    exp: Option<i64>,
    sig: Option<String>,
}

/// The chart as SVG (`?lang=zh`), for the Markdown review to link; `?token=` as the export takes.
/// The chart drawn as SVG (`?lang=zh`), for the Markdown review to link; `?token=` or a page's
/// link stands in for the header.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/chart.svg", tag = "incidents",
    params(("id" = u64, Path), SvgQuery),
    responses((status = 200, body = String, content_type = "image/svg+xml"), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["viewer"]), ("token" = []), ("link" = [])))]
pub async fn incident_chart_svg(
    State(s): State<AppState>,
    mut headers: HeaderMap,
    Path(id): Path<u64>,
    Query(q): Query<SvgQuery>,
) -> ApiResult<Response> {
    let lang = match q.lang.as_deref() {
        None | Some("en") => floorwatch_protocol::Language::English,
        Some("zh") => floorwatch_protocol::Language::Chinese,
        Some(other) => {
            return Err(bad_request(format!(
                "unknown lang \"{other}\"; expected en or zh"
            )));
        }
    };
    if let Some(t) = q.token.as_deref()
        && auth::bearer(&headers).is_none()
        && let Ok(v) = format!("Bearer {t}").parse()
    {
        headers.insert(header::AUTHORIZATION, v);
    }
    let link = LinkQuery {
        list: q.list,
        exp: q.exp,
        sig: q.sig,
    };
    let chart = chart_of(&s, &headers, id, link).await?;
    let svg = crate::chart::svg(&chart, &s.watch.config(), lang);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            // Opened on its own, the drawing runs nothing and loads nothing.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// A page's signed link (`notify::ack_link`), as the board's incident page passes it on: it
/// stands in for a token on that one incident's page and acknowledgement.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    list: Option<String>,
    exp: Option<i64>,
    sig: Option<String>,
}

/// Who acts: a token's holder (`None` on an open API), or a page's link.
enum Acting {
    Token(Caller),
    Link(Grant),
}

/// A token with the `need` role, else a valid link for incident `id`.
fn token_or_link(
    s: &AppState,
    headers: &HeaderMap,
    need: Role,
    id: u64,
    link: LinkQuery,
) -> ApiResult<Acting> {
    let grant = match (link.list, link.exp, link.sig) {
        (Some(list), Some(exp), Some(sig)) => Some(Grant { list, exp, sig }),
        _ => None,
    };
    match (s.auth.check(headers, need), grant) {
        (Ok(caller), _) => Ok(Acting::Token(caller)),
        (Err(e), None) => Err(e.into()),
        (Err(_), Some(g)) => match s.links.check(id, &g, s.watch.now() / 1000) {
            Ok(()) => Ok(Acting::Link(g)),
            Err(e) => Err(ApiErr(StatusCode::FORBIDDEN, format!("{e}"))),
        },
    }
}

/// Body of acknowledge / resolve / note. `by` names the person on an open API; with tokens,
/// the token's name is used instead.
#[derive(Deserialize, Default, ToSchema)]
pub struct ActionBody {
    by: Option<String>,
    note: Option<String>,
    text: Option<String>,
}

pub(crate) fn actor(caller: Caller, body: &ActionBody) -> String {
    caller
        .or_else(|| body.by.clone().filter(|b| !b.trim().is_empty()))
        .unwrap_or_else(|| "anonymous".into())
}

pub(crate) fn action_body(body: &Bytes) -> ApiResult<ActionBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    let b: ActionBody =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("body: {e}")))?;
    for (field, v, max) in [
        ("by", &b.by, limits::MAX_NAME_BYTES),
        ("note", &b.note, limits::MAX_TEXT_BYTES),
        ("text", &b.text, limits::MAX_TEXT_BYTES),
    ] {
        if let Some(v) = v {
            limits::check_len(field, v, max).map_err(unprocessable)?;
        }
    }
    Ok(b)
}

/// A lead's command on an incident, in the caller's name (or the body's `by` on an open API),
/// with the body's `note`.
async fn lead_command(
    s: &AppState,
    Lead(caller): Lead,
    body: &Bytes,
    f: impl FnOnce(&Watch, &str, Option<&str>) -> Result<floorwatch_protocol::Incident, WatchError>
    + Send
    + 'static,
) -> ApiResult<Response> {
    let b = action_body(body)?;
    let who = actor(caller, &b);
    let watch = s.watch.clone();
    let inc = blocking(move || f(&watch, &who, b.note.as_deref())).await??;
    Ok(Json(inc).into_response())
}

/// Acknowledges with a lead's token, or from a page's link (the board opened from a page).
/// Acknowledges: the escalation stops climbing. With a lead's token, or a page's link.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", tag = "incidents",
    params(("id" = u64, Path), LinkQuery), request_body = Option<ActionBody>,
    responses((status = 200, body = Incident), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["lead"]), ("link" = [])))]
pub async fn acknowledge(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(link): Query<LinkQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = action_body(&body)?;
    let who = match token_or_link(&s, &headers, Role::Lead, id, link)? {
        Acting::Token(caller) => actor(caller, &b),
        Acting::Link(grant) => grant.actor(),
    };
    let watch = s.watch.clone();
    let inc = blocking(move || watch.acknowledge(id, &who, b.note.as_deref())).await??;
    Ok(Json(inc).into_response())
}

/// Takes an acknowledgement back: the escalation climbs again.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/unack", tag = "incidents",
    params(("id" = u64, Path)), request_body = Option<ActionBody>,
    responses((status = 200, body = Incident), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["lead"])))]
pub async fn unacknowledge(
    State(s): State<AppState>,
    lead: Lead,
    Path(id): Path<u64>,
    body: Bytes,
) -> ApiResult<Response> {
    lead_command(&s, lead, &body, move |w, who, _| w.unacknowledge(id, who)).await
}

/// Resolves by hand, with an optional note.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "incidents",
    params(("id" = u64, Path)), request_body = Option<ActionBody>,
    responses((status = 200, body = Incident), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = ["lead"])))]
pub async fn resolve(
    State(s): State<AppState>,
    lead: Lead,
    Path(id): Path<u64>,
    body: Bytes,
) -> ApiResult<Response> {
    lead_command(&s, lead, &body, move |w, who, note| {
        w.resolve(id, who, note)
    })
    .await
}

/// Adds a note (`text`) to the timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents",
    params(("id" = u64, Path)), request_body = ActionBody,
    responses((status = 201, body = TimelineEntry), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["lead"])))]
pub async fn add_note(
    State(s): State<AppState>,
    Lead(caller): Lead,
    Path(id): Path<u64>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = action_body(&body)?;
    let Some(text) = b
        .text
        .clone()
        .or(b.note.clone())
        .filter(|t| !t.trim().is_empty())
    else {
        return Err(bad_request("a note needs `text`".into()));
    };
    let who = actor(caller, &b);
    let watch = s.watch.clone();
    match blocking(move || watch.note(id, &who, &text)).await?? {
        Some(e) => Ok((StatusCode::CREATED, Json(e)).into_response()),
        None => Err(ApiErr(StatusCode::NOT_FOUND, format!("no incident #{id}"))),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    format: Option<String>,
    /// For plain links (the wall-board's export buttons), which cannot carry a header.
    token: Option<String>,
}

/// The post-crisis review: Markdown (`format=md`, the default) or JSON with the chart's series.
/// A plain link may carry its token as `?token=`.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/export", tag = "incidents",
    params(("id" = u64, Path), ExportQuery),
    responses((status = 200, description = "The review", content(
        (String = "text/markdown"), (serde_json::Value = "application/json"))),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = ["viewer"]), ("token" = [])))]
pub async fn export_incident(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    s.auth
        .check_token(auth::bearer(&headers).or(q.token.as_deref()), Role::Viewer)?;
    let format = q.format.unwrap_or_else(|| "md".into());
    if format != "md" && format != "json" {
        return Err(bad_request(format!(
            "unknown format \"{format}\"; expected md or json"
        )));
    }
    let watch = s.watch.clone();
    let Some(detail) = blocking(move || watch.incident(id)).await?? else {
        return Err(ApiErr(StatusCode::NOT_FOUND, format!("no incident #{id}")));
    };
    let watch = s.watch.clone();
    let delivered = blocking(move || {
        watch.deliveries(
            Some(floorwatch_protocol::DeliveryStatus::Delivered),
            Some(id),
            10_000,
        )
    })
    .await??;
    let watch = s.watch.clone();
    let (chart, detail) = blocking(move || {
        let chart = watch.read_engine(|e| crate::chart::of(&detail, e, e.now()));
        (chart, detail)
    })
    .await?;
    let svg_url = format!(
        "{}/api/v1/incidents/{id}/chart.svg",
        s.watch.config().daemon.public_url.trim_end_matches('/')
    );
    let review = export::Review::of(&detail, delivered.into_iter().map(|d| d.target))
        .with_chart(chart, svg_url);
    let filename = format!("incident-{id}.{format}");
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok(if format == "md" {
        (
            [
                (
                    header::CONTENT_TYPE,
                    "text/markdown; charset=utf-8".to_string(),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            export::markdown(&review),
        )
            .into_response()
    } else {
        ([(header::CONTENT_DISPOSITION, disposition)], Json(review)).into_response()
    })
}
