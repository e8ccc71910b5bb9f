//! Sensitive operations in users' mailboxes (forwarding rules, security
//! info, passwords, tokens...) reported by the mail or IM system, and
//! their correlation with the risky logins before them.
//!
//! - `intake.rs`: [`OperationReport`] (a report as the adapters parse it)
//!   validated and cleaned into a [`warden_core::Operation`], correlated
//!   (`warden_core::operation::correlate`) with the user's logins in the
//!   window before it, and stored with the alert it raises in one
//!   transaction; the admins' list.
//! - `alert.rs`: the alert of a suspicious operation, naming the operation
//!   and the login it follows (place, time, address), and its fold key
//!   (one alert per user, alert kind and login; more operations after the
//!   same login fold into it).
//! - `signals.rs`: post-login signs of a compromised mailbox — mail logins
//!   from many countries or networks in a day, mail deferred for its
//!   sending rate — watched by a `DomainEvent` subscriber and raised as
//!   alerts by a worker.
//!
//! Each report is published as [`crate::DomainEvent::OperationReported`]
//! (who reported it, when, from where), each warning or critical grade as
//! [`crate::DomainEvent::OperationCorrelated`], each new alert as
//! [`crate::DomainEvent::AlertRaised`].

mod alert;
mod intake;
pub mod signals;

pub use intake::{OperationReport, ReportedOperation};

/// The correlation window's default: a day.
pub const DEFAULT_WINDOW_SECS: u64 = 24 * 3600;

/// How sensitive operations are judged.
#[derive(Debug, Clone)]
pub struct SensitiveSettings {
    /// How long before an operation a risky login counts.
    pub window_secs: u64,
    /// The organisation's mail domains: a forwarding address outside them
    /// is external. Empty: the domain of the user's own login name.
    pub internal_domains: Vec<String>,
}

impl Default for SensitiveSettings {
    fn default() -> Self {
        SensitiveSettings {
            window_secs: DEFAULT_WINDOW_SECS,
            internal_domains: Vec::new(),
        }
    }
}
