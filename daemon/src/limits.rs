//! The bounds every input is held to, in one place: the length of names and texts (in events,
//! requests and alerts.toml) and the span of durations and times in requests. Each check names
//! the field and the limit in its error, so a refusal says what to change.
//!
//! Durations in alerts.toml have bounds per key, next to their parsing (`config::duration`).

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{Millis, format_duration, parse_duration};

/// A name: a queue, a complaint category, a rule, a channel, a person, a token's name.
pub const MAX_NAME_BYTES: usize = 128;
/// An identifier from the source: a contact's or a complaint's id.
pub const MAX_ID_BYTES: usize = 256;
/// A text a person wrote: a complaint's text, a note, a silence's comment.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// How far ahead a silence or an on-call override may end (and start).
pub const MAX_REQUEST_SPAN: Millis = 366 * 86_400_000;

/// Refuses `value` of `field` longer than `max` bytes.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "`{field}` is {} bytes long; the limit is {max} bytes",
            value.len()
        ));
    }
    Ok(())
}

/// A duration given in a request (`"2h"`), at most `MAX_REQUEST_SPAN`.
pub fn request_duration(field: &str, text: &str) -> Result<Millis, String> {
    let ms = parse_duration(text).map_err(|e| format!("`{field}`: {e}"))?;
    if ms > MAX_REQUEST_SPAN {
        return Err(format!(
            "`{field}` is {}; the limit is {}",
            format_duration(ms),
            format_duration(MAX_REQUEST_SPAN)
        ));
    }
    Ok(ms)
}

/// `from + ms`, where `ms` has passed `request_duration`.
pub fn add(from: DateTime<Utc>, ms: Millis) -> DateTime<Utc> {
    from.checked_add_signed(TimeDelta::milliseconds(ms))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A time given in a request: no further than `MAX_REQUEST_SPAN` from `now`, either way.
pub fn request_time(field: &str, t: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    let off = (t - now).num_milliseconds();
    if off.abs() > MAX_REQUEST_SPAN {
        return Err(format!(
            "`{field}` ({}) is more than {} from now; that is the limit",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            format_duration(MAX_REQUEST_SPAN)
        ));
    }
    Ok(())
}

/// The end of a span starting at `from` (a silence, an override): the time given as
/// `end_field`, or `duration` after `from`; exactly one of the two. Both ends within
/// `MAX_REQUEST_SPAN` of `now`, the end after the start and after `now`.
pub fn span_end(
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    end_field: &str,
    end: Option<DateTime<Utc>>,
    duration: Option<&str>,
) -> Result<DateTime<Utc>, String> {
    request_time("from", from, now)?;
    let end = match (end, duration) {
        (Some(t), None) => {
            request_time(end_field, t, now)?;
            t
        }
        (None, Some(d)) => add(from, request_duration("duration", d)?),
        _ => return Err(format!("give exactly one of `{end_field}` or `duration`")),
    };
    if end <= from {
        return Err(format!("`{end_field}` must be after the start"));
    }
    if end <= now {
        return Err(format!("`{end_field}` is in the past"));
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_spans_name_the_field_and_the_limit() {
        assert!(check_len("queue", "phone", MAX_NAME_BYTES).is_ok());
        let e = check_len("queue", &"q".repeat(129), MAX_NAME_BYTES).unwrap_err();
        assert_eq!(e, "`queue` is 129 bytes long; the limit is 128 bytes");
        assert_eq!(request_duration("duration", "2h"), Ok(7_200_000));
        let e = request_duration("duration", "9999999999d").unwrap_err();
        assert!(
            e.contains("`duration`") && e.contains("the limit is 366d"),
            "{e}"
        );
        let e = request_duration("duration", "367d").unwrap_err();
        assert_eq!(e, "`duration` is 367d; the limit is 366d");
        let now = Utc::now();
        assert!(request_time("ends_at", now + TimeDelta::days(30), now).is_ok());
        let e = request_time("ends_at", now + TimeDelta::days(4000), now).unwrap_err();
        assert!(e.contains("`ends_at`") && e.contains("366d"), "{e}");
    }
}
