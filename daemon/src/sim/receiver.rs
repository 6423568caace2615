//! The demo's built-in webhook receiver: the demo points every webhook here, logs what arrives
//! and shows the latest pages at `GET /-/demo/hooks`, so a newcomer sees the whole climb
//! without any chat service.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tracing::info;

/// How many pages `GET /-/demo/hooks` keeps.
const KEPT: usize = 200;

type Log = Arc<Mutex<VecDeque<Value>>>;

pub fn router() -> Router {
    let log: Log = Arc::default();
    Router::new()
        .route("/-/demo/hooks", get(list))
        .route("/-/demo/hooks/{name}", post(receive))
        .with_state(log)
}

async fn receive(State(log): State<Log>, Path(name): Path<String>, body: Bytes) -> &'static str {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = body
        .pointer("/markdown/content")
        .or_else(|| body.pointer("/markdown/text"))
        .or_else(|| body.pointer("/content/text"))
        .or_else(|| body.pointer("/attachments/0/content/body/0/text"))
        .or_else(|| body.pointer("/text"))
        .and_then(Value::as_str)
        .map(|t| t.trim_start_matches('*').to_string())
        .unwrap_or_else(|| {
            format!(
                "[{}] {} ({})",
                body.pointer("/incident/severity")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                body.pointer("/incident/title")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                body.pointer("/reason")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            )
        });
    info!(
        "demo receiver, webhook {name}: {}",
        text.lines().next().unwrap_or("")
    );
    let mut log = log.lock().unwrap();
    if log.len() == KEPT {
        log.pop_front();
    }
    log.push_back(json!({ "webhook": name, "at": chrono::Utc::now(), "body": body }));
    "ok"
}

async fn list(State(log): State<Log>) -> axum::Json<Vec<Value>> {
    axum::Json(log.lock().unwrap().iter().rev().cloned().collect())
}
