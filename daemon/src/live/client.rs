//! One live-stream connection: a snapshot first, then every frame the hub makes. A client that
//! falls behind the hub's ring (it stopped reading, or its link is slow) skips what it missed and
//! gets a fresh snapshot instead; one whose socket takes no frame at all within `send_timeout` is
//! dropped. On shutdown the client is closed with code 1001 (going away), so a board knows to
//! reconnect rather than to give up.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use tokio::sync::broadcast::error::RecvError;
use tracing::debug;

use super::Hub;

pub async fn serve(hub: Arc<Hub>, mut socket: WebSocket) {
    let _guard = hub.enter();
    let timeout = Duration::from_millis(hub.settings.send_timeout as u64);
    let mut stopping = hub.stop_signal();
    if *stopping.borrow_and_update() {
        return going_away(socket, timeout).await;
    }
    let (snapshot, mut rx) = hub.subscribe();
    if !send(&mut socket, snapshot, timeout).await {
        return;
    }
    loop {
        tokio::select! {
            biased;
            _ = stopping.changed() => return going_away(socket, timeout).await,
            frame = rx.recv() => {
                let text = match frame {
                    Ok(f) => f.text,
                    Err(RecvError::Lagged(missed)) => {
                        debug!("live client {missed} frames behind: cut back to a snapshot");
                        metrics::counter!("floorwatch_live_resyncs_total").increment(1);
                        let (snapshot, fresh) = hub.subscribe();
                        rx = fresh;
                        snapshot
                    }
                    Err(RecvError::Closed) => return,
                };
                if !send(&mut socket, text, timeout).await {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                // Clients have nothing to say; pings are answered by the websocket layer.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn going_away(mut socket: WebSocket, timeout: Duration) {
    let close = CloseFrame {
        code: close_code::AWAY,
        reason: Utf8Bytes::from_static("floorwatch is shutting down"),
    };
    let _ = tokio::time::timeout(timeout, socket.send(Message::Close(Some(close)))).await;
}

/// Sends one frame; false when the client is gone or took longer than `timeout` to take it.
async fn send(socket: &mut WebSocket, text: Utf8Bytes, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, socket.send(Message::Text(text))).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            debug!("live client gone: {e}");
            false
        }
        Err(_) => {
            debug!("live client took no frame in {timeout:?}: dropped");
            metrics::counter!("floorwatch_live_dropped_total").increment(1);
            false
        }
    }
}
