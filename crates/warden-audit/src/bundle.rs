//! [`EvidenceBundle`]: everything about one incident that an auditor, a
//! court or an insurer needs, in one document that proves itself — the
//! incident (grade, status, people, steps, review), its timeline, the
//! login attempts with their places and reasons, the alerts and answers,
//! the actions taken, and an [`Excerpt`] of the audit log in which every
//! record the bundle cites is whole.
//!
//! Two checks make the bundle trustworthy without Warden:
//! - the excerpt verifies against the instance's public key
//!   ([`Excerpt::verify`]): the cited records are in the signed chain,
//!   unchanged;
//! - [`check_consistency`]: every timeline entry, action, login and alert
//!   that cites an audit record cites a whole record of the excerpt that
//!   says the same thing (kind, time, user, actor, incident), in the
//!   chain's order.
//!
//! The file around the body (`{"format","body","signature","public_key"}`,
//! see [`BUNDLE_FORMAT`]) is written and read by the API layer; the
//! signature covers the exact bytes of the body under the context
//! [`BUNDLE_FORMAT`] ([`crate::AuditSigner::sign_bytes`]). Pure data and
//! rules here: no JSON, no IO.

use serde::{Deserialize, Serialize};
use warden_core::Timestamp;

use crate::checkpoint::AuditPublicKey;
use crate::excerpt::{Excerpt, ExcerptItem};
use crate::record::AuditRecord;
use crate::verify::Break;

/// The format name of a bundle file, also the signature's context.
pub const BUNDLE_FORMAT: &str = "warden-evidence-v1";

/// The body's version.
pub const BUNDLE_VERSION: u32 = 1;

/// One incident's evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceBundle {
    /// [`BUNDLE_VERSION`].
    pub version: u32,
    pub generated_at: Timestamp,
    /// Who generated it (the admin's name, or `warden`).
    pub generated_by: String,
    /// The instance whose audit key signed the excerpt and the bundle.
    pub instance: InstanceKey,
    pub incident: BundleIncident,
    /// What happened, in the audit log's order.
    pub timeline: Vec<TimelineEntry>,
    /// The login attempts of the affected users in the incident's window.
    pub logins: Vec<BundleLogin>,
    /// The alerts of the affected users in the window, with their answers.
    pub alerts: Vec<BundleAlert>,
    /// The incident's actions (one-click and manual), in order.
    pub actions: Vec<BundleAction>,
    /// The audit chain proof.
    pub excerpt: Excerpt,
}

/// The signing key and its short name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceKey {
    pub public_key: AuditPublicKey,
    /// [`AuditPublicKey::fingerprint`].
    pub fingerprint: String,
}

/// The incident as it stood when the bundle was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleIncident {
    pub id: i64,
    /// `l1`, `l2` or `l3`.
    pub grade: String,
    /// What the grade means (`credential compromise`...).
    pub grade_text: String,
    pub title: String,
    /// `open`, `contained`, `eradicated`, `recovered` or `closed`.
    pub status: String,
    pub assignee: Option<String>,
    pub opened_at: Timestamp,
    pub opened_by: String,
    /// What opened it (`alert:12`, `answer:12`, `operation:3`, `manual`).
    pub trigger: String,
    pub contained_at: Option<Timestamp>,
    pub eradicated_at: Option<Timestamp>,
    pub recovered_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub affected: Affected,
    pub steps: Vec<BundleStep>,
    pub review: Option<BundleReview>,
}

/// Who and what the incident concerns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Affected {
    pub users: Vec<String>,
    pub addresses: Vec<String>,
    pub devices: Vec<String>,
}

/// A playbook step of the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleStep {
    pub id: String,
    pub title: String,
    /// The role that owns it.
    pub owner: String,
    /// `action:<name>` or `manual`.
    pub kind: String,
    pub due_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub done_by: Option<String>,
    pub note: Option<String>,
}

/// The post-incident review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleReview {
    pub root_cause: String,
    pub what_worked: String,
    pub what_to_change: String,
    pub by: String,
    pub at: Timestamp,
}

/// One line of the timeline: what its audit record says, and which one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The audit record (whole in the excerpt).
    pub seq: u64,
    pub at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub user: Option<String>,
    pub ip: Option<String>,
    pub subject: Option<String>,
    /// A one-line reading of the record.
    pub summary: String,
}

impl TimelineEntry {
    /// The entry for `r`, with `summary` as its reading.
    pub fn of(r: &AuditRecord, summary: String) -> TimelineEntry {
        TimelineEntry {
            seq: r.seq,
            at: r.entry.at,
            kind: r.entry.kind.clone(),
            actor: r.entry.actor.clone(),
            user: r.entry.user.clone(),
            ip: r.entry.ip.clone(),
            subject: r.entry.subject.clone(),
            summary,
        }
    }
}

/// A login attempt with its place and the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleLogin {
    pub at: Timestamp,
    pub user: String,
    pub ip: String,
    pub protocol: String,
    /// `success` or `failure` (with the failure's kind).
    pub outcome: String,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub asn: Option<u32>,
    /// The network's name (from the ASN data).
    pub network: Option<String>,
    pub decision: Option<String>,
    pub risk: Option<f64>,
    pub reasons: Vec<BundleReason>,
    /// The audit record of this login, when the log has it.
    pub audit_seq: Option<u64>,
}

/// A reason a login scored, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleReason {
    pub code: String,
    pub text: String,
}

/// An alert and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleAlert {
    pub id: i64,
    pub kind: String,
    pub grade: String,
    pub at: Timestamp,
    pub user: Option<String>,
    pub ip: Option<String>,
    pub state: String,
    /// The user's answer (`not_me`, `me`, `wrong_location`...).
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
}

/// An action taken on the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleAction {
    /// The audit record of the action (whole in the excerpt).
    pub seq: u64,
    pub at: Timestamp,
    /// The audit kind (`incident.action`, `incident.status`...).
    pub kind: String,
    /// What was done (`lock`, `status:contained`...).
    pub action: String,
    pub by: String,
    pub user: Option<String>,
    /// How it ended.
    pub result: String,
}

/// A signature as the bundle file writes it: 128 lower-case hex digits.
pub fn signature_hex(signature: &[u8; 64]) -> String {
    crate::digest::hex(signature)
}

/// Why a bundle is not consistent with its own proof.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is version {0}; this Warden reads version {BUNDLE_VERSION}")]
    Version(u32),
    #[error("the bundle's key fingerprint {found} is not its key's ({expected})")]
    Fingerprint { found: String, expected: String },
    #[error("the audit excerpt does not verify: {0}")]
    Excerpt(Break),
    #[error("{what} cites audit record {seq}, which the excerpt does not hold whole")]
    NotInExcerpt { what: String, seq: u64 },
    #[error("{what} says {field} {found:?} but its audit record {seq} says {expected:?}")]
    Mismatch {
        what: String,
        seq: u64,
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("{what} is out of order: it cites record {seq} after record {after}")]
    Order { what: String, seq: u64, after: u64 },
    #[error("{what} cites audit record {seq} of incident {found:?}, not incident {expected}")]
    OtherIncident {
        what: String,
        seq: u64,
        found: Option<i64>,
        expected: i64,
    },
}

/// Checks that the bundle proves what it says: the key's fingerprint, the
/// excerpt against the bundle's own key, and every citation
/// ([`BundleError`] names the first entry that fails). Whether that key is
/// the instance's is for the reader to compare (the verifier prints the
/// fingerprint, or is given the key).
pub fn check_consistency(b: &EvidenceBundle) -> Result<(), BundleError> {
    if b.version != BUNDLE_VERSION {
        return Err(BundleError::Version(b.version));
    }
    let expected = b.instance.public_key.fingerprint();
    if b.instance.fingerprint != expected {
        return Err(BundleError::Fingerprint {
            found: b.instance.fingerprint.clone(),
            expected,
        });
    }
    b.excerpt
        .verify(&b.instance.public_key)
        .map_err(BundleError::Excerpt)?;
    let whole = |what: &str, seq: u64| -> Result<&AuditRecord, BundleError> {
        // The excerpt is contiguous from `after_seq + 1` (verified above).
        let i = seq
            .checked_sub(b.excerpt.after_seq + 1)
            .and_then(|i| usize::try_from(i).ok());
        match i.and_then(|i| b.excerpt.items.get(i)) {
            Some(ExcerptItem::Whole(r)) if r.seq == seq => Ok(r),
            _ => Err(BundleError::NotInExcerpt {
                what: what.to_owned(),
                seq,
            }),
        }
    };
    let mut last = 0u64;
    for (i, t) in b.timeline.iter().enumerate() {
        let what = format!("timeline entry {}", i + 1);
        let r = whole(&what, t.seq)?;
        if t.seq <= last {
            return Err(BundleError::Order {
                what,
                seq: t.seq,
                after: last,
            });
        }
        last = t.seq;
        same(&what, r, "kind", &t.kind, &r.entry.kind)?;
        same(
            &what,
            r,
            "time",
            &t.at.secs().to_string(),
            &r.entry.at.secs().to_string(),
        )?;
        same(&what, r, "actor", &t.actor, &r.entry.actor)?;
        same_opt(&what, r, "user", &t.user, &r.entry.user)?;
        same_opt(&what, r, "ip", &t.ip, &r.entry.ip)?;
        same_opt(&what, r, "subject", &t.subject, &r.entry.subject)?;
    }
    let mut last = 0u64;
    for (i, a) in b.actions.iter().enumerate() {
        let what = format!("action {} ({})", i + 1, a.action);
        let r = whole(&what, a.seq)?;
        if a.seq <= last {
            return Err(BundleError::Order {
                what,
                seq: a.seq,
                after: last,
            });
        }
        last = a.seq;
        if r.entry.incident != Some(b.incident.id) {
            return Err(BundleError::OtherIncident {
                what,
                seq: a.seq,
                found: r.entry.incident,
                expected: b.incident.id,
            });
        }
        same(&what, r, "kind", &a.kind, &r.entry.kind)?;
        same(
            &what,
            r,
            "time",
            &a.at.secs().to_string(),
            &r.entry.at.secs().to_string(),
        )?;
        same(&what, r, "actor", &a.by, &r.entry.actor)?;
        same_opt(&what, r, "user", &a.user, &r.entry.user)?;
    }
    for (i, l) in b.logins.iter().enumerate() {
        let Some(seq) = l.audit_seq else { continue };
        let what = format!("login {} ({} at {})", i + 1, l.user, l.at.secs());
        let r = whole(&what, seq)?;
        same(
            &what,
            r,
            "time",
            &l.at.secs().to_string(),
            &r.entry.at.secs().to_string(),
        )?;
        same_opt(&what, r, "user", &Some(l.user.clone()), &r.entry.user)?;
        same_opt(&what, r, "ip", &Some(l.ip.clone()), &r.entry.ip)?;
    }
    Ok(())
}

fn same(
    what: &str,
    r: &AuditRecord,
    field: &'static str,
    found: &str,
    expected: &str,
) -> Result<(), BundleError> {
    if found == expected {
        Ok(())
    } else {
        Err(BundleError::Mismatch {
            what: what.to_owned(),
            seq: r.seq,
            field,
            found: found.to_owned(),
            expected: expected.to_owned(),
        })
    }
}

fn same_opt(
    what: &str,
    r: &AuditRecord,
    field: &'static str,
    found: &Option<String>,
    expected: &Option<String>,
) -> Result<(), BundleError> {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
    same(what, r, field, &show(found), &show(expected))
}

/// What a good bundle covers, for a verifier's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSummary {
    pub incident: i64,
    pub grade: String,
    pub status: String,
    pub fingerprint: String,
    pub timeline: usize,
    pub actions: usize,
    pub logins: usize,
    pub alerts: usize,
    /// Records in the excerpt, whole and redacted.
    pub whole: usize,
    pub redacted: usize,
    /// The record the excerpt's checkpoint signs, and when.
    pub signed_seq: u64,
    pub signed_at: Timestamp,
}

impl EvidenceBundle {
    pub fn summary(&self) -> BundleSummary {
        let whole = self.excerpt.whole().count();
        BundleSummary {
            incident: self.incident.id,
            grade: self.incident.grade.clone(),
            status: self.incident.status.clone(),
            fingerprint: self.instance.fingerprint.clone(),
            timeline: self.timeline.len(),
            actions: self.actions.len(),
            logins: self.logins.len(),
            alerts: self.alerts.len(),
            whole,
            redacted: self.excerpt.items.len() - whole,
            signed_seq: self.excerpt.checkpoint.seq,
            signed_at: self.excerpt.checkpoint.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::AuditSigner;
    use crate::record::{AuditEntry, Chain};
    use crate::verify::{Anchor, Problem};

    const INCIDENT: i64 = 7;

    /// A log of 30 records: logins of alice and bob, and alice's incident's
    /// actions at 20, 24 and 28; a bundle citing alice's records.
    fn bundle() -> (EvidenceBundle, AuditSigner) {
        let signer = AuditSigner::from_seed(&[3; 32]).unwrap();
        let key = signer.public_key();
        let mut chain = Chain::default();
        let records: Vec<AuditRecord> = (1..=30)
            .map(|i| {
                let at = Timestamp::from_secs(1_000 + i);
                let e = if i >= 20 && i % 4 == 0 {
                    AuditEntry::new(at, "incident.action", "admin")
                        .unwrap()
                        .user("alice@example.com")
                        .incident(INCIDENT)
                        .detail("action", "lock")
                } else if i % 3 == 0 {
                    AuditEntry::new(at, "login.recorded", "warden")
                        .unwrap()
                        .user("alice@example.com")
                        .ip("203.0.113.9")
                } else {
                    AuditEntry::new(at, "login.recorded", "warden")
                        .unwrap()
                        .user("bob@example.com")
                        .ip("198.51.100.1")
                };
                chain.append(e)
            })
            .collect();
        let cp = signer.sign(30, records[29].hash, Timestamp::from_secs(2_000));
        let anchor = Anchor {
            seq: 2,
            hash: records[1].hash,
        };
        let alice = |r: &AuditRecord| r.entry.user.as_deref() == Some("alice@example.com");
        let excerpt = Excerpt::build(anchor, records[2..].to_vec(), cp, alice);
        let timeline: Vec<TimelineEntry> = records
            .iter()
            .filter(|r| r.seq > 2 && alice(r))
            .map(|r| TimelineEntry::of(r, r.entry.kind.clone()))
            .collect();
        let actions: Vec<BundleAction> = records
            .iter()
            .filter(|r| r.entry.incident == Some(INCIDENT))
            .map(|r| BundleAction {
                seq: r.seq,
                at: r.entry.at,
                kind: r.entry.kind.clone(),
                action: "lock".into(),
                by: r.entry.actor.clone(),
                user: r.entry.user.clone(),
                result: "done".into(),
            })
            .collect();
        let logins = vec![BundleLogin {
            at: records[2].entry.at,
            user: "alice@example.com".into(),
            ip: "203.0.113.9".into(),
            protocol: "imap".into(),
            outcome: "success".into(),
            country: Some("NG".into()),
            region: Some("Lagos".into()),
            city: Some("Ikeja".into()),
            asn: Some(36873),
            network: Some("Airtel".into()),
            decision: Some("alert".into()),
            risk: Some(0.8),
            reasons: vec![BundleReason {
                code: "new_country".into(),
                text: "first login from Nigeria".into(),
            }],
            audit_seq: Some(3),
        }];
        let b = EvidenceBundle {
            version: BUNDLE_VERSION,
            generated_at: Timestamp::from_secs(2_001),
            generated_by: "admin".into(),
            instance: InstanceKey {
                public_key: key,
                fingerprint: key.fingerprint(),
            },
            incident: BundleIncident {
                id: INCIDENT,
                grade: "l1".into(),
                grade_text: "credential compromise".into(),
                title: "alice".into(),
                status: "contained".into(),
                assignee: Some("ops".into()),
                opened_at: Timestamp::from_secs(1_019),
                opened_by: "warden".into(),
                trigger: "answer:1".into(),
                contained_at: Some(Timestamp::from_secs(1_025)),
                eradicated_at: None,
                recovered_at: None,
                closed_at: None,
                affected: Affected {
                    users: vec!["alice@example.com".into()],
                    ..Affected::default()
                },
                steps: Vec::new(),
                review: None,
            },
            timeline,
            logins,
            alerts: Vec::new(),
            actions,
            excerpt,
        };
        (b, signer)
    }

    #[test]
    fn a_made_bundle_is_consistent_and_summarised() {
        let (b, _) = bundle();
        check_consistency(&b).unwrap();
        let s = b.summary();
        assert_eq!((s.timeline, s.actions, s.logins), (b.timeline.len(), 3, 1));
        assert_eq!(s.whole + s.redacted, 28);
        assert_eq!(s.signed_seq, 30);
        assert!(s.whole >= s.timeline);
    }

    #[test]
    fn reordered_timeline_or_actions_fail() {
        let (mut b, _) = bundle();
        b.timeline.swap(1, 2);
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::Order { .. })
        ));
        let (mut b, _) = bundle();
        b.actions.swap(0, 2);
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::Order { .. })
        ));
    }

    #[test]
    fn an_entry_that_says_something_else_than_its_record_fails() {
        let (base, _) = bundle();
        type Edit = Box<dyn Fn(&mut EvidenceBundle)>;
        let edits: Vec<(&str, Edit)> = vec![
            (
                "kind",
                Box::new(|b| b.timeline[0].kind = "login.failed".into()),
            ),
            (
                "time",
                Box::new(|b| b.timeline[1].at = Timestamp::from_secs(1)),
            ),
            (
                "user",
                Box::new(|b| b.timeline[2].user = Some("eve@example.com".into())),
            ),
            ("ip", Box::new(|b| b.timeline[0].ip = None)),
            ("actor", Box::new(|b| b.actions[0].by = "someone".into())),
            (
                "time",
                Box::new(|b| b.actions[1].at = Timestamp::from_secs(5)),
            ),
            ("ip", Box::new(|b| b.logins[0].ip = "192.0.2.1".into())),
        ];
        for (field, edit) in edits {
            let mut b = base.clone();
            edit(&mut b);
            match check_consistency(&b) {
                Err(BundleError::Mismatch { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        // Citing a redacted record (bob's login 4) or one outside the excerpt.
        let mut b = base.clone();
        b.timeline[0].seq = 4;
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::NotInExcerpt { seq: 4, .. })
        ));
        let mut b = base.clone();
        b.logins[0].audit_seq = Some(31);
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::NotInExcerpt { seq: 31, .. })
        ));
        // An action of another incident.
        let mut b = base.clone();
        b.incident.id = 8;
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::OtherIncident { expected: 8, .. })
        ));
    }

    #[test]
    fn a_record_removed_or_edited_in_the_excerpt_fails() {
        let (base, signer) = bundle();
        let mut b = base.clone();
        b.excerpt.items.remove(5);
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::Excerpt(Break {
                problem: Problem::Missing { .. },
                ..
            }))
        ));
        // A whole record turned redacted with its true digest still
        // proves the chain, but an entry citing it fails.
        let mut b = base.clone();
        let i = b
            .excerpt
            .items
            .iter()
            .position(|it| matches!(it, ExcerptItem::Whole(r) if r.seq == b.actions[0].seq))
            .unwrap();
        if let ExcerptItem::Whole(r) = &b.excerpt.items[i] {
            b.excerpt.items[i] = ExcerptItem::Redacted {
                seq: r.seq,
                content: r.entry.content_digest(),
            };
        }
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::NotInExcerpt { .. })
        ));
        // Edited record, with the timeline edited to match.
        let mut b = base.clone();
        if let ExcerptItem::Whole(r) = &mut b.excerpt.items[0] {
            r.entry.ip = Some("192.0.2.1".into());
        }
        b.timeline[0].ip = Some("192.0.2.1".into());
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::Excerpt(Break {
                seq: 3,
                problem: Problem::Altered
            }))
        ));
        // Another key: fingerprint first, then the excerpt.
        let other = AuditSigner::from_seed(&[4; 32]).unwrap().public_key();
        let mut b = base.clone();
        b.instance.public_key = other;
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::Fingerprint { .. })
        ));
        b.instance.fingerprint = other.fingerprint();
        assert!(matches!(
            check_consistency(&b),
            Err(BundleError::Excerpt(Break {
                problem: Problem::BadSignature,
                ..
            }))
        ));
        let _ = signer;
    }
}
