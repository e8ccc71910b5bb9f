//! The [`AccountStore`] trait: persistence for organisations, accounts and
//! their credentials (authorization codes, TOTP, recovery codes, sessions)
//! and the security events that record every change to them.
//!
//! Changes that belong together (a password reset that also revokes the
//! account's authorization codes and logs the event) go through
//! [`AccountStore::commit`] as one [`AccountWrite`], in one transaction.

use std::future::Future;

use warden_core::{
    Account, AppPassword, Org, RecoveryCode, SecurityEvent, Timestamp, TotpEnrolment, WebSession,
};

use crate::error::StoreError;

/// Most security events one [`AccountStore::security_events`] call returns.
pub const MAX_SECURITY_EVENTS: u32 = 1_000;

/// One atomic change to an account: every part present is applied in one
/// transaction, in the order of the fields, or nothing is.
#[derive(Debug, Clone, Default)]
pub struct AccountWrite {
    /// Insert (when `create`) or replace the account row.
    pub account: Option<Account>,
    /// With `account`: insert it and fail with [`StoreError::Conflict`] if
    /// the user exists; otherwise the user must exist
    /// ([`StoreError::NotFound`]).
    pub create: bool,
    /// Remember this password hash in the account's password history, keeping
    /// the newest `keep` entries (0 keeps none).
    pub remember_password: Option<(String, usize)>,
    /// Revoke every live authorization code of the account at this time.
    pub revoke_app_passwords_at: Option<Timestamp>,
    /// Revoke every live web session of the account at this time.
    pub revoke_sessions_at: Option<Timestamp>,
    /// Remove the TOTP enrolment and the recovery codes.
    pub remove_two_factor: bool,
    /// Security events to append (their `id` is ignored).
    pub events: Vec<SecurityEvent>,
}

/// Persistence for accounts and credentials.
///
/// User names arrive normalised (`warden_core::normalize_user`); the store
/// compares them exactly. Every method returns a `Send` future.
pub trait AccountStore: Send + Sync + 'static {
    // ------------------------------------------------------------ orgs
    /// Inserts or replaces an organisation (by name).
    fn upsert_org(&self, org: &Org) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn org(&self, name: &str) -> impl Future<Output = Result<Option<Org>, StoreError>> + Send;
    /// Every organisation, ordered by name.
    fn orgs(&self) -> impl Future<Output = Result<Vec<Org>, StoreError>> + Send;

    // -------------------------------------------------------- accounts
    fn account(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
    /// Accounts ordered by user name, after `after` when given, at most
    /// `limit` (capped at 1,000); only those of `org` when given.
    fn accounts(
        &self,
        org: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;
    /// The users from `first` to `last` (by name, both included) whose TOTP
    /// enrolment is confirmed: a page of accounts' 2FA state in one query.
    fn two_factor_users(
        &self,
        first: &str,
        last: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Applies `write` in one transaction.
    fn commit(&self, write: &AccountWrite) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates many accounts in one transaction (bulk import): all or none.
    /// An existing user fails the whole import with [`StoreError::Conflict`].
    fn create_accounts(
        &self,
        accounts: &[Account],
        events: &[SecurityEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes the account and every credential of it (codes, TOTP,
    /// recovery codes, sessions, password history) and appends `event`;
    /// security events and login history stay. `false` when there was no
    /// such account.
    fn delete_account(
        &self,
        user: &str,
        event: &SecurityEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The newest `limit` password hashes of the account, newest first.
    fn password_history(
        &self,
        user: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    // ------------------------------------------- authorization codes
    /// Stores a new code (its `id` is ignored) with its security event;
    /// returns the assigned id.
    fn insert_app_password(
        &self,
        code: &AppPassword,
        event: &SecurityEvent,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Every code of the account, revoked ones included, newest first.
    fn app_passwords(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Vec<AppPassword>, StoreError>> + Send;
    /// The account's code with this digest, revoked or not.
    fn find_app_password(
        &self,
        user: &str,
        digest: &[u8; 32],
    ) -> impl Future<Output = Result<Option<AppPassword>, StoreError>> + Send;
    /// Records a use of the code.
    fn touch_app_password(
        &self,
        id: i64,
        at: Timestamp,
        ip: std::net::IpAddr,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Revokes one live code of the account and appends `event`; `false`
    /// (and no event) when the account has no live code with this id.
    fn revoke_app_password(
        &self,
        user: &str,
        id: i64,
        at: Timestamp,
        event: &SecurityEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    // ------------------------------------------------------------ TOTP
    /// Inserts or replaces the account's enrolment.
    fn put_totp(
        &self,
        enrolment: &TotpEnrolment,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn totp(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<TotpEnrolment>, StoreError>> + Send;
    /// Records `step` as used if it is later than the last used step
    /// (atomically: two logins with the same code cannot both win). `false`
    /// when the step was already used (or an earlier one was later used), or
    /// there is no enrolment.
    fn use_totp_step(
        &self,
        user: &str,
        step: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Confirms a pending enrolment at `at` (setting `last_step` to `step`),
    /// replaces the recovery codes with `recovery` and appends `events`.
    fn confirm_totp(
        &self,
        user: &str,
        at: Timestamp,
        step: u64,
        recovery: &[RecoveryCode],
        events: &[SecurityEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // -------------------------------------------------- recovery codes
    /// Replaces the account's recovery codes.
    fn replace_recovery_codes(
        &self,
        user: &str,
        codes: &[RecoveryCode],
        event: &SecurityEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks the unused code with this digest used and appends `event`, in
    /// one transaction; `false` when there is no such unused code.
    fn use_recovery_code(
        &self,
        user: &str,
        digest: &[u8; 32],
        at: Timestamp,
        event: &SecurityEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// How many unused recovery codes the account has.
    fn recovery_codes_left(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    // -------------------------------------------------------- sessions
    fn insert_session(
        &self,
        session: &WebSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn session(
        &self,
        digest: &[u8; 32],
    ) -> impl Future<Output = Result<Option<WebSession>, StoreError>> + Send;

    /// Every user holding a sealed TOTP secret (a confirmed or a pending
    /// enrolment), ordered by name.
    fn totp_users(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    // ------------------------------------------------------------ meta
    /// A value of the database's own settings (`meta`), by key.
    fn meta(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Sets (inserts or replaces) a value of the database's own settings.
    fn set_meta(
        &self,
        key: &str,
        value: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    // ------------------------------------------------- security events
    /// The account's security events, newest first, at most `limit`
    /// (capped at [`MAX_SECURITY_EVENTS`]).
    fn security_events(
        &self,
        user: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SecurityEvent>, StoreError>> + Send;
}

/// Everything the service needs from one database: the login history and
/// profiles ([`crate::Store`]), the accounts ([`AccountStore`]) and the
/// alerts ([`crate::AlertStore`]), their notification outbox
/// ([`crate::DeliveryStore`]), the admins' templates
/// ([`crate::TemplateStore`]), what users' answers leave behind
/// ([`crate::AnswerStore`]), the access policies and groups
/// ([`crate::PolicyStore`]), sessions and devices
/// ([`crate::SessionStore`]) and the sensitive operations reported in
/// accounts ([`crate::OperationStore`]), and the security report's
/// aggregations ([`crate::ReportStore`]).
pub trait Backend:
    crate::Store
    + AccountStore
    + crate::AlertStore
    + crate::DeliveryStore
    + crate::TemplateStore
    + crate::AnswerStore
    + crate::PolicyStore
    + crate::SessionStore
    + crate::OperationStore
    + crate::AuditStore
    + crate::ReportStore
    + crate::IncidentStore
{
}

impl<
        T: crate::Store
            + AccountStore
            + crate::AlertStore
            + crate::DeliveryStore
            + crate::TemplateStore
            + crate::AnswerStore
            + crate::PolicyStore
            + crate::SessionStore
            + crate::OperationStore
            + crate::AuditStore
            + crate::ReportStore
            + crate::IncidentStore,
    > Backend for T
{
}
