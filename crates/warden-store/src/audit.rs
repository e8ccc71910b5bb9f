//! The [`AuditStore`] trait: the tamper-evident audit log's records
//! ([`warden_audit::AuditRecord`], chained by the caller) and its signed
//! checkpoints. The store only keeps them: it never computes a hash, so
//! verification (`warden_audit::Verifier`) trusts nothing it says.
//!
//! Appends are conditional on the head: a batch must start right after the
//! last stored record (or the last checkpoint when every record was pruned),
//! else it is a [`StoreError::Conflict`] and nothing is written — two
//! writers can never fork the chain. Pruning goes only up to a signed
//! checkpoint, which stays: the first kept record's `prev` is proven by it.

use std::future::Future;

use warden_audit::{AuditRecord, Checkpoint, Digest};
use warden_core::Timestamp;

use crate::error::StoreError;

/// The most records one [`AuditQuery`] or [`AuditStore::audit_from`] returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Which records to list: newest first, every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub user: Option<String>,
    /// The client address, canonical text.
    pub ip: Option<String>,
    /// A kind (`account.locked`), or every kind under a prefix ending in
    /// `.` (`account.`).
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub incident: Option<i64>,
    /// Records at or after this time...
    pub from: Option<Timestamp>,
    /// ...and before this one.
    pub to: Option<Timestamp>,
    /// Only records numbered below this one (the page before's cursor).
    pub before_seq: Option<u64>,
    /// At most this many, and never more than [`MAX_AUDIT_PAGE`].
    pub limit: u32,
}

/// Persistence for the audit log.
pub trait AuditStore: Send + Sync + 'static {
    /// The head the next record chains from: the last record's number and
    /// hash, or, when every record was pruned, the last checkpoint's;
    /// `None` for a log never written.
    fn audit_head(&self) -> impl Future<Output = Result<Option<(u64, Digest)>, StoreError>> + Send;

    /// Appends `records` (consecutive numbers, chained) in one transaction.
    /// The first must follow the head ([`AuditStore::audit_head`]): its
    /// number one more, its `prev` the head's hash; otherwise
    /// [`StoreError::Conflict`] and nothing is written.
    fn append_audit(
        &self,
        records: &[AuditRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records numbered `from_seq` and after, in order, at most `limit`
    /// (capped at [`MAX_AUDIT_PAGE`]): the walk of a verification or an
    /// export.
    fn audit_from(
        &self,
        from_seq: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// Records matching `query`, newest first.
    fn list_audit(
        &self,
        query: &AuditQuery,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// The lowest number still stored (`None`: no record).
    fn audit_first(&self) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// The highest number of a record dated before `at` (`None`: none).
    fn last_audit_before(
        &self,
        at: Timestamp,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Stores a signed checkpoint; one per record number (a second one for
    /// the same number is a [`StoreError::Conflict`]).
    fn add_checkpoint(
        &self,
        cp: &Checkpoint,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Checkpoints signing records `from_seq..=to_seq`, in order.
    fn checkpoints(
        &self,
        from_seq: u64,
        to_seq: u64,
    ) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send;

    /// The checkpoint with the highest number.
    fn latest_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// The first checkpoint signing record `seq` or a later one.
    fn checkpoint_from(
        &self,
        seq: u64,
    ) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// Deletes the records numbered up to `through_seq`, which a stored
    /// checkpoint must sign (else [`StoreError::Conflict`], nothing
    /// deleted); returns how many went. Checkpoints stay.
    fn prune_audit(&self, through_seq: u64)
        -> impl Future<Output = Result<u64, StoreError>> + Send;
}
