//! JSON of "was this you?" answered by an admin or webmail for the user,
//! and of the admins' queue of location complaints.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An answer given for the user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// `it_was_me`, `not_me` or `wrong_location`.
    #[schema(example = "not_me", pattern = "^(it_was_me|not_me|wrong_location)$")]
    pub answer: String,
    /// With `wrong_location`: where the user says they were (one line; cut
    /// to 500 characters).
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// What an answer did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerResponse {
    pub alert_id: i64,
    #[schema(example = "not_me")]
    pub answer: String,
    /// The alert's state now (`closed`).
    pub state: String,
    /// `not_me`: the critical `login_disowned` alert raised for the admins.
    pub disowned_alert: Option<i64>,
    /// `not_me`: the network now refused for the account (null when it was
    /// blocked already).
    #[schema(example = "203.0.113.0/24")]
    pub blocked: Option<String>,
    /// `not_me`: the account's sessions and codes were revoked and a new
    /// password is required (false when Warden keeps no account for the
    /// user).
    pub account_cut_off: bool,
    /// `wrong_location`: the queued complaint's id.
    pub queued_correction: Option<i64>,
}

/// Which complaints to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// Only complaints in this state.
    #[param(pattern = "^(pending|accepted|rejected)$")]
    pub state: Option<String>,
    /// Continue after this id (the previous page's `next_after`).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A queued location complaint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedCorrectionDto {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub user: String,
    #[schema(example = "113.88.1.10")]
    pub ip: String,
    /// Where the geolocation data placed the address.
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    /// Where the user says they were.
    pub comment: String,
    /// `pending`, `accepted` or `rejected`.
    pub state: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
}

/// A page of complaints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueResponse {
    pub requests: Vec<QueuedCorrectionDto>,
    /// Pass as `after` for the next page; null on the last one.
    pub next_after: Option<i64>,
}

/// Accepting a complaint: the place the address is really in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptCorrectionRequest {
    /// The network to correct (CIDR), holding the complained address;
    /// default: the address alone.
    #[schema(example = "113.88.1.0/24")]
    pub network: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "CN")]
    pub country: String,
    pub region: Option<String>,
    pub region_zh: Option<String>,
    pub city: Option<String>,
    pub city_zh: Option<String>,
    pub time_zone: Option<String>,
    /// Why (kept with the correction; default: the complaint's id).
    pub note: Option<String>,
    /// The admin deciding (default `api`).
    #[schema(max_length = 64)]
    pub by: Option<String>,
}

/// Accept or reject: who decided (an admin's name for the record).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectCorrectionRequest {
    /// The admin deciding (default `api`).
    #[schema(max_length = 64)]
    pub by: Option<String>,
}

/// One earlier answer of the user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviousAnswerDto {
    pub alert_id: i64,
    pub kind: String,
    /// `it_was_me`, `not_me` or `wrong_location`.
    pub answer: String,
    pub answered_at: Option<String>,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
}

/// The facts an admin reviewing an alert needs (Tencent's checklist: the
/// user themselves? someone sharing the account? the user's own egress —
/// VPN, mobile carrier, datacenter?).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertReviewResponse {
    pub alert_id: i64,
    pub kind: String,
    pub grade: String,
    pub state: String,
    pub user: Option<String>,
    /// When the login happened (RFC 3339).
    pub ts: String,
    pub answer: Option<String>,
    /// The address as Warden sees it now: place, network (datacenter,
    /// anonymizer, the organisation's own range).
    pub ip: Option<crate::types::IpInfoDto>,
    /// For a carrier announcing many AS numbers (a mobile carrier's
    /// provinces), the group's main AS number.
    pub carrier_group: Option<u32>,
    /// The user has a profile Warden learned.
    pub profiled: bool,
    /// The user's usual places now, strongest first.
    pub usual_places: Vec<crate::types::LocationDto>,
    /// The user's usual networks (AS numbers).
    pub usual_networks: Vec<u32>,
    /// The alert's network is one of the user's usual ones.
    pub network_usual: bool,
    /// Other users with a login from the same address in the last 30 days
    /// (at most 20; among the newest 200,000 logins).
    pub other_users: Vec<String>,
    /// The user's earlier answers, newest first (at most 20).
    pub previous_answers: Vec<PreviousAnswerDto>,
    /// The network blocked for the user that holds the address.
    pub blocked: Option<String>,
}

/// The networks refused for an account (the user disowned a login from
/// each).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceBlocksResponse {
    pub user: String,
    /// CIDRs (the /24 or /64 of each disowned login).
    #[schema(example = json!(["105.112.7.0/24"]))]
    pub blocks: Vec<String>,
}

/// Which block to lift.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LiftBlockParams {
    /// The blocked CIDR.
    pub network: String,
}
