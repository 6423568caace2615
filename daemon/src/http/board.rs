//! The wall-board's files (dashboard/, built to WebAssembly and embedded by build.rs), served at
//! `/` and `/board/*`. A daemon built before the board serves a page saying how to build it.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/board_assets.rs"));

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Floorwatch</title>\
<body style=\"font:20px system-ui;background:#111;color:#eee;padding:2em\">\
<h1>Floorwatch</h1><p>The wall-board was not built into this binary. Run \
<code>scripts/build-board.sh</code> and build the daemon again (<code>scripts/demo.sh</code> \
does both).</p><p>The API is up: <a style=color:#8cf href=/api/v1/state>/api/v1/state</a></p>";

/// Whether this binary carries the wall-board.
pub fn is_built() -> bool {
    !ASSETS.is_empty()
}

pub async fn index() -> Response {
    match file("index.html") {
        Some(r) => r,
        None => Html(NOT_BUILT).into_response(),
    }
}

pub async fn asset(Path(name): Path<String>) -> Response {
    file(&name).unwrap_or_else(|| (StatusCode::NOT_FOUND, "no such file\n").into_response())
}

fn file(name: &str) -> Option<Response> {
    let (_, mime, bytes) = ASSETS.iter().find(|(f, _, _)| *f == name)?;
    // Names are not content-hashed, so browsers must ask again after an upgrade.
    Some(
        (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
    )
}
