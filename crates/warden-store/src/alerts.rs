//! The [`AlertStore`] trait: alerts and how users answered them.
//!
//! The notification outbox (`deliveries`), the admins' templates and the
//! geolocation-correction queue live in tables of the same migration; their
//! methods join this trait (or a sibling one) as the features that own them
//! arrive. Answers are conditional updates: a "was this you?" link can be
//! used once, even by two requests racing from different processes.
//!
//! Alerts are raised from the committed history: the service reads the
//! login events after the **alerts mark** ([`AlertStore::alerts_mark`],
//! [`AlertStore::events_after`]), decides what they raise, and writes the
//! new and folded alert rows together with the moved mark in one
//! transaction ([`AlertStore::apply_alerts`]). A crash between a login's
//! acknowledgement and its alert loses nothing (the events are still after
//! the mark) and creates nothing twice (the rows and the mark commit
//! together; a batch whose starting mark is stale changes nothing).

use std::future::Future;
use std::net::IpAddr;

use warden_core::{Alert, AlertKind, AlertState, Answer, Grade, Timestamp};

use crate::error::StoreError;
use crate::model::LoginEvent;

/// The most alerts one [`AlertQuery`] returns, whatever it asks for.
pub const MAX_ALERTS_LIMIT: u32 = 500;

/// The most users one [`AlertStore::recent_user_alerts`] takes.
pub const MAX_ALERT_USERS: usize = 1000;

/// The longest admin note kept on an alert (characters).
pub const MAX_ALERT_NOTE_CHARS: usize = 2000;

/// One change of an [`AlertBatch`].
#[derive(Debug, Clone, PartialEq)]
pub enum AlertChange {
    /// A new alert (its `id` is ignored).
    Insert(Box<Alert>),
    /// More logins folded into the stored alert `id`: `count` grows by
    /// `add`, `last_ts` becomes the later of the two; a summary's
    /// breakdown replaces its note when given.
    Fold {
        id: i64,
        add: u32,
        last_ts: Timestamp,
        note: Option<String>,
    },
}

/// What a run of the alert worker writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertBatch {
    /// The alerts mark the batch was computed from.
    pub from_mark: i64,
    /// The mark after it: every event up to this id has been handled.
    pub to_mark: i64,
    pub changes: Vec<AlertChange>,
}

/// Which alerts to list: newest first, every filter optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    pub user: Option<String>,
    pub kind: Option<AlertKind>,
    /// At least this grade.
    pub min_grade: Option<Grade>,
    pub state: Option<AlertState>,
    /// Logins (the alert's first `ts`) at or after this time.
    pub since: Option<Timestamp>,
    /// Logins before this time.
    pub until: Option<Timestamp>,
    /// Only alerts with an id below this one (the cursor of the page
    /// before).
    pub before_id: Option<i64>,
    /// At most this many, and never more than [`MAX_ALERTS_LIMIT`].
    pub limit: u32,
}

/// What an admin does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    /// Seen: an open alert becomes acknowledged.
    Acknowledge,
    /// Dealt with: the alert is closed (from any state but closed).
    Close,
}

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

    /// The alerts mark: every login event with an id up to this one has
    /// raised its alerts (on a new database 0; on an upgraded one its
    /// newest event at the upgrade).
    fn alerts_mark(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Login events of every outcome with an id above `after`, oldest
    /// first, at most `limit` of them.
    fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoginEvent>, StoreError>> + Send;

    /// The newest alert with this dedupe key, whatever its state.
    fn latest_alert(
        &self,
        dedupe_key: &str,
    ) -> impl Future<Output = Result<Option<Alert>, StoreError>> + Send;

    /// The alerts of `kinds` about any of `users` whose first login is at
    /// or after `since`, by id (the worker's one read per batch for the
    /// logins it may fold into them). At most [`MAX_ALERT_USERS`] users.
    fn recent_user_alerts(
        &self,
        kinds: &[AlertKind],
        users: &[String],
        since: Timestamp,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;

    /// The first login times (`ts`) of the newest alerts of `kind` whose
    /// login is at or after `since`, newest first, at most `limit`: what a
    /// storm window needs after a restart.
    fn recent_alert_times(
        &self,
        kind: AlertKind,
        since: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Timestamp>, StoreError>> + Send;

    /// Writes every change of `batch` and moves the alerts mark from
    /// `batch.from_mark` to `batch.to_mark`, all in one transaction. Returns
    /// the ids of the inserted alerts, in order; `None` when the mark was
    /// no longer `from_mark` (another worker got there first): then nothing
    /// changed.
    fn apply_alerts(
        &self,
        batch: &AlertBatch,
    ) -> impl Future<Output = Result<Option<Vec<i64>>, StoreError>> + Send;

    /// Alerts matching `query`, newest (highest id) first.
    fn list_alerts(
        &self,
        query: &AlertQuery,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;

    /// An admin's action on alert `id`; `note` (when not empty) is added to
    /// the alert's note on its own line. `false`: no such alert, or the
    /// action does not apply to its state (acknowledging an alert that is
    /// not open, closing a closed one): nothing changed.
    fn act_on_alert(
        &self,
        id: i64,
        action: AlertAction,
        note: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Asks the delivery side to send alert `id` again: sets its
    /// `resend_at` to `at`. `false`: no such alert.
    fn request_resend(
        &self,
        id: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Alerts with a resend asked for, oldest request first, at most
    /// `limit`: `(alert id, resend_at)`. The delivery worker fans each out
    /// again and then calls [`clear_resend`](AlertStore::clear_resend).
    fn resends_due(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(i64, Timestamp)>, StoreError>> + Send;

    /// Deletes the alerts whose newest login is before `older_than` (the
    /// history's retention) and that no delivery or correction request
    /// refers to any more; returns how many went. Works in bounded chunks.
    fn prune_alerts(
        &self,
        older_than: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Clears the resend request of alert `id` if it is still the one made
    /// at `at` (a newer request stays). `false`: it was not.
    fn clear_resend(
        &self,
        id: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
