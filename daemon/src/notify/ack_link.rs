//! Signed, expiring acknowledge links for e-mail pages.
//!
//! A link is `{public_url}/ack/{incident}?list={list}&exp={unix seconds}&sig={hmac}`, the HMAC
//! (SHA-256, URL-safe base64) taken over `incident.list.exp` with the daemon's link key. Opening
//! it shows a confirm page; only the form's POST acknowledges, so mail scanners that follow
//! links cannot. The key comes from `FLOORWATCH_LINK_SECRET`, or is made once and kept in the
//! data dir so links survive restarts.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

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

    /// The link for `list`'s recipients to acknowledge `incident`, valid until `exp`.
    pub fn link(&self, public_url: &str, incident: u64, list: &str, exp: i64) -> String {
        format!(
            "{public_url}/ack/{incident}?list={list}&exp={exp}&sig={}",
            B64.encode(self.hmac(incident, list, exp).finalize().into_bytes())
        )
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
