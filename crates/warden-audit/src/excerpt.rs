//! [`Excerpt`]: a contiguous run of the log, from the record after an
//! anchor up to a record a checkpoint signs, in which the records that
//! matter are whole and every other one is only its number and content
//! digest. Rechaining it from the anchor must give the hash the checkpoint
//! signs, so the whole records are proven to be in the signed log, in that
//! order, unchanged — without disclosing the others. Evidence bundles carry
//! one.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{AuditPublicKey, Checkpoint};
use crate::digest::Digest;
use crate::record::{chain_hash, AuditRecord};
use crate::verify::{Anchor, Break, Problem};

/// One record of an excerpt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum ExcerptItem {
    /// Shown whole.
    Whole(AuditRecord),
    /// Left out: only its number and content digest.
    Redacted { seq: u64, content: Digest },
}

impl ExcerptItem {
    pub fn seq(&self) -> u64 {
        match self {
            ExcerptItem::Whole(r) => r.seq,
            ExcerptItem::Redacted { seq, .. } => *seq,
        }
    }
}

/// A provable run of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    /// The number and hash of the record before the first item.
    pub after_seq: u64,
    pub after_hash: Digest,
    pub items: Vec<ExcerptItem>,
    /// Signs the last item.
    pub checkpoint: Checkpoint,
}

impl Excerpt {
    /// The excerpt of `records` (contiguous, starting right after
    /// `anchor`, ending at the record `checkpoint` signs), keeping whole
    /// the records `keep` says.
    pub fn build(
        anchor: Anchor,
        records: impl IntoIterator<Item = AuditRecord>,
        checkpoint: Checkpoint,
        keep: impl Fn(&AuditRecord) -> bool,
    ) -> Excerpt {
        let items = records
            .into_iter()
            .map(|r| {
                if keep(&r) {
                    ExcerptItem::Whole(r)
                } else {
                    ExcerptItem::Redacted {
                        seq: r.seq,
                        content: r.entry.content_digest(),
                    }
                }
            })
            .collect();
        Excerpt {
            after_seq: anchor.seq,
            after_hash: anchor.hash,
            items,
            checkpoint,
        }
    }

    /// The whole records.
    pub fn whole(&self) -> impl Iterator<Item = &AuditRecord> {
        self.items.iter().filter_map(|i| match i {
            ExcerptItem::Whole(r) => Some(r),
            ExcerptItem::Redacted { .. } => None,
        })
    }

    /// Checks the excerpt against `key`: numbers consecutive from the
    /// anchor, each whole record's `prev` and hash as the chain gives them,
    /// and the last hash the one the checkpoint signs with a valid
    /// signature. The break names the first record that fails.
    pub fn verify(&self, key: &AuditPublicKey) -> Result<(), Break> {
        if !key.verifies(&self.checkpoint) {
            return Err(Break {
                seq: self.checkpoint.seq,
                problem: Problem::BadSignature,
            });
        }
        let mut seq = self.after_seq;
        let mut prev = self.after_hash;
        for item in &self.items {
            let at = |problem| Break {
                seq: seq + 1,
                problem,
            };
            if item.seq() != seq + 1 {
                return Err(if item.seq() > seq + 1 {
                    at(Problem::Missing { found: item.seq() })
                } else {
                    at(Problem::OutOfOrder { found: item.seq() })
                });
            }
            let content = match item {
                ExcerptItem::Whole(r) => {
                    if r.prev != prev {
                        return Err(at(Problem::NotChained));
                    }
                    if !r.is_intact() {
                        return Err(at(Problem::Altered));
                    }
                    r.entry.content_digest()
                }
                ExcerptItem::Redacted { content, .. } => *content,
            };
            seq += 1;
            prev = chain_hash(seq, &prev, &content);
        }
        if seq != self.checkpoint.seq {
            return Err(Break {
                seq: self.checkpoint.seq,
                problem: Problem::Truncated { last: seq },
            });
        }
        if prev != self.checkpoint.hash {
            return Err(Break {
                seq,
                problem: Problem::Rewritten {
                    since: self.after_seq,
                    signed_at: self.checkpoint.at,
                },
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::AuditSigner;
    use crate::record::{AuditEntry, Chain};
    use warden_core::Timestamp;

    #[test]
    fn an_excerpt_proves_its_whole_records_and_nothing_edited() {
        let signer = AuditSigner::from_seed(&[9; 32]).unwrap();
        let key = signer.public_key();
        let mut chain = Chain::default();
        let records: Vec<AuditRecord> = (1..=20)
            .map(|i| {
                let user = if i % 5 == 0 {
                    "alice@example.com"
                } else {
                    "bob@example.com"
                };
                chain.append(
                    AuditEntry::new(Timestamp::from_secs(i), "login.recorded", "warden")
                        .unwrap()
                        .user(user),
                )
            })
            .collect();
        let anchor = Anchor {
            seq: 3,
            hash: records[2].hash,
        };
        let cp = signer.sign(18, records[17].hash, Timestamp::from_secs(99));
        let ex = Excerpt::build(anchor, records[3..18].to_vec(), cp, |r| {
            r.entry.user.as_deref() == Some("alice@example.com")
        });
        assert_eq!(ex.whole().count(), 3);
        ex.verify(&key).unwrap();

        let mut edited = ex.clone();
        if let ExcerptItem::Whole(r) = &mut edited.items[1] {
            r.entry.user = Some("carol@example.com".into());
        }
        assert_eq!(edited.verify(&key).unwrap_err().seq, 5);

        let mut forged = ex.clone();
        if let ExcerptItem::Whole(r) = &mut forged.items[1] {
            r.entry.user = Some("carol@example.com".into());
            r.hash = crate::record::chain_hash(r.seq, &r.prev, &r.entry.content_digest());
        }
        // Its own hash recomputed: the next whole record (10) no longer
        // follows the chain.
        assert_eq!(
            forged.verify(&key).unwrap_err(),
            Break {
                seq: 10,
                problem: Problem::NotChained
            }
        );

        let mut dropped = ex.clone();
        dropped.items.remove(4);
        assert_eq!(
            dropped.verify(&key).unwrap_err().problem,
            Problem::Missing { found: 9 }
        );
        let other = AuditSigner::from_seed(&[1; 32]).unwrap().public_key();
        assert_eq!(
            ex.verify(&other).unwrap_err().problem,
            Problem::BadSignature
        );
    }
}
