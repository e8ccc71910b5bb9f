//! Notification templates: built-in ones in English and Chinese, admins'
//! versions from the store, rendered with minijinja.
//!
//! Escaping follows the format, chosen by the template's name: `*_html`
//! templates escape HTML, `*_md` (chat markdown for WeCom, DingTalk and
//! Slack) escape markdown's active characters, and plain-text templates
//! get values already cleaned of hidden characters and bounded
//! ([`super::view`]). A template runs on a fuel budget, so an admin's
//! template cannot loop forever, and its output is bounded.

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Output, State};
use warden_core::Lang;

use super::view::AlertView;

/// Every template name, in a stable order.
pub const NAMES: &[&str] = &[
    "user_subject",
    "user_text",
    "user_html",
    "admin_subject",
    "admin_text",
    "admin_html",
    "chat_md",
    "sms_text",
    "summary_text",
];

/// The longest template source an admin may save, in characters: even
/// JSON-escaped (up to 12 bytes a character) it fits a request body of the
/// default 64 KiB (`server.max_body_bytes`). The built-in ones are under
/// 2,000.
pub const MAX_TEMPLATE_CHARS: usize = 4 * 1024;
/// The longest rendered message (bytes); longer is an error.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// Instructions one rendering may execute.
const FUEL: u64 = 200_000;

/// Why a template does not render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown template {0:?}; expected one of {names}", names = NAMES.join(", "))]
    UnknownName(String),
    #[error("the template is {0} characters; at most {MAX_TEMPLATE_CHARS} are allowed")]
    TooLong(usize),
    #[error("the template does not render: {0}")]
    Render(String),
    #[error("the rendered text is over {MAX_OUTPUT_BYTES} bytes")]
    OutputTooLong,
}

/// The built-in source of `name` in `lang`.
pub fn builtin(name: &str, lang: Lang) -> Option<&'static str> {
    let zh = lang == Lang::Zh;
    Some(match name {
        "user_subject" => {
            if zh {
                USER_SUBJECT_ZH
            } else {
                USER_SUBJECT_EN
            }
        }
        "user_text" => {
            if zh {
                USER_TEXT_ZH
            } else {
                USER_TEXT_EN
            }
        }
        "user_html" => {
            if zh {
                USER_HTML_ZH
            } else {
                USER_HTML_EN
            }
        }
        "admin_subject" => {
            if zh {
                ADMIN_SUBJECT_ZH
            } else {
                ADMIN_SUBJECT_EN
            }
        }
        "admin_text" => {
            if zh {
                ADMIN_TEXT_ZH
            } else {
                ADMIN_TEXT_EN
            }
        }
        "admin_html" => {
            if zh {
                ADMIN_HTML_ZH
            } else {
                ADMIN_HTML_EN
            }
        }
        "chat_md" => {
            if zh {
                CHAT_MD_ZH
            } else {
                CHAT_MD_EN
            }
        }
        "sms_text" => {
            if zh {
                SMS_TEXT_ZH
            } else {
                SMS_TEXT_EN
            }
        }
        "summary_text" => {
            if zh {
                SUMMARY_TEXT_ZH
            } else {
                SUMMARY_TEXT_EN
            }
        }
        _ => return None,
    })
}

/// Escapes markdown's active characters (WeCom, DingTalk and Slack all read
/// a subset of markdown; Slack's mrkdwn also reads `<...>` as a link).
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '~' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(16);
    env.set_auto_escape_callback(|name| {
        if name.ends_with("_html") {
            AutoEscape::Html
        } else if name.ends_with("_md") {
            AutoEscape::Custom("markdown")
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out: &mut Output, state: &State, value: &Value| {
        if state.auto_escape() == AutoEscape::Custom("markdown") && !value.is_safe() {
            let text = if value.is_undefined() || value.is_none() {
                String::new()
            } else {
                value.to_string()
            };
            out.write_str(&escape_markdown(&text)).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env
}

/// Renders `source` as template `name` over `view`.
pub fn render(name: &str, source: &str, view: &AlertView) -> Result<String, TemplateError> {
    if !NAMES.contains(&name) {
        return Err(TemplateError::UnknownName(name.to_string()));
    }
    let chars = source.chars().count();
    if chars > MAX_TEMPLATE_CHARS {
        return Err(TemplateError::TooLong(chars));
    }
    let mut env = environment();
    env.add_template_owned(name.to_string(), source.to_string())
        .map_err(|e| TemplateError::Render(describe(&e)))?;
    let t = env
        .get_template(name)
        .map_err(|e| TemplateError::Render(describe(&e)))?;
    let out = t
        .render(view)
        .map_err(|e| TemplateError::Render(describe(&e)))?;
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(TemplateError::OutputTooLong);
    }
    Ok(out)
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    if let Some(line) = e.line() {
        s.push_str(&format!(" (line {line})"));
    }
    s
}

const USER_SUBJECT_EN: &str = "[Security alert] {{ kind_text }}: {{ place or ip }} at {{ when }}";
const USER_SUBJECT_ZH: &str = "【安全提醒】{{ kind_text }}:{{ place or ip }},{{ when }}";

const USER_TEXT_EN: &str = r#"Dear {{ user }},

We noticed a sign-in to your account {{ user }} that does not look like your usual ones: {{ kind_text }}.
{% if count > 1 %}It happened {{ count }} times, the last at {{ last_when }}.
{% endif %}
  When:     {{ when }}
  Where:    {{ place or "unknown" }}
  IP:       {{ ip }}{% if isp %} ({{ isp }}{% if asn %}, {{ asn }}{% endif %}){% endif %}
  Device:   {{ device or "unknown" }}{% if client %} / {{ client }}{% endif %}
  Protocol: {{ protocol or "unknown" }}

What Warden did automatically: {{ action }}.

Was this you? Please tell us:
{% if links %}  Yes, it was me:          {{ links.it_was_me }}
  No, it wasn't me:        {{ links.not_me }}
  The location is wrong:   {{ links.wrong_location }}
{% endif %}
If it wasn't you: choose "No, it wasn't me" above. Warden then signs out every
session and revokes your authorization codes, and you must set a new password
at your next sign-in. Change the passwords of other accounts that share it,
check your devices for malware, and turn on two-factor authentication.

IP geolocation by DB-IP ({{ geo_credit_url }}).
"#;

const USER_TEXT_ZH: &str = r#"尊敬的用户 {{ user }}:

我们检测到您的账户 {{ user }} 出现一次与您平常不同的登录:{{ kind_text }}。
{% if count > 1 %}共发生 {{ count }} 次,最近一次在 {{ last_when }}。
{% endif %}
  时间:{{ when }}
  地点:{{ place or "未知" }}
  IP:{{ ip }}{% if isp %}({{ isp }}{% if asn %},{{ asn }}{% endif %}){% endif %}
  设备:{{ device or "未知" }}{% if client %} / {{ client }}{% endif %}
  协议:{{ protocol or "未知" }}

系统已自动执行的措施:{{ action }}。

这是您本人的登录吗?请告诉我们:
{% if links %}  是我本人:        {{ links.it_was_me }}
  不是我:          {{ links.not_me }}
  位置不正确:      {{ links.wrong_location }}
{% endif %}
如果不是您本人:请点击上面的"不是我"。系统将注销您的所有会话并吊销授权码,
下次登录时须设置新密码。请立即更新所有使用相同密码的账户,检查设备安全状态
(防病毒软件、网络环境),并启用双重认证。

IP 地理位置数据来自 DB-IP({{ geo_credit_url }})。
"#;

const USER_HTML_EN: &str = r#"<!doctype html>
<html lang="en"><body style="font-family:sans-serif">
<p>Dear {{ user }},</p>
<p>We noticed a sign-in to your account <b>{{ user }}</b> that does not look like your usual ones: <b>{{ kind_text }}</b>.{% if count > 1 %} It happened {{ count }} times, the last at {{ last_when }}.{% endif %}</p>
<table>
<tr><th align="left">When</th><td>{{ when }}</td></tr>
<tr><th align="left">Where</th><td>{{ place or "unknown" }}</td></tr>
<tr><th align="left">IP</th><td>{{ ip }}{% if isp %} ({{ isp }}{% if asn %}, {{ asn }}{% endif %}){% endif %}</td></tr>
<tr><th align="left">Device</th><td>{{ device or "unknown" }}{% if client %} / {{ client }}{% endif %}</td></tr>
<tr><th align="left">Protocol</th><td>{{ protocol or "unknown" }}</td></tr>
</table>
<p>What Warden did automatically: {{ action }}.</p>
{% if links %}<p>Was this you?</p>
<p><a href="{{ links.it_was_me }}">Yes, it was me</a> &middot;
<a href="{{ links.not_me }}">No, it wasn't me</a> &middot;
<a href="{{ links.wrong_location }}">The location is wrong</a></p>{% endif %}
<p>If it wasn't you, choose "No, it wasn't me": Warden signs out every session and revokes your authorization codes, and you must set a new password at your next sign-in. Change the passwords of other accounts that share it and turn on two-factor authentication.</p>
<p style="font-size:small">IP geolocation by <a href="{{ geo_credit_url }}">DB-IP</a></p>
</body></html>
"#;

const USER_HTML_ZH: &str = r#"<!doctype html>
<html lang="zh"><body style="font-family:sans-serif">
<p>尊敬的用户 {{ user }}:</p>
<p>我们检测到您的账户 <b>{{ user }}</b> 出现一次与您平常不同的登录:<b>{{ kind_text }}</b>。{% if count > 1 %}共发生 {{ count }} 次,最近一次在 {{ last_when }}。{% endif %}</p>
<table>
<tr><th align="left">时间</th><td>{{ when }}</td></tr>
<tr><th align="left">地点</th><td>{{ place or "未知" }}</td></tr>
<tr><th align="left">IP</th><td>{{ ip }}{% if isp %}({{ isp }}{% if asn %},{{ asn }}{% endif %}){% endif %}</td></tr>
<tr><th align="left">设备</th><td>{{ device or "未知" }}{% if client %} / {{ client }}{% endif %}</td></tr>
<tr><th align="left">协议</th><td>{{ protocol or "未知" }}</td></tr>
</table>
<p>系统已自动执行的措施:{{ action }}。</p>
{% if links %}<p>这是您本人的登录吗?</p>
<p><a href="{{ links.it_was_me }}">是我本人</a> &middot;
<a href="{{ links.not_me }}">不是我</a> &middot;
<a href="{{ links.wrong_location }}">位置不正确</a></p>{% endif %}
<p>如果不是您本人,请点击"不是我":系统将注销您的所有会话并吊销授权码,下次登录时须设置新密码。请更新所有使用相同密码的账户,并启用双重认证。</p>
<p style="font-size:small">IP 地理位置数据来自 <a href="{{ geo_credit_url }}">DB-IP</a></p>
</body></html>
"#;

const ADMIN_SUBJECT_EN: &str =
    "[Warden {{ grade_text }}] {{ kind_text }}{% if user %}: {{ user }}{% endif %}{% if place %} from {{ place }}{% endif %}";
const ADMIN_SUBJECT_ZH: &str =
    "【Warden {{ grade_text }}】{{ kind_text }}{% if user %}:{{ user }}{% endif %}{% if place %},来自 {{ place }}{% endif %}";

const ADMIN_TEXT_EN: &str = r#"{% if grade == "critical" %}CRITICAL: act now.
{% elif grade == "warning" %}Warning: please review.
{% else %}For your information.
{% endif %}
Alert #{{ alert_id }}: {{ kind_text }} ({{ grade_text }})
  User:     {{ user or "-" }}
  When:     {{ when }}{% if count > 1 %} ({{ count }} times, last {{ last_when }}){% endif %}
  Where:    {{ place or "unknown" }}
  IP:       {{ ip or "-" }}{% if isp %} ({{ isp }}{% if asn %}, {{ asn }}{% endif %}){% endif %}
  Device:   {{ device or "unknown" }}{% if client %} / {{ client }}{% endif %}
  Protocol: {{ protocol or "unknown" }}
  Action:   {{ action }}
  Reasons:  {{ reasons | join(", ") }}
{% if note %}  Note:     {{ note }}
{% endif %}
Checklist: is it the user themselves (travel, VPN, mobile carrier egress)? Someone sharing the account? Ask the user before acting.

IP geolocation by DB-IP ({{ geo_credit_url }}).
"#;

const ADMIN_TEXT_ZH: &str = r#"{% if grade == "critical" %}严重:请立即处理。
{% elif grade == "warning" %}警告:请核查。
{% else %}提示信息。
{% endif %}
告警 #{{ alert_id }}:{{ kind_text }}({{ grade_text }})
  用户:{{ user or "-" }}
  时间:{{ when }}{% if count > 1 %}(共 {{ count }} 次,最近 {{ last_when }}){% endif %}
  地点:{{ place or "未知" }}
  IP:{{ ip or "-" }}{% if isp %}({{ isp }}{% if asn %},{{ asn }}{% endif %}){% endif %}
  设备:{{ device or "未知" }}{% if client %} / {{ client }}{% endif %}
  协议:{{ protocol or "未知" }}
  措施:{{ action }}
  原因:{{ reasons | join(", ") }}
{% if note %}  备注:{{ note }}
{% endif %}
核查要点:是否用户本人(出差、VPN、移动运营商出口)?是否有人共用账户?处理前请先与用户确认。

IP 地理位置数据来自 DB-IP({{ geo_credit_url }})。
"#;

const ADMIN_HTML_EN: &str = r#"<!doctype html>
<html lang="en"><body style="font-family:sans-serif">
<p><b>{% if grade == "critical" %}CRITICAL: act now.{% elif grade == "warning" %}Warning: please review.{% else %}For your information.{% endif %}</b></p>
<p>Alert #{{ alert_id }}: {{ kind_text }} ({{ grade_text }})</p>
<table>
<tr><th align="left">User</th><td>{{ user or "-" }}</td></tr>
<tr><th align="left">When</th><td>{{ when }}{% if count > 1 %} ({{ count }} times, last {{ last_when }}){% endif %}</td></tr>
<tr><th align="left">Where</th><td>{{ place or "unknown" }}</td></tr>
<tr><th align="left">IP</th><td>{{ ip or "-" }}{% if isp %} ({{ isp }}{% if asn %}, {{ asn }}{% endif %}){% endif %}</td></tr>
<tr><th align="left">Device</th><td>{{ device or "unknown" }}{% if client %} / {{ client }}{% endif %}</td></tr>
<tr><th align="left">Protocol</th><td>{{ protocol or "unknown" }}</td></tr>
<tr><th align="left">Action</th><td>{{ action }}</td></tr>
<tr><th align="left">Reasons</th><td>{{ reasons | join(", ") }}</td></tr>
{% if note %}<tr><th align="left">Note</th><td>{{ note }}</td></tr>{% endif %}
</table>
<p>Checklist: is it the user themselves (travel, VPN, mobile carrier egress)? Someone sharing the account? Ask the user before acting.</p>
<p style="font-size:small">IP geolocation by <a href="{{ geo_credit_url }}">DB-IP</a></p>
</body></html>
"#;

const ADMIN_HTML_ZH: &str = r#"<!doctype html>
<html lang="zh"><body style="font-family:sans-serif">
<p><b>{% if grade == "critical" %}严重:请立即处理。{% elif grade == "warning" %}警告:请核查。{% else %}提示信息。{% endif %}</b></p>
<p>告警 #{{ alert_id }}:{{ kind_text }}({{ grade_text }})</p>
<table>
<tr><th align="left">用户</th><td>{{ user or "-" }}</td></tr>
<tr><th align="left">时间</th><td>{{ when }}{% if count > 1 %}(共 {{ count }} 次,最近 {{ last_when }}){% endif %}</td></tr>
<tr><th align="left">地点</th><td>{{ place or "未知" }}</td></tr>
<tr><th align="left">IP</th><td>{{ ip or "-" }}{% if isp %}({{ isp }}{% if asn %},{{ asn }}{% endif %}){% endif %}</td></tr>
<tr><th align="left">设备</th><td>{{ device or "未知" }}{% if client %} / {{ client }}{% endif %}</td></tr>
<tr><th align="left">协议</th><td>{{ protocol or "未知" }}</td></tr>
<tr><th align="left">措施</th><td>{{ action }}</td></tr>
<tr><th align="left">原因</th><td>{{ reasons | join(", ") }}</td></tr>
{% if note %}<tr><th align="left">备注</th><td>{{ note }}</td></tr>{% endif %}
</table>
<p>核查要点:是否用户本人(出差、VPN、移动运营商出口)?是否有人共用账户?处理前请先与用户确认。</p>
<p style="font-size:small">IP 地理位置数据来自 <a href="{{ geo_credit_url }}">DB-IP</a></p>
</body></html>
"#;

const CHAT_MD_EN: &str = r#"### Warden {{ grade_text }}: {{ kind_text }}
- **User**: {{ user or "-" }}
- **When**: {{ when }}{% if count > 1 %} ({{ count }} times){% endif %}
- **Where**: {{ place or "unknown" }} ({{ ip or "-" }}{% if isp %}, {{ isp }}{% endif %})
- **Device**: {{ device or "unknown" }}{% if client %} / {{ client }}{% endif %}, {{ protocol or "unknown" }}
- **Action**: {{ action }}
- Alert #{{ alert_id }}. IP geolocation by [DB-IP]({{ geo_credit_url | safe }})"#;

const CHAT_MD_ZH: &str = r#"### Warden {{ grade_text }}:{{ kind_text }}
- **用户**:{{ user or "-" }}
- **时间**:{{ when }}{% if count > 1 %}(共 {{ count }} 次){% endif %}
- **地点**:{{ place or "未知" }}({{ ip or "-" }}{% if isp %},{{ isp }}{% endif %})
- **设备**:{{ device or "未知" }}{% if client %} / {{ client }}{% endif %},{{ protocol or "未知" }}
- **措施**:{{ action }}
- 告警 #{{ alert_id }}。IP 地理位置数据来自 [DB-IP]({{ geo_credit_url | safe }})"#;

const SMS_TEXT_EN: &str =
    "Warden: {{ kind_text }} to {{ user }} at {{ when }} from {{ place or ip }}. Not you? Check your security email.";
const SMS_TEXT_ZH: &str =
    "Warden:您的账户 {{ user }} 于 {{ when }} 在 {{ place or ip }} {{ kind_text }}。非本人操作请查看安全邮件。";

const SUMMARY_TEXT_EN: &str = r#"Warden summary ({{ grade_text }}): {{ count }} alerts since {{ when }}, the last at {{ last_when }}.
{{ note }}
Each alert is listed in the API (GET /v1/alerts)."#;
const SUMMARY_TEXT_ZH: &str = r#"Warden 告警汇总({{ grade_text }}):自 {{ when }} 起共 {{ count }} 条告警,最近一条在 {{ last_when }}。
{{ note }}
每条告警可在 API 中查看(GET /v1/alerts)。"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_renders_in_both_languages() {
        let alert = super::super::tests::alert();
        for lang in Lang::ALL {
            let view = AlertView::new(&alert, lang, 480, None);
            for name in NAMES {
                let src = builtin(name, lang).unwrap();
                assert!(src.chars().count() <= MAX_TEMPLATE_CHARS, "{name} {lang}");
                let out = render(name, src, &view).unwrap();
                assert!(!out.trim().is_empty(), "{name} {lang}");
            }
        }
    }

    #[test]
    fn html_and_markdown_escape_what_the_attacker_controls() {
        let mut alert = super::super::tests::alert();
        alert.device = Some("<script>x</script>[click](http://evil)".into());
        let view = AlertView::new(&alert, Lang::En, 0, None);
        let html = render("user_html", builtin("user_html", Lang::En).unwrap(), &view).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let md = render("chat_md", builtin("chat_md", Lang::En).unwrap(), &view).unwrap();
        assert!(!md.contains("[click](http"), "{md}");
        assert!(md.contains("\\[click\\]"), "{md}");
        // The template's own link stays a link.
        assert!(md.contains("[DB-IP](https://db-ip.com)"), "{md}");
    }

    #[test]
    fn a_broken_or_runaway_template_is_an_error() {
        let view = AlertView::new(&super::super::tests::alert(), Lang::En, 0, None);
        assert!(matches!(
            render("user_text", "{% if %}", &view),
            Err(TemplateError::Render(_))
        ));
        assert!(matches!(
            render(
                "user_text",
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                &view
            ),
            Err(TemplateError::Render(_))
        ));
        assert!(matches!(
            render("nope", "x", &view),
            Err(TemplateError::UnknownName(_))
        ));
        assert!(matches!(
            render("user_text", &"x".repeat(MAX_TEMPLATE_CHARS + 1), &view),
            Err(TemplateError::TooLong(_))
        ));
    }
}
