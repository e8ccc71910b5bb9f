//! [`PolicyStore`] for [`SqliteStore`]: a version is one conditional
//! `INSERT` (only the next number of its scope), a user's groups one
//! transaction; reads on the reader pool.

use warden_core::scoped::{parse_network, Hours, Place, PolicyRules, PolicyVersion, Scope};
use warden_core::{Name, Protocol, Timestamp};

use super::{rows, SqliteStore};
use crate::error::StoreError;
use crate::model::LoginEvent;
use crate::policies::{PolicyStore, MAX_LOGINS_PAGE, MAX_POLICY_HISTORY};
use crate::sql_policies as sql;

/// A list column: comma-separated canonical values.
pub(super) fn list_text<T: std::fmt::Display>(v: &Option<Vec<T>>) -> Option<String> {
    v.as_ref()
        .map(|v| v.iter().map(T::to_string).collect::<Vec<_>>().join(","))
}

/// Decodes a list column.
pub(super) fn parse_list<T>(
    text: &str,
    one: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    text.split(',').map(|s| one(s.trim())).collect()
}

/// Decodes the rules' columns of a `policy_versions` row.
pub(super) fn rules_of(
    allowlist: Option<String>,
    geo_allow: Option<String>,
    geo_block: Option<String>,
    protocols: Option<String>,
) -> Result<PolicyRules, String> {
    let protocol = |s: &str| s.parse::<Protocol>().map_err(|e| e.to_string());
    Ok(PolicyRules {
        allowlist: allowlist
            .map(|t| parse_list(&t, parse_network))
            .transpose()?,
        geo_allow: geo_allow
            .map(|t| parse_list(&t, Place::parse))
            .transpose()?,
        geo_block: geo_block
            .map(|t| parse_list(&t, Place::parse))
            .transpose()?,
        protocols: protocols.map(|t| parse_list(&t, protocol)).transpose()?,
        ..PolicyRules::default()
    })
}

/// Decodes the hours' columns.
pub(super) fn hours_of(
    days: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    offset: Option<i64>,
) -> Result<Option<Hours>, String> {
    let (Some(days), Some(from), Some(to), Some(offset)) = (days, from, to, offset) else {
        return Ok(None);
    };
    let t = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    if !(0..=1440).contains(&from) || !(0..=1440).contains(&to) {
        return Err(format!("hours {from}-{to} out of range"));
    }
    let offset = i32::try_from(offset).map_err(|e| e.to_string())?;
    Hours::parse(&days, &format!("{}-{}", t(from), t(to)), offset).map(Some)
}

impl PolicyStore for SqliteStore {
    async fn insert_policy_version(&self, v: &PolicyVersion) -> Result<(), StoreError> {
        let r = &v.rules;
        let done = sqlx::query(sql::INSERT_POLICY_VERSION)
            .bind(v.scope.as_str())
            .bind(&*v.target)
            .bind(i64::from(v.version))
            .bind(v.name.as_str())
            .bind(v.mode.as_str())
            .bind(v.removed)
            .bind(list_text(&r.allowlist))
            .bind(list_text(&r.geo_allow))
            .bind(list_text(&r.geo_block))
            .bind(list_text(&r.protocols))
            .bind(r.tls_required)
            .bind(r.hours.map(|h| h.days_text()))
            .bind(r.hours.map(|h| i64::from(h.from)))
            .bind(r.hours.map(|h| i64::from(h.to)))
            .bind(r.hours.map(|h| i64::from(h.utc_offset_minutes)))
            .bind(r.login_protection.map(|l| l.as_str()))
            .bind(r.new_device_approval)
            .bind(r.step_up_minutes.map(i64::from))
            .bind(v.actor.as_str())
            .bind(v.ip.map(|ip| ip.to_string()))
            .bind(v.comment.as_deref())
            .bind(v.created_at.secs())
            .bind(v.restored_from.map(i64::from))
            .execute(&self.writer)
            .await;
        let conflict = || StoreError::Conflict {
            what: format!("{} policy {} version {}", v.scope, v.target, v.version),
        };
        match done {
            Ok(d) if d.rows_affected() == 1 => Ok(()),
            Ok(_) => Err(conflict()),
            Err(e)
                if e.as_database_error().map(|d| d.kind())
                    == Some(sqlx::error::ErrorKind::UniqueViolation) =>
            {
                Err(conflict())
            }
            Err(e) => Err(StoreError::query("insert_policy_version")(e)),
        }
    }

    async fn current_policies(&self) -> Result<Vec<PolicyVersion>, StoreError> {
        let found = sqlx::query(sql::CURRENT_POLICIES)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("current_policies"))?;
        found.iter().map(rows::policy_version).collect()
    }

    async fn policy_version(
        &self,
        scope: Scope,
        target: &str,
        version: u32,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        let found = sqlx::query(sql::POLICY_VERSION)
            .bind(scope.as_str())
            .bind(target)
            .bind(i64::from(version))
            .fetch_optional(&self.reader)
            .await
            .map_err(StoreError::query("policy_version"))?;
        found.as_ref().map(rows::policy_version).transpose()
    }

    async fn policy_history(
        &self,
        scope: Scope,
        target: &str,
        limit: u32,
    ) -> Result<Vec<PolicyVersion>, StoreError> {
        let found = sqlx::query(sql::POLICY_HISTORY)
            .bind(scope.as_str())
            .bind(target)
            .bind(i64::from(limit.min(MAX_POLICY_HISTORY)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("policy_history"))?;
        found.iter().map(rows::policy_version).collect()
    }

    async fn set_user_groups(
        &self,
        user: &str,
        groups: &[Name],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const OP: &str = "set_user_groups";
        let mut tx = self.begin_write(OP).await?;
        sqlx::query(sql::DELETE_USER_GROUPS)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        for g in groups {
            sqlx::query(sql::INSERT_GROUP_MEMBER)
                .bind(&**g)
                .bind(user)
                .bind(at.secs())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP))?;
        }
        tx.commit().await.map_err(StoreError::query(OP))
    }

    async fn group_members(&self) -> Result<Vec<(Name, Name)>, StoreError> {
        let found: Vec<(String, String)> = sqlx::query_as(sql::GROUP_MEMBERS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("group_members"))?;
        Ok(found
            .into_iter()
            .map(|(g, u)| (Name::from(g), Name::from(u)))
            .collect())
    }

    async fn account_orgs(&self) -> Result<Vec<(Name, Name)>, StoreError> {
        let found: Vec<(String, String)> = sqlx::query_as(sql::ACCOUNT_ORGS)
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("account_orgs"))?;
        Ok(found
            .into_iter()
            .map(|(u, o)| (Name::from(u), Name::from(o)))
            .collect())
    }

    async fn logins_since(
        &self,
        since: Timestamp,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LoginEvent>, StoreError> {
        let found = sqlx::query(sql::LOGINS_SINCE)
            .bind(since.secs())
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit.min(MAX_LOGINS_PAGE)))
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::query("logins_since"))?;
        found.iter().map(rows::login_event).collect()
    }
}
