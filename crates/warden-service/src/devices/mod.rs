//! A user's sessions and devices: every successful login opens or
//! refreshes one, whatever the protocol; users and admins list them,
//! revoke one or all, trust a device for a while or forget it, and approve
//! a new device when the account's policy wants new devices approved.
//!
//! - `record.rs`: the `LoginRecorded` subscriber ([`SessionRecorder`])
//!   pushes each success onto a bounded queue (never waiting: a full queue
//!   drops the refresh and counts it); [`run`] writes them to the store
//!   (`SessionStore::record_session`, which keeps each user's newest
//!   [`DeviceSettings::keep_per_user`] rows).
//! - `gate.rs`: the check every credential path (verify, the web login,
//!   Dovecot's policy after the password) makes after a correct credential
//!   ([`warden_core::device::gate`]): a signed-out device is refused
//!   (`session_revoked`) until it presents a credential issued after the
//!   sign-out or is approved again; with new-device approval on, a device
//!   the user has not used waits (`device_pending`). The signed-out devices
//!   are kept in memory (bounded, loaded at start-up), so an account with
//!   none and no approval policy costs no lookup.
//! - `admin.rs`: list, revoke, log out everywhere (with the web sessions
//!   and optionally the authorization codes), approve, trust, forget; each
//!   a [`DomainEvent::DeviceActed`](crate::DomainEvent::DeviceActed).

mod admin;
mod gate;
mod record;

use std::sync::Arc;

pub use admin::{DeviceAction, LoggedOut};
pub use gate::SignedOut;
pub use record::{run, SessionRecorder};

/// How sessions and devices are kept.
#[derive(Debug, Clone)]
pub struct DeviceSettings {
    /// The most sessions kept per user (the most recently seen).
    pub keep_per_user: u32,
    /// The most devices one user may have waiting for approval; a new
    /// device beyond them is refused without being listed.
    pub max_pending: u32,
    /// Sessions unseen (and unchanged) this long are forgotten.
    pub retention_days: u32,
    /// The longest an admin or user may trust a device for.
    pub max_trust_days: u32,
    pub(crate) queue: Arc<record::Queue>,
    pub(crate) signed_out: Arc<SignedOut>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings::new(50, 16, 180, 90)
    }
}

impl DeviceSettings {
    /// Settings with these limits (see the fields), and a fresh queue and
    /// signed-out index.
    pub fn new(
        keep_per_user: u32,
        max_pending: u32,
        retention_days: u32,
        max_trust_days: u32,
    ) -> Self {
        DeviceSettings {
            keep_per_user,
            max_pending,
            retention_days,
            max_trust_days,
            queue: Arc::new(record::Queue::new(record::QUEUE_CAPACITY)),
            signed_out: Arc::default(),
        }
    }

    /// The subscriber that records every successful login's session; add
    /// it to the service's [`Events`](crate::Events) and spawn [`run`].
    pub fn recorder(&self) -> Arc<SessionRecorder> {
        Arc::new(SessionRecorder(self.queue.clone()))
    }
}
