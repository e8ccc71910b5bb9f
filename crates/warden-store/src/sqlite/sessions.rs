//! [`SessionStore`] for [`SqliteStore`]: writes on the writer connection
//! (a refresh and the trim of the user's rows in one transaction), reads
//! on the reader pool; state changes are conditional `UPDATE`s.

use warden_core::{DeviceSession, SessionState, Timestamp};

use super::{rows, SqliteStore};
use crate::error::StoreError;
use crate::sessions::{SessionChange, SessionStore, MAX_SESSIONS_PAGE};
use crate::sql_sessions as sql;

fn bind_session<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    s: &'q DeviceSession,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    q.bind(&*s.user)
        .bind(s.device.as_str())
        .bind(s.client.as_deref())
        .bind(s.os.as_deref())
        .bind(s.protocol.as_str())
        .bind(s.ip.to_string())
        .bind(s.country.as_ref().map(|c| c.as_str().to_string()))
        .bind(s.city.as_deref())
        .bind(s.first_seen.secs())
        .bind(s.last_seen.secs())
        .bind(s.state.as_str())
        .bind(s.state_at.secs())
        .bind(s.state_by.as_str())
        .bind(s.trusted_until.map(Timestamp::secs))
}

impl SessionStore for SqliteStore {
    async fn record_session(&self, s: &DeviceSession, keep: u32) -> Result<(), StoreError> {
        let mut tx = self
            .writer
            .begin()
            .await
            .map_err(StoreError::query("record_session"))?;
        bind_session(sqlx::query(sql::RECORD_SESSION), s)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("record_session"))?;
        sqlx::query(sql::KEEP_NEWEST)
            .bind(&*s.user)
            .bind(i64::from(keep.max(1)))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("record_session"))?;
        tx.commit()
            .await
            .map_err(StoreError::query("record_session"))
    }

    async fn insert_pending_session(
        &self,
        s: &DeviceSession,
        max_pending: u32,
    ) -> Result<bool, StoreError> {
        let done = bind_session(sqlx::query(sql::INSERT_PENDING), s)
            .bind(i64::from(max_pending))
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("insert_pending_session"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn device_session(
        &self,
        user: &str,
        device: &str,
    ) -> Result<Option<DeviceSession>, StoreError> {
        let found = sqlx::query(sql::DEVICE_SESSION)
            .bind(user)
            .bind(device)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("device_session"))?;
        found.as_ref().map(rows::device_session).transpose()
    }

    async fn device_sessions(
        &self,
        user: &str,
        limit: u32,
    ) -> Result<Vec<DeviceSession>, StoreError> {
        let found = sqlx::query(sql::DEVICE_SESSIONS)
            .bind(user)
            .bind(i64::from(limit.min(MAX_SESSIONS_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("device_sessions"))?;
        found.iter().map(rows::device_session).collect()
    }

    async fn sessions_in_state(
        &self,
        state: SessionState,
        limit: u32,
    ) -> Result<Vec<DeviceSession>, StoreError> {
        let found = sqlx::query(sql::SESSIONS_IN_STATE)
            .bind(state.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("sessions_in_state"))?;
        found.iter().map(rows::device_session).collect()
    }

    async fn set_session_state(
        &self,
        user: &str,
        device: Option<&str>,
        change: &SessionChange<'_>,
    ) -> Result<u64, StoreError> {
        let from_state = |i: usize| change.from.get(i).map(|s| s.as_str());
        let done = sqlx::query(sql::SET_STATE)
            .bind(user)
            .bind(device)
            .bind(change.to.as_str())
            .bind(change.at.secs())
            .bind(change.by)
            .bind(i64::from(change.trusted_until.is_some()))
            .bind(change.trusted_until.flatten().map(Timestamp::secs))
            .bind(from_state(0))
            .bind(from_state(1))
            .bind(from_state(2))
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("set_session_state"))?;
        Ok(done.rows_affected())
    }

    async fn delete_session(&self, user: &str, device: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELETE_SESSION)
            .bind(user)
            .bind(device)
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("delete_session"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn prune_sessions(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_SESSIONS)
            .bind(before.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("prune_sessions"))?;
        Ok(done.rows_affected())
    }
}
