//! `/v1/evaluate` (before the password check) and `/v1/report` (its
//! outcome, after): the handlers extract the JSON, call the pipeline
//! (`warden_service::pipeline::evaluate`) and answer. A report is
//! acknowledged only once the event and the updated profile are committed.

use std::sync::Arc;

use axum::extract::State;
use warden_service::pipeline::evaluate::ReportOf;
use warden_service::pipeline::AttemptFields;
use warden_store::Backend;

use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::types::{
    assessment_fields, outcome, parse_ts, rfc3339, EvaluateRequest, EvaluateResponse, IpInfoDto,
    ReportRequest, ReportResponse,
};

fn parse_id(id: &str) -> Result<u128, ApiError> {
    // 32 hex digits exactly (`from_str_radix` alone would take a sign).
    Some(id)
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|id| u128::from_str_radix(id, 16).ok())
        .ok_or_else(|| {
            ApiError::bad(format!(
                "evaluation_id: {} is not an evaluation id",
                warden_service::error::shown(id)
            ))
        })
}

/// Scores a login attempt before the password is checked.
#[utoipa::path(
    post,
    path = "/v1/evaluate",
    tag = "login",
    request_body = EvaluateRequest,
    responses(
        (status = 200, description = "The decision with its reasons", body = EvaluateResponse),
        (status = 400, description = "Malformed JSON or invalid field", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
        (status = 408, description = "The body did not arrive within server.body_timeout_secs (the connection is closed)", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 503, description = "Overloaded (code `overloaded`): retry after the `Retry-After` seconds", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn evaluate<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<EvaluateRequest>,
) -> Result<ApiJson<EvaluateResponse>, ApiError> {
    let ts = req.ts.as_deref().map(|t| parse_ts("ts", t)).transpose()?;
    let attempt = state.attempt(AttemptFields {
        user: &req.user,
        ip: &req.ip,
        protocol: req.protocol.into(),
        ts,
        device: req.device.as_deref(),
        user_agent: req.user_agent.as_deref(),
    })?;
    let answer = state
        .evaluate(attempt, |e| {
            let a = &e.assessed;
            let (decision, risk, level, alert, reasons) =
                assessment_fields(&a.assessment, a.utc_offset);
            EvaluateResponse {
                evaluation_id: format!("{:032x}", e.id),
                decision,
                risk,
                level,
                alert,
                reasons,
                ip: IpInfoDto::from(&a.info),
            }
        })
        .await;
    Ok(ApiJson(answer))
}

/// Records the outcome of a login: teaches the profile on success, feeds the
/// attack counters on failure, and appends the event to the history.
#[utoipa::path(
    post,
    path = "/v1/report",
    tag = "login",
    request_body = ReportRequest,
    responses(
        (status = 200, description = "Recorded and stored", body = ReportResponse),
        (status = 400, description = "Malformed JSON, invalid field, or unknown/expired evaluation_id", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
        (status = 408, description = "The body did not arrive within server.body_timeout_secs (the connection is closed)", body = crate::error::ErrorBody),
        (status = 503, description = "Storage unavailable (`storage_unavailable`; nothing was acknowledged) or overloaded (`overloaded`: retry after the `Retry-After` seconds)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn report<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<ReportRequest>,
) -> Result<ApiJson<ReportResponse>, ApiError> {
    let outcome = outcome(req.outcome, req.failure_reason)?;
    let fingerprint = match req.password_fingerprint.as_deref() {
        None => None,
        Some(f) if f.chars().count() > 128 || f.chars().any(char::is_control) => {
            return Err(ApiError::bad(
                "password_fingerprint: at most 128 characters, no control characters",
            ))
        }
        Some(_) if outcome.is_success() => {
            return Err(ApiError::bad(
                "password_fingerprint is only allowed with outcome \"failure\"",
            ))
        }
        Some(f) => warden_service::pipeline::password_fingerprint(f),
    };
    // Validate everything before anything changes.
    let of = match &req.evaluation_id {
        Some(id) => ReportOf::Evaluation {
            id: parse_id(id)?,
            user: req.user.clone(),
        },
        None => {
            let (Some(user), Some(ip), Some(protocol)) = (&req.user, &req.ip, req.protocol) else {
                return Err(ApiError::bad(
                    "without evaluation_id, user, ip and protocol are required",
                ));
            };
            let ts = req.ts.as_deref().map(|t| parse_ts("ts", t)).transpose()?;
            ReportOf::Attempt(state.attempt(AttemptFields {
                user,
                ip,
                protocol: protocol.into(),
                ts,
                device: req.device.as_deref(),
                user_agent: req.user_agent.as_deref(),
            })?)
        }
    };
    let r = state.report(of, outcome, fingerprint).await?;
    let (decision, risk, level, _, reasons) =
        assessment_fields(&r.assessed.assessment, r.assessed.utc_offset);
    Ok(ApiJson(ReportResponse {
        recorded: true,
        user: r.attempt.user.to_string(),
        ts: rfc3339(r.attempt.ts),
        decision,
        risk,
        level,
        alert: r.alert,
        reasons,
    }))
}
