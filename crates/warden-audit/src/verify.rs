//! [`Verifier`]: walks a log record by record (a stored log page by page,
//! an archive file line by line) and stops at the first break, naming the
//! record where it is and what is wrong there.
//!
//! The checks, for each record in order:
//! 1. its number is the next one (a jump: records were deleted; a number
//!    already seen: records were moved or duplicated);
//! 2. its `prev` is the hash of the record before it (else a record was
//!    inserted, deleted or moved just before it — when `prev` is the hash of
//!    the record two before, the one before was inserted);
//! 3. its hash is the one its number, `prev` and content give (else it was
//!    edited);
//! 4. when a checkpoint signs its number, the signed hash is its hash (else
//!    the log was rewritten, hashes and all, after the checkpoint before).
//!
//! Every checkpoint's signature is checked first, and at the end a
//! checkpoint past the last record means the tail was cut off.

use std::collections::BTreeMap;
use std::fmt;

use warden_core::Timestamp;

use crate::checkpoint::{AuditPublicKey, Checkpoint};
use crate::digest::Digest;
use crate::record::{AuditRecord, GENESIS};

/// Where a walk starts: after record `seq` whose hash is `hash`
/// (`seq` 0 and [`GENESIS`] for a log that was never pruned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: Digest,
}

impl Anchor {
    /// The start of a log never pruned.
    pub const GENESIS: Anchor = Anchor {
        seq: 0,
        hash: GENESIS,
    };

    /// After the record a checkpoint signs.
    pub fn from_checkpoint(cp: &Checkpoint) -> Anchor {
        Anchor {
            seq: cp.seq,
            hash: cp.hash,
        }
    }
}

/// What is wrong at a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its hash is not the one its number, `prev` and content give: it was
    /// edited.
    Altered,
    /// The record before it (number `seq - 1`) was inserted: this record
    /// follows the one before that.
    Inserted,
    /// Its `prev` is not the hash of the record before: a record was
    /// deleted or moved just before it, or it was moved.
    NotChained,
    /// Records are missing: the number jumps from `seq - 1` to `found`.
    Missing { found: u64 },
    /// A number that came already (records moved or duplicated).
    OutOfOrder { found: u64 },
    /// A checkpoint signs another hash for this record: the log was
    /// rewritten, hashes included, after record `since` (the checkpoint
    /// before, 0: the start).
    Rewritten { since: u64, signed_at: Timestamp },
    /// The checkpoint signing this record is not signed by the key.
    BadSignature,
    /// A signed checkpoint names this record, but the log ends at `last`:
    /// its tail was cut off.
    Truncated { last: u64 },
    /// The walk starts after record `seq - 1`, but no checkpoint or
    /// archive proves that record's hash.
    UnprovenStart,
}

/// The first break found: at record `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub seq: u64,
    pub problem: Problem,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.problem {
            Problem::Altered => write!(f, "record {seq} was altered: its content does not give its hash"),
            Problem::Inserted => write!(f, "record {seq} was inserted: record {} follows record {}", seq + 1, seq.saturating_sub(1)),
            Problem::NotChained => write!(f, "record {seq} does not follow record {}: a record was deleted or moved there", seq.saturating_sub(1)),
            Problem::Missing { found } => write!(f, "record {seq} is missing: the log jumps from {} to {found}", seq.saturating_sub(1)),
            Problem::OutOfOrder { found } => write!(f, "record {seq} expected, record {found} found: records were moved or duplicated"),
            Problem::Rewritten { since, signed_at } => write!(f, "record {seq} is not the one the checkpoint signed at {} (unix): the log was rewritten after record {since}", signed_at.secs()),
            Problem::BadSignature => write!(f, "the checkpoint at record {seq} is not signed by this key"),
            Problem::Truncated { last } => write!(f, "the log ends at record {last} but a signed checkpoint names record {seq}: its tail was cut off"),
            Problem::UnprovenStart => write!(f, "no signed checkpoint or archive proves record {}, which the log starts after", seq.saturating_sub(1)),
        }
    }
}

impl std::error::Error for Break {}

/// What a walk that found no break covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The first and last record walked (`None`: none).
    pub first: Option<u64>,
    pub last: u64,
    /// The last record's hash (the anchor's if none).
    pub head: Digest,
    pub records: u64,
    /// Checkpoints that matched a record.
    pub checkpoints: usize,
    /// The last record a checkpoint signs (`None`: none walked).
    pub last_signed: Option<u64>,
}

impl Verified {
    /// Records after the last signed one: intact as far as the chain
    /// goes, not yet under a signature.
    pub fn unsigned_tail(&self) -> u64 {
        self.last
            - self
                .last_signed
                .unwrap_or(self.first.map_or(self.last, |f| f - 1))
    }
}

/// A walk in progress.
#[derive(Debug)]
pub struct Verifier {
    key: AuditPublicKey,
    expected: u64,
    prev: Digest,
    before_prev: Option<Digest>,
    checkpoints: BTreeMap<u64, Checkpoint>,
    last_checkpoint: u64,
    first: Option<u64>,
    records: u64,
    matched: usize,
    last_signed: Option<u64>,
}

impl Verifier {
    /// A walk after `anchor`, checking `checkpoints` (those at or before
    /// the anchor are only checked for their signature; one at the anchor
    /// must sign its hash). Fails at once on a checkpoint `key` did not
    /// sign. `anchor_proven`: the anchor's hash comes from somewhere
    /// trusted (the genesis, an archive verified before); otherwise a
    /// checkpoint must sign it.
    pub fn new(
        key: &AuditPublicKey,
        anchor: Anchor,
        checkpoints: impl IntoIterator<Item = Checkpoint>,
        anchor_proven: bool,
    ) -> Result<Verifier, Break> {
        let mut map = BTreeMap::new();
        for cp in checkpoints {
            if !key.verifies(&cp) {
                return Err(Break {
                    seq: cp.seq,
                    problem: Problem::BadSignature,
                });
            }
            map.insert(cp.seq, cp);
        }
        let proven = anchor == Anchor::GENESIS
            || anchor_proven
            || map
                .get(&anchor.seq)
                .is_some_and(|cp| cp.hash == anchor.hash);
        if !proven {
            return Err(Break {
                seq: anchor.seq + 1,
                problem: Problem::UnprovenStart,
            });
        }
        let checkpoints = map.split_off(&(anchor.seq + 1));
        Ok(Verifier {
            key: *key,
            expected: anchor.seq + 1,
            prev: anchor.hash,
            before_prev: None,
            checkpoints,
            last_checkpoint: anchor.seq,
            first: None,
            records: 0,
            matched: 0,
            last_signed: None,
        })
    }

    /// More checkpoints for a walk that loads them page by page (the
    /// stored log): those for records not walked yet are kept, after their
    /// signature is checked like [`Verifier::new`]'s.
    pub fn add_checkpoints(
        &mut self,
        checkpoints: impl IntoIterator<Item = Checkpoint>,
    ) -> Result<(), Break> {
        for cp in checkpoints {
            if !self.key.verifies(&cp) {
                return Err(Break {
                    seq: cp.seq,
                    problem: Problem::BadSignature,
                });
            }
            if cp.seq >= self.expected {
                self.checkpoints.insert(cp.seq, cp);
            }
        }
        Ok(())
    }

    /// Checks the next record.
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), Break> {
        let at = |problem| Break {
            seq: self.expected,
            problem,
        };
        if r.seq > self.expected {
            return Err(at(Problem::Missing { found: r.seq }));
        }
        if r.seq < self.expected {
            return Err(at(Problem::OutOfOrder { found: r.seq }));
        }
        if r.prev != self.prev {
            if Some(r.prev) == self.before_prev {
                return Err(Break {
                    seq: r.seq - 1,
                    problem: Problem::Inserted,
                });
            }
            return Err(at(Problem::NotChained));
        }
        if !r.is_intact() {
            return Err(at(Problem::Altered));
        }
        if let Some(cp) = self.checkpoints.remove(&r.seq) {
            if cp.hash != r.hash {
                return Err(at(Problem::Rewritten {
                    since: self.last_checkpoint,
                    signed_at: cp.at,
                }));
            }
            self.last_checkpoint = r.seq;
            self.matched += 1;
            self.last_signed = Some(r.seq);
        }
        self.first.get_or_insert(r.seq);
        self.records += 1;
        self.before_prev = Some(self.prev);
        self.prev = r.hash;
        self.expected += 1;
        Ok(())
    }

    /// Ends the walk: no checkpoint may name a record after the last one.
    pub fn finish(self) -> Result<Verified, Break> {
        let last = self.expected - 1;
        if let Some((&seq, _)) = self.checkpoints.iter().next() {
            return Err(Break {
                seq,
                problem: Problem::Truncated { last },
            });
        }
        Ok(Verified {
            first: self.first,
            last,
            head: self.prev,
            records: self.records,
            checkpoints: self.matched,
            last_signed: self.last_signed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::AuditSigner;
    use crate::record::{AuditEntry, Chain};

    fn log(n: u64) -> Vec<AuditRecord> {
        let mut chain = Chain::default();
        (1..=n)
            .map(|i| {
                chain.append(
                    AuditEntry::new(
                        Timestamp::from_secs(1_000 + i as i64),
                        "login.recorded",
                        "warden",
                    )
                    .unwrap()
                    .user(&format!("u{i}@example.com")),
                )
            })
            .collect()
    }

    fn walk(
        key: &AuditPublicKey,
        records: &[AuditRecord],
        cps: &[Checkpoint],
    ) -> Result<Verified, Break> {
        let mut v = Verifier::new(key, Anchor::GENESIS, cps.to_vec(), true)?;
        for r in records {
            v.push(r)?;
        }
        v.finish()
    }

    #[test]
    fn each_kind_of_tampering_is_found_at_its_record() {
        let signer = AuditSigner::from_seed(&[3; 32]).unwrap();
        let key = signer.public_key();
        let good = log(10);
        let cps = vec![
            signer.sign(5, good[4].hash, Timestamp::from_secs(2_000)),
            signer.sign(10, good[9].hash, Timestamp::from_secs(2_001)),
        ];
        let ok = walk(&key, &good, &cps).unwrap();
        assert_eq!(
            (ok.first, ok.last, ok.records, ok.checkpoints),
            (Some(1), 10, 10, 2)
        );

        let mut edited = good.clone();
        edited[3].entry.actor = "mallory".into();
        assert_eq!(
            walk(&key, &edited, &cps).unwrap_err(),
            Break {
                seq: 4,
                problem: Problem::Altered
            }
        );

        let mut deleted = good.clone();
        deleted.remove(6);
        assert_eq!(
            walk(&key, &deleted, &cps).unwrap_err(),
            Break {
                seq: 7,
                problem: Problem::Missing { found: 8 }
            }
        );

        let mut swapped = good.clone();
        swapped.swap(2, 3);
        assert_eq!(walk(&key, &swapped, &cps).unwrap_err().seq, 3);

        // An insertion, with the numbers after it shifted.
        let mut inserted = good[..6].to_vec();
        let mut chain = Chain::after(6, good[5].hash);
        inserted
            .push(chain.append(AuditEntry::new(Timestamp::from_secs(1), "x", "mallory").unwrap()));
        for r in &good[6..] {
            let mut r = r.clone();
            r.seq += 1;
            inserted.push(r);
        }
        assert_eq!(
            walk(&key, &inserted, &cps).unwrap_err(),
            Break {
                seq: 7,
                problem: Problem::Inserted
            }
        );

        let truncated = &good[..8];
        assert_eq!(
            walk(&key, truncated, &cps).unwrap_err(),
            Break {
                seq: 10,
                problem: Problem::Truncated { last: 8 }
            }
        );

        // Rewritten from record 7 on with every hash recomputed: only the
        // signature at 10 can tell.
        let mut rewritten = good[..6].to_vec();
        let mut chain = Chain::after(6, good[5].hash);
        for r in &good[6..] {
            let mut e = r.entry.clone();
            e.actor = "mallory".into();
            rewritten.push(chain.append(e));
        }
        assert_eq!(
            walk(&key, &rewritten, &cps).unwrap_err(),
            Break {
                seq: 10,
                problem: Problem::Rewritten {
                    since: 5,
                    signed_at: Timestamp::from_secs(2_001)
                }
            }
        );

        let forged = vec![AuditSigner::from_seed(&[4; 32]).unwrap().sign(
            10,
            good[9].hash,
            Timestamp::from_secs(2_001),
        )];
        assert_eq!(
            walk(&key, &good, &forged).unwrap_err().problem,
            Problem::BadSignature
        );
    }

    #[test]
    fn a_pruned_log_starts_after_a_signed_checkpoint() {
        let signer = AuditSigner::from_seed(&[3; 32]).unwrap();
        let key = signer.public_key();
        let good = log(10);
        let cp4 = signer.sign(4, good[3].hash, Timestamp::from_secs(2_000));
        let anchor = Anchor::from_checkpoint(&cp4);
        let mut v = Verifier::new(&key, anchor, vec![cp4.clone()], false).unwrap();
        for r in &good[4..] {
            v.push(r).unwrap();
        }
        let done = v.finish().unwrap();
        assert_eq!(
            (done.first, done.last, done.unsigned_tail()),
            (Some(5), 10, 6)
        );
        let unproven = Anchor {
            seq: 4,
            hash: good[2].hash,
        };
        assert_eq!(
            Verifier::new(&key, unproven, vec![cp4], false).unwrap_err(),
            Break {
                seq: 5,
                problem: Problem::UnprovenStart
            }
        );
    }
}
