//! The [`SessionStore`] trait: a user's sessions and devices
//! (`device_sessions`, one row per user and device key). The login path
//! refreshes rows (never their state); users and admins change the state
//! with conditional updates; each user keeps at most a bounded number of
//! rows (the most recently seen), and rows unseen past the retention go.

use std::future::Future;

use warden_core::{DeviceSession, SessionState, Timestamp};

use crate::error::StoreError;

/// The most sessions one listing returns.
pub const MAX_SESSIONS_PAGE: u32 = 500;

/// A state change of sessions: only from one of `from`, to `to`, at `at`
/// by `by`; `trusted_until` is set too when given (`Some(None)` clears it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionChange<'a> {
    pub from: &'a [SessionState],
    pub to: SessionState,
    pub at: Timestamp,
    pub by: &'a str,
    pub trusted_until: Option<Option<Timestamp>>,
}

/// Persistence for sessions and devices.
pub trait SessionStore: Send + Sync + 'static {
    /// Opens or refreshes the session of `s.user` and `s.device`: a new row
    /// takes every field (its `id` is ignored); an existing one takes the
    /// client, OS, protocol, address and place, and the later `last_seen`,
    /// but keeps its state and trust. Then the user keeps only their `keep`
    /// most recently seen rows.
    fn record_session(
        &self,
        s: &DeviceSession,
        keep: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Inserts `s` (a new device waiting for approval) unless the user has
    /// a row for that device already or `max_pending` pending rows; `true`
    /// when inserted.
    fn insert_pending_session(
        &self,
        s: &DeviceSession,
        max_pending: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The session of `user` on `device`.
    fn device_session(
        &self,
        user: &str,
        device: &str,
    ) -> impl Future<Output = Result<Option<DeviceSession>, StoreError>> + Send;

    /// `user`'s sessions, most recently seen first, at most `limit` (capped
    /// at [`MAX_SESSIONS_PAGE`]).
    fn device_sessions(
        &self,
        user: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DeviceSession>, StoreError>> + Send;

    /// Every session in `state` (of every user), by id, at most `limit`:
    /// the service keeps the signed-out ones in memory.
    fn sessions_in_state(
        &self,
        state: SessionState,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DeviceSession>, StoreError>> + Send;

    /// Applies `change` to `user`'s session on `device` (`None`: every
    /// session of the user) where its current state is one of
    /// `change.from`. Returns the rows changed.
    fn set_session_state(
        &self,
        user: &str,
        device: Option<&str>,
        change: &SessionChange<'_>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Forgets `user`'s session on `device`; `false` when there was none.
    fn delete_session(
        &self,
        user: &str,
        device: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the sessions last seen, and last changed, before `before`
    /// and not trusted past it; returns how many.
    fn prune_sessions(
        &self,
        before: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
