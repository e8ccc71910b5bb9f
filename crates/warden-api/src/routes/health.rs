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
        profiles: state.engine.stats().profiles(),
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
    // Neither route takes the engine's lock: anyone may call them at any
    // rate, and every login decision needs that lock.
    let engine = state.engine.stats();
    metrics::gauge!("warden_profiles").set(engine.profiles() as f64);
    metrics::gauge!("warden_profile_bytes").set(engine.profile_bytes() as f64);
    metrics::gauge!("warden_places").set(engine.places() as f64);
    warden_service::telemetry::short_lived_gauges(&state.short.stats());
    for pool in [&state.credentials.hashing, &state.credentials.cpu] {
        let p = pool.stats();
        let name = pool.name();
        metrics::gauge!("warden_cpu_pool_running", "pool" => name).set(p.running as f64);
        metrics::gauge!("warden_cpu_pool_waiting", "pool" => name).set(p.waiting as f64);
        metrics::gauge!("warden_cpu_pool_rejected", "pool" => name).set(p.rejected as f64);
    }
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
