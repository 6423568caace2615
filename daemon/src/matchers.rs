//! Labels as Prometheus and Alertmanager have them: label matchers (`name="value"`, `!=`, `=~`,
//! `!~`) parsed from the text people write in alerts.toml's `[[route]]`, amtool's filters and
//! silences; compiled once; and the fingerprint Prometheus gives a label set. One place for
//! routes, silences and the Alertmanager API.

use floorwatch_protocol::Matcher;
use regex::{Regex, RegexBuilder};

use crate::limits::{MAX_NAME_BYTES, check_len};

/// The longest value a matcher or a label may have.
pub const MAX_VALUE_BYTES: usize = 1024;
/// The most labels (or annotations) one alert may carry.
pub const MAX_LABELS: usize = 64;
/// The most matchers one route or silence may have.
pub const MAX_MATCHERS: usize = 32;
/// The most a regex of a matcher may cost once compiled.
const MAX_REGEX_BYTES: usize = 256 * 1024;

/// A label name as Prometheus allows it: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn check_name(name: &str) -> Result<(), String> {
    check_len("label name", name, MAX_NAME_BYTES)?;
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not a label name: letters, digits and `_`, not starting with a digit"
        ))
    }
}

/// Reads one matcher as Alertmanager writes it: `name op value`, the value quoted (`"..."`,
/// with `\"` and `\\` escapes) or bare.
pub fn parse(text: &str) -> Result<Matcher, String> {
    let t = text.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(end);
    if name.is_empty() {
        return Err(format!(
            "`{text}` is not a matcher: expected name=\"value\" (or !=, =~, !~)"
        ));
    }
    check_name(name)?;
    let rest = rest.trim_start();
    let (is_equal, is_regex, value) = if let Some(v) = rest.strip_prefix("=~") {
        (true, true, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (false, true, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (false, false, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (true, false, v)
    } else {
        return Err(format!(
            "`{text}`: expected =, !=, =~ or !~ after the label name \"{name}\""
        ));
    };
    let value = unquote(value.trim()).map_err(|e| format!("`{text}`: {e}"))?;
    let m = Matcher {
        name: name.to_string(),
        value,
        is_regex,
        is_equal,
    };
    Compiled::new(&m)?;
    Ok(m)
}

fn unquote(v: &str) -> Result<String, String> {
    let Some(inner) = v.strip_prefix('"') else {
        return Ok(v.to_string());
    };
    let Some(inner) = inner.strip_suffix('"') else {
        return Err("the value's quote is not closed".into());
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c @ ('"' | '\\')) => out.push(c),
                Some(c) => {
                    // A regex escape such as `\d` stays as written.
                    out.push('\\');
                    out.push(c);
                }
                None => return Err("the value ends in a lone `\\`".into()),
            },
            '"' => return Err("a quote inside the value must be written \\\"".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A matcher ready to use: its regex compiled (anchored, as Alertmanager's are).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub matcher: Matcher,
    re: Option<Regex>,
}

impl Compiled {
    pub fn new(m: &Matcher) -> Result<Compiled, String> {
        check_name(&m.name)?;
        check_len(&m.name, &m.value, MAX_VALUE_BYTES)?;
        let re = if m.is_regex {
            let re = RegexBuilder::new(&format!("^(?:{})$", m.value))
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map_err(|e| {
                    // The regex crate draws a caret under the fault; its last line says it.
                    let e = e.to_string();
                    let why = e.lines().last().unwrap_or("").trim_start_matches("error: ");
                    format!(
                        "{}{}\"{}\": not a valid regex ({why})",
                        m.name,
                        m.op(),
                        m.value
                    )
                })?;
            Some(re)
        } else {
            None
        };
        Ok(Compiled {
            matcher: m.clone(),
            re,
        })
    }

    /// Whether the label's value (`None`: the label is missing, read as "") passes.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let v = value.unwrap_or("");
        let hit = match &self.re {
            Some(re) => re.is_match(v),
            None => v == self.matcher.value,
        };
        hit == self.matcher.is_equal
    }
}

/// Compiles a list of matchers, at most `MAX_MATCHERS`.
pub fn compile(ms: &[Matcher]) -> Result<Vec<Compiled>, String> {
    if ms.len() > MAX_MATCHERS {
        return Err(format!(
            "{} matchers; the limit is {MAX_MATCHERS}",
            ms.len()
        ));
    }
    ms.iter().map(Compiled::new).collect()
}

/// Whether every matcher holds over the labels `get` reads.
pub fn all_match<'a>(ms: &[Compiled], get: impl Fn(&str) -> Option<&'a str>) -> bool {
    ms.iter().all(|m| m.matches(get(&m.matcher.name)))
}

/// The fingerprint Prometheus and Alertmanager give a label set: FNV-1a (64 bits) over the
/// labels sorted by name, each name and value followed by the byte 0xff.
pub fn fingerprint<'a>(sorted: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (name, value) in sorted {
        add(name.as_bytes());
        add(&[0xff]);
        add(value.as_bytes());
        add(&[0xff]);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_read_as_alertmanager_writes_them() {
        let m = parse(r#"queue=~"phone-.*""#).unwrap();
        assert_eq!((m.name.as_str(), m.value.as_str()), ("queue", "phone-.*"));
        assert!(m.is_regex && m.is_equal);
        let c = Compiled::new(&m).unwrap();
        assert!(c.matches(Some("phone-a")));
        // Anchored: a regex matches the whole value.
        assert!(!c.matches(Some("x-phone-a")));
        let m = parse("severity != critical").unwrap();
        assert_eq!((m.op(), m.value.as_str()), ("!=", "critical"));
        let c = Compiled::new(&m).unwrap();
        assert!(c.matches(None) && c.matches(Some("warning")) && !c.matches(Some("critical")));
        let m = parse(r#"team!~"a|b""#).unwrap();
        assert!(!Compiled::new(&m).unwrap().matches(Some("a")));
        assert_eq!(parse(r#"x="say \"hi\"""#).unwrap().value, r#"say "hi""#);
        assert_eq!(m.to_string(), r#"team!~"a|b""#);
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        assert!(parse("=x").unwrap_err().contains("not a matcher"));
        assert!(parse("9a=x").unwrap_err().contains("not a label name"));
        assert!(
            parse("a<x")
                .unwrap_err()
                .contains("expected =, !=, =~ or !~")
        );
        assert!(
            parse(r#"a=~"(""#)
                .unwrap_err()
                .contains("not a valid regex")
        );
        assert!(parse(r#"a="x"#).unwrap_err().contains("not closed"));
        let long = format!("a=\"{}\"", "x".repeat(MAX_VALUE_BYTES + 1));
        assert!(
            parse(&long)
                .unwrap_err()
                .contains("the limit is 1024 bytes")
        );
    }

    #[test]
    fn fingerprints_are_prometheus_own() {
        // As Alertmanager 0.25 shows them for these label sets.
        assert_eq!(format!("{:016x}", fingerprint([])), "cbf29ce484222325");
        assert_eq!(
            format!("{:016x}", fingerprint([("alertname", "X")])),
            "d2aeefc389ca7746"
        );
        assert_eq!(
            format!(
                "{:016x}",
                fingerprint([("alertname", "Y"), ("sev", "crit")])
            ),
            "ee8aadbdc2a30401"
        );
        assert_eq!(
            format!(
                "{:016x}",
                fingerprint([("alertname", "AlwaysFiring"), ("severity", "page")])
            ),
            "2a7a97fbf890646a"
        );
        assert_ne!(
            fingerprint([("a", "bc")]),
            fingerprint([("ab", "c")]),
            "the separator keeps names and values apart"
        );
    }
}
