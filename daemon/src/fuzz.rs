//! Fuzzing of the two parsers that take outside input, as property tests that run with every
//! `cargo test`: ingest bodies (decoded, validated and applied to an engine) and alerts.toml
//! (parsed, and when valid, its engine built and its tests run). Inputs are mutations of good
//! ones (byte flips, cuts, splices, extreme values), which reach much deeper than random bytes.
//!
//! Run longer with more cases: `PROPTEST_CASES=20000 cargo test --release -p floorwatch --lib fuzz`
//! (256 ingest and 32 config cases by default).
//! Each case must end without a panic, an abort or a hang, and every refusal must say where.

use std::sync::Arc;

use proptest::prelude::*;

use crate::config::{EMBEDDED, parse_config};
use crate::engine::Engine;
use crate::ingest::{decode_bytes, validate};

/// Values that broke parsers before: huge numbers and durations, odd bytes, long names.
const NASTY: &[&str] = &[
    "9999999999d",
    "9223372036854775807ms",
    "52w",
    "0ms",
    "-1",
    "1e308",
    "\u{0}",
    "\u{feff}",
    "2036-11-23T09:00:00Z",
    "9999-12-31T23:59:59Z",
    "\"",
    "{",
    "]",
    "\\u0000",
];

/// One way to change an input.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize, usize),
    Insert(usize, usize),
    Repeat(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Mutation::Cut(at, n)),
        (any::<usize>(), 0..NASTY.len()).prop_map(|(at, k)| Mutation::Insert(at, k)),
        (any::<usize>(), 1usize..32, 1usize..2000)
            .prop_map(|(at, n, times)| Mutation::Repeat(at, n, times)),
    ]
}

fn mutate(mut s: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if s.is_empty() {
            break;
        }
        match *m {
            Mutation::Flip(at, b) => {
                let at = at % s.len();
                s[at] = b;
            }
            Mutation::Cut(at, n) => {
                let at = at % s.len();
                let end = (at + n).min(s.len());
                s.drain(at..end);
            }
            Mutation::Insert(at, k) => {
                let at = at % (s.len() + 1);
                s.splice(at..at, NASTY[k].bytes());
            }
            Mutation::Repeat(at, n, times) => {
                let at = at % s.len();
                let end = (at + n).min(s.len());
                let piece = s[at..end].repeat(times);
                s.splice(end..end, piece);
            }
        }
    }
    s
}

fn events() -> String {
    let t = "2026-11-23T09:00:00Z";
    [
        format!(r#"{{"type":"contact","id":"c-1","queue":"phone-general","channel":"phone","event":"arrived","at":"{t}","priority":"normal"}}"#),
        format!(r#"{{"type":"contact","id":"c-1","event":"answered","at":"{t}"}}"#),
        format!(r#"{{"type":"contact","id":"c-2","queue":"chat-support","event":"arrived","at":"{t}"}}"#),
        format!(r#"{{"type":"contact","id":"c-2","event":"agent_replied","at":"{t}"}}"#),
        format!(r#"{{"type":"contact","id":"c-2","event":"resolved","at":"{t}"}}"#),
        format!(r#"{{"type":"queue","queue":"phone-general","at":"{t}","waiting":12,"longest_wait_s":95,"agents_available":3,"agents_busy":20}}"#),
        format!(r#"{{"type":"complaint","id":"k-1","at":"{t}","channel":"phone","category":"billing","grade":"urgent","text":"network down"}}"#),
        format!(r#"{{"type":"complaint","id":"k-1","event":"handled","at":"{t}"}}"#),
    ]
    .join("\n")
}

/// `PROPTEST_CASES` from the environment, else `default`.
fn cases(default: u32) -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default),
    )
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any mutated body decodes into located refusals and events the engine takes or refuses.
    #[test]
    fn ingest_bodies(ms in proptest::collection::vec(mutation(), 0..8)) {
        let body = mutate(events().into_bytes(), &ms);
        let cfg = Arc::new(parse_config(EMBEDDED, "alerts.toml", None).unwrap());
        let start = crate::ingest::parse_time("2026-11-23T09:00:00Z").unwrap();
        let mut engine = Engine::new(cfg, start);
        let lines = body.split(|b| *b == b'\n').count() as u64;
        let mut fx = Vec::new();
        for item in decode_bytes(&body) {
            match item.wire.as_ref().map_err(Clone::clone).and_then(|w| validate(w, item.line, item.index)) {
                Ok(ev) => {
                    let _ = engine.apply(&ev);
                }
                Err(r) => {
                    prop_assert!(r.line >= 1 && r.line <= lines, "line {} of {lines}: {r:?}", r.line);
                    prop_assert!(!r.error.is_empty());
                    prop_assert!(r.error.len() < 1024, "a refusal quotes too much: {}", r.error.len());
                }
            }
        }
        engine.settle(&mut fx);
        engine.tick(start + 60_000, &mut fx);
    }
}

proptest! {
    #![proptest_config(cases(32))]

    /// Any mutated alerts.toml is refused with located errors, or gives an engine whose tests
    /// run to the end.
    #[test]
    fn config_files(ms in proptest::collection::vec(mutation(), 1..6)) {
        let text = mutate(EMBEDDED.as_bytes().to_vec(), &ms);
        let Ok(text) = String::from_utf8(text) else { return Ok(()) };
        match parse_config(&text, "alerts.toml", None) {
            Err(errors) => {
                for e in &errors.0 {
                    prop_assert!(e.line >= 1, "an error without a place: {e}");
                }
            }
            Ok(cfg) => {
                let cfg = Arc::new(cfg);
                let _ = crate::check::run_tests(&cfg);
            }
        }
    }
}
