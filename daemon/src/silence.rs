//! A silence as people ask for one, checked in one place whichever way it came: Floorwatch's
//! own API (`rule`, `scope`, `severities`, an end or a duration), or Alertmanager's and amtool's
//! (label matchers, a start and an end). It needs a comment saying why, an end after its start
//! and after now, within `limits::MAX_REQUEST_SPAN`, and matchers that compile.

use chrono::{DateTime, Utc};
use floorwatch_protocol::{Matcher, Severity, Silence};

use crate::limits::{self, MAX_NAME_BYTES, MAX_TEXT_BYTES, check_len};
use crate::matchers;

/// What a request says about a silence.
#[derive(Debug, Default)]
pub struct SilenceRequest {
    /// Globs; `*` when not given.
    pub rule: Option<String>,
    pub scope: Option<String>,
    pub severities: Vec<Severity>,
    pub matchers: Vec<Matcher>,
    pub comment: Option<String>,
    /// Who asks: the token's name, else what the body says.
    pub author: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// From the start ("2h"), in place of `ends_at`.
    pub duration: Option<String>,
}

/// What is wrong with a silence request.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// Something it must say is missing (a 400).
    Missing(String),
    /// What it says is out of bounds or does not hold together (a 422).
    Invalid(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Missing(m) | Refused::Invalid(m) => f.write_str(m),
        }
    }
}

impl From<String> for Refused {
    fn from(m: String) -> Self {
        Refused::Invalid(m)
    }
}

impl SilenceRequest {
    /// The silence, or what is wrong with the request (naming the field and the limit).
    pub fn check(self, now: DateTime<Utc>) -> Result<Silence, Refused> {
        let Some(comment) = self.comment.filter(|c| !c.trim().is_empty()) else {
            return Err(Refused::Missing(
                "a silence needs a `comment` saying why".into(),
            ));
        };
        for (field, v, max) in [
            ("comment", Some(&comment), MAX_TEXT_BYTES),
            ("rule", self.rule.as_ref(), MAX_NAME_BYTES),
            ("scope", self.scope.as_ref(), MAX_NAME_BYTES),
            ("createdBy", self.author.as_ref(), MAX_NAME_BYTES),
        ] {
            if let Some(v) = v {
                check_len(field, v, max)?;
            }
        }
        matchers::compile(&self.matchers).map_err(|e| format!("`matchers`: {e}"))?;
        // As Alertmanager: a silence whose matchers all match the empty string would silence
        // every alert without a label; it has to say what it silences.
        if !self.matchers.is_empty()
            && matchers::compile(&self.matchers)
                .is_ok_and(|ms| ms.iter().all(|m| m.matches(Some(""))))
        {
            return Err(Refused::Invalid(
                "`matchers`: at least one matcher must not match the empty string, or the silence would hold over everything"
                    .into(),
            ));
        }
        let starts_at = self.starts_at.unwrap_or(now).max(now);
        let ends_at = limits::span_end(
            now,
            starts_at,
            "ends_at",
            self.ends_at,
            self.duration.as_deref(),
        )?;
        Ok(Silence {
            id: 0,
            rule: self.rule.unwrap_or_else(|| "*".into()),
            scope: self.scope.unwrap_or_else(|| "*".into()),
            severities: self.severities,
            matchers: self.matchers,
            author: self.author.unwrap_or_else(|| "anonymous".into()),
            comment,
            starts_at,
            ends_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn asked() -> SilenceRequest {
        SilenceRequest {
            comment: Some("vendor works on the trunk".into()),
            duration: Some("2h".into()),
            matchers: vec![matchers::parse(r#"queue="phone-a""#).unwrap()],
            ..Default::default()
        }
    }

    #[test]
    fn a_silence_is_checked_once_for_every_api() {
        let s = asked().check(now()).unwrap();
        assert_eq!((s.rule.as_str(), s.scope.as_str()), ("*", "*"));
        assert_eq!(
            s.ends_at,
            "2026-12-02T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let refused = |r: SilenceRequest| r.check(now()).unwrap_err();
        let e = refused(SilenceRequest {
            comment: None,
            ..asked()
        });
        assert!(
            matches!(&e, Refused::Missing(m) if m.contains("`comment`")),
            "{e}"
        );
        for (r, says) in [
            (
                SilenceRequest {
                    duration: None,
                    ..asked()
                },
                "exactly one of `ends_at` or `duration`",
            ),
            (
                SilenceRequest {
                    duration: Some("400d".into()),
                    ..asked()
                },
                "the limit is 366d",
            ),
            (
                SilenceRequest {
                    matchers: vec![matchers::parse(r#"queue=~".*""#).unwrap()],
                    ..asked()
                },
                "empty string",
            ),
            (
                SilenceRequest {
                    ends_at: Some("2026-12-02T09:00:00Z".parse().unwrap()),
                    duration: None,
                    ..asked()
                },
                "after the start",
            ),
        ] {
            let e = refused(r);
            assert!(
                matches!(&e, Refused::Invalid(m) if m.contains(says)),
                "{says}: {e}"
            );
        }
    }
}
