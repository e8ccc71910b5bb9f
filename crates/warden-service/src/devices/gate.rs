//! The device check after a correct credential, and the signed-out devices
//! it needs in memory.

use std::collections::{HashMap, HashSet};

use parking_lot::RwLock;
use warden_core::device::{device_key, gate, Gate};
use warden_core::verify::Detail;
use warden_core::{
    DeviceSession, IpInfo, LoginAttempt, Name, SessionState, Timestamp, Verdict, VerifyReason,
};
use warden_store::{Backend, SessionChange};

use super::DeviceAction;
use crate::credentials::Actor;
use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::Service;

/// The most signed-out devices kept in memory (all users); beyond them
/// the oldest revocations are checked only when the account's policy
/// makes the gate read the store anyway.
pub const MAX_SIGNED_OUT: usize = 200_000;

/// The signed-out devices, by user: which devices the gate must look up
/// even when the account does not ask for new-device approval.
#[derive(Debug, Default)]
pub struct SignedOut {
    loaded: tokio::sync::OnceCell<()>,
    by_user: RwLock<(HashMap<Name, HashSet<String>>, usize)>,
}

impl SignedOut {
    /// Whether `user`'s `device` is signed out (as far as memory knows).
    pub fn contains(&self, user: &str, device: &str) -> bool {
        self.by_user
            .read()
            .0
            .get(user)
            .is_some_and(|d| d.contains(device))
    }

    /// How many signed-out devices are held.
    pub fn len(&self) -> usize {
        self.by_user.read().1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn add(&self, user: &Name, device: &str, per_user: usize) {
        let mut g = self.by_user.write();
        let (map, total) = &mut *g;
        if *total >= MAX_SIGNED_OUT {
            return;
        }
        let set = map.entry(user.clone()).or_default();
        if set.len() < per_user && set.insert(device.to_string()) {
            *total += 1;
        }
    }

    /// Forgets `user`'s `device` (`None`: all their devices).
    pub(crate) fn remove(&self, user: &str, device: Option<&str>) {
        let mut g = self.by_user.write();
        let (map, total) = &mut *g;
        let Some(set) = map.get_mut(user) else {
            return;
        };
        match device {
            Some(d) => {
                if set.remove(d) {
                    *total -= 1;
                }
            }
            None => {
                *total -= set.len();
                set.clear();
            }
        }
        if set.is_empty() {
            map.remove(user);
        }
    }
}

impl<S: Backend> Service<S> {
    /// Loads the signed-out devices into memory, once per process (later
    /// calls return at once). A failed load is tried again at the next call.
    pub async fn load_signed_out(&self) -> Result<(), ServiceError> {
        let d = &self.devices;
        d.signed_out
            .loaded
            .get_or_try_init(|| async {
                let rows = self
                    .store
                    .sessions_in_state(SessionState::Revoked, MAX_SIGNED_OUT as u32)
                    .await?;
                for s in rows {
                    d.signed_out
                        .add(&s.user, &s.device, d.keep_per_user as usize);
                }
                Ok::<(), ServiceError>(())
            })
            .await?;
        Ok(())
    }

    /// The session of the device `attempt` comes from, if the user has one
    /// (any state): for other checks that ask whether a device is known or
    /// trusted (`DeviceSession::trusted`), e.g. login protection's "new
    /// device". One indexed store read.
    pub async fn device_session_of(
        &self,
        attempt: &LoginAttempt,
    ) -> Result<Option<DeviceSession>, ServiceError> {
        Ok(self
            .store
            .device_session(&attempt.user, &device_key(attempt))
            .await?)
    }

    /// The device check after a correct credential issued at `issued`
    /// (`None`: unknown — the mail server checked it): `None` lets the
    /// login go on; else the refusal (`device_pending`, `session_revoked`).
    /// A new device waiting for approval is listed as pending (at most
    /// [`super::DeviceSettings::max_pending`] per user). Reads the store
    /// only when the account wants new devices approved or this device was
    /// signed out.
    pub async fn device_gate(
        &self,
        attempt: &LoginAttempt,
        info: &IpInfo,
        issued: Option<Timestamp>,
    ) -> Result<Option<Verdict>, ServiceError> {
        self.load_signed_out().await?;
        let approval = self.account_policy(&attempt.user).new_device_approval;
        let key = device_key(attempt);
        let signed_out = self.devices.signed_out.contains(&attempt.user, &key);
        if !approval && !signed_out {
            return Ok(None);
        }
        let now = attempt.ts;
        let session = self.store.device_session(&attempt.user, &key).await?;
        let refuse = |reason, at| {
            Some(Verdict {
                reason: Some(reason),
                detail: Detail {
                    protocol: Some(attempt.protocol),
                    until: Some(at),
                    ..Detail::default()
                },
            })
        };
        Ok(match gate(session.as_ref(), approval, issued, now) {
            Gate::Allow => {
                if signed_out
                    && session
                        .as_ref()
                        .is_none_or(|s| s.state != SessionState::Revoked)
                {
                    // Forgotten, pruned or approved meanwhile.
                    self.devices.signed_out.remove(&attempt.user, Some(&key));
                }
                None
            }
            Gate::Reactivate => {
                let n = self
                    .store
                    .set_session_state(
                        &attempt.user,
                        Some(&key),
                        &SessionChange {
                            from: &[SessionState::Revoked],
                            to: SessionState::Active,
                            at: now,
                            by: Actor::System.as_str(),
                            trusted_until: None,
                        },
                    )
                    .await?;
                self.devices.signed_out.remove(&attempt.user, Some(&key));
                self.events.publish(DomainEvent::DeviceActed {
                    user: &attempt.user,
                    device: Some(&key),
                    action: DeviceAction::Reactivated,
                    actor: Actor::System,
                    ip: Some(attempt.ip),
                    at: now,
                    sessions: n,
                });
                None
            }
            Gate::Pending { since, new } => {
                if new {
                    let s = DeviceSession::observed(
                        attempt,
                        info,
                        SessionState::Pending,
                        Actor::System.as_str(),
                    );
                    let held = self
                        .store
                        .insert_pending_session(&s, self.devices.max_pending)
                        .await?;
                    self.events.publish(DomainEvent::DeviceActed {
                        user: &attempt.user,
                        device: Some(&key),
                        action: DeviceAction::Held,
                        actor: Actor::System,
                        ip: Some(attempt.ip),
                        at: now,
                        sessions: u64::from(held),
                    });
                }
                refuse(VerifyReason::DevicePending, since)
            }
            Gate::Revoked { at } => refuse(VerifyReason::SessionRevoked, at),
        })
    }
}
