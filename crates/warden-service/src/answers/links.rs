//! Signed, expiring links to answer an alert.
//!
//! A link carries one token per alert: `v1.<alert id>.<expiry>.<mac>`, the
//! MAC an HMAC-SHA256 under the answer key over the version, the id and the
//! expiry. The token only opens the answer page; acting takes a POST from
//! that page (mail scanners follow links), and the store takes an answer
//! once ([`warden_store::AlertStore::answer_alert`]).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use warden_core::{Answer, Timestamp};

type HmacSha256 = Hmac<Sha256>;

/// How long a link works by default: a week.
pub const DEFAULT_LINK_TTL_SECS: i64 = 7 * 86_400;

/// The longest token [`AnswerSettings::open`] reads; anything longer is
/// refused unread.
pub const MAX_TOKEN_LEN: usize = 128;

/// How answer links are made.
#[derive(Clone)]
pub struct AnswerSettings {
    /// Where users reach Warden's answer page (`https://warden.example.com`),
    /// without a trailing slash.
    pub base_url: String,
    /// The key links are signed with.
    key: [u8; 32],
    /// How long a link works.
    pub ttl_secs: i64,
}

impl fmt::Debug for AnswerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerSettings")
            .field("base_url", &self.base_url)
            .field("key", &"<redacted>")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

impl Default for AnswerSettings {
    /// Links to `http://127.0.0.1:8080` under a random key (tests; `serve`
    /// configures both).
    fn default() -> Self {
        AnswerSettings::new(
            "http://127.0.0.1:8080",
            rand::random(),
            DEFAULT_LINK_TTL_SECS,
        )
    }
}

/// Why a token does not open an answer page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link's signature is wrong")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
}

impl AnswerSettings {
    pub fn new(base_url: &str, key: [u8; 32], ttl_secs: i64) -> Self {
        AnswerSettings {
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            ttl_secs,
        }
    }

    fn mac(&self, alert_id: i64, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(format!("v1.{alert_id}.{expires}").as_bytes());
        mac
    }

    /// The token for alert `alert_id`, valid until `now` + the TTL.
    pub fn token(&self, alert_id: i64, now: Timestamp) -> String {
        let expires = now.secs().saturating_add(self.ttl_secs);
        let tag = self.mac(alert_id, expires).finalize().into_bytes();
        format!("v1.{alert_id}.{expires}.{}", hex(&tag))
    }

    /// The answer page's address for alert `alert_id`, with `choice`
    /// preselected (the page still asks before acting).
    pub fn link(&self, alert_id: i64, choice: Answer, now: Timestamp) -> String {
        format!(
            "{}/answer/{}?choice={}",
            self.base_url,
            self.token(alert_id, now),
            choice.as_str()
        )
    }

    /// The alert a token opens, if it is genuine and not expired at `now`.
    pub fn open(&self, token: &str, now: Timestamp) -> Result<i64, LinkError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(LinkError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some("v1"), Some(id), Some(expires), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(LinkError::Malformed);
        };
        let id: i64 = id.parse().map_err(|_| LinkError::Malformed)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
        let tag = unhex(tag).ok_or(LinkError::Malformed)?;
        self.mac(id, expires)
            .verify_slice(&tag)
            .map_err(|_| LinkError::BadSignature)?;
        if now.secs() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(id)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_alert_until_it_expires_and_any_change_breaks_it() {
        let s = AnswerSettings::new("https://warden.example.com/", [7; 32], 3600);
        let t = s.token(42, Timestamp(1_000));
        assert_eq!(s.open(&t, Timestamp(1_000)), Ok(42));
        assert_eq!(s.open(&t, Timestamp(4_599)), Ok(42));
        assert_eq!(s.open(&t, Timestamp(4_600)), Err(LinkError::Expired));
        // Another alert id or a later expiry under the same MAC.
        let forged = t.replacen("v1.42.", "v1.43.", 1);
        assert_eq!(
            s.open(&forged, Timestamp(1_000)),
            Err(LinkError::BadSignature)
        );
        let longer = t.replacen(".4600.", ".9999.", 1);
        assert_eq!(
            s.open(&longer, Timestamp(1_000)),
            Err(LinkError::BadSignature)
        );
        // Another key.
        let other = AnswerSettings::new("https://x", [8; 32], 3600);
        assert_eq!(
            other.open(&t, Timestamp(1_000)),
            Err(LinkError::BadSignature)
        );
        for bad in ["", "v1", "v2.42.4600.00", "v1.x.4600.00", &"a".repeat(500)] {
            assert_eq!(
                s.open(bad, Timestamp(1_000)),
                Err(LinkError::Malformed),
                "{bad}"
            );
        }
        let link = s.link(42, Answer::NotMe, Timestamp(1_000));
        assert!(
            link.starts_with("https://warden.example.com/answer/v1.42.4600.")
                && link.ends_with("?choice=not_me"),
            "{link}"
        );
    }
}
