//! The MMDB writer, checked through the `maxminddb` reader.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use maxminddb::Reader;
use warden_geo::mmdb_writer::{parse_net, DbipFixture, MmdbWriter, Value, WriterError};

/// A small deterministic generator (no extra dependencies).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }
}

/// Reference answer: the value of the longest network containing `ip`.
fn reference(entries: &[(IpNet, u32)], ip: IpAddr) -> Option<u32> {
    entries
        .iter()
        .filter(|(n, _)| n.contains(&ip))
        .max_by_key(|(n, _)| n.prefix_len())
        .map(|(_, v)| *v)
}

fn check_random_tree(ip_version: u8, record_size: u16, seed: u64) {
    let mut rng = Lcg(seed);
    let mut entries: Vec<(IpNet, u32)> = Vec::new();
    // Clustered networks so that many nest inside each other.
    for i in 0..300u32 {
        let net = if ip_version == 4 || i % 3 == 0 {
            let a = Ipv4Addr::from(0x0A00_0000 | (rng.next() as u32 & 0x00FF_FFFF));
            IpNet::new(IpAddr::V4(a), 8 + (rng.next() % 25) as u8).unwrap()
        } else {
            let a = Ipv6Addr::from((0x2001_0db8u128 << 96) | (u128::from(rng.next()) << 32));
            IpNet::new(IpAddr::V6(a), 32 + (rng.next() % 97) as u8).unwrap()
        };
        entries.push((net.trunc(), i));
    }
    // Identical networks: the last one given wins (stable sort by length).
    let dedup: BTreeMap<IpNet, u32> = entries.iter().copied().collect();
    let entries: Vec<(IpNet, u32)> = dedup.into_iter().collect();

    // (The strict verifier wants a non-empty description; the spec does not.)
    let mut w = MmdbWriter::new("Warden-Test", ip_version)
        .record_size(record_size)
        .description("en", "random tree");
    for (net, v) in &entries {
        w.insert(
            *net,
            Value::map([("v", Value::U32(*v)), ("tag", Value::from("shared tag"))]),
        );
    }
    let reader = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    assert_eq!(reader.metadata().record_size, record_size);
    reader
        .verify()
        .expect("the strict verifier accepts the file");

    #[derive(serde::Deserialize)]
    struct Rec {
        v: u32,
    }
    for (k, (net, _)) in entries.iter().enumerate() {
        // Probe each network's first and last address, and a random one.
        let probes = match net {
            IpNet::V4(n) => vec![
                IpAddr::V4(n.network()),
                IpAddr::V4(n.broadcast()),
                IpAddr::V4(Ipv4Addr::from(
                    0x0A00_0000 | (rng.next() as u32 & 0x00FF_FFFF),
                )),
            ],
            IpNet::V6(n) => vec![
                IpAddr::V6(n.network()),
                IpAddr::V6(n.broadcast()),
                IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8u128 << 96) | (u128::from(rng.next()) << 32),
                )),
            ],
        };
        for probe in probes {
            let got = reader
                .lookup(probe)
                .unwrap()
                .decode::<Rec>()
                .unwrap()
                .map(|r| r.v);
            assert_eq!(got, reference(&entries, probe), "entry {k} probe {probe}");
        }
    }
}

#[test]
fn random_trees_match_a_reference_longest_prefix_match() {
    for (version, size, seed) in [
        (4, 24, 1),
        (4, 28, 2),
        (4, 32, 3),
        (6, 24, 4),
        (6, 28, 5),
        (6, 32, 6),
    ] {
        check_random_tree(version, size, seed);
    }
}

#[test]
fn metadata_is_written_as_specified() {
    let w = MmdbWriter::new("GeoLite2-City", 6)
        .languages(["en", "zh-CN"])
        .description("en", "test")
        .build_epoch(1_234_567_890);
    let reader = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    let m = reader.metadata();
    assert_eq!(m.binary_format_major_version, 2);
    assert_eq!(m.binary_format_minor_version, 0);
    assert_eq!(m.database_type, "GeoLite2-City");
    assert_eq!(m.ip_version, 6);
    assert_eq!(m.languages, vec!["en".to_string(), "zh-CN".to_string()]);
    assert_eq!(m.description.get("en").map(String::as_str), Some("test"));
    assert_eq!(m.build_epoch, 1_234_567_890);
    assert_eq!(m.record_size, 24);
    // An empty database still has its root node.
    assert_eq!(m.node_count, 1);
    reader.verify().unwrap();
}

#[test]
fn all_value_types_round_trip() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct All<'a> {
        s: &'a str,
        long: String,
        d: f64,
        f: f32,
        a: u16,
        b: u32,
        c: u64,
        t: bool,
        no: bool,
        list: Vec<u16>,
        nested: BTreeMap<&'a str, &'a str>,
    }
    let long = "x".repeat(70_000);
    let v = Value::map([
        ("s", Value::from("short")),
        ("long", Value::from(long.as_str())),
        ("d", Value::Double(-0.125)),
        ("f", Value::Float(1.5)),
        ("a", Value::U16(65_535)),
        ("b", Value::U32(0)),
        ("c", Value::U64(u64::MAX)),
        ("t", Value::Bool(true)),
        ("no", Value::Bool(false)),
        ("list", Value::Array(vec![Value::U16(1), Value::U16(300)])),
        ("nested", Value::map([("k", Value::from("short"))])),
    ]);
    let mut w = MmdbWriter::new("Warden-Test", 4).description("en", "all types");
    w.insert("0.0.0.0/0".parse().unwrap(), v);
    let reader = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    reader.verify().unwrap();
    let got: All<'_> = reader
        .lookup("9.9.9.9".parse().unwrap())
        .unwrap()
        .decode()
        .unwrap()
        .unwrap();
    assert_eq!(got.s, "short");
    assert_eq!(got.long.len(), 70_000);
    assert_eq!(
        (got.d, got.f, got.a, got.b, got.c),
        (-0.125, 1.5, 65_535, 0, u64::MAX)
    );
    assert!(got.t && !got.no);
    assert_eq!(got.list, vec![1, 300]);
    assert_eq!(got.nested.get("k"), Some(&"short"));
}

#[test]
fn ipv4_networks_live_in_the_ipv4_subtree_of_an_ipv6_database() {
    let mut w = MmdbWriter::new("GeoLite2-City", 6);
    w.insert("192.0.2.0/24".parse().unwrap(), Value::from("v4"));
    w.insert("2001:db8::/32".parse().unwrap(), Value::from("v6"));
    let reader = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    let s = |a: &str| -> Option<String> {
        reader
            .lookup(a.parse().unwrap())
            .unwrap()
            .decode::<String>()
            .unwrap()
    };
    assert_eq!(s("192.0.2.1").as_deref(), Some("v4"));
    assert_eq!(s("::192.0.2.1").as_deref(), Some("v4"));
    assert_eq!(s("2001:db8::1").as_deref(), Some("v6"));
    // No ::ffff:0:0/96 alias is written (callers normalise mapped addresses).
    assert_eq!(s("::ffff:192.0.2.1"), None);
}

#[test]
fn writer_errors() {
    assert!(matches!(
        parse_net("1.2.3.0/33"),
        Err(WriterError::BadNetwork(_))
    ));
    assert_eq!(
        parse_net("10.0.0.1").unwrap(),
        "10.0.0.1/32".parse::<IpNet>().unwrap()
    );

    let mut w = MmdbWriter::new("city ipv4", 4);
    w.insert("2001:db8::/32".parse().unwrap(), Value::U16(1));
    assert!(matches!(
        w.to_bytes(),
        Err(WriterError::WrongFamily { ip_version: 4, .. })
    ));
    assert!(matches!(
        MmdbWriter::new("x", 5).to_bytes(),
        Err(WriterError::BadIpVersion(5))
    ));
    assert!(matches!(
        MmdbWriter::new("x", 4).record_size(20).to_bytes(),
        Err(WriterError::BadRecordSize(20))
    ));
    let bad = DbipFixture::new().city("300.1.1.0/24", "CN", "", "", 0.0, 0.0, "");
    assert!(matches!(bad.to_bytes_v4(), Err(WriterError::BadNetwork(_))));
    let dir = crate::support::tempdir();
    let err = DbipFixture::new()
        .write_v4(dir.path().join("no/such/dir/x.mmdb"))
        .unwrap_err();
    assert!(err.to_string().contains("x.mmdb"), "{err}");
}

#[test]
fn identical_records_and_strings_are_stored_once() {
    let one = DbipFixture::new().city(
        "10.0.0.0/24",
        "CN",
        "Guangdong",
        "Shenzhen",
        22.5,
        114.0,
        "",
    );
    let many = (1..50).fold(one.clone(), |f, i| {
        f.city(
            &format!("10.0.{i}.0/24"),
            "CN",
            "Guangdong",
            "Shenzhen",
            22.5,
            114.0,
            "",
        )
    });
    let a = one.to_bytes_v4().unwrap();
    let b = many.to_bytes_v4().unwrap();
    // Only search-tree nodes are added, no data.
    let data_len = |bytes: &[u8]| {
        let r = Reader::from_source(bytes.to_vec()).unwrap();
        let tree = r.metadata().node_count as usize * 6 + 16;
        bytes.len() - tree
    };
    assert_eq!(data_len(&a), data_len(&b));
}
