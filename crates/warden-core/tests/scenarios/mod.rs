//! Runs every `*.toml` scenario in this folder.
//!
//! A scenario names places (an IP address with what the geo layer would
//! say about it) and a list of events. Each event is evaluated, then its
//! outcome recorded, exactly as replay does; an event's `expect` table is
//! checked against the evaluation of its last repetition.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use warden_core::{
    AnonymizerKind, Assessment, Coords, Country, Engine, FailureReason, IpInfo, Location,
    LoginAttempt, Network, Outcome, Policy, Protocol, Timestamp,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    #[serde(default)]
    policy: Policy,
    places: BTreeMap<String, Place>,
    events: Vec<Event>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Place {
    ip: String,
    country: Option<String>,
    region: Option<String>,
    city: Option<String>,
    city_zh: Option<String>,
    lat: Option<f32>,
    lon: Option<f32>,
    accuracy_km: Option<u16>,
    asn: Option<u32>,
    /// The carrier group's main AS number (what warden-geo derives from
    /// the organisation name).
    group: Option<u32>,
    organisation: Option<String>,
    #[serde(default)]
    datacenter: bool,
    anonymizer: Option<String>,
    org_range: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    /// Absolute time (RFC 3339) ...
    at: Option<String>,
    /// ... or time after the previous event ("90s", "30m", "5h", "2d").
    after: Option<String>,
    #[serde(default = "default_user")]
    user: String,
    from: String,
    /// Overrides the place's address; `{n}` is the repetition index.
    ip: Option<String>,
    #[serde(default = "default_protocol")]
    protocol: String,
    /// success, or a failure reason (wrong_password, unknown_user, ...).
    #[serde(default = "default_outcome")]
    outcome: String,
    device: Option<String>,
    ua: Option<String>,
    #[serde(default = "one")]
    repeat: u32,
    /// Time between repetitions.
    every: Option<String>,
    expect: Option<Expect>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Option<String>,
    level: Option<String>,
    alert: Option<bool>,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    /// Exactly these reason codes, in any order.
    only: Option<Vec<String>>,
    min_risk: Option<f32>,
    max_risk: Option<f32>,
    text_en: Option<String>,
    text_zh: Option<String>,
}

fn default_user() -> String {
    "alice".into()
}
fn default_protocol() -> String {
    "imap".into()
}
fn default_outcome() -> String {
    "success".into()
}
fn one() -> u32 {
    1
}

fn duration(s: &str) -> i64 {
    let (num, unit) = s.split_at(s.len() - 1);
    let n: f64 = num.parse().unwrap_or_else(|_| panic!("bad duration {s:?}"));
    let mult = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => panic!("bad duration unit in {s:?}"),
    };
    (n * mult) as i64
}

fn ip_info(place: &Place, ip: &str) -> IpInfo {
    let location = Location {
        country: place.country.as_deref().map(|c| Country::new(c).unwrap()),
        region: place.region.as_deref().map(Into::into),
        city: place.city.as_deref().map(Into::into),
        city_zh: place.city_zh.as_deref().map(Into::into),
        coords: place
            .lat
            .zip(place.lon)
            .map(|(lat, lon)| Coords { lat, lon }),
        accuracy_km: place.accuracy_km,
        ..Location::default()
    };
    let anonymizer = place.anonymizer.as_deref().map(|a| match a {
        "tor" => AnonymizerKind::Tor,
        "vpn" => AnonymizerKind::Vpn,
        "proxy" => AnonymizerKind::Proxy,
        other => panic!("unknown anonymizer {other}"),
    });
    IpInfo {
        ip: ip.parse().unwrap_or_else(|_| panic!("bad ip {ip}")),
        location,
        network: Network {
            asn: place.asn,
            group: place.group,
            organisation: place.organisation.as_deref().map(Into::into),
            datacenter: place.datacenter,
            anonymizer,
            org_range: place.org_range.as_deref().map(Into::into),
        },
        corrected: false,
    }
}

fn check(file: &str, idx: usize, e: &Expect, a: &Assessment, offset: i32) -> Vec<String> {
    let mut errs = Vec::new();
    let codes: Vec<&str> = a.reasons.iter().map(|r| r.code.as_str()).collect();
    let ctx = format!(
        "{file} event #{idx}: got {:?} risk {:.3} alert {} reasons {:?}",
        a.decision, a.risk, a.alert, codes
    );
    if let Some(d) = &e.decision {
        if a.decision.as_str() != d {
            errs.push(format!("decision should be {d}; {ctx}"));
        }
    }
    if let Some(l) = &e.level {
        if a.level.as_str() != l {
            errs.push(format!("level should be {l}; {ctx}"));
        }
    }
    if let Some(al) = e.alert {
        if a.alert != al {
            errs.push(format!("alert should be {al}; {ctx}"));
        }
    }
    for r in &e.reasons {
        if !codes.contains(&r.as_str()) {
            errs.push(format!("reason {r} missing; {ctx}"));
        }
    }
    for r in &e.absent {
        if codes.contains(&r.as_str()) {
            errs.push(format!("reason {r} should be absent; {ctx}"));
        }
    }
    if let Some(only) = &e.only {
        let mut want: Vec<&str> = only.iter().map(String::as_str).collect();
        let mut got = codes.clone();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            errs.push(format!("reasons should be exactly {want:?}; {ctx}"));
        }
    }
    if let Some(m) = e.min_risk {
        if a.risk < m {
            errs.push(format!("risk should be >= {m}; {ctx}"));
        }
    }
    if let Some(m) = e.max_risk {
        if a.risk > m {
            errs.push(format!("risk should be <= {m}; {ctx}"));
        }
    }
    if let Some(t) = &e.text_en {
        let texts: Vec<String> = a.reasons.iter().map(|r| r.text_en(offset)).collect();
        if !texts.iter().any(|x| x == t) {
            errs.push(format!(
                "no reason with English text {t:?}; texts {texts:?}"
            ));
        }
    }
    if let Some(t) = &e.text_zh {
        let texts: Vec<String> = a.reasons.iter().map(|r| r.text_zh(offset)).collect();
        if !texts.iter().any(|x| x == t) {
            errs.push(format!(
                "no reason with Chinese text {t:?}; texts {texts:?}"
            ));
        }
    }
    errs
}

fn run(path: &Path) -> Vec<String> {
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let sc: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(!sc.description.is_empty(), "{file}: description");
    let offset = sc.policy.learning.utc_offset_minutes;
    let mut engine = Engine::new(sc.policy).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut now: Option<i64> = None;
    let mut errors = Vec::new();
    let mut checked = 0;
    for (idx, ev) in sc.events.iter().enumerate() {
        let place = sc
            .places
            .get(&ev.from)
            .unwrap_or_else(|| panic!("{file}: unknown place {}", ev.from));
        let start = match (&ev.at, &ev.after) {
            (Some(at), None) => at.parse::<jiff::Timestamp>().unwrap().as_second(),
            (None, Some(after)) => now.expect("`after` needs an earlier event") + duration(after),
            (None, None) => now.expect("first event needs `at`"),
            (Some(_), Some(_)) => panic!("{file}: event #{idx} has both at and after"),
        };
        let every = ev.every.as_deref().map_or(60, duration);
        let outcome = match ev.outcome.as_str() {
            "success" => Outcome::Success,
            other => Outcome::Failure(other.parse::<FailureReason>().unwrap()),
        };
        let mut last = None;
        for n in 0..ev.repeat {
            let t = start + n as i64 * every;
            let ip_text = ev
                .ip
                .as_deref()
                .unwrap_or(&place.ip)
                .replace("{n}", &n.to_string());
            let info = ip_info(place, &ip_text);
            let attempt = LoginAttempt::new(
                Timestamp(t),
                &ev.user.replace("{n}", &n.to_string()),
                info.ip,
                ev.protocol.parse::<Protocol>().unwrap(),
                ev.device.as_deref(),
                ev.ua.as_deref(),
            )
            .unwrap_or_else(|e| panic!("{file}: event #{idx}: {e}"));
            let a = engine.evaluate(&attempt, &info);
            // Evaluation is pure: asking twice answers the same.
            assert_eq!(
                a,
                engine.evaluate(&attempt, &info),
                "{file}: evaluate is not pure"
            );
            engine.record(&attempt, &info, outcome);
            last = Some(a);
            now = Some(t);
        }
        if let (Some(e), Some(a)) = (&ev.expect, &last) {
            checked += 1;
            errors.extend(check(&file, idx, e, a, offset));
        }
    }
    assert!(checked > 0, "{file}: a scenario must expect something");
    errors
}

#[test]
fn all_scenarios_hold() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the scenario files in {dir:?}");
    let errors: Vec<String> = files.iter().flat_map(|f| run(f)).collect();
    assert!(
        errors.is_empty(),
        "{} scenario failures:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
