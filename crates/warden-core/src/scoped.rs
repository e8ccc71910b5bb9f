//! Access policies of an organisation, a group or a user: what one policy
//! sets ([`PolicyRules`], every field optional: unset inherits), its stored
//! version ([`PolicyVersion`]), the resolution of a user's layers into
//! one effective [`AccountPolicy`] ([`resolve`]) and the pure checks of a
//! login against it ([`check`]), each breach with its English and Chinese
//! reason.
//!
//! # How layers combine
//!
//! A user's layers, narrowest first: the user's own policy, then their
//! groups' policies (in group-name order), then their organisation's, then
//! the global default (`[login]` in the configuration). **Field by field,
//! the narrowest layer that sets a field wins**; a layer that leaves a field
//! unset inherits it from the next one. So an organisation's allowlist is
//! replaced, not extended, by a group's allowlist; an empty list is refused
//! (leave the field out to inherit). `tls_required = false` in a narrower
//! layer turns a broader `true` off. The global `[policy.access]` rules are the engine's
//! and apply to every account beside these (a floor no scope lifts).
//!
//! A policy in mode `off` is skipped (kept for a dry run); one in
//! `report_only` takes part in the resolution for its access rules, whose
//! breaches are then reported and not enforced, while its protection fields
//! (`login_protection`, `new_device_approval`, `step_up_minutes`) are
//! skipped: report-only changes nothing for users.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::account::wire_names;
use crate::domain::{Country, IpInfo, Name, Protocol};
use crate::protection::{AccountPolicy, ProtectionLevel};
use crate::reason::Lang;
use crate::time::Timestamp;

/// Most entries of one list (allowlist, geo-fence).
pub const MAX_LIST: usize = 256;
/// Longest policy name and region name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest comment of a version, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// What a policy is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Org,
    Group,
    User,
}

wire_names!(Scope, "policy scope", Org => "org", Group => "group", User => "user");

/// Whether a policy refuses, only reports or does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolicyMode {
    #[default]
    Enforce,
    /// Breaches are published as "would refuse" events; nothing refused.
    ReportOnly,
    /// Stored, not applied (for a dry run before it is switched on).
    Off,
}

wire_names!(PolicyMode, "policy mode",
    Enforce => "enforce", ReportOnly => "report_only", Off => "off");

/// A place of a geo-fence: a country, or one region (province, state) of it
/// as the geolocation data names it (`CN/Guangdong`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub country: Country,
    pub region: Option<String>,
}

impl Place {
    /// Parses `CN` or `CN/Guangdong`; the country must be one the country
    /// table knows.
    pub fn parse(s: &str) -> Result<Place, String> {
        let s = s.trim();
        let (c, region) = match s.split_once('/') {
            Some((c, r)) => (c, Some(r.trim())),
            None => (s, None),
        };
        let country = Country::new(c.trim())
            .ok()
            .filter(|c| crate::countries::is_known(*c))
            .ok_or_else(|| format!("{} is not a known country code", crate::text::quoted(c, 8)))?;
        let region = match region {
            None => None,
            Some(r)
                if r.is_empty()
                    || r.chars().count() > MAX_NAME_CHARS
                    || r.contains([',', '/'])
                    || crate::text::has_hidden(r) =>
            {
                return Err(format!(
                    "{} is not a region name (at most {MAX_NAME_CHARS} characters, no ',' or '/')",
                    crate::text::quoted(r, 70)
                ))
            }
            Some(r) => Some(r.to_string()),
        };
        Ok(Place { country, region })
    }

    fn contains(&self, ip: &IpInfo) -> bool {
        ip.location.country == Some(self.country)
            && self.region.as_deref().is_none_or(|r| {
                ip.location
                    .region
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(r))
            })
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            Some(r) => write!(f, "{}/{r}", self.country),
            None => write!(f, "{}", self.country),
        }
    }
}

/// Allowed hours: on these weekdays, from `from` to `to` (minutes of the
/// day, `to` exclusive; `from > to` spans midnight), at a UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hours {
    /// Bit 0 Monday ... bit 6 Sunday.
    pub days: u8,
    pub from: u16,
    pub to: u16,
    /// The organisation's offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Hours {
    /// Parses weekdays (`mon,tue` or `mon-fri`) and a `HH:MM-HH:MM` span.
    pub fn parse(days: &str, span: &str, utc_offset_minutes: i32) -> Result<Hours, String> {
        let day = |s: &str| {
            DAYS.iter()
                .position(|d| d.eq_ignore_ascii_case(s.trim()))
                .ok_or_else(|| {
                    format!(
                        "{} is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
                        crate::text::quoted(s, 12)
                    )
                })
        };
        let mut mask = 0u8;
        for part in days.split(',').filter(|p| !p.trim().is_empty()) {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    if a > b {
                        return Err(format!("{} runs backwards", crate::text::quoted(part, 12)));
                    }
                    (a..=b).for_each(|d| mask |= 1 << d);
                }
                None => mask |= 1 << day(part)?,
            }
        }
        if mask == 0 {
            return Err("no weekday given".into());
        }
        let time = |s: &str| {
            let (h, m) = s.trim().split_once(':').ok_or(())?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| ())?, m.parse().map_err(|_| ())?);
            if h > 24 || m > 59 || (h == 24 && m != 0) {
                return Err(());
            }
            Ok(h * 60 + m)
        };
        let bad = || {
            format!(
                "{} is not a span of hours like 08:00-19:00",
                crate::text::quoted(span, 20)
            )
        };
        let (a, b) = span.split_once('-').ok_or_else(bad)?;
        let (from, to) = (time(a).map_err(|_| bad())?, time(b).map_err(|_| bad())?);
        if from == to {
            return Err(bad());
        }
        if !(-14 * 60..=14 * 60).contains(&utc_offset_minutes) {
            return Err(format!(
                "utc offset {utc_offset_minutes} min is outside -840..840"
            ));
        }
        Ok(Hours {
            days: mask,
            from,
            to,
            utc_offset_minutes,
        })
    }

    /// The weekdays, as `Hours::parse` reads them (`mon,tue,wed`).
    pub fn days_text(&self) -> String {
        let v: Vec<&str> = (0..7)
            .filter(|d| self.days & (1 << d) != 0)
            .map(|d| DAYS[d])
            .collect();
        v.join(",")
    }

    /// The span, `08:00-19:00`.
    pub fn span_text(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.from / 60,
            self.from % 60,
            self.to / 60,
            self.to % 60
        )
    }

    /// Whether `at` falls in the allowed hours (at the offset). A span
    /// across midnight belongs to the day it starts on.
    pub fn allows(&self, at: Timestamp) -> bool {
        let local = at.0 + i64::from(self.utc_offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        let minute = (local.rem_euclid(86_400) / 60) as u16;
        // 1970-01-01 was a Thursday (index 3).
        let weekday = |d: i64| (d + 3).rem_euclid(7) as u8;
        let on = |d: i64| self.days & (1 << weekday(d)) != 0;
        if self.from < self.to {
            on(days) && (self.from..self.to).contains(&minute)
        } else {
            (on(days) && minute >= self.from) || (on(days - 1) && minute < self.to)
        }
    }
}

/// What one policy sets; `None` inherits from the next broader layer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRules {
    /// Only these networks may log in (office + VPN).
    pub allowlist: Option<Vec<IpNet>>,
    /// Only these places may log in (the organisation's own ranges pass).
    pub geo_allow: Option<Vec<Place>>,
    /// These places may not log in.
    pub geo_block: Option<Vec<Place>>,
    /// Only these protocols may log in.
    pub protocols: Option<Vec<Protocol>>,
    /// Mail clients must use TLS.
    pub tls_required: Option<bool>,
    pub hours: Option<Hours>,
    pub login_protection: Option<ProtectionLevel>,
    pub new_device_approval: Option<bool>,
    pub step_up_minutes: Option<u32>,
}

/// Parses an allowlist entry: an address or a CIDR network.
pub fn parse_network(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| {
            format!(
                "{} is not an address or CIDR network",
                crate::text::quoted(s, 50)
            )
        })
}

impl PolicyRules {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == PolicyRules::default()
    }

    /// Checks the bounds: lists not empty and at most [`MAX_LIST`] entries,
    /// step-up at most a day. The error names the field.
    pub fn validate(&self) -> Result<(), String> {
        fn list<T>(field: &str, v: &Option<Vec<T>>) -> Result<(), String> {
            match v {
                Some(v) if v.is_empty() => Err(format!(
                    "{field}: an empty list would refuse everything; leave the field out to inherit it"
                )),
                Some(v) if v.len() > MAX_LIST => {
                    Err(format!("{field}: at most {MAX_LIST} entries"))
                }
                _ => Ok(()),
            }
        }
        list("allowlist", &self.allowlist)?;
        list("geo_allow", &self.geo_allow)?;
        list("geo_block", &self.geo_block)?;
        list("protocols", &self.protocols)?;
        if self.step_up_minutes.is_some_and(|m| m > 1440) {
            return Err("step_up_minutes: at most 1440 (a day)".into());
        }
        Ok(())
    }
}

/// One stored version of the policy of one scope. Versions are never
/// changed: a change, a removal or a restore is a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub scope: Scope,
    /// The organisation's, group's or user's name (normalised).
    pub target: Name,
    /// 1, 2, 3... per scope and target.
    pub version: u32,
    /// The admin's name for it (`office-only`).
    pub name: String,
    pub mode: PolicyMode,
    pub rules: PolicyRules,
    /// This version removes the policy (the scope inherits everything).
    pub removed: bool,
    /// Who made it: an API key's holder, `cli`.
    pub actor: String,
    pub ip: Option<IpAddr>,
    pub comment: Option<String>,
    pub created_at: Timestamp,
    /// The version this one restored, when it is a restore.
    pub restored_from: Option<u32>,
}

/// Where a resolved rule came from: what a refusal names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicySource {
    pub scope: Scope,
    pub target: Name,
    pub name: String,
    pub version: u32,
    pub mode: PolicyMode,
}

impl PolicySource {
    /// The source of a stored version.
    pub fn of(v: &PolicyVersion) -> Self {
        PolicySource {
            scope: v.scope,
            target: v.target.clone(),
            name: v.name.clone(),
            version: v.version,
            mode: v.mode,
        }
    }
}

/// One access rule of an account's effective policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Allowlist(Vec<IpNet>),
    GeoAllow(Vec<Place>),
    GeoBlock(Vec<Place>),
    Protocols(Vec<Protocol>),
    TlsRequired,
    Hours(Hours),
}

/// An access rule with the policy it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedRule {
    pub rule: Rule,
    pub source: Arc<PolicySource>,
}

/// What a login broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    NotAllowlisted(IpAddr),
    /// Outside the allowed places (`None`: the place is unknown).
    OutsideGeoFence(Option<Country>),
    /// In a blocked place.
    BlockedPlace(Place),
    Protocol(Protocol),
    /// A mail client without TLS.
    NoTls,
    /// Outside the allowed hours.
    Hours(Hours),
}

/// A rule a login broke, with the policy that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    pub breach: Breach,
    pub source: Arc<PolicySource>,
}

impl PolicyRefusal {
    /// Whether it refuses (an enforced policy) or only reports.
    pub fn enforced(&self) -> bool {
        self.source.mode == PolicyMode::Enforce
    }

    /// "Access refused by policy 'office-only' (org example, v3): the
    /// address 203.0.113.9 is not on the allowlist", or its Chinese text.
    pub fn text(&self, lang: Lang) -> String {
        let s = &self.source;
        let mut t = String::new();
        let name = crate::text::one_line(&s.name, MAX_NAME_CHARS);
        let target = crate::text::one_line(&s.target, 80);
        let _ = match lang {
            Lang::En => write!(
                t,
                "Access refused by policy '{name}' ({} {target}, v{}): ",
                s.scope, s.version
            ),
            Lang::Zh => write!(
                t,
                "禁止访问：根据访问策略“{name}”（{} {target}，第 {} 版），",
                match s.scope {
                    Scope::Org => "组织",
                    Scope::Group => "用户组",
                    Scope::User => "用户",
                },
                s.version
            ),
        };
        let en = lang == Lang::En;
        let _ = match (&self.breach, en) {
            (Breach::NotAllowlisted(ip), true) => {
                write!(t, "the address {ip} is not on the allowlist")
            }
            (Breach::NotAllowlisted(ip), false) => write!(t, "地址 {ip} 不在白名单中"),
            (Breach::OutsideGeoFence(Some(c)), true) => write!(
                t,
                "logins from {} are not allowed",
                crate::countries::name_en(*c)
            ),
            (Breach::OutsideGeoFence(Some(c)), false) => {
                write!(t, "不允许从{}登录", crate::countries::name_zh(*c))
            }
            (Breach::OutsideGeoFence(None), true) => {
                t.write_str("logins from an unknown place are not allowed")
            }
            (Breach::OutsideGeoFence(None), false) => t.write_str("不允许从未知地点登录"),
            (Breach::BlockedPlace(p), true) => match &p.region {
                Some(r) => write!(
                    t,
                    "logins from {r}, {} are blocked",
                    crate::countries::name_en(p.country)
                ),
                None => write!(
                    t,
                    "logins from {} are blocked",
                    crate::countries::name_en(p.country)
                ),
            },
            (Breach::BlockedPlace(p), false) => match &p.region {
                Some(r) => write!(t, "禁止从{} {r}登录", crate::countries::name_zh(p.country)),
                None => write!(t, "禁止从{}登录", crate::countries::name_zh(p.country)),
            },
            (Breach::Protocol(p), true) => {
                write!(t, "{} logins are not allowed", p.as_str().to_uppercase())
            }
            (Breach::Protocol(p), false) => {
                write!(t, "不允许使用 {} 登录", p.as_str().to_uppercase())
            }
            (Breach::NoTls, true) => t.write_str("mail clients must use SSL/TLS"),
            (Breach::NoTls, false) => t.write_str("邮件客户端必须使用 SSL/TLS"),
            (Breach::Hours(h), true) => write!(
                t,
                "logins are allowed only {} {} (UTC{:+})",
                h.days_text(),
                h.span_text(),
                f64::from(h.utc_offset_minutes) / 60.0
            ),
            (Breach::Hours(h), false) => write!(
                t,
                "仅允许在 {} {}（UTC{:+}）登录",
                h.days_text(),
                h.span_text(),
                f64::from(h.utc_offset_minutes) / 60.0
            ),
        };
        t
    }
}

/// Makes `assessment` refuse the login for `refusal`: an access denial
/// first among the reasons, so every entry point refuses it
/// (`verify::precheck`) with the policy's own text.
pub fn refuse_by_policy(assessment: &mut crate::Assessment, refusal: PolicyRefusal) {
    assessment.reasons.insert(
        0,
        crate::Reason {
            code: crate::ReasonCode::AccessDenied,
            weight: 1.0,
            alert: false,
            evidence: crate::Evidence::Access {
                rule: crate::access::AccessRule::Policy(Box::new(refusal)),
            },
        },
    );
    assessment.decision = crate::Decision::Deny;
    assessment.level = crate::Level::High;
    assessment.risk = 1.0;
    assessment.alert = false;
}

/// The effective policy of a user from their layers, **narrowest first**
/// (user, groups in name order, organisation), over `global`. Field by
/// field the first layer that sets it wins (see the module's doc); layers
/// in mode `off` are skipped, and so are the protection fields of layers in
/// `report_only`. A pure function: the service calls it when the policies
/// or the memberships change, never per login.
pub fn resolve(global: &AccountPolicy, layers: &[&PolicyVersion]) -> AccountPolicy {
    let live: Vec<(&PolicyVersion, Arc<PolicySource>)> = layers
        .iter()
        .filter(|v| !v.removed && v.mode != PolicyMode::Off)
        .map(|v| (*v, Arc::new(PolicySource::of(v))))
        .collect();
    let protecting = || live.iter().filter(|(v, _)| v.mode == PolicyMode::Enforce);
    let mut out = AccountPolicy {
        login_protection: protecting()
            .find_map(|(v, _)| v.rules.login_protection)
            .unwrap_or(global.login_protection),
        new_device_approval: protecting()
            .find_map(|(v, _)| v.rules.new_device_approval)
            .unwrap_or(global.new_device_approval),
        step_up_minutes: protecting()
            .find_map(|(v, _)| v.rules.step_up_minutes)
            .unwrap_or(global.step_up_minutes),
        access: global.access.clone(),
    };
    let mut take = |pick: &dyn Fn(&PolicyRules) -> Option<Rule>| {
        if let Some((rule, source)) = live
            .iter()
            .find_map(|(v, s)| pick(&v.rules).map(|r| (r, s.clone())))
        {
            out.access.push(ScopedRule { rule, source });
        }
    };
    take(&|r| r.allowlist.clone().map(Rule::Allowlist));
    take(&|r| r.geo_allow.clone().map(Rule::GeoAllow));
    take(&|r| r.geo_block.clone().map(Rule::GeoBlock));
    take(&|r| r.protocols.clone().map(Rule::Protocols));
    take(&|r| r.tls_required.filter(|t| *t).map(|_| Rule::TlsRequired));
    take(&|r| r.hours.map(Rule::Hours));
    // A narrower `tls_required = false` turns a broader `true` off.
    if live
        .iter()
        .find_map(|(v, _)| v.rules.tls_required)
        .is_some_and(|t| !t)
    {
        out.access.retain(|r| r.rule != Rule::TlsRequired);
    }
    out
}

/// The rules of `policy` that a login breaks, in the order of its rules.
/// `tls`: whether the client used TLS (`None`: not known at this point; the
/// TLS rule is then not checked). An organisation's own ranges pass the
/// geo-fence (a corporate VPN abroad), not the allowlist.
pub fn check(
    policy: &AccountPolicy,
    ip: &IpInfo,
    protocol: Protocol,
    tls: Option<bool>,
    at: Timestamp,
) -> Vec<PolicyRefusal> {
    let mut out = Vec::new();
    for r in &policy.access {
        let breach = match &r.rule {
            Rule::Allowlist(nets) => {
                (!nets.iter().any(|n| n.contains(&ip.ip))).then_some(Breach::NotAllowlisted(ip.ip))
            }
            Rule::GeoAllow(places) => (ip.network.org_range.is_none()
                && !places.iter().any(|p| p.contains(ip)))
            .then_some(Breach::OutsideGeoFence(ip.location.country)),
            Rule::GeoBlock(places) => places
                .iter()
                .find(|p| p.contains(ip))
                .map(|p| Breach::BlockedPlace(p.clone())),
            Rule::Protocols(ps) => (!ps.contains(&protocol)).then_some(Breach::Protocol(protocol)),
            Rule::TlsRequired => {
                (tls == Some(false) && protocol.is_mail_client()).then_some(Breach::NoTls)
            }
            Rule::Hours(h) => (!h.allows(at)).then_some(Breach::Hours(*h)),
        };
        if let Some(breach) = breach {
            out.push(PolicyRefusal {
                breach,
                source: r.source.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Location, Network};

    fn info(ip: &str, country: Option<&str>, region: Option<&str>) -> IpInfo {
        IpInfo {
            ip: ip.parse().unwrap(),
            location: Location {
                country: country.map(|c| Country::new(c).unwrap()),
                region: region.map(Into::into),
                ..Location::default()
            },
            network: Network::default(),
            corrected: false,
        }
    }

    fn version(scope: Scope, target: &str, mode: PolicyMode, rules: PolicyRules) -> PolicyVersion {
        PolicyVersion {
            scope,
            target: target.into(),
            version: 3,
            name: "office-only".into(),
            mode,
            rules,
            removed: false,
            actor: "admin".into(),
            ip: None,
            comment: None,
            created_at: Timestamp(0),
            restored_from: None,
        }
    }

    fn nets(v: &[&str]) -> Option<Vec<IpNet>> {
        Some(v.iter().map(|s| parse_network(s).unwrap()).collect())
    }

    #[test]
    fn the_narrowest_layer_that_sets_a_field_wins() {
        let org = version(
            Scope::Org,
            "example",
            PolicyMode::Enforce,
            PolicyRules {
                allowlist: nets(&["10.0.0.0/8"]),
                protocols: Some(vec![Protocol::Imap, Protocol::Web]),
                login_protection: Some(ProtectionLevel::Challenged),
                ..PolicyRules::default()
            },
        );
        let group = version(
            Scope::Group,
            "sales",
            PolicyMode::Enforce,
            PolicyRules {
                allowlist: nets(&["198.51.100.0/24"]),
                login_protection: Some(ProtectionLevel::NewCity),
                ..PolicyRules::default()
            },
        );
        let user = version(
            Scope::User,
            "bob@example.com",
            PolicyMode::Enforce,
            PolicyRules {
                step_up_minutes: Some(10),
                ..PolicyRules::default()
            },
        );
        let p = resolve(&AccountPolicy::default(), &[&user, &group, &org]);
        assert_eq!(p.login_protection, ProtectionLevel::NewCity);
        assert_eq!(p.step_up_minutes, 10);
        assert!(!p.new_device_approval);
        // The group's allowlist replaced the organisation's.
        let inside = info("198.51.100.7", Some("CN"), None);
        assert!(check(&p, &inside, Protocol::Imap, None, Timestamp(0)).is_empty());
        let office = info("10.1.2.3", Some("CN"), None);
        let r = check(&p, &office, Protocol::Pop3, None, Timestamp(0));
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].breach, Breach::NotAllowlisted(office.ip));
        assert_eq!(r[0].source.scope, Scope::Group);
        assert_eq!(r[1].breach, Breach::Protocol(Protocol::Pop3));
        assert_eq!(r[1].source.scope, Scope::Org);
        assert_eq!(
            r[0].text(Lang::En),
            "Access refused by policy 'office-only' (group sales, v3): the address 10.1.2.3 is not on the allowlist"
        );
        assert!(r[0].text(Lang::Zh).contains("不在白名单中"));
        // Without layers: the global default.
        let g = AccountPolicy {
            login_protection: ProtectionLevel::Challenged,
            ..AccountPolicy::default()
        };
        assert_eq!(resolve(&g, &[]), g);
    }

    #[test]
    fn off_layers_are_skipped_and_report_only_ones_protect_nothing() {
        let rules = PolicyRules {
            allowlist: nets(&["10.0.0.0/8"]),
            login_protection: Some(ProtectionLevel::NewCityOrDevice),
            new_device_approval: Some(true),
            ..PolicyRules::default()
        };
        let off = version(Scope::Org, "example", PolicyMode::Off, rules.clone());
        assert_eq!(
            resolve(&AccountPolicy::default(), &[&off]),
            AccountPolicy::default()
        );
        let report = version(Scope::Org, "example", PolicyMode::ReportOnly, rules);
        let p = resolve(&AccountPolicy::default(), &[&report]);
        assert_eq!(p.login_protection, ProtectionLevel::Off);
        assert!(!p.new_device_approval);
        let r = check(
            &p,
            &info("8.8.8.8", None, None),
            Protocol::Web,
            None,
            Timestamp(0),
        );
        assert_eq!(r.len(), 1);
        assert!(!r[0].enforced());
        let mut removed = version(
            Scope::Org,
            "example",
            PolicyMode::Enforce,
            PolicyRules {
                allowlist: nets(&["10.0.0.0/8"]),
                ..PolicyRules::default()
            },
        );
        removed.removed = true;
        assert!(resolve(&AccountPolicy::default(), &[&removed])
            .access
            .is_empty());
    }

    #[test]
    fn geo_fences_tls_and_hours() {
        let rules = PolicyRules {
            geo_allow: Some(vec![
                Place::parse("CN").unwrap(),
                Place::parse("hk").unwrap(),
            ]),
            geo_block: Some(vec![Place::parse("CN/Xinjiang").unwrap()]),
            tls_required: Some(true),
            hours: Some(Hours::parse("mon-fri", "08:00-19:00", 480).unwrap()),
            ..PolicyRules::default()
        };
        let p = resolve(
            &AccountPolicy::default(),
            &[&version(Scope::Org, "example", PolicyMode::Enforce, rules)],
        );
        // Monday 2024-01-01 10:00 at +08:00 is 02:00 UTC.
        let monday_10 = Timestamp(1_704_067_200 + 2 * 3600);
        let gd = info("113.88.1.1", Some("CN"), Some("Guangdong"));
        assert!(check(&p, &gd, Protocol::Imap, Some(true), monday_10).is_empty());
        let breaches = |i: &IpInfo, tls, at| -> Vec<Breach> {
            check(&p, i, Protocol::Imap, tls, at)
                .into_iter()
                .map(|r| r.breach)
                .collect()
        };
        assert_eq!(
            breaches(&info("1.1.1.1", Some("NG"), None), Some(true), monday_10),
            vec![Breach::OutsideGeoFence(Country::new("NG").ok())]
        );
        assert_eq!(
            breaches(
                &info("1.1.1.1", Some("CN"), Some("xinjiang")),
                None,
                monday_10
            ),
            vec![Breach::BlockedPlace(Place::parse("CN/Xinjiang").unwrap())]
        );
        assert_eq!(breaches(&gd, Some(false), monday_10), vec![Breach::NoTls]);
        // Sunday 2023-12-31 10:00 local; Monday 07:59 and 19:00 local.
        for t in [
            monday_10.plus_secs(-86_400),
            monday_10.plus_secs(-7_260),
            monday_10.plus_secs(9 * 3600),
        ] {
            assert!(
                matches!(breaches(&gd, None, t)[..], [Breach::Hours(_)]),
                "{t:?}"
            );
        }
        // A narrower layer turns TLS off.
        let lax = version(
            Scope::User,
            "bob",
            PolicyMode::Enforce,
            PolicyRules {
                tls_required: Some(false),
                ..PolicyRules::default()
            },
        );
        let strict = version(
            Scope::Org,
            "example",
            PolicyMode::Enforce,
            PolicyRules {
                tls_required: Some(true),
                ..PolicyRules::default()
            },
        );
        assert!(resolve(&AccountPolicy::default(), &[&lax, &strict])
            .access
            .is_empty());
    }

    #[test]
    fn hours_across_midnight_belong_to_their_first_day() {
        let night = Hours::parse("fri", "22:00-06:00", 0).unwrap();
        // Friday 2024-01-05 23:00 UTC and Saturday 05:00 pass; Saturday 23:00 not.
        let fri_23 = Timestamp(1_704_495_600);
        assert!(night.allows(fri_23));
        assert!(night.allows(fri_23.plus_secs(6 * 3600)));
        assert!(!night.allows(fri_23.plus_secs(86_400)));
        assert_eq!(night.days_text(), "fri");
        assert_eq!(night.span_text(), "22:00-06:00");
    }

    #[test]
    fn bad_values_are_named() {
        assert!(Place::parse("XX").unwrap_err().contains("country"));
        assert!(Place::parse("China").is_err());
        assert!(Place::parse("CN/").is_err());
        assert!(parse_network("10.0.0.0/33").unwrap_err().contains("CIDR"));
        assert!(Hours::parse("mon-fri", "8-19", 0).is_err());
        assert!(Hours::parse("someday", "08:00-19:00", 0).is_err());
        assert!(Hours::parse("fri-mon", "08:00-19:00", 0).is_err());
        assert!(Hours::parse("mon", "08:00-19:00", 900).is_err());
        assert!(PolicyRules {
            protocols: Some(vec![]),
            ..PolicyRules::default()
        }
        .validate()
        .unwrap_err()
        .contains("protocols"));
        assert!("sometimes".parse::<PolicyMode>().is_err());
        assert!("team".parse::<Scope>().is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn mode() -> impl Strategy<Value = PolicyMode> {
            prop_oneof![
                Just(PolicyMode::Enforce),
                Just(PolicyMode::ReportOnly),
                Just(PolicyMode::Off)
            ]
        }

        fn layer(scope: Scope) -> impl Strategy<Value = PolicyVersion> {
            (
                mode(),
                proptest::option::of(0u32..100),
                proptest::option::of(0u8..4),
                proptest::option::of(any::<bool>()),
            )
                .prop_map(move |(mode, step, net, tls)| {
                    version(
                        scope,
                        "t",
                        mode,
                        PolicyRules {
                            step_up_minutes: step,
                            allowlist: net
                                .map(|n| vec![parse_network(&format!("10.{n}.0.0/16")).unwrap()]),
                            tls_required: tls,
                            ..PolicyRules::default()
                        },
                    )
                })
        }

        proptest! {
            /// Field by field, the narrowest layer that sets a field wins:
            /// any live layer for an access rule, an enforced one for a
            /// protection field; nothing set falls back to the global.
            #[test]
            fn the_first_layer_that_sets_a_field_wins(
                user in layer(Scope::User),
                group in layer(Scope::Group),
                org in layer(Scope::Org),
                global_step in 0u32..100,
            ) {
                let global = AccountPolicy { step_up_minutes: global_step, ..AccountPolicy::default() };
                let layers = [&user, &group, &org];
                let p = resolve(&global, &layers);
                let step = layers
                    .iter()
                    .filter(|v| v.mode == PolicyMode::Enforce)
                    .find_map(|v| v.rules.step_up_minutes)
                    .unwrap_or(global_step);
                prop_assert_eq!(p.step_up_minutes, step);
                let live = || layers.iter().filter(|v| v.mode != PolicyMode::Off);
                let allow = live().find(|v| v.rules.allowlist.is_some());
                let got = p.access.iter().find(|r| matches!(r.rule, Rule::Allowlist(_)));
                match (allow, got) {
                    (None, None) => {}
                    (Some(v), Some(r)) => {
                        prop_assert_eq!(&r.rule, &Rule::Allowlist(v.rules.allowlist.clone().unwrap()));
                        prop_assert_eq!(r.source.scope, v.scope);
                        prop_assert_eq!(r.source.mode, v.mode);
                    }
                    (a, g) => prop_assert!(false, "expected {:?}, got {:?}", a.map(|v| v.scope), g),
                }
                let tls = live().find_map(|v| v.rules.tls_required).unwrap_or(false);
                prop_assert_eq!(p.access.iter().any(|r| r.rule == Rule::TlsRequired), tls);
                // An address outside every network breaks the allowlist
                // exactly when one is in force.
                let outside = info("192.0.2.1", None, None);
                let refused = check(&p, &outside, Protocol::Imap, Some(true), Timestamp(0));
                prop_assert_eq!(refused.len(), usize::from(allow.is_some()));
            }
        }
    }
}
