//! Reading the daemon's JSON (live frames, REST answers) into the protocol's own types, and
//! writing the few bodies the board sends. The types' own `Deserialize`, so the board reads exactly
//! what the daemon writes, with no second reading of the protocol to keep in step; in the browser
//! the text is parsed by its own `JSON.parse` and read with serde-wasm-bindgen (no JSON parser
//! in the bundle: 17 KiB less gzipped), on the host (unit tests) by serde_json.
//!
//! Two shapes are read in two passes instead of through their derived `Deserialize`: the frame
//! (tagged by `type` inside the object) and the incident detail (`flatten`). serde reads those by
//! buffering the whole object into an intermediate tree and then reading every nested type a
//! second time from that tree, which doubles the deserialising code in the bundle. Reading the
//! text twice, each time straight into a plain struct that ignores the other keys, costs
//! microseconds and keeps the bundle smaller. The tests check both against the derived readers.

use floorwatch_protocol::{
    ApiError, Incident, IncidentChart, IncidentDetail, LiveFrame, TimelineEntry, Timestamp,
};
use serde::Deserialize;

pub type R<T> = Result<T, String>;

#[cfg(target_arch = "wasm32")]
fn read<T: serde::de::DeserializeOwned>(text: &str) -> R<T> {
    let v = js_sys::JSON::parse(text).map_err(|_| "the answer is not JSON".to_string())?;
    serde_wasm_bindgen::from_value(v).map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
fn read<T: serde::de::DeserializeOwned>(text: &str) -> R<T> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// One text frame of the live stream (`{"type": "snapshot" | "delta" | "heartbeat", ...}`).
pub fn frame(text: &str) -> R<LiveFrame> {
    #[derive(Deserialize)]
    struct Kind {
        r#type: String,
    }
    #[derive(Deserialize)]
    struct Heartbeat {
        seq: u64,
        at: Timestamp,
    }
    match read::<Kind>(text)?.r#type.as_str() {
        "snapshot" => read(text).map(LiveFrame::Snapshot),
        "delta" => read(text).map(LiveFrame::Delta),
        "heartbeat" => read(text).map(|h: Heartbeat| LiveFrame::Heartbeat {
            seq: h.seq,
            at: h.at,
        }),
        other => Err(format!("unknown frame type {other:?}")),
    }
}

/// `GET /api/v1/incidents`.
pub fn incidents(text: &str) -> R<Vec<Incident>> {
    read(text)
}

/// `GET /api/v1/incidents/{id}`: the incident's fields and its `timeline`, side by side.
pub fn detail(text: &str) -> R<IncidentDetail> {
    #[derive(Deserialize)]
    struct Timeline {
        timeline: Vec<TimelineEntry>,
    }
    Ok(IncidentDetail {
        incident: read(text)?,
        timeline: read::<Timeline>(text)?.timeline,
    })
}

/// `GET /api/v1/incidents/{id}/chart`.
pub fn chart(text: &str) -> R<IncidentChart> {
    read(text)
}

/// The `error` of an error answer, if it has one.
pub fn api_error(text: &str) -> Option<String> {
    read::<ApiError>(text).ok().map(|e| e.error)
}

/// A JSON string literal (for request bodies: the only JSON the board writes).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwatch_protocol::{
        LiveDelta, LiveSnapshot, QueueMetrics, QueuePoint, Severity, TimelineKind, Trend,
        TrendPoint, Values,
    };

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn incident() -> Incident {
        let mut i = crate::fixtures::incident(3, Severity::Critical);
        i.values_at_peak.insert("waiting".into(), 30.0);
        i.acknowledged_by = Some("lead".into());
        i
    }

    fn health() -> floorwatch_protocol::OutwardHealth {
        floorwatch_protocol::OutwardHealth {
            heartbeats: vec![],
            targets: vec![floorwatch_protocol::LinkHealth {
                name: "webhook:floor-chat".into(),
                last_ok: None,
                failing_since: Some(at("2026-11-23T09:00:00Z")),
                last_error: Some("503".into()),
                attempts_1h: 4,
                failures_1h: 4,
            }],
        }
    }

    /// The two-pass readers give exactly what the derived `Deserialize` gives, for what the
    /// daemon writes (serialised here by the protocol's own `Serialize`).
    #[test]
    fn two_pass_readers_agree_with_the_derived_ones() {
        let point = TrendPoint {
            at: at("2026-11-23T09:00:30Z"),
            waiting: 30,
            longest_wait_s: 95.5,
            service_level: Some(0.8),
            asa_s: None,
            abandonment_rate: Some(0.05),
        };
        let queue = QueueMetrics {
            queue: "phone-a".into(),
            waiting: 30,
            longest_wait_s: 95.5,
            ..QueueMetrics::default()
        };
        let frames = [
            LiveFrame::Snapshot(LiveSnapshot {
                seq: 1,
                at: at("2026-11-23T09:00:31Z"),
                queues: vec![queue.clone()],
                incidents: vec![incident()],
                trends: vec![Trend {
                    queue: "phone-a".into(),
                    points: vec![point],
                }],
                trend_step_s: 30,
                trend_len: 60,
                health: health(),
                complaints: Default::default(),
            }),
            LiveFrame::Delta(LiveDelta {
                seq: 2,
                at: at("2026-11-23T09:00:32Z"),
                queues: vec![queue],
                queues_removed: vec!["chat".into()],
                incidents: vec![incident()],
                closed: vec![1, 2],
                trend: vec![QueuePoint {
                    queue: "phone-a".into(),
                    point,
                }],
                health: Some(health()),
                complaints: Some(floorwatch_protocol::ComplaintBoard {
                    window_s: 3600,
                    categories: vec![floorwatch_protocol::ComplaintCount {
                        name: "network".into(),
                        count: 12,
                        usual: Some(1.5),
                    }],
                    keywords: vec![],
                    deadlines: vec![],
                }),
            }),
            LiveFrame::Delta(LiveDelta {
                seq: 3,
                at: at("2026-11-23T09:00:33Z"),
                ..LiveDelta::default()
            }),
            LiveFrame::Heartbeat {
                seq: 4,
                at: at("2026-11-23T09:00:34Z"),
            },
        ];
        for f in frames {
            let text = serde_json::to_string(&f).unwrap();
            assert_eq!(frame(&text), Ok(f), "{text}");
        }

        let d = IncidentDetail {
            incident: incident(),
            timeline: vec![TimelineEntry {
                incident_id: 3,
                seq: 1,
                at: at("2026-11-23T09:00:00Z"),
                actor: "engine".into(),
                kind: TimelineKind::Opened,
                message: "opened".into(),
                values: Values::new(),
            }],
        };
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(detail(&text), Ok(d));
        assert!(
            detail(r#"{"id":3}"#).is_err(),
            "an incident needs its fields"
        );
    }

    #[test]
    fn frames_and_answers() {
        let f = frame(r#"{"type":"heartbeat","seq":4,"at":"2026-11-23T09:00:00Z"}"#).unwrap();
        assert_eq!(f.seq(), 4);
        assert!(frame(r#"{"type":"bogus","seq":1,"at":"2026-11-23T09:00:00Z"}"#).is_err());
        assert!(frame(r#"{"type":"snapshot","seq":1,"at":"2026-11-23T09:00:00Z"}"#).is_err());
        assert!(frame("not json").is_err());
        assert_eq!(
            api_error(r#"{"error":"no incident #9"}"#).as_deref(),
            Some("no incident #9")
        );
        assert_eq!(api_error("<html>bad gateway</html>"), None);
        assert_eq!(json_string("on \"it\"\n"), r#""on \"it\"\n""#);
        for s in ["plain", "tab\there", "\u{1}ctl", "back\\slash", "电话"] {
            assert_eq!(json_string(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
