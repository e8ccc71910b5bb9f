//! Which client program a login comes from: a browser user agent or an IMAP
//! `ID` string (RFC 2971) reduced to a family such as "Outlook", "Foxmail",
//! "iOS Mail" or "Chrome on Windows". Families are coarse on purpose: a
//! version upgrade is not a new client.

/// What kind of program a client family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    MailApp,
    Browser,
    /// curl, python-requests, Go's HTTP client, ...: rarely a person.
    Automated,
    Other,
}

/// A client family and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFamily {
    pub name: String,
    pub kind: ClientKind,
}

const MAIL_APPS: &[(&str, &str)] = &[
    ("foxmail", "Foxmail"),
    ("thunderbird", "Thunderbird"),
    ("outlook", "Outlook"),
    ("microsoft office", "Outlook"),
    ("windows mail", "Windows Mail"),
    ("mailmaster", "NetEase MailMaster"),
    ("netease", "NetEase MailMaster"),
    ("qqmail", "QQ Mail"),
    ("qq mail", "QQ Mail"),
    ("wemail", "WeCom Mail"),
    ("wecom", "WeCom"),
    ("wxwork", "WeCom"),
    ("dingtalk", "DingTalk"),
    ("lark", "Lark"),
    ("feishu", "Lark"),
    ("gmail", "Gmail app"),
    ("k-9", "K-9 Mail"),
    ("k9", "K-9 Mail"),
    ("spark", "Spark"),
    ("evolution", "Evolution"),
    ("mutt", "Mutt"),
    ("roundcube", "Roundcube"),
    ("apple mail", "Apple Mail"),
    ("mail.app", "Apple Mail"),
    ("ios mail", "iOS Mail"),
    ("iphone mail", "iOS Mail"),
];

const AUTOMATED: &[(&str, &str)] = &[
    ("curl/", "curl"),
    ("python-requests", "Python requests"),
    ("python-urllib", "Python urllib"),
    ("python", "Python"),
    ("go-http-client", "Go HTTP client"),
    ("java/", "Java"),
    ("okhttp", "OkHttp"),
    ("wget", "Wget"),
    ("libwww-perl", "Perl"),
    ("hydra", "Hydra"),
    ("imaplib", "Python imaplib"),
];

/// Reduces a user agent or IMAP ID string to a client family.
pub fn classify(user_agent: &str) -> ClientFamily {
    let ua = user_agent.to_ascii_lowercase();
    let imap_name = imap_id_name(&ua);
    let hay = imap_name.as_deref().unwrap_or(&ua);

    if let Some((_, name)) = MAIL_APPS.iter().find(|(k, _)| hay.contains(k)) {
        return family(name, ClientKind::MailApp);
    }
    if let Some((_, name)) = AUTOMATED.iter().find(|(k, _)| hay.contains(k)) {
        return family(name, ClientKind::Automated);
    }
    // iOS / macOS native mail sends `("name" "iPhone Mail")` or a CFNetwork UA.
    if (hay.contains("iphone") || hay.contains("ipad")) && !hay.contains("mozilla") {
        return family("iOS Mail", ClientKind::MailApp);
    }
    if hay.contains("mozilla") || hay.contains("applewebkit") {
        let browser = if hay.contains("micromessenger") {
            "WeChat"
        } else if hay.contains("edg/") {
            "Edge"
        } else if hay.contains("opr/") || hay.contains("opera") {
            "Opera"
        } else if hay.contains("firefox/") {
            "Firefox"
        } else if hay.contains("chrome/") || hay.contains("crios/") {
            "Chrome"
        } else if hay.contains("safari/") {
            "Safari"
        } else {
            "Browser"
        };
        let os = if hay.contains("android") {
            "Android"
        } else if hay.contains("iphone") || hay.contains("ipad") {
            "iOS"
        } else if hay.contains("windows") {
            "Windows"
        } else if hay.contains("mac os") || hay.contains("macintosh") {
            "macOS"
        } else if hay.contains("linux") {
            "Linux"
        } else {
            "other OS"
        };
        return family(&format!("{browser} on {os}"), ClientKind::Browser);
    }
    if let Some(name) = imap_name {
        return family(name.trim(), ClientKind::Other);
    }
    let first = ua
        .split(['/', ' ', ';', '('])
        .find(|s| !s.is_empty())
        .unwrap_or("unknown");
    family(first, ClientKind::Other)
}

fn family(name: &str, kind: ClientKind) -> ClientFamily {
    ClientFamily {
        name: name.to_string(),
        kind,
    }
}

/// Extracts the `"name"` value from an IMAP ID parameter list such as
/// `("name" "Thunderbird" "version" "115.3")`.
fn imap_id_name(lower: &str) -> Option<String> {
    let t = lower.trim();
    if !t.starts_with('(') {
        return None;
    }
    let mut parts = t.split('"').skip(1).step_by(2);
    while let Some(key) = parts.next() {
        let value = parts.next()?;
        if key == "name" {
            return Some(value.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_apps_from_imap_id_and_user_agents() {
        let c = classify(r#"("name" "Thunderbird" "version" "115.3.1")"#);
        assert_eq!(
            (c.name.as_str(), c.kind),
            ("Thunderbird", ClientKind::MailApp)
        );
        assert_eq!(
            classify(r#"("name" "iPhone Mail" "version" "20E252")"#).name,
            "iOS Mail"
        );
        assert_eq!(classify("Foxmail 7.2.25.228").name, "Foxmail");
        assert_eq!(classify("Microsoft Outlook 16.0").name, "Outlook");
    }

    #[test]
    fn browsers_are_family_and_os_only() {
        let a = classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36");
        let b = classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36");
        assert_eq!(a, b);
        assert_eq!(a.name, "Chrome on Windows");
        let s = classify("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1");
        assert_eq!(s.name, "Safari on iOS");
        let e = classify(
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120 Safari/537.36 Edg/120.0",
        );
        assert_eq!(e.name, "Edge on Windows");
    }

    #[test]
    fn scripts_are_automated() {
        assert_eq!(classify("curl/8.5.0").kind, ClientKind::Automated);
        assert_eq!(classify("python-requests/2.31").kind, ClientKind::Automated);
        assert_eq!(classify("Go-http-client/1.1").kind, ClientKind::Automated);
        assert_eq!(classify("SomethingElse/1.0").name, "somethingelse");
    }
}
