//! [`AlertStore`] for [`SqliteStore`]: writes on the writer connection,
//! reads on the reader pool; an answer is one conditional `UPDATE`.

use std::net::IpAddr;

use warden_core::{Alert, Answer, Timestamp};

use super::{rows, SqliteStore};
use crate::alerts::AlertStore;
use crate::codec::reasons_to_text;
use crate::error::StoreError;
use crate::sql_alerts as sql;

impl AlertStore for SqliteStore {
    async fn insert_alert(&self, a: &Alert) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql::INSERT_ALERT)
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
            .fetch_one(&self.writer)
            .await
            .map_err(StoreError::query("insert_alert"))
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        let found = sqlx::query(sql::ALERT)
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
        let done = sqlx::query(sql::ANSWER_ALERT)
            .bind(id)
            .bind(answer.as_str())
            .bind(at.secs())
            .bind(ip.map(|ip| ip.to_string()))
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("answer_alert"))?;
        Ok(done.rows_affected() == 1)
    }
}
