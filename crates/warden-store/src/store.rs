//! The [`Store`] trait: what Warden needs from persistence, independent of
//! the database behind it (SQLite today, PostgreSQL next).

use std::future::Future;

use ipnet::IpNet;
use warden_core::{GeoCorrection, Timestamp};

use crate::error::StoreError;
use crate::model::{HistoryQuery, LoginEvent, ProfileSnapshot, WriteBatch};

/// A blocking committer for the group-commit thread of
/// [`BatchWriter`](crate::BatchWriter): the same contract as
/// [`Store::append`], without a runtime.
pub trait SyncAppend: Send + 'static {
    /// Writes all of `batch` in one transaction, or nothing of it.
    fn append(&mut self, batch: &WriteBatch) -> Result<(), StoreError>;
}

/// Persistence for login events, profile snapshots and geo corrections.
///
/// Every method returns a `Send` future so that servers can be generic over
/// the backend and spawn the calls on a multi-threaded runtime.
pub trait Store: Send + Sync + 'static {
    /// Brings the schema up to date. Idempotent: running it again on a
    /// current database does nothing.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Readiness check: succeeds when the database answers a trivial query.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes all events and profile snapshots of `batch` in one transaction:
    /// either all of it is stored or none. Event ids are assigned by the
    /// database (`LoginEvent::id` is ignored). A snapshot replaces the stored
    /// one of the same user; within the batch the later snapshot wins. Each
    /// snapshot is stored with the id of the last event written before it
    /// (its position in the batch, or the newest event already stored), and
    /// mark steps move the replay mark ([`Store::replay_mark`]).
    fn append(&self, batch: &WriteBatch) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A synchronous committer for the group-commit thread, when the
    /// backend has one cheaper than [`append`](Store::append) (SQLite: a
    /// connection of the thread's own, no hop to an async driver). `None`,
    /// the default, makes the thread run `append` on the runtime.
    fn sync_appender(&self) -> Result<Option<Box<dyn SyncAppend>>, StoreError> {
        Ok(None)
    }

    /// A user's events, newest first (equal timestamps: higher id first),
    /// after `query.after` in that order when set (else strictly before
    /// `query.before` when set), at most
    /// [`MAX_HISTORY_LIMIT`](crate::MAX_HISTORY_LIMIT) of them.
    fn history(
        &self,
        user: &str,
        query: HistoryQuery,
    ) -> impl Future<Output = Result<Vec<LoginEvent>, StoreError>> + Send;

    /// Every stored profile snapshot (used to warm the engine at start-up).
    fn load_profiles(
        &self,
    ) -> impl Future<Output = Result<Vec<ProfileSnapshot>, StoreError>> + Send;

    /// One user's profile snapshot, if any.
    fn load_profile(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<ProfileSnapshot>, StoreError>> + Send;

    /// The replay mark: every stored profile snapshot has learned from every
    /// event with an id up to this one (0 on a new database). Snapshots are
    /// written some seconds after the logins they learn from; after a crash
    /// start-up learns again from the successful logins after the mark that
    /// a user's snapshot has not seen (id above its
    /// [`through_event`](crate::ProfileSnapshot::through_event)).
    fn replay_mark(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Successful logins with an id above `after`, oldest first, at most
    /// `limit` of them.
    fn successes_after(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoginEvent>, StoreError>> + Send;

    /// Deletes events with `ts < older_than` and returns how many went. Works
    /// in bounded chunks so that other writers get the lock in between.
    fn prune_events(
        &self,
        older_than: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every geolocation correction, ordered by network text.
    fn list_corrections(
        &self,
    ) -> impl Future<Output = Result<Vec<GeoCorrection>, StoreError>> + Send;

    /// Inserts or replaces the correction for `correction.network`. Networks
    /// are stored in canonical form (host bits cleared: `10.1.2.3/16` is kept
    /// as `10.1.0.0/16`).
    fn upsert_correction(
        &self,
        correction: &GeoCorrection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the correction for `network` (canonicalised like
    /// [`upsert_correction`](Store::upsert_correction)); `false` when there
    /// was none.
    fn delete_correction(
        &self,
        network: &IpNet,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
