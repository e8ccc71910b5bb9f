//! The sensitive-operation routes' JSON: a report from the mail or IM
//! system, an operation as the API shows it, a page of them, the filters.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use warden_core::operation::{
    MAX_DETAIL_CHARS, MAX_REPORT_ID_CHARS, MAX_SOURCE_CHARS, MAX_TARGET_CHARS,
};
use warden_core::{Grade, OperationKind};

use super::alerts::AlertDto;
use super::schema;

fn one_of(names: impl Iterator<Item = &'static str>, description: &str) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some(description))
            .build(),
    )
}

fn kind_schema() -> Schema {
    one_of(
        OperationKind::ALL.iter().map(|k| k.as_str()),
        "What changed: `forwarding_rule` (created or changed; `target` the address), `inbox_rule` (deletes or moves mail; `target` the folder), `security_contact_changed` (`target` the new email or phone), `password_changed`, `two_factor_disabled`, `auth_code_created`, `mass_download`, `token_created` (an IM bot or API token).",
    )
}

fn kind_filter_schema() -> Schema {
    one_of(
        OperationKind::ALL.iter().map(|k| k.as_str()),
        "Only this kind.",
    )
}

fn grade_schema() -> Schema {
    one_of(
        Grade::ALL.iter().map(|g| g.as_str()),
        "Only this grade and above.",
    )
}

fn source_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type([Type::String, Type::Null].into_iter().collect::<utoipa::openapi::schema::SchemaType>())
            .max_length(Some(MAX_SOURCE_CHARS))
            .pattern(Some("^[A-Za-z0-9._-]*$"))
            .description(Some(format!(
                "The reporting system, one word (`webmail`, `managesieve`, `im`...; letters, digits, `.`, `_`, `-`; at most {MAX_SOURCE_CHARS}); default `api`."
            )))
            .examples(["webmail"])
            .build(),
    )
}

/// A sensitive operation the mail or IM system saw in a user's account.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationRequest {
    #[schema(schema_with = schema::user)]
    pub user: String,
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    /// When it happened (RFC 3339); defaults to now. At most five minutes
    /// in the future and 366 days in the past.
    #[schema(example = "2026-12-03T10:32:00+08:00")]
    pub ts: Option<String>,
    /// The address the change was made from, when known.
    #[schema(schema_with = schema::ip_opt)]
    pub ip: Option<String>,
    #[schema(schema_with = source_schema)]
    pub source: Option<String>,
    /// The reporter's own id of the event (a log line's id): the same
    /// source and id again is stored once and answered as a duplicate. At
    /// most 128 characters, no control characters.
    #[schema(max_length = 128)]
    pub report_id: Option<String>,
    /// The forwarding address, folder, new contact or token name (at most
    /// 254 characters, no control characters).
    #[schema(example = "drop@mailbox.example.net", max_length = 254)]
    pub target: Option<String>,
    /// Whether the target is outside the organisation; omitted: Warden
    /// tells from the target's domain and the configured
    /// `sensitive.internal_domains`.
    pub external: Option<bool>,
    /// Free text (at most 500 characters; control characters become
    /// spaces).
    #[schema(max_length = 500)]
    pub detail: Option<String>,
}

/// One stored operation with its correlation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperationDto {
    pub id: i64,
    pub user: String,
    #[schema(example = "forwarding_rule")]
    pub kind: String,
    /// When it happened (RFC 3339).
    pub ts: String,
    pub received_at: String,
    pub ip: Option<String>,
    pub source: String,
    pub report_id: Option<String>,
    pub target: Option<String>,
    /// The target is outside the organisation's domains.
    pub external: bool,
    pub detail: String,
    /// The correlation's grade: `critical` (a takeover move after a risky
    /// sign-in), `warning`, or `info` (recorded only).
    #[schema(example = "critical")]
    pub grade: String,
    /// `external_forwarding`, `takeover_move`, `after_risky_login`,
    /// `after_refused_attempts`, `same_address`.
    pub reasons: Vec<String>,
    /// The history row of the risky login it follows.
    pub login_event_id: Option<i64>,
    /// The alert it raised or folded into.
    pub alert_id: Option<i64>,
}

/// What became of a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperationResponse {
    pub operation: OperationDto,
    /// The alert it raised or folded into (warning or critical grade).
    pub alert: Option<AlertDto>,
    /// The same source and report id was stored before: nothing changed.
    pub duplicate: bool,
}

/// A page of operations, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperationsResponse {
    pub operations: Vec<OperationDto>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Filters of the operation list; all optional.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationListParams {
    /// Only this user's operations.
    #[param(schema_with = crate::types::schema::user)]
    pub user: Option<String>,
    #[param(schema_with = kind_filter_schema)]
    pub kind: Option<String>,
    /// Only this grade and above (`info`, `warning`, `critical`).
    #[param(schema_with = grade_schema)]
    pub grade: Option<String>,
    /// Only operations at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Continue after the previous page: its `next_cursor`.
    #[param(pattern = "^[0-9]{1,19}$")]
    pub cursor: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The `{id}` path parameter of an operation.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OperationIdPath {
    /// The operation's id.
    #[param(minimum = 1)]
    pub id: i64,
}

// The limits the schema states are the core's.
const _: () = assert!(MAX_REPORT_ID_CHARS == 128);
const _: () = assert!(MAX_TARGET_CHARS == 254);
const _: () = assert!(MAX_DETAIL_CHARS == 500);
