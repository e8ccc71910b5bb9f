//! [`AuditStore`] for [`SqliteStore`]: appends and pruning on the writer
//! connection (an append checks the head in the same transaction), reads
//! on the reader pool.

use sqlx::Row;
use warden_audit::{AuditRecord, Checkpoint, Digest};
use warden_core::Timestamp;

use super::{rows, SqliteStore};
use crate::audit::{AuditQuery, AuditStore, MAX_AUDIT_PAGE};
use crate::codec::encode_audit_detail;
use crate::error::StoreError;
use crate::sql_audit as sql;

/// `u64` numbers as SQL integers (records never reach 2^63).
fn int(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The end of a kind-prefix range: the prefix with its last byte (`.`)
/// raised by one (`account.` → `account/`).
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8(bytes).unwrap_or_default()
}

impl SqliteStore {
    async fn head_in(
        conn: &mut sqlx::SqliteConnection,
    ) -> Result<Option<(u64, Digest)>, StoreError> {
        let err = || StoreError::query("audit_head");
        let decode = |row: sqlx::sqlite::SqliteRow| -> Result<(u64, Digest), StoreError> {
            let seq: i64 = row.try_get("seq").map_err(err())?;
            let hash: String = row.try_get("hash").map_err(err())?;
            let hash = Digest::from_hex(&hash).map_err(|e| StoreError::Corrupt {
                table: "audit_log",
                key: seq.to_string(),
                column: "hash",
                source: e.into(),
            })?;
            Ok((seq as u64, hash))
        };
        let last = sqlx::query(sql::LAST_RECORD)
            .fetch_optional(&mut *conn)
            .await
            .map_err(err())?;
        if let Some(row) = last {
            return decode(row).map(Some);
        }
        let cp = sqlx::query(sql::LATEST_CHECKPOINT)
            .fetch_optional(&mut *conn)
            .await
            .map_err(err())?;
        cp.map(decode).transpose()
    }
}

impl AuditStore for SqliteStore {
    async fn audit_head(&self) -> Result<Option<(u64, Digest)>, StoreError> {
        let mut conn = self
            .reader
            .acquire()
            .await
            .map_err(StoreError::query("audit_head"))?;
        Self::head_in(&mut conn).await
    }

    async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        let err = || StoreError::query("append_audit");
        let mut tx = self.writer.begin().await.map_err(err())?;
        let head = Self::head_in(&mut tx).await?;
        let (seq, hash) = head.unwrap_or((0, warden_audit::GENESIS));
        if first.seq != seq + 1 || first.prev != hash {
            return Err(StoreError::Conflict {
                what: format!(
                    "audit record {} does not follow the stored head (record {seq})",
                    first.seq
                ),
            });
        }
        for r in records {
            let e = &r.entry;
            sqlx::query(sql::INSERT_RECORD)
                .bind(int(r.seq))
                .bind(e.at.secs())
                .bind(e.kind.as_str())
                .bind(e.actor.as_str())
                .bind(e.user.as_deref())
                .bind(e.ip.as_deref())
                .bind(e.subject.as_deref())
                .bind(e.incident)
                .bind(encode_audit_detail(&e.detail))
                .bind(r.prev.to_hex())
                .bind(r.hash.to_hex())
                .execute(&mut *tx)
                .await
                .map_err(err())?;
        }
        tx.commit().await.map_err(err())?;
        Ok(())
    }

    async fn audit_from(&self, from_seq: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let found = sqlx::query(sql::RECORDS_FROM)
            .bind(int(from_seq))
            .bind(i64::from(limit.min(MAX_AUDIT_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("audit_from"))?;
        found.iter().map(rows::audit_record).collect()
    }

    async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let (exact, prefix) = match q.kind.as_deref() {
            Some(k) if k.ends_with('.') => (None, Some(k)),
            Some(k) => (Some(k), None),
            None => (None, None),
        };
        let found = sqlx::query(sql::LIST_RECORDS)
            .bind(q.user.as_deref())
            .bind(q.ip.as_deref())
            .bind(exact)
            .bind(prefix)
            .bind(prefix.map(prefix_end))
            .bind(q.actor.as_deref())
            .bind(q.incident)
            .bind(q.from.map(Timestamp::secs))
            .bind(q.to.map(Timestamp::secs))
            .bind(q.before_seq.map(int))
            .bind(i64::from(q.limit.min(MAX_AUDIT_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("list_audit"))?;
        found.iter().map(rows::audit_record).collect()
    }

    async fn audit_first(&self) -> Result<Option<u64>, StoreError> {
        let first: Option<i64> = sqlx::query_scalar(sql::FIRST_SEQ)
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("audit_first"))?;
        Ok(first.map(|s| s as u64))
    }

    async fn last_audit_before(&self, at: Timestamp) -> Result<Option<u64>, StoreError> {
        let last: Option<i64> = sqlx::query_scalar(sql::LAST_BEFORE)
            .bind(at.secs())
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("last_audit_before"))?;
        Ok(last.map(|s| s as u64))
    }

    async fn add_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        let done = sqlx::query(sql::INSERT_CHECKPOINT)
            .bind(int(cp.seq))
            .bind(cp.hash.to_hex())
            .bind(cp.at.secs())
            .bind(cp.signature_hex())
            .execute(&self.writer)
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict {
                what: format!("a checkpoint of audit record {}", cp.seq),
            }),
            Err(e) => Err(StoreError::query("add_checkpoint")(e)),
        }
    }

    async fn checkpoints(&self, from_seq: u64, to_seq: u64) -> Result<Vec<Checkpoint>, StoreError> {
        let found = sqlx::query(sql::CHECKPOINTS)
            .bind(int(from_seq))
            .bind(int(to_seq))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("checkpoints"))?;
        found.iter().map(rows::checkpoint).collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let found = sqlx::query(sql::LATEST_CHECKPOINT)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("latest_checkpoint"))?;
        found.as_ref().map(rows::checkpoint).transpose()
    }

    async fn checkpoint_from(&self, seq: u64) -> Result<Option<Checkpoint>, StoreError> {
        let found = sqlx::query(sql::CHECKPOINT_FROM)
            .bind(int(seq))
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("checkpoint_from"))?;
        found.as_ref().map(rows::checkpoint).transpose()
    }

    async fn prune_audit(&self, through_seq: u64) -> Result<u64, StoreError> {
        let err = || StoreError::query("prune_audit");
        let mut tx = self.writer.begin().await.map_err(err())?;
        let signed: Option<i64> = sqlx::query_scalar(sql::CHECKPOINT_AT)
            .bind(int(through_seq))
            .fetch_optional(&mut *tx)
            .await
            .map_err(err())?;
        if signed.is_none() {
            return Err(StoreError::Conflict {
                what: format!(
                    "pruning the audit log through record {through_seq}, which no checkpoint signs"
                ),
            });
        }
        let done = sqlx::query(sql::PRUNE_RECORDS)
            .bind(int(through_seq))
            .execute(&mut *tx)
            .await
            .map_err(err())?;
        tx.commit().await.map_err(err())?;
        Ok(done.rows_affected())
    }
}
