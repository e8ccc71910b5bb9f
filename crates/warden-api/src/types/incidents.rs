//! The incident routes' JSON: an incident (with its steps and their SLA,
//! what it concerns, its triggers, revert marks and review), the requests
//! that open and change one, a one-click action's answer, the timeline and
//! the effective playbooks.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};
use warden_core::incident::{
    ActionKind, AffectedKind, IncidentGrade, IncidentStatus, MAX_ASSIGNEE, MAX_REVIEW_FIELD,
    MAX_TITLE,
};

use super::operations::OperationDto;

fn one_of(names: impl Iterator<Item = &'static str>, nullable: bool, description: &str) -> Schema {
    let ty: SchemaType = if nullable {
        [Type::String, Type::Null].into_iter().collect()
    } else {
        Type::String.into()
    };
    let mut names: Vec<Option<&'static str>> = names.map(Some).collect();
    if nullable {
        names.push(None);
    }
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(ty)
            .enum_values(Some(names))
            .description(Some(description))
            .build(),
    )
}

fn grade_schema() -> Schema {
    one_of(
        IncidentGrade::ALL.iter().map(|g| g.as_str()),
        false,
        "`l1` credential compromise, `l2` lost or stolen device, `l3` data tampering or exfiltration.",
    )
}

fn grade_filter() -> Schema {
    one_of(
        IncidentGrade::ALL.iter().map(|g| g.as_str()),
        false,
        "Only this grade.",
    )
}

fn status_schema() -> Schema {
    one_of(
        IncidentStatus::ALL.iter().map(|s| s.as_str()),
        false,
        "open → contained → eradicated → recovered → closed.",
    )
}

fn status_opt() -> Schema {
    one_of(
        IncidentStatus::ALL.iter().map(|s| s.as_str()),
        true,
        "The new status: forward one or more steps from the current one (never back); `closed` needs the review.",
    )
}

fn status_filter() -> Schema {
    one_of(
        IncidentStatus::ALL.iter().map(|s| s.as_str()),
        false,
        "Only this status.",
    )
}

fn action_schema() -> Schema {
    one_of(
        ActionKind::ALL.iter().map(|a| a.as_str()),
        false,
        "A one-click action.",
    )
}

fn affected_kind_schema() -> Schema {
    one_of(
        AffectedKind::ALL.iter().map(|k| k.as_str()),
        false,
        "`user` (a login name), `address` (an IP address or CIDR range), `device` (a device key, at most 128 characters).",
    )
}

fn text(max: usize, nullable: bool, description: &str) -> Schema {
    let ty: SchemaType = if nullable {
        [Type::String, Type::Null].into_iter().collect()
    } else {
        Type::String.into()
    };
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(ty)
            .max_length(Some(max))
            .description(Some(description))
            .build(),
    )
}

fn title_schema() -> Schema {
    text(
        MAX_TITLE,
        true,
        "One line (control characters become spaces), not blank; default the grade's meaning and the user.",
    )
}

fn assignee_schema() -> Schema {
    text(MAX_ASSIGNEE, true, "Who handles it (one line, not blank).")
}

fn review_field() -> Schema {
    text(
        MAX_REVIEW_FIELD,
        false,
        "Not blank; control characters become spaces.",
    )
}

/// Opens an incident by hand.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentOpenRequest {
    #[schema(schema_with = grade_schema)]
    pub grade: String,
    #[schema(schema_with = title_schema)]
    pub title: Option<String>,
    /// The account it concerns.
    #[schema(schema_with = crate::types::schema::user_opt)]
    pub user: Option<String>,
    /// Addresses or CIDR ranges involved (at most 20).
    #[schema(max_items = 20)]
    pub addresses: Option<Vec<String>>,
    /// Device keys involved (at most 20, each at most 128 characters).
    #[schema(max_items = 20)]
    pub devices: Option<Vec<String>>,
    #[schema(schema_with = assignee_schema)]
    pub assignee: Option<String>,
}

/// Changes the assignee and/or moves the status.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatchRequest {
    /// The new assignee; an empty string clears it.
    #[schema(max_length = 120, nullable)]
    pub assignee: Option<String>,
    #[schema(schema_with = status_opt)]
    pub status: Option<String>,
}

/// What a one-click action needs; every field optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentActionRequest {
    /// The account to act on; default the incident's user.
    #[schema(schema_with = crate::types::schema::user_opt)]
    pub user: Option<String>,
    /// `block_source`: an address or CIDR range (at most /16 wide for IPv4,
    /// /32 for IPv6); default the /24 or /64 of the incident's first
    /// address.
    #[schema(max_length = 64, nullable)]
    pub network: Option<String>,
    /// `revoke_token`: the authorization code's id; default every live
    /// code.
    #[schema(minimum = 1, nullable)]
    pub code_id: Option<i64>,
    /// `notify`: the text for the user and the business owners (at most
    /// 1000 characters, one line); default a standard notice.
    #[schema(max_length = 1000, nullable)]
    pub message: Option<String>,
}

/// Ticks a step.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentStepRequest {
    /// What was done or checked (at most 2000 characters, one line);
    /// required to tick a one-click action's step by hand.
    #[schema(max_length = 2000, nullable)]
    pub note: Option<String>,
}

/// The post-incident review.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReviewRequest {
    #[schema(schema_with = review_field)]
    pub root_cause: String,
    #[schema(schema_with = review_field)]
    pub what_worked: String,
    #[schema(schema_with = review_field)]
    pub what_to_change: String,
}

/// Adds a user, address or device to an incident.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentAffectedRequest {
    #[schema(schema_with = affected_kind_schema)]
    pub kind: String,
    #[schema(max_length = 320)]
    pub value: String,
}

/// What opened an incident or joined it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerDto {
    /// `manual`, `alert`, `answer` (a "not me" answer to the alert) or
    /// `operation`.
    pub kind: String,
    /// The alert or operation id.
    pub ref_id: Option<i64>,
    pub at: String,
}

/// An incident (without its details).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentDto {
    pub id: i64,
    #[schema(schema_with = grade_schema)]
    pub grade: String,
    #[schema(schema_with = status_schema)]
    pub status: String,
    pub title: String,
    pub opened_at: String,
    /// `warden` (automatic) or the admin.
    pub opened_by: String,
    pub trigger: TriggerDto,
    pub user: Option<String>,
    pub assignee: Option<String>,
    /// The first risky sign-in it follows, when known.
    pub first_risky_at: Option<String>,
    pub contained_at: Option<String>,
    pub eradicated_at: Option<String>,
    pub recovered_at: Option<String>,
    pub closed_at: Option<String>,
}

/// One user, address or device an incident concerns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AffectedDto {
    #[schema(schema_with = affected_kind_schema)]
    pub kind: String,
    pub value: String,
    pub added_at: String,
    pub added_by: String,
}

/// A playbook step in an incident, with its SLA.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepDto {
    pub step: String,
    pub title_en: String,
    pub title_zh: String,
    /// The owner role.
    pub owner: String,
    /// The one-click action that does it; null for a manual step.
    pub action: Option<String>,
    /// A manual step's checklist.
    pub checklist: Vec<String>,
    pub due_at: String,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
    pub note: Option<String>,
    /// What the action did.
    pub result: Option<String>,
    /// Not done and past `due_at` (never once the incident is closed).
    pub overdue: bool,
    /// When the SLA alert for it was raised.
    pub overdue_alerted_at: Option<String>,
}

/// A sensitive operation marked for revert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevertDto {
    pub operation_id: i64,
    pub marked_at: String,
    pub marked_by: String,
}

/// The post-incident review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewDto {
    pub root_cause: String,
    pub what_worked: String,
    pub what_to_change: String,
    pub by: String,
    pub at: String,
}

/// An incident with everything about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentDto,
    pub affected: Vec<AffectedDto>,
    /// In playbook order.
    pub steps: Vec<StepDto>,
    /// Steps not done past their due time.
    pub overdue: u32,
    pub triggers: Vec<TriggerDto>,
    pub reverts: Vec<RevertDto>,
    pub review: Option<ReviewDto>,
}

/// A page of incidents, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentsResponse {
    pub incidents: Vec<IncidentDto>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// What a one-click action did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentActionResponse {
    #[schema(schema_with = action_schema)]
    pub action: String,
    pub user: String,
    /// In words.
    pub result: String,
    /// The playbook step it completed, if one was open.
    pub step: Option<String>,
    /// `mark_for_revert`: the operations marked.
    pub operations: Vec<OperationDto>,
    /// `mark_for_revert`: the mail system was told through the revert
    /// webhook.
    pub webhook_sent: bool,
    /// `notify`: the notice's alert.
    pub alert_id: Option<i64>,
    pub incident: IncidentDetail,
}

/// What adding an affected entry did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentAffectedResponse {
    /// False: it was listed already.
    pub added: bool,
    pub incident: IncidentDetail,
}

/// A key and value of an audit record's details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DetailDto {
    pub key: String,
    pub value: String,
}

/// One audit record on a timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineRecordDto {
    pub seq: u64,
    pub at: String,
    /// `login.recorded`, `incident.action`...
    pub kind: String,
    pub actor: String,
    pub user: Option<String>,
    pub ip: Option<String>,
    pub subject: Option<String>,
    pub incident_id: Option<i64>,
    pub detail: Vec<DetailDto>,
}

/// An incident's timeline from the audit log, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineResponse {
    pub incident_id: i64,
    /// The window of the affected users' records.
    pub from: String,
    pub to: String,
    pub records: Vec<TimelineRecordDto>,
    /// More records matched than the timeline holds (1000).
    pub more: bool,
}

/// A step of a playbook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybookStepDto {
    pub id: String,
    pub title_en: String,
    pub title_zh: String,
    pub owner: String,
    /// Due this many minutes after the incident opened.
    pub due_minutes: u32,
    pub action: Option<String>,
    pub checklist: Vec<String>,
}

/// The effective playbook of a grade.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybookDto {
    #[schema(schema_with = grade_schema)]
    pub grade: String,
    pub title: String,
    /// Where it came from: the override file's path or `l1.toml (built-in)`.
    pub source: String,
    pub steps: Vec<PlaybookStepDto>,
}

/// The effective playbooks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaybooksResponse {
    pub playbooks: Vec<PlaybookDto>,
}

/// Filters of the incident list; all optional.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentListParams {
    #[param(schema_with = status_filter)]
    pub status: Option<String>,
    /// Only incidents that are not closed.
    pub active: Option<bool>,
    #[param(schema_with = grade_filter)]
    pub grade: Option<String>,
    /// Incidents concerning this user.
    #[param(schema_with = crate::types::schema::user)]
    pub user: Option<String>,
    #[param(max_length = 120)]
    pub assignee: Option<String>,
    /// Continue after the previous page: its `next_cursor`.
    #[param(pattern = "^[0-9]{1,19}$")]
    pub cursor: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The `{id}` path parameter of an incident.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IncidentIdPath {
    /// The incident's id.
    #[param(minimum = 1)]
    pub id: i64,
}

/// The `{id}` and `{action}` path parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IncidentActionPath {
    #[param(minimum = 1)]
    pub id: i64,
    #[param(schema_with = action_schema)]
    pub action: String,
}

/// The `{id}` and `{step}` path parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IncidentStepPath {
    #[param(minimum = 1)]
    pub id: i64,
    /// The step's id in the playbook (`forensic_report`).
    #[param(max_length = 40)]
    pub step: String,
}
