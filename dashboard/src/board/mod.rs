//! The wall-board view (`#/`): a tile per queue, filling the space left of a side column that
//! holds the open incidents (sized to their content) and the complaints panel below them. Built
//! to be read from across the room, and by people who cannot tell red from green: every state
//! has a colour, a shape, a word and a border style.
//!
//! The tiles' grid is worked out from the space they have and how many there are ([`grid`]):
//! as many columns as make the tiles largest. Only when they would be smaller than a tile can be
//! and still be read do they go onto pages, which then rotate by themselves.
//!
//! Here: the view and its layout. `tile.rs`: a queue's tile; `panel.rs`: the open incidents and
//! the crisis banner; `complaints.rs`: the complaints panel; `sound.rs`: the beep.

mod complaints;
mod panel;
mod sound;
mod tile;

use std::cell::Cell;
use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;

pub use panel::{CrisisBanner, severity_label};
pub use sound::{Sound, SoundControls};

use crate::Ctx;
use crate::i18n::{K, t, tf};
use complaints::ComplaintsPanel;
use panel::IncidentPanel;
use tile::Tile;

/// Space between tiles (CSS px; style.css uses the same).
pub const GAP: f64 = 12.0;
/// The smallest tile that still reads from five metres: its queue name, state and the two large
/// figures (24 queues fit at 1280x720 under a crisis banner).
pub const MIN_TILE_W: f64 = 150.0;
pub const MIN_TILE_H: f64 = 96.0;
/// Seconds per page when the tiles do not fit and no `rotate=` is given.
pub const AUTO_ROTATE_S: u32 = 15;

/// How the tiles are laid out: a grid of `cols` x `rows`, `per_page` tiles a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub cols: usize,
    pub rows: usize,
    pub per_page: usize,
}

/// The grid for `n` tiles in a `w` x `h` box: the column count that makes the tiles largest
/// (measured as the lesser of their width and 1.6 times their height, as tiles read best a bit
/// wider than tall). When even that makes them smaller than `MIN_TILE_W` x `MIN_TILE_H`, a page
/// holds what fits at that size, laid out the same way.
pub fn grid(n: usize, w: f64, h: f64) -> Grid {
    let best = |n: usize| -> (usize, usize, f64, f64) {
        let n = n.max(1);
        (1..=n)
            .map(|cols| {
                let rows = n.div_ceil(cols);
                let tw = (w - GAP * (cols - 1) as f64) / cols as f64;
                let th = (h - GAP * (rows - 1) as f64) / rows as f64;
                (cols, rows, tw, th)
            })
            .max_by(|a, b| {
                let size = |x: &(usize, usize, f64, f64)| x.2.min(x.3 * 1.6);
                size(a).total_cmp(&size(b)).then(b.0.cmp(&a.0))
            })
            .unwrap_or((1, 1, w, h))
    };
    let (cols, rows, tw, th) = best(n);
    if n <= 1 || (tw >= MIN_TILE_W && th >= MIN_TILE_H) {
        return Grid {
            cols,
            rows,
            per_page: n.max(1),
        };
    }
    let fit_cols = (((w + GAP) / (MIN_TILE_W + GAP)).floor() as usize).max(1);
    let fit_rows = (((h + GAP) / (MIN_TILE_H + GAP)).floor() as usize).max(1);
    let per_page = (fit_cols * fit_rows).min(n).max(1);
    let (cols, rows, _, _) = best(per_page);
    Grid {
        cols,
        rows,
        per_page,
    }
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

/// The wall-board view.
#[component]
pub fn WallBoard() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let kiosk = ctx.kiosk;
    let lang = ctx.lang;
    let asked_per_page = kiosk.with_value(|k| k.rotate_s.and(k.per_page));
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
    // The tiles' box, measured after each render and on every resize of the window.
    let area = NodeRef::<Div>::new();
    let size = RwSignal::new((0.0f64, 0.0f64));
    let measure = move || {
        if let Some(el) = area.get_untracked() {
            let r = el.get_bounding_client_rect();
            let s = (r.width().floor(), r.height().floor());
            if size.get_untracked() != s {
                size.set(s);
            }
        }
    };
    let on_resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || on_resize.remove());
    // Banners and notices above the board come and go with the live state and take height from
    // the tiles: measured again after each frame is drawn (it costs one layout read).
    Effect::new(move |_| {
        has_data.track();
        live.state.track();
        live.stale.track();
        request_animation_frame(measure);
    });
    let layout = Memo::new(move |_| {
        let (w, h) = size.get();
        let n = queues.with(Vec::len);
        let g = grid(n, w, h);
        match asked_per_page {
            Some(p) => grid(p.min(n).max(1), w, h),
            None if w > 0.0 => g,
            None => Grid {
                per_page: n.max(1),
                ..g
            },
        }
    });
    let per_page = move || Some(layout.get().per_page);
    let page = move || {
        let pages = page_count(queues.with(Vec::len), per_page());
        (ctx.board_page.get() % pages, pages)
    };
    Effect::new(move |_| ctx.board_pages.set(page().1));
    let shown = Memo::new(move |_| queues.with(|q| page_of(q, per_page(), page().0)));

    // The benchmark's "board-ready" mark: once, after the first snapshot's tiles are in the DOM.
    Effect::new(move |_| {
        if has_data.get() {
            mark_ready(!shown.with(Vec::is_empty), 0);
        }
    });

    let tiles_style = move || {
        let g = layout.get();
        format!("--cols:{};--rows:{}", g.cols, g.rows)
    };
    view! {
        <div class="board" class:stale=move || live.stale.get()>
            <div class="tiles-area" node_ref=area>
                {move || {
                    (!has_data.get())
                        .then(|| view! { <div class="connecting">{t(lang, K::Connecting)}</div> }.into_any())
                }}
                // Redrawn only when the set of queues on the page changes (a memo); the figures
                // inside each tile update on their own. (No keyed <For>: it costs bundle size,
                // and the set of queues hardly ever changes.)
                <div class="tiles" style=tiles_style>
                    {move || {
                        shown
                            .get()
                            .into_iter()
                            .map(|q| view! { <Tile queue=q /> }.into_any())
                            .collect::<Vec<_>>()
                    }}
                </div>
                {move || {
                    (has_data.get() && queues.with(Vec::is_empty))
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
            <div class="side">
                <IncidentPanel />
                <ComplaintsPanel />
            </div>
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The tiles' box at 1920x1080 and 1280x720, less the side column, the top bar and padding.
    const FULL_HD: (f64, f64) = (1370.0, 1000.0);
    const HD: (f64, f64) = (880.0, 650.0);

    #[test]
    fn tiles_fill_the_wall_and_page_only_when_they_cannot_be_read() {
        let g = |n, (w, h): (f64, f64)| grid(n, w, h);
        assert_eq!(
            g(1, FULL_HD),
            Grid {
                cols: 1,
                rows: 1,
                per_page: 1
            }
        );
        assert_eq!(
            g(4, FULL_HD),
            Grid {
                cols: 2,
                rows: 2,
                per_page: 4
            }
        );
        let g24 = g(24, FULL_HD);
        assert_eq!(g24.per_page, 24, "24 queues fit at full HD: {g24:?}");
        assert!(g24.cols * g24.rows >= 24);
        let g24 = g(24, HD);
        assert_eq!(g24.per_page, 24, "and at 720p: {g24:?}");
        let tw = (HD.0 - GAP * (g24.cols - 1) as f64) / g24.cols as f64;
        let th = (HD.1 - GAP * (g24.rows - 1) as f64) / g24.rows as f64;
        assert!(tw >= MIN_TILE_W && th >= MIN_TILE_H, "{tw} x {th}");
        // Sixty queues do not fit at 720p: pages of what does.
        let g60 = g(60, HD);
        assert!(g60.per_page < 60 && g60.per_page >= 24, "{g60:?}");
        assert!(g60.cols * g60.rows >= g60.per_page);
        // No rows left empty: 5 tiles are not laid out 4 + 1 with room to spare.
        let g5 = g(5, FULL_HD);
        assert!(g5.cols * g5.rows - 5 < g5.cols, "{g5:?}");
        assert_eq!(g(0, HD).per_page, 1);
    }
}
