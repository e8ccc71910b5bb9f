//! Retention: records older than `audit.retention_days` are exported to
//! an archive, then pruned. The cut is the last signed checkpoint at or
//! before the last expired record (checkpoints come every minute the log
//! moves), so every archive file ends with the checkpoint that proves it
//! and the stored log goes on from that checkpoint. The records are
//! verified as they are exported: a broken log is neither archived nor
//! pruned.
//!
//! Files and their format (JSON lines) belong to the binary: it hands the
//! service an [`ArchiveSink`]. The sink's calls are synchronous file
//! writes (once a day, a page at a time).

use std::sync::Arc;

use warden_audit::{Anchor, AuditRecord, Checkpoint, Verifier, GENESIS};
use warden_core::Timestamp;
use warden_store::{AuditStore, Backend, MAX_AUDIT_PAGE};

use crate::{Service, ServiceError};

/// A sink could not write an archive.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArchiveError(pub String);

/// Where archives go.
pub trait ArchiveSink: Send + Sync {
    /// Starts the archive of the records after `anchor` up to the one
    /// `checkpoint` signs.
    fn begin(
        &self,
        anchor: Anchor,
        checkpoint: &Checkpoint,
    ) -> Result<Box<dyn ArchiveFile>, ArchiveError>;
}

/// An archive being written: nothing is visible until
/// [`ArchiveFile::commit`] made it durable.
pub trait ArchiveFile: Send {
    /// The next records, in order.
    fn write(&mut self, records: &[AuditRecord]) -> Result<(), ArchiveError>;
    /// Ends with the checkpoint and makes the archive durable; returns its
    /// name.
    fn commit(self: Box<Self>) -> Result<String, ArchiveError>;
}

/// What one round archived and pruned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub from: u64,
    pub to: u64,
    pub name: String,
    pub pruned: u64,
}

impl<S: Backend> Service<S> {
    /// One round of retention at `now`: archives the records older than
    /// the retention up to the last checkpoint among them, then prunes
    /// them. `None`: nothing to do (or no sink configured).
    pub async fn audit_archive(&self, now: Timestamp) -> Result<Option<Archived>, ServiceError> {
        let Some(sink) = self.audit.sink.clone() else {
            return Ok(None);
        };
        archive_once(
            self.store.as_ref(),
            &self.audit_public_key(),
            sink,
            self.audit.settings.retention_days,
            now,
        )
        .await
    }
}

/// [`Service::audit_archive`] on a bare store.
pub async fn archive_once<S: AuditStore>(
    store: &S,
    key: &warden_audit::AuditPublicKey,
    sink: Arc<dyn ArchiveSink>,
    retention_days: u32,
    now: Timestamp,
) -> Result<Option<Archived>, ServiceError> {
    let cutoff = now.plus_secs(-i64::from(retention_days) * 86_400);
    let Some(last_old) = store.last_audit_before(cutoff).await? else {
        return Ok(None);
    };
    let Some(first) = store.audit_first().await? else {
        return Ok(None);
    };
    let Some(cp) = store.checkpoints(first, last_old).await?.pop() else {
        return Ok(None);
    };
    let head = store.audit_from(first, 1).await?;
    let Some(r) = head.first() else {
        return Ok(None);
    };
    let anchor = Anchor {
        seq: first - 1,
        hash: r.prev,
    };
    let broken = |b: warden_audit::Break| {
        ServiceError::Unavailable(format!(
            "the audit log is broken ({b}): nothing archived nor pruned; run `warden audit verify`"
        ))
    };
    let proven = anchor.seq == 0 && anchor.hash == GENESIS;
    let cps = store.checkpoints(anchor.seq, cp.seq).await?;
    let mut v = Verifier::new(key, anchor, cps, proven).map_err(broken)?;
    let fail =
        |e: ArchiveError| ServiceError::Unavailable(format!("writing the audit archive: {e}"));
    let mut file = sink.begin(anchor, &cp).map_err(fail)?;
    let mut next = first;
    while next <= cp.seq {
        let limit = (cp.seq - next + 1).min(u64::from(MAX_AUDIT_PAGE)) as u32;
        let page = store.audit_from(next, limit).await?;
        let Some(last) = page.last() else {
            break;
        };
        next = last.seq + 1;
        for r in &page {
            v.push(r).map_err(broken)?;
        }
        file.write(&page).map_err(fail)?;
    }
    if next != cp.seq + 1 {
        return Err(broken(warden_audit::Break {
            seq: next,
            problem: warden_audit::Problem::Truncated { last: next - 1 },
        }));
    }
    let name = file.commit().map_err(fail)?;
    let pruned = store.prune_audit(cp.seq).await?;
    tracing::info!(from = first, to = cp.seq, file = %name, pruned, "archived and pruned the audit log past its retention");
    Ok(Some(Archived {
        from: first,
        to: cp.seq,
        name,
        pruned,
    }))
}

/// Runs [`Service::audit_archive`] every `audit.archive_every` until
/// `stop`.
pub async fn run<S: Backend>(
    service: Arc<Service<S>>,
    stop: impl std::future::Future<Output = ()> + Send,
) {
    if service.audit.sink.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(service.audit.settings.archive_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => return,
        }
        if let Err(e) = service.audit_archive(service.now()).await {
            tracing::error!(error = %e, "archiving the audit log failed; will retry");
        }
    }
}
