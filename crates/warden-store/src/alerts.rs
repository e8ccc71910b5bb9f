//! The [`AlertStore`] trait: alerts and how users answered them.
//!
//! The notification outbox (`deliveries`), the admins' templates and the
//! geolocation-correction queue live in tables of the same migration; their
//! methods join this trait (or a sibling one) as the features that own them
//! arrive. Answers are conditional updates: a "was this you?" link can be
//! used once, even by two requests racing from different processes.

use std::future::Future;
use std::net::IpAddr;

use warden_core::{Alert, Answer, Timestamp};

use crate::error::StoreError;

/// Persistence for alerts.
pub trait AlertStore: Send + Sync + 'static {
    /// Inserts `alert` (its `id` is ignored) and returns the id it got.
    fn insert_alert(&self, alert: &Alert) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// One alert by id.
    fn alert(&self, id: i64) -> impl Future<Output = Result<Option<Alert>, StoreError>> + Send;

    /// Records the user's answer to alert `id` and closes it, if it has no
    /// answer yet. `false`: there is no such alert or it was answered
    /// already (nothing changed).
    fn answer_alert(
        &self,
        id: i64,
        answer: Answer,
        at: Timestamp,
        ip: Option<IpAddr>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
