//! Typed domain events: one per thing that happened in the pipeline or to
//! an account, with who did it, when and from where. They are the one spine
//! that metrics, logs (see [`crate::telemetry`]) and the coming alerts,
//! audit log and incidents hang on: a feature subscribes here and never adds
//! a call to an adapter.
//!
//! Events borrow what they describe, so publishing one costs no allocation;
//! a subscriber that keeps an event copies what it needs (and must be quick:
//! it runs on the request's thread — queue slow work, do not do it inline).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use warden_core::{
    Alert, AlertKind, Assessment, IpInfo, LoginAttempt, Outcome, SecurityEvent, Timestamp,
    VerifyReason,
};

/// Which way a login came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryPoint {
    /// `POST /v1/evaluate` then `/v1/report`.
    Evaluate,
    /// `POST /v1/auth/verify`: Dovecot's Lua passdb, `warden checkpassword`.
    Verify,
    /// `POST /v1/auth/login`: webmail and IM.
    WebLogin,
    /// Dovecot's auth policy (`/v1/dovecot/policy`).
    DovecotPolicy,
}

impl EntryPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryPoint::Evaluate => "evaluate",
            EntryPoint::Verify => "verify",
            EntryPoint::WebLogin => "web_login",
            EntryPoint::DovecotPolicy => "dovecot_policy",
        }
    }
}

/// What the Dovecot policy answered to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailCheckResult {
    /// Before the password: go on.
    Allow,
    /// After the password: go on.
    AllowAfterAuth,
    /// Hold the client back this many seconds, then go on.
    Tarpit,
    Reject,
}

impl MailCheckResult {
    pub fn as_str(self) -> &'static str {
        match self {
            MailCheckResult::Allow => "allow",
            MailCheckResult::AllowAfterAuth => "allow_after_auth",
            MailCheckResult::Tarpit => "tarpit",
            MailCheckResult::Reject => "reject",
        }
    }
}

/// What the Postfix policy did with one request of an authenticated sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendingVerdict {
    /// The account is locked or disabled.
    AccountRefused,
    /// The risk engine refuses the sender's address for the account.
    RiskRefused,
    /// Far above the account's usual sending rate.
    RateDeferred,
    /// Warden could not decide (storage failed).
    Undecided,
}

impl SendingVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            SendingVerdict::AccountRefused => "account_refused",
            SendingVerdict::RiskRefused => "risk_refused",
            SendingVerdict::RateDeferred => "rate_deferred",
            SendingVerdict::Undecided => "undecided",
        }
    }
}

/// What an admin did to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAdminAction {
    Acknowledge,
    Close,
    /// Asked the delivery side to send it again.
    Resend,
}

impl AlertAdminAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAdminAction::Acknowledge => "acknowledge",
            AlertAdminAction::Close => "close",
            AlertAdminAction::Resend => "resend",
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, Copy)]
pub enum DomainEvent<'a> {
    /// A login was scored before its password check (an evaluation, or the
    /// first step of a verification or a policy check).
    LoginDecided {
        entry: EntryPoint,
        attempt: &'a LoginAttempt,
        assessment: &'a Assessment,
        elapsed: Duration,
    },
    /// A login's outcome was committed to the history (and, for a success,
    /// to the profile): the event a report, a verification, a web login or a
    /// Dovecot report ends with.
    LoginRecorded {
        entry: EntryPoint,
        attempt: &'a LoginAttempt,
        ip: &'a IpInfo,
        assessment: &'a Assessment,
        /// As the history keeps it.
        outcome: Outcome,
        /// Why Warden refused it, when it did.
        refusal: Option<VerifyReason>,
        /// A success the user and the admin should be told about.
        alert: bool,
        elapsed: Duration,
    },
    /// Dovecot reported a login that Warden's own credential check
    /// (`passdb=warden`) already recorded: nothing more is stored.
    ReportLeftToVerify { attempt: &'a LoginAttempt },
    /// A credential check answered (`/v1/auth/verify`).
    CredentialChecked {
        entry: EntryPoint,
        attempt: &'a LoginAttempt,
        refusal: Option<VerifyReason>,
    },
    /// Dovecot's policy answered one `allow` check.
    MailChecked {
        attempt: &'a LoginAttempt,
        result: MailCheckResult,
        refusal: Option<VerifyReason>,
    },
    /// The Postfix policy held back mail of an authenticated sender.
    SendingHeld {
        user: &'a str,
        ip: Option<IpAddr>,
        verdict: SendingVerdict,
    },
    /// An account or credential changed (locked, unlocked, disabled, a new
    /// password, a code created or revoked, 2FA...), by an admin, the user
    /// or Warden: the security event as stored.
    AccountChanged { event: &'a SecurityEvent },
    /// A second-factor code was refused unchecked: the account's codes are
    /// locked after too many wrong ones (each wrong one is an
    /// `AccountChanged` with `two_factor_code_failed`).
    CodeThrottled { user: &'a str, ip: Option<IpAddr> },
    /// An admin added, replaced or removed a geolocation correction.
    GeoCorrected {
        network: ipnet::IpNet,
        removed: bool,
    },
    /// "Was this you?" was answered: by the user through an answer link or
    /// by an admin for them (`actor`), from `ip`, at `at`. What the answer
    /// did is in the fields: the "not me" alert raised for the admins, the
    /// network blocked for the account, the queued location complaint.
    AlertAnswered {
        alert_id: i64,
        user: &'a str,
        answer: warden_core::Answer,
        actor: crate::credentials::Actor,
        ip: Option<IpAddr>,
        at: warden_core::Timestamp,
        disowned_alert: Option<i64>,
        blocked: Option<ipnet::IpNet>,
        queued_correction: Option<i64>,
    },
    /// An answer link or an answer was refused (`why`: a forged, expired or
    /// used link, an alert that takes no answer); nothing changed.
    AnswerRefused {
        why: &'static str,
        ip: Option<IpAddr>,
    },
    /// An admin lifted a network's block for an account.
    SourceUnblocked {
        user: &'a str,
        network: ipnet::IpNet,
        ip: Option<IpAddr>,
    },
    /// An admin accepted or rejected a queued location complaint.
    CorrectionDecided {
        id: i64,
        state: warden_core::CorrectionState,
        by: &'a str,
        ip: Option<IpAddr>,
        at: warden_core::Timestamp,
    },
    /// Sessions and devices changed ([`crate::devices`]): a user or an
    /// admin (`actor`) signed a device out, logged out everywhere, approved,
    /// trusted or forgot a device; or Warden held a new device for approval
    /// or let a signed-out one back with a new credential.
    DeviceActed {
        user: &'a str,
        /// The device key; `None`: every device of the user.
        device: Option<&'a str>,
        action: crate::devices::DeviceAction,
        actor: crate::credentials::Actor,
        ip: Option<IpAddr>,
        at: Timestamp,
        /// Sessions changed.
        sessions: u64,
    },
    /// A request presented no valid API key.
    Unauthorized { path: &'a str },
    /// An alert was raised from the committed history (it is stored).
    AlertRaised { alert: &'a Alert },
    /// A run of the alert worker folded `repeats` more logins into stored
    /// or new alerts of `kind` (dedupe: one alert per user, kind and place
    /// a day).
    AlertsFolded { kind: AlertKind, repeats: u32 },
    /// An admin acknowledged, closed or asked to resend an alert.
    AlertActed {
        id: i64,
        action: AlertAdminAction,
        /// Who: the API key's holder (`admin`), as security events say.
        actor: &'a str,
        at: Timestamp,
        ip: Option<IpAddr>,
    },
    /// Upkeep pruned the history.
    HistoryPruned { rows: u64 },
    /// The mail or IM system reported a sensitive operation in an account
    /// (`actor`: the API key's holder, from `ip`, at `at`), stored with
    /// its correlation's grade; `duplicate`: the same report was stored
    /// before and nothing changed.
    OperationReported {
        operation: &'a warden_core::Operation,
        actor: &'a str,
        ip: Option<IpAddr>,
        at: Timestamp,
        duplicate: bool,
    },
    /// A reported operation followed a risky login (a warning or critical
    /// grade): it raised `alert_id`, or `folded` into the alert of an
    /// earlier operation after the same login.
    OperationCorrelated {
        operation: &'a warden_core::Operation,
        alert_id: Option<i64>,
        folded: bool,
    },
    /// An alert's deliveries were written to the outbox.
    AlertFannedOut { alert_id: i64, deliveries: usize },
    /// The notification worker tried to send a delivery: `error` is `None`
    /// when it was sent; `gave_up` when it failed for the last time.
    DeliveryAttempted {
        delivery: &'a warden_core::Delivery,
        /// The channel's kind (`None`: the channel is no longer configured).
        kind: Option<warden_core::ChannelKind>,
        error: Option<&'a str>,
        gave_up: bool,
        elapsed: Duration,
    },
    /// An admin acted on notifications: tested a channel, saved or reset a
    /// template.
    NotifyAdmin {
        action: NotifyAction,
        /// The channel's or the template's name.
        target: &'a str,
        lang: Option<warden_core::Lang>,
        /// Who: the API key's actor.
        actor: &'a str,
        ip: Option<IpAddr>,
        at: warden_core::Timestamp,
    },
    /// An admin changed an access policy or a user's groups, or a
    /// report-only policy would have refused a login
    /// ([`crate::policies::events`]).
    Policy(crate::policies::events::PolicyEvent<'a>),
    /// An incident was opened or changed, or one of its one-click actions
    /// ran ([`crate::incidents::events`]).
    Incident(crate::incidents::events::IncidentEvent<'a>),
}

/// What an admin did to notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyAction {
    ChannelTested,
    TemplateSet,
    TemplateReset,
}

impl NotifyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyAction::ChannelTested => "channel_tested",
            NotifyAction::TemplateSet => "template_set",
            NotifyAction::TemplateReset => "template_reset",
        }
    }
}

/// Something that reacts to events. Runs synchronously where the event is
/// published: keep it to counters, a log line or a queue push.
pub trait Subscriber: Send + Sync {
    fn on(&self, event: &DomainEvent<'_>);

    /// For a subscriber that keeps what it receives (the audit log): a
    /// future that resolves once everything handed to [`Subscriber::on`]
    /// before this call is durable, or fails if it could not be kept.
    /// `None` (the default): nothing to wait for.
    fn settled(&self) -> Option<Settling<'_>> {
        None
    }
}

/// What [`Subscriber::settled`] returns.
pub type Settling<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), SettleError>> + Send + 'a>>;

/// A durable subscriber could not keep an event (its store failed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SettleError(pub String);

/// The subscribers, fixed when the service is built.
#[derive(Clone, Default)]
pub struct Events {
    subscribers: Vec<Arc<dyn Subscriber>>,
}

impl Events {
    /// The standard set: metrics and structured logs.
    pub fn standard() -> Self {
        Events::default().with(Arc::new(crate::telemetry::Telemetry))
    }

    /// Adds a subscriber.
    pub fn with(mut self, s: Arc<dyn Subscriber>) -> Self {
        self.subscribers.push(s);
        self
    }

    /// Hands `event` to every subscriber, in the order they were added.
    pub fn publish(&self, event: DomainEvent<'_>) {
        for s in &self.subscribers {
            s.on(&event);
        }
    }

    /// Resolves once every durable subscriber has kept what it was handed
    /// so far (see [`Subscriber::settled`]).
    pub async fn settle(&self) -> Result<(), SettleError> {
        for s in &self.subscribers {
            if let Some(settling) = s.settled() {
                settling.await?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("subscribers", &self.subscribers.len())
            .finish()
    }
}
