//! "Was this you?" answered for the user (admins, webmail: `POST
//! /v1/alerts/{id}/answer`, the same service method as the answer page),
//! and the admins' queue of location complaints (`/v1/geo/corrections/queue`:
//! list, accept into a geolocation correction, reject).

use std::sync::Arc;

use axum::extract::State;
use warden_core::{Answer, CorrectionState, QueuedCorrection};
use warden_service::answers::AnswerError;
use warden_store::Backend;

use crate::credentials::{Actor, RequestIp};
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::routes::accounts::user_of;
use crate::routes::geo::from_dto;
use crate::state::AppState;
use crate::types::answers::{
    AcceptCorrectionRequest, AlertReviewResponse, AnswerRequest, AnswerResponse, PreviousAnswerDto,
    QueueParams, QueueResponse, QueuedCorrectionDto, RejectCorrectionRequest,
};
use crate::types::answers::{LiftBlockParams, SourceBlocksResponse};
use crate::types::schema::UserPath;
use crate::types::{rfc3339, CorrectionRequest, IpInfoDto, LocationDto};

fn parse_id(field: &str, v: &str) -> Result<i64, ApiError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad(format!("{field}: {:?} is not a positive integer", v)))
}

fn answer_error(e: AnswerError) -> ApiError {
    match e {
        AnswerError::NotFound(id) => ApiError::NotFound(format!("no alert {id}")),
        AnswerError::AlreadyAnswered { .. } => ApiError::Conflict(e.to_string()),
        AnswerError::NotAnswerable(_) => ApiError::Refused {
            code: "not_answerable",
            message: e.to_string(),
        },
        AnswerError::Link(_) => ApiError::bad(e.to_string()),
        AnswerError::Service(s) => s.into(),
    }
}

/// Answers "was this you?" for the user: what the answer page's POST does.
#[utoipa::path(post, path = "/v1/alerts/{id}/answer", tag = "alerts",
    params(("id" = i64, Path, minimum = 1, description = "The alert's id")),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "Taken; what it did", body = AnswerResponse),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody),
        (status = 409, description = "Answered already; nothing changed", body = crate::error::ErrorBody),
        (status = 422, description = "The alert is not about one user's login", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn answer<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> Result<ApiJson<AnswerResponse>, ApiError> {
    let id = parse_id("id", &id)?;
    if req
        .comment
        .as_deref()
        .is_some_and(|c| c.chars().count() > 2000)
    {
        return Err(ApiError::bad("comment: at most 2000 characters"));
    }
    let choice: Answer = req
        .answer
        .parse()
        .map_err(|e| ApiError::bad(format!("answer: {e}")))?;
    let done = state
        .service
        .answer_alert_id(id, choice, req.comment.as_deref(), Actor::Admin, ip)
        .await
        .map_err(answer_error)?;
    Ok(ApiJson(AnswerResponse {
        alert_id: id,
        answer: choice.as_str().to_string(),
        state: done.alert.state.as_str().to_string(),
        disowned_alert: done.disowned_alert,
        blocked: done.blocked.map(|n| n.to_string()),
        account_cut_off: done.account_cut_off,
        queued_correction: done.queued_correction,
    }))
}

fn dto(c: &QueuedCorrection) -> QueuedCorrectionDto {
    QueuedCorrectionDto {
        id: c.id,
        alert_id: c.alert_id,
        user: c.user.to_string(),
        ip: c.ip.to_string(),
        country: c.country.map(|c| c.as_str().to_string()),
        region: c.region.clone(),
        city: c.city.clone(),
        comment: c.comment.clone(),
        state: c.state.as_str().to_string(),
        created_at: rfc3339(c.created_at),
        decided_at: c.decided_at.map(rfc3339),
        decided_by: c.decided_by.clone(),
    }
}

/// The admin's name as it is recorded: one clean line, at most 64
/// characters; `api` when none is given.
fn by(v: Option<&str>) -> Result<String, ApiError> {
    let v = v.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("api");
    if warden_core::text::has_hidden(v) || v.chars().count() > 64 {
        return Err(ApiError::bad(
            "by: at most 64 characters, no control or invisible characters",
        ));
    }
    Ok(v.to_string())
}

/// The queue of location complaints, oldest first.
#[utoipa::path(get, path = "/v1/geo/corrections/queue", tag = "geo",
    params(QueueParams),
    responses((status = 200, description = "A page of complaints", body = QueueResponse)),
    security(("api_key" = [])))]
pub async fn list_queue<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<QueueParams>,
) -> Result<ApiJson<QueueResponse>, ApiError> {
    let filter = p
        .state
        .as_deref()
        .map(|s| s.parse::<CorrectionState>())
        .transpose()
        .map_err(|e| ApiError::bad(format!("state: {e}")))?;
    if p.after.is_some_and(|a| a < 0) {
        return Err(ApiError::bad("after: must not be negative"));
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=warden_store::MAX_QUEUE_PAGE).contains(&limit) {
        return Err(ApiError::bad("limit: 1 to 500"));
    }
    let page = state
        .service
        .queued_corrections(filter, p.after, limit)
        .await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|c| c.id))
        .flatten();
    Ok(ApiJson(QueueResponse {
        requests: page.iter().map(dto).collect(),
        next_after,
    }))
}

/// Accepts a complaint: a geolocation correction for the address (or a
/// network holding it) with the place given, live at once; the complaint
/// is marked accepted.
#[utoipa::path(post, path = "/v1/geo/corrections/queue/{id}/accept", tag = "geo",
    params(("id" = i64, Path, minimum = 1, description = "The complaint's id")),
    request_body = AcceptCorrectionRequest,
    responses(
        (status = 200, description = "Accepted; the correction is live", body = QueuedCorrectionDto),
        (status = 404, description = "No such complaint", body = crate::error::ErrorBody),
        (status = 422, description = "Decided already (`already_decided`); nothing changed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn accept<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AcceptCorrectionRequest>,
) -> Result<ApiJson<QueuedCorrectionDto>, ApiError> {
    let id = parse_id("id", &id)?;
    let by = by(req.by.as_deref())?;
    let queued = state.service.queued_correction(id).await?;
    let correction = from_dto(
        CorrectionRequest {
            network: req.network.unwrap_or_else(|| queued.ip.to_string()),
            country: req.country,
            region: req.region,
            region_zh: req.region_zh,
            city: req.city,
            city_zh: req.city_zh,
            latitude: None,
            longitude: None,
            accuracy_km: None,
            time_zone: req.time_zone,
            note: Some(
                req.note
                    .unwrap_or_else(|| format!("location complaint {id} of {}", queued.user)),
            ),
        },
        state.now(),
    )?;
    let done = state
        .service
        .accept_correction(id, &correction, &by, ip)
        .await?;
    Ok(ApiJson(dto(&done)))
}

/// Rejects a complaint.
#[utoipa::path(post, path = "/v1/geo/corrections/queue/{id}/reject", tag = "geo",
    params(("id" = i64, Path, minimum = 1, description = "The complaint's id")),
    request_body = RejectCorrectionRequest,
    responses(
        (status = 200, description = "Rejected", body = QueuedCorrectionDto),
        (status = 404, description = "No such complaint", body = crate::error::ErrorBody),
        (status = 422, description = "Decided already (`already_decided`); nothing changed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn reject<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RejectCorrectionRequest>,
) -> Result<ApiJson<QueuedCorrectionDto>, ApiError> {
    let id = parse_id("id", &id)?;
    let by = by(req.by.as_deref())?;
    let done = state.service.reject_correction(id, &by, ip).await?;
    Ok(ApiJson(dto(&done)))
}

/// The facts an admin reviewing an alert needs: the user's usual places
/// and networks, the address's network kind, other users behind it, the
/// user's earlier answers.
#[utoipa::path(get, path = "/v1/alerts/{id}/review", tag = "alerts",
    params(("id" = i64, Path, minimum = 1, description = "The alert's id")),
    responses(
        (status = 200, description = "The review", body = AlertReviewResponse),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn review<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<ApiJson<AlertReviewResponse>, ApiError> {
    let id = parse_id("id", &id)?;
    let r = state.service.alert_review(id).await?;
    let a = &r.alert;
    Ok(ApiJson(AlertReviewResponse {
        alert_id: a.id,
        kind: a.kind.as_str().to_string(),
        grade: a.grade.as_str().to_string(),
        state: a.state.as_str().to_string(),
        user: a.user.as_deref().map(str::to_string),
        ts: rfc3339(a.ts),
        answer: a.answer.map(|x| x.as_str().to_string()),
        carrier_group: r.ip.as_ref().and_then(|i| i.network.group),
        ip: r.ip.as_ref().map(IpInfoDto::from),
        profiled: r.profiled,
        usual_places: r.usual_places.iter().map(LocationDto::from).collect(),
        usual_networks: r.usual_networks.clone(),
        network_usual: r.network_usual,
        other_users: r.other_users.clone(),
        previous_answers: r
            .previous_answers
            .iter()
            .map(|p| PreviousAnswerDto {
                alert_id: p.id,
                kind: p.kind.as_str().to_string(),
                answer: p.answer.map(|x| x.as_str().to_string()).unwrap_or_default(),
                answered_at: p.answered_at.map(rfc3339),
                ip: p.ip.map(|ip| ip.to_string()),
                country: p.country.map(|c| c.as_str().to_string()),
                city: p.city.clone(),
            })
            .collect(),
        blocked: r.blocked.map(|n| n.to_string()),
    }))
}

/// The networks refused for an account since the user disowned a login
/// from each.
#[utoipa::path(get, path = "/v1/users/{user}/source-blocks", tag = "accounts",
    params(UserPath),
    responses((status = 200, description = "The blocked networks", body = SourceBlocksResponse)),
    security(("api_key" = [])))]
pub async fn list_blocks<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<SourceBlocksResponse>, ApiError> {
    let user = user_of(&user)?;
    state.service.load_source_blocks().await?;
    Ok(ApiJson(SourceBlocksResponse {
        user: user.to_string(),
        blocks: state
            .service
            .blocks
            .of(&user)
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}

/// Lifts a network's block for an account (the user is really there: a
/// new home network, travel).
#[utoipa::path(delete, path = "/v1/users/{user}/source-blocks", tag = "accounts",
    params(UserPath, LiftBlockParams),
    responses(
        (status = 200, description = "Lifted; the networks still blocked", body = SourceBlocksResponse),
        (status = 404, description = "The network is not blocked for the account", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn lift_block<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
    ApiQuery(p): ApiQuery<LiftBlockParams>,
) -> Result<ApiJson<SourceBlocksResponse>, ApiError> {
    let user = user_of(&user)?;
    let net: ipnet::IpNet = p
        .network
        .trim()
        .parse::<ipnet::IpNet>()
        .map(|n| n.trunc())
        .map_err(|_| ApiError::bad(format!("network: {:?} is not a CIDR", p.network)))?;
    state.service.lift_source_block(&user, &net, ip).await?;
    Ok(ApiJson(SourceBlocksResponse {
        user: user.to_string(),
        blocks: state
            .service
            .blocks
            .of(&user)
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}
