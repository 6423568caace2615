//! Floorwatch's wall-board: a Leptos client-side app, compiled to WebAssembly and served by the
//! daemon at `/`. This module is the entry point: it reads the kiosk options, starts the live
//! stream, and routes by the URL's hash (`#/`, `#/incidents`, `#/incidents/{id}`) between the
//! views, rotating through them on a kiosk that asks for it.
//!
//! Where to look:
//! - `live.rs`: the websocket, reconnection, staleness;
//! - `board/`: the wall-board (the tiles' layout, a queue's tile, the open incidents, the
//!   complaints panel, the crisis banner, sound);
//! - `incidents.rs`: the incidents list and the incident page;
//! - `api.rs`: REST calls; `wire.rs`: reading the daemon's JSON; `kiosk.rs`: URL options;
//!   `i18n.rs`: labels; `format.rs`: figures.
//!
//! Hash routing (no router crate) keeps the bundle small and needs nothing from the server: the
//! daemon serves one page, and the query string stays free for the kiosk options.

pub mod api;
pub mod board;
pub mod format;
pub mod i18n;
pub mod incidents;
pub mod kiosk;
pub mod live;
pub mod wire;

#[cfg(test)]
mod fixtures;

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::board::{AUTO_ROTATE_S, CrisisBanner, Sound, SoundControls, WallBoard};
use crate::i18n::{K, Lang, t, tf};
use crate::incidents::{IncidentList, IncidentPage};
use crate::kiosk::Kiosk;
use crate::live::{Conn, Live};

/// Where the token is remembered, so a lead types it once per screen.
const TOKEN_KEY: &str = "floorwatch.token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Board,
    Incidents,
    Incident(u64),
}

/// The view for a location hash; anything unknown is the wall-board.
pub fn parse_hash(hash: &str) -> Route {
    let path = hash.trim_start_matches('#');
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["incidents"] => Route::Incidents,
        ["incidents", id] => id.parse().map_or(Route::Incidents, Route::Incident),
        _ => Route::Board,
    }
}

/// A place in the kiosk rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Board(usize),
    Incidents,
}

/// The rotation: each wall-board page in turn, then the incidents list, then round again.
pub fn next_slot(current: Slot, pages: usize) -> Slot {
    match current {
        Slot::Board(p) if p + 1 < pages => Slot::Board(p + 1),
        Slot::Board(_) => Slot::Incidents,
        Slot::Incidents => Slot::Board(0),
    }
}

/// What every view needs, provided as context. All handles are `Copy`.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub live: Live,
    pub lang: Lang,
    pub kiosk: StoredValue<Kiosk>,
    /// The API token, if any (URL, then localStorage, then the incident page's field).
    pub token: RwSignal<Option<String>>,
    pub route: RwSignal<Route>,
    /// The wall-board page shown while rotating, and how many there are now.
    pub board_page: RwSignal<usize>,
    pub board_pages: RwSignal<usize>,
    pub sound: Sound,
}

/// Navigates to a hash path such as `/incidents/7` (the query string, with the kiosk options,
/// stays as it is).
pub fn go(path: &str) {
    let _ = window().location().set_hash(path);
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Remembers (or with `None`, forgets) the token in localStorage.
pub fn store_token(token: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match token {
            Some(t) => s.set_item(TOKEN_KEY, t),
            None => s.remove_item(TOKEN_KEY),
        };
    }
}

fn stored_token() -> Option<String> {
    storage()
        .and_then(|s| s.get_item(TOKEN_KEY).ok().flatten())
        .filter(|t| !t.is_empty())
}

#[wasm_bindgen(start)]
pub fn main() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let kiosk = kiosk::from_location();
    let lang = kiosk.lang;

    // Page-wide settings go on <html>: the theme for the CSS, the language for the fonts, and the
    // scale as the root font size (style.css sizes everything in rem).
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-theme", kiosk.theme.as_str());
        let _ = root.set_attribute("lang", lang.html_tag());
        if kiosk.scale != 1.0 {
            let percent = format::fixed(kiosk.scale * 100.0, 0);
            let _ = root.set_attribute("style", &format!("font-size: {percent}%"));
        }
    }
    document().set_title(&format!("Floorwatch — {}", t(lang, K::Board)));

    let token = match &kiosk.token {
        Some(t) => {
            store_token(Some(t));
            Some(t.clone())
        }
        None => stored_token(),
    };
    let token = RwSignal::new(token);
    let live = live::start(token);
    let route = RwSignal::new(parse_hash(&window().location().hash().unwrap_or_default()));
    let _ = window_event_listener_untyped("hashchange", move |_| {
        route.set(parse_hash(&window().location().hash().unwrap_or_default()));
    });
    let rotate_s = kiosk.rotate_s;
    let sound = Sound::new(kiosk.sound);
    let ctx = Ctx {
        live,
        lang,
        kiosk: StoredValue::new(kiosk),
        token,
        route,
        board_page: RwSignal::new(0),
        board_pages: RwSignal::new(1),
        sound,
    };
    provide_context(ctx);

    // A kiosk that asks to rotate cycles the board's pages and the incidents list; any other
    // board turns its pages only when its tiles do not fit on one.
    set_interval(
        move || rotate(ctx, rotate_s.is_some()),
        Duration::from_secs(u64::from(rotate_s.unwrap_or(AUTO_ROTATE_S))),
    );

    view! {
        <TopBar />
        <CrisisBanner />
        <StaleNotice />
        <LinkNotice />
        <main class="view" class:fill=move || route.get() == Route::Board>
            {move || match route.get() {
                Route::Board => view! { <WallBoard /> }.into_any(),
                Route::Incidents => view! { <IncidentList /> }.into_any(),
                Route::Incident(id) => view! { <IncidentPage id /> }.into_any(),
            }}
        </main>
    }
}

/// One step of the rotation. An incident page is never rotated away from: somebody opened it on
/// purpose and is reading it. Without `rotate=` only the board's own pages turn.
fn rotate(ctx: Ctx, with_list: bool) {
    let current = match ctx.route.get_untracked() {
        Route::Incident(_) => return,
        Route::Incidents if !with_list => return,
        Route::Incidents => Slot::Incidents,
        Route::Board => Slot::Board(ctx.board_page.get_untracked()),
    };
    let pages = ctx.board_pages.get_untracked();
    match next_slot(current, pages) {
        Slot::Board(p) => {
            ctx.board_page.set(p);
            if current == Slot::Incidents {
                go("/");
            }
        }
        Slot::Incidents if with_list => go("/incidents"),
        Slot::Incidents => ctx.board_page.set(0),
    }
}

#[component]
fn TopBar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let live = ctx.live;
    let clock = move || {
        live.at_ms
            .get()
            .map_or_else(|| "--:--:--".to_string(), format::local_clock)
    };
    let conn = move || {
        let (class, text) = match (live.conn.get(), live.stale.get()) {
            (Conn::Live, false) => ("conn conn-live", format!("● {}", t(lang, K::Live))),
            (Conn::Live, true) | (Conn::Connecting, _) => (
                "conn conn-connecting",
                format!("◌ {}", t(lang, K::Connecting)),
            ),
            (Conn::Down, _) => ("conn conn-down", format!("✕ {}", t(lang, K::Reconnecting))),
        };
        view! { <span class=class>{text}</span> }.into_any()
    };
    let route = ctx.route;
    let on_board = move || route.get() == Route::Board;
    let on_list = move || matches!(route.get(), Route::Incidents | Route::Incident(_));
    view! {
        <header class="topbar">
            <span class="brand">"Floorwatch"</span>
            <nav>
                <a href="#/" class:active=on_board>
                    {t(lang, K::Board)}
                </a>
                <a href="#/incidents" class:active=on_list>
                    {t(lang, K::Incidents)}
                </a>
            </nav>
            <span class="spacer"></span>
            <SoundControls />
            <span class="clock" title=t(lang, K::DaemonClock)>
                {clock}
            </span>
            {conn}
        </header>
    }
}

/// The notice that the figures are old: shown while disconnected or when no frame came for 5 s,
/// gone by itself when frames flow again.
#[component]
fn StaleNotice() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let lang = ctx.lang;
    move || {
        let last = live.last_frame_ms.get()?;
        live.stale.get().then(|| {
            view! {
                <div id="stale-notice" class="stale-notice" role="alert">
                    {tf(lang, K::StaleSince, &[&format::local_clock(last)])}
                </div>
            }
            .into_any()
        })
    }
}

/// The daemon's own links failing (its heartbeat out, a delivery target): a line each, so the
/// floor learns that pages may not be reaching anyone.
#[component]
fn LinkNotice() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let lang = ctx.lang;
    move || {
        let lines: Vec<String> = live.state.with(|s| {
            let since = |l: &floorwatch_protocol::LinkHealth| {
                l.failing_since
                    .as_ref()
                    .map(|t| format::local_clock(format::ms(t)))
                    .unwrap_or_default()
            };
            let beats = s
                .health
                .heartbeats
                .iter()
                .filter(|l| l.failing_since.is_some());
            let targets = s
                .health
                .targets
                .iter()
                .filter(|l| l.failing_since.is_some());
            beats
                .map(|l| tf(lang, K::HeartbeatFailing, &[&l.name, &since(l)]))
                .chain(targets.map(|l| {
                    tf(
                        lang,
                        K::TargetFailing,
                        &[
                            &l.name,
                            &since(l),
                            &l.failures_1h.to_string(),
                            &l.attempts_1h.to_string(),
                        ],
                    )
                }))
                .collect()
        });
        (!lines.is_empty()).then(|| {
            view! {
                <div id="link-notice" class="link-notice" role="alert">
                    {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect::<Vec<_>>()}
                </div>
            }
            .into_any()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_hash(""), Route::Board);
        assert_eq!(parse_hash("#/"), Route::Board);
        assert_eq!(parse_hash("#/nonsense"), Route::Board);
        assert_eq!(parse_hash("#/incidents"), Route::Incidents);
        assert_eq!(parse_hash("#/incidents/"), Route::Incidents);
        assert_eq!(parse_hash("#/incidents/42"), Route::Incident(42));
        assert_eq!(parse_hash("#incidents/42"), Route::Incident(42));
        assert_eq!(parse_hash("#/incidents/x"), Route::Incidents);
    }

    #[test]
    fn rotation_goes_through_pages_then_the_list() {
        let mut slot = Slot::Board(0);
        let mut seen = vec![slot];
        for _ in 0..4 {
            slot = next_slot(slot, 3);
            seen.push(slot);
        }
        assert_eq!(
            seen,
            [
                Slot::Board(0),
                Slot::Board(1),
                Slot::Board(2),
                Slot::Incidents,
                Slot::Board(0)
            ]
        );
        assert_eq!(next_slot(Slot::Board(0), 1), Slot::Incidents);
        assert_eq!(
            next_slot(Slot::Board(5), 2),
            Slot::Incidents,
            "pages shrank"
        );
    }
}
