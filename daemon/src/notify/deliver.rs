//! One page to one target: its recipients and language from the configuration, the page
//! written for them, sent through the target's channel. The outbox worker and `floorwatch
//! send-test` both go through `deliver`, so a test message travels the path a page does.

use floorwatch_protocol::{Language, PageTarget, TargetKind};

use super::email::{self, Mailers};
use super::page::Page;
use super::{Attempt, webhook};
use crate::config::{Config, Person};

/// What pages go out through, kept between pages: the HTTP client (its connections pooled per
/// host) and the mail server's pooled connections.
pub struct Senders {
    pub client: reqwest::Client,
    pub mailers: Mailers,
}

impl Senders {
    /// `mail_folder`: write e-mail as .eml files there instead of sending it (the demo).
    pub fn new(mail_folder: Option<std::path::PathBuf>) -> Self {
        Senders {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("an HTTP client"),
            mailers: Mailers::new(mail_folder),
        }
    }
}

/// Delivers to `target` under the idempotency `key`. `page(list, lang)` writes the page for the
/// recipients (`list`: the name its signed links carry); `on_duty` says who holds a rota.
pub async fn deliver<'a>(
    cfg: &Config,
    senders: &Senders,
    target: &PageTarget,
    key: &str,
    on_duty: impl FnOnce(&str) -> Option<Person>,
    page: impl Fn(&str, Language) -> Page<'a>,
) -> Attempt {
    let name = target.name.as_str();
    let gone = |what: &str| Attempt::Final {
        error: format!("{what} \"{name}\" is no longer in the configuration"),
    };
    match target.kind {
        TargetKind::Webhook => {
            let Some(hook) = cfg.webhooks.iter().find(|w| w.name == name) else {
                return gone("webhook");
            };
            let page = page(&target.to_string(), hook.language);
            let api_url = format!(
                "{}/api/v1/incidents/{}",
                cfg.daemon.public_url, page.incident.id
            );
            webhook::send(&senders.client, hook, key, &page, &api_url).await
        }
        TargetKind::Email => {
            let Some(list) = cfg.emails.iter().find(|e| e.name == name) else {
                return gone("email list");
            };
            let mailer = match senders.mailers.get(cfg.smtp.as_ref()) {
                Ok(m) => m,
                Err(error) => return Attempt::Final { error },
            };
            let from = cfg
                .smtp
                .as_ref()
                .map(|s| s.from.as_str())
                .unwrap_or("Floorwatch <floorwatch@localhost>");
            // Lists sign their plain name (links sent before rotas and webhooks had them).
            email::send(
                &mailer,
                from,
                &list.to,
                key,
                &page(&list.name, list.language),
            )
            .await
        }
        TargetKind::OnCall => {
            let (Some(schedule), Some(person)) =
                (cfg.oncall.iter().find(|s| s.name == name), on_duty(name))
            else {
                return gone("on-call schedule");
            };
            let Some(smtp) = &cfg.smtp else {
                return Attempt::Final {
                    error: "no [smtp] section to send through".into(),
                };
            };
            let mailer = match senders.mailers.get(Some(smtp)) {
                Ok(m) => m,
                Err(error) => return Attempt::Final { error },
            };
            let page = page(&target.to_string(), schedule.language);
            match email::send(
                &mailer,
                &smtp.from,
                std::slice::from_ref(&person.email),
                key,
                &page,
            )
            .await
            {
                Attempt::Delivered { detail } => Attempt::Delivered {
                    detail: format!("to {}, {detail}", person.name),
                },
                other => other,
            }
        }
    }
}
