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

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::str::FromStr;

use crate::account::{Account, AccountStatus, ProtocolSet};
use crate::assess::Assessment;
use crate::decision::{Decision, ReasonCode};
use crate::domain::{FailureReason, Outcome, Protocol};
use crate::protection::{protection_trigger, ProtectionLevel};
use crate::reason::{local_time, place_en, place_zh, Evidence, Lang};
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
    /// New-device approval is on and this device is new to the account: it
    /// waits (pending since `Detail::until`) until the user or an admin
    /// approves it.
    DevicePending,
    /// The user or an admin signed this device out (at `Detail::until`): it
    /// needs a credential issued since, or an approval.
    SessionRevoked,
}

impl VerifyReason {
    pub const ALL: [VerifyReason; 13] = [
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
        VerifyReason::DevicePending,
        VerifyReason::SessionRevoked,
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
            VerifyReason::DevicePending => "device_pending",
            VerifyReason::SessionRevoked => "session_revoked",
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
            VerifyReason::VerificationRequired
            | VerifyReason::DevicePending
            | VerifyReason::SessionRevoked => "ALERT",
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
    /// The account's login protection level: a correct credential on a
    /// login it asks to verify ([`protection_trigger`]) is refused with
    /// `verification_required` (the user confirms it elsewhere, or the web
    /// login asks a code). Off: it is accepted (with an alert).
    pub login_protection: ProtectionLevel,
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

    /// The end-user message (`None` when accepted), with Warden's own
    /// wording for the site-specific parts ([`SiteTexts::default`]); times
    /// are shown at `utc_offset_minutes` and name that zone (`UTC+8`).
    pub fn message(&self, lang: Lang, utc_offset_minutes: i32) -> Option<String> {
        self.message_with(lang, utc_offset_minutes, &SiteTexts::default())
    }

    /// The end-user message (`None` when accepted) with the site's own
    /// places and contact ([`SiteTexts`]).
    pub fn message_with(
        &self,
        lang: Lang,
        utc_offset_minutes: i32,
        site: &SiteTexts,
    ) -> Option<String> {
        self.reason
            .map(|r| message(r, &self.detail, lang, utc_offset_minutes, site))
    }
}

/// A site-specific part of the end-user messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SitePart {
    /// Where users create authorization codes, as a place: "Create a code
    /// in {codes} and enter it in this client", "请在{codes}中生成授权码".
    /// Default `webmail (Settings > Security > Authorization codes)`,
    /// `网页邮箱的“设置 > 安全 > 客户端授权码”`.
    Codes,
    /// Where users sign in to confirm that an unusual login was theirs:
    /// "sign in to {confirm} and confirm it was you", "请先登录{confirm}完成身份验证".
    /// Default `webmail`, `网页邮箱`.
    Confirm,
    /// Where users set a new password: "Sign in to {password} to set a new
    /// one", "请登录{password}设置新密码". Default `webmail`, `网页邮箱`.
    Password,
    /// Whom users contact: "Contact {helpdesk}", "or ask {helpdesk}",
    /// "请联系{helpdesk}". Default `your administrator`, `管理员`.
    Helpdesk,
}

impl SitePart {
    pub const ALL: [SitePart; 4] = [
        SitePart::Codes,
        SitePart::Confirm,
        SitePart::Password,
        SitePart::Helpdesk,
    ];

    /// `codes`, `confirm`, `password`, `helpdesk`.
    pub fn as_str(self) -> &'static str {
        match self {
            SitePart::Codes => "codes",
            SitePart::Confirm => "confirm",
            SitePart::Password => "password",
            SitePart::Helpdesk => "helpdesk",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SitePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A site text Warden refuses (see [`SiteTexts::set`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteTextError {
    #[error("site text {part} ({lang}) is empty")]
    Empty { part: SitePart, lang: Lang },
    #[error("site text {part} ({lang}) has {chars} characters; at most {max} are allowed", max = SiteTexts::MAX_CHARS)]
    TooLong {
        part: SitePart,
        lang: Lang,
        chars: usize,
    },
    #[error("site text {part} ({lang}) holds the control or invisible character U+{:04X} at character {index}", u32::from(*character))]
    ControlCharacter {
        part: SitePart,
        lang: Lang,
        character: char,
        /// Counted in characters from 0, after trimming.
        index: usize,
    },
}

/// The site-specific parts of the end-user messages ([`SitePart`]), in
/// English and Chinese: where users create authorization codes, where they
/// confirm a sign-in, where they set a new password, whom they contact.
/// [`SiteTexts::default`] is Warden's own wording (webmail, its Settings >
/// Security > Authorization codes page, the administrator).
///
/// Every text is checked when it is set, so a `SiteTexts` is always safe to
/// put in a message: trimmed, not empty, at most [`SiteTexts::MAX_CHARS`]
/// characters, and free of control characters (a line break would end an
/// IMAP or Dovecot answer line) and of invisible formatting characters
/// (bidirectional overrides could make a message read differently from what
/// it says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTexts {
    /// Per part (in [`SitePart::ALL`] order), English then Chinese.
    texts: [[Cow<'static, str>; 2]; 4],
}

impl Default for SiteTexts {
    fn default() -> Self {
        SiteTexts {
            texts: [
                [
                    Cow::Borrowed("webmail (Settings > Security > Authorization codes)"),
                    Cow::Borrowed("网页邮箱的“设置 > 安全 > 客户端授权码”"),
                ],
                [Cow::Borrowed("webmail"), Cow::Borrowed("网页邮箱")],
                [Cow::Borrowed("webmail"), Cow::Borrowed("网页邮箱")],
                [Cow::Borrowed("your administrator"), Cow::Borrowed("管理员")],
            ],
        }
    }
}

impl SiteTexts {
    /// The longest text accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// The text of `part` in `lang`.
    pub fn get(&self, part: SitePart, lang: Lang) -> &str {
        &self.texts[part.index()][lang_index(lang)]
    }

    /// Replaces the text of `part` in `lang` with `text` (trimmed), after
    /// checking it; on error nothing changes.
    pub fn set(&mut self, part: SitePart, lang: Lang, text: &str) -> Result<(), SiteTextError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(SiteTextError::Empty { part, lang });
        }
        if let Some((index, character)) = t.chars().enumerate().find(|(_, c)| unsafe_char(*c)) {
            return Err(SiteTextError::ControlCharacter {
                part,
                lang,
                character,
                index,
            });
        }
        let chars = t.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(SiteTextError::TooLong { part, lang, chars });
        }
        self.texts[part.index()][lang_index(lang)] = Cow::Owned(t.to_string());
        Ok(())
    }

    /// [`SiteTexts::set`], by value.
    pub fn with(mut self, part: SitePart, lang: Lang, text: &str) -> Result<Self, SiteTextError> {
        self.set(part, lang, text)?;
        Ok(self)
    }
}

fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::En => 0,
        Lang::Zh => 1,
    }
}

/// Control characters (C0, DEL, C1), line and paragraph separators, and the
/// invisible formatting characters that hide or reorder text (zero-width
/// characters, bidirectional marks, embeddings, overrides and isolates,
/// word joiners, the byte-order mark).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// Checks made before any password is verified: plaintext mail protocols
/// (when `require_tls`), the policy's access rules, a risk-control lockout
/// of this IP, a risk denial.
/// `None`: go on and verify the password.
///
/// Before the password, pass the *anonymous* assessment
/// ([`crate::Engine::evaluate_anonymous`]): a denial that rests on the
/// user's profile would tell an unauthenticated client that the user exists
/// and where they usually are. Such a denial is said by [`decide`], after
/// the credential proved right.
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
/// credential; account disabled or locked; the risk engine's denial (said
/// only now, to someone who knew the credential: before the password the
/// answer must not tell who exists, see [`precheck`]); a code's protocol
/// and expiry; the login password where codes are required; an expired
/// password; what login protection asks to verify.
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
    if assessment.decision == Decision::Deny {
        return Verdict::refuse(VerifyReason::DenyRisk, Detail::default());
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
    if protection_trigger(f.login_protection, assessment).is_some() {
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

/// A protocol as the messages name it in `lang`.
pub fn protocol_label(p: Option<Protocol>, lang: Lang) -> &'static str {
    match (p, lang) {
        (Some(Protocol::Imap), _) => "IMAP",
        (Some(Protocol::Pop3), _) => "POP3",
        (Some(Protocol::Smtp), _) => "SMTP",
        (Some(Protocol::Web), Lang::En) => "web",
        (Some(Protocol::Web), Lang::Zh) => "网页",
        (Some(Protocol::Im), _) => "IM",
        (Some(Protocol::Api), _) => "API",
        (Some(Protocol::Dav), _) => "CalDAV/CardDAV",
        (None, Lang::En) => "this protocol",
        (None, Lang::Zh) => "该协议",
    }
}

/// The message for the person behind the client.
fn message(r: VerifyReason, d: &Detail, lang: Lang, offset: i32, site: &SiteTexts) -> String {
    let en = lang == Lang::En;
    let proto = protocol_label(d.protocol, lang);
    let codes = site.get(SitePart::Codes, lang);
    let confirm = site.get(SitePart::Confirm, lang);
    let password = site.get(SitePart::Password, lang);
    let helpdesk = site.get(SitePart::Helpdesk, lang);
    let mut s = String::new();
    let _ = match r {
        VerifyReason::WrongPassword => s.write_str(if en {
            "Wrong user name or password."
        } else {
            "用户名或密码错误。"
        }),
        VerifyReason::AppPasswordRequired => {
            if en {
                write!(s, "This account needs an authorization code (app password) for mail clients, not the login password: two-factor authentication is on or your organisation requires codes. Create a code in {codes} and enter it in this client as the {proto} password.")
            } else {
                write!(s, "该帐号在邮件客户端中须使用客户端授权码，不能使用登录密码（已开启两步验证或组织要求使用授权码）。请在{codes}中生成授权码，并在本客户端的 {proto} 密码处填写该授权码。")
            }
        }
        VerifyReason::ProtocolNotAllowed => {
            if en {
                write!(s, "This authorization code may not be used for {proto}. Create a code that allows {proto} in {codes}, or ask {helpdesk}.")
            } else {
                write!(s, "该授权码不允许用于 {proto}。请在{codes}中生成允许 {proto} 的授权码，或联系{helpdesk}。")
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
                .map(|t| local_time(t, offset))
                .unwrap_or_default();
            if en {
                write!(s, "Locked by risk control after {n} failed logins from {ip}: logins from this address are refused until {until}. Check the password saved in your mail clients, or contact {helpdesk}.")
            } else {
                write!(s, "来自 {ip} 的登录连续失败 {n} 次，已被风控锁定，{until} 前该地址的登录将被拒绝。请检查邮件客户端中保存的密码，或联系{helpdesk}。")
            }
        }
        VerifyReason::PasswordExpired => match (en, d.code, d.must_change) {
            (true, true, _) => write!(s, "This authorization code has expired. Create a new one in {codes}."),
            (false, true, _) => write!(s, "该授权码已过期，请在{codes}中重新生成。"),
            (true, false, true) => write!(s, "Your administrator requires a new password. Sign in to {password} to set one."),
            (false, false, true) => write!(s, "管理员要求您修改密码，请登录{password}设置新密码。"),
            (true, false, false) => write!(s, "Your password has expired. Sign in to {password} to set a new one."),
            (false, false, false) => write!(s, "您的密码已过期，请登录{password}设置新密码。"),
        },
        VerifyReason::AccountDisabled => if en {
            write!(s, "This account is disabled. Contact {helpdesk}.")
        } else {
            write!(s, "该帐号已被停用，请联系{helpdesk}。")
        },
        VerifyReason::AccountLocked => if en {
            write!(s, "This account is locked. Contact {helpdesk}.")
        } else {
            write!(s, "该帐号已被锁定，请联系{helpdesk}。")
        },
        VerifyReason::VerificationRequired => match (&d.place, en) {
            (Some((p, _)), true) => write!(s, "Unusual login (from {p}): sign in to {confirm} and confirm it was you, then try again."),
            (Some((_, p)), false) => write!(s, "本次登录存在异常（{p}）：请先登录{confirm}完成身份验证，然后重试。"),
            (None, true) => write!(s, "This login needs verification: sign in to {confirm} and confirm it was you, then try again."),
            (None, false) => write!(s, "本次登录需要验证：请先登录{confirm}完成身份验证，然后重试。"),
        },
        VerifyReason::AccessDenied => match (&d.rule, en) {
            (Some((t, _)), true) => write!(s, "{t}. Contact {helpdesk} if you need access from here."),
            (Some((_, t)), false) => write!(s, "{t}。如需从此处访问，请联系{helpdesk}。"),
            (None, true) => write!(s, "Access refused by your organisation's policy. Contact {helpdesk}."),
            (None, false) => write!(s, "根据组织的访问策略，拒绝访问。请联系{helpdesk}。"),
        },
        VerifyReason::DenyRisk => if en {
            write!(s, "Login refused by risk control. If this was you, contact {helpdesk}.")
        } else {
            write!(s, "登录被风控系统拒绝。如为本人操作，请联系{helpdesk}。")
        },
        VerifyReason::DevicePending => {
            let since = d.until.map(|t| local_time(t, offset)).unwrap_or_default();
            match (en, since.is_empty()) {
                (true, false) => write!(s, "This device is new to your account and waits for approval (since {since}): approve it in {confirm} (Security > Devices), or ask {helpdesk}, then try again."),
                (true, true) => write!(s, "This device is new to your account and waits for approval: approve it in {confirm} (Security > Devices), or ask {helpdesk}, then try again."),
                (false, false) => write!(s, "该设备是首次登录您的帐号，正在等待批准（自 {since} 起）：请在{confirm}的“安全 > 设备”中批准，或联系{helpdesk}，然后重试。"),
                (false, true) => write!(s, "该设备是首次登录您的帐号，正在等待批准：请在{confirm}的“安全 > 设备”中批准，或联系{helpdesk}，然后重试。"),
            }
        }
        VerifyReason::SessionRevoked => {
            let at = d.until.map(|t| local_time(t, offset)).unwrap_or_default();
            match (en, at.is_empty()) {
                (true, false) => write!(s, "This device was signed out of your account at {at}. Enter a new password or a new authorization code from {codes} in this client, or approve the device again in {confirm} (Security > Devices)."),
                (true, true) => write!(s, "This device was signed out of your account. Enter a new password or a new authorization code from {codes} in this client, or approve the device again in {confirm} (Security > Devices)."),
                (false, false) => write!(s, "该设备已于 {at} 被退出登录。请在本客户端中填写新密码或在{codes}中生成的新授权码，或在{confirm}的“安全 > 设备”中重新批准该设备。"),
                (false, true) => write!(s, "该设备已被退出登录。请在本客户端中填写新密码或在{codes}中生成的新授权码，或在{confirm}的“安全 > 设备”中重新批准该设备。"),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(reason: VerifyReason) -> Verdict {
        Verdict::refuse(
            reason,
            Detail {
                protocol: Some(Protocol::Imap),
                ..Detail::default()
            },
        )
    }

    #[test]
    fn default_site_texts_are_the_plain_message() {
        let site = SiteTexts::default();
        for r in VerifyReason::ALL {
            for lang in Lang::ALL {
                let v = refused(r);
                assert_eq!(v.message(lang, 480), v.message_with(lang, 480, &site));
            }
        }
        assert_eq!(Verdict::ok().message_with(Lang::En, 0, &site), None);
    }

    #[test]
    fn site_texts_replace_every_site_specific_part() {
        let site = SiteTexts::default()
            .with(
                SitePart::Codes,
                Lang::En,
                "the account portal (Devices > App passwords)",
            )
            .and_then(|s| s.with(SitePart::Codes, Lang::Zh, "帐号门户的“设备 > 应用密码”"))
            .and_then(|s| s.with(SitePart::Confirm, Lang::En, "the Acme SSO app"))
            .and_then(|s| s.with(SitePart::Confirm, Lang::Zh, "Acme 单点登录应用"))
            .and_then(|s| s.with(SitePart::Password, Lang::En, "https://id.acme.test"))
            .and_then(|s| s.with(SitePart::Password, Lang::Zh, "https://id.acme.test "))
            .and_then(|s| s.with(SitePart::Helpdesk, Lang::En, "the IT helpdesk (ext. 8000)"))
            .and_then(|s| s.with(SitePart::Helpdesk, Lang::Zh, "IT 服务台（分机 8000）"))
            .unwrap();
        assert_eq!(
            site.get(SitePart::Password, Lang::Zh),
            "https://id.acme.test"
        );
        for r in VerifyReason::ALL {
            for lang in Lang::ALL {
                let mut v = refused(r);
                v.detail.code = r == VerifyReason::PasswordExpired;
                let m = v.message_with(lang, 480, &site).unwrap();
                for default in [
                    "webmail",
                    "网页邮箱",
                    "your administrator",
                    "管理员",
                    "Settings >",
                ] {
                    // "Your administrator requires a new password" names who
                    // demanded it, not whom to contact.
                    assert!(!m.contains(default), "{r} {lang}: {m}");
                }
            }
        }
        let m = refused(VerifyReason::AppPasswordRequired)
            .message_with(Lang::En, 0, &site)
            .unwrap();
        assert!(
            m.ends_with("Create a code in the account portal (Devices > App passwords) and enter it in this client as the IMAP password."),
            "{m}"
        );
    }

    #[test]
    fn site_texts_are_checked_when_set() {
        let mut site = SiteTexts::default();
        let before = site.clone();
        assert_eq!(
            site.set(SitePart::Helpdesk, Lang::En, "  \t "),
            Err(SiteTextError::Empty {
                part: SitePart::Helpdesk,
                lang: Lang::En
            })
        );
        let e = site
            .set(SitePart::Confirm, Lang::Zh, "网页邮箱\r\n* OK injected")
            .unwrap_err();
        assert_eq!(
            e,
            SiteTextError::ControlCharacter {
                part: SitePart::Confirm,
                lang: Lang::Zh,
                character: '\r',
                index: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "site text confirm (zh) holds the control or invisible character U+000D at character 4"
        );
        for sneaky in [
            "web\u{202E}liamb",
            "web\u{200B}mail",
            "web\u{0085}mail",
            "a\u{2028}b",
        ] {
            assert!(
                matches!(
                    site.set(SitePart::Codes, Lang::En, sneaky),
                    Err(SiteTextError::ControlCharacter { .. })
                ),
                "{sneaky:?}"
            );
        }
        let long = "x".repeat(SiteTexts::MAX_CHARS + 1);
        assert_eq!(
            site.set(SitePart::Codes, Lang::En, &long),
            Err(SiteTextError::TooLong {
                part: SitePart::Codes,
                lang: Lang::En,
                chars: SiteTexts::MAX_CHARS + 1
            })
        );
        // Characters, not bytes: 200 Chinese characters are fine.
        let zh = "门".repeat(SiteTexts::MAX_CHARS);
        assert_eq!(site, before, "a refused text changes nothing");
        site.set(SitePart::Codes, Lang::Zh, &zh).unwrap();
        assert_eq!(site.get(SitePart::Codes, Lang::Zh), zh);
    }

    #[test]
    fn lockout_messages_name_the_zone() {
        let v = Verdict::refuse(
            VerifyReason::LockedByRiskControl,
            Detail {
                ip: Some("81.2.69.9".parse().unwrap()),
                until: Some(Timestamp(1_704_151_800)),
                failures: Some(5),
                ..Detail::default()
            },
        );
        let m = |lang, off| v.message(lang, off).unwrap();
        assert!(
            m(Lang::En, 480).contains("until 2024-01-02 07:30 (UTC+8)"),
            "{}",
            m(Lang::En, 480)
        );
        assert!(
            m(Lang::En, 0).contains("until 2024-01-01 23:30 (UTC)"),
            "{}",
            m(Lang::En, 0)
        );
        assert!(
            m(Lang::Zh, 0).contains("2024-01-01 23:30 (UTC) 前"),
            "{}",
            m(Lang::Zh, 0)
        );
        assert!(
            m(Lang::Zh, -330).contains("(UTC-5:30)"),
            "{}",
            m(Lang::Zh, -330)
        );
    }

    #[test]
    fn chinese_messages_name_protocols_in_chinese() {
        let v = Verdict::refuse(
            VerifyReason::ProtocolNotAllowed,
            Detail {
                protocol: Some(Protocol::Web),
                code: true,
                ..Detail::default()
            },
        );
        let m = v.message(Lang::Zh, 480).unwrap();
        assert!(m.contains("网页") && !m.contains("web"), "{m}");
        let none = Verdict::refuse(VerifyReason::ProtocolNotAllowed, Detail::default());
        assert!(!none
            .message(Lang::Zh, 480)
            .unwrap()
            .contains("this protocol"));
    }
}
