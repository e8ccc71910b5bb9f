//! Incidents: admins open, list, read and change them, run one-click
//! actions, tick steps, fill the review and read the timeline; the
//! effective playbooks. The routes parse and word; the service checks,
//! stores, acts and publishes (durably: every answer comes after the audit
//! log kept the change).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use warden_core::incident::{ActionKind, AffectedKind, IncidentGrade, IncidentStatus, StepKind};
use warden_core::Timestamp;
use warden_service::alerts::admin::ActedBy;
use warden_service::credentials::Actor;
use warden_service::incidents::actions::{ActionInput, ActionOutcome};
use warden_service::incidents::admin::{ManualOpen, ReviewInput};
use warden_service::incidents::timeline::Timeline;
use warden_store::{Backend, IncidentQuery, IncidentRecord};

use crate::credentials::RequestIp;
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery, OptionalJson};
use crate::routes::alerts::{id_cursor, next_id_cursor, parse, user_filter};
use crate::routes::operations::operation_dto;
use crate::state::AppState;
use crate::types::incidents::{
    AffectedDto, DetailDto, IncidentActionPath, IncidentActionRequest, IncidentActionResponse,
    IncidentAffectedRequest, IncidentAffectedResponse, IncidentDetail, IncidentDto, IncidentIdPath,
    IncidentListParams, IncidentOpenRequest, IncidentPatchRequest, IncidentReviewRequest,
    IncidentStepPath, IncidentStepRequest, IncidentsResponse, PlaybookDto, PlaybookStepDto,
    PlaybooksResponse, RevertDto, ReviewDto, StepDto, TimelineRecordDto, TimelineResponse,
    TriggerDto,
};
use crate::types::rfc3339;

/// The page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;

fn by(ip: Option<std::net::IpAddr>) -> ActedBy<'static> {
    ActedBy {
        actor: Actor::Admin.as_str(),
        ip,
    }
}

fn trigger_dto(t: &warden_core::incident::Trigger) -> TriggerDto {
    TriggerDto {
        kind: t.kind.to_string(),
        ref_id: t.ref_id,
        at: rfc3339(t.at),
    }
}

/// An incident as the API shows it.
pub fn incident_dto(i: &warden_core::incident::Incident) -> IncidentDto {
    IncidentDto {
        id: i.id,
        grade: i.grade.to_string(),
        status: i.status.to_string(),
        title: i.title.clone(),
        opened_at: rfc3339(i.opened_at),
        opened_by: i.opened_by.clone(),
        trigger: trigger_dto(&i.trigger),
        user: i.user.as_deref().map(str::to_string),
        assignee: i.assignee.clone(),
        first_risky_at: i.first_risky_at.map(rfc3339),
        contained_at: i.contained_at.map(rfc3339),
        eradicated_at: i.eradicated_at.map(rfc3339),
        recovered_at: i.recovered_at.map(rfc3339),
        closed_at: i.closed_at.map(rfc3339),
    }
}

/// An incident with its steps (and their SLA at `now`), affected entries,
/// triggers, revert marks and review.
pub fn incident_detail(r: &IncidentRecord, now: Timestamp) -> IncidentDetail {
    let closed = r.incident.status == IncidentStatus::Closed;
    let steps: Vec<StepDto> = r
        .steps
        .iter()
        .map(|s| StepDto {
            step: s.step.clone(),
            title_en: s.title_en.clone(),
            title_zh: s.title_zh.clone(),
            owner: s.owner.clone(),
            action: s.kind.action().map(|a| a.to_string()),
            checklist: match &s.kind {
                StepKind::Manual { checklist } => checklist.clone(),
                StepKind::Action(_) => Vec::new(),
            },
            due_at: rfc3339(s.due_at),
            done_at: s.done_at.map(rfc3339),
            done_by: s.done_by.clone(),
            note: s.note.clone(),
            result: s.result.clone(),
            overdue: !closed && s.is_overdue(now),
            overdue_alerted_at: s.overdue_alerted_at.map(rfc3339),
        })
        .collect();
    IncidentDetail {
        incident: incident_dto(&r.incident),
        affected: r
            .affected
            .iter()
            .map(|a| AffectedDto {
                kind: a.kind.to_string(),
                value: a.value.clone(),
                added_at: rfc3339(a.added_at),
                added_by: a.added_by.clone(),
            })
            .collect(),
        overdue: steps.iter().filter(|s| s.overdue).count() as u32,
        steps,
        triggers: r.triggers.iter().map(trigger_dto).collect(),
        reverts: r
            .reverts
            .iter()
            .map(|m| RevertDto {
                operation_id: m.operation_id,
                marked_at: rfc3339(m.marked_at),
                marked_by: m.marked_by.clone(),
            })
            .collect(),
        review: r.review.as_ref().map(|v| ReviewDto {
            root_cause: v.root_cause.clone(),
            what_worked: v.what_worked.clone(),
            what_to_change: v.what_to_change.clone(),
            by: v.by.clone(),
            at: rfc3339(v.at),
        }),
    }
}

/// A timeline as the API shows it.
pub fn timeline_dto(t: &Timeline) -> TimelineResponse {
    TimelineResponse {
        incident_id: t.incident,
        from: rfc3339(t.from),
        to: rfc3339(t.to),
        more: t.more,
        records: t
            .records
            .iter()
            .map(|r| TimelineRecordDto {
                seq: r.seq,
                at: rfc3339(r.entry.at),
                kind: r.entry.kind.clone(),
                actor: r.entry.actor.clone(),
                user: r.entry.user.clone(),
                ip: r.entry.ip.clone(),
                subject: r.entry.subject.clone(),
                incident_id: r.entry.incident,
                detail: r
                    .entry
                    .detail
                    .iter()
                    .map(|(k, v)| DetailDto {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Opens an incident by hand, with the playbook of its grade (its steps
/// due from now). An automatic incident opens from a critical alert of an
/// unusual-location sign-in, a "no, it wasn't me" answer or a critical
/// correlated operation.
#[utoipa::path(
    post,
    path = "/v1/incidents",
    tag = "incidents",
    request_body = IncidentOpenRequest,
    responses(
        (status = 201, description = "Opened", body = IncidentDetail),
    ),
    security(("api_key" = []))
)]
pub async fn open<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    ApiJson(body): ApiJson<IncidentOpenRequest>,
) -> Result<(StatusCode, ApiJson<IncidentDetail>), ApiError> {
    let input = ManualOpen {
        grade: parse::<IncidentGrade>("grade", Some(&body.grade))?,
        title: body.title,
        user: body.user,
        addresses: body.addresses.unwrap_or_default(),
        devices: body.devices.unwrap_or_default(),
        assignee: body.assignee,
    };
    let rec = state.service.open_incident(&input, by(ip)).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(incident_detail(&rec, state.service.now())),
    ))
}

/// Incidents, newest first, filtered by status (or every one not closed),
/// grade, user (their own or an affected one) and assignee; paged with
/// `cursor`.
#[utoipa::path(
    get,
    path = "/v1/incidents",
    tag = "incidents",
    params(IncidentListParams),
    responses(
        (status = 200, description = "A page of incidents", body = IncidentsResponse),
    ),
    security(("api_key" = []))
)]
pub async fn list<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<IncidentListParams>,
) -> Result<ApiJson<IncidentsResponse>, ApiError> {
    let assignee = match p.assignee.as_deref() {
        Some(a) if a.chars().count() > 120 => {
            return Err(ApiError::bad("assignee: at most 120 characters"))
        }
        Some(a) => Some(warden_core::text::one_line(a, 120)),
        None => None,
    };
    let q = IncidentQuery {
        status: parse::<IncidentStatus>("status", p.status.as_deref())?,
        active: p.active.unwrap_or(false),
        grade: parse::<IncidentGrade>("grade", p.grade.as_deref())?,
        user: user_filter(p.user.as_deref())?,
        assignee,
        before_id: id_cursor(p.cursor.as_deref())?,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
    };
    let found = state.service.list_incidents(&q).await?;
    let next_cursor = next_id_cursor(found.len(), q.limit, found.last().map(|i| i.id));
    Ok(ApiJson(IncidentsResponse {
        incidents: found.iter().map(incident_dto).collect(),
        next_cursor,
    }))
}

/// One incident: its steps with due time and whether each is overdue
/// (the SLA), what it concerns, its triggers, the operations marked for
/// revert and the review.
#[utoipa::path(
    get,
    path = "/v1/incidents/{id}",
    tag = "incidents",
    params(IncidentIdPath),
    responses(
        (status = 200, description = "The incident", body = IncidentDetail),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
) -> Result<ApiJson<IncidentDetail>, ApiError> {
    let rec = state.service.incident(id).await?;
    Ok(ApiJson(incident_detail(&rec, state.service.now())))
}

/// Assigns the incident and/or moves its status forward (one or more
/// steps; closing needs the review).
#[utoipa::path(
    patch,
    path = "/v1/incidents/{id}",
    tag = "incidents",
    params(IncidentIdPath),
    request_body = IncidentPatchRequest,
    responses(
        (status = 200, description = "Changed", body = IncidentDetail),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
        (status = 409, description = "A backward or repeated status, closing without the review, a closed incident, or a change another admin made first; nothing changed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn patch<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<IncidentPatchRequest>,
) -> Result<ApiJson<IncidentDetail>, ApiError> {
    let status = parse::<IncidentStatus>("status", body.status.as_deref())?;
    if body.assignee.is_none() && status.is_none() {
        return Err(ApiError::bad("give assignee, status or both"));
    }
    let mut rec = None;
    if let Some(a) = body.assignee.as_deref() {
        let a = (!a.is_empty()).then_some(a);
        rec = Some(state.service.assign_incident(id, a, by(ip)).await?);
    }
    if let Some(s) = status {
        rec = Some(state.service.set_incident_status(id, s, by(ip)).await?);
    }
    let rec = rec.expect("one of the two ran");
    Ok(ApiJson(incident_detail(&rec, state.service.now())))
}

/// Runs a one-click action: `lock_account`, `logout_everywhere` (with the
/// authorization codes), `force_password_reset`, `require_two_factor`
/// (login protection `new_city_or_device` in the user's own policy),
/// `block_source` (for the account), `revoke_token` (an authorization code,
/// or all), `mark_for_revert` (forwarding rules and security-info changes
/// since the first risky sign-in, posted to the revert webhook), `notify`
/// (the user and the business owners). It completes the playbook step of
/// that action and is recorded in the audit log before the answer.
#[utoipa::path(
    post,
    path = "/v1/incidents/{id}/actions/{action}",
    tag = "incidents",
    params(IncidentActionPath),
    request_body(content = Option<IncidentActionRequest>, description = "What the action needs (optional)"),
    responses(
        (status = 200, description = "Done", body = IncidentActionResponse),
        (status = 404, description = "No such incident, account or authorization code", body = crate::error::ErrorBody),
        (status = 409, description = "The incident is closed; nothing changed", body = crate::error::ErrorBody),
        (status = 422, description = "`policy_not_enforced`: the user's own policy is report-only or off; `too_many_blocks`: the account holds the most blocks it keeps", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn act<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((id, action)): Path<(i64, String)>,
    OptionalJson(body): OptionalJson<IncidentActionRequest>,
) -> Result<ApiJson<IncidentActionResponse>, ApiError> {
    let action = parse::<ActionKind>("action", Some(&action))?.expect("given");
    let input = ActionInput {
        user: body.user,
        network: body.network,
        code_id: body.code_id,
        message: body.message,
    };
    let out: ActionOutcome = state
        .service
        .incident_action(id, action, &input, by(ip))
        .await?;
    Ok(ApiJson(IncidentActionResponse {
        action: out.action.to_string(),
        user: out.user,
        result: out.result,
        step: out.step,
        operations: out.operations.iter().map(operation_dto).collect(),
        webhook_sent: out.webhook_sent,
        alert_id: out.alert_id,
        incident: incident_detail(&out.incident, state.service.now()),
    }))
}

/// Ticks a step done with a note (a one-click action's step by hand only
/// with a note saying why).
#[utoipa::path(
    post,
    path = "/v1/incidents/{id}/steps/{step}",
    tag = "incidents",
    params(IncidentStepPath),
    request_body(content = Option<IncidentStepRequest>, description = "The note (optional for a manual step)"),
    responses(
        (status = 200, description = "Ticked", body = IncidentDetail),
        (status = 404, description = "No such incident or step", body = crate::error::ErrorBody),
        (status = 409, description = "The step is done already, or the incident is closed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn step<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((id, step)): Path<(i64, String)>,
    OptionalJson(body): OptionalJson<IncidentStepRequest>,
) -> Result<ApiJson<IncidentDetail>, ApiError> {
    if step.len() > 40 {
        return Err(ApiError::bad("step: at most 40 characters"));
    }
    let rec = state
        .service
        .tick_incident_step(id, &step, body.note.as_deref(), by(ip))
        .await?;
    Ok(ApiJson(incident_detail(&rec, state.service.now())))
}

/// Stores (or replaces) the post-incident review: root cause, what worked,
/// what to change. Closing needs it.
#[utoipa::path(
    put,
    path = "/v1/incidents/{id}/review",
    tag = "incidents",
    params(IncidentIdPath),
    request_body = IncidentReviewRequest,
    responses(
        (status = 200, description = "Stored", body = IncidentDetail),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
        (status = 409, description = "The incident is closed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn review<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<IncidentReviewRequest>,
) -> Result<ApiJson<IncidentDetail>, ApiError> {
    let input = ReviewInput {
        root_cause: body.root_cause,
        what_worked: body.what_worked,
        what_to_change: body.what_to_change,
    };
    let rec = state.service.review_incident(id, &input, by(ip)).await?;
    Ok(ApiJson(incident_detail(&rec, state.service.now())))
}

/// Adds a user, address (or range) or device the incident concerns.
#[utoipa::path(
    post,
    path = "/v1/incidents/{id}/affected",
    tag = "incidents",
    params(IncidentIdPath),
    request_body = IncidentAffectedRequest,
    responses(
        (status = 200, description = "Added (or listed already)", body = IncidentAffectedResponse),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
        (status = 409, description = "The incident is closed, or lists the most entries it keeps", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn add_affected<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<IncidentAffectedRequest>,
) -> Result<ApiJson<IncidentAffectedResponse>, ApiError> {
    let kind = parse::<AffectedKind>("kind", Some(&body.kind))?.expect("given");
    let (rec, added) = state
        .service
        .add_incident_affected(id, kind, &body.value, by(ip))
        .await?;
    Ok(ApiJson(IncidentAffectedResponse {
        added,
        incident: incident_detail(&rec, state.service.now()),
    }))
}

/// The incident's timeline from the audit log: its own records and the
/// affected users' from the first risky sign-in (or the opening minus
/// `incidents.lookback_hours`) to the closing, oldest first.
#[utoipa::path(
    get,
    path = "/v1/incidents/{id}/timeline",
    tag = "incidents",
    params(IncidentIdPath),
    responses(
        (status = 200, description = "The timeline", body = TimelineResponse),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn timeline<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
) -> Result<ApiJson<TimelineResponse>, ApiError> {
    let t = state.service.incident_timeline(id).await?;
    Ok(ApiJson(timeline_dto(&t)))
}

/// The effective playbooks (built in, or an admin's file from
/// `incidents.playbook_dir`).
#[utoipa::path(
    get,
    path = "/v1/incidents/playbooks",
    tag = "incidents",
    responses(
        (status = 200, description = "The playbooks of l1, l2, l3", body = PlaybooksResponse),
    ),
    security(("api_key" = []))
)]
pub async fn playbooks<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<PlaybooksResponse>, ApiError> {
    let books = &state.service.incidents.playbooks;
    Ok(ApiJson(PlaybooksResponse {
        playbooks: IncidentGrade::ALL
            .iter()
            .map(|g| {
                let b = books.of(*g);
                PlaybookDto {
                    grade: g.to_string(),
                    title: b.title.clone(),
                    source: books.source(*g).to_string(),
                    steps: b
                        .steps
                        .iter()
                        .map(|s| PlaybookStepDto {
                            id: s.id.clone(),
                            title_en: s.title_en.clone(),
                            title_zh: s.title_zh.clone(),
                            owner: s.owner.clone(),
                            due_minutes: s.due_minutes,
                            action: s.kind.action().map(|a| a.to_string()),
                            checklist: match &s.kind {
                                StepKind::Manual { checklist } => checklist.clone(),
                                StepKind::Action(_) => Vec::new(),
                            },
                        })
                        .collect(),
                }
            })
            .collect(),
    }))
}

/// The incident routes, under `/v1`.
pub fn routes<S: Backend>() -> axum::Router<Arc<AppState<S>>> {
    use axum::routing::{get as g, post as p, put};
    axum::Router::new()
        .route("/incidents", g(list::<S>).post(open::<S>))
        .route("/incidents/playbooks", g(playbooks::<S>))
        .route("/incidents/{id}", g(get::<S>).patch(patch::<S>))
        .route("/incidents/{id}/actions/{action}", p(act::<S>))
        .route("/incidents/{id}/steps/{step}", p(step::<S>))
        .route("/incidents/{id}/review", put(review::<S>))
        .route("/incidents/{id}/affected", p(add_affected::<S>))
        .route("/incidents/{id}/timeline", g(timeline::<S>))
}
