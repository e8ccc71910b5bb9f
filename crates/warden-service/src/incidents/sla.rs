//! SLA timers: a ticker (spawned by `serve`, like the alert worker's loop)
//! that finds the playbook steps past their due time and raises one
//! `incident_overdue` alert per step to the admins. Once per step, whoever
//! races and across a crash: the alert's dedupe key names the step (an
//! alert stored before a crash is not raised again) and the step is then
//! marked alerted conditionally.

use std::sync::Arc;

use warden_core::{Alert, AlertKind, AlertState, Grade};
use warden_store::{Backend, OverdueStep};

use super::events::IncidentEvent;
use crate::events::DomainEvent;
use crate::notify::view::local_time;
use crate::{Service, ServiceError};

/// The most overdue steps one pass handles.
pub const SLA_BATCH: u32 = 100;

/// Looks for overdue steps every `incidents.sla_poll` until `shutdown`.
pub async fn run<S: Backend>(
    service: Arc<Service<S>>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    let mut tick = tokio::time::interval(service.incidents.sla_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tick.tick() => {
                if let Err(e) = service.check_overdue_steps().await {
                    tracing::warn!(error = %e, "could not check incident steps for overdue ones");
                }
            }
        }
    }
}

impl<S: Backend> Service<S> {
    /// One pass: an alert for each step past its due time not alerted
    /// before. Returns how many alerts it raised.
    pub async fn check_overdue_steps(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut raised = 0;
        for o in self.store.overdue_steps(now, SLA_BATCH).await? {
            let key = format!("incident_overdue|{}|{}", o.incident_id, o.step.step);
            let alert_id = match self.store.latest_alert(&key).await? {
                Some(a) => a.id,
                None => {
                    let alert = self.overdue_alert(&o, key, now);
                    let id = self.store.insert_alert(&alert).await?;
                    let alert = Alert { id, ..alert };
                    self.events
                        .publish(DomainEvent::AlertRaised { alert: &alert });
                    raised += 1;
                    id
                }
            };
            if self
                .store
                .mark_overdue_alerted(o.incident_id, &o.step.step, now)
                .await?
            {
                self.publish_durable(DomainEvent::Incident(IncidentEvent::StepOverdue {
                    id: o.incident_id,
                    step: &o.step.step,
                    alert_id,
                    at: now,
                }))
                .await?;
            }
        }
        Ok(raised)
    }

    fn overdue_alert(&self, o: &OverdueStep, key: String, now: warden_core::Timestamp) -> Alert {
        let note = format!(
            "incident {} ({}): step \"{}\" ({}) owned by {} was due at {}",
            o.incident_id,
            o.grade.as_str().to_uppercase(),
            o.step.title_en,
            o.step.step,
            o.step.owner,
            local_time(o.step.due_at, self.utc_offset()),
        );
        Alert {
            id: 0,
            kind: AlertKind::IncidentOverdue,
            grade: Grade::Warning,
            state: AlertState::Open,
            user: o.user.as_deref().map(Into::into),
            created_at: now,
            ts: o.step.due_at,
            last_ts: o.step.due_at,
            count: 1,
            dedupe_key: key,
            notify_user: false,
            notify_admins: true,
            ip: None,
            country: None,
            region: None,
            city: None,
            asn: None,
            isp: None,
            device: None,
            client: None,
            protocol: None,
            decision: None,
            succeeded: true,
            reasons: Vec::new(),
            event_id: None,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: warden_core::text::one_line(&note, warden_store::MAX_ALERT_NOTE_CHARS),
        }
    }
}
