//! Recording sessions off the login path: the `LoginRecorded` subscriber
//! pushes a successful login's session onto a bounded queue without
//! waiting, and [`run`] writes the queue to the store.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use warden_core::{DeviceSession, Outcome, SessionState};
use warden_store::Backend;

use crate::events::{DomainEvent, Subscriber};
use crate::Service;

/// Refreshes waiting to be written at most; beyond them a refresh is
/// dropped (the next login of that device refreshes it again).
pub const QUEUE_CAPACITY: usize = 8192;

pub(crate) enum Item {
    Seen(Box<DeviceSession>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The queue between the subscriber and the writer task.
pub(crate) struct Queue {
    tx: mpsc::Sender<Item>,
    rx: Mutex<Option<mpsc::Receiver<Item>>>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("capacity", &self.tx.max_capacity())
            .finish()
    }
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity);
        Queue {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }

    /// Waits until what was queued before is written; at once when no
    /// writer task runs (nothing would ever write it).
    pub(crate) async fn flush(&self) {
        if self.rx.lock().is_some() {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.tx.send(Item::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The `LoginRecorded` subscriber: queues the session of every successful
/// login (any entry point). Never waits and never fails the login.
#[derive(Debug)]
pub struct SessionRecorder(pub(crate) Arc<Queue>);

impl Subscriber for SessionRecorder {
    fn on(&self, event: &DomainEvent<'_>) {
        let DomainEvent::LoginRecorded {
            attempt,
            ip,
            outcome: Outcome::Success,
            refusal: None,
            ..
        } = event
        else {
            return;
        };
        let s = DeviceSession::observed(attempt, ip, SessionState::Active, "system");
        if self.0.tx.try_send(Item::Seen(Box::new(s))).is_err() {
            crate::telemetry::session_refresh_dropped();
        }
    }
}

/// Writes the queued sessions until `stop` completes, then what is queued.
/// Takes the queue's receiver: one writer per service (a second call
/// returns at once).
pub async fn run<S: Backend>(
    service: Arc<Service<S>>,
    stop: impl std::future::Future<Output = ()> + Send,
) {
    let Some(mut rx) = service.devices.queue.rx.lock().take() else {
        return;
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => service.write_session(item).await,
                None => return,
            },
            _ = &mut stop => break,
        }
    }
    while let Ok(item) = rx.try_recv() {
        service.write_session(item).await;
    }
}

impl<S: Backend> Service<S> {
    async fn write_session(&self, item: Item) {
        match item {
            Item::Seen(s) => {
                if let Err(e) = self
                    .store
                    .record_session(&s, self.devices.keep_per_user)
                    .await
                {
                    tracing::warn!(user = %s.user, error = %e, "recording a session failed");
                }
            }
            Item::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use warden_core::{
        Assessment, Decision, FailureReason, IpInfo, Level, LoginAttempt, Protocol, Timestamp,
    };

    use super::*;

    fn attempt(device: &str) -> LoginAttempt {
        LoginAttempt::new(
            Timestamp(1_772_323_200),
            "kim@example.com",
            "113.88.1.10".parse().unwrap(),
            Protocol::Imap,
            Some(device),
            None,
        )
        .unwrap()
    }

    fn recorded(r: &SessionRecorder, a: &LoginAttempt, outcome: Outcome) {
        let assessment = Assessment {
            decision: Decision::Allow,
            risk: 0.0,
            level: Level::Low,
            alert: false,
            reasons: Vec::new(),
        };
        r.on(&DomainEvent::LoginRecorded {
            entry: crate::events::EntryPoint::Verify,
            attempt: a,
            ip: &IpInfo::unknown(a.ip),
            assessment: &assessment,
            outcome,
            refusal: None,
            alert: false,
            elapsed: Duration::ZERO,
        });
    }

    #[test]
    fn successes_are_queued_failures_are_not_and_a_full_queue_drops_without_waiting() {
        let queue = Arc::new(Queue::new(2));
        let r = SessionRecorder(queue.clone());
        recorded(
            &r,
            &attempt("phone"),
            Outcome::Failure(FailureReason::WrongPassword),
        );
        for d in ["phone", "laptop", "tablet"] {
            recorded(&r, &attempt(d), Outcome::Success);
        }
        let mut rx = queue.rx.lock().take().unwrap();
        let mut got = Vec::new();
        while let Ok(Item::Seen(s)) = rx.try_recv() {
            got.push(s.device.clone());
        }
        // The third success found the queue full and was dropped.
        assert_eq!(got, ["id:phone", "id:laptop"]);
    }
}
