//! Warden's persistence: the login event log, users' profile snapshots,
//! admins' geolocation corrections, and accounts with their credentials.
//!
//! - [`Store`] is what the service needs from a database; [`SqliteStore`]
//!   implements it on one SQLite file (PostgreSQL comes next, with the same
//!   portable SQL).
//! - [`AccountStore`] holds organisations, accounts, authorization codes,
//!   TOTP, recovery codes, sessions and security events.
//! - [`SessionStore`] holds users' sessions and devices (every successful
//!   login's device, signed out, pending approval or trusted).
//! - [`BatchWriter`] serialises writes through one thread and commits them in
//!   groups, acknowledging each caller only once its rows are durable.
//!
//! Enumerations are stored by their wire names, times as Unix seconds. A row
//! that cannot be decoded is reported as [`StoreError::Corrupt`], never a
//! panic.

mod accounts;
mod alerts;
mod answers;
mod audit;
mod codec;
mod deliveries;
mod error;
mod incidents;
mod model;
mod operations;
mod policies;
pub mod private;
mod reports;
mod sql;
mod sql_accounts;
#[macro_use]
mod sql_alerts;
mod sessions;
mod sql_answers;
mod sql_audit;
mod sql_incidents;
mod sql_notify;
mod sql_operations;
mod sql_policies;
mod sql_reports;
mod sql_sessions;
mod sqlite;
mod store;
mod templates;
mod writer;

pub use accounts::{AccountStore, AccountWrite, Backend, MAX_SECURITY_EVENTS};
pub use alerts::{
    AlertAction, AlertBatch, AlertChange, AlertQuery, AlertStore, MAX_ALERTS_LIMIT,
    MAX_ALERT_NOTE_CHARS, MAX_ALERT_USERS,
};
pub use answers::{AnswerStore, MAX_QUEUE_PAGE};
pub use audit::{AuditQuery, AuditStore, MAX_AUDIT_PAGE};
pub use codec::BadValue;
pub use deliveries::{DeliveryQuery, DeliveryStore, FailedTry, MAX_DELIVERIES};
pub use error::{CorruptionSource, StoreError};
pub use incidents::{
    IncidentQuery, IncidentRecord, IncidentStore, NewIncident, Opened, OverdueStep, RevertMark,
    StepDone, MAX_AFFECTED, MAX_INCIDENTS_PAGE, MAX_REVERTS, MAX_TRIGGERS,
};
pub use model::{
    Cursor, HistoryQuery, LoginEvent, MarkStep, ProfileSnapshot, WriteBatch, MAX_HISTORY_LIMIT,
};
pub use operations::{
    OperationAlert, OperationQuery, OperationStore, Recorded, MAX_OPERATIONS_LIMIT,
};
pub use policies::{PolicyStore, MAX_GROUPS_PER_USER, MAX_LOGINS_PAGE, MAX_POLICY_HISTORY};
pub use reports::{
    Adoption, AnswerCount, LoginTotals, PlaceCount, RefusalCount, RefusalKind, ReportStore,
    ReportWindow, RiskyKey, MAX_REPORT_ROWS,
};
pub use sessions::{SessionChange, SessionStore, MAX_SESSIONS_PAGE};
pub use sqlite::{SqliteStore, DEFAULT_WAL_RESTART_BYTES};
pub use store::{Store, SyncAppend};
pub use templates::{StoredTemplate, TemplateStore};
pub use writer::{BatchConfig, BatchWriter, WriterHandle, WriterStats};
