//! The typed events of incidents, published as
//! [`DomainEvent::Incident`](crate::DomainEvent::Incident): an incident
//! opened (automatically or by hand) or a trigger attached to one, an
//! assignment, a status change, an affected entry, a step done, a one-click
//! action taken, the review, an overdue step alerted. Each acknowledged
//! change is published with [`Service::publish_durable`](crate::Service::publish_durable).
//! [`IncidentEvent::audit_entry`] is its audit-log record; [`log`] is what
//! telemetry makes of it.

use std::net::IpAddr;

use warden_audit::AuditEntry;
use warden_core::incident::{ActionKind, AffectedKind, IncidentGrade, IncidentStatus, Trigger};
use warden_core::Timestamp;

/// One thing that happened to an incident.
#[derive(Debug, Clone, Copy)]
pub enum IncidentEvent<'a> {
    /// A new incident (`actor`: `warden` for an automatic opening).
    Opened {
        id: i64,
        grade: IncidentGrade,
        user: Option<&'a str>,
        trigger: Trigger,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    /// A trigger joined the user's incident that was open already.
    TriggerAttached {
        id: i64,
        user: Option<&'a str>,
        trigger: Trigger,
        at: Timestamp,
    },
    Assigned {
        id: i64,
        assignee: Option<&'a str>,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    StatusChanged {
        id: i64,
        from: IncidentStatus,
        to: IncidentStatus,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    AffectedAdded {
        id: i64,
        kind: AffectedKind,
        value: &'a str,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    /// A manual step was ticked.
    StepDone {
        id: i64,
        step: &'a str,
        note: Option<&'a str>,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    /// A one-click action ran (`result` says what it did).
    ActionTaken {
        id: i64,
        action: ActionKind,
        user: Option<&'a str>,
        /// The playbook step it completed, if any.
        step: Option<&'a str>,
        result: &'a str,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    Reviewed {
        id: i64,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
    },
    /// A step passed its due time; `alert_id` told the admins.
    StepOverdue {
        id: i64,
        step: &'a str,
        alert_id: i64,
        at: Timestamp,
    },
}

impl IncidentEvent<'_> {
    /// The incident it concerns.
    pub fn incident(&self) -> i64 {
        match *self {
            IncidentEvent::Opened { id, .. }
            | IncidentEvent::TriggerAttached { id, .. }
            | IncidentEvent::Assigned { id, .. }
            | IncidentEvent::StatusChanged { id, .. }
            | IncidentEvent::AffectedAdded { id, .. }
            | IncidentEvent::StepDone { id, .. }
            | IncidentEvent::ActionTaken { id, .. }
            | IncidentEvent::Reviewed { id, .. }
            | IncidentEvent::StepOverdue { id, .. } => id,
        }
    }

    /// The audit-log kind (`incident.opened`, `incident.action`...).
    pub fn kind(&self) -> &'static str {
        match self {
            IncidentEvent::Opened { .. } => "incident.opened",
            IncidentEvent::TriggerAttached { .. } => "incident.trigger_attached",
            IncidentEvent::Assigned { .. } => "incident.assigned",
            IncidentEvent::StatusChanged { .. } => "incident.status_changed",
            IncidentEvent::AffectedAdded { .. } => "incident.affected_added",
            IncidentEvent::StepDone { .. } => "incident.step_done",
            IncidentEvent::ActionTaken { .. } => "incident.action",
            IncidentEvent::Reviewed { .. } => "incident.reviewed",
            IncidentEvent::StepOverdue { .. } => "incident.step_overdue",
        }
    }

    /// Its record in the audit log: kind, actor, time, address, the user,
    /// `incident:<id>` as the subject and the incident id, and the details.
    pub fn audit_entry(&self) -> AuditEntry {
        let id = self.incident();
        let (actor, ip, at) = match *self {
            IncidentEvent::Opened { actor, ip, at, .. }
            | IncidentEvent::Assigned { actor, ip, at, .. }
            | IncidentEvent::StatusChanged { actor, ip, at, .. }
            | IncidentEvent::AffectedAdded { actor, ip, at, .. }
            | IncidentEvent::StepDone { actor, ip, at, .. }
            | IncidentEvent::ActionTaken { actor, ip, at, .. }
            | IncidentEvent::Reviewed { actor, ip, at, .. } => (actor, ip, at),
            IncidentEvent::TriggerAttached { at, .. } | IncidentEvent::StepOverdue { at, .. } => {
                ("warden", None, at)
            }
        };
        let mut e = AuditEntry::new(at, self.kind(), actor)
            .expect("incident kinds are valid audit kinds")
            .subject(&format!("incident:{id}"))
            .incident(id);
        if let Some(ip) = ip {
            e = e.ip(ip);
        }
        match *self {
            IncidentEvent::Opened {
                grade,
                user,
                trigger,
                ..
            } => {
                if let Some(u) = user {
                    e = e.user(u);
                }
                e = e
                    .detail("grade", grade)
                    .detail("trigger", trigger.kind)
                    .detail("trigger_ref", opt(trigger.ref_id));
            }
            IncidentEvent::TriggerAttached { user, trigger, .. } => {
                if let Some(u) = user {
                    e = e.user(u);
                }
                e = e
                    .detail("trigger", trigger.kind)
                    .detail("trigger_ref", opt(trigger.ref_id));
            }
            IncidentEvent::Assigned { assignee, .. } => {
                e = e.detail("assignee", assignee.unwrap_or(""));
            }
            IncidentEvent::StatusChanged { from, to, .. } => {
                e = e.detail("from", from).detail("to", to);
            }
            IncidentEvent::AffectedAdded { kind, value, .. } => {
                if kind == AffectedKind::User {
                    e = e.user(value);
                }
                e = e.detail("kind", kind).detail("value", value);
            }
            IncidentEvent::StepDone { step, note, .. } => {
                e = e.detail("step", step).detail("note", note.unwrap_or(""));
            }
            IncidentEvent::ActionTaken {
                action,
                user,
                step,
                result,
                ..
            } => {
                if let Some(u) = user {
                    e = e.user(u);
                }
                e = e
                    .detail("action", action)
                    .detail("step", step.unwrap_or(""))
                    .detail("result", result);
            }
            IncidentEvent::Reviewed { .. } => {}
            IncidentEvent::StepOverdue { step, alert_id, .. } => {
                e = e.detail("step", step).detail("alert_id", alert_id);
            }
        }
        e
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Metrics and a log line for `e` (called by [`crate::telemetry`]).
pub fn log(e: &IncidentEvent<'_>) {
    let kind = e.kind();
    metrics::counter!("warden_incident_events_total", "kind" => kind).increment(1);
    if let IncidentEvent::Opened { grade, .. } = e {
        metrics::counter!("warden_incidents_opened_total", "grade" => grade.as_str()).increment(1);
    }
    let entry = e.audit_entry();
    let detail: Vec<String> = entry
        .detail
        .iter()
        .map(|(k, v)| format!("{k}={}", warden_core::text::one_line(v, 120)))
        .collect();
    tracing::info!(
        incident = e.incident(),
        kind,
        actor = %entry.actor,
        user = entry.user.as_deref().unwrap_or(""),
        detail = %detail.join(" "),
        "incident event"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::incident::TriggerKind;

    #[test]
    fn an_action_is_an_audit_entry_naming_the_incident_user_and_result() {
        let e = IncidentEvent::ActionTaken {
            id: 7,
            action: ActionKind::LockAccount,
            user: Some("kim@example.com"),
            step: Some("lock"),
            result: "account locked",
            actor: "admin",
            ip: Some("10.0.0.9".parse().unwrap()),
            at: Timestamp(1_700_000_000),
        };
        let a = e.audit_entry();
        assert_eq!(a.kind, "incident.action");
        assert_eq!(a.incident, Some(7));
        assert_eq!(a.subject.as_deref(), Some("incident:7"));
        assert_eq!(a.user.as_deref(), Some("kim@example.com"));
        assert_eq!(a.ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(a.get("action"), Some("lock_account"));
        assert_eq!(a.get("result"), Some("account locked"));
        let o = IncidentEvent::Opened {
            id: 8,
            grade: IncidentGrade::L3,
            user: None,
            trigger: Trigger {
                kind: TriggerKind::Operation,
                ref_id: Some(3),
                at: Timestamp(1),
            },
            actor: "warden",
            ip: None,
            at: Timestamp(1),
        }
        .audit_entry();
        assert_eq!(o.kind, "incident.opened");
        assert_eq!(o.get("grade"), Some("l3"));
        assert_eq!(o.get("trigger_ref"), Some("3"));
    }
}
