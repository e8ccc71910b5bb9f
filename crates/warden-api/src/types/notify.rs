//! JSON of the notification routes: channels (secrets redacted), templates
//! and the deliveries of the outbox.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A configured channel, without its secrets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelDto {
    pub name: String,
    /// `email`, `webhook`, `wecom`, `dingtalk`, `slack` or `sms`.
    pub kind: String,
    /// Where it sends: SMTP host, port and sender, or the webhook's scheme,
    /// host and path (its query, which often holds a key, left out).
    pub target: String,
    /// A signing secret is configured (never shown).
    pub signed: bool,
    /// Used for users' alerts (`notify.user_email_channel` or
    /// `notify.user_sms_channel`).
    pub for_users: bool,
    /// The lowest grade the admins hear of on it, if any route uses it.
    pub admin_min_grade: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelsResponse {
    pub channels: Vec<ChannelDto>,
}

/// Sends a made-up alert through a channel now.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelTestRequest {
    /// Email address or phone number, for email and SMS channels.
    #[serde(default)]
    #[schema(max_length = 254)]
    pub recipient: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelTestResponse {
    pub channel: String,
    pub sent: bool,
}

/// A template as it is used now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateDto {
    pub name: String,
    /// `en` or `zh`.
    pub lang: String,
    pub body: String,
    /// An admin's version (else the built-in one).
    pub customised: bool,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplatesResponse {
    pub templates: Vec<TemplateDto>,
}

/// An admin's version of a template (minijinja).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// At most 4096 characters.
    #[schema(max_length = 4096)]
    pub body: String,
}

/// A template rendered over a made-up foreign login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewResponse {
    pub name: String,
    pub lang: String,
    pub rendered: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateResetResponse {
    pub name: String,
    pub lang: String,
    /// An admin's version was removed (false: there was none).
    pub reset: bool,
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStateDto {
    Pending,
    Sent,
    Failed,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// Only the deliveries of this alert.
    #[param(minimum = 1)]
    pub alert_id: Option<i64>,
    /// Only those in this state (`failed`: given up).
    pub state: Option<DeliveryStateDto>,
    /// Only ids below this one: the previous page's `next_before`.
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One notification of an alert to one recipient over one channel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub alert_id: i64,
    /// `user` or `admins`.
    pub audience: String,
    pub channel: String,
    /// Address or phone number; empty for a robot or webhook.
    pub recipient: String,
    pub state: DeliveryStateDto,
    pub attempts: u32,
    /// When the next try is due (pending ones).
    pub next_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveriesResponse {
    pub deliveries: Vec<DeliveryDto>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}
