//! The incidents views, read from the REST API rather than the live stream because they include
//! resolved incidents and timelines: `#/incidents` (the last hundred, newest first) and
//! `#/incidents/{id}` (every field, the full timeline, the lead's actions and the export links).
//! Both re-fetch when the live stream says something changed, so they never need a reload.
//!
//! The read-only parts (the table, the incident's fields and timeline) are written as escaped
//! HTML by plain functions and set as the `inner_html` of one element; only the controls are
//! Leptos views. Why: each Leptos view is compiled into its own code, and these documents, which
//! change only when fetched again, were a sixth of the WebAssembly bundle (budget: 150 KiB).
//! Every text from the daemon goes through [`esc`].

use std::fmt::Write;
use std::time::Duration;

use floorwatch_protocol::plot::{self, Labels, PlotWords};
use floorwatch_protocol::{
    Incident, IncidentChart, IncidentDetail, IncidentStatus, TimelineKind, Timestamp, Values,
};
use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::board::severity_label;
use crate::i18n::{self, K, Lang, t, tf};
use crate::{Ctx, api, format, go, store_token};

/// How long an incident lasted: to its resolution, or (still open) to the daemon's now.
pub fn duration_s(i: &Incident, daemon_now_ms: Option<f64>) -> Option<i64> {
    let end = match i.resolved_at {
        Some(r) => format::ms(&r),
        None => daemon_now_ms?,
    };
    Some(((end - format::ms(&i.opened_at)) / 1000.0) as i64)
}

/// Text made safe to place in HTML (the protocol's one escaper).
pub use floorwatch_protocol::escape_html as esc;

/// How the pages write a time: local date and time in the browser, a dash when absent.
type TimeFmt = fn(&Timestamp) -> String;

fn drill_html(lang: Lang, drill: bool) -> String {
    if drill {
        format!("<span class=\"drill-tag\">{}</span> ", t(lang, K::Drill))
    } else {
        String::new()
    }
}

/// The incidents table.
pub fn list_html(list: &[Incident], lang: Lang, now_ms: Option<f64>, time: TimeFmt) -> String {
    if list.is_empty() {
        return format!("<div class=\"empty\">{}</div>", t(lang, K::NoIncidents));
    }
    let mut h = String::from("<table class=\"incident-table\"><thead><tr>");
    for k in [
        K::Id,
        K::Severity,
        K::Status,
        K::Title,
        K::Scope,
        K::Opened,
        K::Duration,
        K::AcknowledgedBy,
    ] {
        let _ = write!(h, "<th>{}</th>", t(lang, k));
    }
    h.push_str("</tr></thead><tbody>");
    for i in list {
        let duration = duration_s(i, now_ms).map_or_else(|| format::NONE.to_string(), format::age);
        let _ = write!(
            h,
            "<tr class=\"incident-row sev-{sev} status-{status}\" data-incident-id=\"{id}\">\
             <td class=\"id\"><a href=\"#/incidents/{id}\">#{id}</a></td>\
             <td class=\"sev\">{sev_label}</td><td class=\"status\">{status_label}</td>\
             <td class=\"title\">{drill}{title}</td><td class=\"scope\">{scope}</td>\
             <td class=\"opened\">{opened}</td><td class=\"duration\">{duration}</td>\
             <td class=\"acked-by\">{acked}</td></tr>",
            sev = i.severity.as_str(),
            status = i.status.as_str(),
            id = i.id,
            sev_label = severity_label(lang, i.severity),
            status_label = i18n::status(lang, i.status),
            drill = drill_html(lang, i.drill),
            title = esc(i.title_in(lang.language())),
            scope = esc(&i.scope),
            opened = time(&i.opened_at),
            acked = esc(i.acknowledged_by.as_deref().unwrap_or(format::NONE)),
        );
    }
    h.push_str("</tbody></table>");
    h
}

/// An incident's chart as SVG, its words in `lang` and its times in the browser's zone.
pub fn chart_svg(chart: &IncidentChart, lang: Lang) -> String {
    let mark = move |k: TimelineKind| i18n::timeline_kind(lang, k).to_string();
    let clock = |t: Timestamp| {
        let mut c = format::local_clock(format::ms(&t));
        c.truncate(5);
        c
    };
    let words = PlotWords {
        labels: Labels {
            waiting: t(lang, K::ChartWaiting),
            service_level: t(lang, K::ServiceLevel),
            target: t(lang, K::ChartTarget),
            complaints: t(lang, K::ChartComplaints),
            usual: t(lang, K::ChartUsual),
            no_figures: t(lang, K::NoFigures),
            no_series: t(lang, K::NoSeries),
        },
        mark: &mark,
        clock: &clock,
    };
    plot::svg(chart, &words)
}

/// An incident's fields, its chart (already drawn, if it came), its timeline, and the review's
/// headings for the printed document.
pub fn detail_html(d: &IncidentDetail, lang: Lang, time: TimeFmt, chart: Option<&str>) -> String {
    let i = &d.incident;
    let when_by = |at: Option<&Timestamp>, by: Option<&String>| {
        let parts: Vec<String> = at.map(time).into_iter().chain(by.map(|b| esc(b))).collect();
        if parts.is_empty() {
            format::NONE.to_string()
        } else {
            parts.join(" · ")
        }
    };
    let values = |v: &Values| esc(&format::values(v));
    let mut fields: Vec<(K, String)> = vec![
        (K::Status, i18n::status(lang, i.status).to_string()),
        (K::Scope, esc(&i.scope)),
        (K::Rule, esc(&i.rule)),
        (K::Kind, esc(&i.kind)),
        (K::Opened, time(&i.opened_at)),
        (
            K::AcknowledgedAt,
            when_by(i.acknowledged_at.as_ref(), i.acknowledged_by.as_ref()),
        ),
        (
            K::ResolvedAt,
            when_by(i.resolved_at.as_ref(), i.resolved_by.as_ref()),
        ),
    ];
    match &i.escalation {
        None => fields.push((K::Escalation, format::NONE.to_string())),
        Some(e) => {
            let mut s = format!("{} · {} {}", esc(&e.policy), t(lang, K::Level), e.level);
            if let Some(next) = &e.next_at {
                s.push_str(" · ");
                s.push_str(&tf(lang, K::NextLevelAt, &[&time(next)]));
            }
            fields.push((K::Escalation, s));
            if !e.told.is_empty() {
                let told: Vec<String> = e.told.iter().map(ToString::to_string).collect();
                fields.push((K::Told, esc(&told.join(", "))));
            }
        }
    }
    if let Some(s) = &i.silenced_by {
        fields.push((K::SilencedBy, esc(s)));
    }
    if let Some(n) = i.situation {
        fields.push((
            K::Situation,
            format!("<a href=\"#/incidents/{n}\">#{n}</a>"),
        ));
    }
    if i.reopened > 0 {
        fields.push((K::Reopened, i.reopened.to_string()));
    }
    if i.drill {
        fields.push((K::Drill, t(lang, K::Yes).to_string()));
    }
    fields.push((K::ValuesAtOpen, values(&i.values_at_open)));
    let peak = match &i.peak_at {
        Some(at) => format!("{} ({})", values(&i.values_at_peak), time(at)),
        None => values(&i.values_at_peak),
    };
    fields.push((K::ValuesAtPeak, peak));
    fields.push((
        K::ValuesAtClose,
        i.values_at_close
            .as_ref()
            .map_or_else(|| format::NONE.to_string(), values),
    ));

    let mut h = format!(
        "<header class=\"incident-head sev-{sev} status-{status}\"><h1><span class=\"sev\">{label}</span> {drill}#{id} {title}</h1><dl class=\"fields\">",
        sev = i.severity.as_str(),
        status = i.status.as_str(),
        label = severity_label(lang, i.severity),
        drill = drill_html(lang, i.drill),
        id = i.id,
        title = esc(i.title_in(lang.language())),
    );
    for (k, v) in fields {
        let _ = write!(
            h,
            "<div class=\"field\"><dt>{}</dt><dd>{v}</dd></div>",
            t(lang, k)
        );
    }
    h.push_str("</dl></header>");
    if let Some(r) = &i.runbook {
        let text = r.get(lang.language());
        let body = if text.starts_with("https://") || text.starts_with("http://") {
            format!(
                "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>",
                esc(text)
            )
        } else {
            esc(text)
        };
        let _ = write!(
            h,
            "<section id=\"runbook\" class=\"runbook\"><h2>{}</h2><p>{body}</p></section>",
            t(lang, K::Runbook)
        );
    }
    if let Some(svg) = chart {
        let _ = write!(
            h,
            "<section class=\"chart-section\"><h2>{}</h2><div id=\"incident-chart\">{svg}</div></section>",
            t(lang, K::Chart)
        );
    }
    let _ = write!(
        h,
        "<section class=\"timeline-section\"><h2>{}</h2><ol id=\"timeline\" class=\"timeline\">",
        t(lang, K::Timeline)
    );
    for e in &d.timeline {
        let kind = e.kind.as_str();
        let _ = write!(
            h,
            "<li class=\"timeline-entry kind-{kind}\" data-kind=\"{kind}\">\
             <time class=\"at\">{at}</time><span class=\"actor\">{actor}</span>\
             <span class=\"kind\">{kind_label}</span><span class=\"message\">{message}</span>",
            at = time(&e.at),
            actor = esc(&e.actor),
            kind_label = i18n::timeline_kind(lang, e.kind),
            message = esc(&e.message),
        );
        if !e.values.is_empty() {
            let _ = write!(h, "<span class=\"values\">{}</span>", values(&e.values));
        }
        h.push_str("</li>");
    }
    h.push_str("</ol></section>");
    // Written in by hand on the printed review.
    let _ = write!(
        h,
        "<section class=\"review-section\"><h2>{}</h2>",
        t(lang, K::Review)
    );
    for k in [K::WhatHappened, K::WhatWorked, K::WhatToChange] {
        let _ = write!(h, "<h3>{}</h3><div class=\"write-in\"></div>", t(lang, k));
    }
    h.push_str("</section>");
    h
}

fn loading_html(lang: Lang) -> String {
    format!("<div class=\"loading\">{}</div>", t(lang, K::Loading))
}

fn error_html(e: &str) -> String {
    format!("<div class=\"api-error\" role=\"alert\">{}</div>", esc(e))
}

/// Counts requests so that only the answer to the latest one is shown: a slow old answer must
/// not overwrite a newer one.
#[derive(Clone, Copy)]
struct Latest(StoredValue<u64>);

impl Latest {
    fn new() -> Self {
        Latest(StoredValue::new(0))
    }
    fn next(self) -> u64 {
        self.0.update_value(|n| *n += 1);
        self.0.get_value()
    }
    fn is(self, n: u64) -> bool {
        self.0.try_get_value() == Some(n)
    }
}

/// Opens the incident of the row clicked in a table written as HTML.
fn open_clicked_row(ev: MouseEvent) {
    let row = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("[data-incident-id]").ok().flatten());
    if let Some(id) = row.and_then(|r| r.get_attribute("data-incident-id")) {
        go(&format!("/incidents/{id}"));
    }
}

#[component]
pub fn IncidentList() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let live = ctx.live;
    let html = RwSignal::new(loading_html(lang));
    let latest = Latest::new();
    let load = move || {
        let n = latest.next();
        let token = ctx.token.get_untracked();
        spawn_local(async move {
            let r = api::incidents(token).await;
            if latest.is(n) {
                html.set(match r {
                    Ok(list) => list_html(
                        &list,
                        lang,
                        live.daemon_now_ms_untracked(),
                        format::local_datetime,
                    ),
                    Err(e) => error_html(&e.message(lang)),
                });
            }
        });
    };
    // Fetch on entry, and again whenever the open incidents change on the live stream...
    Effect::new(move |_| {
        live.incidents_rev.track();
        load();
    });
    // ...and every 10 s, for what the live stream does not carry (durations, resolutions, notes).
    if let Ok(h) = set_interval_with_handle(load, Duration::from_secs(10)) {
        on_cleanup(move || h.clear());
    }

    view! {
        <div class="incident-list">
            <h1>{t(lang, K::Incidents)}</h1>
            <div class="incident-table-wrap" on:click=open_clicked_row inner_html=move || html.get()></div>
        </div>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Ack,
    Resolve,
    Note,
}

#[component]
pub fn IncidentPage(id: u64) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = ctx.lang;
    let live = ctx.live;
    let html = RwSignal::new(loading_html(lang));
    // The status decides which buttons show; `None` until the incident is loaded.
    let status = RwSignal::new(None::<IncidentStatus>);
    let action_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let note = RwSignal::new(String::new());
    let latest = Latest::new();
    // Opened from a page: its signed link stands in for a token, for this incident only, and
    // acknowledging is all it allows.
    let link = move || ctx.kiosk.with_value(|k| k.link.clone());
    let by_link = move || ctx.token.get().is_none() && link().is_some();

    let load = move || {
        let n = latest.next();
        let token = ctx.token.get_untracked();
        let link = link();
        spawn_local(async move {
            let r = api::incident(id, token.clone(), link.clone()).await;
            // The chart is drawn from the daemon's history; without it the page still reads.
            let chart = match &r {
                Ok(_) => api::chart(id, token, link).await.ok(),
                Err(_) => None,
            };
            if !latest.is(n) {
                return;
            }
            match r {
                Ok(d) => {
                    status.set(Some(d.incident.status));
                    let svg = chart.map(|c| chart_svg(&c, lang));
                    html.set(detail_html(
                        &d,
                        lang,
                        format::local_datetime,
                        svg.as_deref(),
                    ));
                }
                Err(api::ApiErr::Http(404, None)) => html.set(error_html(t(lang, K::NotFound))),
                Err(e) => html.set(error_html(&e.message(lang))),
            }
        });
    };
    // Fetch on entry, and whenever the open incidents change on the live stream (this one may
    // have been acknowledged elsewhere, escalated, or resolved).
    Effect::new(move |_| {
        live.incidents_rev.track();
        load();
    });

    let act = move |action: Action| {
        let token = ctx.token.get_untracked();
        let link = link();
        let text = note.get_untracked().trim().to_string();
        busy.set(true);
        action_error.set(None);
        spawn_local(async move {
            let r = match action {
                Action::Ack => api::ack(id, None, token, link).await,
                Action::Resolve => api::resolve(id, None, token).await,
                Action::Note => api::add_note(id, &text, token).await,
            };
            match r {
                Ok(()) => {
                    if action == Action::Note {
                        note.set(String::new());
                    }
                    load();
                }
                Err(e) => action_error.set(Some(e.message(lang))),
            }
            busy.set(false);
        });
    };

    let token_draft = RwSignal::new(ctx.token.get_untracked().unwrap_or_default());
    let token_note = RwSignal::new(None::<String>);
    let save_token = move |_| {
        let v = token_draft.get_untracked().trim().to_string();
        let v = (!v.is_empty()).then_some(v);
        store_token(v.as_deref());
        ctx.token.set(v);
        token_note.set(Some(t(lang, K::TokenSaved).to_string()));
        load();
    };
    let export = move |format: &str| api::export_url(id, format, ctx.token.get().as_deref());

    view! {
        <div class="incident-page">
            <a class="back" href="#/incidents">{t(lang, K::Back)}</a>
            <div class="incident-detail" on:click=open_clicked_row inner_html=move || html.get()></div>
            <section class="actions">
                <div class="buttons">
                    {move || {
                        (status.get() == Some(IncidentStatus::Firing))
                            .then(|| action_button("ack-button", t(lang, K::Acknowledge), busy, move || act(Action::Ack)))
                    }}
                    {move || {
                        (!by_link() && status.get().is_some_and(|s| s != IncidentStatus::Resolved))
                            .then(|| action_button("resolve-button", t(lang, K::Resolve), busy, move || act(Action::Resolve)))
                    }}
                    <span class="exports">
                        {t(lang, K::Export)} ": "
                        <a id="export-md" href=move || export("md")>
                            "Markdown"
                        </a>
                        " · "
                        <a id="export-json" href=move || export("json")>
                            "JSON"
                        </a>
                    </span>
                </div>
                <div class="note" class:hidden=by_link>
                    <textarea
                        id="note-text"
                        rows="3"
                        placeholder=t(lang, K::NotePlaceholder)
                        prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))
                    ></textarea>
                    <button
                        id="note-button"
                        class="action"
                        disabled=move || busy.get() || note.with(|n| n.trim().is_empty())
                        on:click=move |_| act(Action::Note)
                    >
                        {t(lang, K::AddNote)}
                    </button>
                </div>
                {move || {
                    action_error
                        .get()
                        .map(|e| {
                            view! { <div id="action-error" class="action-error" role="alert">{e}</div> }
                                .into_any()
                        })
                }}
                <div class="token-box">
                    <label>
                        {t(lang, K::Token)} " "
                        <input
                            id="token-input"
                            type="password"
                            autocomplete="off"
                            prop:value=move || token_draft.get()
                            on:input=move |ev| {
                                token_note.set(None);
                                token_draft.set(event_target_value(&ev));
                            }
                        />
                    </label>
                    <button id="token-button" on:click=save_token>{t(lang, K::SetToken)}</button>
                    <span class="saved">{move || token_note.get()}</span>
                </div>
            </section>
        </div>
    }
}

fn action_button(
    id: &'static str,
    label: &'static str,
    busy: RwSignal<bool>,
    on_click: impl Fn() + 'static,
) -> AnyView {
    view! {
        <button id=id class="action" disabled=move || busy.get() on:click=move |_| on_click()>
            {label}
        </button>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::{EscalationState, Severity, TimelineEntry, TimelineKind};

    fn incident() -> Incident {
        Incident::new(
            7,
            "r<1>".into(),
            "queue_depth".into(),
            "phone & co".into(),
            Severity::Critical,
            "<script>alert(1)</script>".into(),
            "2026-11-23T09:00:00Z".parse().unwrap(),
            Values::new(),
        )
    }

    fn time(t: &Timestamp) -> String {
        format::datetime(format::ms(t), 0)
    }

    #[test]
    fn durations_run_to_resolution_or_now() {
        let mut i = incident();
        let opened = format::ms(&i.opened_at);
        assert_eq!(duration_s(&i, None), None);
        assert_eq!(duration_s(&i, Some(opened + 90_500.0)), Some(90));
        i.resolved_at = Some("2026-11-23T09:10:00Z".parse().unwrap());
        assert_eq!(duration_s(&i, Some(opened + 1e9)), Some(600));
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("电话 ok"), "电话 ok");
    }

    #[test]
    fn list_rows_carry_their_ids_and_escape_the_daemons_text() {
        let h = list_html(&[incident()], Lang::En, None, time);
        assert!(h.contains("data-incident-id=\"7\""), "{h}");
        assert!(h.contains("href=\"#/incidents/7\""));
        assert!(h.contains("&lt;script&gt;") && !h.contains("<script>"));
        assert!(h.contains("phone &amp; co"));
        assert!(h.contains("2026-11-23 09:00:00"));
        assert!(list_html(&[], Lang::Zh, None, time).contains("没有事件"));
    }

    #[test]
    fn detail_has_every_field_and_the_timeline() {
        let mut i = incident();
        i.escalation = Some(EscalationState {
            policy: "floor".into(),
            level: 2,
            next_at: None,
            told: vec![floorwatch_protocol::PageTarget::parse("webhook:ops").unwrap()],
        });
        i.silenced_by = Some("maintenance".into());
        i.drill = true;
        let d = IncidentDetail {
            incident: i,
            timeline: vec![TimelineEntry {
                incident_id: 7,
                seq: 1,
                at: "2026-11-23T09:01:00Z".parse().unwrap(),
                actor: "alice <lead>".into(),
                kind: TimelineKind::SeverityRaised,
                message: "raised".into(),
                values: Values::new(),
            }],
        };
        let h = detail_html(&d, Lang::En, time, None);
        for want in [
            "id=\"timeline\"",
            "class=\"timeline-entry kind-severity_raised\" data-kind=\"severity_raised\"",
            "alice &lt;lead&gt;",
            "r&lt;1&gt;",
            "floor · level 2",
            "webhook:ops",
            "maintenance",
            "DRILL",
            "2026-11-23 09:01:00",
        ] {
            assert!(h.contains(want), "{want} in {h}");
        }
        assert!(!h.contains("<script>"));
    }

    #[test]
    fn the_page_reads_in_the_boards_language_with_the_runbook() {
        let mut i = incident();
        i.title_zh = Some("phone-a：30 个来电排队中".into());
        i.runbook = Some(floorwatch_protocol::Said::new(
            "https://plans.example/outage",
            "联系厂商 <立即>",
        ));
        let d = IncidentDetail {
            incident: i,
            timeline: Vec::new(),
        };
        let zh = detail_html(&d, Lang::Zh, time, None);
        assert!(zh.contains("phone-a：30 个来电排队中"), "{zh}");
        assert!(
            zh.contains("处置步骤") && zh.contains("联系厂商 &lt;立即&gt;"),
            "{zh}"
        );
        let en = detail_html(&d, Lang::En, time, None);
        assert!(
            en.contains("<a href=\"https://plans.example/outage\""),
            "a URL runbook is a link: {en}"
        );
    }
}
