//! Group commit: one thread owns all event and profile writes and commits
//! whatever callers queued in one transaction.
//!
//! A caller's [`WriterHandle::write`] resolves only after the transaction
//! holding its rows has committed, or with the error that made that
//! transaction fail (then none of the batch is stored). Under load many
//! callers share one commit, which is what makes SQLite keep up: the cost
//! of a commit is paid per batch, not per login.
//!
//! The loop runs on a thread of its own, not as an async task: with the
//! backend's synchronous committer ([`Store::sync_appender`]) a commit is
//! plain CPU work on that thread, and the only wake-ups per batch are the
//! thread's and its callers'.
//!
//! While a batch lingers the thread does not wait on the queue: a waiting
//! receiver is woken by every write (a futex wake and two context switches
//! each, on a machine whose cores are busy serving requests). It waits on a
//! second, "urgent" channel instead, which only flushes, close and a queue
//! that has reached `max_batch` ring, and takes the queue's content when
//! the delay is over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::error::StoreError;
use crate::model::{LoginEvent, MarkStep, ProfileSnapshot, WriteBatch};
use crate::store::{Store, SyncAppend};

/// When the writer closes a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Commit as soon as this many rows (events plus snapshots) are taken,
    /// or this many writes are waiting. One write is never split, so a
    /// batch can exceed this by one write.
    pub max_batch: usize,
    /// After the first write of a batch arrives, wait at most this long for
    /// more before committing. Zero commits whatever is queued at once.
    pub max_delay: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch: 512,
            max_delay: Duration::ZERO,
        }
    }
}

/// A snapshot of the writer's counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub batches: u64,
    /// Transactions that failed (their callers got the error).
    pub failed_batches: u64,
    /// Events committed.
    pub events: u64,
    /// Profile snapshots committed (before de-duplication per user).
    pub profiles: u64,
    /// Rows (events plus snapshots) in the last committed batch.
    pub last_batch_rows: u64,
    /// Requests (writes, flushes) waiting in the queue right now.
    pub queued: u64,
    /// Writes taken from the queue into the batch being collected or
    /// committed, not yet answered.
    pub in_batch: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    failed_batches: AtomicU64,
    events: AtomicU64,
    profiles: AtomicU64,
    last_batch_rows: AtomicU64,
    in_batch: AtomicU64,
}

/// One caller's rows and where to report the outcome.
struct Pending {
    events: Vec<LoginEvent>,
    profiles: Vec<ProfileSnapshot>,
    mark: Option<MarkStep>,
    ack: oneshot::Sender<Result<(), StoreError>>,
}

impl Pending {
    /// A write command and the future that resolves once it is committed.
    fn command(
        events: Vec<LoginEvent>,
        profiles: Vec<ProfileSnapshot>,
        mark: Option<MarkStep>,
    ) -> (
        Command,
        impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
    ) {
        let (ack, done) = oneshot::channel();
        let command = Command::Write(Pending {
            events,
            profiles,
            mark,
            ack,
        });
        (command, async move {
            done.await.map_err(|_| StoreError::WriterClosed)?
        })
    }
}

enum Command {
    Write(Pending),
    /// Answered once everything queued before it has been committed (or
    /// has failed).
    Flush(oneshot::Sender<()>),
    /// Stop accepting writes, commit what is queued, end the thread.
    Close,
}

/// Starts the group-commit thread: one thread owns all writes and commits
/// what callers queued in one transaction; each [`WriterHandle::write`]
/// resolves once its batch has committed, or with the error that made it
/// fail.
pub struct BatchWriter;

impl BatchWriter {
    /// Starts the writer thread with the store's synchronous committer, or,
    /// when it has none, running [`Store::append`] on the current Tokio
    /// runtime (calling this outside a runtime then panics, like
    /// `tokio::spawn`). The thread ends when [`WriterHandle::close`] is
    /// called or every handle is dropped, in both cases after committing
    /// what was queued. Fails when the committer cannot be opened.
    pub fn spawn<S: Store>(store: Arc<S>, config: BatchConfig) -> Result<WriterHandle, StoreError> {
        let config = BatchConfig {
            max_batch: config.max_batch.max(1),
            ..config
        };
        let committer: Box<dyn SyncAppend> = match store.sync_appender()? {
            Some(sync) => sync,
            None => Box::new(AsyncAppend {
                store,
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        // Room for a few batches of single-row writes; senders wait beyond.
        let (tx, rx) = flume::bounded(config.max_batch.saturating_mul(4).min(1 << 16));
        let (urgent_tx, urgent) = flume::bounded(1);
        let (done_tx, done_rx) = watch::channel(());
        let counters = Arc::new(Counters::default());
        let task = Task {
            committer,
            config,
            rx,
            urgent,
            counters: Arc::clone(&counters),
            _done: done_tx,
        };
        std::thread::Builder::new()
            .name("warden-writer".into())
            .spawn(move || task.run())
            .map_err(StoreError::WriterThread)?;
        Ok(WriterHandle {
            tx,
            urgent: urgent_tx,
            max_batch: config.max_batch,
            counters,
            done: done_rx,
        })
    }
}

/// [`Store::append`] run to completion from the writer thread.
struct AsyncAppend<S> {
    store: Arc<S>,
    runtime: tokio::runtime::Handle,
}

impl<S: Store> SyncAppend for AsyncAppend<S> {
    fn append(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        self.runtime.block_on(self.store.append(batch))
    }
}

/// A cheap, cloneable handle to the writer thread.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    tx: flume::Sender<Command>,
    /// Ends a lingering batch's wait early (see the module docs).
    urgent: flume::Sender<()>,
    max_batch: usize,
    counters: Arc<Counters>,
    /// Its sender lives in the thread: `changed()` fails once the thread ended.
    done: watch::Receiver<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Write(p) => write!(
                f,
                "Write({} events, {} profiles)",
                p.events.len(),
                p.profiles.len()
            ),
            Command::Flush(_) => f.write_str("Flush"),
            Command::Close => f.write_str("Close"),
        }
    }
}

impl WriterHandle {
    /// Queues the rows and waits until the batch holding them has committed.
    ///
    /// On error nothing of this call was stored. Dropping the returned
    /// future does not withdraw a write that was already queued.
    pub async fn write(
        &self,
        events: Vec<LoginEvent>,
        profiles: Vec<ProfileSnapshot>,
    ) -> Result<(), StoreError> {
        let (command, committed) = Pending::command(events, profiles, None);
        self.tx
            .send_async(command)
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        self.ring_when_full();
        committed.await
    }

    /// Rings the urgent channel once `max_batch` writes are waiting.
    fn ring_when_full(&self) {
        if self.tx.len() >= self.max_batch {
            self.ring();
        }
    }

    /// Ends the writer's linger now. A ring while nothing lingers ends the
    /// next linger early, which only commits sooner.
    fn ring(&self) {
        // Full: a ring is already pending, which is as good.
        let _ = self.urgent.try_send(());
    }

    /// Queues the rows without waiting and returns what to await for the
    /// commit. Unlike [`write`](Self::write) this never blocks, so a caller
    /// may queue while holding a lock and so fix the order in which rows
    /// reach the database (profile snapshots must not overtake each other).
    /// A full queue answers [`StoreError::QueueFull`] and queues nothing.
    pub fn submit(
        &self,
        events: Vec<LoginEvent>,
        profiles: Vec<ProfileSnapshot>,
    ) -> Result<
        impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
        StoreError,
    > {
        self.submit_marked(events, profiles, None)
    }

    /// [`submit`](Self::submit) with a step of a profile flush, which moves
    /// the replay mark once its write commits (see
    /// [`Store::replay_mark`](crate::Store::replay_mark)).
    pub fn submit_marked(
        &self,
        events: Vec<LoginEvent>,
        profiles: Vec<ProfileSnapshot>,
        mark: Option<MarkStep>,
    ) -> Result<
        impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
        StoreError,
    > {
        let (command, committed) = Pending::command(events, profiles, mark);
        self.tx.try_send(command).map_err(|e| match e {
            flume::TrySendError::Full(_) => StoreError::QueueFull,
            flume::TrySendError::Disconnected(_) => StoreError::WriterClosed,
        })?;
        self.ring_when_full();
        Ok(committed)
    }

    /// Waits until every write queued before this call has been committed
    /// (or has failed and been reported to its caller).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send_async(Command::Flush(ack))
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        self.ring();
        done.await.map_err(|_| StoreError::WriterClosed)
    }

    /// Stops accepting writes, commits everything already queued and waits
    /// for the thread to end. Later writes on any clone fail with
    /// [`StoreError::WriterClosed`]. Calling it again is harmless.
    pub async fn close(&self) {
        // Fails only when the thread is gone.
        let _ = self.tx.send_async(Command::Close).await;
        self.ring();
        let mut done = self.done.clone();
        while done.changed().await.is_ok() {}
    }

    /// True once the writer no longer accepts writes.
    pub fn is_closed(&self) -> bool {
        self.tx.is_disconnected()
    }

    /// The counters right now.
    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            batches: c.batches.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            profiles: c.profiles.load(Ordering::Relaxed),
            last_batch_rows: c.last_batch_rows.load(Ordering::Relaxed),
            queued: self.tx.len() as u64,
            in_batch: c.in_batch.load(Ordering::Relaxed),
        }
    }
}

/// What has been collected for the next commit.
#[derive(Default)]
struct Round {
    writes: Vec<Pending>,
    rows: usize,
    flushes: Vec<oneshot::Sender<()>>,
}

struct Task {
    /// The backend's blocking path, or [`AsyncAppend`].
    committer: Box<dyn SyncAppend>,
    config: BatchConfig,
    rx: flume::Receiver<Command>,
    /// Rung by flushes, close and a full queue while a batch lingers.
    urgent: flume::Receiver<()>,
    counters: Arc<Counters>,
    /// Dropped when the thread ends (normally or by panic).
    _done: watch::Sender<()>,
}

impl Task {
    fn run(mut self) {
        let mut round = Round::default();
        let mut closing = false;
        while let Ok(command) = self.rx.recv() {
            closing |= self.take(&mut round, command);
            if !closing && !self.ready(&round) {
                self.linger(&mut round, &mut closing);
            }
            self.commit(&mut round);
            if closing {
                break;
            }
        }
        // Closing, or every handle is gone: commit what was queued before.
        // A write queued after this drain is dropped unanswered, which its
        // caller sees as `WriterClosed` (never as stored).
        while let Ok(command) = self.rx.try_recv() {
            self.take(&mut round, command);
            if round.rows >= self.config.max_batch {
                self.commit(&mut round);
            }
        }
        self.commit(&mut round);
        tracing::debug!("batch writer stopped");
    }

    /// Adds a command to the round; `true` when it asks to close.
    fn take(&self, round: &mut Round, command: Command) -> bool {
        if matches!(command, Command::Write(_)) {
            self.counters.in_batch.fetch_add(1, Ordering::Relaxed);
        }
        round.take(command)
    }

    /// True when the round must be committed without waiting for more.
    fn ready(&self, round: &Round) -> bool {
        round.rows >= self.config.max_batch || !round.flushes.is_empty()
    }

    /// Collects more commands until the batch is full, a flush or close
    /// arrives, or `max_delay` has passed since the round started. Waits
    /// on the urgent channel, not on the queue (see the module docs).
    fn linger(&mut self, round: &mut Round, closing: &mut bool) {
        let deadline = Instant::now() + self.config.max_delay;
        loop {
            // Commands already queued are taken even when the delay is zero.
            if self.take_queued(round, closing) {
                return;
            }
            match self.urgent.recv_deadline(deadline) {
                // Take what rang (a flush, close or a full queue).
                Ok(()) => {}
                Err(flume::RecvTimeoutError::Timeout) => {
                    // What arrived during the delay joins this batch.
                    self.take_queued(round, closing);
                    return;
                }
                // Every handle is gone: `run` takes what is left.
                Err(flume::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Takes queued commands until none is left, or until the round must be
    /// committed at once (then `true`).
    fn take_queued(&self, round: &mut Round, closing: &mut bool) -> bool {
        while let Ok(command) = self.rx.try_recv() {
            *closing |= self.take(round, command);
            if *closing || self.ready(round) {
                return true;
            }
        }
        false
    }

    /// Commits the round's writes in one transaction, answers their callers
    /// and then the flushes waiting behind them.
    fn commit(&mut self, round: &mut Round) {
        let writes = std::mem::take(&mut round.writes);
        round.rows = 0;
        if !writes.is_empty() {
            let mut batch = WriteBatch::default();
            let mut acks = Vec::with_capacity(writes.len());
            for w in writes {
                batch.push(w.events, w.profiles, w.mark);
                acks.push(w.ack);
            }
            let rows = batch.len();
            let result = self.committer.append(&batch);
            self.counters
                .in_batch
                .fetch_sub(acks.len() as u64, Ordering::Relaxed);
            match result {
                Ok(()) => {
                    let c = &self.counters;
                    c.batches.fetch_add(1, Ordering::Relaxed);
                    c.events
                        .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
                    c.profiles
                        .fetch_add(batch.profiles.len() as u64, Ordering::Relaxed);
                    c.last_batch_rows.store(rows as u64, Ordering::Relaxed);
                    tracing::trace!(rows, callers = acks.len(), "batch committed");
                    for ack in acks {
                        // The caller may have stopped waiting; the rows are stored anyway.
                        let _ = ack.send(Ok(()));
                    }
                }
                Err(error) => {
                    self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(rows, callers = acks.len(), %error, "batch commit failed");
                    let source = Arc::new(error);
                    for ack in acks {
                        let _ = ack.send(Err(StoreError::BatchFailed {
                            rows,
                            source: Arc::clone(&source),
                        }));
                    }
                }
            }
        }
        for flush in round.flushes.drain(..) {
            let _ = flush.send(());
        }
    }
}

impl Round {
    /// Adds a command to the round; `true` when it asks to close.
    fn take(&mut self, command: Command) -> bool {
        match command {
            Command::Write(p) => {
                self.rows += p.events.len() + p.profiles.len();
                self.writes.push(p);
                false
            }
            Command::Flush(ack) => {
                self.flushes.push(ack);
                false
            }
            Command::Close => true,
        }
    }
}
