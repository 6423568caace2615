//! Signed, expiring links in pages: a grant to read and acknowledge one incident, in the name
//! of the target the page went to (an e-mail list, a rota, a webhook).
//!
//! A grant is `list={target}&exp={unix seconds}&sig={hmac}`, the HMAC (SHA-256, URL-safe
//! base64) taken over `incident.list.exp` with the daemon's link key. Pages carry it twice:
//! - the acknowledge link `{public_url}/ack/{incident}?{grant}` shows a confirm page; only the
//!   form's POST acknowledges, so mail scanners that follow links cannot;
//! - the board's incident page `{public_url}/?{grant}#/incidents/{incident}`, which a phone opens
//!   without a token: the API takes the grant for that incident's page and acknowledgement.
//!
//! The key comes from `FLOORWATCH_LINK_SECRET`, or is made once and kept in the data dir so
//! links survive restarts.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use floorwatch_protocol::{Incident, Language};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::page::{Links, Reason};

/// What a signed link carries: the target it was sent to, its expiry, the signature.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams,
)]
#[into_params(parameter_in = Query)]
pub struct Grant {
    pub list: String,
    pub exp: i64,
    pub sig: String,
}

impl Grant {
    /// The grant as a query string.
    pub fn query(&self) -> String {
        serde_urlencoded::to_string(self).expect("a grant encodes")
    }

    /// Who acts through this link, in incident timelines: `e-mail link (email:leads)`.
    pub fn actor(&self) -> String {
        // E-mail lists sign their plain name; rotas and webhooks their target.
        match self.list.split_once(':') {
            Some(("webhook", _)) => format!("chat link ({})", self.list),
            Some(_) => format!("e-mail link ({})", self.list),
            None => format!("e-mail link (email:{})", self.list),
        }
    }
}

/// The board's page of incident `id`, in `lang`, opened with `grant`.
fn board_link(public_url: &str, id: u64, lang: Language, grant: &Grant) -> String {
    let lang = match lang {
        Language::Chinese => "lang=zh&",
        Language::English => "",
    };
    format!("{public_url}/?{lang}{}#/incidents/{id}", grant.query())
}

#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this acknowledge link has expired")]
    Expired,
    #[error("this acknowledge link is not valid (altered or from another daemon)")]
    Invalid,
}

impl LinkKey {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        LinkKey(key.into())
    }

    /// The key from `FLOORWATCH_LINK_SECRET`, else `link.key` in the data dir (made if missing).
    pub fn load(data_dir: &Path) -> std::io::Result<Self> {
        if let Ok(s) = std::env::var("FLOORWATCH_LINK_SECRET")
            && !s.is_empty()
        {
            return Ok(LinkKey(s.into_bytes()));
        }
        let path = data_dir.join("link.key");
        match std::fs::read(&path) {
            Ok(k) if k.len() >= 32 => Ok(LinkKey(k)),
            _ => {
                std::fs::create_dir_all(data_dir)?;
                let key: [u8; 32] = rand::random();
                let text = B64.encode(key).into_bytes();
                std::fs::write(&path, &text)?;
                Ok(LinkKey(text))
            }
        }
    }

    /// The HMAC of a link's fields, ready to sign or to check.
    fn hmac(&self, incident: u64, list: &str, exp: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(format!("{incident}.{list}.{exp}").as_bytes());
        mac
    }

    /// The grant for `list`'s recipients on `incident`, valid until `exp`.
    pub fn grant(&self, incident: u64, list: &str, exp: i64) -> Grant {
        Grant {
            list: list.to_string(),
            exp,
            sig: B64.encode(self.hmac(incident, list, exp).finalize().into_bytes()),
        }
    }

    /// The link for `list`'s recipients to acknowledge `incident`, valid until `exp`.
    pub fn link(&self, public_url: &str, incident: u64, list: &str, exp: i64) -> String {
        format!(
            "{public_url}/ack/{incident}?{}",
            self.grant(incident, list, exp).query()
        )
    }

    /// The links of a page to `list` about `incident`, valid until `exp`: the board's page with
    /// the grant, and the acknowledge link while there is something to acknowledge.
    pub fn page_links(
        &self,
        public_url: &str,
        incident: &Incident,
        reason: Reason,
        list: &str,
        exp: i64,
        lang: Language,
    ) -> Links {
        let grant = self.grant(incident.id, list, exp);
        let ackable = incident.status.is_open()
            && incident.acknowledged_at.is_none()
            && reason != Reason::Resolved
            && reason != Reason::Test;
        Links {
            open: board_link(public_url, incident.id, lang, &grant),
            ack: ackable.then(|| format!("{public_url}/ack/{}?{}", incident.id, grant.query())),
        }
    }

    /// Checks a grant for `incident` at `now` (unix seconds).
    pub fn check(&self, incident: u64, grant: &Grant, now: i64) -> Result<(), LinkError> {
        self.verify(incident, &grant.list, grant.exp, &grant.sig, now)
    }

    /// Checks a link's signature and expiry at `now` (unix seconds).
    pub fn verify(
        &self,
        incident: u64,
        list: &str,
        exp: i64,
        sig: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let sig = B64.decode(sig).map_err(|_| LinkError::Invalid)?;
        self.hmac(incident, list, exp)
            .verify_slice(&sig)
            .map_err(|_| LinkError::Invalid)?;
        if now > exp {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_and_refuse_tampering_and_age() {
        let k = LinkKey::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let link = k.link("http://x", 7, "leads", 1000);
        let sig = link.rsplit("sig=").next().unwrap();
        assert_eq!(k.verify(7, "leads", 1000, sig, 999), Ok(()));
        assert_eq!(
            k.verify(8, "leads", 1000, sig, 999),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            k.verify(7, "other", 1000, sig, 999),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            k.verify(7, "leads", 2000, sig, 999),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            k.verify(7, "leads", 1000, sig, 1001),
            Err(LinkError::Expired)
        );
        let other = LinkKey::new(b"another key, another daemon.....".to_vec());
        assert_eq!(
            other.verify(7, "leads", 1000, sig, 999),
            Err(LinkError::Invalid)
        );
    }
}
