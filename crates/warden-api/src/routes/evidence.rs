//! An incident's evidence: `GET /v1/incidents/{id}/evidence` (the signed
//! bundle file, a download) and `GET /v1/incidents/{id}/evidence.html`
//! (the printable report of the same bundle). Both gather through
//! `Service::evidence_bundle`, which forces an audit checkpoint over the
//! latest record; the file's body is encoded here (JSON is this crate's)
//! and signed by the service with the audit key.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warden_store::Backend;

use crate::error::{ApiError, ApiQuery};
use crate::evidence::{encode_body, html, write_file};
use crate::state::AppState;

/// The longest `by`.
pub const MAX_BY_CHARS: usize = 120;

/// The routes, to merge under `/v1`.
pub fn routes<S: Backend>() -> Router<Arc<AppState<S>>> {
    Router::new()
        .route("/incidents/{id}/evidence", get(file::<S>))
        .route("/incidents/{id}/evidence.html", get(page::<S>))
}

/// Who exports the evidence.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceParams {
    /// Who exports it, recorded in the bundle (`admin` when absent; at
    /// most 120 characters, one line).
    #[param(max_length = 120)]
    pub by: Option<String>,
}

/// The signed evidence bundle file (its schema: the envelope; the body is
/// described in the README's "Evidence bundle" section).
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceFileDto {
    /// `warden-evidence-v1`.
    #[schema(example = "warden-evidence-v1")]
    pub format: String,
    /// The bundle: version, generated_at, instance (public_key,
    /// fingerprint), incident, timeline, logins, alerts, actions, excerpt.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// Ed25519 over the exact bytes of `body`, 128 hex digits.
    pub signature: String,
    /// The audit public key, 64 hex digits.
    pub public_key: String,
}

fn parse_id(v: &str) -> Result<i64, ApiError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad(format!("id: {v:?} is not a positive integer")))
}

fn by_of(p: EvidenceParams) -> Result<String, ApiError> {
    match p.by {
        None => Ok("admin".to_owned()),
        Some(by) => {
            let clean = warden_core::text::one_line(&by, MAX_BY_CHARS);
            if by.chars().count() > MAX_BY_CHARS || clean.trim().is_empty() {
                Err(ApiError::bad(format!("by: 1 to {MAX_BY_CHARS} characters")))
            } else {
                Ok(clean.trim().to_owned())
            }
        }
    }
}

fn headers(r: &mut Response, content_type: &'static str) {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The incident's evidence bundle, signed: download it, keep it, verify
/// it anywhere with `warden audit verify --bundle FILE`.
#[utoipa::path(get, path = "/v1/incidents/{id}/evidence", tag = "incidents",
    params(("id" = i64, Path, minimum = 1, description = "The incident's id"), EvidenceParams),
    responses(
        (status = 200, description = "The signed bundle file (compact JSON, `Content-Disposition: attachment`)", body = EvidenceFileDto),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
        (status = 422, description = "`evidence_too_large`: the audit excerpt would exceed 200,000 records", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn file<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<EvidenceParams>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let by = by_of(p)?;
    let signed = state.service.signed_evidence(id, &by, encode_body).await?;
    let bytes = write_file(&signed.body, &signed.signature, &signed.public_key);
    let mut r = bytes.into_response();
    headers(&mut r, "application/json");
    let disposition = format!("attachment; filename=\"incident-{id}-evidence.json\"");
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).expect("a digits-only file name is a valid header"),
    );
    Ok(r)
}

/// The incident's evidence as a printable HTML report (the same bundle as
/// the file; the file is the evidence).
#[utoipa::path(get, path = "/v1/incidents/{id}/evidence.html", tag = "incidents",
    params(("id" = i64, Path, minimum = 1, description = "The incident's id"), EvidenceParams),
    responses(
        (status = 200, description = "One self-contained HTML page (inline CSS, no script, no external request)", content_type = "text/html", body = String),
        (status = 404, description = "No such incident", body = crate::error::ErrorBody),
        (status = 422, description = "`evidence_too_large`: the audit excerpt would exceed 200,000 records", body = crate::error::ErrorBody),
    ),
    security(("api_key" = [])))]
pub async fn page<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<EvidenceParams>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let by = by_of(p)?;
    let bundle = state.service.evidence_bundle(id, &by).await?;
    let body = state
        .credentials
        .cpu
        .run(move || html::render(&bundle))
        .await?
        .map_err(|e| ApiError::Internal(format!("the evidence report did not render: {e}")))?;
    let mut r = body.into_response();
    headers(&mut r, "text/html; charset=utf-8");
    let h = r.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    Ok(r)
}
