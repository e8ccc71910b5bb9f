//! Account rules the admin API and self-service share: password changes
//! (policy, history, which credentials and sessions end), status changes
//! (a lock, an unlock that also lifts risk-control lockouts), and pages of
//! accounts with their 2FA state in one query.

use std::collections::HashSet;
use std::net::IpAddr;

use warden_auth::{PolicyViolation, Strength};
use warden_core::{Account, AccountStatus, Org, SecurityEventKind as Kind, Timestamp, WebSession};
use warden_store::{AccountWrite, Backend};

use crate::credentials::{context_words, event, Actor};
use crate::error::ServiceError;
use crate::Service;

/// The API error code of a policy violation: `password_` and its code.
pub fn violation_code(v: &PolicyViolation) -> &'static str {
    use PolicyViolation as V;
    match v {
        V::TooShort { .. } => "password_too_short",
        V::TooLong { .. } => "password_too_long",
        V::ControlCharacter => "password_control_character",
        V::Common => "password_common",
        V::ContainsContext { .. } => "password_contains_context",
        V::Repetitive => "password_repetitive",
        V::Sequential => "password_sequential",
        V::RecentlyUsed { .. } => "password_recently_used",
    }
}

/// A new login password.
#[derive(Debug, Clone)]
pub struct NewPassword {
    pub password: String,
    /// The user's own change proves the current one; an admin reset has none.
    pub current: Option<String>,
    /// An admin reset may demand a change at the next login.
    pub must_change: bool,
    /// Keep the account's authorization codes (default: revoke them).
    pub keep_app_passwords: bool,
}

/// What a password change did.
#[derive(Debug, Clone)]
pub struct PasswordSet {
    pub strength: Strength,
    pub app_passwords_revoked: u32,
}

impl<S: Backend> Service<S> {
    /// Checks `password` against the policy for `account` in `org`: the
    /// rule it breaks, or its strength (zxcvbn, on the bounded CPU pool, so
    /// a crafted password cannot hold up the request threads; a full pool
    /// is [`ServiceError::Busy`]).
    pub async fn password_check(
        &self,
        account: &Account,
        org: &Org,
        password: &str,
    ) -> Result<Result<Strength, PolicyViolation>, ServiceError> {
        let policy = self.credentials.settings.password.clone();
        // The rules are linear in the length and refuse what is too long
        // before any work: checked here, so only grading waits for the pool.
        let words = context_words(account, org);
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        if let Some(v) = policy.violation(password, &refs) {
            return Ok(Err(v));
        }
        let password = password.to_string();
        self.credentials
            .cpu
            .run(move || {
                let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                Ok(warden_auth::strength(&password, &refs))
            })
            .await
    }

    /// [`password_check`](Self::password_check) with a broken rule as
    /// [`ServiceError::Refused`].
    pub async fn check_password_policy(
        &self,
        account: &Account,
        org: &Org,
        password: &str,
    ) -> Result<Strength, ServiceError> {
        self.password_check(account, org, password)
            .await?
            .map_err(|v| {
                ServiceError::refused(violation_code(&v), v.message(warden_core::Lang::En))
            })
    }

    /// The QR codes of an `otpauth://` URI (PNG bytes, SVG text), rendered on
    /// the bounded CPU pool.
    pub async fn qr_codes(&self, uri: String) -> Result<(Vec<u8>, String), ServiceError> {
        self.credentials
            .cpu
            .run(move || {
                let png = warden_auth::qr_png(&uri)?;
                let svg = warden_auth::qr_svg(&uri)?;
                Ok::<_, warden_auth::AuthError>((png, svg))
            })
            .await?
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// How many of the account's authorization codes are usable at `now`
    /// (what a revoke-all revokes).
    pub async fn live_codes(&self, user: &str, now: Timestamp) -> Result<u32, ServiceError> {
        let codes = self.store.app_passwords(user).await?;
        Ok(codes.iter().filter(|c| c.is_live(now)).count() as u32)
    }

    /// Sets the login password: a user's change (with the current password)
    /// or an admin reset. A changed password cuts off every stored client:
    /// the account's authorization codes are revoked unless asked to keep
    /// them, and its web sessions end. Nothing changes when a rule refuses.
    pub async fn set_password(
        &self,
        user: &str,
        new: NewPassword,
        ip: Option<IpAddr>,
    ) -> Result<PasswordSet, ServiceError> {
        let mut a = self.account(user).await?;
        let org = self.org_of(&a).await?;
        let by_user = new.current.is_some();
        if let Some(current) = new.current {
            if !self
                .credentials
                .verify(a.password_hash.clone(), current)
                .await?
            {
                return Err(ServiceError::refused(
                    "wrong_password",
                    "current_password is wrong",
                ));
            }
        }
        let strength = self.check_password_policy(&a, &org, &new.password).await?;
        let keep = self.credentials.settings.password.history;
        if keep > 0 {
            for old in self.store.password_history(user, keep as u32).await? {
                if self
                    .credentials
                    .verify(Some(old), new.password.clone())
                    .await?
                {
                    let v = PolicyViolation::RecentlyUsed { history: keep };
                    return Err(ServiceError::refused(
                        violation_code(&v),
                        v.message(warden_core::Lang::En),
                    ));
                }
            }
        }
        let now = self.now();
        let hash = self.credentials.hash(new.password).await?;
        a.password_hash = Some(hash.clone());
        a.password_changed_at = Some(now);
        a.must_change_password = !by_user && new.must_change;
        a.updated_at = now;
        let revoke = !new.keep_app_passwords;
        let live = if revoke {
            self.live_codes(user, now).await?
        } else {
            0
        };
        let (kind, actor) = if by_user {
            (Kind::PasswordChanged, Actor::User)
        } else {
            (Kind::PasswordReset, Actor::Admin)
        };
        let mut events = vec![event(
            ip,
            now,
            user,
            kind,
            actor,
            if revoke {
                format!("{live} authorization codes revoked")
            } else {
                "authorization codes kept".into()
            },
        )];
        if revoke && live > 0 {
            events.push(event(
                ip,
                now,
                user,
                Kind::AppPasswordsRevokedAll,
                actor,
                "password change",
            ));
        }
        self.commit(AccountWrite {
            account: Some(a),
            remember_password: Some((hash, keep)),
            revoke_app_passwords_at: revoke.then_some(now),
            // Every web session ends with the old password.
            revoke_sessions_at: Some(now),
            events,
            ..AccountWrite::default()
        })
        .await?;
        Ok(PasswordSet {
            strength,
            app_passwords_revoked: live,
        })
    }

    /// An admin changes an account's status (`kind` says which change: a
    /// lock, an unlock, a disable, an enable). Takes effect at the next
    /// login through every entry point; a lock or a disable also ends the
    /// account's web sessions and pending second steps at once, and an
    /// unlock lifts the account's risk-control lockouts.
    pub async fn set_status(
        &self,
        user: &str,
        status: AccountStatus,
        reason: Option<String>,
        kind: Kind,
        ip: Option<IpAddr>,
    ) -> Result<Account, ServiceError> {
        let mut a = self.account(user).await?;
        let now = self.now();
        a.status = status;
        a.status_reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        a.updated_at = now;
        let detail = a.status_reason.clone().unwrap_or_default();
        let mut events = vec![event(ip, now, user, kind, Actor::Admin, detail)];
        // A locked or disabled account keeps no way in: its web sessions end
        // with the change, in the same transaction, and its logins waiting
        // for a second factor are forgotten.
        let cut_off = status != AccountStatus::Active;
        if cut_off {
            events.push(event(
                ip,
                now,
                user,
                Kind::SessionsRevoked,
                Actor::Admin,
                format!("account {status}"),
            ));
        }
        self.commit(AccountWrite {
            account: Some(a.clone()),
            revoke_sessions_at: cut_off.then_some(now),
            events,
            ..AccountWrite::default()
        })
        .await?;
        if cut_off {
            self.short.forget_tickets(user).await;
        }
        if kind == Kind::AccountUnlocked {
            self.short.lift_lockouts(user).await;
        }
        Ok(a)
    }

    /// The live web session of this token: not revoked, not expired, and
    /// of an account that is still active (a lock or a disable revokes the
    /// sessions; this also refuses one opened while the lock was
    /// committing).
    pub async fn live_session(&self, token: &str) -> Result<Option<WebSession>, ServiceError> {
        let now = self.now();
        let Some(s) = self
            .store
            .session(&warden_auth::codes::token_digest(token))
            .await?
            .filter(|s| s.revoked_at.is_none() && now < s.expires_at)
        else {
            return Ok(None);
        };
        let active = self
            .store
            .account(&s.user)
            .await?
            .is_some_and(|a| a.status == AccountStatus::Active);
        Ok(active.then_some(s))
    }

    /// A page of accounts with whether each has confirmed TOTP: two queries
    /// for the page, not one per account.
    pub async fn accounts_page(
        &self,
        org: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Account, bool)>, ServiceError> {
        let list = self.store.accounts(org, after, limit).await?;
        let (Some(first), Some(last)) = (list.first(), list.last()) else {
            return Ok(Vec::new());
        };
        let with: HashSet<String> = self
            .store
            .two_factor_users(&first.user, &last.user)
            .await?
            .into_iter()
            .collect();
        Ok(list
            .into_iter()
            .map(|a| {
                let tf = with.contains(&*a.user);
                (a, tf)
            })
            .collect())
    }
}
