//! Durations as people write them in alerts.toml: `500ms`, `30s`, `2m`, `4h`, `1d`, `1h30m`,
//! and the range each key of alerts.toml allows (`bounds`).

use super::Millis;

const SEC: Millis = 1_000;
const MIN: Millis = 60 * SEC;
const HOUR: Millis = 60 * MIN;
const DAY: Millis = 24 * HOUR;

/// The least and the most a duration under `key` may be. A window longer than a day or a tick
/// finer than 10 ms would make the engine's work per evaluation grow without use; anything past a
/// year is a typo.
pub fn bounds(key: &str) -> (Millis, Millis) {
    match key {
        "tick" => (10, MIN),
        "frame_interval" => (10, 10 * SEC),
        "heartbeat" => (100, MIN),
        "trend_step" => (SEC, HOUR),
        "trend_window" => (MIN, DAY),
        "send_timeout" => (SEC, 5 * MIN),
        // Sliding windows: of queues, response-time and complaint rules.
        "window" => (SEC, DAY),
        "within" => (SEC, 7 * DAY),
        "short_abandon" => (0, 10 * MIN),
        "hold" | "clear_hold" => (0, DAY),
        // Burn-rate windows (their ledgers keep a bucket a minute) and budget periods.
        "long" | "short" => (MIN, DAY),
        "budget_period" => (HOUR, 31 * DAY),
        // How far ahead a prediction looks.
        "horizon" => (MIN, 2 * HOUR),
        "cooldown" => (0, 7 * DAY),
        "wait" => (0, 7 * DAY),
        "timeout" => (100, 5 * MIN),
        "first_retry" => (10, HOUR),
        "max_backoff" => (100, DAY),
        "snapshot_stale_after" | "max_future_skew" | "group_window" => (0, DAY),
        "ack_link_valid" => (MIN, 30 * DAY),
        "length" => (SEC, 31 * DAY),
        // Response clocks, complaint and delivery deadlines.
        "first" | "next" | "follow_up" | "approaching" | "general" | "key" | "urgent"
        | "deadline" => (SEC, 30 * DAY),
        // Thresholds of longest_wait.
        "info" | "warning" | "critical" | "crisis" | "clear" => (0, 7 * DAY),
        _ => (0, 366 * DAY),
    }
}

/// `ms` within the bounds of `key`, or the error saying the range.
pub fn check_bounds(key: &str, ms: Millis) -> Result<Millis, String> {
    let (lo, hi) = bounds(key);
    if ms < lo || ms > hi {
        return Err(format!(
            "{} is out of range: `{key}` must be from {} to {}",
            format_duration(ms),
            format_duration(lo),
            format_duration(hi)
        ));
    }
    Ok(ms)
}

pub fn parse_duration(text: &str) -> Result<Millis, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("expected a duration such as \"30s\", \"2m\" or \"4h\"".into());
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "bad duration \"{text}\": expected a number before the unit (e.g. \"30s\")"
            ));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration \"{text}\": number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "" => {
                return Err(format!(
                    "bad duration \"{text}\": missing unit (ms, s, m, h, d or w)"
                ));
            }
            other => {
                return Err(format!(
                    "bad duration \"{text}\": unknown unit \"{other}\" (expected ms, s, m, h, d or w)"
                ));
            }
        };
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("bad duration \"{text}\": too long"))?;
    }
    Ok(total)
}

/// The inverse of `parse_duration`, for messages: `90000` -> `1m30s`.
pub fn format_duration(ms: Millis) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms.abs();
    if ms < 0 {
        out.push('-');
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if rest > 0 {
        out.push_str(&format!("{rest}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(3_600_000), "1h");
        assert!(parse_duration("30").unwrap_err().contains("missing unit"));
        assert!(
            parse_duration("5x")
                .unwrap_err()
                .contains("unknown unit \"x\"")
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn every_key_has_a_range() {
        assert_eq!(check_bounds("window", 15 * MIN), Ok(15 * MIN));
        assert_eq!(
            check_bounds("window", 52 * 7 * DAY).unwrap_err(),
            "364d is out of range: `window` must be from 1s to 1d"
        );
        assert!(check_bounds("tick", 1).is_err());
        assert!(check_bounds("anything", 400 * DAY).is_err());
    }
}
