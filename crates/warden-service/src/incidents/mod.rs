//! Incident response: graded incidents (L1 credential compromise, L2 lost
//! or stolen device, L3 data tampering or exfiltration) with their
//! playbooks, one-click actions, SLA timers and the post-incident review
//! (the rules are `warden_core::incident`, the rows `warden_store`'s
//! `IncidentStore`).
//!
//! - [`playbooks`]: the playbooks as TOML data, built in and overridable.
//! - [`opener`]: a `DomainEvent` subscriber (critical alerts, "not me"
//!   answers, critical correlated operations) queueing triggers to a worker
//!   that opens an incident or attaches the trigger to the user's open one.
//! - [`admin`]: open by hand, list, show, assign, change status, add an
//!   affected user/address/device, tick a step, fill the review.
//! - [`actions`]: the one-click actions, through the same service calls
//!   as the API (lock, log out everywhere, force a password reset, require
//!   a second factor, block a source, revoke a code, mark for revert with a
//!   signed webhook, notify the user and the business owners).
//! - [`sla`]: the ticker raising one alert per overdue step.
//! - [`timeline`]: an incident's timeline from the audit log.
//! - [`events`]: `IncidentEvent`, each change published durably.

pub mod actions;
pub mod admin;
pub mod events;
pub mod opener;
pub mod playbooks;
pub mod sla;
pub mod timeline;

use std::time::Duration;

pub use playbooks::Playbooks;

/// The timeline's default look-back before an incident's opening when the
/// first risky login is not known: a day.
pub const DEFAULT_LOOKBACK_SECS: u64 = 24 * 3600;

/// How incidents are run.
#[derive(Debug, Clone)]
pub struct IncidentSettings {
    /// Open incidents from alerts, answers and operations.
    pub auto_open: bool,
    pub playbooks: Playbooks,
    /// Emails told by the `notify` action (through the user email channel).
    pub business_owners: Vec<String>,
    /// The notify channel (a signed `webhook`) the mail system is told of
    /// changes to revert on.
    pub revert_webhook: Option<String>,
    /// How far before the opening the timeline and the revert list reach
    /// when the first risky login is not known.
    pub lookback_secs: u64,
    /// How often the SLA ticker looks for overdue steps.
    pub sla_poll: Duration,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        IncidentSettings {
            auto_open: true,
            playbooks: Playbooks::built_in(),
            business_owners: Vec::new(),
            revert_webhook: None,
            lookback_secs: DEFAULT_LOOKBACK_SECS,
            sla_poll: Duration::from_secs(30),
        }
    }
}
