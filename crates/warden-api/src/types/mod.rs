//! The API's own JSON request and response types, and their conversions
//! from the core's types. Only this layer knows JSON.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warden_core::countries;
use warden_core::{
    AnonymizerKind, Assessment, Decision, FailureReason, IpInfo, Level, Location, Outcome,
    Protocol, Reason, Timestamp,
};

use crate::error::ApiError;

pub mod accounts;
pub mod alerts;
pub mod answers;
pub mod audit;
pub mod dovecot;
pub mod incidents;
pub mod notify;
pub mod operations;
pub mod policies;
pub mod reports;
pub mod schema;
pub mod sessions;
pub mod stepup;

/// Protocol of the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolDto {
    Imap,
    Pop3,
    Smtp,
    Web,
    Im,
    Api,
    /// CalDAV / CardDAV.
    #[serde(alias = "caldav", alias = "carddav")]
    Dav,
}

impl From<ProtocolDto> for Protocol {
    fn from(p: ProtocolDto) -> Self {
        match p {
            ProtocolDto::Imap => Protocol::Imap,
            ProtocolDto::Pop3 => Protocol::Pop3,
            ProtocolDto::Smtp => Protocol::Smtp,
            ProtocolDto::Web => Protocol::Web,
            ProtocolDto::Im => Protocol::Im,
            ProtocolDto::Api => Protocol::Api,
            ProtocolDto::Dav => Protocol::Dav,
        }
    }
}

/// How the login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeDto {
    Success,
    Failure,
}

/// Why the login failed, when known. `verification_required`: a step-up
/// (a confirmation, a second factor) was asked for and not passed; the
/// name `/v1/auth/verify` and the diagnosis use. Its former name
/// `challenge_failed` is still accepted in requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReasonDto {
    WrongPassword,
    UnknownUser,
    #[serde(alias = "challenge_failed")]
    VerificationRequired,
    Blocked,
    Other,
}

impl From<FailureReason> for FailureReasonDto {
    fn from(f: FailureReason) -> Self {
        match f {
            FailureReason::WrongPassword => FailureReasonDto::WrongPassword,
            FailureReason::UnknownUser => FailureReasonDto::UnknownUser,
            FailureReason::ChallengeFailed => FailureReasonDto::VerificationRequired,
            FailureReason::Blocked => FailureReasonDto::Blocked,
            FailureReason::Other => FailureReasonDto::Other,
        }
    }
}

impl From<FailureReasonDto> for FailureReason {
    fn from(f: FailureReasonDto) -> Self {
        match f {
            FailureReasonDto::WrongPassword => FailureReason::WrongPassword,
            FailureReasonDto::UnknownUser => FailureReason::UnknownUser,
            FailureReasonDto::VerificationRequired => FailureReason::ChallengeFailed,
            FailureReasonDto::Blocked => FailureReason::Blocked,
            FailureReasonDto::Other => FailureReason::Other,
        }
    }
}

/// Builds the core outcome from the wire fields.
pub fn outcome(o: OutcomeDto, reason: Option<FailureReasonDto>) -> Result<Outcome, ApiError> {
    match (o, reason) {
        (OutcomeDto::Success, None) => Ok(Outcome::Success),
        (OutcomeDto::Success, Some(_)) => Err(ApiError::bad(
            "failure_reason is only allowed with outcome \"failure\"",
        )),
        (OutcomeDto::Failure, r) => Ok(Outcome::Failure(
            r.map_or(FailureReason::WrongPassword, Into::into),
        )),
    }
}

/// A login attempt, as sent before the password check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    #[schema(schema_with = schema::user)]
    pub user: String,
    #[schema(schema_with = schema::ip)]
    pub ip: String,
    pub protocol: ProtocolDto,
    /// When the attempt happened (RFC 3339); defaults to now. At most five
    /// minutes in the future and 366 days in the past.
    #[schema(example = "2026-03-01T09:00:00+08:00")]
    pub ts: Option<String>,
    /// A stable device identifier, when the client sends one (at most
    /// 256 bytes, no control characters).
    #[schema(max_length = 256)]
    pub device: Option<String>,
    /// A browser user agent or an IMAP `ID` string (at most 1024 bytes, no
    /// control characters).
    #[schema(
        example = "(\"name\" \"Thunderbird\" \"version\" \"115.3\")",
        max_length = 1024
    )]
    pub user_agent: Option<String>,
}

/// A reason behind a decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonDto {
    /// Machine-readable code, e.g. `unusual_country`, `impossible_travel`,
    /// `brute_force_lockout`.
    #[schema(example = "unusual_country")]
    pub code: String,
    /// What this reason added to the risk (for `known_org_ip`: the share removed).
    pub weight: f32,
    /// Whether this reason alone makes a successful login worth an alert.
    pub alert: bool,
    /// English text.
    #[schema(example = "Login from Lagos, NG; usual places: Shenzhen, CN")]
    pub text: String,
    /// Chinese text.
    #[schema(example = "异地登录：尼日利亚 拉各斯，常用登录地：中国 深圳")]
    pub text_zh: String,
}

impl ReasonDto {
    pub fn from_core(r: &Reason, utc_offset_minutes: i32) -> Self {
        ReasonDto {
            code: r.code.as_str().to_string(),
            weight: round4(r.weight),
            alert: r.alert,
            text: r.text_en(utc_offset_minutes),
            text_zh: r.text_zh(utc_offset_minutes),
        }
    }
}

/// `allow`, `challenge` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionDto {
    Allow,
    Challenge,
    Deny,
}

impl From<Decision> for DecisionDto {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Allow => DecisionDto::Allow,
            Decision::Challenge => DecisionDto::Challenge,
            Decision::Deny => DecisionDto::Deny,
        }
    }
}

/// `low`, `medium` or `high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LevelDto {
    Low,
    Medium,
    High,
}

impl From<Level> for LevelDto {
    fn from(l: Level) -> Self {
        match l {
            Level::Low => LevelDto::Low,
            Level::Medium => LevelDto::Medium,
            Level::High => LevelDto::High,
        }
    }
}

/// Where an address is, as far as the data knows.
#[derive(Debug, Clone, Serialize, ToSchema, Default)]
pub struct LocationDto {
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub country_name_zh: Option<String>,
    pub region: Option<String>,
    pub region_zh: Option<String>,
    pub city: Option<String>,
    pub city_zh: Option<String>,
    pub latitude: Option<f32>,
    pub longitude: Option<f32>,
    pub accuracy_km: Option<u16>,
    pub time_zone: Option<String>,
}

impl From<&Location> for LocationDto {
    fn from(l: &Location) -> Self {
        let s = |v: &Option<warden_core::Name>| v.as_deref().map(str::to_string);
        LocationDto {
            country: l.country.map(|c| c.as_str().to_string()),
            country_name: l.country.map(|c| countries::name_en(c).to_string()),
            country_name_zh: l.country.map(|c| countries::name_zh(c).to_string()),
            region: s(&l.region),
            region_zh: s(&l.region_zh),
            city: s(&l.city),
            city_zh: s(&l.city_zh),
            latitude: l.coords.map(|c| c.lat),
            longitude: l.coords.map(|c| c.lon),
            accuracy_km: l.accuracy_km,
            time_zone: s(&l.time_zone),
        }
    }
}

/// What network an address belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkDto {
    pub asn: Option<u32>,
    pub organisation: Option<String>,
    /// A hosting / cloud / datacenter network.
    pub datacenter: bool,
    /// `tor`, `vpn` or `proxy` when the address is on a configured list.
    pub anonymizer: Option<String>,
    /// Name of the organisation's own range holding the address.
    pub org_range: Option<String>,
}

/// Geolocation attribution required by the DB-IP licence (CC BY 4.0).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributionDto {
    #[schema(example = "IP geolocation by DB-IP")]
    pub text: &'static str,
    #[schema(example = "https://db-ip.com")]
    pub url: &'static str,
}

impl Default for AttributionDto {
    fn default() -> Self {
        AttributionDto {
            text: warden_geo::ATTRIBUTION,
            url: warden_geo::ATTRIBUTION_URL,
        }
    }
}

/// What Warden knows about an address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IpInfoDto {
    pub ip: String,
    pub location: LocationDto,
    pub network: NetworkDto,
    /// The location comes from an admin correction.
    pub corrected: bool,
    pub attribution: AttributionDto,
}

impl From<&IpInfo> for IpInfoDto {
    fn from(i: &IpInfo) -> Self {
        IpInfoDto {
            ip: i.ip.to_string(),
            location: (&i.location).into(),
            network: NetworkDto {
                asn: i.network.asn,
                organisation: i.network.organisation.as_deref().map(str::to_string),
                datacenter: i.network.datacenter,
                anonymizer: i
                    .network
                    .anonymizer
                    .map(|a: AnonymizerKind| a.as_str().to_string()),
                org_range: i.network.org_range.as_deref().map(str::to_string),
            },
            corrected: i.corrected,
            attribution: AttributionDto::default(),
        }
    }
}

/// The answer to an evaluation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluateResponse {
    /// Pass this to `/v1/report` with the outcome (valid for ten minutes).
    pub evaluation_id: String,
    pub decision: DecisionDto,
    /// Risk score in [0, 1].
    pub risk: f32,
    pub level: LevelDto,
    /// Tell the user and the admin if this login succeeds.
    pub alert: bool,
    pub reasons: Vec<ReasonDto>,
    pub ip: IpInfoDto,
}

/// Decision fields shared by evaluate and report answers.
pub fn assessment_fields(
    a: &Assessment,
    offset: i32,
) -> (DecisionDto, f32, LevelDto, bool, Vec<ReasonDto>) {
    (
        a.decision.into(),
        round4(a.risk),
        a.level.into(),
        a.alert,
        a.reasons
            .iter()
            .map(|r| ReasonDto::from_core(r, offset))
            .collect(),
    )
}

/// The outcome of a login, after the password check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// From a previous `/v1/evaluate`; then the attempt's fields may be
    /// omitted (if given, `user` must match).
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
    pub evaluation_id: Option<String>,
    #[schema(schema_with = schema::user_opt)]
    pub user: Option<String>,
    #[schema(schema_with = schema::ip_opt)]
    pub ip: Option<String>,
    pub protocol: Option<ProtocolDto>,
    /// When the login happened (RFC 3339); defaults to now. At most five
    /// minutes in the future and 366 days in the past.
    pub ts: Option<String>,
    #[schema(max_length = 256)]
    pub device: Option<String>,
    #[schema(max_length = 1024)]
    pub user_agent: Option<String>,
    pub outcome: OutcomeDto,
    /// Only with `outcome: failure`; defaults to `wrong_password`
    /// (`challenge_failed` is accepted for `verification_required`).
    pub failure_reason: Option<FailureReasonDto>,
    /// Only with a wrong password: a short stable hash of the password
    /// that failed (as Dovecot's `pwhash`; hex, or any string up to 128
    /// characters), so a client repeating one stale password counts as one
    /// guess, not one per retry. Never send the password itself.
    #[schema(example = "0d52", max_length = 128)]
    pub password_fingerprint: Option<String>,
}

/// What was recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportResponse {
    /// The event is durably stored in the login history.
    pub recorded: bool,
    pub user: String,
    pub ts: String,
    pub decision: DecisionDto,
    pub risk: f32,
    pub level: LevelDto,
    /// A successful login that should be alerted.
    pub alert: bool,
    pub reasons: Vec<ReasonDto>,
}

/// Paging for the login history.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// At most this many events (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only events strictly before this time (RFC 3339). Not with `cursor`.
    #[param(format = DateTime)]
    pub before: Option<String>,
    /// Continue after the previous page: its `next_cursor`. Not with
    /// `before`.
    #[param(pattern = "^[+-]?[0-9]+\\.[+-]?[0-9]+$")]
    pub cursor: Option<String>,
}

/// One login in the history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDto {
    pub id: Option<i64>,
    pub ts: String,
    pub ip: String,
    pub protocol: ProtocolDto,
    pub outcome: OutcomeDto,
    /// With `outcome: failure`. `verification_required` was called
    /// `challenge_failed` in earlier versions.
    pub failure_reason: Option<FailureReasonDto>,
    /// With `outcome: failure`: why, by the verify reason's name (as
    /// `/v1/auth/verify` and the diagnosis name it: `wrong_password`,
    /// `app_password_required`, `verification_required`, ...). Stored by
    /// Warden's credential check; for a login the mail server checked,
    /// derived from `failure_reason` and the risk reasons.
    #[schema(example = "verification_required")]
    pub verify_reason: Option<String>,
    pub device: Option<String>,
    /// The client as a person reads it (`Thunderbird 115.3`, `Chrome on
    /// Windows`), from `user_agent`.
    #[schema(example = "Thunderbird 115.3")]
    pub client: Option<String>,
    /// The user agent or IMAP `ID` string as the client sent it.
    #[schema(example = "(\"name\" \"Thunderbird\" \"version\" \"115.3\")")]
    pub user_agent: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub asn: Option<u32>,
    pub decision: DecisionDto,
    pub risk: f32,
    pub level: LevelDto,
    pub alert: bool,
    pub reasons: Vec<String>,
}

/// A page of a user's login history, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryResponse {
    pub user: String,
    pub events: Vec<EventDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub attribution: AttributionDto,
}

/// A remembered place with its weight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsualPlaceDto {
    pub place: LocationDto,
    /// Recency-weighted count of logins (halves every half-life).
    pub weight: f32,
    pub last_seen: String,
}

/// A remembered country.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsualCountryDto {
    pub country: String,
    pub name: String,
    pub name_zh: String,
    pub weight: f32,
    pub last_seen: String,
}

/// A remembered network.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsualNetworkDto {
    pub asn: u32,
    pub weight: f32,
    pub last_seen: String,
}

/// The last successful login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastLoginDto {
    pub ts: String,
    pub place: Option<LocationDto>,
}

/// A user's learned habits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub user: String,
    pub logins: u32,
    pub first_seen: String,
    /// Still in the learning period (fewer successful logins than needed).
    pub learning: bool,
    pub usual_places: Vec<UsualPlaceDto>,
    pub countries: Vec<UsualCountryDto>,
    pub networks: Vec<UsualNetworkDto>,
    /// Distinct devices remembered.
    pub devices: usize,
    /// Distinct client programs remembered.
    pub clients: usize,
    /// Share of logins per hour of day (organisation time), 24 values.
    pub hours: Vec<f32>,
    pub last_success: Option<LastLoginDto>,
    /// Sessions opened within the session lifetime.
    pub open_sessions: usize,
    pub attribution: AttributionDto,
}

/// An admin's geolocation correction, as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// CIDR, e.g. `113.88.0.0/16` or `2001:db8::/32` (an address alone is
    /// its own /32 or /128).
    #[schema(example = "113.88.0.0/16")]
    pub network: String,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "CN")]
    pub country: String,
    pub region: Option<String>,
    pub region_zh: Option<String>,
    pub city: Option<String>,
    pub city_zh: Option<String>,
    /// With `longitude`.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: Option<f32>,
    /// With `latitude`.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: Option<f32>,
    #[schema(maximum = 65535)]
    pub accuracy_km: Option<u16>,
    pub time_zone: Option<String>,
    /// Why (who reported it, ticket number...).
    pub note: Option<String>,
}

/// A stored geolocation correction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectionDto {
    /// CIDR, e.g. `113.88.0.0/16` or `2001:db8::/32`.
    #[schema(example = "113.88.0.0/16")]
    pub network: String,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "CN")]
    pub country: String,
    pub region: Option<String>,
    pub region_zh: Option<String>,
    pub city: Option<String>,
    pub city_zh: Option<String>,
    pub latitude: Option<f32>,
    pub longitude: Option<f32>,
    pub accuracy_km: Option<u16>,
    pub time_zone: Option<String>,
    /// Why (who reported it, ticket number...).
    pub note: Option<String>,
    /// When it was stored (RFC 3339).
    pub created_at: String,
}

/// All corrections.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectionsResponse {
    pub corrections: Vec<CorrectionDto>,
}

/// Which correction to delete.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteCorrectionParams {
    /// The CIDR of the correction.
    pub network: String,
}

/// Liveness.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Readiness with the state of each dependency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadyResponse {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// `ok` or the error.
    pub storage: String,
    /// A city database is loaded.
    pub geo_city: bool,
    /// ASN tables are loaded.
    pub geo_asn: bool,
    pub profiles: usize,
}

/// Rounds to four decimals for stable output.
pub fn round4(v: f32) -> f32 {
    (v * 10_000.0).round() / 10_000.0
}

/// RFC 3339 text of a timestamp.
pub fn rfc3339(ts: Timestamp) -> String {
    jiff::Timestamp::from_second(ts.secs())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ts.secs().to_string())
}

/// Parses an RFC 3339 timestamp field.
pub fn parse_ts(field: &str, v: &str) -> Result<Timestamp, ApiError> {
    v.parse::<jiff::Timestamp>()
        .map(|t| Timestamp(t.as_second()))
        .map_err(|e| ApiError::bad(format!("{field}: invalid RFC 3339 timestamp {v:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_up_is_verification_required_and_the_old_name_is_still_read() {
        for name in ["verification_required", "challenge_failed"] {
            let r: FailureReasonDto = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(r, FailureReasonDto::VerificationRequired);
            assert_eq!(FailureReason::from(r), FailureReason::ChallengeFailed);
        }
        assert_eq!(
            serde_json::to_value(FailureReasonDto::from(FailureReason::ChallengeFailed)).unwrap(),
            "verification_required"
        );
        // Every core reason survives the round trip.
        for f in FailureReason::ALL {
            assert_eq!(FailureReason::from(FailureReasonDto::from(f)), f);
        }
    }
}
