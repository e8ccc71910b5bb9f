//! The typed events of access policies, published as
//! [`DomainEvent::Policy`](crate::DomainEvent::Policy): an admin's change
//! of a policy or of a user's groups (with actor, time and address), and a
//! login a `report_only` policy would have refused. [`log`] is what
//! telemetry makes of them (a metric and a log line each).

use std::net::IpAddr;

use warden_core::scoped::{PolicyMode, PolicyRefusal, Scope};
use warden_core::{Lang, LoginAttempt, Name, Timestamp};

/// What a new policy version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyChange {
    Set,
    Removed,
    Restored,
}

impl PolicyChange {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyChange::Set => "set",
            PolicyChange::Removed => "removed",
            PolicyChange::Restored => "restored",
        }
    }
}

/// One thing that happened to or through a policy.
#[derive(Debug, Clone, Copy)]
pub enum PolicyEvent<'a> {
    /// An admin stored a new version of a policy.
    Changed {
        scope: Scope,
        target: &'a str,
        version: u32,
        change: PolicyChange,
        mode: PolicyMode,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    /// An admin set a user's groups.
    GroupsSet {
        user: &'a str,
        groups: &'a [Name],
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    /// A `report_only` policy would have refused this login; it was not
    /// refused for it.
    WouldRefuse {
        attempt: &'a LoginAttempt,
        refusal: &'a PolicyRefusal,
    },
}

/// Metrics and a log line for `e` (called by [`crate::telemetry`]).
pub fn log(e: &PolicyEvent<'_>) {
    match *e {
        PolicyEvent::Changed {
            scope,
            target,
            version,
            change,
            mode,
            actor,
            ip,
            at,
        } => {
            metrics::counter!("warden_policy_changes_total", "change" => change.as_str())
                .increment(1);
            let target = warden_core::text::one_line(target, 80);
            let actor = warden_core::text::one_line(actor, 64);
            tracing::info!(
                scope = scope.as_str(),
                %target,
                version,
                change = change.as_str(),
                mode = mode.as_str(),
                %actor,
                ip = ?ip,
                at = at.secs(),
                "access policy changed"
            );
        }
        PolicyEvent::GroupsSet {
            user,
            groups,
            actor,
            ip,
            at,
        } => {
            metrics::counter!("warden_group_changes_total").increment(1);
            let groups: Vec<&str> = groups.iter().map(|g| &**g).collect();
            let actor = warden_core::text::one_line(actor, 64);
            tracing::info!(user, ?groups, %actor, ip = ?ip, at = at.secs(), "groups set");
        }
        PolicyEvent::WouldRefuse { attempt, refusal } => {
            metrics::counter!("warden_policy_would_refuse_total", "scope" => refusal.source.scope.as_str())
                .increment(1);
            tracing::info!(
                user = &*attempt.user,
                ip = %attempt.ip,
                protocol = attempt.protocol.as_str(),
                reason = %refusal.text(Lang::En),
                "report-only policy would refuse this login"
            );
        }
    }
}
