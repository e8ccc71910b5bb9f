//! The audit writer: one task owns the head of the chain (loaded from the
//! store when it starts), takes what the subscriber queued, chains it and
//! commits it in batches (one `append_audit` transaction per batch: group
//! commit), then tells the waiting actions (a watch of the last committed
//! ticket). It signs a checkpoint every `checkpoint_every` when the head
//! moved, every `checkpoint_every_records` records, when asked
//! ([`crate::Service::audit_checkpoint_now`]) and when it stops.
//!
//! The queue is bounded in entries and bytes. A full queue drops the new
//! entry (metric `warden_audit_dropped_total`, an error log) and fails the
//! wait of the action that published it, so the action is not
//! acknowledged: producers never block on the audit log (subscribers run
//! on the request's thread, under no lock, but must not wait).
//!
//! Another node appending to the same store makes an append a
//! `Conflict`: the writer reloads the head and chains the batch again
//! after it. A failing store keeps the batch and retries with a backoff;
//! the actions waiting meanwhile time out (`settle_timeout`) unacknowledged.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{oneshot, watch, Notify};
use warden_audit::{AuditEntry, Chain, Checkpoint};
use warden_store::{Backend, StoreError};

use crate::events::{SettleError, Settling};
use crate::{Service, ServiceError};

/// The most records one append transaction holds.
pub const MAX_BATCH: usize = 1000;

/// What the last `on` call on this thread left for the `settled` call
/// that follows it: publishing and settling run on the same thread with
/// no await in between ([`crate::Service::publish_durable`]), so this
/// names exactly the entry of the event being settled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Last {
    Nothing,
    /// Queue `.0`'s ticket `.1`.
    Ticket(usize, u64),
    /// Queue `.0` was full: the entry was dropped.
    Dropped(usize),
}

thread_local! {
    static LAST: Cell<Last> = const { Cell::new(Last::Nothing) };
}

static QUEUE_IDS: AtomicUsize = AtomicUsize::new(1);

type CheckpointReply = oneshot::Sender<Result<Checkpoint, ServiceError>>;

#[derive(Default)]
struct Pending {
    entries: VecDeque<(u64, AuditEntry)>,
    bytes: usize,
    /// The last ticket handed out.
    ticket: u64,
    checkpoint_requests: Vec<CheckpointReply>,
}

/// The queue between the subscriber and the writer task.
pub struct Queue {
    id: usize,
    pending: Mutex<Pending>,
    wake: Notify,
    committed: watch::Sender<u64>,
    max_entries: usize,
    max_bytes: usize,
    dropped: AtomicU64,
}

/// An entry's size as the queue counts it.
fn size_of(e: &AuditEntry) -> usize {
    96 + e.kind.len()
        + e.actor.len()
        + e.user.as_ref().map_or(0, String::len)
        + e.ip.as_ref().map_or(0, String::len)
        + e.subject.as_ref().map_or(0, String::len)
        + e.detail
            .iter()
            .map(|(k, v)| 48 + k.len() + v.len())
            .sum::<usize>()
}

impl Queue {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Queue {
        Queue {
            id: QUEUE_IDS.fetch_add(1, Ordering::Relaxed),
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
            committed: watch::Sender::new(0),
            max_entries: max_entries.max(1),
            max_bytes: max_bytes.max(1),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `entry` (or drops it when the queue is full) and notes it
    /// for this thread's next [`Queue::settled`].
    pub(crate) fn push(&self, entry: AuditEntry) {
        let size = size_of(&entry);
        let last = {
            let mut p = self.pending.lock();
            if p.entries.len() >= self.max_entries || p.bytes + size > self.max_bytes {
                Last::Dropped(self.id)
            } else {
                p.ticket += 1;
                let t = p.ticket;
                p.bytes += size;
                p.entries.push_back((t, entry));
                Last::Ticket(self.id, t)
            }
        };
        if let Last::Dropped(_) = last {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("warden_audit_dropped_total").increment(1);
            tracing::error!("the audit queue is full: an audit entry was dropped and its action is not acknowledged");
        } else {
            metrics::gauge!("warden_audit_queue").increment(1.0);
        }
        LAST.with(|l| l.set(last));
        self.wake.notify_one();
    }

    /// Notes that the event just handed on this thread made no entry.
    pub(crate) fn nothing(&self) {
        LAST.with(|l| l.set(Last::Nothing));
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Resolves once the entry of the event last handed on this thread
    /// (or, when it made none, everything queued so far) is committed.
    pub(crate) fn settled(&self, timeout: Duration) -> Settling<'_> {
        let last = LAST.with(|l| l.replace(Last::Nothing));
        let ticket = match last {
            Last::Dropped(id) if id == self.id => {
                return Box::pin(async {
                    Err(SettleError(
                        "the audit queue is full: the action's record was not kept".into(),
                    ))
                })
            }
            Last::Ticket(id, t) if id == self.id => t,
            _ => self.pending.lock().ticket,
        };
        let mut rx = self.committed.subscribe();
        Box::pin(async move {
            if *rx.borrow() >= ticket {
                return Ok(());
            }
            match tokio::time::timeout(timeout, rx.wait_for(|c| *c >= ticket)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(_)) => Err(SettleError("the audit log writer stopped".into())),
                Err(_) => Err(SettleError(
                    "the audit log did not commit the action's record in time".into(),
                )),
            }
        })
    }

    /// Asks the writer for a checkpoint covering the head.
    pub(crate) fn request_checkpoint(&self) -> oneshot::Receiver<Result<Checkpoint, ServiceError>> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().checkpoint_requests.push(tx);
        self.wake.notify_one();
        rx
    }

    /// Up to `max` queued entries, oldest first.
    fn take(&self, max: usize) -> Vec<(u64, AuditEntry)> {
        let mut p = self.pending.lock();
        let n = p.entries.len().min(max);
        let batch: Vec<_> = p.entries.drain(..n).collect();
        p.bytes -= batch.iter().map(|(_, e)| size_of(e)).sum::<usize>();
        metrics::gauge!("warden_audit_queue").decrement(batch.len() as f64);
        batch
    }

    fn take_requests(&self) -> Vec<CheckpointReply> {
        std::mem::take(&mut self.pending.lock().checkpoint_requests)
    }
}

/// The writer's own state.
struct Writer<'a, S: Backend> {
    service: &'a Service<S>,
    chain: Chain,
    /// The last record a checkpoint signs (0: none).
    signed: u64,
}

impl<S: Backend> Writer<'_, S> {
    async fn load(&mut self) -> Result<(), StoreError> {
        let store = self.service.store.as_ref();
        self.chain = match store.audit_head().await? {
            Some((seq, hash)) => Chain::after(seq, hash),
            None => Chain::default(),
        };
        self.signed = store.latest_checkpoint().await?.map_or(0, |cp| cp.seq);
        Ok(())
    }

    /// Chains and commits `batch`, retrying until it is in (or, when
    /// `stopping`, giving up after a few tries).
    async fn commit(&mut self, batch: Vec<(u64, AuditEntry)>, stopping: bool) {
        let Some(&(last_ticket, _)) = batch.last() else {
            return;
        };
        let store = self.service.store.as_ref();
        let mut backoff = Duration::from_millis(50);
        let mut failures = 0u32;
        loop {
            let mut chain = self.chain;
            let records: Vec<_> = batch.iter().map(|(_, e)| chain.append(e.clone())).collect();
            match store.append_audit(&records).await {
                Ok(()) => {
                    self.chain = chain;
                    metrics::counter!("warden_audit_records_total").increment(records.len() as u64);
                    self.service.audit.queue.committed.send_replace(last_ticket);
                    return;
                }
                Err(StoreError::Conflict { .. }) => {
                    // Another node appended: chain after its head.
                    if let Err(e) = self.load().await {
                        tracing::warn!(error = %e, "reloading the audit head failed");
                        tokio::time::sleep(backoff).await;
                    }
                }
                Err(e) => {
                    failures += 1;
                    metrics::counter!("warden_audit_append_errors_total").increment(1);
                    tracing::error!(error = %e, records = records.len(), "appending to the audit log failed; retrying (actions wait unacknowledged)");
                    if stopping && failures >= 3 {
                        tracing::error!(
                            records = records.len(),
                            "giving up the audit records queued at shutdown"
                        );
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    // The head may have moved meanwhile (another node).
                    let _ = self.load().await;
                }
            }
        }
    }

    /// Commits everything queued.
    async fn drain(&mut self, stopping: bool) {
        loop {
            let batch = self.service.audit.queue.take(MAX_BATCH);
            if batch.is_empty() {
                return;
            }
            self.commit(batch, stopping).await;
            if self.chain.seq.saturating_sub(self.signed)
                >= self.service.audit.settings.checkpoint_every_records
            {
                let _ = self.sign().await;
            }
        }
    }

    /// Signs the head unless a checkpoint signs it already.
    async fn sign(&mut self) -> Result<(), ServiceError> {
        if self.chain.seq == 0 || self.chain.seq <= self.signed {
            return Ok(());
        }
        let cp =
            self.service
                .audit
                .signer()
                .sign(self.chain.seq, self.chain.head, self.service.now());
        match self.service.store.add_checkpoint(&cp).await {
            // Conflict: another node signed this record already.
            Ok(()) | Err(StoreError::Conflict { .. }) => {
                self.signed = cp.seq;
                metrics::counter!("warden_audit_checkpoints_total").increment(1);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "storing an audit checkpoint failed; will retry");
                Err(e.into())
            }
        }
    }

    /// Answers the checkpoint requests: the latest checkpoint, which
    /// signs the head.
    async fn answer(&mut self, requests: Vec<CheckpointReply>) {
        if requests.is_empty() {
            return;
        }
        let result = match self.sign().await {
            Ok(()) => match self.service.store.latest_checkpoint().await {
                Ok(Some(cp)) => Ok(cp),
                Ok(None) => Err(ServiceError::NotFound(
                    "the audit log is empty: no checkpoint to sign".into(),
                )),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        for r in requests {
            let _ = r.send(match &result {
                Ok(cp) => Ok(cp.clone()),
                Err(e) => Err(ServiceError::Unavailable(format!("the audit log: {e}"))),
            });
        }
    }
}

/// The writer task: runs until `stop`, then commits what is queued and
/// signs the head.
pub async fn run<S: Backend>(
    service: Arc<Service<S>>,
    stop: impl std::future::Future<Output = ()> + Send,
) {
    let mut w = Writer {
        service: &service,
        chain: Chain::default(),
        signed: 0,
    };
    let mut backoff = Duration::from_millis(100);
    while let Err(e) = w.load().await {
        tracing::error!(error = %e, "loading the audit log's head failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    let queue = service.audit.queue.clone();
    let mut tick = tokio::time::interval(service.audit.settings.checkpoint_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = queue.wake.notified() => {}
            _ = tick.tick() => {
                w.drain(false).await;
                let _ = w.sign().await;
            }
            _ = &mut stop => break,
        }
        w.drain(false).await;
        let requests = queue.take_requests();
        w.answer(requests).await;
    }
    w.drain(true).await;
    if let Err(e) = w.sign().await {
        tracing::warn!(error = %e, "signing the audit head at shutdown failed");
    }
    let requests = queue.take_requests();
    w.answer(requests).await;
}
