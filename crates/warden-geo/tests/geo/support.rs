//! Shared helpers: addresses, temp dirs and standard fixtures.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use warden_geo::mmdb_writer::{DbipFixture, MaxMindCity, MaxMindFixture};

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A small DB-IP database: Shenzhen and Tokyo on IPv4, Lagos and an
/// unknown-city record on IPv6.
pub fn dbip_fixture() -> DbipFixture {
    DbipFixture::new()
        .city(
            "1.2.3.0/24",
            "CN",
            "Guangdong",
            "Shenzhen",
            22.54,
            114.06,
            "Asia/Shanghai",
        )
        .city("1.2.4.0/22", "JP", "Tokyo", "Tokyo", 35.68, 139.69, "")
        .city(
            "1.2.4.128/25",
            "CN",
            "Jiangsu",
            "Suzhou (Kunshan Shi)",
            31.3,
            120.6,
            "",
        )
        .city(
            "2400:3200::/32",
            "CN",
            "Zhejiang",
            "Hangzhou",
            30.27,
            120.15,
            "Asia/Shanghai",
        )
        .city(
            "2c0f:f248::/32",
            "NG",
            "Lagos",
            "Lagos",
            6.45,
            3.39,
            "Africa/Lagos",
        )
        .city("2001:db8:ff::/48", "US", "", "", 37.75, -97.82, "")
        .build_epoch(1_780_666_922)
}

/// Writes [`dbip_fixture`] into `dir` under the standard names.
pub fn write_dbip(dir: &Path) -> (PathBuf, PathBuf) {
    dbip_fixture().write_pair(dir).unwrap()
}

pub const SHENZHEN_MM: MaxMindCity<'static> = MaxMindCity {
    country: "CN",
    region: "Guangdong",
    region_zh: Some("广东省"),
    city: "Shenzhen",
    city_zh: Some("深圳市"),
    lat: 22.5431,
    lon: 114.0579,
    accuracy_km: 20,
    time_zone: "Asia/Shanghai",
};

/// A small GeoLite2-City database covering both families.
pub fn maxmind_fixture() -> MaxMindFixture {
    MaxMindFixture::new()
        .city("1.2.3.0/24", SHENZHEN_MM)
        .city(
            "81.2.69.0/24",
            MaxMindCity {
                country: "GB",
                region: "England",
                city: "London",
                lat: 51.5142,
                lon: -0.0931,
                accuracy_km: 10,
                time_zone: "Europe/London",
                ..MaxMindCity::default()
            },
        )
        .city(
            "2c0f:f248::/32",
            MaxMindCity {
                country: "NG",
                region: "Lagos",
                city: "Lagos",
                lat: 6.4474,
                lon: 3.3903,
                accuracy_km: 100,
                time_zone: "Africa/Lagos",
                ..MaxMindCity::default()
            },
        )
        .city(
            "203.0.113.0/24",
            MaxMindCity {
                country: "AU",
                lat: -33.494,
                lon: 143.2104,
                accuracy_km: 1000,
                ..MaxMindCity::default()
            },
        )
        .build_epoch(1_700_000_000)
}

/// A small ASN table: gaps, a quoted organisation with a comma and
/// embedded quotes, an IPv6 range.
pub const ASN_V4_CSV: &str = "\
1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"
1.2.3.0,1.2.3.255,4134,Chinanet
1.2.4.0,1.2.7.255,16509,\"Amazon.com, Inc.\"
2.26.200.0,2.26.215.255,201907,\"LLC \"\"SPUTNIK\"\"\"
3.0.0.0,3.0.0.255,64500,
";

pub const ASN_V6_CSV: &str = "\
2001::,2001::ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC
2400:3200::,2400:3200:ffff:ffff:ffff:ffff:ffff:ffff,37963,\"Hangzhou Alibaba Advertising Co.,Ltd.\"
2c0f:f248::,2c0f:f248:ffff:ffff:ffff:ffff:ffff:ffff,37148,Globacom Limited
";

/// Writes the ASN CSVs into `dir` under the standard names.
pub fn write_asn(dir: &Path) -> (PathBuf, PathBuf) {
    let v4 = dir.join("asn-ipv4.csv");
    let v6 = dir.join("asn-ipv6.csv");
    std::fs::write(&v4, ASN_V4_CSV).unwrap();
    std::fs::write(&v6, ASN_V6_CSV).unwrap();
    (v4, v6)
}
