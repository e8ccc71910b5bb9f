//! JSON types of the account, credential and authentication routes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{schema, ProtocolDto, ReasonDto};

/// Creates or replaces an organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgRequest {
    /// Short name, e.g. `example`: at most 64 bytes, no spaces or slashes;
    /// lower-cased.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// The company name; passwords containing it are refused.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `optional` (default), `admins` or `everyone`.
    #[serde(default)]
    pub two_factor: Option<String>,
    /// Mail clients must use authorization codes even without 2FA.
    #[serde(default)]
    pub app_passwords_required: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgDto {
    pub name: String,
    pub display_name: String,
    pub two_factor: String,
    pub app_passwords_required: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// Creates an account.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    #[schema(schema_with = schema::user)]
    pub user: String,
    /// Organisation (default `default`, created on first use).
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// The language of the user's notifications, `en` or `zh` (default: the
    /// organisation's, `notify.default_lang`).
    #[serde(default)]
    #[schema(pattern = "^(en|zh)$")]
    pub lang: Option<String>,
    /// `user` (default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// Initial login password, checked against the password policy.
    #[serde(default)]
    pub password: Option<String>,
    /// The first login must set a new password.
    #[serde(default)]
    pub must_change_password: bool,
}

/// An account as the API shows it (no secrets).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountDto {
    pub user: String,
    pub org: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `en` or `zh`; absent: the organisation's default.
    pub lang: Option<String>,
    pub role: String,
    /// `active`, `locked` or `disabled`.
    pub status: String,
    pub status_reason: Option<String>,
    pub has_password: bool,
    pub password_changed_at: Option<String>,
    pub must_change_password: bool,
    /// TOTP confirmed.
    pub two_factor: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A page of accounts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountListDto {
    pub accounts: Vec<AccountDto>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountListQuery {
    /// Only accounts of this organisation.
    pub org: Option<String>,
    /// Continue after this user: the previous page's `next_after`.
    pub after: Option<String>,
    /// At most this many accounts (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Disable or lock with a reason.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Result of a bulk import.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportResponse {
    pub created: usize,
}

/// Sets the login password: an admin reset (no `current_password`) or the
/// user's own change (with it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub password: String,
    #[serde(default)]
    pub current_password: Option<String>,
    /// Keep the authorization codes (by default a new password revokes them).
    #[serde(default)]
    pub keep_app_passwords: bool,
    /// Admin reset only: the next login must change it again.
    #[serde(default)]
    pub must_change_password: bool,
}

/// Checks a candidate password without setting it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordCheckRequest {
    pub password: String,
}

/// How strong a password is (zxcvbn), with feedback.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StrengthDto {
    /// `weak` (red), `medium` (yellow) or `strong` (green).
    pub grade: String,
    /// `red`, `yellow` or `green`.
    pub colour: String,
    /// 红 / 黄 / 绿.
    pub colour_zh: String,
    /// zxcvbn score 0–4.
    pub score: u8,
    pub feedback: Vec<String>,
    pub feedback_zh: Vec<String>,
}

/// A password policy verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordCheckResponse {
    /// Passes the policy.
    pub acceptable: bool,
    /// Why not (`password_too_short`, `password_common`, ...).
    pub violation: Option<String>,
    pub message: Option<String>,
    pub message_zh: Option<String>,
    pub strength: Option<StrengthDto>,
}

/// The password was set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordSetResponse {
    pub user: String,
    pub strength: StrengthDto,
    /// Authorization codes revoked by the change.
    pub app_passwords_revoked: u32,
}

/// Creates an authorization code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppPasswordRequest {
    /// What the user calls it ("Foxmail on office PC"): 1 to 100
    /// characters, not blank.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Allowed protocols; default imap, pop3, smtp, dav.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub protocols: Option<Vec<ProtocolDto>>,
    /// Expires after this many days (default never).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36500)]
    pub expires_in_days: Option<u32>,
}

/// A code, as listed (never the code itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppPasswordDto {
    pub id: i64,
    pub name: String,
    pub protocols: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Usable now.
    pub live: bool,
}

/// A new code: shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppPasswordCreated {
    #[serde(flatten)]
    pub info: AppPasswordDto,
    /// The code, in groups of four (spaces are ignored when it is used).
    pub code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppPasswordList {
    pub app_passwords: Vec<AppPasswordDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevokedResponse {
    pub revoked: u32,
}

/// TOTP enrolment: scan the QR code, then confirm with a first code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotpEnrolmentDto {
    /// Base32 secret for manual entry.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code, PNG, base64.
    pub qr_png_base64: String,
    /// The URI as a QR code, SVG.
    pub qr_svg: String,
}

/// A TOTP code (or, where allowed, a recovery code).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[serde(default)]
    pub code: Option<String>,
    /// Disabling 2FA: an admin acts without a code.
    #[serde(default)]
    pub by_admin: bool,
}

/// Recovery codes: shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryCodesDto {
    pub recovery_codes: Vec<String>,
}

/// One security event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecurityEventDto {
    pub ts: String,
    pub kind: String,
    pub actor: String,
    pub ip: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecurityEventList {
    pub events: Vec<SecurityEventDto>,
}

/// A mail server asks whether a credential is good.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[schema(schema_with = schema::user)]
    pub user: String,
    /// The login password or an authorization code.
    pub password: String,
    pub protocol: ProtocolDto,
    #[schema(schema_with = schema::ip)]
    pub ip: String,
    /// The connection is encrypted (TLS or STARTTLS).
    #[serde(default)]
    pub tls: bool,
    /// At most 256 bytes, no control characters.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub device: Option<String>,
    /// User agent or IMAP ID string: at most 1024 bytes, no control
    /// characters.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub user_agent: Option<String>,
    /// `en` (default) or `zh`: the language of `message`.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The answer: `ok`, or `fail` with the reason and what to tell the user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// `ok` or `fail`.
    pub result: &'static str,
    /// Why it failed: `wrong_password`, `app_password_required`,
    /// `protocol_not_allowed`, `tls_required`, `locked_by_risk_control`,
    /// `password_expired`, `account_disabled`, `account_locked`,
    /// `verification_required`, `deny_risk`, `access_denied`,
    /// `device_pending` (a new device waits for approval),
    /// `session_revoked` (this device was signed out).
    pub reason: Option<&'static str>,
    /// For the end user, in the requested language.
    pub message: Option<String>,
    pub message_en: Option<String>,
    pub message_zh: Option<String>,
    /// RFC 5530 code for the IMAP `NO` response.
    pub imap_code: Option<&'static str>,
    /// Locked until (RFC 3339), for `locked_by_risk_control`; pending
    /// since, for `device_pending`; signed out at, for `session_revoked`;
    /// with the `password_expiring` warning, the end of the grace period.
    pub until: Option<String>,
    /// `password_expiring`: accepted, but the password has expired and must
    /// be changed before `until`.
    pub warning: Option<&'static str>,
    /// `password` or `app_password` when accepted.
    pub credential: Option<&'static str>,
    pub decision: super::DecisionDto,
    pub risk: f32,
    pub alert: bool,
    pub reasons: Vec<ReasonDto>,
}

/// A web or IM login: the password first, then a TOTP (or recovery) code
/// with the `login_token` of the first answer when one is asked for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(schema_with = schema::user)]
    pub user: String,
    #[serde(default)]
    pub password: Option<String>,
    /// From a `totp_required` answer.
    #[serde(default)]
    pub login_token: Option<String>,
    /// TOTP code, or a recovery code.
    #[serde(default)]
    pub code: Option<String>,
    #[schema(schema_with = schema::ip)]
    pub ip: String,
    /// `web` (default), `im` or `api`; mail clients use `/v1/auth/verify`.
    #[serde(default)]
    pub protocol: Option<ProtocolDto>,
    #[serde(default)]
    #[schema(max_length = 256)]
    pub device: Option<String>,
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

/// `ok` with a session, `totp_required` with a login token, or `fail`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginResponse {
    /// `ok`, `totp_required`, `email_code_required` or `fail`.
    pub status: &'static str,
    /// With `ok`: the session token (shown once; stored hashed).
    pub session_token: Option<String>,
    pub expires_at: Option<String>,
    /// With `totp_required` or `email_code_required`: send it back with the
    /// code (valid 5 minutes, for one code).
    pub login_token: Option<String>,
    /// Why a code is asked: `two_factor` or `risk` (a challenge).
    pub challenge: Option<&'static str>,
    /// With `fail`: the verify reason, or `invalid_code`.
    pub reason: Option<&'static str>,
    pub message: Option<String>,
    /// The org requires 2FA and the user has not enrolled yet.
    pub two_factor_setup_required: bool,
    /// The password must be changed now.
    pub password_change_required: bool,
    /// With `email_code_required`: where the code went, masked
    /// (`a***@example.com`).
    pub code_sent_to: Option<String>,
    pub decision: super::DecisionDto,
    pub risk: f32,
    pub alert: bool,
    pub reasons: Vec<ReasonDto>,
}

/// Looks up a session token.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub session_token: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionDto {
    pub user: String,
    pub created_at: String,
    pub expires_at: String,
    pub ip: String,
}

/// The helpdesk view of a user's failing clients.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosisDto {
    pub user: String,
    pub account: Option<AccountDto>,
    /// One line per finding, English.
    pub findings: Vec<FindingDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingDto {
    /// The problem: a verify reason, or `ok`.
    pub reason: String,
    /// The client as a person reads it: device or client name, protocol,
    /// last IP.
    pub client: String,
    /// The same in Chinese.
    pub client_zh: String,
    /// The user agent or IMAP `ID` string the client sent, when it sent one.
    pub user_agent: Option<String>,
    pub failures: u32,
    pub since: Option<String>,
    pub last: Option<String>,
    pub explanation: String,
    pub explanation_zh: String,
    pub advice: String,
    pub advice_zh: String,
}
