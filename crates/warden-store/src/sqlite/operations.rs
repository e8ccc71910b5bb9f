//! [`OperationStore`] for [`SqliteStore`]: an operation and its alert in
//! one transaction on the writer connection, reads on the reader pool.

use sqlx::Row;
use warden_core::{Grade, Operation, Timestamp};

use super::{alerts, rows, SqliteStore};
use crate::error::StoreError;
use crate::operations::{
    OperationAlert, OperationQuery, OperationStore, Recorded, MAX_OPERATIONS_LIMIT,
};
use crate::sql_alerts;
use crate::sql_operations as sql;

impl OperationStore for SqliteStore {
    async fn record_operation(
        &self,
        op: &Operation,
        alert: Option<&OperationAlert>,
    ) -> Result<Recorded, StoreError> {
        let err = || StoreError::query("record_operation");
        let mut tx = self.writer.begin().await.map_err(err())?;
        if let Some(report_id) = op.report_id.as_deref() {
            let found = sqlx::query(sql::REPORTED)
                .bind(op.source.as_str())
                .bind(report_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err())?;
            if let Some(row) = found {
                return Ok(Recorded {
                    id: row.try_get("id").map_err(err())?,
                    alert_id: row.try_get("alert_id").map_err(err())?,
                    duplicate: true,
                });
            }
        }
        let alert_id = match alert {
            Some(OperationAlert::Insert(a)) => {
                Some(alerts::insert(a).fetch_one(&mut *tx).await.map_err(err())?)
            }
            Some(OperationAlert::Fold { id, last_ts }) => {
                let folded = sqlx::query(sql_alerts::FOLD_ALERT)
                    .bind(id)
                    .bind(1_i64)
                    .bind(last_ts.secs())
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await
                    .map_err(err())?;
                if folded.rows_affected() != 1 {
                    return Err(StoreError::NotFound {
                        what: format!("alert {id}"),
                    });
                }
                Some(*id)
            }
            None => None,
        };
        let reasons: Vec<&str> = op.reasons.iter().map(|r| r.as_str()).collect();
        let id: i64 = sqlx::query_scalar(sql::INSERT_OPERATION)
            .bind(&*op.user)
            .bind(op.kind.as_str())
            .bind(op.ts.secs())
            .bind(op.received_at.secs())
            .bind(op.ip.map(|ip| ip.to_string()))
            .bind(op.source.as_str())
            .bind(op.report_id.as_deref())
            .bind(op.target.as_deref())
            .bind(op.external)
            .bind(op.detail.as_str())
            .bind(op.grade.as_str())
            .bind(reasons.join(","))
            .bind(op.login_event_id)
            .bind(alert_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(err())?;
        tx.commit().await.map_err(err())?;
        Ok(Recorded {
            id,
            alert_id,
            duplicate: false,
        })
    }

    async fn operation(&self, id: i64) -> Result<Option<Operation>, StoreError> {
        let found = sqlx::query(sql::OPERATION)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("operation"))?;
        found.as_ref().map(rows::operation).transpose()
    }

    async fn list_operations(&self, q: &OperationQuery) -> Result<Vec<Operation>, StoreError> {
        let min = q.min_grade.unwrap_or(Grade::Info);
        let grades: Vec<&str> = Grade::ALL
            .iter()
            .filter(|g| **g >= min)
            .map(|g| g.as_str())
            .collect();
        let grade = |i: usize| grades.get(i).or(grades.last()).copied().unwrap_or("");
        let found = sqlx::query(sql::LIST_OPERATIONS)
            .bind(q.user.as_deref())
            .bind(q.kind.map(|k| k.as_str()))
            .bind(q.since.map(Timestamp::secs))
            .bind(q.before_id)
            .bind(grade(0))
            .bind(grade(1))
            .bind(grade(2))
            .bind(i64::from(q.limit.min(MAX_OPERATIONS_LIMIT)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("list_operations"))?;
        found.iter().map(rows::operation).collect()
    }

    async fn prune_operations(&self, older_than: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_OPERATIONS)
            .bind(older_than.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("prune_operations"))?;
        Ok(done.rows_affected())
    }
}
