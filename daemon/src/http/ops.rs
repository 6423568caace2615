//! Running the daemon: liveness and readiness, Prometheus metrics, reloading alerts.toml.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use floorwatch_protocol::ApiError;

use super::auth::Admin;
use super::{ApiErr, ApiResult, AppState, blocking};

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the store and journal take writes (and, in a cluster, the database answers).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 503, body = String, content_type = "text/plain")))]
pub async fn ready(State(s): State<AppState>) -> Response {
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

/// The daemon's own metrics and the floor's figures, in Prometheus's text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, body = ApiError, description = "Metrics are not enabled")))]
pub async fn prometheus(State(s): State<AppState>) -> ApiResult<Response> {
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

/// Reads alerts.toml again; a file with errors is refused whole, with every error located.
#[utoipa::path(post, path = "/-/reload", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 404, body = ApiError), (status = 422, body = ApiError)),
    security(("bearer" = ["admin"])))]
pub async fn reload(State(s): State<AppState>, _: Admin) -> ApiResult<Response> {
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
