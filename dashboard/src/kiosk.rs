//! Kiosk options: what the URL's query string asks of this screen (`?queues=phone-*&rotate=20`),
//! read once at start. A wall-board is configured by its URL because the PC behind the TV has no
//! keyboard: whoever sets it up bookmarks one address and walks away.
//!
//! Everything here but [`from_location`] is plain string work, unit-tested on the host.

use crate::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }
}

/// The options of one screen. Unknown or malformed values fall back to the defaults rather than
/// failing: a typo in a kiosk URL must still give a working board.
#[derive(Debug, Clone, PartialEq)]
pub struct Kiosk {
    /// Queue names or globs (`phone-*`); empty means every queue.
    pub queues: Vec<String>,
    /// Seconds per view when cycling views; `None` stays put.
    pub rotate_s: Option<u32>,
    /// Tiles per wall-board page while rotating; `None` puts all tiles on one page.
    pub per_page: Option<usize>,
    pub theme: Theme,
    pub lang: Lang,
    /// Multiplies the root font size (every size in style.css is in rem).
    pub scale: f64,
    pub sound: bool,
    pub token: Option<String>,
    /// A page's signed link (`list`, `exp`, `sig`), ready to append to the incident's API calls:
    /// it lets a phone opened from a page read and acknowledge that incident without a token.
    pub link: Option<String>,
}

impl Kiosk {
    /// Whether the tile of `queue` belongs on this screen.
    pub fn shows_queue(&self, queue: &str) -> bool {
        self.queues.is_empty() || self.queues.iter().any(|g| glob_match(g, queue))
    }
}

/// Reads the options from the page's URL and the browser's language (only in the browser).
pub fn from_location() -> Kiosk {
    let window = leptos::prelude::window();
    let search = window.location().search().unwrap_or_default();
    let browser_lang = window.navigator().language();
    parse(&search, browser_lang.as_deref())
}

/// Parses a query string (with or without its leading `?`).
pub fn parse(query: &str, browser_lang: Option<&str>) -> Kiosk {
    let mut k = Kiosk {
        queues: Vec::new(),
        rotate_s: None,
        per_page: None,
        theme: Theme::Dark,
        lang: browser_lang.map_or(Lang::En, Lang::from_tag),
        scale: 1.0,
        sound: false,
        token: None,
        link: None,
    };
    let (mut list, mut exp, mut sig) = (None, None, None);
    for (key, value) in pairs(query) {
        match key.as_str() {
            "queues" => {
                k.queues = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
            "rotate" => k.rotate_s = value.trim().parse().ok().filter(|n| *n > 0),
            "per_page" => k.per_page = value.trim().parse().ok().filter(|n| *n > 0),
            "theme" => {
                k.theme = match value.trim() {
                    "light" => Theme::Light,
                    _ => Theme::Dark,
                }
            }
            // An empty `lang=` keeps the browser's language.
            "lang" if !value.trim().is_empty() => k.lang = Lang::from_tag(value.trim()),
            "scale" => {
                // Bounded so a mistyped `scale=15` does not make the board unusable.
                k.scale = value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.5 && *s <= 4.0)
                    .unwrap_or(1.0)
            }
            "sound" => k.sound = matches!(value.trim(), "1" | "true" | "on" | "yes"),
            "token" => k.token = Some(value).filter(|t| !t.is_empty()),
            "list" => list = Some(value),
            "exp" => exp = Some(value),
            "sig" => sig = Some(value),
            _ => {}
        }
    }
    if let (Some(list), Some(exp), Some(sig)) = (list, exp, sig) {
        k.link = Some(format!(
            "list={}&exp={}&sig={}",
            encode(&list),
            encode(&exp),
            encode(&sig)
        ));
    }
    k
}

/// The `key=value` pairs of a query string, percent-decoded.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Percent-decoding of a query component (`+` is a space there). Bad escapes are kept as typed.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encoding for a query value (a token in a URL).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use floorwatch_protocol::glob_match;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("phone-*", "phone-general"));
        assert!(glob_match("phone-*", "phone-"));
        assert!(!glob_match("phone-*", "chat-general"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("*-vip", "phone-vip"));
        assert!(glob_match("p*e-*l", "phone-general"));
        assert!(!glob_match("p*e-*x", "phone-general"));
        assert!(glob_match("chat", "chat"));
        assert!(!glob_match("chat", "chat2"));
        assert!(glob_match("**", ""));
        assert!(glob_match("电话*", "电话-一般"));
    }

    #[test]
    fn defaults() {
        let k = parse("", None);
        assert_eq!(k.theme, Theme::Dark);
        assert_eq!(k.lang, Lang::En);
        assert_eq!(
            (k.rotate_s, k.per_page, k.sound, k.scale),
            (None, None, false, 1.0)
        );
        assert!(k.shows_queue("whatever"));
        assert_eq!(parse("", Some("zh-CN")).lang, Lang::Zh);
        assert_eq!(parse("", Some("en-GB")).lang, Lang::En);
    }

    #[test]
    fn options() {
        let k = parse(
            "?lang=zh&queues=phone-*,%20chat-vip&rotate=20&per_page=6&theme=light&scale=1.5&sound=1&token=a%2Bb+c",
            Some("en-US"),
        );
        assert_eq!(k.lang, Lang::Zh);
        assert_eq!(k.queues, ["phone-*", "chat-vip"]);
        assert!(k.shows_queue("phone-general") && k.shows_queue("chat-vip"));
        assert!(!k.shows_queue("chat-general"));
        assert_eq!(k.rotate_s, Some(20));
        assert_eq!(k.per_page, Some(6));
        assert_eq!(k.theme, Theme::Light);
        assert_eq!(k.scale, 1.5);
        assert!(k.sound);
        assert_eq!(k.token.as_deref(), Some("a+b c"));
    }

    #[test]
    fn bad_values_fall_back() {
        let k = parse(
            "rotate=x&per_page=0&scale=40&theme=neon&lang=&token=",
            Some("zh-TW"),
        );
        assert_eq!((k.rotate_s, k.per_page, k.scale), (None, None, 1.0));
        assert_eq!(k.theme, Theme::Dark);
        assert_eq!(k.lang, Lang::Zh, "an empty lang keeps the browser's");
        assert_eq!(k.token, None);
    }

    #[test]
    fn percent_coding() {
        assert_eq!(decode("a%20b%zz%4"), "a b%zz%4");
        assert_eq!(decode("%E7%94%B5"), "电");
        assert_eq!(encode("a b/+"), "a%20b%2F%2B");
        assert_eq!(decode(&encode("tök en=1&")), "tök en=1&");
    }

    #[test]
    fn a_pages_signed_link_is_kept_whole_for_the_api() {
        let k = parse("?lang=zh&list=oncall%3Aduty&exp=1700000000&sig=ab-_c", None);
        assert_eq!(
            k.link.as_deref(),
            Some("list=oncall%3Aduty&exp=1700000000&sig=ab-_c")
        );
        assert_eq!(
            parse("?list=leads&exp=1", None).link,
            None,
            "all three or none"
        );
    }
}
