//! API-key authentication for `/v1` routes: `Authorization: Bearer <key>`
//! or `X-API-Key: <key>`, compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use warden_store::Backend;

use crate::error::ApiError;
use crate::state::AppState;

/// Extracts the key a request presents, if any.
pub fn presented_key(req: &Request) -> Option<&str> {
    let h = req.headers();
    if let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(k) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(k.trim());
        }
    }
    h.get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Middleware: rejects requests without a valid key with 401.
pub async fn require_key<S: Backend>(
    State(state): State<Arc<AppState<S>>>,
    req: Request,
    next: Next,
) -> Response {
    match presented_key(&req) {
        Some(k) if state.key_ok(k) => next.run(req).await,
        _ => {
            state
                .events
                .publish(warden_service::DomainEvent::Unauthorized {
                    path: req.uri().path(),
                });
            ApiError::Unauthorized.into_response()
        }
    }
}
