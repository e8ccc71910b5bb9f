//! The tamper-evident audit log, the service part: [`AuditLog`] (the
//! signing key, the settings and the writer's queue, held by the
//! [`Service`]), the subscriber that turns every security-relevant
//! [`crate::DomainEvent`] into an entry ([`entries`]), the writer task that
//! chains, commits and signs ([`writer`]), the verification walk of the
//! stored log ([`walk`]) and the retention's archive-then-prune
//! ([`archive`]). The records, the chain and the signatures are
//! `warden-audit`'s; persistence is `warden_store::AuditStore`.
//!
//! **Durable before acknowledged.** An acknowledged action publishes its
//! event with [`Service::publish_durable`]: the entry is queued by the
//! subscriber, and the call waits until the writer has committed it. The
//! queue is bounded (entries and bytes): when it is full a new entry is
//! dropped (counted, logged) and the action waiting for it fails with
//! [`ServiceError::Unavailable`] — the engine never blocks on the audit,
//! and nothing is acknowledged that the log does not hold.

pub mod archive;
pub mod entries;
pub mod walk;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use warden_audit::{AuditPublicKey, AuditRecord, AuditSigner, Checkpoint};
use warden_core::Clock;
use warden_store::{AuditQuery, Backend};

use crate::{Service, ServiceError};

pub use archive::{ArchiveError, ArchiveFile, ArchiveSink, Archived};
pub use entries::AuditTrail;
pub use walk::WalkError;

/// How the audit log runs (`audit.*` in the configuration).
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// Sign the head this often when it moved.
    pub checkpoint_every: Duration,
    /// ...and after this many records.
    pub checkpoint_every_records: u64,
    /// Records older than this are archived, then pruned.
    pub retention_days: u32,
    /// How often the archive-then-prune runs.
    pub archive_every: Duration,
    /// The writer's queue: at most this many entries...
    pub queue_max_entries: usize,
    /// ...and this many bytes (estimated).
    pub queue_max_bytes: usize,
    /// The longest an acknowledged action waits for its record.
    pub settle_timeout: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            checkpoint_every: Duration::from_secs(60),
            checkpoint_every_records: 10_000,
            retention_days: 180,
            archive_every: Duration::from_secs(86_400),
            queue_max_entries: 100_000,
            queue_max_bytes: 64 << 20,
            settle_timeout: Duration::from_secs(10),
        }
    }
}

/// The audit log's key, settings and queue (one per process).
pub struct AuditLog {
    signer: Arc<AuditSigner>,
    pub settings: AuditSettings,
    pub(crate) queue: Arc<writer::Queue>,
    /// Where expiring records go before they are pruned; `None`: nothing
    /// is archived nor pruned.
    pub(crate) sink: Option<Arc<dyn ArchiveSink>>,
    /// One verification walk at a time ([`Service::audit_verify`]).
    pub(crate) verifying: tokio::sync::Semaphore,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("signer", &self.signer)
            .field("settings", &self.settings)
            .finish()
    }
}

impl AuditLog {
    /// A log signing with `signer`.
    pub fn new(signer: AuditSigner, settings: AuditSettings) -> AuditLog {
        let queue = Arc::new(writer::Queue::new(
            settings.queue_max_entries,
            settings.queue_max_bytes,
        ));
        AuditLog {
            signer: Arc::new(signer),
            settings,
            queue,
            sink: None,
            verifying: tokio::sync::Semaphore::new(1),
        }
    }

    /// Archives expiring records into `sink` before pruning them.
    pub fn with_sink(mut self, sink: Arc<dyn ArchiveSink>) -> AuditLog {
        self.sink = Some(sink);
        self
    }

    /// The subscriber feeding this log (add it to the service's events).
    pub fn trail(&self, clock: Arc<dyn Clock + Send + Sync>) -> Arc<AuditTrail> {
        Arc::new(
            AuditTrail::new(self.queue.clone(), clock).settle_timeout(self.settings.settle_timeout),
        )
    }

    pub fn public_key(&self) -> AuditPublicKey {
        self.signer.public_key()
    }

    pub(crate) fn signer(&self) -> &AuditSigner {
        &self.signer
    }

    /// Entries dropped because the queue was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }
}

impl<S: Backend> Service<S> {
    /// The key checkpoints are signed with (its public half).
    pub fn audit_public_key(&self) -> AuditPublicKey {
        self.audit.public_key()
    }

    /// Commits what is queued, signs the head if no checkpoint signs it
    /// yet, and returns the latest checkpoint (which covers the head).
    /// Needs the writer task ([`writer::run`]).
    pub async fn audit_checkpoint_now(&self) -> Result<Checkpoint, ServiceError> {
        let rx = self.audit.queue.request_checkpoint();
        match tokio::time::timeout(self.audit.settings.settle_timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ServiceError::Unavailable(
                "the audit log writer is not running".into(),
            )),
            Err(_) => Err(ServiceError::Unavailable(
                "the audit log did not sign a checkpoint in time".into(),
            )),
        }
    }

    /// Records matching `query`, newest first.
    pub async fn audit_list(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, ServiceError> {
        Ok(warden_store::AuditStore::list_audit(self.store.as_ref(), query).await?)
    }
}
