//! `/v1/auth/*`: credential verification for mail servers (`verify`), the
//! web/IM login with its second factor (`login`), and session lookup.
//!
//! The handlers parse JSON, call the pipeline (`Service::verify`,
//! `Service::web_login`) and word its answer. Every verification runs the
//! risk engine and lands in the login history like a report, so mail
//! servers need no separate `/v1/report` call.

use std::sync::Arc;

use axum::extract::State;
use warden_core::{Lang, Protocol, VerifyReason};
use warden_service::pipeline::verify::{WebRefusal, WebStatus, WebStep};
use warden_service::pipeline::AttemptFields;
use warden_store::Backend;

use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::types::accounts::{
    LoginRequest, LoginResponse, SessionDto, SessionRequest, VerifyRequest, VerifyResponse,
};
use crate::types::{assessment_fields, rfc3339};

fn parse_lang(lang: Option<&str>) -> Result<Lang, ApiError> {
    Ok(warden_service::parse_lang(lang)?)
}

/// Checks a mail client's credential: the login password or an
/// authorization code, with every reason a client can be refused for.
#[utoipa::path(
    post,
    path = "/v1/auth/verify",
    tag = "auth",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "`ok`, or `fail` with the reason, the message for the user and the IMAP code", body = VerifyResponse),
        (status = 400, description = "Malformed JSON or invalid field", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
        (status = 503, description = "Storage unavailable, or the password-hashing pool and its queue are full (`busy`, with `Retry-After`)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn verify<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<ApiJson<VerifyResponse>, ApiError> {
    let lang = parse_lang(req.lang.as_deref())?;
    let attempt = state.attempt(AttemptFields {
        user: &req.user,
        ip: &req.ip,
        protocol: req.protocol.into(),
        ts: None,
        device: req.device.as_deref(),
        user_agent: req.user_agent.as_deref(),
    })?;
    let v = state.service.verify(attempt, req.password, req.tls).await?;
    let offset = v.assessed.utc_offset;
    let (decision, risk, _, _, reasons) = assessment_fields(&v.assessed.assessment, offset);
    let verdict = &v.verdict;
    Ok(ApiJson(VerifyResponse {
        result: if verdict.is_ok() { "ok" } else { "fail" },
        reason: verdict.reason.map(VerifyReason::as_str),
        message: verdict.message_with(lang, offset, &state.texts),
        message_en: verdict.message_with(Lang::En, offset, &state.texts),
        message_zh: verdict.message_with(Lang::Zh, offset, &state.texts),
        imap_code: verdict.reason.map(VerifyReason::imap_code),
        until: verdict.detail.until.or(v.expiring).map(rfc3339),
        warning: v.expiring.map(|_| "password_expiring"),
        credential: v.credential.map(|c| c.as_str()),
        decision,
        risk,
        alert: v.alert,
        reasons,
    }))
}

/// Web and IM login: the password, then a TOTP or recovery code when 2FA is
/// on or the risk engine asks for a challenge; with login protection, a
/// protected login of an account without TOTP gets a six-digit code at its
/// security email instead (`email_code_required`), sent back the same way. A challenge answered
/// correctly teaches the profile, so the new place or device becomes known.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`ok` with a session token, `totp_required` or `email_code_required` (login protection: a code went to the security email) with a login token, or `fail` with the reason", body = LoginResponse),
        (status = 400, description = "Malformed JSON or invalid field", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
        (status = 429, description = "Too many wrong second-factor codes (the account's codes are refused for `Retry-After` seconds), or five login codes were emailed to the account in 15 minutes", body = crate::error::ErrorBody),
        (status = 503, description = "The password-hashing pool and its queue are full (`busy`, with `Retry-After`), or the SMTP relay did not take a login code's email (`unavailable`)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn login<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<ApiJson<LoginResponse>, ApiError> {
    let lang = parse_lang(req.lang.as_deref())?;
    let protocol = req.protocol.map_or(Protocol::Web, Protocol::from);
    if protocol.is_mail_client() {
        return Err(ApiError::bad(
            "protocol: mail clients use /v1/auth/verify; login is for web, im and api",
        ));
    }
    let step = match (req.login_token, req.code, req.password) {
        (Some(login_token), Some(code), _) => WebStep::Code { login_token, code },
        (Some(_), None, _) => return Err(ApiError::bad("code: required with login_token")),
        (None, _, Some(password)) => WebStep::Password(password),
        (None, _, None) => {
            return Err(ApiError::bad(
                "password: required (or login_token with code)",
            ))
        }
    };
    let attempt = state.attempt(AttemptFields {
        user: &req.user,
        ip: &req.ip,
        protocol,
        ts: None,
        device: req.device.as_deref(),
        user_agent: req.user_agent.as_deref(),
    })?;
    let w = state.web_login(attempt, step).await?;
    let offset = w.assessed.utc_offset;
    let (decision, risk, _, _, reasons) = assessment_fields(&w.assessed.assessment, offset);
    let (reason, message) = match &w.refusal {
        None => (None, None),
        Some(WebRefusal::Verdict(v)) => (
            v.reason.map(VerifyReason::as_str),
            v.message_with(lang, offset, &state.texts),
        ),
        Some(WebRefusal::InvalidCode) => (
            Some("invalid_code"),
            Some(match lang {
                Lang::En => "The code is wrong or was already used. Log in again.".into(),
                Lang::Zh => "验证码错误或已被使用，请重新登录。".into(),
            }),
        ),
    };
    let (session_token, expires_at) = match w.session {
        Some((token, until)) => (Some(token), Some(rfc3339(until))),
        None => (None, None),
    };
    Ok(ApiJson(LoginResponse {
        status: match w.status {
            WebStatus::Ok => "ok",
            WebStatus::TotpRequired => "totp_required",
            WebStatus::EmailCodeRequired => "email_code_required",
            WebStatus::Fail => "fail",
        },
        session_token,
        expires_at,
        login_token: w.login_token,
        challenge: w.challenge.map(|c| c.as_str()),
        reason,
        message,
        two_factor_setup_required: w.two_factor_setup_required,
        password_change_required: w.password_change_required,
        code_sent_to: w.code_sent_to,
        decision,
        risk,
        alert: w.alert,
        reasons,
    }))
}

/// Looks up a session token: who it belongs to and until when.
#[utoipa::path(
    post,
    path = "/v1/auth/session",
    tag = "auth",
    request_body = SessionRequest,
    responses(
        (status = 200, description = "The live session", body = SessionDto),
        (status = 404, description = "Unknown, expired or revoked (a lock or disable of the account revokes its sessions)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn session<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<ApiJson<SessionDto>, ApiError> {
    let s = state
        .live_session(&req.session_token)
        .await?
        .ok_or_else(|| ApiError::NotFound("unknown, expired or revoked session".into()))?;
    Ok(ApiJson(SessionDto {
        user: s.user.to_string(),
        created_at: rfc3339(s.created_at),
        expires_at: rfc3339(s.expires_at),
        ip: s.ip.to_string(),
    }))
}
