//! Learning only from trusted logins: an untrusted success becomes an
//! unconfirmed observation that teaches the profile nothing until it is
//! confirmed (`Engine::confirm`), a later trusted success from the same
//! place and network, or `learning.confirm_after_days` separate days
//! without an attack signal or a "not me".

use warden_core::{
    Coords, Country, Decision, Engine, IpInfo, Location, LoginAttempt, Network, Outcome, Policy,
    Protocol, Timestamp, Trust,
};

/// Monday 2026-03-02 00:00 China time.
const T0: i64 = 1_772_380_800;
const DAY: i64 = 86_400;

fn place(country: &str, region: &str, city: &str, lat: f32, lon: f32, asn: u32) -> IpInfo {
    let ip = if country == "CN" {
        "113.88.1.10"
    } else {
        "126.0.1.1"
    };
    IpInfo {
        ip: ip.parse().unwrap(),
        location: Location {
            country: Some(Country::new(country).unwrap()),
            region: Some(region.into()),
            city: Some(city.into()),
            coords: Some(Coords { lat, lon }),
            ..Location::default()
        },
        network: Network {
            asn: Some(asn),
            ..Network::default()
        },
        corrected: false,
    }
}

fn home() -> IpInfo {
    place("CN", "Guangdong", "Shenzhen", 22.54, 114.06, 4134)
}

fn tokyo() -> IpInfo {
    place("JP", "Tokyo", "Tokyo", 35.68, 139.69, 2516)
}

fn login(t: i64, ip: &str, device: &str) -> LoginAttempt {
    LoginAttempt::new(
        Timestamp(t),
        "alice",
        ip.parse().unwrap(),
        Protocol::Imap,
        Some(device),
        Some("Foxmail 7.2.25"),
    )
    .unwrap()
}

/// An engine that knows Alice at home: 30 days, twice a day.
fn engine(confirm_after_days: u16) -> Engine {
    let mut policy = Policy::default();
    policy.learning.confirm_after_days = confirm_after_days;
    let mut e = Engine::new(policy).unwrap();
    for d in 0..30 {
        for h in [9, 15] {
            let a = login(T0 + d * DAY + h * 3600, "113.88.1.10", "laptop");
            e.record(&a, &home(), Outcome::Success);
        }
    }
    e
}

/// Day 31 onwards in Tokyo: the login `n` hours after 09:00 on `day`.
fn in_tokyo(day: i64, hours: i64) -> LoginAttempt {
    login(
        T0 + (30 + day) * DAY + (9 + hours) * 3600,
        "126.0.1.1",
        "laptop",
    )
}

/// Records an untrusted success as the service does and answers the
/// assessment it had.
fn untrusted(e: &mut Engine, a: &LoginAttempt) -> warden_core::Assessment {
    let assessment = e.evaluate(a, &tokyo());
    let trust = Trust::of(&assessment, false);
    assert!(!trust.is_trusted(), "{assessment:?}");
    e.record_as(a, &tokyo(), Outcome::Success, None, trust);
    assessment
}

#[test]
fn untrusted_successes_teach_nothing_and_later_ones_keep_their_risk() {
    let mut e = engine(0);
    let before = e.profile("alice").unwrap().clone();
    let first = untrusted(&mut e, &in_tokyo(0, 0));
    assert_ne!(first.decision, Decision::Allow);
    for h in 1..5 {
        let again = untrusted(&mut e, &in_tokyo(h, 0));
        assert_eq!(again.decision, first.decision, "day {h}");
        assert!((again.risk - first.risk).abs() < 0.02, "day {h}");
    }
    let p = e.profile("alice").unwrap();
    assert_eq!(p.countries, before.countries);
    assert_eq!(p.cities, before.cities);
    assert_eq!(p.asns, before.asns);
    assert_eq!(p.hours, before.hours);
    assert_eq!(p.last_success, before.last_success, "no travel anchor");
    assert_eq!(p.logins, before.logins);
    assert_eq!(p.unconfirmed.len(), 1);
    assert_eq!((p.unconfirmed[0].logins, p.unconfirmed[0].days), (5, 5));

    // "Yes, it was me": learned; the next login from Tokyo is judged
    // against it, and the observation is gone.
    let confirmed = in_tokyo(5, 0);
    e.confirm(&confirmed, &tokyo());
    let p = e.profile("alice").unwrap();
    assert!(p.unconfirmed.is_empty());
    assert_eq!(p.countries.len(), 2);
    let next = e.evaluate(&in_tokyo(5, 1), &tokyo());
    assert!(next.risk < first.risk, "{} vs {}", next.risk, first.risk);
}

#[test]
fn a_passed_challenge_is_a_trusted_success() {
    let mut e = engine(0);
    let a = in_tokyo(0, 0);
    let assessment = e.evaluate(&a, &tokyo());
    assert_eq!(Trust::of(&assessment, true), Trust::Trusted);
    untrusted(&mut e, &in_tokyo(0, 1));
    e.record_as(&a, &tokyo(), Outcome::Success, None, Trust::Trusted);
    let p = e.profile("alice").unwrap();
    assert_eq!(p.countries.len(), 2);
    assert!(p.unconfirmed.is_empty(), "the trusted login took its place");
}

#[test]
fn separate_days_confirm_unless_an_attack_signal_or_a_not_me_flagged_it() {
    let mut e = engine(3);
    untrusted(&mut e, &in_tokyo(0, 0));
    untrusted(&mut e, &in_tokyo(0, 3));
    untrusted(&mut e, &in_tokyo(1, 0));
    assert_eq!(e.profile("alice").unwrap().countries.len(), 1, "two days");
    untrusted(&mut e, &in_tokyo(2, 0));
    let p = e.profile("alice").unwrap();
    assert_eq!(p.countries.len(), 2, "the third day confirms it");
    assert!(p.unconfirmed.is_empty());

    // With an attack signal, never on its own.
    let mut e = engine(3);
    for d in 0..5 {
        let a = in_tokyo(d, 0);
        e.record_as(
            &a,
            &tokyo(),
            Outcome::Success,
            None,
            Trust::Unconfirmed { attack: true },
        );
    }
    let p = e.profile("alice").unwrap();
    assert_eq!((p.countries.len(), p.unconfirmed[0].days), (1, 5));

    // Nor after a "not me".
    let mut e = engine(3);
    untrusted(&mut e, &in_tokyo(0, 0));
    assert_eq!(e.disown("alice", &tokyo()), 1);
    for d in 1..5 {
        untrusted(&mut e, &in_tokyo(d, 0));
    }
    assert_eq!(e.profile("alice").unwrap().countries.len(), 1);
}

#[test]
fn unconfirmed_observations_are_bounded_and_kept_in_snapshots() {
    let mut e = engine(0);
    for i in 0..12u8 {
        let info = place("JP", "Tokyo", "Tokyo", 35.68, 139.69, 5000 + u32::from(i));
        let a = login(T0 + 31 * DAY + i64::from(i) * 60, "126.0.1.1", "laptop");
        e.record_as(
            &a,
            &info,
            Outcome::Success,
            None,
            Trust::Unconfirmed { attack: false },
        );
    }
    let p = e.profile("alice").unwrap().clone();
    assert_eq!(
        p.unconfirmed.len(),
        warden_core::unconfirmed::MAX_UNCONFIRMED
    );
    let bytes = e.snapshot("alice").unwrap();
    let mut fresh = Engine::new(Policy::default()).unwrap();
    fresh.restore("alice".into(), &bytes).unwrap();
    assert_eq!(fresh.profile("alice").unwrap(), &p);
    assert_eq!(fresh.stats().profile_bytes, e.stats().profile_bytes);
}
