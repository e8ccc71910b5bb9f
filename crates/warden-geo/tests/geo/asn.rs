//! ASN ranges from the `@ip-location-db/asn` CSV format.

use warden_geo::{AsnTable, GeoError, LineError};

use crate::support::*;

fn table() -> AsnTable {
    let dir = tempdir();
    let (v4, v6) = write_asn(dir.path());
    AsnTable::load(Some(&v4), Some(&v6)).unwrap()
}

fn asn_of(t: &AsnTable, a: &str) -> Option<u32> {
    t.lookup(ip(a)).map(|i| i.asn)
}

#[test]
fn range_boundaries_and_gaps() {
    let t = table();
    // First and last address of a range.
    assert_eq!(asn_of(&t, "1.0.0.0"), Some(13335));
    assert_eq!(asn_of(&t, "1.0.0.255"), Some(13335));
    // Just outside, in the gap before the next range.
    assert_eq!(asn_of(&t, "1.0.1.0"), None);
    assert_eq!(asn_of(&t, "1.2.2.255"), None);
    assert_eq!(asn_of(&t, "1.2.3.0"), Some(4134));
    assert_eq!(asn_of(&t, "1.2.7.255"), Some(16509));
    assert_eq!(asn_of(&t, "1.2.8.0"), None);
    // Before the first and after the last range.
    assert_eq!(asn_of(&t, "0.255.255.255"), None);
    assert_eq!(asn_of(&t, "255.255.255.255"), None);
}

#[test]
fn ipv6_ranges() {
    let t = table();
    assert_eq!(asn_of(&t, "2001::"), Some(6939));
    assert_eq!(
        asn_of(&t, "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"),
        Some(6939)
    );
    assert_eq!(asn_of(&t, "2001:1::"), None);
    assert_eq!(asn_of(&t, "2400:3200::1"), Some(37963));
    assert_eq!(asn_of(&t, "2400:3201::"), None);
    assert_eq!(asn_of(&t, "::"), None);
    assert_eq!(asn_of(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), None);
    // IPv4 is never answered from the IPv6 table.
    assert_eq!(t.stats().v6_ranges, 3);
}

#[test]
fn quoted_organisations_are_unquoted_and_shared() {
    let t = table();
    let cf = t.lookup(ip("1.0.0.1")).unwrap();
    assert_eq!(cf.organisation.as_deref(), Some("Cloudflare, Inc."));
    let sputnik = t.lookup(ip("2.26.201.1")).unwrap();
    assert_eq!(sputnik.organisation.as_deref(), Some("LLC \"SPUTNIK\""));
    let ali = t.lookup(ip("2400:3200::8")).unwrap();
    assert_eq!(
        ali.organisation.as_deref(),
        Some("Hangzhou Alibaba Advertising Co.,Ltd.")
    );
    // An empty organisation is absent, the ASN still known.
    let anon = t.lookup(ip("3.0.0.1")).unwrap();
    assert_eq!((anon.asn, anon.organisation), (64500, None));
    // The same organisation on two lookups is one allocation.
    let a = t.lookup(ip("1.2.4.1")).unwrap().organisation.unwrap();
    let b = t.lookup(ip("1.2.7.1")).unwrap().organisation.unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert_eq!(t.stats().organisations, 7);
}

#[test]
fn overlapping_ranges_are_resolved_more_specific_first() {
    // As in the real file: a wide range overlapped by a later one.
    let v4 = "\
10.0.0.0,10.255.255.255,100,Outer
10.1.0.0,10.1.255.255,200,Inner
10.5.0.0,11.0.0.255,300,Straddling
";
    let t = AsnTable::from_csv(v4, "", "mem.csv").unwrap();
    assert_eq!(asn_of(&t, "10.0.0.1"), Some(100));
    assert_eq!(asn_of(&t, "10.1.2.3"), Some(200));
    assert_eq!(asn_of(&t, "10.2.0.0"), Some(100));
    assert_eq!(asn_of(&t, "10.5.0.0"), Some(300));
    assert_eq!(asn_of(&t, "10.255.255.255"), Some(300));
    assert_eq!(asn_of(&t, "11.0.0.255"), Some(300));
    assert_eq!(asn_of(&t, "11.0.1.0"), None);
    assert_eq!(t.stats().overlaps_resolved, 2);
}

#[test]
fn crlf_line_endings_and_blank_lines_are_accepted() {
    let v4 = "10.0.0.0,10.0.0.255,1,\"A, Inc.\"\r\n\r\n20.0.0.0,20.0.0.255,2,B\r\n";
    let t = AsnTable::from_csv(v4, "", "mem.csv").unwrap();
    assert_eq!(
        t.lookup(ip("10.0.0.1")).unwrap().organisation.as_deref(),
        Some("A, Inc.")
    );
    assert_eq!(
        t.lookup(ip("20.0.0.1")).unwrap().organisation.as_deref(),
        Some("B")
    );
    assert_eq!(t.stats().v4_ranges, 2);
}

#[test]
fn unsorted_input_is_sorted() {
    let v4 = "20.0.0.0,20.0.0.255,2,B\n10.0.0.0,10.0.0.255,1,A\n";
    let t = AsnTable::from_csv(v4, "", "mem.csv").unwrap();
    assert_eq!(asn_of(&t, "10.0.0.9"), Some(1));
    assert_eq!(asn_of(&t, "20.0.0.9"), Some(2));
}

fn load_err(v4: &str) -> GeoError {
    let dir = tempdir();
    let p = dir.path().join("asn-ipv4.csv");
    std::fs::write(&p, v4).unwrap();
    AsnTable::load(Some(&p), None).unwrap_err()
}

#[test]
fn malformed_lines_name_file_and_line() {
    let good = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n";
    type Check = fn(&LineError) -> bool;
    let cases: [(&str, Check); 6] = [
        ("1.0.1.0,1.0.1.255,13335\n", |k| {
            matches!(k, LineError::FieldCount { found: 3 })
        }),
        ("1.0.1.0,1.0.1.x,13335,X\n", |k| {
            matches!(k, LineError::BadAddress { field: "end", .. })
        }),
        ("1.0.1.0,1.0.1.255,AS-13335,X\n", |k| {
            matches!(k, LineError::BadAsn { .. })
        }),
        ("1.0.1.255,1.0.1.0,1,X\n", |k| {
            matches!(k, LineError::StartAfterEnd { .. })
        }),
        ("2001::,2001::1,1,X\n", |k| {
            matches!(
                k,
                LineError::WrongFamily {
                    expected: 4,
                    found: 6,
                    ..
                }
            )
        }),
        ("1.0.1.0,1.0.1.255,99999999999,X\n", |k| {
            matches!(k, LineError::BadAsn { .. })
        }),
    ];
    for (bad, check) in cases {
        let text = format!("{good}{good}{bad}{good}");
        let err = load_err(&text);
        match &err {
            GeoError::BadLine { path, line, kind } => {
                assert_eq!(*line, 3, "{bad}: {err}");
                assert!(path.ends_with("asn-ipv4.csv"));
                assert!(check(kind), "{bad}: {kind:?}");
            }
            other => panic!("{bad}: unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("asn-ipv4.csv:3:"), "{msg}");
    }
}

#[test]
fn line_numbers_count_quoted_organisations_correctly() {
    let text = "\
1.0.0.0,1.0.0.255,1,\"A, Inc.\"
1.0.1.0,1.0.1.255,2,\"B \"\"quoted\"\"\"
1.0.2.0,1.0.2.255,3
";
    assert_eq!(load_err(text).line_number(), Some(3));
}

#[test]
fn ipv4_addresses_in_the_ipv6_file_are_rejected() {
    let dir = tempdir();
    let p = dir.path().join("asn-ipv6.csv");
    std::fs::write(&p, "2001::,2001::ff,1,X\n1.0.0.0,1.0.0.255,2,Y\n").unwrap();
    let err = AsnTable::load(None, Some(&p)).unwrap_err();
    assert_eq!(err.line_number(), Some(2));
    assert!(
        err.to_string().contains("IPv4 address in an IPv6 file"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempdir();
    let err = AsnTable::load(Some(&dir.path().join("absent.csv")), None).unwrap_err();
    assert!(matches!(err, GeoError::Io { .. }));
    assert!(err.to_string().contains("absent.csv"));
}
