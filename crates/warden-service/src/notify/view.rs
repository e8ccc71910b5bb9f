//! What a notification template sees of an alert: every field cleaned of
//! hidden characters and bounded, times in the organisation's UTC offset,
//! names of places and actions in the reader's language, and the user's
//! three answer links.

use serde::Serialize;
use warden_core::text::one_line;
use warden_core::{countries, Alert, AlertKind, Decision, Grade, Lang, Protocol, Timestamp};

/// The longest any client- or data-supplied field gets in a message.
pub const MAX_FIELD_CHARS: usize = 80;

/// Where locations are credited (the DB-IP licence asks for it).
pub const GEO_CREDIT_URL: &str = "https://db-ip.com";

/// The user's answer links, absent in admin messages.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Links {
    pub it_was_me: String,
    pub not_me: String,
    pub wrong_location: String,
}

/// The template context of one alert.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub alert_id: i64,
    pub lang: &'static str,
    /// `unusual_location`...; and its words in `lang`.
    pub kind: &'static str,
    pub kind_text: &'static str,
    pub grade: &'static str,
    pub grade_text: &'static str,
    pub user: String,
    /// The (first) login's time at the organisation's offset, with the
    /// offset written out (`2026-12-03 21:04 (UTC+08:00)`).
    pub when: String,
    pub last_when: String,
    pub count: u32,
    /// City, region, country in `lang`, joined (`Lagos, Lagos, Nigeria`).
    pub place: String,
    pub city: String,
    pub region: String,
    pub country: String,
    pub ip: String,
    pub isp: String,
    pub asn: String,
    pub device: String,
    pub client: String,
    pub protocol: String,
    /// What Warden did with the login, in `lang`.
    pub action: &'static str,
    pub reasons: Vec<&'static str>,
    pub note: String,
    pub geo_credit_url: &'static str,
    pub links: Option<Links>,
}

fn clean(v: Option<&str>) -> String {
    v.map(|s| one_line(s, MAX_FIELD_CHARS)).unwrap_or_default()
}

/// `secs` at `offset_minutes` east of UTC, with the offset.
pub fn local_time(ts: Timestamp, offset_minutes: i32) -> String {
    let shifted = ts.secs().saturating_add(i64::from(offset_minutes) * 60);
    let civil = jiff::Timestamp::from_second(shifted)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| ts.secs().to_string());
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("{civil} (UTC{sign}{:02}:{:02})", m / 60, m % 60)
}

fn kind_text(kind: AlertKind, lang: Lang) -> &'static str {
    let zh = lang == Lang::Zh;
    match kind {
        AlertKind::UnusualLocation => {
            if zh {
                "异地登录"
            } else {
                "Sign-in from an unusual location"
            }
        }
        AlertKind::ImpossibleTravel => {
            if zh {
                "不可能的行程(短时间内两地登录)"
            } else {
                "Impossible travel between sign-ins"
            }
        }
        AlertKind::NewDevice => {
            if zh {
                "新设备登录"
            } else {
                "Sign-in from a new device"
            }
        }
        AlertKind::RiskyLogin => {
            if zh {
                "高风险登录"
            } else {
                "Risky sign-in"
            }
        }
        AlertKind::BruteForce => {
            if zh {
                "密码暴力破解"
            } else {
                "Repeated wrong passwords"
            }
        }
        AlertKind::PasswordSpraying => {
            if zh {
                "密码喷洒攻击"
            } else {
                "Password spraying"
            }
        }
        AlertKind::CredentialStuffing => {
            if zh {
                "撞库攻击"
            } else {
                "Credential stuffing"
            }
        }
        AlertKind::AccountUnderAttack => {
            if zh {
                "账户遭受攻击"
            } else {
                "Account under attack"
            }
        }
        AlertKind::LoginDisowned => {
            if zh {
                "用户否认了一次登录"
            } else {
                "A user disowned a sign-in"
            }
        }
        AlertKind::Summary => {
            if zh {
                "告警汇总"
            } else {
                "Alert summary"
            }
        }
        AlertKind::SuspiciousForwarding => {
            if zh {
                "可疑登录后新建了外部转发规则"
            } else {
                "Mail forwarded outside after a risky sign-in"
            }
        }
        AlertKind::SuspiciousOperation => {
            if zh {
                "可疑登录后的敏感操作"
            } else {
                "Sensitive change after a risky sign-in"
            }
        }
        AlertKind::LoginsSpread => {
            if zh {
                "一天内从多个国家或网络登录"
            } else {
                "Sign-ins from many countries or networks in a day"
            }
        }
        AlertKind::SendingBurst => {
            if zh {
                "发信量突增"
            } else {
                "Sending far above the usual rate"
            }
        }
        AlertKind::SignInHeld => {
            if zh {
                "异地登录已被拦截，等待您确认"
            } else {
                "A sign-in is waiting for your confirmation"
            }
        }
        AlertKind::IncidentOverdue => {
            if zh {
                "安全事件处置步骤已超时"
            } else {
                "An incident step is overdue"
            }
        }
        AlertKind::IncidentNotice => {
            if zh {
                "您的账户安全事件通知"
            } else {
                "Security incident notice for your account"
            }
        }
    }
}

fn grade_text(grade: Grade, lang: Lang) -> &'static str {
    match (grade, lang) {
        (Grade::Info, Lang::En) => "info",
        (Grade::Warning, Lang::En) => "warning",
        (Grade::Critical, Lang::En) => "critical",
        (Grade::Info, Lang::Zh) => "提示",
        (Grade::Warning, Lang::Zh) => "警告",
        (Grade::Critical, Lang::Zh) => "严重",
    }
}

fn action_text(decision: Option<Decision>, succeeded: bool, lang: Lang) -> &'static str {
    let zh = lang == Lang::Zh;
    match (decision, succeeded) {
        (Some(Decision::Deny), _) => {
            if zh {
                "已阻止此次登录"
            } else {
                "Warden blocked this sign-in"
            }
        }
        (Some(Decision::Challenge), true) => {
            if zh {
                "已要求二次验证,验证通过后放行"
            } else {
                "Warden asked for a second factor, which was passed"
            }
        }
        (Some(Decision::Challenge), false) => {
            if zh {
                "已要求二次验证,登录未完成"
            } else {
                "Warden asked for a second factor; the sign-in did not complete"
            }
        }
        (_, true) => {
            if zh {
                "已放行此次登录,并通知您确认"
            } else {
                "Warden let this sign-in through and asks you to confirm it"
            }
        }
        (_, false) => {
            if zh {
                "登录未成功"
            } else {
                "The sign-in did not succeed"
            }
        }
    }
}

/// What Warden did with a sign-in login protection held back.
fn held_text(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "密码正确，但登录保护已拦截此次登录：如果是您本人，请点击“是我本人”，然后重新连接邮件客户端",
        Lang::En => "The password was right, but login protection held the sign-in back: if it was you, answer \"Yes, it was me\" and reconnect your mail client",
    }
}

fn protocol_text(p: Protocol) -> &'static str {
    match p {
        Protocol::Imap => "IMAP",
        Protocol::Pop3 => "POP3",
        Protocol::Smtp => "SMTP",
        Protocol::Web => "Webmail",
        Protocol::Im => "IM",
        Protocol::Api => "API",
        Protocol::Dav => "CalDAV/CardDAV",
    }
}

impl AlertView {
    /// The view of `alert` for a reader of `lang`, times at
    /// `offset_minutes`, with the user's links when given.
    pub fn new(alert: &Alert, lang: Lang, offset_minutes: i32, links: Option<Links>) -> Self {
        let country = alert
            .country
            .map(|c| match lang {
                Lang::En => countries::name_en(c).to_string(),
                Lang::Zh => countries::name_zh(c).to_string(),
            })
            .unwrap_or_default();
        let city = clean(alert.city.as_deref());
        let region = clean(alert.region.as_deref());
        let mut parts: Vec<&str> = Vec::new();
        for p in [city.as_str(), region.as_str(), country.as_str()] {
            if !p.is_empty() && !parts.contains(&p) {
                parts.push(p);
            }
        }
        let sep = if lang == Lang::Zh { " " } else { ", " };
        let place = parts.join(sep);
        AlertView {
            alert_id: alert.id,
            lang: lang.as_str(),
            kind: alert.kind.as_str(),
            kind_text: kind_text(alert.kind, lang),
            grade: alert.grade.as_str(),
            grade_text: grade_text(alert.grade, lang),
            user: clean(alert.user.as_deref()),
            when: local_time(alert.ts, offset_minutes),
            last_when: local_time(alert.last_ts, offset_minutes),
            count: alert.count,
            place,
            city,
            region,
            country,
            ip: alert.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            isp: clean(alert.isp.as_deref()),
            asn: alert.asn.map(|a| format!("AS{a}")).unwrap_or_default(),
            device: clean(alert.device.as_deref()),
            client: clean(alert.client.as_deref()),
            protocol: alert
                .protocol
                .map(protocol_text)
                .unwrap_or_default()
                .to_string(),
            action: if alert.kind == AlertKind::SignInHeld {
                held_text(lang)
            } else {
                action_text(alert.decision, alert.succeeded, lang)
            },
            reasons: alert.reasons.iter().map(|r| r.as_str()).collect(),
            note: one_line(&alert.note, 400),
            geo_credit_url: GEO_CREDIT_URL,
            links,
        }
    }
}
