//! [`AnswerStore`] for [`SqliteStore`]: writes on the writer connection,
//! reads on the reader pool; a decision is one conditional `UPDATE`.

use std::net::IpAddr;

use warden_core::{Alert, CorrectionState, QueuedCorrection, SourceBlock, Timestamp};

use super::{rows, SqliteStore};
use crate::answers::{AnswerStore, MAX_QUEUE_PAGE, MAX_SCANNED_LOGINS};
use crate::error::StoreError;
use crate::sql_answers as sql;

impl AnswerStore for SqliteStore {
    async fn insert_source_block(&self, b: &SourceBlock) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::INSERT_SOURCE_BLOCK)
            .bind(&*b.user)
            .bind(b.network.to_string())
            .bind(b.alert_id)
            .bind(b.created_at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("insert_source_block"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_source_block(
        &self,
        user: &str,
        network: &ipnet::IpNet,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELETE_SOURCE_BLOCK)
            .bind(user)
            .bind(network.to_string())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("delete_source_block"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn source_blocks(&self) -> Result<Vec<SourceBlock>, StoreError> {
        let found = sqlx::query(sql::SOURCE_BLOCKS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("source_blocks"))?;
        found.iter().map(rows::source_block).collect()
    }

    async fn queue_correction(&self, c: &QueuedCorrection) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql::QUEUE_CORRECTION)
            .bind(c.alert_id)
            .bind(&*c.user)
            .bind(c.ip.to_string())
            .bind(c.country.as_ref().map(|c| c.as_str().to_string()))
            .bind(c.region.as_deref())
            .bind(c.city.as_deref())
            .bind(c.comment.as_str())
            .bind(c.state.as_str())
            .bind(c.created_at.secs())
            .bind(c.decided_at.map(Timestamp::secs))
            .bind(c.decided_by.as_deref())
            .fetch_one(&self.writer)
            .await
            .map_err(StoreError::query("queue_correction"))
    }

    async fn queued_correction(&self, id: i64) -> Result<Option<QueuedCorrection>, StoreError> {
        let found = sqlx::query(sql::QUEUED_CORRECTION)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("queued_correction"))?;
        found.as_ref().map(rows::queued_correction).transpose()
    }

    async fn queued_corrections(
        &self,
        state: Option<CorrectionState>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<QueuedCorrection>, StoreError> {
        let found = sqlx::query(sql::QUEUED_CORRECTIONS)
            .bind(state.map(CorrectionState::as_str))
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit.min(MAX_QUEUE_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("queued_corrections"))?;
        found.iter().map(rows::queued_correction).collect()
    }

    async fn answered_alerts(&self, user: &str, limit: u32) -> Result<Vec<Alert>, StoreError> {
        let found = sqlx::query(sql::ANSWERED_ALERTS)
            .bind(user)
            .bind(i64::from(limit.min(100)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("answered_alerts"))?;
        found.iter().map(rows::alert).collect()
    }

    async fn users_seen_from(
        &self,
        ip: IpAddr,
        except: &str,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(sql::USERS_SEEN_FROM)
            .bind(since.secs())
            .bind(i64::from(MAX_SCANNED_LOGINS))
            .bind(ip.to_string())
            .bind(except)
            .bind(i64::from(limit.min(100)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("users_seen_from"))
    }

    async fn decide_correction(
        &self,
        id: i64,
        state: CorrectionState,
        at: Timestamp,
        by: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DECIDE_CORRECTION)
            .bind(id)
            .bind(state.as_str())
            .bind(at.secs())
            .bind(by)
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("decide_correction"))?;
        Ok(done.rows_affected() == 1)
    }
}
