//! The outbox as people read it: deliveries by status and incident, and each target's recent
//! record.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use floorwatch_protocol::{ApiError, Delivery, OutwardHealth};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Viewer;
use super::{ApiResult, AppState, bad_request, blocking};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// pending, delivered or dead (dead letters).
    status: Option<String>,
    incident: Option<u64>,
    limit: Option<u32>,
}

/// The outbox: deliveries by status (pending, delivered, dead) and incident, newest first.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries", params(DeliveryQuery),
    responses((status = 200, body = Vec<Delivery>), (status = 400, body = ApiError)),
    security(("bearer" = ["viewer"])))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    _: Viewer,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Response> {
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
#[utoipa::path(get, path = "/api/v1/deliveries/health", tag = "deliveries",
    responses((status = 200, body = OutwardHealth)), security(("bearer" = ["viewer"])))]
pub async fn delivery_health(State(s): State<AppState>, _: Viewer) -> ApiResult<Response> {
    Ok(Json(s.watch.health.view(s.watch.now())).into_response())
}
