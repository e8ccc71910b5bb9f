//! Alerts: what Warden tells a user and the admins about a login (or a
//! series of them), and how the user answered. Data only: which detections
//! become alerts is the service's alert rules, how they reach people is its
//! notification channels.

use std::net::IpAddr;

use crate::account::wire_names;
use crate::decision::{Decision, ReasonCode};
use crate::domain::{Country, Name, Protocol};
use crate::time::Timestamp;

/// How serious an alert is; admins choose per grade who hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grade {
    Info,
    Warning,
    Critical,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A successful login from a place the user does not log in from
    /// (another country, region or city): the 异地登录 alert.
    UnusualLocation,
    /// A successful login too far from the previous one for the time between.
    ImpossibleTravel,
    /// A successful login from a device or client the user never used.
    NewDevice,
    /// Other risky successful logins (an anonymizer, a datacenter...).
    RiskyLogin,
    /// Repeated wrong passwords for one account (lockouts).
    BruteForce,
    /// One address trying many accounts.
    PasswordSpraying,
    /// Leaked credentials tried across accounts.
    CredentialStuffing,
    /// Many addresses failing against one account.
    AccountUnderAttack,
    /// The user answered "no, it wasn't me" to an alert.
    LoginDisowned,
    /// Many alerts of one kind in a short time, told to admins once.
    Summary,
    /// A forwarding rule to an address outside the organisation after a
    /// risky login (Entra's "suspicious inbox forwarding").
    SuspiciousForwarding,
    /// Another sensitive operation (inbox rule, security contact, 2FA off,
    /// code or token, export) after a risky login.
    SuspiciousOperation,
    /// Successful mail logins of one account from many countries or
    /// networks within a day: the password is being used elsewhere.
    LoginsSpread,
    /// The Postfix policy deferred an account's mail for sending far above
    /// its usual rate.
    SendingBurst,
    /// Login protection held back a correct password (`verification_required`)
    /// from a mail client that cannot prompt: the user is asked whether it
    /// was them, and "yes" lets that client in from there.
    SignInHeld,
    /// A step of an incident's playbook is past its due time (the SLA),
    /// told to the admins once per step.
    IncidentOverdue,
    /// An incident's one-click notice to the user and the business owners.
    IncidentNotice,
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// Nobody has acted on it yet.
    Open,
    /// An admin has seen it.
    Acknowledged,
    /// Answered by the user (see [`Answer`]) or closed by an admin.
    Closed,
}

/// The user's answer to "was this you?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// "Yes, it was me": the login's place and device are learned.
    ItWasMe,
    /// "No, it wasn't me": sessions and codes revoked, password reset
    /// required, the source blocked from the account, admins told.
    NotMe,
    /// "The location is wrong": the address goes to the admins'
    /// geolocation-correction queue.
    WrongLocation,
}

/// Who is told of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The user the alert is about (their security email or phone).
    User,
    /// The organisation's security admins.
    Admins,
}

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Email,
    /// A generic JSON webhook signed with HMAC-SHA256.
    Webhook,
    /// WeCom (企业微信) group robot.
    WeCom,
    /// DingTalk (钉钉) group robot, signed.
    DingTalk,
    Slack,
    /// An SMS gateway's webhook.
    Sms,
}

/// Whether a notification has gone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first try or a retry.
    Pending,
    Sent,
    /// Given up after the last retry.
    Failed,
}

wire_names!(Grade, "grade", Info => "info", Warning => "warning", Critical => "critical");
wire_names!(AlertKind, "alert kind",
    UnusualLocation => "unusual_location",
    ImpossibleTravel => "impossible_travel",
    NewDevice => "new_device",
    RiskyLogin => "risky_login",
    BruteForce => "brute_force",
    PasswordSpraying => "password_spraying",
    CredentialStuffing => "credential_stuffing",
    AccountUnderAttack => "account_under_attack",
    LoginDisowned => "login_disowned",
    Summary => "summary",
    SuspiciousForwarding => "suspicious_forwarding",
    SuspiciousOperation => "suspicious_operation",
    LoginsSpread => "logins_spread",
    SendingBurst => "sending_burst",
    SignInHeld => "sign_in_held",
    IncidentOverdue => "incident_overdue",
    IncidentNotice => "incident_notice",
);
wire_names!(AlertState, "alert state",
    Open => "open", Acknowledged => "acknowledged", Closed => "closed");
wire_names!(Answer, "answer",
    ItWasMe => "it_was_me", NotMe => "not_me", WrongLocation => "wrong_location");
wire_names!(Audience, "audience", User => "user", Admins => "admins");
wire_names!(ChannelKind, "channel kind",
    Email => "email", Webhook => "webhook", WeCom => "wecom", DingTalk => "dingtalk",
    Slack => "slack", Sms => "sms");
wire_names!(DeliveryState, "delivery state",
    Pending => "pending", Sent => "sent", Failed => "failed");

/// One alert, as stored. Everything a template needs to say what happened,
/// when, where, with which device, and what Warden did.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub kind: AlertKind,
    pub grade: Grade,
    pub state: AlertState,
    /// The user it is about; `None` for alerts about an address or a
    /// summary.
    pub user: Option<Name>,
    /// When it was raised.
    pub created_at: Timestamp,
    /// The login (the first one, when several were folded into it).
    pub ts: Timestamp,
    /// The newest login folded into it, and how many there were in all.
    pub last_ts: Timestamp,
    pub count: u32,
    /// Logins of one user, kind and place fold into one alert per day (see
    /// the service's alert rules); this is their key.
    pub dedupe_key: String,
    /// Tell the user (only for alerts about one user).
    pub notify_user: bool,
    /// Tell the admins (false when a storm summary speaks for it).
    pub notify_admins: bool,
    pub ip: Option<IpAddr>,
    pub country: Option<Country>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub asn: Option<u32>,
    /// The network's name (ISP).
    pub isp: Option<String>,
    /// The client's device id, as the client sent it (cleaned).
    pub device: Option<String>,
    /// The client program's name (Outlook, Foxmail, iOS Mail...).
    pub client: Option<String>,
    pub protocol: Option<Protocol>,
    /// What Warden answered for the login.
    pub decision: Option<Decision>,
    /// Whether the login succeeded (it was let in).
    pub succeeded: bool,
    pub reasons: Vec<ReasonCode>,
    /// The history row of the (first) login, when there is one.
    pub event_id: Option<i64>,
    pub answer: Option<Answer>,
    pub answered_at: Option<Timestamp>,
    pub answered_ip: Option<IpAddr>,
    /// Free text without secrets (an admin's note, a summary's breakdown).
    pub note: String,
}

/// One notification of an alert to one recipient over one channel: the
/// durable outbox. A row is written before anything is sent and is
/// retried with backoff until sent or given up.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub alert_id: i64,
    pub audience: Audience,
    /// The configured channel's name (`mail`, `secops-wecom`...).
    pub channel: String,
    /// An email address, a phone number, or empty for a webhook.
    pub recipient: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When to try next (for a pending delivery).
    pub next_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for g in Grade::ALL {
            assert_eq!(g.as_str().parse::<Grade>().unwrap(), *g);
        }
        for k in AlertKind::ALL {
            assert_eq!(k.as_str().parse::<AlertKind>().unwrap(), *k);
        }
        for a in Answer::ALL {
            assert_eq!(a.as_str().parse::<Answer>().unwrap(), *a);
        }
        for c in ChannelKind::ALL {
            assert_eq!(c.as_str().parse::<ChannelKind>().unwrap(), *c);
        }
        assert!("loud".parse::<Grade>().is_err());
        assert!(Grade::Critical > Grade::Warning && Grade::Warning > Grade::Info);
    }
}
