//! Post-login signs of a compromised mailbox, raised as alerts: successful
//! mail logins (IMAP, POP3, SMTP AUTH) of one account from many countries
//! or networks within a day (`warden_core::compromise::Spread`), and mail
//! the Postfix policy deferred for its sending rate.
//!
//! [`CompromiseWatch`] subscribes to `LoginRecorded` and `SendingHeld`: on
//! the publishing thread it only updates its bounded state and queues a
//! signal (a full queue drops it, counted); [`run`] (spawned by `serve`)
//! turns the queued signals into alerts, one per account, kind and day.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use warden_core::compromise::{Spread, SpreadLimits, SpreadSignal};
use warden_core::{countries, Alert, AlertKind, AlertState, Grade, Name, Protocol, Timestamp};
use warden_store::Backend;

use crate::events::{DomainEvent, SendingVerdict, Subscriber};
use crate::{Service, ServiceError};

/// Signals waiting for the worker, at most.
pub const SIGNAL_QUEUE: usize = 1024;

/// Accounts whose sending burst was signalled in the last day, at most.
const MAX_BURST_USERS: usize = 10_000;

/// One sign for the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Spread {
        user: Name,
        ts: Timestamp,
        ip: IpAddr,
        spread: SpreadSignal,
    },
    Burst {
        user: Name,
        ts: Timestamp,
        ip: Option<IpAddr>,
    },
}

/// The subscriber: bounded state and a bounded queue.
pub struct CompromiseWatch {
    spread: Mutex<Spread>,
    bursts: Mutex<HashMap<Name, Timestamp>>,
    clock: Arc<dyn warden_core::Clock + Send + Sync>,
    tx: mpsc::Sender<Signal>,
}

impl CompromiseWatch {
    /// The subscriber and the receiving end [`run`] drains.
    pub fn new(
        limits: SpreadLimits,
        clock: Arc<dyn warden_core::Clock + Send + Sync>,
    ) -> (Arc<Self>, mpsc::Receiver<Signal>) {
        let (tx, rx) = mpsc::channel(SIGNAL_QUEUE);
        let watch = CompromiseWatch {
            spread: Mutex::new(Spread::new(limits)),
            bursts: Mutex::new(HashMap::new()),
            clock,
            tx,
        };
        (Arc::new(watch), rx)
    }

    fn queue(&self, s: Signal) {
        if self.tx.try_send(s).is_err() {
            metrics::counter!("warden_compromise_signals_dropped_total").increment(1);
        }
    }

    /// Whether a burst of `user` at `now` is new today (remembered).
    fn new_burst(&self, user: &str, now: Timestamp) -> bool {
        let mut b = self.bursts.lock();
        let day = now.plus_secs(-24 * 3600);
        if b.get(user).is_some_and(|t| *t >= day) {
            return false;
        }
        if b.len() >= MAX_BURST_USERS {
            b.retain(|_, t| *t >= day);
            if b.len() >= MAX_BURST_USERS {
                return false;
            }
        }
        b.insert(user.into(), now);
        true
    }
}

impl Subscriber for CompromiseWatch {
    fn on(&self, event: &DomainEvent<'_>) {
        match event {
            DomainEvent::LoginRecorded {
                attempt,
                ip,
                outcome,
                ..
            } if outcome.is_success()
                && matches!(
                    attempt.protocol,
                    Protocol::Imap | Protocol::Pop3 | Protocol::Smtp
                ) =>
            {
                let found = self.spread.lock().observe(
                    &attempt.user,
                    attempt.ts,
                    attempt.ip,
                    ip.location.country,
                );
                if let Some(spread) = found {
                    self.queue(Signal::Spread {
                        user: attempt.user.clone(),
                        ts: attempt.ts,
                        ip: attempt.ip,
                        spread,
                    });
                }
            }
            DomainEvent::SendingHeld {
                user,
                ip,
                verdict: SendingVerdict::RateDeferred,
            } => {
                let now = self.clock.now();
                if self.new_burst(user, now) {
                    self.queue(Signal::Burst {
                        user: Name::from(*user),
                        ts: now,
                        ip: *ip,
                    });
                }
            }
            _ => {}
        }
    }
}

/// Turns queued signals into alerts until the queue closes.
pub async fn run<S: Backend>(service: Arc<Service<S>>, mut rx: mpsc::Receiver<Signal>) {
    while let Some(s) = rx.recv().await {
        if let Err(e) = service.raise_signal(&s).await {
            tracing::warn!(error = %e, "could not raise a compromise alert");
        }
    }
}

impl<S: Backend> Service<S> {
    /// The alert of one signal, unless the account has one of that kind
    /// today already. Returns its id when it raised one.
    pub async fn raise_signal(&self, s: &Signal) -> Result<Option<i64>, ServiceError> {
        let now = self.now();
        let (kind, user, ts, ip, grade, note) = match s {
            Signal::Spread {
                user,
                ts,
                ip,
                spread,
            } => {
                let names: Vec<&str> = spread
                    .countries
                    .iter()
                    .map(|c| countries::name_en(*c))
                    .collect();
                let note = format!(
                    "successful mail logins from {} countries ({}) and {} networks since {}: the password is likely used by someone else",
                    spread.countries.len(),
                    names.join(", "),
                    spread.networks,
                    crate::notify::view::local_time(spread.since, self.utc_offset()),
                );
                (
                    AlertKind::LoginsSpread,
                    user,
                    *ts,
                    Some(*ip),
                    Grade::Critical,
                    note,
                )
            }
            Signal::Burst { user, ts, ip } => (
                AlertKind::SendingBurst,
                user,
                *ts,
                *ip,
                Grade::Warning,
                "the Postfix policy deferred mail sent far above the account's usual rate"
                    .to_string(),
            ),
        };
        let key = format!("{kind}|{user}|day {}", ts.secs().div_euclid(86_400));
        if self.store.latest_alert(&key).await?.is_some() {
            return Ok(None);
        }
        let info = ip.map(|ip| self.intel.lookup(ip));
        let alert = Alert {
            id: 0,
            kind,
            grade,
            state: AlertState::Open,
            user: Some(user.clone()),
            created_at: now,
            ts,
            last_ts: ts,
            count: 1,
            dedupe_key: key,
            notify_user: true,
            notify_admins: true,
            ip,
            country: info.as_ref().and_then(|i| i.location.country),
            region: info
                .as_ref()
                .and_then(|i| i.location.region.as_deref().map(str::to_string)),
            city: info
                .as_ref()
                .and_then(|i| i.location.city.as_deref().map(str::to_string)),
            asn: info.as_ref().and_then(|i| i.network.asn),
            isp: info
                .as_ref()
                .and_then(|i| i.network.organisation.as_deref().map(str::to_string)),
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
            note,
        };
        let id = self.store.insert_alert(&alert).await?;
        let alert = Alert { id, ..alert };
        self.events
            .publish(DomainEvent::AlertRaised { alert: &alert });
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Timestamp);

    impl warden_core::Clock for Fixed {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    #[test]
    fn a_deferred_sender_is_signalled_once_a_day_and_other_verdicts_not_at_all() {
        let (watch, mut rx) = CompromiseWatch::new(
            SpreadLimits::default(),
            Arc::new(Fixed(Timestamp(1_750_000_000))),
        );
        let held = |verdict| DomainEvent::SendingHeld {
            user: "kim@example.com",
            ip: Some("105.112.7.9".parse().unwrap()),
            verdict,
        };
        watch.on(&held(SendingVerdict::RiskRefused));
        assert!(rx.try_recv().is_err());
        watch.on(&held(SendingVerdict::RateDeferred));
        watch.on(&held(SendingVerdict::RateDeferred));
        match rx.try_recv().unwrap() {
            Signal::Burst { user, .. } => assert_eq!(&*user, "kim@example.com"),
            other => panic!("{other:?}"),
        }
        assert!(rx.try_recv().is_err(), "once a day");
    }

    #[test]
    fn a_full_queue_drops_signals_instead_of_blocking_the_login() {
        let (watch, _rx) = CompromiseWatch::new(
            SpreadLimits::default(),
            Arc::new(Fixed(Timestamp(1_750_000_000))),
        );
        for i in 0..SIGNAL_QUEUE + 10 {
            let user = format!("u{i}@example.com");
            watch.on(&DomainEvent::SendingHeld {
                user: &user,
                ip: None,
                verdict: SendingVerdict::RateDeferred,
            });
        }
        assert_eq!(watch.tx.capacity(), 0);
    }
}
