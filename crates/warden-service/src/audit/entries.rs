//! [`AuditTrail`]: the subscriber that turns each security-relevant
//! [`DomainEvent`] into an [`AuditEntry`] and queues it for the writer
//! ([`super::writer`]), and tells [`crate::Service::publish_durable`] when
//! it is committed ([`Subscriber::settled`]).
//!
//! [`entry_of`] is one exhaustive `match` over the events (no wildcard
//! arm): a new event does not compile until it is mapped here, to an
//! entry or, with the reason in a comment, to none. [`KINDS`] lists every
//! kind with what it records (the README's table is checked against it).
//!
//! Actor: `warden` for the pipeline and Warden's own actions, else the
//! event's actor (`admin`, `user`, an API key's holder). Every string is
//! bounded and cleaned by `AuditEntry`; no secret (password, code, token,
//! link) is ever put in an entry — events carry none.

use std::net::IpAddr;
use std::sync::Arc;

use warden_audit::AuditEntry;
use warden_core::{Clock, Outcome, Timestamp};

use super::writer::Queue;
use crate::events::{DomainEvent, Settling, Subscriber};
use crate::policies::events::PolicyEvent;

/// Every kind the log holds, with what it records. `<...>` stands for
/// a family of kinds named after a value.
pub const KINDS: &[(&str, &str)] = &[
    ("login.recorded", "A login's outcome, one record per login whatever the way in: decision, risk, level, reasons, outcome, refusal, alert, country, city, ASN"),
    ("mail.rejected", "Dovecot's auth policy rejected a check"),
    ("sending.held", "The Postfix policy held back mail of an authenticated sender"),
    ("account.<security event>", "An account or credential change (`account.locked`, `account.password_reset`, `account.two_factor_enabled`, `account.app_password_created`, ...), by an admin, the user or Warden"),
    ("account.codes_throttled", "A second-factor code refused unchecked: too many wrong ones"),
    ("account.source_unblocked", "An admin lifted a network's block for an account"),
    ("geo.corrected", "An admin added, replaced or removed a geolocation correction"),
    ("geo.correction_decided", "An admin accepted or rejected a queued location complaint"),
    ("alert.raised", "An alert was raised"),
    ("alert.acted", "An admin acknowledged, closed or asked to resend an alert"),
    ("alert.answered", "\"Was this you?\" was answered, by the user or an admin for them"),
    ("alert.answer_refused", "An answer link or an answer was refused (forged, expired, used)"),
    ("device.<action>", "Sessions and devices: `device.revoked`, `device.logged_out_everywhere`, `device.approved`, `device.trusted`, `device.forgotten`, `device.held`, `device.reactivated`"),
    ("operation.reported", "The mail or IM system reported a sensitive operation in an account"),
    ("operation.correlated", "A reported operation followed a risky login and raised or joined an alert"),
    ("notify.<action>", "An admin acted on notifications: `notify.channel_tested`, `notify.template_set`, `notify.template_reset`"),
    ("policy.changed", "An admin stored a new version of an access policy"),
    ("policy.groups_set", "An admin set a user's groups"),
    ("policy.would_refuse", "A report-only policy would have refused a login"),
    ("api.unauthorized", "A request presented no valid API key"),
];

/// Whether `kind` is one of [`KINDS`] (a family matches by its prefix).
pub fn is_listed(kind: &str) -> bool {
    KINDS.iter().any(|(k, _)| match k.find('<') {
        Some(i) => kind.starts_with(&k[..i]) && kind.len() > i,
        None => *k == kind,
    })
}

/// The pipeline's own actor.
pub const WARDEN: &str = "warden";

fn entry(at: Timestamp, kind: &str, actor: &str) -> AuditEntry {
    debug_assert!(is_listed(kind), "audit kind {kind} is not in KINDS");
    // Kinds are fixed names in this file (or a fixed prefix and a
    // wire name of a closed set): a bad one is a bug, shown as such.
    AuditEntry::new(at, kind, actor).unwrap_or_else(|_| {
        AuditEntry::new(at, "api.unauthorized", WARDEN)
            .expect("a valid kind")
            .detail("bug", "invalid audit kind")
    })
}

/// Security events say `system` for Warden.
fn actor_name(actor: &str) -> &str {
    if actor == "system" {
        WARDEN
    } else {
        actor
    }
}

fn with_ip(e: AuditEntry, ip: Option<IpAddr>) -> AuditEntry {
    match ip {
        Some(ip) => e.ip(ip),
        None => e,
    }
}

/// The entry `event` makes, at `now` when the event carries no time;
/// `None` for events that are not security-relevant.
pub fn entry_of(event: &DomainEvent<'_>, now: Timestamp) -> Option<AuditEntry> {
    match *event {
        // One record per login: `login.recorded` carries the decision
        // (an evaluation never reported changed nothing).
        DomainEvent::LoginDecided { .. } => None,
        // Incidents: opened, assigned, status, actions, steps, review.
        DomainEvent::Incident(ref e) => Some(e.audit_entry()),
        DomainEvent::LoginRecorded {
            entry: way,
            attempt,
            ip,
            assessment,
            outcome,
            refusal,
            alert,
            ..
        } => {
            let reasons: Vec<&str> = assessment.reasons.iter().map(|r| r.code.as_str()).collect();
            let mut e = entry(attempt.ts, "login.recorded", WARDEN)
                .user(&attempt.user)
                .ip(attempt.ip)
                .detail("entry", way.as_str())
                .detail("protocol", attempt.protocol.as_str())
                .detail("decision", assessment.decision.as_str())
                .detail("risk", format!("{:.3}", assessment.risk))
                .detail("level", assessment.level.as_str())
                .detail("reasons", reasons.join(","));
            e = match outcome {
                Outcome::Success => e.detail("outcome", "success"),
                Outcome::Failure(why) => e
                    .detail("outcome", "failure")
                    .detail("failure", why.as_str()),
            };
            if let Some(r) = refusal {
                e = e.detail("refusal", r.as_str());
            }
            if alert {
                e = e.detail("alert", "true");
            }
            if let Some(c) = ip.location.country {
                e = e.detail("country", c);
            }
            if let Some(city) = &ip.location.city {
                e = e.detail("city", &**city);
            }
            if let Some(asn) = ip.network.asn {
                e = e.detail("asn", asn);
            }
            if let Some(d) = &attempt.device {
                e = e.subject(&format!("device:{d}"));
            }
            Some(e)
        }
        // Dovecot's report of a login Warden's verify already recorded.
        DomainEvent::ReportLeftToVerify { .. } => None,
        // The same login's `login.recorded` carries the refusal.
        DomainEvent::CredentialChecked { .. } => None,
        DomainEvent::MailChecked {
            attempt,
            result,
            refusal,
        } => match result {
            crate::events::MailCheckResult::Reject => {
                let mut e = entry(now, "mail.rejected", WARDEN)
                    .user(&attempt.user)
                    .ip(attempt.ip)
                    .detail("protocol", attempt.protocol.as_str());
                if let Some(r) = refusal {
                    e = e.detail("refusal", r.as_str());
                }
                Some(e)
            }
            // Allowed checks: the login's own record follows.
            _ => None,
        },
        DomainEvent::SendingHeld { user, ip, verdict } => Some(with_ip(
            entry(now, "sending.held", WARDEN)
                .user(user)
                .detail("verdict", verdict.as_str()),
            ip,
        )),
        DomainEvent::AccountChanged { event } => {
            let name = event.kind.to_string();
            let kind = format!("account.{}", name.strip_prefix("account_").unwrap_or(&name));
            let mut e = entry(event.ts, &kind, actor_name(&event.actor)).user(&event.user);
            e = with_ip(e, event.ip);
            if !event.detail.is_empty() {
                e = e.detail("detail", &event.detail);
            }
            Some(e)
        }
        DomainEvent::CodeThrottled { user, ip } => Some(with_ip(
            entry(now, "account.codes_throttled", WARDEN).user(user),
            ip,
        )),
        DomainEvent::GeoCorrected { network, removed } => Some(
            entry(now, "geo.corrected", "admin")
                .subject(&format!("network:{network}"))
                .detail("removed", removed),
        ),
        DomainEvent::AlertAnswered {
            alert_id,
            user,
            answer,
            actor,
            ip,
            at,
            disowned_alert,
            blocked,
            queued_correction,
        } => {
            let mut e = entry(at, "alert.answered", actor.as_str())
                .user(user)
                .subject(&format!("alert:{alert_id}"))
                .detail("answer", answer);
            if let Some(a) = disowned_alert {
                e = e.detail("disowned_alert", a);
            }
            if let Some(n) = blocked {
                e = e.detail("blocked", n);
            }
            if let Some(q) = queued_correction {
                e = e.detail("queued_correction", q);
            }
            Some(with_ip(e, ip))
        }
        DomainEvent::AnswerRefused { why, ip } => Some(with_ip(
            entry(now, "alert.answer_refused", WARDEN).detail("why", why),
            ip,
        )),
        DomainEvent::SourceUnblocked { user, network, ip } => Some(with_ip(
            entry(now, "account.source_unblocked", "admin")
                .user(user)
                .subject(&format!("network:{network}")),
            ip,
        )),
        DomainEvent::CorrectionDecided {
            id,
            state,
            by,
            ip,
            at,
        } => Some(with_ip(
            entry(at, "geo.correction_decided", by)
                .subject(&format!("correction:{id}"))
                .detail("state", state),
            ip,
        )),
        DomainEvent::DeviceActed {
            user,
            device,
            action,
            actor,
            ip,
            at,
            sessions,
        } => {
            let kind = format!("device.{}", action.as_str());
            let mut e = entry(at, &kind, actor_name(actor.as_str()))
                .user(user)
                .detail("sessions", sessions);
            if let Some(d) = device {
                e = e.subject(&format!("device:{d}"));
            }
            Some(with_ip(e, ip))
        }
        DomainEvent::Unauthorized { path } => {
            Some(entry(now, "api.unauthorized", "anonymous").subject(path))
        }
        DomainEvent::AlertRaised { alert } => {
            let mut e = entry(alert.created_at, "alert.raised", WARDEN)
                .subject(&format!("alert:{}", alert.id))
                .detail("alert_kind", alert.kind)
                .detail("grade", alert.grade);
            if let Some(u) = &alert.user {
                e = e.user(u);
            }
            if let Some(c) = alert.country {
                e = e.detail("country", c);
            }
            Some(with_ip(e, alert.ip))
        }
        // Bookkeeping of the alert worker: the alert itself is recorded.
        DomainEvent::AlertsFolded { .. } => None,
        DomainEvent::AlertActed {
            id,
            action,
            actor,
            at,
            ip,
        } => Some(with_ip(
            entry(at, "alert.acted", actor)
                .subject(&format!("alert:{id}"))
                .detail("action", action.as_str()),
            ip,
        )),
        // Upkeep of the history: not an action on anyone's security.
        DomainEvent::HistoryPruned { .. } => None,
        DomainEvent::OperationReported {
            operation,
            actor,
            ip,
            at,
            duplicate,
        } => {
            if duplicate {
                // The same report again changed nothing.
                return None;
            }
            let mut e = entry(at, "operation.reported", actor)
                .user(&operation.user)
                .subject(&format!("operation:{}", operation.id))
                .detail("operation", operation.kind)
                .detail("source", &operation.source)
                .detail("grade", operation.grade)
                .detail("external", operation.external);
            if let Some(t) = &operation.target {
                e = e.detail("target", t);
            }
            if let Some(ip) = operation.ip {
                e = e.detail("operation_ip", ip);
            }
            Some(with_ip(e, ip))
        }
        DomainEvent::OperationCorrelated {
            operation,
            alert_id,
            folded,
        } => {
            let mut e = entry(now, "operation.correlated", WARDEN)
                .user(&operation.user)
                .subject(&format!("operation:{}", operation.id))
                .detail("grade", operation.grade)
                .detail("folded", folded);
            if let Some(a) = alert_id {
                e = e.detail("alert", a);
            }
            Some(e)
        }
        // Delivery bookkeeping: the alert is recorded, its mail is not
        // a security action.
        DomainEvent::AlertFannedOut { .. } => None,
        DomainEvent::DeliveryAttempted { .. } => None,
        DomainEvent::NotifyAdmin {
            action,
            target,
            lang,
            actor,
            ip,
            at,
        } => {
            let kind = format!("notify.{}", action.as_str());
            let mut e = entry(at, &kind, actor).subject(target);
            if let Some(l) = lang {
                e = e.detail("lang", l);
            }
            Some(with_ip(e, ip))
        }
        DomainEvent::Policy(ref p) => Some(policy_entry(p, now)),
    }
}

fn policy_entry(p: &PolicyEvent<'_>, now: Timestamp) -> AuditEntry {
    match *p {
        PolicyEvent::Changed {
            scope,
            target,
            version,
            change,
            mode,
            actor,
            ip,
            at,
        } => with_ip(
            entry(at, "policy.changed", actor)
                .subject(&format!("policy:{}:{target}", scope.as_str()))
                .detail("version", version)
                .detail("change", change.as_str())
                .detail("mode", mode.as_str()),
            ip,
        ),
        PolicyEvent::GroupsSet {
            user,
            groups,
            actor,
            ip,
            at,
        } => {
            let groups: Vec<&str> = groups.iter().map(|g| &**g).collect();
            with_ip(
                entry(at, "policy.groups_set", actor)
                    .user(user)
                    .detail("groups", groups.join(",")),
                ip,
            )
        }
        PolicyEvent::WouldRefuse { attempt, refusal } => entry(now, "policy.would_refuse", WARDEN)
            .user(&attempt.user)
            .ip(attempt.ip)
            .detail("scope", refusal.source.scope.as_str())
            .detail("reason", refusal.text(warden_core::Lang::En)),
    }
}

/// The subscriber: maps each event and queues its entry.
pub struct AuditTrail {
    queue: Arc<Queue>,
    clock: Arc<dyn Clock + Send + Sync>,
    settle_timeout: std::time::Duration,
}

impl AuditTrail {
    pub(crate) fn new(queue: Arc<Queue>, clock: Arc<dyn Clock + Send + Sync>) -> AuditTrail {
        AuditTrail {
            queue,
            clock,
            settle_timeout: std::time::Duration::from_secs(10),
        }
    }

    /// The longest [`Subscriber::settled`] waits.
    pub fn settle_timeout(mut self, t: std::time::Duration) -> Self {
        self.settle_timeout = t;
        self
    }
}

impl Subscriber for AuditTrail {
    fn on(&self, event: &DomainEvent<'_>) {
        match entry_of(event, self.clock.now()) {
            Some(e) => self.queue.push(e),
            None => self.queue.nothing(),
        }
    }

    fn settled(&self) -> Option<Settling<'_>> {
        Some(self.queue.settled(self.settle_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::scoped::{PolicyMode, Scope};
    use warden_core::{SecurityEvent, SecurityEventKind};

    /// The README's kinds table, as [`KINDS`] gives it.
    fn table() -> String {
        let mut t = String::from("| Kind | What it records |\n|---|---|\n");
        for (k, d) in KINDS {
            t.push_str(&format!("| `{k}` | {d} |\n"));
        }
        t
    }

    #[test]
    fn the_readme_lists_every_kind() {
        let readme = include_str!("../../../../README.md");
        assert!(
            readme.contains(&table()),
            "README's audit kinds table differs from KINDS; it should read:\n{}",
            table()
        );
    }

    #[test]
    fn an_account_change_is_its_security_event_by_its_actor() {
        let ev = SecurityEvent {
            id: 3,
            ts: Timestamp(1_700_000_000),
            user: "kim@example.com".into(),
            kind: SecurityEventKind::AccountLocked,
            actor: "admin".into(),
            ip: Some("10.0.0.9".parse().unwrap()),
            detail: "laptop stolen".into(),
        };
        let e = entry_of(&DomainEvent::AccountChanged { event: &ev }, Timestamp(1)).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.actor.as_str(), e.at),
            ("account.locked", "admin", Timestamp(1_700_000_000))
        );
        assert_eq!(e.user.as_deref(), Some("kim@example.com"));
        assert_eq!(e.ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(e.get("detail"), Some("laptop stolen"));
        let by_warden = SecurityEvent {
            kind: SecurityEventKind::TwoFactorCodesLocked,
            actor: "system".into(),
            ..ev
        };
        let e = entry_of(
            &DomainEvent::AccountChanged { event: &by_warden },
            Timestamp(1),
        )
        .unwrap();
        assert_eq!(
            (e.kind.as_str(), e.actor.as_str()),
            ("account.two_factor_codes_locked", "warden")
        );
        // Every security event makes a listed kind.
        for k in SecurityEventKind::ALL {
            let ev = SecurityEvent {
                kind: *k,
                ..by_warden.clone()
            };
            let e = entry_of(&DomainEvent::AccountChanged { event: &ev }, Timestamp(1)).unwrap();
            assert!(is_listed(&e.kind), "{}", e.kind);
        }
    }

    #[test]
    fn a_policy_change_names_its_scope_target_and_version() {
        let e = entry_of(
            &DomainEvent::Policy(PolicyEvent::Changed {
                scope: Scope::Group,
                target: "sales",
                version: 4,
                change: crate::policies::events::PolicyChange::Restored,
                mode: PolicyMode::Enforce,
                actor: "admin",
                ip: None,
                at: Timestamp(5),
            }),
            Timestamp(9),
        )
        .unwrap();
        assert_eq!((e.kind.as_str(), e.at), ("policy.changed", Timestamp(5)));
        assert_eq!(e.subject.as_deref(), Some("policy:group:sales"));
        assert_eq!(e.get("version"), Some("4"));
        assert_eq!(e.get("change"), Some("restored"));
        assert_eq!(e.ip, None);
    }

    #[test]
    fn bookkeeping_events_make_no_record() {
        assert!(entry_of(&DomainEvent::HistoryPruned { rows: 3 }, Timestamp(1)).is_none());
        assert!(entry_of(
            &DomainEvent::AlertFannedOut {
                alert_id: 1,
                deliveries: 2
            },
            Timestamp(1)
        )
        .is_none());
        assert!(is_listed("device.revoked") && is_listed("login.recorded"));
        assert!(!is_listed("device.") && !is_listed("login.other"));
    }
}
