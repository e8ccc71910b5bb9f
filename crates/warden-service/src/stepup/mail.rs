//! The email that carries a verification code: its words in English and
//! Chinese (what the code is for, where the request came from, what to do
//! if it was not the user) and its sending over the configured email
//! channel (`notify::channels`, the same SMTP path as alerts).

use std::net::IpAddr;

use warden_core::reason::local_time;
use warden_core::{Lang, Timestamp};

use super::book::{CodePurpose, CODE_TTL_SECS};
use crate::notify::channels::{self, Channel, Message, SendError};

/// What the code email says about the request.
#[derive(Debug, Clone, Copy)]
pub struct CodeContext<'a> {
    pub user: &'a str,
    /// Where the request came from.
    pub ip: Option<IpAddr>,
    /// The place of that address, in English and Chinese.
    pub place: Option<(&'a str, &'a str)>,
    pub at: Timestamp,
    /// The organisation's UTC offset, for the time.
    pub utc_offset: i32,
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The message for `to`. Every text in it is Warden's own or already
/// clean (a normalised user name, an address, a place from the geo data,
/// sanitised again here).
pub fn message(
    to: &str,
    code: &str,
    purpose: CodePurpose,
    lang: Lang,
    c: &CodeContext<'_>,
) -> Message {
    let clean = |s: &str| warden_core::text::one_line(s, 120);
    let user = clean(c.user);
    let minutes = CODE_TTL_SECS / 60;
    let when = local_time(c.at, c.utc_offset);
    let from = match (c.ip, c.place) {
        (Some(ip), Some((en, zh))) => Some((
            format!("{} ({ip})", clean(en)),
            format!("{}（{ip}）", clean(zh)),
        )),
        (Some(ip), None) => Some((ip.to_string(), ip.to_string())),
        (None, _) => None,
    };
    let (subject, lines) = match lang {
        Lang::En => {
            let what = match purpose {
                CodePurpose::Login => format!("to finish signing in to {user}"),
                CodePurpose::StepUp => format!("to confirm a security change to {user}"),
            };
            let mut lines = vec![
                format!("Your verification code is {code}."),
                format!("Someone asked for it {what}, at {when}{}.", from.as_ref().map(|f| format!(" from {}", f.0)).unwrap_or_default()),
                format!("It works once, for {minutes} minutes. Never give it to anybody."),
                "If this was not you, someone knows your password: do not use the code, and change your password now.".to_string(),
            ];
            lines.retain(|l| !l.is_empty());
            ("Your verification code".to_string(), lines)
        }
        Lang::Zh => {
            let what = match purpose {
                CodePurpose::Login => format!("登录 {user}"),
                CodePurpose::StepUp => format!("确认对 {user} 的安全设置修改"),
            };
            let lines = vec![
                format!("您的验证码是 {code}。"),
                format!("该验证码用于{what}，请求时间 {when}{}。", from.as_ref().map(|f| format!("，来自 {}", f.1)).unwrap_or_default()),
                format!("验证码 {minutes} 分钟内有效，仅可使用一次，请勿告诉任何人。"),
                "如果这不是您本人的操作，说明他人已知道您的密码：请勿使用该验证码，并立即修改密码。".to_string(),
            ];
            ("您的验证码".to_string(), lines)
        }
    };
    let text = lines.join("\n\n");
    let html = format!(
        "<!doctype html><html><body>{}</body></html>",
        lines
            .iter()
            .map(|l| format!("<p>{}</p>", escape_html(l)))
            .collect::<String>()
    );
    let short = lines[0].clone();
    Message {
        delivery_id: rand::random::<u32>() as i64,
        alert_id: 0,
        recipient: to.to_string(),
        subject,
        text,
        html,
        markdown: short.clone(),
        short,
        fields: serde_json::Value::Null,
    }
}

/// Sends it on `channel` (an email channel).
pub async fn send(channel: &Channel, message: &Message, now: Timestamp) -> Result<(), SendError> {
    channels::send(channel, message, now.secs().saturating_mul(1000)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_email_names_the_code_purpose_place_and_escape() {
        let c = CodeContext {
            user: "ann@example.com",
            ip: Some("105.112.1.1".parse().unwrap()),
            place: Some(("Lagos, NG <b>", "拉各斯")),
            at: Timestamp(1_704_067_200),
            utc_offset: 480,
        };
        let m = message(
            "sec@example.net",
            "042517",
            CodePurpose::Login,
            Lang::En,
            &c,
        );
        assert_eq!(m.recipient, "sec@example.net");
        assert!(!m.subject.contains("042517"), "no code in the subject line");
        assert!(
            m.text.starts_with("Your verification code is 042517."),
            "{}",
            m.text
        );
        assert!(m.text.contains("Someone asked for it to finish signing in to ann@example.com, at 2024-01-01 08:00 (UTC+8) from Lagos, NG <b> (105.112.1.1)."), "{}", m.text);
        assert!(
            m.html.contains("Lagos, NG &lt;b&gt;") && !m.html.contains("<b>"),
            "{}",
            m.html
        );
        let zh = message(
            "sec@example.net",
            "042517",
            CodePurpose::StepUp,
            Lang::Zh,
            &c,
        );
        assert!(
            zh.text.contains("确认对 ann@example.com 的安全设置修改"),
            "{}",
            zh.text
        );
        assert!(zh.text.contains("拉各斯（105.112.1.1）"), "{}", zh.text);
    }
}
