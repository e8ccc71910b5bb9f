//! A reported operation: validation (every field bounded and cleaned; a
//! bad one is [`ServiceError::Invalid`] and nothing is stored), the
//! correlation with the user's logins in the window before it, and the one
//! write of the operation with its alert.

use std::net::IpAddr;

use warden_core::operation::{
    correlate, is_external, OperationFacts, RecentLogin, MAX_CORRELATED_LOGINS, MAX_DETAIL_CHARS,
    MAX_REPORT_ID_CHARS, MAX_SOURCE_CHARS, MAX_TARGET_CHARS,
};
use warden_core::text::{has_hidden, one_line};
use warden_core::{normalize_user, Alert, Grade, Operation, OperationKind, Timestamp};
use warden_store::{
    Backend, HistoryQuery, LoginEvent, OperationAlert, OperationQuery, MAX_OPERATIONS_LIMIT,
};

use crate::alerts::admin::ActedBy;
use crate::error::shown;
use crate::events::DomainEvent;
use crate::{Service, ServiceError};

/// How far in the future a reported time may be (clocks drift).
const MAX_FUTURE_SECS: i64 = 300;
/// How old a reported operation may be (as for login attempts).
const MAX_PAST_SECS: i64 = 366 * 24 * 3600;

/// An operation as the mail or IM system reports it, before validation.
#[derive(Debug, Clone, Default)]
pub struct OperationReport {
    pub user: String,
    pub kind: Option<OperationKind>,
    /// When it happened; `None`: now.
    pub ts: Option<Timestamp>,
    /// The address the change was made from.
    pub ip: Option<IpAddr>,
    /// The reporting system; `None`: `api`.
    pub source: Option<String>,
    pub report_id: Option<String>,
    pub target: Option<String>,
    /// Whether the target is outside the organisation; `None`: Warden
    /// tells from the target's domain.
    pub external: Option<bool>,
    pub detail: Option<String>,
}

/// What became of a report.
#[derive(Debug, Clone)]
pub struct ReportedOperation {
    /// As stored (for a duplicate: as stored the first time).
    pub operation: Operation,
    /// The alert it raised or folded into.
    pub alert: Option<Alert>,
    /// The report was stored before (same source and report id): nothing
    /// changed.
    pub duplicate: bool,
}

fn invalid(msg: String) -> ServiceError {
    ServiceError::Invalid(msg)
}

/// A bounded optional text: too long or with hidden characters (when
/// `strict`) is refused; else one clean line, `None` when empty.
fn text(
    field: &str,
    value: Option<&str>,
    max: usize,
    strict: bool,
) -> Result<Option<String>, ServiceError> {
    let Some(v) = value else { return Ok(None) };
    if v.chars().count() > max {
        return Err(invalid(format!(
            "{field} is longer than {max} characters: {}",
            shown(v)
        )));
    }
    if strict && has_hidden(v) {
        return Err(invalid(format!(
            "{field} contains control characters: {}",
            shown(v)
        )));
    }
    let v = one_line(v, max);
    Ok((!v.is_empty()).then_some(v))
}

impl<S: Backend> Service<S> {
    /// Validates a report into an operation (not yet correlated).
    fn operation_of(&self, r: &OperationReport, now: Timestamp) -> Result<Operation, ServiceError> {
        let user = normalize_user(&r.user).map_err(|e| invalid(format!("user: {e}")))?;
        let kind = r
            .kind
            .ok_or_else(|| invalid("kind is required".to_string()))?;
        let ts = r.ts.unwrap_or(now);
        if ts.secs() > now.secs() + MAX_FUTURE_SECS {
            return Err(invalid(format!(
                "ts {} is in the future (now {})",
                ts.secs(),
                now.secs()
            )));
        }
        if ts.secs() < now.secs() - MAX_PAST_SECS {
            return Err(invalid(format!(
                "ts {} is more than 366 days in the past",
                ts.secs()
            )));
        }
        let source = match r.source.as_deref() {
            None | Some("") => "api".to_string(),
            Some(s) => {
                let ok = s.len() <= MAX_SOURCE_CHARS
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                if !ok {
                    return Err(invalid(format!(
                        "source must be one word of letters, digits, '-', '_' or '.' of at most {MAX_SOURCE_CHARS} characters: {}",
                        shown(s)
                    )));
                }
                s.to_ascii_lowercase()
            }
        };
        let report_id = text(
            "report_id",
            r.report_id.as_deref(),
            MAX_REPORT_ID_CHARS,
            true,
        )?;
        let target = text("target", r.target.as_deref(), MAX_TARGET_CHARS, true)?;
        let detail = text("detail", r.detail.as_deref(), MAX_DETAIL_CHARS, false)?;
        let external = match (r.external, &target) {
            (Some(e), _) => e,
            (None, Some(t)) if kind == OperationKind::ForwardingRule => {
                is_external(t, &self.internal_domains(&user))
            }
            (None, _) => false,
        };
        Ok(Operation {
            id: 0,
            user,
            kind,
            ts,
            received_at: now,
            ip: r.ip,
            source,
            report_id,
            target,
            external,
            detail: detail.unwrap_or_default(),
            grade: Grade::Info,
            reasons: Vec::new(),
            login_event_id: None,
            alert_id: None,
        })
    }

    /// The organisation's domains, else the domain of the user's name.
    fn internal_domains(&self, user: &str) -> Vec<String> {
        if !self.sensitive.internal_domains.is_empty() {
            return self.sensitive.internal_domains.clone();
        }
        user.rsplit_once('@')
            .map(|(_, d)| vec![d.to_string()])
            .unwrap_or_default()
    }

    /// Records a sensitive operation the mail or IM system reported,
    /// correlated with the user's logins in the window before it; a warning
    /// or critical grade raises an alert (or folds into the one of an
    /// earlier operation after the same login), written with the operation
    /// in one transaction. A bad field is [`ServiceError::Invalid`] and
    /// nothing is stored.
    pub async fn report_operation(
        &self,
        report: &OperationReport,
        by: ActedBy<'_>,
    ) -> Result<ReportedOperation, ServiceError> {
        let now = self.now();
        let mut op = self.operation_of(report, now)?;
        // The user's logins up to the operation, newest first: the window
        // is cut by `correlate`.
        let events = self
            .store
            .history(
                &op.user,
                HistoryQuery::before(
                    op.ts.plus_secs(1),
                    u32::try_from(MAX_CORRELATED_LOGINS).unwrap_or(u32::MAX),
                ),
            )
            .await?;
        let logins: Vec<RecentLogin> = events.iter().map(recent_login).collect();
        let facts = OperationFacts {
            kind: op.kind,
            ts: op.ts,
            ip: op.ip,
            external: op.external,
        };
        let verdict = correlate(&facts, &logins, self.sensitive.window_secs);
        let login = verdict.login.map(|i| &events[i]);
        op.grade = verdict.grade;
        op.reasons = verdict.reasons.clone();
        op.login_event_id = login.and_then(|l| l.id);

        let mut planned = None;
        if let (true, Some(login)) = (verdict.alerts(), login) {
            let alert = self.operation_alert(&op, login, now);
            planned = Some(match self.store.latest_alert(&alert.dedupe_key).await? {
                Some(earlier) if earlier.state != warden_core::AlertState::Closed => {
                    OperationAlert::Fold {
                        id: earlier.id,
                        last_ts: op.ts,
                    }
                }
                _ => OperationAlert::Insert(Box::new(alert)),
            });
        }
        let done = self.store.record_operation(&op, planned.as_ref()).await?;
        if done.duplicate {
            let stored =
                self.store.operation(done.id).await?.ok_or_else(|| {
                    ServiceError::Internal(format!("operation {} vanished", done.id))
                })?;
            let alert = match stored.alert_id {
                Some(id) => self.store.alert(id).await?,
                None => None,
            };
            self.events.publish(DomainEvent::OperationReported {
                operation: &stored,
                actor: by.actor,
                ip: by.ip,
                at: now,
                duplicate: true,
            });
            return Ok(ReportedOperation {
                operation: stored,
                alert,
                duplicate: true,
            });
        }
        op.id = done.id;
        op.alert_id = done.alert_id;
        self.publish_durable(DomainEvent::OperationReported {
            operation: &op,
            actor: by.actor,
            ip: by.ip,
            at: now,
            duplicate: false,
        })
        .await?;
        let alert = match done.alert_id {
            Some(id) => self.store.alert(id).await?,
            None => None,
        };
        if verdict.alerts() {
            self.publish_durable(DomainEvent::OperationCorrelated {
                operation: &op,
                alert_id: op.alert_id,
                folded: matches!(planned, Some(OperationAlert::Fold { .. })),
            })
            .await?;
        }
        if let (Some(OperationAlert::Insert(_)), Some(a)) = (&planned, &alert) {
            self.publish_durable(DomainEvent::AlertRaised { alert: a })
                .await?;
        }
        Ok(ReportedOperation {
            operation: op,
            alert,
            duplicate: false,
        })
    }

    /// Operations matching `query`, newest first. A limit of 0 or above
    /// [`MAX_OPERATIONS_LIMIT`] is refused.
    pub async fn list_operations(
        &self,
        query: &OperationQuery,
    ) -> Result<Vec<Operation>, ServiceError> {
        if query.limit == 0 || query.limit > MAX_OPERATIONS_LIMIT {
            return Err(invalid(format!(
                "limit must be within 1..={MAX_OPERATIONS_LIMIT}, got {}",
                query.limit
            )));
        }
        Ok(self.store.list_operations(query).await?)
    }

    /// One operation.
    pub async fn operation(&self, id: i64) -> Result<Operation, ServiceError> {
        self.store
            .operation(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no operation {id}")))
    }
}

/// What correlation reads of a history row.
fn recent_login(e: &LoginEvent) -> RecentLogin {
    RecentLogin {
        event_id: e.id,
        ts: e.ts,
        ip: e.ip,
        succeeded: e.outcome.is_success(),
        decision: e.decision,
        alert: e.alert,
        reasons: e.reasons.clone(),
        country: e.country,
        region: e.region.clone(),
        city: e.city.clone(),
    }
}
