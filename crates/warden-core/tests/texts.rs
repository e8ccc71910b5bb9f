//! Snapshots of every reason's English and Chinese text and of every
//! end-user message of a credential check (with Warden's own and with a
//! site's texts), so wording changes are reviewed.

use warden_core::access::AccessRule;
use warden_core::reason::{Evidence, Scope};
use warden_core::verify::{Detail, SitePart, SiteTexts};
use warden_core::{
    AnonymizerKind, Coords, Country, Lang, Location, Protocol, Reason, ReasonCode, Timestamp,
    Verdict, VerifyReason,
};

fn city(c: &str, name: &str, zh: Option<&str>, lat: f32, lon: f32) -> Location {
    Location {
        country: Some(Country::new(c).unwrap()),
        city: Some(name.into()),
        city_zh: zh.map(Into::into),
        coords: Some(Coords { lat, lon }),
        ..Location::default()
    }
}

#[test]
fn every_reason_text() {
    let sz = city("CN", "Shenzhen", Some("深圳"), 22.54, 114.06);
    let bj = city("CN", "Beijing", Some("北京"), 39.9, 116.41);
    let lagos = city("NG", "Lagos", Some("拉各斯"), 6.52, 3.38);
    let london = city("GB", "London", None, 51.51, -0.13);
    let cases = vec![
        (
            ReasonCode::UnusualCountry,
            Evidence::UnusualPlace {
                place: lagos,
                usual: vec![sz.clone(), bj.clone()],
                distance_km: Some(11_345.6),
            },
        ),
        (
            ReasonCode::UnusualRegion,
            Evidence::UnusualPlace {
                place: bj.clone(),
                usual: vec![sz.clone()],
                distance_km: Some(1_943.0),
            },
        ),
        (
            ReasonCode::UnusualCity,
            Evidence::UnusualPlace {
                place: Location {
                    country: Some(Country::new("CN").unwrap()),
                    region: Some("Guangdong".into()),
                    ..Location::default()
                },
                usual: vec![],
                distance_km: None,
            },
        ),
        (
            ReasonCode::ImpossibleTravel,
            Evidence::Travel {
                from: sz.clone(),
                to: london,
                distance_km: 9_590.2,
                minutes: 30.0,
                speed_kmh: 19_180.4,
            },
        ),
        (
            ReasonCode::ConcurrentDistantSessions,
            Evidence::Concurrent {
                other: bj,
                distance_km: 1_943.0,
                minutes_ago: 150.0,
            },
        ),
        (
            ReasonCode::NewDevice,
            Evidence::Device {
                device: "iphone-7f3a".into(),
            },
        ),
        (
            ReasonCode::NewClient,
            Evidence::Client {
                client: "Foxmail".into(),
                automated: false,
            },
        ),
        (
            ReasonCode::NewClient,
            Evidence::Client {
                client: "curl".into(),
                automated: true,
            },
        ),
        (
            ReasonCode::UnusualHour,
            Evidence::Hour {
                hour: 3,
                share: 0.004,
            },
        ),
        (
            ReasonCode::AnonymizerIp,
            Evidence::Anonymizer {
                kind: AnonymizerKind::Tor,
            },
        ),
        (
            ReasonCode::AnonymizerIp,
            Evidence::Anonymizer {
                kind: AnonymizerKind::Vpn,
            },
        ),
        (
            ReasonCode::AnonymizerIp,
            Evidence::Anonymizer {
                kind: AnonymizerKind::Proxy,
            },
        ),
        (
            ReasonCode::DatacenterIp,
            Evidence::Datacenter {
                asn: Some(16509),
                organisation: Some("Amazon.com, Inc.".into()),
            },
        ),
        (
            ReasonCode::DatacenterIp,
            Evidence::Datacenter {
                asn: None,
                organisation: None,
            },
        ),
        (
            ReasonCode::KnownOrgIp,
            Evidence::KnownOrgIp {
                range: Some("Shenzhen office".into()),
                colleagues: 0,
            },
        ),
        (
            ReasonCode::KnownOrgIp,
            Evidence::KnownOrgIp {
                range: None,
                colleagues: 12,
            },
        ),
        (
            ReasonCode::BruteForceLockout,
            Evidence::Lockout {
                failures: 5,
                until: Timestamp(1_772_330_700),
            },
        ),
        (
            ReasonCode::AccountUnderAttack,
            Evidence::AccountAttack {
                failures: 12,
                window_secs: 300,
            },
        ),
        (
            ReasonCode::PasswordSpraying,
            Evidence::Spraying {
                accounts: 37,
                scope: Scope::Ip,
                window_secs: 3600,
            },
        ),
        (
            ReasonCode::PasswordSpraying,
            Evidence::Spraying {
                accounts: 80,
                scope: Scope::Subnet,
                window_secs: 3600,
            },
        ),
        (
            ReasonCode::CredentialStuffing,
            Evidence::Stuffing {
                failures: 640,
                window_secs: 600,
            },
        ),
        (
            ReasonCode::LearningPeriod,
            Evidence::Learning {
                logins: 3,
                needed: 5,
            },
        ),
        (
            ReasonCode::StatisticalAnomaly,
            Evidence::Statistical { ratio: 23_456.7 },
        ),
        (
            ReasonCode::AccessDenied,
            Evidence::Access {
                rule: AccessRule::Blocked("203.0.113.0/24".parse().unwrap()),
            },
        ),
        (
            ReasonCode::AccessDenied,
            Evidence::Access {
                rule: AccessRule::NotAllowlisted,
            },
        ),
        (
            ReasonCode::AccessDenied,
            Evidence::Access {
                rule: AccessRule::Country(Country::new("NG").ok()),
            },
        ),
        (
            ReasonCode::AccessDenied,
            Evidence::Access {
                rule: AccessRule::Country(None),
            },
        ),
        (
            ReasonCode::AccessDenied,
            Evidence::Access {
                rule: AccessRule::Protocol(Protocol::Pop3),
            },
        ),
    ];
    // Every reason code has a text here.
    for code in ReasonCode::ALL {
        assert!(
            cases.iter().any(|(c, _)| *c == code),
            "{code:?} has no case"
        );
    }
    let mut out = String::new();
    for (code, evidence) in cases {
        let r = Reason {
            code,
            weight: 0.5,
            alert: false,
            evidence,
        };
        out.push_str(&format!(
            "{}\n  en: {}\n  zh: {}\n",
            code.as_str(),
            r.text_en(480),
            r.text_zh(480)
        ));
    }
    insta::assert_snapshot!(out);
}

/// One verdict per message variant: every reason, and the details that
/// change the wording.
fn verdicts() -> Vec<(&'static str, Verdict)> {
    let refuse = |reason, detail| Verdict {
        reason: Some(reason),
        detail,
    };
    let imap = Detail {
        protocol: Some(Protocol::Imap),
        ..Detail::default()
    };
    let code = Detail {
        code: true,
        ..imap.clone()
    };
    let out = vec![
        ("", refuse(VerifyReason::WrongPassword, Detail::default())),
        ("", refuse(VerifyReason::AppPasswordRequired, imap.clone())),
        (
            "",
            refuse(
                VerifyReason::ProtocolNotAllowed,
                Detail {
                    protocol: Some(Protocol::Smtp),
                    code: true,
                    ..Detail::default()
                },
            ),
        ),
        ("", refuse(VerifyReason::TlsRequired, imap.clone())),
        (
            "",
            refuse(
                VerifyReason::LockedByRiskControl,
                Detail {
                    ip: Some("81.2.69.9".parse().unwrap()),
                    until: Some(Timestamp(1_772_330_700)),
                    failures: Some(5),
                    ..Detail::default()
                },
            ),
        ),
        ("code", refuse(VerifyReason::PasswordExpired, code)),
        (
            "must change",
            refuse(
                VerifyReason::PasswordExpired,
                Detail {
                    must_change: true,
                    ..imap.clone()
                },
            ),
        ),
        (
            "expired",
            refuse(VerifyReason::PasswordExpired, imap.clone()),
        ),
        ("", refuse(VerifyReason::AccountDisabled, Detail::default())),
        ("", refuse(VerifyReason::AccountLocked, Detail::default())),
        (
            "place",
            refuse(
                VerifyReason::VerificationRequired,
                Detail {
                    place: Some(("Lagos, NG".into(), "尼日利亚 拉各斯".into())),
                    ..imap.clone()
                },
            ),
        ),
        ("", refuse(VerifyReason::VerificationRequired, imap)),
        (
            "rule",
            refuse(
                VerifyReason::AccessDenied,
                Detail {
                    rule: Some((
                        "Access refused: logins from Nigeria are not allowed".into(),
                        "拒绝访问：不允许从尼日利亚登录".into(),
                    )),
                    ..Detail::default()
                },
            ),
        ),
        ("", refuse(VerifyReason::AccessDenied, Detail::default())),
        ("", refuse(VerifyReason::DenyRisk, Detail::default())),
        (
            "since",
            refuse(
                VerifyReason::DevicePending,
                Detail {
                    until: Some(Timestamp(1_772_330_520)),
                    ..Detail::default()
                },
            ),
        ),
        ("", refuse(VerifyReason::DevicePending, Detail::default())),
        (
            "at",
            refuse(
                VerifyReason::SessionRevoked,
                Detail {
                    until: Some(Timestamp(1_772_330_520)),
                    ..Detail::default()
                },
            ),
        ),
        ("", refuse(VerifyReason::SessionRevoked, Detail::default())),
    ];
    // Every reason has a message here.
    for r in VerifyReason::ALL {
        assert!(
            out.iter().any(|(_, v)| v.reason == Some(r)),
            "{r} has no case"
        );
    }
    out
}

fn messages(site: &SiteTexts, utc_offset_minutes: i32) -> String {
    let mut out = String::new();
    for (variant, v) in verdicts() {
        let r = v.reason.unwrap();
        let name = if variant.is_empty() {
            r.to_string()
        } else {
            format!("{r} ({variant})")
        };
        out.push_str(&format!(
            "{name}\n  en: {}\n  zh: {}\n",
            v.message_with(Lang::En, utc_offset_minutes, site).unwrap(),
            v.message_with(Lang::Zh, utc_offset_minutes, site).unwrap()
        ));
    }
    out
}

#[test]
fn every_verify_message() {
    let default = messages(&SiteTexts::default(), 480);
    // `message` is `message_with` Warden's own texts.
    for (_, v) in verdicts() {
        for lang in Lang::ALL {
            assert_eq!(
                v.message(lang, 480),
                v.message_with(lang, 480, &SiteTexts::default())
            );
        }
    }
    insta::assert_snapshot!(default);
}

#[test]
fn every_verify_message_with_site_texts() {
    let mut site = SiteTexts::default();
    for (part, lang, text) in [
        (
            SitePart::Codes,
            Lang::En,
            "the Acme account portal (Devices > App passwords)",
        ),
        (
            SitePart::Codes,
            Lang::Zh,
            "Acme 帐号门户的“设备 > 应用密码”",
        ),
        (SitePart::Confirm, Lang::En, "the Acme SSO app"),
        (SitePart::Confirm, Lang::Zh, "Acme 单点登录应用"),
        (SitePart::Password, Lang::En, "https://id.acme.test"),
        (SitePart::Password, Lang::Zh, "https://id.acme.test "),
        (SitePart::Helpdesk, Lang::En, "the IT helpdesk (ext. 8000)"),
        (SitePart::Helpdesk, Lang::Zh, "IT 服务台（分机 8000）"),
    ] {
        site.set(part, lang, text).unwrap();
    }
    // A UTC site: the lockout names UTC.
    insta::assert_snapshot!(messages(&site, 0));
}
