//! Reading the daemon's JSON (live frames, REST answers) into the protocol's own types, and
//! writing the few bodies the board sends. serde_json and the types' own `Deserialize`: the board
//! reads exactly what the daemon writes, with no second reading of the protocol to keep in step.

use floorwatch_protocol::{ApiError, Incident, IncidentDetail, LiveFrame};
use serde::Serialize;

pub type R<T> = Result<T, String>;

fn read<T: serde::de::DeserializeOwned>(text: &str) -> R<T> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// One text frame of the live stream (`{"type": "snapshot" | "delta" | "heartbeat", ...}`).
pub fn frame(text: &str) -> R<LiveFrame> {
    read(text)
}

/// `GET /api/v1/incidents`.
pub fn incidents(text: &str) -> R<Vec<Incident>> {
    read(text)
}

/// `GET /api/v1/incidents/{id}`: the incident's fields and its `timeline`, side by side.
pub fn detail(text: &str) -> R<IncidentDetail> {
    read(text)
}

/// The `error` of an error answer, if it has one.
pub fn api_error(text: &str) -> Option<String> {
    read::<ApiError>(text).ok().map(|e| e.error)
}

/// A JSON string literal (for request bodies: the only JSON the board writes).
pub fn json_string(s: &str) -> String {
    #[derive(Serialize)]
    struct Text<'a>(&'a str);
    serde_json::to_string(&Text(s)).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
