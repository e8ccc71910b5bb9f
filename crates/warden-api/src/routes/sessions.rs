//! A user's sessions and devices (`/v1/users/{user}/sessions`): list them,
//! sign one out, approve a pending or signed-out one, trust one for a
//! while, forget one, and log out everywhere. An admin acts with the API
//! key alone; webmail acts for the user by passing the user's live web
//! session token (`session_token`), which makes the action the user's.

use std::sync::Arc;

use axum::extract::State;
use warden_core::DeviceSession;

use crate::routes::accounts::user_of;
use warden_store::Backend;

use crate::credentials::{Actor, RequestIp};
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, OptionalJson};
use crate::state::AppState;
use crate::types::rfc3339;
use crate::types::schema::UserPath;
use crate::types::sessions::{
    LogoutAllRequest, LogoutAllResponse, SessionActionRequest, SessionDto, SessionIdPath,
    SessionList, TrustRequest,
};

fn id_of(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad(format!("id: {raw:?} is not a positive integer")))
}

/// The actor: the user when a live web session of theirs is given, else
/// the admin.
async fn actor_of<S: Backend>(
    state: &AppState<S>,
    user: &str,
    token: Option<&str>,
) -> Result<Actor, ApiError> {
    let Some(token) = token else {
        return Ok(Actor::Admin);
    };
    if token.len() > 200 {
        return Err(ApiError::bad("session_token: at most 200 characters"));
    }
    match state.service.live_session(token).await? {
        Some(s) if &*s.user == user => Ok(Actor::User),
        _ => Err(ApiError::Refused {
            code: "session_token",
            message: format!("session_token: not a live web session of {user}"),
        }),
    }
}

pub(crate) fn session_dto(s: &DeviceSession) -> SessionDto {
    SessionDto {
        id: s.id,
        device: s.device.clone(),
        client: s.client.clone(),
        os: s.os.clone(),
        protocol: s.protocol.as_str().to_string(),
        ip: s.ip.to_string(),
        country: s.country.map(|c| c.as_str().to_string()),
        city: s.city.clone(),
        first_seen: rfc3339(s.first_seen),
        last_seen: rfc3339(s.last_seen),
        state: s.state.as_str().to_string(),
        state_at: rfc3339(s.state_at),
        state_by: s.state_by.clone(),
        trusted_until: s.trusted_until.map(rfc3339),
    }
}

/// The user's sessions and devices, most recently seen first: every
/// device that logged in (any protocol, any entry point), those waiting
/// for approval and those signed out.
#[utoipa::path(get, path = "/v1/users/{user}/sessions", tag = "sessions",
    params(UserPath),
    responses((status = 200, body = SessionList)),
    security(("api_key" = [])))]
pub async fn list<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<SessionList>, ApiError> {
    let user = user_of(&user)?;
    let sessions = state.service.device_sessions(&user).await?;
    Ok(ApiJson(SessionList {
        user: user.to_string(),
        sessions: sessions.iter().map(session_dto).collect(),
    }))
}

/// Signs one device out: its next login (verify, Dovecot's policy, web
/// login) is refused with `session_revoked` until it brings a password or
/// authorization code issued after now, or is approved again.
#[utoipa::path(post, path = "/v1/users/{user}/sessions/{id}/revoke", tag = "sessions",
    params(UserPath, SessionIdPath),
    request_body = Option<SessionActionRequest>,
    responses(
        (status = 200, description = "Signed out (or already)", body = SessionDto),
        (status = 404, description = "No such session of this user", body = crate::error::ErrorBody),
        (status = 422, description = "`session_token`: not a live web session of this user", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn revoke<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((user, id)): Path<(String, String)>,
    OptionalJson(req): OptionalJson<SessionActionRequest>,
) -> Result<ApiJson<SessionDto>, ApiError> {
    let (user, id) = (user_of(&user)?, id_of(&id)?);
    let actor = actor_of(&state, &user, req.session_token.as_deref()).await?;
    let s = state.service.revoke_device(&user, id, actor, ip).await?;
    Ok(ApiJson(session_dto(&s)))
}

/// Approves a device waiting for approval (new-device approval), or lets
/// a signed-out device in again.
#[utoipa::path(post, path = "/v1/users/{user}/sessions/{id}/approve", tag = "sessions",
    params(UserPath, SessionIdPath),
    request_body = Option<SessionActionRequest>,
    responses(
        (status = 200, description = "Approved (or already active)", body = SessionDto),
        (status = 404, description = "No such session of this user", body = crate::error::ErrorBody),
        (status = 422, description = "`session_token`: not a live web session of this user", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn approve<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((user, id)): Path<(String, String)>,
    OptionalJson(req): OptionalJson<SessionActionRequest>,
) -> Result<ApiJson<SessionDto>, ApiError> {
    let (user, id) = (user_of(&user)?, id_of(&id)?);
    let actor = actor_of(&state, &user, req.session_token.as_deref()).await?;
    let s = state.service.approve_device(&user, id, actor, ip).await?;
    Ok(ApiJson(session_dto(&s)))
}

/// Trusts a device for `days` days (and approves it).
#[utoipa::path(post, path = "/v1/users/{user}/sessions/{id}/trust", tag = "sessions",
    params(UserPath, SessionIdPath),
    request_body = TrustRequest,
    responses(
        (status = 200, description = "Trusted until `trusted_until`", body = SessionDto),
        (status = 404, description = "No such session of this user", body = crate::error::ErrorBody),
        (status = 422, description = "`session_token`: not a live web session of this user", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn trust<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((user, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<TrustRequest>,
) -> Result<ApiJson<SessionDto>, ApiError> {
    let (user, id) = (user_of(&user)?, id_of(&id)?);
    let actor = actor_of(&state, &user, req.session_token.as_deref()).await?;
    let s = state
        .service
        .trust_device(&user, id, req.days, actor, ip)
        .await?;
    Ok(ApiJson(session_dto(&s)))
}

/// Forgets a device: its record goes, and its next login is a new
/// device's (waiting for approval where new devices need it).
#[utoipa::path(delete, path = "/v1/users/{user}/sessions/{id}", tag = "sessions",
    params(UserPath, SessionIdPath),
    request_body = Option<SessionActionRequest>,
    responses(
        (status = 204, description = "Forgotten"),
        (status = 404, description = "No such session of this user", body = crate::error::ErrorBody),
        (status = 422, description = "`session_token`: not a live web session of this user", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn forget<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((user, id)): Path<(String, String)>,
    OptionalJson(req): OptionalJson<SessionActionRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    let (user, id) = (user_of(&user)?, id_of(&id)?);
    let actor = actor_of(&state, &user, req.session_token.as_deref()).await?;
    state.service.forget_device(&user, id, actor, ip).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Logs the user out everywhere: every device session is signed out (each
/// device's next login is refused with `session_revoked` until it brings a
/// credential issued after now or is approved again), the web sessions
/// end at once (`/v1/auth/session` answers 404), and with
/// `app_passwords` every authorization code is revoked. Live IMAP
/// connections stay until the mail server ends them (`doveadm kick`).
#[utoipa::path(post, path = "/v1/users/{user}/logout-all", tag = "sessions",
    params(UserPath),
    request_body = Option<LogoutAllRequest>,
    responses(
        (status = 200, description = "Logged out everywhere", body = LogoutAllResponse),
        (status = 422, description = "`session_token`: not a live web session of this user", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn logout_all<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
    OptionalJson(req): OptionalJson<LogoutAllRequest>,
) -> Result<ApiJson<LogoutAllResponse>, ApiError> {
    let user = user_of(&user)?;
    let actor = actor_of(&state, &user, req.session_token.as_deref()).await?;
    let out = state
        .service
        .logout_everywhere(&user, req.app_passwords, actor, ip)
        .await?;
    Ok(ApiJson(LogoutAllResponse {
        user: user.to_string(),
        sessions: out.sessions,
        web_sessions: out.web_sessions,
        app_passwords: out.app_passwords,
        at: rfc3339(out.at),
    }))
}
