//! JSON of access policies (`/v1/policies`), groups (`/v1/groups`), a
//! user's groups and effective policy, and dry runs; with the conversions
//! from and to the core's policy types (a value that does not parse is a
//! 400 naming its field).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warden_core::scoped::{
    parse_network, Hours, Place, PolicyMode, PolicyRules, PolicyVersion, Rule, ScopedRule,
};
use warden_core::{ProtectionLevel, Protocol};
use warden_service::policies::admin::PolicyInput;
use warden_service::policies::dry_run::DryRunReport;

use crate::error::ApiError;
use crate::types::{rfc3339, LocationDto};

/// Allowed hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HoursDto {
    /// Weekdays: `mon-fri`, `mon,wed,fri`.
    #[schema(example = "mon-fri", max_length = 64)]
    pub days: String,
    /// `HH:MM-HH:MM`, local time at the offset; a span past midnight
    /// belongs to the day it starts on.
    #[schema(example = "08:00-19:00", max_length = 16)]
    pub span: String,
    /// The organisation's offset from UTC in minutes (480: UTC+8).
    #[schema(example = 480, minimum = -840, maximum = 840)]
    pub utc_offset_minutes: i32,
}

/// The rules of one policy; a field left out (or null) is inherited from
/// the next broader scope (user over group over organisation over the
/// configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesDto {
    /// Only these addresses or CIDR networks may log in (office + VPN).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["198.51.100.0/24", "2001:db8:10::/48"]), max_items = 256, min_items = 1)]
    pub allowlist: Option<Vec<String>>,
    /// Only these countries (`CN`) or regions (`CN/Guangdong`) may log in;
    /// the organisation's own ranges pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["CN", "HK"]), max_items = 256, min_items = 1)]
    pub geo_allow: Option<Vec<String>>,
    /// These countries or regions may not log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["KP"]), max_items = 256, min_items = 1)]
    pub geo_block: Option<Vec<String>>,
    /// Only these protocols: imap, pop3, smtp, web, im, api, dav.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["imap", "smtp", "web"]), max_items = 7, min_items = 1)]
    pub protocols: Option<Vec<String>>,
    /// Mail clients must use TLS (false turns a broader true off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<HoursDto>,
    /// `off`, `challenged`, `new_city`, `new_city_or_device`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "new_city",
        pattern = "^(off|challenged|new_city|new_city_or_device)$"
    )]
    pub login_protection: Option<String>,
    /// A new device waits for approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_device_approval: Option<bool>,
    /// Sensitive operations need a step-up at most this many minutes old
    /// (0: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1440)]
    pub step_up_minutes: Option<u32>,
}

/// A policy as an admin writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    /// Its name in refusals (`office-only`).
    #[schema(example = "office-only", min_length = 1, max_length = 64)]
    pub name: String,
    /// `enforce` (default), `report_only` (breaches are logged and
    /// published, nothing refused) or `off` (stored for a dry run).
    #[schema(example = "report_only", pattern = "^(enforce|report_only|off)$")]
    pub mode: Option<String>,
    pub rules: RulesDto,
    /// Why (kept with the version; one line, at most 500 characters).
    #[schema(max_length = 500)]
    pub comment: Option<String>,
}

/// One version of a policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyDto {
    #[schema(example = "org")]
    pub scope: String,
    #[schema(example = "example")]
    pub target: String,
    pub version: u32,
    #[schema(example = "office-only")]
    pub name: String,
    #[schema(example = "enforce")]
    pub mode: String,
    /// This version removed the policy.
    pub removed: bool,
    pub rules: RulesDto,
    /// Who made it.
    #[schema(example = "admin")]
    pub actor: String,
    pub ip: Option<String>,
    pub comment: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// The version this one restored.
    pub restored_from: Option<u32>,
}

/// The current policies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoliciesResponse {
    pub policies: Vec<PolicyDto>,
}

/// A policy's versions, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyHistoryResponse {
    pub versions: Vec<PolicyDto>,
}

/// How many versions.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Why a policy is removed.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RemoveParams {
    #[param(max_length = 500)]
    pub comment: Option<String>,
}

/// Which version to restore.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    #[schema(minimum = 1)]
    pub version: u32,
    #[schema(max_length = 500)]
    pub comment: Option<String>,
}

/// What to try.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// How many days of history (default 30).
    #[schema(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
    /// The policy to try; without it, the scope's stored policy (whatever
    /// its mode).
    pub policy: Option<PolicyRequest>,
}

/// A login the policy would have refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunExampleDto {
    pub user: String,
    pub ip: String,
    /// RFC 3339.
    pub ts: String,
    pub protocol: String,
    /// `success` or the failure.
    pub outcome: String,
    pub location: LocationDto,
    pub reason: String,
    pub reason_zh: String,
}

/// What a policy would have refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunResponse {
    pub scope: String,
    pub target: String,
    pub days: u32,
    /// RFC 3339: the window's start.
    pub since: String,
    /// Logins read: at most 200,000, the newest of the window.
    pub scanned: u64,
    /// The window held more logins than were read.
    pub truncated: bool,
    /// Logins of users the scope covers.
    pub covered: u64,
    /// Logins the policy would have refused...
    pub refused: u64,
    /// ...of which had succeeded.
    pub refused_successes: u64,
    /// Distinct users among them.
    pub users: u64,
    /// Refusals per rule.
    #[schema(example = json!({"allowlist": 3}))]
    pub by_rule: std::collections::BTreeMap<String, u64>,
    /// The newest refusals (at most 20).
    pub examples: Vec<DryRunExampleDto>,
}

/// A user's groups.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupsRequest {
    /// Group names (1 to 64 of a-z, 0-9, `.`, `_`, `-`, `@`); at most 32;
    /// an empty list takes the user out of every group.
    #[schema(example = json!(["sales"]), max_items = 32)]
    pub groups: Vec<String>,
}

/// A user's groups, as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserGroupsResponse {
    pub user: String,
    pub groups: Vec<String>,
}

/// A group in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupSummaryDto {
    pub name: String,
    pub members: usize,
    /// The group's policy's name, if it has one.
    pub policy: Option<String>,
}

/// Every group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupsResponse {
    pub groups: Vec<GroupSummaryDto>,
}

/// One group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupDto {
    pub name: String,
    pub members: Vec<String>,
    pub policy: Option<PolicyDto>,
}

/// Where an effective rule comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleSourceDto {
    pub scope: String,
    pub target: String,
    pub name: String,
    pub version: u32,
    pub mode: String,
}

/// One access rule in force for a user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectiveRuleDto {
    /// `allowlist`, `geo_allow`, `geo_block`, `protocols`, `tls_required`,
    /// `hours`.
    pub rule: String,
    /// The rule's values (networks, places, protocols, or the hours as
    /// `mon-fri 08:00-19:00 +480`).
    pub values: Vec<String>,
    pub source: RuleSourceDto,
}

/// A user's effective policy and where it comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectivePolicyResponse {
    pub user: String,
    pub org: Option<String>,
    pub groups: Vec<String>,
    pub login_protection: String,
    pub new_device_approval: bool,
    pub step_up_minutes: u32,
    pub rules: Vec<EffectiveRuleDto>,
    /// The policies that apply, narrowest first (user, groups, org).
    pub layers: Vec<PolicyDto>,
}

fn list<T>(
    field: &str,
    v: &Option<Vec<String>>,
    one: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, ApiError> {
    v.as_ref()
        .map(|v| {
            v.iter()
                .map(|s| one(s).map_err(|e| ApiError::bad(format!("rules.{field}: {e}"))))
                .collect()
        })
        .transpose()
}

impl RulesDto {
    /// The core's rules; a value that does not parse is a 400 naming it.
    pub fn parse(&self) -> Result<PolicyRules, ApiError> {
        let protocol = |s: &str| s.parse::<Protocol>().map_err(|e| e.to_string());
        Ok(PolicyRules {
            allowlist: list("allowlist", &self.allowlist, parse_network)?,
            geo_allow: list("geo_allow", &self.geo_allow, Place::parse)?,
            geo_block: list("geo_block", &self.geo_block, Place::parse)?,
            protocols: list("protocols", &self.protocols, protocol)?,
            tls_required: self.tls_required,
            hours: self
                .hours
                .as_ref()
                .map(|h| Hours::parse(&h.days, &h.span, h.utc_offset_minutes))
                .transpose()
                .map_err(|e| ApiError::bad(format!("rules.hours: {e}")))?,
            login_protection: self
                .login_protection
                .as_deref()
                .map(str::parse::<ProtectionLevel>)
                .transpose()
                .map_err(|e| ApiError::bad(format!("rules.login_protection: {e}")))?,
            new_device_approval: self.new_device_approval,
            step_up_minutes: self.step_up_minutes,
        })
    }

    pub fn of(r: &PolicyRules) -> Self {
        RulesDto {
            allowlist: r
                .allowlist
                .as_ref()
                .map(|v| v.iter().map(ToString::to_string).collect()),
            geo_allow: r
                .geo_allow
                .as_ref()
                .map(|v| v.iter().map(ToString::to_string).collect()),
            geo_block: r
                .geo_block
                .as_ref()
                .map(|v| v.iter().map(ToString::to_string).collect()),
            protocols: r
                .protocols
                .as_ref()
                .map(|v| v.iter().map(|p| p.as_str().to_string()).collect()),
            tls_required: r.tls_required,
            hours: r.hours.map(|h| HoursDto {
                days: h.days_text(),
                span: h.span_text(),
                utc_offset_minutes: h.utc_offset_minutes,
            }),
            login_protection: r.login_protection.map(|l| l.as_str().to_string()),
            new_device_approval: r.new_device_approval,
            step_up_minutes: r.step_up_minutes,
        }
    }
}

impl PolicyRequest {
    /// The service's input; a value that does not parse is a 400.
    pub fn parse(&self) -> Result<PolicyInput, ApiError> {
        let mode = match self.mode.as_deref() {
            None => PolicyMode::Enforce,
            Some(m) => m.parse().map_err(|e| ApiError::bad(format!("mode: {e}")))?,
        };
        Ok(PolicyInput {
            name: self.name.clone(),
            mode,
            rules: self.rules.parse()?,
            comment: self.comment.clone(),
        })
    }
}

impl PolicyDto {
    pub fn of(v: &PolicyVersion) -> Self {
        PolicyDto {
            scope: v.scope.as_str().to_string(),
            target: v.target.to_string(),
            version: v.version,
            name: v.name.clone(),
            mode: v.mode.as_str().to_string(),
            removed: v.removed,
            rules: RulesDto::of(&v.rules),
            actor: v.actor.clone(),
            ip: v.ip.map(|ip| ip.to_string()),
            comment: v.comment.clone(),
            created_at: rfc3339(v.created_at),
            restored_from: v.restored_from,
        }
    }
}

impl EffectiveRuleDto {
    pub fn of(r: &ScopedRule) -> Self {
        let (rule, values): (&str, Vec<String>) = match &r.rule {
            Rule::Allowlist(v) => ("allowlist", v.iter().map(ToString::to_string).collect()),
            Rule::GeoAllow(v) => ("geo_allow", v.iter().map(ToString::to_string).collect()),
            Rule::GeoBlock(v) => ("geo_block", v.iter().map(ToString::to_string).collect()),
            Rule::Protocols(v) => (
                "protocols",
                v.iter().map(|p| p.as_str().to_string()).collect(),
            ),
            Rule::TlsRequired => ("tls_required", Vec::new()),
            Rule::Hours(h) => (
                "hours",
                vec![format!(
                    "{} {} {:+}",
                    h.days_text(),
                    h.span_text(),
                    h.utc_offset_minutes
                )],
            ),
        };
        let s = &r.source;
        EffectiveRuleDto {
            rule: rule.to_string(),
            values,
            source: RuleSourceDto {
                scope: s.scope.as_str().to_string(),
                target: s.target.to_string(),
                name: s.name.clone(),
                version: s.version,
                mode: s.mode.as_str().to_string(),
            },
        }
    }
}

impl DryRunResponse {
    pub fn of(r: &DryRunReport) -> Self {
        DryRunResponse {
            scope: r.scope.as_str().to_string(),
            target: r.target.to_string(),
            days: r.days,
            since: rfc3339(r.since),
            scanned: r.scanned,
            truncated: r.truncated,
            covered: r.covered,
            refused: r.refused,
            refused_successes: r.refused_successes,
            users: r.users,
            by_rule: r.by_rule.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            examples: r
                .examples
                .iter()
                .map(|e| DryRunExampleDto {
                    user: e.user.clone(),
                    ip: e.ip.to_string(),
                    ts: rfc3339(e.ts),
                    protocol: e.protocol.as_str().to_string(),
                    outcome: match e.outcome {
                        warden_core::Outcome::Success => "success".to_string(),
                        warden_core::Outcome::Failure(r) => r.as_str().to_string(),
                    },
                    location: LocationDto::from(&e.location),
                    reason: e.reason.0.clone(),
                    reason_zh: e.reason.1.clone(),
                })
                .collect(),
        }
    }
}
