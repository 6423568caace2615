//! The HTTP API (axum), one file per resource. Handlers are thin: a role extractor (`auth::Viewer`,
//! `Lead`, `Admin`, `Ingester`) admits the caller, the work goes to the `Watch` on a blocking
//! thread, and the answer goes back as JSON. Every route is registered with its OpenAPI
//! description (`utoipa_axum::routes!`), so the document served at `/api/openapi.json`, and the
//! reference page at `/api/docs` (`openapi.rs`), list exactly the routes there are.
//!
//! - `events`: events in; `alertmanager`: Prometheus's, Grafana's and Alertmanager's alerts in,
//!   and the Alertmanager API (v2) amtool reads; `silences`: both APIs' silences;
//! - `incidents`, `ack_page` (a page's acknowledge link), `deliveries`, `oncall`;
//! - `board` (the wall-board's files and state), `live` (its stream);
//! - `ops` (health, metrics, reload), `cluster` (nodes, and commands forwarded to the leader).

pub mod ack_page;
pub mod alertmanager;
pub mod auth;
pub mod board;
pub mod cluster;
pub mod deliveries;
pub mod events;
pub mod incidents;
pub mod live;
pub mod oncall;
pub mod openapi;
pub mod ops;
pub mod silences;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use floorwatch_protocol::ApiError;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::watch::WatchError;
use auth::Auth;

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

use crate::watch::Watch;

/// Every route with its description: the router and the OpenAPI document from one list.
/// Bodies that carry events or alerts may be `max_body` bytes; the others keep axum's 2 MiB.
pub fn api(max_body: usize) -> OpenApiRouter<AppState> {
    let big = || DefaultBodyLimit::max(max_body);
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(events::ingest).layer(big()))
        .routes(routes!(alertmanager::post_alerts, alertmanager::get_alerts).layer(big()))
        .routes(routes!(alertmanager::webhook).layer(big()))
        .routes(routes!(alertmanager::get_groups))
        .routes(routes!(alertmanager::status))
        .routes(routes!(alertmanager::receivers))
        .routes(routes!(silences::am_list, silences::am_post))
        .routes(routes!(silences::am_get, silences::am_delete))
        .routes(routes!(silences::list, silences::add))
        .routes(routes!(silences::expire))
        .routes(routes!(incidents::list_incidents))
        .routes(routes!(incidents::get_incident))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::unacknowledge))
        .routes(routes!(incidents::resolve))
        .routes(routes!(incidents::add_note))
        .routes(routes!(incidents::export_incident))
        .routes(routes!(incidents::incident_chart))
        .routes(routes!(incidents::incident_chart_svg))
        .routes(routes!(ack_page::confirm, ack_page::acknowledge))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::delivery_health))
        .routes(routes!(oncall::oncall))
        .routes(routes!(oncall::add_override))
        .routes(routes!(oncall::start_drill))
        .routes(routes!(board::index))
        .routes(routes!(board::asset))
        .routes(routes!(board::state_snapshot))
        .routes(routes!(live::upgrade))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::prometheus))
        .routes(routes!(ops::reload))
        .routes(routes!(cluster::status))
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::reference))
}

pub fn router(state: AppState, max_body: usize) -> Router {
    let (router, doc) = api(max_body).split_for_parts();
    router
        .layer(axum::Extension(Arc::new(doc)))
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

#[cfg(test)]
mod tests {
    /// A route added through axum's own router methods would be served without being described: every
    /// route goes through `api()`'s `routes!`, with its `#[utoipa::path]`.
    #[test]
    fn every_route_is_registered_with_its_description() {
        for (file, src) in [
            ("mod.rs", include_str!("mod.rs")),
            ("alertmanager.rs", include_str!("alertmanager.rs")),
            ("silences.rs", include_str!("silences.rs")),
            ("incidents.rs", include_str!("incidents.rs")),
            ("events.rs", include_str!("events.rs")),
            ("deliveries.rs", include_str!("deliveries.rs")),
            ("oncall.rs", include_str!("oncall.rs")),
            ("ops.rs", include_str!("ops.rs")),
            ("board.rs", include_str!("board.rs")),
            ("live.rs", include_str!("live.rs")),
            ("cluster.rs", include_str!("cluster.rs")),
            ("ack_page.rs", include_str!("ack_page.rs")),
            ("openapi.rs", include_str!("openapi.rs")),
        ] {
            let plain = [".route(", ".nest(", ".merge(", ".fallback("];
            for p in plain {
                let n = src.matches(p).count();
                // This test's own list of what it looks for is the one mention allowed.
                let allowed = usize::from(file == "mod.rs");
                assert!(
                    n <= allowed,
                    "{file} uses `{p}`: register the route in `api()`"
                );
            }
        }
        let handlers: usize = [
            include_str!("alertmanager.rs"),
            include_str!("silences.rs"),
            include_str!("incidents.rs"),
            include_str!("events.rs"),
            include_str!("deliveries.rs"),
            include_str!("oncall.rs"),
            include_str!("ops.rs"),
            include_str!("board.rs"),
            include_str!("live.rs"),
            include_str!("cluster.rs"),
            include_str!("ack_page.rs"),
            include_str!("openapi.rs"),
        ]
        .iter()
        .map(|s| s.matches("#[utoipa::path(").count())
        .sum();
        let (_, doc) = super::api(1 << 20).split_for_parts();
        let operations: usize = doc
            .paths
            .paths
            .values()
            .map(|item| {
                [&item.get, &item.post, &item.put, &item.delete, &item.patch]
                    .iter()
                    .filter(|o| o.is_some())
                    .count()
            })
            .sum();
        assert_eq!(
            operations, handlers,
            "every handler with a description is registered, and only those"
        );
    }
}
