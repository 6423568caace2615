//! E-mail pages through lettre: plain SMTP, STARTTLS or implicit TLS, optional auth; a text and
//! an HTML body in the list's language; the subject carries severity, queue and rule; a signed
//! acknowledge link; the Message-ID is the idempotency key.

use std::path::PathBuf;
use std::time::Duration;

use floorwatch_protocol::{Incident, Severity};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Attempt;
use super::ack_link::LinkKey;
use crate::config::{EmailList, Language, Smtp, SmtpSecurity};

/// Where mail goes: a real SMTP server, or (the demo) `.eml` files in a folder.
#[derive(Clone)]
pub enum Mailer {
    Smtp(Smtp),
    Files(PathBuf),
}

fn words(lang: Language, severity: Severity, reason: &str) -> (&'static str, &'static str) {
    let sev = match (lang, severity) {
        (Language::Chinese, Severity::Info) => "信息",
        (Language::Chinese, Severity::Warning) => "警告",
        (Language::Chinese, Severity::Critical) => "严重",
        (Language::Chinese, Severity::Crisis) => "危机",
        (Language::English, Severity::Info) => "INFO",
        (Language::English, Severity::Warning) => "WARNING",
        (Language::English, Severity::Critical) => "CRITICAL",
        (Language::English, Severity::Crisis) => "CRISIS",
    };
    let why = match (lang, reason) {
        (Language::Chinese, "opened") => "新告警",
        (Language::Chinese, "escalated") => "已升级",
        (Language::Chinese, "raised") => "已加重",
        (Language::Chinese, "resolved") => "已解决",
        (Language::Chinese, _) => "测试",
        (Language::English, "opened") => "opened",
        (Language::English, "escalated") => "escalated",
        (Language::English, "raised") => "worse",
        (Language::English, "resolved") => "resolved",
        (Language::English, _) => "test",
    };
    (sev, why)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Builds the message for one list. `ack` is the acknowledge link (none once resolved).
pub fn message(
    from: &str,
    list: &EmailList,
    key: &str,
    incident: &Incident,
    reason: &str,
    public_url: &str,
    ack: Option<&str>,
) -> Result<Message, String> {
    let lang = list.language;
    let (sev, why) = words(lang, incident.severity, reason);
    let subject = format!(
        "[{sev}] {} · {} · {} ({why})",
        incident.scope, incident.rule, incident.title
    );
    let url = format!("{public_url}/api/v1/incidents/{}", incident.id);
    let level = incident.escalation.as_ref().map(|e| e.level).unwrap_or(0);
    let (l_incident, l_level, l_ack, l_view) = match lang {
        Language::English => ("Incident", "escalation level", "Acknowledge", "Timeline"),
        Language::Chinese => ("事件", "升级级别", "确认", "时间线"),
    };
    let mut text = format!(
        "{}\n\n{l_incident} #{} · {} · {l_level} {level}\n{l_view}: {url}\n",
        incident.title, incident.id, incident.scope
    );
    let mut html = format!(
        "<p><strong>{}</strong></p><p>{l_incident} #{} · {} · {l_level} {level}</p><p><a href=\"{}\">{l_view}</a></p>",
        escape(&incident.title),
        incident.id,
        escape(&incident.scope),
        escape(&url)
    );
    if let Some(link) = ack {
        text += &format!("{l_ack}: {link}\n");
        html += &format!("<p><a href=\"{}\">{l_ack}</a></p>", escape(link));
    }
    let mut b = Message::builder()
        .from(from.parse::<Mailbox>().map_err(|e| format!("from: {e}"))?)
        .subject(subject)
        .message_id(Some(format!("<{key}@floorwatch>")));
    for to in &list.to {
        b = b.to(to.parse::<Mailbox>().map_err(|e| format!("to {to}: {e}"))?);
    }
    b.multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("building the message: {e}"))
}

/// Sends one page to one list.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    mailer: &Mailer,
    from: &str,
    list: &EmailList,
    key: &str,
    incident: &Incident,
    reason: &str,
    public_url: &str,
    link: Option<(&LinkKey, i64)>,
) -> Attempt {
    let ack = link
        .filter(|_| incident.status.is_open() && reason != "resolved")
        .map(|(k, exp)| k.link(public_url, incident.id, &list.name, exp));
    let msg = match message(
        from,
        list,
        key,
        incident,
        reason,
        public_url,
        ack.as_deref(),
    ) {
        Ok(m) => m,
        Err(e) => return Attempt::Final { error: e },
    };
    match mailer {
        Mailer::Files(dir) => {
            if let Err(e) = tokio::fs::create_dir_all(dir).await {
                return Attempt::Retry {
                    error: format!("mail folder: {e}"),
                    after: None,
                };
            }
            match AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(msg)
                .await
            {
                Ok(id) => Attempt::Delivered {
                    detail: format!("written to {}/{id}.eml", dir.display()),
                },
                Err(e) => Attempt::Retry {
                    error: format!("writing the mail: {e}"),
                    after: None,
                },
            }
        }
        Mailer::Smtp(smtp) => {
            let transport = match transport(smtp) {
                Ok(t) => t,
                Err(e) => return Attempt::Final { error: e },
            };
            match transport.send(msg).await {
                Ok(r) => Attempt::Delivered {
                    detail: format!("SMTP {} {}", r.code(), r.message().next().unwrap_or("")),
                },
                Err(e) if e.is_permanent() => Attempt::Final {
                    error: format!("the mail server refused it: {e}"),
                },
                Err(e) => Attempt::Retry {
                    error: format!("mail server {}:{}: {e}", smtp.host, smtp.port),
                    after: None,
                },
            }
        }
    }
}

fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let b = match smtp.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| format!("STARTTLS to {}: {e}", smtp.host))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| format!("TLS to {}: {e}", smtp.host))?,
    };
    let mut b = b
        .port(smtp.port)
        .timeout(Some(Duration::from_millis(smtp.timeout as u64)));
    if let Some((user, password)) = &smtp.credentials {
        b = b.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(b.build())
}
