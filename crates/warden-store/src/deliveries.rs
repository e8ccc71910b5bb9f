//! The [`DeliveryStore`] trait: the notification outbox.
//!
//! Alerts are fanned out to deliveries behind a mark: the fan-out reads the
//! alerts after the mark ([`DeliveryStore::alerts_after`]) and writes their
//! deliveries and the new mark in one transaction, only if the mark is still
//! where it was read ([`DeliveryStore::fan_out`]). An alert committed is
//! therefore never lost (its deliveries are written before anything is
//! sent, or the mark has not passed it) and never fanned out twice.
//! Deliveries are then sent and marked one by one; a failed try is recorded
//! with the next time to try, or as given up.

use std::future::Future;

use warden_core::{Alert, Delivery, DeliveryState, Timestamp};

use crate::error::StoreError;

/// Most rows one listing returns.
pub const MAX_DELIVERIES: u32 = 1_000;

/// Which deliveries to list, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only those of this alert.
    pub alert_id: Option<i64>,
    /// Only those in this state.
    pub state: Option<DeliveryState>,
    /// Only ids below this one (the previous page's last id).
    pub before: Option<i64>,
    /// At most this many (capped at [`MAX_DELIVERIES`]).
    pub limit: u32,
}

/// What one failed try changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTry {
    /// The tries so far, this one included.
    pub attempts: u32,
    /// When to try again; `None`: give up (the delivery becomes `failed`).
    pub retry_at: Option<Timestamp>,
    /// Why it failed (no secrets; bounded by the caller).
    pub error: String,
}

/// Persistence for the notification outbox.
pub trait DeliveryStore: Send + Sync + 'static {
    /// Every alert with an id up to the mark has its deliveries (0 on a new
    /// database).
    fn delivery_mark(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Alerts with an id above `after`, oldest first, at most `limit`.
    fn alerts_after(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;

    /// In one transaction: if the mark is still `from`, inserts `rows`
    /// (their `id` is ignored) and moves the mark to `to`. `false`: the mark
    /// had moved (another fan-out did it) and nothing was written.
    fn fan_out(
        &self,
        from: i64,
        to: i64,
        rows: &[Delivery],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// In one transaction: if alert `alert_id`'s resend request is still
    /// the one made at `requested_at` (see
    /// [`AlertStore::request_resend`](crate::AlertStore::request_resend)),
    /// clears it and inserts `rows`. `false`: the request was gone or newer,
    /// and nothing was written — so a resend is fanned out once.
    fn fan_out_resend(
        &self,
        alert_id: i64,
        requested_at: Timestamp,
        rows: &[Delivery],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Pending deliveries due at `now` (`next_at <= now`), oldest first, at
    /// most `limit`.
    fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;

    /// The earliest `next_at` of the pending deliveries, if any.
    fn next_due(&self) -> impl Future<Output = Result<Option<Timestamp>, StoreError>> + Send;

    /// Marks pending delivery `id` sent at `at` (one more attempt). `false`:
    /// it is not pending (nothing changed).
    fn delivery_sent(
        &self,
        id: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a failed try of pending delivery `id`. `false`: it is not
    /// pending (nothing changed).
    fn delivery_failed(
        &self,
        id: i64,
        failure: &FailedTry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One delivery by id.
    fn delivery(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Delivery>, StoreError>> + Send;

    /// Deliveries matching `query`, newest first.
    fn deliveries(
        &self,
        query: DeliveryQuery,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;

    /// How many deliveries are in each state (states with none are left
    /// out).
    fn delivery_counts(
        &self,
    ) -> impl Future<Output = Result<Vec<(DeliveryState, u64)>, StoreError>> + Send;
}
