//! The live stream (`GET /api/v1/live`) with real websocket clients (tokio-tungstenite) against
//! the real binary: snapshot then deltas, tokens, heartbeats, close code 1001 on shutdown, and a
//! client that stops reading being cut back to a snapshot without slowing the others.

mod common;

use std::time::{Duration, Instant};

use common::{Daemon, Start, at, reading};
use floorwatch_protocol::{LiveFrame, LiveState, Severity};
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn ws_url(d: &Daemon, token: Option<&str>) -> String {
    let base = d.url.replace("http://", "ws://");
    match token {
        Some(t) => format!("{base}/api/v1/live?token={t}"),
        None => format!("{base}/api/v1/live"),
    }
}

async fn connect(d: &Daemon, token: Option<&str>) -> Socket {
    tokio_tungstenite::connect_async(ws_url(d, token))
        .await
        .expect("websocket handshake")
        .0
}

/// The next frame, or a panic naming what was awaited.
async fn next_frame(ws: &mut Socket, what: &str) -> LiveFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no frame within 10 s while waiting for {what}"))
            .unwrap_or_else(|| panic!("stream ended while waiting for {what}"))
            .expect("a websocket message");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).expect("a LiveFrame"),
            Message::Close(c) => panic!("closed ({c:?}) while waiting for {what}"),
            _ => continue,
        }
    }
}

/// Applies frames until `done` says the picture is what we wait for.
async fn until_state(
    ws: &mut Socket,
    state: &mut LiveState,
    what: &str,
    done: impl Fn(&LiveState) -> bool,
) {
    while !done(state) {
        let f = next_frame(ws, what).await;
        state.apply(f).expect("frames follow each other");
    }
}

const CONFIG: &str = r#"
[daemon]
tick = "50ms"
[[queue]]
name = "phone-*"
channel = "phone"
[[rule]]
name = "depth"
kind = "queue_depth"
warning = 10
critical = 20
clear = 5
[live]
frame_interval = "50ms"
heartbeat = "300ms"
"#;

#[tokio::test]
async fn snapshot_then_deltas_heartbeats_and_1001_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: CONFIG,
        dir: dir.path(),
        env: vec![
            ("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001"),
            ("FLOORWATCH_INGEST_TOKENS", "acd:ingest-secret-0001"),
        ],
    })
    .with_token("ingest-secret-0001");

    // No token, or a wrong one: the handshake is refused with 401.
    for token in [None, Some("nope")] {
        match tokio_tungstenite::connect_async(ws_url(&d, token)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401)
            }
            other => panic!("expected 401 for {token:?}, got {other:?}"),
        }
    }

    let mut ws = connect(&d, Some("viewer-secret-0001")).await;
    let mut state = LiveState::default();
    let first = next_frame(&mut ws, "the snapshot").await;
    assert!(matches!(first, LiveFrame::Snapshot(_)), "{first:?}");
    state.apply(first).unwrap();
    assert!(state.incidents.is_empty());

    let (status, _) = d
        .post("/api/v1/events", reading("phone-a", 3, 0), None)
        .await;
    assert_eq!(status, 200);
    until_state(&mut ws, &mut state, "phone-a's reading", |s| {
        s.queue("phone-a").is_some_and(|q| q.waiting == 3)
    })
    .await;

    // A breach: the incident comes as a delta.
    d.post("/api/v1/events", reading("phone-a", 25, 0), None)
        .await;
    until_state(&mut ws, &mut state, "the incident", |s| {
        s.incidents_on("phone-a").next().is_some()
    })
    .await;
    let inc = state.incidents_on("phone-a").next().unwrap().clone();
    assert_eq!(inc.severity, Severity::Critical);
    assert_eq!(state.queue("phone-a").unwrap().waiting, 25);
    assert_eq!(state.snapshots, 1, "one snapshot, then deltas only");

    // A second client joining now starts from a snapshot that already has it.
    let mut late = connect(&d, Some("viewer-secret-0001")).await;
    let LiveFrame::Snapshot(snap) = next_frame(&mut late, "the late snapshot").await else {
        panic!("a late client starts with a snapshot")
    };
    assert!(snap.incidents.iter().any(|i| i.id == inc.id));
    assert!(
        snap.trends
            .iter()
            .any(|t| t.queue == "phone-a" && !t.points.is_empty())
    );

    // Back under the clear level: the incident leaves the open list.
    d.post("/api/v1/events", reading("phone-a", 1, 0), None)
        .await;
    until_state(&mut ws, &mut state, "the resolution", |s| {
        s.incidents.is_empty()
    })
    .await;

    // Nothing changes: heartbeats keep coming, each one following the last frame.
    let mut beats = 0;
    while beats < 2 {
        let f = next_frame(&mut ws, "a heartbeat").await;
        if matches!(f, LiveFrame::Heartbeat { .. }) {
            beats += 1;
        }
        state
            .apply(f)
            .expect("heartbeats are numbered like any frame");
    }

    // Shutdown: clients are told the daemon is going away.
    d.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        assert!(Instant::now() < deadline, "no close frame on shutdown");
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(c))))) => break c.code,
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, CloseCode::Away, "close code 1001");
    assert!(d.stop().success());
}

#[tokio::test]
async fn open_on_loopback_needs_no_token_there() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{CONFIG}open_on_loopback = true\n");
    let d = Daemon::start(Start {
        config: &config,
        dir: dir.path(),
        env: vec![("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001")],
    });
    let mut ws = connect(&d, None).await;
    assert!(matches!(
        next_frame(&mut ws, "the snapshot").await,
        LiveFrame::Snapshot(_)
    ));
    // The rest of the API still wants its token.
    assert_eq!(d.get("/api/v1/state").await.0, 401);
}

#[tokio::test]
async fn floorwatch_tail_shows_the_stream_in_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: CONFIG,
        dir: dir.path(),
        env: vec![
            ("FLOORWATCH_VIEWER_TOKENS", "wall:viewer-secret-0001"),
            ("FLOORWATCH_ADMIN_TOKENS", "ops:admin-secret-00001"),
        ],
    })
    .with_token("admin-secret-00001");
    d.post("/api/v1/events", reading("phone-a", 25, 0), None)
        .await;
    d.wait_for("/api/v1/incidents?status=open", 10, |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let tail = |token: Option<&'static str>| {
        let url = d.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(common::BIN);
            cmd.args(["tail", "--once", "--plain", "--url", &url]);
            if let Some(t) = token {
                cmd.args(["--token", t]);
            }
            cmd.output().unwrap()
        })
    };
    let out = tail(Some("viewer-secret-0001")).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("phone-a"))
        .unwrap_or_else(|| panic!("no row for phone-a in\n{text}"));
    assert!(row.starts_with("[!!]") && row.contains("25"), "{row}");
    assert!(
        text.contains("CRITICAL") && text.contains("NOT ACKED"),
        "{text}"
    );
    // Without the token: a clear refusal, not a hang.
    let out = tail(None).await.unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");
}

/// Many queues whose longest waits age on every tick: every frame carries every queue, so a
/// client that stops reading fills its socket within a moment.
const BUSY: &str = r#"
[daemon]
tick = "20ms"
[daemon.limits]
max_queues = 400
[[queue]]
name = "q-*"
channel = "phone"
[live]
frame_interval = "20ms"
heartbeat = "1s"
buffer = 4
"#;

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_back_to_a_snapshot_and_slows_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(Start {
        config: BUSY,
        dir: dir.path(),
        env: vec![],
    });
    let arrivals: Vec<String> = (0..300)
        .map(|i| {
            format!(
                r#"{{"type":"contact","id":"c-{i}","queue":"q-{i}","channel":"phone","event":"arrived","at":"{}"}}"#,
                at(-1)
            )
        })
        .collect();
    let (status, report) = d.post("/api/v1/events", arrivals.join("\n"), None).await;
    assert_eq!((status, report["accepted"].as_u64()), (200, Some(300)));

    // The slow client asks the kernel for a tiny receive buffer, so it fills at once.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr = d.url.trim_start_matches("http://").parse().unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (mut slow, _) =
        tokio_tungstenite::client_async(ws_url(&d, None), MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    let LiveFrame::Snapshot(first) = next_frame(&mut slow, "the slow client's snapshot").await
    else {
        panic!("snapshot first")
    };

    // The slow client stops reading; the fast one keeps up with every frame meanwhile.
    let mut fast = connect(&d, None).await;
    let mut fast_state = LiveState::default();
    let stall = Instant::now();
    let mut frames = 0;
    let mut worst_gap = Duration::ZERO;
    let mut last = Instant::now();
    while stall.elapsed() < Duration::from_secs(3) {
        let f = next_frame(&mut fast, "the fast client's frames").await;
        fast_state.apply(f).expect("the fast client misses nothing");
        worst_gap = worst_gap.max(last.elapsed());
        last = Instant::now();
        frames += 1;
    }
    assert_eq!(
        fast_state.snapshots, 1,
        "the fast client was never cut back"
    );
    assert!(
        frames > 30,
        "the fast client got only {frames} frames in 3 s"
    );
    assert!(
        worst_gap < Duration::from_secs(1),
        "the fast client waited {worst_gap:?} for a frame while the other stalled"
    );

    // Reading again, the slow client is handed a fresh snapshot, well past where it stopped,
    // and goes on from there without a gap.
    let mut slow_state = LiveState::default();
    slow_state
        .apply(LiveFrame::Snapshot(first.clone()))
        .unwrap();
    let mut skipped_to = None;
    for _ in 0..10_000 {
        match next_frame(&mut slow, "the slow client's resync").await {
            LiveFrame::Snapshot(s) => {
                skipped_to = Some(s.seq);
                slow_state.apply(LiveFrame::Snapshot(s)).unwrap();
                break;
            }
            f => slow_state
                .apply(f)
                .expect("frames before the cut follow on"),
        }
    }
    let skipped_to = skipped_to.expect("the slow client was cut back to a snapshot");
    assert!(skipped_to > first.seq + 4, "{skipped_to} vs {}", first.seq);
    for _ in 0..5 {
        let f = next_frame(&mut slow, "frames after the resync").await;
        slow_state
            .apply(f)
            .expect("deltas follow the fresh snapshot");
    }
    assert_eq!(slow_state.queues.len(), 300);
    let (_, metrics) = d.get_text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("floorwatch_live_resyncs_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
}
