//! [`AccountStore`] for [`SqliteStore`]: every write on the writer
//! connection, those touching several rows or tables in one `BEGIN
//! IMMEDIATE` transaction (so it waits for other processes' write locks up
//! front instead of failing when it upgrades); reads on the reader pool.
//!
//! Conditional writes (taking a TOTP step, using a recovery code, revoking
//! a code) are single `UPDATE ... WHERE <still allowed>` statements judged
//! by the number of rows they changed, never a read followed by a write:
//! two requests racing for the same step or code cannot both win, even
//! from different processes.

use std::net::IpAddr;

use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{Row, SqliteConnection, Transaction};
use warden_core::{
    Account, AppPassword, Org, RecoveryCode, SecurityEvent, Timestamp, TotpEnrolment, WebSession,
};

use super::{rows, SqliteStore};
use crate::accounts::{AccountStore, AccountWrite, MAX_SECURITY_EVENTS};
use crate::codec::{step_to_db, BadValue};
use crate::error::StoreError;
use crate::sql_accounts as sql;

/// Most accounts one [`AccountStore::accounts`] call returns.
const MAX_ACCOUNTS: u32 = 1_000;

/// How a transaction on the writer starts: take the write lock at once.
const BEGIN: &str = "BEGIN IMMEDIATE";

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// The constraint a failed statement broke, if any.
fn violated(error: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    error.as_database_error().map(|e| e.kind())
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(
        violated(error),
        Some(sqlx::error::ErrorKind::UniqueViolation)
    )
}

fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(
        violated(error),
        Some(sqlx::error::ErrorKind::ForeignKeyViolation)
    )
}

fn no_account(user: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("account {user}"),
    }
}

/// A credential row for `user` was refused: by the foreign key (no such
/// account: [`StoreError::NotFound`]), by a uniqueness rule
/// ([`StoreError::Conflict`] naming `what`), or for another reason.
fn credential_insert_error<'a>(
    op: &'static str,
    user: &'a str,
    what: impl FnOnce() -> String + 'a,
) -> impl FnOnce(sqlx::Error) -> StoreError + 'a {
    move |error| {
        if is_foreign_key_violation(&error) {
            no_account(user)
        } else if is_unique_violation(&error) {
            StoreError::Conflict { what: what() }
        } else {
            StoreError::Query { op, source: error }
        }
    }
}

/// A value the caller passed that cannot be stored as it is.
fn unencodable(op: &'static str) -> impl FnOnce(BadValue) -> StoreError {
    move |bad| StoreError::Query {
        op,
        source: sqlx::Error::Encode(Box::new(bad)),
    }
}

/// A request that is not well-formed (the store cannot tell what to do).
fn invalid(op: &'static str, why: String) -> StoreError {
    StoreError::Query {
        op,
        source: sqlx::Error::InvalidArgument(why),
    }
}

fn bind_account<'q>(q: Query<'q>, a: &'q Account) -> Query<'q> {
    q.bind(&*a.user)
        .bind(&*a.org)
        .bind(a.display_name.as_str())
        .bind(a.email.as_deref())
        .bind(a.phone.as_deref())
        .bind(a.role.as_str())
        .bind(a.status.as_str())
        .bind(a.status_reason.as_deref())
        .bind(a.password_hash.as_deref())
        .bind(a.password_changed_at.map(Timestamp::secs))
        .bind(a.must_change_password)
        .bind(a.two_factor_changed_at.map(Timestamp::secs))
        .bind(a.created_at.secs())
        .bind(a.updated_at.secs())
        .bind(a.lang.map(|l| l.as_str()))
}

/// Inserts `account`; [`StoreError::Conflict`] when the user exists (told by
/// the primary key, not by looking first).
async fn insert_account(
    conn: &mut SqliteConnection,
    op: &'static str,
    account: &Account,
) -> Result<(), StoreError> {
    bind_account(sqlx::query(sql::INSERT_ACCOUNT), account)
        .execute(conn)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                StoreError::Conflict {
                    what: format!("account {}", account.user),
                }
            } else {
                StoreError::Query { op, source: error }
            }
        })?;
    Ok(())
}

async fn insert_events(
    conn: &mut SqliteConnection,
    op: &'static str,
    events: &[SecurityEvent],
) -> Result<(), StoreError> {
    for e in events {
        sqlx::query(sql::INSERT_SECURITY_EVENT)
            .bind(e.ts.secs())
            .bind(&*e.user)
            .bind(e.kind.as_str())
            .bind(e.actor.as_str())
            .bind(e.ip.map(|ip| ip.to_string()))
            .bind(e.detail.as_str())
            .execute(&mut *conn)
            .await
            .map_err(StoreError::query(op))?;
    }
    Ok(())
}

/// Replaces `user`'s recovery codes with `codes` (which must all be
/// `user`'s).
async fn replace_codes(
    conn: &mut SqliteConnection,
    op: &'static str,
    user: &str,
    codes: &[RecoveryCode],
) -> Result<(), StoreError> {
    sqlx::query(sql::DELETE_RECOVERY_CODES)
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::query(op))?;
    for code in codes {
        sqlx::query(sql::INSERT_RECOVERY_CODE)
            .bind(user)
            .bind(code.digest.as_slice())
            .bind(code.used_at.map(Timestamp::secs))
            .execute(&mut *conn)
            .await
            .map_err(credential_insert_error(op, user, || {
                format!("recovery code of {user}")
            }))?;
    }
    Ok(())
}

fn check_codes_belong(
    op: &'static str,
    user: &str,
    codes: &[RecoveryCode],
) -> Result<(), StoreError> {
    match codes.iter().find(|c| &*c.user != user) {
        Some(c) => Err(invalid(
            op,
            format!("a recovery code of {} among those of {user}", c.user),
        )),
        None => Ok(()),
    }
}

/// The account an [`AccountWrite`] is about: its account's user, else the
/// one user all its events name; `None` when it names none.
fn write_target(write: &AccountWrite) -> Result<Option<&str>, StoreError> {
    if let Some(a) = &write.account {
        return Ok(Some(&a.user));
    }
    let mut users = write.events.iter().map(|e| &*e.user);
    let Some(first) = users.next() else {
        return Ok(None);
    };
    match users.find(|u| *u != first) {
        None => Ok(Some(first)),
        Some(other) => Err(invalid(
            "commit",
            format!(
                "an account write without an account names two users in its events \
                 ({first}, {other})"
            ),
        )),
    }
}

impl SqliteStore {
    pub(super) async fn begin_write(
        &self,
        op: &'static str,
    ) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer
            .begin_with(BEGIN)
            .await
            .map_err(StoreError::query(op))
    }
}

async fn finish(tx: Transaction<'static, Sqlite>, op: &'static str) -> Result<(), StoreError> {
    tx.commit().await.map_err(StoreError::query(op))
}

impl AccountStore for SqliteStore {
    // -------------------------------------------------------------- orgs

    async fn upsert_org(&self, org: &Org) -> Result<(), StoreError> {
        sqlx::query(sql::UPSERT_ORG)
            .bind(&*org.name)
            .bind(org.display_name.as_str())
            .bind(org.two_factor.as_str())
            .bind(org.app_passwords_required)
            .bind(org.created_at.secs())
            .bind(org.updated_at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("upsert_org"))?;
        Ok(())
    }

    async fn org(&self, name: &str) -> Result<Option<Org>, StoreError> {
        let found = sqlx::query(sql::ORG)
            .bind(name)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("org"))?;
        found.as_ref().map(rows::org).transpose()
    }

    async fn orgs(&self) -> Result<Vec<Org>, StoreError> {
        let found = sqlx::query(sql::ORGS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("orgs"))?;
        found.iter().map(rows::org).collect()
    }

    // ---------------------------------------------------------- accounts

    async fn account(&self, user: &str) -> Result<Option<Account>, StoreError> {
        let found = sqlx::query(sql::ACCOUNT)
            .bind(user)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("account"))?;
        found.as_ref().map(rows::account).transpose()
    }

    async fn accounts(
        &self,
        org: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError> {
        let limit = i64::from(limit.min(MAX_ACCOUNTS));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = match org {
            Some(org) => sqlx::query(sql::ACCOUNTS_OF_ORG)
                .bind(org)
                .bind(after)
                .bind(limit),
            None => sqlx::query(sql::ACCOUNTS).bind(after).bind(limit),
        };
        let found = q
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("accounts"))?;
        found.iter().map(rows::account).collect()
    }

    async fn two_factor_users(&self, first: &str, last: &str) -> Result<Vec<String>, StoreError> {
        let found = sqlx::query_scalar::<_, String>(sql::TWO_FACTOR_USERS)
            .bind(first)
            .bind(last)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("two_factor_users"))?;
        Ok(found)
    }

    async fn commit(&self, write: &AccountWrite) -> Result<(), StoreError> {
        const OP: &str = "commit";
        if write.create && write.account.is_none() {
            return Err(invalid(OP, "create without an account".to_string()));
        }
        let touches_account = write.remember_password.is_some()
            || write.revoke_app_passwords_at.is_some()
            || write.revoke_sessions_at.is_some()
            || write.remove_two_factor;
        let target = write_target(write)?;
        let user = match (target, touches_account) {
            (Some(user), _) => user,
            (None, true) => {
                return Err(invalid(
                    OP,
                    "an account write that changes credentials names no account \
                     (no account and no event)"
                        .to_string(),
                ))
            }
            (None, false) => return Ok(()), // nothing at all to do
        };

        let mut tx = self.begin_write(OP).await?;

        if let Some(account) = &write.account {
            if write.create {
                insert_account(&mut tx, OP, account).await?;
            } else {
                let done = bind_account(sqlx::query(sql::UPDATE_ACCOUNT), account)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                if done.rows_affected() == 0 {
                    return Err(no_account(user));
                }
            }
        }

        if let Some((hash, keep)) = &write.remember_password {
            // When it became the password: the account's change time, else
            // the time of the write's events.
            let set_at = write
                .account
                .as_ref()
                .and_then(|a| a.password_changed_at.or(Some(a.updated_at)))
                .or_else(|| write.events.iter().map(|e| e.ts).max());
            let keep = i64::try_from(*keep).unwrap_or(i64::MAX);
            if keep > 0 {
                sqlx::query(sql::INSERT_PASSWORD_HISTORY)
                    .bind(user)
                    .bind(hash.as_str())
                    .bind(set_at.map(Timestamp::secs))
                    .execute(&mut *tx)
                    .await
                    .map_err(credential_insert_error(OP, user, || {
                        format!("password history of {user}")
                    }))?;
            }
            sqlx::query(sql::TRIM_PASSWORD_HISTORY)
                .bind(user)
                .bind(keep)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP))?;
        }

        if let Some(at) = write.revoke_app_passwords_at {
            sqlx::query(sql::REVOKE_APP_PASSWORDS)
                .bind(user)
                .bind(at.secs())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP))?;
        }

        if let Some(at) = write.revoke_sessions_at {
            sqlx::query(sql::REVOKE_SESSIONS)
                .bind(user)
                .bind(at.secs())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP))?;
        }

        if write.remove_two_factor {
            for statement in [sql::DELETE_TOTP, sql::DELETE_RECOVERY_CODES] {
                sqlx::query(statement)
                    .bind(user)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
            }
        }

        insert_events(&mut tx, OP, &write.events).await?;
        finish(tx, OP).await
    }

    async fn create_accounts(
        &self,
        accounts: &[Account],
        events: &[SecurityEvent],
    ) -> Result<(), StoreError> {
        const OP: &str = "create_accounts";
        if accounts.is_empty() && events.is_empty() {
            return Ok(());
        }
        // Imports are rare: one statement per row, all in one transaction.
        // The first account that exists (or repeats an earlier one) fails
        // the import and rolls everything back.
        let mut tx = self.begin_write(OP).await?;
        for account in accounts {
            insert_account(&mut tx, OP, account).await?;
        }
        insert_events(&mut tx, OP, events).await?;
        finish(tx, OP).await
    }

    async fn delete_account(&self, user: &str, event: &SecurityEvent) -> Result<bool, StoreError> {
        const OP: &str = "delete_account";
        let mut tx = self.begin_write(OP).await?;
        // Credentials first: they reference the account.
        for statement in [
            sql::DELETE_APP_PASSWORDS,
            sql::DELETE_TOTP,
            sql::DELETE_RECOVERY_CODES,
            sql::DELETE_SESSIONS,
            sql::DELETE_PASSWORD_HISTORY,
        ] {
            sqlx::query(statement)
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP))?;
        }
        let done = sqlx::query(sql::DELETE_ACCOUNT)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if done.rows_affected() == 0 {
            // No account: nothing happened, no event (the rollback also
            // undoes nothing, as no credential can exist without one).
            return Ok(false);
        }
        insert_events(&mut tx, OP, std::slice::from_ref(event)).await?;
        finish(tx, OP).await?;
        Ok(true)
    }

    async fn password_history(&self, user: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found = sqlx::query(sql::PASSWORD_HISTORY)
            .bind(user)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("password_history"))?;
        found.iter().map(rows::password_hash).collect()
    }

    // ----------------------------------------------- authorization codes

    async fn insert_app_password(
        &self,
        code: &AppPassword,
        event: &SecurityEvent,
    ) -> Result<i64, StoreError> {
        const OP: &str = "insert_app_password";
        let user = &*code.user;
        let mut tx = self.begin_write(OP).await?;
        let row = sqlx::query(sql::INSERT_APP_PASSWORD)
            .bind(user)
            .bind(code.name.as_str())
            .bind(code.digest.as_slice())
            .bind(i64::from(code.protocols.bits()))
            .bind(code.created_at.secs())
            .bind(code.last_used_at.map(Timestamp::secs))
            .bind(code.last_used_ip.map(|ip| ip.to_string()))
            .bind(code.expires_at.map(Timestamp::secs))
            .bind(code.revoked_at.map(Timestamp::secs))
            .fetch_one(&mut *tx)
            .await
            .map_err(credential_insert_error(OP, user, || {
                format!("authorization code with this digest for {user}")
            }))?;
        let id: i64 = row.try_get("id").map_err(StoreError::query(OP))?;
        insert_events(&mut tx, OP, std::slice::from_ref(event)).await?;
        finish(tx, OP).await?;
        Ok(id)
    }

    async fn app_passwords(&self, user: &str) -> Result<Vec<AppPassword>, StoreError> {
        let found = sqlx::query(sql::APP_PASSWORDS)
            .bind(user)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("app_passwords"))?;
        found.iter().map(rows::app_password).collect()
    }

    async fn find_app_password(
        &self,
        user: &str,
        digest: &[u8; 32],
    ) -> Result<Option<AppPassword>, StoreError> {
        let found = sqlx::query(sql::FIND_APP_PASSWORD)
            .bind(user)
            .bind(digest.as_slice())
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("find_app_password"))?;
        found.as_ref().map(rows::app_password).transpose()
    }

    async fn touch_app_password(
        &self,
        id: i64,
        at: Timestamp,
        ip: IpAddr,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sql::TOUCH_APP_PASSWORD)
            .bind(id)
            .bind(at.secs())
            .bind(ip.to_string())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("touch_app_password"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: format!("authorization code {id}"),
            });
        }
        Ok(())
    }

    async fn revoke_app_password(
        &self,
        user: &str,
        id: i64,
        at: Timestamp,
        event: &SecurityEvent,
    ) -> Result<bool, StoreError> {
        const OP: &str = "revoke_app_password";
        let mut tx = self.begin_write(OP).await?;
        let done = sqlx::query(sql::REVOKE_APP_PASSWORD)
            .bind(user)
            .bind(id)
            .bind(at.secs())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_events(&mut tx, OP, std::slice::from_ref(event)).await?;
        finish(tx, OP).await?;
        Ok(true)
    }

    // -------------------------------------------------------------- TOTP

    async fn put_totp(&self, enrolment: &TotpEnrolment) -> Result<(), StoreError> {
        const OP: &str = "put_totp";
        let last_step = enrolment
            .last_step
            .map(step_to_db)
            .transpose()
            .map_err(unencodable(OP))?;
        let user = &*enrolment.user;
        sqlx::query(sql::UPSERT_TOTP)
            .bind(user)
            .bind(enrolment.sealed_secret.as_slice())
            .bind(enrolment.created_at.secs())
            .bind(enrolment.confirmed_at.map(Timestamp::secs))
            .bind(last_step)
            .execute(&self.writer)
            .await
            .map_err(credential_insert_error(OP, user, || {
                format!("TOTP enrolment of {user}")
            }))?;
        Ok(())
    }

    async fn totp(&self, user: &str) -> Result<Option<TotpEnrolment>, StoreError> {
        let found = sqlx::query(sql::TOTP)
            .bind(user)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("totp"))?;
        found.as_ref().map(rows::totp).transpose()
    }

    /// Only a confirmed enrolment takes steps: a pending one answers
    /// `false` (it is confirmed, with its first step, by `confirm_totp`).
    async fn use_totp_step(&self, user: &str, step: u64) -> Result<bool, StoreError> {
        const OP: &str = "use_totp_step";
        let step = step_to_db(step).map_err(unencodable(OP))?;
        let done = sqlx::query(sql::USE_TOTP_STEP)
            .bind(user)
            .bind(step)
            .execute(&self.writer)
            .await
            .map_err(StoreError::query(OP))?;
        Ok(done.rows_affected() == 1)
    }

    /// [`StoreError::NotFound`] ("pending TOTP enrolment of ...") when the
    /// account has no enrolment or it is already confirmed: confirming
    /// again could move `last_step` back and let a used code in twice.
    async fn confirm_totp(
        &self,
        user: &str,
        at: Timestamp,
        step: u64,
        recovery: &[RecoveryCode],
        events: &[SecurityEvent],
    ) -> Result<(), StoreError> {
        const OP: &str = "confirm_totp";
        let step = step_to_db(step).map_err(unencodable(OP))?;
        check_codes_belong(OP, user, recovery)?;
        let mut tx = self.begin_write(OP).await?;
        let done = sqlx::query(sql::CONFIRM_TOTP)
            .bind(user)
            .bind(at.secs())
            .bind(step)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                what: format!("pending TOTP enrolment of {user}"),
            });
        }
        replace_codes(&mut tx, OP, user, recovery).await?;
        insert_events(&mut tx, OP, events).await?;
        finish(tx, OP).await
    }

    // -------------------------------------------------- recovery codes

    async fn replace_recovery_codes(
        &self,
        user: &str,
        codes: &[RecoveryCode],
        event: &SecurityEvent,
    ) -> Result<(), StoreError> {
        const OP: &str = "replace_recovery_codes";
        check_codes_belong(OP, user, codes)?;
        let mut tx = self.begin_write(OP).await?;
        replace_codes(&mut tx, OP, user, codes).await?;
        insert_events(&mut tx, OP, std::slice::from_ref(event)).await?;
        finish(tx, OP).await
    }

    async fn use_recovery_code(
        &self,
        user: &str,
        digest: &[u8; 32],
        at: Timestamp,
        event: &SecurityEvent,
    ) -> Result<bool, StoreError> {
        const OP: &str = "use_recovery_code";
        let mut tx = self.begin_write(OP).await?;
        let done = sqlx::query(sql::USE_RECOVERY_CODE)
            .bind(user)
            .bind(digest.as_slice())
            .bind(at.secs())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_events(&mut tx, OP, std::slice::from_ref(event)).await?;
        finish(tx, OP).await?;
        Ok(true)
    }

    async fn recovery_codes_left(&self, user: &str) -> Result<u32, StoreError> {
        let left: i64 = sqlx::query_scalar(sql::RECOVERY_CODES_LEFT)
            .bind(user)
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("recovery_codes_left"))?;
        // A count is never negative; more than u32::MAX codes is not a thing.
        Ok(u32::try_from(left).unwrap_or(u32::MAX))
    }

    // -------------------------------------------------------- sessions

    async fn insert_session(&self, session: &WebSession) -> Result<(), StoreError> {
        const OP: &str = "insert_session";
        let user = &*session.user;
        sqlx::query(sql::INSERT_SESSION)
            .bind(session.digest.as_slice())
            .bind(user)
            .bind(session.created_at.secs())
            .bind(session.expires_at.secs())
            .bind(session.ip.to_string())
            .bind(session.user_agent.as_deref())
            .bind(session.revoked_at.map(Timestamp::secs))
            .execute(&self.writer)
            .await
            .map_err(credential_insert_error(OP, user, || {
                "session with this token".to_string()
            }))?;
        Ok(())
    }

    async fn session(&self, digest: &[u8; 32]) -> Result<Option<WebSession>, StoreError> {
        let found = sqlx::query(sql::SESSION)
            .bind(digest.as_slice())
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("session"))?;
        found.as_ref().map(rows::web_session).transpose()
    }

    async fn totp_users(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(sql::TOTP_USERS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("totp_users"))
    }

    // ------------------------------------------------------------ meta

    async fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar(sql::META)
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("meta"))
    }

    async fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        sqlx::query(sql::SET_META)
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("set_meta"))?;
        Ok(())
    }

    // ------------------------------------------------- security events

    async fn security_events(
        &self,
        user: &str,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let limit = i64::from(limit.min(MAX_SECURITY_EVENTS));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found = sqlx::query(sql::SECURITY_EVENTS)
            .bind(user)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("security_events"))?;
        found.iter().map(rows::security_event).collect()
    }
}
