//! `/v1/evaluate` (before the password check) and `/v1/report` (its
//! outcome, after). A report is acknowledged only once the event and the
//! updated profile are committed to storage.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use warden_core::counters::PasswordFingerprint;
use warden_core::{Assessment, IpInfo, LoginAttempt, Outcome, Protocol, VerifyReason};
use warden_store::{Backend, LoginEvent, ProfileSnapshot};

use crate::error::{ApiError, ApiJson};
use crate::state::{new_id, AppState, Pending};
use crate::types::{
    assessment_fields, outcome, parse_ts, rfc3339, EvaluateRequest, EvaluateResponse, IpInfoDto,
    ReportRequest, ReportResponse,
};

/// Attempts may be stamped at most this far in the future (clock skew).
const MAX_FUTURE_SECS: i64 = 300;

/// Validates the wire fields of an attempt into a core attempt.
pub fn build_attempt<S: Backend>(
    state: &AppState<S>,
    user: &str,
    ip: &str,
    protocol: Protocol,
    ts: Option<&str>,
    device: Option<&str>,
    user_agent: Option<&str>,
) -> Result<LoginAttempt, ApiError> {
    let ip: IpAddr = ip
        .trim()
        .parse()
        .map_err(|_| ApiError::bad(format!("ip: {ip:?} is not an IPv4 or IPv6 address")))?;
    let now = state.now();
    let ts = match ts {
        Some(t) => parse_ts("ts", t)?,
        None => now,
    };
    if ts.since(now) > MAX_FUTURE_SECS {
        return Err(ApiError::bad(format!(
            "ts: {} is more than {MAX_FUTURE_SECS} s in the future",
            rfc3339(ts)
        )));
    }
    LoginAttempt::new(ts, user, ip, protocol, device, user_agent)
        .map_err(|e| ApiError::bad(e.to_string()))
}

/// Looks the address up and scores the attempt: what is known of the
/// address, the assessment, and the organisation's UTC offset for texts.
pub fn assess_attempt<S: Backend>(
    state: &AppState<S>,
    attempt: &LoginAttempt,
) -> (IpInfo, Assessment, i32) {
    let info = state.intel.lookup(attempt.ip);
    let engine = state.engine.lock();
    let assessment = engine.evaluate(attempt, &info);
    (
        info,
        assessment,
        engine.policy().learning.utc_offset_minutes,
    )
}

fn parse_id(id: &str) -> Result<u128, ApiError> {
    u128::from_str_radix(id, 16)
        .ok()
        .filter(|_| id.len() == 32)
        .ok_or_else(|| ApiError::bad(format!("evaluation_id: {id:?} is not an evaluation id")))
}

fn observe_evaluation(a: &Assessment, started: Instant) {
    metrics::counter!("warden_evaluations_total", "decision" => a.decision.as_str()).increment(1);
    metrics::histogram!("warden_evaluate_seconds").record(started.elapsed().as_secs_f64());
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
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn evaluate<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<EvaluateRequest>,
) -> Result<ApiJson<EvaluateResponse>, ApiError> {
    let started = Instant::now();
    let attempt = build_attempt(
        &state,
        &req.user,
        &req.ip,
        req.protocol.into(),
        req.ts.as_deref(),
        req.device.as_deref(),
        req.user_agent.as_deref(),
    )?;
    let (info, assessment, offset) = assess_attempt(&state, &attempt);
    observe_evaluation(&assessment, started);
    let id = new_id();
    let (decision, risk, level, alert, reasons) = assessment_fields(&assessment, offset);
    let ip = IpInfoDto::from(&info);
    let now = state.now();
    state.pending.lock().insert(
        id,
        Pending {
            attempt,
            ip: info,
            assessment,
            created: now,
        },
        now,
    );
    Ok(ApiJson(EvaluateResponse {
        evaluation_id: format!("{id:032x}"),
        decision,
        risk,
        level,
        alert,
        reasons,
        ip,
    }))
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
        (status = 503, description = "Storage unavailable; nothing was acknowledged", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn report<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<ReportRequest>,
) -> Result<ApiJson<ReportResponse>, ApiError> {
    let outcome = outcome(req.outcome, req.failure_reason)?;
    // Resolve the attempt first: nothing changes until the request is valid.
    let known = match &req.evaluation_id {
        Some(id) => {
            let id = parse_id(id)?;
            let p = state.pending.lock().take(id, state.now()).ok_or_else(|| {
                ApiError::bad("evaluation_id: unknown or expired (evaluations wait ten minutes for their report)")
            })?;
            if let Some(u) = &req.user {
                let same = warden_core::normalize_user(u).is_ok_and(|u| u == p.attempt.user);
                if !same {
                    // Put it back: a mismatched report changes nothing.
                    let now = state.now();
                    let user = p.attempt.user.clone();
                    state.pending.lock().insert(id, p, now);
                    return Err(ApiError::bad(format!(
                        "user: {u:?} does not match the evaluated user {user:?}"
                    )));
                }
            }
            Some(p)
        }
        None => None,
    };
    let (attempt, info, prior) = match known {
        Some(p) => (p.attempt, p.ip, Some(p.assessment)),
        None => {
            let (Some(user), Some(ip), Some(protocol)) = (&req.user, &req.ip, req.protocol) else {
                return Err(ApiError::bad(
                    "without evaluation_id, user, ip and protocol are required",
                ));
            };
            let attempt = build_attempt(
                &state,
                user,
                ip,
                protocol.into(),
                req.ts.as_deref(),
                req.device.as_deref(),
                req.user_agent.as_deref(),
            )?;
            let info = state.intel.lookup(attempt.ip);
            (attempt, info, None)
        }
    };
    record(&state, attempt, info, prior, outcome).await
}

/// Records one outcome and waits until it is stored.
pub async fn record<S: Backend>(
    state: &AppState<S>,
    attempt: LoginAttempt,
    info: IpInfo,
    prior: Option<Assessment>,
    outcome: Outcome,
) -> Result<ApiJson<ReportResponse>, ApiError> {
    let started = Instant::now();
    let (assessment, offset) = {
        let engine = state.engine.lock();
        let offset = engine.policy().learning.utc_offset_minutes;
        (
            prior.unwrap_or_else(|| engine.evaluate(&attempt, &info)),
            offset,
        )
    };
    let user = attempt.user.to_string();
    let ts = attempt.ts;
    let alert = outcome.is_success() && assessment.alert;
    let (decision, risk, level, _, reasons) = assessment_fields(&assessment, offset);
    store_attempt(
        state,
        attempt,
        info,
        assessment,
        Recording::reported(outcome),
    )
    .await?;
    metrics::counter!("warden_reports_total", "outcome" => if outcome.is_success() { "success" } else { "failure" })
        .increment(1);
    if alert {
        metrics::counter!("warden_alerts_total").increment(1);
    }
    metrics::histogram!("warden_report_seconds").record(started.elapsed().as_secs_f64());
    Ok(ApiJson(ReportResponse {
        recorded: true,
        user,
        ts: rfc3339(ts),
        decision,
        risk,
        level,
        alert,
        reasons,
    }))
}

/// What an attempt teaches the engine and how the history keeps it.
#[derive(Debug, Clone, Copy)]
pub struct Recording {
    /// Fed to the engine (a success teaches the profile); `None` teaches
    /// nothing.
    pub counted: Option<Outcome>,
    /// The outcome the history shows.
    pub history: Outcome,
    /// Why a credential check by Warden refused the login.
    pub auth_reason: Option<VerifyReason>,
    /// The wrong password's fingerprint, so repeats of one stale password
    /// count once.
    pub fingerprint: Option<PasswordFingerprint>,
}

impl Recording {
    /// An outcome as the mail server reported it.
    pub fn reported(outcome: Outcome) -> Self {
        Recording {
            counted: Some(outcome),
            history: outcome,
            auth_reason: None,
            fingerprint: None,
        }
    }
}

/// Records the attempt as `r` says and waits until both the event and the
/// profile snapshot are committed.
pub async fn store_attempt<S: Backend>(
    state: &AppState<S>,
    attempt: LoginAttempt,
    info: IpInfo,
    assessment: Assessment,
    r: Recording,
) -> Result<(), ApiError> {
    let ack = {
        let mut engine = state.engine.lock();
        if let Some(outcome) = r.counted {
            engine.record_with(&attempt, &info, outcome, r.fingerprint);
        }
        let snapshot = if r.counted.is_some_and(Outcome::is_success) {
            engine.snapshot(&attempt.user).map(|blob| ProfileSnapshot {
                user: attempt.user.to_string(),
                blob,
                updated_at: attempt.ts,
            })
        } else {
            None
        };
        let mut event = LoginEvent::of(&attempt, &info, &assessment, r.history);
        event.auth_reason = r.auth_reason;
        // Queued under the engine lock so snapshots reach the database in
        // the order they were taken.
        state
            .writer
            .submit(vec![event], snapshot.into_iter().collect())
    };
    ack?.await?;
    Ok(())
}
