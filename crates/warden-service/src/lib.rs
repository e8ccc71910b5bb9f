//! Warden's service layer: the **one login pipeline** that every entry
//! point calls — the HTTP routes (`/v1/evaluate` + `/v1/report`,
//! `/v1/auth/verify`, `/v1/auth/login`), Dovecot's auth policy, the Lua
//! passdb and `warden checkpassword` (through verify), and the Postfix
//! policy server — as a mail server has one `authenticate` for every
//! protocol. Adapters parse their protocol, call one method of
//! [`Service`] and format its answer; every business rule is here.
//!
//! A login goes through the same steps whatever the way in
//! ([`pipeline`]): normalisation of the attempt, geo lookup, access rules
//! and the engine (under its lock, only for the lookup), the credential
//! check when Warden owns the password, the stale-client and lockout logic,
//! login protection, recording (history + profile, acknowledged after the
//! commit), and the answer as typed values (a [`warden_core::Verdict`] with
//! its reason; the adapter words it).
//!
//! Everything that happens is published as a typed [`events::DomainEvent`];
//! metrics and logs are one subscriber ([`telemetry`]). Short-lived state
//! sits behind [`shortlived::ShortLived`], the store behind
//! [`warden_store::Backend`]. No JSON and no HTTP here.

pub mod accounts;
pub mod alerts;
pub mod answers;
pub mod audit;
pub mod code_throttle;
pub mod confirm;
pub mod credentials;
pub mod devices;
pub mod error;
pub mod events;
pub mod evidence;
pub mod geo;
pub mod incidents;
pub mod notify;
pub mod pipeline;
pub mod policies;
pub mod pool;
pub mod reports;
pub mod sealing;
pub mod second_factor;
pub mod sensitive;
pub mod shortlived;
pub mod snapshots;
pub mod stepup;
pub mod telemetry;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use warden_core::sending::RateLimits;
use warden_core::verify::SiteTexts;
use warden_core::{Clock, Engine, Lang, Timestamp};
use warden_geo::IpIntel;
use warden_store::{Backend, WriterHandle};

pub use confirm::LoginToConfirm;
pub use credentials::{AuthSettings, Credentials};
pub use error::ServiceError;
pub use events::{
    AlertAdminAction, DomainEvent, EntryPoint, Events, NotifyAction, SettleError, Settling,
    Subscriber,
};
pub use pipeline::LoginSettings;
pub use shortlived::ShortLived;
pub use snapshots::Snapshots;

/// Everything the pipeline reads and changes. One per process, shared by
/// every adapter (`Arc<Service<_>>`).
pub struct Service<S: Backend> {
    /// Profiles and counters. Held only for a lookup or a record, never
    /// across an await or a CPU-heavy step.
    pub engine: EngineCell,
    pub intel: Arc<IpIntel>,
    pub store: Arc<S>,
    /// The store's group-commit writer: history rows and profile snapshots.
    pub writer: WriterHandle,
    pub short: ShortLived,
    pub clock: Arc<dyn Clock + Send + Sync>,
    /// Password hashing and the sealing key.
    pub credentials: Credentials,
    pub settings: LoginSettings,
    /// The site's own words in the texts users see (where to create codes,
    /// where to confirm a sign-in, whom to contact), English and Chinese.
    pub texts: SiteTexts,
    /// The sending-rate limits of the Postfix policy.
    pub rates: RateLimits,
    pub events: Events,
    /// The users whose profile changed since its last snapshot (written by
    /// [`Service::flush_profiles`]).
    pub snapshots: Snapshots,
    /// Which detections become alerts ([`alerts`]).
    pub alerts: alerts::AlertSettings,
    /// How alerts reach people ([`notify`]).
    pub notify: notify::NotifySettings,
    /// "Was this you?" links ([`answers`]).
    pub answers: answers::AnswerSettings,
    /// The sources users disowned, refused for their account
    /// ([`answers::blocks`]).
    pub blocks: answers::SourceBlocks,
    /// Access and protection policies per organisation, group and user
    /// ([`policies`]).
    pub policies: policies::Policies,
    /// Sessions and devices ([`devices`]).
    pub devices: devices::DeviceSettings,
    /// Verification codes and step-ups ([`stepup`]).
    pub stepup: stepup::StepUpSettings,
    /// Sensitive operations and their correlation ([`sensitive`]).
    pub sensitive: sensitive::SensitiveSettings,
    /// The tamper-evident audit log: its key, settings and writer queue
    /// ([`audit`]).
    pub audit: audit::AuditLog,
    /// Incidents, playbooks, one-click actions and SLA ([`incidents`]).
    pub incidents: incidents::IncidentSettings,
}

/// The engine behind its lock, with its sizes readable without the lock.
/// The sizes are taken from the engine itself when the cell is made and
/// whenever a record changes a profile ([`EngineCell::refresh`]).
#[derive(Debug)]
pub struct EngineCell {
    engine: Mutex<Engine>,
    stats: EngineGauges,
}

impl EngineCell {
    pub fn new(engine: Engine) -> Self {
        EngineCell {
            stats: EngineGauges::of(&engine),
            engine: Mutex::new(engine),
        }
    }

    /// The engine, for a lookup or a record.
    pub fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock()
    }

    /// Takes the sizes of `engine`, the guard of this cell's lock, after a
    /// change.
    pub fn refresh(&self, engine: &Engine) {
        self.stats.refresh(engine);
    }

    /// The sizes as of the last change, without the lock.
    pub fn stats(&self) -> &EngineGauges {
        &self.stats
    }
}

impl From<Engine> for EngineCell {
    fn from(engine: Engine) -> Self {
        EngineCell::new(engine)
    }
}

/// The engine's sizes, refreshed under the engine's lock whenever a record
/// changes them, so that `/readyz` and `/metrics` (open to anyone) read
/// them without taking the lock every login decision needs.
#[derive(Debug, Default)]
pub struct EngineGauges {
    profiles: AtomicUsize,
    profile_bytes: AtomicUsize,
    places: AtomicUsize,
}

impl EngineGauges {
    /// The sizes of `engine` now.
    fn of(engine: &Engine) -> Self {
        let g = EngineGauges::default();
        g.refresh(engine);
        g
    }

    /// Takes the sizes of `engine` (constant time: `Engine::stats` keeps
    /// running totals).
    fn refresh(&self, engine: &Engine) {
        let s = engine.stats();
        self.profiles.store(s.profiles, Ordering::Relaxed);
        self.profile_bytes.store(s.profile_bytes, Ordering::Relaxed);
        self.places.store(s.places, Ordering::Relaxed);
    }

    /// Users with a profile.
    pub fn profiles(&self) -> usize {
        self.profiles.load(Ordering::Relaxed)
    }

    /// Bytes the profiles hold.
    pub fn profile_bytes(&self) -> usize {
        self.profile_bytes.load(Ordering::Relaxed)
    }

    /// Places in the engine's catalog.
    pub fn places(&self) -> usize {
        self.places.load(Ordering::Relaxed)
    }
}

impl<S: Backend> Service<S> {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Publishes `event` and returns once every durable subscriber (the
    /// audit log) has kept it: what an acknowledged action calls before it
    /// answers, so that no acknowledged action is missing from the audit.
    /// When keeping it fails the action has happened but is not
    /// acknowledged ([`ServiceError::Unavailable`]).
    pub async fn publish_durable(&self, event: DomainEvent<'_>) -> Result<(), ServiceError> {
        self.events.publish(event);
        self.events
            .settle()
            .await
            .map_err(|e| ServiceError::Unavailable(format!("the audit log: {e}")))
    }

    /// The organisation's UTC offset, for times in texts.
    pub fn utc_offset(&self) -> i32 {
        self.engine.lock().policy().learning.utc_offset_minutes
    }
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

/// Parses a language name of the API and the configuration.
pub fn parse_lang(lang: Option<&str>) -> Result<Lang, ServiceError> {
    match lang.map(str::trim) {
        None | Some("") | Some("en") => Ok(Lang::En),
        Some("zh") | Some("zh-CN") | Some("zh-cn") => Ok(Lang::Zh),
        Some(other) => Err(ServiceError::invalid(format!(
            "lang: {other:?} is not supported; expected en or zh"
        ))),
    }
}
