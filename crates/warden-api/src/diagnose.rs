//! Helpdesk diagnosis: from a user's recent login attempts, security events
//! and account state, explain per client why it fails and what to do
//! ("the iPhone has failed 43 times since the password change on 3 March:
//! enter the new password or an authorization code").
//!
//! [`explain`] is pure: records in, findings out. The route gathers the
//! records. Every text exists in English and Chinese; clients are named as
//! a person reads them (`Thunderbird 115.3`, not the raw IMAP ID), and
//! times name their zone (the policy's `learning.utc_offset_minutes`).

use std::collections::BTreeMap;

use warden_core::reason::local_time;
use warden_core::verify::{protocol_label, SitePart, SiteTexts};
use warden_core::{
    client, Account, AccountStatus, Lang, Outcome, Protocol, SecurityEvent, SecurityEventKind,
    Timestamp, VerifyReason,
};
use warden_store::LoginEvent;

/// What the diagnosis looks at: the newest attempts first, as history
/// returns them.
pub struct Records<'a> {
    pub account: Option<&'a Account>,
    pub events: &'a [LoginEvent],
    pub security: &'a [SecurityEvent],
    /// The org requires codes for mail clients.
    pub codes_required: bool,
    /// Lockout until, per IP, as the engine sees it now.
    pub lockouts: &'a [(std::net::IpAddr, u32, Timestamp)],
    pub utc_offset_minutes: i32,
}

/// One explained problem (or the all-clear).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// A verify reason, or `ok`, `unknown_user`.
    pub reason: String,
    /// The client as a person reads it, with its protocol and last address:
    /// `Thunderbird 115.3 (IMAP, last from 113.88.1.10 in Guangzhou)`;
    /// `every client` for the account as a whole.
    pub client: String,
    /// The same in Chinese.
    pub client_zh: String,
    /// The user agent or IMAP ID string the client sent on its newest
    /// failing attempt, unchanged, for admins (`None` for account-wide
    /// findings and clients that sent none).
    pub user_agent: Option<String>,
    pub failures: u32,
    pub since: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub explanation: String,
    pub explanation_zh: String,
    pub advice: String,
    pub advice_zh: String,
}

/// A client as the user would recognise it: its protocol, the program as
/// a person reads it ([`client::describe`]) and the device.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ClientKey {
    protocol: Protocol,
    program: Option<String>,
    device: Option<String>,
}

impl ClientKey {
    fn of(e: &LoginEvent) -> Self {
        let device = e
            .device
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        ClientKey {
            protocol: e.protocol,
            program: e.user_agent.as_deref().and_then(client::describe),
            device,
        }
    }

    /// The client's name in English and Chinese.
    fn names(&self) -> (String, String) {
        match (&self.program, &self.device) {
            (Some(p), Some(d)) => (format!("{p} on {d}"), format!("{d} 上的 {p}")),
            (Some(n), None) | (None, Some(n)) => (n.clone(), n.clone()),
            (None, None) => ("An unnamed client".into(), "未命名的客户端".into()),
        }
    }
}

/// The account as a whole, in English and Chinese.
const EVERY_CLIENT: (&str, &str) = ("every client", "所有客户端");

fn secure_port(p: Protocol) -> &'static str {
    match p {
        Protocol::Imap => "port 993 with SSL/TLS",
        Protocol::Pop3 => "port 995 with SSL/TLS",
        Protocol::Smtp => "port 465 with SSL/TLS, or 587 with STARTTLS",
        _ => "HTTPS",
    }
}

fn date(t: Timestamp, offset: i32) -> String {
    let c = t.civil(offset);
    format!("{}-{:02}-{:02}", c.year, c.month, c.day)
}

/// The newest security event of one of `kinds` at or before `before`.
fn last_change(
    security: &[SecurityEvent],
    kinds: &[SecurityEventKind],
    before: Timestamp,
) -> Option<Timestamp> {
    security
        .iter()
        .filter(|e| kinds.contains(&e.kind) && e.ts <= before)
        .map(|e| e.ts)
        .max()
}

/// Why a failed attempt failed, by the verify reason's name: the one
/// Warden's credential check stored, else (a login the mail server checked
/// and reported) what the reported failure reason and the risk reasons
/// say, so the history and the diagnosis use the same names. `None` for a
/// success.
pub fn verify_reason(e: &LoginEvent) -> Option<VerifyReason> {
    use warden_core::{FailureReason, ReasonCode};
    if let Some(r) = e.auth_reason {
        return Some(r);
    }
    let Outcome::Failure(f) = e.outcome else {
        return None;
    };
    Some(match f {
        FailureReason::ChallengeFailed => VerifyReason::VerificationRequired,
        FailureReason::Blocked if e.reasons.contains(&ReasonCode::BruteForceLockout) => {
            VerifyReason::LockedByRiskControl
        }
        FailureReason::Blocked if e.reasons.contains(&ReasonCode::AccessDenied) => {
            VerifyReason::AccessDenied
        }
        FailureReason::Blocked => VerifyReason::DenyRisk,
        FailureReason::WrongPassword | FailureReason::UnknownUser | FailureReason::Other => {
            VerifyReason::WrongPassword
        }
    })
}

/// Per client: the failures after its last success.
struct Trouble<'a> {
    failures: Vec<&'a LoginEvent>,
}

/// Explains each failing client, newest problem first; an all-clear when
/// there is nothing to explain. The advice names Warden's own places
/// ([`SiteTexts::default`]).
pub fn explain(r: &Records<'_>) -> Vec<Finding> {
    explain_with(r, &SiteTexts::default())
}

/// [`explain`], with the advice naming the site's places (where users
/// create authorization codes, confirm a sign-in, set a password).
pub fn explain_with(r: &Records<'_>, site: &SiteTexts) -> Vec<Finding> {
    let off = r.utc_offset_minutes;
    let (every, every_zh) = EVERY_CLIENT;
    let mut out = Vec::new();
    if let Some(a) = r.account {
        let why = a
            .status_reason
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let why_zh = a
            .status_reason
            .as_deref()
            .map(|s| format!("（{s}）"))
            .unwrap_or_default();
        match a.status {
            AccountStatus::Active => {}
            AccountStatus::Disabled => out.push(Finding {
                reason: "account_disabled".into(),
                client: every.into(),
                client_zh: every_zh.into(),
                user_agent: None,
                failures: 0,
                since: Some(a.updated_at),
                last: None,
                explanation: format!(
                    "The account was disabled by an administrator on {}{why}.",
                    date(a.updated_at, off)
                ),
                explanation_zh: format!(
                    "该帐号已于 {} 被管理员停用{why_zh}。",
                    date(a.updated_at, off)
                ),
                advice: "Enable it (warden user enable) if this was a mistake.".into(),
                advice_zh: "如属误操作，请管理员重新启用该帐号。".into(),
            }),
            AccountStatus::Locked => out.push(Finding {
                reason: "account_locked".into(),
                client: every.into(),
                client_zh: every_zh.into(),
                user_agent: None,
                failures: 0,
                since: Some(a.updated_at),
                last: None,
                explanation: format!(
                    "The account was locked on {}{why}.",
                    date(a.updated_at, off)
                ),
                explanation_zh: format!("该帐号已于 {} 被锁定{why_zh}。", date(a.updated_at, off)),
                advice: "Unlock it once the cause is cleared (warden user unlock).".into(),
                advice_zh: "排除原因后请管理员解锁该帐号。".into(),
            }),
        }
    } else {
        out.push(Finding {
            reason: "unknown_user".into(),
            client: every.into(),
            client_zh: every_zh.into(),
            user_agent: None,
            failures: r.events.iter().filter(|e| !e.outcome.is_success()).count() as u32,
            since: None,
            last: r.events.first().map(|e| e.ts),
            explanation: "There is no such account: every login fails as a wrong password.".into(),
            explanation_zh: "不存在该帐号：所有登录都会按密码错误处理。".into(),
            advice: "Check the spelling of the user name in the client.".into(),
            advice_zh: "请检查客户端中填写的用户名是否正确。".into(),
        });
    }

    // Group attempts by client; the events come newest first, so a client's
    // trouble is the run of failures before (newer than) its last success.
    let mut troubles: BTreeMap<ClientKey, (Trouble<'_>, bool)> = BTreeMap::new();
    for e in r.events {
        let key = ClientKey::of(e);
        let (t, done) = troubles.entry(key).or_insert((
            Trouble {
                failures: Vec::new(),
            },
            false,
        ));
        if *done {
            continue;
        }
        if e.outcome.is_success() {
            *done = true;
        } else {
            t.failures.push(e);
        }
    }
    let mut found: Vec<Finding> = troubles
        .into_iter()
        .filter(|(_, (t, _))| !t.failures.is_empty())
        .filter_map(|(key, (t, _))| finding(r, site, &key, &t))
        .collect();
    // Lockouts hold per address, whatever client last used it.
    for &(ip, failures, until) in r.lockouts {
        if found
            .iter()
            .any(|f| f.reason == "locked_by_risk_control" && f.client.contains(&ip.to_string()))
        {
            continue;
        }
        let last = r.events.iter().find(|e| e.ip == ip).map(|e| e.ts);
        found.push(Finding {
            reason: VerifyReason::LockedByRiskControl.as_str().to_string(),
            client: format!("{every} at {ip}"),
            client_zh: format!("{ip} 上的{every_zh}"),
            user_agent: None,
            failures,
            since: None,
            last,
            explanation: format!("Logins from {ip} are locked by risk control until {} after {failures} failures.", local_time(until, off)),
            explanation_zh: format!("来自 {ip} 的登录因 {failures} 次失败被风控锁定，至 {} 解除。", local_time(until, off)),
            advice: "Find the client at that address with a wrong saved password and fix it; an administrator can unlock the account at once.".into(),
            advice_zh: "请找到该地址上保存了错误密码的客户端并修正；管理员可立即解锁。".into(),
        });
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.last));
    out.extend(found);
    if out.is_empty() {
        out.push(Finding {
            reason: "ok".into(),
            client: every.into(),
            client_zh: every_zh.into(),
            user_agent: None,
            failures: 0,
            since: None,
            last: r.events.first().map(|e| e.ts),
            explanation: "No client is failing: every client's latest login succeeded.".into(),
            explanation_zh: "没有登录失败的客户端：所有客户端最近一次登录均成功。".into(),
            advice: "Nothing to do.".into(),
            advice_zh: "无需处理。".into(),
        });
    }
    out
}

/// The finding for one client's run of failures (newest first).
fn finding(r: &Records<'_>, site: &SiteTexts, key: &ClientKey, t: &Trouble<'_>) -> Option<Finding> {
    let off = r.utc_offset_minutes;
    let newest = t.failures.first()?;
    let oldest = t.failures.last()?;
    let n = t.failures.len() as u32;
    let proto = protocol_label(Some(key.protocol), Lang::En);
    let proto_zh = protocol_label(Some(key.protocol), Lang::Zh);
    let (codes, codes_zh) = (
        site.get(SitePart::Codes, Lang::En),
        site.get(SitePart::Codes, Lang::Zh),
    );
    let (password, password_zh) = (
        site.get(SitePart::Password, Lang::En),
        site.get(SitePart::Password, Lang::Zh),
    );
    let (confirm, confirm_zh) = (
        site.get(SitePart::Confirm, Lang::En),
        site.get(SitePart::Confirm, Lang::Zh),
    );
    let place = newest
        .city
        .as_deref()
        .map(|c| format!(" in {c}"))
        .unwrap_or_default();
    let place_zh = newest
        .city
        .as_deref()
        .map(|c| {
            let zh = warden_geo::zh::ZhNames::builtin().city(c, newest.region.as_deref());
            format!("，{}", zh.as_deref().unwrap_or(c))
        })
        .unwrap_or_default();
    let (name, name_zh) = key.names();
    let client = format!("{name} ({proto}, last from {}{place})", newest.ip);
    let client_zh = format!("{name_zh}（{proto_zh}，最近来自 {}{place_zh}）", newest.ip);
    let reason = verify_reason(newest)?;
    let since = date(oldest.ts, off);
    let times = match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    let base =
        |explanation: String, explanation_zh: String, advice: &str, advice_zh: &str| Finding {
            reason: reason.as_str().to_string(),
            client: client.clone(),
            client_zh: client_zh.clone(),
            user_agent: newest.user_agent.clone(),
            failures: n,
            since: Some(oldest.ts),
            last: Some(newest.ts),
            explanation,
            explanation_zh,
            advice: advice.to_string(),
            advice_zh: advice_zh.to_string(),
        };
    use SecurityEventKind as K;
    Some(match reason {
        VerifyReason::WrongPassword => {
            match last_change(r.security, &[K::PasswordChanged, K::PasswordReset], oldest.ts) {
                Some(changed) => base(
                    format!("{client} has failed {times} since the password change on {}.", date(changed, off)),
                    format!("{client_zh} 自 {} 修改密码后已失败 {n} 次。", date(changed, off)),
                    "Enter the new password, or an authorization code, in this client.",
                    "请在该客户端中填写新密码或客户端授权码。",
                ),
                None => base(
                    format!("{client} has failed {times} with a wrong password since {since}."),
                    format!("{client_zh} 自 {since} 起密码错误 {n} 次。"),
                    "Check the password saved in this client; if nobody recognises these attempts, change the password.",
                    "请检查该客户端中保存的密码；如非本人操作，请立即修改密码。",
                ),
            }
        }
        VerifyReason::AppPasswordRequired => {
            let on = last_change(r.security, &[K::TwoFactorEnabled], newest.ts);
            let (why, why_zh) = match (on, r.codes_required) {
                (Some(d), _) => (
                    format!("two-factor authentication was turned on on {}", date(d, off)),
                    format!("已于 {} 开启两步验证", date(d, off)),
                ),
                (None, true) => ("the organisation requires authorization codes".to_string(), "组织要求使用客户端授权码".to_string()),
                (None, false) => ("two-factor authentication is required".to_string(), "要求两步验证".to_string()),
            };
            base(
                format!("{client} sends the login password, but {why}: refused {times} since {since}."),
                format!("{client_zh} 使用的是登录密码，但{why_zh}：自 {since} 起被拒绝 {n} 次。"),
                &format!("Create an authorization code in {codes} and enter it in this client instead of the password."),
                &format!("请在{codes_zh}中生成客户端授权码，并在该客户端中用它代替登录密码。"),
            )
        }
        VerifyReason::TlsRequired => base(
            format!("{client} connects without encryption: plaintext {proto} was refused {times}."),
            format!("{client_zh} 使用明文连接：{proto_zh} 明文登录被拒绝 {n} 次。"),
            &format!("Turn on SSL/TLS in the client: use {}.", secure_port(key.protocol)),
            "请在客户端中开启 SSL/TLS（IMAP 993、POP3 995、SMTP 465 或 587+STARTTLS）。",
        ),
        VerifyReason::LockedByRiskControl => {
            let lock = r.lockouts.iter().find(|(ip, _, _)| *ip == newest.ip);
            match lock {
                Some((ip, failures, until)) => base(
                    format!("{client} is locked by risk control until {} after {failures} failures from {ip}.", local_time(*until, off)),
                    format!("{client_zh} 因来自 {ip} 的 {failures} 次失败被风控锁定，至 {} 解除。", local_time(*until, off)),
                    "Fix the password saved in this client, then wait for the lock to end (or ask an administrator to unlock the account).",
                    "请先修正该客户端中保存的密码，然后等待锁定解除（或请管理员解锁）。",
                ),
                None => base(
                    format!("{client} was locked by risk control {times} after repeated failures from {}; the lock has ended.", newest.ip),
                    format!("{client_zh} 曾因来自 {} 的多次失败被风控锁定 {n} 次，目前已解除。", newest.ip),
                    "Fix the password saved in this client, or it will be locked again.",
                    "请修正该客户端中保存的密码，否则会再次被锁定。",
                ),
            }
        }
        VerifyReason::ProtocolNotAllowed => base(
            format!("{client} uses an authorization code that does not allow {proto}: refused {times}."),
            format!("{client_zh} 使用的授权码不允许 {proto_zh}：被拒绝 {n} 次。"),
            &format!("Create an authorization code that allows {proto} in {codes} and enter it in this client."),
            &format!("请在{codes_zh}中生成允许 {proto_zh} 的授权码，并填入该客户端。"),
        ),
        VerifyReason::PasswordExpired => base(
            format!("{client} is refused because the password (or its code) has expired: {times} since {since}."),
            format!("{client_zh} 因密码（或授权码）过期被拒绝：自 {since} 起 {n} 次。"),
            &format!("Sign in to {password} to set a new password, or create a new authorization code in {codes}."),
            &format!("请登录{password_zh}设置新密码，或在{codes_zh}中重新生成授权码。"),
        ),
        VerifyReason::AccountDisabled | VerifyReason::AccountLocked => base(
            format!("{client} is refused because the account is {}: {times}.", if reason == VerifyReason::AccountDisabled { "disabled" } else { "locked" }),
            format!("{client_zh} 因帐号{}被拒绝 {n} 次。", if reason == VerifyReason::AccountDisabled { "停用" } else { "锁定" }),
            "Contact the administrator.",
            "请联系管理员。",
        ),
        VerifyReason::VerificationRequired => {
            let (from, from_zh) = match (newest.city.as_deref(), newest.country) {
                (Some(_), _) => (place.trim_start_matches(" in ").to_string(), place_zh.trim_start_matches('，').to_string()),
                (None, Some(c)) => (c.as_str().to_string(), c.as_str().to_string()),
                (None, None) => (newest.ip.to_string(), newest.ip.to_string()),
            };
            base(
                format!("{client}: refused: verification required — login protection holds sign-ins from {from} until the user confirms one; refused {times} since {since}."),
                format!("{client_zh}：需要验证——登录保护会拒绝来自{from_zh}的登录，直到用户确认；自 {since} 起被拒绝 {n} 次。"),
                &format!("Confirm the sign-in from {from} in {confirm} (refused sign-ins) or with the alert's \"yes, it was me\"; this client then logs in from there."),
                &format!("请在{confirm_zh}的“被拒绝的登录”中确认来自{from_zh}的登录（或在提醒邮件中选择“是我本人”），之后该客户端即可从该地点登录。"),
            )
        }
        VerifyReason::AccessDenied => base(
            format!("{client} is refused by the organisation's access rules (blocklist, allowlist, allowed countries or protocols): {times} since {since}."),
            format!("{client_zh} 因组织的访问策略（黑名单、白名单、允许的国家或协议）被拒绝：自 {since} 起 {n} 次。"),
            "If this access is needed, an administrator can change policy.access.",
            "如确需此访问，请管理员调整访问策略（policy.access）。",
        ),
        VerifyReason::DenyRisk => base(
            format!("{client} was refused by risk control {times} since {since}."),
            format!("{client_zh} 自 {since} 起被风控拒绝 {n} 次。"),
            "If these attempts are the user's, ask an administrator to review the risk reasons in the login history.",
            "如为本人操作，请管理员查看登录历史中的风险原因。",
        ),
        VerifyReason::DevicePending => {
            let at = local_time(oldest.ts, off);
            base(
                format!("{client} is refused: new device pending approval since {at} (refused {times})."),
                format!("{client_zh} 被拒绝：新设备自 {at} 起等待批准（已拒绝 {n} 次）。"),
                &format!("If this is the user's device, approve it in {confirm} (Security > Devices) or: warden sessions approve <user> <id>."),
                &format!("如为本人设备，请在{confirm_zh}的“安全 > 设备”中批准，或请管理员批准该设备。"),
            )
        }
        VerifyReason::SessionRevoked => {
            let (when, when_zh) = match last_change(r.security, &[K::SessionsRevoked], oldest.ts) {
                Some(t) => (
                    format!("session revoked at {} (logged out everywhere)", local_time(t, off)),
                    format!("会话已于 {} 被撤销（全部设备退出登录）", local_time(t, off)),
                ),
                None => (
                    "session revoked by the user or an administrator".to_string(),
                    "会话已被用户或管理员撤销".to_string(),
                ),
            };
            base(
                format!("{client} is refused: {when}; refused {times} since {since}."),
                format!("{client_zh} 被拒绝：{when_zh}；自 {since} 起被拒绝 {n} 次。"),
                &format!("Enter a new password or a new authorization code from {codes} in this client, or approve the device again (warden sessions approve) if it is the user's."),
                &format!("请在该客户端中填写新密码或在{codes_zh}中生成的新授权码；如为本人设备，也可重新批准该设备。"),
            )
        }
    })
}

/// Adds a finding per access policy rule that refused the user's logins
/// ("refused by policy 'office-only' (org example, v3): the address ... is
/// not on the allowlist"); the generic access-denial findings go when every
/// denial is explained by a policy.
pub fn add_policy_findings(
    findings: &mut Vec<Finding>,
    explained: &[warden_service::policies::explain::PolicyExplained],
    utc_offset_minutes: i32,
) {
    if explained.is_empty() {
        return;
    }
    let explained_n: u32 = explained.iter().map(|x| x.count).sum();
    let generic_n: u32 = findings
        .iter()
        .filter(|f| f.reason == VerifyReason::AccessDenied.as_str())
        .map(|f| f.failures)
        .sum();
    if explained_n >= generic_n {
        findings.retain(|f| f.reason != VerifyReason::AccessDenied.as_str());
    }
    for x in explained {
        let since = local_time(x.first, utc_offset_minutes);
        let (en, zh) = &x.text;
        findings.push(Finding {
            reason: "access_policy".into(),
            client: EVERY_CLIENT.0.into(),
            client_zh: EVERY_CLIENT.1.into(),
            user_agent: None,
            failures: x.count,
            since: Some(x.first),
            last: Some(x.last),
            explanation: format!(
                "{en}; refused {} since {since}.",
                match x.count {
                    1 => "once".to_string(),
                    2 => "twice".to_string(),
                    n => format!("{n} times"),
                }
            ),
            explanation_zh: format!("{zh}；自 {since} 起被拒绝 {} 次。", x.count),
            advice: format!(
                "If this access is needed, change or remove the policy (warden policies show {} {}), or run it report-only first.",
                x.refusal.source.scope, x.refusal.source.target
            ),
            advice_zh: "如确需此访问，请管理员调整或删除该访问策略，或先改为仅报告模式。".into(),
        });
    }
}

/// The user's devices that wait for approval or were signed out, from
/// their session records: what [`explain`] cannot see when the device made
/// no attempt in the history read (pending since, signed out at, by whom).
pub fn device_findings(
    sessions: &[warden_core::DeviceSession],
    utc_offset_minutes: i32,
) -> Vec<Finding> {
    use warden_core::SessionState;
    let off = utc_offset_minutes;
    sessions
        .iter()
        .filter(|s| s.state != SessionState::Active)
        .map(|s| {
            let name = s.client.clone().unwrap_or_else(|| s.device.clone());
            let proto = protocol_label(Some(s.protocol), Lang::En);
            let proto_zh = protocol_label(Some(s.protocol), Lang::Zh);
            let at = local_time(s.state_at, off);
            let by = match s.state_by.as_str() {
                "user" => ("the user", "用户"),
                "admin" => ("an administrator", "管理员"),
                _ => ("Warden", "系统"),
            };
            let (reason, explanation, explanation_zh, advice, advice_zh) =
                if s.state == SessionState::Pending {
                    (
                        VerifyReason::DevicePending,
                        format!("{name} ({proto}, device {}) is a new device pending approval since {at}.", s.id),
                        format!("{name}（{proto_zh}，设备 {}）是新设备，自 {at} 起等待批准。", s.id),
                        format!("If this is the user's device, approve it: warden sessions approve <user> {}.", s.id),
                        "如为本人设备，请用户在网页邮箱中批准，或由管理员批准。".to_string(),
                    )
                } else {
                    (
                        VerifyReason::SessionRevoked,
                        format!("{name} ({proto}, device {}): session revoked at {at} by {}.", s.id, by.0),
                        format!("{name}（{proto_zh}，设备 {}）：会话已于 {at} 被{}撤销。", s.id, by.1),
                        "Its next login needs a new password or authorization code, or an approval.".to_string(),
                        "该设备再次登录需使用新密码或新授权码，或重新批准。".to_string(),
                    )
                };
            Finding {
                reason: reason.as_str().to_string(),
                client: format!("{name} ({proto})"),
                client_zh: format!("{name}（{proto_zh}）"),
                user_agent: None,
                failures: 0,
                since: Some(s.state_at),
                last: Some(s.last_seen),
                explanation,
                explanation_zh,
                advice,
                advice_zh,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use warden_core::{
        Country, Decision, FailureReason, Level, ReasonCode, Role, SecurityEventKind,
    };

    use super::*;

    const T0: i64 = 1_772_330_400; // 2026-03-01 02:00 UTC

    struct Ev {
        mins: i64,
        ip: &'static str,
        protocol: Protocol,
        device: Option<&'static str>,
        ua: Option<&'static str>,
        city: Option<&'static str>,
        outcome: Outcome,
        auth: Option<VerifyReason>,
        reasons: Vec<ReasonCode>,
    }

    fn ev(mins: i64, ip: &'static str, protocol: Protocol, ua: Option<&'static str>) -> Ev {
        Ev {
            mins,
            ip,
            protocol,
            device: None,
            ua,
            city: Some("Shenzhen"),
            outcome: Outcome::Failure(FailureReason::WrongPassword),
            auth: None,
            reasons: Vec::new(),
        }
    }

    impl Ev {
        fn auth(mut self, r: VerifyReason) -> Self {
            self.auth = Some(r);
            self
        }
        fn reported(mut self, f: FailureReason, reasons: &[ReasonCode]) -> Self {
            self.outcome = Outcome::Failure(f);
            self.reasons = reasons.to_vec();
            self
        }
        fn event(self) -> LoginEvent {
            LoginEvent {
                id: Some(self.mins),
                ts: Timestamp(T0 + self.mins * 60),
                user: "bob@acme.test".into(),
                ip: self.ip.parse().unwrap(),
                protocol: self.protocol,
                outcome: self.outcome,
                device: self.device.map(str::to_string),
                user_agent: self.ua.map(str::to_string),
                country: Country::new("CN").ok(),
                region: Some("Guangdong".into()),
                city: self.city.map(str::to_string),
                asn: Some(4134),
                decision: Decision::Allow,
                risk: 0.1,
                level: Level::Low,
                alert: false,
                reasons: self.reasons,
                auth_reason: self.auth,
            }
        }
    }

    fn account(status: AccountStatus, why: Option<&str>) -> Account {
        Account {
            user: "bob@acme.test".into(),
            org: "acme".into(),
            display_name: "Bob".into(),
            email: None,
            phone: None,
            role: Role::User,
            status,
            status_reason: why.map(str::to_string),
            password_hash: None,
            password_changed_at: None,
            must_change_password: false,
            two_factor_changed_at: None,
            lang: None,
            created_at: Timestamp(T0 - 86_400 * 30),
            updated_at: Timestamp(T0 + 3600 * 5),
        }
    }

    const THUNDERBIRD: &str = r#"("name" "Thunderbird" "version" "115.3")"#;
    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

    /// A history with every verify reason, reported failures, clients with
    /// and without names, and a lockout; newest first.
    fn history() -> Vec<LoginEvent> {
        use Protocol::*;
        use VerifyReason as R;
        let mut iphone = ev(10, "120.230.5.5", Imap, None);
        iphone.device = Some("iPhone");
        let mut ipad = ev(12, "120.230.5.6", Imap, Some(THUNDERBIRD)).auth(R::AccountLocked);
        ipad.device = Some("iPad");
        let mut unnamed = ev(14, "120.230.5.7", Pop3, None).auth(R::TlsRequired);
        unnamed.city = None;
        let mut events: Vec<LoginEvent> = vec![
            iphone,
            ev(11, "113.88.1.10", Imap, Some(THUNDERBIRD)).auth(R::AppPasswordRequired),
            ipad,
            ev(13, "113.88.1.11", Smtp, Some("Foxmail 7.2.25")).auth(R::ProtocolNotAllowed),
            unnamed,
            ev(15, "113.88.1.12", Pop3, Some("Microsoft Outlook 16.0")).auth(R::PasswordExpired),
            ev(16, "113.88.1.13", Web, Some(CHROME)).auth(R::VerificationRequired),
            ev(17, "113.88.1.14", Api, Some("curl/8.5.0")).auth(R::AccessDenied),
            ev(18, "113.88.1.15", Dav, Some("DAVx5/4.3")).auth(R::DenyRisk),
            ev(19, "113.88.1.16", Im, Some("DingTalk/7.0")).auth(R::AccountDisabled),
            ev(20, "113.88.1.17", Imap, Some("K-9 Mail/6.4")).auth(R::LockedByRiskControl),
            ev(21, "113.88.1.18", Imap, Some("Spark 3.1")).auth(R::LockedByRiskControl),
            // Checked and reported by the mail server.
            ev(22, "113.88.1.19", Smtp, Some("Evolution 3.50")).reported(
                FailureReason::ChallengeFailed,
                &[ReasonCode::UnusualCountry],
            ),
            ev(23, "113.88.1.20", Pop3, Some("Mutt/2.2"))
                .reported(FailureReason::Blocked, &[ReasonCode::BruteForceLockout]),
            ev(24, "113.88.1.21", Pop3, Some("SomethingElse/1.0"))
                .reported(FailureReason::Blocked, &[]),
        ]
        .into_iter()
        .map(Ev::event)
        .collect();
        // A wrong password with no password change: the other wording.
        events.push(ev(25, "113.88.1.22", Imap, Some("Evolution 3.50")).event());
        // A new device waiting for approval, and a signed-out one.
        events.push(
            ev(26, "113.88.1.23", Imap, Some("Airmail/5.6"))
                .auth(R::DevicePending)
                .event(),
        );
        events.push(
            ev(27, "113.88.1.24", Smtp, Some("Geary/44.1"))
                .auth(R::SessionRevoked)
                .event(),
        );
        events.sort_by_key(|e| std::cmp::Reverse(e.ts));
        events
    }

    fn security() -> Vec<SecurityEvent> {
        [
            (SecurityEventKind::PasswordChanged, 5),
            (SecurityEventKind::TwoFactorEnabled, 6),
        ]
        .into_iter()
        .map(|(kind, mins)| SecurityEvent {
            id: 0,
            ts: Timestamp(T0 + mins * 60),
            user: "bob@acme.test".into(),
            kind,
            actor: "admin".into(),
            ip: None,
            detail: String::new(),
        })
        .collect()
    }

    fn lockouts() -> Vec<(IpAddr, u32, Timestamp)> {
        vec![
            ("113.88.1.17".parse().unwrap(), 5, Timestamp(T0 + 40 * 60)),
            ("81.2.69.9".parse().unwrap(), 7, Timestamp(T0 + 45 * 60)),
        ]
    }

    /// What may stay in Latin letters in a Chinese text: names (of
    /// clients, devices, places the data has no Chinese for), protocol and
    /// standard names, the zone, a configuration key.
    const NAMES: &[&str] = &[
        "Thunderbird 115.3",
        "Foxmail 7.2.25",
        "Outlook 16.0",
        "Chrome on Windows",
        "curl 8.5.0",
        "DAVx5 4.3",
        "DingTalk 7.0",
        "K-9 Mail 6.4",
        "Spark 3.1",
        "Evolution 3.50",
        "Mutt 2.2",
        "SomethingElse 1.0",
        "Airmail 5.6",
        "Geary 44.1",
        "iPhone",
        "iPad",
        "CalDAV/CardDAV",
        "STARTTLS",
        "SSL/TLS",
        "IMAP",
        "POP3",
        "SMTP",
        "API",
        "IM",
        "UTC",
        "policy.access",
    ];

    const LOCK_REASON: &str = "账号疑似被盗";

    fn latin_left(zh: &str) -> String {
        let mut t = zh.to_string();
        for n in NAMES {
            t = t.replace(n, "");
        }
        t
    }

    fn assert_chinese(findings: &[Finding]) {
        for f in findings {
            for text in [&f.client_zh, &f.explanation_zh, &f.advice_zh] {
                let left = latin_left(text);
                assert!(
                    !left.chars().any(|c| c.is_ascii_alphabetic()),
                    "English in a Chinese text ({}): {text:?} leaves {left:?}",
                    f.reason
                );
            }
            for text in [&f.client, &f.explanation, &f.advice] {
                // The admin's own words for a lock stay as written.
                let text = &text.replace(LOCK_REASON, "");
                assert!(
                    !text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "Chinese in an English text ({}): {text:?}",
                    f.reason
                );
            }
        }
    }

    fn records<'a>(
        account: Option<&'a Account>,
        events: &'a [LoginEvent],
        security: &'a [SecurityEvent],
        lockouts: &'a [(IpAddr, u32, Timestamp)],
    ) -> Records<'a> {
        Records {
            account,
            events,
            security,
            codes_required: true,
            lockouts,
            utc_offset_minutes: 480,
        }
    }

    #[test]
    fn every_finding_exists_in_chinese_without_english_left_over() {
        let events = history();
        let security = security();
        let lockouts = lockouts();
        for a in [
            Some(account(AccountStatus::Active, None)),
            Some(account(AccountStatus::Locked, Some(LOCK_REASON))),
            Some(account(AccountStatus::Disabled, None)),
            None,
        ] {
            let found = explain(&records(a.as_ref(), &events, &security, &lockouts));
            assert_chinese(&found);
            if a.as_ref()
                .is_some_and(|a| a.status == AccountStatus::Active)
            {
                // Every verify reason got its own finding.
                for r in VerifyReason::ALL {
                    assert!(
                        found.iter().any(|f| f.reason == r.as_str()),
                        "no {r} finding: {found:#?}"
                    );
                }
            }
        }
        // The all-clear.
        let ok = explain(&records(
            Some(&account(AccountStatus::Active, None)),
            &[],
            &[],
            &[],
        ));
        assert_eq!(ok[0].reason, "ok");
        assert_chinese(&ok);
    }

    #[test]
    fn a_pending_device_says_since_when_and_a_revoked_session_when_it_was_revoked() {
        use VerifyReason as R;
        let mut events: Vec<LoginEvent> = [
            ev(42, "113.88.1.23", Protocol::Imap, Some(THUNDERBIRD)).auth(R::DevicePending),
            ev(50, "113.88.1.23", Protocol::Imap, Some(THUNDERBIRD)).auth(R::DevicePending),
            ev(60, "113.88.1.24", Protocol::Smtp, Some("Mutt/2.2")).auth(R::SessionRevoked),
        ]
        .into_iter()
        .map(Ev::event)
        .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.ts));
        let security = vec![SecurityEvent {
            id: 0,
            ts: Timestamp(T0 + 55 * 60),
            user: "bob@acme.test".into(),
            kind: SecurityEventKind::SessionsRevoked,
            actor: "admin".into(),
            ip: None,
            detail: String::new(),
        }];
        let account = account(AccountStatus::Active, None);
        let found = explain(&records(Some(&account), &events, &security, &[]));
        let pending = found.iter().find(|f| f.reason == "device_pending").unwrap();
        // T0 is 10:00 at UTC+8; the first refusal 42 minutes later.
        assert!(
            pending
                .explanation
                .contains("refused: new device pending approval since 2026-03-01 10:42"),
            "{}",
            pending.explanation
        );
        assert_eq!(pending.failures, 2);
        let revoked = found
            .iter()
            .find(|f| f.reason == "session_revoked")
            .unwrap();
        assert!(
            revoked
                .explanation
                .contains("session revoked at 2026-03-01 10:55"),
            "{}",
            revoked.explanation
        );
        assert_chinese(&found);
    }

    #[test]
    fn pending_and_signed_out_devices_are_explained_from_their_records() {
        use warden_core::{DeviceSession, SessionState};
        let session = |id: i64, state, by: &str, mins: i64| DeviceSession {
            id,
            user: "bob@acme.test".into(),
            device: "thunderbird/imap".into(),
            client: Some("Thunderbird 115.3".into()),
            os: None,
            protocol: Protocol::Imap,
            ip: "113.88.1.10".parse().unwrap(),
            country: None,
            city: None,
            first_seen: Timestamp(T0),
            last_seen: Timestamp(T0 + mins * 60),
            state,
            state_at: Timestamp(T0 + mins * 60),
            state_by: by.into(),
            trusted_until: None,
        };
        let found = device_findings(
            &[
                session(1, SessionState::Active, "system", 1),
                session(2, SessionState::Pending, "system", 42),
                session(3, SessionState::Revoked, "admin", 55),
            ],
            480,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].reason, "device_pending");
        assert_eq!(
            found[0].explanation,
            "Thunderbird 115.3 (IMAP, device 2) is a new device pending approval since 2026-03-01 10:42 (UTC+8)."
        );
        assert_eq!(found[1].reason, "session_revoked");
        assert_eq!(
            found[1].explanation,
            "Thunderbird 115.3 (IMAP, device 3): session revoked at 2026-03-01 10:55 (UTC+8) by an administrator."
        );
        assert_chinese(&found);
    }

    #[test]
    fn clients_are_named_as_people_read_them_with_the_raw_string_beside() {
        let events = history();
        let found = explain(&records(
            Some(&account(AccountStatus::Active, None)),
            &events,
            &[],
            &[],
        ));
        let tb = found
            .iter()
            .find(|f| f.reason == "app_password_required")
            .unwrap();
        assert_eq!(
            tb.client,
            "Thunderbird 115.3 (IMAP, last from 113.88.1.10 in Shenzhen)"
        );
        assert_eq!(
            tb.client_zh,
            "Thunderbird 115.3（IMAP，最近来自 113.88.1.10，深圳）"
        );
        assert_eq!(tb.user_agent.as_deref(), Some(THUNDERBIRD));
        assert!(
            tb.explanation.starts_with("Thunderbird 115.3 (IMAP"),
            "{tb:?}"
        );
        let on_ipad = found.iter().find(|f| f.reason == "account_locked").unwrap();
        assert!(
            on_ipad.client.starts_with("Thunderbird 115.3 on iPad"),
            "{on_ipad:?}"
        );
        assert!(
            on_ipad.client_zh.starts_with("iPad 上的 Thunderbird 115.3"),
            "{on_ipad:?}"
        );
        let unnamed = found.iter().find(|f| f.reason == "tls_required").unwrap();
        assert!(
            unnamed.client.starts_with("An unnamed client (POP3"),
            "{unnamed:?}"
        );
        assert!(
            unnamed.client_zh.starts_with("未命名的客户端（POP3"),
            "{unnamed:?}"
        );
        assert_eq!(unnamed.user_agent, None);
        assert!(found.iter().all(|f| !f.client.contains("\"name\"")));
    }

    #[test]
    fn reported_failures_use_the_verify_reasons_names() {
        let events = history();
        let by_ua = |ua: &str| {
            events
                .iter()
                .find(|e| e.user_agent.as_deref() == Some(ua))
                .unwrap()
        };
        assert_eq!(
            verify_reason(by_ua("Mutt/2.2")),
            Some(VerifyReason::LockedByRiskControl)
        );
        assert_eq!(
            verify_reason(by_ua("SomethingElse/1.0")),
            Some(VerifyReason::DenyRisk)
        );
        // The newest Evolution attempt is a wrong password, the older one
        // a failed step-up.
        let evo: Vec<_> = events
            .iter()
            .filter(|e| e.user_agent.as_deref() == Some("Evolution 3.50"))
            .map(verify_reason)
            .collect();
        assert_eq!(
            evo,
            [
                Some(VerifyReason::WrongPassword),
                Some(VerifyReason::VerificationRequired)
            ]
        );
        let mut ok = events[0].clone();
        ok.outcome = Outcome::Success;
        ok.auth_reason = None;
        assert_eq!(verify_reason(&ok), None);
    }

    #[test]
    fn times_name_their_zone() {
        let events = history();
        let lockouts = lockouts();
        let found = explain(&records(
            Some(&account(AccountStatus::Active, None)),
            &events,
            &[],
            &lockouts,
        ));
        let locked: Vec<_> = found
            .iter()
            .filter(|f| f.reason == "locked_by_risk_control" && f.explanation.contains("until"))
            .collect();
        assert_eq!(locked.len(), 2, "{found:#?}");
        for f in locked {
            assert!(f.explanation.contains("(UTC+8)"), "{f:?}");
            assert!(f.explanation_zh.contains("(UTC+8)"), "{f:?}");
        }
        let at_utc = explain(&Records {
            utc_offset_minutes: 0,
            ..records(None, &events, &[], &lockouts)
        });
        assert!(
            at_utc
                .iter()
                .any(|f| f.explanation.contains("until 2026-03-01 02:45 (UTC)")),
            "{at_utc:#?}"
        );
    }

    #[test]
    fn advice_names_the_sites_places() {
        let site = SiteTexts::default()
            .with(SitePart::Codes, Lang::En, "the Acme portal (App passwords)")
            .and_then(|s| s.with(SitePart::Codes, Lang::Zh, "Acme 门户的“应用密码”"))
            .and_then(|s| s.with(SitePart::Confirm, Lang::En, "the Acme SSO app"))
            .and_then(|s| s.with(SitePart::Confirm, Lang::Zh, "Acme 单点登录应用"))
            .and_then(|s| s.with(SitePart::Password, Lang::En, "id.acme.test"))
            .and_then(|s| s.with(SitePart::Password, Lang::Zh, "id.acme.test"))
            .unwrap();
        let events = history();
        let found = explain_with(
            &records(
                Some(&account(AccountStatus::Active, None)),
                &events,
                &[],
                &[],
            ),
            &site,
        );
        for f in &found {
            assert!(!f.advice.contains("webmail"), "{f:?}");
            assert!(!f.advice_zh.contains("网页邮箱"), "{f:?}");
        }
        let advice = |r: &str| found.iter().find(|f| f.reason == r).unwrap().advice.clone();
        assert!(advice("app_password_required").contains("the Acme portal (App passwords)"));
        assert!(advice("verification_required").contains("the Acme SSO app"));
        assert!(advice("password_expired").contains("id.acme.test"));
    }
}
