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
    // A client Warden does not know names itself: only the first word of
    // that name is kept (`crate::text::program_name`), so a name that is a
    // sentence, a URL or markup never reaches a text.
    let first = match imap_name {
        Some(name) => crate::text::program_name(&name),
        None => ua
            .split(['/', ' ', ';', '('])
            .find_map(crate::text::program_name),
    };
    family(first.as_deref().unwrap_or("unknown"), ClientKind::Other)
}

/// The longest version [`describe`] shows; longer ones are cut.
const MAX_VERSION: usize = 24;

/// The client as a person reads it: the family [`classify`] finds and,
/// when the client states one, its version: `Thunderbird 115.3` for the
/// IMAP ID `("name" "Thunderbird" "version" "115.3")`, `Outlook 16.0.17328`,
/// `Foxmail 7.2`, `curl 8.5.0`. Browsers stay a family and an operating
/// system (`Chrome on Windows`): their versions change every month. A
/// client Warden does not know keeps the case of its own name
/// (`SomethingElse 1.0`). Blank input is `None`.
///
/// For display only: profiles learn [`classify`]'s families, so a new
/// version is never a new client.
pub fn describe(user_agent: &str) -> Option<String> {
    let raw = user_agent.trim();
    if raw.is_empty() {
        return None;
    }
    let lower = raw.to_ascii_lowercase();
    let id = imap_id_fields(raw);
    let fam = classify(raw);
    let name = match fam.kind {
        ClientKind::Browser => return Some(fam.name),
        ClientKind::MailApp | ClientKind::Automated => fam.name.clone(),
        // Unknown: the client's own spelling, not the lower-cased family.
        ClientKind::Other => match &id {
            Some(f) => f
                .name
                .and_then(crate::text::program_name)
                .unwrap_or_else(|| fam.name.clone()),
            None => raw
                .split(['/', ' ', ';', '('])
                .find_map(crate::text::program_name)
                .unwrap_or_else(|| fam.name.clone()),
        },
    };
    if name.is_empty() {
        return None;
    }
    let version = match &id {
        Some(f) => f.version.map(|v| clean(v, MAX_VERSION)),
        None => version_after_name(raw, &lower, &fam),
    };
    Some(match version.filter(|v| !v.is_empty()) {
        Some(v) => format!("{name} {v}"),
        None => name,
    })
}

/// The version written right after the client's name in a user agent:
/// `Thunderbird/115.3.1`, `Foxmail 7.2.25`, `Microsoft Outlook 16.0`.
fn version_after_name(raw: &str, lower: &str, fam: &ClientFamily) -> Option<String> {
    let table = match fam.kind {
        ClientKind::MailApp => MAIL_APPS,
        ClientKind::Automated => AUTOMATED,
        _ => &[],
    };
    // After the family's own name when the agent spells it out ("K-9 Mail/6.4"),
    // else after the keyword that found it.
    let family = fam.name.to_ascii_lowercase();
    let at = match table.iter().find(|(k, _)| lower.contains(k)) {
        _ if fam.kind != ClientKind::Other && lower.contains(&family) => {
            lower.find(&family)? + family.len()
        }
        Some((k, _)) => lower.find(k)? + k.trim_end_matches('/').len(),
        // Unknown clients: after their first word.
        None => lower.find(|c: char| ['/', ' '].contains(&c))?,
    };
    // The rest of the word ("-esr", "mail"), then a separator, then digits.
    let rest = &raw[at..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '-');
    let rest = rest.trim_start_matches(['/', ' ', 'v', 'V']);
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or(rest.len());
    Some(clean(rest[..end].trim_end_matches('.'), MAX_VERSION))
}

/// A version as a text shows it: its first word of letters, digits and
/// `- _ . +`, at most `max` characters.
fn clean(s: &str, max: usize) -> String {
    crate::text::program_name(s)
        .map(|v| v.chars().take(max).collect())
        .unwrap_or_default()
}

fn family(name: &str, kind: ClientKind) -> ClientFamily {
    ClientFamily {
        name: name.to_string(),
        kind,
    }
}

/// The `name` and `version` of an IMAP ID parameter list, in the client's
/// own case.
struct IdFields<'a> {
    name: Option<&'a str>,
    version: Option<&'a str>,
}

fn imap_id_fields(raw: &str) -> Option<IdFields<'_>> {
    let t = raw.trim();
    if !t.starts_with('(') {
        return None;
    }
    let mut f = IdFields {
        name: None,
        version: None,
    };
    let mut parts = t.split('"').skip(1).step_by(2);
    while let (Some(key), Some(value)) = (parts.next(), parts.next()) {
        if key.eq_ignore_ascii_case("name") {
            f.name = f.name.or(Some(value));
        } else if key.eq_ignore_ascii_case("version") {
            f.version = f.version.or(Some(value));
        }
    }
    Some(f)
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
    fn described_as_a_person_reads_it() {
        let d = |s: &str| describe(s).unwrap_or_default();
        assert_eq!(
            d(r#"("name" "Thunderbird" "version" "115.3")"#),
            "Thunderbird 115.3"
        );
        assert_eq!(d(r#"("name" "Thunderbird")"#), "Thunderbird");
        assert_eq!(
            d(r#"("name" "iPhone Mail" "version" "20E252")"#),
            "iOS Mail 20E252"
        );
        assert_eq!(
            d(r#"("name" "FairEmail" "version" "1.2100" "os" "Android")"#),
            "FairEmail 1.2100"
        );
        assert_eq!(
            d("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1"),
            "Thunderbird 115.3.1"
        );
        assert_eq!(d("Foxmail 7.2.25.228"), "Foxmail 7.2.25.228");
        assert_eq!(d("Foxmail"), "Foxmail");
        assert_eq!(d("K-9 Mail/6.4"), "K-9 Mail 6.4");
        assert_eq!(
            d("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"),
            "Outlook 16.0.17328"
        );
        assert_eq!(d("curl/8.5.0"), "curl 8.5.0");
        assert_eq!(d("python-requests/2.31.0"), "Python requests 2.31.0");
        assert_eq!(
            d("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
            "Chrome on Windows"
        );
        assert_eq!(d("SomethingElse/1.0"), "SomethingElse 1.0");
        assert_eq!(d("SomethingElse"), "SomethingElse");
        assert_eq!(describe("   "), None);
        // A version is no place for junk.
        let long = format!(r#"("name" "Thunderbird" "version" "{}")"#, "9".repeat(100));
        assert_eq!(d(&long).len(), "Thunderbird ".len() + MAX_VERSION);
    }

    #[test]
    fn scripts_are_automated() {
        assert_eq!(classify("curl/8.5.0").kind, ClientKind::Automated);
        assert_eq!(classify("python-requests/2.31").kind, ClientKind::Automated);
        assert_eq!(classify("Go-http-client/1.1").kind, ClientKind::Automated);
        assert_eq!(classify("SomethingElse/1.0").name, "somethingelse");
    }
}
