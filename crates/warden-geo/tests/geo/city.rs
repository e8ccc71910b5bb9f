//! City databases of both schemas, read through the writer's fixtures.

use std::sync::Arc;

use warden_core::{Coords, Country};
use warden_geo::mmdb_writer::{dbip_record, MmdbWriter, Value};
use warden_geo::{CityDb, CitySchema, GeoError, IpIntel};

use crate::support::*;

#[test]
fn dbip_ipv4_record_maps_to_location() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());
    let db = CityDb::open_dbip(&v4, &v6).unwrap();
    let loc = db.lookup(ip("1.2.3.77")).unwrap();
    assert_eq!(loc.country, Some(Country::new("CN").unwrap()));
    assert_eq!(loc.region.as_deref(), Some("Guangdong"));
    assert_eq!(loc.city.as_deref(), Some("Shenzhen"));
    assert_eq!(loc.region_zh.as_deref(), Some("广东"));
    assert_eq!(loc.city_zh.as_deref(), Some("深圳"));
    assert_eq!(loc.time_zone.as_deref(), Some("Asia/Shanghai"));
    assert_eq!(loc.accuracy_km, None);
    let c = loc.coords.unwrap();
    assert!(
        (c.lat - 22.54).abs() < 1e-4 && (c.lon - 114.06).abs() < 1e-4,
        "{c:?}"
    );
}

#[test]
fn dbip_more_specific_network_and_district_names() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());
    let db = CityDb::open_dbip(&v4, &v6).unwrap();
    let tokyo = db.lookup(ip("1.2.5.1")).unwrap();
    assert_eq!(tokyo.city.as_deref(), Some("Tokyo"));
    assert_eq!(tokyo.city_zh.as_deref(), Some("东京"));
    // DB-IP's empty strings mean "unknown".
    assert_eq!(tokyo.time_zone, None);
    let kunshan = db.lookup(ip("1.2.4.200")).unwrap();
    // The district is dropped: one city is one place for the profiles.
    assert_eq!(kunshan.city.as_deref(), Some("Suzhou"));
    assert_eq!(kunshan.city_zh.as_deref(), Some("苏州"));
    assert_eq!(kunshan.region_zh.as_deref(), Some("江苏"));
}

#[test]
fn dbip_ipv6_and_mapped_addresses() {
    let dir = tempdir();
    write_dbip(dir.path());
    let intel = IpIntel::from_dir(dir.path()).unwrap();
    let hz = intel.lookup(ip("2400:3200::1"));
    assert_eq!(hz.location.city.as_deref(), Some("Hangzhou"));
    assert_eq!(hz.location.city_zh.as_deref(), Some("杭州"));
    let lagos = intel.lookup(ip("2c0f:f248:1::9"));
    assert_eq!(lagos.location.city_zh.as_deref(), Some("拉各斯"));
    assert_eq!(lagos.location.country.unwrap().as_str(), "NG");
    // A record without region or city still has country and coordinates.
    let us = intel.lookup(ip("2001:db8:ff::1"));
    assert_eq!(us.location.country.unwrap().as_str(), "US");
    assert_eq!(us.location.city, None);
    assert_eq!(us.location.region, None);
    assert!(us.location.coords.is_some());
    // IPv4-mapped IPv6 is looked up in the IPv4 file.
    let mapped = intel.lookup(ip("::ffff:1.2.3.4"));
    assert_eq!(mapped.ip, ip("1.2.3.4"));
    assert_eq!(mapped.location.city.as_deref(), Some("Shenzhen"));
}

#[test]
fn addresses_not_in_the_database_give_an_empty_location() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());
    let db = CityDb::open_dbip(&v4, &v6).unwrap();
    for a in [
        "1.2.2.255",
        "1.2.8.0",
        "10.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "::1",
        "2401::1",
        "fe80::1",
    ] {
        let loc = db.lookup(ip(a)).unwrap();
        assert!(loc.is_unknown(), "{a}: {loc:?}");
        assert_eq!(loc, Default::default(), "{a}");
    }
    // Boundaries of 1.2.3.0/24.
    assert!(db.lookup(ip("1.2.3.0")).unwrap().city.is_some());
    assert!(db.lookup(ip("1.2.3.255")).unwrap().city.is_some());
}

#[test]
fn names_are_interned_across_lookups() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());
    let db = CityDb::open_dbip(&v4, &v6).unwrap();
    let a = db.lookup(ip("1.2.3.1")).unwrap();
    let b = db.lookup(ip("1.2.3.200")).unwrap();
    assert!(Arc::ptr_eq(
        a.city.as_ref().unwrap(),
        b.city.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        a.region.as_ref().unwrap(),
        b.region.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        a.city_zh.as_ref().unwrap(),
        b.city_zh.as_ref().unwrap()
    ));
    // Different records (other coordinates) share the name allocations.
    let f = dbip_fixture().city("5.6.7.0/24", "CN", "Guangdong", "Shenzhen", 22.6, 114.1, "");
    let other = tempdir();
    let (o4, o6) = f.write_pair(other.path()).unwrap();
    let db2 = CityDb::open_dbip(&o4, &o6).unwrap();
    let x = db2.lookup(ip("1.2.3.1")).unwrap();
    let y = db2.lookup(ip("5.6.7.1")).unwrap();
    assert_ne!(x.coords, y.coords);
    assert!(Arc::ptr_eq(
        x.city.as_ref().unwrap(),
        y.city.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        x.region.as_ref().unwrap(),
        y.region.as_ref().unwrap()
    ));
    let before = db.interned_names();
    for _ in 0..100 {
        db.lookup(ip("1.2.3.9")).unwrap();
    }
    assert_eq!(db.interned_names(), before);
}

#[test]
fn maxmind_city_with_chinese_names_and_accuracy() {
    let dir = tempdir();
    let path = dir.path().join("GeoLite2-City.mmdb");
    maxmind_fixture().write(&path).unwrap();
    let db = CityDb::open_maxmind(&path).unwrap();
    assert_eq!(db.files()[0].schema, CitySchema::MaxMind);
    assert_eq!(db.files().len(), 1);
    let loc = db.lookup(ip("1.2.3.4")).unwrap();
    assert_eq!(loc.country.unwrap().as_str(), "CN");
    assert_eq!(loc.region.as_deref(), Some("Guangdong"));
    // The database's own zh-CN names win over Warden's table.
    assert_eq!(loc.region_zh.as_deref(), Some("广东省"));
    assert_eq!(loc.city_zh.as_deref(), Some("深圳市"));
    assert_eq!(loc.accuracy_km, Some(20));
    assert_eq!(loc.time_zone.as_deref(), Some("Asia/Shanghai"));
    assert_eq!(
        loc.coords,
        Some(Coords {
            lat: 22.5431,
            lon: 114.0579
        })
    );
    // No zh-CN in the record: Warden's table fills in.
    let london = db.lookup(ip("81.2.69.160")).unwrap();
    assert_eq!(london.city_zh.as_deref(), Some("伦敦"));
    assert_eq!(london.region_zh, None);
    assert_eq!(london.accuracy_km, Some(10));
    // Country-level record.
    let au = db.lookup(ip("203.0.113.1")).unwrap();
    assert_eq!(au.country.unwrap().as_str(), "AU");
    assert_eq!((au.city, au.region), (None, None));
    assert_eq!(au.accuracy_km, Some(1000));
}

#[test]
fn maxmind_one_file_serves_ipv4_ipv6_and_mapped() {
    let dir = tempdir();
    let path = dir.path().join("GeoIP2-City.mmdb");
    maxmind_fixture()
        .database_type("GeoIP2-City")
        .write(&path)
        .unwrap();
    let intel = IpIntel::builder().maxmind(&path).build().unwrap();
    assert_eq!(
        intel.lookup(ip("2c0f:f248::1")).location.city.as_deref(),
        Some("Lagos")
    );
    assert_eq!(
        intel
            .lookup(ip("::ffff:81.2.69.1"))
            .location
            .city
            .as_deref(),
        Some("London")
    );
    assert_eq!(
        intel.lookup(ip("81.2.69.1")).location.city.as_deref(),
        Some("London")
    );
    assert!(intel.lookup(ip("81.2.70.1")).location.is_unknown());
    assert!(intel.lookup(ip("2a00::1")).location.is_unknown());
}

#[test]
fn schema_is_detected_and_can_be_overridden() {
    let dir = tempdir();
    let custom = dir.path().join("custom.mmdb");
    let mut w = MmdbWriter::new("Acme-Geo", 4);
    w.insert(
        "192.0.2.0/24".parse().unwrap(),
        dbip_record(
            "DE",
            "Hesse",
            "Frankfurt am Main",
            50.11,
            8.68,
            "Europe/Berlin",
        ),
    );
    w.write(&custom).unwrap();
    let err = CityDb::open_single(&custom, None).unwrap_err();
    assert!(
        matches!(err, GeoError::UnknownSchema { ref database_type, .. } if database_type == "Acme-Geo")
    );
    assert!(err.to_string().contains("custom.mmdb"), "{err}");

    let db = CityDb::open_single(&custom, Some(CitySchema::DbIp)).unwrap();
    let loc = db.lookup(ip("192.0.2.1")).unwrap();
    assert_eq!(loc.city_zh.as_deref(), Some("法兰克福"));
    // An IPv4-only file answers nothing for IPv6.
    assert!(db.lookup(ip("2001:db8::1")).unwrap().is_unknown());

    let intel = IpIntel::builder()
        .maxmind(&custom)
        .city_schema(CitySchema::DbIp)
        .build()
        .unwrap();
    assert_eq!(
        intel.lookup(ip("192.0.2.9")).location.city.as_deref(),
        Some("Frankfurt am Main")
    );
}

#[test]
fn dbip_files_of_the_wrong_family_are_rejected() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());
    let err = CityDb::open_dbip(&v6, &v4).unwrap_err();
    assert!(
        matches!(
            err,
            GeoError::IpVersion {
                expected: 4,
                found: 6,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn corrupt_or_missing_database_files_are_clear_errors() {
    let dir = tempdir();
    let (v4, v6) = write_dbip(dir.path());

    let garbage = dir.path().join("garbage.mmdb");
    std::fs::write(&garbage, b"this is not a database").unwrap();
    let err = CityDb::open_dbip(&garbage, &v6).unwrap_err();
    assert!(matches!(err, GeoError::Mmdb { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("garbage.mmdb") && msg.contains("not a valid MaxMind DB"),
        "{msg}"
    );

    // Truncated: the metadata marker survives but the tree does not.
    let bytes = std::fs::read(&v4).unwrap();
    let marker = bytes
        .windows(14)
        .rposition(|w| w == b"\xAB\xCD\xEFMaxMind.com")
        .unwrap();
    let mut truncated = bytes[marker..].to_vec();
    truncated.splice(0..0, [0u8; 3]);
    let cut = dir.path().join("cut.mmdb");
    std::fs::write(&cut, &truncated).unwrap();
    let err = CityDb::open_dbip(&cut, &v6).unwrap_err();
    assert!(matches!(err, GeoError::Mmdb { .. }), "{err:?}");

    let err = CityDb::open_dbip(dir.path().join("nope.mmdb"), &v6).unwrap_err();
    assert!(matches!(err, GeoError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.mmdb"));
}

#[test]
fn a_corrupt_record_is_counted_not_fatal() {
    let dir = tempdir();
    let path = dir.path().join("odd.mmdb");
    let mut w = MmdbWriter::new("city ipv4", 4);
    // latitude is a map: decoding the record fails.
    w.insert(
        "192.0.2.0/24".parse().unwrap(),
        Value::map([
            ("country_code", Value::from("FR")),
            ("latitude", Value::map([("x", Value::U16(1))])),
        ]),
    );
    w.insert(
        "198.51.100.0/24".parse().unwrap(),
        dbip_record("FR", "", "Paris", 48.85, 2.35, ""),
    );
    w.write(&path).unwrap();
    let db = CityDb::open_single(&path, None).unwrap();
    let err = db.lookup(ip("192.0.2.1")).unwrap_err();
    assert!(err.to_string().contains("odd.mmdb"), "{err}");

    let intel = IpIntel::builder().maxmind(&path).build().unwrap();
    assert!(intel.lookup(ip("192.0.2.1")).location.is_unknown());
    assert_eq!(
        intel.lookup(ip("198.51.100.1")).location.city_zh.as_deref(),
        Some("巴黎")
    );
    assert_eq!(intel.describe().lookup_errors, 1);
}

#[test]
fn lenient_numbers_and_odd_values() {
    let dir = tempdir();
    let path = dir.path().join("nums.mmdb");
    let mut w = MmdbWriter::new("city ipv4", 4);
    let rec = |lat: Value, lon: Value| {
        Value::map([
            ("country_code", Value::from("BR")),
            ("latitude", lat),
            ("longitude", lon),
        ])
    };
    w.insert(
        "10.0.0.0/24".parse().unwrap(),
        rec(Value::Double(-23.5), Value::Double(-46.6)),
    );
    w.insert(
        "10.0.1.0/24".parse().unwrap(),
        rec(Value::from("-23.5"), Value::from("-46.6")),
    );
    w.insert(
        "10.0.2.0/24".parse().unwrap(),
        rec(Value::Double(123.0), Value::Double(0.0)),
    );
    w.insert(
        "10.0.3.0/24".parse().unwrap(),
        Value::map([("country_code", Value::from("ZZ"))]),
    );
    w.write(&path).unwrap();
    let db = CityDb::open_single(&path, None).unwrap();
    let want = Some(Coords {
        lat: -23.5,
        lon: -46.6,
    });
    assert_eq!(db.lookup(ip("10.0.0.1")).unwrap().coords, want);
    assert_eq!(db.lookup(ip("10.0.1.1")).unwrap().coords, want);
    // Out-of-range latitude is dropped, the country kept.
    let bad = db.lookup(ip("10.0.2.1")).unwrap();
    assert_eq!(
        (bad.coords, bad.country.map(|c| c.to_string())),
        (None, Some("BR".into()))
    );
    assert_eq!(db.lookup(ip("10.0.3.1")).unwrap().country, None);
}
