//! Notifications: the durable outbox of alert deliveries, the channels
//! (email, webhooks, WeCom, DingTalk, Slack, SMS) and the templates.
//!
//! - [`outbox`]: the fan-out from committed alerts to `deliveries` rows
//!   behind a mark, and the worker that sends the due rows, retried with
//!   exponential backoff and jitter, then given up.
//! - [`channels`]: how one message goes out on one channel.
//! - [`templates`]: built-in and admins' templates, rendered with
//!   escaping per format; [`view`] is what they see of an alert.
//!
//! At-least-once: a delivery is marked `sent` right after the channel
//! accepted it. A crash between the two sends it again at restart; emails
//! carry a Message-ID per delivery ([`channels::message_id`]) and webhooks
//! an `id` per delivery, so a receiver can recognise the repeat.

pub mod channels;
pub mod outbox;
pub mod templates;
pub mod view;

use std::time::Duration;

use warden_core::{Grade, Lang};

pub use channels::{Channel, Smtp, SmtpSecurity};
pub use outbox::{backoff, deliver_due, fan_out, preview, send_test, NotifyError};

/// Where the admins hear of alerts of at least one grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRoute {
    /// A configured channel's name.
    pub channel: String,
    /// Email addresses (email channels) or phone numbers (SMS); empty for a
    /// chat robot or a webhook.
    pub recipients: Vec<String>,
    /// Alerts of this grade and above.
    pub min_grade: Grade,
}

/// How failed sends are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Tries in all before a delivery is `failed`.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles each time.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 8,
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
        }
    }
}

/// Where and how alerts are delivered.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub channels: Vec<Channel>,
    /// The email channel users' alerts go out on.
    pub user_email_channel: Option<String>,
    /// The SMS channel for users with a phone number (in addition to
    /// email).
    pub user_sms_channel: Option<String>,
    /// A user Warden has no account for (or whose account has no security
    /// email) is mailed at the login name when it is an email address.
    pub login_name_fallback: bool,
    pub admin_routes: Vec<AdminRoute>,
    /// The language of admins' messages and of users without one.
    pub default_lang: Lang,
    pub retry: RetrySettings,
    /// How often the worker looks for new alerts and due deliveries.
    pub poll: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            channels: Vec::new(),
            user_email_channel: None,
            user_sms_channel: None,
            login_name_fallback: true,
            admin_routes: Vec::new(),
            default_lang: Lang::En,
            retry: RetrySettings::default(),
            poll: Duration::from_secs(1),
        }
    }
}

impl NotifySettings {
    /// The channel named `name`.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use warden_core::{
        Alert, AlertKind, AlertState, Country, Decision, Protocol, ReasonCode, Timestamp,
    };

    /// A foreign login alert for the unit tests.
    pub fn alert() -> Alert {
        Alert {
            id: 7,
            kind: AlertKind::UnusualLocation,
            grade: warden_core::Grade::Warning,
            state: AlertState::Open,
            user: Some("kim@example.com".into()),
            created_at: Timestamp(1_764_700_000),
            ts: Timestamp(1_764_700_000),
            last_ts: Timestamp(1_764_700_000),
            count: 1,
            dedupe_key: "k".into(),
            notify_user: true,
            notify_admins: true,
            ip: Some("102.89.1.2".parse().unwrap()),
            country: Some(Country::new("NG").unwrap()),
            region: Some("Lagos".into()),
            city: Some("Ikeja".into()),
            asn: Some(29465),
            isp: Some("MTN Nigeria".into()),
            device: Some("iPhone".into()),
            client: Some("iOS Mail".into()),
            protocol: Some(Protocol::Imap),
            decision: Some(Decision::Allow),
            succeeded: true,
            reasons: vec![ReasonCode::UnusualCountry],
            event_id: None,
            answer: None,
            answered_at: None,
            answered_ip: None,
            note: String::new(),
        }
    }
}
