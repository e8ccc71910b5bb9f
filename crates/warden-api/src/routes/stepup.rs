//! Verification routes for a signed-in user (their web session's token in
//! the `X-Warden-Session` header): step-ups for sensitive operations
//! (`/v1/auth/step-up/start`, `/v1/auth/step-up`), the sign-ins login
//! protection refused and their confirmation
//! (`/v1/auth/refused-sign-ins`), and the security contact change
//! (`/v1/users/{user}/security-contact`, which needs a step-up). The
//! handlers parse, call `warden_service::stepup` and word the answer.

use std::sync::Arc;

use axum::extract::State;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;
use warden_core::SecurityEventKind as Kind;

use crate::routes::accounts::user_of;
use warden_store::{AccountWrite, Backend, LoginEvent};

use crate::credentials::{self, event, Actor, RequestIp};
use crate::error::{ApiError, ApiJson, ApiPath as Path};
use crate::state::AppState;
use crate::types::accounts::AccountDto;
use crate::types::rfc3339;
use crate::types::schema::UserPath;
use crate::types::stepup::{
    RefusedSignInDto, RefusedSignInList, SecurityContactRequest, StepUpRequest, StepUpStartDto,
    SteppedUpDto,
};

/// The header that carries the user's web session token.
pub const SESSION_HEADER: &str = "x-warden-session";
/// The longest session token accepted (Warden's are 43 characters).
pub const MAX_SESSION_TOKEN: usize = 128;

/// The `X-Warden-Session` header, when sent: the token of the web session
/// acting (the user's own, from `/v1/auth/login`).
#[derive(Debug, Clone)]
pub struct SessionToken(pub Option<String>);

impl SessionToken {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(SESSION_HEADER) else {
            return Ok(SessionToken(None));
        };
        let bad = || {
            ApiError::bad(format!(
                "X-Warden-Session: a session token (1 to {MAX_SESSION_TOKEN} visible ASCII characters)"
            ))
        };
        let t = v.to_str().map_err(|_| bad())?.trim();
        if t.is_empty() || t.len() > MAX_SESSION_TOKEN || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad());
        }
        Ok(SessionToken(Some(t.to_string())))
    }
}

/// The `X-Warden-Session` header parameter, for the document.
pub struct SessionParam;

impl IntoParams for SessionParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name("X-Warden-Session")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "The token of the user's web session (from `/v1/auth/login`) acting: what a step-up is remembered on.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_SESSION_TOKEN))
                    .pattern(Some("^[!-~]+$"))
                    .build(),
            ))
            .build()]
    }
}

/// The session's user, or 403 `session_required`.
async fn session_user<S: Backend>(
    state: &AppState<S>,
    token: &SessionToken,
) -> Result<warden_core::Name, ApiError> {
    let missing = || ApiError::Forbidden {
        code: "session_required",
        message: "a live web session is required: send its token in X-Warden-Session".into(),
    };
    let token = token.as_deref().ok_or_else(missing)?;
    Ok(state.live_session(token).await?.ok_or_else(missing)?.user)
}

const NO_SESSION: &str = "`session_required`: no live web session in X-Warden-Session";

/// Begins a step-up of the session: says how to verify (`totp`, `email`,
/// `password`, the strongest the account has) and, for `email`, sends a
/// six-digit code (one use, 10 minutes) to the account's security email.
#[utoipa::path(post, path = "/v1/auth/step-up/start", tag = "auth",
    params(SessionParam),
    responses((status = 200, body = StepUpStartDto),
        (status = 403, description = NO_SESSION, body = crate::error::ErrorBody),
        (status = 429, description = "Five codes were emailed to this account in 15 minutes: wait `Retry-After` seconds", body = crate::error::ErrorBody),
        (status = 503, description = "The SMTP relay did not take the code's email (`unavailable`), or the storage is unreachable", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn start<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
) -> Result<ApiJson<StepUpStartDto>, ApiError> {
    let s = state.start_step_up(session.as_deref(), ip).await?;
    Ok(ApiJson(StepUpStartDto {
        method: s.method.as_str(),
        sent_to: s.sent_to,
        code_expires_at: s.code_expires.map(rfc3339),
    }))
}

/// Verifies the session again for sensitive operations: with the current
/// TOTP code, the emailed code, or the password, as the
/// start said. Sensitive operations sent with this session then need no
/// other step-up for the account's `step_up_minutes`.
#[utoipa::path(post, path = "/v1/auth/step-up", tag = "auth",
    params(SessionParam), request_body = StepUpRequest,
    responses((status = 200, body = SteppedUpDto),
        (status = 403, description = NO_SESSION, body = crate::error::ErrorBody),
        (status = 422, description = "`invalid_code` (wrong, expired or used up) or `wrong_password`", body = crate::error::ErrorBody),
        (status = 429, description = "Too many wrong codes: the account's codes are refused for `Retry-After` seconds", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn step_up<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> Result<ApiJson<SteppedUpDto>, ApiError> {
    let secret = match (req.code, req.password) {
        (Some(c), None) if c.chars().count() <= 64 => c,
        (Some(_), None) => return Err(ApiError::bad("code: at most 64 characters")),
        (None, Some(p)) => p,
        _ => return Err(ApiError::bad("send one of code or password")),
    };
    let s = state.step_up(session.as_deref(), secret, ip).await?;
    Ok(ApiJson(SteppedUpDto {
        method: s.method.as_str(),
        stepped_up_at: rfc3339(s.at),
        fresh_until: rfc3339(s.fresh_until),
    }))
}

fn refused_dto(e: &LoginEvent) -> RefusedSignInDto {
    RefusedSignInDto {
        id: e.id.unwrap_or_default(),
        ts: rfc3339(e.ts),
        ip: e.ip.to_string(),
        protocol: e.protocol.as_str().to_string(),
        country: e.country.map(|c| c.as_str().to_string()),
        region: e.region.clone(),
        city: e.city.clone(),
        device: e.device.clone(),
        user_agent: e.user_agent.clone(),
    }
}

/// The session user's sign-ins that login protection refused
/// (`verification_required`) in the last 7 days: the mail clients that
/// could not be asked for a code. Confirming one lets that client in from
/// there.
#[utoipa::path(get, path = "/v1/auth/refused-sign-ins", tag = "auth",
    params(SessionParam),
    responses((status = 200, body = RefusedSignInList),
        (status = 403, description = NO_SESSION, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn refused<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    session: SessionToken,
) -> Result<ApiJson<RefusedSignInList>, ApiError> {
    let user = session_user(&state, &session).await?;
    let list = state.refused_sign_ins(&user).await?;
    Ok(ApiJson(RefusedSignInList {
        user: user.to_string(),
        sign_ins: list.iter().map(refused_dto).collect(),
    }))
}

/// Confirms one of the session user's refused sign-ins as their own: the
/// profile learns its place, network, device and client as trusted, so the
/// client logs in from there from now on.
#[utoipa::path(post, path = "/v1/auth/refused-sign-ins/{id}/confirm", tag = "auth",
    params(SessionParam, ("id" = i64, Path, description = "The refused sign-in's `id`")),
    responses((status = 200, body = RefusedSignInDto),
        (status = 403, description = NO_SESSION, body = crate::error::ErrorBody),
        (status = 404, description = "No such refused sign-in of this user in the last 7 days", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn confirm<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
    Path(id): Path<String>,
) -> Result<ApiJson<RefusedSignInDto>, ApiError> {
    let id: i64 = id.parse().map_err(|e| ApiError::bad(format!("id: {e}")))?;
    let user = session_user(&state, &session).await?;
    let e = state.confirm_sign_in(&user, id, Actor::User, ip).await?;
    Ok(ApiJson(refused_dto(&e)))
}

/// A user's sign-ins that login protection refused (`verification_required`)
/// in the last 7 days, for admins (`warden sign-ins list`).
#[utoipa::path(get, path = "/v1/users/{user}/refused-sign-ins", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = RefusedSignInList)),
    security(("api_key" = [])))]
pub async fn admin_refused<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<RefusedSignInList>, ApiError> {
    let user = user_of(&user)?;
    let list = state.refused_sign_ins(&user).await?;
    Ok(ApiJson(RefusedSignInList {
        user: user.to_string(),
        sign_ins: list.iter().map(refused_dto).collect(),
    }))
}

/// An admin confirms one of a user's refused sign-ins for them (the user
/// called the helpdesk): the same as the user's own confirmation, stored
/// with the admin as actor (`warden sign-ins confirm`).
#[utoipa::path(post, path = "/v1/users/{user}/refused-sign-ins/{id}/confirm", tag = "accounts",
    params(UserPath, ("id" = i64, Path, description = "The refused sign-in's `id`")),
    responses((status = 200, body = RefusedSignInDto),
        (status = 404, description = "No such refused sign-in of this user in the last 7 days", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn admin_confirm<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((user, id)): Path<(String, String)>,
) -> Result<ApiJson<RefusedSignInDto>, ApiError> {
    let user = user_of(&user)?;
    let id: i64 = id.parse().map_err(|e| ApiError::bad(format!("id: {e}")))?;
    let e = state.confirm_sign_in(&user, id, Actor::Admin, ip).await?;
    Ok(ApiJson(refused_dto(&e)))
}

/// Changes the account's security email or phone (where alerts and
/// verification codes go). The user's own change: a sensitive operation,
/// it needs a fresh step-up of the session in `X-Warden-Session` when the
/// account's policy asks one.
#[utoipa::path(put, path = "/v1/users/{user}/security-contact", tag = "accounts",
    params(UserPath, SessionParam), request_body = SecurityContactRequest,
    responses((status = 200, body = AccountDto),
        (status = 403, description = "`step_up_required`: the account's policy needs a step-up of the session within `step_up_minutes`; nothing changed", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn security_contact<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<SecurityContactRequest>,
) -> Result<ApiJson<AccountDto>, ApiError> {
    let user = user_of(&user)?;
    let mut account = credentials::account(&state, &user).await?;
    let email = match req.email.as_deref().map(str::trim) {
        None => account.email.clone(),
        Some("") => None,
        Some(e)
            if e.len() > 254
                || !e.contains('@')
                || e.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            return Err(ApiError::bad(
                "email: an email address of at most 254 bytes",
            ))
        }
        Some(e) => Some(e.to_string()),
    };
    let phone = match req.phone.as_deref().map(str::trim) {
        None => account.phone.clone(),
        Some("") => None,
        Some(p)
            if p.len() > 32 || !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) =>
        {
            return Err(ApiError::bad(
                "phone: at most 32 digits, spaces and + - ( )",
            ))
        }
        Some(p) => Some(p.to_string()),
    };
    state
        .require_step_up(
            &user,
            session.as_deref(),
            "changing the security email or phone",
            ip,
        )
        .await?;
    let mut changed = Vec::new();
    if email != account.email {
        changed.push(match &email {
            Some(e) => format!(
                "security email set to {}",
                warden_service::stepup::mask_email(e)
            ),
            None => "security email removed".to_string(),
        });
    }
    if phone != account.phone {
        changed.push(
            if phone.is_some() {
                "security phone set"
            } else {
                "security phone removed"
            }
            .to_string(),
        );
    }
    if !changed.is_empty() {
        let now = state.now();
        account.email = email;
        account.phone = phone;
        account.updated_at = now;
        credentials::commit(
            &state,
            AccountWrite {
                account: Some(account.clone()),
                events: vec![event(
                    ip,
                    now,
                    &user,
                    Kind::AccountUpdated,
                    Actor::User,
                    changed.join("; "),
                )],
                ..AccountWrite::default()
            },
        )
        .await?;
    }
    let two_factor = state
        .store
        .totp(&user)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some());
    Ok(ApiJson(super::accounts::account_dto(&account, two_factor)))
}
