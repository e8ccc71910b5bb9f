//! Warden's tamper-evident audit log, the pure part (no IO, no async, no
//! JSON; time is always passed in).
//!
//! Every security-relevant event becomes an [`AuditEntry`]; appended to the
//! log it is an [`AuditRecord`] with a sequence number and a place in a
//! **SHA-256 chain**: its hash covers its number, the hash of the record
//! before it and the digest of its content ([`record`]). Periodically the
//! head of the chain is signed with Ed25519 as a [`Checkpoint`]
//! ([`checkpoint`]), so that even someone able to rewrite the whole table
//! and recompute every hash cannot forge the signature over it.
//!
//! [`verify::Verifier`] walks a stored log (or an archive of a pruned part)
//! record by record and names the first record where it breaks: an edited
//! record, a deleted, inserted or moved one, a cut-off tail. An
//! [`excerpt::Excerpt`] is a contiguous part of the log where the records
//! that matter are whole and the others only their content digest: enough
//! to prove, offline, that the whole ones are in the signed chain without
//! disclosing the rest. An [`bundle::EvidenceBundle`] carries one with an
//! incident's records.

pub mod bundle;
pub mod checkpoint;
pub mod digest;
pub mod excerpt;
pub mod record;
pub mod verify;

pub use bundle::{check_consistency, BundleError, EvidenceBundle, BUNDLE_FORMAT};
pub use checkpoint::{bytes_message, AuditPublicKey, AuditSigner, Checkpoint, KeyError};
pub use digest::{Digest, DigestParseError};
pub use excerpt::{Excerpt, ExcerptItem};
pub use record::{AuditEntry, AuditRecord, Chain, EntryError, GENESIS};
pub use verify::{Anchor, Break, Problem, Verified, Verifier};
