//! The audit routes' JSON: a record as the API shows it, a page of them,
//! the list's filters, the public key, a verification's result.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One record of the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditRecordDto {
    /// Its number in the log (from 1, no gaps).
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// What: `login.recorded`, `account.locked`, `alert.answered`...
    #[schema(example = "account.locked")]
    pub kind: String,
    /// Who: `warden`, `admin`, `user`...
    pub actor: String,
    pub user: Option<String>,
    pub ip: Option<String>,
    /// What it acted on (`alert:12`, `device:...`, `policy:org:...`).
    pub subject: Option<String>,
    pub incident: Option<i64>,
    /// Everything else, in order.
    pub detail: Vec<AuditDetail>,
    /// The hash of the record before (64 hex digits).
    pub prev: String,
    /// Its own hash.
    pub hash: String,
}

/// One key/value pair of a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditDetail {
    pub key: String,
    pub value: String,
}

/// A page of records, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub records: Vec<AuditRecordDto>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Filters of the audit list; all optional.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListParams {
    /// Only records about this user.
    #[param(schema_with = crate::types::schema::user)]
    pub user: Option<String>,
    /// Only records from this client address.
    #[param(schema_with = crate::types::schema::ip_opt)]
    pub ip: Option<String>,
    /// A kind (`account.locked`), or a family ending in `.` (`account.`).
    #[param(pattern = "^[a-z0-9._]{1,64}$")]
    pub kind: Option<String>,
    /// Only records by this actor (`admin`, `warden`, `user`...).
    #[param(max_length = 128)]
    pub actor: Option<String>,
    /// Only records of this incident.
    #[param(minimum = 1)]
    pub incident: Option<i64>,
    /// At or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Continue after the previous page: its `next_cursor`.
    #[param(pattern = "^[0-9]{1,19}$")]
    pub cursor: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The key checkpoints are verified with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPublicKeyDto {
    /// The Ed25519 public key, 64 hex digits (`warden audit verify --public-key`).
    pub public_key: String,
    /// Its short name: the first 16 hex digits of its SHA-256.
    pub fingerprint: String,
}

/// The result of verifying the stored log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditVerifyDto {
    /// Whether the stored log is intact.
    pub ok: bool,
    /// The first and last record walked (null: none).
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub records: u64,
    /// Checkpoints that matched a record.
    pub checkpoints: usize,
    /// The last record a checkpoint signs.
    pub last_signed: Option<u64>,
    /// Records after it, intact but not signed yet.
    pub unsigned_tail: u64,
    /// When broken: the record where (its number) and what is wrong.
    pub broken_at: Option<u64>,
    pub problem: Option<String>,
}
