//! [`AlertStore`] for [`SqliteStore`]: writes on the writer connection,
//! reads on the reader pool; an answer is one conditional `UPDATE`, a
//! worker's batch one transaction guarded by the alerts mark.

use std::net::IpAddr;

use sqlx::Row;
use warden_core::{Alert, AlertKind, Answer, Grade, Timestamp};

use super::{rows, SqliteStore};
use crate::alerts::{AlertAction, AlertBatch, AlertChange, AlertQuery, AlertStore};
use crate::codec::reasons_to_text;
use crate::error::StoreError;
use crate::model::LoginEvent;
use crate::sql;
use crate::sql_alerts;
use crate::MAX_ALERTS_LIMIT;

type Query<'q> = sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments>;

/// `INSERT_ALERT` with every column of `a` bound.
pub(super) fn insert(a: &Alert) -> Query<'_> {
    sqlx::query_scalar(sql_alerts::INSERT_ALERT)
        .bind(a.kind.as_str())
        .bind(a.grade.as_str())
        .bind(a.state.as_str())
        .bind(a.user.as_deref())
        .bind(a.created_at.secs())
        .bind(a.ts.secs())
        .bind(a.last_ts.secs())
        .bind(i64::from(a.count))
        .bind(a.dedupe_key.as_str())
        .bind(a.notify_user)
        .bind(a.notify_admins)
        .bind(a.ip.map(|ip| ip.to_string()))
        .bind(a.country.as_ref().map(|c| c.as_str().to_string()))
        .bind(a.region.as_deref())
        .bind(a.city.as_deref())
        .bind(a.asn.map(i64::from))
        .bind(a.isp.as_deref())
        .bind(a.device.as_deref())
        .bind(a.client.as_deref())
        .bind(a.protocol.map(|p| p.as_str()))
        .bind(a.decision.map(|d| d.as_str()))
        .bind(a.succeeded)
        .bind(reasons_to_text(&a.reasons))
        .bind(a.event_id)
        .bind(a.answer.map(|x| x.as_str()))
        .bind(a.answered_at.map(Timestamp::secs))
        .bind(a.answered_ip.map(|ip| ip.to_string()))
        .bind(a.note.as_str())
}

impl AlertStore for SqliteStore {
    async fn insert_alert(&self, a: &Alert) -> Result<i64, StoreError> {
        insert(a)
            .fetch_one(&self.writer)
            .await
            .map_err(StoreError::query("insert_alert"))
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        let found = sqlx::query(sql_alerts::ALERT)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("alert"))?;
        found.as_ref().map(rows::alert).transpose()
    }

    async fn answer_alert(
        &self,
        id: i64,
        answer: Answer,
        at: Timestamp,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql_alerts::ANSWER_ALERT)
            .bind(id)
            .bind(answer.as_str())
            .bind(at.secs())
            .bind(ip.map(|ip| ip.to_string()))
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("answer_alert"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn alerts_mark(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql_alerts::ALERTS_MARK)
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("alerts_mark"))
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<LoginEvent>, StoreError> {
        let found = sqlx::query(sql::EVENTS_AFTER)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("events_after"))?;
        found.iter().map(rows::login_event).collect()
    }

    async fn latest_alert(&self, dedupe_key: &str) -> Result<Option<Alert>, StoreError> {
        let found = sqlx::query(sql_alerts::LATEST_ALERT)
            .bind(dedupe_key)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("latest_alert"))?;
        found.as_ref().map(rows::alert).transpose()
    }

    async fn recent_user_alerts(
        &self,
        kinds: &[AlertKind],
        users: &[String],
        since: Timestamp,
    ) -> Result<Vec<Alert>, StoreError> {
        if kinds.is_empty() || users.is_empty() {
            return Ok(Vec::new());
        }
        let users = &users[..users.len().min(crate::MAX_ALERT_USERS)];
        let text = sql_alerts::recent_user_alerts(kinds.len(), users.len());
        // Placeholders only: every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text)).bind(since.secs());
        for k in kinds {
            q = q.bind(k.as_str());
        }
        for u in users {
            q = q.bind(u.as_str());
        }
        let found = q
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("recent_user_alerts"))?;
        found.iter().map(rows::alert).collect()
    }

    async fn recent_alert_times(
        &self,
        kind: AlertKind,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let found: Vec<i64> = sqlx::query_scalar(sql_alerts::RECENT_ALERT_TIMES)
            .bind(kind.as_str())
            .bind(since.secs())
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("recent_alert_times"))?;
        Ok(found.into_iter().map(Timestamp).collect())
    }

    async fn apply_alerts(&self, batch: &AlertBatch) -> Result<Option<Vec<i64>>, StoreError> {
        let err = StoreError::query("apply_alerts");
        let mut tx = self.writer.begin().await.map_err(err)?;
        let moved = sqlx::query(sql_alerts::MOVE_ALERTS_MARK)
            .bind(batch.from_mark)
            .bind(batch.to_mark)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("apply_alerts"))?;
        if moved.rows_affected() != 1 {
            // Dropping the transaction rolls it back.
            return Ok(None);
        }
        let mut ids = Vec::new();
        for change in &batch.changes {
            match change {
                AlertChange::Insert(a) => {
                    let id = insert(a)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(StoreError::query("apply_alerts"))?;
                    ids.push(id);
                }
                AlertChange::Fold {
                    id,
                    add,
                    last_ts,
                    note,
                } => {
                    sqlx::query(sql_alerts::FOLD_ALERT)
                        .bind(id)
                        .bind(i64::from(*add))
                        .bind(last_ts.secs())
                        .bind(note.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query("apply_alerts"))?;
                }
            }
        }
        tx.commit()
            .await
            .map_err(StoreError::query("apply_alerts"))?;
        Ok(Some(ids))
    }

    async fn list_alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let min = q.min_grade.unwrap_or(Grade::Info);
        let grades: Vec<&str> = Grade::ALL
            .iter()
            .filter(|g| **g >= min)
            .map(|g| g.as_str())
            .collect();
        let grade = |i: usize| grades.get(i).or(grades.last()).copied().unwrap_or("");
        let found = sqlx::query(sql_alerts::LIST_ALERTS)
            .bind(q.user.as_deref())
            .bind(q.kind.map(|k| k.as_str()))
            .bind(q.state.map(|s| s.as_str()))
            .bind(q.since.map(Timestamp::secs))
            .bind(q.until.map(Timestamp::secs))
            .bind(q.before_id)
            .bind(grade(0))
            .bind(grade(1))
            .bind(grade(2))
            .bind(i64::from(q.limit.min(MAX_ALERTS_LIMIT)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("list_alerts"))?;
        found.iter().map(rows::alert).collect()
    }

    async fn act_on_alert(
        &self,
        id: i64,
        action: AlertAction,
        note: &str,
    ) -> Result<bool, StoreError> {
        let stmt = match action {
            AlertAction::Acknowledge => sql_alerts::ACK_ALERT,
            AlertAction::Close => sql_alerts::CLOSE_ALERT,
        };
        let done = sqlx::query(stmt)
            .bind(id)
            .bind(note)
            .bind(format!("\n{note}"))
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("act_on_alert"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn request_resend(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(sql_alerts::REQUEST_RESEND)
            .bind(id)
            .bind(at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("request_resend"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn resends_due(&self, limit: u32) -> Result<Vec<(i64, Timestamp)>, StoreError> {
        let found = sqlx::query(sql_alerts::RESENDS_DUE)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("resends_due"))?;
        found
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id").map_err(StoreError::query("resends_due"))?;
                let at: i64 = r
                    .try_get("resend_at")
                    .map_err(StoreError::query("resends_due"))?;
                Ok((id, Timestamp(at)))
            })
            .collect()
    }

    async fn prune_alerts(&self, older_than: Timestamp) -> Result<u64, StoreError> {
        const CHUNK: i64 = 1000;
        let mut deleted = 0u64;
        loop {
            let done = sqlx::query(sql_alerts::PRUNE_ALERTS_CHUNK)
                .bind(older_than.secs())
                .bind(CHUNK)
                .execute(&self.writer)
                .await
                .map_err(StoreError::query("prune_alerts"))?
                .rows_affected();
            deleted += done;
            if done < CHUNK as u64 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn clear_resend(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(sql_alerts::CLEAR_RESEND)
            .bind(id)
            .bind(at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("clear_resend"))?;
        Ok(done.rows_affected() == 1)
    }
}
