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
                // `user` is what the request said: one clean line in the log.
                let user = warden_core::text::one_line(user, 64);
                tracing::warn!(%user, ip = ?ip, verdict = verdict.as_str(), "postfix policy held back outbound mail");
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
            DomainEvent::AlertAnswered {
                alert_id,
                user,
                answer,
                actor,
                ip,
                disowned_alert,
                blocked,
                queued_correction,
                ..
            } => {
                metrics::counter!("warden_alert_answers_total", "answer" => answer.as_str(), "actor" => actor.as_str())
                    .increment(1);
                tracing::info!(
                    alert_id,
                    user,
                    answer = answer.as_str(),
                    actor = actor.as_str(),
                    ip = ?ip,
                    disowned_alert = ?disowned_alert,
                    blocked = ?blocked,
                    queued_correction = ?queued_correction,
                    "alert answered"
                );
            }
            DomainEvent::AnswerRefused { why, ip } => {
                metrics::counter!("warden_alert_answers_refused_total", "why" => why).increment(1);
                tracing::debug!(why, ip = ?ip, "answer link refused");
            }
            DomainEvent::SourceUnblocked { user, network, ip } => {
                metrics::counter!("warden_source_blocks_lifted_total").increment(1);
                tracing::info!(user, %network, ip = ?ip, "source block lifted");
            }
            DomainEvent::CorrectionDecided {
                id, state, by, ip, ..
            } => {
                metrics::counter!("warden_correction_requests_decided_total", "state" => state.as_str())
                    .increment(1);
                // `by` is the admin's own label: one clean line in the log.
                let by = warden_core::text::one_line(by, 64);
                tracing::info!(id, state = state.as_str(), %by, ip = ?ip, "location complaint decided");
            }
            DomainEvent::DeviceActed {
                user,
                device,
                action,
                actor,
                ip,
                at,
                sessions,
            } => {
                metrics::counter!("warden_device_actions_total", "action" => action.as_str())
                    .increment(1);
                tracing::info!(
                    user,
                    device = device.map(|d| warden_core::text::one_line(d, 128)),
                    action = action.as_str(),
                    actor = actor.as_str(),
                    ip = ?ip,
                    at = at.secs(),
                    sessions,
                    "device action"
                );
            }
            DomainEvent::Unauthorized { path } => {
                metrics::counter!("warden_unauthorized_total").increment(1);
                tracing::debug!(path, "request without a valid API key");
            }
            DomainEvent::AlertRaised { alert } => {
                metrics::counter!("warden_alerts_raised_total", "kind" => alert.kind.as_str(), "grade" => alert.grade.as_str())
                    .increment(1);
                if alert.kind == warden_core::AlertKind::Summary {
                    metrics::counter!("warden_alert_summaries_total").increment(1);
                }
                tracing::info!(
                    alert = alert.id,
                    kind = alert.kind.as_str(),
                    grade = alert.grade.as_str(),
                    user = alert.user.as_deref().unwrap_or(""),
                    ip = ?alert.ip,
                    notify_user = alert.notify_user,
                    notify_admins = alert.notify_admins,
                    "alert raised"
                );
            }
            DomainEvent::AlertsFolded { kind, repeats } => {
                metrics::counter!("warden_alert_repeats_folded_total", "kind" => kind.as_str())
                    .increment(u64::from(repeats));
            }
            DomainEvent::AlertActed {
                id,
                action,
                actor,
                at,
                ip,
            } => {
                metrics::counter!("warden_alert_actions_total", "action" => action.as_str())
                    .increment(1);
                tracing::info!(
                    alert = id,
                    action = action.as_str(),
                    actor,
                    at = at.secs(),
                    ip = ?ip,
                    "alert action"
                );
            }
            DomainEvent::OperationReported {
                operation,
                actor,
                ip,
                at,
                duplicate,
            } => {
                metrics::counter!("warden_operations_reported_total", "kind" => operation.kind.as_str(), "grade" => operation.grade.as_str())
                    .increment(u64::from(!duplicate));
                tracing::info!(
                    operation = operation.id,
                    kind = operation.kind.as_str(),
                    grade = operation.grade.as_str(),
                    user = &*operation.user,
                    source = operation.source.as_str(),
                    actor,
                    ip = ?ip,
                    at = at.secs(),
                    duplicate,
                    "sensitive operation reported"
                );
            }
            DomainEvent::OperationCorrelated {
                operation,
                alert_id,
                folded,
            } => {
                metrics::counter!("warden_operations_correlated_total", "kind" => operation.kind.as_str(), "grade" => operation.grade.as_str())
                    .increment(1);
                tracing::warn!(
                    operation = operation.id,
                    kind = operation.kind.as_str(),
                    grade = operation.grade.as_str(),
                    user = &*operation.user,
                    login_event = ?operation.login_event_id,
                    alert = ?alert_id,
                    folded,
                    "sensitive operation after a risky login"
                );
            }
            DomainEvent::HistoryPruned { rows } => {
                metrics::counter!("warden_history_pruned_total").increment(rows);
            }
            DomainEvent::AlertFannedOut {
                alert_id,
                deliveries,
            } => {
                metrics::counter!("warden_notify_queued_total").increment(deliveries as u64);
                tracing::debug!(alert_id, deliveries, "alert deliveries queued");
            }
            DomainEvent::DeliveryAttempted {
                delivery,
                kind,
                error,
                gave_up,
                elapsed,
            } => {
                let kind = kind.map(|k| k.as_str()).unwrap_or("unknown");
                metrics::histogram!("warden_notify_send_seconds", "kind" => kind)
                    .record(elapsed.as_secs_f64());
                match error {
                    None => {
                        metrics::counter!("warden_notify_sent_total", "kind" => kind).increment(1);
                        tracing::info!(
                            delivery = delivery.id,
                            alert = delivery.alert_id,
                            channel = %delivery.channel,
                            attempts = delivery.attempts + 1,
                            "notification sent"
                        );
                    }
                    Some(error) => {
                        metrics::counter!("warden_notify_send_errors_total", "kind" => kind)
                            .increment(1);
                        if gave_up {
                            metrics::counter!("warden_notify_failed_total", "kind" => kind)
                                .increment(1);
                        }
                        tracing::warn!(
                            delivery = delivery.id,
                            alert = delivery.alert_id,
                            channel = %delivery.channel,
                            attempts = delivery.attempts + 1,
                            gave_up,
                            error,
                            "notification not sent"
                        );
                    }
                }
            }
            DomainEvent::Policy(e) => crate::policies::events::log(&e),
            DomainEvent::Incident(e) => crate::incidents::events::log(&e),
            DomainEvent::NotifyAdmin {
                action,
                target,
                lang,
                actor,
                ip,
                at,
            } => {
                metrics::counter!("warden_notify_admin_actions_total", "action" => action.as_str())
                    .increment(1);
                tracing::info!(
                    action = action.as_str(),
                    target,
                    lang = lang.map(|l| l.as_str()),
                    actor,
                    ip = ?ip,
                    at = at.secs(),
                    "notification admin action"
                );
            }
        }
    }
}

/// A session refresh was dropped: the recording queue was full
/// ([`crate::devices`]); the device's next login refreshes it again.
pub fn session_refresh_dropped() {
    metrics::counter!("warden_session_refreshes_dropped_total").increment(1);
}

/// Sets the gauges of the short-lived state's sizes: entries and estimated
/// bytes per map (`warden_short_lived_entries{map}`,
/// `warden_short_lived_bytes{map}`), besides the older per-map gauges.
pub fn short_lived_gauges(s: &crate::shortlived::ShortLivedStats) {
    let maps = [
        ("pending_evaluations", s.pending, s.pending_bytes),
        ("mail_sessions", s.mail_sessions, s.mail_session_bytes),
        ("login_tickets", s.tickets, s.ticket_bytes),
        ("sending_rates", s.senders, s.sender_bytes),
        ("sender_logins", s.sender_logins, s.sender_login_bytes),
        ("attack_counters", s.counter_keys, s.counter_bytes),
    ];
    for (map, entries, bytes) in maps {
        metrics::gauge!("warden_short_lived_entries", "map" => map).set(entries as f64);
        metrics::gauge!("warden_short_lived_bytes", "map" => map).set(bytes as f64);
    }
    metrics::gauge!("warden_counter_keys").set(s.counter_keys as f64);
    metrics::gauge!("warden_lockouts_active").set(s.lockouts as f64);
    metrics::gauge!("warden_pending_evaluations").set(s.pending as f64);
    metrics::gauge!("warden_mail_sessions").set(s.mail_sessions as f64);
    metrics::gauge!("warden_login_tickets").set(s.tickets as f64);
    metrics::gauge!("warden_sending_accounts").set(s.senders as f64);
}
