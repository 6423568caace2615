//! How figures and times are written on the board: durations, percentages, clocks. Pure functions
//! (the browser's time zone is passed in as an offset), so they are unit-tested on the host.

use floorwatch_protocol::{Timestamp, Values};

/// What a missing figure shows: a dash, never a zero that would read as "all fine".
pub const NONE: &str = "—";

/// `m:ss`, for a wait (minutes keep counting past an hour: a wall-board reads "75:12" fine).
pub fn mss(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs.round() as u64
    } else {
        0
    };
    format!("{}:{:02}", s / 60, s % 60)
}

/// A compact age for incident rows: `45s`, `12m 05s`, `3h 04m`, `2d 03h`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// `v` with `dp` decimals (at most 3).
///
/// Why not `format!("{v:.1}")`: Rust's float printing brings some 15 KiB of tables and
/// algorithms into the WebAssembly bundle; rounding to an integer and printing that does not.
pub fn fixed(v: f64, dp: u32) -> String {
    let dp = dp.min(3);
    let scale = 10u64.pow(dp);
    let n = (v * scale as f64).round();
    if !n.is_finite() {
        return NONE.into();
    }
    let sign = if n < 0.0 { "-" } else { "" };
    let a = n.abs() as u64;
    if dp == 0 {
        format!("{sign}{a}")
    } else {
        format!("{sign}{}.{:0w$}", a / scale, a % scale, w = dp as usize)
    }
}

/// A ratio (0..=1) as a whole percentage, or a dash.
pub fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{}%", fixed(v * 100.0, 0)),
        _ => NONE.into(),
    }
}

/// A ratio with one decimal where it matters (abandonment: 3.2% and 3.8% are not the same day).
pub fn pct1(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => {
            let p = v * 100.0;
            format!("{}%", fixed(p, if p < 10.0 { 1 } else { 0 }))
        }
        _ => NONE.into(),
    }
}

/// Seconds, whole, or a dash.
pub fn secs(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{} s", fixed(v, 0)),
        _ => NONE.into(),
    }
}

pub fn count(v: Option<u32>) -> String {
    v.map_or_else(|| NONE.into(), |n| n.to_string())
}

/// One metric value by its alerts.toml name: ratios as percentages, `_s` as durations.
pub fn value(name: &str, v: f64) -> String {
    if !v.is_finite() {
        return NONE.into();
    }
    if matches!(name, "service_level" | "abandonment_rate") || name.ends_with("_rate") {
        pct1(Some(v))
    } else if name.ends_with("_s") {
        if v >= 60.0 { mss(v) } else { secs(Some(v)) }
    } else if v.fract() == 0.0 {
        fixed(v, 0)
    } else {
        fixed(v, 2)
    }
}

/// `name value, name value` for a set of values.
pub fn values(vs: &Values) -> String {
    if vs.is_empty() {
        return NONE.into();
    }
    vs.iter()
        .map(|(k, v)| format!("{k} {}", value(k, *v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Milliseconds since the epoch of a daemon timestamp.
pub fn ms(t: &Timestamp) -> f64 {
    t.timestamp_millis() as f64
}

/// `HH:MM:SS` of an instant, given the browser's offset for it (`Date.getTimezoneOffset()`:
/// minutes to add to local time to get UTC).
pub fn clock(ms: f64, offset_min: i32) -> String {
    let (_, _, _, h, m, s) = civil(ms, offset_min);
    format!("{h:02}:{m:02}:{s:02}")
}

/// `YYYY-MM-DD HH:MM:SS` in the same way.
pub fn datetime(ms: f64, offset_min: i32) -> String {
    let (y, mo, d, h, m, s) = civil(ms, offset_min);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}")
}

fn civil(ms: f64, offset_min: i32) -> (i64, u32, u32, u32, u32, u32) {
    let local_s = (ms / 1000.0).floor() as i64 - i64::from(offset_min) * 60;
    let days = local_s.div_euclid(86_400);
    let sod = local_s.rem_euclid(86_400) as u32;
    // Days to civil date (H. Hinnant's algorithm): no calendar library needed for this.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (y, mo, d, sod / 3600, sod % 3600 / 60, sod % 60)
}

/// The browser's offset at an instant (it changes with daylight saving, hence per instant).
/// Browser only.
pub fn browser_offset(ms: f64) -> i32 {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms)).get_timezone_offset() as i32
}

/// Local `HH:MM:SS` of an instant, in the browser.
pub fn local_clock(ms: f64) -> String {
    clock(ms, browser_offset(ms))
}

/// Local date and time of a daemon timestamp, in the browser.
pub fn local_datetime(t: &Timestamp) -> String {
    let m = self::ms(t);
    datetime(m, browser_offset(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(mss(0.0), "0:00");
        assert_eq!(mss(59.6), "1:00");
        assert_eq!(mss(192.0), "3:12");
        assert_eq!(mss(4512.0), "75:12");
        assert_eq!(mss(f64::NAN), "0:00");
        assert_eq!(age(-3), "0s");
        assert_eq!(age(45), "45s");
        assert_eq!(age(725), "12m 05s");
        assert_eq!(age(3 * 3600 + 4 * 60 + 9), "3h 04m");
        assert_eq!(age(2 * 86400 + 3 * 3600), "2d 03h");
    }

    #[test]
    fn fixed_point() {
        assert_eq!(fixed(4.56789, 2), "4.57");
        assert_eq!(fixed(2.0, 1), "2.0");
        assert_eq!(fixed(0.05, 1), "0.1");
        assert_eq!(fixed(-1.25, 1), "-1.3");
        assert_eq!(fixed(-0.01, 1), "0.0");
        assert_eq!(fixed(1234.4, 0), "1234");
        assert_eq!(fixed(0.007, 2), "0.01");
        assert_eq!(fixed(f64::NAN, 1), "—");
    }

    #[test]
    fn figures() {
        assert_eq!(pct(Some(0.784)), "78%");
        assert_eq!(pct(None), "—");
        assert_eq!(pct1(Some(0.032)), "3.2%");
        assert_eq!(pct1(Some(0.25)), "25%");
        assert_eq!(secs(Some(14.4)), "14 s");
        assert_eq!(count(None), "—");
        assert_eq!(count(Some(4)), "4");
        assert_eq!(value("service_level", 0.71), "71%");
        assert_eq!(value("longest_wait_s", 125.0), "2:05");
        assert_eq!(value("asa_s", 12.0), "12 s");
        assert_eq!(value("waiting", 12.0), "12");
        let mut v = Values::new();
        v.insert("waiting".into(), 30.0);
        v.insert("service_level".into(), 0.5);
        assert_eq!(values(&v), "service_level 50%, waiting 30");
        assert_eq!(values(&Values::new()), "—");
    }

    #[test]
    fn clocks() {
        // 2026-11-23T09:00:05Z
        let t: Timestamp = "2026-11-23T09:00:05.900Z".parse().unwrap();
        let m = ms(&t);
        assert_eq!(clock(m, 0), "09:00:05");
        assert_eq!(clock(m, -480), "17:00:05", "UTC+8 has offset -480");
        assert_eq!(datetime(m, 0), "2026-11-23 09:00:05");
        assert_eq!(datetime(m, 600), "2026-11-22 23:00:05");
        assert_eq!(datetime(0.0, 0), "1970-01-01 00:00:00");
        let leap: Timestamp = "2024-02-29T23:59:59Z".parse().unwrap();
        assert_eq!(datetime(ms(&leap), 0), "2024-02-29 23:59:59");
        assert_eq!(datetime(ms(&leap), -1), "2024-03-01 00:00:59");
    }
}
