//! On call: who holds each rota now, overrides of it, and drills started by hand.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use floorwatch_protocol::{ApiError, Incident, OnCallOverride, OnCallStatus};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{Lead, Viewer};
use super::incidents::{ActionBody, action_body, actor};
use super::{ApiErr, ApiResult, AppState, bad_request, blocking, time_param, unprocessable};
use crate::limits;

/// Starts a drill now: a marked incident that runs the real escalation path.
#[utoipa::path(post, path = "/api/v1/drills/{name}", tag = "oncall",
    params(("name" = String, Path, description = "A [[drill]] of alerts.toml")),
    request_body(content = Option<ActionBody>, description = "`by`: who starts it, on an open API"),
    responses((status = 201, body = Incident), (status = 404, body = ApiError)),
    security(("bearer" = ["lead"])))]
pub async fn start_drill(
    State(s): State<AppState>,
    Lead(caller): Lead,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = action_body(&body)?;
    let who = actor(caller, &b);
    let watch = s.watch.clone();
    let inc = blocking(move || watch.start_drill(&name, &who)).await??;
    Ok((StatusCode::CREATED, Json(inc)).into_response())
}

/// Who holds each on-call rota now, until when, and who is next.
#[utoipa::path(get, path = "/api/v1/oncall", tag = "oncall",
    responses((status = 200, body = Vec<OnCallStatus>)), security(("bearer" = ["viewer"])))]
pub async fn oncall(State(s): State<AppState>, _: Viewer) -> ApiResult<Response> {
    let watch = s.watch.clone();
    Ok(Json(blocking(move || watch.oncall()).await?).into_response())
}

/// An override: `person` holds the rota from `from` (now if not given) until `until`, or for
/// `duration` ("8h").
#[derive(Deserialize, ToSchema)]
pub struct OverrideBody {
    person: String,
    from: Option<String>,
    until: Option<String>,
    duration: Option<String>,
    by: Option<String>,
}

/// Hands a rota to someone on it for a while (a swap, a sick day).
#[utoipa::path(post, path = "/api/v1/oncall/{schedule}/overrides", tag = "oncall",
    params(("schedule" = String, Path)), request_body = OverrideBody,
    responses((status = 201, body = OnCallOverride), (status = 400, body = ApiError),
        (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["lead"])))]
pub async fn add_override(
    State(s): State<AppState>,
    Lead(caller): Lead,
    Path(schedule): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
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
