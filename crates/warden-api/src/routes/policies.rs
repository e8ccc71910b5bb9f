//! Access policies and groups for admins: `/v1/policies` (list, read, set,
//! remove, history, restore, dry run), `/v1/groups` (list, read),
//! `/v1/users/{user}/groups` (set a user's groups) and
//! `/v1/users/{user}/policy` (the effective policy with its sources).
//! Parse, call the service, answer.

use std::sync::Arc;

use axum::extract::State;
use warden_core::scoped::Scope;
use warden_service::policies::admin::ChangedBy;
use warden_store::Backend;

use crate::credentials::{Actor, RequestIp};
use crate::error::ApiPath as Path;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::types::policies::{
    DryRunRequest, DryRunResponse, EffectivePolicyResponse, EffectiveRuleDto, GroupDto,
    GroupSummaryDto, GroupsRequest, GroupsResponse, HistoryParams, PoliciesResponse, PolicyDto,
    PolicyHistoryResponse, PolicyRequest, RemoveParams, RestoreRequest, UserGroupsResponse,
};
use crate::types::schema::UserPath;

fn scope_of(s: &str) -> Result<Scope, ApiError> {
    s.parse().map_err(|e| ApiError::bad(format!("scope: {e}")))
}

fn by(ip: Option<std::net::IpAddr>) -> ChangedBy<'static> {
    ChangedBy {
        actor: Actor::Admin.as_str(),
        ip,
    }
}

/// The current policies of every organisation, group and user.
#[utoipa::path(get, path = "/v1/policies", tag = "policies",
    responses((status = 200, body = PoliciesResponse)),
    security(("api_key" = [])))]
pub async fn list<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<PoliciesResponse>, ApiError> {
    let policies = state.service.list_policies().await?;
    Ok(ApiJson(PoliciesResponse {
        policies: policies.iter().map(|v| PolicyDto::of(v)).collect(),
    }))
}

/// The current policy of one organisation, group or user.
#[utoipa::path(get, path = "/v1/policies/{scope}/{target}", tag = "policies",
    params(("scope" = String, Path, description = "`org`, `group` or `user`", pattern = "^(org|group|user)$"),
        ("target" = String, Path, description = "The organisation's, group's or user's name", max_length = 320)),
    responses((status = 200, body = PolicyDto),
        (status = 404, description = "No such organisation, or no policy", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path((scope, target)): Path<(String, String)>,
) -> Result<ApiJson<PolicyDto>, ApiError> {
    let v = state.service.policy(scope_of(&scope)?, &target).await?;
    Ok(ApiJson(PolicyDto::of(&v)))
}

/// Sets the policy of an organisation, a group or a user: a new version
/// (who, when, from where, why), in force at the next login. Fields left
/// out are inherited. A bad value is a 400 naming it; nothing changes.
#[utoipa::path(put, path = "/v1/policies/{scope}/{target}", tag = "policies",
    params(("scope" = String, Path, description = "`org`, `group` or `user`", pattern = "^(org|group|user)$"),
        ("target" = String, Path, description = "The organisation's, group's or user's name", max_length = 320)),
    request_body = PolicyRequest,
    responses((status = 200, description = "The new version", body = PolicyDto),
        (status = 404, description = "No such organisation", body = crate::error::ErrorBody),
        (status = 422, description = "`policy_changed`: another change took the version number; `too_many_policies`", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn put<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((scope, target)): Path<(String, String)>,
    ApiJson(req): ApiJson<PolicyRequest>,
) -> Result<ApiJson<PolicyDto>, ApiError> {
    let scope = scope_of(&scope)?;
    let input = req.parse()?;
    let v = state
        .service
        .set_policy(scope, &target, &input, by(ip))
        .await?;
    Ok(ApiJson(PolicyDto::of(&v)))
}

/// Removes a policy: a version that removes it (kept in the history); the
/// scope inherits everything again.
#[utoipa::path(delete, path = "/v1/policies/{scope}/{target}", tag = "policies",
    params(("scope" = String, Path, description = "`org`, `group` or `user`", pattern = "^(org|group|user)$"),
        ("target" = String, Path, description = "The organisation's, group's or user's name", max_length = 320),
        RemoveParams),
    responses((status = 200, description = "The removing version", body = PolicyDto),
        (status = 404, description = "No such organisation, or no policy", body = crate::error::ErrorBody),
        (status = 422, description = "`policy_changed`: another change came first", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn remove<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((scope, target)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<RemoveParams>,
) -> Result<ApiJson<PolicyDto>, ApiError> {
    let v = state
        .service
        .remove_policy(scope_of(&scope)?, &target, q.comment.as_deref(), by(ip))
        .await?;
    Ok(ApiJson(PolicyDto::of(&v)))
}

/// A policy's versions, newest first: who changed what, when, from where.
#[utoipa::path(get, path = "/v1/policies/{scope}/{target}/history", tag = "policies",
    params(("scope" = String, Path, description = "`org`, `group` or `user`", pattern = "^(org|group|user)$"),
        ("target" = String, Path, description = "The organisation's, group's or user's name", max_length = 320),
        HistoryParams),
    responses((status = 200, body = PolicyHistoryResponse),
        (status = 404, description = "No such organisation", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn history<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path((scope, target)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<ApiJson<PolicyHistoryResponse>, ApiError> {
    let versions = state
        .service
        .policy_history(scope_of(&scope)?, &target, q.limit.unwrap_or(50))
        .await?;
    Ok(ApiJson(PolicyHistoryResponse {
        versions: versions.iter().map(PolicyDto::of).collect(),
    }))
}

/// Restores an old version: a new version with its name, mode and rules.
#[utoipa::path(post, path = "/v1/policies/{scope}/{target}/restore", tag = "policies",
    params(("scope" = String, Path, description = "`org`, `group` or `user`", pattern = "^(org|group|user)$"),
        ("target" = String, Path, description = "The organisation's, group's or user's name", max_length = 320)),
    request_body = RestoreRequest,
    responses((status = 200, description = "The new version", body = PolicyDto),
        (status = 404, description = "No such organisation or version", body = crate::error::ErrorBody),
        (status = 422, description = "`policy_changed`: another change came first; `too_many_policies`", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn restore<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path((scope, target)): Path<(String, String)>,
    ApiJson(req): ApiJson<RestoreRequest>,
) -> Result<ApiJson<PolicyDto>, ApiError> {
    let v = state
        .service
        .restore_policy(
            scope_of(&scope)?,
            &target,
            req.version,
            req.comment.as_deref(),
            by(ip),
        )
        .await?;
    Ok(ApiJson(PolicyDto::of(&v)))
}

/// Dry run: what a policy (the one sent, else the scope's stored one)
/// would have refused over the last days of login history (the newest
/// 200,000 logins of the window at most). Changes nothing.
#[utoipa::path(post, path = "/v1/policies/{scope}/{target}/dry-run", tag = "policies",
    params(("scope" = String, Path, description = "`org`, `group` or `user`", pattern = "^(org|group|user)$"),
        ("target" = String, Path, description = "The organisation's, group's or user's name", max_length = 320)),
    request_body = DryRunRequest,
    responses((status = 200, body = DryRunResponse),
        (status = 404, description = "No such organisation, or no policy stored and none sent", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn dry_run<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path((scope, target)): Path<(String, String)>,
    ApiJson(req): ApiJson<DryRunRequest>,
) -> Result<ApiJson<DryRunResponse>, ApiError> {
    let scope = scope_of(&scope)?;
    let candidate = req.policy.as_ref().map(PolicyRequest::parse).transpose()?;
    let report = state
        .service
        .dry_run(scope, &target, candidate.as_ref(), req.days.unwrap_or(30))
        .await?;
    Ok(ApiJson(DryRunResponse::of(&report)))
}

/// Every group (with members or a policy).
#[utoipa::path(get, path = "/v1/groups", tag = "policies",
    responses((status = 200, body = GroupsResponse)),
    security(("api_key" = [])))]
pub async fn groups<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<GroupsResponse>, ApiError> {
    let groups = state.service.groups().await?;
    Ok(ApiJson(GroupsResponse {
        groups: groups
            .iter()
            .map(|g| GroupSummaryDto {
                name: g.name.to_string(),
                members: g.members.len(),
                policy: g.policy.as_ref().map(|p| p.name.clone()),
            })
            .collect(),
    }))
}

/// One group: its members and its policy.
#[utoipa::path(get, path = "/v1/groups/{group}", tag = "policies",
    params(("group" = String, Path, description = "The group's name", max_length = 64)),
    responses((status = 200, body = GroupDto),
        (status = 404, description = "No such group", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn group<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(name): Path<String>,
) -> Result<ApiJson<GroupDto>, ApiError> {
    let g = state.service.group(&name).await?;
    Ok(ApiJson(GroupDto {
        name: g.name.to_string(),
        members: g.members.iter().map(ToString::to_string).collect(),
        policy: g.policy.as_ref().map(|p| PolicyDto::of(p)),
    }))
}

/// Sets a user's groups (replacing the old ones); their policies apply
/// from the next login.
#[utoipa::path(put, path = "/v1/users/{user}/groups", tag = "policies",
    params(UserPath),
    request_body = GroupsRequest,
    responses((status = 200, description = "The groups as stored", body = UserGroupsResponse)),
    security(("api_key" = [])))]
pub async fn set_user_groups<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    RequestIp(ip): RequestIp,
    Path(user): Path<String>,
    ApiJson(req): ApiJson<GroupsRequest>,
) -> Result<ApiJson<UserGroupsResponse>, ApiError> {
    let groups = state
        .service
        .set_user_groups(&user, &req.groups, by(ip))
        .await?;
    let user =
        warden_core::normalize_user(&user).map_err(|e| ApiError::bad(format!("user: {e}")))?;
    Ok(ApiJson(UserGroupsResponse {
        user: user.to_string(),
        groups: groups.iter().map(ToString::to_string).collect(),
    }))
}

/// A user's effective policy: the protection settings and access rules in
/// force, each rule with the policy it comes from.
#[utoipa::path(get, path = "/v1/users/{user}/policy", tag = "policies",
    params(UserPath),
    responses((status = 200, body = EffectivePolicyResponse)),
    security(("api_key" = [])))]
pub async fn effective<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(user): Path<String>,
) -> Result<ApiJson<EffectivePolicyResponse>, ApiError> {
    let e = state.service.effective_policy(&user).await?;
    let user =
        warden_core::normalize_user(&user).map_err(|e| ApiError::bad(format!("user: {e}")))?;
    Ok(ApiJson(EffectivePolicyResponse {
        user: user.to_string(),
        org: e.org.map(|o| o.to_string()),
        groups: e.groups.iter().map(ToString::to_string).collect(),
        login_protection: e.policy.login_protection.as_str().to_string(),
        new_device_approval: e.policy.new_device_approval,
        step_up_minutes: e.policy.step_up_minutes,
        rules: e.policy.access.iter().map(EffectiveRuleDto::of).collect(),
        layers: e.layers.iter().map(|v| PolicyDto::of(v)).collect(),
    }))
}

/// The routes of this module, merged into `/v1` (inside the key check).
pub fn routes<S: Backend>() -> axum::Router<Arc<AppState<S>>> {
    use axum::routing::{get as g, post, put as p};
    axum::Router::new()
        .route("/policies", g(list::<S>))
        .route(
            "/policies/{scope}/{target}",
            g(get::<S>).put(put::<S>).delete(remove::<S>),
        )
        .route("/policies/{scope}/{target}/history", g(history::<S>))
        .route("/policies/{scope}/{target}/restore", post(restore::<S>))
        .route("/policies/{scope}/{target}/dry-run", post(dry_run::<S>))
        .route("/groups", g(groups::<S>))
        .route("/groups/{group}", g(group::<S>))
        .route("/users/{user}/groups", p(set_user_groups::<S>))
        .route("/users/{user}/policy", g(effective::<S>))
}
