//! Sensitive operations: the mail or IM system reports a change in a
//! user's account (`POST /v1/operations`), admins list and read them. The
//! routes parse and word; the service validates, correlates with the
//! user's risky logins, stores the operation with its alert and publishes
//! the typed events.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use warden_core::{Grade, Operation, OperationKind};
use warden_service::alerts::admin::ActedBy;
use warden_service::credentials::Actor;
use warden_service::error::shown;
use warden_service::sensitive::OperationReport;
use warden_store::{Backend, OperationQuery};

use crate::credentials::RequestIp;
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::routes::alerts::{alert_dto, id_cursor, next_id_cursor, parse, user_filter};
use crate::state::AppState;
use crate::types::operations::{
    OperationDto, OperationIdPath, OperationListParams, OperationRequest, OperationResponse,
    OperationsResponse,
};
use crate::types::{parse_ts, rfc3339};

/// The page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;

/// An operation as the API shows it.
pub fn operation_dto(o: &Operation) -> OperationDto {
    OperationDto {
        id: o.id,
        user: o.user.to_string(),
        kind: o.kind.to_string(),
        ts: rfc3339(o.ts),
        received_at: rfc3339(o.received_at),
        ip: o.ip.map(|ip| ip.to_string()),
        source: o.source.clone(),
        report_id: o.report_id.clone(),
        target: o.target.clone(),
        external: o.external,
        detail: o.detail.clone(),
        grade: o.grade.to_string(),
        reasons: o.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        login_event_id: o.login_event_id,
        alert_id: o.alert_id,
    }
}

/// The service's report from the request's fields (shapes only; the
/// service checks the rest).
pub fn report_of(r: OperationRequest) -> Result<OperationReport, ApiError> {
    let ip = match r.ip.as_deref() {
        Some(text) => Some(warden_core::normalize_ip(
            text.trim()
                .parse::<IpAddr>()
                .map_err(|_| ApiError::bad(format!("ip: {} is not an IP address", shown(text))))?,
        )),
        None => None,
    };
    Ok(OperationReport {
        user: r.user,
        kind: parse::<OperationKind>("kind", Some(&r.kind))?,
        ts: r.ts.as_deref().map(|v| parse_ts("ts", v)).transpose()?,
        ip,
        source: r.source,
        report_id: r.report_id,
        target: r.target,
        external: r.external,
        detail: r.detail,
    })
}

/// Records a sensitive operation in a user's account, as the mail or IM
/// system saw it, and correlates it with the user's risky logins in the
/// window before it (`sensitive.window_minutes`, default a day): a
/// takeover move after a risky sign-in (forwarding outside the
/// organisation ten minutes after a login from abroad) is a critical
/// alert to the user and the admins; the same after ordinary logins is
/// recorded with grade `info`. The same `source` and `report_id` again is
/// answered as a duplicate and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/operations",
    tag = "operations",
    request_body = OperationRequest,
    responses(
        (status = 201, description = "Recorded (and correlated)", body = OperationResponse),
        (status = 200, description = "Recorded before (same source and report_id): nothing changed", body = OperationResponse),
    ),
    security(("api_key" = []))
)]
pub async fn report<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    ApiJson(body): ApiJson<OperationRequest>,
) -> Result<(StatusCode, ApiJson<OperationResponse>), ApiError> {
    let report = report_of(body)?;
    let by = ActedBy {
        actor: Actor::Admin.as_str(),
        ip,
    };
    let done = state.service.report_operation(&report, by).await?;
    let status = if done.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        ApiJson(OperationResponse {
            operation: operation_dto(&done.operation),
            alert: done.alert.as_ref().map(alert_dto),
            duplicate: done.duplicate,
        }),
    ))
}

/// The query the list parameters ask for.
pub fn query_of(p: &OperationListParams) -> Result<OperationQuery, ApiError> {
    let user = user_filter(p.user.as_deref())?;
    let before_id = id_cursor(p.cursor.as_deref())?;
    Ok(OperationQuery {
        user,
        kind: parse::<OperationKind>("kind", p.kind.as_deref())?,
        min_grade: parse::<Grade>("grade", p.grade.as_deref())?,
        since: p
            .since
            .as_deref()
            .map(|v| parse_ts("since", v))
            .transpose()?,
        before_id,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
    })
}

/// Sensitive operations, newest first, filtered by user, kind, grade (and
/// above) and time; paged with `cursor`.
#[utoipa::path(
    get,
    path = "/v1/operations",
    tag = "operations",
    params(OperationListParams),
    responses(
        (status = 200, description = "A page of operations", body = OperationsResponse),
    ),
    security(("api_key" = []))
)]
pub async fn list<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<OperationListParams>,
) -> Result<ApiJson<OperationsResponse>, ApiError> {
    let q = query_of(&p)?;
    let ops = state.service.list_operations(&q).await?;
    let next_cursor = next_id_cursor(ops.len(), q.limit, ops.last().map(|o| o.id));
    Ok(ApiJson(OperationsResponse {
        operations: ops.iter().map(operation_dto).collect(),
        next_cursor,
    }))
}

/// One operation.
#[utoipa::path(
    get,
    path = "/v1/operations/{id}",
    tag = "operations",
    params(OperationIdPath),
    responses(
        (status = 200, description = "The operation", body = OperationDto),
        (status = 404, description = "No such operation", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
) -> Result<ApiJson<OperationDto>, ApiError> {
    Ok(ApiJson(operation_dto(&state.service.operation(id).await?)))
}

/// The most operations a diagnosis names.
pub const MAX_DIAGNOSED_OPERATIONS: u32 = 5;

/// What `GET /v1/users/{user}/diagnose` says of the user's recent
/// operations that followed a risky login (warning or critical, at or
/// after `since`): the mailbox may be in someone else's hands, whatever
/// the failing clients say.
pub async fn diagnose_findings<S: Backend>(
    state: &AppState<S>,
    user: &str,
    since: warden_core::Timestamp,
) -> Result<Vec<crate::diagnose::Finding>, ApiError> {
    let ops = state
        .service
        .list_operations(&OperationQuery {
            user: Some(user.to_string()),
            min_grade: Some(Grade::Warning),
            since: Some(since),
            limit: MAX_DIAGNOSED_OPERATIONS,
            ..OperationQuery::default()
        })
        .await?;
    let offset = state.utc_offset();
    Ok(ops
        .iter()
        .map(|o| {
            let target = o
                .target
                .as_deref()
                .map(|t| format!(" {}", warden_core::text::quoted(t, 80)))
                .unwrap_or_default();
            let alert = o
                .alert_id
                .map(|id| format!(" (alert {id})"))
                .unwrap_or_default();
            let when = warden_core::reason::local_time(o.ts, offset);
            crate::diagnose::Finding {
                reason: "sensitive_operation".into(),
                client: format!("{} via {}", o.kind, o.source),
                client_zh: format!("{}（{}）", o.kind, o.source),
                user_agent: None,
                failures: 0,
                since: Some(o.ts),
                last: Some(o.ts),
                explanation: format!(
                    "{}{target} at {when}, after a risky sign-in{alert}: graded {}.",
                    o.kind.describe(),
                    o.grade
                ),
                explanation_zh: format!(
                    "{when} 在一次可疑登录之后发生敏感操作 {}{target}{alert}，等级 {}。",
                    o.kind, o.grade
                ),
                advice: "Ask the user whether they made this change. If not, answer \"not me\" on the alert (it revokes sessions and codes and demands a new password) and undo the change in the mail system.".into(),
                advice_zh: "请向用户确认是否本人操作。若不是，请在告警中回答\"不是我\"（撤销会话与授权码并要求改密），并在邮件系统中撤销该更改。".into(),
            }
        })
        .collect())
}
