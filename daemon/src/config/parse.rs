//! Reading alerts.toml into a `Config`, collecting every error at once.
//!
//! The file is parsed into toml's spanned document tree, then walked by hand: each getter checks
//! one value and records an error (with the value's line and column) instead of stopping, so
//! `floorwatch check` can list every mistake in one run. Cross-references (a rule naming a queue or
//! schedule) are checked after the walk.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use floorwatch_protocol::{Channel, Grade, Priority, Severity};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::*;

pub(crate) type Span = Range<usize>;
pub(crate) type Val<'i> = Spanned<DeValue<'i>>;

/// One mistake in the configuration, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every mistake found in one configuration file.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        write!(
            f,
            "{} error{} in the configuration",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigErrors {}

/// Parses and validates a configuration. `file` names it in messages; `base_dir` resolves
/// relative paths inside it (test event files).
pub fn parse_config(
    src: &str,
    file: &str,
    base_dir: Option<&Path>,
) -> Result<Config, ConfigErrors> {
    let mut cx = Cx {
        src,
        file,
        errors: Vec::new(),
        unset_secrets: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(src);
    for e in syntax {
        let span = e.span().unwrap_or(0..0);
        cx.err(&span, e.message().trim().to_string());
    }
    if !cx.errors.is_empty() {
        cx.errors.sort_by_key(|e| (e.line, e.column));
        return Err(ConfigErrors(cx.errors));
    }
    let root_span = root.span();
    let root = Tab {
        t: root.get_ref(),
        span: root_span,
        what: "the top level".into(),
    };
    let mut config = cx.config(&root, base_dir);
    if cx.errors.is_empty() {
        config.unset_secrets = std::mem::take(&mut cx.unset_secrets);
        Ok(config)
    } else {
        cx.errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(cx.errors))
    }
}

/// A table being read, with a description of it for messages.
pub(crate) struct Tab<'a, 'i> {
    t: &'a DeTable<'i>,
    pub(crate) span: Span,
    /// Names the table in messages, e.g. `[[rule]] "phone-depth"`.
    pub(crate) what: String,
}

impl<'a, 'i> Tab<'a, 'i> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a Val<'i>> {
        self.t.get(key)
    }
}

pub(crate) struct Cx<'s> {
    src: &'s str,
    file: &'s str,
    errors: Vec<ConfigError>,
    /// `secret_env` variables that are not set: an error for `run`, a warning for `check`.
    unset_secrets: Vec<ConfigError>,
}

impl<'a, 'i> Tab<'a, 'i> {
    /// The same table, named `what` in messages.
    pub(crate) fn named(self, what: &str) -> Self {
        Tab {
            what: what.into(),
            ..self
        }
    }
}

impl<'s> Cx<'s> {
    /// Reports a second definition of the same name.
    pub(crate) fn unique<'n>(
        &mut self,
        mut names: impl Iterator<Item = &'n str>,
        name: &str,
        what: &str,
        span: &Span,
    ) {
        if names.any(|n| n == name) {
            self.err(span, format!("{what} \"{name}\" is defined twice"));
        }
    }

    pub(crate) fn err(&mut self, span: &Span, message: impl Into<String>) {
        let (line, column) = self.pos(span);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        });
    }

    /// The line and column (from 1) where `span` starts.
    fn pos(&self, span: &Span) -> (usize, usize) {
        let offset = span.start.min(self.src.len());
        let before = &self.src[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        (line, column)
    }

    /// Opens `v` as a table whose keys must be among `allowed`.
    pub(crate) fn table<'a, 'i>(
        &mut self,
        v: &'a Val<'i>,
        what: String,
        allowed: &[&str],
    ) -> Option<Tab<'a, 'i>> {
        let Some(t) = v.get_ref().as_table() else {
            self.err(
                &v.span(),
                format!("{what} must be a table, found {}", v.get_ref().type_str()),
            );
            return None;
        };
        for (k, _) in t.iter() {
            let key: &str = k.get_ref();
            if !allowed.contains(&key) {
                let hint = closest(key, allowed)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                self.err(
                    &k.span(),
                    format!(
                        "unknown key `{key}` in {what}{hint}; expected one of: {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(Tab {
            t,
            span: v.span(),
            what,
        })
    }

    pub(crate) fn sub_table<'a, 'i>(
        &mut self,
        tab: &Tab<'a, 'i>,
        key: &str,
        allowed: &[&str],
    ) -> Option<Tab<'a, 'i>> {
        let v = tab.get(key)?;
        self.table(v, format!("`{key}` in {}", tab.what), allowed)
    }

    /// The entries of an array of tables (`[[key]]`).
    pub(crate) fn table_array<'a, 'i>(&mut self, tab: &Tab<'a, 'i>, key: &str) -> Vec<&'a Val<'i>> {
        match tab.get(key) {
            None => Vec::new(),
            Some(v) => match v.get_ref().as_array() {
                Some(items) => items.iter().collect(),
                None => {
                    self.err(
                        &v.span(),
                        format!(
                            "`{key}` must be an array of tables ([[{key}]]), found {}",
                            v.get_ref().type_str()
                        ),
                    );
                    Vec::new()
                }
            },
        }
    }

    pub(crate) fn required<'a, 'i>(&mut self, tab: &Tab<'a, 'i>, key: &str) -> Option<&'a Val<'i>> {
        let v = tab.get(key);
        if v.is_none() {
            self.err(
                &tab.span,
                format!("{} is missing required key `{key}`", tab.what),
            );
        }
        v
    }

    /// The longest string `key` may hold: names and patterns are short, inline test events long.
    pub(crate) fn max_len(key: &str) -> usize {
        match key {
            "events" => usize::MAX,
            "description" | "title" | "comment" | "text" => crate::limits::MAX_TEXT_BYTES,
            "runbook" | "en" | "zh" => super::pages::MAX_RUNBOOK_BYTES,
            "url" | "to" | "from" | "start" | "at" | "cron" | "handover" | "events_file"
            | "email" | "matchers" => 2048,
            _ => crate::limits::MAX_NAME_BYTES,
        }
    }

    /// Refuses a string longer than its key allows; an error here does not stop the parse.
    pub(crate) fn check_len(&mut self, tab: &Tab, key: &str, s: &str, span: &Span) {
        if let Err(e) = crate::limits::check_len(key, s, Self::max_len(key)) {
            self.err(span, format!("{e} (in {})", tab.what));
        }
    }

    pub(crate) fn string(&mut self, tab: &Tab, key: &str) -> Option<(String, Span)> {
        let v = tab.get(key)?;
        match v.get_ref().as_str() {
            Some(s) => {
                self.check_len(tab, key, s, &v.span());
                Some((s.to_string(), v.span()))
            }
            None => {
                self.err(
                    &v.span(),
                    format!(
                        "`{key}` in {} must be a string, found {}",
                        tab.what,
                        v.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    pub(crate) fn required_string(&mut self, tab: &Tab, key: &str) -> Option<(String, Span)> {
        self.required(tab, key)?;
        self.string(tab, key)
    }

    /// A string or an array of strings.
    pub(crate) fn strings(&mut self, tab: &Tab, key: &str) -> Vec<(String, Span)> {
        let Some(v) = tab.get(key) else {
            return Vec::new();
        };
        if let Some(s) = v.get_ref().as_str() {
            self.check_len(tab, key, s, &v.span());
            return vec![(s.to_string(), v.span())];
        }
        let Some(items) = v.get_ref().as_array() else {
            self.err(
                &v.span(),
                format!(
                    "`{key}` in {} must be a string or an array of strings",
                    tab.what
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) => {
                    self.check_len(tab, key, s, &item.span());
                    out.push((s.to_string(), item.span()))
                }
                None => self.err(
                    &item.span(),
                    format!(
                        "`{key}` in {} must hold strings, found {}",
                        tab.what,
                        item.get_ref().type_str()
                    ),
                ),
            }
        }
        out
    }

    /// A table of strings under any keys (`{ page = "crisis" }`): each key, value and the
    /// value's place.
    pub(crate) fn string_map(&mut self, tab: &Tab, key: &str) -> Vec<(String, String, Span)> {
        let Some(v) = tab.get(key) else {
            return Vec::new();
        };
        let Some(t) = v.get_ref().as_table() else {
            self.err(
                &v.span(),
                format!(
                    "`{key}` in {} must be a table of strings, found {}",
                    tab.what,
                    v.get_ref().type_str()
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, item) in t.iter() {
            let name: &str = k.get_ref();
            match item.get_ref().as_str() {
                Some(s) => {
                    self.check_len(tab, key, s, &item.span());
                    out.push((name.to_string(), s.to_string(), item.span()));
                }
                None => self.err(
                    &item.span(),
                    format!(
                        "`{key}.{name}` in {} must be a string, found {}",
                        tab.what,
                        item.get_ref().type_str()
                    ),
                ),
            }
        }
        out
    }

    /// A closed set of words, e.g. severities; `parse` says which words are valid.
    pub(crate) fn word<T>(
        &mut self,
        tab: &Tab,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        let (s, span) = self.string(tab, key)?;
        let v = parse(&s);
        if v.is_none() {
            self.err(
                &span,
                format!(
                    "`{key}` in {}: unknown value \"{s}\"; expected one of: {expected}",
                    tab.what
                ),
            );
        }
        v
    }

    pub(crate) fn words<T>(
        &mut self,
        tab: &Tab,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (s, span) in self.strings(tab, key) {
            match parse(&s) {
                Some(v) => out.push(v),
                None => self.err(
                    &span,
                    format!(
                        "`{key}` in {}: unknown value \"{s}\"; expected one of: {expected}",
                        tab.what
                    ),
                ),
            }
        }
        out
    }

    pub(crate) fn duration(&mut self, tab: &Tab, key: &str) -> Option<Millis> {
        let v = tab.get(key)?;
        let Some(s) = v.get_ref().as_str() else {
            self.err(
                &v.span(),
                format!(
                    "`{key}` in {} must be a duration string such as \"30s\", found {}",
                    tab.what,
                    v.get_ref().type_str()
                ),
            );
            return None;
        };
        match parse_duration(s).and_then(|d| duration::check_bounds(key, d)) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(&v.span(), format!("`{key}` in {}: {e}", tab.what));
                None
            }
        }
    }

    pub(crate) fn number(&mut self, tab: &Tab, key: &str) -> Option<(f64, Span)> {
        let v = tab.get(key)?;
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        if n.is_none() {
            self.err(
                &v.span(),
                format!(
                    "`{key}` in {} must be a finite number, found {}",
                    tab.what,
                    v.get_ref().type_str()
                ),
            );
        }
        n.map(|n| (n, v.span()))
    }

    pub(crate) fn count(&mut self, tab: &Tab, key: &str) -> Option<u64> {
        let (n, span) = self.number(tab, key)?;
        if n < 0.0 || n.fract() != 0.0 {
            self.err(
                &span,
                format!("`{key}` in {} must be a whole number, 0 or more", tab.what),
            );
            return None;
        }
        Some(n as u64)
    }

    pub(crate) fn ratio(&mut self, tab: &Tab, key: &str) -> Option<f64> {
        let (n, span) = self.number(tab, key)?;
        if !(0.0..=1.0).contains(&n) {
            self.err(
                &span,
                format!(
                    "`{key}` in {} must be a ratio between 0 and 1 (0.8 for 80%), found {n}",
                    tab.what
                ),
            );
            return None;
        }
        Some(n)
    }

    pub(crate) fn timezone(&mut self, tab: &Tab, key: &str) -> Option<Tz> {
        let (s, span) = self.string(tab, key)?;
        match s.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.err(
                    &span,
                    format!("`{key}` in {}: unknown time zone \"{s}\" (use an IANA name such as \"Asia/Shanghai\" or \"UTC\")", tab.what),
                );
                None
            }
        }
    }

    pub(crate) fn cron(&mut self, tab: &Tab, key: &str) -> Option<cron::Schedule> {
        let (s, span) = self.string(tab, key)?;
        match check_cron(&s) {
            Ok(c) => Some(c),
            Err(e) => {
                self.err(&span, format!("`{key}` in {}: {e}", tab.what));
                None
            }
        }
    }

    // ---- the sections ----

    pub(crate) fn config(&mut self, root: &Tab, base_dir: Option<&Path>) -> Config {
        self.table(
            &Spanned::new(root.span.clone(), DeValue::Table(root.t.clone())),
            "the top level".into(),
            &[
                "daemon",
                "complaints",
                "schedule",
                "queue",
                "webhook",
                "smtp",
                "email",
                "oncall",
                "escalation",
                "maintenance",
                "drill",
                "delivery",
                "live",
                "feeds",
                "heartbeat",
                "store",
                "rule",
                "route",
                "test",
            ],
        );
        let daemon = self.daemon(root);
        let complaints = self.complaints(root);
        let mut schedules: Vec<ScheduleSpec> = Vec::new();
        for v in self.table_array(root, "schedule") {
            if let Some(s) = self.schedule(v, daemon.timezone) {
                self.unique(
                    schedules.iter().map(|x| x.name.as_str()),
                    &s.name,
                    "schedule",
                    &v.span(),
                );
                schedules.push(s);
            }
        }
        let mut queues: Vec<QueueProfile> = Vec::new();
        for v in self.table_array(root, "queue") {
            if let Some(q) = self.queue(v, &schedules) {
                self.unique(
                    queues.iter().map(|x| x.pattern.as_str()),
                    &q.pattern,
                    "queue",
                    &v.span(),
                );
                queues.push(q);
            }
        }
        let mut webhooks: Vec<Webhook> = Vec::new();
        for v in self.table_array(root, "webhook") {
            if let Some(w) = self.webhook(v) {
                self.unique(
                    webhooks.iter().map(|x| x.name.as_str()),
                    &w.name,
                    "webhook",
                    &v.span(),
                );
                webhooks.push(w);
            }
        }
        let mut heartbeats: Vec<super::OutwardHeartbeat> = Vec::new();
        for v in self.table_array(root, "heartbeat") {
            if let Some(h) = self.heartbeat(v) {
                self.unique(
                    heartbeats.iter().map(|x| x.name.as_str()),
                    &h.name,
                    "heartbeat",
                    &v.span(),
                );
                heartbeats.push(h);
            }
        }
        let smtp = self.smtp(root);
        let mut emails: Vec<EmailList> = Vec::new();
        for v in self.table_array(root, "email") {
            if let Some(e) = self.email(v) {
                self.unique(
                    emails.iter().map(|x| x.name.as_str()),
                    &e.name,
                    "email list",
                    &v.span(),
                );
                if smtp.is_none() {
                    self.err(
                        &v.span(),
                        format!(
                            "email list \"{}\" needs an [smtp] section to send through",
                            e.name
                        ),
                    );
                }
                emails.push(e);
            }
        }
        let mut oncall: Vec<OnCallSchedule> = Vec::new();
        for v in self.table_array(root, "oncall") {
            if let Some(o) = self.oncall(v, daemon.timezone) {
                self.unique(
                    oncall.iter().map(|x| x.name.as_str()),
                    &o.name,
                    "on-call schedule",
                    &v.span(),
                );
                if smtp.is_none() {
                    self.err(
                        &v.span(),
                        format!(
                            "on-call schedule \"{}\" pages by e-mail and needs an [smtp] section",
                            o.name
                        ),
                    );
                }
                oncall.push(o);
            }
        }
        let mut escalations: Vec<EscalationPolicy> = Vec::new();
        for v in self.table_array(root, "escalation") {
            if let Some(e) = self.escalation(v, &webhooks, &emails, &oncall) {
                self.unique(
                    escalations.iter().map(|x| x.name.as_str()),
                    &e.name,
                    "escalation",
                    &v.span(),
                );
                escalations.push(e);
            }
        }
        let delivery = self.delivery(root);
        let live = self.live(root);
        let feeds = self.feeds(root);
        let store = self.store(root);
        let mut maintenance = Vec::new();
        for v in self.table_array(root, "maintenance") {
            let Some(t) = self.table(
                v,
                "[[maintenance]]".into(),
                &["name", "schedule", "queues", "rules"],
            ) else {
                continue;
            };
            let name = self.required_string(&t, "name").map(|(s, _)| s);
            let schedule = self.required_string(&t, "schedule").and_then(|(s, span)| {
                let i = schedules.iter().position(|x| x.name == s);
                if i.is_none() {
                    self.err(
                        &span,
                        format!(
                            "[[maintenance]]: unknown schedule \"{s}\" (defined: {})",
                            names(schedules.iter().map(|s| &s.name))
                        ),
                    );
                }
                i
            });
            let scopes = self
                .strings(&t, "queues")
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            let rules = self
                .strings(&t, "rules")
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            if let (Some(name), Some(schedule)) = (name, schedule) {
                maintenance.push(Maintenance {
                    name,
                    schedule,
                    scopes,
                    rules,
                });
            }
        }
        let mut drills: Vec<Drill> = Vec::new();
        for v in self.table_array(root, "drill") {
            let Some(t) = self.table(
                v,
                "[[drill]]".into(),
                &[
                    "name",
                    "title",
                    "scope",
                    "severity",
                    "escalation",
                    "cron",
                    "length",
                    "stop_feed",
                ],
            ) else {
                continue;
            };
            let name = self.required_string(&t, "name").map(|(s, _)| s);
            let t = Tab {
                what: format!("[[drill]] \"{}\"", name.as_deref().unwrap_or("?")),
                ..t
            };
            let escalation = self.string(&t, "escalation").and_then(|(e, span)| {
                let i = escalations.iter().position(|x| x.name == e);
                if i.is_none() {
                    self.err(&span, format!("{}: unknown escalation \"{e}\"", t.what));
                }
                i
            });
            let severity = self
                .word(
                    &t,
                    "severity",
                    Severity::parse,
                    &Severity::ALL.map(|s| s.as_str()).join(", "),
                )
                .unwrap_or(Severity::Critical);
            if let Some(name) = name {
                self.unique(
                    drills.iter().map(|d| d.name.as_str()),
                    &name,
                    "drill",
                    &v.span(),
                );
                drills.push(Drill {
                    title: self
                        .string(&t, "title")
                        .map(|(s, _)| s)
                        .unwrap_or_else(|| format!("drill {name}")),
                    scope: self
                        .string(&t, "scope")
                        .map(|(s, _)| s)
                        .unwrap_or_else(|| "drill".into()),
                    severity,
                    escalation,
                    cron: self.cron(&t, "cron"),
                    length: self.duration(&t, "length").unwrap_or(15 * 60_000),
                    stop_feed: self.boolean(&t, "stop_feed").unwrap_or(false),
                    name,
                });
            }
        }
        let mut rules: Vec<Rule> = Vec::new();
        let tables = self
            .table_array(root, "rule")
            .into_iter()
            .map(|v| (v, false));
        let routes = self
            .table_array(root, "route")
            .into_iter()
            .map(|v| (v, true));
        for (v, route) in tables.chain(routes).collect::<Vec<_>>() {
            if let Some(r) = self.rule(v, route, &schedules, &queues, &escalations) {
                self.unique(
                    rules.iter().map(|x| x.name.as_str()),
                    &r.name,
                    if route { "route" } else { "rule" },
                    &v.span(),
                );
                rules.push(r);
            }
        }
        let mut tests = Vec::new();
        for v in self.table_array(root, "test") {
            if let Some(t) = self.test(v, &rules, base_dir) {
                tests.push(t);
            }
        }
        Config {
            daemon,
            complaints,
            schedules,
            queues,
            webhooks,
            smtp,
            emails,
            oncall,
            escalations,
            maintenance,
            drills,
            delivery,
            live,
            feeds,
            heartbeats,
            store,
            rules,
            tests,
            unset_secrets: Vec::new(),
        }
    }

    pub(crate) fn webhook(&mut self, v: &Val) -> Option<Webhook> {
        let tab = self.table(
            v,
            "[[webhook]]".into(),
            &["name", "url", "format", "secret_env", "timeout", "language"],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[webhook]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        let url = self.http_url(&tab, "url");
        let format = self
            .word(
                &tab,
                "format",
                WebhookFormat::parse,
                &WebhookFormat::NAMES.join(", "),
            )
            .unwrap_or(WebhookFormat::Generic);
        let secret = self.env_secret(&tab, "secret_env");
        let timeout = self.duration(&tab, "timeout").unwrap_or(5_000);
        let language = self.language(&tab);
        Some(Webhook {
            name: name?,
            url: url?,
            format,
            language,
            secret,
            timeout,
        })
    }

    /// A required `http://` or `https://` URL.
    pub(crate) fn http_url(&mut self, tab: &Tab, key: &str) -> Option<String> {
        let (u, span) = self.required_string(tab, key)?;
        if u.starts_with("http://") || u.starts_with("https://") {
            Some(u)
        } else {
            self.err(
                &span,
                format!(
                    "`{key}` in {} must start with http:// or https://",
                    tab.what
                ),
            );
            None
        }
    }

    /// A secret read from the environment variable that `key` names.
    pub(crate) fn env_secret(&mut self, tab: &Tab, key: &str) -> Option<String> {
        let (var, span) = self.string(tab, key)?;
        match std::env::var(&var) {
            Ok(s) if !s.is_empty() => Some(s),
            _ => {
                let (line, column) = self.pos(&span);
                self.unset_secrets.push(ConfigError {
                    file: self.file.to_string(),
                    line,
                    column,
                    message: format!(
                        "{}: the environment variable {var} (`{key}`) is not set",
                        tab.what
                    ),
                });
                None
            }
        }
    }

    pub(crate) fn smtp(&mut self, root: &Tab) -> Option<Smtp> {
        let t = self.sub_table(
            root,
            "smtp",
            &[
                "host",
                "port",
                "security",
                "from",
                "username_env",
                "password_env",
                "timeout",
                "ack_link_valid",
                "max_connections",
            ],
        )?;
        let t = Tab {
            what: "[smtp]".into(),
            ..t
        };
        let host = self.required_string(&t, "host").map(|(h, _)| h);
        let security = self
            .word(
                &t,
                "security",
                |s| match s {
                    "none" => Some(SmtpSecurity::None),
                    "starttls" => Some(SmtpSecurity::StartTls),
                    "tls" => Some(SmtpSecurity::Tls),
                    _ => None,
                },
                "none, starttls, tls",
            )
            .unwrap_or(SmtpSecurity::StartTls);
        let port = match self.count(&t, "port") {
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(_) => {
                self.err(
                    &t.get("port").unwrap().span(),
                    "`port` in [smtp] must be between 1 and 65535",
                );
                25
            }
            None => match security {
                SmtpSecurity::None => 25,
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::Tls => 465,
            },
        };
        let from = self.required_string(&t, "from").and_then(|(f, span)| {
            if f.parse::<lettre::message::Mailbox>().is_err() {
                self.err(&span, format!("`from` in [smtp]: \"{f}\" is not an address such as \"Floorwatch <floorwatch@example.com>\""));
                return None;
            }
            Some(f)
        });
        let user = self.env_secret(&t, "username_env");
        let password = self.env_secret(&t, "password_env");
        if t.get("username_env").is_some() != t.get("password_env").is_some() {
            self.err(
                &t.span,
                "[smtp] needs both `username_env` and `password_env`, or neither",
            );
        }
        Some(Smtp {
            host: host?,
            port,
            security,
            from: from?,
            credentials: user.zip(password),
            max_connections: match self.count(&t, "max_connections") {
                Some(n) if (1..=64).contains(&n) => n as usize,
                Some(_) => {
                    self.err(
                        &t.get("max_connections").unwrap().span(),
                        "`max_connections` in [smtp] must be from 1 to 64",
                    );
                    4
                }
                None => 4,
            },
            timeout: self.duration(&t, "timeout").unwrap_or(10_000),
            ack_link_valid: self
                .duration(&t, "ack_link_valid")
                .unwrap_or(24 * 3_600_000),
        })
    }

    pub(crate) fn email(&mut self, v: &Val) -> Option<EmailList> {
        let tab = self.table(v, "[[email]]".into(), &["name", "to", "language"])?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[email]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        self.required(&tab, "to");
        let mut to = Vec::new();
        for (a, span) in self.strings(&tab, "to") {
            if a.parse::<lettre::message::Mailbox>().is_err() {
                self.err(
                    &span,
                    format!("{}: \"{a}\" is not an e-mail address", tab.what),
                );
            } else {
                to.push(a);
            }
        }
        let language = self.language(&tab);
        Some(EmailList {
            name: name?,
            to,
            language,
        })
    }

    pub(crate) fn oncall(&mut self, v: &Val, default_tz: Tz) -> Option<OnCallSchedule> {
        let tab = self.table(
            v,
            "[[oncall]]".into(),
            &[
                "name", "timezone", "handover", "start", "people", "language",
            ],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[oncall]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        let timezone = self.timezone(&tab, "timezone").unwrap_or(default_tz);
        self.required(&tab, "handover");
        let handover = self.cron(&tab, "handover");
        let start = self.required_string(&tab, "start").and_then(|(s, span)| {
            match DateTime::parse_from_rfc3339(&s) {
                Ok(t) => Some(t.timestamp_millis()),
                Err(e) => {
                    self.err(
                        &span,
                        format!("`start` in {}: not an RFC 3339 time ({e})", tab.what),
                    );
                    None
                }
            }
        });
        let mut people = Vec::new();
        for p in self.table_array(&tab, "people") {
            let Some(pt) = self.table(p, format!("a person of {}", tab.what), &["name", "email"])
            else {
                continue;
            };
            let pname = self.required_string(&pt, "name");
            let email = self.required_string(&pt, "email").and_then(|(e, span)| {
                if e.parse::<lettre::message::Mailbox>().is_err() {
                    self.err(
                        &span,
                        format!("{}: \"{e}\" is not an e-mail address", pt.what),
                    );
                    return None;
                }
                Some(e)
            });
            if let (Some((n, _)), Some(e)) = (pname, email) {
                people.push(Person { name: n, email: e });
            }
        }
        if people.is_empty() {
            self.err(
                &tab.span,
                format!(
                    "{} has no people: add people = [{{ name = ..., email = ... }}]",
                    tab.what
                ),
            );
        }
        let language = self.language(&tab);
        Some(OnCallSchedule {
            name: name?,
            timezone,
            handover: handover?,
            start: start?,
            people,
            language,
        })
    }

    pub(crate) fn escalation(
        &mut self,
        v: &Val,
        webhooks: &[Webhook],
        emails: &[EmailList],
        oncall: &[OnCallSchedule],
    ) -> Option<EscalationPolicy> {
        let tab = self.table(
            v,
            "[[escalation]]".into(),
            &["name", "severities", "repeat", "level"],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[escalation]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        let severities = self.words(
            &tab,
            "severities",
            Severity::parse,
            &Severity::ALL.map(|s| s.as_str()).join(", "),
        );
        let repeat = self.boolean(&tab, "repeat").unwrap_or(false);
        let mut levels = Vec::new();
        for l in self.table_array(&tab, "level") {
            let Some(lt) = self.table(
                l,
                format!("a [[escalation.level]] of {}", tab.what),
                &["notify", "wait"],
            ) else {
                continue;
            };
            let mut notify = Vec::new();
            for (t, span) in self.strings(&lt, "notify") {
                match t.split_once(':') {
                    Some(("webhook", n)) => match webhooks.iter().position(|w| w.name == n) {
                        Some(i) => notify.push(Target::Webhook(i)),
                        None => self.err(
                            &span,
                            format!(
                                "{}: unknown webhook \"{n}\" (defined: {})",
                                lt.what,
                                names(webhooks.iter().map(|w| &w.name))
                            ),
                        ),
                    },
                    Some(("email", n)) => match emails.iter().position(|e| e.name == n) {
                        Some(i) => notify.push(Target::Email(i)),
                        None => self.err(
                            &span,
                            format!(
                                "{}: unknown email list \"{n}\" (defined: {})",
                                lt.what,
                                names(emails.iter().map(|e| &e.name))
                            ),
                        ),
                    },
                    Some(("oncall", n)) => match oncall.iter().position(|o| o.name == n) {
                        Some(i) => notify.push(Target::OnCall(i)),
                        None => self.err(&span, format!("{}: unknown on-call schedule \"{n}\" (defined: {})", lt.what, names(oncall.iter().map(|o| &o.name)))),
                    },
                    _ => self.err(&span, format!("{}: target \"{t}\" must be written webhook:NAME, email:NAME or oncall:NAME", lt.what)),
                }
            }
            if notify.is_empty() && lt.get("notify").is_none() {
                self.err(&lt.span, format!("{} has no `notify` list", lt.what));
            }
            let wait = self.duration(&lt, "wait").unwrap_or(15 * 60_000);
            levels.push(EscalationLevel { notify, wait });
        }
        if levels.is_empty() {
            self.err(
                &tab.span,
                format!(
                    "{} has no levels: add [[escalation.level]] tables",
                    tab.what
                ),
            );
        }
        Some(EscalationPolicy {
            name: name?,
            severities,
            levels,
            repeat,
        })
    }

    pub(crate) fn delivery(&mut self, root: &Tab) -> DeliverySettings {
        let mut d = DeliverySettings {
            deadline: 3_600_000,
            first_retry: 1_000,
            max_backoff: 5 * 60_000,
            unhealthy_after: 10 * 60_000,
        };
        if let Some(t) = self.sub_table(
            root,
            "delivery",
            &["deadline", "first_retry", "max_backoff", "unhealthy_after"],
        ) {
            let t = Tab {
                what: "[delivery]".into(),
                ..t
            };
            if let Some(v) = self.duration(&t, "deadline") {
                d.deadline = v;
            }
            if let Some(v) = self.duration(&t, "first_retry") {
                d.first_retry = v.max(10);
            }
            if let Some(v) = self.duration(&t, "max_backoff") {
                d.max_backoff = v;
            }
            if let Some(v) = self.duration(&t, "unhealthy_after") {
                d.unhealthy_after = v.max(1_000);
            }
        }
        d
    }

    pub(crate) fn live(&mut self, root: &Tab) -> LiveSettings {
        let mut l = LiveSettings::default();
        let Some(t) = self.sub_table(
            root,
            "live",
            &[
                "frame_interval",
                "heartbeat",
                "trend_step",
                "trend_window",
                "buffer",
                "send_timeout",
                "open_on_loopback",
            ],
        ) else {
            return l;
        };
        let t = Tab {
            what: "[live]".into(),
            ..t
        };
        if let Some(v) = self.duration(&t, "frame_interval") {
            l.frame_interval = v.max(1);
        }
        if let Some(v) = self.duration(&t, "heartbeat") {
            l.heartbeat = v.max(100);
        }
        if let Some(v) = self.duration(&t, "trend_step") {
            l.trend_step = v.max(1_000);
        }
        if let Some(v) = self.duration(&t, "trend_window") {
            l.trend_window = v;
        }
        if let Some(v) = self.count(&t, "buffer") {
            l.buffer = v.clamp(1, 4_096);
        }
        if let Some(v) = self.duration(&t, "send_timeout") {
            l.send_timeout = v.max(100);
        }
        if let Some(b) = self.boolean(&t, "open_on_loopback") {
            l.open_on_loopback = b;
        }
        if l.trend_window < l.trend_step {
            self.err(
                &t.span,
                "`trend_window` in [live] must be at least one `trend_step`",
            );
        }
        l
    }

    pub(crate) fn boolean(&mut self, tab: &Tab, key: &str) -> Option<bool> {
        let v = tab.get(key)?;
        let b = v.get_ref().as_bool();
        if b.is_none() {
            self.err(
                &v.span(),
                format!("`{key}` in {} must be true or false", tab.what),
            );
        }
        b
    }

    pub(crate) fn daemon(&mut self, root: &Tab) -> DaemonSettings {
        let mut d = DaemonSettings {
            listen: "127.0.0.1:8070".parse().unwrap(),
            data_dir: "floorwatch-data".into(),
            public_url: String::new(),
            timezone: Tz::UTC,
            tick: 250,
            snapshot_stale_after: 60_000,
            max_future_skew: 300_000,
            group_window: 600_000,
            limits: Limits {
                max_body_bytes: 16 << 20,
                max_queues: 1_000,
                max_categories: 500,
                max_open_contacts: 2_000_000,
            },
        };
        let Some(tab) = self.sub_table(
            root,
            "daemon",
            &[
                "listen",
                "data_dir",
                "public_url",
                "timezone",
                "tick",
                "snapshot_stale_after",
                "max_future_skew",
                "group_window",
                "limits",
            ],
        ) else {
            d.public_url = format!("http://{}", d.listen);
            return d;
        };
        let tab = Tab {
            what: "[daemon]".into(),
            ..tab
        };
        if let Some((s, span)) = self.string(&tab, "listen") {
            match s.parse() {
                Ok(a) => d.listen = a,
                Err(_) => self.err(
                    &span,
                    format!(
                        "`listen` in [daemon]: \"{s}\" is not an address such as \"127.0.0.1:8070\""
                    ),
                ),
            }
        }
        if let Some((s, _)) = self.string(&tab, "data_dir") {
            d.data_dir = s.into();
        }
        d.public_url = match self.string(&tab, "public_url") {
            Some((s, span)) => {
                if !(s.starts_with("http://") || s.starts_with("https://")) {
                    self.err(
                        &span,
                        "`public_url` in [daemon] must start with http:// or https://",
                    );
                }
                s.trim_end_matches('/').to_string()
            }
            None => format!("http://{}", d.listen),
        };
        if let Some(tz) = self.timezone(&tab, "timezone") {
            d.timezone = tz;
        }
        if let Some(t) = self.duration(&tab, "tick") {
            if t < 10 {
                self.err(
                    &tab.get("tick").unwrap().span(),
                    "`tick` in [daemon] must be at least 10ms",
                );
            } else {
                d.tick = t;
            }
        }
        if let Some(t) = self.duration(&tab, "snapshot_stale_after") {
            d.snapshot_stale_after = t;
        }
        if let Some(t) = self.duration(&tab, "max_future_skew") {
            d.max_future_skew = t;
        }
        if let Some(t) = self.duration(&tab, "group_window") {
            d.group_window = t;
        }
        if let Some(l) = self.sub_table(
            &tab,
            "limits",
            &[
                "max_body_bytes",
                "max_queues",
                "max_categories",
                "max_open_contacts",
            ],
        ) {
            let l = Tab {
                what: "[daemon.limits]".into(),
                ..l
            };
            if let Some(n) = self.count(&l, "max_body_bytes") {
                d.limits.max_body_bytes = n as usize;
            }
            if let Some(n) = self.count(&l, "max_queues") {
                d.limits.max_queues = n as usize;
            }
            if let Some(n) = self.count(&l, "max_categories") {
                d.limits.max_categories = n as usize;
            }
            if let Some(n) = self.count(&l, "max_open_contacts") {
                d.limits.max_open_contacts = n as usize;
            }
        }
        d
    }

    pub(crate) fn complaints(&mut self, root: &Tab) -> ComplaintSettings {
        // 一般 / 重点 / 紧急: a day, four hours, one hour.
        let mut c = ComplaintSettings {
            deadlines: [24 * 3_600_000, 4 * 3_600_000, 3_600_000],
        };
        let Some(tab) = self.sub_table(root, "complaints", &["deadlines"]) else {
            return c;
        };
        let tab = Tab {
            what: "[complaints]".into(),
            ..tab
        };
        if let Some(d) = self.sub_table(&tab, "deadlines", &["general", "key", "urgent"]) {
            for g in Grade::ALL {
                if let Some(ms) = self.duration(&d, g.as_str()) {
                    c.deadlines[*g as usize] = ms;
                }
            }
        }
        c
    }

    pub(crate) fn schedule(&mut self, v: &Val, default_tz: Tz) -> Option<ScheduleSpec> {
        let tab = self.table(
            v,
            "[[schedule]]".into(),
            &["name", "timezone", "cron", "length", "windows", "holidays"],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[schedule]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        let timezone = self.timezone(&tab, "timezone").unwrap_or(default_tz);
        let mut windows = Vec::new();
        if (tab.get("cron").is_some() || tab.get("length").is_some())
            && let Some(w) = self.window(&tab)
        {
            windows.push(w);
        }
        for w in self.table_array(&tab, "windows") {
            if let Some(wt) =
                self.table(w, format!("a window of {}", tab.what), &["cron", "length"])
                && let Some(w) = self.window(&wt)
            {
                windows.push(w);
            }
        }
        if windows.is_empty() {
            self.err(
                &tab.span,
                format!("{} has no windows: give `cron` and `length`, or `windows = [{{ cron = ..., length = ... }}]`", tab.what),
            );
        }
        let mut holidays = Vec::new();
        for (s, span) in self.strings(&tab, "holidays") {
            match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
                Ok(d) => holidays.push(d),
                Err(_) => self.err(
                    &span,
                    format!("holiday \"{s}\" is not a date like 2027-01-01"),
                ),
            }
        }
        Some(ScheduleSpec {
            name: name?,
            timezone,
            windows,
            holidays,
        })
    }

    pub(crate) fn window(&mut self, tab: &Tab) -> Option<CronWindow> {
        self.required(tab, "cron");
        self.required(tab, "length");
        let cron = self.cron(tab, "cron");
        let length = self.duration(tab, "length");
        if length == Some(0) {
            self.err(
                &tab.get("length").unwrap().span(),
                "a window's `length` must be more than 0s",
            );
        }
        Some(CronWindow {
            cron: cron?,
            length: length?,
        })
    }

    pub(crate) fn queue(&mut self, v: &Val, schedules: &[ScheduleSpec]) -> Option<QueueProfile> {
        let tab = self.table(
            v,
            "[[queue]]".into(),
            &[
                "name",
                "channel",
                "service_level",
                "window",
                "short_abandon",
                "response",
            ],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[queue]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        self.required(&tab, "channel");
        let channel = self.word(&tab, "channel", Channel::parse, &Channel::expected());
        let mut q = QueueProfile {
            pattern: String::new(),
            channel: channel.unwrap_or(Channel::Other),
            service_level_target: 0.8,
            service_level_threshold: 20_000,
            service_level_formula: SlFormula::ExcludeShortAbandons,
            window: 15 * 60_000,
            short_abandon: 5_000,
            response: ResponseStandards {
                approaching: 0.8,
                ..Default::default()
            },
        };
        if let Some(sl) = self.sub_table(&tab, "service_level", &["target", "within", "formula"]) {
            if let Some(t) = self.ratio(&sl, "target") {
                q.service_level_target = t;
            }
            if let Some(t) = self.duration(&sl, "within") {
                q.service_level_threshold = t;
            }
            if let Some(f) = self.word(
                &sl,
                "formula",
                SlFormula::parse,
                &SlFormula::NAMES.join(", "),
            ) {
                q.service_level_formula = f;
            }
        }
        if let Some(w) = self.duration(&tab, "window") {
            if w < 60_000 {
                self.err(
                    &tab.get("window").unwrap().span(),
                    format!("`window` in {} must be at least 1m", tab.what),
                );
            } else {
                q.window = w;
            }
        }
        if let Some(d) = self.duration(&tab, "short_abandon") {
            q.short_abandon = d;
        }
        let clocks = ["first", "next", "follow_up"];
        let mut allowed: Vec<&str> = clocks.to_vec();
        allowed.extend(["approaching", "calendar"]);
        allowed.extend(Priority::ALL.iter().map(|p| p.as_str()));
        if let Some(r) = self.sub_table(&tab, "response", &allowed) {
            for clock in Clock::ALL {
                if let Some(d) = self.duration(&r, clock.as_str()) {
                    q.response.limits[clock as usize] = [Some(d); 4];
                }
            }
            // Per-priority standards override the queue's own.
            for p in Priority::ALL {
                if let Some(pt) = self.sub_table(&r, p.as_str(), &clocks) {
                    for clock in Clock::ALL {
                        if let Some(d) = self.duration(&pt, clock.as_str()) {
                            q.response.limits[clock as usize][*p as usize] = Some(d);
                        }
                    }
                }
            }
            if let Some(a) = self.ratio(&r, "approaching") {
                q.response.approaching = a;
            }
            if let Some((cal, span)) = self.string(&r, "calendar") {
                q.response.calendar = schedules.iter().position(|s| s.name == cal);
                if q.response.calendar.is_none() {
                    self.err(
                        &span,
                        format!(
                            "{}: unknown schedule \"{cal}\" for `calendar` (defined: {})",
                            tab.what,
                            names(schedules.iter().map(|s| &s.name))
                        ),
                    );
                }
            }
        }
        // Kept even with a bad channel (already reported), so rules naming it do not cascade.
        q.pattern = name?;
        Some(q)
    }

    /// A `[[rule]]`, or (`route`) a `[[route]]`: a rule of kind `alert` with the keys that
    /// make sense for alerts from elsewhere.
    pub(crate) fn rule(
        &mut self,
        v: &Val,
        route: bool,
        schedules: &[ScheduleSpec],
        queues: &[QueueProfile],
        escalations: &[EscalationPolicy],
    ) -> Option<Rule> {
        const COMMON: &[&str] = &[
            "name",
            "kind",
            "escalation",
            "description",
            "queues",
            "channels",
            "hold",
            "clear_hold",
            "cooldown",
            "active",
            "runbook",
        ];
        /// Of the common keys, those a route has: it neither watches queues nor holds.
        const ROUTE: &[&str] = &[
            "name",
            "escalation",
            "description",
            "cooldown",
            "active",
            "runbook",
        ];
        // Read `kind` first so the allowed keys can depend on it.
        let kind_name = v
            .get_ref()
            .as_table()
            .and_then(|t| t.get("kind"))
            .and_then(|k| k.get_ref().as_str())
            .unwrap_or("");
        let (spec, table, common) = if route {
            (Some(&crate::rules::alert_route::SPEC), "[[route]]", ROUTE)
        } else {
            (crate::rules::kind_spec(kind_name), "[[rule]]", COMMON)
        };
        let mut allowed: Vec<&str> = common.to_vec();
        allowed.extend(spec.iter().flat_map(|s| s.keys.iter().copied().flatten()));
        let tab = self.table(v, table.into(), &allowed)?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("{table} \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        let kind_span = if route {
            tab.span.clone()
        } else {
            self.required(&tab, "kind")?;
            tab.get("kind").unwrap().span()
        };
        let description = self.string(&tab, "description").map(|(s, _)| s);
        let queue_patterns = self.strings(&tab, "queues");
        for (p, span) in &queue_patterns {
            let known = queues
                .iter()
                .any(|q| glob_match(p, &q.pattern) || glob_match(&q.pattern, p));
            if !known {
                self.err(
                    span,
                    format!(
                        "{}: queue \"{p}\" matches no [[queue]] (defined: {})",
                        tab.what,
                        names(queues.iter().map(|q| &q.pattern))
                    ),
                );
            }
        }
        let channels = self.words(&tab, "channels", Channel::parse, &Channel::expected());
        let hold = self.duration(&tab, "hold").unwrap_or(0);
        let clear_hold = self.duration(&tab, "clear_hold").unwrap_or(0);
        let cooldown = self.duration(&tab, "cooldown").unwrap_or(600_000);
        let runbook = self.runbook(&tab);
        let mut escalation = None;
        if let Some((e, span)) = self.string(&tab, "escalation") {
            escalation = escalations.iter().position(|x| x.name == e);
            if escalation.is_none() {
                self.err(
                    &span,
                    format!(
                        "{}: unknown escalation \"{e}\" (defined: {})",
                        tab.what,
                        names(escalations.iter().map(|x| &x.name))
                    ),
                );
            }
        }
        let mut active = None;
        if let Some((a, span)) = self.string(&tab, "active") {
            active = schedules.iter().position(|x| x.name == a);
            if active.is_none() {
                self.err(
                    &span,
                    format!(
                        "{}: unknown schedule \"{a}\" in `active` (defined: {})",
                        tab.what,
                        names(schedules.iter().map(|s| &s.name))
                    ),
                );
            }
        }
        let Some(spec) = spec else {
            self.err(
                &kind_span,
                format!(
                    "{}: unknown kind \"{kind_name}\"; expected one of: {}",
                    tab.what,
                    crate::rules::kind_names()
                ),
            );
            return None;
        };
        let kind = (spec.parse)(self, &tab, &crate::rules::Context { schedules })?;
        if queue_patterns.is_empty() && kind.watches_queues() && queues.is_empty() {
            self.err(
                &tab.span,
                format!("{} watches queues, but no [[queue]] is defined", tab.what),
            );
        }
        Some(Rule {
            name: name?,
            description,
            kind,
            queues: queue_patterns.into_iter().map(|(p, _)| p).collect(),
            channels,
            hold,
            clear_hold,
            cooldown,
            escalation,
            active,
            runbook,
        })
    }

    /// A test's events and its `at` must lie within `MAX_TEST_SPAN` of its first event: the
    /// engine ticks through the span on a virtual clock.
    pub(crate) fn test_span(&mut self, tab: &Tab, events: &str, at: Option<Millis>) {
        const MAX_TEST_SPAN: Millis = 7 * 86_400_000;
        let times: Vec<(u64, Millis)> = crate::ingest::decode(events)
            .iter()
            .filter_map(|i| {
                let w = i.wire.as_ref().ok()?;
                let e = crate::ingest::validate(w, i.line, i.index).ok()?;
                Some((i.line, e.at()))
            })
            .collect();
        let Some(&(_, first)) = times.iter().min_by_key(|(_, t)| *t) else {
            return;
        };
        let late = times
            .iter()
            .map(|(line, t)| {
                (
                    format!("the event on line {line} of its events"),
                    *t,
                    "events",
                )
            })
            .chain(at.map(|t| ("its `at`".to_string(), t, "at")))
            .find(|(_, t, _)| *t - first > MAX_TEST_SPAN);
        if let Some((what, t, key)) = late {
            let span = tab.get(key).map(|v| v.span()).unwrap_or(tab.span.clone());
            self.err(
                &span,
                format!(
                    "{}: {what} is {} after its first event; a test spans at most {}",
                    tab.what,
                    format_duration(t - first),
                    format_duration(MAX_TEST_SPAN)
                ),
            );
        }
    }

    pub(crate) fn test(
        &mut self,
        v: &Val,
        rules: &[Rule],
        base_dir: Option<&Path>,
    ) -> Option<ConfigTest> {
        let tab = self.table(
            v,
            "[[test]]".into(),
            &["name", "events", "events_file", "at", "expect"],
        )?;
        let name = self.required_string(&tab, "name").map(|(s, _)| s);
        let tab = Tab {
            what: format!("[[test]] \"{}\"", name.as_deref().unwrap_or("?")),
            ..tab
        };
        let span = tab.span.clone();
        let line = self.src[..span.start.min(self.src.len())]
            .matches('\n')
            .count()
            + 1;
        let mut origin = format!("{}:{line}", self.file);
        let events = match (
            self.string(&tab, "events"),
            self.string(&tab, "events_file"),
        ) {
            (Some((e, _)), None) => Some(e),
            (None, Some((f, fspan))) => {
                let path = base_dir
                    .map(|d| d.join(&f))
                    .unwrap_or_else(|| f.clone().into());
                origin = path.display().to_string();
                match std::fs::read_to_string(&path) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        self.err(
                            &fspan,
                            format!(
                                "{}: cannot read `events_file` {}: {e}",
                                tab.what,
                                path.display()
                            ),
                        );
                        None
                    }
                }
            }
            _ => {
                self.err(
                    &span,
                    format!(
                        "{} needs exactly one of `events` or `events_file`",
                        tab.what
                    ),
                );
                None
            }
        };
        let at =
            self.string(&tab, "at")
                .and_then(|(s, sp)| match DateTime::parse_from_rfc3339(&s) {
                    Ok(t) => Some(t.timestamp_millis()),
                    Err(e) => {
                        self.err(
                            &sp,
                            format!("`at` in {}: not an RFC 3339 time ({e})", tab.what),
                        );
                        None
                    }
                });
        if let Some(ev) = &events {
            self.test_span(&tab, ev, at);
        }
        let mut expect = Vec::new();
        for e in self.table_array(&tab, "expect") {
            let Some(et) = self.table(
                e,
                format!("an [[test.expect]] of {}", tab.what),
                &["rule", "scope", "severity", "status"],
            ) else {
                continue;
            };
            let rule = self.required_string(&et, "rule");
            if let Some((r, span)) = &rule
                && !rules.iter().any(|x| &x.name == r)
            {
                self.err(span, format!("{}: unknown rule \"{r}\"", et.what));
            }
            let scope = self.required_string(&et, "scope");
            let severity = self.word(
                &et,
                "severity",
                Severity::parse,
                &Severity::ALL.map(|s| s.as_str()).join(", "),
            );
            let open = self
                .word(
                    &et,
                    "status",
                    |s| match s {
                        "open" => Some(Some(true)),
                        "resolved" => Some(Some(false)),
                        "any" => Some(None),
                        _ => None,
                    },
                    "open, resolved, any",
                )
                .flatten();
            if let (Some((rule, _)), Some((scope, _))) = (rule, scope) {
                expect.push(Expectation {
                    rule,
                    scope,
                    severity,
                    open,
                });
            }
        }
        Some(ConfigTest {
            name: name?,
            events: events?,
            origin,
            at,
            expect,
        })
    }
}

/// Parses a cron expression the way the `cron` crate reads it, refusing the forms that would
/// silently mean something else: five fields (no seconds) and numeric days of the week (the crate
/// counts Sunday as 1, unlike classic cron's 0).
pub fn check_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if !(6..=7).contains(&fields.len()) {
        return Err(format!(
            "cron \"{expr}\" has {} fields; expected 6 or 7 with seconds first, e.g. \"0 0 9 * * Mon-Fri\"",
            fields.len()
        ));
    }
    if fields[5].chars().any(|c| c.is_ascii_digit()) {
        return Err(format!(
            "cron \"{expr}\": write days of the week by name (Mon-Fri, Sun), not number: numbering differs between cron dialects"
        ));
    }
    expr.parse::<cron::Schedule>()
        .map_err(|e| format!("cron \"{expr}\" does not parse: {e}"))
}

pub(crate) fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = it.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The allowed word closest to a misspelt one, if it is close enough to be a typo.
fn closest<'a>(word: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(word, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
