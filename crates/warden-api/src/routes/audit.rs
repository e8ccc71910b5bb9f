//! The audit log: list records (filtered, newest first), the public key
//! checkpoints are verified with, and a verification of the stored log.
//! The archives are verified offline (`warden audit verify
//! --archive-dir`): they are files on the server, not the API's.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use warden_audit::AuditRecord;
use warden_service::error::shown;
use warden_store::{AuditQuery, Backend, MAX_AUDIT_PAGE};

use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::routes::alerts::user_filter;
use crate::state::AppState;
use crate::types::audit::{
    AuditDetail, AuditListParams, AuditPage, AuditPublicKeyDto, AuditRecordDto, AuditVerifyDto,
};
use crate::types::{parse_ts, rfc3339};

/// The page size when the request names none.
pub const DEFAULT_LIMIT: u32 = 50;

/// A record as the API shows it.
pub fn record_dto(r: &AuditRecord) -> AuditRecordDto {
    let e = &r.entry;
    AuditRecordDto {
        seq: r.seq,
        at: rfc3339(e.at),
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        user: e.user.clone(),
        ip: e.ip.clone(),
        subject: e.subject.clone(),
        incident: e.incident,
        detail: e
            .detail
            .iter()
            .map(|(k, v)| AuditDetail {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        prev: r.prev.to_hex(),
        hash: r.hash.to_hex(),
    }
}

/// The query the list parameters ask for.
pub fn query_of(p: &AuditListParams) -> Result<AuditQuery, ApiError> {
    let ip =
        match p.ip.as_deref() {
            Some(text) => Some(
                warden_core::normalize_ip(text.trim().parse::<IpAddr>().map_err(|_| {
                    ApiError::bad(format!("ip: {} is not an IP address", shown(text)))
                })?)
                .to_string(),
            ),
            None => None,
        };
    if let Some(k) = p.kind.as_deref() {
        if k.is_empty()
            || k.len() > 64
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
        {
            return Err(ApiError::bad(format!(
                "kind: {} is not a kind (a-z, 0-9, '.', '_'; at most 64)",
                shown(k)
            )));
        }
    }
    if let Some(a) = p.actor.as_deref() {
        if a.is_empty() || a.chars().count() > 128 {
            return Err(ApiError::bad("actor: 1 to 128 characters"));
        }
    }
    if p.incident.is_some_and(|i| i < 1) {
        return Err(ApiError::bad("incident: a positive id"));
    }
    let before_seq = p
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<u64>()
                .ok()
                .filter(|s| *s > 0 && *s <= i64::MAX as u64)
                .ok_or_else(|| {
                    ApiError::bad(format!(
                        "cursor: {} is not a cursor from next_cursor",
                        shown(c)
                    ))
                })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::bad(format!(
            "limit: must be within 1..={MAX_AUDIT_PAGE}"
        )));
    }
    Ok(AuditQuery {
        user: user_filter(p.user.as_deref())?,
        ip,
        kind: p.kind.clone(),
        actor: p.actor.clone(),
        incident: p.incident,
        from: p.from.as_deref().map(|v| parse_ts("from", v)).transpose()?,
        to: p.to.as_deref().map(|v| parse_ts("to", v)).transpose()?,
        before_seq,
        limit,
    })
}

/// Audit records, newest first, filtered by user, client address, kind
/// (or a family: `account.`), actor, incident and time; paged with
/// `cursor`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    params(AuditListParams),
    responses(
        (status = 200, description = "A page of records", body = AuditPage),
    ),
    security(("api_key" = []))
)]
pub async fn list<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    ApiQuery(p): ApiQuery<AuditListParams>,
) -> Result<ApiJson<AuditPage>, ApiError> {
    let q = query_of(&p)?;
    let records = state.service.audit_list(&q).await?;
    let next_cursor = (records.len() == q.limit as usize)
        .then(|| records.last().map(|r| r.seq.to_string()))
        .flatten();
    Ok(ApiJson(AuditPage {
        records: records.iter().map(record_dto).collect(),
        next_cursor,
    }))
}

/// The Ed25519 public key the audit log's checkpoints are signed with,
/// and its fingerprint: keep it apart from the server to verify the log,
/// its archives and evidence bundles anywhere.
#[utoipa::path(
    get,
    path = "/v1/audit/public-key",
    tag = "audit",
    responses(
        (status = 200, description = "The public key", body = AuditPublicKeyDto),
    ),
    security(("api_key" = []))
)]
pub async fn public_key<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> ApiJson<AuditPublicKeyDto> {
    let key = state.service.audit_public_key();
    ApiJson(AuditPublicKeyDto {
        public_key: key.to_hex(),
        fingerprint: key.fingerprint(),
    })
}

/// Verifies the stored audit log: every record's chain link and hash and
/// every signed checkpoint, from its first stored record to its last;
/// `ok: false` names the first record where it breaks. One verification
/// at a time (503 `busy` while one runs). The archives are verified
/// offline with `warden audit verify --archive-dir`.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "The verification's result (ok or where it breaks)", body = AuditVerifyDto),
    ),
    security(("api_key" = []))
)]
pub async fn verify<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
) -> Result<ApiJson<AuditVerifyDto>, ApiError> {
    Ok(ApiJson(match state.service.audit_verify().await? {
        Ok(v) => AuditVerifyDto {
            ok: true,
            first: v.first,
            last: v.first.map(|_| v.last),
            records: v.records,
            checkpoints: v.checkpoints,
            last_signed: v.last_signed,
            unsigned_tail: v.unsigned_tail(),
            broken_at: None,
            problem: None,
        },
        Err(b) => AuditVerifyDto {
            ok: false,
            first: None,
            last: None,
            records: 0,
            checkpoints: 0,
            last_signed: None,
            unsigned_tail: 0,
            broken_at: Some(b.seq),
            problem: Some(b.to_string()),
        },
    }))
}
