//! The acknowledge link of a page. GET shows a confirm page and changes nothing (mail
//! scanners follow links); the page's POST acknowledges. The link itself is the credential: it
//! is signed and expires (`notify::ack_link`).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use floorwatch_protocol::escape_html as escape;

use super::AppState;
use crate::engine::CommandError;
use crate::notify::ack_link::Grant;
use crate::watch::WatchError;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em}}\
         button{{font-size:1.2em;padding:.5em 1.5em}}</style></head><body><h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

/// The reason a link is refused, as the page to show.
fn check(s: &AppState, id: u64, p: &Grant) -> Option<Response> {
    let now = s.watch.now() / 1000;
    s.links.check(id, p, now).err().map(|e| {
        page(
            StatusCode::FORBIDDEN,
            "Link refused / 链接无效",
            &format!("<p>{e}.</p>"),
        )
    })
}

/// A page's acknowledge link: a confirm page (mail scanners follow links; nothing changes).
#[utoipa::path(get, path = "/ack/{id}", tag = "incidents",
    params(("id" = u64, Path), Grant),
    responses((status = 200, body = String, content_type = "text/html"),
        (status = 403, body = String, content_type = "text/html")))]
pub async fn confirm(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    Query(p): Query<Grant>,
) -> Response {
    if let Some(refused) = check(&s, id, &p) {
        return refused;
    }
    let watch = s.watch.clone();
    let title = tokio::task::spawn_blocking(move || watch.incident(id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map(|d| {
            // The link does not say its reader's language: both titles.
            match d.incident.title_zh {
                Some(zh) if zh != d.incident.title => format!("{} / {zh}", d.incident.title),
                _ => d.incident.title,
            }
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        &format!("Acknowledge incident #{id}? / 确认事件 #{id}?"),
        &format!(
            "<p>{}</p><form method=\"post\"><input type=\"hidden\" name=\"list\" value=\"{}\">\
             <input type=\"hidden\" name=\"exp\" value=\"{}\"><input type=\"hidden\" name=\"sig\" value=\"{}\">\
             <button type=\"submit\">Acknowledge / 确认</button></form>",
            escape(&title),
            escape(&p.list),
            p.exp,
            escape(&p.sig)
        ),
    )
}

/// The confirm page's button: acknowledges in the name the link was signed for.
#[utoipa::path(post, path = "/ack/{id}", tag = "incidents",
    params(("id" = u64, Path)),
    request_body(content = Grant, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = String, content_type = "text/html"),
        (status = 403, body = String, content_type = "text/html")))]
pub async fn acknowledge(
    State(s): State<AppState>,
    Path(id): Path<u64>,
    Form(p): Form<Grant>,
) -> Response {
    if let Some(refused) = check(&s, id, &p) {
        return refused;
    }
    let watch = s.watch.clone();
    let actor = p.actor();
    match tokio::task::spawn_blocking(move || watch.acknowledge(id, &actor, None)).await {
        Ok(Ok(_)) => page(
            StatusCode::OK,
            &format!("Incident #{id} acknowledged / 已确认"),
            "<p>The escalation stops here. / 升级到此为止。</p>",
        ),
        Ok(Err(WatchError::Command(
            e @ (CommandError::AlreadyAcknowledged(..) | CommandError::Resolved(_)),
        ))) => page(
            StatusCode::OK,
            &format!("Incident #{id}"),
            &format!("<p>{}.</p>", escape(&e.to_string())),
        ),
        Ok(Err(e)) => page(
            StatusCode::NOT_FOUND,
            &format!("Incident #{id}"),
            &format!("<p>{}</p>", escape(&e.to_string())),
        ),
        Err(e) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            &escape(&e.to_string()),
        ),
    }
}
