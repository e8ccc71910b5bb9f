//! Warden's HTTP API (axum): JSON under `/v1`, protected by an API key;
//! `/healthz`, `/readyz`, `/metrics` and `/v1/openapi.json` open.
//!
//! The adapters of Warden's one login pipeline (`warden_service`): the HTTP
//! routes translate JSON into the core's types ([`types`]), call the service
//! and answer; [`mail`] holds the mail servers' adapters (Dovecot's auth
//! policy route, the Postfix policy server, the checkpassword protocol).
//! This crate owns no risk or credential logic.

pub mod answer_page;
pub mod auth;
pub mod credentials;
pub mod diagnose;
pub mod error;
pub mod evidence;
pub mod mail;
pub mod openapi;
pub mod overload;
pub mod report_page;
pub mod routes;
pub mod server;
pub mod state;
pub mod tasks;
pub mod types;

use std::sync::{Arc, OnceLock};

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use warden_store::Backend;

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

/// The body limit of Dovecot's policy route.
pub const DOVECOT_BODY_LIMIT: usize = 1 << 20;

/// Builds the router over shared state.
pub fn router<S: Backend>(state: Arc<AppState<S>>) -> Router {
    use mail::dovecot;
    use routes::{
        accounts, alerts, answers, auth as authn, geo, health, login, notify, operations, sessions,
        stepup, users,
    };
    let limit = state.config.max_body_bytes;
    let v1 = Router::new()
        .route("/evaluate", post(login::evaluate::<S>))
        .route("/report", post(login::report::<S>))
        .route("/auth/verify", post(authn::verify::<S>))
        .route("/auth/login", post(authn::login::<S>))
        .route("/auth/session", post(authn::session::<S>))
        .route("/auth/step-up/start", post(stepup::start::<S>))
        .route("/auth/step-up", post(stepup::step_up::<S>))
        .route("/auth/refused-sign-ins", get(stepup::refused::<S>))
        .route(
            "/auth/refused-sign-ins/{id}/confirm",
            post(stepup::confirm::<S>),
        )
        .route(
            "/users/{user}/security-contact",
            put(stepup::security_contact::<S>),
        )
        .route(
            "/users/{user}/refused-sign-ins",
            get(stepup::admin_refused::<S>),
        )
        .route(
            "/users/{user}/refused-sign-ins/{id}/confirm",
            post(stepup::admin_confirm::<S>),
        )
        // Dovecot sends the client's IMAP ID, which the client chooses: a
        // body over the API's limit would be an error, and Dovecot lets a
        // login through unchecked when its policy server errs. This route
        // takes up to 1 MiB and cuts the ID itself.
        .route(
            "/dovecot/policy",
            post(dovecot::policy::<S>).layer(DefaultBodyLimit::max(limit.max(DOVECOT_BODY_LIMIT))),
        )
        .route(
            "/orgs",
            get(accounts::list_orgs::<S>).post(accounts::put_org::<S>),
        )
        .route(
            "/users",
            get(accounts::list_accounts::<S>).post(accounts::create_account::<S>),
        )
        .route("/users/import", post(accounts::import_accounts::<S>))
        .route(
            "/users/{user}",
            get(accounts::get_account::<S>).delete(accounts::delete_account::<S>),
        )
        .route(
            "/users/{user}/disable",
            post(accounts::disable_account::<S>),
        )
        .route("/users/{user}/enable", post(accounts::enable_account::<S>))
        .route("/users/{user}/lock", post(accounts::lock_account::<S>))
        .route("/users/{user}/unlock", post(accounts::unlock_account::<S>))
        .route("/users/{user}/password", put(accounts::set_password::<S>))
        .route(
            "/users/{user}/password/check",
            post(accounts::check_password::<S>),
        )
        .route(
            "/users/{user}/app-passwords",
            get(accounts::list_app_passwords::<S>)
                .post(accounts::create_app_password::<S>)
                .delete(accounts::revoke_all_app_passwords::<S>),
        )
        .route(
            "/users/{user}/app-passwords/{id}",
            delete(accounts::revoke_app_password::<S>),
        )
        .route(
            "/users/{user}/totp",
            post(accounts::enrol_totp::<S>).delete(accounts::disable_totp::<S>),
        )
        .route(
            "/users/{user}/totp/confirm",
            post(accounts::confirm_totp::<S>),
        )
        .route(
            "/users/{user}/recovery-codes",
            post(accounts::regenerate_recovery_codes::<S>),
        )
        .route(
            "/users/{user}/security-events",
            get(accounts::security_events::<S>),
        )
        .route("/users/{user}/diagnose", get(accounts::diagnose::<S>))
        .route(
            "/users/{user}/source-blocks",
            get(answers::list_blocks::<S>).delete(answers::lift_block::<S>),
        )
        .route("/users/{user}/sessions", get(sessions::list::<S>))
        .route("/users/{user}/sessions/{id}", delete(sessions::forget::<S>))
        .route(
            "/users/{user}/sessions/{id}/revoke",
            post(sessions::revoke::<S>),
        )
        .route(
            "/users/{user}/sessions/{id}/approve",
            post(sessions::approve::<S>),
        )
        .route(
            "/users/{user}/sessions/{id}/trust",
            post(sessions::trust::<S>),
        )
        .route("/users/{user}/logout-all", post(sessions::logout_all::<S>))
        .route("/users/{user}/history", get(users::history::<S>))
        .route("/users/{user}/profile", get(users::profile::<S>))
        .route(
            "/geo/corrections",
            get(geo::list_corrections::<S>)
                .post(geo::put_correction::<S>)
                .delete(geo::delete_correction::<S>),
        )
        .route("/geo/corrections/queue", get(answers::list_queue::<S>))
        .route(
            "/geo/corrections/queue/{id}/accept",
            post(answers::accept::<S>),
        )
        .route(
            "/geo/corrections/queue/{id}/reject",
            post(answers::reject::<S>),
        )
        .route("/alerts/{id}/answer", post(answers::answer::<S>))
        .route("/alerts/{id}/review", get(answers::review::<S>))
        .route("/geo/{ip}", get(geo::lookup::<S>))
        .route("/notify/channels", get(notify::list_channels::<S>))
        .route(
            "/notify/channels/{name}/test",
            post(notify::test_channel::<S>),
        )
        .route("/templates", get(notify::list_templates::<S>))
        .route(
            "/templates/{name}/{lang}",
            get(notify::get_template::<S>)
                .put(notify::put_template::<S>)
                .delete(notify::reset_template::<S>),
        )
        .route(
            "/templates/{name}/{lang}/preview",
            get(notify::preview_template::<S>),
        )
        .route("/deliveries", get(notify::list_deliveries::<S>))
        .route("/alerts", get(alerts::list::<S>))
        .route("/alerts/{id}", get(alerts::get::<S>))
        .route("/alerts/{id}/ack", post(alerts::ack::<S>))
        .route("/alerts/{id}/close", post(alerts::close::<S>))
        .route("/alerts/{id}/resend", post(alerts::resend::<S>))
        .merge(routes::policies::routes::<S>())
        .merge(routes::evidence::routes::<S>())
        .route(
            "/operations",
            get(operations::list::<S>).post(operations::report::<S>),
        )
        .route("/operations/{id}", get(operations::get::<S>))
        .route("/reports/security", get(report_page::security::<S>))
        .route("/audit", get(routes::audit::list::<S>))
        .route("/audit/public-key", get(routes::audit::public_key::<S>))
        .route("/audit/verify", get(routes::audit::verify::<S>))
        .merge(routes::incidents::routes::<S>())
        // Inside the key check: a request without a valid key takes no slot.
        .route_layer(axum::middleware::from_fn_with_state(
            overload::Gate {
                admission: state.config.admission.clone(),
                body_limit: limit,
            },
            overload::admit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key::<S>,
        ));
    // The "was this you?" page: outside /v1 and the API key (the signed
    // token is the credential), small bodies, through the admission gate.
    let answer = Router::new()
        .route(
            "/answer/{token}",
            get(answer_page::show::<S>).post(answer_page::act::<S>),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            overload::Gate {
                admission: state.config.admission.clone(),
                body_limit: answer_page::MAX_FORM_BYTES,
            },
            overload::admit,
        ))
        .layer(DefaultBodyLimit::max(answer_page::MAX_FORM_BYTES));
    Router::new()
        .merge(answer)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz::<S>))
        .route("/metrics", get(health::metrics::<S>))
        .route("/v1/openapi.json", get(health::openapi))
        .nest("/v1", v1)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
