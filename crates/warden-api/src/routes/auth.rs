//! `/v1/auth/*`: credential verification for mail servers (`verify`), the
//! web/IM login with its second factor (`login`), and session lookup.
//!
//! Every verification runs the risk engine and lands in the login history
//! like a report, so mail servers need no separate `/v1/report` call.

use std::sync::Arc;

use axum::extract::State;
use warden_auth::codes;
use warden_core::verify::{decide, precheck, Credential, Facts, PasswordAge};
use warden_core::{
    Account, AppPassword, Assessment, FailureReason, IpInfo, Lang, LoginAttempt, Outcome, Protocol,
    Timestamp, Verdict, VerifyReason, WebSession,
};
use warden_store::Backend;

use crate::credentials::{self, LoginTicket};
use crate::error::{ApiError, ApiJson};
use crate::routes::login::{assess_attempt, build_attempt, store_attempt, Recording};
use crate::state::AppState;
use crate::types::accounts::{
    LoginRequest, LoginResponse, SessionDto, SessionRequest, VerifyRequest, VerifyResponse,
};
use crate::types::{assessment_fields, rfc3339};

fn parse_lang(lang: Option<&str>) -> Result<Lang, ApiError> {
    match lang.map(str::trim) {
        None | Some("") | Some("en") => Ok(Lang::En),
        Some("zh") | Some("zh-CN") | Some("zh-cn") => Ok(Lang::Zh),
        Some(other) => Err(ApiError::bad(format!(
            "lang: {other:?} is not supported; expected en or zh"
        ))),
    }
}

/// What the presented secret is for this account: one of its codes (one
/// digest lookup), else the login password (one argon2 verification, or a
/// dummy one of equal cost when there is no account or no password).
async fn check_credential<S: Backend>(
    state: &AppState<S>,
    account: Option<&Account>,
    secret: String,
    now: Timestamp,
    codes_allowed: bool,
) -> Result<(Credential, Option<AppPassword>), ApiError> {
    if let (true, Some(a), Some(code)) = (codes_allowed, account, codes::normalize_code(&secret)) {
        let digest = codes::code_digest(&code);
        if let Some(ap) = state.store.find_app_password(&a.user, &digest).await? {
            if ap.revoked_at.is_some() {
                return Ok((Credential::Wrong, None));
            }
            let expired = ap.expires_at.is_some_and(|e| now >= e);
            return Ok((
                Credential::AppPassword {
                    protocols: ap.protocols,
                    expired,
                },
                Some(ap),
            ));
        }
    }
    let hash = account.and_then(|a| a.password_hash.clone());
    let ok = state.credentials.verify(hash, secret).await?;
    Ok((
        if ok {
            Credential::LoginPassword
        } else {
            Credential::Wrong
        },
        None,
    ))
}

/// The account's 2FA state: (TOTP confirmed, 2FA required by the org).
async fn two_factor_state<S: Backend>(
    state: &AppState<S>,
    account: &Account,
) -> Result<(bool, bool, bool), ApiError> {
    let org = credentials::org_of(state, account).await?;
    let enrolled = state
        .store
        .totp(&account.user)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some());
    Ok((
        enrolled,
        credentials::two_factor_required(&org, account),
        org.app_passwords_required,
    ))
}

fn password_age<S: Backend>(state: &AppState<S>, account: &Account, now: Timestamp) -> PasswordAge {
    use warden_auth::Expiry;
    match account.password_changed_at {
        None => PasswordAge::Fresh,
        Some(changed) => match state.credentials.settings.password.expiry(changed, now) {
            Expiry::Fresh => PasswordAge::Fresh,
            Expiry::Expiring { in_grace_until } => PasswordAge::Grace {
                until: in_grace_until,
            },
            Expiry::Expired => PasswordAge::Expired,
        },
    }
}

/// Teaches the engine what the verdict says about the attempt and stores
/// it in the history; waits for the commit.
async fn conclude<S: Backend>(
    state: &AppState<S>,
    attempt: LoginAttempt,
    info: IpInfo,
    assessment: Assessment,
    verdict: &Verdict,
    account_known: bool,
) -> Result<(), ApiError> {
    let (counted, history) = match verdict.reason {
        None => (Some(Outcome::Success), Outcome::Success),
        Some(r) => (
            r.counted_as(account_known),
            Outcome::Failure(r.history_reason(account_known)),
        ),
    };
    let r = Recording {
        counted,
        history,
        auth_reason: verdict.reason,
        fingerprint: None,
    };
    store_attempt(state, attempt, info, assessment, r).await
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
        (status = 503, description = "Storage unavailable", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn verify<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<ApiJson<VerifyResponse>, ApiError> {
    let lang = parse_lang(req.lang.as_deref())?;
    let protocol: Protocol = req.protocol.into();
    let attempt = build_attempt(
        &state,
        &req.user,
        &req.ip,
        protocol,
        None,
        req.device.as_deref(),
        req.user_agent.as_deref(),
    )?;
    let now = attempt.ts;
    let (info, assessment, offset) = assess_attempt(&state, &attempt);
    let settings = &state.credentials.settings;
    let mut account_known = false;
    let mut used_code = None;
    let mut expiring = None;
    let verdict = match precheck(
        protocol,
        req.tls,
        settings.require_tls,
        attempt.ip,
        &assessment,
    ) {
        Some(v) => v,
        None => {
            let account = state.store.account(&attempt.user).await?;
            account_known = account.is_some();
            let (credential, code) =
                check_credential(&state, account.as_ref(), req.password.clone(), now, true).await?;
            // A wrong credential is answered without further lookups, so
            // an unknown user and a wrong password cost the same.
            let (enrolled, required, codes_required) = match &account {
                Some(a) if credential != Credential::Wrong => two_factor_state(&state, a).await?,
                _ => (false, false, false),
            };
            let age = account
                .as_ref()
                .map_or(PasswordAge::Fresh, |a| password_age(&state, a, now));
            let verdict = decide(
                &Facts {
                    protocol,
                    account: account.as_ref(),
                    credential,
                    two_factor: enrolled || required,
                    codes_required,
                    password_age: age,
                },
                &assessment,
            );
            used_code = code;
            if verdict.is_ok() && credential == Credential::LoginPassword {
                if let PasswordAge::Grace { until } = age {
                    expiring = Some(until);
                }
                if let Some(a) = &account {
                    if a.password_hash
                        .as_deref()
                        .is_some_and(|h| state.credentials.needs_rehash(h))
                    {
                        credentials::rehash_in_background(
                            state.clone(),
                            a.user.clone(),
                            req.password.clone(),
                        );
                    }
                }
            }
            verdict
        }
    };
    let ip = attempt.ip;
    let (decision, risk, _, alert, reasons) = assessment_fields(&assessment, offset);
    let alert = alert && verdict.is_ok();
    conclude(&state, attempt, info, assessment, &verdict, account_known).await?;
    if let (true, Some(code)) = (verdict.is_ok(), &used_code) {
        state.store.touch_app_password(code.id, now, ip).await?;
    }
    metrics::counter!("warden_verifications_total", "result" => verdict.reason.map_or("ok", VerifyReason::as_str)).increment(1);
    Ok(ApiJson(VerifyResponse {
        result: if verdict.is_ok() { "ok" } else { "fail" },
        reason: verdict.reason.map(VerifyReason::as_str),
        message: verdict.message(lang, offset),
        message_en: verdict.message(Lang::En, offset),
        message_zh: verdict.message(Lang::Zh, offset),
        imap_code: verdict.reason.map(VerifyReason::imap_code),
        until: verdict.detail.until.or(expiring).map(rfc3339),
        warning: expiring.map(|_| "password_expiring"),
        credential: verdict.is_ok().then_some(if used_code.is_some() {
            "app_password"
        } else {
            "password"
        }),
        decision,
        risk,
        alert,
        reasons,
    }))
}

/// A login answer with the assessment filled in.
fn login_answer(status: &'static str, assessment: &Assessment, offset: i32) -> LoginResponse {
    let (decision, risk, _, alert, reasons) = assessment_fields(assessment, offset);
    LoginResponse {
        status,
        session_token: None,
        expires_at: None,
        login_token: None,
        challenge: None,
        reason: None,
        message: None,
        two_factor_setup_required: false,
        password_change_required: false,
        decision,
        risk,
        alert: alert && status == "ok",
        reasons,
    }
}

/// Opens a session for `user`.
async fn open_session<S: Backend>(
    state: &AppState<S>,
    attempt: &LoginAttempt,
    answer: &mut LoginResponse,
) -> Result<(), ApiError> {
    let token = codes::generate_session_token();
    let expires_at = attempt
        .ts
        .plus_secs(state.credentials.settings.session_ttl_secs);
    state
        .store
        .insert_session(&WebSession {
            digest: codes::token_digest(&token),
            user: attempt.user.clone(),
            created_at: attempt.ts,
            expires_at,
            ip: attempt.ip,
            user_agent: attempt.user_agent.as_deref().map(str::to_string),
            revoked_at: None,
        })
        .await?;
    answer.session_token = Some(token);
    answer.expires_at = Some(rfc3339(expires_at));
    Ok(())
}

/// Checks a TOTP code (or an unused recovery code) of the account; marks it
/// used. `Ok(false)` for a wrong or replayed code.
async fn second_factor<S: Backend>(
    state: &AppState<S>,
    user: &str,
    code: &str,
    now: Timestamp,
    ip: std::net::IpAddr,
) -> Result<bool, ApiError> {
    let Some(enrolment) = state.store.totp(user).await? else {
        return Ok(false);
    };
    if enrolment.confirmed_at.is_none() {
        return Ok(false);
    }
    let totp = crate::routes::accounts::totp_of(state, &enrolment)?;
    if let Some(step) = totp.verify(code, now, enrolment.last_step) {
        return Ok(state.store.use_totp_step(user, step).await?);
    }
    if let Some(recovery) = codes::normalize_recovery_code(code) {
        let digest = codes::recovery_digest(&recovery);
        let ev = credentials::event(
            Some(ip),
            now,
            user,
            warden_core::SecurityEventKind::RecoveryCodeUsed,
            credentials::Actor::User,
            "recovery code used to log in",
        );
        return Ok(state
            .store
            .use_recovery_code(user, &digest, now, &ev)
            .await?);
    }
    Ok(false)
}

/// Web and IM login: the password, then a TOTP or recovery code when 2FA is
/// on or the risk engine asks for a challenge. A challenge answered
/// correctly teaches the profile, so the new place or device becomes known.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`ok` with a session token, `totp_required` with a login token, or `fail` with the reason", body = LoginResponse),
        (status = 400, description = "Malformed JSON or invalid field", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = crate::error::ErrorBody),
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
    let attempt = build_attempt(
        &state,
        &req.user,
        &req.ip,
        protocol,
        None,
        req.device.as_deref(),
        req.user_agent.as_deref(),
    )?;
    let now = attempt.ts;
    let (info, assessment, offset) = assess_attempt(&state, &attempt);
    state.credentials.expire_tickets(now);

    // Second step: the code for an earlier password step.
    if let Some(token) = &req.login_token {
        let Some(code) = req.code.as_deref() else {
            return Err(ApiError::bad("code: required with login_token"));
        };
        let key = codes::token_digest(token);
        let ticket = state.credentials.tickets.lock().remove(&key);
        let Some(ticket) = ticket.filter(|t| t.user == attempt.user) else {
            return Err(ApiError::bad(
                "login_token: unknown or expired (it is valid for 5 minutes, for one code)",
            ));
        };
        let passed = second_factor(&state, &attempt.user, code, now, attempt.ip).await?;
        let mut answer = login_answer(if passed { "ok" } else { "fail" }, &assessment, offset);
        // A risk challenge answered: the login is the user's own, no alert.
        answer.alert = passed && assessment.alert && !ticket.risk_challenge;
        let outcome = if passed {
            Outcome::Success
        } else {
            Outcome::Failure(FailureReason::ChallengeFailed)
        };
        let reason = (!passed).then_some(VerifyReason::VerificationRequired);
        let r = Recording {
            auth_reason: reason,
            ..Recording::reported(outcome)
        };
        store_attempt(&state, attempt.clone(), info, assessment, r).await?;
        if passed {
            open_session(&state, &attempt, &mut answer).await?;
            answer.challenge = Some(if ticket.risk_challenge {
                "risk"
            } else {
                "two_factor"
            });
            answer.password_change_required = ticket.password_change;
        } else {
            answer.reason = Some("invalid_code");
            answer.message = Some(match lang {
                Lang::En => "The code is wrong or was already used. Log in again.".into(),
                Lang::Zh => "验证码错误或已被使用，请重新登录。".into(),
            });
        }
        return Ok(ApiJson(answer));
    }

    // First step: the password.
    let Some(password) = req.password else {
        return Err(ApiError::bad(
            "password: required (or login_token with code)",
        ));
    };
    let settings = &state.credentials.settings;
    let (verdict, account) = match precheck(
        protocol,
        true,
        settings.require_tls,
        attempt.ip,
        &assessment,
    ) {
        Some(v) => (v, None),
        None => {
            let account = state.store.account(&attempt.user).await?;
            let (credential, _) =
                check_credential(&state, account.as_ref(), password, now, false).await?;
            let age = account
                .as_ref()
                .map_or(PasswordAge::Fresh, |a| password_age(&state, a, now));
            let facts = Facts {
                protocol,
                account: account.as_ref(),
                credential,
                // The second factor is this flow's own step.
                two_factor: false,
                codes_required: false,
                password_age: age,
            };
            (decide(&facts, &assessment), account)
        }
    };
    let known = account.is_some();
    let mut answer = login_answer("fail", &assessment, offset);
    // A valid password with only a challenge or a password change pending
    // goes on; anything else is refused here.
    let passable = matches!(
        verdict.reason,
        None | Some(VerifyReason::VerificationRequired | VerifyReason::PasswordExpired)
    );
    let Some(a) = account.as_ref().filter(|_| passable) else {
        conclude(&state, attempt, info, assessment, &verdict, known).await?;
        answer.reason = verdict.reason.map(VerifyReason::as_str);
        answer.message = verdict.message(lang, offset);
        return Ok(ApiJson(answer));
    };
    let (enrolled, required, _) = two_factor_state(&state, a).await?;
    let risk_challenge = verdict.reason == Some(VerifyReason::VerificationRequired);
    let password_change = verdict.reason == Some(VerifyReason::PasswordExpired);
    answer.password_change_required = password_change;
    answer.two_factor_setup_required = required && !enrolled;
    if enrolled {
        let token = codes::generate_session_token();
        state.credentials.tickets.lock().insert(
            codes::token_digest(&token),
            LoginTicket {
                user: a.user.clone(),
                issued: now,
                risk_challenge,
                password_change,
            },
        );
        answer.status = "totp_required";
        answer.login_token = Some(token);
        answer.challenge = Some(if risk_challenge { "risk" } else { "two_factor" });
        return Ok(ApiJson(answer));
    }
    if risk_challenge {
        // No second factor to ask for: refuse, as verify would.
        conclude(&state, attempt, info, assessment, &verdict, known).await?;
        answer.reason = verdict.reason.map(VerifyReason::as_str);
        answer.message = verdict.message(lang, offset);
        return Ok(ApiJson(answer));
    }
    answer.alert = assessment.alert;
    let accepted = Verdict {
        reason: None,
        detail: Default::default(),
    };
    conclude(&state, attempt.clone(), info, assessment, &accepted, known).await?;
    answer.status = "ok";
    open_session(&state, &attempt, &mut answer).await?;
    Ok(ApiJson(answer))
}

/// Looks up a session token: who it belongs to and until when.
#[utoipa::path(
    post,
    path = "/v1/auth/session",
    tag = "auth",
    request_body = SessionRequest,
    responses(
        (status = 200, description = "The live session", body = SessionDto),
        (status = 404, description = "Unknown, expired or revoked", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn session<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<ApiJson<SessionDto>, ApiError> {
    let now = state.now();
    let s = state
        .store
        .session(&codes::token_digest(&req.session_token))
        .await?
        .filter(|s| s.revoked_at.is_none() && now < s.expires_at)
        .ok_or_else(|| ApiError::NotFound("unknown, expired or revoked session".into()))?;
    Ok(ApiJson(SessionDto {
        user: s.user.to_string(),
        created_at: rfc3339(s.created_at),
        expires_at: rfc3339(s.expires_at),
        ip: s.ip.to_string(),
    }))
}
