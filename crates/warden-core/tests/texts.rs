//! Snapshot of every reason's English and Chinese text, so wording changes
//! are reviewed.

use warden_core::access::AccessRule;
use warden_core::reason::{Evidence, Scope};
use warden_core::{
    AnonymizerKind, Coords, Country, Location, Protocol, Reason, ReasonCode, Timestamp,
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
