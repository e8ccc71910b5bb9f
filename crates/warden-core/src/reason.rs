//! Reasons: a machine-readable code, the weight it added to the score, the
//! evidence behind it, and the human text in English and Chinese.

use std::fmt::{self, Write};

use crate::countries;
use crate::decision::ReasonCode;
use crate::domain::{AnonymizerKind, Location, Name};
use crate::text::Visible;

/// The most characters of a device id a text shows.
const MAX_DEVICE_SHOWN: usize = 48;
use crate::time::Timestamp;

/// One reason behind a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: ReasonCode,
    /// What this reason added to the risk (0 for informational reasons; for
    /// `known_org_ip` the share of the score it removed).
    pub weight: f32,
    /// A successful login with this reason is worth telling the user and
    /// the admin about (an unusual place, impossible travel, an anonymizer).
    pub alert: bool,
    pub evidence: Evidence,
}

/// Whether spraying was seen from the address itself or its subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ip,
    /// The /24 (IPv4) or /64 (IPv6) around the address.
    Subnet,
}

/// The facts a detector found.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    UnusualPlace {
        place: Location,
        usual: Vec<Location>,
        /// Distance to the nearest usual place, when both have coordinates.
        distance_km: Option<f64>,
    },
    Travel {
        from: Location,
        to: Location,
        distance_km: f64,
        minutes: f64,
        speed_kmh: f64,
    },
    Concurrent {
        other: Location,
        distance_km: f64,
        minutes_ago: f64,
    },
    Device {
        device: Name,
    },
    Client {
        client: String,
        automated: bool,
    },
    Hour {
        hour: u8,
        share: f32,
    },
    Anonymizer {
        kind: AnonymizerKind,
    },
    Datacenter {
        asn: Option<u32>,
        organisation: Option<Name>,
    },
    KnownOrgIp {
        range: Option<Name>,
        colleagues: u64,
    },
    Lockout {
        failures: u32,
        until: Timestamp,
    },
    AccountAttack {
        failures: u32,
        window_secs: i64,
    },
    Spraying {
        accounts: u64,
        scope: Scope,
        window_secs: i64,
    },
    Stuffing {
        failures: u64,
        window_secs: i64,
    },
    Learning {
        logins: u32,
        needed: u32,
    },
    /// The login's features are `ratio` times likelier for anybody than for
    /// this user.
    Statistical {
        ratio: f32,
    },
    /// An access rule of the policy refuses the login.
    Access {
        rule: crate::access::AccessRule,
    },
}

/// Language of a reason text, a notification, an account's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// Both languages, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// `en` or `zh`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = crate::account::UnknownValue;

    /// `en` or `zh` (any case, trimmed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::ALL
            .iter()
            .copied()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| crate::account::UnknownValue {
                kind: "language",
                value: s.to_string(),
                expected: "en zh",
            })
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Reason {
    /// The English text.
    pub fn text_en(&self, utc_offset_minutes: i32) -> String {
        self.text(Lang::En, utc_offset_minutes)
    }

    /// The Chinese text.
    pub fn text_zh(&self, utc_offset_minutes: i32) -> String {
        self.text(Lang::Zh, utc_offset_minutes)
    }

    /// The text in `lang`; times are shown at `utc_offset_minutes`.
    pub fn text(&self, lang: Lang, utc_offset_minutes: i32) -> String {
        let en = lang == Lang::En;
        let mut s = String::with_capacity(96);
        match &self.evidence {
            Evidence::UnusualPlace {
                place,
                usual,
                distance_km,
            } => {
                // Across borders the country says enough; at home the
                // distance tells a neighbouring city from a far one.
                let domestic = self.code != ReasonCode::UnusualCountry;
                if en {
                    let _ = write!(s, "Login from {}", place_en(place));
                    if let Some(d) = distance_km.as_ref().filter(|_| domestic) {
                        let _ = write!(s, ", {} km from the usual places", km(*d));
                    }
                    if !usual.is_empty() {
                        let _ = write!(s, "; usual places: {}", join(usual, Lang::En, " / "));
                    }
                } else {
                    let _ = write!(s, "异地登录：{}", place_zh(place));
                    if let Some(d) = distance_km.as_ref().filter(|_| domestic) {
                        let _ = write!(s, "，距常用登录地 {} 公里", km(*d));
                    }
                    if !usual.is_empty() {
                        let _ = write!(s, "，常用登录地：{}", join(usual, Lang::Zh, "、"));
                    }
                }
            }
            Evidence::Travel {
                from,
                to,
                distance_km,
                minutes,
                speed_kmh,
            } => {
                if en {
                    let _ = write!(
                        s,
                        "Impossible travel: {} km from {} to {} in {} ({} km/h)",
                        km(*distance_km),
                        place_en(from),
                        place_en(to),
                        duration_en(*minutes),
                        km(*speed_kmh)
                    );
                } else {
                    let _ = write!(
                        s,
                        "不可能的行程：{}内从{}到{}，相距 {} 公里（时速 {} 公里）",
                        duration_zh(*minutes),
                        place_zh(from),
                        place_zh(to),
                        km(*distance_km),
                        km(*speed_kmh)
                    );
                }
            }
            Evidence::Concurrent {
                other,
                distance_km,
                minutes_ago,
            } => {
                if en {
                    let _ = write!(
                        s,
                        "Another session is open {} km away in {} (active {} ago)",
                        km(*distance_km),
                        place_en(other),
                        duration_en(*minutes_ago)
                    );
                } else {
                    let _ = write!(
                        s,
                        "{} 公里外的{}同时有登录会话（{}前活跃）",
                        km(*distance_km),
                        place_zh(other),
                        duration_zh(*minutes_ago)
                    );
                }
            }
            Evidence::Device { device } => {
                // The client chose the id: quoted, one line, no markup.
                let device = crate::text::quoted(device, MAX_DEVICE_SHOWN);
                let _ = if en {
                    write!(s, "New device: {device}")
                } else {
                    write!(s, "新设备登录：{device}")
                };
            }
            Evidence::Client { client, automated } => {
                let client = Visible(client);
                let _ = match (en, automated) {
                    (true, false) => write!(s, "New client program: {client}"),
                    (true, true) => write!(s, "Scripted client: {client}"),
                    (false, false) => write!(s, "新的登录客户端：{client}"),
                    (false, true) => write!(s, "脚本程序登录：{client}"),
                };
            }
            Evidence::Hour { hour, share } => {
                // The hour is the organisation's (`learning.utc_offset_minutes`),
                // which the text is given.
                let tz = tz_label(utc_offset_minutes);
                let pct = share * 100.0;
                let _ = if en {
                    write!(
                        s,
                        "Unusual hour for this user: {hour:02}:00–{:02}:00 {tz} ({pct:.1}% of logins)",
                        (hour + 1) % 24
                    )
                } else {
                    write!(
                        s,
                        "非常用登录时段：{hour:02}:00–{:02}:00（{tz}，占该用户登录的 {pct:.1}%）",
                        (hour + 1) % 24
                    )
                };
            }
            Evidence::Anonymizer { kind } => {
                let _ = match (en, kind) {
                    (true, AnonymizerKind::Tor) => write!(s, "Anonymizing network: Tor exit node"),
                    (true, AnonymizerKind::Vpn) => write!(s, "Anonymizing network: VPN service"),
                    (true, AnonymizerKind::Proxy) => write!(s, "Anonymizing network: open proxy"),
                    (false, AnonymizerKind::Tor) => write!(s, "匿名网络：Tor 出口节点"),
                    (false, AnonymizerKind::Vpn) => write!(s, "匿名网络：VPN 服务"),
                    (false, AnonymizerKind::Proxy) => write!(s, "匿名网络：公开代理"),
                };
            }
            Evidence::Datacenter { asn, organisation } => {
                s.push_str(if en {
                    "Datacenter network"
                } else {
                    "机房 / 云服务器 IP"
                });
                if asn.is_some() || organisation.is_some() {
                    s.push_str(if en { ": " } else { "：" });
                    if let Some(a) = asn {
                        let _ = write!(s, "AS{a}");
                    }
                    if let Some(o) = organisation {
                        let o = Visible(o);
                        let _ = write!(s, "{}{o}", if asn.is_some() { " " } else { "" });
                    }
                }
            }
            Evidence::KnownOrgIp { range, colleagues } => {
                let range = range.as_deref().map(Visible);
                let _ = match (en, range) {
                    (true, Some(r)) => write!(s, "Known organisation address: {r}"),
                    (false, Some(r)) => write!(s, "企业已知 IP：{r}"),
                    (true, None) => write!(s, "Address used by {colleagues} colleagues this week"),
                    (false, None) => write!(s, "本周有 {colleagues} 位同事从该 IP 登录"),
                };
            }
            Evidence::Lockout { failures, until } => {
                let c = until.civil(utc_offset_minutes);
                let tz = tz_label(utc_offset_minutes);
                let _ = if en {
                    write!(
                        s,
                        "Locked by risk control: {failures} failed logins from this IP; try again after {:02}:{:02} {tz}",
                        c.hour, c.minute
                    )
                } else {
                    write!(
                        s,
                        "风控锁定：该 IP 登录失败 {failures} 次，请在 {:02}:{:02} ({tz}) 之后再试",
                        c.hour, c.minute
                    )
                };
            }
            Evidence::AccountAttack {
                failures,
                window_secs,
            } => {
                let m = window_secs / 60;
                let _ = if en {
                    write!(
                        s,
                        "{failures} failed logins on this account in the last {m} min"
                    )
                } else {
                    write!(s, "该账号 {m} 分钟内登录失败 {failures} 次")
                };
            }
            Evidence::Spraying {
                accounts,
                scope,
                window_secs,
            } => {
                let m = window_secs / 60;
                let _ = match (en, scope) {
                    (true, Scope::Ip) => write!(
                        s,
                        "Password spraying: {accounts} accounts failed from this IP in the last {m} min"
                    ),
                    (true, Scope::Subnet) => write!(
                        s,
                        "Password spraying: {accounts} accounts failed from this subnet in the last {m} min"
                    ),
                    (false, Scope::Ip) => {
                        write!(s, "密码喷洒攻击：该 IP {m} 分钟内登录 {accounts} 个账号失败")
                    }
                    (false, Scope::Subnet) => {
                        write!(s, "密码喷洒攻击：该网段 {m} 分钟内登录 {accounts} 个账号失败")
                    }
                };
            }
            Evidence::Stuffing {
                failures,
                window_secs,
            } => {
                let m = window_secs / 60;
                let _ = if en {
                    write!(
                        s,
                        "Credential-stuffing wave under way ({failures} failed logins in {m} min) and this network is new for the user"
                    )
                } else {
                    write!(s, "撞库攻击进行中（{m} 分钟内 {failures} 次登录失败），且该网络对此用户是新的")
                };
            }
            Evidence::Learning { logins, needed } => {
                let _ = if en {
                    write!(
                        s,
                        "Still learning this user's habits ({logins} of {needed} logins)"
                    )
                } else {
                    write!(s, "正在学习该用户的登录习惯（{logins}/{needed} 次登录）")
                };
            }
            Evidence::Access { rule } => {
                use crate::access::AccessRule as A;
                let _ = match (rule, en) {
                    (A::Blocked(n), true) => write!(s, "Access refused: {n} is on the blocklist"),
                    (A::Blocked(n), false) => write!(s, "禁止访问：{n} 在黑名单中"),
                    (A::BlockedForAccount(n), true) => write!(
                        s,
                        "Access refused: {n} is blocked for this account since the user reported a login from it as not theirs"
                    ),
                    (A::BlockedForAccount(n), false) => {
                        write!(s, "禁止访问：用户报告来自 {n} 的登录不是本人，该网段已禁止登录此账号")
                    }
                    (A::NotAllowlisted, true) => {
                        s.write_str("Access refused: the address is not on the allowlist")
                    }
                    (A::NotAllowlisted, false) => s.write_str("禁止访问：该地址不在白名单中"),
                    (A::Country(Some(c)), true) => write!(
                        s,
                        "Access refused: logins from {} are not allowed",
                        crate::countries::name_en(*c)
                    ),
                    (A::Country(Some(c)), false) => {
                        write!(s, "禁止访问：不允许从{}登录", crate::countries::name_zh(*c))
                    }
                    (A::Country(None), true) => s.write_str(
                        "Access refused: logins from an unknown country are not allowed",
                    ),
                    (A::Country(None), false) => {
                        s.write_str("禁止访问：不允许从未知国家或地区登录")
                    }
                    (A::Protocol(p), true) => write!(
                        s,
                        "Access refused: {} logins are not allowed",
                        p.as_str().to_uppercase()
                    ),
                    (A::Protocol(p), false) => {
                        write!(s, "禁止访问：不允许使用 {} 登录", p.as_str().to_uppercase())
                    }
                    (A::Policy(r), true) => s.write_str(&r.text(Lang::En)),
                    (A::Policy(r), false) => s.write_str(&r.text(Lang::Zh)),
                };
            }
            Evidence::Statistical { ratio } => {
                let r = km(f64::from(ratio.min(1e9)));
                let _ = if en {
                    write!(
                        s,
                        "Unlike this user: place, network and client together are {r} times likelier for anyone else"
                    )
                } else {
                    write!(s, "与该用户习惯不符：综合登录地点、网络和客户端，他人登录的可能性是本人的 {r} 倍")
                };
            }
        }
        s
    }
}

/// "Lagos, NG", "Guangdong, CN", "NG" or "an unknown place". Like the other
/// pieces of a text, a `Display` written where it is used: no string of its
/// own.
pub fn place_en(l: &Location) -> impl fmt::Display + '_ {
    PlaceText(l, Lang::En)
}

/// "尼日利亚 拉各斯", "中国 广东", "尼日利亚" or "未知地点".
pub fn place_zh(l: &Location) -> impl fmt::Display + '_ {
    PlaceText(l, Lang::Zh)
}

struct PlaceText<'a>(&'a Location, Lang);

impl fmt::Display for PlaceText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        match self.1 {
            Lang::En => match (
                l.city.as_deref().or(l.region.as_deref()).map(Visible),
                l.country,
            ) {
                (Some(n), Some(c)) => write!(f, "{n}, {c}"),
                (Some(n), None) => n.fmt(f),
                (None, Some(c)) => f.write_str(countries::name_en(c)),
                (None, None) => f.write_str("an unknown place"),
            },
            Lang::Zh => {
                let name = l
                    .city_zh
                    .as_deref()
                    .or(l.city.as_deref())
                    .or(l.region_zh.as_deref())
                    .or(l.region.as_deref())
                    .map(Visible);
                match (l.country, name) {
                    (Some(c), Some(n)) => write!(f, "{} {n}", countries::name_zh(c)),
                    (Some(c), None) => f.write_str(countries::name_zh(c)),
                    (None, Some(n)) => n.fmt(f),
                    (None, None) => f.write_str("未知地点"),
                }
            }
        }
    }
}

/// The places in `lang`, separated by `sep`.
fn join<'a>(places: &'a [Location], lang: Lang, sep: &'a str) -> impl fmt::Display + 'a {
    Joined { places, lang, sep }
}

struct Joined<'a> {
    places: &'a [Location],
    lang: Lang,
    sep: &'a str,
}

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.places.iter().enumerate() {
            if i > 0 {
                f.write_str(self.sep)?;
            }
            PlaceText(p, self.lang).fmt(f)?;
        }
        Ok(())
    }
}

/// A whole number with thousands separators (kilometres, ratios): 9,590.
fn km(v: f64) -> impl fmt::Display {
    Thousands(v.round().max(0.0) as u64)
}

struct Thousands(u64);

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 20 digits and 6 separators at most, written from the right.
        let mut buf = [0u8; 26];
        let (mut n, mut i, mut digits) = (self.0, buf.len(), 0);
        loop {
            if digits > 0 && digits % 3 == 0 {
                i -= 1;
                buf[i] = b',';
            }
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            digits += 1;
            if n == 0 {
                break;
            }
        }
        f.write_str(std::str::from_utf8(&buf[i..]).map_err(|_| fmt::Error)?)
    }
}

fn duration_en(minutes: f64) -> String {
    if minutes < 90.0 {
        format!("{} min", minutes.round().max(0.0))
    } else {
        format!("{:.1} h", minutes / 60.0)
    }
}

fn duration_zh(minutes: f64) -> String {
    if minutes < 90.0 {
        format!("{} 分钟", minutes.round().max(0.0))
    } else {
        format!("{:.1} 小时", minutes / 60.0)
    }
}

/// The zone of an offset from UTC as texts name it, never ambiguous:
/// `UTC`, `UTC+8`, `UTC-5:30`. Texts show times at the policy's
/// `learning.utc_offset_minutes` (the organisation's time), not at the
/// server's time zone, so every time they show carries this label.
/// A time with its zone, as texts for people show it:
/// `2026-03-01 10:05 (UTC+8)`.
pub fn local_time(t: crate::time::Timestamp, offset_minutes: i32) -> String {
    let c = t.civil(offset_minutes);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} ({})",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        tz_label(offset_minutes)
    )
}

pub fn tz_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".to_string();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.abs();
    if m % 60 == 0 {
        format!("UTC{sign}{}", m / 60)
    } else {
        format!("UTC{sign}{}:{:02}", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Country;

    fn city(country: &str, city: &str, zh: Option<&str>) -> Location {
        Location {
            country: Some(Country::new(country).unwrap()),
            city: Some(city.into()),
            city_zh: zh.map(Into::into),
            ..Location::default()
        }
    }

    #[test]
    fn unusual_country_text_in_both_languages() {
        let r = Reason {
            code: ReasonCode::UnusualCountry,
            weight: 0.55,
            alert: true,
            evidence: Evidence::UnusualPlace {
                place: city("NG", "Lagos", Some("拉各斯")),
                usual: vec![city("CN", "Shenzhen", Some("深圳"))],
                distance_km: None,
            },
        };
        assert_eq!(
            r.text_en(480),
            "Login from Lagos, NG; usual places: Shenzhen, CN"
        );
        assert_eq!(
            r.text_zh(480),
            "异地登录：尼日利亚 拉各斯，常用登录地：中国 深圳"
        );
    }

    #[test]
    fn numbers_and_times_are_readable() {
        assert_eq!(km(9590.4).to_string(), "9,590");
        assert_eq!(km(1_234_567.0).to_string(), "1,234,567");
        assert_eq!(km(12.0).to_string(), "12");
        assert_eq!(km(0.0).to_string(), "0");
        assert_eq!(km(-3.0).to_string(), "0");
        assert_eq!(km(999.4).to_string(), "999");
        assert_eq!(km(1000.0).to_string(), "1,000");
        assert_eq!(km(f64::MAX).to_string(), "18,446,744,073,709,551,615");
        assert_eq!(tz_label(480), "UTC+8");
        assert_eq!(tz_label(-330), "UTC-5:30");
        let r = Reason {
            code: ReasonCode::BruteForceLockout,
            weight: 1.0,
            alert: false,
            evidence: Evidence::Lockout {
                failures: 5,
                until: Timestamp(1_704_151_800),
            },
        };
        assert!(
            r.text_en(480).ends_with("after 07:30 UTC+8"),
            "{}",
            r.text_en(480)
        );
        assert!(r.text_zh(0).contains("23:30 (UTC)"));
    }
}
