//! What users and admins do with sessions and devices: list them, sign one
//! out, log out everywhere, approve a pending (or signed-out) device, trust
//! one for a while, forget one. Each change is one conditional store update
//! and a [`DomainEvent::DeviceActed`] with actor, time and address.

use std::net::IpAddr;

use warden_core::{DeviceSession, SecurityEventKind as Kind, SessionState, Timestamp};
use warden_store::{AccountWrite, Backend, SessionChange, MAX_SESSIONS_PAGE};

use crate::credentials::{event, Actor};
use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::Service;

/// What was done to sessions and devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAction {
    /// One device signed out.
    Revoked,
    /// Every device signed out (with the web sessions, maybe the codes).
    LoggedOutEverywhere,
    /// A pending or signed-out device may log in again.
    Approved,
    /// A device trusted for a while (and approved).
    Trusted,
    /// A device's record removed: its next login is a new device's.
    Forgotten,
    /// A new device waits for approval (Warden, at its login).
    Held,
    /// A signed-out device came back with a credential issued since.
    Reactivated,
}

impl DeviceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceAction::Revoked => "revoked",
            DeviceAction::LoggedOutEverywhere => "logged_out_everywhere",
            DeviceAction::Approved => "approved",
            DeviceAction::Trusted => "trusted",
            DeviceAction::Forgotten => "forgotten",
            DeviceAction::Held => "held",
            DeviceAction::Reactivated => "reactivated",
        }
    }
}

/// What logging out everywhere did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOut {
    /// Device sessions signed out.
    pub sessions: u64,
    /// Whether the account's web sessions were ended (an account Warden
    /// holds).
    pub web_sessions: bool,
    /// Authorization codes revoked (when asked).
    pub app_passwords: u32,
    pub at: Timestamp,
}

impl<S: Backend> Service<S> {
    /// `user`'s sessions and devices, most recently seen first (what was
    /// queued before is written first, so a login just made is listed).
    pub async fn device_sessions(&self, user: &str) -> Result<Vec<DeviceSession>, ServiceError> {
        self.devices.queue.flush().await;
        Ok(self.store.device_sessions(user, MAX_SESSIONS_PAGE).await?)
    }

    /// One of `user`'s sessions by id.
    pub async fn device_session(&self, user: &str, id: i64) -> Result<DeviceSession, ServiceError> {
        self.device_sessions(user)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("{user} has no session {id}")))
    }

    #[allow(clippy::too_many_arguments)]
    async fn set_device_state(
        &self,
        user: &str,
        id: i64,
        from: &[SessionState],
        to: SessionState,
        trusted_until: Option<Option<Timestamp>>,
        action: DeviceAction,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<DeviceSession, ServiceError> {
        let s = self.device_session(user, id).await?;
        let now = self.now();
        let n = self
            .store
            .set_session_state(
                user,
                Some(&s.device),
                &SessionChange {
                    from,
                    to,
                    at: now,
                    by: actor.as_str(),
                    trusted_until,
                },
            )
            .await?;
        let after = self
            .store
            .device_session(user, &s.device)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("{user} has no session {id}")))?;
        match after.state {
            SessionState::Revoked => self.devices.signed_out.add(
                &after.user,
                &after.device,
                self.devices.keep_per_user as usize,
            ),
            _ => self.devices.signed_out.remove(user, Some(&after.device)),
        }
        self.publish_durable(DomainEvent::DeviceActed {
            user,
            device: Some(&s.device),
            action,
            actor,
            ip,
            at: now,
            sessions: n,
        })
        .await?;
        Ok(after)
    }

    /// Signs one device out: its next login is refused (`session_revoked`)
    /// until it presents a credential issued after now, or is approved
    /// again. Signing out a signed-out device changes nothing.
    pub async fn revoke_device(
        &self,
        user: &str,
        id: i64,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<DeviceSession, ServiceError> {
        self.set_device_state(
            user,
            id,
            &[SessionState::Active, SessionState::Pending],
            SessionState::Revoked,
            Some(None),
            DeviceAction::Revoked,
            actor,
            ip,
        )
        .await
    }

    /// Lets a pending or signed-out device log in again.
    pub async fn approve_device(
        &self,
        user: &str,
        id: i64,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<DeviceSession, ServiceError> {
        self.set_device_state(
            user,
            id,
            &[SessionState::Pending, SessionState::Revoked],
            SessionState::Active,
            None,
            DeviceAction::Approved,
            actor,
            ip,
        )
        .await
    }

    /// Trusts a device for `days` (1 to `max_trust_days`), approving it.
    pub async fn trust_device(
        &self,
        user: &str,
        id: i64,
        days: u32,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<DeviceSession, ServiceError> {
        let max = self.devices.max_trust_days;
        if days == 0 || days > max {
            return Err(ServiceError::invalid(format!(
                "days: {days} is out of range; trust a device for 1 to {max} days"
            )));
        }
        let until = Timestamp(self.now().secs() + i64::from(days) * 86_400);
        self.set_device_state(
            user,
            id,
            &[
                SessionState::Active,
                SessionState::Pending,
                SessionState::Revoked,
            ],
            SessionState::Active,
            Some(Some(until)),
            DeviceAction::Trusted,
            actor,
            ip,
        )
        .await
    }

    /// Forgets a device: its record goes, and its next login is a new
    /// device's (pending again where new devices need approval).
    pub async fn forget_device(
        &self,
        user: &str,
        id: i64,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        let s = self.device_session(user, id).await?;
        let removed = self.store.delete_session(user, &s.device).await?;
        self.devices.signed_out.remove(user, Some(&s.device));
        self.publish_durable(DomainEvent::DeviceActed {
            user,
            device: Some(&s.device),
            action: DeviceAction::Forgotten,
            actor,
            ip,
            at: self.now(),
            sessions: u64::from(removed),
        })
        .await?;
        Ok(())
    }

    /// Logs `user` out everywhere: every device session is signed out (each
    /// device's next login is refused until it presents a credential
    /// issued after now or is approved again), the account's web sessions
    /// end at once and its logins waiting for a second factor are
    /// forgotten, and with `app_passwords` every authorization code is
    /// revoked (so the next IMAP login with an old code fails as a wrong
    /// password). Live IMAP connections stay until the mail server ends
    /// them (`doveadm kick`).
    pub async fn logout_everywhere(
        &self,
        user: &str,
        app_passwords: bool,
        actor: Actor,
        ip: Option<IpAddr>,
    ) -> Result<LoggedOut, ServiceError> {
        self.devices.queue.flush().await;
        let now = self.now();
        let sessions = self
            .store
            .set_session_state(
                user,
                None,
                &SessionChange {
                    from: &[SessionState::Active, SessionState::Pending],
                    to: SessionState::Revoked,
                    at: now,
                    by: actor.as_str(),
                    trusted_until: Some(None),
                },
            )
            .await?;
        for s in self.store.device_sessions(user, MAX_SESSIONS_PAGE).await? {
            if s.state == SessionState::Revoked {
                self.devices.signed_out.add(
                    &s.user,
                    &s.device,
                    self.devices.keep_per_user as usize,
                );
            }
        }
        let account = self.store.account(user).await?;
        let mut codes = 0;
        if account.is_some() {
            codes = if app_passwords {
                self.live_codes(user, now).await?
            } else {
                0
            };
            let mut events = vec![event(
                ip,
                now,
                user,
                Kind::SessionsRevoked,
                actor,
                format!("logged out everywhere: {sessions} devices"),
            )];
            if app_passwords {
                events.push(event(
                    ip,
                    now,
                    user,
                    Kind::AppPasswordsRevokedAll,
                    actor,
                    format!("{codes} codes (logged out everywhere)"),
                ));
            }
            self.commit(AccountWrite {
                revoke_sessions_at: Some(now),
                revoke_app_passwords_at: app_passwords.then_some(now),
                events,
                ..AccountWrite::default()
            })
            .await?;
            self.short.forget_tickets(user).await;
        }
        self.publish_durable(DomainEvent::DeviceActed {
            user,
            device: None,
            action: DeviceAction::LoggedOutEverywhere,
            actor,
            ip,
            at: now,
            sessions,
        })
        .await?;
        Ok(LoggedOut {
            sessions,
            web_sessions: account.is_some(),
            app_passwords: codes,
            at: now,
        })
    }

    /// Forgets sessions unseen past the retention; returns how many.
    pub async fn prune_device_sessions(&self) -> Result<u64, ServiceError> {
        let before = Timestamp(self.now().secs() - i64::from(self.devices.retention_days) * 86_400);
        Ok(self.store.prune_sessions(before).await?)
    }
}
