//! API errors: every failure answers a JSON body
//! `{"error": {"code": "...", "message": "..."}}` with a fitting status.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `bad_request`, `unauthorized`,
    /// `not_found`, `conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `request_timeout`, `overloaded`, `storage_unavailable`, `internal`, or with status 422 the rule that
    /// refused the request (`password_too_short`, `invalid_code`, ...).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    /// The thing to create exists already.
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but refused by a rule (`code` says which: a password
    /// below the policy, a wrong TOTP code, ...).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("request body is larger than the limit (server.max_body_bytes)")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("storage is unavailable: {0}")]
    Storage(String),
    /// The request's body did not arrive within `server.body_timeout_secs`.
    #[error("the request body did not arrive in time (server.body_timeout_secs)")]
    RequestTimeout,
    /// Every slot for requests is taken (`server.max_in_flight`): retry.
    #[error("Warden is overloaded: retry after {OVERLOADED_RETRY_AFTER_SECS} s")]
    Overloaded,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Refused { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Storage(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Refused {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // Shedding is counted in /metrics; a line per shed request would
        // add work when there is already too much.
        let overloaded = matches!(self, ApiError::Overloaded);
        if status.is_server_error() && !overloaded {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if overloaded {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(OVERLOADED_RETRY_AFTER_SECS),
            );
        }
        resp
    }
}

/// `Retry-After` of an overloaded answer, in seconds.
pub const OVERLOADED_RETRY_AFTER_SECS: u32 = 1;

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "expected a JSON body with `Content-Type: application/json`".into(),
            ),
            JsonRejection::BytesRejection(b) => {
                if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad(format!("could not read the body: {}", b.body_text()))
                }
            }
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad(format!("malformed JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => {
                ApiError::bad(format!("invalid request: {}", e.body_text()))
            }
            other => ApiError::bad(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad(format!("invalid query string: {}", r.body_text()))
    }
}

impl From<warden_store::StoreError> for ApiError {
    fn from(e: warden_store::StoreError) -> Self {
        use warden_store::StoreError;
        match e {
            StoreError::Conflict { .. } => ApiError::Conflict(e.to_string()),
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            e => ApiError::Storage(e.to_string()),
        }
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s (JSON bodies, clear messages).
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(v) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// As a response (every route's JSON answer), `application/json` serialised
/// into a buffer sized for a typical answer: axum's `Json` starts at 128
/// bytes and grows it three times for an evaluation's kilobyte. Error bodies
/// keep axum's `Json`: they are small, and this one's own failure is an
/// error.
impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(1024);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                ApiError::Internal(format!("cannot serialise the response: {e}")).into_response()
            }
        }
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// A JSON body that may be absent: an empty body is `T::default()`, any
/// other body must be valid JSON for `T`.
pub struct OptionalJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad(format!("could not read the body: {}", e.body_text()))
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| ApiError::bad(format!("invalid request: {e}")))
    }
}

impl From<warden_service::ServiceError> for ApiError {
    fn from(e: warden_service::ServiceError) -> Self {
        use warden_service::ServiceError;
        match e {
            ServiceError::Invalid(m) => ApiError::BadRequest(m),
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Refused { code, message } => ApiError::Refused { code, message },
            ServiceError::Store(e) => e.into(),
            ServiceError::Internal(m) => ApiError::Internal(m),
        }
    }
}
