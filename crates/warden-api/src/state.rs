//! Shared state of the HTTP and mail adapters: the service (the one login
//! pipeline and what it holds), the API's own settings and the metrics
//! handle. `AppState` dereferences to the [`Service`], so handlers reach the
//! store and the engine through it.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use subtle::ConstantTimeEq;
use warden_core::Lang;
use warden_service::Service;
use warden_store::Backend;

pub use warden_service::SystemClock;

/// Settings the adapters need.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Accepted API keys. Empty means every `/v1` route answers 401.
    pub api_keys: Vec<String>,
    pub max_body_bytes: usize,
    /// Login history older than this is pruned (days).
    pub retention_days: u32,
    /// How often the pruning task runs.
    pub prune_interval: Duration,
    /// Language of the texts Dovecot's policy answers carry to clients.
    pub dovecot_lang: Lang,
    /// The bound on requests handled at once (`crate::overload`).
    pub admission: crate::overload::Admission,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            api_keys: Vec::new(),
            max_body_bytes: 64 * 1024,
            retention_days: 180,
            prune_interval: Duration::from_secs(3600),
            dovecot_lang: Lang::En,
            admission: crate::overload::Admission::default(),
        }
    }
}

/// Everything a handler needs. Shared as `Arc<AppState<_>>`.
pub struct AppState<S: Backend> {
    pub service: Arc<Service<S>>,
    pub config: ApiConfig,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl<S: Backend> Deref for AppState<S> {
    type Target = Service<S>;

    fn deref(&self) -> &Service<S> {
        &self.service
    }
}

impl<S: Backend> AppState<S> {
    /// True when `key` is one of the configured keys (constant time).
    pub fn key_ok(&self, key: &str) -> bool {
        let mut ok = subtle::Choice::from(0u8);
        for k in &self.config.api_keys {
            ok |= k.as_bytes().ct_eq(key.as_bytes());
        }
        bool::from(ok)
    }
}
