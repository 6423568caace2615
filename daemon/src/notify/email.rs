//! E-mail pages through lettre: plain SMTP, STARTTLS or implicit TLS, optional auth; a text and
//! an HTML body written from the page (`notify::page`) in the list's language; the subject is
//! its headline; the Message-ID is the idempotency key.
//!
//! Connections to the server are pooled and bounded (`[smtp] max_connections`), and each
//! attempt has an overall limit (`[smtp] timeout`) from waiting for a connection to the
//! server's answer: a server that accepts and never speaks costs one timed-out attempt, which
//! is recorded and retried like any other.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floorwatch_protocol::{Language, escape_html as escape};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Attempt;
use super::page::{Label, Page};
use crate::config::{Smtp, SmtpSecurity};

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

/// Builds the message of `page` to `to`: the headline as subject, a text and an HTML body.
pub fn message(from: &str, to: &[String], key: &str, page: &Page) -> Result<Message, String> {
    let text = page.text() + "\n";
    let mut html = format!(
        "<html lang=\"{}\"><body><p><strong>{}</strong></p><table>",
        match page.lang {
            Language::English => "en",
            Language::Chinese => "zh",
        },
        escape(&page.headline())
    );
    for (k, v) in page.facts() {
        html += &format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(&v)
        );
    }
    html += "</table>";
    if let Some(r) = page.runbook() {
        html += &format!(
            "<p><strong>{}</strong>: {}</p>",
            page.label(Label::Runbook),
            escape(r)
        );
    }
    html += &format!(
        "<p><a href=\"{}\">{}</a>",
        escape(&page.links.open),
        page.label(Label::Open)
    );
    if let Some(link) = &page.links.ack {
        html += &format!(
            " · <a href=\"{}\">{}</a>",
            escape(link),
            page.label(Label::Acknowledge)
        );
    }
    html += "</p></body></html>";
    let mut b = Message::builder()
        .from(from.parse::<Mailbox>().map_err(|e| format!("from: {e}"))?)
        .subject(page.headline())
        .message_id(Some(format!("<{key}@floorwatch>")));
    for to in to {
        b = b.to(to.parse::<Mailbox>().map_err(|e| format!("to {to}: {e}"))?);
    }
    b.multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("building the message: {e}"))
}

/// Sends one page to `to`.
pub async fn send(
    mailer: &Mailer,
    from: &str,
    to: &[String],
    key: &str,
    page: &Page<'_>,
) -> Attempt {
    let msg = match message(from, to, key, page) {
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
