//! [`DeliveryStore`] and [`TemplateStore`] for [`SqliteStore`]: the fan-out
//! is one `BEGIN IMMEDIATE` transaction on the writer (the mark is moved
//! conditionally, then the rows inserted); state changes are conditional
//! `UPDATE`s; reads go to the reader pool.

use warden_core::{Alert, Delivery, DeliveryState, Lang, Timestamp};

use super::{rows, SqliteStore};
use crate::deliveries::{DeliveryQuery, DeliveryStore, FailedTry, MAX_DELIVERIES};
use crate::error::StoreError;
use crate::sql_notify as sql;
use crate::templates::{StoredTemplate, TemplateStore};

impl DeliveryStore for SqliteStore {
    async fn delivery_mark(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql::DELIVERY_MARK)
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("delivery_mark"))
    }

    async fn alerts_after(&self, after: i64, limit: u32) -> Result<Vec<Alert>, StoreError> {
        let found = sqlx::query(sql::ALERTS_AFTER)
            .bind(after)
            .bind(i64::from(limit.min(MAX_DELIVERIES)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("alerts_after"))?;
        found.iter().map(rows::alert).collect()
    }

    async fn fan_out(
        &self,
        from: i64,
        to: i64,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        const OP: &str = "fan_out";
        let mut tx = self.begin_write(OP).await?;
        let moved = sqlx::query(sql::MOVE_DELIVERY_MARK)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if moved.rows_affected() != 1 {
            // Dropping the transaction rolls it back.
            return Ok(false);
        }
        insert_deliveries(&mut tx, deliveries, OP).await?;
        tx.commit().await.map_err(StoreError::query(OP))?;
        Ok(true)
    }

    async fn fan_out_resend(
        &self,
        alert_id: i64,
        requested_at: Timestamp,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        const OP: &str = "fan_out_resend";
        let mut tx = self.begin_write(OP).await?;
        let cleared = sqlx::query(crate::sql_alerts::CLEAR_RESEND)
            .bind(alert_id)
            .bind(requested_at.secs())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if cleared.rows_affected() != 1 {
            return Ok(false);
        }
        insert_deliveries(&mut tx, deliveries, OP).await?;
        tx.commit().await.map_err(StoreError::query(OP))?;
        Ok(true)
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let found = sqlx::query(sql::DUE_DELIVERIES)
            .bind(now.secs())
            .bind(i64::from(limit.min(MAX_DELIVERIES)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("due_deliveries"))?;
        found.iter().map(rows::delivery).collect()
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(sql::NEXT_DUE)
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("next_due"))?;
        Ok(at.map(Timestamp))
    }

    async fn delivery_sent(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELIVERY_SENT)
            .bind(id)
            .bind(at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("delivery_sent"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn delivery_failed(&self, id: i64, f: &FailedTry) -> Result<bool, StoreError> {
        let (state, next_at) = match f.retry_at {
            Some(at) => (DeliveryState::Pending, at.secs()),
            None => (DeliveryState::Failed, 0),
        };
        let done = sqlx::query(sql::DELIVERY_FAILED)
            .bind(id)
            .bind(state.as_str())
            .bind(i64::from(f.attempts))
            .bind(next_at)
            .bind(f.error.as_str())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("delivery_failed"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        let found = sqlx::query(sql::DELIVERY)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("delivery"))?;
        found.as_ref().map(rows::delivery).transpose()
    }

    async fn deliveries(&self, q: DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let found = sqlx::query(sql::DELIVERIES)
            .bind(q.alert_id)
            .bind(q.state.map(|s| s.as_str()))
            .bind(q.before)
            .bind(i64::from(q.limit.min(MAX_DELIVERIES)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("deliveries"))?;
        found.iter().map(rows::delivery).collect()
    }

    async fn delivery_counts(&self) -> Result<Vec<(DeliveryState, u64)>, StoreError> {
        let found: Vec<(String, i64)> = sqlx::query_as(sql::DELIVERY_COUNTS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("delivery_counts"))?;
        found
            .into_iter()
            .map(|(state, n)| {
                let state =
                    crate::codec::parse_wire_name(&state).map_err(|e| StoreError::Corrupt {
                        table: "deliveries",
                        key: "?".into(),
                        column: "state",
                        source: Box::new(e),
                    })?;
                Ok((state, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }
}

impl TemplateStore for SqliteStore {
    async fn template(&self, name: &str, lang: Lang) -> Result<Option<StoredTemplate>, StoreError> {
        let found = sqlx::query(sql::TEMPLATE)
            .bind(name)
            .bind(lang.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("template"))?;
        found.as_ref().map(rows::template).transpose()
    }

    async fn templates(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        let found = sqlx::query(sql::TEMPLATES)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("templates"))?;
        found.iter().map(rows::template).collect()
    }

    async fn put_template(&self, t: &StoredTemplate) -> Result<(), StoreError> {
        sqlx::query(sql::PUT_TEMPLATE)
            .bind(t.name.as_str())
            .bind(t.lang.as_str())
            .bind(t.body.as_str())
            .bind(t.updated_at.secs())
            .bind(t.updated_by.as_str())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("put_template"))?;
        Ok(())
    }

    async fn delete_template(&self, name: &str, lang: Lang) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELETE_TEMPLATE)
            .bind(name)
            .bind(lang.as_str())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("delete_template"))?;
        Ok(done.rows_affected() == 1)
    }
}

/// Inserts outbox rows inside a fan-out's transaction.
async fn insert_deliveries(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    deliveries: &[Delivery],
    op: &'static str,
) -> Result<(), StoreError> {
    for d in deliveries {
        sqlx::query(sql::INSERT_DELIVERY)
            .bind(d.alert_id)
            .bind(d.audience.as_str())
            .bind(d.channel.as_str())
            .bind(d.recipient.as_str())
            .bind(d.state.as_str())
            .bind(i64::from(d.attempts))
            .bind(d.next_at.secs())
            .bind(d.last_error.as_deref())
            .bind(d.created_at.secs())
            .bind(d.sent_at.map(Timestamp::secs))
            .execute(&mut **tx)
            .await
            .map_err(StoreError::query(op))?;
    }
    Ok(())
}
