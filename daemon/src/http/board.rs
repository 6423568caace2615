//! The wall-board's files (dashboard/, built to WebAssembly and embedded by build.rs), served at
//! `/` and `/board/*`, and the state it starts from (`/api/v1/state`). A daemon built before the board serves a page saying how to build it.
//!
//! A wall PC loads the board once: the page is small and always revalidated (`no-cache` with an
//! ETag, so a reload is a 304), and it links the rest by content-hashed names that are cached for
//! a year (`immutable`). Every file is precompressed at build time; the bytes sent are brotli,
//! gzip or plain, as the browser's `Accept-Encoding` allows.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::auth::Viewer;
use super::{ApiResult, AppState, blocking};

/// One embedded file, in each encoding.
pub struct Asset {
    pub name: &'static str,
    pub mime: &'static str,
    pub etag: &'static str,
    /// Named by its content's hash: cached for good.
    pub immutable: bool,
    pub plain: &'static [u8],
    pub gzip: &'static [u8],
    pub brotli: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/board_assets.rs"));

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Floorwatch</title>\
<body style=\"font:20px system-ui;background:#111;color:#eee;padding:2em\">\
<h1>Floorwatch</h1><p>The wall-board was not built into this binary. Run \
<code>scripts/build-board.sh</code> and build the daemon again (<code>scripts/demo.sh</code> \
does both).</p><p>The API is up: <a style=color:#8cf href=/api/v1/state>/api/v1/state</a></p>";

/// Whether this binary carries the wall-board.
pub fn is_built() -> bool {
    !ASSETS.is_empty()
}

/// The wall-board's page.
#[utoipa::path(get, path = "/", tag = "board",
    responses((status = 200, body = String, content_type = "text/html")))]
pub async fn index(headers: HeaderMap) -> Response {
    match file("index.html", &headers) {
        Some(r) => r,
        None => Html(NOT_BUILT).into_response(),
    }
}

/// One of the wall-board's files, precompressed, named by its content's hash.
#[utoipa::path(get, path = "/board/{file}", tag = "board", params(("file" = String, Path)),
    responses((status = 200, description = "The file, brotli, gzip or plain by Accept-Encoding"),
        (status = 304, description = "Not modified"), (status = 404)))]
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    file(&name, &headers)
        .unwrap_or_else(|| (StatusCode::NOT_FOUND, "no such file\n").into_response())
}

/// The content encodings a response can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// The best encoding an `Accept-Encoding` header allows: brotli (the smallest), then gzip,
/// then none. A coding given `q=0` is refused; `*` stands for any not named.
pub fn choose_encoding(accept: Option<&str>) -> Encoding {
    let Some(accept) = accept else {
        return Encoding::Identity;
    };
    let mut star = None;
    let mut named = |coding: &str| -> Option<bool> {
        accept.split(',').find_map(|part| {
            let mut it = part.split(';');
            let name = it.next()?.trim();
            let q = it
                .find_map(|p| {
                    let p = p.trim();
                    let (key, value) = (p.get(..2)?, p.get(2..)?);
                    key.eq_ignore_ascii_case("q=").then_some(value)
                })
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name == "*" {
                star = Some(q > 0.0);
            }
            name.eq_ignore_ascii_case(coding).then_some(q > 0.0)
        })
    };
    let br = named("br");
    let gzip = named("gzip");
    let any = star.unwrap_or(false);
    if br.unwrap_or(any) {
        Encoding::Brotli
    } else if gzip.unwrap_or(any) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Whether `If-None-Match` names `etag` (weakly, as a proxy may send it back) or `*`.
fn revalidated(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').map(str::trim).any(|t| {
                let t = t.strip_prefix("W/").unwrap_or(t);
                t == etag || t == "*"
            })
        })
}

fn file(name: &str, headers: &HeaderMap) -> Option<Response> {
    let a = ASSETS.iter().find(|a| a.name == name)?;
    let cache = if a.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let (bytes, coding) = match choose_encoding(accept) {
        Encoding::Brotli => (a.brotli, Some("br")),
        Encoding::Gzip => (a.gzip, Some("gzip")),
        Encoding::Identity => (a.plain, None),
    };
    // Each encoding is its own representation, with its own validator.
    let etag = match coding {
        Some(c) => format!("{}-{c}\"", a.etag.trim_end_matches('"')),
        None => a.etag.to_string(),
    };
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        ),
        (header::VARY, HeaderValue::from_static("Accept-Encoding")),
    ];
    if revalidated(headers, &etag) {
        return Some((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let mut r = (
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(a.mime))],
        bytes,
    )
        .into_response();
    if let Some(c) = coding {
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(c));
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_encoding_the_browser_takes() {
        use Encoding::*;
        assert_eq!(choose_encoding(None), Identity);
        assert_eq!(choose_encoding(Some("gzip, deflate, br, zstd")), Brotli);
        assert_eq!(choose_encoding(Some("gzip, deflate")), Gzip);
        assert_eq!(choose_encoding(Some("br;q=0, gzip;q=0.5")), Gzip);
        assert_eq!(choose_encoding(Some("br;q=0,gzip;q=0")), Identity);
        assert_eq!(choose_encoding(Some("*")), Brotli);
        assert_eq!(choose_encoding(Some("br;q=0, *;q=0.1")), Gzip);
        assert_eq!(choose_encoding(Some("identity")), Identity);
        assert_eq!(choose_encoding(Some("GZIP")), Gzip);
        assert_eq!(choose_encoding(Some("br;Q=0, gzip")), Gzip);
        assert_eq!(
            choose_encoding(Some("br;q, gzip;é")),
            Brotli,
            "odd weights are 1"
        );
    }

    #[test]
    fn a_validator_per_encoding_matched_weakly_too() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("W/\"ab-br\", \"x\""),
        );
        assert!(revalidated(&h, "\"ab-br\""));
        assert!(!revalidated(&h, "\"ab-gzip\""));
        assert!(!revalidated(&HeaderMap::new(), "\"ab\""));
    }

    /// Every embedded file's encodings hold the same bytes, and the page links the hashed names.
    #[test]
    fn embedded_files_decode_to_the_same_bytes() {
        use std::io::Read;
        for a in ASSETS {
            let mut gz = Vec::new();
            flate2::read::GzDecoder::new(a.gzip)
                .read_to_end(&mut gz)
                .unwrap();
            assert_eq!(gz, a.plain, "{}", a.name);
            let mut br = Vec::new();
            brotli::BrotliDecompress(&mut &a.brotli[..], &mut br).unwrap();
            assert_eq!(br, a.plain, "{}", a.name);
        }
        if let Some(page) = ASSETS.iter().find(|a| a.name == "index.html") {
            let page = std::str::from_utf8(page.plain).unwrap();
            for a in ASSETS.iter().filter(|a| a.immutable) {
                assert!(page.contains(&format!("/board/{}", a.name)), "{}", a.name);
            }
        }
    }
}

/// Everything the board shows, now: queues, open incidents, complaints, outward health.
#[utoipa::path(get, path = "/api/v1/state", tag = "board",
    responses((status = 200, body = floorwatch_protocol::StateSnapshot)),
    security(("bearer" = ["viewer"])))]
pub async fn state_snapshot(State(s): State<AppState>, _: Viewer) -> ApiResult<Response> {
    let watch = s.watch.clone();
    Ok(Json(blocking(move || watch.snapshot()).await?).into_response())
}
