//! Overload: a bound on the requests under `/v1` handled at once, with a
//! short bounded wait, so that beyond its capacity Warden answers at once
//! with `503` and `Retry-After` instead of queueing without limit.
//!
//! Requests are classed by what a refusal costs:
//!
//! - **mail** — Dovecot's policy and `/v1/auth/verify` (the Lua passdb and
//!   `warden checkpassword`): never limited or shed. Dovecot lets a login
//!   through unchecked when its policy server errs, and a passdb failure
//!   refuses a user who typed the right password; their rate is bounded by
//!   the mail server's own authentication processes, and their costly step
//!   (argon2) by the credential pool.
//! - **api** — evaluate, report, web login and session checks: wait up to
//!   `queue_timeout` for a slot, then `503` (clients retry).
//! - **admin** — everything else under `/v1`: no wait, `503` at once when
//!   every slot is taken; an administrator can retry.
//!
//! A request's body is read before it takes a slot, so a slow client holds
//! no slot. `/healthz`, `/readyz`, `/metrics` and the OpenAPI document are
//! outside `/v1` and never limited. The router applies this inside the API
//! key check: a request without a valid key takes no slot either.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// The settings, from `server.*` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct OverloadSettings {
    /// Slots: requests of the api and admin classes handled at once.
    pub max_in_flight: usize,
    /// How long an api request waits for a slot.
    pub queue_timeout: Duration,
}

impl Default for OverloadSettings {
    fn default() -> Self {
        OverloadSettings {
            max_in_flight: 32,
            queue_timeout: Duration::from_millis(10),
        }
    }
}

/// The class of a request, from its path under `/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Mail,
    Api,
    Admin,
}

impl Class {
    /// The class of `path` (with or without the `/v1` prefix).
    pub fn of(path: &str) -> Class {
        match path.strip_prefix("/v1").unwrap_or(path) {
            "/dovecot/policy" | "/auth/verify" => Class::Mail,
            "/evaluate" | "/report" | "/auth/login" | "/auth/session" => Class::Api,
            _ => Class::Admin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Mail => "mail",
            Class::Api => "api",
            Class::Admin => "admin",
        }
    }
}

/// The limiter, shared by every request of one router.
#[derive(Debug, Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: OverloadSettings,
    slots: Semaphore,
    /// Requests waiting for a slot now.
    waiting: AtomicUsize,
    /// Mail-class requests being handled now (they take no slot).
    mail: AtomicUsize,
}

/// What `/metrics` shows of the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionStats {
    /// Requests under `/v1` being handled (every class).
    pub in_flight: usize,
    /// Requests waiting for a slot.
    pub waiting: usize,
    pub max_in_flight: usize,
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new(OverloadSettings::default())
    }
}

impl Admission {
    pub fn new(settings: OverloadSettings) -> Self {
        let slots = settings.max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        Admission {
            inner: Arc::new(Inner {
                settings,
                slots: Semaphore::new(slots),
                waiting: AtomicUsize::new(0),
                mail: AtomicUsize::new(0),
            }),
        }
    }

    pub fn stats(&self) -> AdmissionStats {
        let i = &self.inner;
        let max = i.settings.max_in_flight;
        AdmissionStats {
            in_flight: max.saturating_sub(i.slots.available_permits())
                + i.mail.load(Ordering::Relaxed),
            waiting: i.waiting.load(Ordering::Relaxed),
            max_in_flight: max,
        }
    }
}

/// Decrements a counter when dropped.
struct Count<'a>(&'a AtomicUsize);

impl<'a> Count<'a> {
    fn up(c: &'a AtomicUsize) -> Self {
        c.fetch_add(1, Ordering::Relaxed);
        Count(c)
    }
}

impl Drop for Count<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The shed answer.
fn shed(class: Class) -> Response {
    metrics::counter!("warden_http_requests_shed_total", "class" => class.as_str()).increment(1);
    ApiError::Overloaded.into_response()
}

/// The middleware's state: the limiter and the body limit it reads up to
/// (`server.max_body_bytes`).
#[derive(Debug, Clone)]
pub struct Gate {
    pub admission: Admission,
    pub body_limit: usize,
}

/// Middleware: reads the body (up to the limit), then waits for a slot as
/// the request's class allows.
pub async fn admit(State(g): State<Gate>, req: Request, next: Next) -> Response {
    let class = Class::of(req.uri().path());
    let i = &g.admission.inner;
    if class == Class::Mail {
        let _running = Count::up(&i.mail);
        return next.run(req).await;
    }
    // The body first: a slow client must not hold a slot while it sends.
    let req = if req.body().is_end_stream() {
        req
    } else {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, g.body_limit).await {
            Ok(bytes) => Request::from_parts(parts, Body::from(bytes)),
            Err(e) => {
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                return if too_large {
                    ApiError::PayloadTooLarge.into_response()
                } else {
                    ApiError::bad(format!("could not read the body: {e}")).into_response()
                };
            }
        }
    };
    let permit = match i.slots.try_acquire() {
        Ok(p) => p,
        Err(_) if class == Class::Admin || i.settings.queue_timeout.is_zero() => {
            return shed(class)
        }
        Err(_) => {
            let started = Instant::now();
            let waited = {
                let _waiting = Count::up(&i.waiting);
                tokio::time::timeout(i.settings.queue_timeout, i.slots.acquire()).await
            };
            metrics::histogram!("warden_http_queue_wait_seconds", "class" => class.as_str())
                .record(started.elapsed().as_secs_f64());
            match waited {
                Ok(Ok(p)) => p,
                _ => return shed(class),
            }
        }
    };
    let resp = next.run(req).await;
    drop(permit);
    resp
}
