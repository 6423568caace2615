//! The API described: the OpenAPI 3.1 document at `/api/openapi.json`, gathered from every
//! handler's `#[utoipa::path]` as the router registers it (`http::api`), and a reference page at
//! `/api/docs` drawn from the same document on the server: plain HTML with its style inline and
//! no script, so it reads the same on an offline wall PC and prints.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use floorwatch_protocol::escape_html as esc;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, Tag};

/// The document's frame: what Floorwatch is, how callers prove who they are, the tags.
pub fn base() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Floorwatch")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Crisis and SLA alerting for contact centers. Roles: `ingest` sends events and \
                     alerts; `viewer` reads; `lead` acts on incidents, silences and rotas; `admin` \
                     runs the daemon. With no tokens configured the API is open. The `alertmanager` \
                     routes follow Alertmanager 0.25's API v2, so Prometheus, Grafana and amtool \
                     work against Floorwatch; their errors are JSON strings, as those clients read \
                     them.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A token of FLOORWATCH_{INGEST,VIEWER,LEAD,ADMIN}_TOKENS; the scopes name the least role",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "token",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
    );
    components.add_security_scheme(
        "link",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "sig",
            "A page's signed link (`list`, `exp`, `sig`): its own incident only",
        ))),
    );
    doc.tags = Some(
        [
            (
                "events",
                "Events in: contacts, queue readings, complaints, heartbeats, alerts",
            ),
            (
                "incidents",
                "Incidents, their timelines, charts and reviews, and acting on them",
            ),
            ("silences", "Silences in Floorwatch's own form"),
            (
                "alertmanager",
                "Alertmanager's API v2: Prometheus, Grafana and amtool",
            ),
            ("deliveries", "The outbox and each delivery target's record"),
            ("oncall", "On-call rotas, overrides and drills"),
            ("board", "The wall-board, its state and its live stream"),
            (
                "operations",
                "Health, metrics, reload, the cluster, this document",
            ),
        ]
        .into_iter()
        .map(|(name, what)| {
            let mut t = Tag::new(name);
            t.description = Some(what.into());
            t
        })
        .collect(),
    );
    doc
}

/// The OpenAPI 3.1 document of the whole API.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This document", body = Object)))]
pub async fn document(Extension(doc): Extension<Arc<OpenApi>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_json().expect("the document serialises"),
    )
        .into_response()
}

/// The API reference, drawn from the document: every route, its parameters, bodies, answers
/// and the role it needs, then every schema.
#[utoipa::path(get, path = "/api/docs", tag = "operations",
    responses((status = 200, body = String, content_type = "text/html")))]
pub async fn reference(Extension(doc): Extension<Arc<OpenApi>>) -> Response {
    let v = serde_json::to_value(&*doc).expect("the document serialises");
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        )],
        Html(page(&v)),
    )
        .into_response()
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f4f4;padding:.6em;overflow:auto}\
h2{border-bottom:2px solid #333;margin-top:2em}h3{margin:1.4em 0 .3em}\
.m{display:inline-block;min-width:4.5em;font-weight:bold}.get{color:#06c}.post{color:#093}.delete{color:#c30}\
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
.role{color:#555;font-size:90%}nav a{margin-right:1em}";

fn schema_name(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(items) = s.get("items") {
        return format!("array of {}", schema_name(items));
    }
    match s.get("type") {
        Some(Value::String(t)) => esc(t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Value::as_array)
            .map(|alts| {
                alts.iter()
                    .map(schema_name)
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .unwrap_or_else(|| "any".into()),
    }
}

fn content(c: &Value) -> String {
    let Some(map) = c.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(mime, m)| {
            let schema = m.get("schema").map(schema_name).unwrap_or_default();
            format!("<code>{}</code> {schema}", esc(mime))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn text(v: Option<&Value>) -> String {
    esc(v.and_then(Value::as_str).unwrap_or(""))
}

fn page(doc: &Value) -> String {
    let mut h = String::new();
    let title = text(doc.pointer("/info/title"));
    let version = text(doc.pointer("/info/version"));
    h.push_str(&format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>{title} API</title><style>{STYLE}</style>\
         <h1>{title} API <small>{version}</small></h1><p>{}</p>\
         <p>The machine-readable form: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI {}).</p><nav>",
        text(doc.pointer("/info/description")),
        text(doc.get("openapi")),
    ));
    let tags: Vec<(String, String)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| (text(t.get("name")), text(t.get("description"))))
        .collect();
    for (name, _) in &tags {
        h.push_str(&format!("<a href=\"#tag-{name}\">{name}</a>"));
    }
    h.push_str("<a href=\"#schemas\">schemas</a></nav>");
    let paths = doc.get("paths").and_then(Value::as_object);
    for (tag, what) in &tags {
        h.push_str(&format!("<h2 id=\"tag-{tag}\">{tag}</h2><p>{what}</p>"));
        for (path, item) in paths.into_iter().flatten() {
            for method in ["get", "post", "put", "delete", "patch"] {
                let Some(op) = item.get(method) else { continue };
                let in_tag = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag.as_str())));
                if in_tag {
                    operation(&mut h, method, path, op);
                }
            }
        }
    }
    h.push_str("<h2 id=\"schemas\">Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            let pretty = serde_json::to_string_pretty(s).unwrap_or_default();
            h.push_str(&format!(
                "<h3 id=\"schema-{0}\">{0}</h3><pre>{1}</pre>",
                esc(name),
                esc(&pretty)
            ));
        }
    }
    h.push_str("</html>\n");
    h
}

fn operation(h: &mut String, method: &str, path: &str, op: &Value) {
    h.push_str(&format!(
        "<h3><span class=\"m {method}\">{}</span> <code>{}</code></h3>",
        method.to_uppercase(),
        esc(path)
    ));
    let roles: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|m| {
            m.iter().map(|(scheme, scopes)| {
                let scopes: Vec<&str> = scopes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                match (scheme.as_str(), scopes.as_slice()) {
                    ("bearer", [role, ..]) => format!("a {role} token"),
                    ("token", _) => "<code>?token=</code>".into(),
                    ("link", _) => "a page's signed link".into(),
                    (other, _) => esc(other),
                }
            })
        })
        .collect();
    if !roles.is_empty() {
        h.push_str(&format!("<p class=role>Needs {}.</p>", roles.join(", or ")));
    }
    for key in ["summary", "description"] {
        if let Some(t) = op.get(key).and_then(Value::as_str) {
            h.push_str(&format!("<p>{}</p>", esc(t)));
        }
    }
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        h.push_str("<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>About</th></tr>");
        for p in params {
            let required = p.get("required").and_then(Value::as_bool) == Some(true);
            h.push_str(&format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(p.get("name")),
                if required { " (required)" } else { "" },
                text(p.get("in")),
                p.get("schema").map(schema_name).unwrap_or_default(),
                text(p.get("description")),
            ));
        }
        h.push_str("</table>");
    }
    if let Some(body) = op.get("requestBody") {
        h.push_str(&format!(
            "<p>Body: {} {}</p>",
            body.get("content").map(content).unwrap_or_default(),
            text(body.get("description")),
        ));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        h.push_str("<table><tr><th>Answer</th><th>Body</th><th>About</th></tr>");
        for (code, r) in responses {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(code),
                r.get("content").map(content).unwrap_or_default(),
                text(r.get("description")),
            ));
        }
        h.push_str("</table>");
    }
}
