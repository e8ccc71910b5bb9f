//! The [`OperationStore`] trait: the sensitive operations the mail or IM
//! system reported in users' accounts, with their correlation's grade and
//! the alert they raised. An operation and its alert are written in one
//! transaction, so an acknowledged report never loses its alert, and a
//! report repeated with the same `(source, report_id)` is stored once.

use std::future::Future;

use warden_core::{Alert, Grade, Operation, OperationKind, Timestamp};

use crate::error::StoreError;

/// The most operations one [`OperationQuery`] returns.
pub const MAX_OPERATIONS_LIMIT: u32 = 500;

/// Which operations to list: newest first, every filter optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationQuery {
    pub user: Option<String>,
    pub kind: Option<OperationKind>,
    /// At least this grade.
    pub min_grade: Option<Grade>,
    /// Operations (their `ts`) at or after this time.
    pub since: Option<Timestamp>,
    /// Only operations with an id below this one (the page before's cursor).
    pub before_id: Option<i64>,
    /// At most this many, and never more than [`MAX_OPERATIONS_LIMIT`].
    pub limit: u32,
}

/// The alert an operation raises, written with it.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationAlert {
    /// A new alert (its `id` is ignored).
    Insert(Box<Alert>),
    /// The operation folds into the stored alert `id` (another operation
    /// after the same login): its `count` grows by one and `last_ts`
    /// becomes the later of the two.
    Fold { id: i64, last_ts: Timestamp },
}

/// What [`OperationStore::record_operation`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    pub alert_id: Option<i64>,
    /// The report was stored before (same source and report id): nothing
    /// changed, `id` and `alert_id` are the stored row's.
    pub duplicate: bool,
}

/// Persistence for sensitive operations.
pub trait OperationStore: Send + Sync + 'static {
    /// Stores `op` (its `id` and `alert_id` are ignored) and, when given,
    /// its `alert` (a new one, or a fold into a stored one) in one
    /// transaction, the operation pointing at the alert. When `op.report_id` is set and the source already
    /// reported that id, nothing is written and the stored row is
    /// answered (`duplicate`).
    fn record_operation(
        &self,
        op: &Operation,
        alert: Option<&OperationAlert>,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// One operation by id.
    fn operation(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Operation>, StoreError>> + Send;

    /// Operations matching `query`, newest (highest id) first.
    fn list_operations(
        &self,
        query: &OperationQuery,
    ) -> impl Future<Output = Result<Vec<Operation>, StoreError>> + Send;

    /// Deletes the operations older than `older_than` (the history's
    /// retention); returns how many went.
    fn prune_operations(
        &self,
        older_than: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
