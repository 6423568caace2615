//! The HTTP API (axum). Handlers are thin: check the caller's role, hand the work to the `Watch`
//! on a blocking thread, and turn the answer into JSON.

pub mod ack_page;
pub mod alertmanager;
pub mod auth;
pub mod board;
pub mod cluster;
pub mod live;
pub mod silences;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use floorwatch_protocol::{ApiError, IncidentStatus, Severity};
use serde::Deserialize;

use crate::export;
use crate::limits;
use crate::notify::ack_link::Grant;
use crate::store::IncidentFilter;
use crate::watch::{Watch, WatchError};
use auth::{Auth, Caller, Role};

/// Reloads the configuration; returns the errors that made it refuse the new file.
pub type Reloader = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub watch: Arc<Watch>,
    pub auth: Arc<Auth>,
    pub prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub reload: Option<Reloader>,
    pub links: crate::notify::ack_link::LinkKey,
    pub live: Arc<crate::live::Hub>,
    /// When the daemon started (Alertmanager's `uptime`).
    pub started: chrono::DateTime<chrono::Utc>,
}

pub fn router(state: AppState, max_body: usize) -> Router {
    Router::new()
        .route(
            "/api/v1/events",
            post(ingest).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/", get(board::index))
        .route("/board/{file}", get(board::asset))
        .route("/api/v1/live", get(live::upgrade))
        .route("/api/v1/state", get(state_snapshot))
        .route("/api/v1/incidents", get(list_incidents))
        .route("/api/v1/incidents/{id}", get(get_incident))
        .route("/api/v1/incidents/{id}/ack", post(acknowledge))
        .route("/api/v1/incidents/{id}/unack", post(unacknowledge))
        .route("/api/v1/incidents/{id}/resolve", post(resolve))
        .route("/api/v1/incidents/{id}/notes", post(add_note))
        .route("/api/v1/incidents/{id}/export", get(export_incident))
        .route("/api/v1/incidents/{id}/chart", get(incident_chart))
        .route("/api/v1/incidents/{id}/chart.svg", get(incident_chart_svg))
        .route("/api/v1/deliveries", get(list_deliveries))
        .route("/api/v1/deliveries/health", get(delivery_health))
        .route("/api/v1/silences", get(silences::list).post(silences::add))
        .route("/api/v1/oncall", get(oncall))
        .route("/api/v1/drills/{name}", post(start_drill))
        .route("/api/v1/oncall/{schedule}/overrides", post(add_override))
        .route("/api/v1/silences/{id}/expire", post(silences::expire))
        .route(
            "/api/v2/alerts",
            get(alertmanager::get_alerts)
                .post(alertmanager::post_alerts)
                .layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/api/v2/alerts/groups", get(alertmanager::get_groups))
        .route("/api/v2/status", get(alertmanager::status))
        .route("/api/v2/receivers", get(alertmanager::receivers))
        .route(
            "/api/v2/silences",
            get(silences::am_list).post(silences::am_post),
        )
        .route(
            "/api/v2/silence/{id}",
            get(silences::am_get).delete(silences::am_delete),
        )
        .route(
            "/api/v1/alertmanager",
            post(alertmanager::webhook).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(prometheus))
        .route("/-/reload", post(reload))
        .route(
            "/ack/{id}",
            get(ack_page::confirm).post(ack_page::acknowledge),
        )
        .route("/api/v1/cluster", get(cluster::status))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cluster::forward_commands,
        ))
        .with_state(state)
}

/// An API error: a status and a message, sent as `{"error": "..."}`.
pub struct ApiErr(pub StatusCode, pub String);

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        (self.0, Json(ApiError { error: self.1 })).into_response()
    }
}

impl From<(StatusCode, String)> for ApiErr {
    fn from((s, m): (StatusCode, String)) -> Self {
        ApiErr(s, m)
    }
}

impl From<WatchError> for ApiErr {
    fn from(e: WatchError) -> Self {
        use crate::engine::CommandError::*;
        let status = match &e {
            WatchError::Command(NotFound(_) | UnknownDrill(_)) => StatusCode::NOT_FOUND,
            WatchError::Command(_) => StatusCode::CONFLICT,
            WatchError::Store(_) | WatchError::Journal(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiErr(status, e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiErr>;

/// Runs blocking watch work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiErr(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("worker failed: {e}"),
        )
    })
}

async fn ingest(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    // Events that name no source come from the token that sent them.
    let caller = s.auth.check(&headers, Role::Ingest)?;
    let source = caller.unwrap_or_else(|| crate::engine::UNNAMED.to_string());
    let watch = s.watch.clone();
    let report = blocking(move || watch.ingest(&source, &body)).await??;
    // Nothing taken and something refused: the whole batch was bad.
    let status = if report.accepted == 0 && report.duplicates == 0 && !report.refused.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

async fn state_snapshot(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    s.auth.check(&headers, Role::Viewer)?;
    let watch = s.watch.clone();
    Ok(Json(blocking(move || watch.snapshot()).await?).into_response())
}

#[derive(Deserialize, Default)]
struct ListQuery {
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

pub(crate) fn bad_request(msg: String) -> ApiErr {
    ApiErr(StatusCode::BAD_REQUEST, msg)
}

/// A well-formed request whose values are out of bounds.
pub(crate) fn unprocessable(msg: String) -> ApiErr {
    ApiErr(StatusCode::UNPROCESSABLE_ENTITY, msg)
}

pub(crate) fn time_param(
    name: &str,
    v: Option<String>,
) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.to_utc())
            .map_err(|e| bad_request(format!("`{name}` is not an RFC 3339 time: {e}")))
    })
    .transpose()
}

async fn list_incidents(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    s.auth.check(&headers, Role::Viewer)?;
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

async fn get_incident(
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

async fn incident_chart(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(link): Query<LinkQuery>,
) -> ApiResult<Response> {
    Ok(Json(chart_of(&s, &headers, id, link).await?).into_response())
}

/// The chart's query: its language, a token (for a plain link) or a page's grant. The grant's
/// fields are listed, not flattened: a flattened query reads every value as a string.
#[derive(Deserialize)]
struct SvgQuery {
    lang: Option<String>,
    token: Option<String>,
    list: Option<String>,
    exp: Option<i64>,
    sig: Option<String>,
}

/// The chart as SVG (`?lang=zh`), for the Markdown review to link; `?token=` as the export takes.
async fn incident_chart_svg(
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
#[derive(Deserialize, Default)]
struct LinkQuery {
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
#[derive(Deserialize, Default)]
struct ActionBody {
    by: Option<String>,
    note: Option<String>,
    text: Option<String>,
}

fn actor(caller: Caller, body: &ActionBody) -> String {
    caller
        .or_else(|| body.by.clone().filter(|b| !b.trim().is_empty()))
        .unwrap_or_else(|| "anonymous".into())
}

fn action_body(body: &Bytes) -> ApiResult<ActionBody> {
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
    headers: &HeaderMap,
    body: &Bytes,
    f: impl FnOnce(&Watch, &str, Option<&str>) -> Result<floorwatch_protocol::Incident, WatchError>
    + Send
    + 'static,
) -> ApiResult<Response> {
    let caller = s.auth.check(headers, Role::Lead)?;
    let b = action_body(body)?;
    let who = actor(caller, &b);
    let watch = s.watch.clone();
    let inc = blocking(move || f(&watch, &who, b.note.as_deref())).await??;
    Ok(Json(inc).into_response())
}

/// Acknowledges with a lead's token, or from a page's link (the board opened from a page).
async fn acknowledge(
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

async fn unacknowledge(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> ApiResult<Response> {
    lead_command(&s, &headers, &body, move |w, who, _| {
        w.unacknowledge(id, who)
    })
    .await
}

async fn resolve(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> ApiResult<Response> {
    lead_command(&s, &headers, &body, move |w, who, note| {
        w.resolve(id, who, note)
    })
    .await
}

async fn add_note(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = s.auth.check(&headers, Role::Lead)?;
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

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
    /// For plain links (the wall-board's export buttons), which cannot carry a header.
    token: Option<String>,
}

async fn export_incident(
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

#[derive(Deserialize)]
struct DeliveryQuery {
    /// pending, delivered or dead (dead letters).
    status: Option<String>,
    incident: Option<u64>,
    limit: Option<u32>,
}

async fn list_deliveries(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Response> {
    s.auth.check(&headers, Role::Viewer)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(st) => Some(
            floorwatch_protocol::DeliveryStatus::parse(st).ok_or_else(|| {
                bad_request(format!(
                    "unknown status \"{st}\"; expected pending, delivered or dead"
                ))
            })?,
        ),
    };
    let watch = s.watch.clone();
    let limit = q.limit.unwrap_or(500).min(10_000);
    let list = blocking(move || watch.deliveries(status, q.incident, limit)).await??;
    Ok(Json(list).into_response())
}

/// Each delivery target's and heartbeat's recent record: last success, failing since, the last
/// hour's attempts and failures.
async fn delivery_health(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    s.auth.check(&headers, Role::Viewer)?;
    Ok(Json(s.watch.health.view(s.watch.now())).into_response())
}

async fn start_drill(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = s.auth.check(&headers, Role::Lead)?;
    let b = action_body(&body)?;
    let who = actor(caller, &b);
    let watch = s.watch.clone();
    let inc = blocking(move || watch.start_drill(&name, &who)).await??;
    Ok((StatusCode::CREATED, Json(inc)).into_response())
}

async fn oncall(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    s.auth.check(&headers, Role::Viewer)?;
    let watch = s.watch.clone();
    Ok(Json(blocking(move || watch.oncall()).await?).into_response())
}

#[derive(Deserialize)]
struct OverrideBody {
    person: String,
    from: Option<String>,
    until: Option<String>,
    duration: Option<String>,
    by: Option<String>,
}

async fn add_override(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(schedule): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = s.auth.check(&headers, Role::Lead)?;
    let b: OverrideBody =
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("body: {e}")))?;
    let cfg = s.watch.config();
    let Some(sched) = cfg.oncall.iter().find(|x| x.name == schedule) else {
        return Err(ApiErr(
            StatusCode::NOT_FOUND,
            format!("no on-call schedule \"{schedule}\""),
        ));
    };
    if !sched.people.iter().any(|p| p.name == b.person) {
        let names: Vec<_> = sched.people.iter().map(|p| p.name.as_str()).collect();
        return Err(bad_request(format!(
            "\"{}\" is not on the \"{schedule}\" rota ({})",
            b.person,
            names.join(", ")
        )));
    }
    let now = chrono::DateTime::from_timestamp_millis(s.watch.now()).unwrap_or_default();
    let from = time_param("from", b.from)?.unwrap_or(now);
    let until = limits::span_end(
        now,
        from,
        "until",
        time_param("until", b.until)?,
        b.duration.as_deref(),
    )
    .map_err(unprocessable)?;
    limits::check_len("person", &b.person, limits::MAX_NAME_BYTES).map_err(unprocessable)?;
    let o = floorwatch_protocol::OnCallOverride {
        id: 0,
        schedule,
        person: b.person,
        from,
        until,
        author: caller.or(b.by).unwrap_or_else(|| "anonymous".into()),
    };
    let watch = s.watch.clone();
    let o = blocking(move || watch.add_override(o)).await??;
    Ok((StatusCode::CREATED, Json(o)).into_response())
}

async fn ready(State(s): State<AppState>) -> Response {
    if s.watch.cluster().is_some_and(|c| !c.db_ok()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer\n",
        )
            .into_response();
    }
    if s.watch.is_healthy() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "store or journal writes are failing\n",
        )
            .into_response()
    }
}

async fn prometheus(State(s): State<AppState>) -> ApiResult<Response> {
    let Some(handle) = s.prometheus.clone() else {
        return Err(ApiErr(
            StatusCode::NOT_FOUND,
            "metrics are not enabled".into(),
        ));
    };
    let watch = s.watch.clone();
    let text = blocking(move || {
        crate::telemetry::record_state(&watch);
        handle.render()
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn reload(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    s.auth.check(&headers, Role::Admin)?;
    let Some(reload) = s.reload.clone() else {
        return Err(ApiErr(
            StatusCode::NOT_FOUND,
            "this daemon runs an embedded configuration and cannot reload it".into(),
        ));
    };
    match blocking(move || reload()).await? {
        Ok(()) => Ok((StatusCode::OK, "reloaded\n").into_response()),
        Err(errors) => Err(ApiErr(StatusCode::UNPROCESSABLE_ENTITY, errors)),
    }
}
