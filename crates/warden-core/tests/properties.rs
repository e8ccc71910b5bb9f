//! Properties of the engine over random histories: the risk stays in
//! `[0, 1]`, the decision follows the level, evaluation is pure, and
//! snapshots restore a profile exactly; the engine's running sizes equal a
//! walk over every profile; the anonymous evaluation (what may be said
//! before the password) is the same for a user with history and a stranger.

use proptest::prelude::*;
use warden_core::profile::PlaceCatalog;
use warden_core::{
    Coords, Country, Decision, Engine, FailureReason, IpInfo, Level, Location, LoginAttempt,
    Network, Outcome, Policy, Profile, Protocol, Timestamp, Trust,
};

const CITIES: [(&str, &str, &str, f32, f32); 6] = [
    ("CN", "Guangdong", "Shenzhen", 22.54, 114.06),
    ("CN", "Beijing", "Beijing", 39.90, 116.41),
    ("JP", "Tokyo", "Tokyo", 35.68, 139.65),
    ("GB", "England", "London", 51.51, -0.13),
    ("NG", "Lagos", "Lagos", 6.52, 3.38),
    ("US", "California", "San Jose", 37.34, -121.89),
];

#[derive(Debug, Clone)]
struct Ev {
    dt: i64,
    user: u8,
    city: usize,
    ip: u8,
    success: bool,
    device: u8,
    datacenter: bool,
}

fn ev() -> impl Strategy<Value = Ev> {
    (
        0i64..20_000,
        0u8..4,
        0usize..CITIES.len(),
        0u8..8,
        any::<bool>(),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(|(dt, user, city, ip, success, device, datacenter)| Ev {
            dt,
            user,
            city,
            ip,
            success,
            device,
            datacenter,
        })
}

fn attempt(e: &Ev, t: i64) -> (LoginAttempt, IpInfo) {
    let (c, r, city, lat, lon) = CITIES[e.city];
    let ip = format!("10.{}.0.{}", e.city, e.ip).parse().unwrap();
    let info = IpInfo {
        ip,
        location: Location {
            country: Some(Country::new(c).unwrap()),
            region: Some(r.into()),
            city: Some(city.into()),
            coords: Some(Coords { lat, lon }),
            ..Location::default()
        },
        network: Network {
            asn: Some(e.city as u32 + 100),
            datacenter: e.datacenter,
            ..Network::default()
        },
        corrected: false,
    };
    let a = LoginAttempt::new(
        Timestamp(t),
        &format!("u{}", e.user),
        ip,
        Protocol::Imap,
        Some(&format!("d{}", e.device)),
        None,
    )
    .unwrap();
    (a, info)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn risk_is_bounded_and_decisions_follow_levels(events in proptest::collection::vec(ev(), 1..120)) {
        let mut engine = Engine::new(Policy::default()).unwrap();
        let mut t = 1_750_000_000i64;
        for e in &events {
            t += e.dt;
            let (a, info) = attempt(e, t);
            let first = engine.evaluate(&a, &info);
            prop_assert_eq!(&first, &engine.evaluate(&a, &info));
            prop_assert!((0.0..=1.0).contains(&first.risk));
            match first.level {
                Level::High => prop_assert_eq!(first.decision, Decision::Deny),
                Level::Medium => prop_assert_eq!(first.decision, Decision::Challenge),
                Level::Low => prop_assert_eq!(first.decision, Decision::Allow),
            }
            for r in &first.reasons {
                prop_assert!(!r.text_en(480).is_empty() && !r.text_zh(480).is_empty());
            }
            let outcome = if e.success { Outcome::Success } else { Outcome::Failure(FailureReason::WrongPassword) };
            // Learned under the trust rule (a challenge passed now and
            // then, a confirmation now and then): the sizes stay right
            // whichever way a success is kept.
            let trust = Trust::of(&first, e.device % 3 == 0);
            engine.record_as(&a, &info, outcome, None, trust);
            if e.success && e.dt % 5 == 0 {
                engine.confirm(&a, &info);
            }
            if e.dt % 7 == 0 {
                engine.disown(&a.user, &info);
            }
            let walked: usize = engine
                .profiles()
                .map(|(_, p)| std::mem::size_of::<Profile>() + p.heap_bytes())
                .sum();
            prop_assert_eq!(engine.stats().profile_bytes, walked);
            let signals = engine.signals(&a.user, a.ip, a.ts);
            let stranger = LoginAttempt::new(a.ts, "nobody-at-all", a.ip, a.protocol, a.device.as_deref(), None).unwrap();
            let s2 = engine.signals(&stranger.user, a.ip, a.ts);
            if signals == s2 {
                prop_assert_eq!(
                    engine.evaluate_anonymous(&a, &info, &signals),
                    engine.evaluate_anonymous(&stranger, &info, &s2)
                );
            }
        }
        // Restoring every profile into a new engine gives the same sizes.
        let mut restored = Engine::new(Policy::default()).unwrap();
        for u in 0..4u8 {
            let user = format!("u{u}");
            if let Some(bytes) = engine.snapshot(&user) {
                restored.restore(user.as_str().into(), &bytes).unwrap();
                restored.restore(user.as_str().into(), &bytes).unwrap();
            }
        }
        let walked: usize = restored
            .profiles()
            .map(|(_, p)| std::mem::size_of::<Profile>() + p.heap_bytes())
            .sum();
        prop_assert_eq!(restored.stats().profile_bytes, walked);
        // Every profile survives a snapshot round trip and answers the same.
        for u in 0..4u8 {
            let user = format!("u{u}");
            if let Some(bytes) = engine.snapshot(&user) {
                let mut catalog = PlaceCatalog::default();
                let back = Profile::from_snapshot(&bytes, &mut catalog).unwrap();
                prop_assert_eq!(&back, engine.profile(&user).unwrap());
            }
        }
    }
}
