//! E-mail pages through lettre: plain SMTP, STARTTLS or implicit TLS, optional auth; a text and
//! an HTML body in the list's language; the subject carries severity, queue and rule; a signed
//! acknowledge link; the Message-ID is the idempotency key.
//!
//! Connections to the server are pooled and bounded (`[smtp] max_connections`), and each
//! attempt has an overall limit (`[smtp] timeout`) from waiting for a connection to the
//! server's answer: a server that accepts and never speaks costs one timed-out attempt, which
//! is recorded and retried like any other.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floorwatch_protocol::{Incident, Severity};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Attempt;
use super::ack_link::LinkKey;
use crate::config::{EmailList, Language, Smtp, SmtpSecurity};

/// Where mail goes: a real SMTP server, or (the demo) `.eml` files in a folder.
#[derive(Clone)]
pub enum Mailer {
    Smtp(Arc<SmtpPool>),
    Files(PathBuf),
}

/// The connections to one mail server: lettre's pool, and a permit per connection so that no
/// more than `max_connections` are open or being opened at once.
pub struct SmtpPool {
    pub smtp: Smtp,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    permits: tokio::sync::Semaphore,
}

impl SmtpPool {
    pub fn new(smtp: &Smtp) -> Result<Self, String> {
        Ok(Self {
            smtp: smtp.clone(),
            transport: transport(smtp)?,
            permits: tokio::sync::Semaphore::new(smtp.max_connections),
        })
    }

    /// Sends one message within the attempt's limit.
    async fn send(&self, msg: Message) -> Attempt {
        let smtp = &self.smtp;
        let limit = Duration::from_millis(smtp.timeout.max(1) as u64);
        let started = Instant::now();
        let server = format!("mail server {}:{}", smtp.host, smtp.port);
        let Ok(Ok(_permit)) = tokio::time::timeout(limit, self.permits.acquire()).await else {
            return Attempt::Retry {
                error: format!(
                    "{server}: all {} connections stayed busy for {}",
                    smtp.max_connections,
                    crate::config::format_duration(smtp.timeout)
                ),
                after: None,
            };
        };
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, self.transport.send(msg)).await {
            Err(_) => Attempt::Retry {
                error: format!(
                    "{server}: no answer within {} ([smtp] timeout)",
                    crate::config::format_duration(smtp.timeout)
                ),
                after: None,
            },
            Ok(Ok(r)) => Attempt::Delivered {
                detail: format!("SMTP {} {}", r.code(), r.message().next().unwrap_or("")),
            },
            Ok(Err(e)) if e.is_permanent() => Attempt::Final {
                error: format!("the mail server refused it: {e}"),
            },
            Ok(Err(e)) => Attempt::Retry {
                error: format!("{server}: {e}"),
                after: None,
            },
        }
    }
}

/// The mailer of the current configuration, kept between pages so that connections are
/// pooled; made anew when `[smtp]` changes.
#[derive(Default)]
pub struct Mailers {
    /// Write e-mail as .eml files here instead of sending it (the demo).
    pub folder: Option<PathBuf>,
    pool: std::sync::Mutex<Option<Arc<SmtpPool>>>,
}

impl Mailers {
    pub fn new(folder: Option<PathBuf>) -> Self {
        Self {
            folder,
            pool: Default::default(),
        }
    }

    pub fn get(&self, smtp: Option<&Smtp>) -> Result<Mailer, String> {
        if let Some(dir) = &self.folder {
            return Ok(Mailer::Files(dir.clone()));
        }
        let Some(smtp) = smtp else {
            return Err("no [smtp] section to send through".into());
        };
        let mut pool = self.pool.lock().unwrap();
        match &*pool {
            Some(p) if p.smtp == *smtp => Ok(Mailer::Smtp(p.clone())),
            _ => {
                let p = Arc::new(SmtpPool::new(smtp)?);
                *pool = Some(p.clone());
                Ok(Mailer::Smtp(p))
            }
        }
    }
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
        Mailer::Smtp(pool) => pool.send(msg).await,
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
        .timeout(Some(Duration::from_millis(smtp.timeout as u64)))
        .pool_config(
            PoolConfig::new()
                .max_size(smtp.max_connections as u32)
                .idle_timeout(Duration::from_secs(60)),
        );
    if let Some((user, password)) = &smtp.credentials {
        b = b.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(b.build())
}
