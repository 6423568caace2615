//! Events in (`POST /api/v1/events`): one JSON object, an array or NDJSON, each event taken or
//! refused on its own, with its line and field.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use floorwatch_protocol::{ApiError, IngestReport};

use super::auth::Ingester;
use super::{ApiResult, AppState, blocking};

/// Takes events: one JSON object, a JSON array, or NDJSON. Each is taken or refused on its own
/// (its line, field and reason); 422 when every one was refused.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body(content = String, content_type = "application/x-ndjson",
        description = "Events: contact, queue, complaint, heartbeat or alert, one a line"),
    responses((status = 200, body = IngestReport, description = "Taken, with any refused"),
        (status = 422, body = IngestReport, description = "Every event refused"),
        (status = 503, body = ApiError, description = "The store cannot take them now")),
    security(("bearer" = ["ingest"])))]
pub async fn ingest(
    State(s): State<AppState>,
    Ingester(caller): Ingester,
    body: Bytes,
) -> ApiResult<Response> {
    // Events that name no source come from the token that sent them.
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
