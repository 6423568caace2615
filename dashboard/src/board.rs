//! The wall-board view (`#/`): a tile per queue with its figures, state and trend lines; the open
//! incidents beside them; the crisis banner; and the optional beep. Built to be read from across
//! the room, and by people who cannot tell red from green: every state has a colour, a shape, a
//! word and a border style.
//!
//! The decisions (tile state, trend geometry, paging) are plain functions, unit-tested on the host.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use floorwatch_protocol::{Incident, IncidentStatus, QueueMetrics, Severity, TrendPoint};
use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{AudioContext, AudioContextState};

use crate::i18n::{self, K, Lang, t, tf};
use crate::{Ctx, api, format, go};

/// The span of the trend lines.
pub const TREND_WINDOW_MS: f64 = 30.0 * 60.0 * 1000.0;
const TREND_W: f64 = 300.0;
const TREND_H: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileState {
    Red,
    Amber,
    Green,
    /// A source that feeds the queue has gone silent: its figures are the last it gave, and
    /// say neither that all is well nor that it is not.
    Stale,
}

impl TileState {
    pub fn as_str(self) -> &'static str {
        match self {
            TileState::Red => "red",
            TileState::Amber => "amber",
            TileState::Green => "green",
            TileState::Stale => "stale",
        }
    }

    /// The shape that says the same as the colour.
    pub fn shape(self) -> &'static str {
        match self {
            TileState::Red => "■",
            TileState::Amber => "▲",
            TileState::Green => "●",
            TileState::Stale => "◌",
        }
    }

    pub fn word(self, lang: Lang) -> &'static str {
        t(
            lang,
            match self {
                TileState::Red => K::StateAlert,
                TileState::Amber => K::StateWarn,
                TileState::Green => K::StateOk,
                TileState::Stale => K::StateStale,
            },
        )
    }
}

/// Stale while a source feeding the queue is silent; else red with a critical or crisis
/// incident open on the queue; amber with a lesser one, or with the service level under its
/// target before any rule has fired; green otherwise.
pub fn tile_state<'a>(
    m: &QueueMetrics,
    incidents: impl Iterator<Item = &'a Incident>,
) -> TileState {
    if m.stale.is_some() {
        return TileState::Stale;
    }
    let mut state = TileState::Green;
    for i in incidents.filter(|i| i.status.is_open()) {
        if i.severity >= Severity::Critical {
            return TileState::Red;
        }
        state = TileState::Amber;
    }
    if m.service_level
        .is_some_and(|sl| sl < m.service_level_target)
    {
        state = TileState::Amber;
    }
    state
}

/// The shape beside a severity word (the word and the colour say it too).
pub fn severity_shape(s: Severity) -> &'static str {
    match s {
        Severity::Crisis => "◆",
        Severity::Critical => "■",
        Severity::Warning => "▲",
        Severity::Info => "●",
    }
}

/// The `points` of the polylines of one trend: x by time over `[t0, t1]`, y scaled from `[lo, hi]`
/// to the box (SVG y grows downwards). A point without a value breaks the line rather than
/// inventing one, so there may be several polylines; a lone point is doubled so it shows as a dot.
pub fn trend_lines(
    points: &[(f64, Option<f64>)],
    t0: f64,
    t1: f64,
    lo: f64,
    hi: f64,
    w: f64,
    h: f64,
) -> Vec<String> {
    let span_t = (t1 - t0).max(1.0);
    let span_v = if hi > lo { hi - lo } else { 1.0 };
    let mut lines = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut flush = |current: &mut Vec<String>| {
        if current.len() == 1 {
            let p = current[0].clone();
            current.push(p);
        }
        if !current.is_empty() {
            lines.push(current.join(" "));
        }
        current.clear();
    };
    for (at, v) in points {
        if *at < t0 || *at > t1 {
            continue;
        }
        match v {
            Some(v) if v.is_finite() => {
                let x = (at - t0) / span_t * w;
                let y = h - ((v - lo) / span_v).clamp(0.0, 1.0) * h;
                current.push(format!("{},{}", format::fixed(x, 1), format::fixed(y, 1)));
            }
            _ => flush(&mut current),
        }
    }
    flush(&mut current);
    lines
}

/// The top of the waiting chart: a little above the highest point, and never under 5 so that one
/// or two waiting contacts do not look like a mountain.
pub fn waiting_scale(points: &[TrendPoint]) -> f64 {
    let max = points.iter().map(|p| p.waiting).max().unwrap_or(0) as f64;
    (max * 1.15).max(5.0).ceil()
}

/// The range of the service-level chart: up to 100%, down to a tenth under the lowest of the
/// values and the target, so the target line and the dips are both in view.
pub fn sl_range(points: &[TrendPoint], target: f64) -> (f64, f64) {
    let low = points
        .iter()
        .filter_map(|p| p.service_level)
        .fold(target, f64::min);
    (((low - 0.05) * 10.0).floor().max(0.0) / 10.0, 1.0)
}

/// The tiles on page `page` (of `per_page` each; all on one page without it).
pub fn page_of<T: Clone>(items: &[T], per_page: Option<usize>, page: usize) -> Vec<T> {
    match per_page {
        Some(n) if n > 0 => items.iter().skip(page * n).take(n).cloned().collect(),
        _ => items.to_vec(),
    }
}

pub fn page_count(items: usize, per_page: Option<usize>) -> usize {
    match per_page {
        Some(n) if n > 0 => items.div_ceil(n).max(1),
        _ => 1,
    }
}

/// Everything a tile shows, computed in one pass per frame. One memo per tile rather than one
/// per figure: each distinct reactive type costs bundle size, and a tile redraws only the texts
/// that changed anyway.
#[derive(Debug, Clone, PartialEq)]
struct TileData {
    state: TileState,
    drill: bool,
    waiting: String,
    longest: String,
    sl: String,
    below_target: bool,
    asa: String,
    abandonment: String,
    agents: String,
    waiting_lines: Vec<String>,
    waiting_max: String,
    sl_lines: Vec<String>,
    target_y: String,
    /// The silent source and its last event's time (browser local), while stale.
    stale: Option<(String, String)>,
}

fn tile_data(s: &floorwatch_protocol::LiveState, queue: &str) -> Option<TileData> {
    let m = s.queue(queue)?;
    let end = s.at.as_ref().map(format::ms).unwrap_or(0.0);
    let start = end - TREND_WINDOW_MS;
    let pts: Vec<TrendPoint> = s
        .trends
        .get(queue)
        .map(|d| d.iter().copied().collect())
        .unwrap_or_default();
    let hi = waiting_scale(&pts);
    let waiting: Vec<_> = pts
        .iter()
        .map(|p| (format::ms(&p.at), Some(f64::from(p.waiting))))
        .collect();
    let target = m.service_level_target;
    let (lo, top) = sl_range(&pts, target);
    let sl: Vec<_> = pts
        .iter()
        .map(|p| (format::ms(&p.at), p.service_level))
        .collect();
    Some(TileData {
        state: tile_state(m, s.incidents_on(queue)),
        drill: s.incidents_on(queue).any(|i| i.drill),
        waiting: m.waiting.to_string(),
        longest: format::mss(m.longest_wait_s),
        sl: format!(
            "{} / {}",
            format::pct(m.service_level),
            format::pct(Some(target))
        ),
        below_target: m.service_level.is_some_and(|v| v < target),
        asa: format::secs(m.asa_s),
        abandonment: format::pct1(m.abandonment_rate),
        agents: format::count(m.agents_available),
        waiting_lines: trend_lines(&waiting, start, end, 0.0, hi, TREND_W, TREND_H),
        waiting_max: format::fixed(hi, 0),
        sl_lines: trend_lines(&sl, start, end, lo, top, TREND_W, TREND_H),
        target_y: format::fixed(TREND_H - (target - lo) / (top - lo) * TREND_H, 1),
        stale: m.stale.as_ref().map(|f| {
            (
                f.source.clone(),
                format::local_clock(format::ms(&f.last_seen)),
            )
        }),
    })
}

/// The wall-board view.
#[component]
pub fn WallBoard() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let kiosk = ctx.kiosk;
    let lang = ctx.lang;
    let per_page = kiosk.with_value(|k| k.rotate_s.and(k.per_page));
    let has_data = Memo::new(move |_| live.state.with(|s| s.seq.is_some()));
    let queues = Memo::new(move |_| {
        live.state.with(|s| {
            kiosk.with_value(|k| {
                s.queues
                    .iter()
                    .filter(|q| k.shows_queue(&q.queue))
                    .map(|q| q.queue.clone())
                    .collect::<Vec<_>>()
            })
        })
    });
    let page = move || {
        let pages = page_count(queues.with(Vec::len), per_page);
        (ctx.board_page.get() % pages, pages)
    };
    let shown = Memo::new(move |_| queues.with(|q| page_of(q, per_page, page().0)));

    // The benchmark's "board-ready" mark: once, after the first snapshot's tiles are in the DOM.
    Effect::new(move |_| {
        if has_data.get() {
            mark_ready(!shown.with(Vec::is_empty), 0);
        }
    });

    let content = move || {
        if !has_data.get() {
            return view! { <div class="connecting">{t(lang, K::Connecting)}</div> }.into_any();
        }
        view! {
            <div class="tiles-area">
                // Redrawn only when the set of queues on the page changes (a memo); the figures
                // inside each tile update on their own. (No keyed <For>: it costs bundle size,
                // and the set of queues hardly ever changes.)
                <div class="tiles">
                    {move || {
                        shown
                            .get()
                            .into_iter()
                            .map(|q| view! { <Tile queue=q /> }.into_any())
                            .collect::<Vec<_>>()
                    }}
                </div>
                {move || {
                    queues
                        .with(Vec::is_empty)
                        .then(|| view! { <div class="empty">{t(lang, K::NoQueues)}</div> }.into_any())
                }}
                {move || {
                    let (p, pages) = page();
                    (pages > 1)
                        .then(|| {
                            view! {
                                <div class="pager">
                                    {tf(lang, K::Page, &[&(p + 1).to_string(), &pages.to_string()])}
                                </div>
                            }
                                .into_any()
                        })
                }}
            </div>
            <IncidentPanel />
        }
        .into_any()
    };
    view! {
        <div class="board" class:stale=move || live.stale.get()>
            {content}
        </div>
    }
}

thread_local! {
    static READY_MARKED: Cell<bool> = const { Cell::new(false) };
}

/// Marks `board-ready` once the tiles are really in the document (effects run after the render,
/// but checking costs nothing and survives scheduling changes in the framework).
fn mark_ready(expect_tiles: bool, tries: u32) {
    if READY_MARKED.with(Cell::get) {
        return;
    }
    let rendered = !expect_tiles || document().query_selector(".tile").ok().flatten().is_some();
    if rendered || tries > 100 {
        READY_MARKED.with(|m| m.set(true));
        if let Some(perf) = window().performance() {
            let _ = perf.mark("board-ready");
        }
    } else {
        set_timeout(
            move || mark_ready(expect_tiles, tries + 1),
            Duration::from_millis(10),
        );
    }
}

fn polylines(lines: Vec<String>) -> Vec<AnyView> {
    lines
        .into_iter()
        .map(|p| view! { <polyline class="line" points=p /> }.into_any())
        .collect()
}

#[component]
fn Tile(queue: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let lang = ctx.lang;
    let q = queue.clone();
    let data = Memo::new(move |_| live.state.with(|s| tile_data(s, &q)));
    // A text of the tile's data; a dash while the queue is gone (its tile is about to leave).
    let text = move |f: fn(&TileData) -> String| {
        move || data.with(|d| d.as_ref().map_or_else(|| format::NONE.to_string(), f))
    };
    let state = move || data.with(|d| d.as_ref().map_or(TileState::Green, |d| d.state));
    let view_box = format!(
        "0 0 {} {}",
        format::fixed(TREND_W, 0),
        format::fixed(TREND_H, 0)
    );

    view! {
        <section
            class=move || format!("tile tile-{}", state().as_str())
            data-queue=queue.clone()
            data-state=move || state().as_str()
        >
            <header class="tile-head">
                <h2 class="queue-name">{queue.clone()}</h2>
                {move || {
                    data.with(|d| d.as_ref().is_some_and(|d| d.drill))
                        .then(|| view! { <span class="drill-tag">{t(lang, K::Drill)}</span> }.into_any())
                }}
                <span class="tile-badge">
                    {move || format!("{} {}", state().shape(), state().word(lang))}
                </span>
            </header>
            {move || {
                data.with(|d| d.as_ref().and_then(|d| d.stale.clone())).map(|(source, since)| {
                    view! {
                        <p class="stale-note">{tf(lang, K::NoDataFrom, &[&source, &since])}</p>
                    }
                })
            }}
            <div class="tile-main">
                <div class="main-fig">
                    <span class="big waiting">{text(|d| d.waiting.clone())}</span>
                    <span class="unit">{t(lang, K::Waiting)}</span>
                </div>
                <div class="main-fig">
                    <span class="mid longest-wait">{text(|d| d.longest.clone())}</span>
                    <span class="unit">{t(lang, K::LongestWait)}</span>
                </div>
            </div>
            <dl class="figures">
                <div
                    class="fig"
                    class:below=move || data.with(|d| d.as_ref().is_some_and(|d| d.below_target))
                >
                    <dt>{t(lang, K::ServiceLevel)}</dt>
                    <dd class="sl">{text(|d| d.sl.clone())}</dd>
                </div>
                <div class="fig">
                    <dt>{t(lang, K::Asa)}</dt>
                    <dd class="asa">{text(|d| d.asa.clone())}</dd>
                </div>
                <div class="fig">
                    <dt>{t(lang, K::Abandonment)}</dt>
                    <dd class="abandonment">{text(|d| d.abandonment.clone())}</dd>
                </div>
                <div class="fig">
                    <dt>{t(lang, K::AgentsAvailable)}</dt>
                    <dd class="agents">{text(|d| d.agents.clone())}</dd>
                </div>
            </dl>
            <div class="trends">
                <figure class="trend">
                    <svg
                        class="trend-waiting"
                        viewBox=view_box.clone()
                        preserveAspectRatio="none"
                        role="img"
                        aria-label=t(lang, K::TrendWaiting)
                    >
                        {move || {
                            polylines(data.with(|d| d.as_ref().map(|d| d.waiting_lines.clone()).unwrap_or_default()))
                        }}
                    </svg>
                    <figcaption>
                        {t(lang, K::TrendWaiting)}
                        <span class="scale">{text(|d| format!(" · max {}", d.waiting_max))}</span>
                    </figcaption>
                </figure>
                <figure class="trend">
                    <svg
                        class="trend-sl"
                        viewBox=view_box
                        preserveAspectRatio="none"
                        role="img"
                        aria-label=t(lang, K::TrendSl)
                    >
                        <line
                            class="target"
                            x1="0"
                            x2=format::fixed(TREND_W, 0)
                            y1=text(|d| d.target_y.clone())
                            y2=text(|d| d.target_y.clone())
                        />
                        {move || {
                            polylines(data.with(|d| d.as_ref().map(|d| d.sl_lines.clone()).unwrap_or_default()))
                        }}
                    </svg>
                    <figcaption>{t(lang, K::TrendSl)}</figcaption>
                </figure>
            </div>
        </section>
    }
}

/// Whether an incident belongs on this screen: with a `queues=` filter, incidents on the queues
/// filtered out are left out; those on other scopes (complaint groups) always show.
pub fn incident_shown(is_queue: bool, shows_queue: bool) -> bool {
    !is_queue || shows_queue
}

#[component]
fn IncidentPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let lang = ctx.lang;
    let error = RwSignal::new(None::<String>);
    let rows = Memo::new(move |_| {
        live.state.with(|s| {
            ctx.kiosk.with_value(|k| {
                // One row per situation, its members folded into it.
                floorwatch_protocol::situations(&s.incidents)
                    .into_iter()
                    .filter(|sit| {
                        std::iter::once(sit.lead)
                            .chain(sit.members.iter().copied())
                            .any(|i| {
                                incident_shown(s.queue(&i.scope).is_some(), k.shows_queue(&i.scope))
                            })
                    })
                    .map(|sit| {
                        let members: Vec<String> = sit
                            .members
                            .iter()
                            .map(|m| format!("{} · {}", m.scope, i18n::severity(lang, m.severity)))
                            .collect();
                        (sit.lead.clone(), members)
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    view! {
        <aside class="incident-panel">
            <h2 class="panel-title">
                {t(lang, K::OpenIncidents)}
                <span class="count">{move || rows.with(Vec::len).to_string()}</span>
            </h2>
            {move || {
                error
                    .get()
                    .map(|e| view! { <div class="action-error" role="alert">{e}</div> }.into_any())
            }}
            {move || {
                rows.with(Vec::is_empty)
                    .then(|| view! { <div class="empty">{t(lang, K::NoOpenIncidents)}</div> }.into_any())
            }}
            // Rows are redrawn when the open incidents change (rarely); their ages tick on their own.
            <ul class="incidents">
                {move || {
                    rows.get()
                        .into_iter()
                        .map(|(i, members)| incident_row(i, members, ctx, error))
                        .collect::<Vec<_>>()
                }}
            </ul>
        </aside>
    }
}

/// One situation: its lead, with the members that joined it folded into a line.
fn incident_row(
    i: Incident,
    members: Vec<String>,
    ctx: Ctx,
    error: RwSignal<Option<String>>,
) -> AnyView {
    let lang = ctx.lang;
    let live = ctx.live;
    let id = i.id;
    let opened = format::ms(&i.opened_at);
    let age = move || {
        live.daemon_now_ms()
            .map(|now| format::age(((now - opened) / 1000.0) as i64))
            .unwrap_or_default()
    };
    let escalation = i
        .escalation
        .as_ref()
        .map(|e| format!("{} {} · {}", t(lang, K::Level), e.level, e.policy))
        .unwrap_or_default();
    let busy = RwSignal::new(false);
    let ack = move |ev: MouseEvent| {
        // The row opens the incident page; the button must not.
        ev.stop_propagation();
        busy.set(true);
        let token = ctx.token.get_untracked();
        spawn_local(async move {
            match api::ack(id, None, token, None).await {
                Ok(_) => error.set(None),
                Err(e) => error.set(Some(format!("#{id}: {}", e.message(lang)))),
            }
            busy.set(false);
        });
    };
    let acknowledgement = match (&i.acknowledged_by, i.status) {
        (None, IncidentStatus::Firing) => view! {
            <button class="ack-button" on:click=ack disabled=move || busy.get()>
                {t(lang, K::Ack)}
            </button>
        }
        .into_any(),
        (Some(who), _) => text_span("acked", tf(lang, K::AckedBy, &[who])),
        (None, _) => text_span("acked", i18n::status(lang, i.status).to_string()),
    };
    let sev = i.severity;
    view! {
        <li
            class=format!("incident sev-{}{}", sev.as_str(), if i.drill { " drill" } else { "" })
            data-incident-id=id.to_string()
            on:click=move |_| go(&format!("/incidents/{id}"))
        >
            <span class="sev">{severity_label(lang, sev)}</span>
            <span class="title">{drill_tag(lang, i.drill)} {i.title_in(lang.language()).to_string()}</span>
            <span class="scope">{i.scope.clone()}</span>
            {(!members.is_empty())
                .then(|| {
                    text_span("members", tf(lang, K::AlsoInSituation, &[&members.join(", ")]))
                })}
            <span class="age">{age}</span>
            <span class="esc">{escalation}</span>
            <span class="ack">{acknowledgement}</span>
        </li>
    }
    .into_any()
}

fn text_span(class: &'static str, text: String) -> AnyView {
    view! { <span class=class>{text}</span> }.into_any()
}

/// "■ CRITICAL": shape and word, for places where colour says it too.
pub fn severity_label(lang: Lang, s: Severity) -> String {
    format!(
        "{} {}",
        severity_shape(s),
        i18n::severity(lang, s).to_ascii_uppercase()
    )
}

/// The DRILL marker, or nothing.
pub fn drill_tag(lang: Lang, drill: bool) -> Option<AnyView> {
    drill.then(|| text_span("drill-tag", t(lang, K::Drill).to_string()))
}

/// The banner across the top while a crisis is open (on every view: a crisis is everybody's).
#[component]
pub fn CrisisBanner() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let crises = Memo::new(move |_| {
        ctx.live.state.with(|s| {
            s.incidents
                .iter()
                .filter(|i| i.severity == Severity::Crisis && i.status.is_open())
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    move || {
        let list = crises.get();
        if list.is_empty() {
            return None;
        }
        let all_drills = list.iter().all(|c| c.drill);
        Some(
            view! {
                <div
                    id="crisis-banner"
                    class=if all_drills { "crisis-banner drill" } else { "crisis-banner" }
                    role="alert"
                >
                    <span class="crisis-word">
                        {format!("{} {}", severity_shape(Severity::Crisis), t(lang, K::Crisis))}
                    </span>
                    {list
                        .into_iter()
                        .map(|i| {
                            view! {
                                <a class="crisis-item" href=format!("#/incidents/{}", i.id)>
                                    {drill_tag(lang, i.drill)}
                                    {format!("{} ({})", i.title_in(lang.language()), i.scope)}
                                </a>
                            }
                                .into_any()
                        })
                        .collect::<Vec<_>>()}
                </div>
            }
            .into_any(),
        )
    }
}

/// Whether the board should beep, and whether the browser lets it.
#[derive(Clone, Copy)]
pub struct Sound {
    /// Asked for (`sound=1`, or the toggle).
    pub wanted: RwSignal<bool>,
    /// The AudioContext is running (browsers keep it suspended until a user gesture).
    pub running: RwSignal<bool>,
}

thread_local! {
    static AUDIO: RefCell<Option<AudioContext>> = const { RefCell::new(None) };
}

impl Sound {
    pub fn new(wanted: bool) -> Sound {
        let s = Sound {
            wanted: RwSignal::new(wanted),
            running: RwSignal::new(false),
        };
        if wanted {
            // A kiosk browser started with autoplay allowed runs at once; others stay suspended
            // and the "enable sound" button shows.
            s.context();
        }
        s
    }

    /// The page's one AudioContext, made on first use.
    fn context(self) -> Option<AudioContext> {
        AUDIO.with(|a| {
            if a.borrow().is_none() {
                let ctx = AudioContext::new().ok()?;
                let running = self.running;
                let on_change = Closure::<dyn FnMut()>::new(move || {
                    running.set(audio_running());
                });
                ctx.set_onstatechange(Some(on_change.as_ref().unchecked_ref()));
                // One context for the page's life: its handler lives as long.
                on_change.forget();
                *a.borrow_mut() = Some(ctx);
            }
            let ctx = a.borrow().clone();
            self.running.set(audio_running_in(ctx.as_ref()));
            ctx
        })
    }

    /// From a click: make and resume the context (only a user gesture may).
    pub fn enable(self) {
        self.wanted.set(true);
        if let Some(ctx) = self.context() {
            let _ = ctx.resume();
        }
    }

    pub fn toggle(self) {
        if self.wanted.get_untracked() {
            self.wanted.set(false);
        } else {
            self.enable();
        }
    }

    /// Two short beeps for critical, three falling for crisis.
    pub fn beep(self, severity: Severity) {
        if !self.wanted.get_untracked() {
            return;
        }
        let Some(ctx) = AUDIO.with(|a| a.borrow().clone()) else {
            return;
        };
        if ctx.state() != AudioContextState::Running {
            return;
        }
        let tones: &[(f32, f64)] = if severity >= Severity::Crisis {
            &[(988.0, 0.0), (784.0, 0.28), (988.0, 0.56)]
        } else {
            &[(880.0, 0.0), (880.0, 0.28)]
        };
        let t0 = ctx.current_time();
        for (freq, at) in tones {
            let _ = tone(&ctx, *freq, t0 + at, 0.2);
        }
    }
}

fn tone(ctx: &AudioContext, freq: f32, start: f64, len: f64) -> Result<(), wasm_bindgen::JsValue> {
    let osc = ctx.create_oscillator()?;
    osc.frequency().set_value(freq);
    let gain = ctx.create_gain()?;
    // A short ramp in and out: a hard start or stop clicks.
    gain.gain().set_value_at_time(0.0001, start)?;
    gain.gain()
        .exponential_ramp_to_value_at_time(0.35, start + 0.02)?;
    gain.gain()
        .exponential_ramp_to_value_at_time(0.0001, start + len)?;
    osc.connect_with_audio_node(&gain)?;
    gain.connect_with_audio_node(&ctx.destination())?;
    osc.start_with_when(start)?;
    osc.stop_with_when(start + len + 0.02)?;
    Ok(())
}

fn audio_running() -> bool {
    AUDIO.with(|a| audio_running_in(a.borrow().as_ref()))
}

fn audio_running_in(ctx: Option<&AudioContext>) -> bool {
    ctx.is_some_and(|c| c.state() == AudioContextState::Running)
}

/// The top bar's sound controls: the toggle, and "enable sound" while the browser holds it back.
#[component]
pub fn SoundControls() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let sound = ctx.sound;
    // Beep on each new alarm from the live stream.
    Effect::new(move |_| {
        let (n, severity) = ctx.live.alarm.get();
        if n > 0 {
            sound.beep(severity);
        }
    });
    view! {
        <button
            class="sound-toggle"
            aria-pressed=move || sound.wanted.get().to_string()
            on:click=move |_| sound.toggle()
        >
            // Words, not emoji: a kiosk PC may have no emoji font.
            {move || t(lang, if sound.wanted.get() { K::SoundOn } else { K::SoundOff })}
        </button>
        {move || {
            (sound.wanted.get() && !sound.running.get())
                .then(|| {
                    view! {
                        <button class="enable-sound" on:click=move |_| sound.enable()>
                            {t(lang, K::EnableSound)}
                        </button>
                    }
                        .into_any()
                })
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(sl: Option<f64>) -> QueueMetrics {
        QueueMetrics {
            queue: "phone".into(),
            service_level: sl,
            service_level_target: 0.8,
            ..Default::default()
        }
    }

    fn inc(sev: Severity) -> Incident {
        crate::fixtures::incident(1, sev)
    }

    #[test]
    fn a_silent_feed_is_stale_whatever_is_open() {
        let mut m = metrics(Some(0.9));
        m.stale = Some(floorwatch_protocol::StaleFeed {
            source: "acd-1".into(),
            last_seen: "2026-11-23T09:42:00Z".parse().unwrap(),
            silent_s: 120.0,
            after_s: 60.0,
        });
        assert_eq!(tile_state(&m, [].iter()), TileState::Stale);
        assert_eq!(
            tile_state(&m, [inc(Severity::Crisis)].iter()),
            TileState::Stale
        );
        assert_eq!(TileState::Stale.word(Lang::Zh), "无数据");
    }

    #[test]
    fn tile_states() {
        let m = metrics(Some(0.9));
        assert_eq!(tile_state(&m, [].iter()), TileState::Green);
        assert_eq!(tile_state(&metrics(None), [].iter()), TileState::Green);
        assert_eq!(
            tile_state(&metrics(Some(0.79)), [].iter()),
            TileState::Amber
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Info)].iter()),
            TileState::Amber
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Warning)].iter()),
            TileState::Amber
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Warning), inc(Severity::Critical)].iter()),
            TileState::Red
        );
        assert_eq!(
            tile_state(&m, [inc(Severity::Crisis)].iter()),
            TileState::Red
        );
        let mut resolved = inc(Severity::Crisis);
        resolved.status = IncidentStatus::Resolved;
        assert_eq!(tile_state(&m, [resolved].iter()), TileState::Green);
        for s in [TileState::Red, TileState::Amber, TileState::Green] {
            assert_ne!(s.word(Lang::En), s.word(Lang::Zh));
        }
    }

    #[test]
    fn trend_geometry() {
        // 0..100 s on a 100 x 10 box, values 0..10.
        let pts = [
            (-5.0, Some(1.0)),
            (0.0, Some(0.0)),
            (50.0, Some(5.0)),
            (100.0, Some(20.0)),
        ];
        assert_eq!(
            trend_lines(&pts, 0.0, 100.0, 0.0, 10.0, 100.0, 10.0),
            ["0.0,10.0 50.0,5.0 100.0,0.0"],
            "out-of-window points dropped, values clamped into the box"
        );
        let gappy = [
            (0.0, Some(1.0)),
            (10.0, None),
            (20.0, Some(1.0)),
            (30.0, Some(0.0)),
        ];
        assert_eq!(
            trend_lines(&gappy, 0.0, 100.0, 0.0, 1.0, 100.0, 10.0),
            ["0.0,0.0 0.0,0.0", "20.0,0.0 30.0,10.0"],
            "a gap splits the line; a lone point is a dot"
        );
        assert!(trend_lines(&[], 0.0, 1.0, 0.0, 1.0, 1.0, 1.0).is_empty());
    }

    fn point(waiting: u32, sl: Option<f64>) -> TrendPoint {
        TrendPoint {
            at: "2026-11-23T09:00:00Z".parse().unwrap(),
            waiting,
            longest_wait_s: 0.0,
            service_level: sl,
            asa_s: None,
            abandonment_rate: None,
        }
    }

    #[test]
    fn trend_scales() {
        assert_eq!(waiting_scale(&[]), 5.0);
        assert_eq!(waiting_scale(&[point(2, None)]), 5.0);
        assert_eq!(waiting_scale(&[point(20, None), point(3, None)]), 23.0);
        assert_eq!(sl_range(&[], 0.8), (0.7, 1.0));
        assert_eq!(
            sl_range(&[point(0, Some(0.42)), point(0, None)], 0.8),
            (0.3, 1.0)
        );
        assert_eq!(sl_range(&[point(0, Some(0.01))], 0.8), (0.0, 1.0));
    }

    #[test]
    fn paging() {
        let tiles = ["a", "b", "c", "d", "e"];
        assert_eq!(page_count(tiles.len(), None), 1);
        assert_eq!(page_of(&tiles, None, 3), tiles);
        assert_eq!(page_count(tiles.len(), Some(2)), 3);
        assert_eq!(page_of(&tiles, Some(2), 0), ["a", "b"]);
        assert_eq!(page_of(&tiles, Some(2), 2), ["e"]);
        assert_eq!(page_count(0, Some(4)), 1);
    }

    #[test]
    fn filtered_incidents() {
        assert!(incident_shown(true, true));
        assert!(!incident_shown(true, false));
        assert!(incident_shown(false, false), "complaint groups always show");
    }
}
