//! `[[heartbeat]]`: Floorwatch's own pulse, sent outward so that an outside dead man's switch
//! (a healthchecks-style service, or any webhook) pages someone when Floorwatch stops.

use super::Millis;
use super::parse::{Cx, Val};

#[derive(Debug, Clone, PartialEq)]
pub struct OutwardHeartbeat {
    pub name: String,
    pub url: String,
    /// A ping this often (the first at start).
    pub interval: Millis,
    /// One ping, all told: a receiver that accepts and never answers costs this.
    pub timeout: Millis,
    /// `get` (what healthchecks-style services take) or `post` (a small JSON body).
    pub post: bool,
}

impl Cx<'_> {
    pub(crate) fn heartbeat(&mut self, v: &Val) -> Option<OutwardHeartbeat> {
        let tab = self.table(
            v,
            "[[heartbeat]]".into(),
            &["name", "url", "interval", "timeout", "method"],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = tab.named(&format!(
            "[[heartbeat]] \"{}\"",
            name.as_deref().unwrap_or("?")
        ));
        let url = self.http_url(&tab, "url");
        let interval = self.duration(&tab, "interval").unwrap_or(60_000).max(1_000);
        let timeout = self.duration(&tab, "timeout").unwrap_or(10_000);
        if timeout > interval {
            self.err(
                &tab.span,
                format!(
                    "{}: `timeout` ({}) must not be longer than `interval` ({})",
                    tab.what,
                    super::format_duration(timeout),
                    super::format_duration(interval)
                ),
            );
        }
        let post = self
            .word(
                &tab,
                "method",
                |m| match m {
                    "get" => Some(false),
                    "post" => Some(true),
                    _ => None,
                },
                "get, post",
            )
            .unwrap_or(false);
        Some(OutwardHeartbeat {
            name: name?,
            url: url?,
            interval,
            timeout,
            post,
        })
    }
}
