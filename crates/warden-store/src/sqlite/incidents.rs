//! [`IncidentStore`] for [`SqliteStore`]: changes in transactions on the
//! writer connection (an opening checks the user's open incident in the
//! same transaction), reads on the reader pool.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use warden_core::incident::{
    Affected, Incident, IncidentStatus, IncidentStep, Review, StepKind, Trigger,
};
use warden_core::Timestamp;

use super::{rows, SqliteStore};
use crate::error::StoreError;
use crate::incidents::{
    IncidentQuery, IncidentRecord, IncidentStore, NewIncident, Opened, OverdueStep, RevertMark,
    StepDone, MAX_AFFECTED, MAX_INCIDENTS_PAGE, MAX_REVERTS, MAX_TRIGGERS,
};
use crate::sql_incidents as sql;

type Conn = sqlx::SqliteConnection;

async fn count(
    conn: &mut Conn,
    q: &'static str,
    id: i64,
    op: &'static str,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(q)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::query(op))
}

async fn insert_affected(
    conn: &mut Conn,
    id: i64,
    a: &Affected,
    op: &'static str,
) -> Result<bool, StoreError> {
    let there: i64 = sqlx::query_scalar(sql::AFFECTED_EXISTS)
        .bind(id)
        .bind(a.kind.as_str())
        .bind(a.value.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::query(op))?;
    if there > 0 {
        return Ok(false);
    }
    if count(conn, sql::AFFECTED_COUNT, id, op).await? >= MAX_AFFECTED as i64 {
        return Err(StoreError::Conflict {
            what: format!("incident {id} lists {MAX_AFFECTED} affected entries, the most it keeps; an entry beyond them"),
        });
    }
    sqlx::query(sql::INSERT_AFFECTED)
        .bind(id)
        .bind(a.kind.as_str())
        .bind(a.value.as_str())
        .bind(a.added_at.secs())
        .bind(a.added_by.as_str())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::query(op))?;
    Ok(true)
}

async fn insert_trigger(
    conn: &mut Conn,
    id: i64,
    t: &Trigger,
    op: &'static str,
) -> Result<(), StoreError> {
    if let Some(r) = t.ref_id {
        let there: i64 = sqlx::query_scalar(sql::TRIGGER_EXISTS)
            .bind(id)
            .bind(t.kind.as_str())
            .bind(r)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::query(op))?;
        if there > 0 {
            return Ok(());
        }
    }
    if count(conn, sql::TRIGGER_COUNT, id, op).await? >= MAX_TRIGGERS as i64 {
        // The list is full: the incident is open and known; more of the
        // same adds nothing an admin needs.
        return Ok(());
    }
    sqlx::query(sql::INSERT_TRIGGER)
        .bind(id)
        .bind(t.kind.as_str())
        .bind(t.ref_id)
        .bind(t.at.secs())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::query(op))?;
    Ok(())
}

fn checklist(kind: &StepKind) -> String {
    match kind {
        StepKind::Manual { checklist } => checklist.join("\n"),
        StepKind::Action(_) => String::new(),
    }
}

async fn exists(
    conn: &mut Conn,
    id: i64,
    op: &'static str,
) -> Result<Option<IncidentStatus>, StoreError> {
    let status: Option<String> = sqlx::query_scalar(sql::STATUS_OF)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::query(op))?;
    status
        .map(|s| {
            s.parse::<IncidentStatus>()
                .map_err(|e| StoreError::Corrupt {
                    table: "incidents",
                    key: id.to_string(),
                    column: "status",
                    source: Box::new(e),
                })
        })
        .transpose()
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: format!("incident {id}"),
    }
}

impl IncidentStore for SqliteStore {
    async fn open_incident(&self, new: &NewIncident, dedupe: bool) -> Result<Opened, StoreError> {
        const OP: &str = "open_incident";
        let err = || StoreError::query(OP);
        let i = &new.incident;
        let mut tx = self.writer.begin().await.map_err(err())?;
        if let (true, Some(user)) = (dedupe, i.user.as_deref()) {
            let open: Option<i64> = sqlx::query_scalar(sql::OPEN_OF_USER)
                .bind(user)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err())?;
            if let Some(id) = open {
                insert_trigger(&mut tx, id, &i.trigger, OP).await?;
                for a in &new.affected {
                    if count(&mut tx, sql::AFFECTED_COUNT, id, OP).await? < MAX_AFFECTED as i64 {
                        insert_affected(&mut tx, id, a, OP).await?;
                    }
                }
                tx.commit().await.map_err(err())?;
                return Ok(Opened::Attached(id));
            }
        }
        let id: i64 = sqlx::query_scalar(sql::INSERT_INCIDENT)
            .bind(i.grade.as_str())
            .bind(i.status.as_str())
            .bind(i.title.as_str())
            .bind(i.opened_at.secs())
            .bind(i.opened_by.as_str())
            .bind(i.trigger.kind.as_str())
            .bind(i.trigger.ref_id)
            .bind(i.user.as_deref())
            .bind(i.assignee.as_deref())
            .bind(i.first_risky_at.map(Timestamp::secs))
            .fetch_one(&mut *tx)
            .await
            .map_err(err())?;
        insert_trigger(&mut tx, id, &i.trigger, OP).await?;
        for a in new.affected.iter().take(MAX_AFFECTED) {
            insert_affected(&mut tx, id, a, OP).await?;
        }
        for s in &new.steps {
            sqlx::query(sql::INSERT_STEP)
                .bind(id)
                .bind(s.step.as_str())
                .bind(i64::from(s.position))
                .bind(s.title_en.as_str())
                .bind(s.title_zh.as_str())
                .bind(s.owner.as_str())
                .bind(s.kind.wire())
                .bind(checklist(&s.kind))
                .bind(s.due_at.secs())
                .bind(s.done_at.map(Timestamp::secs))
                .bind(s.done_by.as_deref())
                .bind(s.note.as_deref())
                .bind(s.result.as_deref())
                .bind(s.overdue_alerted_at.map(Timestamp::secs))
                .execute(&mut *tx)
                .await
                .map_err(err())?;
        }
        tx.commit().await.map_err(err())?;
        Ok(Opened::New(id))
    }

    async fn incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        const OP: &str = "incident";
        let err = || StoreError::query(OP);
        let mut conn = self.reader.acquire().await.map_err(err())?;
        // One read transaction: the parts belong to one moment.
        sqlx::query("BEGIN")
            .execute(&mut *conn)
            .await
            .map_err(err())?;
        let read = async {
            let Some(row) = sqlx::query(sql::INCIDENT)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(err())?
            else {
                return Ok(None);
            };
            let incident = rows::incident(&row)?;
            let affected = sqlx::query(sql::AFFECTED)
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(err())?
                .iter()
                .map(|r| rows::incident_affected(id, r))
                .collect::<Result<Vec<_>, _>>()?;
            let steps = sqlx::query(sql::STEPS)
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(err())?
                .iter()
                .map(rows::incident_step)
                .collect::<Result<Vec<_>, _>>()?;
            let triggers = sqlx::query(sql::TRIGGERS)
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(err())?
                .iter()
                .map(|r| rows::incident_trigger(id, r))
                .collect::<Result<Vec<_>, _>>()?;
            let reverts = sqlx::query(sql::REVERTS)
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(err())?
                .iter()
                .map(|r: &SqliteRow| {
                    Ok(RevertMark {
                        operation_id: r.try_get("operation_id").map_err(err())?,
                        marked_at: Timestamp(r.try_get("marked_at").map_err(err())?),
                        marked_by: r.try_get("marked_by").map_err(err())?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let review = sqlx::query(sql::REVIEW)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(err())?
                .map(|r| -> Result<Review, StoreError> {
                    Ok(Review {
                        root_cause: r.try_get("root_cause").map_err(err())?,
                        what_worked: r.try_get("what_worked").map_err(err())?,
                        what_to_change: r.try_get("what_to_change").map_err(err())?,
                        by: r.try_get("reviewed_by").map_err(err())?,
                        at: Timestamp(r.try_get("reviewed_at").map_err(err())?),
                    })
                })
                .transpose()?;
            Ok(Some(IncidentRecord {
                incident,
                affected,
                steps,
                triggers,
                reverts,
                review,
            }))
        }
        .await;
        let _ = sqlx::query("COMMIT").execute(&mut *conn).await;
        read
    }

    async fn list_incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>, StoreError> {
        let found = sqlx::query(sql::LIST_INCIDENTS)
            .bind(q.status.map(|s| s.as_str()))
            .bind(i64::from(q.active))
            .bind(q.grade.map(|g| g.as_str()))
            .bind(q.user.as_deref())
            .bind(q.assignee.as_deref())
            .bind(q.before_id)
            .bind(i64::from(q.limit.min(MAX_INCIDENTS_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("list_incidents"))?;
        found.iter().map(rows::incident).collect()
    }

    async fn set_incident_status(
        &self,
        from: IncidentStatus,
        to: &Incident,
    ) -> Result<(), StoreError> {
        const OP: &str = "set_incident_status";
        let err = || StoreError::query(OP);
        let mut tx = self.writer.begin().await.map_err(err())?;
        let closing = to.status == IncidentStatus::Closed;
        let done = sqlx::query(sql::SET_STATUS)
            .bind(to.id)
            .bind(to.status.as_str())
            .bind(to.contained_at.map(Timestamp::secs))
            .bind(to.eradicated_at.map(Timestamp::secs))
            .bind(to.recovered_at.map(Timestamp::secs))
            .bind(to.closed_at.map(Timestamp::secs))
            .bind(from.as_str())
            .bind(i64::from(closing))
            .execute(&mut *tx)
            .await
            .map_err(err())?;
        if done.rows_affected() == 1 {
            tx.commit().await.map_err(err())?;
            return Ok(());
        }
        match exists(&mut tx, to.id, OP).await? {
            None => Err(not_found(to.id)),
            Some(now) if now != from => Err(StoreError::Conflict {
                what: format!(
                    "incident {} is {now}, not {from}: a change to {}",
                    to.id, to.status
                ),
            }),
            Some(_) => Err(StoreError::Conflict {
                what: format!("closing incident {} without a review: a change", to.id),
            }),
        }
    }

    async fn assign_incident(&self, id: i64, assignee: Option<&str>) -> Result<(), StoreError> {
        let done = sqlx::query(sql::ASSIGN)
            .bind(id)
            .bind(assignee)
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("assign_incident"))?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    async fn add_affected(&self, id: i64, affected: &Affected) -> Result<bool, StoreError> {
        const OP: &str = "add_affected";
        let err = || StoreError::query(OP);
        let mut tx = self.writer.begin().await.map_err(err())?;
        if exists(&mut tx, id, OP).await?.is_none() {
            return Err(not_found(id));
        }
        let added = insert_affected(&mut tx, id, affected, OP).await?;
        tx.commit().await.map_err(err())?;
        Ok(added)
    }

    async fn complete_step(
        &self,
        id: i64,
        step: &str,
        done: &StepDone,
    ) -> Result<bool, StoreError> {
        const OP: &str = "complete_step";
        let err = || StoreError::query(OP);
        let mut tx = self.writer.begin().await.map_err(err())?;
        let changed = sqlx::query(sql::COMPLETE_STEP)
            .bind(id)
            .bind(step)
            .bind(done.at.secs())
            .bind(done.by.as_str())
            .bind(done.note.as_deref())
            .bind(done.result.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(err())?;
        if changed.rows_affected() == 1 {
            tx.commit().await.map_err(err())?;
            return Ok(true);
        }
        let there: i64 = sqlx::query_scalar(sql::STEP_EXISTS)
            .bind(id)
            .bind(step)
            .fetch_one(&mut *tx)
            .await
            .map_err(err())?;
        if there == 0 {
            return Err(StoreError::NotFound {
                what: format!("step {step:?} of incident {id}"),
            });
        }
        Ok(false)
    }

    async fn set_review(&self, id: i64, review: &Review) -> Result<(), StoreError> {
        const OP: &str = "set_review";
        let err = || StoreError::query(OP);
        let mut tx = self.writer.begin().await.map_err(err())?;
        match exists(&mut tx, id, OP).await? {
            None => return Err(not_found(id)),
            Some(IncidentStatus::Closed) => {
                return Err(StoreError::Conflict {
                    what: format!("incident {id} is closed: a change to its review"),
                })
            }
            Some(_) => {}
        }
        sqlx::query(sql::DELETE_REVIEW)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(err())?;
        sqlx::query(sql::INSERT_REVIEW)
            .bind(id)
            .bind(review.root_cause.as_str())
            .bind(review.what_worked.as_str())
            .bind(review.what_to_change.as_str())
            .bind(review.by.as_str())
            .bind(review.at.secs())
            .execute(&mut *tx)
            .await
            .map_err(err())?;
        tx.commit().await.map_err(err())?;
        Ok(())
    }

    async fn mark_reverts(
        &self,
        id: i64,
        operations: &[i64],
        at: Timestamp,
        by: &str,
    ) -> Result<u32, StoreError> {
        const OP: &str = "mark_reverts";
        let err = || StoreError::query(OP);
        let mut tx = self.writer.begin().await.map_err(err())?;
        if exists(&mut tx, id, OP).await?.is_none() {
            return Err(not_found(id));
        }
        let mut added = 0;
        for op in operations {
            let there: i64 = sqlx::query_scalar(sql::REVERT_EXISTS)
                .bind(id)
                .bind(op)
                .fetch_one(&mut *tx)
                .await
                .map_err(err())?;
            if there > 0 {
                continue;
            }
            if count(&mut tx, sql::REVERT_COUNT, id, OP).await? >= MAX_REVERTS as i64 {
                break;
            }
            sqlx::query(sql::INSERT_REVERT)
                .bind(id)
                .bind(op)
                .bind(at.secs())
                .bind(by)
                .execute(&mut *tx)
                .await
                .map_err(err())?;
            added += 1;
        }
        tx.commit().await.map_err(err())?;
        Ok(added)
    }

    async fn overdue_steps(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<OverdueStep>, StoreError> {
        let found = sqlx::query(sql::OVERDUE_STEPS)
            .bind(now.secs())
            .bind(i64::from(limit.min(MAX_INCIDENTS_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("overdue_steps"))?;
        found
            .iter()
            .map(|r| {
                let step: IncidentStep = rows::incident_step(r)?;
                let (grade, user) = rows::incident_grade_user(r)?;
                Ok(OverdueStep {
                    incident_id: r
                        .try_get("incident_id")
                        .map_err(StoreError::query("overdue_steps"))?,
                    grade,
                    user,
                    step,
                })
            })
            .collect()
    }

    async fn mark_overdue_alerted(
        &self,
        id: i64,
        step: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::MARK_ALERTED)
            .bind(id)
            .bind(step)
            .bind(at.secs())
            .execute(&self.writer)
            .await
            .map_err(StoreError::query("mark_overdue_alerted"))?;
        Ok(done.rows_affected() == 1)
    }
}
