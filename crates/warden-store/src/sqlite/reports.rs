//! [`ReportStore`] for [`SqliteStore`]: every aggregation is one read on
//! the reader pool.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use warden_core::Timestamp;

use super::SqliteStore;
use crate::error::StoreError;
use crate::reports::{
    Adoption, AnswerCount, LoginTotals, PlaceCount, RefusalCount, RefusalKind, ReportStore,
    ReportWindow, RiskyKey, MAX_REPORT_ROWS,
};
use crate::sql_reports as sql;

/// A count column (never negative) as `u64`.
fn count(row: &SqliteRow, column: &'static str, op: &'static str) -> Result<u64, StoreError> {
    let n: Option<i64> = row.try_get(column).map_err(StoreError::query(op))?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

fn text(
    row: &SqliteRow,
    column: &'static str,
    op: &'static str,
) -> Result<Option<String>, StoreError> {
    row.try_get(column).map_err(StoreError::query(op))
}

fn limit(n: u32) -> i64 {
    i64::from(n.min(MAX_REPORT_ROWS))
}

/// Room for every bucket of `w` times `per` rows, within the cap of a
/// year of days.
fn series_limit(w: &ReportWindow, per: usize) -> i64 {
    ((w.buckets() + 1) * per).min(400 * per) as i64
}

fn place(row: &SqliteRow, city: bool, op: &'static str) -> Result<PlaceCount, StoreError> {
    Ok(PlaceCount {
        country: text(row, "country", op)?,
        region: if city { text(row, "region", op)? } else { None },
        city: if city { text(row, "city", op)? } else { None },
        attempts: count(row, "attempts", op)?,
        successes: count(row, "successes", op)?,
        denied: count(row, "denied", op)?,
        sample_ip: if city {
            text(row, "sample_ip", op)?
        } else {
            None
        },
    })
}

fn risky(row: &SqliteRow, op: &'static str) -> Result<RiskyKey, StoreError> {
    Ok(RiskyKey {
        key: row.try_get("k").map_err(StoreError::query(op))?,
        denied: count(row, "denied", op)?,
        challenged: count(row, "challenged", op)?,
        max_risk: row
            .try_get::<Option<f64>, _>("max_risk")
            .map_err(StoreError::query(op))?
            .unwrap_or(0.0),
        others: count(row, "others", op)?,
        country: text(row, "country", op)?,
    })
}

impl SqliteStore {
    async fn places(
        &self,
        statement: &'static str,
        w: &ReportWindow,
        n: u32,
        city: bool,
        op: &'static str,
    ) -> Result<Vec<PlaceCount>, StoreError> {
        let rows = sqlx::query(statement)
            .bind(w.from.secs())
            .bind(w.to.secs())
            .bind(limit(n))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter().map(|r| place(r, city, op)).collect()
    }

    async fn risky(
        &self,
        statement: &'static str,
        w: &ReportWindow,
        n: u32,
        op: &'static str,
    ) -> Result<Vec<RiskyKey>, StoreError> {
        let rows = sqlx::query(statement)
            .bind(w.from.secs())
            .bind(w.to.secs())
            .bind(limit(n))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter().map(|r| risky(r, op)).collect()
    }
}

impl ReportStore for SqliteStore {
    async fn login_totals(&self, w: &ReportWindow) -> Result<LoginTotals, StoreError> {
        const OP: &str = "login_totals";
        let row = sqlx::query(sql::LOGIN_TOTALS)
            .bind(w.from.secs())
            .bind(w.to.secs())
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query(OP))?;
        Ok(LoginTotals {
            attempts: count(&row, "attempts", OP)?,
            successes: count(&row, "successes", OP)?,
            denied: count(&row, "denied", OP)?,
            challenged: count(&row, "challenged", OP)?,
            users: count(&row, "users", OP)?,
        })
    }

    async fn logins_by_country(
        &self,
        w: &ReportWindow,
        n: u32,
    ) -> Result<Vec<PlaceCount>, StoreError> {
        self.places(sql::LOGINS_BY_COUNTRY, w, n, false, "logins_by_country")
            .await
    }

    async fn logins_by_city(
        &self,
        w: &ReportWindow,
        n: u32,
    ) -> Result<Vec<PlaceCount>, StoreError> {
        self.places(sql::LOGINS_BY_CITY, w, n, true, "logins_by_city")
            .await
    }

    async fn risky_users(&self, w: &ReportWindow, n: u32) -> Result<Vec<RiskyKey>, StoreError> {
        self.risky(sql::RISKY_USERS, w, n, "risky_users").await
    }

    async fn risky_addresses(&self, w: &ReportWindow, n: u32) -> Result<Vec<RiskyKey>, StoreError> {
        self.risky(sql::RISKY_ADDRESSES, w, n, "risky_addresses")
            .await
    }

    async fn refusals(&self, w: &ReportWindow) -> Result<Vec<RefusalCount>, StoreError> {
        const OP: &str = "refusals";
        let rows = sqlx::query(sql::REFUSALS)
            .bind(w.from.secs())
            .bind(w.to.secs())
            .bind(w.bucket_secs.max(1))
            .bind(series_limit(w, RefusalKind::ALL.len()))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query(OP))?;
        rows.iter()
            .map(|r| {
                let bucket: i64 = r.try_get("bucket").map_err(StoreError::query(OP))?;
                let kind: String = r.try_get("kind").map_err(StoreError::query(OP))?;
                let kind = RefusalKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                    table: "login_events",
                    key: format!("bucket {bucket}"),
                    column: "reasons",
                    source: format!("unknown refusal kind {kind:?}").into(),
                })?;
                Ok(RefusalCount {
                    bucket,
                    kind,
                    count: count(r, "n", OP)?,
                })
            })
            .collect()
    }

    async fn location_alert_answers(
        &self,
        w: &ReportWindow,
    ) -> Result<Vec<AnswerCount>, StoreError> {
        const OP: &str = "location_alert_answers";
        let rows = sqlx::query(sql::LOCATION_ALERT_ANSWERS)
            .bind(w.from.secs())
            .bind(w.to.secs())
            .bind(w.bucket_secs.max(1))
            .bind(series_limit(w, 4))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query(OP))?;
        let mut out: Vec<AnswerCount> = Vec::new();
        for r in &rows {
            let bucket: i64 = r.try_get("bucket").map_err(StoreError::query(OP))?;
            let answer = text(r, "answer", OP)?;
            let n = count(r, "n", OP)?;
            if out.last().is_none_or(|a| a.bucket != bucket) {
                out.push(AnswerCount {
                    bucket,
                    ..AnswerCount::default()
                });
            }
            let a = out.last_mut().expect("pushed above");
            match answer.as_deref() {
                None => a.unanswered += n,
                Some("it_was_me") => a.yes += n,
                Some("not_me") => a.no += n,
                Some("wrong_location") => a.wrong_location += n,
                Some(other) => {
                    return Err(StoreError::Corrupt {
                        table: "alerts",
                        key: format!("bucket {bucket}"),
                        column: "answer",
                        source: format!("unknown answer {other:?}").into(),
                    })
                }
            }
        }
        Ok(out)
    }

    async fn adoption(&self, at: Timestamp) -> Result<Adoption, StoreError> {
        const OP: &str = "adoption";
        let row = sqlx::query(sql::ADOPTION)
            .bind(at.secs())
            .fetch_one(&self.reader)
            .await
            .map_err(StoreError::query(OP))?;
        Ok(Adoption {
            accounts: count(&row, "accounts", OP)?,
            with_totp: count(&row, "with_totp", OP)?,
            with_codes: count(&row, "with_codes", OP)?,
        })
    }
}
