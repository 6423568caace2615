//! Webhook delivery: the generic JSON body and the chat formats (Slack, Microsoft Teams
//! Workflows' Adaptive Cards and the older connectors' MessageCard, DingTalk, WeCom, Feishu),
//! each written from the page in the webhook's language, signed in the Standard Webhooks style, and the split between
//! retriable and final failures.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use floorwatch_protocol::Severity;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Attempt;
use super::page::{Label, Page};
use crate::config::{Webhook, WebhookFormat};

/// The longest message WeCom takes in a markdown message, in bytes.
const WECOM_MAX_BYTES: usize = 4096;

/// The body for `format`, written from the page in the webhook's language. `api_url` is the
/// incident in the JSON API (for machines reading the generic body).
pub fn body(format: WebhookFormat, page: &Page, api_url: &str) -> Value {
    let incident = page.incident;
    let headline = page.headline();
    match format {
        WebhookFormat::Generic => json!({
            "version": 1,
            "reason": page.reason.as_str(),
            "url": api_url,
            "open_url": page.links.open,
            "ack_url": page.links.ack,
            "language": page.lang,
            "title": page.title(),
            "runbook": page.runbook(),
            "incident": incident,
        }),
        // Slack's incoming webhooks: `text` in mrkdwn, links as `<url|label>`.
        WebhookFormat::Slack => {
            let mut text = format!("*{}*", slack_escape(&headline));
            let facts: Vec<String> = page
                .facts()
                .into_iter()
                .map(|(k, v)| format!("{k}: {}", slack_escape(&v)))
                .collect();
            text.push_str(&format!("\n{}", facts.join(" · ")));
            if let Some(r) = page.runbook() {
                text.push_str(&format!(
                    "\n{}: {}",
                    page.label(Label::Runbook),
                    slack_escape(r)
                ));
            }
            text.push_str(&format!(
                "\n<{}|{}>",
                page.links.open,
                page.label(Label::Open)
            ));
            if let Some(ack) = &page.links.ack {
                text.push_str(&format!(" · <{ack}|{}>", page.label(Label::Acknowledge)));
            }
            json!({ "text": text })
        }
        // Teams Workflows ("When a Teams webhook request is received"): a message whose
        // attachments hold an Adaptive Card.
        WebhookFormat::Teams => {
            let mut body = vec![
                json!({
                    "type": "TextBlock",
                    "text": headline,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": true,
                    "color": match incident.severity {
                        Severity::Crisis | Severity::Critical => "Attention",
                        Severity::Warning => "Warning",
                        Severity::Info => "Default",
                    },
                }),
                json!({
                    "type": "FactSet",
                    "facts": page.facts().into_iter().map(|(k, v)| json!({"title": k, "value": v})).collect::<Vec<_>>(),
                }),
            ];
            if let Some(r) = page.runbook() {
                body.push(json!({
                    "type": "TextBlock",
                    "text": format!("{}: {r}", page.label(Label::Runbook)),
                    "wrap": true,
                }));
            }
            let mut actions = vec![json!({
                "type": "Action.OpenUrl",
                "title": page.label(Label::Open),
                "url": page.links.open,
            })];
            if let Some(ack) = &page.links.ack {
                actions.push(json!({
                    "type": "Action.OpenUrl",
                    "title": page.label(Label::Acknowledge),
                    "url": ack,
                }));
            }
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": body,
                        "actions": actions,
                    },
                }],
            })
        }
        // The retired Office 365 connectors' MessageCard, for the connectors still running.
        WebhookFormat::TeamsConnector => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": headline,
            "themeColor": match incident.severity {
                Severity::Crisis => "8B0000",
                Severity::Critical => "D32F2F",
                Severity::Warning => "F9A825",
                Severity::Info => "1976D2",
            },
            "title": headline,
            "text": page.text(),
            "potentialAction": [{
                "@type": "OpenUri",
                "name": page.label(Label::Open),
                "targets": [{ "os": "default", "uri": page.links.open }],
            }],
        }),
        WebhookFormat::DingTalk => json!({
            "msgtype": "markdown",
            "markdown": { "title": headline, "text": page.markdown() },
        }),
        WebhookFormat::WeCom => json!({
            "msgtype": "markdown",
            "markdown": { "content": cut(page.markdown(), WECOM_MAX_BYTES) },
        }),
        WebhookFormat::Feishu => json!({
            "msg_type": "text",
            "content": { "text": page.text() },
        }),
    }
}

/// Slack's three escaped characters in message text.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// `webhook-signature` of the Standard Webhooks scheme: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`. A secret written `whsec_<base64>` is used decoded, as the scheme
/// specifies; any other secret is used as its bytes.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => BASE64
            .decode(b64)
            .unwrap_or_else(|_| secret.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// Sends one notification and says how it went.
pub async fn send(
    client: &reqwest::Client,
    hook: &Webhook,
    key: &str,
    page: &Page<'_>,
    api_url: &str,
) -> Attempt {
    let body = serde_json::to_vec(&body(hook.format, page, api_url)).expect("bodies serialise");
    let timestamp = chrono::Utc::now().timestamp();
    let mut req = client
        .post(&hook.url)
        .timeout(Duration::from_millis(hook.timeout as u64))
        .header("content-type", "application/json")
        .header("user-agent", "floorwatch")
        .header("webhook-id", key)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = &hook.secret {
        req = req.header(
            "webhook-signature",
            signature(secret, key, timestamp, &body),
        );
    }
    let started = Instant::now();
    match req.body(body).send().await {
        Err(e) if e.is_timeout() => Attempt::Retry {
            error: format!("no answer within {} ms", hook.timeout),
            after: None,
        },
        Err(e) => Attempt::Retry {
            error: format!("cannot reach {}: {}", hook.url, root_cause(&e)),
            after: None,
        },
        Ok(resp) => {
            let status = resp.status();
            let after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after_ms);
            let ms = started.elapsed().as_millis();
            if status.is_success() {
                Attempt::Delivered {
                    detail: format!("HTTP {} in {ms} ms", status.as_u16()),
                }
            } else if status.as_u16() == 429 || status.is_server_error() {
                Attempt::Retry {
                    error: format!("HTTP {}", status.as_u16()),
                    after,
                }
            } else {
                Attempt::Final {
                    error: format!(
                        "HTTP {}: the receiver refused it; not retried",
                        status.as_u16()
                    ),
                }
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Retry-After as seconds or as an HTTP date, in milliseconds from now.
fn retry_after_ms(v: &str) -> Option<i64> {
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Some(secs.max(0) * 1000);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    Some((at.timestamp_millis() - chrono::Utc::now().timestamp_millis()).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::page::{Links, Reason};
    use floorwatch_protocol::Language;

    fn body_of(format: WebhookFormat, lang: Language) -> Value {
        let i = crate::notify::page::tests::incident();
        let page = Page {
            incident: &i,
            reason: Reason::Opened,
            lang,
            links: Links {
                open: "http://fw.example/?list=webhook%3Afloor#/incidents/5".into(),
                ack: Some("http://fw.example/ack/5?list=webhook%3Afloor".into()),
            },
        };
        body(format, &page, "http://fw.example/api/v1/incidents/5")
    }

    fn text(v: &Value) -> &str {
        v.as_str().unwrap_or_else(|| panic!("a string, found {v}"))
    }

    #[test]
    fn teams_gets_an_adaptive_card_as_workflows_take_it() {
        let b = body_of(WebhookFormat::Teams, Language::English);
        assert_eq!(b["type"], "message");
        let a = &b["attachments"];
        assert_eq!(a.as_array().unwrap().len(), 1);
        assert_eq!(
            a[0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert!(a[0]["contentUrl"].is_null());
        let card = &a[0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(
            card["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(card["version"], "1.4");
        // Only elements and actions of Adaptive Cards 1.4, each with what it requires.
        for e in card["body"].as_array().unwrap() {
            match text(&e["type"]) {
                "TextBlock" => assert!(!text(&e["text"]).is_empty()),
                "FactSet" => {
                    for f in e["facts"].as_array().unwrap() {
                        assert!(!text(&f["title"]).is_empty() && !text(&f["value"]).is_empty());
                    }
                }
                other => panic!("{other} is not an element this card should use"),
            }
            if let Some(c) = e.get("color") {
                assert!(["Default", "Attention", "Warning", "Good", "Accent"].contains(&text(c)));
            }
        }
        assert_eq!(
            text(&card["body"][0]["text"]),
            "[CRITICAL] phone-a: 30 callers waiting (opened)"
        );
        assert_eq!(card["body"][0]["color"], "Attention");
        let facts = card["body"][1]["facts"].to_string();
        assert!(
            facts.contains("\"Where\"") && facts.contains("phone-a"),
            "{facts}"
        );
        assert!(
            facts.contains("\"waiting\"") && facts.contains("\"30\""),
            "{facts}"
        );
        let actions = card["actions"].as_array().unwrap();
        assert_eq!(actions[0]["type"], "Action.OpenUrl");
        assert_eq!(actions[0]["title"], "Open");
        assert!(text(&actions[0]["url"]).ends_with("#/incidents/5"));
        assert_eq!(actions[1]["title"], "Acknowledge");
        assert!(card["body"].to_string().contains("Call the ACD vendor"));
    }

    #[test]
    fn the_old_connectors_still_get_a_message_card() {
        let b = body_of(WebhookFormat::TeamsConnector, Language::English);
        assert_eq!(b["@type"], "MessageCard");
        assert_eq!(b["@context"], "https://schema.org/extensions");
        assert_eq!(b["themeColor"], "D32F2F");
        assert!(!text(&b["summary"]).is_empty());
        assert_eq!(b["potentialAction"][0]["@type"], "OpenUri");
        assert!(text(&b["potentialAction"][0]["targets"][0]["uri"]).ends_with("#/incidents/5"));
    }

    #[test]
    fn slack_gets_mrkdwn_text_with_its_link_syntax() {
        let b = body_of(WebhookFormat::Slack, Language::English);
        assert_eq!(b.as_object().unwrap().len(), 1, "only `text`: {b}");
        let t = text(&b["text"]);
        assert!(
            t.starts_with("*[CRITICAL] phone-a: 30 callers waiting (opened)*"),
            "{t}"
        );
        assert!(t.contains("|Open>") && t.contains("|Acknowledge>"), "{t}");
    }

    #[test]
    fn the_chinese_chat_services_get_their_shapes_in_chinese() {
        let d = body_of(WebhookFormat::DingTalk, Language::Chinese);
        assert_eq!(d["msgtype"], "markdown");
        assert_eq!(
            text(&d["markdown"]["title"]),
            "[严重] phone-a：30 个来电排队中（新告警）"
        );
        let md = text(&d["markdown"]["text"]);
        assert!(
            md.contains("[打开](http://fw.example/") && md.contains("[确认]("),
            "{md}"
        );
        assert!(md.contains("处置步骤: 联系 ACD 厂商"), "{md}");

        let w = body_of(WebhookFormat::WeCom, Language::Chinese);
        assert_eq!(w["msgtype"], "markdown");
        let content = text(&w["markdown"]["content"]);
        assert!(content.len() <= WECOM_MAX_BYTES);
        assert!(content.contains("排队数: 30"), "{content}");

        let f = body_of(WebhookFormat::Feishu, Language::Chinese);
        assert_eq!(f["msg_type"], "text");
        let t = text(&f["content"]["text"]);
        assert!(
            t.starts_with("[严重] phone-a：30 个来电排队中（新告警）"),
            "{t}"
        );
        assert!(t.contains("打开: http://fw.example/"), "{t}");
    }

    #[test]
    fn the_generic_body_keeps_its_fields_and_adds_the_page() {
        let g = body_of(WebhookFormat::Generic, Language::Chinese);
        assert_eq!(g["version"], 1);
        assert_eq!(g["reason"], "opened");
        assert_eq!(g["url"], "http://fw.example/api/v1/incidents/5");
        assert_eq!(g["language"], "zh");
        assert_eq!(g["title"], "phone-a：30 个来电排队中");
        assert_eq!(g["runbook"], "联系 ACD 厂商");
        assert!(text(&g["open_url"]).ends_with("#/incidents/5"));
        assert_eq!(g["incident"]["id"], 5);
    }

    #[test]
    fn a_long_wecom_message_is_cut_on_a_character() {
        let s = "队".repeat(2000);
        let c = cut(s, WECOM_MAX_BYTES);
        assert!(c.len() <= WECOM_MAX_BYTES && c.chars().all(|ch| ch == '队'));
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The test vector of the Standard Webhooks specification.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(retry_after_ms("3"), Some(3000));
        assert!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT").is_some());
        assert_eq!(retry_after_ms("soon"), None);
    }
}
