//! Warden's pure core: the login domain and the risk engine.
//!
//! Everything here is deterministic: a login attempt, what is known about its
//! IP address, the user's profile, the global signals, the policy and the
//! time go in; a decision with reasons comes out ([`assess::assess`]). The
//! [`Engine`] holds profiles and counters in memory and is driven by the
//! edges (HTTP service, replay). There is no IO, no async and no JSON here.

pub mod access;
pub mod account;
pub mod alert;
pub mod answered;
pub mod assess;
pub mod client;
pub mod compromise;
pub mod counters;
pub mod countries;
pub mod decision;
pub mod detect;
pub mod device;
pub mod domain;
pub mod engine;
pub mod hash;
pub mod incident;
pub mod operation;
pub mod policy;
pub mod profile;
pub mod protection;
pub mod reason;
pub mod scoped;
pub mod sending;
pub mod size;
pub mod sketch;
pub mod stats;
pub mod text;
pub mod time;
pub mod trust;
pub mod unconfirmed;
pub mod verify;

pub use account::{
    Account, AccountStatus, AppPassword, Org, ProtocolSet, RecoveryCode, Role, SecurityEvent,
    SecurityEventKind, TotpEnrolment, TwoFactorPolicy, UnknownValue, WebSession,
};
pub use alert::{
    Alert, AlertKind, AlertState, Answer, Audience, ChannelKind, Delivery, DeliveryState, Grade,
};
pub use answered::{CorrectionState, QueuedCorrection, SourceBlock};
pub use assess::Assessment;
pub use decision::{Decision, Level, ReasonCode};
pub use device::{DeviceSession, SessionState};
pub use domain::*;
pub use engine::{Engine, EngineStats};
pub use operation::{
    Correlation, CorrelationReason, Operation, OperationFacts, OperationKind, RecentLogin,
};
pub use policy::Policy;
pub use profile::Profile;
pub use protection::{protection_trigger, AccountPolicy, ProtectionLevel, ProtectionTrigger};
pub use reason::{Evidence, Lang, Reason};
pub use time::{Clock, Timestamp};
pub use trust::Trust;
pub use verify::{Credential, PasswordAge, Verdict, VerifyReason};
