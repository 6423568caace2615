//! Bearer tokens with roles, read from the environment (never from alerts.toml, which is often
//! committed to a repository).
//!
//! `FLOORWATCH_INGEST_TOKENS`, `FLOORWATCH_VIEWER_TOKENS`, `FLOORWATCH_LEAD_TOKENS` and
//! `FLOORWATCH_ADMIN_TOKENS` each hold a comma-separated list of `name:secret` (or bare `secret`).
//! The name is who acted, in incident timelines. With no tokens at all the API is open.
//!
//! A secret shorter than `MIN_SECRET_LEN` bytes (an empty one above all) is refused when the
//! daemon starts: it would be guessable, and an empty one would match an empty `?token=`.
//! Secrets are kept and compared as SHA-256 digests, every token compared, so neither the
//! secret's length nor its position in the list shows in the time an answer takes.

use axum::http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};

/// The shortest secret a token may have, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Ingest,
    Viewer,
    Lead,
    Admin,
}

impl Role {
    fn grants(self, need: Role) -> bool {
        match need {
            Role::Ingest => matches!(self, Role::Ingest | Role::Admin),
            _ => self != Role::Ingest && self >= need,
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    name: String,
    /// SHA-256 of the secret.
    digest: [u8; 32],
    role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct Auth {
    tokens: Vec<Token>,
}

/// Who is calling: a token's name, or `None` on an open API.
pub type Caller = Option<String>;

impl Auth {
    /// The tokens of the environment; an entry with a short or empty secret is an error naming
    /// the variable and the entry.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut errors = Vec::new();
        for (var, role) in [
            ("FLOORWATCH_INGEST_TOKENS", Role::Ingest),
            ("FLOORWATCH_VIEWER_TOKENS", Role::Viewer),
            ("FLOORWATCH_LEAD_TOKENS", Role::Lead),
            ("FLOORWATCH_ADMIN_TOKENS", Role::Admin),
        ] {
            for (n, item) in get(var).unwrap_or_default().split(',').enumerate() {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let (name, secret) = match item.split_once(':') {
                    Some((n, s)) => (n.trim().to_string(), s.trim()),
                    None => (format!("{role:?}").to_lowercase(), item),
                };
                if secret.len() < MIN_SECRET_LEN {
                    errors.push(format!(
                        "{var}: entry {} (token \"{name}\") has a secret of {} bytes; the least is {MIN_SECRET_LEN}",
                        n + 1,
                        secret.len()
                    ));
                    continue;
                }
                tokens.push(Token {
                    name,
                    digest: Sha256::digest(secret.as_bytes()).into(),
                    role,
                });
            }
        }
        if errors.is_empty() {
            Ok(Self { tokens })
        } else {
            Err(errors.join("\n"))
        }
    }

    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn check(&self, headers: &HeaderMap, need: Role) -> Result<Caller, (StatusCode, String)> {
        self.check_token(bearer(headers), need)
    }

    /// Checks a token presented some other way than the header: a browser cannot set headers
    /// on a websocket or on a plain link (`?token=`).
    pub fn check_token(
        &self,
        presented: Option<&str>,
        need: Role,
    ) -> Result<Caller, (StatusCode, String)> {
        if self.is_open() {
            return Ok(None);
        }
        let Some(presented) = presented else {
            return Err((
                StatusCode::UNAUTHORIZED,
                format!("missing bearer token (this needs the {need:?} role)").to_lowercase(),
            ));
        };
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Every token is compared, whatever matched first.
        let found = self
            .tokens
            .iter()
            .fold(None, |found, t| match same(&t.digest, &presented) {
                true => Some(t),
                false => found,
            });
        let Some(t) = found else {
            return Err((StatusCode::UNAUTHORIZED, "unknown token".into()));
        };
        if !t.role.grants(need) {
            return Err((
                StatusCode::FORBIDDEN,
                format!(
                    "token \"{}\" has the {:?} role; this needs {:?}",
                    t.name, t.role, need
                )
                .to_lowercase(),
            ));
        }
        Ok(Some(t.name.clone()))
    }
}

/// The `Authorization: Bearer` token, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Compares two digests without stopping at the first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn roles_and_names() {
        let auth = Auth::from_lookup(|k| match k {
            "FLOORWATCH_INGEST_TOKENS" => Some("acd:in-1-0123456789abcdef".into()),
            "FLOORWATCH_LEAD_TOKENS" => {
                Some("alice:lead-1-0123456789abcdef, bob:lead-2-0123456789abcdef".into())
            }
            "FLOORWATCH_ADMIN_TOKENS" => Some("root-1-0123456789abcdef".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            auth.check(&headers("lead-2-0123456789abcdef"), Role::Lead)
                .unwrap()
                .as_deref(),
            Some("bob")
        );
        assert_eq!(
            auth.check(&headers("lead-1-0123456789abcdef"), Role::Viewer)
                .unwrap()
                .as_deref(),
            Some("alice")
        );
        assert_eq!(
            auth.check(&headers("lead-1-0123456789abcdef"), Role::Ingest)
                .unwrap_err()
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            auth.check(&headers("in-1-0123456789abcdef"), Role::Viewer)
                .unwrap_err()
                .0,
            StatusCode::FORBIDDEN
        );
        assert!(
            auth.check(&headers("root-1-0123456789abcdef"), Role::Ingest)
                .is_ok()
        );
        assert_eq!(
            auth.check(&HeaderMap::new(), Role::Viewer).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            auth.check(&headers("nope"), Role::Viewer).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert!(
            Auth::from_lookup(|_| None)
                .unwrap()
                .check(&HeaderMap::new(), Role::Admin)
                .is_ok()
        );
    }

    #[test]
    fn empty_and_short_secrets_are_refused_never_matched() {
        let err = Auth::from_lookup(|k| match k {
            "FLOORWATCH_VIEWER_TOKENS" => Some("wall:,wallboard:s3cret,ok:0123456789abcdef".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(
            err.contains("FLOORWATCH_VIEWER_TOKENS: entry 1 (token \"wall\") has a secret of 0 bytes; the least is 16"),
            "{err}"
        );
        assert!(
            err.contains("entry 2 (token \"wallboard\") has a secret of 6 bytes"),
            "{err}"
        );
        assert!(!err.contains("\"ok\""), "{err}");
        // No secret of any length matches an empty presented token.
        let auth = Auth::from_lookup(|k| match k {
            "FLOORWATCH_VIEWER_TOKENS" => Some("wall:0123456789abcdef".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            auth.check_token(Some(""), Role::Viewer).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// The caller holds a token with a role (or the API is open): a handler names the role it needs
/// by taking one of these, and gets who called. Refused with 401 or 403 before the handler runs.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub Caller);

        impl axum::extract::FromRequestParts<super::AppState> for $name {
            type Rejection = super::ApiErr;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                s: &super::AppState,
            ) -> Result<Self, Self::Rejection> {
                Ok($name(s.auth.check(&parts.headers, $role)?))
            }
        }
    };
}

role_extractor!(
    /// Reads the state: the board, incidents, alerts, silences.
    Viewer,
    Role::Viewer
);
role_extractor!(
    /// Acts on incidents: acknowledges, resolves, silences, overrides, drills.
    Lead,
    Role::Lead
);
role_extractor!(
    /// Runs the daemon: reloads its configuration.
    Admin,
    Role::Admin
);
role_extractor!(
    /// Sends events and alerts in; the token's name is their source.
    Ingester,
    Role::Ingest
);
