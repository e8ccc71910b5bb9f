//! Opening incidents automatically. [`IncidentOpener`] subscribes to the
//! events that mean a login really was an attack
//! (`warden_core::incident::trigger_grade`): a critical alert of a
//! successful login from an unusual place, a "no, it wasn't me" answer, a
//! critical correlated sensitive operation. On the publishing thread it
//! only copies the trigger into a bounded queue (a full queue drops it,
//! counted); [`run`] (spawned by `serve`) opens an incident for each, or
//! attaches it to the user's incident that is not closed — one open
//! incident per user at a time.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::mpsc;
use warden_core::incident::{
    trigger_grade, AffectedKind, IncidentGrade, Trigger, TriggerEvent, TriggerKind,
};
use warden_core::{Answer, Name, Timestamp};
use warden_store::{Backend, Opened};

use crate::events::{DomainEvent, Subscriber};
use crate::{Service, ServiceError};

/// Triggers waiting for the worker, at most.
pub const TRIGGER_QUEUE: usize = 1024;

/// One trigger for the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedTrigger {
    pub grade: IncidentGrade,
    pub user: Name,
    pub kind: TriggerKind,
    /// The alert, answered alert or operation.
    pub ref_id: i64,
    pub at: Timestamp,
    /// The risky login's time and address, when the event carries them.
    pub login_at: Option<Timestamp>,
    pub ip: Option<IpAddr>,
    pub device: Option<String>,
    /// What happened, for the title ("forwarding_rule after a risky
    /// sign-in").
    pub what: String,
}

/// The subscriber: a bounded queue.
pub struct IncidentOpener {
    tx: mpsc::Sender<QueuedTrigger>,
    clock: Arc<dyn warden_core::Clock + Send + Sync>,
}

impl IncidentOpener {
    /// The subscriber and the receiving end [`run`] drains.
    pub fn new(
        clock: Arc<dyn warden_core::Clock + Send + Sync>,
    ) -> (Arc<Self>, mpsc::Receiver<QueuedTrigger>) {
        let (tx, rx) = mpsc::channel(TRIGGER_QUEUE);
        (Arc::new(IncidentOpener { tx, clock }), rx)
    }

    fn queue(&self, t: QueuedTrigger) {
        if self.tx.try_send(t).is_err() {
            metrics::counter!("warden_incident_triggers_dropped_total").increment(1);
        }
    }
}

impl Subscriber for IncidentOpener {
    fn on(&self, event: &DomainEvent<'_>) {
        match event {
            DomainEvent::AlertRaised { alert } => {
                let e = TriggerEvent::Alert {
                    kind: alert.kind,
                    grade: alert.grade,
                    succeeded: alert.succeeded,
                };
                if let (Some(grade), Some(user)) = (trigger_grade(e), alert.user.clone()) {
                    self.queue(QueuedTrigger {
                        grade,
                        user,
                        kind: TriggerKind::Alert,
                        ref_id: alert.id,
                        at: self.clock.now(),
                        login_at: Some(alert.ts),
                        ip: alert.ip,
                        device: alert.device.clone(),
                        what: format!("critical {} alert", alert.kind),
                    });
                }
            }
            DomainEvent::AlertAnswered {
                alert_id,
                user,
                answer: Answer::NotMe,
                at,
                ..
            } => {
                if let Some(grade) = trigger_grade(TriggerEvent::NotMe) {
                    self.queue(QueuedTrigger {
                        grade,
                        user: Name::from(*user),
                        kind: TriggerKind::Answer,
                        ref_id: *alert_id,
                        at: *at,
                        login_at: None,
                        ip: None,
                        device: None,
                        what: "\"no, it wasn't me\"".into(),
                    });
                }
            }
            DomainEvent::OperationCorrelated { operation, .. } => {
                let e = TriggerEvent::Operation {
                    kind: operation.kind,
                    grade: operation.grade,
                };
                if let Some(grade) = trigger_grade(e) {
                    self.queue(QueuedTrigger {
                        grade,
                        user: operation.user.clone(),
                        kind: TriggerKind::Operation,
                        ref_id: operation.id,
                        at: self.clock.now(),
                        login_at: None,
                        ip: None,
                        device: None,
                        what: format!("{} after a risky sign-in", operation.kind),
                    });
                }
            }
            _ => {}
        }
    }
}

/// Opens or attaches each queued trigger until the queue closes.
pub async fn run<S: Backend>(service: Arc<Service<S>>, mut rx: mpsc::Receiver<QueuedTrigger>) {
    while let Some(t) = rx.recv().await {
        if !service.incidents.auto_open {
            continue;
        }
        if let Err(e) = service.open_for(&t).await {
            tracing::warn!(error = %e, "could not open an incident");
        }
    }
}

impl<S: Backend> Service<S> {
    /// Opens (or attaches) the incident of one queued trigger. The risky
    /// login's time and address come from the event, else from the alert
    /// the trigger names (an answer's alert, an operation's alert).
    pub async fn open_for(&self, t: &QueuedTrigger) -> Result<Opened, ServiceError> {
        let (mut login_at, mut ip, mut device) = (t.login_at, t.ip, t.device.clone());
        let alert_id = match t.kind {
            TriggerKind::Answer => Some(t.ref_id),
            TriggerKind::Operation => self
                .store
                .operation(t.ref_id)
                .await?
                .and_then(|op| op.alert_id),
            _ => None,
        };
        if let (None, Some(id)) = (login_at, alert_id) {
            if let Some(a) = self.store.alert(id).await? {
                login_at = Some(a.ts);
                ip = ip.or(a.ip);
                device = device.or(a.device);
            }
        }
        let mut affected = Vec::new();
        if let Some(ip) = ip {
            affected.push((AffectedKind::Address, ip.to_string()));
        }
        if let Some(d) = device {
            affected.push((AffectedKind::Device, warden_core::text::one_line(&d, 128)));
        }
        let trigger = Trigger {
            kind: t.kind,
            ref_id: Some(t.ref_id),
            at: t.at,
        };
        self.open_from_trigger(t.grade, &t.user, trigger, login_at, affected, &t.what)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{Alert, AlertKind, AlertState, Grade};

    struct Fixed;

    impl warden_core::Clock for Fixed {
        fn now(&self) -> Timestamp {
            Timestamp(1_750_000_000)
        }
    }

    fn alert(kind: AlertKind, grade: Grade) -> Alert {
        Alert {
            grade,
            kind,
            state: AlertState::Open,
            ..crate::notify::tests::alert()
        }
    }

    #[test]
    fn only_critical_compromise_alerts_answers_and_operations_are_queued() {
        let (opener, mut rx) = IncidentOpener::new(Arc::new(Fixed));
        opener.on(&DomainEvent::AlertRaised {
            alert: &alert(AlertKind::UnusualLocation, Grade::Warning),
        });
        opener.on(&DomainEvent::AlertRaised {
            alert: &alert(AlertKind::BruteForce, Grade::Critical),
        });
        assert!(rx.try_recv().is_err());
        opener.on(&DomainEvent::AlertRaised {
            alert: &alert(AlertKind::UnusualLocation, Grade::Critical),
        });
        let t = rx.try_recv().unwrap();
        assert_eq!(t.grade, IncidentGrade::L1);
        assert_eq!(t.kind, TriggerKind::Alert);
        assert_eq!(t.ref_id, 7);
        assert_eq!(&*t.user, "kim@example.com");
        assert_eq!(t.ip, Some("102.89.1.2".parse().unwrap()));
    }

    #[test]
    fn a_full_queue_drops_triggers_instead_of_blocking() {
        let (opener, _rx) = IncidentOpener::new(Arc::new(Fixed));
        let a = alert(AlertKind::UnusualLocation, Grade::Critical);
        for _ in 0..TRIGGER_QUEUE + 5 {
            opener.on(&DomainEvent::AlertRaised { alert: &a });
        }
        assert_eq!(opener.tx.capacity(), 0);
    }
}
