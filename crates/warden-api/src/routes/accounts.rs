//! Accounts and their credentials: organisations, account lifecycle (create,
//! disable, enable, lock, unlock, delete, CSV import), login passwords,
//! authorization codes, TOTP with recovery codes, and the security events
//! all of these leave.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use warden_auth::codes;
use warden_auth::{Totp, TotpSecret};
use warden_core::{
    normalize_user, Account, AccountStatus, AppPassword, Org, ProtocolSet, RecoveryCode, Role,
    SecurityEventKind as Kind, Timestamp, TotpEnrolment, TwoFactorPolicy,
};
use warden_service::second_factor::{CodeCheck, CodePurpose};
use warden_store::{AccountWrite, Backend};

use crate::credentials::{self, event, Actor, RequestIp, DEFAULT_ORG};
use crate::routes::stepup::{SessionParam, SessionToken};
// `Path` is the API's own: its rejections are JSON errors.
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery, OptionalJson, TextBody};
use crate::state::AppState;
use crate::types::accounts::*;
use crate::types::rfc3339;
use crate::types::schema::UserPath;
use warden_service::accounts::NewPassword;

/// A user name from a path, normalised; a bad one is a 400.
pub(crate) fn user_of(raw: &str) -> Result<warden_core::Name, ApiError> {
    normalize_user(raw).map_err(|e| ApiError::bad(e.to_string()))
}

fn parse<T: std::str::FromStr>(field: &str, v: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e: T::Err| ApiError::bad(format!("{field}: {e}")))
}

fn org_dto(o: &Org) -> OrgDto {
    OrgDto {
        name: o.name.to_string(),
        display_name: o.display_name.clone(),
        two_factor: o.two_factor.to_string(),
        app_passwords_required: o.app_passwords_required,
        created_at: rfc3339(o.created_at),
        updated_at: rfc3339(o.updated_at),
    }
}

pub fn account_dto(a: &Account, two_factor: bool) -> AccountDto {
    AccountDto {
        user: a.user.to_string(),
        org: a.org.to_string(),
        display_name: a.display_name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        lang: a.lang.map(|l| l.as_str().to_string()),
        role: a.role.to_string(),
        status: a.status.to_string(),
        status_reason: a.status_reason.clone(),
        has_password: a.password_hash.is_some(),
        password_changed_at: a.password_changed_at.map(rfc3339),
        must_change_password: a.must_change_password,
        two_factor,
        created_at: rfc3339(a.created_at),
        updated_at: rfc3339(a.updated_at),
    }
}

async fn account_view<S: Backend>(
    state: &AppState<S>,
    a: &Account,
) -> Result<AccountDto, ApiError> {
    let tf = state
        .store
        .totp(&a.user)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some());
    Ok(account_dto(a, tf))
}

fn strength_dto(s: &warden_auth::Strength) -> StrengthDto {
    StrengthDto {
        grade: s.grade.as_str().to_string(),
        colour: s.grade.colour_label(warden_core::Lang::En).to_string(),
        colour_zh: s.grade.colour_label(warden_core::Lang::Zh).to_string(),
        score: s.score,
        feedback: s.feedback_en.clone(),
        feedback_zh: s.feedback_zh.clone(),
    }
}

/// Checks `password` against the policy for `account` in `org`.
async fn check_policy<S: Backend>(
    state: &AppState<S>,
    account: &Account,
    org: &Org,
    password: &str,
) -> Result<warden_auth::Strength, ApiError> {
    Ok(state.check_password_policy(account, org, password).await?)
}

// ------------------------------------------------------------------ orgs

/// Creates or replaces an organisation and its credential policy.
#[utoipa::path(post, path = "/v1/orgs", tag = "accounts", request_body = OrgRequest,
    responses((status = 200, body = OrgDto), (status = 400, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_org<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiJson(req): ApiJson<OrgRequest>,
) -> Result<ApiJson<OrgDto>, ApiError> {
    let name = req.name.trim().to_lowercase();
    if name.is_empty()
        || name.len() > 64
        || req.name.chars().count() > 64
        || name.chars().any(|c| c.is_whitespace() || c == '/')
    {
        return Err(ApiError::bad(
            "name: 1 to 64 characters without spaces or slashes",
        ));
    }
    let two_factor = match req.two_factor.as_deref() {
        None => TwoFactorPolicy::Optional,
        Some(v) => parse("two_factor", v)?,
    };
    let now = state.now();
    let created_at = state.store.org(&name).await?.map_or(now, |o| o.created_at);
    let org = Org {
        name: name.as_str().into(),
        display_name: req.display_name.unwrap_or_default().trim().to_string(),
        two_factor,
        app_passwords_required: req.app_passwords_required,
        created_at,
        updated_at: now,
    };
    state.store.upsert_org(&org).await?;
    Ok(ApiJson(org_dto(&org)))
}

/// Every organisation.
#[utoipa::path(get, path = "/v1/orgs", tag = "accounts",
    responses((status = 200, body = Vec<OrgDto>)), security(("api_key" = [])))]
pub async fn list_orgs<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<Vec<OrgDto>>, ApiError> {
    Ok(ApiJson(
        state.store.orgs().await?.iter().map(org_dto).collect(),
    ))
}

// -------------------------------------------------------------- accounts

/// Builds a new account from a request (validated; password not yet set).
fn new_account(req: &CreateAccountRequest, now: Timestamp) -> Result<Account, ApiError> {
    let user = user_of(&req.user)?;
    let org = req
        .org
        .as_deref()
        .map(|o| o.trim().to_lowercase())
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| DEFAULT_ORG.to_string());
    let role = match req.role.as_deref() {
        None => Role::User,
        Some(r) => parse("role", r)?,
    };
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let email = clean(&req.email);
    if let Some(e) = &email {
        if !e.contains('@') || e.chars().any(char::is_whitespace) {
            return Err(ApiError::bad(format!(
                "email: {e:?} is not an email address"
            )));
        }
    }
    Ok(Account {
        display_name: clean(&req.display_name).unwrap_or_else(|| user.to_string()),
        user,
        org: org.as_str().into(),
        email,
        phone: clean(&req.phone),
        role,
        status: AccountStatus::Active,
        status_reason: None,
        password_hash: None,
        password_changed_at: None,
        must_change_password: req.must_change_password,
        two_factor_changed_at: None,
        lang: match req.lang.as_deref() {
            None => None,
            Some(l) => Some(parse("lang", l)?),
        },
        created_at: now,
        updated_at: now,
    })
}

/// The org, created with the default policy when it does not exist yet.
async fn ensure_org<S: Backend>(
    state: &AppState<S>,
    name: &str,
    now: Timestamp,
) -> Result<Org, ApiError> {
    if let Some(o) = state.store.org(name).await? {
        return Ok(o);
    }
    let org = Org {
        name: name.into(),
        display_name: String::new(),
        two_factor: TwoFactorPolicy::Optional,
        app_passwords_required: false,
        created_at: now,
        updated_at: now,
    };
    state.store.upsert_org(&org).await?;
    Ok(org)
}

/// Creates an account, with its first password when given.
#[utoipa::path(post, path = "/v1/users", tag = "accounts", request_body = CreateAccountRequest,
    responses((status = 201, body = AccountDto), (status = 400, body = crate::error::ErrorBody),
        (status = 409, description = "The user exists", body = crate::error::ErrorBody),
        (status = 422, description = "The password breaks the policy", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_account<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    ApiJson(req): ApiJson<CreateAccountRequest>,
) -> Result<(StatusCode, ApiJson<AccountDto>), ApiError> {
    let now = state.now();
    let mut account = new_account(&req, now)?;
    let org = ensure_org(&state, &account.org, now).await?;
    let mut history = None;
    if let Some(pw) = req.password.clone() {
        check_policy(&state, &account, &org, &pw).await?;
        let hash = state.credentials.hash(pw).await?;
        account.password_hash = Some(hash.clone());
        account.password_changed_at = Some(now);
        history = Some((hash, state.credentials.settings.password.history));
    }
    let events = vec![event(
        ip,
        now,
        &account.user,
        Kind::AccountCreated,
        Actor::Admin,
        format!("org {}", account.org),
    )];
    credentials::commit(
        &state,
        AccountWrite {
            account: Some(account.clone()),
            create: true,
            remember_password: history,
            events,
            ..AccountWrite::default()
        },
    )
    .await?;
    // Its organisation's access policy applies from its first login.
    state.service.accounts_changed().await;
    Ok((StatusCode::CREATED, ApiJson(account_dto(&account, false))))
}

/// One account.
#[utoipa::path(get, path = "/v1/users/{user}", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = AccountDto), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_account<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<AccountDto>, ApiError> {
    let a = credentials::account(&state, &user_of(&user)?).await?;
    Ok(ApiJson(account_view(&state, &a).await?))
}

/// Accounts, by user name, a page at a time.
#[utoipa::path(get, path = "/v1/users", tag = "accounts", params(AccountListQuery),
    responses((status = 200, body = AccountListDto)), security(("api_key" = [])))]
pub async fn list_accounts<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(q): ApiQuery<AccountListQuery>,
) -> Result<ApiJson<AccountListDto>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit must be within 1..=1000"));
    }
    let page = state
        .accounts_page(q.org.as_deref(), q.after.as_deref(), limit)
        .await?;
    let next_after = (page.len() as u32 == limit)
        .then(|| page.last().map(|(a, _)| a.user.to_string()))
        .flatten();
    let accounts = page.iter().map(|(a, tf)| account_dto(a, *tf)).collect();
    Ok(ApiJson(AccountListDto {
        accounts,
        next_after,
    }))
}

/// Changes an account's status; `unlock` also lifts risk-control lockouts.
async fn set_status<S: Backend>(
    state: &AppState<S>,
    user: &str,
    status: AccountStatus,
    reason: Option<String>,
    kind: Kind,
    ip: Option<std::net::IpAddr>,
) -> Result<ApiJson<AccountDto>, ApiError> {
    let user = user_of(user)?;
    let a = state
        .service
        .set_status(&user, status, reason, kind, ip)
        .await?;
    Ok(ApiJson(account_view(state, &a).await?))
}

macro_rules! status_route {
    ($name:ident, $path:literal, $status:expr, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "accounts", params(UserPath),
            request_body = Option<StatusRequest>,
            responses((status = 200, body = AccountDto), (status = 404, body = crate::error::ErrorBody)),
            security(("api_key" = [])))]
        pub async fn $name<S: Backend>(
            State(state): State<Arc<AppState<S>>>,
            Path(user): Path<String>,
            RequestIp(ip): RequestIp,
            OptionalJson(body): OptionalJson<StatusRequest>,
        ) -> Result<ApiJson<AccountDto>, ApiError> {
            let reason = body.reason;
            set_status(&state, &user, $status, reason, $kind, ip).await
        }
    };
}

status_route!(
    disable_account,
    "/v1/users/{user}/disable",
    AccountStatus::Disabled,
    Kind::AccountDisabled,
    "Disables an account: every login is refused with `account_disabled`."
);
status_route!(
    enable_account,
    "/v1/users/{user}/enable",
    AccountStatus::Active,
    Kind::AccountEnabled,
    "Enables a disabled account."
);
status_route!(
    lock_account,
    "/v1/users/{user}/lock",
    AccountStatus::Locked,
    Kind::AccountLocked,
    "Locks an account: every login is refused with `account_locked`."
);
status_route!(
    unlock_account,
    "/v1/users/{user}/unlock",
    AccountStatus::Active,
    Kind::AccountUnlocked,
    "Unlocks an account and lifts its risk-control lockouts (brute force from an IP)."
);

/// Deletes an account and its credentials; its login history and security
/// events stay (the audit trail).
#[utoipa::path(delete, path = "/v1/users/{user}", tag = "accounts", params(UserPath),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_account<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = user_of(&user)?;
    let ev = event(
        ip,
        state.now(),
        &user,
        Kind::AccountDeleted,
        Actor::Admin,
        "",
    );
    if state.store.delete_account(&user, &ev).await? {
        state.service.accounts_changed().await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no account {user:?}")))
    }
}

/// Parses the CSV of a bulk import: a header row naming the columns `user`
/// (required), `org`, `display_name`, `email`, `phone`, `lang`, `role`,
/// `password`, `must_change_password`. Every error names its line.
pub fn parse_import(csv_text: &str) -> Result<Vec<CreateAccountRequest>, ApiError> {
    let mut lines = csv_text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(ApiError::bad(
            "import: empty CSV; expected a header row with `user`",
        ));
    };
    let columns: Vec<String> = split_csv(header)
        .into_iter()
        .map(|c| c.trim().to_lowercase())
        .collect();
    const KNOWN: [&str; 9] = [
        "user",
        "org",
        "display_name",
        "email",
        "phone",
        "lang",
        "role",
        "password",
        "must_change_password",
    ];
    if let Some(bad) = columns.iter().find(|c| !KNOWN.contains(&c.as_str())) {
        return Err(ApiError::bad(format!(
            "import: unknown column {bad:?}; known: {}",
            KNOWN.join(", ")
        )));
    }
    if !columns.iter().any(|c| c == "user") {
        return Err(ApiError::bad("import: the header has no `user` column"));
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let cells = split_csv(line);
        if cells.len() != columns.len() {
            return Err(ApiError::bad(format!(
                "import line {}: {} fields, the header has {}",
                i + 1,
                cells.len(),
                columns.len()
            )));
        }
        let get = |name: &str| {
            columns
                .iter()
                .position(|c| c == name)
                .map(|p| cells[p].trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let must = match get("must_change_password").as_deref() {
            None | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(v) => {
                return Err(ApiError::bad(format!(
                    "import line {}: must_change_password {v:?} is not true/false",
                    i + 1
                )))
            }
        };
        out.push(CreateAccountRequest {
            user: get("user")
                .ok_or_else(|| ApiError::bad(format!("import line {}: empty user", i + 1)))?,
            org: get("org"),
            display_name: get("display_name"),
            email: get("email"),
            phone: get("phone"),
            lang: get("lang"),
            role: get("role"),
            password: get("password"),
            must_change_password: must,
        });
    }
    Ok(out)
}

/// Splits one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// Creates many accounts from CSV (`Content-Type: text/csv`): all or none.
#[utoipa::path(post, path = "/v1/users/import", tag = "accounts",
    request_body(content = String, content_type = "text/csv",
        description = "Header `user,org,display_name,email,phone,role,password,must_change_password` (only `user` required)"),
    responses((status = 200, body = ImportResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn import_accounts<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    TextBody(body): TextBody,
) -> Result<ApiJson<ImportResponse>, ApiError> {
    let requests = parse_import(&body)?;
    let now = state.now();
    let mut accounts = Vec::with_capacity(requests.len());
    let mut events = Vec::with_capacity(requests.len());
    let mut seen = std::collections::HashSet::new();
    for (i, req) in requests.iter().enumerate() {
        let line = |e: ApiError| match e {
            ApiError::BadRequest(m) => ApiError::bad(format!("import row {}: {m}", i + 1)),
            ApiError::Refused { code, message } => ApiError::refused(
                code,
                format!("import row {} ({}): {message}", i + 1, req.user),
            ),
            other => other,
        };
        let mut account = new_account(req, now).map_err(line)?;
        if !seen.insert(account.user.clone()) {
            return Err(ApiError::bad(format!(
                "import row {}: user {} appears twice",
                i + 1,
                account.user
            )));
        }
        let org = ensure_org(&state, &account.org, now).await?;
        if let Some(pw) = req.password.clone() {
            check_policy(&state, &account, &org, &pw)
                .await
                .map_err(line)?;
            account.password_hash = Some(state.credentials.hash(pw).await?);
            account.password_changed_at = Some(now);
        }
        events.push(event(
            ip,
            now,
            &account.user,
            Kind::AccountCreated,
            Actor::Admin,
            "bulk import",
        ));
        accounts.push(account);
    }
    state.store.create_accounts(&accounts, &events).await?;
    state.service.accounts_changed().await;
    Ok(ApiJson(ImportResponse {
        created: accounts.len(),
    }))
}

// ------------------------------------------------------------- passwords

/// Checks a candidate password against the policy without setting it
/// (for a strength meter). The strength is graded on the first 32
/// characters, off the request threads; when that pool is full the answer is
/// 503 with `Retry-After`.
#[utoipa::path(post, path = "/v1/users/{user}/password/check", tag = "accounts",
    params(UserPath), request_body = PasswordCheckRequest,
    responses((status = 200, body = PasswordCheckResponse), (status = 404, body = crate::error::ErrorBody),
        (status = 503, description = "The strength-grading pool is full; retry after `Retry-After` seconds", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn check_password<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<PasswordCheckRequest>,
) -> Result<ApiJson<PasswordCheckResponse>, ApiError> {
    let a = credentials::account(&state, &user_of(&user)?).await?;
    let org = credentials::org_of(&state, &a).await?;
    Ok(ApiJson(
        match state.password_check(&a, &org, &req.password).await? {
            Ok(s) => PasswordCheckResponse {
                acceptable: true,
                violation: None,
                message: None,
                message_zh: None,
                strength: Some(strength_dto(&s)),
            },
            Err(v) => PasswordCheckResponse {
                acceptable: false,
                violation: Some(warden_service::accounts::violation_code(&v).to_string()),
                message: Some(v.message(warden_core::Lang::En)),
                message_zh: Some(v.message(warden_core::Lang::Zh)),
                strength: None,
            },
        },
    ))
}

/// Sets the login password: a user's change (with `current_password`) or an
/// admin reset. Revokes the account's authorization codes unless told
/// otherwise, as a changed password should cut off every stored client, and
/// ends the account's web sessions.
#[utoipa::path(put, path = "/v1/users/{user}/password", tag = "accounts",
    params(UserPath, SessionParam), request_body = PasswordRequest,
    responses((status = 200, body = PasswordSetResponse), (status = 404, body = crate::error::ErrorBody),
        (status = 403, description = "`step_up_required`: the account's policy needs a step-up of the session in `X-Warden-Session` within `step_up_minutes`; nothing changed", body = crate::error::ErrorBody),
        (status = 422, description = "Policy violation, reused password, or wrong current password", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn set_password<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> Result<ApiJson<PasswordSetResponse>, ApiError> {
    let user = user_of(&user)?;
    // The user's own change (an admin reset has no current password).
    if req.current_password.is_some() {
        credentials::account(&state, &user).await?;
        state
            .require_step_up(&user, session.as_deref(), "changing the password", ip)
            .await?;
    }
    let set = state
        .service
        .set_password(
            &user,
            NewPassword {
                password: req.password,
                current: req.current_password,
                must_change: req.must_change_password,
                keep_app_passwords: req.keep_app_passwords,
            },
            ip,
        )
        .await?;
    Ok(ApiJson(PasswordSetResponse {
        user: user.to_string(),
        strength: strength_dto(&set.strength),
        app_passwords_revoked: set.app_passwords_revoked,
    }))
}

// --------------------------------------------------- authorization codes

fn app_password_dto(c: &AppPassword, now: Timestamp) -> AppPasswordDto {
    AppPasswordDto {
        id: c.id,
        name: c.name.clone(),
        protocols: c.protocols.iter().map(|p| p.as_str().to_string()).collect(),
        created_at: rfc3339(c.created_at),
        last_used_at: c.last_used_at.map(rfc3339),
        last_used_ip: c.last_used_ip.map(|i| i.to_string()),
        expires_at: c.expires_at.map(rfc3339),
        revoked_at: c.revoked_at.map(rfc3339),
        live: c.is_live(now),
    }
}

/// The longest life of an authorization code, in days (100 years).
const MAX_EXPIRY_DAYS: u32 = 36_500;

/// Creates an authorization code for mail clients; the code is in this
/// answer only.
#[utoipa::path(post, path = "/v1/users/{user}/app-passwords", tag = "accounts",
    params(UserPath, SessionParam), request_body = AppPasswordRequest,
    responses((status = 201, body = AppPasswordCreated), (status = 404, body = crate::error::ErrorBody),
        (status = 403, description = "`step_up_required`: the account's policy needs a step-up of the session in `X-Warden-Session` within `step_up_minutes`; nothing changed", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_app_password<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<AppPasswordRequest>,
) -> Result<(StatusCode, ApiJson<AppPasswordCreated>), ApiError> {
    let user = user_of(&user)?;
    let account = credentials::account(&state, &user).await?;
    let name = req.name.trim();
    if name.is_empty() || req.name.chars().count() > 100 {
        return Err(ApiError::bad("name: 1 to 100 characters"));
    }
    let protocols: ProtocolSet = match &req.protocols {
        None => credentials::default_code_protocols(),
        Some(list) if list.is_empty() => return Err(ApiError::bad("protocols: at least one")),
        Some(list) => list.iter().map(|&p| p.into()).collect(),
    };
    let now = state.now();
    let expires_at = match req.expires_in_days {
        Some(d) if !(1..=MAX_EXPIRY_DAYS).contains(&d) => {
            return Err(ApiError::bad(format!(
                "expires_in_days: 1 to {MAX_EXPIRY_DAYS}"
            )))
        }
        Some(d) => Some(now.plus_secs(i64::from(d) * 86_400)),
        None => None,
    };
    state
        .require_step_up(
            &user,
            session.as_deref(),
            "creating an authorization code",
            ip,
        )
        .await?;
    let secret = codes::AppPasswordSecret::generate();
    let mut record = AppPassword {
        id: 0,
        user: account.user.clone(),
        name: name.to_string(),
        digest: secret.digest(),
        protocols,
        created_at: now,
        last_used_at: None,
        last_used_ip: None,
        expires_at,
        revoked_at: None,
    };
    let ev = event(
        ip,
        now,
        &user,
        Kind::AppPasswordCreated,
        Actor::User,
        format!("{name:?} for {protocols}"),
    );
    record.id = state.store.insert_app_password(&record, &ev).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(AppPasswordCreated {
            info: app_password_dto(&record, now),
            code: secret.display().to_string(),
        }),
    ))
}

/// The account's authorization codes (never the codes themselves).
#[utoipa::path(get, path = "/v1/users/{user}/app-passwords", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = AppPasswordList), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_app_passwords<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<AppPasswordList>, ApiError> {
    let user = user_of(&user)?;
    credentials::account(&state, &user).await?;
    let now = state.now();
    let list = state.store.app_passwords(&user).await?;
    Ok(ApiJson(AppPasswordList {
        app_passwords: list.iter().map(|c| app_password_dto(c, now)).collect(),
    }))
}

/// Revokes one authorization code.
#[utoipa::path(delete, path = "/v1/users/{user}/app-passwords/{id}", tag = "accounts",
    params(UserPath, ("id" = i64, Path, description = "The code's `id`")),
    responses((status = 200, body = RevokedResponse), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke_app_password<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((user, id)): Path<(String, String)>,
) -> Result<ApiJson<RevokedResponse>, ApiError> {
    let user = user_of(&user)?;
    let id: i64 = parse("id", &id)?;
    let now = state.now();
    let ev = event(
        ip,
        now,
        &user,
        Kind::AppPasswordRevoked,
        Actor::User,
        format!("code {id}"),
    );
    if state.store.revoke_app_password(&user, id, now, &ev).await? {
        Ok(ApiJson(RevokedResponse { revoked: 1 }))
    } else {
        Err(ApiError::NotFound(format!(
            "no live authorization code {id} for {user:?}"
        )))
    }
}

/// Revokes every authorization code of the account.
#[utoipa::path(delete, path = "/v1/users/{user}/app-passwords", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = RevokedResponse), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke_all_app_passwords<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
) -> Result<ApiJson<RevokedResponse>, ApiError> {
    let user = user_of(&user)?;
    credentials::account(&state, &user).await?;
    let now = state.now();
    let live = state.live_codes(&user, now).await?;
    credentials::commit(
        &state,
        AccountWrite {
            revoke_app_passwords_at: Some(now),
            events: vec![event(
                ip,
                now,
                &user,
                Kind::AppPasswordsRevokedAll,
                Actor::User,
                format!("{live} codes"),
            )],
            ..AccountWrite::default()
        },
    )
    .await?;
    Ok(ApiJson(RevokedResponse { revoked: live }))
}

// ------------------------------------------------------------------ TOTP

/// Starts TOTP enrolment: a new secret, its `otpauth://` URI and QR codes.
/// 2FA is on only once confirmed with a first code.
#[utoipa::path(post, path = "/v1/users/{user}/totp", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = TotpEnrolmentDto), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "2FA is already on", body = crate::error::ErrorBody),
        (status = 503, description = "The QR rendering pool is full; retry after `Retry-After` seconds", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn enrol_totp<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<TotpEnrolmentDto>, ApiError> {
    let user = user_of(&user)?;
    let account = credentials::account(&state, &user).await?;
    if state
        .store
        .totp(&user)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some())
    {
        return Err(ApiError::Conflict(
            "two-factor authentication is already on; disable it first to enrol again".into(),
        ));
    }
    let now = state.now();
    let secret = TotpSecret::generate();
    let sealed = warden_auth::seal(&state.credentials.key, secret.as_bytes(), user.as_bytes());
    let base32 = secret.to_base32().to_string();
    let totp = Totp::new(secret);
    state
        .store
        .put_totp(&TotpEnrolment {
            user: account.user.clone(),
            sealed_secret: sealed,
            created_at: now,
            confirmed_at: None,
            last_step: None,
        })
        .await?;
    let uri = totp.otpauth_uri(&state.credentials.settings.totp_issuer, &user);
    let (png, svg) = state.qr_codes(uri.clone()).await?;
    use base64::Engine as _;
    Ok(ApiJson(TotpEnrolmentDto {
        secret: base32,
        otpauth_uri: uri,
        qr_png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        qr_svg: svg,
    }))
}

fn new_recovery_codes(user: &warden_core::Name) -> (Vec<String>, Vec<RecoveryCode>) {
    let shown = codes::generate_recovery_codes(10);
    let stored = shown
        .iter()
        .filter_map(|c| codes::normalize_recovery_code(c))
        .map(|c| RecoveryCode {
            user: user.clone(),
            digest: codes::recovery_digest(&c),
            used_at: None,
        })
        .collect();
    (shown, stored)
}

/// Confirms enrolment with a first code: 2FA is on from now, and the ten
/// recovery codes are in this answer only.
#[utoipa::path(post, path = "/v1/users/{user}/totp/confirm", tag = "accounts",
    params(UserPath, SessionParam), request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesDto), (status = 404, body = crate::error::ErrorBody),
        (status = 403, description = "`step_up_required`: the account's policy needs a step-up of the session in `X-Warden-Session` within `step_up_minutes`; nothing changed", body = crate::error::ErrorBody),
        (status = 422, description = "Wrong code", body = crate::error::ErrorBody),
        (status = 429, description = "Too many wrong codes: the account's codes are refused for `Retry-After` seconds", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn confirm_totp<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    session: SessionToken,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<ApiJson<RecoveryCodesDto>, ApiError> {
    let user = user_of(&user)?;
    let mut account = credentials::account(&state, &user).await?;
    let code = req
        .code
        .as_deref()
        .ok_or_else(|| ApiError::bad("code: required"))?;
    state
        .require_step_up(
            &user,
            session.as_deref(),
            "turning on two-factor authentication",
            ip,
        )
        .await?;
    let now = state.now();
    let step = match state
        .check_code(&user, code, CodePurpose::Confirm, ip, now)
        .await?
    {
        CodeCheck::Passed { step: Some(step) } => step,
        CodeCheck::NotEnrolled => {
            return Err(ApiError::NotFound(
                "no pending TOTP enrolment; start one with POST /v1/users/{user}/totp".into(),
            ))
        }
        _ => {
            return Err(ApiError::refused(
                "invalid_code",
                "the code does not match; check the device's clock and try the current code",
            ))
        }
    };
    let (shown, stored) = new_recovery_codes(&account.user);
    account.two_factor_changed_at = Some(now);
    account.updated_at = now;
    let events = [
        event(ip, now, &user, Kind::TwoFactorEnabled, Actor::User, "TOTP"),
        event(
            ip,
            now,
            &user,
            Kind::RecoveryCodesRegenerated,
            Actor::User,
            "10 codes",
        ),
    ];
    state
        .store
        .confirm_totp(&user, now, step, &stored, &events)
        .await?;
    credentials::commit(
        &state,
        AccountWrite {
            account: Some(account),
            ..AccountWrite::default()
        },
    )
    .await?;
    Ok(ApiJson(RecoveryCodesDto {
        recovery_codes: shown,
    }))
}

/// Checks a current TOTP code of a confirmed enrolment (marking its step
/// used), or refuses.
async fn require_code<S: Backend>(
    state: &AppState<S>,
    user: &str,
    code: Option<&str>,
    ip: Option<std::net::IpAddr>,
) -> Result<(), ApiError> {
    let code = code.ok_or_else(|| ApiError::bad("code: a current TOTP code is required"))?;
    match state
        .check_code(user, code, CodePurpose::Manage, ip, state.now())
        .await?
    {
        CodeCheck::Passed { .. } => Ok(()),
        CodeCheck::NotEnrolled => Err(ApiError::NotFound(
            "two-factor authentication is not on".into(),
        )),
        CodeCheck::Wrong => Err(ApiError::refused(
            "invalid_code",
            "the code is wrong or was already used",
        )),
    }
}

/// Turns 2FA off: with a current code, or by an admin (`by_admin`).
#[utoipa::path(delete, path = "/v1/users/{user}/totp", tag = "accounts",
    params(UserPath), request_body = Option<CodeRequest>,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody),
        (status = 422, description = "Wrong code", body = crate::error::ErrorBody),
        (status = 429, description = "Too many wrong codes: the account's codes are refused for `Retry-After` seconds", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn disable_totp<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
    OptionalJson(req): OptionalJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    let user = user_of(&user)?;
    let mut account = credentials::account(&state, &user).await?;
    let actor = if req.by_admin {
        Actor::Admin
    } else {
        require_code(&state, &user, req.code.as_deref(), ip).await?;
        Actor::User
    };
    let now = state.now();
    account.two_factor_changed_at = Some(now);
    account.updated_at = now;
    credentials::commit(
        &state,
        AccountWrite {
            account: Some(account),
            remove_two_factor: true,
            events: vec![event(ip, now, &user, Kind::TwoFactorDisabled, actor, "")],
            ..AccountWrite::default()
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes (the old ones stop working), with a current code.
#[utoipa::path(post, path = "/v1/users/{user}/recovery-codes", tag = "accounts",
    params(UserPath), request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesDto),
        (status = 404, description = "No such account, or 2FA is not on", body = crate::error::ErrorBody),
        (status = 422, description = "Wrong code", body = crate::error::ErrorBody),
        (status = 429, description = "Too many wrong codes: the account's codes are refused for `Retry-After` seconds", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn regenerate_recovery_codes<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<ApiJson<RecoveryCodesDto>, ApiError> {
    let user = user_of(&user)?;
    let account = credentials::account(&state, &user).await?;
    require_code(&state, &user, req.code.as_deref(), ip).await?;
    let (shown, stored) = new_recovery_codes(&account.user);
    let ev = event(
        ip,
        state.now(),
        &user,
        Kind::RecoveryCodesRegenerated,
        Actor::User,
        "10 codes",
    );
    state
        .store
        .replace_recovery_codes(&user, &stored, &ev)
        .await?;
    Ok(ApiJson(RecoveryCodesDto {
        recovery_codes: shown,
    }))
}

/// The account's security events, newest first.
#[utoipa::path(get, path = "/v1/users/{user}/security-events", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = SecurityEventList)), security(("api_key" = [])))]
pub async fn security_events<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<SecurityEventList>, ApiError> {
    let user = user_of(&user)?;
    let list = state.store.security_events(&user, 200).await?;
    Ok(ApiJson(SecurityEventList {
        events: list
            .iter()
            .map(|e| SecurityEventDto {
                ts: rfc3339(e.ts),
                kind: e.kind.to_string(),
                actor: e.actor.clone(),
                ip: e.ip.map(|i| i.to_string()),
                detail: e.detail.clone(),
            })
            .collect(),
    }))
}

/// How far back diagnosis reads the login history.
const DIAGNOSE_DAYS: i64 = 30;

/// Explains, per client, why the user's logins fail and what to do.
#[utoipa::path(get, path = "/v1/users/{user}/diagnose", tag = "accounts",
    params(UserPath),
    responses((status = 200, body = DiagnosisDto)), security(("api_key" = [])))]
pub async fn diagnose<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<DiagnosisDto>, ApiError> {
    let user = user_of(&user)?;
    let now = state.now();
    let account = state.store.account(&user).await?;
    let codes_required = match &account {
        Some(a) => credentials::org_of(&state, a).await?.app_passwords_required,
        None => false,
    };
    let since = now.plus_secs(-DIAGNOSE_DAYS * 86_400);
    let mut events = state
        .store
        .history(
            &user,
            warden_store::HistoryQuery::latest(warden_store::MAX_HISTORY_LIMIT),
        )
        .await?;
    events.retain(|e| e.ts >= since);
    let security = state.store.security_events(&user, 200).await?;
    let attacks = state.attacks();
    let mut ips: Vec<std::net::IpAddr> = events.iter().map(|e| e.ip).collect();
    ips.sort();
    ips.dedup();
    let mut lockouts = Vec::new();
    for ip in ips {
        let signals = state.short.signals(&user, ip, now, &attacks).await;
        if let Some((n, until)) = signals.lockout {
            lockouts.push((ip, n, until));
        }
    }
    let offset = state.utc_offset();
    let mut findings = crate::diagnose::explain_with(
        &crate::diagnose::Records {
            account: account.as_ref(),
            events: &events,
            security: &security,
            codes_required,
            lockouts: &lockouts,
            utc_offset_minutes: offset,
        },
        &state.texts,
    );
    // The networks the user disowned ("no, it wasn't me"): refused for the
    // account at every login.
    state.service.load_source_blocks().await?;
    for net in state.service.blocks.of(&user) {
        findings.push(crate::diagnose::Finding {
            reason: "source_blocked".into(),
            client: format!("every client from {net}"),
            client_zh: format!("来自 {net} 的所有客户端"),
            user_agent: None,
            failures: 0,
            since: None,
            last: None,
            explanation: format!(
                "The user answered \"no, it wasn't me\" to an alert about a login from {net}: logins to this account from there are refused."
            ),
            explanation_zh: format!(
                "用户在提醒中回答来自 {net} 的登录\"不是我\"：该网段登录此帐号会被拒绝。"
            ),
            advice: format!("If the user is really there (a new home network, travel), lift the block: DELETE /v1/users/{{user}}/source-blocks?network={net}."),
            advice_zh: "如果用户确实在该网络（新的家庭网络、出差），请管理员删除该封禁。".into(),
        });
    }
    // Access denials an organisation's, group's or user's policy explains.
    state.service.load_policies().await?;
    crate::diagnose::add_policy_findings(
        &mut findings,
        &state.service.explain_policy_refusals(&user, &events),
        offset,
    );
    // Sensitive operations after a risky login: the mailbox may not be the
    // user's alone.
    findings.extend(crate::routes::operations::diagnose_findings(&state, &user, since).await?);
    // Devices waiting for approval or signed out that no recent refusal
    // explains (crates/warden-service/src/devices/).
    let sessions = state.service.device_sessions(&user).await?;
    let explained: Vec<String> = findings.iter().map(|f| f.reason.clone()).collect();
    findings.extend(
        crate::diagnose::device_findings(&sessions, offset)
            .into_iter()
            .filter(|f| !explained.contains(&f.reason)),
    );
    let account = match &account {
        Some(a) => Some(account_view(&state, a).await?),
        None => None,
    };
    Ok(ApiJson(DiagnosisDto {
        user: user.to_string(),
        account,
        findings: findings
            .into_iter()
            .map(|f| FindingDto {
                reason: f.reason,
                client: f.client,
                client_zh: f.client_zh,
                user_agent: f.user_agent,
                failures: f.failures,
                since: f.since.map(rfc3339),
                last: f.last.map(rfc3339),
                explanation: f.explanation,
                explanation_zh: f.explanation_zh,
                advice: f.advice,
                advice_zh: f.advice_zh,
            })
            .collect(),
    }))
}
