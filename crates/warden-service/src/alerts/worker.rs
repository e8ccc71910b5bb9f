//! The alert worker: raises alerts from the committed history.
//!
//! [`Service::raise_alerts`] reads the login events after the alerts mark
//! in id order, judges each ([`AlertSettings::judge`](super::AlertSettings::judge)),
//! folds repeats into the alert of their key (within the fold window,
//! looked up in the batch, then in the store), counts new alerts in the
//! storm windows, and writes the new alerts, the folds and the moved mark
//! in **one** transaction ([`warden_store::AlertStore::apply_alerts`]). A crash at any
//! point loses nothing and raises nothing twice: until that transaction
//! commits, the events are still after the mark.
//!
//! Runs are serialised in the process (the state's lock) and across
//! processes (the mark moves only from where the batch began; a lost race
//! changes nothing and is read again).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use warden_core::{Alert, AlertKind, AlertState, Grade, Timestamp};
use warden_store::{AlertBatch, AlertChange, Backend, LoginEvent};

use super::fold::{self, StormWindows};
use super::{AlertSettings, Judgement};
use crate::events::{DomainEvent, Subscriber};
use crate::{Service, ServiceError};

/// The worker's state: its storm windows (behind the lock that serialises
/// runs) and its wake-up.
#[derive(Debug, Default)]
pub struct WorkerState {
    storms: Mutex<StormWindows>,
    wake: Notify,
}

impl WorkerState {
    /// Waits until a login was committed since the last wait (or returns
    /// at once if one was).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Wakes the alert worker after each committed login: a flag and a
/// notification, nothing more on the request's thread.
#[derive(Debug)]
pub struct AlertWake(pub(super) Arc<WorkerState>);

impl Subscriber for AlertWake {
    fn on(&self, event: &DomainEvent<'_>) {
        if let DomainEvent::LoginRecorded { .. } = event {
            self.0.wake.notify_one();
        }
    }
}

/// What one [`Service::raise_alerts`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaiseReport {
    /// History rows read.
    pub events: usize,
    /// New alerts (summaries included).
    pub raised: usize,
    /// Logins folded into existing alerts.
    pub folded: usize,
    /// New storm summaries.
    pub summaries: usize,
}

/// Where a key's alert is: new in this batch, or stored.
#[derive(Debug, Clone)]
struct Slot {
    /// Index into the batch's inserts, or the stored id.
    target: Target,
    ts: Timestamp,
    last_ts: Timestamp,
    count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    New(usize),
    Stored(i64),
}

/// One batch being planned.
#[derive(Default)]
struct Plan {
    inserts: Vec<Alert>,
    /// Folds into stored alerts: id → (added, newest login, summary note).
    folds: HashMap<i64, (u32, Timestamp, Option<String>)>,
    /// Every key looked at, with its alert within reach (None: none).
    keys: HashMap<String, Option<Slot>>,
    folded: HashMap<AlertKind, u32>,
}

impl Plan {
    fn fold(&mut self, key: &str, ts: Timestamp, note: impl Fn(u32) -> Option<String>) {
        let Some(Some(slot)) = self.keys.get_mut(key) else {
            return;
        };
        slot.count = slot.count.saturating_add(1);
        slot.last_ts = slot.last_ts.max(ts);
        let text = note(slot.count);
        match slot.target {
            Target::New(i) => {
                let a = &mut self.inserts[i];
                a.count = slot.count;
                a.last_ts = slot.last_ts;
                if let Some(t) = text {
                    a.note = t;
                }
            }
            Target::Stored(id) => {
                let f = self.folds.entry(id).or_insert((0, ts, None));
                f.0 += 1;
                f.1 = f.1.max(ts);
                if text.is_some() {
                    f.2 = text;
                }
            }
        }
    }

    fn insert(&mut self, key: String, a: Alert) {
        self.keys.insert(
            key,
            Some(Slot {
                target: Target::New(self.inserts.len()),
                ts: a.ts,
                last_ts: a.last_ts,
                count: a.count,
            }),
        );
        self.inserts.push(a);
    }

    fn into_batch(self, from_mark: i64, to_mark: i64) -> AlertBatch {
        let mut changes: Vec<AlertChange> = self
            .inserts
            .into_iter()
            .map(|a| AlertChange::Insert(Box::new(a)))
            .collect();
        let mut folds: Vec<_> = self.folds.into_iter().collect();
        folds.sort_by_key(|(id, _)| *id);
        changes.extend(
            folds
                .into_iter()
                .map(|(id, (add, last_ts, note))| AlertChange::Fold {
                    id,
                    add,
                    last_ts,
                    note,
                }),
        );
        AlertBatch {
            from_mark,
            to_mark,
            changes,
        }
    }
}

/// The summary's note: how many alerts of `kind` it speaks for.
fn summary_note(kind: AlertKind, count: u32, settings: &AlertSettings) -> String {
    format!(
        "storm: {count} {kind} alerts beyond {} within {} minutes; each is kept (GET /v1/alerts?kind={kind}) without telling the admins one by one",
        settings.storm_threshold,
        settings.storm_window_secs / 60
    )
}

/// The alert `e` raises as judged by `j`.
fn alert_of(
    e: &LoginEvent,
    j: Judgement,
    key: String,
    isp: Option<String>,
    now: Timestamp,
) -> Alert {
    use warden_core::text::one_line;
    let user = match j.key {
        super::KeyBy::Source => None,
        _ => Some(e.user.as_str().into()),
    };
    Alert {
        id: 0,
        kind: j.kind,
        grade: j.grade,
        state: AlertState::Open,
        notify_user: j.notify_user && user.is_some(),
        user,
        created_at: now,
        ts: e.ts,
        last_ts: e.ts,
        count: 1,
        dedupe_key: key,
        notify_admins: false,
        ip: Some(e.ip),
        country: e.country,
        region: e.region.clone(),
        city: e.city.clone(),
        asn: e.asn,
        isp: isp.map(|s| one_line(&s, 100)),
        device: e.device.as_deref().map(|d| one_line(d, 100)),
        client: e
            .user_agent
            .as_deref()
            .map(|ua| warden_core::client::classify(ua).name),
        protocol: Some(e.protocol),
        decision: Some(e.decision),
        succeeded: e.outcome.is_success(),
        reasons: e.reasons.clone(),
        event_id: e.id,
        answer: None,
        answered_at: None,
        answered_ip: None,
        note: String::new(),
    }
}

impl<S: Backend> Service<S> {
    /// Raises the alerts of every committed login after the alerts mark
    /// (see the [module](self)); returns what it did. Safe to call at any
    /// time, from any number of tasks.
    pub async fn raise_alerts(&self) -> Result<RaiseReport, ServiceError> {
        let settings = &self.alerts;
        let mut storms = settings.worker.storms.lock().await;
        let mut report = RaiseReport::default();
        loop {
            let mark = self.store.alerts_mark().await?;
            let events = self.store.events_after(mark, settings.batch.max(1)).await?;
            let Some(to_mark) = events.last().and_then(|e| e.id) else {
                return Ok(report);
            };
            // A batch that is not written must not stay counted in the
            // storm windows: they are read again from the store.
            let plan = match self.plan(&events, &mut storms).await {
                Ok(p) => p,
                Err(e) => {
                    storms.clear();
                    return Err(e);
                }
            };
            let folded = plan.folded.clone();
            let batch = plan.into_batch(mark, to_mark);
            let applied = match self.store.apply_alerts(&batch).await {
                Ok(a) => a,
                Err(e) => {
                    storms.clear();
                    return Err(e.into());
                }
            };
            let Some(ids) = applied else {
                // Another worker moved the mark: nothing was written; read
                // again (storm windows too).
                storms.clear();
                continue;
            };
            report.events += events.len();
            let inserted = batch.changes.iter().filter_map(|c| match c {
                AlertChange::Insert(a) => Some(a),
                AlertChange::Fold { .. } => None,
            });
            for (a, id) in inserted.zip(ids) {
                let a = Alert {
                    id,
                    ..(**a).clone()
                };
                report.raised += 1;
                if a.kind == AlertKind::Summary {
                    report.summaries += 1;
                }
                self.events.publish(DomainEvent::AlertRaised { alert: &a });
            }
            for (kind, repeats) in folded {
                report.folded += repeats as usize;
                self.events
                    .publish(DomainEvent::AlertsFolded { kind, repeats });
            }
            if events.len() < settings.batch.max(1) as usize {
                return Ok(report);
            }
        }
    }

    /// Judges and folds one batch of events.
    async fn plan(
        &self,
        events: &[LoginEvent],
        storms: &mut StormWindows,
    ) -> Result<Plan, ServiceError> {
        let settings = &self.alerts;
        let now = self.now();
        let mut plan = Plan::default();
        // One read for the place alerts every success of the batch may fold
        // into (instead of one per user and place).
        let mut users: Vec<String> = events
            .iter()
            .filter(|e| e.outcome.is_success())
            .map(|e| e.user.clone())
            .collect();
        users.sort_unstable();
        users.dedup();
        users.truncate(warden_store::MAX_ALERT_USERS);
        if let Some(oldest) = events.iter().map(|e| e.ts).min() {
            let since = oldest.plus_secs(-settings.fold_secs);
            for a in self
                .store
                .recent_user_alerts(&fold::PLACE_KINDS, &users, since)
                .await?
            {
                // By id: the newest of a key wins.
                plan.keys.insert(
                    a.dedupe_key.clone(),
                    Some(Slot {
                        target: Target::Stored(a.id),
                        ts: a.ts,
                        last_ts: a.last_ts,
                        count: a.count,
                    }),
                );
            }
        }
        let preloaded: std::collections::HashSet<&str> = users.iter().map(String::as_str).collect();
        for e in events {
            let Some(j) = settings.judge(e) else {
                // A success from a place alerted on today: one more login
                // of that alert.
                if e.outcome.is_success() {
                    for kind in fold::PLACE_KINDS {
                        let key = fold::dedupe_key(kind, super::KeyBy::UserPlace, e);
                        if preloaded.contains(e.user.as_str()) {
                            // Read above: no alert within reach unless
                            // found there (or raised in this batch).
                            plan.keys.entry(key.clone()).or_insert(None);
                        }
                        if self
                            .within_fold(&mut plan, &key, e.ts, settings.fold_secs, false)
                            .await?
                        {
                            plan.fold(&key, e.ts, |_| None);
                            *plan.folded.entry(kind).or_default() += 1;
                            break;
                        }
                    }
                }
                continue;
            };
            let key = fold::dedupe_key(j.kind, j.key, e);
            if self
                .within_fold(&mut plan, &key, e.ts, settings.fold_secs, false)
                .await?
            {
                plan.fold(&key, e.ts, |_| None);
                *plan.folded.entry(j.kind).or_default() += 1;
                continue;
            }
            let isp = self
                .intel
                .lookup(e.ip)
                .network
                .organisation
                .map(|n| n.to_string());
            let mut a = alert_of(e, j, key.clone(), isp, now);
            a.notify_admins = j.grade >= settings.admin_min_grade;
            // Storms: past the threshold the admins hear of the kind once.
            if !storms.knows(j.kind) {
                let since = e.ts.plus_secs(-settings.storm_window_secs);
                let times = self
                    .store
                    .recent_alert_times(j.kind, since, settings.storm_threshold + 1)
                    .await?;
                storms.seed(j.kind, times, settings.storm_threshold);
            }
            let in_window = storms.observe(
                j.kind,
                e.ts,
                settings.storm_window_secs,
                settings.storm_threshold,
            );
            if in_window > settings.storm_threshold as usize {
                a.notify_admins = false;
                let skey = fold::summary_key(j.kind);
                if self
                    .within_fold(&mut plan, &skey, e.ts, settings.storm_window_secs, true)
                    .await?
                {
                    let kind = j.kind;
                    plan.fold(&skey, e.ts, |n| Some(summary_note(kind, n, settings)));
                } else {
                    let summary = Alert {
                        kind: AlertKind::Summary,
                        grade: j.grade.max(Grade::Warning),
                        user: None,
                        notify_user: false,
                        notify_admins: true,
                        dedupe_key: skey.clone(),
                        // About many logins: no one address or place.
                        ip: None,
                        country: None,
                        region: None,
                        city: None,
                        asn: None,
                        isp: None,
                        device: None,
                        client: None,
                        event_id: e.id,
                        note: summary_note(j.kind, 1, settings),
                        reasons: e.reasons.clone(),
                        ..a.clone()
                    };
                    plan.insert(skey, summary);
                }
            }
            plan.insert(key, a);
        }
        Ok(plan)
    }

    /// Whether an alert of `key` is within reach of a login at `ts`: its
    /// first login (`by_last`: its newest) less than `window` seconds
    /// before. Looks in the batch, then once in the store.
    async fn within_fold(
        &self,
        plan: &mut Plan,
        key: &str,
        ts: Timestamp,
        window: i64,
        by_last: bool,
    ) -> Result<bool, ServiceError> {
        if !plan.keys.contains_key(key) {
            let stored = self.store.latest_alert(key).await?.map(|a| Slot {
                target: Target::Stored(a.id),
                ts: a.ts,
                last_ts: a.last_ts,
                count: a.count,
            });
            plan.keys.insert(key.to_string(), stored);
        }
        Ok(match plan.keys.get(key) {
            Some(Some(slot)) => {
                let from = if by_last { slot.last_ts } else { slot.ts };
                (ts.secs() - from.secs()).abs() < window
            }
            _ => false,
        })
    }
}

/// How often the worker looks at the history without being woken (a login
/// committed by another process, a wake-up lost to a crash).
pub const RAISE_EVERY: Duration = Duration::from_secs(2);

/// The worker's loop: raises alerts when woken and every
/// [`RAISE_EVERY`], until `stop` resolves; a failed run is logged and
/// tried again on the next round.
pub async fn run<S: Backend>(
    service: Arc<Service<S>>,
    stop: impl std::future::Future<Output = ()>,
) {
    let state = service.alerts.worker.clone();
    let mut tick = tokio::time::interval(RAISE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = state.woken() => {}
            _ = tick.tick() => {}
            _ = &mut stop => return,
        }
        match service.raise_alerts().await {
            Ok(r) if r.events > 0 => tracing::debug!(
                events = r.events,
                raised = r.raised,
                folded = r.folded,
                "alerts raised"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "raising alerts failed; will retry"),
        }
    }
}
