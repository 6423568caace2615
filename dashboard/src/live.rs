//! The live stream: one websocket to `/api/v1/live`, its frames applied to a
//! [`floorwatch_protocol::LiveState`] held in a signal, and everything about the connection's
//! health the board must show: connected or not, when the last frame came (stale data must
//! never look live), and which incidents are new enough to beep for.
//!
//! The connection mends itself: on a close (the daemon restarting sends 1001), a sequence gap, an
//! unreadable frame, or silence longer than the daemon's heartbeat promise, it reconnects with
//! exponential backoff. The old state stays on screen, dimmed, until the next snapshot replaces it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use floorwatch_protocol::{Incident, LiveFrame, LiveState, Severity};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::{format, kiosk, wire};

/// Without any frame for this long the figures are shown as stale.
pub const STALE_AFTER_MS: f64 = 5_000.0;
/// Without any frame for this long (the daemon promises a heartbeat every 2 s) the connection is
/// taken for dead and replaced: a half-open TCP connection never sends a close.
pub const DEAD_AFTER_MS: f64 = 15_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// Socket opening, or open and waiting for the snapshot.
    Connecting,
    /// A snapshot arrived on this connection: the state is current.
    Live,
    /// Closed; a reconnect is scheduled.
    Down,
}

/// The signals the rest of the board reads. `Copy`, so components take it by value.
#[derive(Clone, Copy)]
pub struct Live {
    pub state: RwSignal<LiveState>,
    pub conn: RwSignal<Conn>,
    /// Browser time (ms) of the last frame received, of any kind.
    pub last_frame_ms: RwSignal<Option<f64>>,
    /// Browser time (ms), ticking every second: ages and staleness follow it.
    pub now_ms: RwSignal<f64>,
    /// The daemon's clock (ms) at the last frame.
    pub at_ms: Memo<Option<f64>>,
    pub stale: Memo<bool>,
    /// Bumped when an incident newly becomes critical or crisis (the sound listens), with the worst
    /// severity among them.
    pub alarm: RwSignal<(u64, Severity)>,
    /// Bumped whenever the open incidents change: the incident views re-fetch on it.
    pub incidents_rev: RwSignal<u64>,
}

impl Live {
    /// The daemon's clock now, estimated from its last frame plus the browser time elapsed since.
    /// Ages are measured against this rather than the browser's own clock, which may be off.
    pub fn daemon_now_ms(&self) -> Option<f64> {
        let at = self.at_ms.get()?;
        let since = self.now_ms.get() - self.last_frame_ms.get()?;
        Some(at + since.max(0.0))
    }

    /// The same, read without subscribing (for code outside reactive views).
    pub fn daemon_now_ms_untracked(&self) -> Option<f64> {
        let at = self.at_ms.get_untracked()?;
        let since = self.now_ms.get_untracked() - self.last_frame_ms.get_untracked()?;
        Some(at + since.max(0.0))
    }
}

/// Whether the figures on screen may be out of date.
pub fn is_stale(conn: Conn, last_frame_ms: Option<f64>, now_ms: f64) -> bool {
    match last_frame_ms {
        None => true,
        Some(t) => conn != Conn::Live || now_ms - t > STALE_AFTER_MS,
    }
}

/// Reconnect delays: 0.5 s, doubling, at most 10 s; back to 0.5 s after a good snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    next_ms: u32,
}

impl Backoff {
    pub const FIRST_MS: u32 = 500;
    pub const MAX_MS: u32 = 10_000;

    pub fn new() -> Self {
        Backoff {
            next_ms: Self::FIRST_MS,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> u32 {
        let d = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Self::MAX_MS);
        d
    }

    pub fn reset(&mut self) {
        self.next_ms = Self::FIRST_MS;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// The worst severity among incidents that are critical or crisis and were not so before (by id).
/// With `seed`, only records them: the incidents of the board's first snapshot were there before
/// anybody looked, and must not all beep at once.
pub fn new_alarms(seen: &mut Vec<u64>, incidents: &[Incident], seed: bool) -> Option<Severity> {
    let mut worst = None;
    for i in incidents {
        if i.severity >= Severity::Critical && i.status.is_open() && !seen.contains(&i.id) {
            seen.push(i.id);
            if !seed {
                worst = worst.max(Some(i.severity));
            }
        }
    }
    // Forget the closed ones, so the list stays as short as the open incidents.
    seen.retain(|id| incidents.iter().any(|i| i.id == *id));
    worst
}

/// The websocket address for this page, with the token when one is known.
pub fn live_url(page_protocol: &str, host: &str, token: Option<&str>) -> String {
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    let mut url = format!("{scheme}://{host}/api/v1/live");
    if let Some(t) = token {
        url.push_str("?token=");
        url.push_str(&kiosk::encode(t));
    }
    url
}

/// The socket and its handlers: the handlers must live as long as the socket can call them.
struct Socket {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

struct Inner {
    live: Live,
    token: RwSignal<Option<String>>,
    socket: Option<Socket>,
    /// Counts connections, so that events of a replaced socket are ignored.
    generation: u64,
    backoff: Backoff,
    retry_pending: bool,
    /// Browser time the current connection was opened (the watchdog's start for a silent one).
    opened_ms: f64,
    /// Ids of the incidents already seen critical or worse (a handful: a list will do).
    seen: Vec<u64>,
    seeded: bool,
}

type Shared = Rc<RefCell<Inner>>;

/// Creates the signals, opens the connection and starts the one-second ticker.
pub fn start(token: RwSignal<Option<String>>) -> Live {
    let state = RwSignal::new(LiveState::default());
    let conn = RwSignal::new(Conn::Connecting);
    let last_frame_ms = RwSignal::new(None);
    let now_ms = RwSignal::new(js_sys::Date::now());
    let at_ms = Memo::new(move |_| state.with(|s| s.at.as_ref().map(format::ms)));
    let stale = Memo::new(move |_| is_stale(conn.get(), last_frame_ms.get(), now_ms.get()));
    let live = Live {
        state,
        conn,
        last_frame_ms,
        now_ms,
        at_ms,
        stale,
        alarm: RwSignal::new((0, Severity::Info)),
        incidents_rev: RwSignal::new(0),
    };
    let inner: Shared = Rc::new(RefCell::new(Inner {
        live,
        token,
        socket: None,
        generation: 0,
        backoff: Backoff::new(),
        retry_pending: false,
        opened_ms: 0.0,
        seen: Vec::new(),
        seeded: false,
    }));
    connect(&inner);
    let ticker = inner.clone();
    set_interval(
        move || {
            let now = js_sys::Date::now();
            now_ms.set(now);
            watchdog(&ticker, now);
        },
        Duration::from_secs(1),
    );
    live
}

fn connect(inner: &Shared) {
    let mut me = inner.borrow_mut();
    me.retry_pending = false;
    me.generation += 1;
    let generation = me.generation;
    if let Some(old) = me.socket.take() {
        detach(&old.ws);
        // Dropped here, in a timer callback, never inside one of its own handlers.
        drop(old);
    }
    me.opened_ms = js_sys::Date::now();
    me.live.conn.set(Conn::Connecting);
    let location = window().location();
    let url = live_url(
        &location.protocol().unwrap_or_default(),
        &location.host().unwrap_or_default(),
        me.token.get_untracked().as_deref(),
    );
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => {
            drop(me);
            schedule_reconnect(inner);
            return;
        }
    };
    let on_message = {
        let inner = inner.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if inner.borrow().generation != generation {
                return;
            }
            if let Some(text) = ev.data().as_string() {
                on_frame(&inner, &text);
            }
        })
    };
    let on_close = {
        let inner = inner.clone();
        // Any close, 1001 (daemon shutting down) included, means: try again after a while.
        Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
            if inner.borrow().generation != generation {
                return;
            }
            schedule_reconnect(&inner);
        })
    };
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    me.socket = Some(Socket {
        ws,
        _on_message: on_message,
        _on_close: on_close,
    });
}

fn on_frame(inner: &Shared, text: &str) {
    let live = inner.borrow().live;
    live.last_frame_ms.set(Some(js_sys::Date::now()));
    let frame = match wire::frame(text) {
        Ok(f) => f,
        Err(e) => {
            // A frame we cannot read may have been a delta: our picture can no longer be trusted.
            web_sys::console::warn_1(&format!("floorwatch: unreadable live frame: {e}").into());
            restart(inner);
            return;
        }
    };
    let is_snapshot = matches!(frame, LiveFrame::Snapshot(_));
    let is_heartbeat = matches!(frame, LiveFrame::Heartbeat { .. });
    let touches_incidents = match &frame {
        LiveFrame::Snapshot(_) => true,
        LiveFrame::Delta(d) => !d.incidents.is_empty() || !d.closed.is_empty(),
        LiveFrame::Heartbeat { .. } => false,
    };
    let applied = live
        .state
        .try_maybe_update(|s| {
            let r = s.apply(frame);
            (r.is_ok(), r)
        })
        .unwrap_or(Ok(()));
    if let Err(gap) = applied {
        web_sys::console::warn_1(&format!("floorwatch: {gap}; reconnecting").into());
        restart(inner);
        return;
    }
    if touches_incidents {
        live.incidents_rev.update(|n| *n += 1);
    }
    let mut me = inner.borrow_mut();
    if is_snapshot {
        me.backoff.reset();
        live.conn.set(Conn::Live);
    }
    if !is_heartbeat {
        let seed = !me.seeded;
        me.seeded = true;
        let Inner { seen, .. } = &mut *me;
        let worst = live
            .state
            .with_untracked(|s| new_alarms(seen, &s.incidents, seed));
        drop(me);
        if let Some(sev) = worst {
            live.alarm.update(|(n, s)| {
                *n += 1;
                *s = sev;
            });
        }
    }
}

/// Drops the current connection and schedules a new one.
fn restart(inner: &Shared) {
    {
        let mut me = inner.borrow_mut();
        // Events still queued for this socket are to be ignored from now on.
        me.generation += 1;
        if let Some(s) = &me.socket {
            detach(&s.ws);
            let _ = s.ws.close();
        }
    }
    schedule_reconnect(inner);
}

fn detach(ws: &WebSocket) {
    ws.set_onmessage(None);
    ws.set_onclose(None);
}

fn schedule_reconnect(inner: &Shared) {
    let mut me = inner.borrow_mut();
    if me.retry_pending {
        return;
    }
    me.retry_pending = true;
    me.live.conn.set(Conn::Down);
    let delay = me.backoff.next_delay();
    drop(me);
    let inner = inner.clone();
    set_timeout(
        move || connect(&inner),
        Duration::from_millis(u64::from(delay)),
    );
}

fn watchdog(inner: &Shared, now: f64) {
    let silent_since = {
        let me = inner.borrow();
        if me.retry_pending || me.socket.is_none() {
            return;
        }
        let last = me.live.last_frame_ms.get_untracked().unwrap_or(0.0);
        last.max(me.opened_ms)
    };
    if now - silent_since > DEAD_AFTER_MS {
        web_sys::console::warn_1(&"floorwatch: live stream silent; reconnecting".into());
        restart(inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::incident as inc;
    use floorwatch_protocol::IncidentStatus;

    #[test]
    fn backoff_doubles_to_ten_seconds_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u32> = (0..7).map(|_| b.next_delay()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        b.reset();
        assert_eq!(b.next_delay(), 500);
    }

    #[test]
    fn staleness() {
        assert!(is_stale(Conn::Connecting, None, 0.0));
        assert!(!is_stale(Conn::Live, Some(1_000.0), 5_999.0));
        assert!(is_stale(Conn::Live, Some(1_000.0), 6_001.0));
        assert!(is_stale(Conn::Down, Some(1_000.0), 1_001.0));
        assert!(is_stale(Conn::Connecting, Some(1_000.0), 1_001.0));
    }

    #[test]
    fn alarms_only_for_new_critical_incidents() {
        let mut seen = Vec::new();
        let first = [inc(1, Severity::Crisis), inc(2, Severity::Warning)];
        assert_eq!(
            new_alarms(&mut seen, &first, true),
            None,
            "first snapshot is quiet"
        );
        assert_eq!(new_alarms(&mut seen, &first, false), None, "already seen");
        let next = [
            inc(1, Severity::Crisis),
            inc(2, Severity::Critical),
            inc(3, Severity::Warning),
        ];
        assert_eq!(
            new_alarms(&mut seen, &next, false),
            Some(Severity::Critical),
            "a warning raised to critical alarms"
        );
        let mut resolved = inc(4, Severity::Crisis);
        resolved.status = IncidentStatus::Resolved;
        assert_eq!(new_alarms(&mut seen, &[resolved], false), None);
        assert_eq!(
            new_alarms(
                &mut seen,
                &[inc(5, Severity::Critical), inc(6, Severity::Crisis)],
                false
            ),
            Some(Severity::Crisis)
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            live_url("http:", "board.local:8080", None),
            "ws://board.local:8080/api/v1/live"
        );
        assert_eq!(
            live_url("https:", "fw", Some("a b")),
            "wss://fw/api/v1/live?token=a%20b"
        );
    }
}
