//! The verification walk of the stored log: page by page from its first
//! record (or from where the archives end), with the checkpoints of each
//! page, so memory stays bounded whatever the log's length. The archives
//! themselves are files the binary reads; it walks them first and hands
//! the anchor they end at to [`verify_stored`].

use warden_audit::{Anchor, AuditPublicKey, Break, Problem, Verified, Verifier, GENESIS};
use warden_store::{AuditStore, StoreError, MAX_AUDIT_PAGE};

impl<S: warden_store::Backend> crate::Service<S> {
    /// Verifies the stored log (its start proven by the genesis or the
    /// checkpoint it was pruned through; the archives are the CLI's):
    /// `Ok(Ok(..))` intact, `Ok(Err(break))` where it breaks. One walk at a
    /// time (another one running: [`crate::ServiceError::Busy`]); it reads
    /// a page at a time and yields between pages.
    pub async fn audit_verify(&self) -> Result<Result<Verified, Break>, crate::ServiceError> {
        let Ok(_permit) = self.audit.verifying.try_acquire() else {
            return Err(crate::ServiceError::Busy {
                what: "the audit verification",
                retry_after_secs: 5,
            });
        };
        match verify_stored(self.store.as_ref(), &self.audit_public_key(), None).await {
            Ok(v) => Ok(Ok(v)),
            Err(WalkError::Break(b)) => Ok(Err(b)),
            Err(WalkError::Store(e)) => Err(e.into()),
        }
    }
}

/// Why a walk ended without a verdict on the whole log.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// The log is broken at a record.
    #[error("{0}")]
    Break(Break),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Break> for WalkError {
    fn from(b: Break) -> Self {
        WalkError::Break(b)
    }
}

/// Walks the stored log with `key`. `after`: the anchor the archives
/// proved (their last checkpoint), so the stored log must start right
/// after it; `None`: no archive, the stored log proves its own start
/// (the genesis, or a checkpoint at the record before its first).
pub async fn verify_stored<S: AuditStore>(
    store: &S,
    key: &AuditPublicKey,
    after: Option<Anchor>,
) -> Result<Verified, WalkError> {
    let first = store.audit_first().await?;
    let (anchor, proven) = match (after, first) {
        (Some(a), Some(f)) if f != a.seq + 1 => {
            return Err(Break {
                seq: a.seq + 1,
                problem: if f > a.seq + 1 {
                    Problem::Missing { found: f }
                } else {
                    Problem::OutOfOrder { found: f }
                },
            }
            .into())
        }
        (Some(a), _) => (a, true),
        (None, Some(f)) => {
            let page = store.audit_from(f, 1).await?;
            let prev = page.first().map_or(GENESIS, |r| r.prev);
            let anchor = Anchor {
                seq: f - 1,
                hash: prev,
            };
            (anchor, anchor == Anchor::GENESIS)
        }
        (None, None) => (Anchor::GENESIS, true),
    };
    let end = |to: u64| to.min(i64::MAX as u64);
    let cps = store
        .checkpoints(anchor.seq, end(anchor.seq + u64::from(MAX_AUDIT_PAGE)))
        .await?;
    let mut v = Verifier::new(key, anchor, cps, proven)?;
    let mut loaded_to = anchor.seq + u64::from(MAX_AUDIT_PAGE);
    let mut next = anchor.seq + 1;
    loop {
        let page = store.audit_from(next, MAX_AUDIT_PAGE).await?;
        let Some(last) = page.last().map(|r| r.seq) else {
            break;
        };
        if last > loaded_to {
            v.add_checkpoints(store.checkpoints(loaded_to + 1, last).await?)?;
            loaded_to = last;
        }
        for r in &page {
            v.push(r)?;
        }
        next = last + 1;
        if page.len() < MAX_AUDIT_PAGE as usize {
            break;
        }
    }
    // A checkpoint past the last record: the tail was cut off.
    if let Some(cp) = store.checkpoint_from(next.max(loaded_to + 1)).await? {
        v.add_checkpoints([cp])?;
    }
    Ok(v.finish()?)
}
