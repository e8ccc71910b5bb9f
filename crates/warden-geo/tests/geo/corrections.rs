//! Admin geolocation corrections.

use std::sync::Arc;

use warden_core::{Country, GeoCorrection, Location, Timestamp};
use warden_geo::IpIntel;

use crate::support::*;

fn correction(net: &str, city: &str, at: i64) -> GeoCorrection {
    GeoCorrection {
        network: net.parse().unwrap(),
        location: Location {
            country: Some(Country::new("CN").unwrap()),
            region: Some(Arc::from("Guangdong")),
            city: Some(Arc::from(city)),
            ..Location::default()
        },
        note: Some("reported by user".into()),
        created_at: Timestamp::from_secs(at),
    }
}

fn intel_with(dir: &std::path::Path, corrections: Vec<GeoCorrection>) -> IpIntel {
    write_dbip(dir);
    IpIntel::builder()
        .data_dir(dir)
        .corrections(corrections)
        .build()
        .unwrap()
}

#[test]
fn a_correction_wins_over_the_database() {
    let dir = tempdir();
    let intel = intel_with(dir.path(), vec![correction("1.2.3.0/28", "Dongguan", 1)]);
    let fixed = intel.lookup(ip("1.2.3.5"));
    assert!(fixed.corrected);
    assert_eq!(fixed.location.city.as_deref(), Some("Dongguan"));
    // The whole location is replaced, not merged.
    assert_eq!(fixed.location.coords, None);
    assert_eq!(fixed.location.time_zone, None);
    // Outside the corrected /28 the database answers.
    let db = intel.lookup(ip("1.2.3.16"));
    assert!(!db.corrected);
    assert_eq!(db.location.city.as_deref(), Some("Shenzhen"));
    // Mapped addresses hit IPv4 corrections.
    assert!(intel.lookup(ip("::ffff:1.2.3.1")).corrected);
}

#[test]
fn the_longest_prefix_wins_among_corrections() {
    let dir = tempdir();
    let intel = intel_with(
        dir.path(),
        vec![
            correction("1.2.3.0/30", "Narrow", 1),
            correction("1.2.0.0/16", "Wide", 2),
            correction("1.2.3.0/24", "Middle", 3),
            correction("2400:3200::/48", "V6", 4),
        ],
    );
    let city = |a: &str| intel.lookup(ip(a)).location.city;
    assert_eq!(city("1.2.3.2").as_deref(), Some("Narrow"));
    assert_eq!(city("1.2.3.4").as_deref(), Some("Middle"));
    assert_eq!(city("1.2.200.1").as_deref(), Some("Wide"));
    assert_eq!(city("2400:3200::1").as_deref(), Some("V6"));
    assert_eq!(city("2400:3200:1::1").as_deref(), Some("Hangzhou"));
    // A correction also covers addresses the database does not know.
    assert_eq!(city("1.2.250.1").as_deref(), Some("Wide"));
}

#[test]
fn corrections_can_be_replaced_at_runtime() {
    let dir = tempdir();
    let intel = intel_with(dir.path(), vec![correction("1.2.3.0/24", "Before", 1)]);
    assert_eq!(intel.describe().corrections, 1);
    assert_eq!(
        intel.lookup(ip("1.2.3.1")).location.city.as_deref(),
        Some("Before")
    );

    intel.set_corrections(vec![
        correction("1.2.3.0/24", "After", 2),
        correction("2c0f:f248::/32", "Ikeja", 3),
    ]);
    assert_eq!(
        intel.lookup(ip("1.2.3.1")).location.city.as_deref(),
        Some("After")
    );
    assert_eq!(
        intel.lookup(ip("2c0f:f248::1")).location.city.as_deref(),
        Some("Ikeja")
    );
    assert_eq!(intel.describe().corrections, 2);

    intel.set_corrections(Vec::new());
    let back = intel.lookup(ip("1.2.3.1"));
    assert!(!back.corrected);
    assert_eq!(back.location.city.as_deref(), Some("Shenzhen"));
}

#[test]
fn replacing_corrections_while_other_threads_look_up() {
    let dir = tempdir();
    let intel = Arc::new(intel_with(dir.path(), Vec::new()));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let intel = Arc::clone(&intel);
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    let info = intel.lookup(ip("1.2.3.1"));
                    let city = info
                        .location
                        .city
                        .as_deref()
                        .unwrap_or_default()
                        .to_string();
                    assert!(
                        (info.corrected && city.starts_with("Gen"))
                            || (!info.corrected && city == "Shenzhen"),
                        "{info:?}"
                    );
                }
            })
        })
        .collect();
    for g in 0..50 {
        intel.set_corrections(vec![correction("1.2.3.0/24", &format!("Gen{g}"), g)]);
    }
    for r in readers {
        r.join().unwrap();
    }
}
