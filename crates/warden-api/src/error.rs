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
    /// `too_many_attempts` (429), `busy` (503), `unavailable` (503: the SMTP
    /// relay for a verification code), with status 403 what is missing
    /// (`step_up_required`, `session_required`), `request_timeout` (408),
    /// `overloaded` (503), `storage_unavailable`, `internal`, or with status 422 the rule that
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
    /// Not allowed as things stand (`code`: `step_up_required`,
    /// `session_required`): answered 403, nothing done.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// A service Warden depends on (the SMTP relay) failed: answered 503.
    #[error("{0}")]
    Unavailable(String),
    #[error("request body is larger than the limit (server.max_body_bytes)")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("storage is unavailable: {0}")]
    Storage(String),
    /// Too many attempts: answered 429 with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// A CPU-heavy step's pool is full: answered 503 with `Retry-After`.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u64,
    },
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
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Storage(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
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
        let retry_after = match self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            }
            | ApiError::Busy {
                retry_after_secs, ..
            } => Some(retry_after_secs.max(1)),
            ApiError::Overloaded => Some(OVERLOADED_RETRY_AFTER_SECS),
            _ => None,
        };
        // Shedding and busy pools are counted in /metrics; a line per
        // refused request would add work when there is already too much.
        if status.is_server_error() && retry_after.is_none() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// `Retry-After` of an overloaded answer, in seconds.
pub const OVERLOADED_RETRY_AFTER_SECS: u64 = 1;

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

/// A JSON request body, which is always an object, with rejections as
/// [`ApiError`]s (JSON bodies, clear messages): no `Content-Type:
/// application/json` is 415, a body over the limit 413, anything but a JSON
/// object of the request's shape 400. serde would read an array into a
/// struct by position (`["alice", "1.2.3.4", "imap"]` as an evaluation);
/// the API documents objects, so it takes nothing else.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a JSON body with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        require_object(&bytes)?;
        let Json(v) = Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(v))
    }
}

/// `application/json` or `application/<something>+json`, with parameters.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// The whole body, within the route's limit.
async fn body_bytes<S: Send + Sync>(
    req: axum::extract::Request,
    state: &S,
) -> Result<axum::body::Bytes, ApiError> {
    use axum::extract::FromRequest;
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad(format!("could not read the body: {}", e.body_text()))
            }
        })
}

/// Every request body is a JSON object: refuses an array (which serde would
/// take for a struct), a string, a number... before deserialising.
fn require_object(body: &[u8]) -> Result<(), ApiError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        None => Err(ApiError::bad("the body is empty; expected a JSON object")),
        Some(_) => Err(ApiError::bad("the body must be a JSON object")),
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

/// A JSON body that may be absent: an empty body or `null` is
/// `T::default()`, any other body must be a JSON object valid for `T` (its
/// content type is not checked).
pub struct OptionalJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        require_object(&bytes)?;
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
            ServiceError::Forbidden { code, message } => ApiError::Forbidden { code, message },
            ServiceError::Unavailable(m) => ApiError::Unavailable(m),
            ServiceError::Throttled {
                message,
                retry_after_secs,
            } => ApiError::TooManyRequests {
                message,
                retry_after_secs,
            },
            e @ ServiceError::Busy {
                retry_after_secs, ..
            } => ApiError::Busy {
                message: e.to_string(),
                retry_after_secs,
            },
        }
    }
}

/// A path parameter whose rejections are [`ApiError`]s (a JSON 400, not
/// axum's plain text). Routes import it as `Path`.
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::bad(format!("invalid path: {}", e.body_text())))
    }
}

/// A UTF-8 text body (the CSV import) within the body limit, with
/// rejections as [`ApiError`]s.
pub struct TextBody(pub String);

impl<S: Send + Sync> axum::extract::FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        String::from_utf8(bytes.to_vec())
            .map(TextBody)
            .map_err(|_| ApiError::bad("the body is not UTF-8 text"))
    }
}
