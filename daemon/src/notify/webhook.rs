//! Webhook delivery: the generic JSON body and the chat formats (Slack, Microsoft Teams,
//! DingTalk, WeCom, Feishu), signed in the Standard Webhooks style, and the split between
//! retriable and final failures.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use floorwatch_protocol::Incident;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Attempt;
use crate::config::{Webhook, WebhookFormat};

/// The body for `format`. `reason`: opened, escalated, raised or resolved.
pub fn body(format: WebhookFormat, incident: &Incident, reason: &str, public_url: &str) -> Value {
    let url = format!("{public_url}/api/v1/incidents/{}", incident.id);
    let level = incident.escalation.as_ref().map(|e| e.level).unwrap_or(0);
    let headline = format!(
        "[{}] {} ({reason})",
        incident.severity.as_str().to_uppercase(),
        incident.title
    );
    let line = format!(
        "Incident #{} on {}, rule {}, escalation level {level}: {url}",
        incident.id, incident.scope, incident.rule
    );
    match format {
        WebhookFormat::Generic => json!({
            "version": 1,
            "reason": reason,
            "url": url,
            "incident": incident,
        }),
        WebhookFormat::Slack => json!({
            "text": format!("{headline}\n<{url}|Incident #{}> on {}, escalation level {level}", incident.id, incident.scope),
        }),
        WebhookFormat::Teams => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": headline,
            "themeColor": match incident.severity {
                floorwatch_protocol::Severity::Crisis => "8B0000",
                floorwatch_protocol::Severity::Critical => "D32F2F",
                floorwatch_protocol::Severity::Warning => "F9A825",
                floorwatch_protocol::Severity::Info => "1976D2",
            },
            "title": headline,
            "text": line,
        }),
        WebhookFormat::DingTalk => json!({
            "msgtype": "markdown",
            "markdown": { "title": headline, "text": format!("### {headline}\n\n{line}") },
        }),
        WebhookFormat::WeCom => json!({
            "msgtype": "markdown",
            "markdown": { "content": format!("**{headline}**\n{line}") },
        }),
        WebhookFormat::Feishu => json!({
            "msg_type": "text",
            "content": { "text": format!("{headline}\n{line}") },
        }),
    }
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
    incident: &Incident,
    reason: &str,
    public_url: &str,
) -> Attempt {
    let body = serde_json::to_vec(&body(hook.format, incident, reason, public_url))
        .expect("bodies serialise");
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
