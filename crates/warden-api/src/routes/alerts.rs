//! Alerts for admins: list with filters and a cursor, read one,
//! acknowledge, close with a note, ask for a resend. The routes parse and
//! word; the service acts and publishes each action as a typed event.

use std::sync::Arc;

use axum::extract::State;
use warden_core::{Alert, AlertKind, AlertState, Grade};
use warden_service::alerts::admin::ActedBy;
use warden_service::credentials::Actor;
use warden_store::{AlertAction, AlertQuery, Backend};

use crate::credentials::RequestIp;
// `Path` is the API's own: its rejections are JSON errors.
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery, OptionalJson};
use crate::state::AppState;
use crate::types::alerts::{
    AlertDto, AlertIdPath, AlertListParams, AlertNoteRequest, AlertsResponse,
};
use crate::types::{parse_ts, rfc3339};

/// The page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;

/// An alert as the API shows it.
pub fn alert_dto(a: &Alert) -> AlertDto {
    AlertDto {
        id: a.id,
        kind: a.kind.to_string(),
        grade: a.grade.to_string(),
        state: a.state.to_string(),
        user: a.user.as_deref().map(str::to_string),
        created_at: rfc3339(a.created_at),
        ts: rfc3339(a.ts),
        last_ts: rfc3339(a.last_ts),
        count: a.count,
        notify_user: a.notify_user,
        notify_admins: a.notify_admins,
        ip: a.ip.map(|ip| ip.to_string()),
        country: a.country.map(|c| c.as_str().to_string()),
        region: a.region.clone(),
        city: a.city.clone(),
        asn: a.asn,
        isp: a.isp.clone(),
        device: a.device.clone(),
        client: a.client.clone(),
        protocol: a.protocol.map(|p| p.as_str().to_string()),
        decision: a.decision.map(|d| d.as_str().to_string()),
        succeeded: a.succeeded,
        reasons: a.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        event_id: a.event_id,
        answer: a.answer.map(|x| x.as_str().to_string()),
        answered_at: a.answered_at.map(rfc3339),
        note: a.note.clone(),
    }
}

/// A wire name, exactly as the document lists it (no other case, no
/// spaces around).
pub(crate) fn parse<T: std::str::FromStr + std::fmt::Display>(
    field: &str,
    v: Option<&str>,
) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.map(|v| {
        let t: T = v
            .parse()
            .map_err(|e: T::Err| ApiError::bad(format!("{field}: {e}")))?;
        if t.to_string() != v {
            return Err(ApiError::bad(format!(
                "{field}: {v:?} is not written as {t:?}",
                t = t.to_string()
            )));
        }
        Ok(t)
    })
    .transpose()
}

/// A list's `user` filter, normalised like every user name.
pub(crate) fn user_filter(user: Option<&str>) -> Result<Option<String>, ApiError> {
    user.map(|u| {
        warden_core::normalize_user(u)
            .map(|n| n.to_string())
            .map_err(|e| ApiError::bad(format!("user: {e}")))
    })
    .transpose()
}

/// A list's `cursor`: the positive id of the last row of the page before.
pub(crate) fn id_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                ApiError::bad(format!("cursor: {c:?} is not a cursor from next_cursor"))
            })
        })
        .transpose()
}

/// The `next_cursor` of a page of `len` rows asked for `limit`: the last
/// row's id when the page is full, else none (the last page).
pub(crate) fn next_id_cursor(len: usize, limit: u32, last_id: Option<i64>) -> Option<String> {
    (len == limit as usize)
        .then_some(last_id)
        .flatten()
        .map(|id| id.to_string())
}

/// The query the list parameters ask for.
pub fn query_of(p: &AlertListParams) -> Result<AlertQuery, ApiError> {
    let user = user_filter(p.user.as_deref())?;
    let before_id = id_cursor(p.cursor.as_deref())?;
    Ok(AlertQuery {
        user,
        kind: parse::<AlertKind>("kind", p.kind.as_deref())?,
        min_grade: parse::<Grade>("grade", p.grade.as_deref())?,
        state: parse::<AlertState>("state", p.state.as_deref())?,
        since: p
            .since
            .as_deref()
            .map(|v| parse_ts("since", v))
            .transpose()?,
        until: p
            .until
            .as_deref()
            .map(|v| parse_ts("until", v))
            .transpose()?,
        before_id,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
    })
}

/// Alerts, newest first, filtered by user, kind, grade (and above), state
/// and the time of the login; paged with `cursor`.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "alerts",
    params(AlertListParams),
    responses(
        (status = 200, description = "A page of alerts", body = AlertsResponse),
    ),
    security(("api_key" = []))
)]
pub async fn list<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<AlertListParams>,
) -> Result<ApiJson<AlertsResponse>, ApiError> {
    let q = query_of(&p)?;
    let alerts = state.service.list_alerts(&q).await?;
    let next_cursor = next_id_cursor(alerts.len(), q.limit, alerts.last().map(|a| a.id));
    Ok(ApiJson(AlertsResponse {
        alerts: alerts.iter().map(alert_dto).collect(),
        next_cursor,
    }))
}

/// One alert.
#[utoipa::path(
    get,
    path = "/v1/alerts/{id}",
    tag = "alerts",
    params(AlertIdPath),
    responses(
        (status = 200, description = "The alert", body = AlertDto),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
) -> Result<ApiJson<AlertDto>, ApiError> {
    Ok(ApiJson(alert_dto(&state.service.alert(id).await?)))
}

async fn act<S: Backend>(
    state: &AppState<S>,
    id: i64,
    action: AlertAction,
    note: Option<String>,
    ip: Option<std::net::IpAddr>,
) -> Result<ApiJson<AlertDto>, ApiError> {
    let by = ActedBy {
        actor: Actor::Admin.as_str(),
        ip,
    };
    let a = state
        .service
        .act_on_alert(id, action, note.as_deref().unwrap_or(""), by)
        .await?;
    Ok(ApiJson(alert_dto(&a)))
}

/// Acknowledges an open alert (an admin has seen it), with an optional note.
#[utoipa::path(
    post,
    path = "/v1/alerts/{id}/ack",
    tag = "alerts",
    params(AlertIdPath),
    request_body = Option<AlertNoteRequest>,
    responses(
        (status = 200, description = "Acknowledged", body = AlertDto),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody),
        (status = 422, description = "`alert_state`: the alert is not open", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn ack<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
    RequestIp(ip): RequestIp,
    OptionalJson(body): OptionalJson<AlertNoteRequest>,
) -> Result<ApiJson<AlertDto>, ApiError> {
    act(&state, id, AlertAction::Acknowledge, body.note, ip).await
}

/// Closes an alert that is not closed yet, with an optional note.
#[utoipa::path(
    post,
    path = "/v1/alerts/{id}/close",
    tag = "alerts",
    params(AlertIdPath),
    request_body = Option<AlertNoteRequest>,
    responses(
        (status = 200, description = "Closed", body = AlertDto),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody),
        (status = 422, description = "`alert_state`: the alert is closed already", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn close<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
    RequestIp(ip): RequestIp,
    OptionalJson(body): OptionalJson<AlertNoteRequest>,
) -> Result<ApiJson<AlertDto>, ApiError> {
    act(&state, id, AlertAction::Close, body.note, ip).await
}

/// Asks for the alert's notifications to be sent again (the delivery side
/// fans it out once more).
#[utoipa::path(
    post,
    path = "/v1/alerts/{id}/resend",
    tag = "alerts",
    params(AlertIdPath),
    responses(
        (status = 200, description = "Resend requested", body = AlertDto),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn resend<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
    RequestIp(ip): RequestIp,
) -> Result<ApiJson<AlertDto>, ApiError> {
    let by = ActedBy {
        actor: Actor::Admin.as_str(),
        ip,
    };
    Ok(ApiJson(alert_dto(
        &state.service.resend_alert(id, by).await?,
    )))
}
