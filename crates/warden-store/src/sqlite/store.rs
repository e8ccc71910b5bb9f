//! [`Store`] for [`SqliteStore`]: writes on the writer connection (the
//! group-commit thread uses its own, see `appender`),
//! reads on the reader pool.

use ipnet::IpNet;
use warden_core::{GeoCorrection, Timestamp};

use super::appender::SqliteAppender;
use super::{rows, schema, SqliteStore};
use crate::codec::{event_values, SqlValue};
use crate::error::StoreError;
use crate::model::{through_at, HistoryQuery, LoginEvent, MarkStep, ProfileSnapshot, WriteBatch};
use crate::sql;
use crate::store::{Store, SyncAppend};

/// Events deleted per statement by `prune_events`: small enough that the
/// write lock is released often, large enough to keep the overhead low.
const PRUNE_CHUNK_ROWS: i64 = 5_000;

fn bind_event<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    e: &'q LoginEvent,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    for v in event_values(e) {
        q = match v {
            SqlValue::Int(v) => q.bind(v),
            SqlValue::Real(v) => q.bind(v),
            SqlValue::Bool(v) => q.bind(v),
            SqlValue::Text(v) => q.bind(v),
        };
    }
    q
}

fn bind_profile<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    p: &'q ProfileSnapshot,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    q.bind(p.user.as_str())
        .bind(p.blob.as_slice())
        .bind(p.updated_at.secs())
}

impl SqliteStore {
    /// A batch in one transaction of cached multi-row statements.
    async fn append_chunked(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let mut tx = self
            .writer
            .begin()
            .await
            .map_err(StoreError::query("append"))?;
        // The id of the last event written before each cut (see the appender).
        let mut through = Vec::new();
        let mut start = 0;
        let cuts = batch.cuts();
        for cut in cuts.iter().copied().chain([batch.events.len()]) {
            let mut rest = &batch.events[start..cut];
            start = cut;
            for size in sql::chunk_sizes(rest.len()) {
                let (chunk, tail) = rest.split_at(size);
                rest = tail;
                let mut q = sqlx::query(sql::insert_events(sql::Placeholders::Positional, size));
                for e in chunk {
                    q = bind_event(q, e);
                }
                q.execute(&mut *tx)
                    .await
                    .map_err(StoreError::query("append"))?;
            }
            let id: i64 = sqlx::query_scalar(sql::LAST_EVENT_ID)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::query("append"))?;
            through.push((cut, id));
        }
        for &(at, step) in &batch.marks {
            let q = match step {
                MarkStep::Begin => sqlx::query(sql::MARK_BEGIN).bind(through_at(&through, at)),
                MarkStep::End => sqlx::query(sql::MARK_END),
            };
            q.execute(&mut *tx)
                .await
                .map_err(StoreError::query("append"))?;
        }
        let profiles: Vec<(&ProfileSnapshot, i64)> = batch
            .last_profiles_indexed()
            .map(|(i, p)| (p, through_at(&through, batch.events_before_profile(i))))
            .collect();
        let mut rest = profiles.as_slice();
        for size in sql::chunk_sizes(rest.len()) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let mut q = sqlx::query(sql::upsert_profiles(sql::Placeholders::Positional, size));
            for (p, id) in chunk {
                q = bind_profile(q, p).bind(*id);
            }
            q.execute(&mut *tx)
                .await
                .map_err(StoreError::query("append"))?;
        }
        tx.commit().await.map_err(StoreError::query("append"))?;
        Ok(())
    }
}

impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        schema::migrator().run(&self.writer).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(sql::PING)
            .execute(&self.reader)
            .await
            .map_err(StoreError::query("ping"))?;
        Ok(())
    }

    async fn append(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.append_chunked(batch).await
    }

    fn sync_appender(&self) -> Result<Option<Box<dyn SyncAppend>>, StoreError> {
        match &self.path {
            Some(path) => Ok(Some(Box::new(SqliteAppender::open(
                path,
                std::sync::Arc::clone(&self.wal),
            )?))),
            // In memory the database lives in the one pooled connection.
            None => Ok(None),
        }
    }

    async fn history(
        &self,
        user: &str,
        query: HistoryQuery,
    ) -> Result<Vec<LoginEvent>, StoreError> {
        let limit = i64::from(query.effective_limit());
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = match (query.after, query.before) {
            (Some(c), _) => sqlx::query(sql::HISTORY_AFTER_CURSOR)
                .bind(user)
                .bind(c.ts.secs())
                .bind(c.id)
                .bind(limit),
            (None, Some(before)) => sqlx::query(sql::HISTORY_BEFORE)
                .bind(user)
                .bind(before.secs())
                .bind(limit),
            (None, None) => sqlx::query(sql::HISTORY_LATEST).bind(user).bind(limit),
        };
        let found = q
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("history"))?;
        found.iter().map(rows::login_event).collect()
    }

    async fn load_profiles(&self) -> Result<Vec<ProfileSnapshot>, StoreError> {
        let found = sqlx::query(sql::LOAD_PROFILES)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("load_profiles"))?;
        found.iter().map(rows::profile).collect()
    }

    async fn load_profile(&self, user: &str) -> Result<Option<ProfileSnapshot>, StoreError> {
        let found = sqlx::query(sql::LOAD_PROFILE)
            .bind(user)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("load_profile"))?;
        found.as_ref().map(rows::profile).transpose()
    }

    async fn replay_mark(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql::REPLAY_MARK)
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query("replay_mark"))
    }

    async fn successes_after(&self, after: i64, limit: u32) -> Result<Vec<LoginEvent>, StoreError> {
        let found = sqlx::query(sql::SUCCESSES_AFTER)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("successes_after"))?;
        found.iter().map(rows::login_event).collect()
    }

    async fn prune_events(&self, older_than: Timestamp) -> Result<u64, StoreError> {
        let mut deleted = 0u64;
        loop {
            // Each chunk is its own statement on a freshly acquired writer
            // connection, so queued group commits run in between.
            let done = sqlx::query(sql::PRUNE_CHUNK)
                .bind(older_than.secs())
                .bind(PRUNE_CHUNK_ROWS)
                .execute(&self.writer)
                .await
                .map_err(StoreError::query("prune_events"))?
                .rows_affected();
            deleted += done;
            if done < PRUNE_CHUNK_ROWS as u64 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn list_corrections(&self) -> Result<Vec<GeoCorrection>, StoreError> {
        let found = sqlx::query(sql::LIST_CORRECTIONS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("list_corrections"))?;
        found.iter().map(rows::correction).collect()
    }

    async fn upsert_correction(&self, c: &GeoCorrection) -> Result<(), StoreError> {
        let loc = &c.location;
        sqlx::query(sql::UPSERT_CORRECTION)
            .bind(c.network.trunc().to_string())
            .bind(loc.country.as_ref().map(|c| c.as_str().to_string()))
            .bind(loc.region.as_deref())
            .bind(loc.city.as_deref())
            .bind(loc.city_zh.as_deref())
            .bind(loc.region_zh.as_deref())
            .bind(loc.coords.map(|c| f64::from(c.lat)))
            .bind(loc.coords.map(|c| f64::from(c.lon)))
            .bind(loc.accuracy_km.map(i64::from))
            .bind(loc.time_zone.as_deref())
            .bind(c.note.as_deref())
            .bind(c.created_at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("upsert_correction"))?;
        Ok(())
    }

    async fn delete_correction(&self, network: &IpNet) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELETE_CORRECTION)
            .bind(network.trunc().to_string())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("delete_correction"))?;
        Ok(done.rows_affected() > 0)
    }
}
