//! API-key authentication for `/v1` routes: `Authorization: Bearer <key>`
//! or `X-API-Key: <key>`, compared in constant time; every key a request
//! presents must be right.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use warden_store::Backend;

use crate::error::ApiError;
use crate::state::AppState;

/// The keys a request presents: the bearer token of `Authorization` and
/// `X-API-Key`, each when present (an `Authorization` of another scheme is
/// no key).
pub fn presented_keys(req: &Request) -> [Option<&str>; 2] {
    let h = req.headers();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .map(str::trim)
        });
    let header_key = h
        .get("x-api-key")
        .map(|v| v.to_str().map(str::trim).unwrap_or(""));
    [bearer, header_key]
}

/// Middleware: rejects with 401 a request that presents no key, or any
/// wrong one (a wrong key beside a right one is not ignored).
pub async fn require_key<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let keys = presented_keys(&req);
    let any = keys.iter().any(Option::is_some);
    if any && keys.iter().flatten().all(|k| state.key_ok(k)) {
        return next.run(req).await;
    }
    state
        .events
        .publish(warden_service::DomainEvent::Unauthorized {
            path: req.uri().path(),
        });
    ApiError::Unauthorized.into_response()
}
