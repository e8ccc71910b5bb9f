//! JSON of verification: step-ups of a web session, the sign-ins login
//! protection refused (listed and confirmed by their user), and the
//! security contact change that needs a step-up.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a step-up began.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepUpStartDto {
    /// `totp` (send a current TOTP code), `email` (a code was
    /// emailed to the security email) or `password` (type the password
    /// again: the account has neither TOTP nor a security email).
    pub method: &'static str,
    /// With `email`: where the code went, masked (`a***@example.com`).
    pub sent_to: Option<String>,
    /// With `email`: until when the code works (RFC 3339).
    pub code_expires_at: Option<String>,
}

/// The answer to a step-up: the code (TOTP or emailed) or the
/// password, as `POST /v1/auth/step-up/start` said.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    #[serde(default)]
    #[schema(max_length = 64)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// A step-up passed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SteppedUpDto {
    /// `totp`, `email` or `password`.
    pub method: &'static str,
    pub stepped_up_at: String,
    /// Sensitive operations with this session need no other step-up until
    /// then (the account's `step_up_minutes`; equal to `stepped_up_at`
    /// when its policy asks none).
    pub fresh_until: String,
}

/// A sign-in login protection refused (`verification_required`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefusedSignInDto {
    /// Confirm it with `POST /v1/auth/refused-sign-ins/{id}/confirm`.
    pub id: i64,
    pub ts: String,
    pub ip: String,
    pub protocol: String,
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub device: Option<String>,
    pub user_agent: Option<String>,
}

/// The session user's refused sign-ins of the last 7 days, newest first,
/// one per address, protocol and client.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefusedSignInList {
    pub user: String,
    pub sign_ins: Vec<RefusedSignInDto>,
}

/// A new security email or phone: absent leaves it, an empty string
/// removes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityContactRequest {
    #[serde(default)]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(max_length = 32)]
    pub phone: Option<String>,
}
