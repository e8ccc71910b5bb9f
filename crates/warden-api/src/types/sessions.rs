//! JSON of a user's sessions and devices: the list, the actions on one
//! device and logging out everywhere.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One device's session: opened by its first successful login, refreshed
/// by every later one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionDto {
    /// The id the actions take.
    pub id: i64,
    /// The device key: `id:` and the client's device id, else its client
    /// family and protocol.
    #[schema(example = "thunderbird/imap")]
    pub device: String,
    #[schema(example = "Thunderbird 115.3")]
    pub client: Option<String>,
    #[schema(example = "Linux")]
    pub os: Option<String>,
    /// The protocol of the last login.
    #[schema(example = "imap")]
    pub protocol: String,
    /// The address of the last login.
    #[schema(example = "113.88.1.10")]
    pub ip: String,
    #[schema(example = "CN")]
    pub country: Option<String>,
    #[schema(example = "Shenzhen")]
    pub city: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// `active`; `pending`: a new device waiting for approval; `revoked`:
    /// signed out (refused until it brings a credential issued since, or
    /// is approved again).
    #[schema(example = "active", pattern = "^(active|pending|revoked)$")]
    pub state: String,
    /// When the state was set (approved, pending since, signed out at).
    pub state_at: String,
    /// Who set it: `user`, `admin` or `system`.
    #[schema(example = "system")]
    pub state_by: String,
    /// Trusted until then.
    pub trusted_until: Option<String>,
}

/// A user's sessions, most recently seen first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionList {
    pub user: String,
    pub sessions: Vec<SessionDto>,
}

/// Who acts: an admin (no body), or the user through webmail (their live
/// web session's token).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionActionRequest {
    /// The user's own web session (`/v1/auth/login`): the action is the
    /// user's (self-service); it must be a live session of this user.
    #[schema(max_length = 200)]
    pub session_token: Option<String>,
}

/// Trust a device for a while.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// How many days (1 to 90 by default, `devices.max_trust_days`).
    #[schema(minimum = 1, maximum = 3650, example = 30)]
    pub days: u32,
    /// As in [`SessionActionRequest`].
    #[schema(max_length = 200)]
    pub session_token: Option<String>,
}

/// Log out everywhere.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutAllRequest {
    /// Revoke every authorization code too (default false): the next IMAP
    /// login with an old code fails.
    #[serde(default)]
    pub app_passwords: bool,
    /// As in [`SessionActionRequest`].
    #[schema(max_length = 200)]
    pub session_token: Option<String>,
}

/// What logging out everywhere did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LogoutAllResponse {
    pub user: String,
    /// Device sessions signed out.
    pub sessions: u64,
    /// The account's web sessions were ended (false when Warden keeps no
    /// account for the user).
    pub web_sessions: bool,
    /// Authorization codes revoked.
    pub app_passwords: u32,
    pub at: String,
}

/// The `{id}` path parameter of a session.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionIdPath {
    /// The session's id.
    #[param(minimum = 1)]
    pub id: i64,
}
