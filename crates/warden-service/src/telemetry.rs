//! Metrics and structured logs, derived from the domain events in this one
//! place: every metric name Warden exports from the pipeline is here.

use warden_core::Outcome;

use crate::events::{DomainEvent, EntryPoint, MailCheckResult, Subscriber};

/// The metrics and log subscriber.
#[derive(Debug, Clone, Copy, Default)]
pub struct Telemetry;

impl Subscriber for Telemetry {
    fn on(&self, event: &DomainEvent<'_>) {
        match *event {
            DomainEvent::LoginDecided {
                entry: EntryPoint::Evaluate,
                assessment,
                elapsed,
                ..
            } => {
                metrics::counter!("warden_evaluations_total", "decision" => assessment.decision.as_str())
                    .increment(1);
                metrics::histogram!("warden_evaluate_seconds").record(elapsed.as_secs_f64());
            }
            DomainEvent::LoginDecided { .. } => {}
            DomainEvent::LoginRecorded {
                entry,
                attempt,
                outcome,
                refusal,
                alert,
                elapsed,
                ..
            } => {
                match entry {
                    EntryPoint::Evaluate => {
                        let label = if outcome.is_success() {
                            "success"
                        } else {
                            "failure"
                        };
                        metrics::counter!("warden_reports_total", "outcome" => label).increment(1);
                        metrics::histogram!("warden_report_seconds").record(elapsed.as_secs_f64());
                    }
                    EntryPoint::DovecotPolicy => {
                        let label = match outcome {
                            Outcome::Success => "success",
                            _ if refusal.is_some() => "refused",
                            Outcome::Failure(warden_core::FailureReason::Blocked) => "refused",
                            Outcome::Failure(_) => "failure",
                        };
                        metrics::counter!("warden_dovecot_policy_total", "command" => "report", "result" => label)
                            .increment(1);
                    }
                    _ => {}
                }
                if alert {
                    metrics::counter!("warden_alerts_total").increment(1);
                    tracing::info!(
                        user = %attempt.user,
                        ip = %attempt.ip,
                        protocol = attempt.protocol.as_str(),
                        entry = entry.as_str(),
                        "login with an alert"
                    );
                }
            }
            DomainEvent::ReportLeftToVerify { .. } => {
                metrics::counter!("warden_dovecot_policy_total", "command" => "report", "result" => "verified_by_warden")
                    .increment(1);
            }
            DomainEvent::CredentialChecked { refusal, .. } => {
                metrics::counter!("warden_verifications_total", "result" => refusal.map_or("ok", |r| r.as_str()))
                    .increment(1);
            }
            DomainEvent::MailChecked {
                attempt,
                result,
                refusal,
            } => {
                metrics::counter!("warden_dovecot_policy_total", "command" => "allow", "result" => result.as_str())
                    .increment(1);
                if result == MailCheckResult::Reject {
                    tracing::info!(
                        user = %attempt.user,
                        ip = %attempt.ip,
                        protocol = attempt.protocol.as_str(),
                        reason = refusal.map_or("", |r| r.as_str()),
                        "dovecot policy refused a login"
                    );
                }
            }
            DomainEvent::SendingHeld { user, ip, verdict } => {
                metrics::counter!("warden_postfix_held_total", "verdict" => verdict.as_str())
                    .increment(1);
                tracing::warn!(user, ip = ?ip, verdict = verdict.as_str(), "postfix policy held back outbound mail");
            }
            DomainEvent::AccountChanged { event } => {
                metrics::counter!("warden_account_changes_total", "kind" => event.kind.as_str())
                    .increment(1);
                tracing::info!(
                    user = %event.user,
                    kind = event.kind.as_str(),
                    actor = %event.actor,
                    ip = ?event.ip,
                    "account changed"
                );
            }
            DomainEvent::CodeThrottled { user, ip } => {
                metrics::counter!("warden_second_factor_throttled_total").increment(1);
                tracing::debug!(user, ip = ?ip, "second-factor code refused: too many wrong codes");
            }
            DomainEvent::GeoCorrected { network, removed } => {
                metrics::counter!("warden_geo_corrections_changed_total").increment(1);
                tracing::info!(%network, removed, "geolocation correction changed");
            }
            DomainEvent::Unauthorized { path } => {
                metrics::counter!("warden_unauthorized_total").increment(1);
                tracing::debug!(path, "request without a valid API key");
            }
            DomainEvent::HistoryPruned { rows } => {
                metrics::counter!("warden_history_pruned_total").increment(rows);
            }
        }
    }
}
