//! `GET /api/v1/live`: upgrades to a websocket and hands it to the live stream. Browsers cannot
//! put a header on a websocket, so the viewer token may also come as `?token=`; on loopback the
//! stream may be open by configuration (`[live] open_on_loopback`), for a board on the same box.

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::auth::{Role, bearer};
use super::{ApiResult, AppState};
use crate::live::client;

#[derive(Deserialize)]
pub struct LiveQuery {
    token: Option<String>,
}

/// The live stream: a websocket of frames (`floorwatch_protocol::live`) for wall-boards and
/// `floorwatch tail`. The viewer token may come as `?token=`.
#[utoipa::path(get, path = "/api/v1/live", tag = "board",
    params(("token" = Option<String>, Query, description = "A viewer token, for browsers")),
    responses((status = 101, description = "Switching to the websocket"), (status = 401)),
    security((), ("bearer" = ["viewer"])))]
pub async fn upgrade(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let hub = s.live.clone();
    if !(hub.settings().open_on_loopback && peer.ip().is_loopback()) {
        s.auth
            .check_token(bearer(&headers).or(q.token.as_deref()), Role::Viewer)?;
    }
    // Clients only read: small buffers keep ten thousand boards cheap. Frames are flushed one
    // at a time, so a stuck socket holds at most one frame here.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| client::serve(hub, socket)))
}
