//! The alert routes' JSON: an alert as the API shows it, a page of them
//! with its cursor, the list filters, and an admin's note.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use warden_core::{AlertKind, AlertState, Grade};

/// A string that is one of `names`.
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
    one_of(AlertKind::ALL.iter().map(|k| k.as_str()), "Only this kind.")
}

fn grade_schema() -> Schema {
    one_of(
        Grade::ALL.iter().map(|g| g.as_str()),
        "Only this grade and above.",
    )
}

fn state_schema() -> Schema {
    one_of(
        AlertState::ALL.iter().map(|s| s.as_str()),
        "Only alerts in this state.",
    )
}

/// One alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertDto {
    pub id: i64,
    /// `unusual_location`, `impossible_travel`, `new_device`, `risky_login`,
    /// `brute_force`, `password_spraying`, `credential_stuffing`,
    /// `account_under_attack`, `login_disowned`, `summary`,
    /// `suspicious_forwarding` or `suspicious_operation` (a sensitive
    /// operation after a risky login: `ts`, `ip` and the place are the
    /// login's, `last_ts` the newest operation's, `note` names it),
    /// `logins_spread` (mail logins from many countries or networks in a
    /// day) or `sending_burst` (mail deferred for its rate).
    #[schema(example = "unusual_location")]
    pub kind: String,
    /// `info`, `warning` or `critical`.
    #[schema(example = "warning")]
    pub grade: String,
    /// `open`, `acknowledged` or `closed`.
    #[schema(example = "open")]
    pub state: String,
    /// The user it is about; null for an attacking address or a summary.
    pub user: Option<String>,
    /// When Warden raised it (RFC 3339).
    pub created_at: String,
    /// The (first) login.
    pub ts: String,
    /// The newest login folded into it.
    pub last_ts: String,
    /// Logins folded into it (for a summary: the alerts it speaks for).
    pub count: u32,
    pub notify_user: bool,
    /// False when a storm summary speaks for it, or below the admins'
    /// minimum grade.
    pub notify_admins: bool,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub asn: Option<u32>,
    /// The network's name.
    pub isp: Option<String>,
    pub device: Option<String>,
    /// The client program (Outlook, Foxmail, iOS Mail...).
    pub client: Option<String>,
    pub protocol: Option<String>,
    /// What Warden answered for the login.
    pub decision: Option<String>,
    pub succeeded: bool,
    /// Reason codes of the (first) login.
    pub reasons: Vec<String>,
    /// The history row of the (first) login.
    pub event_id: Option<i64>,
    /// The user's answer: `it_was_me`, `not_me` or `wrong_location`.
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    /// Admins' notes (`admin: …`, one a line) and a summary's breakdown.
    pub note: String,
}

/// A page of alerts, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertsResponse {
    pub alerts: Vec<AlertDto>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Filters of the alert list; all optional.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertListParams {
    /// Only this user's alerts.
    #[param(schema_with = crate::types::schema::user)]
    pub user: Option<String>,
    /// Only this kind.
    #[param(schema_with = kind_schema)]
    pub kind: Option<String>,
    /// Only this grade and above (`info`, `warning`, `critical`).
    #[param(schema_with = grade_schema)]
    pub grade: Option<String>,
    /// Only alerts in this state (`open`, `acknowledged`, `closed`).
    #[param(schema_with = state_schema)]
    pub state: Option<String>,
    /// Only logins at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Only logins before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Continue after the previous page: its `next_cursor`.
    #[param(pattern = "^[0-9]{1,19}$")]
    pub cursor: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// An admin's note on an acknowledgement or a closing.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertNoteRequest {
    /// One line kept with the alert (at most 2000 characters; control
    /// characters become spaces).
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// The `{id}` path parameter of an alert.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AlertIdPath {
    /// The alert's id.
    #[param(minimum = 1)]
    pub id: i64,
}
