//! The daemon's REST API, as the board uses it: the incidents list, one incident with its
//! timeline, and the lead's actions (acknowledge, resolve, note). Plain `fetch` through web-sys,
//! with `Authorization: Bearer` when a token is known; an error answer's `{"error": "..."}` text
//! is what the user sees, because it says what to do (wrong token, already resolved...).

use floorwatch_protocol::{Incident, IncidentChart, IncidentDetail};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCache, RequestInit, Response};

use crate::i18n::{K, Lang, t, tf};
use crate::{kiosk, wire};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiErr {
    /// No answer at all (daemon down, network cut).
    Network,
    /// An error status, with the daemon's own explanation when it gave one.
    Http(u16, Option<String>),
    /// An answer we could not read.
    Decode(String),
}

impl ApiErr {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ApiErr::Network => t(lang, K::NetworkError).into(),
            ApiErr::Http(code, Some(msg)) => format!("{code}: {msg}"),
            ApiErr::Http(code, None) => tf(lang, K::HttpError, &[&code.to_string()]),
            ApiErr::Decode(e) => e.clone(),
        }
    }
}

/// Interprets an answer: a 2xx body read by `read`, anything else as an [`ApiErr::Http`].
pub fn decode<T>(status: u16, body: &str, read: fn(&str) -> wire::R<T>) -> Result<T, ApiErr> {
    if (200..300).contains(&status) {
        read(body).map_err(ApiErr::Decode)
    } else {
        Err(failure(status, body))
    }
}

fn failure(status: u16, body: &str) -> ApiErr {
    ApiErr::Http(status, wire::api_error(body).filter(|e| !e.is_empty()))
}

/// An export link; a link cannot carry a header, so the token goes in the query.
pub fn export_url(id: u64, format: &str, token: Option<&str>) -> String {
    let mut url = format!("/api/v1/incidents/{id}/export?format={format}");
    if let Some(t) = token {
        url.push_str("&token=");
        url.push_str(&kiosk::encode(t));
    }
    url
}

pub async fn incidents(token: Option<String>) -> Result<Vec<Incident>, ApiErr> {
    let (status, text) = fetch("GET", "/api/v1/incidents?limit=100", None, token).await?;
    decode(status, &text, wire::incidents)
}

/// `path`, with a page's signed link in the query when there is no token to send.
pub fn with_link(path: String, token: Option<&str>, link: Option<&str>) -> String {
    match (token, link) {
        (None, Some(l)) => format!("{path}?{l}"),
        _ => path,
    }
}

pub async fn incident(
    id: u64,
    token: Option<String>,
    link: Option<String>,
) -> Result<IncidentDetail, ApiErr> {
    let path = with_link(
        format!("/api/v1/incidents/{id}"),
        token.as_deref(),
        link.as_deref(),
    );
    let (status, text) = fetch("GET", &path, None, token).await?;
    decode(status, &text, wire::detail)
}

/// `GET /api/v1/incidents/{id}/chart`: its scope's figures across its life.
pub async fn chart(
    id: u64,
    token: Option<String>,
    link: Option<String>,
) -> Result<IncidentChart, ApiErr> {
    let path = with_link(
        format!("/api/v1/incidents/{id}/chart"),
        token.as_deref(),
        link.as_deref(),
    );
    let (status, text) = fetch("GET", &path, None, token).await?;
    decode(status, &text, wire::chart)
}

/// The body of an acknowledgement or a resolution: `{}` or `{"note": "..."}`.
pub fn note_body(note: Option<&str>) -> String {
    match note {
        Some(n) => format!("{{\"note\":{}}}", wire::json_string(n)),
        None => "{}".into(),
    }
}

/// `POST /api/v1/incidents/{id}/ack`. The answer (the incident) is not read: the page re-fetches
/// the incident with its timeline, and the wall-board gets the change on the live stream.
pub async fn ack(
    id: u64,
    note: Option<&str>,
    token: Option<String>,
    link: Option<String>,
) -> Result<(), ApiErr> {
    let path = with_link(
        format!("/api/v1/incidents/{id}/ack"),
        token.as_deref(),
        link.as_deref(),
    );
    post(&path, note_body(note), token).await
}

pub async fn resolve(id: u64, note: Option<&str>, token: Option<String>) -> Result<(), ApiErr> {
    let path = format!("/api/v1/incidents/{id}/resolve");
    post(&path, note_body(note), token).await
}

pub async fn add_note(id: u64, text: &str, token: Option<String>) -> Result<(), ApiErr> {
    let path = format!("/api/v1/incidents/{id}/notes");
    let body = format!("{{\"text\":{}}}", wire::json_string(text));
    post(&path, body, token).await
}

async fn post(path: &str, body: String, token: Option<String>) -> Result<(), ApiErr> {
    let (status, text) = fetch("POST", path, Some(body), token).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(failure(status, &text))
    }
}

async fn fetch(
    method: &str,
    path: &str,
    body: Option<String>,
    token: Option<String>,
) -> Result<(u16, String), ApiErr> {
    send(method, path, body, token)
        .await
        .map_err(|_| ApiErr::Network)
}

async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
    token: Option<String>,
) -> Result<(u16, String), JsValue> {
    let headers = Headers::new()?;
    headers.set("Accept", "application/json")?;
    if let Some(t) = &token {
        headers.set("Authorization", &format!("Bearer {t}"))?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    // The board polls: a cached answer would show an incident as it was, not as it is.
    init.set_cache(RequestCache::NoStore);
    if let Some(b) = &body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(b));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init)?;
    let response: Response = JsFuture::from(leptos::prelude::window().fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let text = JsFuture::from(response.text()?).await?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_daemons_words() {
        let e = decode(
            409,
            r#"{"error":"incident 7 is already resolved"}"#,
            wire::incidents,
        );
        assert_eq!(
            e,
            Err(ApiErr::Http(
                409,
                Some("incident 7 is already resolved".into())
            ))
        );
        assert_eq!(
            e.unwrap_err().message(Lang::En),
            "409: incident 7 is already resolved"
        );
        let e = decode(502, "<html>bad gateway</html>", wire::incidents).unwrap_err();
        assert_eq!(e.message(Lang::En), "HTTP error 502");
        assert!(matches!(
            decode(200, "{}", wire::incidents),
            Err(ApiErr::Decode(_))
        ));
        assert_eq!(decode(200, "[]", wire::incidents), Ok(vec![]));
    }

    #[test]
    fn export_links() {
        assert_eq!(
            export_url(7, "md", None),
            "/api/v1/incidents/7/export?format=md"
        );
        assert_eq!(
            export_url(7, "json", Some("s3cr/t")),
            "/api/v1/incidents/7/export?format=json&token=s3cr%2Ft"
        );
    }

    #[test]
    fn action_bodies() {
        assert_eq!(note_body(None), "{}");
        assert_eq!(note_body(Some("on \"it\"")), r#"{"note":"on \"it\""}"#);
    }
}
