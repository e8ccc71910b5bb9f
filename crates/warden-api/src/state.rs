//! Shared service state: the engine behind a lock, IP intelligence, the
//! store and its group-commit writer, evaluations waiting for their outcome,
//! and the API keys.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

pub use parking_lot::Mutex;
use rand::RngCore;
use rustc_hash::FxHashMap;
use subtle::ConstantTimeEq;
use warden_core::{Assessment, Clock, Engine, IpInfo, LoginAttempt, Timestamp};
use warden_geo::IpIntel;
use warden_store::{Backend, WriterHandle};

/// How long an evaluation waits for its report.
pub const PENDING_TTL_SECS: i64 = 600;
/// At most this many evaluations wait at once; the oldest go first.
pub const PENDING_MAX: usize = 200_000;

/// Settings the API layer needs.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Accepted API keys. Empty means every `/v1` route answers 401.
    pub api_keys: Vec<String>,
    pub max_body_bytes: usize,
    /// Login history older than this is pruned (days).
    pub retention_days: u32,
    /// How often the pruning task runs.
    pub prune_interval: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            api_keys: Vec::new(),
            max_body_bytes: 64 * 1024,
            retention_days: 180,
            prune_interval: Duration::from_secs(3600),
        }
    }
}

/// An evaluation waiting for its outcome.
#[derive(Debug, Clone)]
pub struct Pending {
    pub attempt: LoginAttempt,
    pub ip: IpInfo,
    pub assessment: Assessment,
    pub created: Timestamp,
}

/// Evaluations waiting for `/v1/report`, expiring in insertion order.
///
/// Values are boxed and the table is sized once for [`PENDING_MAX`]: growing
/// a table of large inline values rehashes megabytes under the lock and
/// stalled every request for hundreds of milliseconds.
pub struct PendingEvaluations {
    map: FxHashMap<u128, Box<Pending>>,
    order: VecDeque<(Timestamp, u128)>,
}

impl Default for PendingEvaluations {
    fn default() -> Self {
        let mut map = FxHashMap::default();
        map.reserve(PENDING_MAX);
        PendingEvaluations {
            map,
            order: VecDeque::with_capacity(PENDING_MAX),
        }
    }
}

impl PendingEvaluations {
    pub fn insert(&mut self, id: u128, p: Pending, now: Timestamp) {
        self.expire(now);
        while self.map.len() >= PENDING_MAX {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back((now, id));
        self.map.insert(id, Box::new(p));
    }

    pub fn take(&mut self, id: u128, now: Timestamp) -> Option<Pending> {
        self.expire(now);
        self.map.remove(&id).map(|b| *b)
    }

    pub fn expire(&mut self, now: Timestamp) {
        while let Some(&(t, id)) = self.order.front() {
            if now.since(t) <= PENDING_TTL_SECS && self.map.contains_key(&id) {
                break;
            }
            self.order.pop_front();
            if now.since(t) > PENDING_TTL_SECS {
                self.map.remove(&id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Everything a handler needs. Cheap to clone.
pub struct AppState<S: Backend> {
    pub engine: Mutex<Engine>,
    pub intel: Arc<IpIntel>,
    pub store: Arc<S>,
    pub writer: WriterHandle,
    pub pending: Mutex<PendingEvaluations>,
    pub clock: Arc<dyn Clock + Send + Sync>,
    pub config: ApiConfig,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Password hashing, sealing key and login tickets.
    pub credentials: crate::credentials::Credentials,
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

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// A fresh random evaluation id.
pub fn new_id() -> u128 {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    u128::from_le_bytes(b)
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use warden_core::{Decision, Level, Protocol};

    fn pending(t: i64) -> Pending {
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        Pending {
            attempt: LoginAttempt::new(Timestamp(t), "a", ip, Protocol::Imap, None, None).unwrap(),
            ip: IpInfo::unknown(ip),
            assessment: Assessment {
                decision: Decision::Allow,
                risk: 0.0,
                level: Level::Low,
                alert: false,
                reasons: vec![],
            },
            created: Timestamp(t),
        }
    }

    #[test]
    fn pending_evaluations_expire_and_are_taken_once() {
        let mut p = PendingEvaluations::default();
        p.insert(1, pending(0), Timestamp(0));
        p.insert(2, pending(100), Timestamp(100));
        assert!(p.take(1, Timestamp(10)).is_some());
        assert!(p.take(1, Timestamp(10)).is_none());
        assert_eq!(p.len(), 1);
        assert!(p.take(2, Timestamp(100 + PENDING_TTL_SECS + 1)).is_none());
        assert!(p.is_empty());
    }
}
