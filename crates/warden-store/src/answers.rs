//! The [`AnswerStore`] trait: what users' answers to "was this you?" leave
//! behind — the sources they disowned (blocked for their account) and the
//! geolocation complaints waiting for an admin (the `correction_requests`
//! queue). An admin's decision is a conditional update: a complaint is
//! decided once.

use std::future::Future;

use std::net::IpAddr;

use warden_core::{Alert, CorrectionState, QueuedCorrection, SourceBlock, Timestamp};

use crate::error::StoreError;

/// The most queued complaints one page returns.
pub const MAX_QUEUE_PAGE: u32 = 500;

/// How many of the newest logins [`AnswerStore::users_seen_from`] looks
/// through at most: the admin's view stays bounded in time on any history.
pub const MAX_SCANNED_LOGINS: u32 = 200_000;

/// Persistence for answers' consequences.
pub trait AnswerStore: Send + Sync + 'static {
    /// Stores a block; `false` when the account already blocks that
    /// network (nothing changed).
    fn insert_source_block(
        &self,
        block: &SourceBlock,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Lifts a block; `false` when there was none (nothing changed).
    fn delete_source_block(
        &self,
        user: &str,
        network: &ipnet::IpNet,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every block (of every account), oldest first: the service keeps them
    /// in memory.
    fn source_blocks(&self) -> impl Future<Output = Result<Vec<SourceBlock>, StoreError>> + Send;

    /// Queues a complaint (its `id` is ignored); returns the id it got.
    fn queue_correction(
        &self,
        c: &QueuedCorrection,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// One complaint by id.
    fn queued_correction(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<QueuedCorrection>, StoreError>> + Send;

    /// Complaints by id, after `after` when given, at most `limit` (capped
    /// at [`MAX_QUEUE_PAGE`]); only those in `state` when given.
    fn queued_corrections(
        &self,
        state: Option<CorrectionState>,
        after: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<QueuedCorrection>, StoreError>> + Send;

    /// `user`'s answered alerts, newest first, at most `limit` (capped at
    /// 100): what the user said before.
    fn answered_alerts(
        &self,
        user: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;

    /// The users (other than `except`) with a login from `ip` since
    /// `since`, among the newest [`MAX_SCANNED_LOGINS`] logins, at most
    /// `limit` (capped at 100): who else is behind the address.
    fn users_seen_from(
        &self,
        ip: IpAddr,
        except: &str,
        since: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Decides a pending complaint. `false`: there is none pending with
    /// this id (nothing changed).
    fn decide_correction(
        &self,
        id: i64,
        state: CorrectionState,
        at: Timestamp,
        by: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
