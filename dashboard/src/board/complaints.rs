//! The board's side column, second part: complaints, which the floor's crisis practice watches
//! first. Each category's complaints over the last hour as a bar with what this hour of the week
//! usually brings marked on it; the watched keywords (the public-opinion early warning) lit when
//! they are heard; and the open complaints of each grade against its deadline, with the oldest
//! one's age.

use floorwatch_protocol::{ComplaintBoard, ComplaintCount, Grade};
use leptos::prelude::*;

use crate::i18n::{K, Lang, t, tf};
use crate::{Ctx, format};

/// A count well over the usual: at least three, and more than twice what is usual (at least
/// one in two hours, so a category that is usually silent does not light up on one complaint).
pub fn above_usual(c: &ComplaintCount) -> bool {
    c.count >= 3 && f64::from(c.count) > 2.0 * c.usual.unwrap_or(0.0).max(0.5)
}

/// A bar's fill and the usual's mark, in percent of the bar, against the largest of the panel.
pub fn bar(c: &ComplaintCount, max: f64) -> (f64, Option<f64>) {
    let max = max.max(1.0);
    let pct = |v: f64| (v / max * 100.0).clamp(0.0, 100.0);
    (pct(f64::from(c.count)), c.usual.map(pct))
}

fn grade_word(lang: Lang, g: Grade) -> &'static str {
    t(
        lang,
        match g {
            Grade::General => K::GradeGeneral,
            Grade::Key => K::GradeKey,
            Grade::Urgent => K::GradeUrgent,
        },
    )
}

#[component]
pub fn ComplaintsPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let board = Memo::new(move |_| ctx.live.state.with(|s| s.complaints.clone()));
    move || {
        let b: ComplaintBoard = board.get();
        let max = b
            .categories
            .iter()
            .map(|c| f64::from(c.count).max(c.usual.unwrap_or(0.0)))
            .fold(0.0, f64::max);
        let bars = b
            .categories
            .iter()
            .map(|c| {
                let (fill, usual) = bar(c, max);
                let usual_text = c
                    .usual
                    .map(|u| tf(lang, K::UsualCount, &[&format::fixed(u, 0)]))
                    .unwrap_or_default();
                view! {
                    <li class="cat" class:over=above_usual(c) data-category=c.name.clone()>
                        <span class="cat-name">{c.name.clone()}</span>
                        <span class="bar">
                            <span class="fill" style=format!("width:{}%", format::fixed(fill, 1))></span>
                            {usual.map(|u| {
                                view! {
                                    <span class="usual-mark" style=format!("left:{}%", format::fixed(u, 1))></span>
                                }
                            })}
                        </span>
                        <span class="cat-count">{c.count.to_string()} " " <small>{usual_text}</small></span>
                    </li>
                }
                .into_any()
            })
            .collect::<Vec<_>>();
        let keywords = b
            .keywords
            .iter()
            .map(|k| {
                view! {
                    <span class="kw" class:hit={k.count > 0} class:over={above_usual(k)} data-keyword=k.name.clone()>
                        {format!("{} {}", k.name, k.count)}
                    </span>
                }
                .into_any()
            })
            .collect::<Vec<_>>();
        let deadlines = b
            .deadlines
            .iter()
            .map(|d| {
                let text = tf(
                    lang,
                    K::DeadlineRow,
                    &[
                        &d.open.to_string(),
                        &d.near.to_string(),
                        &d.past.to_string(),
                    ],
                );
                // The oldest one's age ticks on its own; the row is redrawn only when counts change.
                let oldest = format::ms(&d.oldest_at);
                let age = move || {
                    let now = ctx.live.daemon_now_ms().unwrap_or(oldest);
                    tf(
                        lang,
                        K::Oldest,
                        &[&format::age(((now - oldest) / 1000.0) as i64)],
                    )
                };
                view! {
                    <li
                        class=format!("deadline grade-{}", d.grade.as_str())
                        class:late={d.past > 0}
                        class:near={d.near > 0}
                    >
                        <span class="grade">{grade_word(lang, d.grade)}</span>
                        <span class="deadline-text">{text} " · " {age}</span>
                    </li>
                }
                .into_any()
            })
            .collect::<Vec<_>>();
        let quiet = b.categories.is_empty();
        view! {
            <section class="complaints-panel">
                <h2 class="panel-title">{t(lang, K::ComplaintsLastHour)}</h2>
                {quiet.then(|| view! { <div class="empty">{t(lang, K::NoComplaints)}</div> })}
                <ul class="cats">{bars}</ul>
                {(!keywords.is_empty())
                    .then(|| {
                        view! {
                            <div class="keywords">
                                <span class="kw-title">{t(lang, K::Keywords)}</span>
                                {keywords}
                            </div>
                        }
                    })}
                <ul class="deadlines">{deadlines}</ul>
            </section>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(count: u32, usual: Option<f64>) -> ComplaintCount {
        ComplaintCount {
            name: "network".into(),
            count,
            usual,
        }
    }

    #[test]
    fn bars_and_what_stands_out() {
        assert_eq!(bar(&count(10, Some(2.0)), 20.0), (50.0, Some(10.0)));
        assert_eq!(bar(&count(30, None), 20.0), (100.0, None), "clamped");
        assert_eq!(bar(&count(0, Some(0.0)), 0.0), (0.0, Some(0.0)));
        assert!(above_usual(&count(10, Some(2.0))));
        assert!(!above_usual(&count(4, Some(2.5))));
        assert!(!above_usual(&count(2, None)), "two are not a wave");
        assert!(above_usual(&count(3, None)));
    }
}
