//! The board's side column, first part: the open incidents, one line per situation (its lead's
//! shape, short title, age, how many joined it, and the acknowledge button), sized to its content;
//! and the crisis banner across the top of every view while a crisis is open.

use floorwatch_protocol::{Incident, IncidentStatus, Severity};
use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{self, K, Lang, t, tf};
use crate::{Ctx, api, format, go};

/// The shape beside a severity word (the word and the colour say it too).
pub fn severity_shape(s: Severity) -> &'static str {
    match s {
        Severity::Crisis => "◆",
        Severity::Critical => "■",
        Severity::Warning => "▲",
        Severity::Info => "●",
    }
}

/// Whether an incident belongs on this screen: with a `queues=` filter, incidents on the queues
/// filtered out are left out; those on other scopes (complaint groups) always show.
pub fn incident_shown(is_queue: bool, shows_queue: bool) -> bool {
    !is_queue || shows_queue
}

#[component]
pub fn IncidentPanel() -> impl IntoView {
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

/// One situation on one line: its lead's severity, short title and age, how many incidents joined
/// it, and the acknowledge button; the details are on its page.
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
    let title = i.title_in(lang.language()).to_string();
    let joined = (!members.is_empty()).then(|| {
        let all = tf(lang, K::AlsoInSituation, &[&members.join(", ")]);
        view! { <span class="members" title=all>{format!("+{}", members.len())}</span> }.into_any()
    });
    view! {
        <li
            class=format!("incident sev-{}{}", sev.as_str(), if i.drill { " drill" } else { "" })
            data-incident-id=id.to_string()
            on:click=move |_| go(&format!("/incidents/{id}"))
        >
            <span class="sev" title=i18n::severity(lang, sev)>{severity_shape(sev)}</span>
            <span class="title" title=title.clone()>{drill_tag(lang, i.drill)} {title.clone()}</span>
            {joined}
            <span class="age">{age}</span>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtered_incidents() {
        assert!(incident_shown(true, true));
        assert!(!incident_shown(true, false));
        assert!(incident_shown(false, false), "complaint groups always show");
    }
}
