//! Liveness, readiness, Prometheus metrics and the OpenAPI document. These
//! routes need no API key.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use warden_store::Backend;

use crate::error::ApiJson;
use crate::state::AppState;
use crate::types::{HealthResponse, ReadyResponse};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = HealthResponse)))]
pub async fn healthz() -> ApiJson<HealthResponse> {
    ApiJson(HealthResponse { status: "ok" })
}

/// The service can answer: storage reachable, geo data loaded.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses((status = 200, body = ReadyResponse), (status = 503, description = "Storage unreachable", body = ReadyResponse))
)]
pub async fn readyz<S: Backend>(State(state): State<Arc<AppState<S>>>) -> impl IntoResponse {
    let storage = match state.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let stats = state.intel.describe();
    let ready = storage == "ok";
    let body = ReadyResponse {
        status: if ready { "ready" } else { "not_ready" },
        storage,
        geo_city: stats.has_city(),
        geo_asn: stats.asn.is_some(),
        profiles: state.engine.lock().stats().profiles,
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, ApiJson(body))
}

/// Prometheus text exposition.
pub async fn metrics<S: Backend>(State(state): State<Arc<AppState<S>>>) -> impl IntoResponse {
    let stats = state.engine.lock().stats();
    metrics::gauge!("warden_profiles").set(stats.profiles as f64);
    metrics::gauge!("warden_profile_bytes").set(stats.profile_bytes as f64);
    let short = state.short.stats();
    metrics::gauge!("warden_counter_keys").set(short.counter_keys as f64);
    metrics::gauge!("warden_lockouts_active").set(short.lockouts as f64);
    metrics::gauge!("warden_pending_evaluations").set(short.pending as f64);
    metrics::gauge!("warden_mail_sessions").set(short.mail_sessions as f64);
    metrics::gauge!("warden_login_tickets").set(short.tickets as f64);
    metrics::gauge!("warden_sending_accounts").set(short.senders as f64);
    let w = state.writer.stats();
    metrics::gauge!("warden_store_batches").set(w.batches as f64);
    metrics::gauge!("warden_store_failed_batches").set(w.failed_batches as f64);
    metrics::gauge!("warden_store_events_written").set(w.events as f64);
    metrics::gauge!("warden_store_queued").set(w.queued as f64);
    let a = state.config.admission.stats();
    metrics::gauge!("warden_http_requests_in_flight").set(a.in_flight as f64);
    metrics::gauge!("warden_http_requests_waiting").set(a.waiting as f64);
    metrics::gauge!("warden_http_max_in_flight").set(a.max_in_flight as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The OpenAPI 3.1 document of this API.
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
}
