//! Bearer tokens with roles, read from the environment (never from alerts.toml, which is often
//! committed to a repository).
//!
//! `FLOORWATCH_INGEST_TOKENS`, `FLOORWATCH_VIEWER_TOKENS`, `FLOORWATCH_LEAD_TOKENS` and
//! `FLOORWATCH_ADMIN_TOKENS` each hold a comma-separated list of `name:secret` (or bare `secret`).
//! The name is who acted, in incident timelines. With no tokens at all the API is open.

use axum::http::{HeaderMap, StatusCode, header};

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
    secret: String,
    role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct Auth {
    tokens: Vec<Token>,
}

/// Who is calling: a token's name, or `None` on an open API.
pub type Caller = Option<String>;

impl Auth {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut tokens = Vec::new();
        for (var, role) in [
            ("FLOORWATCH_INGEST_TOKENS", Role::Ingest),
            ("FLOORWATCH_VIEWER_TOKENS", Role::Viewer),
            ("FLOORWATCH_LEAD_TOKENS", Role::Lead),
            ("FLOORWATCH_ADMIN_TOKENS", Role::Admin),
        ] {
            for item in get(var).unwrap_or_default().split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let (name, secret) = match item.split_once(':') {
                    Some((n, s)) => (n.to_string(), s.to_string()),
                    None => (format!("{role:?}").to_lowercase(), item.to_string()),
                };
                tokens.push(Token { name, secret, role });
            }
        }
        Self { tokens }
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
        let Some(t) = self.tokens.iter().find(|t| same(&t.secret, presented)) else {
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

/// Compares without stopping at the first difference, so timing does not leak the secret.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
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
            "FLOORWATCH_INGEST_TOKENS" => Some("acd:in-1".into()),
            "FLOORWATCH_LEAD_TOKENS" => Some("alice:lead-1, bob:lead-2".into()),
            "FLOORWATCH_ADMIN_TOKENS" => Some("root-1".into()),
            _ => None,
        });
        assert_eq!(
            auth.check(&headers("lead-2"), Role::Lead)
                .unwrap()
                .as_deref(),
            Some("bob")
        );
        assert_eq!(
            auth.check(&headers("lead-1"), Role::Viewer)
                .unwrap()
                .as_deref(),
            Some("alice")
        );
        assert_eq!(
            auth.check(&headers("lead-1"), Role::Ingest).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            auth.check(&headers("in-1"), Role::Viewer).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
        assert!(auth.check(&headers("root-1"), Role::Ingest).is_ok());
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
                .check(&HeaderMap::new(), Role::Admin)
                .is_ok()
        );
    }
}
