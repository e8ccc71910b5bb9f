//! Helpdesk diagnosis: from a user's recent login attempts, security events
//! and account state, explain per client why it fails and what to do
//! ("the iPhone has failed 43 times since the password change on 3 March:
//! enter the new password or an authorization code").
//!
//! [`explain`] is pure: records in, findings out. The route gathers the
//! records.

use std::collections::BTreeMap;

use warden_core::{
    Account, AccountStatus, Outcome, Protocol, SecurityEvent, SecurityEventKind, Timestamp,
    VerifyReason,
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
    /// A verify reason, or `ok`, `account`.
    pub reason: String,
    pub client: String,
    pub failures: u32,
    pub since: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub explanation: String,
    pub explanation_zh: String,
    pub advice: String,
    pub advice_zh: String,
}

/// A client as the user would recognise it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ClientKey {
    protocol: Protocol,
    name: String,
}

fn client_name(e: &LoginEvent) -> String {
    e.device
        .clone()
        .or_else(|| e.user_agent.clone())
        .unwrap_or_else(|| "an unnamed client".to_string())
}

fn protocol_label(p: Protocol) -> &'static str {
    match p {
        Protocol::Imap => "IMAP",
        Protocol::Pop3 => "POP3",
        Protocol::Smtp => "SMTP",
        Protocol::Web => "web",
        Protocol::Im => "IM",
        Protocol::Api => "API",
        Protocol::Dav => "CalDAV/CardDAV",
    }
}

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

fn time(t: Timestamp, offset: i32) -> String {
    let c = t.civil(offset);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
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

/// Per client: the failures after its last success.
struct Trouble<'a> {
    failures: Vec<&'a LoginEvent>,
}

/// Explains each failing client, newest problem first; an all-clear when
/// there is nothing to explain.
pub fn explain(r: &Records<'_>) -> Vec<Finding> {
    let off = r.utc_offset_minutes;
    let mut out = Vec::new();
    if let Some(a) = r.account {
        let why = a
            .status_reason
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        match a.status {
            AccountStatus::Active => {}
            AccountStatus::Disabled => out.push(Finding {
                reason: "account_disabled".into(),
                client: "every client".into(),
                failures: 0,
                since: Some(a.updated_at),
                last: None,
                explanation: format!(
                    "The account was disabled by an administrator on {}{why}.",
                    date(a.updated_at, off)
                ),
                explanation_zh: format!(
                    "该帐号已于 {} 被管理员停用{why}。",
                    date(a.updated_at, off)
                ),
                advice: "Enable it (warden user enable) if this was a mistake.".into(),
                advice_zh: "如属误操作，请管理员重新启用该帐号。".into(),
            }),
            AccountStatus::Locked => out.push(Finding {
                reason: "account_locked".into(),
                client: "every client".into(),
                failures: 0,
                since: Some(a.updated_at),
                last: None,
                explanation: format!(
                    "The account was locked on {}{why}.",
                    date(a.updated_at, off)
                ),
                explanation_zh: format!("该帐号已于 {} 被锁定{why}。", date(a.updated_at, off)),
                advice: "Unlock it once the cause is cleared (warden user unlock).".into(),
                advice_zh: "排除原因后请管理员解锁该帐号。".into(),
            }),
        }
    } else {
        out.push(Finding {
            reason: "unknown_user".into(),
            client: "every client".into(),
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
        let key = ClientKey {
            protocol: e.protocol,
            name: client_name(e),
        };
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
        .filter_map(|(key, (t, _))| finding(r, &key, &t))
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
            client: format!("every client at {ip}"),
            failures,
            since: None,
            last,
            explanation: format!("Logins from {ip} are locked by risk control until {} after {failures} failures.", time(until, off)),
            explanation_zh: format!("来自 {ip} 的登录因 {failures} 次失败被风控锁定，至 {} 解除。", time(until, off)),
            advice: "Find the client at that address with a wrong saved password and fix it; an administrator can unlock the account at once.".into(),
            advice_zh: "请找到该地址上保存了错误密码的客户端并修正；管理员可立即解锁。".into(),
        });
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.last));
    out.extend(found);
    if out.is_empty() {
        out.push(Finding {
            reason: "ok".into(),
            client: "every client".into(),
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
fn finding(r: &Records<'_>, key: &ClientKey, t: &Trouble<'_>) -> Option<Finding> {
    let off = r.utc_offset_minutes;
    let newest = t.failures.first()?;
    let oldest = t.failures.last()?;
    let n = t.failures.len() as u32;
    let proto = protocol_label(key.protocol);
    let place = newest
        .city
        .as_deref()
        .map(|c| format!(" in {c}"))
        .unwrap_or_default();
    let place_zh = newest
        .city
        .as_deref()
        .map(|c| format!("，{c}"))
        .unwrap_or_default();
    let client = format!("{} ({proto}, last from {}{place})", key.name, newest.ip);
    let client_zh = format!("{}（{proto}，最近来自 {}{place_zh}）", key.name, newest.ip);
    let reason = newest.auth_reason.unwrap_or(match newest.outcome {
        Outcome::Failure(_) => VerifyReason::WrongPassword,
        Outcome::Success => return None,
    });
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
                "Create an authorization code in webmail (Settings > Security) and enter it in this client instead of the password.",
                "请在网页邮箱“设置 > 安全”中生成客户端授权码，并在该客户端中用它代替登录密码。",
            )
        }
        VerifyReason::TlsRequired => base(
            format!("{client} connects without encryption: plaintext {proto} was refused {times}."),
            format!("{client_zh} 使用明文连接：{proto} 明文登录被拒绝 {n} 次。"),
            &format!("Turn on SSL/TLS in the client: use {}.", secure_port(key.protocol)),
            "请在客户端中开启 SSL/TLS（IMAP 993、POP3 995、SMTP 465 或 587+STARTTLS）。",
        ),
        VerifyReason::LockedByRiskControl => {
            let lock = r.lockouts.iter().find(|(ip, _, _)| *ip == newest.ip);
            match lock {
                Some((ip, failures, until)) => base(
                    format!("{client} is locked by risk control until {} after {failures} failures from {ip}.", time(*until, off)),
                    format!("{client_zh} 因来自 {ip} 的 {failures} 次失败被风控锁定，至 {} 解除。", time(*until, off)),
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
            format!("{client_zh} 使用的授权码不允许 {proto}：被拒绝 {n} 次。"),
            &format!("Create an authorization code that allows {proto} and enter it in this client."),
            "请生成允许该协议的授权码并填入该客户端。",
        ),
        VerifyReason::PasswordExpired => base(
            format!("{client} is refused because the password (or its code) has expired: {times} since {since}."),
            format!("{client_zh} 因密码（或授权码）过期被拒绝：自 {since} 起 {n} 次。"),
            "Set a new password in webmail, or create a new authorization code.",
            "请登录网页邮箱设置新密码，或重新生成授权码。",
        ),
        VerifyReason::AccountDisabled | VerifyReason::AccountLocked => base(
            format!("{client} is refused because the account is {}: {times}.", if reason == VerifyReason::AccountDisabled { "disabled" } else { "locked" }),
            format!("{client_zh} 因帐号{}被拒绝 {n} 次。", if reason == VerifyReason::AccountDisabled { "停用" } else { "锁定" }),
            "Contact the administrator.",
            "请联系管理员。",
        ),
        VerifyReason::VerificationRequired => base(
            format!("{client}: logins from this place need confirmation; refused {times} since {since}."),
            format!("{client_zh}：该地点的登录需要验证，自 {since} 起被拒绝 {n} 次。"),
            "Sign in to webmail from this place and confirm it was you; the place then becomes known.",
            "请在该地点登录网页邮箱并完成身份验证，之后该地点将被记为常用地点。",
        ),
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
    })
}
