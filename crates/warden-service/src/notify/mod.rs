//! Notifications: the durable outbox of alert deliveries, the channels
//! (email, webhooks, WeCom, DingTalk, Slack, SMS) and the templates.

/// Where and how alerts are delivered.
#[derive(Debug, Clone, Default)]
pub struct NotifySettings {}
