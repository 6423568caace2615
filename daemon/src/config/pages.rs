//! How pages read where they land: the `language` of an e-mail list, a rota or a webhook, and a
//! rule's `runbook` (the first steps from the floor's emergency plan, in both languages).

use floorwatch_protocol::{Language, Said};

use super::parse::{Cx, Tab};

/// The longest runbook, in bytes: it goes into chat messages, whose services cap a message at a
/// few kilobytes (WeCom's markdown at 4,096 bytes).
pub const MAX_RUNBOOK_BYTES: usize = 1024;

impl Cx<'_> {
    /// `language = "en" | "zh"` (English if absent).
    pub(crate) fn language(&mut self, tab: &Tab) -> Language {
        self.word(
            tab,
            "language",
            |s| match s {
                "en" => Some(Language::English),
                "zh" | "zh-CN" | "zh-Hans" => Some(Language::Chinese),
                _ => None,
            },
            "en, zh",
        )
        .unwrap_or(Language::English)
    }

    /// `runbook`: one string for both languages (a URL, say), or `{ en = "...", zh = "..." }`.
    pub(crate) fn runbook(&mut self, tab: &Tab) -> Option<Said> {
        let v = tab.get("runbook")?;
        let said = if v.get_ref().as_str().is_some() {
            Said::both(self.string(tab, "runbook")?.0)
        } else {
            let what = format!("`runbook` of {}", tab.what);
            if v.get_ref().as_table().is_none() {
                self.err(
                    &v.span(),
                    format!(
                        "{what} must be a string (the same in both languages) or a table {{ en = \"...\", zh = \"...\" }}, found {}",
                        v.get_ref().type_str()
                    ),
                );
                return None;
            }
            let t = self.table(v, what, &["en", "zh"])?;
            let en = self.required_string(&t, "en");
            let zh = self.required_string(&t, "zh");
            Said::new(en?.0, zh?.0)
        };
        // Sizes are checked as each string is read (`Cx::max_len`).
        for (lang, text) in [("en", &said.en), ("zh", &said.zh)] {
            if text.trim().is_empty() {
                self.err(
                    &v.span(),
                    format!("`runbook` of {} ({lang}) is empty", tab.what),
                );
                return None;
            }
        }
        Some(said)
    }
}
