//! An incident's evidence bundle as the API and the CLI hand it out: the
//! signed file ([`file`]: write, and verify offline) and the printable
//! HTML report rendered from the same bundle ([`html`]).

pub mod file;
pub mod html;

pub use file::{encode_body, verify_file, write_file, EvidenceFileError, VerifiedBundle};

/// A small signed bundle for the tests: incident 1 of alice, three
/// actions, a hostile title.
#[cfg(test)]
pub(crate) mod fixture {
    use warden_audit::bundle::{
        Affected, BundleAction, BundleIncident, EvidenceBundle, InstanceKey, TimelineEntry,
        BUNDLE_FORMAT, BUNDLE_VERSION,
    };
    use warden_audit::{Anchor, AuditEntry, AuditSigner, Chain, Excerpt};
    use warden_core::Timestamp;

    use super::{encode_body, write_file};

    pub fn signed(signer: &AuditSigner) -> (EvidenceBundle, Vec<u8>) {
        let key = signer.public_key();
        let mut chain = Chain::default();
        let records: Vec<_> = (1..=6)
            .map(|i| {
                let mut e =
                    AuditEntry::new(Timestamp::from_secs(100 + i), "incident.action", "ops")
                        .unwrap()
                        .user(if i % 2 == 0 {
                            "alice@example.com"
                        } else {
                            "bob@example.com"
                        });
                if i % 2 == 0 {
                    e = e.incident(1).detail("action", "lock");
                }
                chain.append(e)
            })
            .collect();
        let cp = signer.sign(6, records[5].hash, Timestamp::from_secs(200));
        let excerpt = Excerpt::build(Anchor::GENESIS, records.clone(), cp, |r| {
            r.entry.incident == Some(1)
        });
        let cited: Vec<_> = records
            .iter()
            .filter(|r| r.entry.incident == Some(1))
            .collect();
        let bundle = EvidenceBundle {
            version: BUNDLE_VERSION,
            generated_at: Timestamp::from_secs(201),
            generated_by: "ops".into(),
            instance: InstanceKey {
                public_key: key,
                fingerprint: key.fingerprint(),
            },
            incident: BundleIncident {
                id: 1,
                grade: "l1".into(),
                grade_text: "credential compromise".into(),
                title: "Alice <script>".into(),
                status: "open".into(),
                assignee: None,
                opened_at: Timestamp::from_secs(101),
                opened_by: "warden".into(),
                trigger: "manual".into(),
                contained_at: None,
                eradicated_at: None,
                recovered_at: None,
                closed_at: None,
                affected: Affected::default(),
                steps: Vec::new(),
                review: None,
            },
            timeline: cited
                .iter()
                .map(|r| TimelineEntry::of(r, "lock".into()))
                .collect(),
            logins: Vec::new(),
            alerts: Vec::new(),
            actions: cited
                .iter()
                .map(|r| BundleAction {
                    seq: r.seq,
                    at: r.entry.at,
                    kind: r.entry.kind.clone(),
                    action: "lock".into(),
                    by: r.entry.actor.clone(),
                    user: r.entry.user.clone(),
                    result: "done".into(),
                })
                .collect(),
            excerpt,
        };
        let body = encode_body(&bundle);
        let sig = signer.sign_bytes(BUNDLE_FORMAT, &body);
        (bundle, write_file(&body, &sig, &key))
    }
}
