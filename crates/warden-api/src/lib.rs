//! Warden's HTTP API (axum): JSON under `/v1`, protected by an API key;
//! `/healthz`, `/readyz`, `/metrics` and `/v1/openapi.json` open.
//!
//! The layer translates JSON into the core's types ([`types`]), asks the
//! engine, and hands events and profile snapshots to the store's
//! group-commit writer. It owns no risk logic.

pub mod auth;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod tasks;
pub mod types;

use std::sync::{Arc, OnceLock};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use warden_store::Store;

pub use error::ApiError;
pub use state::{ApiConfig, AppState, SystemClock};

/// The process-wide Prometheus recorder (installed once, shared by every
/// router built in this process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; ours then stays local.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Builds the router over shared state.
pub fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    use routes::{geo, health, login, users};
    let limit = state.config.max_body_bytes;
    let v1 = Router::new()
        .route("/evaluate", post(login::evaluate::<S>))
        .route("/report", post(login::report::<S>))
        .route("/users/{user}/history", get(users::history::<S>))
        .route("/users/{user}/profile", get(users::profile::<S>))
        .route(
            "/geo/corrections",
            get(geo::list_corrections::<S>)
                .post(geo::put_correction::<S>)
                .delete(geo::delete_correction::<S>),
        )
        .route("/geo/{ip}", get(geo::lookup::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key::<S>,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz::<S>))
        .route("/metrics", get(health::metrics::<S>))
        .route("/v1/openapi.json", get(health::openapi))
        .nest("/v1", v1)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
