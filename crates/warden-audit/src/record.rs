//! [`AuditEntry`] (what happened, who, to whom, from where) and
//! [`AuditRecord`] (an entry with its place in the chain), their canonical
//! bytes and the chain rule:
//!
//! ```text
//! content = SHA-256("warden-audit-entry-v1" 0x00 ‖ fields, each length-prefixed)
//! hash    = SHA-256("warden-audit-chain-v1" 0x00 ‖ seq (u64 BE) ‖ prev ‖ content)
//! ```
//!
//! The first record's `prev` is [`GENESIS`] (32 zero bytes). The encoding
//! is documented here so that anyone can check a log without Warden.

use serde::{Deserialize, Serialize};
use warden_core::Timestamp;

use crate::digest::Digest;

/// The `prev` of the first record ever.
pub const GENESIS: Digest = Digest([0; 32]);

/// Bounds on an entry's fields, in bytes. Longer values are cut (at a
/// character boundary) when an entry is built, so a hostile value never
/// makes the audit fail nor grows a record without end.
pub const MAX_KIND: usize = 64;
pub const MAX_ACTOR: usize = 128;
pub const MAX_USER: usize = 320;
pub const MAX_IP: usize = 64;
pub const MAX_SUBJECT: usize = 256;
pub const MAX_DETAIL_KEY: usize = 64;
pub const MAX_DETAIL_VALUE: usize = 1024;
pub const MAX_DETAILS: usize = 32;

/// What happened, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (Unix seconds).
    pub at: Timestamp,
    /// What: a dotted name such as `login.recorded`, `account.locked`,
    /// `incident.action` (lower-case letters, digits, `.` and `_`).
    pub kind: String,
    /// Who did it: `warden`, `admin`, the user, a reporter.
    pub actor: String,
    /// The account it concerns.
    pub user: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// What it acted on (`alert:12`, `policy:org`, a device key...).
    pub subject: Option<String>,
    /// The incident it belongs to.
    pub incident: Option<i64>,
    /// Everything else, as key/value pairs in a fixed order.
    pub detail: Vec<(String, String)>,
}

/// An entry that cannot be logged as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("audit kind {0:?} is not 1-64 characters of a-z, 0-9, '.', '_'")]
    Kind(String),
}

impl AuditEntry {
    /// A new entry; `kind` must be a valid kind name (a programming
    /// error otherwise: kinds are fixed names in the code).
    pub fn new(at: Timestamp, kind: &str, actor: &str) -> Result<AuditEntry, EntryError> {
        if !valid_kind(kind) {
            return Err(EntryError::Kind(kind.chars().take(80).collect()));
        }
        Ok(AuditEntry {
            at,
            kind: kind.to_owned(),
            actor: clean(actor, MAX_ACTOR),
            user: None,
            ip: None,
            subject: None,
            incident: None,
            detail: Vec::new(),
        })
    }

    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(clean(user, MAX_USER));
        self
    }

    pub fn ip(mut self, ip: impl ToString) -> Self {
        self.ip = Some(clean(&ip.to_string(), MAX_IP));
        self
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(clean(subject, MAX_SUBJECT));
        self
    }

    pub fn incident(mut self, id: i64) -> Self {
        self.incident = Some(id);
        self
    }

    /// Adds a key/value pair (at most [`MAX_DETAILS`]; more are dropped,
    /// and the last kept says so).
    pub fn detail(mut self, key: &str, value: impl ToString) -> Self {
        if self.detail.len() < MAX_DETAILS {
            self.detail.push((
                clean(key, MAX_DETAIL_KEY),
                clean(&value.to_string(), MAX_DETAIL_VALUE),
            ));
        } else if let Some(last) = self.detail.last_mut() {
            last.0 = "truncated".to_owned();
            last.1 = "more details were dropped".to_owned();
        }
        self
    }

    /// The value of detail `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.detail
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The canonical bytes of the entry (see the module documentation).
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"warden-audit-entry-v1\0");
        out.extend_from_slice(&self.at.secs().to_be_bytes());
        field(&mut out, self.kind.as_bytes());
        field(&mut out, self.actor.as_bytes());
        optional(&mut out, self.user.as_deref().map(str::as_bytes));
        optional(&mut out, self.ip.as_deref().map(str::as_bytes));
        optional(&mut out, self.subject.as_deref().map(str::as_bytes));
        match self.incident {
            None => out.push(0),
            Some(id) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
        out.extend_from_slice(&(self.detail.len() as u32).to_be_bytes());
        for (k, v) in &self.detail {
            field(&mut out, k.as_bytes());
            field(&mut out, v.as_bytes());
        }
        out
    }

    /// The digest of [`AuditEntry::canonical`].
    pub fn content_digest(&self) -> Digest {
        Digest::of(&[&self.canonical()])
    }
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            field(out, b);
        }
    }
}

fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= MAX_KIND
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
}

/// `s` with control characters replaced by U+FFFD and cut to `max` bytes
/// at a character boundary.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        let c = if c.is_control() { '\u{FFFD}' } else { c };
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// The hash of record `seq` whose content digest is `content`, after the
/// record whose hash is `prev`.
pub fn chain_hash(seq: u64, prev: &Digest, content: &Digest) -> Digest {
    Digest::of(&[
        b"warden-audit-chain-v1\0",
        &seq.to_be_bytes(),
        &prev.0,
        &content.0,
    ])
}

/// An entry in the log: its number (from 1, no gaps), the hash of the
/// record before and its own hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub prev: Digest,
    pub hash: Digest,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditRecord {
    /// `entry` as record `seq` after the record whose hash is `prev`.
    pub fn seal(seq: u64, prev: Digest, entry: AuditEntry) -> AuditRecord {
        let hash = chain_hash(seq, &prev, &entry.content_digest());
        AuditRecord {
            seq,
            prev,
            hash,
            entry,
        }
    }

    /// Whether the stored hash is the one its number, `prev` and content
    /// give.
    pub fn is_intact(&self) -> bool {
        chain_hash(self.seq, &self.prev, &self.entry.content_digest()) == self.hash
    }
}

/// The head of a chain: appends entries as the next records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    /// The last record's number (0: none yet).
    pub seq: u64,
    /// The last record's hash ([`GENESIS`]: none yet).
    pub head: Digest,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            seq: 0,
            head: GENESIS,
        }
    }
}

impl Chain {
    /// The chain after the record `seq` whose hash is `head`.
    pub fn after(seq: u64, head: Digest) -> Chain {
        Chain { seq, head }
    }

    /// `entry` as the next record; the head moves to it.
    pub fn append(&mut self, entry: AuditEntry) -> AuditRecord {
        let record = AuditRecord::seal(self.seq + 1, self.head, entry);
        self.seq = record.seq;
        self.head = record.hash;
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str) -> AuditEntry {
        AuditEntry::new(Timestamp::from_secs(1_700_000_000), kind, "admin")
            .unwrap()
            .user("alice@example.com")
            .ip("203.0.113.5")
            .detail("reason", "new_country")
    }

    #[test]
    fn every_field_changes_the_content_digest() {
        let base = entry("account.locked");
        let d = base.content_digest();
        let variants = [
            AuditEntry {
                at: Timestamp::from_secs(1_700_000_001),
                ..base.clone()
            },
            AuditEntry {
                kind: "account.unlocked".into(),
                ..base.clone()
            },
            AuditEntry {
                actor: "warden".into(),
                ..base.clone()
            },
            AuditEntry {
                user: None,
                ..base.clone()
            },
            AuditEntry {
                ip: Some("203.0.113.6".into()),
                ..base.clone()
            },
            AuditEntry {
                subject: Some(String::new()),
                ..base.clone()
            },
            AuditEntry {
                incident: Some(1),
                ..base.clone()
            },
            base.clone().detail("x", ""),
        ];
        for v in variants {
            assert_ne!(v.content_digest(), d, "{v:?}");
        }
        // Moving bytes between fields changes it too (length prefixes).
        let a = AuditEntry::new(Timestamp::from_secs(1), "k", "ab")
            .unwrap()
            .user("c");
        let b = AuditEntry::new(Timestamp::from_secs(1), "k", "a")
            .unwrap()
            .user("bc");
        assert_ne!(a.content_digest(), b.content_digest());
    }

    #[test]
    fn hostile_values_are_cut_and_cleaned_and_bad_kinds_refused() {
        let e = AuditEntry::new(Timestamp::from_secs(1), "login.recorded", "x")
            .unwrap()
            .user(&"é".repeat(1000))
            .detail("agent", "a\nb\u{0}c");
        assert!(e.user.as_ref().unwrap().len() <= MAX_USER);
        assert_eq!(e.get("agent"), Some("a\u{FFFD}b\u{FFFD}c"));
        assert!(AuditEntry::new(Timestamp::from_secs(1), "Login", "x").is_err());
        assert!(AuditEntry::new(Timestamp::from_secs(1), "", "x").is_err());
        let mut many = AuditEntry::new(Timestamp::from_secs(1), "k", "x").unwrap();
        for i in 0..100 {
            many = many.detail("k", i);
        }
        assert_eq!(many.detail.len(), MAX_DETAILS);
        assert_eq!(many.detail.last().unwrap().0, "truncated");
    }

    #[test]
    fn a_chain_links_each_record_to_the_one_before() {
        let mut chain = Chain::default();
        let r1 = chain.append(entry("a"));
        let r2 = chain.append(entry("b"));
        assert_eq!((r1.seq, r1.prev), (1, GENESIS));
        assert_eq!((r2.seq, r2.prev), (2, r1.hash));
        assert!(r1.is_intact() && r2.is_intact());
        let mut edited = r2.clone();
        edited.entry.actor = "mallory".into();
        assert!(!edited.is_intact());
    }
}
