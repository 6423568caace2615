//! A node of a cluster over HTTP: `GET /api/v1/cluster` (the nodes, who leads, how far each has
//! applied the journal), and the forwarding of people's commands from a follower to the leader,
//! which alone decides (acknowledging, resolving, notes, silences, overrides, drills). Ingest is
//! never forwarded: every node takes events into the shared journal.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::Viewer;
use super::{ApiErr, ApiResult, AppState};

/// Marks a forwarded request, so that it is never forwarded twice.
const FORWARDED: &str = "x-floorwatch-forwarded";
/// The most a forwarded command may take, all told.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest command body forwarded.
const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// The nodes of a cluster on PostgreSQL, who leads, and how far each has applied the journal.
#[utoipa::path(get, path = "/api/v1/cluster", tag = "operations",
    responses((status = 200, body = floorwatch_protocol::ClusterStatus),
        (status = 404, body = floorwatch_protocol::ApiError, description = "Not a cluster")),
    security(("bearer" = ["viewer"])))]
pub async fn status(State(s): State<AppState>, _: Viewer) -> ApiResult<Response> {
    let Some(cluster) = s.watch.cluster() else {
        return Err(ApiErr(
            StatusCode::NOT_FOUND,
            "not a cluster: the store is SQLite ([store] backend = \"postgres\" makes one)".into(),
        ));
    };
    Ok(Json(cluster.status()).into_response())
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            .build()
            .expect("an HTTP client")
    })
}

/// On a follower, sends people's commands (any POST or DELETE but ingest and reload) to the leader and
/// answers with its answer.
pub async fn forward_commands(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(cluster) = s.watch.cluster() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let local = !matches!(*req.method(), Method::POST | Method::DELETE)
        || path == "/api/v1/events"
        || path == "/api/v2/alerts"
        || path == "/api/v1/alertmanager"
        || path == "/-/reload"
        || cluster.fence.may_act();
    if local {
        return next.run(req).await;
    }
    let unavailable = |why: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "2")],
            Json(floorwatch_protocol::ApiError { error: why }),
        )
            .into_response()
    };
    if req.headers().contains_key(FORWARDED) {
        return unavailable("this node does not lead either; try again in a few seconds".into());
    }
    let Some(leader) = cluster.leader_url() else {
        return unavailable(
            "no node leads at the moment (a new leader takes over within seconds); try again"
                .into(),
        );
    };
    let target = format!(
        "{leader}{}",
        req.uri().path_and_query().map_or(path, |p| p.as_str())
    );
    let headers = req.headers().clone();
    let body = match to_bytes(req.into_body(), MAX_COMMAND_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a command body is at most {MAX_COMMAND_BYTES} bytes: {e}"),
            )
                .into_response();
        }
    };
    let mut out = client()
        .post(&target)
        .header(FORWARDED, HeaderValue::from_static("1"))
        .body(body);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(v) = headers.get(&name) {
            out = out.header(name, v.clone());
        }
    }
    match out.send().await {
        Ok(resp) => {
            let status = resp.status();
            let kind = resp.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = status;
            if let Some(k) = kind {
                r.headers_mut().insert(header::CONTENT_TYPE, k);
            }
            r
        }
        Err(e) => unavailable(format!("the leader ({leader}) did not answer: {e}")),
    }
}
