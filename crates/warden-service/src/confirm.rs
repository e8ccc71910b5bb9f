//! Confirming a login as the user's own: the "yes, it was me" of an alert,
//! or an admin's confirmation.
//!
//! A success Warden challenged or alerted on, with no challenge passed,
//! teaches the profile nothing (see [`warden_core::trust`]); it waits as an
//! unconfirmed observation. [`Service::confirm_login`] learns it as
//! trusted, so the next login from that place and device is quiet. The
//! confirmation is durable before the call returns: the user's profile
//! snapshot is written at once (a confirmation leaves no history row that
//! start-up could learn it from again).

use std::net::IpAddr;

use warden_core::{Alert, LoginAttempt, Protocol, Timestamp};
use warden_store::{Backend, ProfileSnapshot};

use crate::error::{shown, ServiceError};
use crate::Service;

/// The login to confirm, as an alert row (or a history row) holds it.
#[derive(Debug, Clone, Copy)]
pub struct LoginToConfirm<'a> {
    pub user: &'a str,
    pub ip: IpAddr,
    pub protocol: Protocol,
    /// When the login happened.
    pub ts: Timestamp,
    pub device: Option<&'a str>,
    /// The user agent, or the client program's name an alert keeps.
    pub user_agent: Option<&'a str>,
}

impl<'a> LoginToConfirm<'a> {
    /// The login an alert is about; an error for an alert about no user or
    /// no address (a summary).
    pub fn of_alert(alert: &'a Alert) -> Result<Self, ServiceError> {
        let (Some(user), Some(ip)) = (alert.user.as_deref(), alert.ip) else {
            return Err(ServiceError::invalid(format!(
                "alert {} is not about one user's login",
                alert.id
            )));
        };
        Ok(LoginToConfirm {
            user,
            ip,
            protocol: alert.protocol.unwrap_or(Protocol::Web),
            ts: alert.last_ts.max(alert.ts),
            device: alert.device.as_deref(),
            user_agent: alert.client.as_deref(),
        })
    }
}

impl<S: Backend> Service<S> {
    /// Teaches `user`'s profile the login's place, network, device and
    /// client as trusted (the user's "yes, it was me", an admin's
    /// confirmation) and drops its unconfirmed observation. Written to the
    /// store before it returns: a crash after it loses nothing.
    pub async fn confirm_login(&self, login: &LoginToConfirm<'_>) -> Result<(), ServiceError> {
        let attempt = LoginAttempt::new(
            login.ts,
            login.user,
            login.ip,
            login.protocol,
            login.device,
            login.user_agent,
        )
        .map_err(|e| {
            ServiceError::invalid(format!("login of {} to confirm: {e}", shown(login.user)))
        })?;
        let info = self.intel.lookup(attempt.ip);
        {
            let mut engine = self.engine.lock();
            engine.confirm(&attempt, &info);
            self.engine.refresh(&engine);
            self.snapshots.changed(&attempt.user);
        }
        self.write_profile(&attempt.user).await
    }

    /// [`Service::confirm_login`] of the login an alert is about.
    pub async fn confirm_alert_login(&self, alert: &Alert) -> Result<(), ServiceError> {
        self.confirm_login(&LoginToConfirm::of_alert(alert)?).await
    }

    /// Writes `user`'s profile snapshot now and waits for the commit (the
    /// periodic flush writes it again; that is harmless). Queued under the
    /// engine lock like every snapshot, so it never overtakes an event it
    /// learned from.
    pub(crate) async fn write_profile(&self, user: &str) -> Result<(), ServiceError> {
        let ack = {
            let engine = self.engine.lock();
            let Some(blob) = engine.snapshot(user) else {
                return Ok(());
            };
            let last = engine.profile(user).and_then(|p| p.last_success);
            let snapshot = ProfileSnapshot {
                user: user.to_string(),
                blob,
                updated_at: Timestamp(last.map_or(0, |l| i64::from(l.ts))),
                through_event: 0,
            };
            self.writer
                .submit_marked(Vec::new(), vec![snapshot], None)?
        };
        ack.await?;
        Ok(())
    }
}
