//! The credential service's parts as the account routes use them: the
//! service's own (`warden_service::credentials`) with API errors, and where
//! a request came from.

use std::net::IpAddr;

use warden_core::{Account, Org};
use warden_store::{AccountWrite, Backend};

pub use warden_service::credentials::{
    context_words, default_code_protocols, event, rehash_in_background, two_factor_required, Actor,
    AuthSettings, Credentials, DEFAULT_ORG,
};

use crate::error::ApiError;
use crate::state::AppState;

/// Where a request came from, for security events: the `X-Client-IP` header
/// when the front end acts for a user (it knows the user's address), else
/// the connection's peer address.
#[derive(Debug, Clone, Copy)]
pub struct RequestIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(v) = parts.headers.get("x-client-ip") {
            let text = v.to_str().unwrap_or_default().trim();
            return text
                .parse::<IpAddr>()
                .map(|ip| RequestIp(Some(warden_core::normalize_ip(ip))))
                .map_err(|_| {
                    ApiError::bad(format!(
                        "X-Client-IP: {} is not an IP address",
                        warden_service::error::shown(text)
                    ))
                });
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| warden_core::normalize_ip(c.0.ip()));
        Ok(RequestIp(peer))
    }
}

/// The account, or 404.
pub async fn account<S: Backend>(state: &AppState<S>, user: &str) -> Result<Account, ApiError> {
    Ok(state.service.account(user).await?)
}

/// The account's organisation; a missing one reads as the default policy.
pub async fn org_of<S: Backend>(state: &AppState<S>, account: &Account) -> Result<Org, ApiError> {
    Ok(state.service.org_of(account).await?)
}

/// Writes one account change (and publishes its security events).
pub async fn commit<S: Backend>(state: &AppState<S>, write: AccountWrite) -> Result<(), ApiError> {
    Ok(state.service.commit(write).await?)
}
