//! Decoding an ingest body: one JSON object, a JSON array of objects, or NDJSON (one object a
//! line). Each event is decoded on its own, so one bad event is refused with its line and field
//! while the others in the batch go through.
//!
//! Good events take the fast path: one serde pass into borrowed fields. Only a failing event is
//! parsed again, slowly, to say exactly which field is wrong.

use std::borrow::Cow;

use chrono::DateTime;
use floorwatch_protocol::{Channel, ComplaintStep, ContactStep, Grade, Priority, Refusal};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::Millis;
use crate::engine::Event;
use crate::limits::{MAX_ID_BYTES, MAX_NAME_BYTES, MAX_TEXT_BYTES, check_len};

/// The wire form of any event: every field optional, strings borrowed from the body.
#[derive(Debug, Default, Deserialize)]
pub struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    queue: Option<Cow<'a, str>>,
    #[serde(borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    priority: Option<Cow<'a, str>>,
    waiting: Option<u32>,
    longest_wait_s: Option<f64>,
    agents_available: Option<u32>,
    agents_busy: Option<u32>,
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    grade: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    // An alert's (`type = "alert"`).
    #[serde(default, deserialize_with = "pairs")]
    labels: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    #[serde(default, deserialize_with = "pairs")]
    annotations: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    #[serde(borrow)]
    starts_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ends_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    generator_url: Option<Cow<'a, str>>,
}

/// A string borrowed from the body where it holds no escapes (serde's own `Cow` is always
/// owned inside a map).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(Text)
    }
}

/// An object of strings, as pairs sorted by name.
#[allow(clippy::type_complexity)]
fn pairs<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<(Cow<'de, str>, Cow<'de, str>)>>, D::Error> {
    let m: Option<std::collections::BTreeMap<Text<'de>, Text<'de>>> = Option::deserialize(d)?;
    Ok(m.map(|m| m.into_iter().map(|(k, v)| (k.0, v.0)).collect()))
}

impl Wire<'_> {
    /// The source the event names for itself, if any (validated by `validate`).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }
}

/// One event of a batch, decoded or refused.
pub struct Item<'a> {
    pub line: u64,
    pub index: u64,
    /// The event's own text, for the journal.
    pub raw: &'a str,
    pub wire: Result<Wire<'a>, Refusal>,
}

/// Splits and decodes a body. A body that is not even a well-formed array gives one refusal.
pub fn decode(body: &str) -> Vec<Item<'_>> {
    let start = body.len() - body.trim_start().len();
    let rest = &body[start..];
    if rest.starts_with('[') {
        return decode_array(body);
    }
    if rest.starts_with('{') {
        // A single (perhaps pretty-printed) object, or NDJSON.
        if let Ok(raw) = serde_json::from_str::<&RawValue>(body) {
            let line = line_of(body, start);
            return vec![item(raw.get(), line, 0)];
        }
    }
    let mut items = Vec::new();
    let mut index = 0;
    for (n, text) in body.split('\n').enumerate() {
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        items.push(item(text, n as u64 + 1, index));
        index += 1;
    }
    items
}

/// Decodes a body that may hold bytes that are not UTF-8. In NDJSON only the lines with such
/// bytes are refused (with the line and column of the first one); a JSON array or a single
/// object is one document and is refused whole.
pub fn decode_bytes(body: &[u8]) -> Vec<Item<'_>> {
    let e = match std::str::from_utf8(body) {
        Ok(text) => return decode(text),
        Err(e) => e,
    };
    let lossy = String::from_utf8_lossy(body);
    let rest = lossy.trim_start();
    let one_document = rest.starts_with('[')
        || (rest.starts_with('{') && serde_json::from_str::<&RawValue>(&lossy).is_ok());
    if one_document {
        let (line, column) = crate::config::line_column(body, e.valid_up_to());
        let line = line as u64;
        return vec![refused_item(
            line,
            0,
            format!(
                "the body is not UTF-8: byte 0x{:02X} at line {line}, column {column}",
                body[e.valid_up_to()]
            ),
        )];
    }
    let mut items = Vec::new();
    let mut index = 0;
    for (n, bytes) in body.split(|b| *b == b'\n').enumerate() {
        let line = n as u64 + 1;
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                let text = text.trim_end_matches('\r');
                if text.trim().is_empty() {
                    continue;
                }
                items.push(item(text, line, index));
            }
            Err(e) => items.push(refused_item(
                line,
                index,
                format!(
                    "the line is not UTF-8: byte 0x{:02X} at column {}",
                    bytes[e.valid_up_to()],
                    e.valid_up_to() + 1
                ),
            )),
        }
        index += 1;
    }
    items
}

fn refused_item(line: u64, index: u64, error: String) -> Item<'static> {
    Item {
        line,
        index,
        raw: "",
        wire: Err(Refusal {
            line,
            index,
            field: None,
            error,
        }),
    }
}

fn decode_array(body: &str) -> Vec<Item<'_>> {
    let elems: Vec<&RawValue> = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return vec![Item {
                line: e.line() as u64,
                index: 0,
                raw: "",
                wire: Err(Refusal {
                    line: e.line() as u64,
                    index: 0,
                    field: None,
                    error: format!("the body is not a valid JSON array: {e}"),
                }),
            }];
        }
    };
    let base = body.as_ptr() as usize;
    let mut line = 1u64;
    let mut seen = 0usize;
    elems
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let text = raw.get();
            let offset = text.as_ptr() as usize - base;
            line += body[seen..offset].matches('\n').count() as u64;
            seen = offset;
            item(text, line, i as u64)
        })
        .collect()
}

fn line_of(body: &str, offset: usize) -> u64 {
    body[..offset].matches('\n').count() as u64 + 1
}

fn item(text: &str, line: u64, index: u64) -> Item<'_> {
    let wire = match serde_json::from_str::<Wire>(text) {
        Ok(w) => Ok(w),
        Err(_) => {
            let (field, error) = explain(text);
            Err(Refusal {
                line,
                index,
                field,
                error,
            })
        }
    };
    Item {
        line,
        index,
        raw: text,
        wire,
    }
}

/// Why an event failed the fast path: a key given twice, or (parsing it loosely) the field of
/// the wrong type.
fn explain(text: &str) -> (Option<String>, String) {
    if let Some(field) = first_repeated_key(text) {
        return (Some(field.clone()), format!("`{field}` is given twice"));
    }
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (None, format!("not valid JSON: {e}")),
    };
    let Some(obj) = v.as_object() else {
        return (None, "expected a JSON object for the event".into());
    };
    let strings = [
        "type",
        "id",
        "queue",
        "channel",
        "event",
        "at",
        "priority",
        "category",
        "grade",
        "text",
        "source",
        "starts_at",
        "ends_at",
        "generator_url",
    ];
    for f in strings {
        if let Some(x) = obj.get(f)
            && !x.is_string()
            && !x.is_null()
        {
            return (
                Some(f.into()),
                format!("`{f}` must be a string, found {}", shown(&x.to_string())),
            );
        }
    }
    for f in ["labels", "annotations"] {
        if let Some(x) = obj.get(f)
            && !x.is_null()
            && !x
                .as_object()
                .is_some_and(|o| o.values().all(|v| v.is_string()))
        {
            return (
                Some(f.into()),
                format!(
                    "`{f}` must be an object of strings, found {}",
                    shown(&x.to_string())
                ),
            );
        }
    }
    for f in ["waiting", "agents_available", "agents_busy"] {
        if let Some(x) = obj.get(f)
            && !x.is_null()
            && x.as_u64().is_none_or(|n| n > u64::from(u32::MAX))
        {
            return (
                Some(f.into()),
                format!(
                    "`{f}` must be a whole number, 0 or more, found {}",
                    shown(&x.to_string())
                ),
            );
        }
    }
    if let Some(x) = obj.get("longest_wait_s")
        && !x.is_null()
        && !x.is_number()
    {
        return (
            Some("longest_wait_s".into()),
            format!(
                "`longest_wait_s` must be a number of seconds, found {}",
                shown(&x.to_string())
            ),
        );
    }
    (None, "the event does not fit the ingest contract".into())
}

/// The first key an event's object gives twice, if it is an object.
fn first_repeated_key(text: &str) -> Option<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // Read to the end: the object must be whole for its first repeat to count.
            let (mut seen, mut repeated) = (std::collections::HashSet::new(), None);
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if !seen.insert(key.clone()) && repeated.is_none() {
                    repeated = Some(key.into_owned());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(repeated)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Keys)
        .ok()
        .flatten()
}

/// Checks a decoded event's fields and turns it into an engine event.
pub fn validate<'w>(w: &'w Wire<'_>, line: u64, index: u64) -> Result<Event<'w>, Refusal> {
    let bad = |field: &str, error: String| Refusal {
        line,
        index,
        field: Some(field.to_string()),
        error,
    };
    let need = |field: &'static str, v: &'w Option<Cow<'_, str>>| -> Result<&'w str, Refusal> {
        match v.as_deref() {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(bad(field, format!("`{field}` must not be empty"))),
            None => Err(bad(field, format!("`{field}` is missing"))),
        }
    };
    fn word<T>(
        field: &str,
        v: &Option<Cow<'_, str>>,
        parse: fn(&str) -> Option<T>,
        expected: String,
        bad: &dyn Fn(&str, String) -> Refusal,
    ) -> Result<Option<T>, Refusal> {
        match v.as_deref() {
            None => Ok(None),
            Some(s) => parse(s).map(Some).ok_or_else(|| {
                bad(
                    field,
                    format!(
                        "`{field}`: unknown value \"{}\"; expected one of: {expected}",
                        shown(s)
                    ),
                )
            }),
        }
    }
    for (field, v, max) in [
        ("id", &w.id, MAX_ID_BYTES),
        ("queue", &w.queue, MAX_NAME_BYTES),
        ("category", &w.category, MAX_NAME_BYTES),
        ("source", &w.source, MAX_NAME_BYTES),
        ("text", &w.text, MAX_TEXT_BYTES),
    ] {
        if let Some(v) = v {
            check_len(field, v, max).map_err(|e| bad(field, e))?;
        }
    }
    if w.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err(bad("source", "`source` must not be empty".into()));
    }
    let kind = need("type", &w.kind)?;
    let at = parse_time(need("at", &w.at)?).map_err(|e| bad("at", e))?;
    let channel = word(
        "channel",
        &w.channel,
        Channel::parse,
        Channel::expected(),
        &bad,
    )?;
    match kind {
        "contact" => {
            let id = need("id", &w.id)?;
            let step = word(
                "event",
                &w.event,
                ContactStep::parse,
                ContactStep::expected(),
                &bad,
            )?
            .ok_or_else(|| {
                bad(
                    "event",
                    format!(
                        "`event` is missing; expected one of: {}",
                        ContactStep::expected()
                    ),
                )
            })?;
            Ok(Event::Contact {
                id,
                step,
                at,
                queue: w.queue.as_deref(),
                channel,
                priority: word(
                    "priority",
                    &w.priority,
                    Priority::parse,
                    Priority::expected(),
                    &bad,
                )?,
            })
        }
        "queue" => {
            let queue = need("queue", &w.queue)?;
            let longest_wait_ms = match w.longest_wait_s {
                Some(s) if !(0.0..1e9).contains(&s) => {
                    return Err(bad(
                        "longest_wait_s",
                        format!("`longest_wait_s` must be 0 or more seconds, found {s}"),
                    ));
                }
                s => s.map(|s| (s * 1000.0) as Millis),
            };
            Ok(Event::Queue {
                queue,
                at,
                waiting: w.waiting,
                longest_wait_ms,
                agents_available: w.agents_available,
                agents_busy: w.agents_busy,
            })
        }
        "complaint" => Ok(Event::Complaint {
            id: need("id", &w.id)?,
            step: word(
                "event",
                &w.event,
                ComplaintStep::parse,
                ComplaintStep::expected(),
                &bad,
            )?
            .unwrap_or(ComplaintStep::Opened),
            at,
            channel,
            category: w.category.as_deref(),
            grade: word("grade", &w.grade, Grade::parse, Grade::expected(), &bad)?,
            text: w.text.as_deref(),
        }),
        "heartbeat" => Ok(Event::Heartbeat {
            at,
            queue: w.queue.as_deref(),
        }),
        "alert" => alert(w, at, &bad),
        other => Err(bad(
            "type",
            format!(
                "unknown event type \"{}\"; expected one of: contact, queue, complaint, heartbeat, alert",
                shown(other)
            ),
        )),
    }
}

/// An alert's fields: labels (at least one, Prometheus's names), annotations, its span.
fn alert<'w>(
    w: &'w Wire<'_>,
    at: Millis,
    bad: &dyn Fn(&str, String) -> Refusal,
) -> Result<Event<'w>, Refusal> {
    use crate::matchers::{MAX_LABELS, MAX_VALUE_BYTES, check_name};
    let labels = w.labels.as_deref().unwrap_or_default();
    if labels.is_empty() {
        return Err(bad("labels", "an alert needs at least one label".into()));
    }
    let annotations = w.annotations.as_deref().unwrap_or_default();
    for (field, pairs, max) in [
        ("labels", labels, MAX_VALUE_BYTES),
        ("annotations", annotations, MAX_TEXT_BYTES),
    ] {
        if pairs.len() > MAX_LABELS {
            return Err(bad(
                field,
                format!("{} {field}; the limit is {MAX_LABELS}", pairs.len()),
            ));
        }
        for (name, value) in pairs {
            check_name(name).map_err(|e| bad(field, format!("`{field}`: {e}")))?;
            check_len(&format!("{field}.{name}"), value, max).map_err(|e| bad(field, e))?;
        }
    }
    let time = |field: &str, v: &Option<Cow<'_, str>>| -> Result<Option<Millis>, Refusal> {
        v.as_deref()
            .map(|s| {
                parse_time(s).map_err(|e| bad(field, e.replacen("`at`", &format!("`{field}`"), 1)))
            })
            .transpose()
    };
    let starts_at = time("starts_at", &w.starts_at)?.unwrap_or(at);
    let ends_at = time("ends_at", &w.ends_at)?;
    if let Some(url) = &w.generator_url {
        check_len("generator_url", url, 2048).map_err(|e| bad("generator_url", e))?;
    }
    Ok(Event::Alert(crate::engine::AlertIn {
        at,
        labels,
        annotations,
        starts_at,
        ends_at,
        generator_url: w.generator_url.as_deref(),
    }))
}

/// A value as quoted back in a refusal: at most 64 characters of it.
fn shown(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(64) {
        Some((end, _)) => Cow::Owned(format!("{}…", &s[..end])),
        None => Cow::Borrowed(s),
    }
}

/// RFC 3339 to milliseconds since the epoch.
pub fn parse_time(s: &str) -> Result<Millis, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            format!(
                "`at` is not an RFC 3339 time such as 2026-11-23T09:00:00Z: \"{}\" ({e})",
                shown(s)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusals(body: &str) -> Vec<(u64, Option<String>, String)> {
        decode(body)
            .iter()
            .filter_map(|i| match &i.wire {
                Err(r) => Some(r.clone()),
                Ok(w) => validate(w, i.line, i.index).err(),
            })
            .map(|r| (r.line, r.field, r.error))
            .collect()
    }

    #[test]
    fn ndjson_names_line_and_field() {
        let body = concat!(
            r#"{"type":"contact","id":"c-1","queue":"q","event":"arrived","at":"2026-11-23T09:00:00Z"}"#,
            "\n\n",
            r#"{"type":"contact","id":"c-2","queue":"q","event":"arived","at":"2026-11-23T09:00:00Z"}"#,
            "\n",
            r#"{"type":"queue","queue":"q","at":"2026-11-23T09:00:00Z","waiting":"lots"}"#,
            "\n",
            r#"{"type":"complaint","id":"k","at":"yesterday"}"#,
            "\n",
            r#"{"type":"contact","id":"c-3","#,
        );
        let r = refusals(body);
        assert_eq!(r.len(), 4, "{r:?}");
        assert_eq!((r[0].0, r[0].1.as_deref()), (3, Some("event")));
        assert!(r[0].2.contains("\"arived\""));
        assert_eq!((r[1].0, r[1].1.as_deref()), (4, Some("waiting")));
        assert_eq!((r[2].0, r[2].1.as_deref()), (5, Some("at")));
        assert_eq!((r[3].0, r[3].1.as_deref()), (6, None));
        assert!(r[3].2.contains("not valid JSON"));
    }

    #[test]
    fn sources_and_heartbeats() {
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        let body = format!(
            "{}\n{}\n{}\n{}\n{}",
            r#"{"type":"heartbeat","source":"acd-1","at":"2026-11-23T09:00:00Z","queue":"q"}"#,
            r#"{"type":"heartbeat","at":"2026-11-23T09:00:00Z"}"#,
            r#"{"type":"queue","queue":"q","source":"","at":"2026-11-23T09:00:00Z"}"#,
            format_args!(
                r#"{{"type":"queue","queue":"q","source":"{long}","at":"2026-11-23T09:00:00Z"}}"#
            ),
            r#"{"type":"queue","queue":"q","source":7,"at":"2026-11-23T09:00:00Z"}"#,
        );
        let items = decode(&body);
        let w = items[0].wire.as_ref().unwrap();
        assert_eq!(w.source(), Some("acd-1"));
        assert!(matches!(
            validate(w, 1, 0),
            Ok(Event::Heartbeat {
                queue: Some("q"),
                ..
            })
        ));
        let r = refusals(&body);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!((r[0].0, r[0].1.as_deref()), (3, Some("source")));
        assert!(r[0].2.contains("must not be empty"), "{}", r[0].2);
        assert_eq!((r[1].0, r[1].1.as_deref()), (4, Some("source")));
        assert!(r[1].2.contains(&MAX_NAME_BYTES.to_string()), "{}", r[1].2);
        assert_eq!((r[2].0, r[2].1.as_deref()), (5, Some("source")));
        assert!(r[2].2.contains("must be a string"), "{}", r[2].2);
    }

    #[test]
    fn arrays_and_single_objects() {
        let body = "[\n  {\"type\":\"queue\",\"queue\":\"q\",\"at\":\"2026-11-23T09:00:00Z\"},\n  {\"type\":\"queue\",\"at\":\"2026-11-23T09:00:00Z\"}\n]";
        let items = decode(body);
        assert_eq!(items.len(), 2);
        let r = refusals(body);
        assert_eq!(
            r,
            vec![(3, Some("queue".into()), "`queue` is missing".into())]
        );
        let pretty =
            "{\n \"type\": \"queue\",\n \"queue\": \"q\",\n \"at\": \"2026-11-23T09:00:00Z\"\n}";
        assert_eq!(decode(pretty).len(), 1);
        assert!(refusals(pretty).is_empty());
        let broken = "[{\"type\":\"queue\"},";
        assert_eq!(decode(broken).len(), 1);
        assert!(refusals(broken)[0].2.contains("not a valid JSON array"));
    }

    #[test]
    fn a_key_given_twice_is_named() {
        let r = refusals(r#"{"type":"queue","queue":"a","queue":"b","at":"2026-11-23T09:00:00Z"}"#);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].1.as_deref(), Some("queue"));
        assert!(r[0].2.starts_with("`queue` is given twice"), "{}", r[0].2);
    }

    #[test]
    fn names_and_texts_past_their_limit_are_refused_with_field_and_limit() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let body = format!(
            "{}\n{}\n{}",
            format_args!(r#"{{"type":"queue","queue":"{long}","at":"2026-11-23T09:00:00Z"}}"#),
            format_args!(
                r#"{{"type":"complaint","id":"k","category":"{long}","at":"2026-11-23T09:00:00Z"}}"#
            ),
            format_args!(
                r#"{{"type":"contact","id":"{}","event":"arrived","queue":"q","at":"2026-11-23T09:00:00Z"}}"#,
                "i".repeat(MAX_ID_BYTES + 1)
            ),
        );
        let r = refusals(&body);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(r[0].1.as_deref(), Some("queue"));
        assert_eq!(r[0].2, "`queue` is 129 bytes long; the limit is 128 bytes");
        assert_eq!(r[1].1.as_deref(), Some("category"));
        assert_eq!((r[2].0, r[2].1.as_deref()), (3, Some("id")));
        // An unknown value is quoted back shortened.
        let r = refusals(&format!(
            r#"{{"type":"contact","id":"c","event":"{}","at":"2026-11-23T09:00:00Z"}}"#,
            "e".repeat(10_000)
        ));
        assert!(r[0].2.len() < 300, "{}", r[0].2);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_refused_alone() {
        let mut body = br#"{"type":"queue","queue":"q","at":"2026-11-23T09:00:00Z"}"#.to_vec();
        body.extend_from_slice(b"\n{\"type\":\"queue\",\"queue\":\"q\xff\"}\n");
        body.extend_from_slice(br#"{"type":"queue","queue":"r","at":"2026-11-23T09:00:00Z"}"#);
        let items = decode_bytes(&body);
        assert_eq!(items.len(), 3);
        assert!(items[0].wire.is_ok() && items[2].wire.is_ok());
        let r = items[1].wire.as_ref().err().unwrap();
        assert_eq!(r.line, 2);
        assert_eq!(r.error, "the line is not UTF-8: byte 0xFF at column 27");
        // A single pretty-printed object is one document: refused once, with where.
        let doc = b"{\n \"type\": \"queue\",\n \"queue\": \"q\xfe\"\n}";
        let items = decode_bytes(doc);
        assert_eq!(items.len(), 1);
        let r = items[0].wire.as_ref().err().unwrap();
        assert!(
            r.error.contains("byte 0xFE at line 3, column 13"),
            "{}",
            r.error
        );
    }
}
