//! The [`PolicyStore`] trait: access policies per organisation, group and
//! user as versions (a change, a removal or a restore is a new version with
//! who, when, from where and why; no version is ever rewritten), group
//! membership, and the reads the policies' memory and dry runs need
//! (every account's organisation, the logins of the last days, bounded).

use std::future::Future;

use warden_core::scoped::{PolicyVersion, Scope};
use warden_core::{Name, Timestamp};

use crate::error::StoreError;
use crate::model::LoginEvent;

/// The most versions one history page returns.
pub const MAX_POLICY_HISTORY: u32 = 200;

/// The most groups one user belongs to.
pub const MAX_GROUPS_PER_USER: usize = 32;

/// The most logins one page of [`PolicyStore::logins_since`] returns.
pub const MAX_LOGINS_PAGE: u32 = 5_000;

/// Persistence for policies and groups.
pub trait PolicyStore: Send + Sync + 'static {
    /// Stores `v` as the next version of its scope and target: its
    /// `version` must be one more than the newest stored one (1 for the
    /// first), else [`StoreError::Conflict`] and nothing is stored (a
    /// concurrent change took that number).
    fn insert_policy_version(
        &self,
        v: &PolicyVersion,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest version of every scope and target (a removal too), by
    /// scope, then target.
    fn current_policies(
        &self,
    ) -> impl Future<Output = Result<Vec<PolicyVersion>, StoreError>> + Send;

    /// One version, if stored.
    fn policy_version(
        &self,
        scope: Scope,
        target: &str,
        version: u32,
    ) -> impl Future<Output = Result<Option<PolicyVersion>, StoreError>> + Send;

    /// The versions of a scope and target, newest first, at most `limit`
    /// (capped at [`MAX_POLICY_HISTORY`]).
    fn policy_history(
        &self,
        scope: Scope,
        target: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PolicyVersion>, StoreError>> + Send;

    /// Makes `groups` the groups of `user` (one transaction: the old
    /// memberships go, the new ones are added at `at`).
    fn set_user_groups(
        &self,
        user: &str,
        groups: &[Name],
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every membership as (group, user), by group then user.
    fn group_members(&self) -> impl Future<Output = Result<Vec<(Name, Name)>, StoreError>> + Send;

    /// Every account's (user, organisation), by user.
    fn account_orgs(&self) -> impl Future<Output = Result<Vec<(Name, Name)>, StoreError>> + Send;

    /// Logins (every outcome) at or after `since` with an id below
    /// `before` (`None`: from the newest), newest first, at most `limit`
    /// (capped at [`MAX_LOGINS_PAGE`]): a dry run pages back with the last
    /// id it read.
    fn logins_since(
        &self,
        since: Timestamp,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoginEvent>, StoreError>> + Send;
}
