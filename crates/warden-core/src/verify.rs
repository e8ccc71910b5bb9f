//! Why a credential check failed, and what to tell the person behind the
//! mail client: the verdict of `POST /v1/auth/verify`.
//!
//! The edges gather the facts (the account, which credential matched, the
//! risk assessment) and this module decides, in a fixed order, the one reason
//! the client gets, with a message for the end user in English and Chinese
//! and the IMAP response code (RFC 5530) a mail server should send.
//!
//! Checks that need no password come first ([`precheck`]): a plaintext
//! connection, a risk-control lockout, a risk denial. Only then is the
//! password verified, and only someone who knew a valid credential learns
//! anything about the account beyond "wrong password" ([`decide`]).

use std::fmt;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::str::FromStr;

use crate::account::{Account, AccountStatus, ProtocolSet};
use crate::assess::Assessment;
use crate::decision::{Decision, ReasonCode};
use crate::domain::{FailureReason, Outcome, Protocol};
use crate::reason::{place_en, place_zh, tz_label, Evidence, Lang};
use crate::time::Timestamp;

/// Why a verification failed. Wire names are stable API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyReason {
    /// Unknown user, wrong password, or a revoked code: all look the same.
    WrongPassword,
    /// The login password was sent by a mail client where only
    /// authorization codes are accepted (2FA on, or the org requires codes).
    AppPasswordRequired,
    /// This code (or account) may not use this protocol.
    ProtocolNotAllowed,
    /// A mail protocol over a plaintext connection.
    TlsRequired,
    /// Too many failures from this IP: locked out for a while.
    LockedByRiskControl,
    /// The password (or the code) has expired, or must be changed.
    PasswordExpired,
    /// Disabled by an admin.
    AccountDisabled,
    /// Locked by an admin.
    AccountLocked,
    /// The risk engine asks for step-up the client cannot do.
    VerificationRequired,
    /// The risk engine denies the login.
    DenyRisk,
    /// An access rule (blocklist, allowlist, geo-fence, protocol) refuses it.
    AccessDenied,
}

impl VerifyReason {
    pub const ALL: [VerifyReason; 11] = [
        VerifyReason::WrongPassword,
        VerifyReason::AppPasswordRequired,
        VerifyReason::ProtocolNotAllowed,
        VerifyReason::TlsRequired,
        VerifyReason::LockedByRiskControl,
        VerifyReason::PasswordExpired,
        VerifyReason::AccountDisabled,
        VerifyReason::AccountLocked,
        VerifyReason::VerificationRequired,
        VerifyReason::DenyRisk,
        VerifyReason::AccessDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerifyReason::WrongPassword => "wrong_password",
            VerifyReason::AppPasswordRequired => "app_password_required",
            VerifyReason::ProtocolNotAllowed => "protocol_not_allowed",
            VerifyReason::TlsRequired => "tls_required",
            VerifyReason::LockedByRiskControl => "locked_by_risk_control",
            VerifyReason::PasswordExpired => "password_expired",
            VerifyReason::AccountDisabled => "account_disabled",
            VerifyReason::AccountLocked => "account_locked",
            VerifyReason::VerificationRequired => "verification_required",
            VerifyReason::DenyRisk => "deny_risk",
            VerifyReason::AccessDenied => "access_denied",
        }
    }

    /// The IMAP response code (RFC 5530; `ALERT` is RFC 3501's) to send with
    /// the `NO` answer.
    pub fn imap_code(self) -> &'static str {
        match self {
            VerifyReason::WrongPassword | VerifyReason::DenyRisk => "AUTHENTICATIONFAILED",
            VerifyReason::AppPasswordRequired => "ALERT",
            VerifyReason::ProtocolNotAllowed | VerifyReason::AccessDenied => "AUTHORIZATIONFAILED",
            VerifyReason::TlsRequired => "PRIVACYREQUIRED",
            VerifyReason::LockedByRiskControl
            | VerifyReason::AccountDisabled
            | VerifyReason::AccountLocked => "CONTACTADMIN",
            VerifyReason::PasswordExpired => "EXPIRED",
            VerifyReason::VerificationRequired => "ALERT",
        }
    }

    /// What the login teaches the attack counters: guesses count, refusals
    /// by Warden count as blocked, and a refused *valid* credential (code
    /// required, expired, disabled, step-up) is no guess and counts nothing.
    pub fn counted_as(self, account_known: bool) -> Option<Outcome> {
        match self {
            VerifyReason::WrongPassword => Some(Outcome::Failure(if account_known {
                FailureReason::WrongPassword
            } else {
                FailureReason::UnknownUser
            })),
            VerifyReason::TlsRequired
            | VerifyReason::LockedByRiskControl
            | VerifyReason::AccessDenied
            | VerifyReason::DenyRisk => Some(Outcome::Failure(FailureReason::Blocked)),
            _ => None,
        }
    }

    /// The failure reason stored with the attempt in the login history.
    pub fn history_reason(self, account_known: bool) -> FailureReason {
        match self.counted_as(account_known) {
            Some(Outcome::Failure(r)) => r,
            _ if self == VerifyReason::VerificationRequired => FailureReason::ChallengeFailed,
            _ => FailureReason::Other,
        }
    }
}

impl fmt::Display for VerifyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verify reason name that Warden does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown verify reason {0:?}")]
pub struct UnknownVerifyReason(pub String);

impl FromStr for VerifyReason {
    type Err = UnknownVerifyReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifyReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownVerifyReason(s.to_string()))
    }
}

/// Which credential the presented secret turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// Nothing matched (or no such account).
    Wrong,
    /// The account's login password.
    LoginPassword,
    /// One of the account's live authorization codes.
    AppPassword {
        protocols: ProtocolSet,
        expired: bool,
    },
}

/// How old the login password is under the expiry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordAge {
    /// Not expiring (or no expiry policy).
    Fresh,
    /// Past its lifetime but inside the grace period, which ends then.
    Grace { until: Timestamp },
    /// Past lifetime and grace.
    Expired,
}

/// Everything [`decide`] weighs besides the pre-checks.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub protocol: Protocol,
    /// `None`: no such account.
    pub account: Option<&'a Account>,
    pub credential: Credential,
    /// TOTP is confirmed for the account, or the org requires it of them.
    pub two_factor: bool,
    /// The org requires authorization codes for mail clients.
    pub codes_required: bool,
    pub password_age: PasswordAge,
}

/// What the verify API answers, with what the message needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `None`: accepted.
    pub reason: Option<VerifyReason>,
    pub detail: Detail,
}

/// Specifics for the message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    pub protocol: Option<Protocol>,
    pub ip: Option<IpAddr>,
    pub until: Option<Timestamp>,
    pub failures: Option<u32>,
    /// Where the login came from, English and Chinese.
    pub place: Option<(String, String)>,
    /// The code (not the password) was refused.
    pub code: bool,
    /// An admin demanded a change (not an expiry).
    pub must_change: bool,
    /// The access rule's own text, English and Chinese.
    pub rule: Option<(String, String)>,
}

impl Verdict {
    fn ok() -> Self {
        Verdict {
            reason: None,
            detail: Detail::default(),
        }
    }

    fn refuse(reason: VerifyReason, detail: Detail) -> Self {
        Verdict {
            reason: Some(reason),
            detail,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.reason.is_none()
    }

    /// The end-user message (`None` when accepted).
    pub fn message(&self, lang: Lang, utc_offset_minutes: i32) -> Option<String> {
        self.reason
            .map(|r| message(r, &self.detail, lang, utc_offset_minutes))
    }
}

/// Checks made before any password is verified: plaintext mail protocols
/// (when `require_tls`), the policy's access rules, a risk-control lockout
/// of this IP, a risk denial.
/// `None`: go on and verify the password.
pub fn precheck(
    protocol: Protocol,
    tls: bool,
    require_tls: bool,
    ip: IpAddr,
    assessment: &Assessment,
) -> Option<Verdict> {
    if require_tls && !tls && protocol.is_mail_client() {
        return Some(Verdict::refuse(
            VerifyReason::TlsRequired,
            Detail {
                protocol: Some(protocol),
                ..Detail::default()
            },
        ));
    }
    let access = assessment
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::AccessDenied)
        .map(|r| (r.text(Lang::En, 0), r.text(Lang::Zh, 0)));
    if let Some(rule) = access {
        return Some(Verdict::refuse(
            VerifyReason::AccessDenied,
            Detail {
                rule: Some(rule),
                ..Detail::default()
            },
        ));
    }
    let lockout = assessment.reasons.iter().find_map(|r| match r.evidence {
        Evidence::Lockout { failures, until } if r.code == ReasonCode::BruteForceLockout => {
            Some((failures, until))
        }
        _ => None,
    });
    if let Some((failures, until)) = lockout {
        return Some(Verdict::refuse(
            VerifyReason::LockedByRiskControl,
            Detail {
                ip: Some(ip),
                until: Some(until),
                failures: Some(failures),
                ..Detail::default()
            },
        ));
    }
    if assessment.decision == Decision::Deny {
        return Some(Verdict::refuse(VerifyReason::DenyRisk, Detail::default()));
    }
    None
}

/// The verdict once the credential is known, in this order: wrong
/// credential; account disabled or locked; a code's protocol and expiry;
/// the login password where codes are required; an expired password; the
/// risk engine's challenge.
pub fn decide(f: &Facts<'_>, assessment: &Assessment) -> Verdict {
    let Some(account) = f.account else {
        return Verdict::refuse(VerifyReason::WrongPassword, Detail::default());
    };
    if f.credential == Credential::Wrong {
        return Verdict::refuse(VerifyReason::WrongPassword, Detail::default());
    }
    match account.status {
        AccountStatus::Active => {}
        AccountStatus::Disabled => {
            return Verdict::refuse(VerifyReason::AccountDisabled, Detail::default())
        }
        AccountStatus::Locked => {
            return Verdict::refuse(VerifyReason::AccountLocked, Detail::default())
        }
    }
    let with_protocol = |code| Detail {
        protocol: Some(f.protocol),
        code,
        ..Detail::default()
    };
    match f.credential {
        Credential::Wrong => unreachable!("handled above"),
        Credential::AppPassword { protocols, expired } => {
            if !protocols.contains(f.protocol) {
                return Verdict::refuse(VerifyReason::ProtocolNotAllowed, with_protocol(true));
            }
            if expired {
                return Verdict::refuse(VerifyReason::PasswordExpired, with_protocol(true));
            }
        }
        Credential::LoginPassword => {
            if f.protocol.is_mail_client() && (f.two_factor || f.codes_required) {
                return Verdict::refuse(VerifyReason::AppPasswordRequired, with_protocol(false));
            }
            if f.password_age == PasswordAge::Expired || account.must_change_password {
                let mut d = with_protocol(false);
                d.must_change = account.must_change_password;
                return Verdict::refuse(VerifyReason::PasswordExpired, d);
            }
            if f.two_factor {
                // Web, IM, API: the second factor is asked by the login
                // flow, never by a bare verification.
                return Verdict::refuse(VerifyReason::VerificationRequired, with_protocol(false));
            }
        }
    }
    if assessment.decision == Decision::Challenge {
        let place = named_place(assessment);
        return Verdict::refuse(
            VerifyReason::VerificationRequired,
            Detail {
                place,
                ..with_protocol(false)
            },
        );
    }
    Verdict::ok()
}

fn protocol_label(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Imap) => "IMAP",
        Some(Protocol::Pop3) => "POP3",
        Some(Protocol::Smtp) => "SMTP",
        Some(Protocol::Web) => "web",
        Some(Protocol::Im) => "IM",
        Some(Protocol::Api) => "API",
        Some(Protocol::Dav) => "CalDAV/CardDAV",
        None => "this protocol",
    }
}

/// The message for the person behind the client.
fn message(r: VerifyReason, d: &Detail, lang: Lang, offset: i32) -> String {
    let en = lang == Lang::En;
    let proto = protocol_label(d.protocol);
    let mut s = String::new();
    let _ = match r {
        VerifyReason::WrongPassword => s.write_str(if en {
            "Wrong user name or password."
        } else {
            "用户名或密码错误。"
        }),
        VerifyReason::AppPasswordRequired => {
            if en {
                write!(s, "This account needs an authorization code (app password) for mail clients, not the login password: two-factor authentication is on or your organisation requires codes. Sign in to webmail, create a code under Settings > Security > Authorization codes, and enter it in this client as the {proto} password.")
            } else {
                write!(s, "该帐号在邮件客户端中须使用客户端授权码，不能使用登录密码（已开启两步验证或组织要求使用授权码）。请登录网页邮箱，在“设置 > 安全 > 客户端授权码”中生成授权码，并在本客户端的 {proto} 密码处填写该授权码。")
            }
        }
        VerifyReason::ProtocolNotAllowed => {
            if en {
                write!(s, "This authorization code may not be used for {proto}. Create a code that allows {proto} in webmail, or ask your administrator.")
            } else {
                write!(s, "该授权码不允许用于 {proto}。请在网页邮箱中生成允许 {proto} 的授权码，或联系管理员。")
            }
        }
        VerifyReason::TlsRequired => s.write_str(if en {
            "Plaintext connections are refused: turn on SSL/TLS in the client (IMAP port 993, POP3 port 995, SMTP port 465, or 587 with STARTTLS)."
        } else {
            "不允许明文连接：请在客户端中开启 SSL/TLS（IMAP 端口 993，POP3 端口 995，SMTP 端口 465，或 587 并启用 STARTTLS）。"
        }),
        VerifyReason::LockedByRiskControl => {
            let ip = d.ip.map(|i| i.to_string()).unwrap_or_default();
            let n = d.failures.unwrap_or(0);
            let until = d
                .until
                .map(|t| {
                    let c = t.civil(offset);
                    format!(
                        "{}-{:02}-{:02} {:02}:{:02} ({})",
                        c.year,
                        c.month,
                        c.day,
                        c.hour,
                        c.minute,
                        tz_label(offset)
                    )
                })
                .unwrap_or_default();
            if en {
                write!(s, "Locked by risk control after {n} failed logins from {ip}: logins from this address are refused until {until}. Check the password saved in your mail clients, or contact your administrator.")
            } else {
                write!(s, "来自 {ip} 的登录连续失败 {n} 次，已被风控锁定，{until} 前该地址的登录将被拒绝。请检查邮件客户端中保存的密码，或联系管理员。")
            }
        }
        VerifyReason::PasswordExpired => s.write_str(match (en, d.code, d.must_change) {
            (true, true, _) => "This authorization code has expired. Create a new one in webmail.",
            (false, true, _) => "该授权码已过期，请在网页邮箱中重新生成。",
            (true, false, true) => "Your administrator requires a new password. Sign in to webmail to set one.",
            (false, false, true) => "管理员要求您修改密码，请登录网页邮箱设置新密码。",
            (true, false, false) => "Your password has expired. Sign in to webmail to set a new one.",
            (false, false, false) => "您的密码已过期，请登录网页邮箱设置新密码。",
        }),
        VerifyReason::AccountDisabled => s.write_str(if en {
            "This account is disabled. Contact your administrator."
        } else {
            "该帐号已被停用，请联系管理员。"
        }),
        VerifyReason::AccountLocked => s.write_str(if en {
            "This account is locked. Contact your administrator."
        } else {
            "该帐号已被锁定，请联系管理员。"
        }),
        VerifyReason::VerificationRequired => match (&d.place, en) {
            (Some((p, _)), true) => write!(s, "Unusual login (from {p}): sign in to webmail and confirm it was you, then try again."),
            (Some((_, p)), false) => write!(s, "本次登录存在异常（{p}）：请先登录网页邮箱完成身份验证，然后重试。"),
            (None, true) => s.write_str("This login needs verification: sign in to webmail and confirm it was you, then try again."),
            (None, false) => s.write_str("本次登录需要验证：请先登录网页邮箱完成身份验证，然后重试。"),
        },
        VerifyReason::AccessDenied => match (&d.rule, en) {
            (Some((t, _)), true) => write!(s, "{t}. Contact your administrator if you need access from here."),
            (Some((_, t)), false) => write!(s, "{t}。如需从此处访问，请联系管理员。"),
            (None, true) => s.write_str("Access refused by your organisation's policy. Contact your administrator."),
            (None, false) => s.write_str("根据组织的访问策略，拒绝访问。请联系管理员。"),
        },
        VerifyReason::DenyRisk => s.write_str(if en {
            "Login refused by risk control. If this was you, contact your administrator."
        } else {
            "登录被风控系统拒绝。如为本人操作，请联系管理员。"
        }),
    };
    s
}

/// The place a challenge names, in English and Chinese: where the login
/// came from, or where an impossible trip ended.
pub fn named_place(a: &Assessment) -> Option<(String, String)> {
    a.reasons.iter().find_map(|r| match &r.evidence {
        Evidence::UnusualPlace { place: p, .. } | Evidence::Travel { to: p, .. } => {
            Some((place_en(p).to_string(), place_zh(p).to_string()))
        }
        _ => None,
    })
}
