//! What a page says, in the language of whoever receives it: the headline (severity, the title
//! as the floor says it, why it was sent), the figures, the rule's runbook, and the links (the
//! incident page on the board, which a phone can open, and the acknowledge link). The e-mail
//! and every chat format are written from one `Page`, so they cannot drift apart.

use floorwatch_protocol::{Incident, Language, Values};

use crate::words;

/// Why a page was sent.
pub use floorwatch_protocol::PageReason as Reason;

/// Why a page was sent, as its headline says it.
fn said(reason: Reason, lang: Language) -> &'static str {
    match (lang, reason) {
        (Language::English, Reason::Opened) => "opened",
        (Language::English, Reason::Escalated) => "escalated",
        (Language::English, Reason::Raised) => "worse",
        (Language::English, Reason::Resolved) => "resolved",
        (Language::English, Reason::Test) => "test",
        (Language::Chinese, Reason::Opened) => "新告警",
        (Language::Chinese, Reason::Escalated) => "已升级",
        (Language::Chinese, Reason::Raised) => "已加重",
        (Language::Chinese, Reason::Resolved) => "已解决",
        (Language::Chinese, Reason::Test) => "测试",
    }
}

/// Where a page's reader can go.
#[derive(Debug, Clone, PartialEq)]
pub struct Links {
    /// The incident's page on the board, carrying the signed grant when there is one (a phone
    /// opens it without a token).
    pub open: String,
    /// The acknowledge link (a confirm page); none once resolved, or without a link key.
    pub ack: Option<String>,
}

/// A word of a page's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Incident,
    Scope,
    Rule,
    Level,
    Runbook,
    Open,
    Acknowledge,
}

/// One page to one target, in its language.
pub struct Page<'a> {
    pub incident: &'a Incident,
    pub reason: Reason,
    pub lang: Language,
    pub links: Links,
}

/// The most figures a page shows.
const MAX_FIGURES: usize = 6;

impl Page<'_> {
    pub fn title(&self) -> &str {
        self.incident.title_in(self.lang)
    }

    pub fn severity(&self) -> &'static str {
        words::severity(self.incident.severity, self.lang)
    }

    pub fn why(&self) -> &'static str {
        said(self.reason, self.lang)
    }

    /// `[CRITICAL] phone-a: 30 callers waiting (opened)`, `[严重] phone-a：30 个来电排队中（新告警）`.
    pub fn headline(&self) -> String {
        match self.lang {
            Language::English => format!("[{}] {} ({})", self.severity(), self.title(), self.why()),
            Language::Chinese => {
                format!("[{}] {}（{}）", self.severity(), self.title(), self.why())
            }
        }
    }

    pub fn label(&self, l: Label) -> &'static str {
        match (self.lang, l) {
            (Language::English, Label::Incident) => "Incident",
            (Language::English, Label::Scope) => "Where",
            (Language::English, Label::Rule) => "Rule",
            (Language::English, Label::Level) => "Escalation level",
            (Language::English, Label::Runbook) => "What to do",
            (Language::English, Label::Open) => "Open",
            (Language::English, Label::Acknowledge) => "Acknowledge",
            (Language::Chinese, Label::Incident) => "事件",
            (Language::Chinese, Label::Scope) => "范围",
            (Language::Chinese, Label::Rule) => "规则",
            (Language::Chinese, Label::Level) => "升级级别",
            (Language::Chinese, Label::Runbook) => "处置步骤",
            (Language::Chinese, Label::Open) => "打开",
            (Language::Chinese, Label::Acknowledge) => "确认",
        }
    }

    /// The incident's facts (number, scope, rule, level) and figures, as name and value.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let i = self.incident;
        let mut facts = vec![
            (self.label(Label::Incident), format!("#{}", i.id)),
            (self.label(Label::Scope), i.scope.clone()),
            (self.label(Label::Rule), i.rule.clone()),
        ];
        if let Some(e) = &i.escalation {
            facts.push((self.label(Label::Level), e.level.to_string()));
        }
        facts.extend(self.figures());
        facts
    }

    /// The figures worth reading on a phone: at the close once resolved, else at the worst.
    pub fn figures(&self) -> Vec<(&'static str, String)> {
        let i = self.incident;
        let values: &Values = match (&i.values_at_close, self.reason) {
            (Some(v), Reason::Resolved) => v,
            _ => &i.values_at_peak,
        };
        words::figures(values, self.lang)
            .into_iter()
            .take(MAX_FIGURES)
            .collect()
    }

    pub fn runbook(&self) -> Option<&str> {
        self.incident.runbook.as_ref().map(|r| r.get(self.lang))
    }

    /// The body as plain lines: title, facts, runbook, links. Chat formats without structure
    /// send this.
    pub fn text(&self) -> String {
        let mut out = self.headline();
        out.push('\n');
        let facts: Vec<String> = self
            .facts()
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        out.push_str(&facts.join(" · "));
        if let Some(r) = self.runbook() {
            out.push_str(&format!("\n{}: {r}", self.label(Label::Runbook)));
        }
        out.push_str(&format!(
            "\n{}: {}",
            self.label(Label::Open),
            self.links.open
        ));
        if let Some(ack) = &self.links.ack {
            out.push_str(&format!("\n{}: {ack}", self.label(Label::Acknowledge)));
        }
        out
    }

    /// The body as Markdown (DingTalk, WeCom): the same lines, links as links.
    pub fn markdown(&self) -> String {
        let mut out = format!("**{}**\n\n", self.headline());
        for (k, v) in self.facts() {
            out.push_str(&format!("- {k}: {v}\n"));
        }
        if let Some(r) = self.runbook() {
            out.push_str(&format!("\n{}: {r}\n", self.label(Label::Runbook)));
        }
        out.push_str(&format!(
            "\n[{}]({})",
            self.label(Label::Open),
            self.links.open
        ));
        if let Some(ack) = &self.links.ack {
            out.push_str(&format!(" · [{}]({ack})", self.label(Label::Acknowledge)));
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use floorwatch_protocol::{Said, Severity};

    pub(crate) fn incident() -> Incident {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let values: Values = [
            ("waiting".to_string(), 30.0),
            ("service_level".to_string(), 0.45),
        ]
        .into();
        let mut i = Incident::new(
            5,
            "depth".into(),
            "queue_depth".into(),
            "phone-a".into(),
            Severity::Critical,
            "phone-a: 30 callers waiting".into(),
            at,
            values,
        );
        i.title_zh = Some("phone-a：30 个来电排队中".into());
        i.runbook = Some(Said::new("Call the ACD vendor", "联系 ACD 厂商"));
        i
    }

    fn page(lang: Language) -> String {
        let i = incident();
        Page {
            incident: &i,
            reason: Reason::Opened,
            lang,
            links: Links {
                open: "http://fw/#/incidents/5".into(),
                ack: Some("http://fw/ack/5?x".into()),
            },
        }
        .text()
    }

    #[test]
    fn a_page_reads_in_its_language() {
        let zh = page(Language::Chinese);
        assert!(
            zh.starts_with("[严重] phone-a：30 个来电排队中（新告警）"),
            "{zh}"
        );
        assert!(zh.contains("排队数: 30"), "{zh}");
        assert!(zh.contains("服务水平: 45%"), "{zh}");
        assert!(zh.contains("处置步骤: 联系 ACD 厂商"), "{zh}");
        assert!(zh.contains("确认: http://fw/ack/5?x"), "{zh}");
        let en = page(Language::English);
        assert!(en.starts_with("[CRITICAL] phone-a: 30 callers waiting (opened)"));
        assert!(en.contains("What to do: Call the ACD vendor"), "{en}");
    }
}
